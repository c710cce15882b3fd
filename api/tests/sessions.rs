//! Lesson sessions: `POST /api/sessions`, the lesson WebSocket through the
//! real listener against the fake Realtime server, and the admin listing.

#[path = "support/lib.rs"]
mod support;

use std::time::Duration;

use axum::http::{Method, StatusCode, header};
use futures::{SinkExt, StreamExt};
use lectern_fake_realtime::{Action, FakeRealtime, Pace, Rule, Script, Trigger};
use lectern_runtime::lesson::{Level, Objective};
use lectern_runtime::store::{NewSubtopic, NewTopic};
use serde_json::{Value, json};
use support::{ADMIN_TOKEN, TestApp, request};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const SUBTOPIC: &str = "photosynthesis";
const WAIT: Duration = Duration::from_secs(20);

/// Any URL other than OpenAI's counts as a local Realtime server.
const UNUSED_REALTIME_URL: &str = "ws://127.0.0.1:9/v1/realtime";

async fn seed(app: &TestApp, plugins: &[&str]) {
    let content = app.state.store.content();
    content
        .create_topic(&NewTopic {
            id: "plants".into(),
            title: "Plants".into(),
            description: String::new(),
            position: None,
        })
        .await
        .unwrap();
    content
        .create_subtopic(&NewSubtopic {
            id: SUBTOPIC.into(),
            topic_id: "plants".into(),
            title: "Photosynthesis".into(),
            summary: "How plants make sugar.".into(),
            level: Level::Beginner,
            content: "Plants turn light, water and CO2 into sugar.".into(),
            objectives: vec![Objective {
                id: "photosynthesis-explain".into(),
                text: "Explain photosynthesis".into(),
            }],
            key_points: vec!["Light drives it".into()],
            examples: vec![],
            position: None,
        })
        .await
        .unwrap();
    let mut bindings = Vec::new();
    for name in plugins {
        let path = lectern_plugin_artifacts::EXAMPLES
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| *p)
            .unwrap_or_else(|| panic!("no plugin artifact {name}"));
        let installed = app
            .state
            .plugins
            .install_and_activate(&std::fs::read(path).unwrap())
            .await
            .unwrap();
        bindings.push(serde_json::from_value(json!({"plugin": installed.manifest.name})).unwrap());
    }
    content
        .set_tool_bindings(SUBTOPIC, &bindings)
        .await
        .unwrap();
}

async fn conversations(app: &TestApp) -> usize {
    app.state
        .store
        .history()
        .list_conversations(&Default::default())
        .await
        .map(|page| page.items.len())
        .unwrap()
}

fn start_body() -> Value {
    json!({"subtopic_id": SUBTOPIC, "learner_id": "learner-1", "learner_name": "Ada"})
}

#[tokio::test]
async fn without_a_key_starting_a_lesson_is_503_naming_what_to_set() {
    let app = TestApp::new().await;
    seed(&app, &[]).await;
    let reply = app.post_json("/api/sessions", &start_body()).await;
    let message = reply.assert_error(StatusCode::SERVICE_UNAVAILABLE, "realtime_not_configured");
    assert!(message.contains("OPENAI_API_KEY"), "{message}");
    assert!(message.contains("OPENAI_REALTIME_URL"), "{message}");
    assert_eq!(app.state.lessons.pending_count(), 0);
    assert_eq!(conversations(&app).await, 0);
    // Everything else keeps working.
    assert_eq!(app.get("/api/topics").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_key_alone_makes_lessons_available() {
    let app = TestApp::with_config(|c| {
        c.openai_api_key = Some(lectern_api::config::Secret::new("sk-test"));
    })
    .await;
    seed(&app, &[]).await;
    let reply = app.post_json("/api/sessions", &start_body()).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
}

#[tokio::test]
async fn starting_lessons_is_rate_limited() {
    let app = TestApp::with_config(|c| {
        c.openai_realtime_url = UNUSED_REALTIME_URL.into();
        c.rate_limit_per_min = 2;
    })
    .await;
    seed(&app, &[]).await;
    for _ in 0..2 {
        let reply = app.post_json("/api/sessions", &start_body()).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    }
    let reply = app.post_json("/api/sessions", &start_body()).await;
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        reply.text()
    );
    assert!(reply.headers.contains_key(header::RETRY_AFTER));
    assert_eq!(app.state.lessons.pending_count(), 2);
}

#[tokio::test]
async fn unknown_subtopic_is_404_and_writes_nothing() {
    let app = TestApp::with_config(|c| c.openai_realtime_url = UNUSED_REALTIME_URL.into()).await;
    seed(&app, &[]).await;
    let reply = app
        .post_json(
            "/api/sessions",
            &json!({"subtopic_id": "no-such-thing", "learner_id": "learner-1"}),
        )
        .await;
    let message = reply.assert_error(StatusCode::NOT_FOUND, "subtopic_not_found");
    assert!(message.contains("no-such-thing"), "{message}");
    assert_eq!(app.state.lessons.pending_count(), 0);
    assert_eq!(conversations(&app).await, 0);
}

#[tokio::test]
async fn bad_bodies_are_refused_and_write_nothing() {
    let app = TestApp::with_config(|c| c.openai_realtime_url = UNUSED_REALTIME_URL.into()).await;
    seed(&app, &[]).await;
    let cases = [
        (json!({"subtopic_id": SUBTOPIC}), "missing learner_id"),
        (json!({"learner_id": "l"}), "missing subtopic_id"),
        (
            json!({"subtopic_id": SUBTOPIC, "learner_id": "l", "room": "x"}),
            "unknown field",
        ),
        (
            json!({"subtopic_id": SUBTOPIC, "learner_id": 7}),
            "wrong type",
        ),
        (
            json!({"subtopic_id": SUBTOPIC, "learner_id": "has space"}),
            "bad learner id",
        ),
        (
            json!({"subtopic_id": SUBTOPIC, "learner_id": ""}),
            "empty learner id",
        ),
        (
            json!({"subtopic_id": "../etc", "learner_id": "l"}),
            "bad subtopic id",
        ),
        (
            json!({"subtopic_id": SUBTOPIC, "learner_id": "l", "learner_name": "x".repeat(129)}),
            "long name",
        ),
    ];
    for (body, what) in cases {
        let reply = app.post_json("/api/sessions", &body).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{what}: {}",
            reply.text()
        );
        assert!(reply.json()["error"]["code"].is_string(), "{what}");
    }
    let malformed = app
        .send(
            request(Method::POST, "/api/sessions")
                .header(header::CONTENT_TYPE, "application/json")
                .body("{not json".into())
                .unwrap(),
        )
        .await;
    assert_eq!(
        malformed.status,
        StatusCode::BAD_REQUEST,
        "{}",
        malformed.text()
    );
    let not_json = app
        .send(
            request(Method::POST, "/api/sessions")
                .header(header::CONTENT_TYPE, "text/plain")
                .body(start_body().to_string().into())
                .unwrap(),
        )
        .await;
    assert_eq!(not_json.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(app.state.lessons.pending_count(), 0);
    assert_eq!(conversations(&app).await, 0);
}

#[tokio::test]
async fn tokens_are_checked_before_the_upgrade() {
    let app = TestApp::with_config(|c| c.openai_realtime_url = UNUSED_REALTIME_URL.into()).await;
    seed(&app, &[]).await;
    let created = app.post_json("/api/sessions", &start_body()).await.json();
    let id = created["session_id"].as_str().unwrap();
    let token = created["token"].as_str().unwrap();
    assert_eq!(token.len(), 64, "32 random bytes, hex");
    assert_eq!(created["expires_in_s"], 60);
    assert_eq!(
        created["ws_url"],
        format!("/api/sessions/{id}/ws?token={token}")
    );
    let other = app.post_json("/api/sessions", &start_body()).await.json();
    assert_ne!(other["token"], created["token"]);
    assert_ne!(other["session_id"], created["session_id"]);

    app.get(&format!("/api/sessions/{id}/ws"))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
    app.get(&format!("/api/sessions/{id}/ws?token=wrong"))
        .await
        .assert_error(StatusCode::FORBIDDEN, "session_token_invalid");
    // Another lesson's token does not open this one.
    app.get(&format!(
        "/api/sessions/{id}/ws?token={}",
        other["token"].as_str().unwrap()
    ))
    .await
    .assert_error(StatusCode::FORBIDDEN, "session_token_invalid");
    app.get(&format!("/api/sessions/nope/ws?token={token}"))
        .await
        .assert_error(StatusCode::FORBIDDEN, "session_token_invalid");
    // A plain GET with the right token is refused without using it up.
    app.get(&format!("/api/sessions/{id}/ws?token={token}"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "websocket_required");
    assert_eq!(app.state.lessons.pending_count(), 2);
    assert_eq!(conversations(&app).await, 0);
}

#[tokio::test]
async fn the_live_list_is_admin_only() {
    let app = TestApp::new().await;
    app.get("/api/sessions")
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
    let reply = app
        .send(
            request(Method::GET, "/api/sessions")
                .header(header::AUTHORIZATION, format!("Bearer {ADMIN_TOKEN}"))
                .body(Default::default())
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json(), json!({"sessions": []}));
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Reads events (counting audio bytes per item) until `until` holds.
async fn read_until(
    ws: &mut Socket,
    events: &mut Vec<Value>,
    audio_bytes: &mut usize,
    until: impl Fn(&[Value]) -> bool,
) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !until(events) {
        let next = tokio::time::timeout_at(deadline, ws.next())
            .await
            .unwrap_or_else(|_| panic!("timed out; events so far: {events:?}"));
        match next {
            Some(Ok(Message::Text(t))) => events.push(serde_json::from_str(t.as_str()).unwrap()),
            Some(Ok(Message::Binary(b))) => {
                assert!(
                    events.iter().any(|e| e["type"] == "audio.start"),
                    "audio before audio.start"
                );
                *audio_bytes += b.len();
            }
            Some(Ok(Message::Close(_))) | None => {
                events.push(json!({"type": "<closed>"}));
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => panic!("socket error {e}; events so far: {events:?}"),
        }
    }
}

fn has(kind: &'static str) -> impl Fn(&[Value]) -> bool {
    move |events| events.iter().any(|e| e["type"] == kind)
}

async fn admin_list(base: &str) -> Value {
    let reply = http_get(base, "/api/sessions", Some(ADMIN_TOKEN)).await;
    serde_json::from_str(&reply).unwrap()
}

/// A minimal HTTP/1.1 GET over a fresh connection (body as text).
async fn http_get(base: &str, path: &str, bearer: Option<&str>) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(base).await.unwrap();
    let auth = bearer
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {base}\r\n{auth}Connection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        // One chunk: size line, data, trailer.
        let (_, rest) = body.split_once("\r\n").unwrap();
        rest.rsplit_once("\r\n0\r\n").unwrap().0.to_string()
    } else {
        body.to_string()
    }
}

#[tokio::test]
async fn a_whole_lesson_over_the_websocket() {
    let script = Script {
        pace: Pace::Fast,
        rules: vec![
            Rule::once(
                Trigger::Audio,
                vec![
                    Action::UserTurn {
                        transcript: "Can you check if I understood photosynthesis?".into(),
                    },
                    Action::FunctionCall {
                        name: "check_understanding".into(),
                        arguments: json!({"focus": "photosynthesis"}),
                    },
                ],
            ),
            Rule::once(
                Trigger::ResponseCreate,
                vec![Action::AudioResponse {
                    transcript: "Here is a question for you about light.".into(),
                    frames: 10,
                    drop_after_frames: None,
                    barge_in_after_frames: None,
                }],
            ),
        ],
    };
    let fake = FakeRealtime::start(script).await.unwrap();
    let fake_url = fake.url();
    let app = TestApp::with_config(|c| c.openai_realtime_url = fake_url).await;
    seed(&app, &["check-understanding"]).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = listener.local_addr().unwrap().to_string();
    let server = tokio::spawn(lectern_api::serve::serve_on(
        listener,
        app.state.clone(),
        std::future::pending(),
    ));

    let created = app.post_json("/api/sessions", &start_body()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let created = created.json();
    let id = created["session_id"].as_str().unwrap().to_string();
    let url = format!("ws://{base}{}", created["ws_url"].as_str().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap();

    // The token opened one connection; a second try is refused before upgrading.
    match tokio_tungstenite::connect_async(url.clone().into_client_request().unwrap()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), StatusCode::FORBIDDEN);
        }
        other => panic!("a used token must be refused, got {:?}", other.map(|_| ())),
    }

    let mut events = Vec::new();
    let mut audio_bytes = 0usize;
    read_until(&mut ws, &mut events, &mut audio_bytes, has("session.ready")).await;
    let ready = events
        .iter()
        .find(|e| e["type"] == "session.ready")
        .unwrap();
    assert_eq!(ready["session_id"], id.as_str());
    assert_eq!(ready["subtopic"]["id"], SUBTOPIC);

    // Listed while it runs, and counted.
    let listed = admin_list(&base).await;
    assert_eq!(listed["sessions"].as_array().unwrap().len(), 1, "{listed}");
    let live = &listed["sessions"][0];
    assert_eq!(live["session_id"], id.as_str());
    assert_eq!(live["learner_id"], "learner-1");
    assert_eq!(live["learner_name"], "Ada");
    assert_eq!(live["subtopic_id"], SUBTOPIC);
    assert_eq!(live["subtopic_title"], "Photosynthesis");
    assert!(live["started_at_ms"].as_i64().unwrap() > 0);
    assert_eq!(
        support::metric_value(&app.metrics().await, "lectern_live_sessions"),
        1.0,
        "the gauge counts the lesson"
    );

    // Three 20 ms frames of learner audio.
    for i in 0..3 {
        let pcm = lectern_runtime::audio::tone(24_000, 300.0, 5000.0, 480, i * 480);
        let mut bytes = Vec::new();
        lectern_runtime::audio::pcm16_to_le_bytes(&pcm, &mut bytes);
        ws.send(Message::Binary(bytes.into())).await.unwrap();
    }
    read_until(&mut ws, &mut events, &mut audio_bytes, |e| {
        has("transcript.tutor.done")(e) && has("audio.done")(e)
    })
    .await;
    let learner = events
        .iter()
        .find(|e| e["type"] == "transcript.learner")
        .unwrap();
    assert_eq!(
        learner["text"],
        "Can you check if I understood photosynthesis?"
    );
    let result = events.iter().find(|e| e["type"] == "tool.result").unwrap();
    assert_eq!(result["tool"], "check_understanding");
    assert_eq!(result["outcome"], "ok");
    let done = events
        .iter()
        .find(|e| e["type"] == "transcript.tutor.done")
        .unwrap();
    assert_eq!(done["text"], "Here is a question for you about light.");
    assert!(
        events.iter().any(|e| e["type"] == "transcript.tutor.delta"),
        "{events:?}"
    );
    assert_eq!(audio_bytes, 10 * 960, "ten 20 ms frames of tutor audio");
    assert_eq!(fake.audio_appends(), 3);

    ws.send(Message::text(json!({"type": "lesson.end"}).to_string()))
        .await
        .unwrap();
    read_until(&mut ws, &mut events, &mut audio_bytes, has("<closed>")).await;
    let ended = events.iter().find(|e| e["type"] == "lesson.ended").unwrap();
    assert_eq!(ended["reason"], "learner_ended");

    // The record.
    let history = app.state.store.history();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let conv = history.conversation(&id).await.unwrap();
        if conv.status.as_str() == "ended" && app.state.lessons.live_count() == 0 {
            assert_eq!(conv.learner_id, "learner-1");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the conversation was not closed: {conv:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let messages: Vec<(String, String)> = history
        .all_messages(&id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.role.as_str().to_string(), m.content))
        .collect();
    assert_eq!(
        messages,
        [
            (
                "learner".to_string(),
                "Can you check if I understood photosynthesis?".to_string()
            ),
            (
                "tutor".to_string(),
                "Here is a question for you about light.".to_string()
            ),
        ]
    );
    let calls = history.tool_invocations(&id, 0, None).await.unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].tool_name, "check_understanding");
    assert_eq!(calls[0].outcome, "ok");

    assert_eq!(admin_list(&base).await, json!({"sessions": []}));
    assert_eq!(
        support::metric_value(&app.metrics().await, "lectern_live_sessions"),
        0.0
    );
    server.abort();
}

#[tokio::test]
async fn shutdown_ends_running_lessons_cleanly_and_refuses_new_ones() {
    // A long reply: still being spoken when the server is told to stop.
    let script = Script {
        pace: Pace::Realtime,
        rules: vec![Rule::once(
            Trigger::Audio,
            vec![
                Action::UserTurn {
                    transcript: "Tell me everything about leaves.".into(),
                },
                Action::AudioResponse {
                    transcript: "Leaves are where plants catch light and make their food, \
                                 and there is a lot more to say about them."
                        .into(),
                    frames: 1_000,
                    drop_after_frames: None,
                    barge_in_after_frames: None,
                },
            ],
        )],
    };
    let fake = FakeRealtime::start(script).await.unwrap();
    let fake_url = fake.url();
    let app = TestApp::with_config(|c| {
        c.openai_realtime_url = fake_url;
        c.shutdown_grace_ms = 10_000;
    })
    .await;
    seed(&app, &[]).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = listener.local_addr().unwrap().to_string();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(lectern_api::serve::serve_on(
        listener,
        app.state.clone(),
        async move {
            let _ = stopped.await;
        },
    ));

    let created = app.post_json("/api/sessions", &start_body()).await.json();
    let id = created["session_id"].as_str().unwrap().to_string();
    let url = format!("ws://{base}{}", created["ws_url"].as_str().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap();
    // A second lesson asked for but not connected yet.
    let waiting = app.post_json("/api/sessions", &start_body()).await.json();
    let mut events = Vec::new();
    let mut audio_bytes = 0usize;
    read_until(&mut ws, &mut events, &mut audio_bytes, has("session.ready")).await;
    let pcm = lectern_runtime::audio::tone(24_000, 300.0, 5000.0, 480, 0);
    let mut bytes = Vec::new();
    lectern_runtime::audio::pcm16_to_le_bytes(&pcm, &mut bytes);
    ws.send(Message::Binary(bytes.into())).await.unwrap();
    read_until(
        &mut ws,
        &mut events,
        &mut audio_bytes,
        has("transcript.tutor.delta"),
    )
    .await;
    assert_eq!(app.state.lessons.live_count(), 1);

    let stop_at = tokio::time::Instant::now();
    stop.send(()).unwrap();
    let deadline = stop_at + WAIT;
    while !app.state.lessons.is_draining() {
        assert!(tokio::time::Instant::now() < deadline, "never drained");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Meanwhile: no new lesson, and no late connection of an issued token.
    let refused = app.post_json("/api/sessions", &start_body()).await;
    let message = refused.assert_error(StatusCode::SERVICE_UNAVAILABLE, "shutting_down");
    assert!(message.contains("shutting down"), "{message}");
    let late = format!("ws://{base}{}", waiting["ws_url"].as_str().unwrap());
    match tokio_tungstenite::connect_async(late.as_str()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        }
        other => panic!(
            "a lesson must not start while draining, got {:?}",
            other.map(|_| ())
        ),
    }
    // The running lesson is told it ended, and closed.
    read_until(&mut ws, &mut events, &mut audio_bytes, has("<closed>")).await;
    let ended = events.iter().find(|e| e["type"] == "lesson.ended").unwrap();
    assert_eq!(ended["reason"], "shutdown");
    // The server stops within its bounds: the reply's finishing time, not the
    // 20 s the reply would have taken.
    tokio::time::timeout(WAIT, server)
        .await
        .expect("the server did not stop")
        .unwrap()
        .unwrap();
    let took = stop_at.elapsed();
    assert!(
        took < Duration::from_millis(lectern_runtime::session::SHUTDOWN_FINISH_MS + 3_000),
        "{took:?}"
    );
    assert_eq!(app.state.lessons.live_count(), 0);

    // The record is complete: closed, with what was said and heard. (The
    // server closed its pool on the way out; the database file remains.)
    let store =
        lectern_runtime::store::Store::connect(app.state.config.effective_database_url().expose())
            .await
            .unwrap();
    let history = store.history();
    let conv = history.conversation(&id).await.unwrap();
    assert_eq!(conv.status.as_str(), "ended");
    let messages: Vec<(String, String)> = history
        .all_messages(&id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.role.as_str().to_string(), m.content))
        .collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert_eq!(
        messages[0],
        (
            "learner".to_string(),
            "Tell me everything about leaves.".to_string()
        )
    );
    assert_eq!(messages[1].0, "tutor");
    assert!(
        messages[1].1.starts_with("Leaves are where"),
        "{messages:?}"
    );
    assert!(
        history
            .conversation(waiting["session_id"].as_str().unwrap())
            .await
            .is_err(),
        "the lesson that never connected left no record"
    );
}

/// Starts a lesson through the real listener; returns its id, socket and the server.
async fn connect_lesson(
    app: &TestApp,
) -> (String, Socket, tokio::task::JoinHandle<anyhow::Result<()>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = listener.local_addr().unwrap().to_string();
    let server = tokio::spawn(lectern_api::serve::serve_on(
        listener,
        app.state.clone(),
        std::future::pending(),
    ));
    let created = app.post_json("/api/sessions", &start_body()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let created = created.json();
    let url = format!("ws://{base}{}", created["ws_url"].as_str().unwrap());
    let (ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap();
    (
        created["session_id"].as_str().unwrap().to_string(),
        ws,
        server,
    )
}

#[tokio::test]
async fn configured_lesson_settings_reach_the_realtime_session() {
    use lectern_api::config::{VadEagerness, VadKind};
    // server_vad with its silence, a model, a voice, and short idle timings.
    let check_in = Script {
        pace: Pace::Fast,
        rules: vec![Rule::once(
            Trigger::ResponseCreate,
            vec![Action::AudioResponse {
                transcript: "Are you still there?".into(),
                frames: 2,
                drop_after_frames: None,
                barge_in_after_frames: None,
            }],
        )],
    };
    let fake = FakeRealtime::start(check_in).await.unwrap();
    let fake_url = fake.url();
    let app = TestApp::with_config(|c| {
        c.openai_realtime_url = fake_url;
        c.realtime_model = "gpt-realtime-mini".into();
        c.realtime_voice = "cedar".into();
        c.realtime_vad = VadKind::ServerVad;
        c.realtime_vad_silence_ms = Some(700);
        c.lesson_idle_nudge_ms = 1_000;
        c.lesson_idle_end_ms = 1_000;
    })
    .await;
    seed(&app, &[]).await;
    let started = tokio::time::Instant::now();
    let (id, mut ws, server) = connect_lesson(&app).await;
    let update = fake
        .wait_for("session.update", 1, WAIT)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(
        fake.request_uris(),
        ["/v1/realtime?model=gpt-realtime-mini"]
    );
    let audio = &update["session"]["audio"];
    assert_eq!(audio["output"]["voice"], "cedar");
    assert_eq!(audio["input"]["turn_detection"]["type"], "server_vad");
    assert_eq!(audio["input"]["turn_detection"]["silence_duration_ms"], 700);
    assert!(audio["input"]["turn_detection"]["eagerness"].is_null());
    // Nobody speaks: a check-in after the nudge time, the end after the end time.
    let mut events = Vec::new();
    let mut audio_bytes = 0usize;
    read_until(&mut ws, &mut events, &mut audio_bytes, has("<closed>")).await;
    let ended = events.iter().find(|e| e["type"] == "lesson.ended").unwrap();
    assert_eq!(ended["reason"], "idle");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(2_000) && took < Duration::from_secs(15),
        "{took:?}"
    );
    let nudges = fake.events_of("conversation.item.create");
    assert_eq!(nudges.len(), 1, "{nudges:?}");
    assert_eq!(nudges[0]["item"]["role"], "system");
    assert!(app.state.store.history().conversation(&id).await.is_ok());
    server.abort();

    // semantic_vad with an eagerness.
    let fake = FakeRealtime::start(Script::default()).await.unwrap();
    let fake_url = fake.url();
    let app = TestApp::with_config(|c| {
        c.openai_realtime_url = fake_url;
        c.realtime_vad = VadKind::SemanticVad;
        c.realtime_vad_eagerness = Some(VadEagerness::High);
    })
    .await;
    seed(&app, &[]).await;
    let (_, mut ws, server) = connect_lesson(&app).await;
    let update = fake
        .wait_for("session.update", 1, WAIT)
        .await
        .unwrap()
        .remove(0);
    let detection = &update["session"]["audio"]["input"]["turn_detection"];
    assert_eq!(detection["type"], "semantic_vad");
    assert_eq!(detection["eagerness"], "high");
    assert_eq!(update["session"]["audio"]["output"]["voice"], "marin");
    assert_eq!(fake.request_uris(), ["/v1/realtime?model=gpt-realtime"]);
    ws.send(Message::text(json!({"type": "lesson.end"}).to_string()))
        .await
        .unwrap();
    server.abort();
}

#[tokio::test]
async fn contradictory_lesson_settings_stop_the_start_with_a_clear_error() {
    use lectern_api::config::{VadEagerness, VadKind};
    let dir = tempfile::tempdir().unwrap();
    let config = lectern_api::config::Config {
        realtime_vad: VadKind::ServerVad,
        realtime_vad_eagerness: Some(VadEagerness::Low),
        data_dir: dir.path().to_path_buf(),
        ..Default::default()
    };
    let err = lectern_api::state::AppState::new(config).await.unwrap_err();
    assert!(err.to_string().contains("semantic_vad only"), "{err:#}");
}
