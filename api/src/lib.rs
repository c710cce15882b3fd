//! The Lectern server: the REST API behind `lectern serve`.
//!
//! [`app::router`] assembles every resource's routes with the shared middleware
//! stack; [`serve::run`] binds it to a socket with graceful shutdown. Integration
//! tests and benchmarks build the same router through [`state::AppState::new`].
#![deny(missing_docs)]

pub mod app;
pub mod auth;
pub mod config;
pub mod error;
pub mod metrics;
pub mod plugin_sync;
pub mod rate_limit;
pub mod routes;
pub mod serve;
pub mod state;
pub mod web_assets;
pub mod worker;
