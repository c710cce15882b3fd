//! The curriculum document: every topic, subtopic and tool binding in one YAML or JSON
//! file, as authors write it and as `lectern content import|export` and
//! `POST|GET /api/curriculum` exchange it.
//!
//! ```yaml
//! format: 1
//! topics:
//!   - id: fractions
//!     title: Fractions
//!     description: Parts of a whole.
//!     subtopics:
//!       - id: fractions-equivalent
//!         title: Equivalent fractions
//!         level: beginner
//!         content: |
//!           Two fractions are equivalent when ...
//!         objectives: [{ id: explain, text: Explain why 1/2 = 2/4 }]
//!         key_points: [...]
//!         examples: [{ title: ..., concept: ..., problem: ..., solution: ... }]
//!         tools:
//!           - plugin: check-understanding
//!           - plugin: quiz
//!             config: { questions: 3 }
//! ```
//!
//! Order in the document is the order learners see (positions are assigned from it).
//! [`Curriculum::validate`] reports every problem at once, each with its path in the
//! document; unknown fields are refused by the parser. Plugin names need not be
//! installed: a binding to a missing plugin is skipped by lessons.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use crate::lesson::{Level, Objective, WorkedExample};

/// The document format this code reads and writes.
pub const CURRICULUM_FORMAT: u32 = 1;
/// Longest id (topic, subtopic, objective), in bytes.
pub const MAX_ID_BYTES: usize = 100;
/// Longest title, in bytes.
pub const MAX_TITLE_BYTES: usize = 200;
/// Longest subtopic content (markdown), in bytes.
pub const MAX_CONTENT_BYTES: usize = 256 * 1024;
/// Longest summary, description, key point, objective text or example field, in bytes.
pub const MAX_TEXT_BYTES: usize = 16 * 1024;
/// Most objectives, key points, examples or tool bindings in one subtopic.
pub const MAX_ITEMS_PER_LIST: usize = 50;
/// Most subtopics in a document.
pub const MAX_SUBTOPICS: usize = 5_000;
/// Largest tool binding configuration (serialised JSON), in bytes.
pub const MAX_TOOL_CONFIG_BYTES: usize = 16 * 1024;

/// A whole curriculum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Curriculum {
    /// Document format version; [`CURRICULUM_FORMAT`].
    #[serde(default = "default_format")]
    pub format: u32,
    /// Topics in display order.
    pub topics: Vec<TopicDoc>,
}

fn default_format() -> u32 {
    CURRICULUM_FORMAT
}

/// A topic and its subtopics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TopicDoc {
    /// Stable id (letters, digits, `-`, `_`, `.`).
    pub id: String,
    /// Title.
    pub title: String,
    /// A sentence or two.
    #[serde(default)]
    pub description: String,
    /// Subtopics in teaching order.
    #[serde(default)]
    pub subtopics: Vec<SubtopicDoc>,
}

/// A subtopic: the lesson content plus the tools bound to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubtopicDoc {
    /// Stable id, unique across the curriculum.
    pub id: String,
    /// Title.
    pub title: String,
    /// One or two sentences.
    #[serde(default)]
    pub summary: String,
    /// How advanced it is.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub level: Level,
    /// The teaching content (markdown).
    #[serde(default)]
    pub content: String,
    /// Learning objectives.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub objectives: Vec<Objective>,
    /// Short statements the learner should retain.
    #[serde(default)]
    pub key_points: Vec<String>,
    /// Worked examples.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub examples: Vec<WorkedExample>,
    /// Teaching tools for this subtopic, in the order they are offered.
    #[serde(default)]
    pub tools: Vec<ToolBinding>,
}

/// A teaching-tool plugin bound to a subtopic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ToolBinding {
    /// Plugin name.
    pub plugin: String,
    /// sha256 (hex) of a pinned plugin version; absent follows the active version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Configuration handed to the plugin (a JSON object).
    #[serde(default = "empty_object", skip_serializing_if = "is_empty_object")]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub config: serde_json::Value,
    /// Whether lessons offer this tool.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub enabled: bool,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(Default::default())
}
fn is_empty_object(v: &serde_json::Value) -> bool {
    v.as_object().is_some_and(|o| o.is_empty())
}
fn yes() -> bool {
    true
}
fn is_true(b: &bool) -> bool {
    *b
}

/// Which syntax a document is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// YAML (a superset of JSON).
    Yaml,
    /// JSON.
    Json,
}

/// A document that could not be read or that breaks a rule.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CurriculumError {
    /// Not valid YAML/JSON, or not the shape of a curriculum (unknown field, wrong type,
    /// unknown level …).
    #[error("the curriculum document cannot be read: {0}")]
    Syntax(String),
    /// Readable, but breaks the rules listed.
    #[error("the curriculum has {} problem(s): {}", .0.len(), .0.join("; "))]
    Invalid(Vec<String>),
}

impl Curriculum {
    /// Parses a document and validates it.
    pub fn parse(text: &str, format: Format) -> Result<Curriculum, CurriculumError> {
        let doc: Curriculum =
            match format {
                Format::Json => serde_json::from_str(text)
                    .map_err(|e| CurriculumError::Syntax(e.to_string()))?,
                Format::Yaml => serde_yaml_ng::from_str(text)
                    .map_err(|e| CurriculumError::Syntax(e.to_string()))?,
            };
        doc.validate()?;
        Ok(doc)
    }

    /// Serialises the document.
    pub fn to_text(&self, format: Format) -> String {
        match format {
            Format::Json => serde_json::to_string_pretty(self).unwrap_or_default(),
            Format::Yaml => serde_yaml_ng::to_string(self).unwrap_or_default(),
        }
    }

    /// Every subtopic, with the id of its topic.
    pub fn subtopics(&self) -> impl Iterator<Item = (&TopicDoc, &SubtopicDoc)> {
        self.topics
            .iter()
            .flat_map(|t| t.subtopics.iter().map(move |s| (t, s)))
    }

    /// Checks every rule; lists all problems found.
    pub fn validate(&self) -> Result<(), CurriculumError> {
        let mut problems = Vec::new();
        if self.format != CURRICULUM_FORMAT {
            problems.push(format!(
                "format: {} is not supported; this version of Lectern reads format {CURRICULUM_FORMAT}",
                self.format
            ));
        }
        let mut topic_ids = HashSet::new();
        let mut subtopic_ids = HashSet::new();
        let mut subtopic_count = 0usize;
        for (ti, topic) in self.topics.iter().enumerate() {
            let at = format!("topics[{ti}]");
            check_topic_fields(
                &at,
                &topic.id,
                &topic.title,
                &topic.description,
                &mut problems,
            );
            if !topic_ids.insert(topic.id.as_str()) {
                problems.push(format!("{at}.id: topic id {:?} is used twice", topic.id));
            }
            for (si, sub) in topic.subtopics.iter().enumerate() {
                subtopic_count += 1;
                let at = format!("{at}.subtopics[{si}]");
                check_subtopic(&at, sub, &mut problems);
                if !subtopic_ids.insert(sub.id.as_str()) {
                    problems.push(format!("{at}.id: subtopic id {:?} is used twice", sub.id));
                }
            }
        }
        if subtopic_count > MAX_SUBTOPICS {
            problems.push(format!(
                "topics: {subtopic_count} subtopics is more than the {MAX_SUBTOPICS} allowed; split the curriculum"
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(CurriculumError::Invalid(problems))
        }
    }
}

/// Checks an id: 1 to [`MAX_ID_BYTES`] ASCII letters, digits, `-`, `_` or `.`.
pub fn check_id(at: &str, id: &str, problems: &mut Vec<String>) {
    if id.is_empty() {
        problems.push(format!("{at}: must not be empty"));
    } else if id.len() > MAX_ID_BYTES {
        problems.push(format!("{at}: longer than {MAX_ID_BYTES} bytes"));
    } else if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        problems.push(format!(
            "{at}: {id:?} may only contain letters, digits, '-', '_' and '.'"
        ));
    }
}

fn check_title(at: &str, title: &str, problems: &mut Vec<String>) {
    if title.trim().is_empty() {
        problems.push(format!("{at}: must not be empty"));
    } else if title.len() > MAX_TITLE_BYTES {
        problems.push(format!("{at}: longer than {MAX_TITLE_BYTES} bytes"));
    }
}

fn check_text(at: &str, text: &str, max: usize, problems: &mut Vec<String>) {
    if text.len() > max {
        problems.push(format!("{at}: longer than {max} bytes"));
    }
}

fn check_count(at: &str, n: usize, problems: &mut Vec<String>) {
    if n > MAX_ITEMS_PER_LIST {
        problems.push(format!(
            "{at}: {n} items is more than the {MAX_ITEMS_PER_LIST} allowed"
        ));
    }
}

/// Checks a topic's own fields (not its subtopics).
pub fn check_topic_fields(
    at: &str,
    id: &str,
    title: &str,
    description: &str,
    problems: &mut Vec<String>,
) {
    check_id(&format!("{at}.id"), id, problems);
    check_title(&format!("{at}.title"), title, problems);
    check_text(
        &format!("{at}.description"),
        description,
        MAX_TEXT_BYTES,
        problems,
    );
}

/// Checks a subtopic and its tool bindings.
pub fn check_subtopic(at: &str, sub: &SubtopicDoc, problems: &mut Vec<String>) {
    check_id(&format!("{at}.id"), &sub.id, problems);
    check_title(&format!("{at}.title"), &sub.title, problems);
    check_text(
        &format!("{at}.summary"),
        &sub.summary,
        MAX_TEXT_BYTES,
        problems,
    );
    check_text(
        &format!("{at}.content"),
        &sub.content,
        MAX_CONTENT_BYTES,
        problems,
    );
    check_count(&format!("{at}.objectives"), sub.objectives.len(), problems);
    let mut objective_ids = HashSet::new();
    for (i, o) in sub.objectives.iter().enumerate() {
        check_id(&format!("{at}.objectives[{i}].id"), &o.id, problems);
        if !objective_ids.insert(o.id.as_str()) {
            problems.push(format!(
                "{at}.objectives[{i}].id: objective id {:?} is used twice",
                o.id
            ));
        }
        if o.text.trim().is_empty() {
            problems.push(format!("{at}.objectives[{i}].text: must not be empty"));
        }
        check_text(
            &format!("{at}.objectives[{i}].text"),
            &o.text,
            MAX_TEXT_BYTES,
            problems,
        );
    }
    check_count(&format!("{at}.key_points"), sub.key_points.len(), problems);
    for (i, k) in sub.key_points.iter().enumerate() {
        if k.trim().is_empty() {
            problems.push(format!("{at}.key_points[{i}]: must not be empty"));
        }
        check_text(
            &format!("{at}.key_points[{i}]"),
            k,
            MAX_TEXT_BYTES,
            problems,
        );
    }
    check_count(&format!("{at}.examples"), sub.examples.len(), problems);
    for (i, e) in sub.examples.iter().enumerate() {
        let at = format!("{at}.examples[{i}]");
        check_title(&format!("{at}.title"), &e.title, problems);
        for (field, text) in [
            ("concept", &e.concept),
            ("problem", &e.problem),
            ("solution", &e.solution),
        ] {
            check_text(&format!("{at}.{field}"), text, MAX_TEXT_BYTES, problems);
        }
        if e.problem.trim().is_empty() {
            problems.push(format!("{at}.problem: must not be empty"));
        }
        if e.solution.trim().is_empty() {
            problems.push(format!("{at}.solution: must not be empty"));
        }
    }
    check_bindings(&format!("{at}.tools"), &sub.tools, problems);
}

/// Checks a list of tool bindings.
pub fn check_bindings(at: &str, tools: &[ToolBinding], problems: &mut Vec<String>) {
    check_count(at, tools.len(), problems);
    let mut plugins = HashSet::new();
    for (i, b) in tools.iter().enumerate() {
        let at = format!("{at}[{i}]");
        check_plugin_name(&format!("{at}.plugin"), &b.plugin, problems);
        if !plugins.insert(b.plugin.as_str()) {
            problems.push(format!("{at}.plugin: {:?} is bound twice", b.plugin));
        }
        if let Some(v) = &b.version
            && (v.len() != 64
                || !v
                    .bytes()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()))
        {
            problems.push(format!(
                "{at}.version: must be the 64-character lowercase hex sha256 of a plugin version"
            ));
        }
        if !b.config.is_object() {
            problems.push(format!("{at}.config: must be an object"));
        } else if b.config.to_string().len() > MAX_TOOL_CONFIG_BYTES {
            problems.push(format!(
                "{at}.config: larger than {MAX_TOOL_CONFIG_BYTES} bytes"
            ));
        }
    }
}

/// Checks a plugin name: 1 to [`MAX_ID_BYTES`] lowercase letters, digits and `-`.
pub fn check_plugin_name(at: &str, name: &str, problems: &mut Vec<String>) {
    if name.is_empty() || name.len() > MAX_ID_BYTES {
        problems.push(format!("{at}: must be 1 to {MAX_ID_BYTES} bytes"));
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        problems.push(format!(
            "{at}: {name:?} may only contain lowercase letters, digits and '-'"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "
topics:
  - id: t1
    title: Topic
    subtopics:
      - id: s1
        title: Sub
        level: advanced
        objectives: [{ id: o1, text: Do it }]
        tools: [{ plugin: quiz, config: { questions: 2 } }]
";

    #[test]
    fn parses_yaml_and_round_trips_through_json() {
        let doc = Curriculum::parse(MINIMAL, Format::Yaml).unwrap();
        assert_eq!(doc.topics[0].subtopics[0].level, Level::Advanced);
        assert!(doc.topics[0].subtopics[0].tools[0].enabled);
        let json = doc.to_text(Format::Json);
        assert_eq!(Curriculum::parse(&json, Format::Json).unwrap(), doc);
        let yaml = doc.to_text(Format::Yaml);
        assert_eq!(Curriculum::parse(&yaml, Format::Yaml).unwrap(), doc);
    }

    #[test]
    fn unknown_fields_and_levels_are_syntax_errors() {
        let bad = MINIMAL.replace("level: advanced", "level: expert");
        assert!(matches!(
            Curriculum::parse(&bad, Format::Yaml),
            Err(CurriculumError::Syntax(_))
        ));
        let bad = MINIMAL.replace("title: Sub", "title: Sub\n        colour: red");
        let err = Curriculum::parse(&bad, Format::Yaml)
            .unwrap_err()
            .to_string();
        assert!(err.contains("colour"), "{err}");
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let bad = format!(
            "{MINIMAL}      - id: s1\n        title: '  '\n        tools: [{{ plugin: Quiz }}, {{ plugin: x, version: abc }}]\n"
        );
        let Err(CurriculumError::Invalid(problems)) = Curriculum::parse(&bad, Format::Yaml) else {
            panic!("expected problems");
        };
        let all = problems.join("\n");
        assert!(
            all.contains("topics[0].subtopics[1].id: subtopic id \"s1\" is used twice"),
            "{all}"
        );
        assert!(
            all.contains("topics[0].subtopics[1].title: must not be empty"),
            "{all}"
        );
        assert!(all.contains("tools[0].plugin"), "{all}");
        assert!(all.contains("tools[1].version"), "{all}");
    }
}
