//! A plugin's manifest as the host keeps it, and the rules it must follow: a
//! kebab-case name, a semver version, at least one tool, snake_case unique tool
//! names, and parameters that are valid JSON Schema objects.

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::bindings::types as wit;
use super::error::{LoadError, LoadErrorCode};

/// Longest plugin name accepted.
pub const MAX_PLUGIN_NAME_CHARS: usize = 64;
/// Longest tool name accepted (the OpenAI function-name limit).
pub const MAX_TOOL_NAME_CHARS: usize = 64;
/// Most tools one plugin may provide; a subtopic offers the model only a handful.
pub const MAX_TOOLS_PER_PLUGIN: usize = 16;
/// Longest tool description, in bytes (the model reads every one on every turn).
pub const MAX_TOOL_DESCRIPTION_BYTES: usize = 1024;
/// Largest `parameters` schema, in bytes.
pub const MAX_SCHEMA_BYTES: usize = 16 << 10;

/// What a plugin says about itself (the `describe` export), checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// kebab-case plugin name, e.g. `check-understanding`.
    pub name: String,
    /// The plugin's own semver version.
    pub version: String,
    /// One sentence for operators and authors.
    pub description: String,
    /// The tools it provides.
    pub tools: Vec<ToolSpec>,
    /// Capabilities it asks for beyond the default sandbox (none are granted yet).
    pub capabilities: Vec<String>,
}

/// One tool the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// snake_case name.
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// JSON Schema object for the arguments.
    pub parameters: Value,
}

impl ToolSpec {
    /// The tool as an OpenAI Realtime function tool:
    /// `{"type":"function","name","description","parameters"}`.
    pub fn realtime_function(&self) -> Value {
        serde_json::json!({
            "type": "function",
            "name": self.name,
            "description": self.description,
            "parameters": self.parameters,
        })
    }
}

impl Manifest {
    /// The tool called `name`, if this plugin provides it.
    pub fn tool(&self, name: &str) -> Option<&ToolSpec> {
        self.tools.iter().find(|t| t.name == name)
    }
}

/// A compiled argument validator per tool, built once when the plugin is loaded.
pub(crate) type Validators = HashMap<String, Arc<jsonschema::Validator>>;

/// Check what `describe` returned and compile the argument validators.
pub(crate) fn check(raw: wit::Manifest) -> Result<(Manifest, Validators), LoadError> {
    let invalid = |msg: String| LoadError::new(LoadErrorCode::InvalidManifest, msg);
    if !is_kebab_case(&raw.name) || raw.name.len() > MAX_PLUGIN_NAME_CHARS {
        return Err(invalid(format!(
            "the plugin name `{}` must be kebab-case (lowercase letters, digits and single \
             dashes, starting with a letter, at most {MAX_PLUGIN_NAME_CHARS} characters), e.g. `check-understanding`",
            raw.name.escape_debug()
        )));
    }
    let tag = |e: LoadError| e.for_plugin(&raw.name, &raw.version);
    if semver::Version::parse(&raw.version).is_err() {
        return Err(tag(invalid(format!(
            "the version `{}` is not semver (MAJOR.MINOR.PATCH, e.g. `1.0.0`); fix `version` in the manifest",
            raw.version.escape_debug()
        ))));
    }
    if raw.tools.is_empty() || raw.tools.len() > MAX_TOOLS_PER_PLUGIN {
        return Err(tag(invalid(format!(
            "a plugin must provide between 1 and {MAX_TOOLS_PER_PLUGIN} tools, this one lists {}",
            raw.tools.len()
        ))));
    }
    let mut tools = Vec::with_capacity(raw.tools.len());
    let mut validators = Validators::new();
    for spec in raw.tools {
        if !is_snake_case(&spec.name) || spec.name.len() > MAX_TOOL_NAME_CHARS {
            return Err(tag(invalid(format!(
                "the tool name `{}` must be snake_case (lowercase letters, digits and underscores, \
                 starting with a letter, at most {MAX_TOOL_NAME_CHARS} characters), e.g. `check_understanding`",
                spec.name.escape_debug()
            ))));
        }
        if validators.contains_key(&spec.name) {
            return Err(tag(invalid(format!(
                "the tool name `{}` appears twice; every tool needs its own name",
                spec.name
            ))));
        }
        if spec.description.trim().is_empty() || spec.description.len() > MAX_TOOL_DESCRIPTION_BYTES
        {
            return Err(tag(invalid(format!(
                "tool `{}` needs a description for the model of 1 to {MAX_TOOL_DESCRIPTION_BYTES} bytes",
                spec.name
            ))));
        }
        let (parameters, validator) = check_schema(&spec.name, &spec.parameters).map_err(tag)?;
        validators.insert(spec.name.clone(), Arc::new(validator));
        tools.push(ToolSpec {
            name: spec.name,
            description: spec.description,
            parameters,
        });
    }
    Ok((
        Manifest {
            name: raw.name,
            version: raw.version,
            description: raw.description,
            tools,
            capabilities: raw.capabilities,
        },
        validators,
    ))
}

fn check_schema(tool: &str, text: &str) -> Result<(Value, jsonschema::Validator), LoadError> {
    let bad = |why: String| {
        LoadError::new(
            LoadErrorCode::InvalidSchema,
            format!("the parameters of tool `{tool}` {why}"),
        )
    };
    if text.len() > MAX_SCHEMA_BYTES {
        return Err(bad(format!(
            "are larger than {MAX_SCHEMA_BYTES} bytes; simplify the schema"
        )));
    }
    let schema: Value = serde_json::from_str(text).map_err(|e| {
        bad(format!(
            "are not JSON ({e}); write them as a JSON Schema object"
        ))
    })?;
    if schema.get("type").and_then(Value::as_str) != Some("object") {
        return Err(bad(
            "must be a JSON Schema with `\"type\": \"object\"` at the top (the model passes named arguments)"
                .to_owned(),
        ));
    }
    jsonschema::meta::validate(&schema).map_err(|e| {
        bad(format!(
            "are not a valid JSON Schema: {e} (at {})",
            e.instance_path()
        ))
    })?;
    let validator = jsonschema::validator_for(&schema)
        .map_err(|e| bad(format!("cannot be compiled: {e}; remove external `$ref`s")))?;
    Ok((schema, validator))
}

/// `check-understanding`: lowercase ASCII words joined by single dashes.
pub fn is_kebab_case(name: &str) -> bool {
    !name.is_empty()
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && !name.contains("--")
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// `check_understanding`: lowercase ASCII words joined by underscores.
pub fn is_snake_case(name: &str) -> bool {
    !name.is_empty()
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('_')
        && !name.contains("__")
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(name: &str, tools: &[(&str, &str)]) -> wit::Manifest {
        wit::Manifest {
            name: name.into(),
            version: "1.0.0".into(),
            description: "test".into(),
            tools: tools
                .iter()
                .map(|(n, p)| wit::ToolSpec {
                    name: (*n).into(),
                    description: "does a thing".into(),
                    parameters: (*p).into(),
                })
                .collect(),
            capabilities: vec![],
        }
    }

    const OBJ: &str =
        r#"{"type":"object","properties":{"answer":{"type":"string"}},"required":["answer"]}"#;

    #[test]
    fn names() {
        assert!(is_kebab_case("check-understanding"));
        assert!(!is_kebab_case("Check"));
        assert!(!is_kebab_case("a--b"));
        assert!(is_snake_case("check_understanding"));
        assert!(!is_snake_case("checkUnderstanding"));
        assert!(!is_snake_case("_x"));
    }

    #[test]
    fn good_manifest_compiles_validators() {
        let (m, v) = check(raw("quiz", &[("start_quiz", OBJ)])).unwrap();
        assert_eq!(m.tools[0].realtime_function()["type"], "function");
        assert!(v["start_quiz"].is_valid(&serde_json::json!({"answer": "x"})));
        assert!(!v["start_quiz"].is_valid(&serde_json::json!({})));
    }

    #[test]
    fn bad_manifests_are_refused() {
        let e = check(raw("Bad_Name", &[("t", OBJ)])).unwrap_err();
        assert_eq!(e.code, LoadErrorCode::InvalidManifest);
        let e = check(raw("p", &[("t", OBJ), ("t", OBJ)])).unwrap_err();
        assert!(e.message.contains("twice"), "{e}");
        assert_eq!(e.plugin.as_deref(), Some("p@1.0.0"));
        let e = check(raw("p", &[("t", r#"{"type":"array"}"#)])).unwrap_err();
        assert_eq!(e.code, LoadErrorCode::InvalidSchema);
        let e = check(raw(
            "p",
            &[(
                "t",
                r#"{"type":"object","properties":{"a":{"type":"nope"}}}"#,
            )],
        ))
        .unwrap_err();
        assert_eq!(e.code, LoadErrorCode::InvalidSchema);
        let e = check(raw("p", &[("t", "{not json")])).unwrap_err();
        assert_eq!(e.code, LoadErrorCode::InvalidSchema);
        let e = check(raw("p", &[])).unwrap_err();
        assert_eq!(e.code, LoadErrorCode::InvalidManifest);
    }
}
