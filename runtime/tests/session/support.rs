//! A lesson over the real `ws` transport against the fake Realtime server, a
//! SQLite store and real plugins; and a simulated browser.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use lectern_fake_realtime::{FakeRealtime, Script};
use lectern_runtime::lesson::{Level, Objective};
use lectern_runtime::plugin::{HostConfig, PluginHost};
use lectern_runtime::realtime::RealtimeConfig;
use lectern_runtime::session::{
    LessonConfig, LessonDeps, LessonError, LessonMetrics, LessonSession, LessonSpec, LessonSummary,
};
use lectern_runtime::store::{NewSubtopic, NewTopic, Store};
use lectern_runtime::transport::ws::WsTransport;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

pub const WAIT: Duration = Duration::from_secs(20);
pub const SUBTOPIC: &str = "photosynthesis";
pub const NEXT_SUBTOPIC: &str = "respiration";

/// How the simulated browser answers `audio.clear`.
#[derive(Debug, Clone, Copy)]
pub enum Playout {
    /// Reports this many milliseconds played.
    Reports(u32),
    /// Never answers.
    Silent,
}

#[derive(Default)]
pub struct BrowserState {
    pub events: Vec<Value>,
    /// Audio bytes per item (after `audio.start`).
    pub audio_bytes: HashMap<String, usize>,
    pub current_item: Option<String>,
    pub closed: bool,
}

pub struct Browser {
    pub state: Arc<Mutex<BrowserState>>,
    changed: Arc<Notify>,
    out: tokio::sync::mpsc::UnboundedSender<Message>,
    task: JoinHandle<()>,
}

impl Browser {
    pub async fn connect(url: &str, playout: Playout) -> Browser {
        let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let (mut sink, mut stream) = ws.split();
        let state = Arc::new(Mutex::new(BrowserState::default()));
        let changed = Arc::new(Notify::new());
        let (out, mut out_rx) = tokio::sync::mpsc::unbounded_channel::<Message>();
        let (st, ch, answer) = (state.clone(), changed.clone(), out.clone());
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    m = out_rx.recv() => match m {
                        Some(m) => { if sink.send(m).await.is_err() { break } }
                        None => { let _ = sink.close().await; break }
                    },
                    m = stream.next() => {
                        match m {
                            Some(Ok(Message::Text(t))) => {
                                let v: Value = serde_json::from_str(t.as_str()).unwrap();
                                let mut s = st.lock().unwrap();
                                match v["type"].as_str().unwrap() {
                                    "audio.start" => s.current_item = v["item_id"].as_str().map(str::to_string),
                                    "audio.clear" => {
                                        if let Playout::Reports(ms) = playout {
                                            let _ = answer.send(Message::text(json!({"type": "playout.position",
                                                "item_id": v["item_id"], "played_ms": ms}).to_string()));
                                        }
                                    }
                                    _ => {}
                                }
                                s.events.push(v);
                            }
                            Some(Ok(Message::Binary(b))) => {
                                let mut s = st.lock().unwrap();
                                let item = s.current_item.clone().expect("audio before audio.start");
                                *s.audio_bytes.entry(item).or_default() += b.len();
                            }
                            Some(Ok(_)) => continue,
                            _ => { st.lock().unwrap().closed = true; ch.notify_waiters(); break }
                        }
                        ch.notify_waiters();
                    }
                }
            }
        });
        Browser {
            state,
            changed,
            out,
            task,
        }
    }

    /// Sends `n` 20 ms frames of a 300 Hz tone.
    pub fn speak(&self, frames: usize) {
        for i in 0..frames {
            let pcm = lectern_runtime::audio::tone(24_000, 300.0, 5000.0, 480, i * 480);
            let mut bytes = Vec::new();
            lectern_runtime::audio::pcm16_to_le_bytes(&pcm, &mut bytes);
            self.out.send(Message::Binary(bytes.into())).unwrap();
        }
    }

    pub fn send_json(&self, v: Value) {
        self.out.send(Message::text(v.to_string())).unwrap();
    }

    pub fn send_raw(&self, m: Message) {
        self.out.send(m).unwrap();
    }

    /// Drops the connection without a close frame.
    pub fn vanish(self) {
        self.task.abort();
    }

    pub fn events(&self) -> Vec<Value> {
        self.state.lock().unwrap().events.clone()
    }

    pub fn audio_ms(&self, item: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .audio_bytes
            .get(item)
            .copied()
            .unwrap_or(0)
            / 48
    }

    /// Waits for the `n`-th (1-based) event of `kind`.
    pub async fn wait_event(&self, kind: &str, n: usize) -> Value {
        self.wait(|s| {
            s.events
                .iter()
                .filter(|e| e["type"] == kind)
                .nth(n - 1)
                .cloned()
        })
        .await
        .unwrap_or_else(|| panic!("no {kind} #{n}; got {:?}", self.kinds()))
    }

    pub async fn wait<T>(&self, mut check: impl FnMut(&BrowserState) -> Option<T>) -> Option<T> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(v) = check(&self.state.lock().unwrap()) {
                return Some(v);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }

    pub fn kinds(&self) -> Vec<String> {
        self.events()
            .iter()
            .map(|e| e["type"].as_str().unwrap().to_string())
            .collect()
    }
}

pub struct Lesson {
    pub fake: FakeRealtime,
    pub store: Store,
    pub host: PluginHost,
    pub metrics: Arc<LessonMetrics>,
    pub browser: Browser,
    pub run: JoinHandle<Result<LessonSummary, LessonError>>,
    pub session_id: String,
    _dir: tempfile::TempDir,
}

pub fn plugin_path(name: &str) -> &'static str {
    lectern_plugin_artifacts::EXAMPLES
        .iter()
        .chain(lectern_plugin_artifacts::ADVERSARIAL)
        .find(|(n, _)| *n == name)
        .map(|(_, p)| *p)
        .or((name == "noop").then_some(lectern_plugin_artifacts::NOOP))
        .unwrap_or_else(|| panic!("no plugin artifact named {name}"))
}

pub struct Setup {
    pub script: Script,
    pub plugins: Vec<&'static str>,
    pub playout: Playout,
    pub config: LessonConfig,
    /// More components (bytes) to install, activate and bind.
    pub components: Vec<Vec<u8>>,
}

impl Setup {
    pub fn new(script: Script, plugins: &[&'static str]) -> Setup {
        Setup {
            script,
            plugins: plugins.to_vec(),
            playout: Playout::Reports(0),
            config: LessonConfig::default(),
            components: Vec::new(),
        }
    }
}

pub async fn start(setup: Setup) -> Lesson {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!(
        "sqlite://{}",
        dir.path().join("lectern.db").display()
    ))
    .await
    .unwrap();
    store.migrate().await.unwrap();
    let content = store.content();
    content
        .create_topic(&NewTopic {
            id: "plants".into(),
            title: "Plants".into(),
            description: String::new(),
            position: None,
        })
        .await
        .unwrap();
    for (id, title) in [(SUBTOPIC, "Photosynthesis"), (NEXT_SUBTOPIC, "Respiration")] {
        content
            .create_subtopic(&NewSubtopic {
                id: id.into(),
                topic_id: "plants".into(),
                title: title.into(),
                summary: format!("{title} in plants."),
                level: Level::Beginner,
                content: format!("{title} is how plants handle energy."),
                objectives: vec![Objective {
                    id: format!("{id}-explain"),
                    text: format!("Explain {title}"),
                }],
                key_points: vec![format!("{title} matters")],
                examples: vec![],
                position: None,
            })
            .await
            .unwrap();
    }
    let host = PluginHost::new(HostConfig::default()).unwrap();
    let mut bindings = Vec::new();
    for name in &setup.plugins {
        let bytes = std::fs::read(plugin_path(name)).unwrap();
        let installed = host.install_and_activate(&bytes).await.unwrap();
        bindings.push(serde_json::from_value(json!({"plugin": installed.manifest.name})).unwrap());
    }
    for bytes in &setup.components {
        let installed = host.install_and_activate(bytes).await.unwrap();
        bindings.push(serde_json::from_value(json!({"plugin": installed.manifest.name})).unwrap());
    }
    for id in [SUBTOPIC, NEXT_SUBTOPIC] {
        content.set_tool_bindings(id, &bindings).await.unwrap();
    }
    let fake = FakeRealtime::start(setup.script).await.unwrap();
    let metrics = Arc::new(LessonMetrics::default());
    let deps = LessonDeps {
        host: host.clone(),
        store: store.clone(),
        metrics: metrics.clone(),
    };
    let config = LessonConfig {
        realtime: RealtimeConfig::for_local(fake.url()),
        ..setup.config
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/api/sessions/s1/ws", listener.local_addr().unwrap());
    let session_id = "s1".to_string();
    let spec = LessonSpec {
        session_id: session_id.clone(),
        learner_id: "learner-1".into(),
        subtopic_id: SUBTOPIC.into(),
        room: session_id.clone(),
    };
    let run = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let ws = tokio_tungstenite::accept_async(stream).await.unwrap();
        LessonSession::run(deps, config, spec, WsTransport::from_tungstenite(ws)).await
    });
    let browser = Browser::connect(&url, setup.playout).await;
    Lesson {
        fake,
        store,
        host,
        metrics,
        browser,
        run,
        session_id,
        _dir: dir,
    }
}

impl Lesson {
    pub async fn end(self) -> (LessonSummary, EndedStore, FakeRealtime, Browser) {
        self.browser.send_json(json!({"type": "lesson.end"}));
        let summary = tokio::time::timeout(WAIT, self.run)
            .await
            .expect("lesson did not end")
            .unwrap()
            .unwrap();
        let store = EndedStore {
            store: self.store,
            _dir: self._dir,
        };
        (summary, store, self.fake, self.browser)
    }

    pub async fn messages(&self) -> Vec<(String, String)> {
        messages(&self.store, &self.session_id).await
    }
}

/// An ended lesson's store, with the directory its database lives in: the
/// pool may open a new connection for any later query, and that needs the
/// file still there.
pub struct EndedStore {
    store: Store,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for EndedStore {
    type Target = Store;

    fn deref(&self) -> &Store {
        &self.store
    }
}

pub async fn messages(store: &Store, id: &str) -> Vec<(String, String)> {
    store
        .history()
        .all_messages(id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.role.as_str().to_string(), m.content))
        .collect()
}
