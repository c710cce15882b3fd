//! Paths of the plugin components built from `plugins/` for `wasm32-wasip2`.
//!
//! The build script compiles every Rust plugin (the examples in
//! `plugins/examples`, the test plugins in `plugins/testing`) with one
//! nested `cargo build --target wasm32-wasip2 --profile plugin` and exposes:
//!
//! - one constant per component with its absolute path, e.g. [`NOOP`];
//!   [`GARBAGE`] is a file of bytes that are not WebAssembly at all;
//! - [`EXAMPLES`] and [`ADVERSARIAL`]: (name, path) lists;
//! - [`bundled`]: the example components' bytes, embedded in the binary;
//! - [`foreach_example!`] and [`foreach_adversarial!`]: call a macro once per
//!   plugin with its snake_case name, so a test suite can make a plugin
//!   without a test a compile error:
//!
//! ```
//! mod adversarial {
//!     macro_rules! assert_test_exists {
//!         ($name:ident) => {
//!             #[allow(unused_imports)]
//!             use self::$name as _;
//!         };
//!     }
//!     // One test per fixture; deleting one makes this fail to compile.
//!     # fn spin_loop() {} fn memory_hog() {} fn trap() {} fn deep_recursion() {}
//!     # fn oversized_output() {} fn invalid_output() {} fn forbidden_import() {}
//!     # fn wrong_contract() {} fn broken_schema() {} fn garbage() {}
//!     lectern_plugin_artifacts::foreach_adversarial!(assert_test_exists);
//! }
//! # fn main() {}
//! ```
//!
//! A missing `wasm32-wasip2` target fails the build with the command that
//! installs it.
#![deny(missing_docs)]

include!(concat!(env!("OUT_DIR"), "/artifacts.rs"));

#[cfg(test)]
mod tests {
    use super::*;

    /// `\0asm`, version 0x0d, layer 1: a component, not a core module.
    const COMPONENT_PREAMBLE: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];

    #[test]
    fn every_path_is_a_component_except_garbage() {
        let mut all: Vec<(&str, &str)> = EXAMPLES.to_vec();
        all.extend_from_slice(ADVERSARIAL);
        all.push(("noop", NOOP));
        for (name, path) in all {
            let bytes = std::fs::read(path).unwrap();
            assert_eq!(
                bytes.starts_with(&COMPONENT_PREAMBLE),
                name != "garbage",
                "{name} at {path}"
            );
        }
    }

    #[test]
    fn bundled_matches_the_example_files() {
        let bundled = bundled();
        assert_eq!(bundled.len(), EXAMPLES.len());
        for ((name, bytes), (example, path)) in bundled.iter().zip(EXAMPLES) {
            assert_eq!(name, example);
            assert_eq!(*bytes, std::fs::read(path).unwrap().as_slice());
        }
    }
}
