//! Extra routes for middleware tests, served under the full stack. Include with
//! `#[path = "support/probes.rs"] mod probes;` next to `mod support`.

use std::time::Duration;

use lectern_api::state::AppState;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::support::TestApp;

/// Sleeps two seconds.
#[utoipa::path(get, path = "/test/slow", responses((status = 200)))]
pub async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(2)).await;
    "late"
}

/// Panics with a secret in the message.
#[utoipa::path(get, path = "/test/panic", responses((status = 500)))]
pub async fn panics() -> &'static str {
    panic!("secret internal detail")
}

pub type State = AppState;

pub async fn app_with_probes(adjust: impl FnOnce(&mut lectern_api::config::Config)) -> TestApp {
    let mut app = TestApp::with_config(adjust).await;
    let extra: OpenApiRouter<State> = OpenApiRouter::new()
        .routes(routes!(slow))
        .routes(routes!(panics));
    app.router = lectern_api::app::router_with(app.state.clone(), extra);
    app
}
