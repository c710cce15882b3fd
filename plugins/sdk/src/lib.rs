//! Write Lectern teaching tools in Rust.
//!
//! A teaching tool is a WebAssembly component implementing the
//! `lectern:tool@0.1.0` contract (world `teaching-tool`). With this crate a
//! plugin is one type implementing [`TeachingTool`] plus one
//! [`export!`] line:
//!
//! ```
//! use lectern_tool::{Call, Display, Manifest, TeachingTool, ToolError, ToolOutput, ToolSpec};
//! use serde_json::json;
//!
//! struct Recap;
//!
//! impl TeachingTool for Recap {
//!     fn manifest() -> Manifest {
//!         lectern_tool::manifest!("Recaps the current subtopic in one line.").tool(ToolSpec::new(
//!             "recap",
//!             "Give the learner a one-line recap of the current subtopic.",
//!             json!({"type": "object", "properties": {}, "additionalProperties": false}),
//!         ))
//!     }
//!
//!     fn invoke(call: &mut Call<'_>) -> Result<ToolOutput, ToolError> {
//!         match call.tool() {
//!             "recap" => {
//!                 let lesson = call.lesson();
//!                 let text = format!("{}: {}", lesson.title, lesson.summary);
//!                 Ok(ToolOutput::text(text.clone()).with_display(Display::Markdown(text)))
//!             }
//!             other => Err(ToolError::unknown_tool(other)),
//!         }
//!     }
//! }
//!
//! lectern_tool::export!(Recap);
//! ```
//!
//! Tool logic only sees [`Call`], which reaches the host through the [`Env`]
//! trait. Inside the component that is the contract's imports; in native unit
//! tests (`cargo test`, feature `testing`) it is
//! [`testing::FakeEnv`], an in-memory host with a lesson, state, progress
//! and log you can inspect.
//!
//! Build the component with `cargo build --target wasm32-wasip2` and a
//! `cdylib` crate type. [`export!`] records the contract version the plugin
//! was built against ([`CONTRACT_VERSION`]) in a custom section named
//! [`CONTRACT_VERSION_SECTION`], which the host reads before instantiating.
#![deny(missing_docs)]

// The generated bindings name the SDK by its crate name, inside it too.
#[cfg(target_arch = "wasm32")]
extern crate self as lectern_tool;

#[cfg(any(test, all(target_arch = "wasm32", feature = "arena")))]
mod arena;
mod call;
mod env;
mod lesson;
pub mod text;
mod types;

#[cfg(feature = "testing")]
pub mod testing;

#[cfg(target_arch = "wasm32")]
mod wasm;

/// Every call runs in an instance that is thrown away afterwards, so the
/// component allocates from a bump arena (feature `arena`, on by default; turn
/// it off to bring your own global allocator).
#[cfg(all(target_arch = "wasm32", feature = "arena"))]
#[global_allocator]
static ALLOCATOR: arena::Arena = arena::Arena::new();

pub use call::Call;
pub use env::{Env, LogLevel};
pub use lesson::{Mastery, Objective, Subtopic, WorkedExample};
pub use types::{
    CallContext, Display, ExampleCard, Manifest, QuestionCard, ScoreCard, ToolError, ToolOutput,
    ToolSpec,
};

/// The version of the `lectern:tool` contract this SDK implements.
pub const CONTRACT_VERSION: &str = "0.1.0";

/// Name of the custom section holding the contract version (its content is
/// the version as UTF-8 text, e.g. `0.1.0`, with nothing around it).
pub const CONTRACT_VERSION_SECTION: &str = "lectern:contract-version";

/// A teaching-tool plugin: what it offers and how it runs a call.
///
/// Every call runs in a fresh sandbox, so the implementing type holds no
/// data: anything that must outlive a call goes into the state
/// ([`Call::set_state`]).
pub trait TeachingTool {
    /// Describes the plugin and its tools. Must not depend on any lesson:
    /// the host calls it once when loading the plugin.
    fn manifest() -> Manifest;

    /// Runs the tool `call.tool()` with `call.arguments()` (already checked
    /// against the tool's schema by the host).
    fn invoke(call: &mut Call<'_>) -> Result<ToolOutput, ToolError>;
}

/// A [`Manifest`] named and versioned after the calling crate's
/// `Cargo.toml`, with the given description.
#[macro_export]
macro_rules! manifest {
    ($description:expr) => {
        $crate::Manifest::new(
            ::core::env!("CARGO_PKG_NAME"),
            ::core::env!("CARGO_PKG_VERSION"),
            $description,
        )
    };
}

/// Makes a [`TeachingTool`] the component's `describe` and `invoke`
/// exports and records [`CONTRACT_VERSION`] in the component.
///
/// Use it once, at the root of a `cdylib` crate: `lectern_tool::export!(MyTool);`.
/// On targets other than `wasm32` it only checks that the type is a
/// [`TeachingTool`], so the crate's native unit tests build.
#[macro_export]
macro_rules! export {
    ($tool:ty) => {
        $crate::__export_with_contract_version!($tool, $crate::CONTRACT_VERSION);
    };
    // Records another contract version; only the host's tests need this, to
    // check that a plugin built for a contract it cannot serve is refused.
    ($tool:ty, contract_version = $version:expr) => {
        $crate::__export_with_contract_version!($tool, $version);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __export_with_contract_version {
    ($tool:ty, $version:expr) => {
        const _: fn() = || {
            fn is_teaching_tool<T: $crate::TeachingTool>() {}
            is_teaching_tool::<$tool>();
        };

        #[cfg(target_arch = "wasm32")]
        const _: () = {
            const LECTERN_CONTRACT_VERSION: &str = $version;

            // Lives in the plugin's own crate (not the SDK's) so the linker
            // always keeps it; the host reads it before instantiating.
            #[allow(unsafe_code)]
            #[used]
            #[unsafe(link_section = "lectern:contract-version")]
            static LECTERN_CONTRACT_VERSION_SECTION: [u8; LECTERN_CONTRACT_VERSION.len()] =
                $crate::__private::version_bytes(LECTERN_CONTRACT_VERSION);

            type LecternExports = $crate::__private::Adapter<$tool>;
            $crate::__private::bindings::__export_teaching_tool!(
                LecternExports with_types_in $crate::__private::bindings
            );
        };
    };
}

/// Writes a log line at the given level: `lectern_tool::log!(call, LogLevel::Info, "asked {n}")`.
#[macro_export]
macro_rules! log {
    ($call:expr, $level:expr, $($arg:tt)+) => {
        $call.log($level, &::std::format!($($arg)+))
    };
}

/// Writes a `trace` log line: `lectern_tool::trace!(call, "…{}", x)`.
#[macro_export]
macro_rules! trace {
    ($call:expr, $($arg:tt)+) => { $crate::log!($call, $crate::LogLevel::Trace, $($arg)+) };
}

/// Writes a `debug` log line: `lectern_tool::debug!(call, "…{}", x)`.
#[macro_export]
macro_rules! debug {
    ($call:expr, $($arg:tt)+) => { $crate::log!($call, $crate::LogLevel::Debug, $($arg)+) };
}

/// Writes an `info` log line: `lectern_tool::info!(call, "…{}", x)`.
#[macro_export]
macro_rules! info {
    ($call:expr, $($arg:tt)+) => { $crate::log!($call, $crate::LogLevel::Info, $($arg)+) };
}

/// Writes a `warn` log line: `lectern_tool::warn!(call, "…{}", x)`.
#[macro_export]
macro_rules! warn {
    ($call:expr, $($arg:tt)+) => { $crate::log!($call, $crate::LogLevel::Warn, $($arg)+) };
}

/// Writes an `error` log line: `lectern_tool::error!(call, "…{}", x)`.
#[macro_export]
macro_rules! error {
    ($call:expr, $($arg:tt)+) => { $crate::log!($call, $crate::LogLevel::Error, $($arg)+) };
}

/// What [`export!`] expands to refers to these; not part of the API.
#[doc(hidden)]
pub mod __private {
    #[cfg(target_arch = "wasm32")]
    pub use crate::wasm::{Adapter, bindings};
    #[cfg(target_arch = "wasm32")]
    pub use wit_bindgen;

    /// The bytes of `version`, as the contract-version section holds them.
    pub const fn version_bytes<const N: usize>(version: &str) -> [u8; N] {
        let bytes = version.as_bytes();
        assert!(
            bytes.len() == N,
            "the section length must match the version"
        );
        let mut out = [0u8; N];
        let mut i = 0;
        while i < N {
            out[i] = bytes[i];
            i += 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_version_matches_the_wit_package() {
        let wit = include_str!("../../../wit/0.1.0/tool.wit");
        let expected = format!("package lectern:tool@{CONTRACT_VERSION};");
        assert!(
            wit.lines().any(|line| line.trim() == expected),
            "wit/0.1.0/tool.wit does not declare `{expected}`"
        );
    }

    #[test]
    fn version_bytes_copy_the_text() {
        let bytes: [u8; 5] = __private::version_bytes("0.1.0");
        assert_eq!(&bytes, b"0.1.0");
    }
}
