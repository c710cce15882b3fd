//! Host side of the `lectern:tool` imports, one file per WIT interface. Every
//! import is scoped to the current call: its lesson, its session's state for this
//! plugin, its progress ledger and its log collector, all held in the call's store.

mod lesson;
mod log;
mod progress;
mod state;

pub(crate) use lesson::add_to_linker as add_lesson_to_linker;
pub(crate) use log::{LogBucket, LogCollector};
pub(crate) use progress::ProgressLedger;

use super::bindings::types;
use super::sandbox::CallState;

impl types::Host for CallState {}
