//! Test plugin: describes a tool whose `parameters` is `{"type": 12}`:
//! valid JSON, but not a valid JSON Schema (`type` must be a string or an
//! array of strings). Expected outcome: the host refuses to load it at
//! validation (broken schema), naming the tool; it is never offered to the
//! model.

use lectern_tool::{Call, Manifest, TeachingTool, ToolError, ToolOutput, ToolSpec};

/// The schema the tool declares.
pub const BROKEN_PARAMETERS: &str = r#"{"type": 12}"#;

/// The plugin.
pub struct BrokenSchema;

impl TeachingTool for BrokenSchema {
    fn manifest() -> Manifest {
        lectern_tool::manifest!("Declares a tool with an invalid JSON Schema.").tool(
            ToolSpec::with_raw_parameters(
                "broken",
                "Has an invalid parameter schema. Only for testing the host.",
                BROKEN_PARAMETERS,
            ),
        )
    }

    fn invoke(call: &mut Call<'_>) -> Result<ToolOutput, ToolError> {
        match call.tool() {
            "broken" => Ok(ToolOutput::text("called despite a broken schema")),
            other => Err(ToolError::unknown_tool(other)),
        }
    }
}

lectern_tool::export!(BrokenSchema);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_is_refused_by_the_manifest_checks() {
        let error = lectern_tool::testing::check_manifest(&BrokenSchema::manifest()).unwrap_err();
        assert!(error.contains("not a JSON Schema"), "{error}");
    }
}
