//! What a component says about itself before anything runs: which `lectern:tool`
//! contract it was built for, and what it imports.
//!
//! Both are read straight from the binary with `wasmparser`, so a wrong-contract or
//! forbidden-import component is refused before it is compiled, let alone run.

use super::error::{LoadError, LoadErrorCode};
use wasmparser::{ComponentTypeRef, Encoding, Parser, Payload};

/// Custom section in which the guest SDK records the contract version (UTF-8 semver
/// text). It may sit in the component or in one of its nested core modules.
pub const CONTRACT_VERSION_SECTION: &str = "lectern:contract-version";

/// The `lectern:tool` contract version this host serves.
pub const HOST_CONTRACT_VERSION: &str = "0.1.0";

/// Largest component accepted. Rust tools are 100-500 KiB; JavaScript and Python
/// components embed a language runtime and reach 10-40 MiB.
pub const MAX_COMPONENT_BYTES: usize = 64 << 20;

/// WASI 0.2 interfaces a plugin may import. None of them reaches anything: the
/// context grants no preopened directories, environment, arguments or sockets, and
/// stdout/stderr go to a small capture buffer.
const ALLOWED_WASI: &[&str] = &[
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:clocks/monotonic-clock",
    "wasi:clocks/wall-clock",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:filesystem/types",
    "wasi:filesystem/preopens",
];

/// Package prefixes refused by name: network access is never given to a tool.
const FORBIDDEN_PACKAGES: &[&str] = &["wasi:sockets/", "wasi:http/"];

/// The `lectern:tool` interfaces of this contract version.
const CONTRACT_INTERFACES: &[&str] = &["types", "lesson", "state", "progress", "log"];

/// What the binary says about itself.
#[derive(Debug, Clone)]
pub struct ComponentFacts {
    /// The contract version recorded by the guest SDK.
    pub contract_version: semver::Version,
    /// Every top-level import, by full name (e.g. `lectern:tool/lesson@0.1.0`).
    pub imports: Vec<String>,
}

/// Read the contract version and imports, and refuse what the host cannot serve.
pub fn inspect(bytes: &[u8]) -> Result<ComponentFacts, LoadError> {
    if bytes.len() > MAX_COMPONENT_BYTES {
        return Err(LoadError::new(
            LoadErrorCode::TooLarge,
            format!(
                "the component is {} bytes, more than the {MAX_COMPONENT_BYTES} bytes accepted; \
                 build it in release mode with size optimisation",
                bytes.len()
            ),
        ));
    }
    if !bytes.starts_with(b"\0asm") {
        return Err(LoadError::new(
            LoadErrorCode::NotAComponent,
            "the file is not WebAssembly (it does not start with the `\\0asm` magic bytes); \
             build the plugin with `cargo build --target wasm32-wasip2 --release` and give the .wasm file",
        ));
    }
    let mut depth = 0usize;
    let mut version_text: Option<String> = None;
    let mut imports = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| {
            LoadError::new(
                LoadErrorCode::NotAComponent,
                format!(
                    "this is not a valid WebAssembly component ({} at byte {}); build the plugin with \
                     `cargo build --target wasm32-wasip2 --release` and give the .wasm file",
                    e.message(),
                    e.offset()
                ),
            )
        })?;
        match payload {
            Payload::Version { encoding, .. } => {
                if depth == 0 && encoding != Encoding::Component {
                    return Err(LoadError::new(
                        LoadErrorCode::NotAComponent,
                        "this is a core WebAssembly module, not a component; build for the \
                         `wasm32-wasip2` target (or run `wasm-tools component new`)",
                    ));
                }
                depth += 1;
            }
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::CustomSection(section) if section.name() == CONTRACT_VERSION_SECTION => {
                let text = std::str::from_utf8(section.data()).map_err(|_| {
                    LoadError::new(
                        LoadErrorCode::MissingContractVersion,
                        "the contract version section is not UTF-8 text; rebuild with the lectern-tool SDK",
                    )
                })?;
                version_text.get_or_insert_with(|| text.trim().to_owned());
            }
            Payload::ComponentImportSection(reader) if depth == 1 => {
                for import in reader {
                    let import = import.map_err(|e| {
                        LoadError::new(
                            LoadErrorCode::NotAComponent,
                            format!("unreadable import section ({e}); rebuild the component"),
                        )
                    })?;
                    // Type imports (the contract's record types, named by a world's
                    // `use`) grant nothing; only instances and functions do.
                    if !matches!(import.ty, ComponentTypeRef::Type(_)) {
                        imports.push(import.name.name.to_owned());
                    }
                }
            }
            _ => {}
        }
    }
    let Some(text) = version_text else {
        return Err(LoadError::new(
            LoadErrorCode::MissingContractVersion,
            format!(
                "the component has no `{CONTRACT_VERSION_SECTION}` section, so its contract version \
                 is unknown; build it with the lectern-tool SDK (its export macro records the version)"
            ),
        ));
    };
    let contract_version = semver::Version::parse(&text).map_err(|_| {
        LoadError::new(
            LoadErrorCode::MissingContractVersion,
            format!("the contract version `{text}` is not a semver version; rebuild with the lectern-tool SDK"),
        )
    })?;
    check_contract_version(&contract_version)?;
    for name in &imports {
        check_import(name)?;
    }
    Ok(ComponentFacts {
        contract_version,
        imports,
    })
}

fn check_contract_version(version: &semver::Version) -> Result<(), LoadError> {
    let host =
        semver::Version::parse(HOST_CONTRACT_VERSION).expect("host contract version is semver");
    // 0.x versions change incompatibly at the minor number; within a minor a guest
    // may not rely on anything newer than the host has.
    let served = version.major == host.major
        && version.minor == host.minor
        && version.pre.is_empty()
        && *version <= host;
    if served {
        Ok(())
    } else {
        Err(LoadError::new(
            LoadErrorCode::UnsupportedContractVersion,
            format!(
                "the plugin was built for lectern:tool contract {version}, but this host serves \
                 contract {host}; rebuild the plugin with a lectern-tool SDK for {host}, or upgrade Lectern"
            ),
        ))
    }
}

fn check_import(name: &str) -> Result<(), LoadError> {
    if let Some(package) = FORBIDDEN_PACKAGES.iter().find(|p| name.starts_with(*p)) {
        return Err(LoadError::new(
            LoadErrorCode::ForbiddenImport,
            format!(
                "the component imports `{name}`, but teaching tools get no network access \
                 ({package}* is refused); remove the code that uses it"
            ),
        ));
    }
    let (interface, version) = name.split_once('@').unwrap_or((name, ""));
    if let Some(iface) = interface.strip_prefix("lectern:tool/") {
        if CONTRACT_INTERFACES.contains(&iface) && version == HOST_CONTRACT_VERSION {
            return Ok(());
        }
        return Err(LoadError::new(
            LoadErrorCode::UnsupportedContractVersion,
            format!(
                "the component imports `{name}`, but this host provides lectern:tool interfaces \
                 at version {HOST_CONTRACT_VERSION} only; rebuild with a matching lectern-tool SDK"
            ),
        ));
    }
    if ALLOWED_WASI.contains(&interface) && version.starts_with("0.2.") {
        return Ok(());
    }
    Err(LoadError::new(
        LoadErrorCode::UnknownImport,
        format!(
            "the component imports `{name}`, which this host does not provide; teaching tools may \
             import only lectern:tool/*@{HOST_CONTRACT_VERSION} and basic WASI 0.2 (clocks, random, \
             stdio); remove the dependency that needs it"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_are_sorted_into_allowed_forbidden_unknown() {
        assert!(check_import("lectern:tool/lesson@0.1.0").is_ok());
        assert!(check_import("wasi:io/streams@0.2.6").is_ok());
        let err = check_import("wasi:sockets/tcp@0.2.0").unwrap_err();
        assert_eq!(err.code, LoadErrorCode::ForbiddenImport);
        assert!(err.message.contains("wasi:sockets/tcp@0.2.0"));
        let err = check_import("wasi:http/outgoing-handler@0.2.0").unwrap_err();
        assert_eq!(err.code, LoadErrorCode::ForbiddenImport);
        let err = check_import("acme:spy/keylogger").unwrap_err();
        assert_eq!(err.code, LoadErrorCode::UnknownImport);
        let err = check_import("lectern:tool/lesson@0.2.0").unwrap_err();
        assert_eq!(err.code, LoadErrorCode::UnsupportedContractVersion);
    }

    #[test]
    fn contract_versions_name_both_sides() {
        assert!(check_contract_version(&semver::Version::new(0, 1, 0)).is_ok());
        let err = check_contract_version(&semver::Version::new(0, 2, 0)).unwrap_err();
        assert!(err.message.contains("0.2.0") && err.message.contains("0.1.0"));
        assert!(check_contract_version(&semver::Version::new(1, 1, 0)).is_err());
    }

    #[test]
    fn garbage_and_core_modules_are_not_components() {
        assert_eq!(
            inspect(b"not wasm").unwrap_err().code,
            LoadErrorCode::NotAComponent
        );
        let module = b"\0asm\x01\0\0\0";
        assert_eq!(
            inspect(module).unwrap_err().code,
            LoadErrorCode::NotAComponent
        );
    }
}
