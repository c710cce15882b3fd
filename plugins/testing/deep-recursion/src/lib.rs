//! Test plugin: its tool `recurse` calls itself without bound. Each level
//! keeps a 256-byte buffer alive across the recursive call, so the
//! recursion can neither be turned into a loop nor stay small: it exhausts
//! either the WebAssembly call stack (the engine's stack limit) or the
//! 1 MiB shadow stack in linear memory (which then runs out of bounds).
//! Both are traps. Expected outcome: `trap`, with the host's own stack,
//! the host and the session unharmed.

use std::hint::black_box;

use lectern_tool::{Call, Manifest, TeachingTool, ToolError, ToolOutput, ToolSpec};

/// Bytes of shadow stack each level keeps.
const FRAME_BYTES: usize = 256;

/// The plugin.
pub struct DeepRecursion;

impl TeachingTool for DeepRecursion {
    fn manifest() -> Manifest {
        lectern_tool::manifest!("Recurses without bound; tests the host's stack limit.").tool(
            ToolSpec::with_raw_parameters(
                "recurse",
                "Recurses without bound. Only for testing the host.",
                r#"{"type":"object","properties":{},"additionalProperties":false}"#,
            ),
        )
    }

    fn invoke(call: &mut Call<'_>) -> Result<ToolOutput, ToolError> {
        match call.tool() {
            "recurse" => {
                let depth = descend(0, u64::MAX);
                Ok(ToolOutput::text(format!("returned from depth {depth}")))
            }
            other => Err(ToolError::unknown_tool(other)),
        }
    }
}

/// Recurses until `level == limit` (never, with `u64::MAX`), returning a
/// value that depends on every level's buffer.
#[inline(never)]
pub fn descend(level: u64, limit: u64) -> u64 {
    let mut frame = [0u8; FRAME_BYTES];
    frame[(level as usize) % FRAME_BYTES] = level as u8;
    let frame = black_box(frame);
    if black_box(level) >= limit {
        return level;
    }
    let below = descend(level + 1, limit);
    below.wrapping_add(u64::from(frame[(level as usize) % FRAME_BYTES]))
}

lectern_tool::export!(DeepRecursion);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_is_valid() {
        lectern_tool::testing::check_manifest(&DeepRecursion::manifest()).unwrap();
    }

    #[test]
    fn bounded_recursion_returns() {
        // 0 + 1 + … + 10 (each level adds its own index, as a byte).
        assert_eq!(descend(0, 10), 10 + (0..10u64).sum::<u64>());
    }
}
