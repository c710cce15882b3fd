//! `state`: the session's key/value state for this plugin (see `plugin::state`).

use crate::plugin::bindings::state as wit;
use crate::plugin::sandbox::CallState;

impl wit::Host for CallState {
    fn get(&mut self, key: String) -> Option<String> {
        self.state.get(&key)
    }

    fn set(&mut self, key: String, value: String) -> Result<(), String> {
        self.state.set(key, value)
    }

    fn delete(&mut self, key: String) {
        self.state.delete(key)
    }

    fn keys(&mut self) -> Vec<String> {
        self.state.keys()
    }
}
