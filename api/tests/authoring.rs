//! An author's whole path, once per language: `lectern plugin new --lang L`, the
//! project's own build (which installs its own tools), `lectern plugin test`
//! with the cases the project ships, then an upload to a running
//! `lectern serve` with the default upload and sandbox limits, where the plugin is listed, active
//! and answers a call against a lesson imported over the API.
//!
//! The builds use the machine's ordinary caches (cargo's registry, `~/.npm`,
//! pip's cache); Rust builds share `target/authoring` so a second run only
//! rebuilds the new crate.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TOKEN: &str = "authoring-admin-token-0123456789";
/// How long the server may take to answer its health check.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// The subtopic the uploaded tool is called against.
const SUBTOPIC: &str = "authoring-photosynthesis";
const KEY_POINT: &str = "Chlorophyll absorbs mostly red and blue light.";

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn lectern(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lectern"))
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", rust_target_dir())
        .output()
        .expect("the lectern binary runs")
}

/// Where the generated Rust projects build (shared between runs).
fn rust_target_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/authoring")
}

/// Runs a build or test command in the project; panics with its output.
fn run(project: &Path, program: &str, args: &[&str], env: &[(&str, &Path)]) {
    let mut command = Command::new(program);
    command.args(args).current_dir(project);
    // The outer cargo's settings are for the host, not for a wasm32 build.
    for key in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
    ] {
        command.env_remove(key);
    }
    for (key, value) in env {
        command.env(key, value);
    }
    let started = Instant::now();
    let out = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{program} could not start: {e}"));
    eprintln!(
        "{program} {args:?}: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(
        out.status.success(),
        "{program} {args:?} in {} failed:\n{}{}",
        project.display(),
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// One HTTP/1.1 request on a fresh connection; `(status, body)`.
async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr).await?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let response = text(&response);
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status line in {response:?}")))?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

async fn json_request(addr: SocketAddr, method: &str, path: &str, body: &Value) -> (u16, Value) {
    let (status, body) = http(
        addr,
        method,
        path,
        "application/json",
        body.to_string().as_bytes(),
    )
    .await
    .unwrap();
    let value = serde_json::from_str(&body).unwrap_or(Value::String(body));
    (status, value)
}

/// `lectern serve` with its defaults (upload limit, sandbox limits), a fresh
/// SQLite database and no bundled plugins.
async fn start_server(data_dir: &Path) -> (tokio::process::Child, SocketAddr) {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_lectern"))
        .arg("serve")
        .env("LECTERN_BIND", addr.to_string())
        .env("LECTERN_DATA_DIR", data_dir)
        .env("LECTERN_ADMIN_TOKEN", TOKEN)
        .env("LECTERN_BUNDLED_PLUGINS", "false")
        .env("LECTERN_RATE_LIMIT_PER_MIN", "0")
        .env("LECTERN_PLUGIN_MAX_INSTANCES", "8")
        // An unoptimised test build compiles a 12-20 MiB component in tens of
        // seconds on a busy machine, past the 30 s request deadline meant for a
        // release build; every other setting stays at its default.
        .env("LECTERN_REQUEST_TIMEOUT_MS", "600000")
        .env_remove("LECTERN_MAX_PLUGIN_UPLOAD_BYTES")
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start lectern serve");
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Ok((200, _)) = http(addr, "GET", "/api/health", "text/plain", b"").await {
            return (child, addr);
        }
        assert!(
            Instant::now() < deadline,
            "lectern serve did not answer /api/health in time"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// new -> build -> test -> upload -> listed -> called.
async fn author(lang: &str) {
    let workspace = tempfile::tempdir().unwrap();
    let name = format!("authored-{lang}-tool");
    let tool = name.replace('-', "_");

    let out = lectern(&["plugin", "new", &name, "--lang", lang], workspace.path());
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("lectern plugin test"), "{stdout}");
    let project = workspace.path().join(&name);

    // The project's own build and unit tests, as its README says.
    let component = match lang {
        "rust" => {
            let target = rust_target_dir();
            run(
                &project,
                env!("CARGO"),
                &["build", "--target", "wasm32-wasip2", "--release"],
                &[("CARGO_TARGET_DIR", &target)],
            );
            run(
                &project,
                env!("CARGO"),
                &["test"],
                &[("CARGO_TARGET_DIR", &target)],
            );
            target.join(format!("wasm32-wasip2/release/{tool}.wasm"))
        }
        "js" => {
            run(&project, "./build.sh", &[], &[]);
            run(&project, "npm", &["test", "--silent"], &[]);
            project.join(format!("target/{name}.wasm"))
        }
        "python" => {
            run(&project, "./build.sh", &[], &[]);
            run(
                &project,
                "python3",
                &["-m", "unittest", "discover", "-s", "tests"],
                &[],
            );
            project.join(format!("target/{name}.wasm"))
        }
        other => panic!("no build for {other}"),
    };
    let bytes = std::fs::read(&component)
        .unwrap_or_else(|e| panic!("the build wrote {}: {e}", component.display()));

    // `lectern plugin test` finds the cases and the component by itself.
    let out = lectern(&["plugin", "test"], &project);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "{lang}: plugin test\n{stdout}{}",
        text(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("testing {name} 0.1.0")),
        "{stdout}"
    );
    assert!(stdout.contains(", 0 failed"), "{stdout}");
    assert!(stdout.matches("PASS  ").count() >= 4, "{stdout}");
    assert!(!stdout.contains("FAIL"), "{stdout}");
    eprintln!("{lang}: lectern plugin test\n{stdout}");

    // A regression in the tool fails its own cases: break the expectation of
    // the first case and run again.
    let cases_path = project.join("cases.json");
    let cases = std::fs::read_to_string(&cases_path).unwrap();
    let mut broken: Value = serde_json::from_str(&cases).unwrap();
    broken["cases"][0]["expect"]["outcome"] = "plugin_error".into();
    std::fs::write(&cases_path, broken.to_string()).unwrap();
    let out = lectern(&["plugin", "test"], &project);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{lang}: a failing case fails the run: {}",
        text(&out.stdout)
    );
    std::fs::write(&cases_path, cases).unwrap();

    // Upload to a running server with its default limits.
    let data = tempfile::tempdir().unwrap();
    let (_server, addr) = start_server(data.path()).await;
    let (status, body) = http(
        addr,
        "POST",
        "/api/plugins?activate=true",
        "application/wasm",
        &bytes,
    )
    .await
    .unwrap();
    assert_eq!(status, 201, "{lang}: upload {} bytes: {body}", bytes.len());
    let uploaded: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(uploaded["plugin"], name.as_str(), "{uploaded}");
    assert_eq!(uploaded["active"], true, "{uploaded}");
    assert_eq!(uploaded["manifest"]["tools"][0]["name"], tool.as_str());

    let (status, list) = json_request(addr, "GET", "/api/plugins", &Value::Null).await;
    assert_eq!(status, 200, "{list}");
    let listed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name.as_str())
        .unwrap_or_else(|| panic!("{name} is listed: {list}"));
    assert_eq!(listed["active_sha256"], uploaded["sha256"], "{listed}");

    // A lesson to call it against, imported like an author's curriculum.
    let curriculum = json!({
        "format": 1,
        "topics": [{
            "id": "authoring-biology",
            "title": "Biology",
            "subtopics": [{
                "id": SUBTOPIC,
                "title": "Photosynthesis",
                "summary": "Plants make sugar from light.",
                "content": "Leaves catch light with chlorophyll.",
                "key_points": [KEY_POINT, "Plants release oxygen."],
                "level": "beginner"
            }]
        }]
    });
    let (status, body) = json_request(addr, "POST", "/api/curriculum", &curriculum).await;
    assert_eq!(status, 200, "{body}");

    let (status, record) = json_request(
        addr,
        "POST",
        &format!("/api/plugins/{name}/invoke"),
        &json!({"tool": tool, "arguments": {}, "subtopic_id": SUBTOPIC}),
    )
    .await;
    assert_eq!(status, 200, "{record}");
    assert_eq!(record["outcome"], "ok", "{lang}: {record}");
    assert_eq!(record["digest"], uploaded["sha256"], "{record}");
    let content = record["output"]["content"].as_str().unwrap_or_default();
    assert!(
        content.contains(KEY_POINT),
        "{lang}: the tool read the imported lesson: {record}"
    );
    assert_eq!(
        record["output"]["display"]["type"], "key_points",
        "{record}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_plugin_from_new_to_upload() {
    author("rust").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn javascript_plugin_from_new_to_upload() {
    author("js").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_plugin_from_new_to_upload() {
    author("python").await;
}
