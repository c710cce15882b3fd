//! Shared helpers for the API integration tests.
//!
//! Include with `#[path = "support/lib.rs"] mod support;`. Build an app with
//! [`TestApp::new`] (or [`TestApp::with_config`]) and send requests with
//! [`TestApp::send`]. Storage-touching tests run once per database with
//! [`for_each_database`] (or loop over [`databases`]): SQLite always, PostgreSQL
//! when 127.0.0.1:5432 answers, each run in a database of its own so parallel
//! tests never share rows. Rate-limited tests loop over [`rate_limit_stores`]
//! (in memory always, Redis when 127.0.0.1:6379 answers). Each prints which
//! backends ran (`cargo test … -- --nocapture` shows it).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use lectern_api::config::{Config, Secret};
use lectern_api::state::AppState;
use serde_json::Value;
use tower::ServiceExt;

/// Admin token configured by [`test_config`].
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";
/// LiveKit credentials configured by [`test_config`].
pub const LIVEKIT_URL: &str = "wss://livekit.test";
/// LiveKit API key configured by [`test_config`].
pub const LIVEKIT_KEY: &str = "APItestkey";
/// LiveKit API secret configured by [`test_config`].
pub const LIVEKIT_SECRET: &str = "test-secret-with-enough-entropy-0123456789";
/// Redis on this machine.
pub const REDIS_URL: &str = "redis://127.0.0.1:6379";
/// PostgreSQL on this machine (the maintenance database new test databases are made from).
pub const POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A configuration with admin token, LiveKit credentials, rate limiting off
/// and a database in a fresh temporary directory.
pub fn test_config(dir: &tempfile::TempDir) -> Config {
    Config {
        data_dir: dir.path().to_owned(),
        admin_token: Some(Secret::new(ADMIN_TOKEN)),
        livekit_url: Some(LIVEKIT_URL.into()),
        livekit_api_key: Some(LIVEKIT_KEY.into()),
        livekit_api_secret: Some(Secret::new(LIVEKIT_SECRET)),
        rate_limit_per_min: 0,
        bundled_plugins: false,
        // Each test has its own engine: keep its sandbox pool small.
        plugin_max_instances: 8,
        ..Config::default()
    }
}

/// Whether a TCP service answers on `addr` within 300 ms.
pub async fn reachable(addr: &str) -> bool {
    matches!(
        tokio::time::timeout(
            Duration::from_millis(300),
            tokio::net::TcpStream::connect(addr)
        )
        .await,
        Ok(Ok(_))
    )
}

/// Whether Redis is reachable; prints a notice when it is not.
pub async fn redis_available() -> bool {
    let up = reachable("127.0.0.1:6379").await;
    if !up {
        eprintln!(
            "NOTICE: Redis at 127.0.0.1:6379 is not reachable; skipping the Redis part of this test"
        );
    }
    up
}

/// A running app under test.
pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub dir: tempfile::TempDir,
}

impl TestApp {
    /// The app with [`test_config`].
    pub async fn new() -> Self {
        Self::with_config(|_| {}).await
    }

    /// The app with [`test_config`] changed by `adjust`.
    pub async fn with_config(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut config = test_config(&dir);
        adjust(&mut config);
        let state = AppState::new(config).await.expect("app state");
        state.start().await.expect("plugins load");
        let router = lectern_api::app::router(state.clone());
        Self { router, state, dir }
    }

    /// Sends `request` as if from `127.0.0.1`.
    pub async fn send(&self, request: Request<Body>) -> Reply {
        self.send_from(request, "127.0.0.1:50000".parse().unwrap())
            .await
    }

    /// Sends `request` as if from `peer`.
    pub async fn send_from(&self, mut request: Request<Body>, peer: SocketAddr) -> Reply {
        request.extensions_mut().insert(ConnectInfo(peer));
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        Reply {
            status,
            headers,
            body,
        }
    }

    /// GET `uri`.
    pub async fn get(&self, uri: &str) -> Reply {
        self.send(request(Method::GET, uri).body(Body::empty()).unwrap())
            .await
    }

    /// POST `json` to `uri`.
    pub async fn post_json(&self, uri: &str, json: &Value) -> Reply {
        self.send(
            request(Method::POST, uri)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(json.to_string()))
                .unwrap(),
        )
        .await
    }

    /// The current text of the metrics endpoint.
    pub async fn metrics(&self) -> String {
        self.get("/metrics").await.text()
    }
}

/// A request builder for `method` and `uri`.
pub fn request(method: Method, uri: &str) -> axum::http::request::Builder {
    Request::builder().method(method).uri(uri)
}

/// A response, read completely.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text()))
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts the error shape `{"error": {"code", "message"}}` with `status`
    /// and `code`, and returns the message.
    pub fn assert_error(&self, status: StatusCode, code: &str) -> String {
        assert_eq!(
            self.status,
            status,
            "unexpected status; body: {}",
            self.text()
        );
        assert!(
            self.headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/json")),
            "error responses are JSON: {:?}",
            self.headers
        );
        let json = self.json();
        let error = json
            .get("error")
            .unwrap_or_else(|| panic!("no `error` object: {json}"));
        assert_eq!(error["code"], code, "unexpected code in {json}");
        let message = error["message"].as_str().expect("message is a string");
        assert!(!message.is_empty());
        assert_eq!(
            json.as_object().unwrap().len(),
            1,
            "only `error` at the top: {json}"
        );
        assert_eq!(
            error.as_object().unwrap().len(),
            2,
            "only code and message: {json}"
        );
        message.to_owned()
    }
}

/// Value of one sample (`name{labels}`) in Prometheus text, 0 when absent.
pub fn metric_value(text: &str, series: &str) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse().ok()).flatten()
        })
        .unwrap_or(0.0)
}

/// A database a storage-touching test runs against. A PostgreSQL database made
/// for the test is dropped by [`TestDatabase::cleanup`], or on drop when the test
/// panicked first.
pub struct TestDatabase {
    /// `sqlite` or `postgres`, for messages.
    pub kind: &'static str,
    /// `DATABASE_URL` to configure; `None` means the default SQLite file in the data directory.
    pub url: Option<String>,
    /// The PostgreSQL database created for this test, dropped by [`TestDatabase::cleanup`].
    created: Option<String>,
}

impl TestDatabase {
    /// Applies this database to a configuration.
    pub fn configure(&self, config: &mut Config) {
        config.database_url = self.url.clone().map(Secret::new);
    }

    /// Drops the PostgreSQL database made for the test (best effort).
    pub async fn cleanup(mut self) {
        if let Some(name) = self.created.take() {
            drop_database(&name).await;
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Reached only when the test panicked before `cleanup`: drop the database
        // from a thread of its own, as this one may be inside a runtime.
        if let Some(name) = self.created.take() {
            let _ = std::thread::spawn(move || {
                if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    runtime.block_on(drop_database(&name));
                }
            })
            .join();
        }
    }
}

async fn drop_database(name: &str) {
    use sqlx::Connection;
    if let Ok(mut admin) = sqlx::PgConnection::connect(POSTGRES_URL).await {
        // The name is ours (a generated UUID), not input.
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await;
    }
}

/// SQLite always; PostgreSQL (a fresh database on 127.0.0.1:5432) when it
/// answers, else a printed notice.
pub async fn databases() -> Vec<TestDatabase> {
    let mut out = vec![TestDatabase {
        kind: "sqlite",
        url: None,
        created: None,
    }];
    if !reachable("127.0.0.1:5432").await {
        eprintln!(
            "NOTICE: PostgreSQL at 127.0.0.1:5432 is not reachable; running against SQLite only"
        );
        return out;
    }
    use sqlx::Connection;
    let name = format!("lectern_api_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(POSTGRES_URL)
        .await
        .expect("connect to PostgreSQL");
    // The name is ours (a generated UUID), not input.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut admin)
        .await
        .expect("create a test database");
    out.push(TestDatabase {
        kind: "postgres",
        url: Some(format!("postgres://postgres@127.0.0.1:5432/{name}")),
        created: Some(name),
    });
    out
}

/// Runs `test` once per database of [`databases`], each time on a fresh app with
/// [`test_config`] changed by `adjust` and pointed at that database; prints each
/// backend as it starts and the list of those that ran.
pub async fn for_each_database<F, Fut>(adjust: impl Fn(&mut Config), mut test: F)
where
    F: FnMut(TestApp, &'static str) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut ran = Vec::new();
    for db in databases().await {
        eprintln!("-- database: {}", db.kind);
        let app = TestApp::with_config(|c| {
            adjust(c);
            db.configure(c);
        })
        .await;
        test(app, db.kind).await;
        ran.push(db.kind);
        db.cleanup().await;
    }
    eprintln!("databases ran: {}", ran.join(", "));
}

/// Where a rate-limited test keeps its budget: in memory always, and Redis when
/// it answers (else a printed notice). Keys are per client address, so tests
/// sharing Redis stay apart by using addresses of their own (see [`unique_peer`]).
pub async fn rate_limit_stores() -> Vec<(&'static str, Option<&'static str>)> {
    let mut out = vec![("memory", None)];
    if redis_available().await {
        out.push(("redis", Some(REDIS_URL)));
    }
    out
}

/// A client address nobody else uses: Redis keys outlive a test, and other
/// tests share the server.
pub fn unique_peer() -> SocketAddr {
    let n = uuid::Uuid::new_v4().as_u128();
    SocketAddr::new(
        std::net::IpAddr::V6(std::net::Ipv6Addr::from(n | 0xfd00 << 112)),
        40000,
    )
}
