//! What a teaching tool says about itself and what a call returns.
//!
//! These are plain Rust mirrors of the `types` interface of the
//! `lectern:tool@0.1.0` contract, so tool logic never touches generated
//! bindings and compiles (and is tested) on any target.

use serde::{Deserialize, Serialize};

/// What a plugin says about itself, returned by `describe`.
///
/// Build one with [`Manifest::new`] (or the [`manifest!`](crate::manifest)
/// macro, which takes name and version from the plugin's `Cargo.toml`) and add
/// tools with [`Manifest::tool`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Plugin name, kebab-case, e.g. `check-understanding`.
    pub name: String,
    /// The plugin's own version (semver), e.g. `1.2.0`.
    pub version: String,
    /// One sentence for operators and authors.
    pub description: String,
    /// The tools this plugin provides (at least one).
    pub tools: Vec<ToolSpec>,
    /// Capabilities beyond the default sandbox (normally none).
    pub capabilities: Vec<String>,
}

impl Manifest {
    /// A manifest with no tools and no extra capabilities.
    pub fn new(
        name: impl Into<String>,
        version: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        Manifest {
            name: name.into(),
            version: version.into(),
            description: description.into(),
            tools: Vec::new(),
            capabilities: Vec::new(),
        }
    }

    /// Adds a tool.
    pub fn tool(mut self, tool: ToolSpec) -> Self {
        self.tools.push(tool);
        self
    }

    /// Asks for a capability beyond the default sandbox, e.g.
    /// `outbound-http:api.example.org`. The operator must grant it too.
    pub fn capability(mut self, capability: impl Into<String>) -> Self {
        self.capabilities.push(capability.into());
        self
    }
}

/// One tool the model may call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// snake_case name the model calls the tool by.
    pub name: String,
    /// What the tool does and when to use it, written for the model.
    pub description: String,
    /// JSON Schema (an object schema, as JSON text) for the arguments.
    pub parameters: String,
}

impl ToolSpec {
    /// A tool whose arguments are described by the JSON Schema `parameters`
    /// (usually written with `serde_json::json!`).
    ///
    /// The host offers the schema to the model as it is and validates every
    /// call against it, so give it `"type": "object"`, a `description` for
    /// every property, `required` and `"additionalProperties": false`.
    pub fn new(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: serde_json::Value,
    ) -> Self {
        ToolSpec {
            name: name.into(),
            description: description.into(),
            parameters: parameters.to_string(),
        }
    }

    /// A tool with its schema given as raw JSON text, used as is.
    pub fn with_raw_parameters(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: impl Into<String>,
    ) -> Self {
        ToolSpec {
            name: name.into(),
            description: description.into(),
            parameters: parameters.into(),
        }
    }
}

/// Who and where a call comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallContext {
    /// The lesson session (opaque).
    pub session_id: String,
    /// The subtopic being taught.
    pub subtopic_id: String,
    /// The learner (opaque, stable across lessons).
    pub learner_id: String,
    /// BCP 47 language tag of the lesson, e.g. `en-US`.
    pub locale: String,
    /// This plugin's configuration for the subtopic, as JSON text.
    pub config: String,
    /// Milliseconds left before the host abandons this call.
    pub budget_ms: u32,
}

/// A multiple-choice or open question shown to the learner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionCard {
    /// The question as the learner reads it.
    pub prompt: String,
    /// Choices to click; empty for an open answer.
    pub choices: Vec<String>,
    /// The objective this question checks, if any.
    pub objective_id: Option<String>,
}

/// A worked example shown to the learner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExampleCard {
    /// Short title.
    pub title: String,
    /// The problem or situation (markdown).
    pub problem: String,
    /// The worked solution (markdown).
    pub solution: String,
}

/// A score shown after a practice round or a graded answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreCard {
    /// Short title.
    pub title: String,
    /// How many were right.
    pub correct: u32,
    /// Out of how many (never less than `correct`).
    pub total: u32,
    /// Short feedback for the learner (markdown).
    pub feedback: String,
}

/// What the learner's screen shows for a call's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Display {
    /// Free-form markdown.
    Markdown(String),
    /// A question to answer.
    Question(QuestionCard),
    /// A worked example.
    Example(ExampleCard),
    /// A score.
    Score(ScoreCard),
    /// A list of short points, e.g. a summary.
    KeyPoints(Vec<String>),
}

/// A successful call's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolOutput {
    /// What the model reads. Keep it short and never empty.
    pub content: String,
    /// What the learner sees, if anything.
    pub display: Option<Display>,
}

impl ToolOutput {
    /// Output the model reads, with nothing shown to the learner.
    pub fn text(content: impl Into<String>) -> Self {
        ToolOutput {
            content: content.into(),
            display: None,
        }
    }

    /// Adds what the learner's screen shows.
    pub fn with_display(mut self, display: Display) -> Self {
        self.display = Some(display);
        self
    }
}

/// Why a call did not succeed. The model reads the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "message")]
pub enum ToolError {
    /// The arguments made no sense for this tool; say what was wrong so the
    /// model can retry.
    InvalidArguments(String),
    /// The tool could not do its work.
    Failed(String),
}

impl ToolError {
    /// The arguments made no sense: `message` tells the model how to retry.
    pub fn invalid_arguments(message: impl Into<String>) -> Self {
        ToolError::InvalidArguments(message.into())
    }

    /// The tool could not do its work.
    pub fn failed(message: impl Into<String>) -> Self {
        ToolError::Failed(message.into())
    }

    /// The host asked for a tool this plugin does not have.
    pub fn unknown_tool(tool: &str) -> Self {
        ToolError::InvalidArguments(format!("this plugin has no tool named `{tool}`"))
    }

    /// The message the model reads.
    pub fn message(&self) -> &str {
        match self {
            ToolError::InvalidArguments(message) | ToolError::Failed(message) => message,
        }
    }
}

impl std::fmt::Display for ToolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ToolError::InvalidArguments(message) => write!(f, "invalid arguments: {message}"),
            ToolError::Failed(message) => write!(f, "failed: {message}"),
        }
    }
}

impl std::error::Error for ToolError {}
