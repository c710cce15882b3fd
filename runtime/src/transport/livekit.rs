//! The `livekit` transport: the tutor joins the learner's LiveKit room.
//!
//! The room carries the lesson with LiveKit's own conventions, so LiveKit's
//! frontends and components work unchanged:
//!
//! - audio: the tutor subscribes to the learner's microphone and publishes
//!   its voice as one audio track, both at 48 kHz (resampled to and from the
//!   Realtime API's 24 kHz with [`crate::audio`]);
//! - transcripts of both sides on the [`TRANSCRIPTION_TOPIC`] text-stream
//!   topic with [`SEGMENT_ID_ATTRIBUTE`], [`FINAL_ATTRIBUTE`] and
//!   [`TRANSCRIBED_TRACK_ATTRIBUTE`]; the learner's are sent under the
//!   learner's identity, the tutor's stream as the deltas arrive and close
//!   with a final trailer;
//! - the tutor's state in its [`AGENT_STATE_ATTRIBUTE`] participant attribute;
//! - typed learner input on the [`CHAT_TOPIC`] text-stream topic;
//! - Lectern's own events (tool cards, progress, subtopic changes, the end)
//!   as JSON on [`LECTERN_EVENTS_TOPIC`], one text stream per event, in the
//!   shape of the `ws` protocol's server events (`docs/ws-protocol.md`).
//!
//! What decides those messages ([`outbound`]), the audio chains and the
//! playout clock ([`audio_path`]) and the checks on what comes in
//! ([`inbound`]) are plain code, tested without WebRTC. The room itself
//! (`LiveKitTransport`) and the agent worker's job runner
//! (`LiveKitJobRunner`) need the `livekit` cargo feature.

pub mod audio_path;
pub mod inbound;
pub mod outbound;

#[cfg(feature = "livekit")]
mod room;
#[cfg(feature = "livekit")]
mod runner;

#[cfg(feature = "livekit")]
pub use room::{LiveKitOptions, LiveKitTransport, LiveKitTransportError};
#[cfg(feature = "livekit")]
pub use runner::LiveKitJobRunner;

/// Text-stream topic of transcripts (both sides).
pub const TRANSCRIPTION_TOPIC: &str = "lk.transcription";
/// Text-stream topic of typed learner input.
pub const CHAT_TOPIC: &str = "lk.chat";
/// Text-stream topic of Lectern's own events (JSON, `ws` protocol shape).
pub const LECTERN_EVENTS_TOPIC: &str = "lectern.events";
/// Participant attribute holding the tutor's state.
pub const AGENT_STATE_ATTRIBUTE: &str = "lk.agent.state";
/// Stream attribute naming the transcript segment (the conversation item id).
pub const SEGMENT_ID_ATTRIBUTE: &str = "lk.segment_id";
/// Stream attribute: `"true"` once a segment's text is final.
pub const FINAL_ATTRIBUTE: &str = "lk.transcription_final";
/// Stream attribute naming the audio track a transcript belongs to.
pub const TRANSCRIBED_TRACK_ATTRIBUTE: &str = "lk.transcribed_track_id";
/// Name of the tutor's published audio track.
pub const TUTOR_TRACK_NAME: &str = "tutor-voice";
