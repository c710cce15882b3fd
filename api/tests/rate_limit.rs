//! Rate limiting on token routes: in memory, shared through Redis, and with
//! Redis down (decisions fall back to the in-process limiter). The route tests
//! run once per store of `rate_limit_stores` (memory, and Redis when reachable).

#[path = "support/lib.rs"]
mod support;

use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use lectern_api::rate_limit::{Backend, Decision, RateLimiter};
use support::{
    REDIS_URL, TestApp, metric_value, rate_limit_stores, redis_available, request, unique_peer,
};

const QUOTA: u32 = 3;

fn token_request() -> axum::http::Request<Body> {
    request(Method::POST, "/api/token")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{}"))
        .unwrap()
}

/// An app limited to `per_min` per client, keeping its budget in `store`.
async fn limited_app(
    per_min: u32,
    store: Option<&'static str>,
    adjust: impl FnOnce(&mut lectern_api::config::Config),
) -> TestApp {
    TestApp::with_config(|c| {
        c.rate_limit_per_min = per_min;
        c.redis_url = store.map(lectern_api::config::Secret::new);
        adjust(c);
    })
    .await
}

/// Asserts that Redis decided every check when it is the store.
async fn assert_store_answered(app: &TestApp, store: Option<&str>) {
    if store.is_some() {
        assert_eq!(
            metric_value(
                &app.metrics().await,
                "lectern_rate_limit_backend_errors_total"
            ),
            0.0,
            "Redis answered every check"
        );
    }
}

#[tokio::test]
async fn limit_answers_429_with_retry_after_per_client() {
    let mut ran = Vec::new();
    for (kind, store) in rate_limit_stores().await {
        eprintln!("-- rate-limit store: {kind}");
        limit_answers_429_on(store).await;
        ran.push(kind);
    }
    eprintln!("rate-limit stores ran: {}", ran.join(", "));
}

async fn limit_answers_429_on(store: Option<&'static str>) {
    let app = limited_app(QUOTA, store, |_| {}).await;
    let ada = unique_peer();
    for _ in 0..QUOTA {
        let reply = app.send_from(token_request(), ada).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    }
    let refused = app.send_from(token_request(), ada).await;
    let message = refused.assert_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let retry_after: u64 = refused.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    // One request is earned back every 60/QUOTA = 20 s.
    assert!((1..=20).contains(&retry_after), "Retry-After {retry_after}");
    assert!(message.contains("retry in"));

    // Every limited route shares the client's budget; other clients are unaffected.
    app.send_from(
        request(Method::GET, "/api/connection-details")
            .body(Body::empty())
            .unwrap(),
        ada,
    )
    .await
    .assert_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert_eq!(
        app.send_from(token_request(), unique_peer()).await.status,
        StatusCode::CREATED
    );
    // Unlimited routes are not counted.
    let health = app
        .send_from(
            request(Method::GET, "/api/health")
                .body(Body::empty())
                .unwrap(),
            ada,
        )
        .await;
    assert_eq!(health.status, StatusCode::OK);

    let metrics = app.metrics().await;
    assert_eq!(
        metric_value(
            &metrics,
            r#"lectern_rate_limited_total{route="/api/token"}"#
        ),
        1.0
    );
    assert_eq!(
        metric_value(
            &metrics,
            r#"lectern_rate_limited_total{route="/api/connection-details"}"#
        ),
        1.0
    );
    assert_store_answered(&app, store).await;
}

#[tokio::test]
async fn forwarded_for_identifies_clients_only_when_trusted() {
    let mut ran = Vec::new();
    for (kind, store) in rate_limit_stores().await {
        eprintln!("-- rate-limit store: {kind}");
        forwarded_for_on(store).await;
        ran.push(kind);
    }
    eprintln!("rate-limit stores ran: {}", ran.join(", "));
}

async fn forwarded_for_on(store: Option<&'static str>) {
    let forwarded = |ip: std::net::IpAddr| {
        request(Method::POST, "/api/token")
            .header(header::CONTENT_TYPE, "application/json")
            .header("x-forwarded-for", format!("{ip}, 10.0.0.1"))
            .body(Body::from("{}"))
            .unwrap()
    };
    let (first, second) = (unique_peer().ip(), unique_peer().ip());
    let proxy = unique_peer();
    let trusted = limited_app(1, store, |c| c.trust_forwarded_for = true).await;
    assert_eq!(
        trusted.send_from(forwarded(first), proxy).await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        trusted.send_from(forwarded(second), proxy).await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        trusted.send_from(forwarded(first), proxy).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_store_answered(&trusted, store).await;

    // Untrusted: the header is ignored and the peer address counts.
    let untrusted = limited_app(1, store, |_| {}).await;
    let (first, second) = (unique_peer().ip(), unique_peer().ip());
    let proxy = unique_peer();
    assert_eq!(
        untrusted.send_from(forwarded(first), proxy).await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        untrusted.send_from(forwarded(second), proxy).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_store_answered(&untrusted, store).await;
}

#[tokio::test]
async fn zero_turns_the_limit_off() {
    for (kind, store) in rate_limit_stores().await {
        eprintln!("-- rate-limit store: {kind}");
        let app = limited_app(0, store, |_| {}).await;
        assert!(
            !app.state.rate_limiter.uses_redis(),
            "nothing to share when off"
        );
        let peer = unique_peer();
        for _ in 0..50 {
            assert_eq!(
                app.send_from(token_request(), peer).await.status,
                StatusCode::CREATED
            );
        }
    }
}

#[tokio::test]
async fn redis_shares_one_budget_between_instances() {
    if !redis_available().await {
        return;
    }
    let configure = |c: &mut lectern_api::config::Config| {
        c.rate_limit_per_min = QUOTA;
        c.redis_url = Some(lectern_api::config::Secret::new(REDIS_URL));
    };
    let first = TestApp::with_config(configure).await;
    let second = TestApp::with_config(configure).await;
    let peer = unique_peer();
    // QUOTA requests alternating between the instances all pass...
    for i in 0..QUOTA {
        let instance = if i % 2 == 0 { &first } else { &second };
        assert_eq!(
            instance.send_from(token_request(), peer).await.status,
            StatusCode::CREATED
        );
    }
    // ...and the budget is spent on both (in memory each would still allow more).
    for instance in [&first, &second] {
        let reply = instance.send_from(token_request(), peer).await;
        reply.assert_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
        let retry_after: u64 = reply.headers[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=20).contains(&retry_after), "Retry-After {retry_after}");
    }
    assert_eq!(
        metric_value(
            &first.metrics().await,
            "lectern_rate_limit_backend_errors_total"
        ),
        0.0,
        "Redis answered every check"
    );
}

#[tokio::test]
async fn redis_limiter_decides_with_redis() {
    if !redis_available().await {
        return;
    }
    let metrics = std::sync::Arc::new(lectern_api::metrics::Metrics::new());
    let limiter = RateLimiter::new(2, Some(REDIS_URL), metrics).unwrap();
    let client = unique_peer().ip().to_string();
    assert_eq!(
        limiter.check(&client).await,
        (Decision::Allow, Backend::Redis)
    );
    assert_eq!(
        limiter.check(&client).await,
        (Decision::Allow, Backend::Redis)
    );
    match limiter.check(&client).await {
        (Decision::Deny { retry_after }, Backend::Redis) => {
            // 2 per minute: the next one is 30 s away at most.
            assert!(
                retry_after.as_secs_f64() <= 30.0 && retry_after.as_millis() > 0,
                "{retry_after:?}"
            );
        }
        other => panic!("expected a Redis denial, got {other:?}"),
    }
}

#[tokio::test]
async fn redis_down_falls_back_to_the_local_limiter_and_counts_it() {
    // Nothing listens on port 1.
    let app = TestApp::with_config(|c| {
        c.rate_limit_per_min = QUOTA;
        c.redis_url = Some(lectern_api::config::Secret::new("redis://127.0.0.1:1"));
    })
    .await;
    let peer = unique_peer();
    for _ in 0..QUOTA {
        let reply = app.send_from(token_request(), peer).await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "served although Redis is down: {}",
            reply.text()
        );
    }
    // Still limited: the in-process limiter decides.
    app.send_from(token_request(), peer)
        .await
        .assert_error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let errors = metric_value(
        &app.metrics().await,
        "lectern_rate_limit_backend_errors_total",
    );
    assert_eq!(
        errors,
        f64::from(QUOTA + 1),
        "every check that missed Redis is counted"
    );

    let limiter = RateLimiter::new(
        QUOTA,
        Some("redis://127.0.0.1:1"),
        std::sync::Arc::new(lectern_api::metrics::Metrics::new()),
    )
    .unwrap();
    assert_eq!(limiter.check("x").await, (Decision::Allow, Backend::Local));
}

#[tokio::test]
async fn invalid_redis_url_is_a_start_up_error() {
    let metrics = std::sync::Arc::new(lectern_api::metrics::Metrics::new());
    let error = RateLimiter::new(3, Some("not a url"), metrics).unwrap_err();
    assert!(error.to_string().contains("REDIS_URL"), "{error}");
}
