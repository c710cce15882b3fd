//! `lectern plugin new NAME`: a Rust plugin project from `plugins/templates/rust`.
//!
//! The project depends on the `lectern-tool` SDK by path when it is created inside
//! a Lectern checkout (or this binary was built from one that still exists), and
//! on the published crate otherwise. It is its own Cargo workspace, so it builds
//! wherever it is created.

use std::path::{Path, PathBuf};

use super::{EXIT_USAGE, NewArgs, fail};

const CARGO_TOML: &str = include_str!("../../../plugins/templates/rust/Cargo.toml.tmpl");
const LIB_RS: &str = include_str!("../../../plugins/templates/rust/src/lib.rs.tmpl");
const README: &str = include_str!("../../../plugins/templates/rust/README.md.tmpl");
const GITIGNORE: &str = include_str!("../../../plugins/templates/rust/gitignore.tmpl");

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
    if let Err(e) = std::fs::create_dir_all(project.join("src")) {
        return fail(
            EXIT_USAGE,
            "cannot_create",
            &format!("cannot create {}: {e}", project.display()),
        );
    }
    let crate_name = name.replace('-', "_");
    let (sdk, sdk_testing) = sdk_dependency(&project);
    let fill = |template: &str| {
        template
            .replace("__NAME__", name)
            .replace("__CRATE__", &crate_name)
            .replace("__TOOL__", &crate_name)
            .replace("__TYPE__", &type_name(name))
            .replace("__SDK_TESTING__", &sdk_testing)
            .replace("__SDK__", &sdk)
    };
    let files = [
        ("Cargo.toml", fill(CARGO_TOML)),
        ("src/lib.rs", fill(LIB_RS)),
        ("README.md", fill(README)),
        (".gitignore", fill(GITIGNORE)),
    ];
    for (file, contents) in files {
        let path = project.join(file);
        if let Err(e) = std::fs::write(&path, contents) {
            return fail(
                EXIT_USAGE,
                "cannot_create",
                &format!("cannot write {}: {e}", path.display()),
            );
        }
    }
    println!("created {} (tool `{crate_name}`)", project.display());
    println!("next:");
    println!("  cd {}", project.display());
    println!("  cargo test");
    println!("  cargo build --target wasm32-wasip2 --release");
    println!("  lectern plugin check target/wasm32-wasip2/release/{crate_name}.wasm");
    println!(
        "  lectern plugin call target/wasm32-wasip2/release/{crate_name}.wasm {crate_name} '{{\"count\": 2}}'"
    );
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(type_name("flash-cards"), "FlashCards");
        assert!(is_kebab_case("flash-cards"));
        assert!(!is_kebab_case("Flash_Cards"));
    }
}
