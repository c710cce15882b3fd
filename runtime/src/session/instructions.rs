//! The model's instructions and tools for a subtopic.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::lesson::Subtopic;
use crate::realtime::protocol::Tool;
use crate::store::Mastery;

/// Teaching content included in the instructions, in characters; the rest
/// stays available to tools through the `lesson` import.
pub const MAX_CONTENT_CHARS: usize = 6_000;

/// Built-in tool: move on to the next subtopic of the topic.
pub const NEXT_SUBTOPIC: &str = "next_subtopic";
/// Built-in tool: switch to a named subtopic.
pub const SWITCH_SUBTOPIC: &str = "switch_subtopic";
/// Built-in tool: end the lesson.
pub const END_LESSON: &str = "end_lesson";

/// The system instructions for teaching `subtopic` to a learner whose
/// progress is `mastery` (if known).
pub fn compose(subtopic: &Subtopic, mastery: Option<&Mastery>) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "You are a patient, encouraging voice tutor. You are teaching the subtopic \"{}\" of the topic \"{}\" at {} level.",
        subtopic.title,
        if subtopic.topic_title.is_empty() {
            &subtopic.topic_id
        } else {
            &subtopic.topic_title
        },
        subtopic.level.as_str()
    );
    if !subtopic.summary.is_empty() {
        let _ = writeln!(s, "\nSummary: {}", subtopic.summary);
    }
    if !subtopic.objectives.is_empty() {
        let _ = writeln!(s, "\nLearning objectives:");
        for o in &subtopic.objectives {
            let progress = mastery
                .and_then(|m| m.objectives.iter().find(|p| p.objective_id == o.id))
                .filter(|p| p.evidence_count > 0)
                .map(|p| {
                    format!(
                        " (learner so far: {:.0}% from {} check{})",
                        p.score * 100.0,
                        p.evidence_count,
                        if p.evidence_count == 1 { "" } else { "s" }
                    )
                })
                .unwrap_or_default();
            let _ = writeln!(s, "- [{}] {}{}", o.id, o.text, progress);
        }
    }
    if let Some(m) = mastery
        && m.objectives.iter().any(|p| p.evidence_count > 0)
    {
        let _ = writeln!(
            s,
            "Overall mastery: {:.0}%. Spend your time on the objectives the learner has not mastered yet.",
            m.mastery * 100.0
        );
    }
    if !subtopic.key_points.is_empty() {
        let _ = writeln!(s, "\nKey points the learner should retain:");
        for k in &subtopic.key_points {
            let _ = writeln!(s, "- {k}");
        }
    }
    if !subtopic.content.is_empty() {
        let content: String = subtopic.content.chars().take(MAX_CONTENT_CHARS).collect();
        let _ = writeln!(
            s,
            "\nTeaching material (for you; explain it in your own words, never read it out):\n{content}"
        );
    }
    let _ = write!(
        s,
        "\nHow to teach: speak in short turns of two or three sentences, then let the learner talk. \
         Ask questions that make the learner think, and check understanding with your tools \
         before moving on. When the learner is ready for the next part, call {NEXT_SUBTOPIC}; \
         when they ask for a different subtopic, call {SWITCH_SUBTOPIC}; when they want to stop \
         or the lesson is complete, say goodbye and call {END_LESSON}. A tool error is for you \
         to handle: tell the learner briefly and carry on."
    );
    s
}

/// The host's own tools, offered in every lesson.
pub fn host_tools() -> Vec<Tool> {
    vec![
        Tool::Function {
            name: NEXT_SUBTOPIC.into(),
            description: "Move the lesson on to the next subtopic of the topic, once the learner has understood this one.".into(),
            parameters: json!({"type": "object", "properties": {}, "additionalProperties": false}),
        },
        Tool::Function {
            name: SWITCH_SUBTOPIC.into(),
            description: "Switch the lesson to another subtopic the learner asked for, by its id.".into(),
            parameters: json!({"type": "object", "properties": {
                "subtopic_id": {"type": "string", "description": "Id of the subtopic to teach next."}
            }, "required": ["subtopic_id"], "additionalProperties": false}),
        },
        Tool::Function {
            name: END_LESSON.into(),
            description: "End the lesson after saying goodbye, when the learner wants to stop or everything is covered.".into(),
            parameters: json!({"type": "object", "properties": {
                "reason": {"type": "string", "description": "Why the lesson ends, in a few words."}
            }, "additionalProperties": false}),
        },
    ]
}

/// Plugin tools (Realtime function objects from the plugin host) plus the
/// host's tools.
pub fn all_tools(plugin_tools: Vec<Value>) -> Vec<Tool> {
    let mut tools: Vec<Tool> = plugin_tools
        .into_iter()
        .filter_map(|v| match serde_json::from_value::<Tool>(v) {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::warn!(error = %e, "plugin tool is not a Realtime function; skipped");
                None
            }
        })
        .collect();
    tools.extend(host_tools());
    tools
}

/// Whether `name` is one of the host's tools.
pub fn is_host_tool(name: &str) -> bool {
    matches!(name, NEXT_SUBTOPIC | SWITCH_SUBTOPIC | END_LESSON)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lesson::{Level, Objective};

    #[test]
    fn instructions_name_the_subtopic_objectives_and_progress() {
        let sub = Subtopic {
            id: "s1".into(),
            topic_id: "t".into(),
            topic_title: "Plants".into(),
            title: "Photosynthesis".into(),
            summary: "How plants make food.".into(),
            content: "Light + water + CO2.".into(),
            objectives: vec![Objective {
                id: "o1".into(),
                text: "Explain photosynthesis".into(),
            }],
            key_points: vec!["Chlorophyll absorbs light".into()],
            examples: vec![],
            level: Level::Intermediate,
        };
        let text = compose(&sub, None);
        for needle in [
            "\"Photosynthesis\"",
            "\"Plants\"",
            "intermediate",
            "[o1] Explain photosynthesis",
            "Chlorophyll absorbs light",
            "Light + water + CO2.",
            END_LESSON,
        ] {
            assert!(text.contains(needle), "missing {needle}: {text}");
        }
        let names: Vec<String> = all_tools(vec![json!({"type": "function", "name": "quiz",
            "description": "d", "parameters": {"type": "object"}})])
        .into_iter()
        .map(|t| match t {
            Tool::Function { name, .. } => name,
        })
        .collect();
        assert_eq!(names, ["quiz", NEXT_SUBTOPIC, SWITCH_SUBTOPIC, END_LESSON]);
    }
}
