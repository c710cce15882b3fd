//! What the fake does, and when: rules of the form "on this client event, do
//! these things", written in Rust by tests or as a JSON file.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A scripted conversation.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    /// Rules, tried in order; the first matching rule with uses left fires.
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// Stream audio in real time (20 ms per frame) or as fast as possible.
    #[serde(default)]
    pub pace: Pace,
}

/// How fast audio deltas are sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pace {
    /// One 20 ms frame every 20 ms, like the real API.
    #[default]
    Realtime,
    /// No waiting between frames.
    Fast,
}

/// "On `on`, do `actions`", at most `times` times (0 = every time).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The client event that fires the rule.
    pub on: Trigger,
    /// Uses; 0 means unlimited.
    #[serde(default = "one")]
    pub times: u32,
    /// What to do, in order.
    pub actions: Vec<Action>,
}

fn one() -> u32 {
    1
}

impl Rule {
    /// A rule that fires once.
    pub fn once(on: Trigger, actions: Vec<Action>) -> Self {
        Rule {
            on,
            times: 1,
            actions,
        }
    }
}

/// A client event (or connection moment) that fires a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// A client connected (after `session.created`).
    Connected,
    /// `session.update`.
    SessionUpdate,
    /// `input_audio_buffer.append`.
    Audio,
    /// `input_audio_buffer.commit`.
    Commit,
    /// `conversation.item.create` with a user message.
    UserMessage,
    /// `conversation.item.create` with a function call output.
    FunctionCallOutput,
    /// `response.create` (when no response is active).
    ResponseCreate,
    /// `conversation.item.truncate` (after the `truncated` answer).
    Truncate,
}

/// Something the fake sends or does.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// The learner spoke: speech_started, speech_stopped, committed, the user
    /// item added/done, and its transcription.
    UserTurn {
        /// What the learner "said".
        transcript: String,
    },
    /// A response whose only output is a function call.
    FunctionCall {
        /// Tool name.
        name: String,
        /// Arguments (serialised to JSON text on the wire).
        arguments: Value,
    },
    /// A spoken response: audio deltas (20 ms each) with transcript deltas.
    AudioResponse {
        /// What the tutor "says".
        transcript: String,
        /// Number of 20 ms audio frames.
        frames: u32,
        /// Cut the TCP connection (no close frame) after this many frames.
        #[serde(default)]
        drop_after_frames: Option<u32>,
        /// Server VAD hears the learner after this many frames: speech_started,
        /// then the response is cancelled.
        #[serde(default)]
        barge_in_after_frames: Option<u32>,
    },
    /// An `error` event.
    Error {
        /// E.g. `invalid_request_error`.
        kind: String,
        /// E.g. `invalid_api_key`.
        #[serde(default)]
        code: Option<String>,
        /// Message.
        message: String,
    },
    /// A `rate_limits.updated` event.
    RateLimits {
        /// Requests left.
        remaining_requests: u64,
        /// Tokens left.
        remaining_tokens: u64,
    },
    /// Close the connection with a close frame.
    Close {
        /// WebSocket close code.
        code: u16,
    },
    /// Cut the TCP connection without a close frame.
    Drop,
    /// Wait.
    Sleep {
        /// Milliseconds.
        ms: u64,
    },
}

/// Scripts available by name to the standalone binary.
pub fn builtin(name: &str) -> Option<Script> {
    match name {
        // A learner question, a comprehension check, then a spoken answer;
        // typed learner messages are answered too.
        "lesson" => Some(Script {
            pace: Pace::Realtime,
            rules: vec![
                Rule {
                    on: Trigger::Audio,
                    times: 1,
                    actions: vec![
                        Action::Sleep { ms: 400 },
                        Action::UserTurn {
                            transcript: "Can you check if I understood photosynthesis?".into(),
                        },
                        Action::FunctionCall {
                            name: "check_understanding".into(),
                            // The bundled check_understanding takes an optional `focus`
                            // and nothing else.
                            arguments: serde_json::json!({"focus": "photosynthesis"}),
                        },
                    ],
                },
                Rule {
                    on: Trigger::ResponseCreate,
                    times: 0,
                    actions: vec![Action::AudioResponse {
                        transcript: "Good question. Tell me in your own words what a plant needs to make sugar.".into(),
                        frames: 150,
                        drop_after_frames: None,
                        barge_in_after_frames: None,
                    }],
                },
                Rule {
                    on: Trigger::UserMessage,
                    times: 0,
                    actions: vec![Action::AudioResponse {
                        transcript: "Thanks, I read that. Let us keep going.".into(),
                        frames: 100,
                        drop_after_frames: None,
                        barge_in_after_frames: None,
                    }],
                },
            ],
        }),
        // Talks for a long time: benchmarks and playout tests.
        "monologue" => Some(Script {
            pace: Pace::Realtime,
            rules: vec![Rule {
                on: Trigger::SessionUpdate,
                times: 0,
                actions: vec![Action::AudioResponse {
                    transcript: "Let me explain this step by step.".into(),
                    frames: 30_000,
                    drop_after_frames: None,
                    barge_in_after_frames: None,
                }],
            }],
        }),
        "silent" => Some(Script::default()),
        _ => None,
    }
}

/// Names accepted by [`builtin`].
pub const BUILTIN_NAMES: &[&str] = &["lesson", "monologue", "silent"];
