//! Host-side key/value state per (session, plugin), behind the `state` import.
//!
//! It is keyed by plugin *name*, not version, so it survives hot reloads and
//! rollbacks. A call works on a snapshot (an `Arc`, so taking it is a pointer copy)
//! plus its own overlay of writes; only a call that ends `ok` commits its overlay.
//! Writes of a call that traps, times out or fails are discarded.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// The state of one plugin in one session: key -> value (text, JSON by convention).
pub type StateMap = BTreeMap<String, String>;

#[derive(Debug, Default, Clone)]
struct Entry {
    map: Arc<StateMap>,
    bytes: usize,
}

fn size_of(map: &StateMap) -> usize {
    map.iter().map(|(k, v)| k.len() + v.len()).sum()
}

/// Every session's plugin state, in memory. Cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct StateStore {
    /// session id -> plugin name -> state; nested so lookups borrow `&str`.
    inner: Arc<Mutex<HashMap<String, HashMap<String, Entry>>>>,
}

impl StateStore {
    /// An empty store.
    pub fn new() -> StateStore {
        StateStore::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, HashMap<String, Entry>>> {
        // Entries are replaced whole, so a panic elsewhere cannot leave one half-written.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A copy of the state of `plugin` in `session` (empty if none).
    pub fn snapshot(&self, session_id: &str, plugin: &str) -> StateMap {
        (*self.view(session_id, plugin).0).clone()
    }

    /// Replace the state of `plugin` in `session`, e.g. restored from storage or a
    /// `--state` file. The size cap is not applied here: the caller chose the data.
    pub fn replace(&self, session_id: &str, plugin: &str, map: StateMap) {
        let bytes = size_of(&map);
        self.lock()
            .entry(session_id.to_owned())
            .or_default()
            .insert(
                plugin.to_owned(),
                Entry {
                    map: Arc::new(map),
                    bytes,
                },
            );
    }

    /// Forget everything kept for `session` (when the lesson ends).
    pub fn end_session(&self, session_id: &str) {
        self.lock().remove(session_id);
    }

    pub(crate) fn view(&self, session_id: &str, plugin: &str) -> (Arc<StateMap>, usize) {
        self.lock()
            .get(session_id)
            .and_then(|plugins| plugins.get(plugin))
            .map(|e| (e.map.clone(), e.bytes))
            .unwrap_or_default()
    }

    pub(crate) fn commit(
        &self,
        session_id: &str,
        plugin: &str,
        writes: BTreeMap<String, Option<String>>,
    ) {
        if writes.is_empty() {
            return;
        }
        let mut guard = self.lock();
        // Keys are copied only the first time a session or plugin commits.
        if !guard.contains_key(session_id) {
            guard.insert(session_id.to_owned(), HashMap::new());
        }
        let plugins = guard.get_mut(session_id).expect("inserted above");
        if !plugins.contains_key(plugin) {
            plugins.insert(plugin.to_owned(), Entry::default());
        }
        let entry = plugins.get_mut(plugin).expect("inserted above");
        // The committing call has dropped its snapshot, so the map is usually
        // not shared and is changed in place; a snapshot another call still
        // reads is copied first and keeps what that call saw.
        let map = Arc::make_mut(&mut entry.map);
        // The size follows each write instead of a walk over the whole map.
        let mut bytes = entry.bytes;
        for (key, value) in writes {
            let key_len = key.len();
            let old = match value {
                Some(v) => {
                    let new = key_len + v.len();
                    bytes += new;
                    map.insert(key, v)
                }
                None => map.remove(&key),
            };
            bytes -= old.map_or(0, |v| key_len + v.len());
        }
        entry.bytes = bytes;
    }
}

/// One call's view: the snapshot taken at call start plus this call's writes.
#[derive(Debug, Default)]
pub(crate) struct StateView {
    base: Arc<StateMap>,
    writes: BTreeMap<String, Option<String>>,
    bytes: usize,
    max_bytes: usize,
    pub(crate) refused_writes: u32,
}

impl StateView {
    pub(crate) fn new(base: Arc<StateMap>, bytes: usize, max_bytes: usize) -> StateView {
        StateView {
            base,
            writes: BTreeMap::new(),
            bytes,
            max_bytes,
            refused_writes: 0,
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<String> {
        match self.writes.get(key) {
            Some(v) => v.clone(),
            None => self.base.get(key).cloned(),
        }
    }

    fn current_len(&self, key: &str) -> usize {
        match self.writes.get(key) {
            Some(Some(v)) => key.len() + v.len(),
            Some(None) => 0,
            None => self.base.get(key).map_or(0, |v| key.len() + v.len()),
        }
    }

    pub(crate) fn set(&mut self, key: String, value: String) -> Result<(), String> {
        if key.is_empty() {
            return Err("state keys must not be empty".into());
        }
        let old = self.current_len(&key);
        let new_total = self.bytes - old + key.len() + value.len();
        if new_total > self.max_bytes {
            self.refused_writes += 1;
            return Err(format!(
                "state is limited to {} bytes per lesson; this write would make it {new_total}. \
                 Delete keys you no longer need or store less",
                self.max_bytes
            ));
        }
        self.bytes = new_total;
        self.writes.insert(key, Some(value));
        Ok(())
    }

    pub(crate) fn delete(&mut self, key: String) {
        let old = self.current_len(&key);
        self.bytes -= old;
        if self.base.contains_key(&key) {
            self.writes.insert(key, None);
        } else {
            self.writes.remove(&key);
        }
    }

    pub(crate) fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .base
            .keys()
            .filter(|k| !matches!(self.writes.get(*k), Some(None)))
            .cloned()
            .collect();
        for (k, v) in &self.writes {
            if v.is_some() && !self.base.contains_key(k) {
                keys.push(k.clone());
            }
        }
        keys.sort();
        keys
    }

    pub(crate) fn into_writes(self) -> BTreeMap<String, Option<String>> {
        self.writes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_reads_writes_and_commits() {
        let store = StateStore::new();
        store.replace("s", "p", StateMap::from([("a".into(), "1".into())]));
        let (base, bytes) = store.view("s", "p");
        let mut view = StateView::new(base, bytes, 100);
        assert_eq!(view.get("a").as_deref(), Some("1"));
        view.set("b".into(), "2".into()).unwrap();
        view.delete("a".into());
        assert_eq!(view.keys(), vec!["b".to_owned()]);
        assert!(view.set("c".into(), "x".repeat(200)).is_err());
        store.commit("s", "p", view.into_writes());
        assert_eq!(
            store.snapshot("s", "p"),
            StateMap::from([("b".into(), "2".into())])
        );

        // A snapshot taken before a commit keeps what it saw.
        let (before, _) = store.view("s", "p");
        let (base, bytes) = store.view("s", "p");
        let mut view = StateView::new(base, bytes, 100);
        view.set("b".into(), "3".into()).unwrap();
        store.commit("s", "p", view.into_writes());
        assert_eq!(before.get("b").map(String::as_str), Some("2"));
        assert_eq!(
            store.snapshot("s", "p"),
            StateMap::from([("b".into(), "3".into())])
        );
        assert_eq!(store.view("s", "p").1, 2);
        store.end_session("s");
        assert!(store.snapshot("s", "p").is_empty());
    }
}
