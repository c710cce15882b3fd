//! Test plugin: describes one tool, `noop`, whose call returns a one-word
//! output without reading the lesson, the state or anything else from the
//! host. Its cost is the floor the host's benchmarks measure against.

use lectern_tool::{Call, Manifest, TeachingTool, ToolError, ToolOutput, ToolSpec};

/// The plugin.
pub struct Noop;

impl TeachingTool for Noop {
    fn manifest() -> Manifest {
        lectern_tool::manifest!("Does nothing; the floor for the host's benchmarks.").tool(
            ToolSpec::with_raw_parameters(
                "noop",
                "Does nothing. Only for testing the host.",
                r#"{"type":"object","properties":{},"additionalProperties":false}"#,
            ),
        )
    }

    fn invoke(call: &mut Call<'_>) -> Result<ToolOutput, ToolError> {
        match call.tool() {
            "noop" => Ok(ToolOutput::text("ok")),
            other => Err(ToolError::unknown_tool(other)),
        }
    }
}

lectern_tool::export!(Noop);

#[cfg(test)]
mod tests {
    use super::*;
    use lectern_tool::testing::{FakeEnv, check_manifest, sample_subtopic};

    #[test]
    fn touches_nothing_in_the_host() {
        check_manifest(&Noop::manifest()).unwrap();
        let mut env = FakeEnv::new(sample_subtopic());
        let output = env.invoke::<Noop>("noop", serde_json::json!({})).unwrap();
        assert_eq!(output.content, "ok");
        assert_eq!(env.lesson_reads(), 0);
        assert!(env.state().is_empty() && env.logs().is_empty());
    }
}
