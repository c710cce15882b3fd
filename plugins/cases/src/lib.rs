//! Plugin test cases: the `cases.json` file a teaching-tool plugin ships, and the
//! checks that decide whether a call passed.
//!
//! The format is defined by `cases.schema.json` next to this crate and explained in
//! `docs/authoring.md` (section 6). `lectern plugin test` and the runtime's own
//! tests run cases with this crate:
//!
//! 1. [`load`] reads a case file, resolves lesson fixtures (named, inline or by
//!    path), merges defaults, and yields [`Case`]s whose steps carry their
//!    arguments as JSON text, ready to call;
//! 2. [`run_case`] calls the plugin in a Lectern plugin host for each step,
//!    carrying state and evidence from one step to the next, and describes what
//!    happened as an [`Observed`];
//! 3. [`check`] compares that with the step's expectations and budget and returns
//!    every [`Mismatch`] (none means the step passed).

#![deny(missing_docs)]

mod check;
mod file;
mod pointer;
mod run;

pub use check::{Evidence, Mismatch, Observed, check};
pub use file::{
    Budget, Case, CaseFileError, CaseFileErrorCode, Context, DEFAULT_LEARNER_ID, DEFAULT_LOCALE,
    DEFAULT_SESSION_ID, Expect, FORMAT_VERSION, LoadedCases, MasteryBefore, Step, load, parse,
};
pub use run::{RunOptions, StepRun, lessons, run_case};
