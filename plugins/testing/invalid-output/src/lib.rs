//! Test plugin: its tool `invalid` returns output that is well-typed but
//! wrong twice over: an empty `content` (the model would read nothing) and
//! a score card claiming 5 correct out of 3. Expected outcome:
//! `invalid_output`, the model told the tool failed.

use lectern_tool::{
    Call, Display, Manifest, ScoreCard, TeachingTool, ToolError, ToolOutput, ToolSpec,
};

/// Correct answers the score card claims.
pub const CLAIMED_CORRECT: u32 = 5;
/// Questions the score card says there were (fewer than `CLAIMED_CORRECT`).
pub const CLAIMED_TOTAL: u32 = 3;

/// The plugin.
pub struct InvalidOutput;

impl TeachingTool for InvalidOutput {
    fn manifest() -> Manifest {
        lectern_tool::manifest!("Returns output the host must reject; tests output checks.").tool(
            ToolSpec::with_raw_parameters(
                "invalid",
                "Returns invalid output. Only for testing the host.",
                r#"{"type":"object","properties":{},"additionalProperties":false}"#,
            ),
        )
    }

    fn invoke(call: &mut Call<'_>) -> Result<ToolOutput, ToolError> {
        match call.tool() {
            "invalid" => Ok(invalid_output()),
            other => Err(ToolError::unknown_tool(other)),
        }
    }
}

/// Empty content and a score card with more correct answers than questions.
pub fn invalid_output() -> ToolOutput {
    ToolOutput {
        content: String::new(),
        display: Some(Display::Score(ScoreCard {
            title: "Impossible score".to_owned(),
            correct: CLAIMED_CORRECT,
            total: CLAIMED_TOTAL,
            feedback: "More right answers than questions.".to_owned(),
        })),
    }
}

lectern_tool::export!(InvalidOutput);

#[cfg(test)]
mod tests {
    use super::*;
    use lectern_tool::testing::{check_manifest, check_output};

    #[test]
    fn manifest_is_valid() {
        check_manifest(&InvalidOutput::manifest()).unwrap();
    }

    #[test]
    fn both_faults_are_caught() {
        let output = invalid_output();
        assert!(
            check_output(&output)
                .unwrap_err()
                .contains("`content` is empty")
        );
        let with_content = ToolOutput {
            content: "x".into(),
            ..output
        };
        assert!(
            check_output(&with_content)
                .unwrap_err()
                .contains("5 correct out of 3")
        );
    }
}
