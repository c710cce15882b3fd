//! Builds every plugin under `plugins/` for `wasm32-wasip2` and generates
//! `$OUT_DIR/artifacts.rs`: one path constant per component, the list of
//! bundled examples, and the `foreach_*!` macros.
//!
//! The Rust plugins are built by ONE nested `cargo build` with its own
//! target directory (`target/plugins`): the outer cargo holds the lock on
//! its own target directory for as long as this script runs, so sharing it
//! would deadlock. The outer cargo's environment is scrubbed first so its
//! flags, wrappers (clippy, coverage) and target settings do not leak into a
//! build for another target.
//!
//! Components built by a script (`plugins/js/*/build.sh`,
//! `plugins/python/*/build.sh`) are produced by `build_scripted`, one call
//! per plugin directory that has a `build.sh`, run as `build.sh OUT.wasm`.

use std::env;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::fs;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The target every plugin is built for.
const WASM_TARGET: &str = "wasm32-wasip2";
/// The cargo profile plugins are built with (root `Cargo.toml`).
const PLUGIN_PROFILE: &str = "plugin";
/// Where plugins' `.wasm` files start: the component-model preamble
/// (`\0asm`, version 0x0d, layer 1).
const COMPONENT_PREAMBLE: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];

/// What a plugin is for, which decides the lists and macros it appears in.
#[derive(Clone, Copy, PartialEq)]
enum Role {
    /// A bundled example teaching tool (`plugins/examples`).
    Example,
    /// A well-behaved test plugin (`plugins/testing`), e.g. the benchmark floor.
    Baseline,
    /// A test plugin that misbehaves on purpose (`plugins/testing`); each
    /// needs a host test naming the outcome it must produce.
    Adversarial,
    /// A component built by a plugin's own `build.sh` (JavaScript, Python).
    /// Listed apart from the Rust examples: such components are large, so
    /// they are not embedded in the binary.
    Scripted,
}

/// A Rust plugin crate: its package name (= directory name), folder and role.
struct RustPlugin {
    name: &'static str,
    folder: &'static str,
    role: Role,
}

/// Every Rust plugin. A crate directory under `plugins/examples` or
/// `plugins/testing` that is not listed here fails the build, so a new
/// plugin is always given a role (and, if adversarial, a host test).
const RUST_PLUGINS: &[RustPlugin] = &[
    RustPlugin {
        name: "check-understanding",
        folder: "examples",
        role: Role::Example,
    },
    RustPlugin {
        name: "provide-example",
        folder: "examples",
        role: Role::Example,
    },
    RustPlugin {
        name: "quiz",
        folder: "examples",
        role: Role::Example,
    },
    RustPlugin {
        name: "summarize-key-points",
        folder: "examples",
        role: Role::Example,
    },
    RustPlugin {
        name: "noop",
        folder: "testing",
        role: Role::Baseline,
    },
    RustPlugin {
        name: "contract-io",
        folder: "testing",
        role: Role::Baseline,
    },
    RustPlugin {
        name: "bench-tool",
        folder: "testing",
        role: Role::Baseline,
    },
    RustPlugin {
        name: "spin-loop",
        folder: "testing",
        role: Role::Adversarial,
    },
    RustPlugin {
        name: "memory-hog",
        folder: "testing",
        role: Role::Adversarial,
    },
    RustPlugin {
        name: "trap",
        folder: "testing",
        role: Role::Adversarial,
    },
    RustPlugin {
        name: "deep-recursion",
        folder: "testing",
        role: Role::Adversarial,
    },
    RustPlugin {
        name: "oversized-output",
        folder: "testing",
        role: Role::Adversarial,
    },
    RustPlugin {
        name: "invalid-output",
        folder: "testing",
        role: Role::Adversarial,
    },
    RustPlugin {
        name: "forbidden-import",
        folder: "testing",
        role: Role::Adversarial,
    },
    RustPlugin {
        name: "wrong-contract",
        folder: "testing",
        role: Role::Adversarial,
    },
    RustPlugin {
        name: "broken-schema",
        folder: "testing",
        role: Role::Adversarial,
    },
];

/// Folders whose `*/build.sh` scripts each produce one component.
const SCRIPTED_FOLDERS: &[&str] = &["js", "python"];

/// Directory names never watched for changes in scripted plugins: installed
/// dependencies and build output.
const UNWATCHED_DIRS: &[&str] = &[
    "node_modules",
    "target",
    "dist",
    "__pycache__",
    ".venv",
    "venv",
];

/// Files a scripted build writes into the plugin directory (its install lock).
const UNWATCHED_FILES: &[&str] = &[".install.lock"];

/// A component that ends up in the generated code.
struct Artifact {
    /// Plugin name, kebab-case.
    name: String,
    /// Where it came from, for the doc comment.
    source: String,
    path: PathBuf,
    role: Role,
}

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let workspace = manifest_dir
        .parent()
        .and_then(Path::parent)
        .expect("plugins/artifacts sits two levels below the workspace root")
        .to_path_buf();
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo"));

    watch(&workspace);
    check_listed_plugins(&workspace);
    require_wasm_target();

    let mut artifacts = build_rust_plugins(&workspace, &out_dir);
    artifacts.push(write_garbage(&out_dir));
    for folder in SCRIPTED_FOLDERS {
        for plugin_dir in scripted_plugin_dirs(&workspace.join("plugins").join(folder)) {
            artifacts.push(build_scripted(&workspace, folder, &plugin_dir, &out_dir));
        }
    }

    let code = generate(&artifacts);
    fs::write(out_dir.join("artifacts.rs"), code).expect("write the generated artifacts.rs");
}

/// Rebuild when any plugin source, the SDK, the contract or the plugin
/// profile changes.
fn watch(workspace: &Path) {
    for path in [
        "plugins/sdk",
        "plugins/examples",
        "plugins/testing",
        "plugins/tools",
        "wit",
        "Cargo.toml",
        "Cargo.lock",
    ] {
        println!("cargo::rerun-if-changed={}", workspace.join(path).display());
    }
    // A directory watch would rescan, say, `node_modules` on every build, so
    // the scripted plugins' files are watched one by one.
    for folder in SCRIPTED_FOLDERS {
        for file in source_files(&workspace.join("plugins").join(folder)) {
            println!("cargo::rerun-if-changed={}", file.display());
        }
    }
}

/// Every file below `dir`, sorted, except installed dependencies, build output
/// and what a build writes itself.
fn source_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    collect_source_files(dir, &mut files);
    files.sort();
    files
}

fn collect_source_files(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() {
            if !UNWATCHED_DIRS
                .iter()
                .any(|unwatched| OsStr::new(unwatched) == name)
            {
                collect_source_files(&path, files);
            }
        } else if !UNWATCHED_FILES
            .iter()
            .any(|unwatched| OsStr::new(unwatched) == name)
            && path.extension() != Some(OsStr::new("wasm"))
        {
            files.push(path);
        }
    }
}

/// Fails when a crate directory under `plugins/examples` or
/// `plugins/testing` is missing from `RUST_PLUGINS` or the other way round.
fn check_listed_plugins(workspace: &Path) {
    for folder in ["examples", "testing"] {
        let dir = workspace.join("plugins").join(folder);
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if !entry.path().join("Cargo.toml").is_file() {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            if !RUST_PLUGINS
                .iter()
                .any(|p| p.folder == folder && p.name == name)
            {
                panic!(
                    "plugins/{folder}/{name} is not listed in RUST_PLUGINS in \
                     plugins/artifacts/build.rs; add it with its role"
                );
            }
        }
    }
    for plugin in RUST_PLUGINS {
        let dir = workspace
            .join("plugins")
            .join(plugin.folder)
            .join(plugin.name);
        assert!(
            dir.join("Cargo.toml").is_file(),
            "{} is listed in RUST_PLUGINS but {} has no Cargo.toml",
            plugin.name,
            dir.display()
        );
    }
}

/// A missing `wasm32-wasip2` standard library is a loud failure with the fix,
/// never a silent skip: without it no plugin test means anything.
fn require_wasm_target() {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", WASM_TARGET])
        .output()
        .unwrap_or_else(|error| panic!("could not run {}: {error}", rustc.to_string_lossy()));
    let libdir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    let has_std = output.status.success()
        && fs::read_dir(&libdir).is_ok_and(|entries| {
            entries
                .flatten()
                .any(|entry| entry.file_name().to_string_lossy().starts_with("libstd-"))
        });
    if !has_std {
        panic!(
            "\n\nThe Rust target `{WASM_TARGET}` is not installed, and Lectern's plugins \
             are built for it.\nInstall it with:\n\n    rustup target add {WASM_TARGET}\n\n\
             (looked for its standard library in {})\n",
            libdir.display()
        );
    }
}

/// A `cargo` command without the outer build's configuration.
fn clean_cargo() -> Command {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    scrub_env(&mut command);
    command
}

/// Removes what the outer cargo (or a wrapper around it) set for its own
/// build: target dir, build and profile settings, flags, rustc wrappers and
/// the build-script variables. `CARGO_HOME` stays, so the registry cache is
/// shared.
fn scrub_env(command: &mut Command) {
    const REMOVED: &[&str] = &[
        "RUSTFLAGS",
        "RUSTDOCFLAGS",
        "RUSTC",
        "RUSTDOC",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_LINKER",
        "TARGET",
        "HOST",
        "OUT_DIR",
        "OPT_LEVEL",
        "PROFILE",
        "DEBUG",
        "NUM_JOBS",
    ];
    for (key, _) in env::vars_os() {
        let key_text = key.to_string_lossy();
        let cargo_setting = (key_text.starts_with("CARGO") || key_text.starts_with("__CARGO"))
            && key_text != "CARGO_HOME";
        if cargo_setting || REMOVED.contains(&key_text.as_ref()) {
            command.env_remove(&key);
        }
    }
}

/// Builds every Rust plugin in one nested cargo invocation and copies the
/// components into `out_dir` (so a later build can never change a file a
/// test is reading).
fn build_rust_plugins(workspace: &Path, out_dir: &Path) -> Vec<Artifact> {
    let target_dir = workspace.join("target").join("plugins");
    let mut command = clean_cargo();
    command
        .current_dir(workspace)
        .args([
            "build",
            "--target",
            WASM_TARGET,
            "--profile",
            PLUGIN_PROFILE,
        ])
        .arg("--target-dir")
        .arg(&target_dir);
    for plugin in RUST_PLUGINS {
        command.args(["-p", plugin.name]);
    }
    let status = command
        .status()
        .unwrap_or_else(|error| panic!("could not run cargo to build the plugins: {error}"));
    assert!(
        status.success(),
        "building the plugins for {WASM_TARGET} failed ({status}); the errors are above"
    );

    let built = target_dir.join(WASM_TARGET).join(PLUGIN_PROFILE);
    RUST_PLUGINS
        .iter()
        .map(|plugin| {
            let file = format!("{}.wasm", plugin.name.replace('-', "_"));
            let destination = out_dir.join(format!("{}.wasm", plugin.name));
            copy_component(&built.join(&file), &destination);
            Artifact {
                name: plugin.name.to_owned(),
                source: format!(
                    "plugins/{}/{}, built for {WASM_TARGET}",
                    plugin.folder, plugin.name
                ),
                path: destination,
                role: plugin.role,
            }
        })
        .collect()
}

/// Copies a built component, failing unless it really is a component.
fn copy_component(from: &Path, to: &Path) {
    let bytes = fs::read(from)
        .unwrap_or_else(|error| panic!("the build did not produce {}: {error}", from.display()));
    assert!(
        bytes.starts_with(&COMPONENT_PREAMBLE),
        "{} is not a WebAssembly component (is the crate a cdylib built for {WASM_TARGET}?)",
        from.display()
    );
    fs::write(to, bytes)
        .unwrap_or_else(|error| panic!("could not write {}: {error}", to.display()));
}

/// Bytes that are not WebAssembly at all, for the host's "garbage upload"
/// test: text, then bytes that are not UTF-8, and no `\0asm` preamble.
fn write_garbage(out_dir: &Path) -> Artifact {
    let mut bytes = b"this is not a WebAssembly component\n".to_vec();
    // A fixed pseudo-random tail (xorshift) so the file is the same every build.
    let mut x: u32 = 0x9e37_79b9;
    for _ in 0..256 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        bytes.push(x.to_le_bytes()[0]);
    }
    let path = out_dir.join("garbage.wasm");
    fs::write(&path, bytes).expect("write garbage.wasm");
    Artifact {
        name: "garbage".to_owned(),
        source: "bytes written by plugins/artifacts/build.rs".to_owned(),
        path,
        role: Role::Adversarial,
    }
}

/// The plugin directories under `folder` that have a `build.sh`, sorted.
fn scripted_plugin_dirs(folder: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.join("build.sh").is_file())
        .collect();
    dirs.sort();
    dirs
}

/// Runs `bash <plugin_dir>/build.sh OUT.wasm` (from inside `plugin_dir`) to
/// produce one component, e.g. a JavaScript or Python example; its constant
/// is named `<FOLDER>_<NAME>` (e.g. `JS_QUIZ`).
///
/// These builds take minutes, and this script reruns whenever anything it
/// watches changes (a new crate in `Cargo.lock`, say) and once per profile. So
/// each component is kept in `target/plugins/scripted` under a fingerprint of
/// everything its build reads from the repository, and built again only when
/// that changes.
fn build_scripted(workspace: &Path, folder: &str, plugin_dir: &Path, out_dir: &Path) -> Artifact {
    let dir_name = plugin_dir
        .file_name()
        .expect("a plugin directory has a name")
        .to_string_lossy()
        .into_owned();
    let name = format!("{folder}-{dir_name}");
    let destination = out_dir.join(format!("{name}.wasm"));
    let artifact = Artifact {
        name: name.clone(),
        source: format!("plugins/{folder}/{dir_name}/build.sh"),
        path: destination.clone(),
        role: Role::Scripted,
    };

    let kept_dir = workspace.join("target").join("plugins").join("scripted");
    let kept = kept_dir.join(format!(
        "{name}-{:016x}.wasm",
        scripted_fingerprint(workspace, folder, plugin_dir)
    ));
    if fs::read(&kept).is_ok_and(|bytes| bytes.starts_with(&COMPONENT_PREAMBLE)) {
        copy_component(&kept, &destination);
        return artifact;
    }

    let mut command = Command::new("bash");
    scrub_env(&mut command);
    let status = command
        .current_dir(plugin_dir)
        .arg("build.sh")
        .arg(&destination)
        .status()
        .unwrap_or_else(|error| panic!("could not run {}/build.sh: {error}", plugin_dir.display()));
    assert!(
        status.success(),
        "{}/build.sh failed ({status}); its errors are above",
        plugin_dir.display()
    );
    let bytes = fs::read(&destination).unwrap_or_else(|error| {
        panic!(
            "{}/build.sh did not write {}: {error}",
            plugin_dir.display(),
            destination.display()
        )
    });
    assert!(
        bytes.starts_with(&COMPONENT_PREAMBLE),
        "{}/build.sh wrote something that is not a WebAssembly component",
        plugin_dir.display()
    );
    keep_scripted(&kept_dir, &name, &kept, &bytes);
    artifact
}

/// A fingerprint of what building `plugin_dir` reads from the repository: its
/// own files (sources, lock file, build script), the scripts its folder shares,
/// the contract and the contract-section tool. Tools installed outside the
/// repository (node, python) are not part of it.
fn scripted_fingerprint(workspace: &Path, folder: &str, plugin_dir: &Path) -> u64 {
    let folder_dir = workspace.join("plugins").join(folder);
    let mut files = source_files(plugin_dir);
    files.extend(
        fs::read_dir(&folder_dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| path.is_file()),
    );
    files.extend(source_files(&workspace.join("wit")));
    files.extend(source_files(&workspace.join("plugins").join("tools")));
    // The hasher's output may change between Rust releases; that only costs
    // one rebuild.
    let mut hasher = std::hash::DefaultHasher::new();
    for file in &files {
        let relative = file.strip_prefix(workspace).unwrap_or(file);
        relative.hash(&mut hasher);
        fs::read(file)
            .unwrap_or_else(|error| panic!("could not read {}: {error}", file.display()))
            .hash(&mut hasher);
    }
    hasher.finish()
}

/// Keeps a freshly built component as `kept`, replacing older builds of the
/// same plugin. Failing to keep it only costs a rebuild next time.
fn keep_scripted(kept_dir: &Path, name: &str, kept: &Path, bytes: &[u8]) {
    if fs::create_dir_all(kept_dir).is_err() {
        return;
    }
    let prefix = format!("{name}-");
    for entry in fs::read_dir(kept_dir).into_iter().flatten().flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        if file
            .strip_prefix(&prefix)
            .is_some_and(|rest| rest.len() == 21 && rest.ends_with(".wasm"))
        {
            let _ = fs::remove_file(entry.path());
        }
    }
    // Written aside and renamed, so a build running beside this one never
    // copies half a component.
    let partial = kept.with_extension(format!("partial.{}", std::process::id()));
    if fs::write(&partial, bytes).is_ok() && fs::rename(&partial, kept).is_err() {
        let _ = fs::remove_file(&partial);
    }
}

fn constant_name(name: &str) -> String {
    name.replace('-', "_").to_uppercase()
}

fn generate(artifacts: &[Artifact]) -> String {
    let mut code = String::new();
    for artifact in artifacts {
        let role = match artifact.role {
            Role::Example => "Example teaching tool",
            Role::Baseline => "Well-behaved test plugin",
            Role::Adversarial => "Adversarial test input",
            Role::Scripted => "Script-built plugin",
        };
        writeln!(
            code,
            "/// {role} `{}` ({}): absolute path.\n\
             pub const {}: &str = {:?};",
            artifact.name,
            artifact.source,
            constant_name(&artifact.name),
            artifact.path.to_str().expect("OUT_DIR is UTF-8"),
        )
        .unwrap();
    }

    let of_role = |role: Role| artifacts.iter().filter(move |a| a.role == role);
    let pairs = |role: Role| {
        of_role(role)
            .map(|a| format!("({:?}, {}), ", a.name, constant_name(&a.name)))
            .collect::<String>()
    };
    writeln!(
        code,
        "/// The bundled example plugins: (plugin name, component path).\n\
         pub const EXAMPLES: &[(&str, &str)] = &[{}];",
        pairs(Role::Example)
    )
    .unwrap();
    writeln!(
        code,
        "/// Every adversarial test input: (name, path). Each must be refused or\n\
         /// contained by the host with a named outcome.\n\
         pub const ADVERSARIAL: &[(&str, &str)] = &[{}];",
        pairs(Role::Adversarial)
    )
    .unwrap();

    writeln!(
        code,
        "/// The plugins built by their own `build.sh` (`plugins/js/*`,\n\
         /// `plugins/python/*`): (name, path), the name being `<folder>-<dir>`.\n\
         pub const SCRIPTED: &[(&str, &str)] = &[{}];",
        pairs(Role::Scripted)
    )
    .unwrap();

    let embedded: String = of_role(Role::Example)
        .map(|a| {
            format!(
                "({:?}, include_bytes!({:?}).as_slice()), ",
                a.name,
                a.path.to_str().expect("OUT_DIR is UTF-8")
            )
        })
        .collect();
    writeln!(
        code,
        "/// The bundled example plugins' components, embedded in the binary:\n\
         /// (plugin name, component bytes).\n\
         pub fn bundled() -> Vec<(&'static str, &'static [u8])> {{ vec![{embedded}] }}"
    )
    .unwrap();

    for (macro_name, role, what) in [
        ("foreach_example", Role::Example, "bundled example plugin"),
        (
            "foreach_adversarial",
            Role::Adversarial,
            "adversarial test input",
        ),
        ("foreach_scripted", Role::Scripted, "script-built plugin"),
    ] {
        let calls: String = of_role(role)
            .map(|a| format!("$mac!({});", a.name.replace('-', "_")))
            .collect();
        writeln!(
            code,
            "/// Calls `$mac!(snake_case_name)` once per {what}, e.g. to make a\n\
             /// missing test a compile error.\n\
             #[macro_export]\n\
             macro_rules! {macro_name} {{ ($mac:ident) => {{ {calls} }}; }}"
        )
        .unwrap();
    }
    code
}
