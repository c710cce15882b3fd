//! Write Lectern teaching tools in Rust.
