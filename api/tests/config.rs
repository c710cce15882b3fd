//! `GET /api/config`: the transport the web client uses, public.

#[path = "support/lib.rs"]
mod support;

use axum::http::StatusCode;
use serde_json::json;
use support::{LIVEKIT_URL, TestApp};

#[tokio::test]
async fn livekit_only_when_configured_and_the_agent_is_built_in() {
    // The test configuration carries LiveKit credentials.
    let app = TestApp::new().await;
    let reply = app.get("/api/config").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let expected = if cfg!(feature = "livekit") {
        json!({"transport": "livekit", "livekit_url": LIVEKIT_URL})
    } else {
        // Credentials without the agent: nobody would answer in the room.
        json!({"transport": "ws", "livekit_url": null})
    };
    assert_eq!(reply.json(), expected);
}

#[tokio::test]
async fn ws_without_livekit_credentials() {
    let app = TestApp::with_config(|c| {
        c.livekit_url = None;
        c.livekit_api_key = None;
        c.livekit_api_secret = None;
    })
    .await;
    let reply = app.get("/api/config").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(
        reply.json(),
        json!({"transport": "ws", "livekit_url": null})
    );
}

#[tokio::test]
async fn incomplete_livekit_credentials_mean_ws() {
    // A URL without a secret cannot sign tokens.
    let app = TestApp::with_config(|c| c.livekit_api_secret = None).await;
    let reply = app.get("/api/config").await;
    assert_eq!(
        reply.json(),
        json!({"transport": "ws", "livekit_url": null})
    );
}

#[tokio::test]
async fn is_public_and_documented() {
    let app = TestApp::new().await;
    // No admin token sent: still answered.
    assert_eq!(app.get("/api/config").await.status, StatusCode::OK);
    let doc = app.get("/api/openapi.json").await.json();
    let op = &doc["paths"]["/api/config"]["get"];
    assert!(op.is_object(), "GET /api/config is in the OpenAPI document");
    assert!(
        op.get("security").is_none(),
        "GET /api/config needs no credentials: {op}"
    );
    let schema = &doc["components"]["schemas"]["ClientConfig"];
    assert!(
        schema["properties"]["transport"].is_object(),
        "the answer's shape is documented: {schema}"
    );
}
