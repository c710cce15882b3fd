//! Lectern's runtime.
//!
//! Teaching tools are WebAssembly components that implement the `lectern:tool`
//! contract (see `wit/`). This crate hosts them under hard limits, runs lesson
//! sessions that bridge a learner's audio to the OpenAI Realtime API, and keeps
//! what a lesson produces in the database.
#![deny(missing_docs)]

pub mod audio;
pub mod curriculum;
pub mod engine;
pub mod lesson;
pub mod plugin;
pub mod realtime;
pub mod session;
pub mod store;
mod tls;
pub mod transport;
pub mod worker;
