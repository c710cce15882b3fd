//! Test plugin: its tool `spin` never returns. It loops forever doing
//! arithmetic the optimiser cannot remove, without calling the host, so only
//! the host's wall-clock deadline (epoch interruption) can stop it: the
//! expected outcome is `deadline_exceeded`, on time, with the host and the
//! session unharmed.

use std::hint::black_box;

use lectern_tool::{Call, Manifest, TeachingTool, ToolError, ToolOutput, ToolSpec};

/// The plugin.
pub struct SpinLoop;

impl TeachingTool for SpinLoop {
    fn manifest() -> Manifest {
        lectern_tool::manifest!("Never returns from a call; tests the host's deadline.").tool(
            ToolSpec::with_raw_parameters(
                "spin",
                "Loops forever. Only for testing the host.",
                r#"{"type":"object","properties":{},"additionalProperties":false}"#,
            ),
        )
    }

    fn invoke(call: &mut Call<'_>) -> Result<ToolOutput, ToolError> {
        match call.tool() {
            "spin" => spin(),
            other => Err(ToolError::unknown_tool(other)),
        }
    }
}

/// Runs forever.
pub fn spin() -> ! {
    let mut state: u64 = 1;
    loop {
        // xorshift through black_box: real work each turn, never optimised out.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state = black_box(state);
    }
}

lectern_tool::export!(SpinLoop);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_is_valid() {
        lectern_tool::testing::check_manifest(&SpinLoop::manifest()).unwrap();
    }
}
