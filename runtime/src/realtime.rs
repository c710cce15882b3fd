//! OpenAI Realtime client (GA protocol over WebSocket).
//!
//! [`RealtimeClient`] is a handle on a task that owns one WebSocket at a time.
//! The task is a reconnect loop around a single connection run: when the
//! connection drops for a retryable reason it waits (exponential backoff,
//! capped, jittered), reconnects, sends the last `session.update` again and
//! replays the conversation so far as `conversation.item.create` events, so the
//! lesson carries on where it was. Fatal errors (bad key, invalid request) end
//! the loop and are reported once.
//!
//! Server events reach the owner through a channel as [`RealtimeEvent`]s, one
//! variant per server event (see [`protocol::ServerEvent`]); the owner is the
//! lesson session, which has one handler per event.

pub mod client;
pub mod config;
pub mod error;
pub mod history;
pub mod protocol;

pub use client::{AudioSink, DirectAudio, RealtimeClient, RealtimeEvent};
pub use config::{RealtimeConfig, VadMode};
pub use error::RealtimeError;
