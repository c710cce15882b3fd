//! Prometheus metrics, served as text at `GET /metrics` and `GET /api/metrics`.
//!
//! One [`Metrics`] lives in [`crate::state::AppState`]; any module records into
//! its public fields or helper methods. Label values come from a small, fixed
//! vocabulary (matched route templates, plugin and tool names, outcomes), never
//! from raw request paths or ids, so the number of series stays bounded.

use std::time::Duration;

use axum::http::StatusCode;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

/// HTTP latency buckets (seconds): sub-millisecond handlers up to the deadline.
const HTTP_BUCKETS_SECS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Plugin call buckets (seconds): calls are bounded by their deadline (seconds at most).
const PLUGIN_BUCKETS_SECS: &[f64] = &[
    0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];
/// Database buckets (seconds).
const DB_BUCKETS_SECS: &[f64] = &[
    0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// Every metric the server exports.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    /// HTTP requests by `method`, matched `route` template and `status`.
    pub http_requests_total: IntCounterVec,
    /// HTTP latency by `method`, `route` and `status`.
    pub http_request_duration_seconds: HistogramVec,
    /// LiveKit tokens issued, by `endpoint` (`token`, `connection_details`, `get_token`).
    pub tokens_issued_total: IntCounterVec,
    /// Requests refused by the rate limiter, by `route`.
    pub rate_limited_total: IntCounterVec,
    /// Rate-limit decisions taken by the in-process fallback because Redis failed.
    pub rate_limit_backend_errors_total: IntCounter,
    /// Plugin tool calls by `plugin`, `tool` and `outcome` (`ok`, `error`, `timeout`, …).
    pub plugin_calls_total: IntCounterVec,
    /// Plugin tool call latency by `plugin`, `tool` and `outcome`.
    pub plugin_call_duration_seconds: HistogramVec,
    /// Plugin version changes (`activate`, `rollback`, `disable`, `remote`), by `plugin`.
    pub plugin_swaps_total: IntCounterVec,
    /// Lessons running now.
    pub live_sessions: IntGauge,
    /// Database operation latency by `operation`.
    pub db_query_duration_seconds: HistogramVec,
}

impl Metrics {
    /// Creates and registers every metric in a fresh registry.
    pub fn new() -> Self {
        let registry = Registry::new_custom(Some("lectern".into()), None)
            .expect("a static prefix is a valid registry");
        let http_requests_total = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by method, route and status",
            ),
            &["method", "route", "status"],
        )
        .expect("valid metric");
        let http_request_duration_seconds = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency")
                .buckets(HTTP_BUCKETS_SECS.to_vec()),
            &["method", "route", "status"],
        )
        .expect("valid metric");
        let tokens_issued_total = IntCounterVec::new(
            Opts::new("tokens_issued_total", "LiveKit participant tokens issued"),
            &["endpoint"],
        )
        .expect("valid metric");
        let rate_limited_total = IntCounterVec::new(
            Opts::new("rate_limited_total", "Requests refused by the rate limiter"),
            &["route"],
        )
        .expect("valid metric");
        let rate_limit_backend_errors_total = IntCounter::new(
            "rate_limit_backend_errors_total",
            "Rate-limit checks that fell back to the in-process limiter because Redis failed",
        )
        .expect("valid metric");
        let plugin_calls_total = IntCounterVec::new(
            Opts::new("plugin_calls_total", "Plugin tool calls"),
            &["plugin", "tool", "outcome"],
        )
        .expect("valid metric");
        let plugin_call_duration_seconds = HistogramVec::new(
            HistogramOpts::new("plugin_call_duration_seconds", "Plugin tool call latency")
                .buckets(PLUGIN_BUCKETS_SECS.to_vec()),
            &["plugin", "tool", "outcome"],
        )
        .expect("valid metric");
        let plugin_swaps_total = IntCounterVec::new(
            Opts::new("plugin_swaps_total", "Plugin version changes"),
            &["plugin", "action"],
        )
        .expect("valid metric");
        let live_sessions =
            IntGauge::new("live_sessions", "Lessons running now").expect("valid metric");
        let db_query_duration_seconds = HistogramVec::new(
            HistogramOpts::new("db_query_duration_seconds", "Database operation latency")
                .buckets(DB_BUCKETS_SECS.to_vec()),
            &["operation"],
        )
        .expect("valid metric");

        for collector in [
            Box::new(http_requests_total.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(http_request_duration_seconds.clone()),
            Box::new(tokens_issued_total.clone()),
            Box::new(rate_limited_total.clone()),
            Box::new(rate_limit_backend_errors_total.clone()),
            Box::new(plugin_calls_total.clone()),
            Box::new(plugin_call_duration_seconds.clone()),
            Box::new(plugin_swaps_total.clone()),
            Box::new(live_sessions.clone()),
            Box::new(db_query_duration_seconds.clone()),
        ] {
            registry
                .register(collector)
                .expect("metric names are unique");
        }

        Self {
            registry,
            http_requests_total,
            http_request_duration_seconds,
            tokens_issued_total,
            rate_limited_total,
            rate_limit_backend_errors_total,
            plugin_calls_total,
            plugin_call_duration_seconds,
            plugin_swaps_total,
            live_sessions,
            db_query_duration_seconds,
        }
    }

    /// Records one finished HTTP request.
    pub fn record_http(&self, method: &str, route: &str, status: StatusCode, elapsed: Duration) {
        let labels = [method, route, status.as_str()];
        self.http_requests_total.with_label_values(&labels).inc();
        self.http_request_duration_seconds
            .with_label_values(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// Records one plugin tool call.
    pub fn record_plugin_call(&self, plugin: &str, tool: &str, outcome: &str, elapsed: Duration) {
        let labels = [plugin, tool, outcome];
        self.plugin_calls_total.with_label_values(&labels).inc();
        self.plugin_call_duration_seconds
            .with_label_values(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// Records one plugin version change.
    pub fn record_plugin_swap(&self, plugin: &str, action: &str) {
        self.plugin_swaps_total
            .with_label_values(&[plugin, action])
            .inc();
    }

    /// Records how long a database operation took.
    pub fn observe_db(&self, operation: &str, elapsed: Duration) {
        self.db_query_duration_seconds
            .with_label_values(&[operation])
            .observe(elapsed.as_secs_f64());
    }

    /// The registry in Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buffer)
            .expect("text encoding into a Vec cannot fail");
        String::from_utf8(buffer).expect("the text format is UTF-8")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
