//! Test plugin: its tool `flood` returns `content` of `bytes` bytes (8 MiB
//! when not given), far past any sensible output cap. The text is real
//! (repeated words), so only its size is wrong. Expected outcome:
//! `invalid_output` for exceeding the host's output size limit (the guest
//! needs about twice `bytes` of linear memory to build and return it, so
//! the host's memory limit must allow that to see this outcome rather than
//! `memory_limit`).

use lectern_tool::{Call, Manifest, TeachingTool, ToolError, ToolOutput, ToolSpec};
use serde::Deserialize;

/// Bytes of content returned when the call does not say.
pub const DEFAULT_OUTPUT_BYTES: usize = 8 * 1024 * 1024;
/// Largest size a call may ask for.
pub const MAX_OUTPUT_BYTES: usize = 64 * 1024 * 1024;

/// The plugin.
pub struct OversizedOutput;

#[derive(Deserialize)]
struct Arguments {
    bytes: Option<usize>,
}

impl TeachingTool for OversizedOutput {
    fn manifest() -> Manifest {
        lectern_tool::manifest!("Returns megabytes of content; tests the host's output limit.")
            .tool(ToolSpec::new(
                "flood",
                "Returns a huge output. Only for testing the host.",
                serde_json::json!({
                    "type": "object",
                    "properties": {
                        "bytes": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": MAX_OUTPUT_BYTES,
                            "description": "Size of the content in bytes (8 MiB when left out)."
                        }
                    },
                    "required": [],
                    "additionalProperties": false
                }),
            ))
    }

    fn invoke(call: &mut Call<'_>) -> Result<ToolOutput, ToolError> {
        match call.tool() {
            "flood" => {
                let arguments: Arguments = call.arguments()?;
                let bytes = arguments.bytes.unwrap_or(DEFAULT_OUTPUT_BYTES);
                Ok(ToolOutput::text(flood(bytes.min(MAX_OUTPUT_BYTES))))
            }
            other => Err(ToolError::unknown_tool(other)),
        }
    }
}

/// `bytes` bytes of words.
pub fn flood(bytes: usize) -> String {
    const WORDS: &str = "lesson content that goes on and on ";
    let mut text = WORDS.repeat(bytes / WORDS.len() + 1);
    text.truncate(bytes);
    text
}

lectern_tool::export!(OversizedOutput);

#[cfg(test)]
mod tests {
    use super::*;
    use lectern_tool::testing::{FakeEnv, check_manifest, sample_subtopic};

    #[test]
    fn manifest_is_valid() {
        check_manifest(&OversizedOutput::manifest()).unwrap();
    }

    #[test]
    fn content_has_the_size_asked() {
        let mut env = FakeEnv::new(sample_subtopic());
        let output = env
            .invoke::<OversizedOutput>("flood", serde_json::json!({}))
            .unwrap();
        assert_eq!(output.content.len(), DEFAULT_OUTPUT_BYTES);
        let small = env
            .invoke::<OversizedOutput>("flood", serde_json::json!({"bytes": 100}))
            .unwrap();
        assert_eq!(small.content.len(), 100);
    }
}
