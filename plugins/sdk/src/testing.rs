//! An in-memory host for plugins' native unit tests (feature `testing`).
//!
//! [`FakeEnv`] plays the host's part: it holds a lesson, the plugin's state
//! for one session, the learner's progress and the log, checks arguments
//! against the tool's schema like the host does, and runs each call as the
//! host would (the lesson read afresh, nothing kept in the tool's memory).
//!
//! ```
//! # use lectern_tool::{Call, Manifest, TeachingTool, ToolError, ToolOutput, ToolSpec};
//! # struct Echo;
//! # impl TeachingTool for Echo {
//! #     fn manifest() -> Manifest {
//! #         Manifest::new("echo", "1.0.0", "Echoes the title.").tool(ToolSpec::new(
//! #             "echo", "Echo the title.",
//! #             serde_json::json!({"type": "object", "properties": {}, "additionalProperties": false}),
//! #         ))
//! #     }
//! #     fn invoke(call: &mut Call<'_>) -> Result<ToolOutput, ToolError> {
//! #         Ok(ToolOutput::text(call.lesson().title.clone()))
//! #     }
//! # }
//! use lectern_tool::testing::{FakeEnv, sample_subtopic};
//!
//! let mut env = FakeEnv::new(sample_subtopic());
//! let output = env.invoke::<Echo>("echo", serde_json::json!({})).unwrap();
//! assert_eq!(output.content, "How photosynthesis works");
//! ```

use std::collections::BTreeMap;

use serde_json::Value;

use crate::env::{Env, LogLevel};
use crate::lesson::{Mastery, Objective, Subtopic, WorkedExample};
use crate::types::{CallContext, Display, Manifest, ToolError, ToolOutput};
use crate::{Call, TeachingTool};

/// The state size cap the fake host enforces unless told otherwise (keys
/// plus values, in bytes).
pub const DEFAULT_STATE_LIMIT_BYTES: usize = 64 * 1024;

/// One piece of evidence a tool recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    /// The objective.
    pub objective_id: String,
    /// 0.0 to 1.0.
    pub score: f32,
    /// The note for the teacher.
    pub note: String,
}

/// An in-memory host for one lesson session.
pub struct FakeEnv {
    lesson: Subtopic,
    context: CallContext,
    state: BTreeMap<String, String>,
    state_limit_bytes: usize,
    prior_mastery: Vec<Mastery>,
    evidence: Vec<Evidence>,
    logs: Vec<(LogLevel, String)>,
    lesson_reads: u32,
}

impl FakeEnv {
    /// A session on `lesson` with empty state, no progress, locale `en-US`
    /// and an empty configuration.
    pub fn new(lesson: Subtopic) -> Self {
        let context = CallContext {
            session_id: "session-1".to_owned(),
            subtopic_id: lesson.id.clone(),
            learner_id: "learner-1".to_owned(),
            locale: "en-US".to_owned(),
            config: "{}".to_owned(),
            budget_ms: 1_000,
        };
        FakeEnv {
            lesson,
            context,
            state: BTreeMap::new(),
            state_limit_bytes: DEFAULT_STATE_LIMIT_BYTES,
            prior_mastery: Vec::new(),
            evidence: Vec::new(),
            logs: Vec::new(),
            lesson_reads: 0,
        }
    }

    /// Uses another session id (tools often vary their choices by it).
    pub fn with_session_id(mut self, session_id: &str) -> Self {
        self.context.session_id = session_id.to_owned();
        self
    }

    /// Uses another lesson locale, e.g. `fr-FR`.
    pub fn with_locale(mut self, locale: &str) -> Self {
        self.context.locale = locale.to_owned();
        self
    }

    /// Gives the plugin this configuration for the subtopic.
    pub fn with_config(mut self, config: Value) -> Self {
        self.context.config = config.to_string();
        self
    }

    /// Caps the state at `limit_bytes` (keys plus values).
    pub fn with_state_limit_bytes(mut self, limit_bytes: usize) -> Self {
        self.state_limit_bytes = limit_bytes;
        self
    }

    /// Mastery the learner had before this session.
    pub fn with_mastery(mut self, objective_id: &str, score: f32, evidence_count: u32) -> Self {
        self.prior_mastery
            .retain(|m| m.objective_id != objective_id);
        self.prior_mastery.push(Mastery {
            objective_id: objective_id.to_owned(),
            score,
            evidence_count,
        });
        self
    }

    /// Runs `tool` of plugin `T` with `arguments`, as the host would: the
    /// arguments are checked against the tool's schema first (a mismatch is
    /// returned as invalid arguments without calling the tool), and the
    /// output is checked the way the host checks it.
    ///
    /// Panics when the tool is not in `T`'s manifest or the output is one the
    /// host would reject, since either is a bug in the plugin.
    pub fn invoke<T: TeachingTool>(
        &mut self,
        tool: &str,
        arguments: Value,
    ) -> Result<ToolOutput, ToolError> {
        let manifest = T::manifest();
        let spec = manifest
            .tools
            .iter()
            .find(|spec| spec.name == tool)
            .unwrap_or_else(|| panic!("`{tool}` is not a tool of `{}`", manifest.name));
        let schema: Value = serde_json::from_str(&spec.parameters)
            .unwrap_or_else(|error| panic!("the schema of `{tool}` is not JSON: {error}"));
        let validator = jsonschema::validator_for(&schema)
            .unwrap_or_else(|error| panic!("the schema of `{tool}` is not valid: {error}"));
        if let Err(error) = validator.validate(&arguments) {
            return Err(ToolError::invalid_arguments(format!(
                "arguments do not match the schema of `{tool}`: {error}"
            )));
        }
        let context = self.context.clone();
        let mut call = Call::new(context, tool, arguments.to_string(), self);
        let result = T::invoke(&mut call);
        if let Ok(output) = &result
            && let Err(problem) = check_output(output)
        {
            panic!("`{tool}` returned output the host would reject: {problem}");
        }
        result
    }

    /// The plugin's state: key to JSON text.
    pub fn state(&self) -> &BTreeMap<String, String> {
        &self.state
    }

    /// The value stored under `key`, parsed as JSON.
    pub fn state_json(&self, key: &str) -> Option<Value> {
        self.state
            .get(key)
            .map(|text| serde_json::from_str(text).expect("state values are JSON"))
    }

    /// Stores raw text under `key`, as if an earlier call had.
    pub fn put_state(&mut self, key: &str, value: &str) {
        self.state.insert(key.to_owned(), value.to_owned());
    }

    /// Every piece of evidence recorded in this session, oldest first.
    pub fn evidence(&self) -> &[Evidence] {
        &self.evidence
    }

    /// Every log line written in this session, oldest first.
    pub fn logs(&self) -> &[(LogLevel, String)] {
        &self.logs
    }

    /// How many times tools read the lesson.
    pub fn lesson_reads(&self) -> u32 {
        self.lesson_reads
    }

    fn state_bytes_with(&self, key: &str, value: &str) -> usize {
        self.state
            .iter()
            .filter(|(existing, _)| existing.as_str() != key)
            .map(|(k, v)| k.len() + v.len())
            .sum::<usize>()
            + key.len()
            + value.len()
    }
}

impl Env for FakeEnv {
    fn lesson(&mut self) -> Subtopic {
        self.lesson_reads += 1;
        self.lesson.clone()
    }

    fn state_get(&mut self, key: &str) -> Option<String> {
        self.state.get(key).cloned()
    }

    fn state_set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let total = self.state_bytes_with(key, value);
        if total > self.state_limit_bytes {
            return Err(format!(
                "state would hold {total} bytes, over the cap of {} bytes",
                self.state_limit_bytes
            ));
        }
        self.state.insert(key.to_owned(), value.to_owned());
        Ok(())
    }

    fn state_delete(&mut self, key: &str) {
        self.state.remove(key);
    }

    fn state_keys(&mut self) -> Vec<String> {
        self.state.keys().cloned().collect()
    }

    fn record_evidence(
        &mut self,
        objective_id: &str,
        score: f32,
        note: &str,
    ) -> Result<(), String> {
        if self.lesson.objective(objective_id).is_none() {
            return Err(format!("the subtopic has no objective `{objective_id}`"));
        }
        if !(0.0..=1.0).contains(&score) {
            return Err(format!("score {score} is outside 0..1"));
        }
        self.evidence.push(Evidence {
            objective_id: objective_id.to_owned(),
            score,
            note: note.to_owned(),
        });
        Ok(())
    }

    fn mastery(&mut self) -> Vec<Mastery> {
        self.lesson
            .objectives
            .iter()
            .filter_map(|objective| {
                let prior = self
                    .prior_mastery
                    .iter()
                    .find(|m| m.objective_id == objective.id);
                let (mut sum, mut count) = prior
                    .map(|m| (m.score * m.evidence_count as f32, m.evidence_count))
                    .unwrap_or((0.0, 0));
                for evidence in self
                    .evidence
                    .iter()
                    .filter(|e| e.objective_id == objective.id)
                {
                    sum += evidence.score;
                    count += 1;
                }
                (count > 0).then(|| Mastery {
                    objective_id: objective.id.clone(),
                    score: sum / count as f32,
                    evidence_count: count,
                })
            })
            .collect()
    }

    fn log(&mut self, level: LogLevel, message: &str) {
        self.logs.push((level, message.to_owned()));
    }
}

/// Checks a tool output the way the host does: the content is not empty and
/// a score card never claims more correct answers than questions.
pub fn check_output(output: &ToolOutput) -> Result<(), String> {
    if output.content.trim().is_empty() {
        return Err("`content` is empty".to_owned());
    }
    if let Some(Display::Score(card)) = &output.display
        && card.correct > card.total
    {
        return Err(format!(
            "the score card says {} correct out of {}",
            card.correct, card.total
        ));
    }
    if let Some(Display::Question(card)) = &output.display
        && card.prompt.trim().is_empty()
    {
        return Err("the question card has no prompt".to_owned());
    }
    Ok(())
}

/// Checks a manifest the way the host does when loading a plugin, and the
/// way the model needs it: a kebab-case name, at least one tool, snake_case
/// unique tool names, descriptions, and for each tool a valid JSON Schema
/// object with `"additionalProperties": false`, `required` naming only
/// declared properties, and a description on every property.
pub fn check_manifest(manifest: &Manifest) -> Result<(), String> {
    let kebab = |s: &str| {
        !s.is_empty()
            && s.split('-').all(|part| {
                !part.is_empty()
                    && part
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            })
    };
    let snake = |s: &str| {
        !s.is_empty()
            && s.split('_').all(|part| {
                !part.is_empty()
                    && part
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            })
    };
    if !kebab(&manifest.name) {
        return Err(format!("plugin name `{}` is not kebab-case", manifest.name));
    }
    if manifest.description.trim().is_empty() {
        return Err("the plugin has no description".to_owned());
    }
    if manifest.tools.is_empty() {
        return Err("the plugin describes no tools".to_owned());
    }
    let mut names = std::collections::BTreeSet::new();
    for tool in &manifest.tools {
        let name = &tool.name;
        if !snake(name) {
            return Err(format!("tool name `{name}` is not snake_case"));
        }
        if !names.insert(name.as_str()) {
            return Err(format!("tool name `{name}` is used twice"));
        }
        if tool.description.trim().is_empty() {
            return Err(format!("tool `{name}` has no description"));
        }
        let schema: Value = serde_json::from_str(&tool.parameters)
            .map_err(|error| format!("the schema of `{name}` is not JSON: {error}"))?;
        jsonschema::meta::validate(&schema)
            .map_err(|error| format!("the schema of `{name}` is not a JSON Schema: {error}"))?;
        if schema["type"] != "object" {
            return Err(format!(
                "the schema of `{name}` is not `\"type\": \"object\"`"
            ));
        }
        if schema["additionalProperties"] != false {
            return Err(format!(
                "the schema of `{name}` does not say `\"additionalProperties\": false`"
            ));
        }
        let properties = schema["properties"]
            .as_object()
            .ok_or_else(|| format!("the schema of `{name}` has no `properties` object"))?;
        for (property, definition) in properties {
            if definition["description"]
                .as_str()
                .is_none_or(|d| d.trim().is_empty())
            {
                return Err(format!(
                    "property `{property}` of `{name}` has no description"
                ));
            }
        }
        if let Some(required) = schema.get("required") {
            let required = required
                .as_array()
                .ok_or_else(|| format!("`required` of `{name}` is not an array"))?;
            for property in required {
                let property = property.as_str().unwrap_or_default();
                if !properties.contains_key(property) {
                    return Err(format!(
                        "`{name}` requires `{property}`, which it does not declare"
                    ));
                }
            }
        }
    }
    Ok(())
}

/// A realistic subtopic for tests: photosynthesis, with three objectives,
/// five key points, two worked examples and a few paragraphs of content.
pub fn sample_subtopic() -> Subtopic {
    Subtopic {
        id: "photosynthesis-basics".to_owned(),
        topic_id: "plant-biology".to_owned(),
        topic_title: "Plant biology".to_owned(),
        title: "How photosynthesis works".to_owned(),
        summary: "Plants turn light, water and carbon dioxide into glucose and oxygen.".to_owned(),
        content: "## Light and leaves\n\n\
            Photosynthesis happens in the chloroplasts of leaf cells. Chlorophyll absorbs \
            red and blue light and reflects green light, which is why leaves look green.\n\n\
            ## Inputs and outputs\n\n\
            Plants take in carbon dioxide through stomata and water through their roots. \
            Using light energy they make glucose and release oxygen.\n\n\
            The glucose is used for respiration or stored as starch."
            .to_owned(),
        objectives: vec![
            Objective {
                id: "inputs-outputs".to_owned(),
                text: "Name the inputs and outputs of photosynthesis: carbon dioxide, water, \
                       light, glucose and oxygen."
                    .to_owned(),
            },
            Objective {
                id: "chlorophyll".to_owned(),
                text: "Explain why chlorophyll makes leaves look green.".to_owned(),
            },
            Objective {
                id: "glucose-use".to_owned(),
                text: "Describe what the plant does with the glucose it makes.".to_owned(),
            },
        ],
        key_points: vec![
            "Photosynthesis takes place in chloroplasts.".to_owned(),
            "Chlorophyll absorbs red and blue light and reflects green light.".to_owned(),
            "Carbon dioxide enters the leaf through stomata.".to_owned(),
            "Light energy turns carbon dioxide and water into glucose and oxygen.".to_owned(),
            "Glucose is used for respiration or stored as starch.".to_owned(),
        ],
        examples: vec![
            WorkedExample {
                title: "A plant in a dark cupboard".to_owned(),
                concept: "light as an input".to_owned(),
                problem: "A plant is kept in a dark cupboard for a week. What happens to its \
                          glucose production?"
                    .to_owned(),
                solution: "Without light there is no energy for photosynthesis, so the plant \
                           makes no glucose and must use its stored starch."
                    .to_owned(),
            },
            WorkedExample {
                title: "Why leaves are green".to_owned(),
                concept: "chlorophyll".to_owned(),
                problem: "Why does a leaf look green in white light?".to_owned(),
                solution: "Chlorophyll absorbs red and blue light and reflects green light, so \
                           green light reaches our eyes."
                    .to_owned(),
            },
        ],
        level: "beginner".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_cap_refuses_and_changes_nothing() {
        let mut env = FakeEnv::new(sample_subtopic()).with_state_limit_bytes(10);
        assert!(env.state_set("k", "12345").is_ok());
        assert!(env.state_set("other", "123456").is_err());
        assert_eq!(env.state_keys(), vec!["k"]);
        // Replacing a value counts the new value only.
        assert!(env.state_set("k", "123456789").is_ok());
    }

    #[test]
    fn evidence_is_checked_and_folds_into_mastery() {
        let mut env = FakeEnv::new(sample_subtopic()).with_mastery("chlorophyll", 1.0, 1);
        assert!(env.record_evidence("nope", 0.5, "").is_err());
        assert!(env.record_evidence("chlorophyll", 1.5, "").is_err());
        env.record_evidence("chlorophyll", 0.0, "missed it")
            .unwrap();
        let mastery = env.mastery();
        assert_eq!(mastery.len(), 1);
        assert_eq!(mastery[0].evidence_count, 2);
        assert!((mastery[0].score - 0.5).abs() < 1e-6);
    }

    #[test]
    fn output_checks_match_the_host() {
        assert!(check_output(&ToolOutput::text(" ")).is_err());
        let bad_score = ToolOutput::text("x").with_display(Display::Score(crate::ScoreCard {
            title: "t".into(),
            correct: 3,
            total: 2,
            feedback: String::new(),
        }));
        assert!(check_output(&bad_score).is_err());
        assert!(check_output(&ToolOutput::text("fine")).is_ok());
    }

    #[test]
    fn manifest_checks_catch_loose_schemas() {
        use crate::ToolSpec;
        use serde_json::json;
        let good = Manifest::new("good-tool", "1.0.0", "Good.").tool(ToolSpec::new(
            "do_it",
            "Does it.",
            json!({"type": "object", "properties": {"x": {"type": "string", "description": "X."}},
                   "required": ["x"], "additionalProperties": false}),
        ));
        check_manifest(&good).unwrap();
        let open = Manifest::new("good-tool", "1.0.0", "Good.").tool(ToolSpec::new(
            "do_it",
            "Does it.",
            json!({"type": "object", "properties": {}}),
        ));
        assert!(
            check_manifest(&open)
                .unwrap_err()
                .contains("additionalProperties")
        );
        let broken = Manifest::new("good-tool", "1.0.0", "Good.").tool(
            ToolSpec::with_raw_parameters("do_it", "Does it.", r#"{"type": 12}"#),
        );
        assert!(
            check_manifest(&broken)
                .unwrap_err()
                .contains("not a JSON Schema")
        );
        let bad_name = Manifest::new("Good Tool", "1.0.0", "Good.");
        assert!(check_manifest(&bad_name).is_err());
    }
}
