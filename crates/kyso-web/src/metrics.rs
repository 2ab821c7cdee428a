//! Prometheus metrics of `kyso serve` (text exposition through the `prometheus-client`
//! crate), served only on the separate listener `--metrics-listen` names: requests by route
//! and status, request latency, signatures made and verified, and the work waiting in the queues.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VerifiedLabels {
    role: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

fn latency_histogram() -> Histogram {
    // 1 ms … about 16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// The server's metrics; cheap to clone (one registry behind an `Arc`).
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    signatures: Family<KindLabels, Counter>,
    verified: Family<VerifiedLabels, Counter>,
    requests_waiting: Family<StateLabels, Gauge>,
    notices_unsent: Gauge,
    backup_runs: Family<OutcomeLabels, Counter>,
    backup_last: Family<OutcomeLabels, Gauge>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: String,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("kyso");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, matched route and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's arrival to its answer, by method and matched route",
            latency.clone(),
        );
        let signatures = Family::<KindLabels, Counter>::default();
        registry.register(
            "signatures_made",
            "Signatures the server made, by kind (request_letter: a request letter signed \
             with its agency's organization key)",
            signatures.clone(),
        );
        let verified = Family::<VerifiedLabels, Counter>::default();
        registry.register(
            "signatures_verified",
            "Signed uploads the server verified before accepting them, by the signature's role \
             (personal, organization) and outcome (accepted, refused)",
            verified.clone(),
        );
        let requests_waiting = Family::<StateLabels, Gauge>::default();
        registry.register(
            "requests_waiting",
            "Certificate requests waiting for someone's action, by state",
            requests_waiting.clone(),
        );
        let notices_unsent = Gauge::default();
        registry.register(
            "notices_unsent",
            "Expiry notices still to be e-mailed",
            notices_unsent.clone(),
        );
        let backup_runs = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "backup_runs",
            "Scheduled backups (kyso serve --backup-dir) run, by outcome (ok, failed)",
            backup_runs.clone(),
        );
        let backup_last = Family::<OutcomeLabels, Gauge>::default();
        registry.register(
            "backup_last_timestamp_seconds",
            "Unix time of the last scheduled backup that ended, by outcome (ok, failed)",
            backup_last.clone(),
        );
        Metrics(Arc::new(Inner {
            registry,
            requests,
            latency,
            signatures,
            verified,
            requests_waiting,
            notices_unsent,
            backup_runs,
            backup_last,
        }))
    }

    /// A scheduled backup ended at `at` (Unix time), well or not.
    pub(crate) fn backup_ended(&self, ok: bool, at: i64) {
        let labels = OutcomeLabels {
            outcome: if ok { "ok" } else { "failed" }.to_owned(),
        };
        self.0.backup_runs.get_or_create(&labels).inc();
        self.0.backup_last.get_or_create(&labels).set(at);
    }

    /// Count one answered request.
    pub(crate) fn observe_request(&self, method: &str, route: &str, status: u16, secs: f64) {
        self.0
            .requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status: status.to_string(),
            })
            .inc();
        self.0
            .latency
            .get_or_create(&RouteLabels {
                method: method.to_owned(),
                route: route.to_owned(),
            })
            .observe(secs);
    }

    /// Count one signature made by the server.
    pub(crate) fn signature_made(&self, kind: &str) {
        self.0
            .signatures
            .get_or_create(&KindLabels {
                kind: kind.to_owned(),
            })
            .inc();
    }

    /// Count one signed upload verified: `role` personal or organization, `accepted` or not.
    pub(crate) fn signature_verified(&self, role: &str, accepted: bool) {
        self.0
            .verified
            .get_or_create(&VerifiedLabels {
                role: role.to_owned(),
                outcome: if accepted { "accepted" } else { "refused" }.to_owned(),
            })
            .inc();
    }

    /// The text exposition (OpenMetrics text, which Prometheus reads).
    fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.0.registry)?;
        Ok(out)
    }
}

/// `GET /metrics`: the queue gauges read from the database, then every metric.
async fn scrape(State(st): State<AppState>) -> Response {
    let m = &st.metrics;
    match kyso_store::ops::queue_depths(&st.store, st.now()).await {
        Ok(q) => {
            for (state, n) in q.requests {
                m.0.requests_waiting
                    .get_or_create(&StateLabels {
                        state: state.to_owned(),
                    })
                    .set(n);
            }
            m.0.notices_unsent.set(q.notices_unsent);
        }
        // The last values stay; the failure is the server's log's.
        Err(e) => tracing::warn!(error = %e, "metrics: cannot count the queues"),
    }
    match m.encode() {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The router of the metrics listener: `GET /metrics` only.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", axum::routing::get(scrape))
        .with_state(state)
}
