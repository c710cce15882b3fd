//! LiveKit token routes: what a token carries, and every way to ask wrongly.

#[path = "support/lib.rs"]
mod support;

use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use livekit_api::access_token::{Claims, TokenVerifier, VideoGrants};
use livekit_protocol::{RoomAgentDispatch, RoomConfiguration};
use serde_json::json;
use support::{LIVEKIT_KEY, LIVEKIT_SECRET, LIVEKIT_URL, TestApp, metric_value, request};

const TTL_SECS: u64 = 600;

fn verify(token: &str) -> Claims {
    TokenVerifier::with_api_key(LIVEKIT_KEY, LIVEKIT_SECRET)
        .verify(token)
        .expect("the token verifies with livekit-api's verifier")
}

fn expected_grants(room: &str) -> VideoGrants {
    VideoGrants {
        room_join: true,
        room: room.to_owned(),
        can_publish: Some(true),
        can_subscribe: Some(true),
        can_publish_data: Some(true),
        ..Default::default()
    }
}

/// The tutor's dispatch: the subtopic the client chose and, from the token's
/// identity, the learner.
fn expected_dispatch(subtopic: Option<&str>, learner: &str) -> Option<RoomConfiguration> {
    Some(RoomConfiguration {
        agents: vec![RoomAgentDispatch {
            agent_name: lectern_api::config::DEFAULT_AGENT_NAME.to_owned(),
            metadata: subtopic
                .map(|s| json!({ "subtopic_id": s, "learner": learner }).to_string())
                .unwrap_or_default(),
            ..Default::default()
        }],
        ..Default::default()
    })
}

fn tokens_issued(metrics: &str, endpoint: &str) -> f64 {
    metric_value(
        metrics,
        &format!(r#"lectern_tokens_issued_total{{endpoint="{endpoint}"}}"#),
    )
}

async fn app() -> TestApp {
    TestApp::with_config(|c| c.token_ttl_secs = TTL_SECS).await
}

#[tokio::test]
async fn standard_endpoint_token_carries_exactly_the_expected_claims() {
    let app = app().await;
    let reply = app
        .post_json(
            "/api/token",
            &json!({
                "room_name": "fractions-room-1",
                "participant_identity": "learner-42",
                "participant_name": "Ada Lovelace",
                "participant_metadata": "{\"grade\":5}",
                "participant_attributes": {"locale": "en-GB"},
                "room_config": {"agents": [{"agent_name": "lectern-tutor", "metadata": "{\"subtopic_id\":\"adding-fractions\"}"}]}
            }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body.as_object().unwrap().len(), 2, "{body}");
    assert_eq!(body["server_url"], LIVEKIT_URL);
    let claims = verify(body["participant_token"].as_str().unwrap());

    assert_eq!(claims.iss, LIVEKIT_KEY);
    assert_eq!(claims.sub, "learner-42");
    assert_eq!(claims.name, "Ada Lovelace");
    assert_eq!(claims.metadata, "{\"grade\":5}");
    assert_eq!(
        claims.attributes.get("locale").map(String::as_str),
        Some("en-GB")
    );
    assert_eq!(claims.attributes.len(), 1);
    assert_eq!(claims.video, expected_grants("fractions-room-1"));
    assert!(
        !claims.video.can_update_own_metadata(),
        "no self-metadata updates"
    );
    assert_eq!(
        claims.room_config,
        expected_dispatch(Some("adding-fractions"), "learner-42")
    );
    assert_eq!(
        (claims.exp - claims.nbf) as u64,
        TTL_SECS,
        "TTL from config"
    );
    // Nothing else is granted.
    assert_eq!(claims.sip, Default::default());
    assert_eq!(claims.agent, Default::default());
    assert_eq!(claims.kind, "");

    assert_eq!(tokens_issued(&app.metrics().await, "token"), 1.0);
}

#[tokio::test]
async fn standard_endpoint_generates_room_and_identity_when_absent() {
    let app = app().await;
    let reply = app.post_json("/api/token", &json!({})).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let claims = verify(reply.json()["participant_token"].as_str().unwrap());
    assert!(claims.sub.starts_with("learner-"), "{}", claims.sub);
    assert!(
        claims.video.room.starts_with("lesson-"),
        "{}",
        claims.video.room
    );
    assert_eq!(claims.video, expected_grants(&claims.video.room.clone()));
    assert_eq!(
        claims.room_config,
        expected_dispatch(None, &claims.sub),
        "the tutor is always dispatched"
    );
}

#[tokio::test]
async fn connection_details_get_and_post() {
    let app = app().await;
    let reply = app
        .get("/api/connection-details?subtopic_id=equivalent-fractions")
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["serverUrl"], LIVEKIT_URL);
    let claims = verify(body["participantToken"].as_str().unwrap());
    assert_eq!(claims.sub, body["participantName"]);
    assert_eq!(
        claims.video,
        expected_grants(body["roomName"].as_str().unwrap())
    );
    assert_eq!(
        claims.room_config,
        expected_dispatch(Some("equivalent-fractions"), &claims.sub)
    );

    // The starter apps POST their agent dispatch.
    let reply = app
        .post_json(
            "/api/connection-details",
            &json!({"room_config": {"agents": [{"agent_name": "lectern-tutor", "metadata": "{\"subtopic_id\":\"place-value\"}"}]}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let claims = verify(reply.json()["participantToken"].as_str().unwrap());
    assert_eq!(
        claims.room_config,
        expected_dispatch(Some("place-value"), &claims.sub)
    );

    // An empty POST is fine too.
    let reply = app
        .send(
            request(Method::POST, "/api/connection-details")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    // Rooms are new each time.
    let again = app.get("/api/connection-details").await.json();
    assert_ne!(again["roomName"], body["roomName"]);
    assert_eq!(
        tokens_issued(&app.metrics().await, "connection_details"),
        4.0
    );
}

#[tokio::test]
async fn legacy_get_token() {
    let app = app().await;
    let reply = app
        .get("/api/getToken?name=ada&room=lesson-7&subtopic_id=decimals")
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["serverUrl"], LIVEKIT_URL);
    let claims = verify(body["token"].as_str().unwrap());
    assert_eq!(claims.sub, "ada");
    assert_eq!(claims.video, expected_grants("lesson-7"));
    assert_eq!(
        claims.room_config,
        expected_dispatch(Some("decimals"), "ada")
    );

    app.get("/api/getToken?name=ada")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_query");
}

#[tokio::test]
async fn without_livekit_every_token_route_answers_503_naming_the_variables() {
    let app = TestApp::with_config(|c| {
        c.livekit_url = None;
        c.livekit_api_key = None;
        c.livekit_api_secret = None;
    })
    .await;
    let replies = [
        app.post_json(
            "/api/token",
            &json!({"room_name": "r", "participant_identity": "i"}),
        )
        .await,
        app.get("/api/connection-details").await,
        app.post_json("/api/connection-details", &json!({})).await,
        app.get("/api/getToken?name=a&room=b").await,
    ];
    for reply in replies {
        let message = reply.assert_error(StatusCode::SERVICE_UNAVAILABLE, "livekit_not_configured");
        for variable in ["LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"] {
            assert!(message.contains(variable), "{message}");
        }
    }
}

#[tokio::test]
async fn bad_token_requests_are_4xx_json_and_issue_nothing() {
    let app = TestApp::with_config(|c| c.max_body_bytes = 8 * 1024).await;
    let long = "x".repeat(129);
    let cases: Vec<(&str, axum::http::Request<Body>, StatusCode, &str)> = vec![
        (
            "malformed JSON",
            json_request("/api/token", "{\"room_name\": "),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            "unknown field",
            json_request(
                "/api/token",
                r#"{"room_name":"r","grants":{"roomAdmin":true}}"#,
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "unknown room_config field",
            json_request("/api/token", r#"{"room_config":{"max_participants":1000}}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "wrong type",
            json_request("/api/token", r#"{"room_name":7}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "wrong content type",
            request(Method::POST, "/api/token")
                .header(header::CONTENT_TYPE, "text/plain")
                .body(Body::from("{}"))
                .unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "no content type",
            request(Method::POST, "/api/token")
                .body(Body::from("{}"))
                .unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "oversized body",
            json_request(
                "/api/token",
                &json!({"participant_metadata": "m".repeat(9 * 1024)}).to_string(),
            ),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            "identity with a space",
            json_request("/api/token", r#"{"participant_identity":"ada lovelace"}"#),
            StatusCode::BAD_REQUEST,
            "invalid_identity",
        ),
        (
            "empty identity",
            json_request("/api/token", r#"{"participant_identity":""}"#),
            StatusCode::BAD_REQUEST,
            "invalid_identity",
        ),
        (
            "identity too long",
            json_request(
                "/api/token",
                &json!({"participant_identity": long}).to_string(),
            ),
            StatusCode::BAD_REQUEST,
            "invalid_identity",
        ),
        (
            "room with a slash",
            json_request("/api/token", r#"{"room_name":"../admin"}"#),
            StatusCode::BAD_REQUEST,
            "invalid_room_name",
        ),
        (
            "room too long",
            json_request("/api/token", &json!({"room_name": long}).to_string()),
            StatusCode::BAD_REQUEST,
            "invalid_room_name",
        ),
        (
            "room names differ",
            json_request(
                "/api/token",
                r#"{"room_name":"a","room_config":{"name":"b"}}"#,
            ),
            StatusCode::BAD_REQUEST,
            "room_name_mismatch",
        ),
        (
            "control char in name",
            json_request("/api/token", "{\"participant_name\":\"a\\u0007\"}"),
            StatusCode::BAD_REQUEST,
            "invalid_participant_name",
        ),
        (
            "metadata too large",
            json_request(
                "/api/token",
                &json!({"participant_metadata": "m".repeat(5000)}).to_string(),
            ),
            StatusCode::BAD_REQUEST,
            "metadata_too_large",
        ),
        (
            "bad attribute key",
            json_request("/api/token", r#"{"participant_attributes":{"a b":"c"}}"#),
            StatusCode::BAD_REQUEST,
            "invalid_attribute",
        ),
        (
            "other agent",
            json_request(
                "/api/token",
                r#"{"room_config":{"agents":[{"agent_name":"root-shell"}]}}"#,
            ),
            StatusCode::BAD_REQUEST,
            "unknown_agent",
        ),
        (
            "two agents",
            json_request("/api/token", r#"{"room_config":{"agents":[{},{}]}}"#),
            StatusCode::BAD_REQUEST,
            "too_many_agents",
        ),
        (
            "dispatch metadata not JSON",
            json_request(
                "/api/token",
                r#"{"room_config":{"agents":[{"metadata":"fractions"}]}}"#,
            ),
            StatusCode::BAD_REQUEST,
            "invalid_dispatch_metadata",
        ),
        (
            "bad subtopic id",
            json_request(
                "/api/token",
                r#"{"room_config":{"agents":[{"metadata":"{\"subtopic_id\":\"a/b\"}"}]}}"#,
            ),
            StatusCode::BAD_REQUEST,
            "invalid_subtopic_id",
        ),
        (
            "details: malformed JSON",
            json_request("/api/connection-details", "{"),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            "details: unknown field",
            json_request("/api/connection-details", r#"{"room":"x"}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "details: wrong content type",
            request(Method::POST, "/api/connection-details")
                .header(header::CONTENT_TYPE, "text/plain")
                .body(Body::from("{}"))
                .unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "details: room name",
            json_request("/api/connection-details", r#"{"room_config":{"name":"x"}}"#),
            StatusCode::BAD_REQUEST,
            "room_name_not_accepted",
        ),
        (
            "details: bad subtopic",
            get("/api/connection-details?subtopic_id=%20"),
            StatusCode::BAD_REQUEST,
            "invalid_subtopic_id",
        ),
        (
            "details: unknown query",
            get("/api/connection-details?room=x"),
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            "legacy: bad identity",
            get("/api/getToken?name=a%20b&room=r"),
            StatusCode::BAD_REQUEST,
            "invalid_identity",
        ),
        (
            "legacy: bad room",
            get("/api/getToken?name=a&room=r%2Fs"),
            StatusCode::BAD_REQUEST,
            "invalid_room_name",
        ),
    ];
    for (what, request, status, code) in cases {
        let reply = app.send(request).await;
        assert_eq!(reply.status, status, "{what}: {}", reply.text());
        reply.assert_error(status, code);
    }
    let metrics = app.metrics().await;
    for endpoint in ["token", "connection_details", "get_token"] {
        assert_eq!(
            tokens_issued(&metrics, endpoint),
            0.0,
            "no token issued for bad input"
        );
    }
}

fn json_request(uri: &str, body: &str) -> axum::http::Request<Body> {
    request(Method::POST, uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

fn get(uri: &str) -> axum::http::Request<Body> {
    request(Method::GET, uri).body(Body::empty()).unwrap()
}
