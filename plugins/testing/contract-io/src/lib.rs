//! Test plugin: describes one tool, `next_objective`, that does what every
//! question tool does with the host and nothing more. It reads the subtopic,
//! its own state and the learner's mastery, writes its state and a log
//! line, and returns the objective shown least so far as a question card.
//! There is no analysis of any text. Its cost is what the contract's inputs
//! and outputs cost a tool. The host's benchmark measures it beside the
//! no-op floor, so a tool's own work can be told from its I/O.

use lectern_tool::{
    Call, Display, LogLevel, Manifest, QuestionCard, TeachingTool, ToolError, ToolOutput, ToolSpec,
};

/// State key: how often each objective was shown in this session, one
/// `count id` line per objective shown.
const SHOWN_KEY: &str = "shown";

/// The plugin.
pub struct ContractIo;

impl TeachingTool for ContractIo {
    fn manifest() -> Manifest {
        lectern_tool::manifest!(
            "Shows the objective shown least so far; only for measuring the host."
        )
        .tool(ToolSpec::with_raw_parameters(
            "next_objective",
            "Returns the subtopic's objective shown least so far. Only for testing the host.",
            r#"{"type":"object","properties":{},"additionalProperties":false}"#,
        ))
    }

    fn invoke(call: &mut Call<'_>) -> Result<ToolOutput, ToolError> {
        match call.tool() {
            "next_objective" => next_objective(call),
            other => Err(ToolError::unknown_tool(other)),
        }
    }
}

lectern_tool::export!(ContractIo);

fn next_objective(call: &mut Call<'_>) -> Result<ToolOutput, ToolError> {
    let shown = call.state_text(SHOWN_KEY).unwrap_or_default();
    let mastery = call.mastery();
    let lesson = call.lesson();
    let times = |id: &str| {
        shown
            .lines()
            .find_map(|line| {
                let (count, shown_id) = line.split_once(' ')?;
                (shown_id == id).then(|| count.parse::<u32>().ok())?
            })
            .unwrap_or(0)
    };
    let score = |id: &str| {
        mastery
            .iter()
            .find(|m| m.objective_id == id)
            .map_or(0.0, |m| m.score)
    };
    // Least shown first, then the least mastered; ties keep lesson order.
    let Some((shown_before, _, objective)) = lesson
        .objectives
        .iter()
        .map(|o| (times(&o.id), score(&o.id), o))
        .min_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)))
    else {
        return Err(ToolError::failed(format!(
            "the subtopic \"{}\" has no objectives",
            lesson.title
        )));
    };
    let (id, text) = (objective.id.clone(), objective.text.clone());
    let mut updated = String::with_capacity(shown.len() + id.len() + 8);
    for line in shown.lines() {
        if line
            .split_once(' ')
            .is_some_and(|(_, shown_id)| shown_id != id)
        {
            updated.push_str(line);
            updated.push('\n');
        }
    }
    updated.push_str(&(shown_before + 1).to_string());
    updated.push(' ');
    updated.push_str(&id);
    call.set_state_text(SHOWN_KEY, &updated)?;
    call.log(LogLevel::Debug, &id);
    let mut content = String::with_capacity(text.len() + 24);
    content.push_str("Ask the learner about: ");
    content.push_str(&text);
    Ok(
        ToolOutput::text(content).with_display(Display::Question(QuestionCard {
            prompt: text,
            choices: Vec::new(),
            objective_id: Some(id),
        })),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use lectern_tool::testing::{FakeEnv, check_manifest, sample_subtopic};

    #[test]
    fn shows_each_objective_in_turn_and_the_weakest_first() {
        check_manifest(&ContractIo::manifest()).unwrap();
        let lesson = sample_subtopic();
        let ids: Vec<String> = lesson.objectives.iter().map(|o| o.id.clone()).collect();
        assert!(ids.len() >= 2, "the sample has several objectives");
        // The first objective is mastered, so the second comes first.
        let mut env = FakeEnv::new(lesson).with_mastery(&ids[0], 0.9, 3);
        let mut seen = Vec::new();
        for _ in 0..ids.len() {
            let output = env
                .invoke::<ContractIo>("next_objective", serde_json::json!({}))
                .unwrap();
            let Some(Display::Question(card)) = output.display else {
                panic!("a question card: {output:?}");
            };
            seen.push(card.objective_id.unwrap());
        }
        assert_eq!(seen[0], ids[1]);
        seen.sort();
        let mut all = ids.clone();
        all.sort();
        assert_eq!(seen, all, "every objective once before any twice");
        assert_eq!(env.state()[SHOWN_KEY].lines().count(), ids.len());
        assert_eq!(env.logs().len(), ids.len());
        // The next round starts again from the weakest.
        let output = env
            .invoke::<ContractIo>("next_objective", serde_json::json!({}))
            .unwrap();
        assert!(
            output.content.ends_with(&lesson_text(&ids[1])),
            "{}",
            output.content
        );
        assert!(env.state()[SHOWN_KEY].contains(&format!("2 {}", ids[1])));
    }

    fn lesson_text(id: &str) -> String {
        sample_subtopic()
            .objectives
            .into_iter()
            .find(|o| o.id == id)
            .unwrap()
            .text
    }

    #[test]
    fn keeps_one_line_per_objective_however_long_the_lesson() {
        let lesson = sample_subtopic();
        let objectives = lesson.objectives.len();
        let mut env = FakeEnv::new(lesson);
        for _ in 0..10 * objectives {
            env.invoke::<ContractIo>("next_objective", serde_json::json!({}))
                .unwrap();
        }
        let shown = &env.state()[SHOWN_KEY];
        assert_eq!(shown.lines().count(), objectives);
        assert!(shown.lines().all(|line| line.starts_with("10 ")), "{shown}");
    }

    #[test]
    fn a_subtopic_without_objectives_is_a_plain_error() {
        let mut lesson = sample_subtopic();
        lesson.objectives.clear();
        let mut env = FakeEnv::new(lesson);
        let error = env
            .invoke::<ContractIo>("next_objective", serde_json::json!({}))
            .unwrap_err();
        assert!(error.to_string().contains("no objectives"), "{error}");
    }
}
