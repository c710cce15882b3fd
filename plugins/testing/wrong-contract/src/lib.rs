//! Test plugin: a well-behaved tool that records contract version `9.0.0`
//! in its `lectern:contract-version` section instead of the SDK's `0.1.0`.
//! Expected outcome: the host refuses to load it before instantiating,
//! naming both versions (the plugin's 9.0.0 and the 0.1.0 it serves).

use lectern_tool::{Call, Manifest, TeachingTool, ToolError, ToolOutput, ToolSpec};

/// The contract version this plugin claims.
pub const CLAIMED_CONTRACT_VERSION: &str = "9.0.0";

/// The plugin.
pub struct WrongContract;

impl TeachingTool for WrongContract {
    fn manifest() -> Manifest {
        lectern_tool::manifest!("Claims a contract version the host cannot serve.").tool(
            ToolSpec::with_raw_parameters(
                "echo_title",
                "Returns the subtopic's title. Only for testing the host.",
                r#"{"type":"object","properties":{},"additionalProperties":false}"#,
            ),
        )
    }

    fn invoke(call: &mut Call<'_>) -> Result<ToolOutput, ToolError> {
        match call.tool() {
            "echo_title" => Ok(ToolOutput::text(call.lesson().title.clone())),
            other => Err(ToolError::unknown_tool(other)),
        }
    }
}

lectern_tool::export!(WrongContract, contract_version = "9.0.0");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_is_valid() {
        lectern_tool::testing::check_manifest(&WrongContract::manifest()).unwrap();
    }
}
