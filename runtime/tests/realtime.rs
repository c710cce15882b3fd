//! The production Realtime client against the fake GA server.

use std::time::Duration;

use lectern_fake_realtime::{Action, FakeRealtime, Options, Pace, Rule, Script, Trigger};
use lectern_runtime::realtime::protocol::{
    ClientEvent, Item, Role, ServerEvent, SessionConfig, Tool,
};
use lectern_runtime::realtime::{RealtimeClient, RealtimeConfig, RealtimeError, RealtimeEvent};
use serde_json::json;
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(10);

fn session(instructions: &str) -> ClientEvent {
    ClientEvent::SessionUpdate {
        session: SessionConfig {
            kind: "realtime".into(),
            model: None,
            output_modalities: Some(vec!["audio".into()]),
            instructions: Some(instructions.into()),
            audio: None,
            tools: Some(vec![Tool::Function {
                name: "check_understanding".into(),
                description: "Checks.".into(),
                parameters: json!({"type": "object"}),
            }]),
            tool_choice: Some("auto".into()),
        },
    }
}

async fn next_where(
    rx: &mut mpsc::Receiver<RealtimeEvent>,
    mut pred: impl FnMut(&RealtimeEvent) -> bool,
) -> RealtimeEvent {
    tokio::time::timeout(WAIT, async {
        loop {
            let ev = rx.recv().await.expect("event stream ended");
            if pred(&ev) {
                return ev;
            }
        }
    })
    .await
    .expect("timed out waiting for an event")
}

#[tokio::test]
async fn connects_with_bearer_and_round_trips_the_ga_events() {
    let fake = FakeRealtime::start(Script {
        pace: Pace::Fast,
        rules: vec![
            Rule::once(
                Trigger::Audio,
                vec![
                    Action::UserTurn {
                        transcript: "what is a leaf".into(),
                    },
                    Action::FunctionCall {
                        name: "check_understanding".into(),
                        arguments: json!({"concept": "leaf"}),
                    },
                ],
            ),
            Rule::once(
                Trigger::ResponseCreate,
                vec![Action::AudioResponse {
                    transcript: "A leaf makes food.".into(),
                    frames: 5,
                    drop_after_frames: None,
                    barge_in_after_frames: None,
                }],
            ),
        ],
    })
    .await
    .unwrap();
    let config = RealtimeConfig {
        api_key: Some("sk-test".into()),
        ..RealtimeConfig::for_local(fake.url())
    };
    let (client, mut events) = RealtimeClient::connect(config).await.unwrap();
    assert_eq!(
        fake.auth_headers(),
        vec![Some("Bearer sk-test".to_string())]
    );
    client.send(session("Teach leaves.")).unwrap();
    next_where(&mut events, |e| {
        matches!(e, RealtimeEvent::Server(ServerEvent::SessionUpdated { .. }))
    })
    .await;
    client.append_audio(&[100; 480]).unwrap();
    let ev = next_where(&mut events, |e| {
        matches!(
            e,
            RealtimeEvent::Server(ServerEvent::ResponseFunctionCallArgumentsDone { .. })
        )
    })
    .await;
    let RealtimeEvent::Server(ServerEvent::ResponseFunctionCallArgumentsDone {
        call_id,
        name,
        arguments,
        ..
    }) = ev
    else {
        unreachable!()
    };
    assert_eq!(name, "check_understanding");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&arguments).unwrap(),
        json!({"concept": "leaf"})
    );
    client
        .send(ClientEvent::ConversationItemCreate {
            previous_item_id: None,
            item: Item::FunctionCallOutput {
                id: None,
                call_id: call_id.clone(),
                output: "understood".into(),
            },
        })
        .unwrap();
    client
        .send(ClientEvent::ResponseCreate { response: None })
        .unwrap();
    let mut audio_ms = 0;
    loop {
        match next_where(&mut events, |_| true).await {
            RealtimeEvent::Server(ServerEvent::ResponseOutputAudioDelta { delta, .. }) => {
                audio_ms += lectern_runtime::audio::ms_of_24k(
                    lectern_runtime::audio::base64_to_pcm16(&delta)
                        .unwrap()
                        .len(),
                );
            }
            RealtimeEvent::Server(ServerEvent::ResponseDone { response })
                if response
                    .output
                    .iter()
                    .any(|i| matches!(i, Item::Message { .. })) =>
            {
                assert_eq!(response.status.as_deref(), Some("completed"));
                break;
            }
            _ => {}
        }
    }
    assert_eq!(audio_ms, 100);
    // The exact client events, in order (audio appends aside).
    let sent = fake.client_events();
    let kinds: Vec<&str> = sent.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "session.update",
            "conversation.item.create",
            "response.create"
        ]
    );
    assert_eq!(sent[0]["session"]["type"], "realtime");
    assert_eq!(
        sent[1],
        json!({"type": "conversation.item.create",
            "item": {"type": "function_call_output", "call_id": call_id, "output": "understood"}})
    );
    assert_eq!(fake.audio_appends(), 1);
    client.close().await;
}

#[tokio::test]
async fn reconnects_after_a_drop_and_replays_the_conversation() {
    let fake = FakeRealtime::start(Script {
        pace: Pace::Fast,
        rules: vec![
            Rule::once(
                Trigger::Audio,
                vec![Action::UserTurn {
                    transcript: "tell me about roots".into(),
                }],
            ),
            Rule::once(
                Trigger::ResponseCreate,
                vec![Action::AudioResponse {
                    transcript: "Roots drink water from the soil.".into(),
                    frames: 50,
                    drop_after_frames: Some(10),
                    barge_in_after_frames: None,
                }],
            ),
        ],
    })
    .await
    .unwrap();
    let (client, mut events) = RealtimeClient::connect(RealtimeConfig::for_local(fake.url()))
        .await
        .unwrap();
    client.send(session("Teach roots.")).unwrap();
    client.append_audio(&[5; 480]).unwrap();
    next_where(&mut events, |e| {
        matches!(
            e,
            RealtimeEvent::Server(ServerEvent::InputTranscriptionCompleted { .. })
        )
    })
    .await;
    client
        .send(ClientEvent::ResponseCreate { response: None })
        .unwrap();
    let ev = next_where(&mut events, |e| {
        matches!(e, RealtimeEvent::Reconnected { .. })
    })
    .await;
    let RealtimeEvent::Reconnected {
        replayed_items,
        response_interrupted,
    } = ev
    else {
        unreachable!()
    };
    assert!(response_interrupted);
    // The learner's question and the part of the answer that streamed.
    assert_eq!(replayed_items, 2);
    assert_eq!(fake.connections(), 2);
    let second: Vec<serde_json::Value> = fake
        .wait_until(WAIT, |rec| {
            let second: Vec<serde_json::Value> = rec
                .iter()
                .filter(|r| r.connection == 1)
                .map(|r| r.event.clone())
                .collect();
            (second.len() >= 3).then_some(second)
        })
        .await
        .unwrap();
    assert_eq!(second[0]["type"], "session.update");
    assert_eq!(second[0]["session"]["instructions"], "Teach roots.");
    assert_eq!(
        second[1],
        json!({"type": "conversation.item.create", "item": {"type": "message", "role": "user",
            "content": [{"type": "input_text", "text": "tell me about roots"}]}})
    );
    assert_eq!(second[2]["item"]["role"], "assistant");
    assert_eq!(second[2]["item"]["content"][0]["type"], "output_text");
    let partial = second[2]["item"]["content"][0]["text"].as_str().unwrap();
    assert!(
        "Roots drink water from the soil.".starts_with(partial) && !partial.is_empty(),
        "{partial}"
    );
    // The lesson carries on over the new connection.
    client
        .send(ClientEvent::ConversationItemCreate {
            previous_item_id: None,
            item: Item::text_message(Role::User, "go on"),
        })
        .unwrap();
    fake.wait_until(WAIT, |r| {
        r.iter()
            .any(|r| r.connection == 1 && r.event["item"]["content"][0]["text"] == "go on")
            .then_some(())
    })
    .await
    .unwrap();
    client.close().await;
}

#[tokio::test]
async fn a_refused_key_is_fatal_and_not_retried() {
    let fake = FakeRealtime::start_with(
        Script::default(),
        Options {
            require_key: Some("right".into()),
            ..Options::default()
        },
        0,
    )
    .await
    .unwrap();
    let config = RealtimeConfig {
        api_key: Some("wrong".into()),
        ..RealtimeConfig::for_local(fake.url())
    };
    let err = RealtimeClient::connect(config).await.err().unwrap();
    assert!(matches!(err, RealtimeError::Auth(_)), "{err}");
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("OPENAI_API_KEY"));
    assert_eq!(fake.connections(), 1);
}

#[tokio::test]
async fn an_unreachable_server_is_retried_with_backoff_then_given_up() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let config = RealtimeConfig {
        reconnect_max_attempts: 3,
        reconnect_initial_backoff_ms: 5,
        reconnect_max_backoff_ms: 20,
        ..RealtimeConfig::for_local(format!("ws://127.0.0.1:{port}/v1/realtime"))
    };
    let err = RealtimeClient::connect(config).await.err().unwrap();
    assert!(
        matches!(err, RealtimeError::GaveUp { attempts: 3, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn error_and_rate_limit_events_reach_the_owner_and_the_connection_stays() {
    let fake = FakeRealtime::start(Script {
        pace: Pace::Fast,
        rules: vec![Rule::once(
            Trigger::SessionUpdate,
            vec![
                Action::Error {
                    kind: "invalid_request_error".into(),
                    code: Some("invalid_value".into()),
                    message: "bad voice".into(),
                },
                Action::RateLimits {
                    remaining_requests: 10,
                    remaining_tokens: 900,
                },
            ],
        )],
    })
    .await
    .unwrap();
    let (client, mut events) = RealtimeClient::connect(RealtimeConfig::for_local(fake.url()))
        .await
        .unwrap();
    client.send(session("x")).unwrap();
    let ev = next_where(&mut events, |e| {
        matches!(e, RealtimeEvent::Server(ServerEvent::Error { .. }))
    })
    .await;
    let RealtimeEvent::Server(ServerEvent::Error { error }) = ev else {
        unreachable!()
    };
    assert_eq!(error.code.as_deref(), Some("invalid_value"));
    let ev = next_where(&mut events, |e| {
        matches!(
            e,
            RealtimeEvent::Server(ServerEvent::RateLimitsUpdated { .. })
        )
    })
    .await;
    let RealtimeEvent::Server(ServerEvent::RateLimitsUpdated { rate_limits }) = ev else {
        unreachable!()
    };
    assert_eq!(rate_limits[1].remaining, 900);
    // Unknown events from the server are tolerated too: an unknown client
    // event makes the fake answer with an error, and nothing breaks.
    client.send(ClientEvent::InputAudioBufferClear).unwrap();
    next_where(&mut events, |e| {
        matches!(
            e,
            RealtimeEvent::Server(ServerEvent::InputAudioBufferCleared)
        )
    })
    .await;
    assert_eq!(fake.connections(), 1);
    client.close().await;
}
