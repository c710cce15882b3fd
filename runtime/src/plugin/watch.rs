//! Development reload: a watched directory of `*.wasm` files.
//!
//! Every file present at the start, and every file written afterwards, is
//! installed and activated once its writes have been quiet for
//! [`WATCH_DEBOUNCE_MS`] (a build writes a component in several steps). A file that
//! fails validation changes nothing; the failure is logged and announced.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use notify_debouncer_mini::notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_mini::{DebounceEventResult, Debouncer, new_debouncer};
use tokio::sync::mpsc;

use super::PluginHost;

/// Quiet time after the last write to a file before it is loaded.
pub const WATCH_DEBOUNCE_MS: u64 = 200;

/// A running directory watch; dropping it stops watching.
pub struct PluginDirWatcher {
    _debouncer: Debouncer<RecommendedWatcher>,
    task: tokio::task::JoinHandle<()>,
    dir: PathBuf,
}

impl PluginDirWatcher {
    /// The watched directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for PluginDirWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for PluginDirWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginDirWatcher")
            .field("dir", &self.dir)
            .finish()
    }
}

fn is_component_file(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "wasm")
}

async fn load_file(host: &PluginHost, path: &Path) {
    let source = path.display().to_string();
    let bytes = match tokio::fs::read(path).await {
        Ok(b) => b,
        // Deleted or renamed between the event and now: nothing to load.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => {
            tracing::warn!(file = %source, error = %e, "cannot read plugin file");
            host.registry()
                .announce_failure(source, format!("cannot read the file: {e}"));
            return;
        }
    };
    match host.install_and_activate(&bytes).await {
        Ok(installed) => tracing::info!(
            file = %source,
            plugin = %installed.manifest.name,
            version = %installed.manifest.version,
            digest = %installed.digest,
            "plugin loaded from watched directory"
        ),
        Err(e) => {
            tracing::warn!(file = %source, error = %e, "plugin refused");
            host.registry().announce_failure(source, e.to_string());
        }
    }
}

pub(crate) async fn watch(host: PluginHost, dir: &Path) -> anyhow::Result<PluginDirWatcher> {
    let dir = dir.to_path_buf();
    let mut initial: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading plugin directory {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| is_component_file(p))
        .collect();
    initial.sort();
    for path in &initial {
        load_file(&host, path).await;
    }

    let (tx, mut rx) = mpsc::unbounded_channel::<PathBuf>();
    let mut debouncer = new_debouncer(
        Duration::from_millis(WATCH_DEBOUNCE_MS),
        move |result: DebounceEventResult| match result {
            Ok(events) => {
                for event in events {
                    if is_component_file(&event.path) {
                        let _ = tx.send(event.path);
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "plugin directory watch error"),
        },
    )
    .context("starting the plugin directory watcher")?;
    debouncer
        .watcher()
        .watch(&dir, RecursiveMode::NonRecursive)
        .with_context(|| format!("watching {}", dir.display()))?;
    let task = tokio::spawn(async move {
        while let Some(path) = rx.recv().await {
            load_file(&host, &path).await;
        }
    });
    Ok(PluginDirWatcher {
        _debouncer: debouncer,
        task,
        dir,
    })
}
