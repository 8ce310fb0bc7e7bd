//! The agent's counters and gauges, and the Prometheus text endpoint that
//! serves them (on 127.0.0.1 by default, where any local user can connect:
//! it keeps to a budget of connections, each closed within seconds).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::health::Health;

/// Every figure the agent exports; updated lock-free from any thread.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Records read from the kernel.
    pub events: AtomicU64,
    /// Records the kernel dropped.
    pub drops: AtomicU64,
    /// Bytes and chunks in the pre-trigger ring, and seconds it spans (ms).
    pub ring_bytes: AtomicU64,
    /// Chunks in the ring.
    pub ring_chunks: AtomicU64,
    /// Milliseconds the ring spans.
    pub ring_span_ms: AtomicU64,
    /// Threads whose CPU time is followed.
    pub cpu_threads: AtomicU64,
    /// Microseconds the last round of CPU samples took.
    pub cpu_round_us: AtomicU64,
    /// Captures started.
    pub captures_started: AtomicU64,
    /// Captures finished into the spool.
    pub captures_finished: AtomicU64,
    /// Captures that failed (their file is kept as far as it got).
    pub captures_failed: AtomicU64,
    /// Firings refused (cooldown, too many captures).
    pub firings_refused: AtomicU64,
    /// Captures waiting in the spool for the storage.
    pub uploads_pending: AtomicU64,
    /// Captures stored.
    pub uploads_done: AtomicU64,
    /// Upload attempts that failed.
    pub uploads_failed: AtomicU64,
    /// Bytes in the spool.
    pub spool_bytes: AtomicU64,
    /// Captures dropped from a full spool.
    pub spool_dropped: AtomicU64,
    /// Captures lost before the storage had them, whatever the reason:
    /// dropped from a full spool, or failed before anything was kept.
    pub captures_lost: AtomicU64,
    /// Rules reloads that failed validation.
    pub reload_failures: AtomicU64,
    /// Alerts the Alertmanager receiver accepted (firing and resolved).
    pub alerts_received: AtomicU64,
    /// Requests the Alertmanager receiver refused (token, size, JSON...).
    pub alert_requests_refused: AtomicU64,
    /// The recorder's rounds, for `/healthz`.
    pub heartbeat: super::health::Heartbeat,
}

/// Adds 1.
pub fn inc(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

/// Sets a gauge.
pub fn set(c: &AtomicU64, v: u64) {
    c.store(v, Ordering::Relaxed);
}

impl Metrics {
    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.render_recording(&mut out);
        self.render_captures(&mut out);
        out
    }

    /// The figures of recording: events, drops, the ring.
    fn render_recording(&self, out: &mut String) {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut metric = |name: &str, kind: &str, help: &str, value: String| {
            write_metric(out, name, kind, help, &value);
        };
        metric(
            "events_total",
            "counter",
            "System call records read from the kernel.",
            get(&self.events).to_string(),
        );
        metric(
            "kernel_drops_total",
            "counter",
            "Records the kernel dropped (ring buffer full).",
            get(&self.drops).to_string(),
        );
        metric(
            "ring_bytes",
            "gauge",
            "Bytes of compressed chunks in the pre-trigger ring.",
            get(&self.ring_bytes).to_string(),
        );
        metric(
            "ring_chunks",
            "gauge",
            "Chunks in the pre-trigger ring.",
            get(&self.ring_chunks).to_string(),
        );
        metric(
            "ring_seconds",
            "gauge",
            "Seconds of events the pre-trigger ring holds.",
            format!("{:.3}", get(&self.ring_span_ms) as f64 / 1000.0),
        );
        metric(
            "cpu_sample_threads",
            "gauge",
            "Threads whose CPU time is sampled into procinfo records.",
            get(&self.cpu_threads).to_string(),
        );
        metric(
            "cpu_sample_round_seconds",
            "gauge",
            "Time the last round of CPU samples took (reading /proc).",
            format!("{:.6}", get(&self.cpu_round_us) as f64 / 1e6),
        );
    }

    /// The figures of captures, uploads and the spool.
    fn render_captures(&self, out: &mut String) {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut metric = |name: &str, kind: &str, help: &str, value: String| {
            write_metric(out, name, kind, help, &value);
        };
        metric(
            "captures_started_total",
            "counter",
            "Captures started by a rule or by hand.",
            get(&self.captures_started).to_string(),
        );
        metric(
            "captures_finished_total",
            "counter",
            "Captures finished into the spool.",
            get(&self.captures_finished).to_string(),
        );
        metric(
            "captures_failed_total",
            "counter",
            "Captures that failed.",
            get(&self.captures_failed).to_string(),
        );
        metric(
            "firings_refused_total",
            "counter",
            "Rule firings refused (cooldown, too many captures).",
            get(&self.firings_refused).to_string(),
        );
        metric(
            "uploads_pending",
            "gauge",
            "Captures in the spool waiting for the storage.",
            get(&self.uploads_pending).to_string(),
        );
        metric(
            "uploads_total",
            "counter",
            "Captures the storage confirmed.",
            get(&self.uploads_done).to_string(),
        );
        metric(
            "upload_failures_total",
            "counter",
            "Upload attempts that failed.",
            get(&self.uploads_failed).to_string(),
        );
        metric(
            "spool_bytes",
            "gauge",
            "Bytes in the spool.",
            get(&self.spool_bytes).to_string(),
        );
        metric(
            "spool_dropped_total",
            "counter",
            "Captures dropped because the spool was full.",
            get(&self.spool_dropped).to_string(),
        );
        metric(
            "captures_lost_total",
            "counter",
            "Captures lost before the storage had them: dropped from a full spool, or failed before anything was kept.",
            get(&self.captures_lost).to_string(),
        );
        metric(
            "rules_reload_failures_total",
            "counter",
            "Rules reloads refused by validation.",
            get(&self.reload_failures).to_string(),
        );
        metric(
            "alerts_received_total",
            "counter",
            "Alertmanager alerts received (firing and resolved).",
            get(&self.alerts_received).to_string(),
        );
        metric(
            "alert_requests_refused_total",
            "counter",
            "Requests the Alertmanager receiver refused (token, size, not its JSON).",
            get(&self.alert_requests_refused).to_string(),
        );
    }
}

/// One metric in the Prometheus text format.
fn write_metric(out: &mut String, name: &str, kind: &str, help: &str, value: &str) {
    let _ = writeln!(out, "# HELP syscap_{name} {help}");
    let _ = writeln!(out, "# TYPE syscap_{name} {kind}");
    let _ = writeln!(out, "syscap_{name} {value}");
}

/// Connections the metrics endpoint serves at once: its own budget of open
/// files. Beyond it, connections wait in the kernel's listen queue (which
/// costs the agent nothing) until one ends: a local user holding thousands
/// of idle connections cannot take the files captures and the control
/// socket need.
pub const MAX_CONNECTIONS: usize = 16;
/// A connection is closed this long after it was accepted, whatever it
/// does (a scrape takes milliseconds; one request per connection).
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a listener waits after a failed `accept` (out of open files).
pub const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// Serves `GET /metrics`, `/healthz` and `/readyz` (see [`super::health`])
/// on `listener` until the task is dropped, at most [`MAX_CONNECTIONS`] at
/// once, each for at most [`CONNECTION_TIMEOUT`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: std::sync::Arc<Metrics>,
    health: std::sync::Arc<Health>,
) {
    use http_body_util::Full;
    use hyper::body::Bytes;
    use hyper_util::rt::TokioIo;
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let mut failing = false;
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let socket = match listener.accept().await {
            Ok((socket, _)) => socket,
            Err(e) => {
                // Out of open files, most likely: said once, and retried
                // after a pause rather than in a loop that spins.
                if !failing {
                    tracing::warn!("metrics: cannot accept a connection: {e}");
                    failing = true;
                }
                tokio::time::sleep(ACCEPT_RETRY).await;
                continue;
            }
        };
        failing = false;
        let (metrics, health) = (metrics.clone(), health.clone());
        let service =
            hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let (metrics, health) = (metrics.clone(), health.clone());
                async move {
                    let (status, body) = match req.uri().path() {
                        "/metrics" => (200, metrics.render()),
                        "/healthz" => Health::liveness(&metrics),
                        "/readyz" => health.readiness(),
                        _ => (
                            404,
                            "not found: try /metrics, /healthz or /readyz\n".to_owned(),
                        ),
                    };
                    hyper::Response::builder()
                        .status(status)
                        .header("content-type", "text/plain; version=0.0.4")
                        .body(Full::new(Bytes::from(body)))
                }
            });
        tokio::spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .keep_alive(false)
                .serve_connection(TokioIo::new(socket), service);
            let _ = tokio::time::timeout(CONNECTION_TIMEOUT, connection).await;
            drop(slot);
        });
    }
}
