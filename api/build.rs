//! Builds the web client (`web/`) so `lectern serve` can embed it.
//!
//! - `npm ci` runs when `web/node_modules` is missing or `package-lock.json`
//!   changed since the last install (a copy of it is kept in node_modules).
//! - `npm run build` runs whenever cargo reruns this script, which it does only
//!   when the web sources, `index.html` or the package files changed.
//! - `LECTERN_SKIP_WEB_BUILD=1` (or `DOCS_RS`) skips npm; the binary then serves
//!   a page that says how to build the client.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs};

/// A copy of package-lock.json written inside node_modules after a successful `npm ci`.
const LOCK_STAMP: &str = ".lectern-installed-package-lock.json";

fn main() {
    let manifest =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let web = manifest.join("..").join("web");
    for path in [
        "src",
        "public",
        "index.html",
        "package.json",
        "package-lock.json",
        "vite.config.ts",
        "tsconfig.json",
    ] {
        println!("cargo:rerun-if-changed={}", web.join(path).display());
    }
    println!("cargo:rerun-if-env-changed=LECTERN_SKIP_WEB_BUILD");
    println!("cargo:rerun-if-env-changed=DOCS_RS");

    let dist = web.join("dist");
    if env::var_os("DOCS_RS").is_some()
        || env::var("LECTERN_SKIP_WEB_BUILD").is_ok_and(|v| v == "1")
    {
        write_placeholder(&dist);
        return;
    }

    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    if Command::new(npm).arg("--version").output().is_err() {
        panic!(
            "\n\nlectern-api embeds the web client and builds it with npm, but `npm` was not found on PATH.\n\
             Install Node.js 20.19 or newer (it includes npm) and build again,\n\
             or set LECTERN_SKIP_WEB_BUILD=1 to build the server without the web client.\n\n"
        );
    }

    let lock = fs::read(web.join("package-lock.json")).expect("web/package-lock.json is committed");
    let stamp = web.join("node_modules").join(LOCK_STAMP);
    if fs::read(&stamp).ok().as_deref() != Some(lock.as_slice()) {
        run(&web, npm, &["ci", "--no-audit", "--no-fund"]);
        fs::write(&stamp, &lock).expect("node_modules is writable after npm ci");
    }
    run(&web, npm, &["run", "build"]);
}

fn run(dir: &Path, npm: &str, args: &[&str]) {
    let output = Command::new(npm)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "could not run `npm {}` in {}: {e}",
                args.join(" "),
                dir.display()
            )
        });
    if !output.status.success() {
        panic!(
            "\n\n`npm {}` failed in {} ({}).\n--- stdout ---\n{}\n--- stderr ---\n{}\n\
             Fix the web client (or set LECTERN_SKIP_WEB_BUILD=1 to build the server without it).\n\n",
            args.join(" "),
            dir.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        );
    }
}

/// A one-page stand-in so the embedding compiles when npm is skipped; an
/// existing real build is left alone.
fn write_placeholder(dist: &Path) {
    let index = dist.join("index.html");
    if index.exists() {
        return;
    }
    fs::create_dir_all(dist).expect("web/dist can be created");
    fs::write(
        index,
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>Lectern</title>\
         <p>This server was built without its web client (LECTERN_SKIP_WEB_BUILD). \
         Build it again with npm installed to get the learner, playground and console pages. \
         The API is at <a href=\"/api/openapi.json\">/api/openapi.json</a>.</p></html>",
    )
    .expect("web/dist/index.html can be written");
}
