//! `lectern plugin new NAME --lang rust|js|python`: a plugin project from
//! `plugins/templates/<lang>`, embedded in the binary.
//!
//! A Rust project depends on the `lectern-tool` SDK by path when it is created
//! inside a Lectern checkout (or this binary was built from one that still
//! exists), and on the published crate otherwise. It is its own Cargo workspace,
//! so it builds wherever it is created.
//!
//! A JavaScript or Python project carries everything its `build.sh` needs: a copy
//! of the contract (`wit/tool.wit`) and the script that records the contract
//! version (`tools/add-contract-section.py`); the build tools themselves are
//! pinned in the project and installed by `build.sh` on its first run.

use std::path::{Path, PathBuf};

use super::{EXIT_USAGE, NewArgs, fail};

const CARGO_TOML: &str = include_str!("../../../plugins/templates/rust/Cargo.toml.tmpl");
const LIB_RS: &str = include_str!("../../../plugins/templates/rust/src/lib.rs.tmpl");
const README: &str = include_str!("../../../plugins/templates/rust/README.md.tmpl");
const GITIGNORE: &str = include_str!("../../../plugins/templates/rust/gitignore.tmpl");
const RUST_CASES: &str = include_str!("../../../plugins/templates/rust/cases.json");

/// The contract a new JavaScript or Python project is built against.
const CONTRACT_WIT: &str = include_str!("../../../wit/0.1.0/tool.wit");
/// Appends the contract-version section after jco / componentize-py.
const SECTION_TOOL: &str = include_str!("../../../plugins/tools/add-contract-section.py");

/// One file of a template: path in the project, text, whether it is a script.
struct TemplateFile {
    path: &'static str,
    text: &'static str,
    executable: bool,
}

/// `template_files!("js": "build.sh" as executable, "cases.json", …)`: the
/// files of `plugins/templates/js`, embedded.
macro_rules! template_files {
    (@mode) => { false };
    (@mode executable) => { true };
    ($lang:literal: $($path:literal $(as $mode:ident)?),* $(,)?) => {
        &[$(TemplateFile {
            path: $path,
            text: include_str!(concat!("../../../plugins/templates/", $lang, "/", $path)),
            executable: template_files!(@mode $($mode)?),
        }),*]
    };
}

/// `plugins/templates/js`, every file but build output (a test keeps the list
/// complete).
const JS_FILES: &[TemplateFile] = template_files!("js":
    "build.sh" as executable,
    "package.json",
    "package-lock.json",
    "bundle.config.js",
    "cases.json",
    "README.md",
    ".gitignore",
    "src/index.js",
    "src/logic.js",
    "test/logic.test.js",
);

/// `plugins/templates/python`, every file but build output.
const PYTHON_FILES: &[TemplateFile] = template_files!("python":
    "build.sh" as executable,
    "requirements-build.txt",
    "cases.json",
    "README.md",
    ".gitignore",
    "src/app.py",
    "src/logic.py",
    "tests/test_logic.py",
);

/// The SDK version on crates.io that matches this binary.
const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

fn is_kebab_case(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && !name.contains("--")
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// `flash-cards` -> `FlashCards`.
fn type_name(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// The SDK directory of a Lectern checkout at or above `start`.
fn sdk_above(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|dir| dir.join("plugins").join("sdk"))
        .find(|sdk| sdk.join("Cargo.toml").is_file() && sdk.join("src").join("lib.rs").is_file())
}

fn sdk_dependency(project: &Path) -> (String, String) {
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf);
    let sdk = sdk_above(project).or_else(|| built_from.as_deref().and_then(sdk_above));
    match sdk.and_then(|p| p.canonicalize().ok()) {
        Some(path) => {
            let path = path.display().to_string().replace('\\', "/");
            (
                format!("lectern-tool = {{ path = \"{path}\" }}"),
                format!("lectern-tool = {{ path = \"{path}\", features = [\"testing\"] }}"),
            )
        }
        None => (
            format!("lectern-tool = \"={SDK_VERSION}\""),
            format!("lectern-tool = {{ version = \"={SDK_VERSION}\", features = [\"testing\"] }}"),
        ),
    }
}

pub(crate) fn run(args: &NewArgs) -> i32 {
    let name = args.name.as_str();
    if !is_kebab_case(name) {
        return fail(
            EXIT_USAGE,
            "invalid_name",
            &format!(
                "`{name}` is not a valid plugin name; use kebab-case: lowercase letters, digits and \
                 single dashes, starting with a letter (e.g. `flash-cards`)"
            ),
        );
    }
    let project = args.dir.join(name);
    if project.exists() {
        return fail(
            EXIT_USAGE,
            "already_exists",
            &format!(
                "{} already exists; choose another name or --dir",
                project.display()
            ),
        );
    }
    let tool = name.replace('-', "_");
    let files = match args.lang.as_str() {
        "rust" => rust_files(name, &project),
        "js" => scripted_files(JS_FILES, name),
        "python" => scripted_files(PYTHON_FILES, name),
        other => {
            return fail(
                EXIT_USAGE,
                "invalid_lang",
                &format!("`{other}` is not a language `plugin new` knows; use rust, js or python"),
            );
        }
    };
    if let Err(e) = std::fs::create_dir_all(&args.dir) {
        return fail(
            EXIT_USAGE,
            "cannot_create",
            &format!("cannot create {}: {e}", args.dir.display()),
        );
    }
    // create_dir, not create_dir_all: never write into a folder that appeared
    // since the check above.
    if let Err(e) = std::fs::create_dir(&project) {
        return fail(
            EXIT_USAGE,
            "cannot_create",
            &format!("cannot create {}: {e}", project.display()),
        );
    }
    if let Err(message) = write_files(&project, &files) {
        // Nothing half-made is left behind.
        let _ = std::fs::remove_dir_all(&project);
        return fail(EXIT_USAGE, "cannot_create", &message);
    }
    print_next_steps(&args.lang, &project, name, &tool);
    0
}

/// (path in the project, contents, executable).
type ProjectFile = (String, String, bool);

fn rust_files(name: &str, project: &Path) -> Vec<ProjectFile> {
    let crate_name = name.replace('-', "_");
    let (sdk, sdk_testing) = sdk_dependency(project);
    let fill = |template: &str| {
        template
            .replace("__NAME__", name)
            .replace("__CRATE__", &crate_name)
            .replace("__TOOL__", &crate_name)
            .replace("__TYPE__", &type_name(name))
            .replace("__SDK_TESTING__", &sdk_testing)
            .replace("__SDK__", &sdk)
    };
    [
        ("Cargo.toml", CARGO_TOML),
        ("src/lib.rs", LIB_RS),
        ("README.md", README),
        (".gitignore", GITIGNORE),
        ("cases.json", RUST_CASES),
    ]
    .into_iter()
    .map(|(path, text)| (path.to_owned(), fill(text), false))
    .collect()
}

fn scripted_files(template: &[TemplateFile], name: &str) -> Vec<ProjectFile> {
    let tool = name.replace('-', "_");
    let mut files: Vec<ProjectFile> = template
        .iter()
        .map(|f| {
            let text = f
                .text
                .replace("{{name}}", name)
                .replace("{{tool_name}}", &tool);
            (f.path.to_owned(), text, f.executable)
        })
        .collect();
    files.push(("wit/tool.wit".into(), CONTRACT_WIT.into(), false));
    files.push((
        "tools/add-contract-section.py".into(),
        SECTION_TOOL.into(),
        true,
    ));
    files
}

fn write_files(project: &Path, files: &[ProjectFile]) -> Result<(), String> {
    for (file, contents, executable) in files {
        let path = project.join(file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(&path, contents)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        if *executable {
            make_executable(&path)
                .map_err(|e| format!("cannot make {} executable: {e}", path.display()))?;
        }
    }
    Ok(())
}

#[cfg(unix)]
fn make_executable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let mut permissions = std::fs::metadata(path)?.permissions();
    permissions.set_mode(permissions.mode() | 0o111);
    std::fs::set_permissions(path, permissions)
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

fn print_next_steps(lang: &str, project: &Path, name: &str, tool: &str) {
    let language = match lang {
        "js" => "JavaScript",
        "python" => "Python",
        _ => "Rust",
    };
    println!("created {} ({language}, tool `{tool}`)", project.display());
    println!("next:");
    println!("  cd {}", project.display());
    let wasm = match lang {
        "js" => {
            println!("  ./build.sh              # installs jco from npm on the first run");
            println!("  npm test                # unit tests of src/logic.js");
            format!("target/{name}.wasm")
        }
        "python" => {
            println!(
                "  ./build.sh              # installs componentize-py from PyPI on the first run"
            );
            println!("  python3 -m unittest discover -s tests");
            format!("target/{name}.wasm")
        }
        _ => {
            println!("  cargo test");
            println!("  cargo build --target wasm32-wasip2 --release");
            format!("target/wasm32-wasip2/release/{tool}.wasm")
        }
    };
    println!("  lectern plugin test     # runs cases.json against {wasm}");
    println!("  lectern plugin check {wasm}");
    let arguments = if lang == "rust" {
        r#"{"count": 2}"#
    } else {
        "{}"
    };
    println!("  lectern plugin call {wasm} {tool} '{arguments}'");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Files a build or an editor leaves in a template folder, never shipped.
    fn is_build_output(path: &Path) -> bool {
        path.components().any(|c| {
            matches!(
                c.as_os_str().to_str(),
                Some("node_modules" | ".venv" | "target" | "__pycache__" | "wit" | "tools")
            )
        }) || path
            .extension()
            .is_some_and(|e| e == "wasm" || e == "lock" || e == "pyc")
    }

    fn files_under(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let relative = path.strip_prefix(root).unwrap();
            if is_build_output(relative) {
                continue;
            }
            if path.is_dir() {
                files_under(root, &path, out);
            } else {
                out.push(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }

    /// A file added to a template but not to its list would be missing from
    /// every new project.
    #[test]
    fn every_template_file_is_embedded() {
        let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/templates");
        for (lang, list) in [("js", JS_FILES), ("python", PYTHON_FILES)] {
            let root = templates.join(lang);
            let mut found = Vec::new();
            files_under(&root, &root, &mut found);
            found.sort();
            let mut listed: Vec<String> = list.iter().map(|f| f.path.to_owned()).collect();
            listed.sort();
            assert_eq!(
                found, listed,
                "plugins/templates/{lang} and its list in new.rs"
            );
        }
    }

    #[test]
    fn placeholders_are_all_filled() {
        for (files, lang) in [
            (scripted_files(JS_FILES, "my-tool"), "js"),
            (scripted_files(PYTHON_FILES, "my-tool"), "python"),
            (
                rust_files("my-tool", Path::new("/nonexistent/my-tool")),
                "rust",
            ),
        ] {
            for (path, text, _) in &files {
                assert!(
                    !text.contains("{{")
                        && !text.contains("__NAME__")
                        && !text.contains("__TOOL__"),
                    "{lang} {path} still has a placeholder"
                );
            }
            let cases = files.iter().find(|(p, _, _)| p == "cases.json").unwrap();
            assert!(cases.1.contains("\"plugin\": \"my-tool\""), "{lang}");
            assert!(cases.1.contains("my_tool"), "{lang}");
        }
    }

    #[test]
    fn names() {
        assert_eq!(type_name("flash-cards"), "FlashCards");
        assert!(is_kebab_case("flash-cards"));
        assert!(!is_kebab_case("Flash_Cards"));
    }
}
