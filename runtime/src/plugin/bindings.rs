//! Rust types and glue generated from `wit/0.1.0/tool.wit` (world `teaching-tool`).
//!
//! Exports are called asynchronously (the call runs on a fiber and yields at epoch
//! ticks); host imports are plain synchronous functions because none of them waits.

wasmtime::component::bindgen!({
    path: "../wit/0.1.0",
    world: "lectern:tool/teaching-tool",
    exports: { default: async },
});

pub use lectern::tool::{lesson, log, progress, state, types};
