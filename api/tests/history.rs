//! History routes: conversations, messages, tool invocations, learner progress and
//! learner deletion — against SQLite and (when reachable) PostgreSQL. Every one of
//! them is an admin route: transcripts and progress are personal data.

#[path = "support/lib.rs"]
mod support;

use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use lectern_runtime::curriculum::{Curriculum, Format};
use lectern_runtime::store::{Evidence, NewToolInvocation};
use serde_json::{Value, json};
use support::{ADMIN_TOKEN, Reply, TestApp, for_each_database, request};

const SAMPLE: &str = include_str!("../curriculum/sample.yaml");

async fn admin_json(app: &TestApp, method: Method, uri: &str, body: &Value) -> Reply {
    app.send(
        request(method, uri)
            .header(header::AUTHORIZATION, format!("Bearer {ADMIN_TOKEN}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap(),
    )
    .await
}

/// GET `uri` with the admin token.
async fn admin_get(app: &TestApp, uri: &str) -> Reply {
    app.send(
        request(Method::GET, uri)
            .header(header::AUTHORIZATION, format!("Bearer {ADMIN_TOKEN}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

/// A fresh app per database with the sample curriculum seeded.
async fn for_each_app<F, Fut>(test: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let test = &test;
    for_each_database(
        |_| {},
        move |app, _| async move {
            app.state
                .store
                .seed_if_empty(&Curriculum::parse(SAMPLE, Format::Yaml).unwrap())
                .await
                .unwrap();
            test(app).await;
        },
    )
    .await;
}

async fn start(app: &TestApp, learner: &str, subtopic: &str) -> String {
    let reply = admin_json(
        app,
        Method::POST,
        "/api/conversations",
        &json!({"learner_id": learner, "subtopic_id": subtopic, "room": "r"}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    reply.json()["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn conversations_messages_and_tool_invocations() {
    for_each_app(|app| async move {
        let c1 = start(&app, "ada", "fractions-basics").await;
        let c2 = start(&app, "bob", "photosynthesis-overview").await;
        let c3 = start(&app, "ada", "photosynthesis-overview").await;
        for (role, text) in [
            ("learner", "What is a numerator?"),
            ("tutor", "The number on top."),
            ("system", "switched"),
        ] {
            let reply = admin_json(
                &app,
                Method::POST,
                &format!("/api/conversations/{c1}/messages"),
                &json!({"role": role, "content": text}),
            )
            .await;
            assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
        }
        app.state
            .store
            .history()
            .record_tool_invocation(&NewToolInvocation {
                conversation_id: Some(c1.clone()),
                plugin_name: "check-understanding".into(),
                tool_name: "check_understanding".into(),
                arguments: json!({"answer": "top"}),
                outcome: "ok".into(),
                duration_us: 1200,
                output: Some("{\"correct\":true}".into()),
                ..Default::default()
            })
            .await
            .unwrap();

        let detail = admin_get(&app, &format!("/api/conversations/{c1}"))
            .await
            .json();
        assert_eq!(detail["learner_id"], "ada");
        assert_eq!(detail["status"], "active");
        assert_eq!(detail["message_count"], 3);
        assert_eq!(detail["messages"][1]["content"], "The number on top.");
        let page = admin_get(&app, &format!("/api/conversations/{c1}/messages?limit=2"))
            .await
            .json();
        assert_eq!(page.as_array().unwrap().len(), 2);
        let after = page[1]["id"].as_i64().unwrap();
        let rest = admin_get(
            &app,
            &format!("/api/conversations/{c1}/messages?after={after}"),
        )
        .await
        .json();
        assert_eq!(rest[0]["role"], "system");
        let calls = admin_get(&app, &format!("/api/conversations/{c1}/tool-invocations"))
            .await
            .json();
        assert_eq!(calls[0]["plugin_name"], "check-understanding");
        assert_eq!(calls[0]["arguments"]["answer"], "top");
        assert_eq!(
            admin_get(&app, &format!("/api/conversations/{c2}/tool-invocations"))
                .await
                .json(),
            json!([])
        );

        let ada = admin_get(&app, "/api/conversations?learner_id=ada")
            .await
            .json();
        let ids: Vec<_> = ada["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(ids.len(), 2);
        assert!(ids.contains(&c1) && ids.contains(&c3));
        let by_subtopic = admin_get(
            &app,
            "/api/conversations?subtopic_id=photosynthesis-overview&limit=1",
        )
        .await
        .json();
        assert_eq!(by_subtopic["items"].as_array().unwrap().len(), 1);
        let cursor = by_subtopic["next_cursor"].as_str().unwrap().to_owned();
        let next = admin_get(
            &app,
            &format!(
                "/api/conversations?subtopic_id=photosynthesis-overview&limit=1&cursor={cursor}"
            ),
        )
        .await
        .json();
        assert_eq!(next["items"].as_array().unwrap().len(), 1);
        assert_ne!(next["items"][0]["id"], by_subtopic["items"][0]["id"]);
        assert_eq!(
            admin_get(&app, "/api/conversations?status=ended")
                .await
                .json()["items"],
            json!([])
        );

        // Bad input: each a 4xx in the error shape, nothing written.
        let count = admin_get(&app, &format!("/api/conversations/{c1}"))
            .await
            .json()["message_count"]
            .clone();
        admin_get(&app, "/api/conversations/nope")
            .await
            .assert_error(StatusCode::NOT_FOUND, "not_found");
        admin_get(&app, "/api/conversations/nope/messages")
            .await
            .assert_error(StatusCode::NOT_FOUND, "not_found");
        admin_get(&app, "/api/conversations/nope/tool-invocations")
            .await
            .assert_error(StatusCode::NOT_FOUND, "not_found");
        admin_get(&app, "/api/conversations?status=paused")
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_status");
        admin_get(&app, "/api/conversations?cursor=garbage")
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_cursor");
        admin_get(&app, "/api/conversations?limit=0")
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_limit");
        admin_get(&app, "/api/conversations?limit=100000")
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_limit");
        admin_get(&app, "/api/conversations?colour=red")
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_query");
        let uri = format!("/api/conversations/{c1}/messages");
        admin_json(
            &app,
            Method::POST,
            &uri,
            &json!({"role": "robot", "content": "x"}),
        )
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
        admin_json(
            &app,
            Method::POST,
            &uri,
            &json!({"role": "tutor", "content": "x", "mood": 1}),
        )
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
        admin_json(
            &app,
            Method::POST,
            "/api/conversations/nope/messages",
            &json!({"role": "tutor", "content": "x"}),
        )
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
        app.post_json(&uri, &json!({"role": "tutor", "content": "x"}))
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
        admin_json(
            &app,
            Method::POST,
            "/api/conversations",
            &json!({"learner_id": "ada", "subtopic_id": "nope"}),
        )
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
        admin_json(
            &app,
            Method::POST,
            "/api/conversations",
            &json!({"learner_id": ""}),
        )
        .await
        .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_id");
        admin_json(
            &app,
            Method::POST,
            "/api/conversations",
            &json!({"id": c1, "learner_id": "ada"}),
        )
        .await
        .assert_error(StatusCode::CONFLICT, "conflict");
        assert_eq!(
            admin_get(&app, &format!("/api/conversations/{c1}"))
                .await
                .json()["message_count"],
            count
        );
        assert_eq!(
            admin_get(&app, "/api/conversations").await.json()["items"]
                .as_array()
                .unwrap()
                .len(),
            3
        );
    })
    .await;
}

#[tokio::test]
async fn progress_is_read_per_learner_and_learner_deletion_is_complete() {
    for_each_app(|app| async move {
        let progress = app.state.store.progress();
        for (objective, score) in [("name-parts", 1.0), ("equal-parts", 0.5)] {
            progress
                .record_evidence(&Evidence {
                    learner_id: "ada".into(),
                    subtopic_id: "fractions-basics".into(),
                    objective_id: objective.into(),
                    score,
                    note: "quiz".into(),
                })
                .await
                .unwrap();
        }
        let c = start(&app, "ada", "fractions-basics").await;
        admin_json(
            &app,
            Method::POST,
            &format!("/api/conversations/{c}/messages"),
            &json!({"role": "learner", "content": "hi"}),
        )
        .await;
        let other = start(&app, "bob", "fractions-basics").await;

        let p = admin_get(&app, "/api/learners/ada/progress").await.json();
        assert_eq!(p[0]["subtopic_id"], "fractions-basics");
        assert!(
            (p[0]["mastery"].as_f64().unwrap() - 0.5).abs() < 1e-9,
            "{p}"
        );
        assert_eq!(p[0]["objectives"].as_array().unwrap().len(), 3);
        assert_eq!(
            admin_get(&app, "/api/learners/nobody/progress")
                .await
                .json(),
            json!([])
        );

        let delete = |token: Option<&'static str>| {
            let mut r = request(Method::DELETE, "/api/learners/ada");
            if let Some(t) = token {
                r = r.header(header::AUTHORIZATION, format!("Bearer {t}"));
            }
            r.body(Body::empty()).unwrap()
        };
        app.send(delete(None))
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
        app.send(delete(Some("wrong")))
            .await
            .assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
        assert_eq!(
            admin_get(&app, "/api/conversations?learner_id=ada")
                .await
                .json()["items"]
                .as_array()
                .unwrap()
                .len(),
            1
        );

        let reply = app.send(delete(Some(ADMIN_TOKEN))).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        let body = reply.json();
        assert_eq!(
            (
                body["conversations"].as_u64(),
                body["messages"].as_u64(),
                body["progress"].as_u64()
            ),
            (Some(1), Some(1), Some(2))
        );
        assert_eq!(
            admin_get(&app, "/api/learners/ada/progress").await.json(),
            json!([])
        );
        assert_eq!(
            admin_get(&app, "/api/conversations?learner_id=ada")
                .await
                .json()["items"],
            json!([])
        );
        admin_get(&app, &format!("/api/conversations/{c}"))
            .await
            .assert_error(StatusCode::NOT_FOUND, "not_found");
        assert_eq!(
            admin_get(&app, &format!("/api/conversations/{other}"))
                .await
                .status,
            StatusCode::OK
        );
        let audit = app
            .state
            .store
            .audit()
            .list(Some("learner:ada"), None, None)
            .await
            .unwrap();
        assert_eq!(audit[0].action, "learner.delete");
        app.send(delete(Some(ADMIN_TOKEN)))
            .await
            .assert_error(StatusCode::NOT_FOUND, "not_found");
    })
    .await;
}

#[tokio::test]
async fn reads_refuse_anyone_without_the_admin_token() {
    for_each_app(|app| async move {
        let c = start(&app, "ada", "fractions-basics").await;
        admin_json(
            &app,
            Method::POST,
            &format!("/api/conversations/{c}/messages"),
            &json!({"role": "learner", "content": "my private answer"}),
        )
        .await;
        let reads = [
            "/api/conversations".to_owned(),
            "/api/conversations?learner_id=ada".to_owned(),
            format!("/api/conversations/{c}"),
            format!("/api/conversations/{c}/messages"),
            format!("/api/conversations/{c}/tool-invocations"),
            "/api/learners/ada/progress".to_owned(),
        ];
        for uri in &reads {
            for token in [None, Some("ada"), Some("wrong-token")] {
                let mut builder = request(Method::GET, uri);
                if let Some(t) = token {
                    builder = builder.header(header::AUTHORIZATION, format!("Bearer {t}"));
                }
                let reply = app.send(builder.body(Body::empty()).unwrap()).await;
                reply.assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
                assert!(
                    !reply.text().contains("private") && !reply.text().contains(&c),
                    "{uri}: nothing leaks: {}",
                    reply.text()
                );
            }
            assert_eq!(admin_get(&app, uri).await.status, StatusCode::OK, "{uri}");
        }
    })
    .await;

    // Without a configured admin token nobody reads history.
    let app = TestApp::with_config(|c| c.admin_token = None).await;
    for uri in ["/api/conversations", "/api/learners/ada/progress"] {
        admin_get(&app, uri)
            .await
            .assert_error(StatusCode::FORBIDDEN, "admin_disabled");
    }
}

#[tokio::test]
async fn recent_tool_invocations_across_lessons_newest_first_with_filters() {
    for_each_app(|app| async move {
        let c1 = start(&app, "ada", "fractions-basics").await;
        let c2 = start(&app, "bob", "photosynthesis-overview").await;
        let history = app.state.store.history();
        for (conversation, plugin, outcome, micros) in [
            (Some(&c1), "quiz", "ok", 900),
            (Some(&c2), "check-understanding", "trap", 1500),
            (None, "quiz", "deadline_exceeded", 100_000),
            (Some(&c1), "check-understanding", "ok", 700),
        ] {
            history
                .record_tool_invocation(&NewToolInvocation {
                    conversation_id: conversation.cloned(),
                    plugin_name: plugin.into(),
                    tool_name: plugin.replace('-', "_"),
                    arguments: json!({}),
                    outcome: outcome.into(),
                    duration_us: micros,
                    ..Default::default()
                })
                .await
                .unwrap();
        }

        let all = admin_get(&app, "/api/tool-invocations").await;
        assert_eq!(all.status, StatusCode::OK, "{}", all.text());
        let all = all.json();
        let outcomes: Vec<&str> = all
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["outcome"].as_str().unwrap())
            .collect();
        assert_eq!(outcomes, ["ok", "deadline_exceeded", "trap", "ok"]);
        assert_eq!(all[1]["conversation_id"], Value::Null);
        assert_eq!(all[1]["duration_us"], 100_000);

        let quiz = admin_get(&app, "/api/tool-invocations?plugin=quiz")
            .await
            .json();
        assert_eq!(quiz.as_array().unwrap().len(), 2);
        assert!(
            quiz.as_array()
                .unwrap()
                .iter()
                .all(|c| c["plugin_name"] == "quiz")
        );

        let traps = admin_get(&app, "/api/tool-invocations?outcome=trap")
            .await
            .json();
        assert_eq!(traps.as_array().unwrap().len(), 1);
        assert_eq!(traps[0]["conversation_id"], c2.as_str());

        let first = admin_get(&app, "/api/tool-invocations?limit=2")
            .await
            .json();
        assert_eq!(first.as_array().unwrap().len(), 2);
        let before = first[1]["id"].as_i64().unwrap();
        let next = admin_get(&app, &format!("/api/tool-invocations?before={before}"))
            .await
            .json();
        assert_eq!(next.as_array().unwrap().len(), 2);
        assert_eq!(next[0]["outcome"], "trap");

        for bad in [
            "/api/tool-invocations?outcome=exploded",
            "/api/tool-invocations?limit=0",
            "/api/tool-invocations?color=blue",
        ] {
            let reply = admin_get(&app, bad).await;
            assert_eq!(
                reply.status,
                StatusCode::BAD_REQUEST,
                "{bad}: {}",
                reply.text()
            );
            assert!(reply.json()["error"]["code"].is_string(), "{bad}");
        }
        let anonymous = app
            .send(
                request(Method::GET, "/api/tool-invocations")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    })
    .await;
}
