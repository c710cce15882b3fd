//! Errors from loading a plugin or managing the registry. Each has a stable code,
//! names the plugin (and version) when known, and says what to do.

use serde::Serialize;

/// Why a plugin could not be loaded. Stable, machine-readable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadErrorCode {
    /// The bytes are not a WebAssembly component (garbage, or a core module).
    NotAComponent,
    /// The component is larger than the host accepts.
    TooLarge,
    /// The component does not say which `lectern:tool` contract it was built for.
    MissingContractVersion,
    /// The component was built for a contract version this host cannot serve.
    UnsupportedContractVersion,
    /// The component imports something teaching tools may never use (network …).
    ForbiddenImport,
    /// The component imports an interface this host does not provide.
    UnknownImport,
    /// wasmtime could not compile or link the component.
    CompileFailed,
    /// `describe` trapped, ran out of time or memory.
    DescribeFailed,
    /// The manifest is wrong: a bad name, version or tool list.
    InvalidManifest,
    /// A tool's `parameters` is not a valid JSON Schema object.
    InvalidSchema,
}

impl LoadErrorCode {
    /// The code as text, e.g. `forbidden_import`.
    pub fn as_str(self) -> &'static str {
        match self {
            LoadErrorCode::NotAComponent => "not_a_component",
            LoadErrorCode::TooLarge => "too_large",
            LoadErrorCode::MissingContractVersion => "missing_contract_version",
            LoadErrorCode::UnsupportedContractVersion => "unsupported_contract_version",
            LoadErrorCode::ForbiddenImport => "forbidden_import",
            LoadErrorCode::UnknownImport => "unknown_import",
            LoadErrorCode::CompileFailed => "compile_failed",
            LoadErrorCode::DescribeFailed => "describe_failed",
            LoadErrorCode::InvalidManifest => "invalid_manifest",
            LoadErrorCode::InvalidSchema => "invalid_schema",
        }
    }
}

/// A plugin that was refused. Nothing was changed by the attempt.
#[derive(Debug, Clone, thiserror::Error, Serialize)]
#[error("{}{}: {message}", code.as_str(), plugin.as_ref().map(|p| format!(" ({p})")).unwrap_or_default())]
pub struct LoadError {
    /// What kind of problem.
    pub code: LoadErrorCode,
    /// `name@version` when the manifest was read far enough to know it.
    pub plugin: Option<String>,
    /// What is wrong and what to do about it.
    pub message: String,
}

impl LoadError {
    pub(crate) fn new(code: LoadErrorCode, message: impl Into<String>) -> LoadError {
        LoadError {
            code,
            plugin: None,
            message: message.into(),
        }
    }

    pub(crate) fn for_plugin(mut self, name: &str, version: &str) -> LoadError {
        self.plugin = Some(format!("{name}@{version}"));
        self
    }
}

/// Why a registry operation was refused. Nothing was changed.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum RegistryError {
    /// No plugin of that name is installed.
    #[error("unknown_plugin: no plugin named `{0}` is installed; list plugins to see the names")]
    UnknownPlugin(String),
    /// The plugin has no kept version with that digest (or version number).
    #[error(
        "unknown_version: plugin `{plugin}` has no kept version `{version}`; list its versions to see the digests"
    )]
    UnknownVersion {
        /// Plugin name.
        plugin: String,
        /// The digest or version asked for.
        version: String,
    },
    /// A version number names several kept builds; the digest must be given.
    #[error(
        "ambiguous_version: plugin `{plugin}` has several builds of version {version}; give the sha256 digest instead"
    )]
    AmbiguousVersion {
        /// Plugin name.
        plugin: String,
        /// The version number asked for.
        version: String,
    },
    /// There is no earlier version to go back to.
    #[error(
        "nothing_to_roll_back: plugin `{0}` has no previously active version; activate a kept version by digest instead"
    )]
    NothingToRollBack(String),
    /// Two bound plugins provide a tool of the same name.
    #[error(
        "tool_name_clash: tool `{tool}` is provided by both `{first}` and `{second}`; bind only one of them to the subtopic"
    )]
    ToolNameClash {
        /// The clashing tool name.
        tool: String,
        /// Plugin bound first.
        first: String,
        /// Plugin bound second.
        second: String,
    },
    /// The plugin is installed but has no active version, or is disabled.
    #[error(
        "not_active: plugin `{0}` is disabled or has no active version; activate a version first"
    )]
    NotActive(String),
    /// A binding's configuration is not a JSON object.
    #[error("invalid_config: the configuration for plugin `{0}` must be a JSON object")]
    InvalidConfig(String),
}

impl RegistryError {
    /// The stable code, e.g. `unknown_plugin`.
    pub fn code(&self) -> &'static str {
        match self {
            RegistryError::UnknownPlugin(_) => "unknown_plugin",
            RegistryError::UnknownVersion { .. } => "unknown_version",
            RegistryError::AmbiguousVersion { .. } => "ambiguous_version",
            RegistryError::NothingToRollBack(_) => "nothing_to_roll_back",
            RegistryError::ToolNameClash { .. } => "tool_name_clash",
            RegistryError::NotActive(_) => "not_active",
            RegistryError::InvalidConfig(_) => "invalid_config",
        }
    }
}
