//! Test plugin: its tool `panic` panics. On `wasm32-wasip2` a panic
//! aborts, which is a WebAssembly trap (`unreachable`) after the panic
//! message is written to stderr. Expected outcome: `trap`, counted by the
//! host's circuit breaker, with the host and the session unharmed.

use lectern_tool::{Call, Manifest, TeachingTool, ToolError, ToolOutput, ToolSpec};

/// The panic message, for hosts that capture stderr.
pub const PANIC_MESSAGE: &str = "the trap test plugin panics on purpose";

/// The plugin.
pub struct Trap;

impl TeachingTool for Trap {
    fn manifest() -> Manifest {
        lectern_tool::manifest!("Panics when called; tests how the host contains traps.").tool(
            ToolSpec::with_raw_parameters(
                "panic",
                "Panics. Only for testing the host.",
                r#"{"type":"object","properties":{},"additionalProperties":false}"#,
            ),
        )
    }

    fn invoke(call: &mut Call<'_>) -> Result<ToolOutput, ToolError> {
        match call.tool() {
            "panic" => panic!("{PANIC_MESSAGE}"),
            other => Err(ToolError::unknown_tool(other)),
        }
    }
}

lectern_tool::export!(Trap);

#[cfg(test)]
mod tests {
    use super::*;
    use lectern_tool::testing::{FakeEnv, check_manifest, sample_subtopic};

    #[test]
    fn manifest_is_valid() {
        check_manifest(&Trap::manifest()).unwrap();
    }

    #[test]
    #[should_panic(expected = "panics on purpose")]
    fn the_tool_panics() {
        let mut env = FakeEnv::new(sample_subtopic());
        let _ = env.invoke::<Trap>("panic", serde_json::json!({}));
    }
}
