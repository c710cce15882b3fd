//! Paths of the plugin components built from `plugins/` for wasm32-wasip2.
