//! `provide-example`: gives the learner a worked example fitted to the
//! concept asked, chosen from the subtopic's worked examples and never
//! repeated within a session; when the fitting ones are used up it composes
//! one from the key points and content.

mod compose;

use std::collections::BTreeSet;

use lectern_tool::text::Normalizer;
use lectern_tool::{
    Call, Display, ExampleCard, Manifest, Subtopic, TeachingTool, ToolError, ToolOutput, ToolSpec,
    WorkedExample,
};
use serde::Deserialize;
use serde_json::json;

use crate::compose::compose_example;

/// State key: titles of the worked examples given in this session.
const USED_KEY: &str = "used_examples";
/// State key: indices of the key points examples were composed from.
const COMPOSED_KEY: &str = "composed_from";
/// Longest `concept` argument read, in characters.
const MAX_CONCEPT_CHARS: usize = 200;

/// The plugin.
pub struct ProvideExample;

impl TeachingTool for ProvideExample {
    fn manifest() -> Manifest {
        lectern_tool::manifest!(
            "Gives worked examples from the lesson, fitted to a concept and never repeated in a lesson."
        )
        .tool(ToolSpec::new(
            "provide_example",
            "Get a worked example (a problem and its solution) for a concept of the current \
             subtopic. Use it when the learner is stuck, asks for an example, or an idea \
             needs to be made concrete. Walk the learner through it step by step rather than \
             reading it out. Each call gives a different example.",
            json!({
                "type": "object",
                "properties": {
                    "concept": {
                        "type": "string",
                        "description": "The concept or question the learner needs an example \
                                        of, in a few words (e.g. \"why leaves are green\").",
                        "minLength": 1,
                        "maxLength": MAX_CONCEPT_CHARS
                    }
                },
                "required": ["concept"],
                "additionalProperties": false
            }),
        ))
    }

    fn invoke(call: &mut Call<'_>) -> Result<ToolOutput, ToolError> {
        match call.tool() {
            "provide_example" => provide_example(call),
            other => Err(ToolError::unknown_tool(other)),
        }
    }
}

lectern_tool::export!(ProvideExample);

#[derive(Deserialize)]
struct Arguments {
    concept: String,
}

/// How well a worked example fits the asked concepts: its stated concept
/// counts most, then its title, then its text.
fn fit(example: &WorkedExample, wanted: &BTreeSet<String>, normalizer: &Normalizer) -> usize {
    let hits = |text: &str| normalizer.concepts(text).intersection(wanted).count();
    3 * hits(&example.concept)
        + 2 * hits(&example.title)
        + hits(&format!("{} {}", example.problem, example.solution))
}

fn provide_example(call: &mut Call<'_>) -> Result<ToolOutput, ToolError> {
    let arguments: Arguments = call.arguments()?;
    let concept: String = arguments
        .concept
        .trim()
        .chars()
        .take(MAX_CONCEPT_CHARS)
        .collect();
    if concept.is_empty() {
        return Err(ToolError::invalid_arguments(
            "`concept` is empty; say in a few words what the example should show",
        ));
    }
    let normalizer = Normalizer::for_locale(&call.context().locale);
    let wanted = normalizer.concepts(&concept);
    let used: Vec<String> = call.state_or_default(USED_KEY);
    let composed: Vec<usize> = call.state_or_default(COMPOSED_KEY);
    let lesson: Subtopic = call.lesson().clone();

    // The best-fitting worked example not given yet (first in the lesson on a tie).
    let unused: Vec<&WorkedExample> = lesson
        .examples
        .iter()
        .filter(|example| !used.contains(&example.title))
        .collect();
    let best = unused
        .iter()
        .map(|example| (fit(example, &wanted, &normalizer), *example))
        .rev()
        .max_by_key(|(score, _)| *score);

    if let Some((_, example)) = best.filter(|(score, _)| *score > 0) {
        return give_worked_example(call, &lesson, example, &concept, used, true);
    }
    if let Some(composed_example) = compose_example(&lesson, &normalizer, &concept, &composed, true)
    {
        return give_composed(call, composed_example, &concept, composed);
    }
    if let Some(example) = unused.first() {
        return give_worked_example(call, &lesson, example, &concept, used, false);
    }
    if let Some(composed_example) =
        compose_example(&lesson, &normalizer, &concept, &composed, false)
    {
        return give_composed(call, composed_example, &concept, composed);
    }
    lectern_tool::info!(call, "no example left for \"{concept}\"");
    Ok(ToolOutput::text(format!(
        "Every example in \"{}\" has already been given in this lesson ({} worked, {} composed \
         from key points). Make up a new everyday example of \"{concept}\" yourself, or ask \
         the learner to come up with one.",
        lesson.title,
        used.len(),
        composed.len()
    )))
}

fn give_worked_example(
    call: &mut Call<'_>,
    lesson: &Subtopic,
    example: &WorkedExample,
    concept: &str,
    mut used: Vec<String>,
    fits: bool,
) -> Result<ToolOutput, ToolError> {
    used.push(example.title.clone());
    call.set_state(USED_KEY, &used)?;
    let remaining = lesson.examples.len() - used.len().min(lesson.examples.len());
    let about = if example.concept.is_empty() {
        String::new()
    } else {
        format!(" (about {})", example.concept)
    };
    let fit_note = if fits {
        String::new()
    } else {
        format!(
            "No example of this lesson is about \"{concept}\" exactly; this is the closest one \
             not given yet. "
        )
    };
    let content = format!(
        "{fit_note}Worked example \"{}\"{about} for \"{concept}\". Problem: {} Solution: {} \
         Let the learner try the problem before revealing the solution. {remaining} more \
         worked example(s) remain for this lesson.",
        example.title, example.problem, example.solution
    );
    Ok(
        ToolOutput::text(content).with_display(Display::Example(ExampleCard {
            title: example.title.clone(),
            problem: example.problem.clone(),
            solution: example.solution.clone(),
        })),
    )
}

fn give_composed(
    call: &mut Call<'_>,
    example: compose::Composed,
    concept: &str,
    mut composed: Vec<usize>,
) -> Result<ToolOutput, ToolError> {
    composed.push(example.key_point);
    call.set_state(COMPOSED_KEY, &composed)?;
    let content = format!(
        "No unused worked example fits \"{concept}\", so here is one composed from the \
         lesson's key points. Problem: {} Solution: {} Present it as a quick example and \
         let the learner reason it out.",
        example.card.problem, example.card.solution
    );
    Ok(ToolOutput::text(content).with_display(Display::Example(example.card)))
}

#[cfg(test)]
mod tests;
