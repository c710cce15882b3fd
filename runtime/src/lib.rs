//! Lectern's runtime.
//!
//! Teaching tools are WebAssembly components that implement the `lectern:tool`
//! contract (see `wit/`). This crate hosts them under hard limits, runs lesson
//! sessions that bridge a learner's audio to the OpenAI Realtime API, and keeps
//! what a lesson produces in the database.
#![deny(missing_docs)]

pub mod lesson;
pub mod engine;
pub mod plugin;
pub mod store;
pub mod curriculum;
pub mod audio;
pub mod realtime;
pub mod transport;
pub mod session;
