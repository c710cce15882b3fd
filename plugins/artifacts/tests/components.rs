//! What the built components look like from the outside: the exports, the
//! imports and the contract-version section the host relies on.

use std::collections::BTreeSet;

use lectern_plugin_artifacts as artifacts;
use wasmparser::{Parser, Payload};

/// The WASI interfaces Rust's standard library makes every `wasm32-wasip2`
/// component import (stdio, environment, exit), without version. A plugin
/// that imports anything else beyond `lectern:tool` uses more than std's
/// start-up needs.
const STD_WASI_INTERFACES: &[&str] = &[
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stderr",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stderr",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
];

const LECTERN_INTERFACES: &[&str] = &[
    "lectern:tool/lesson@0.1.0",
    "lectern:tool/log@0.1.0",
    "lectern:tool/progress@0.1.0",
    "lectern:tool/state@0.1.0",
    "lectern:tool/types@0.1.0",
];

struct Outline {
    imports: BTreeSet<String>,
    exports: BTreeSet<String>,
    contract_versions: Vec<String>,
}

fn outline(path: &str) -> Outline {
    let bytes = std::fs::read(path).unwrap();
    let mut outline = Outline {
        imports: BTreeSet::new(),
        exports: BTreeSet::new(),
        contract_versions: Vec::new(),
    };
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(&bytes) {
        match payload.unwrap() {
            Payload::Version { .. } => depth += 1,
            Payload::End(_) => depth -= 1,
            Payload::ComponentImportSection(reader) if depth == 1 => {
                for import in reader {
                    outline.imports.insert(import.unwrap().name.name.to_owned());
                }
            }
            Payload::ComponentExportSection(reader) if depth == 1 => {
                for export in reader {
                    outline.exports.insert(export.unwrap().name.name.to_owned());
                }
            }
            Payload::CustomSection(section) if section.name() == "lectern:contract-version" => {
                outline
                    .contract_versions
                    .push(String::from_utf8(section.data().to_vec()).unwrap());
            }
            _ => {}
        }
    }
    outline
}

fn interfaces(imports: &BTreeSet<String>) -> BTreeSet<String> {
    imports
        .iter()
        // Type imports (`manifest`, …) are not interfaces.
        .filter(|name| name.contains(':'))
        .map(|name| {
            if name.starts_with("wasi:") {
                name.split('@').next().unwrap().to_owned()
            } else {
                name.clone()
            }
        })
        .collect()
}

/// The contract's interfaces each example calls. The SDK calls the imports
/// directly, so the linker drops the ones a tool never uses: an example
/// that gains or loses one is a change to look at.
const EXAMPLE_INTERFACES: &[(&str, &[&str])] = &[
    (
        "check-understanding",
        &["lesson", "log", "progress", "state"],
    ),
    // It records no progress and reads no mastery.
    ("provide-example", &["lesson", "log", "state"]),
    ("quiz", &["lesson", "log", "progress", "state"]),
    (
        "summarize-key-points",
        &["lesson", "log", "progress", "state"],
    ),
];

/// `uses`: the contract interfaces the component must import, besides
/// `types` and std's WASI, and nothing else. Without it only a subset is
/// required (the noop calls none of the host's interfaces).
fn well_formed(name: &str, path: &str, version: &str, uses: Option<&[&str]>) {
    let outline = outline(path);
    assert!(
        outline.exports.contains("describe") && outline.exports.contains("invoke"),
        "{name} exports {:?}",
        outline.exports
    );
    assert_eq!(outline.contract_versions, vec![version], "{name}");
    let imported = interfaces(&outline.imports);
    if let Some(uses) = uses {
        let expected: BTreeSet<String> = uses
            .iter()
            .map(|interface| format!("lectern:tool/{interface}@0.1.0"))
            .chain(["lectern:tool/types@0.1.0".to_owned()])
            .chain(STD_WASI_INTERFACES.iter().map(|s| s.to_string()))
            .collect();
        assert_eq!(imported, expected, "{name} imports");
    } else {
        let allowed: BTreeSet<String> = LECTERN_INTERFACES
            .iter()
            .chain(STD_WASI_INTERFACES)
            .map(|s| s.to_string())
            .collect();
        let foreign: BTreeSet<&String> = imported.difference(&allowed).collect();
        assert!(
            foreign.is_empty(),
            "{name} imports what is neither the contract nor std WASI: {foreign:?}"
        );
        assert!(
            imported.contains("lectern:tool/types@0.1.0"),
            "{name} imports {imported:?}"
        );
    }
}

#[test]
fn examples_and_well_behaved_plugins_import_only_the_contract_and_std_wasi() {
    assert_eq!(
        artifacts::EXAMPLES.len(),
        EXAMPLE_INTERFACES.len(),
        "every example has its interfaces listed"
    );
    for (name, path) in artifacts::EXAMPLES {
        let (_, uses) = EXAMPLE_INTERFACES
            .iter()
            .find(|(example, _)| example == name)
            .unwrap_or_else(|| panic!("{name} has no entry in EXAMPLE_INTERFACES"));
        well_formed(name, path, "0.1.0", Some(uses));
    }
    for (name, path) in [
        ("noop", artifacts::NOOP),
        ("contract-io", artifacts::CONTRACT_IO),
        ("bench-tool", artifacts::BENCH_TOOL),
        ("spin-loop", artifacts::SPIN_LOOP),
        ("memory-hog", artifacts::MEMORY_HOG),
        ("trap", artifacts::TRAP),
        ("deep-recursion", artifacts::DEEP_RECURSION),
        ("oversized-output", artifacts::OVERSIZED_OUTPUT),
        ("invalid-output", artifacts::INVALID_OUTPUT),
        ("broken-schema", artifacts::BROKEN_SCHEMA),
    ] {
        well_formed(name, path, "0.1.0", None);
    }
}

#[test]
fn wrong_contract_claims_nine() {
    well_formed("wrong-contract", artifacts::WRONG_CONTRACT, "9.0.0", None);
}

#[test]
fn forbidden_import_imports_sockets() {
    let outline = outline(artifacts::FORBIDDEN_IMPORT);
    assert_eq!(outline.contract_versions, vec!["0.1.0"]);
    let sockets: Vec<&String> = outline
        .imports
        .iter()
        .filter(|name| name.starts_with("wasi:sockets/"))
        .collect();
    assert!(
        sockets
            .iter()
            .any(|name| name.starts_with("wasi:sockets/tcp")),
        "{:?}",
        outline.imports
    );
}

#[test]
fn garbage_is_not_wasm() {
    let bytes = std::fs::read(artifacts::GARBAGE).unwrap();
    assert!(!bytes.starts_with(b"\0asm"));
    assert!(
        Parser::new(0)
            .parse_all(&bytes)
            .any(|payload| payload.is_err())
    );
}

macro_rules! listed {
    ($name:ident) => {
        assert!(
            artifacts::ADVERSARIAL
                .iter()
                .any(|(name, _)| name.replace('-', "_") == stringify!($name)),
            "{} is not in ADVERSARIAL",
            stringify!($name)
        );
    };
}

#[test]
fn the_macro_and_the_list_agree() {
    artifacts::foreach_adversarial!(listed);
    let mut count = 0;
    macro_rules! count {
        ($name:ident) => {
            count += 1;
        };
    }
    artifacts::foreach_adversarial!(count);
    assert_eq!(count, artifacts::ADVERSARIAL.len());
    assert_eq!(count, 10);
}
