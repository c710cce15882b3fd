//! Every admin route refuses anonymous callers and wrong tokens, and is refused
//! altogether when no admin token is configured. Routes are enumerated from the
//! OpenAPI document the router is built from, so a new route cannot be missed;
//! routes without the admin requirement must be listed below as public.

#[path = "support/lib.rs"]
mod support;

use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use serde_json::Value;
use support::{ADMIN_TOKEN, TestApp, for_each_database, request};

/// Writes anyone may make: asking for LiveKit tokens and starting a lesson.
/// Any other non-GET route must be an admin route.
const PUBLIC_WRITES: &[(&str, &str)] = &[
    ("post", "/api/token"),
    ("post", "/api/connection-details"),
    ("post", "/api/sessions"),
];

/// Reads anyone may make: operations, the curriculum, LiveKit tokens, the
/// client's configuration and the lesson WebSocket (which checks its own
/// single-use token). Any other GET —
/// history and progress above all — must be an admin route.
const PUBLIC_READS: &[&str] = &[
    "/api/health",
    "/api/ready",
    "/metrics",
    "/api/metrics",
    "/api/openapi.json",
    "/api/topics",
    "/api/topics/{id}",
    "/api/topics/{id}/subtopics",
    "/api/subtopics/{id}",
    "/api/subtopics/{id}/tools",
    "/api/connection-details",
    "/api/getToken",
    "/api/sessions/{id}/ws",
    "/api/config",
];

struct Operation {
    method: Method,
    path: String,
    admin: bool,
}

fn operations(doc: &Value) -> Vec<Operation> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().unwrap() {
            let Ok(method) = method.to_uppercase().parse::<Method>() else {
                continue;
            };
            let admin = op["security"]
                .as_array()
                .is_some_and(|reqs| reqs.iter().any(|r| r.get("admin_token").is_some()));
            // Path parameters get a placeholder: auth is checked before the id is looked up.
            let concrete = path
                .split('/')
                .map(|seg| {
                    if seg.starts_with('{') {
                        "probe-id"
                    } else {
                        seg
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            out.push(Operation {
                method,
                path: concrete,
                admin,
            });
        }
    }
    out
}

fn call(op: &Operation, token: Option<&str>) -> axum::http::Request<Body> {
    let mut builder =
        request(op.method.clone(), &op.path).header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    builder.body(Body::from("{}")).unwrap()
}

#[tokio::test]
async fn every_admin_route_refuses_anonymous_and_wrong_tokens() {
    // The right token reaches the storage behind each route: run on every database.
    for_each_database(
        |_| {},
        |app, kind| async move {
            eprintln!("{kind}: probing admin routes");
            probe_admin_routes(&app).await;
        },
    )
    .await;
}

async fn probe_admin_routes(app: &TestApp) {
    let doc = app.get("/api/openapi.json").await.json();
    let ops = operations(&doc);
    let admin: Vec<&Operation> = ops.iter().filter(|o| o.admin).collect();
    assert!(!admin.is_empty(), "the document declares admin routes");

    for op in &admin {
        for (what, token) in [
            ("anonymous", None),
            ("wrong token", Some("not-the-token")),
            ("token prefix", Some(&ADMIN_TOKEN[..ADMIN_TOKEN.len() - 1])),
            ("empty token", Some("")),
        ] {
            let reply = app.send(call(op, token)).await;
            assert_eq!(
                reply.status,
                StatusCode::UNAUTHORIZED,
                "{what} {} {}: {}",
                op.method,
                op.path,
                reply.text()
            );
            reply.assert_error(StatusCode::UNAUTHORIZED, "unauthorized");
        }
        // Another scheme is not a bearer token.
        let basic = request(op.method.clone(), &op.path)
            .header(header::AUTHORIZATION, format!("Basic {ADMIN_TOKEN}"))
            .body(Body::empty())
            .unwrap();
        assert_eq!(
            app.send(basic).await.status,
            StatusCode::UNAUTHORIZED,
            "{} {}",
            op.method,
            op.path
        );
        // The right token gets past authentication (whatever the route then says).
        let reply = app.send(call(op, Some(ADMIN_TOKEN))).await;
        assert!(
            reply.status != StatusCode::UNAUTHORIZED && reply.status != StatusCode::FORBIDDEN,
            "{} {} refused the admin token: {}",
            op.method,
            op.path,
            reply.text()
        );
    }
}

#[tokio::test]
async fn without_a_configured_token_admin_routes_are_closed() {
    let app = TestApp::with_config(|c| c.admin_token = None).await;
    let doc = app.get("/api/openapi.json").await.json();
    let ops = operations(&doc);
    for op in ops.iter().filter(|o| o.admin) {
        for token in [None, Some(ADMIN_TOKEN), Some("")] {
            let reply = app.send(call(op, token)).await;
            let message = reply.assert_error(StatusCode::FORBIDDEN, "admin_disabled");
            assert!(message.contains("LECTERN_ADMIN_TOKEN"), "{message}");
        }
    }
}

#[tokio::test]
async fn writes_are_admin_unless_listed_as_public() {
    let app = TestApp::new().await;
    let doc = app.get("/api/openapi.json").await.json();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if method == "get" || method == "parameters" {
                continue;
            }
            let admin = op["security"]
                .as_array()
                .is_some_and(|reqs| reqs.iter().any(|r| r.get("admin_token").is_some()));
            assert!(
                admin || PUBLIC_WRITES.contains(&(method.as_str(), path.as_str())),
                "{method} {path} changes state without being an admin route; declare \
                 security((\"admin_token\" = [])) and take AdminAuth, or list it in PUBLIC_WRITES"
            );
        }
    }
}

#[tokio::test]
async fn reads_are_admin_unless_listed_as_public() {
    let app = TestApp::new().await;
    let doc = app.get("/api/openapi.json").await.json();
    let mut public = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(op) = item.get("get") else { continue };
        let admin = op["security"]
            .as_array()
            .is_some_and(|reqs| reqs.iter().any(|r| r.get("admin_token").is_some()));
        assert!(
            admin || PUBLIC_READS.contains(&path.as_str()),
            "GET {path} is readable by anyone; declare security((\"admin_token\" = [])) \
             and take AdminAuth, or list it in PUBLIC_READS"
        );
        if !admin {
            public.push(path.as_str());
        }
    }
    for path in [
        "/api/conversations",
        "/api/conversations/{id}",
        "/api/conversations/{id}/messages",
        "/api/conversations/{id}/tool-invocations",
        "/api/learners/{id}/progress",
    ] {
        assert!(
            doc["paths"][path]["get"].is_object() && !public.contains(&path),
            "GET {path} is an admin route"
        );
    }
}
