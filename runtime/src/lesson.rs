//! The subtopic being taught, as the host keeps it and hands it to tools.
//!
//! These types mirror the `lesson` interface of the `lectern:tool` WIT contract,
//! and are also the shape of a lesson fixture file (`lectern plugin call --lesson`)
//! and of a subtopic in a curriculum document.

use serde::{Deserialize, Serialize};

/// How advanced a subtopic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// No prior knowledge assumed.
    #[default]
    Beginner,
    /// Builds on the basics.
    Intermediate,
    /// For learners who have mastered the rest.
    Advanced,
}

impl Level {
    /// The name used in the WIT contract and in curriculum files.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Beginner => "beginner",
            Level::Intermediate => "intermediate",
            Level::Advanced => "advanced",
        }
    }
}

/// A learning objective of a subtopic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Objective {
    /// Stable id, used when recording progress.
    pub id: String,
    /// What the learner should be able to do.
    pub text: String,
}

/// A worked example written by the curriculum author.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkedExample {
    /// Short title.
    pub title: String,
    /// The concept or objective the example illustrates.
    #[serde(default)]
    pub concept: String,
    /// The problem (markdown).
    pub problem: String,
    /// The worked solution (markdown).
    pub solution: String,
}

/// A subtopic with everything a teaching tool may read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subtopic {
    /// Stable id.
    pub id: String,
    /// Id of the topic it belongs to.
    pub topic_id: String,
    /// Title of the topic it belongs to.
    #[serde(default)]
    pub topic_title: String,
    /// Title.
    pub title: String,
    /// One or two sentences.
    #[serde(default)]
    pub summary: String,
    /// The teaching content (markdown).
    #[serde(default)]
    pub content: String,
    /// Learning objectives.
    #[serde(default)]
    pub objectives: Vec<Objective>,
    /// Short statements the learner should retain.
    #[serde(default)]
    pub key_points: Vec<String>,
    /// Worked examples.
    #[serde(default)]
    pub examples: Vec<WorkedExample>,
    /// How advanced it is.
    #[serde(default)]
    pub level: Level,
}
