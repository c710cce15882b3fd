//! The learner's side of a lesson: audio in and out, and events, behind one
//! trait.
//!
//! Audio is PCM16 mono at 24 kHz in both directions (the Realtime API's
//! format); a transport that works at another rate (LiveKit, 48 kHz)
//! resamples at its edge. Events are [`LessonEvent`]s out and
//! [`LearnerInput`]s in; their JSON form is the `ws` wire protocol described
//! in `docs/ws-protocol.md`.
//!
//! Implementations:
//! - [`ws`]: the browser connects straight to Lectern over a WebSocket.
//! - [`livekit`]: the tutor joins the learner's LiveKit room (the room side
//!   needs the cargo feature `livekit`).

pub mod livekit;
pub(crate) mod trace;
pub mod ws;

use std::future::Future;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::realtime::AudioSink;

/// Something the learner did.
#[derive(Debug, Clone, PartialEq)]
pub enum LearnerInput {
    /// A 20 ms frame of microphone audio (PCM16 mono 24 kHz).
    Audio(Vec<i16>),
    /// A typed message.
    Text(String),
    /// The microphone was muted or unmuted.
    Mute(bool),
    /// The learner asked to end the lesson.
    End,
}

/// What the tutor is doing, as the learner's screen shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentState {
    /// Setting up.
    Connecting,
    /// Waiting for the learner.
    Listening,
    /// Working on an answer (model or tool).
    Thinking,
    /// Talking.
    Speaking,
    /// The lesson is over.
    Ended,
}

impl AgentState {
    /// The name used on the wire and in `lk.agent.state`.
    pub fn as_str(self) -> &'static str {
        match self {
            AgentState::Connecting => "connecting",
            AgentState::Listening => "listening",
            AgentState::Thinking => "thinking",
            AgentState::Speaking => "speaking",
            AgentState::Ended => "ended",
        }
    }
}

/// A subtopic as the learner's screen names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubtopicRef {
    /// Subtopic id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Title of its topic.
    pub topic_title: String,
}

/// Mastery of one objective, for the progress panel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectiveProgress {
    /// Objective id.
    pub objective_id: String,
    /// Objective text.
    pub text: String,
    /// 0.0 to 1.0.
    pub score: f64,
    /// How many pieces of evidence the score rests on.
    pub evidence_count: u32,
}

/// An error shown to the learner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable code.
    pub code: String,
    /// What happened and what to do.
    pub message: String,
}

/// Something the session tells the learner's client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum LessonEvent {
    /// The lesson is connected and about to start.
    #[serde(rename = "session.ready")]
    Ready {
        /// The lesson session id.
        session_id: String,
        /// The subtopic being taught.
        subtopic: SubtopicRef,
    },
    /// The tutor's state changed.
    #[serde(rename = "agent.state")]
    AgentState {
        /// New state.
        state: AgentState,
    },
    /// What the learner said (final once transcription completes).
    #[serde(rename = "transcript.learner")]
    LearnerTranscript {
        /// Conversation item id.
        item_id: String,
        /// Text.
        text: String,
        /// Whether this is the final text for the item.
        #[serde(rename = "final")]
        is_final: bool,
    },
    /// More of what the tutor is saying.
    #[serde(rename = "transcript.tutor.delta")]
    TutorDelta {
        /// Conversation item id.
        item_id: String,
        /// Text to append.
        delta: String,
    },
    /// The tutor finished an utterance.
    #[serde(rename = "transcript.tutor.done")]
    TutorDone {
        /// Conversation item id.
        item_id: String,
        /// The whole text.
        text: String,
    },
    /// Binary audio frames that follow belong to this item.
    #[serde(rename = "audio.start")]
    AudioStart {
        /// Conversation item id.
        item_id: String,
    },
    /// No more audio for this item.
    #[serde(rename = "audio.done")]
    AudioDone {
        /// Conversation item id.
        item_id: String,
    },
    /// Stop playing this item now and drop what is buffered; answer with
    /// `playout.position`.
    #[serde(rename = "audio.clear")]
    AudioClear {
        /// Conversation item id.
        item_id: String,
    },
    /// The tutor was interrupted: only this much was heard.
    #[serde(rename = "transcript.truncated")]
    Truncated {
        /// Conversation item id.
        item_id: String,
        /// Milliseconds heard.
        audio_end_ms: u32,
        /// The text heard (an estimate proportional to time).
        text: String,
    },
    /// A teaching tool's display card.
    #[serde(rename = "tool.card")]
    ToolCard {
        /// The model's call id.
        call_id: String,
        /// Tool name.
        tool: String,
        /// The card (see `docs/ws-protocol.md`).
        display: Value,
    },
    /// How a tool call ended.
    #[serde(rename = "tool.result")]
    ToolResult {
        /// The model's call id.
        call_id: String,
        /// Tool name.
        tool: String,
        /// `ok`, `invalid_arguments`, `deadline_exceeded`, …
        outcome: String,
    },
    /// The learner's mastery of the subtopic's objectives.
    #[serde(rename = "progress")]
    Progress {
        /// One entry per objective.
        objectives: Vec<ObjectiveProgress>,
    },
    /// The lesson moved to another subtopic.
    #[serde(rename = "subtopic.changed")]
    SubtopicChanged {
        /// The new subtopic.
        subtopic: SubtopicRef,
    },
    /// The lesson is over.
    #[serde(rename = "lesson.ended")]
    Ended {
        /// `completed`, `learner_ended`, `learner_left`, `idle`, `error`.
        reason: String,
    },
    /// Something went wrong; the lesson may continue.
    #[serde(rename = "error")]
    Error {
        /// Code and message.
        error: ErrorBody,
    },
}

/// Plays tutor audio (PCM16 little-endian bytes) of an item; see
/// [`Transport::audio_player`].
pub type AudioPlayer = std::sync::Arc<dyn Fn(&str, Bytes) + Send + Sync>;

/// A transport failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TransportError {
    /// The learner's connection is gone.
    #[error("transport_closed: the learner's connection is closed")]
    Closed,
}

/// The learner's side of one lesson.
///
/// `recv` must be cancel-safe: the session selects on it together with the
/// Realtime events.
pub trait Transport: Send {
    /// The next thing the learner did; `None` once the learner is gone.
    fn recv(&mut self) -> impl Future<Output = Option<LearnerInput>> + Send;

    /// Queues tutor audio (PCM16 mono 24 kHz) of `item_id` for playout.
    fn play(&mut self, item_id: &str, pcm: &[i16]) -> Result<(), TransportError>;

    /// Like [`Transport::play`] with the audio as PCM16 little-endian bytes
    /// (what the Realtime API sends). A transport that ships those bytes
    /// as they are overrides it to skip the conversion.
    fn play_le_bytes(&mut self, item_id: &str, bytes: Bytes) -> Result<(), TransportError> {
        let pcm: Vec<i16> = bytes
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect();
        self.play(item_id, &pcm)
    }

    /// Hands the learner's microphone frames straight to `sink` from now on
    /// instead of through [`Transport::recv`], when the transport can; says
    /// whether it will. Saves a task hop per 20 ms frame.
    fn forward_audio(&mut self, sink: AudioSink) -> bool {
        let _ = sink;
        false
    }

    /// A handle that plays tutor audio from another task (the Realtime
    /// connection's), when the transport can: it plays a frame only while
    /// its item is the one being played and not interrupted, and drops it
    /// otherwise. Saves a task hop per 20 ms frame.
    fn audio_player(&mut self) -> Option<AudioPlayer> {
        None
    }

    /// The tutor finished sending audio for `item_id`.
    fn audio_done(&mut self, item_id: &str) -> Result<(), TransportError>;

    /// Stops playout of `item_id` at once, dropping queued audio, and
    /// returns how many milliseconds of it the learner heard, if known.
    fn interrupt(&mut self, item_id: &str) -> impl Future<Output = Option<u32>> + Send;

    /// Sends an event to the learner's client.
    fn send(&mut self, event: LessonEvent) -> Result<(), TransportError>;

    /// Flushes what is queued and closes.
    fn close(&mut self) -> impl Future<Output = ()> + Send;
}
