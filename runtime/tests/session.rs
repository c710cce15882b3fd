//! Lessons end to end: a simulated browser over the real `ws` transport, the
//! lesson session, real plugins in their sandbox, SQLite, and the fake
//! Realtime server speaking the GA protocol.

#[path = "session/support.rs"]
mod support;
#[allow(dead_code)]
#[path = "support/wat_plugin.rs"]
mod wat_plugin;

use std::time::Duration;

use lectern_fake_realtime::{Action, Pace, Rule, Script, Trigger};
use lectern_runtime::session::{EndReason, LessonConfig};
use serde_json::{Value, json};
use support::{Playout, Setup, WAIT, start};

fn user_then_call(transcript: &str, name: &str, arguments: Value) -> Rule {
    Rule::once(
        Trigger::Audio,
        vec![
            Action::UserTurn {
                transcript: transcript.into(),
            },
            Action::FunctionCall {
                name: name.into(),
                arguments,
            },
        ],
    )
}

fn reply(transcript: &str, frames: u32) -> Action {
    Action::AudioResponse {
        transcript: transcript.into(),
        frames,
        drop_after_frames: None,
        barge_in_after_frames: None,
    }
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

fn tool_names(session_update: &Value) -> Vec<String> {
    session_update["session"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn full_loop_learner_audio_to_tool_to_tutor_audio_and_the_record() {
    let script = Script {
        pace: Pace::Fast,
        rules: vec![
            user_then_call(
                "Can you check if I understood photosynthesis?",
                "check_understanding",
                json!({"focus": "photosynthesis"}),
            ),
            Rule::once(
                Trigger::ResponseCreate,
                vec![reply("Here is a question for you about light.", 10)],
            ),
        ],
    };
    let lesson = start(Setup::new(script, &["check-understanding"])).await;
    let b = &lesson.browser;
    let ready = b.wait_event("session.ready", 1).await;
    assert_eq!(ready["subtopic"]["id"], support::SUBTOPIC);
    b.speak(3);
    let learner = b.wait_event("transcript.learner", 1).await;
    assert_eq!(
        learner["text"],
        "Can you check if I understood photosynthesis?"
    );
    assert_eq!(learner["final"], true);
    let card = b.wait_event("tool.card", 1).await;
    assert_eq!(card["tool"], "check_understanding");
    assert_eq!(card["display"]["type"], "question");
    let result = b.wait_event("tool.result", 1).await;
    assert_eq!(result["outcome"], "ok");
    let done = b.wait_event("transcript.tutor.done", 1).await;
    assert_eq!(done["text"], "Here is a question for you about light.");
    let item = done["item_id"].as_str().unwrap().to_string();
    b.wait_event("audio.done", 1).await;
    assert_eq!(
        b.audio_ms(&item),
        200,
        "10 frames of 20 ms reach the browser"
    );
    let states: Vec<String> = b
        .events()
        .iter()
        .filter(|e| e["type"] == "agent.state")
        .map(|e| e["state"].as_str().unwrap().to_string())
        .collect();
    assert!(
        states.starts_with(&["listening".to_string(), "thinking".to_string()]),
        "{states:?}"
    );
    assert!(states.contains(&"speaking".to_string()), "{states:?}");

    // The exact client events the model saw.
    let fake = &lesson.fake;
    let sent = fake.client_events();
    assert_eq!(
        kinds(&sent),
        [
            "session.update",
            "conversation.item.create",
            "response.create"
        ]
    );
    let update = &sent[0]["session"];
    assert_eq!(update["type"], "realtime");
    assert_eq!(
        update["audio"]["input"]["format"],
        json!({"type": "audio/pcm", "rate": 24000})
    );
    assert_eq!(
        update["audio"]["output"]["format"],
        json!({"type": "audio/pcm", "rate": 24000})
    );
    assert!(
        update["instructions"]
            .as_str()
            .unwrap()
            .contains("Photosynthesis")
    );
    assert_eq!(
        tool_names(&sent[0]),
        [
            "check_understanding",
            "grade_answer",
            "next_subtopic",
            "switch_subtopic",
            "end_lesson"
        ]
    );
    let output = &sent[1]["item"];
    assert_eq!(output["type"], "function_call_output");
    assert!(output["call_id"].as_str().unwrap().starts_with("call_"));
    assert!(
        output["output"].as_str().unwrap().contains("question_id"),
        "{output}"
    );
    assert_eq!(fake.audio_appends(), 3);

    let (summary, store, _, _) = lesson.end().await;
    assert_eq!(summary.reason, EndReason::LearnerEnded);
    assert_eq!(summary.tool_calls, 1);
    assert_eq!(
        support::messages(&store, "s1").await,
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
    let calls = store
        .history()
        .tool_invocations("s1", 0, None)
        .await
        .unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].plugin_name, "check-understanding");
    assert_eq!(calls[0].tool_name, "check_understanding");
    assert_eq!(calls[0].outcome, "ok");
    assert_eq!(calls[0].arguments, json!({"focus": "photosynthesis"}));
    let conv = store.history().conversation("s1").await.unwrap();
    assert_eq!(conv.status.as_str(), "ended");
}

async fn barge_in(
    reported_ms: Option<u32>,
) -> (Vec<Value>, Vec<(String, String)>, support::Browser) {
    let script = Script {
        pace: Pace::Fast,
        rules: vec![Rule::once(
            Trigger::Audio,
            vec![
                Action::UserTurn {
                    transcript: "Explain it".into(),
                },
                Action::AudioResponse {
                    transcript: "one two three four five six seven eight nine ten".into(),
                    frames: 50,
                    drop_after_frames: None,
                    barge_in_after_frames: Some(15),
                },
            ],
        )],
    };
    let mut setup = Setup::new(script, &[]);
    setup.playout = reported_ms.map_or(Playout::Silent, Playout::Reports);
    let lesson = start(setup).await;
    lesson.browser.speak(1);
    lesson.browser.wait_event("audio.clear", 1).await;
    // The response is cancelled by the server; wait until the lesson settled.
    lesson
        .browser
        .wait(|s| {
            s.events
                .iter()
                .any(|e| e["type"] == "transcript.truncated")
                .then_some(())
        })
        .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let sent = lesson.fake.client_events();
    let (_, store, _, browser) = lesson.end().await;
    (sent, support::messages(&store, "s1").await, browser)
}

#[tokio::test]
async fn barge_in_truncates_at_the_reported_playout_position() {
    let (sent, messages, browser) = barge_in(Some(140)).await;
    let truncates: Vec<&Value> = sent
        .iter()
        .filter(|e| e["type"] == "conversation.item.truncate")
        .collect();
    assert_eq!(truncates.len(), 1, "{:?}", kinds(&sent));
    let item = truncates[0]["item_id"].as_str().unwrap();
    assert_eq!(
        *truncates[0],
        json!({"type": "conversation.item.truncate", "item_id": item, "content_index": 0, "audio_end_ms": 140})
    );
    // 15 frames (300 ms) had arrived; 140 ms heard keeps 140/300 of the words received.
    let heard = browser.wait_event("transcript.truncated", 1).await;
    assert_eq!(heard["audio_end_ms"], 140);
    let tutor: Vec<&(String, String)> = messages.iter().filter(|(r, _)| r == "tutor").collect();
    assert_eq!(tutor.len(), 1);
    assert_eq!(tutor[0].1, heard["text"].as_str().unwrap());
    assert!(!tutor[0].1.contains("four"), "{}", tutor[0].1);
    assert!(browser.audio_ms(item) <= 300);
}

#[tokio::test]
async fn barge_in_clamps_to_the_audio_received() {
    let (sent, _, _) = barge_in(Some(99_999)).await;
    let t: Vec<&Value> = sent
        .iter()
        .filter(|e| e["type"] == "conversation.item.truncate")
        .collect();
    assert_eq!(t.len(), 1);
    assert_eq!(
        t[0]["audio_end_ms"], 300,
        "15 frames of 20 ms were received"
    );
}

#[tokio::test]
async fn barge_in_before_anything_was_heard_sends_no_truncate() {
    let (sent, messages, browser) = barge_in(Some(0)).await;
    assert!(
        !sent
            .iter()
            .any(|e| e["type"] == "conversation.item.truncate"),
        "{:?}",
        kinds(&sent)
    );
    assert!(messages.iter().all(|(r, _)| r != "tutor"), "{messages:?}");
    assert_eq!(
        browser.wait_event("transcript.truncated", 1).await["audio_end_ms"],
        0
    );
}

#[tokio::test]
async fn invalid_tool_arguments_reach_the_model_as_an_error_and_the_lesson_goes_on() {
    let script = Script {
        pace: Pace::Fast,
        rules: vec![
            user_then_call("Quiz me", "check_understanding", json!({"focus": 42})),
            Rule::once(
                Trigger::ResponseCreate,
                vec![reply("Let me try that again.", 3)],
            ),
        ],
    };
    let lesson = start(Setup::new(script, &["check-understanding"])).await;
    lesson.browser.speak(1);
    let result = lesson.browser.wait_event("tool.result", 1).await;
    assert_eq!(result["outcome"], "invalid_arguments");
    lesson.browser.wait_event("transcript.tutor.done", 1).await;
    let sent = lesson.fake.client_events();
    let output = sent
        .iter()
        .find(|e| e["item"]["type"] == "function_call_output")
        .unwrap();
    let text: Value = serde_json::from_str(output["item"]["output"].as_str().unwrap()).unwrap();
    assert_eq!(text["error"], "invalid_arguments");
    assert!(kinds(&sent).ends_with(&["conversation.item.create", "response.create"]));
    let (summary, store, _, _) = lesson.end().await;
    assert_eq!(summary.reason, EndReason::LearnerEnded);
    let calls = store
        .history()
        .tool_invocations("s1", 0, None)
        .await
        .unwrap();
    assert_eq!(calls[0].outcome, "invalid_arguments");
}

#[tokio::test]
async fn an_unknown_tool_is_an_error_output_not_a_crash() {
    let script = Script {
        pace: Pace::Fast,
        rules: vec![
            user_then_call("Do magic", "no_such_tool", json!({})),
            Rule::once(
                Trigger::ResponseCreate,
                vec![reply("Sorry, let us go on.", 2)],
            ),
        ],
    };
    let lesson = start(Setup::new(script, &["noop"])).await;
    lesson.browser.speak(1);
    assert_eq!(
        lesson.browser.wait_event("tool.result", 1).await["outcome"],
        "unavailable"
    );
    lesson.browser.wait_event("transcript.tutor.done", 1).await;
    let (summary, store, _, _) = lesson.end().await;
    assert_eq!(summary.tool_calls, 1);
    let calls = store
        .history()
        .tool_invocations("s1", 0, None)
        .await
        .unwrap();
    assert_eq!(calls[0].outcome, "unavailable");
    assert_eq!(calls[0].plugin_name, "unresolved");
}

#[tokio::test]
async fn next_subtopic_sends_a_new_session_update_with_the_new_instructions_and_tools() {
    let script = Script {
        pace: Pace::Fast,
        rules: vec![
            user_then_call("I got it, what's next?", "next_subtopic", json!({})),
            Rule::once(Trigger::ResponseCreate, vec![reply("Now, respiration.", 2)]),
        ],
    };
    let lesson = start(Setup::new(script, &["noop"])).await;
    lesson.browser.speak(1);
    let changed = lesson.browser.wait_event("subtopic.changed", 1).await;
    assert_eq!(changed["subtopic"]["id"], support::NEXT_SUBTOPIC);
    lesson.browser.wait_event("transcript.tutor.done", 1).await;
    let sent = lesson.fake.client_events();
    let updates: Vec<&Value> = sent
        .iter()
        .filter(|e| e["type"] == "session.update")
        .collect();
    assert_eq!(updates.len(), 2);
    assert!(
        updates[1]["session"]["instructions"]
            .as_str()
            .unwrap()
            .contains("\"Respiration\"")
    );
    assert!(tool_names(updates[1]).contains(&"noop".to_string()));
    // Update, then the tool's output, then the next response.
    assert_eq!(
        &kinds(&sent)[1..],
        [
            "session.update",
            "conversation.item.create",
            "response.create"
        ]
    );
    let (_, store, _, _) = lesson.end().await;
    let conv = store.history().conversation("s1").await.unwrap();
    assert_eq!(conv.subtopic_id.as_deref(), Some(support::NEXT_SUBTOPIC));
    let calls = store
        .history()
        .tool_invocations("s1", 0, None)
        .await
        .unwrap();
    assert_eq!(
        (calls[0].plugin_name.as_str(), calls[0].tool_name.as_str()),
        ("lectern", "next_subtopic")
    );
}

#[tokio::test]
async fn switching_to_an_unknown_subtopic_is_refused_and_changes_nothing() {
    let script = Script {
        pace: Pace::Fast,
        rules: vec![
            user_then_call(
                "Teach me chess",
                "switch_subtopic",
                json!({"subtopic_id": "chess"}),
            ),
            Rule::once(
                Trigger::ResponseCreate,
                vec![reply("We don't have chess.", 2)],
            ),
        ],
    };
    let lesson = start(Setup::new(script, &[])).await;
    lesson.browser.speak(1);
    assert_eq!(
        lesson.browser.wait_event("tool.result", 1).await["outcome"],
        "invalid_arguments"
    );
    lesson.browser.wait_event("transcript.tutor.done", 1).await;
    let sent = lesson.fake.client_events();
    assert_eq!(
        sent.iter()
            .filter(|e| e["type"] == "session.update")
            .count(),
        1
    );
    let (_, store, _, _) = lesson.end().await;
    let conv = store.history().conversation("s1").await.unwrap();
    assert_eq!(conv.subtopic_id.as_deref(), Some(support::SUBTOPIC));
}

const QUIZ_V1: &str = r#"{"type":"object","properties":{"topic":{"type":"string"}},"required":["topic"],"additionalProperties":false}"#;
const QUIZ_V2: &str = r#"{"type":"object","properties":{"topic":{"type":"string"},"difficulty":{"type":"string","enum":["easy","hard"]}},"required":["topic"],"additionalProperties":false}"#;
const HINT_V2: &str = r#"{"type":"object","properties":{},"additionalProperties":false}"#;

fn quiz_build(version: &str) -> Vec<u8> {
    let quiz = wat_plugin::ToolDef {
        name: "quiz_me",
        description: "Asks a quiz question.",
        parameters: if version == "1.0.0" { QUIZ_V1 } else { QUIZ_V2 },
    };
    let hint = wat_plugin::ToolDef {
        name: "give_hint",
        description: "Gives a hint.",
        parameters: HINT_V2,
    };
    if version == "1.0.0" {
        wat_plugin::with_tools("quizzer", version, &[quiz])
    } else {
        wat_plugin::with_tools("quizzer", version, &[quiz, hint])
    }
}

fn tool<'a>(session_update: &'a Value, name: &str) -> &'a Value {
    session_update["session"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no tool {name} in {session_update}"))
}

#[tokio::test]
async fn a_new_plugin_version_activated_mid_lesson_serves_the_next_turn() {
    let script = Script {
        pace: Pace::Fast,
        rules: vec![
            Rule::once(
                Trigger::Audio,
                vec![
                    Action::UserTurn {
                        transcript: "hello".into(),
                    },
                    reply("Hi there.", 2),
                ],
            ),
            // A tool only the new build has.
            user_then_call("Give me a hint", "give_hint", json!({})),
            Rule::once(Trigger::ResponseCreate, vec![reply("Here is a hint.", 2)]),
        ],
    };
    let mut setup = Setup::new(script, &["check-understanding"]);
    setup.components = vec![quiz_build("1.0.0")];
    let lesson = start(setup).await;
    lesson.browser.speak(1);
    lesson.browser.wait_event("transcript.tutor.done", 1).await;
    let first = lesson.fake.events_of("session.update");
    assert_eq!(first.len(), 1);
    assert_eq!(
        tool_names(&first[0]),
        [
            "check_understanding",
            "grade_answer",
            "quiz_me",
            "next_subtopic",
            "switch_subtopic",
            "end_lesson"
        ]
    );
    assert!(tool(&first[0], "quiz_me")["parameters"]["properties"]["difficulty"].is_null());

    // The operator installs build 2.0.0 and activates it during the lesson.
    let v2 = lesson.host.install(&quiz_build("2.0.0")).await.unwrap();
    assert!(v2.newly_installed);
    lesson
        .host
        .registry()
        .activate("quizzer", &v2.digest)
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        lesson.fake.events_of("session.update").len(),
        1,
        "not before the next turn"
    );

    lesson.browser.speak(1);
    let result = lesson.browser.wait_event("tool.result", 1).await;
    assert_eq!(result["tool"], "give_hint");
    assert_eq!(result["outcome"], "ok");
    lesson.browser.wait_event("transcript.tutor.done", 2).await;
    let sent = lesson.fake.client_events();
    let updates: Vec<&Value> = sent
        .iter()
        .filter(|e| e["type"] == "session.update")
        .collect();
    assert_eq!(updates.len(), 2);
    assert_eq!(
        tool_names(updates[1]),
        [
            "check_understanding",
            "give_hint",
            "grade_answer",
            "quiz_me",
            "next_subtopic",
            "switch_subtopic",
            "end_lesson"
        ]
    );
    assert_eq!(
        tool(updates[1], "quiz_me")["parameters"]["properties"]["difficulty"]["enum"],
        json!(["easy", "hard"])
    );
    // The new tool list reached the model before the call's output did.
    let update_at = sent
        .iter()
        .rposition(|e| e["type"] == "session.update")
        .unwrap();
    let output_at = sent
        .iter()
        .position(|e| e["type"] == "conversation.item.create")
        .unwrap();
    assert!(update_at < output_at, "{:?}", kinds(&sent));
    assert_eq!(
        sent[output_at]["item"]["output"],
        "answered by quizzer 2.0.0"
    );

    let (_, store, _, _) = lesson.end().await;
    let calls = store
        .history()
        .tool_invocations("s1", 0, None)
        .await
        .unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].plugin_name, "quizzer");
    assert_eq!(calls[0].plugin_version.as_deref(), Some("2.0.0"));
    assert_eq!(calls[0].version_digest.as_deref(), Some(v2.digest.as_str()));
}

#[tokio::test]
async fn disabling_a_plugin_during_the_lesson_removes_its_tools_at_the_next_turn() {
    let script = Script {
        pace: Pace::Fast,
        rules: vec![Rule {
            on: Trigger::Audio,
            times: 2,
            actions: vec![
                Action::UserTurn {
                    transcript: "hello".into(),
                },
                reply("Hi there.", 2),
            ],
        }],
    };
    let lesson = start(Setup::new(script, &["noop", "check-understanding"])).await;
    lesson.browser.speak(1);
    lesson.browser.wait_event("transcript.tutor.done", 1).await;
    let first = lesson.fake.events_of("session.update");
    assert!(tool_names(&first[0]).contains(&"noop".to_string()));
    // The operator disables a plugin mid-lesson.
    lesson.host.registry().disable("noop").unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        lesson.fake.events_of("session.update").len(),
        1,
        "not before the next turn"
    );
    lesson.browser.speak(1);
    lesson.browser.wait_event("transcript.tutor.done", 2).await;
    let updates = lesson.fake.events_of("session.update");
    assert_eq!(updates.len(), 2);
    let names = tool_names(&updates[1]);
    assert!(!names.contains(&"noop".to_string()), "{names:?}");
    assert!(names.contains(&"check_understanding".to_string()));
    lesson.end().await;
}

#[tokio::test]
async fn a_dropped_realtime_connection_reconnects_replays_and_the_lesson_continues() {
    let script = Script {
        pace: Pace::Fast,
        rules: vec![
            Rule::once(
                Trigger::Audio,
                vec![
                    Action::UserTurn {
                        transcript: "What do roots do?".into(),
                    },
                    Action::AudioResponse {
                        transcript: "Roots take up water and minerals from the soil.".into(),
                        frames: 40,
                        drop_after_frames: Some(10),
                        barge_in_after_frames: None,
                    },
                ],
            ),
            Rule::once(
                Trigger::ResponseCreate,
                vec![reply("As I was saying, roots drink.", 5)],
            ),
        ],
    };
    let lesson = start(Setup::new(script, &["noop"])).await;
    lesson.browser.speak(1);
    let done = lesson.browser.wait_event("transcript.tutor.done", 1).await;
    assert_eq!(done["text"], "As I was saying, roots drink.");
    assert_eq!(lesson.fake.connections(), 2);
    let second: Vec<Value> = lesson
        .fake
        .recorded()
        .into_iter()
        .filter(|r| r.connection == 1)
        .map(|r| r.event)
        .collect();
    assert_eq!(second[0]["type"], "session.update");
    assert_eq!(tool_names(&second[0])[0], "noop");
    assert_eq!(second[1]["item"]["content"][0]["text"], "What do roots do?");
    assert_eq!(second[2]["item"]["role"], "assistant");
    assert_eq!(second.last().unwrap()["type"], "response.create");
    let (summary, store, _, _) = lesson.end().await;
    assert_eq!(summary.reconnects, 1);
    let msgs = support::messages(&store, "s1").await;
    assert_eq!(msgs[0].1, "What do roots do?");
    assert!(
        "Roots take up water and minerals from the soil.".starts_with(&msgs[1].1),
        "{msgs:?}"
    );
    assert_eq!(msgs[2].1, "As I was saying, roots drink.");
}

#[tokio::test]
async fn a_learner_who_disconnects_closes_the_conversation_and_loses_nothing() {
    let script = Script {
        pace: Pace::Fast,
        rules: vec![Rule::once(
            Trigger::Audio,
            vec![
                Action::UserTurn {
                    transcript: "Bye for now".into(),
                },
                reply("See you soon.", 3),
            ],
        )],
    };
    let lesson = start(Setup::new(script, &[])).await;
    lesson.browser.speak(1);
    lesson.browser.wait_event("transcript.tutor.done", 1).await;
    let support::Lesson {
        browser,
        run,
        store,
        ..
    } = lesson;
    browser.vanish();
    let summary = tokio::time::timeout(WAIT, run)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(summary.reason, EndReason::LearnerLeft);
    let conv = store.history().conversation("s1").await.unwrap();
    assert_eq!(conv.status.as_str(), "ended");
    assert!(conv.ended_at_ms.is_some());
    assert_eq!(
        support::messages(&store, "s1").await,
        [
            ("learner".to_string(), "Bye for now".to_string()),
            ("tutor".to_string(), "See you soon.".to_string())
        ]
    );
}

#[tokio::test]
async fn end_lesson_ends_it_cleanly() {
    let script = Script {
        pace: Pace::Fast,
        rules: vec![user_then_call(
            "I'm done",
            "end_lesson",
            json!({"reason": "learner is done"}),
        )],
    };
    let lesson = start(Setup::new(script, &[])).await;
    lesson.browser.speak(1);
    let ended = lesson.browser.wait_event("lesson.ended", 1).await;
    assert_eq!(ended["reason"], "completed");
    let summary = tokio::time::timeout(WAIT, lesson.run)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(summary.reason, EndReason::Completed);
    // The output is recorded but no further response is asked for.
    assert!(
        !lesson
            .fake
            .client_events()
            .iter()
            .any(|e| e["type"] == "response.create")
    );
}

#[tokio::test]
async fn an_idle_learner_is_nudged_then_the_lesson_ends() {
    let script = Script {
        pace: Pace::Fast,
        rules: vec![Rule::once(
            Trigger::ResponseCreate,
            vec![reply("Are you still there?", 2)],
        )],
    };
    let mut setup = Setup::new(script, &[]);
    setup.config = LessonConfig {
        idle_nudge_ms: 200,
        idle_end_ms: 300,
        ..LessonConfig::default()
    };
    let lesson = start(setup).await;
    let ended = lesson.browser.wait_event("lesson.ended", 1).await;
    assert_eq!(ended["reason"], "idle");
    let sent = lesson.fake.client_events();
    assert_eq!(
        kinds(&sent),
        [
            "session.update",
            "conversation.item.create",
            "response.create"
        ]
    );
    assert_eq!(sent[1]["item"]["role"], "system");
    let summary = tokio::time::timeout(WAIT, lesson.run)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(summary.reason, EndReason::Idle);
}

#[tokio::test]
async fn bad_messages_from_the_browser_get_an_error_and_change_nothing() {
    let lesson = start(Setup::new(
        Script {
            pace: Pace::Fast,
            rules: vec![],
        },
        &[],
    ))
    .await;
    let b = &lesson.browser;
    b.wait_event("session.ready", 1).await;
    b.send_json(json!({"type": "teleport"}));
    b.send_raw(tokio_tungstenite::tungstenite::Message::Binary(
        vec![1u8, 2, 3].into(),
    ));
    b.send_json(json!({"type": "text.input", "text": "   "}));
    let e1 = b.wait_event("error", 1).await;
    assert_eq!(e1["error"]["code"], "bad_event");
    assert_eq!(
        b.wait_event("error", 2).await["error"]["code"],
        "audio_odd_length"
    );
    assert_eq!(
        b.wait_event("error", 3).await["error"]["code"],
        "text_empty"
    );
    // A typed message still works afterwards.
    b.send_json(json!({"type": "text.input", "text": "What is chlorophyll?"}));
    lesson
        .fake
        .wait_for("response.create", 1, WAIT)
        .await
        .unwrap();
    assert_eq!(lesson.fake.audio_appends(), 0);
    let (_, store, _, _) = lesson.end().await;
    assert_eq!(
        support::messages(&store, "s1").await,
        [("learner".to_string(), "What is chlorophyll?".to_string())]
    );
}

async fn a_failing_tool(plugin: &'static str, tool: &str, outcome: &str) {
    let script = Script {
        pace: Pace::Fast,
        rules: vec![
            user_then_call("Try the tool", tool, json!({})),
            Rule::once(
                Trigger::ResponseCreate,
                vec![reply("That tool failed, let us go on.", 3)],
            ),
        ],
    };
    let lesson = start(Setup::new(script, &[plugin])).await;
    lesson.browser.speak(1);
    assert_eq!(
        lesson.browser.wait_event("tool.result", 1).await["outcome"],
        outcome
    );
    // The model reads an error output, is asked to respond, and the lesson goes on.
    lesson.browser.wait_event("transcript.tutor.done", 1).await;
    let sent = lesson.fake.client_events();
    let output = sent
        .iter()
        .find(|e| e["item"]["type"] == "function_call_output")
        .unwrap();
    let text: Value = serde_json::from_str(output["item"]["output"].as_str().unwrap()).unwrap();
    assert_eq!(text["error"], outcome);
    assert!(kinds(&sent).ends_with(&["conversation.item.create", "response.create"]));
    let (summary, store, _, _) = lesson.end().await;
    assert_eq!(summary.reason, EndReason::LearnerEnded);
    let calls = store
        .history()
        .tool_invocations("s1", 0, None)
        .await
        .unwrap();
    assert_eq!(
        (calls[0].plugin_name.as_str(), calls[0].outcome.as_str()),
        (plugin, outcome)
    );
}

#[tokio::test]
async fn a_tool_that_runs_too_long_is_stopped_and_the_lesson_continues() {
    a_failing_tool("spin-loop", "spin", "deadline_exceeded").await;
}

#[tokio::test]
async fn a_tool_that_traps_is_an_error_output_and_the_lesson_continues() {
    a_failing_tool("trap", "panic", "trap").await;
}

#[tokio::test]
async fn the_builtin_scripts_call_tools_with_arguments_the_bound_tools_accept() {
    use lectern_fake_realtime::script::{BUILTIN_NAMES, builtin};
    use lectern_runtime::plugin::{HostConfig, Outcome, PluginHost, ToolBinding, ToolCall};
    // What the browser tests bind: the bundled check-understanding.
    let host = PluginHost::new(HostConfig::default()).unwrap();
    let bytes = std::fs::read(support::plugin_path("check-understanding")).unwrap();
    host.install_and_activate(&bytes).await.unwrap();
    let tools = host
        .tool_set(&[ToolBinding::active("check-understanding")])
        .unwrap();
    let lesson: lectern_runtime::lesson::Subtopic = serde_json::from_value(json!({
        "id": "photosynthesis", "topic_id": "plants", "topic_title": "Plants",
        "title": "Photosynthesis", "summary": "How plants make sugar from light.",
        "content": "Plants use light, water and carbon dioxide to make glucose and oxygen.",
        "objectives": [{"id": "explain", "text": "Explain photosynthesis"}],
        "key_points": ["Light, water and carbon dioxide go in; glucose and oxygen come out."]
    }))
    .unwrap();
    let lesson = std::sync::Arc::new(lesson);
    let mut checked = 0;
    for script in BUILTIN_NAMES {
        for rule in builtin(script).unwrap().rules {
            for action in rule.actions {
                let Action::FunctionCall { name, arguments } = action else {
                    continue;
                };
                let call = ToolCall::new(
                    name.clone(),
                    arguments.to_string(),
                    format!("builtin-{script}"),
                    lesson.clone(),
                );
                let record = host.call(&tools, call).await;
                assert_eq!(
                    record.outcome,
                    Outcome::Ok,
                    "script {script} calls {name}({arguments}): {:?}",
                    record.error
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 0, "the built-in scripts call no tool");
}
