//! The probes' answers, served beside the metrics: `/healthz` (live: the
//! kernel programs are attached and the recorder keeps reading their ring)
//! and `/readyz` (ready: the storage answered its last check). Both are
//! computed from state the agent keeps anyway, so that a probe costs no
//! kernel or storage work: the storage is checked in the background, every
//! [`STORAGE_CHECK_EVERY`], whatever the probes ask.

use std::sync::Arc;
use std::sync::LazyLock;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use capture_store::Store;
use tokio::sync::watch;

use super::metrics::Metrics;

/// The recorder is dead or stuck when its last round is older than this
/// (it makes one a second, however busy or quiet the host).
pub const STALL_AFTER: Duration = Duration::from_secs(15);
/// How often the storage is checked.
pub const STORAGE_CHECK_EVERY: Duration = Duration::from_secs(15);
/// How long one storage check may take before it counts as failed.
pub const STORAGE_CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// The clock heartbeats count on: milliseconds since the agent started,
/// plus one (0 stands for "never").
pub fn now_ms() -> u64 {
    static START: LazyLock<Instant> = LazyLock::new(Instant::now);
    u64::try_from(START.elapsed().as_millis())
        .unwrap_or(u64::MAX)
        .saturating_add(1)
}

/// The recorder's heartbeat: it beats once a round, only after the kernel
/// programs were attached.
#[derive(Debug, Default)]
pub struct Heartbeat(AtomicU64);

impl Heartbeat {
    /// The recorder made a round.
    pub fn beat(&self) {
        self.0.store(now_ms(), Ordering::Relaxed);
    }

    /// Milliseconds from the last beat to `now` (`None`: never).
    fn age_ms(&self, now: u64) -> Option<u64> {
        match self.0.load(Ordering::Relaxed) {
            0 => None,
            last => Some(now.saturating_sub(last)),
        }
    }
}

/// What the last storage check found (`None`: none finished yet).
#[derive(Debug, Default)]
pub struct Health {
    storage: Mutex<Option<Result<(), String>>>,
}

impl Health {
    /// `/healthz`: status and a one-line body.
    pub fn liveness(metrics: &Metrics) -> (u16, String) {
        Self::liveness_at(metrics, now_ms())
    }

    /// `/healthz` at `now` (of [`now_ms`]).
    fn liveness_at(metrics: &Metrics, now: u64) -> (u16, String) {
        let events = metrics.events.load(Ordering::Relaxed);
        match metrics.heartbeat.age_ms(now) {
            None => (503, "starting: the recorder has not run yet\n".into()),
            Some(age) if age > u64::try_from(STALL_AFTER.as_millis()).unwrap_or(u64::MAX) => (
                503,
                format!(
                    "stalled: the recorder last read the kernel ring {:.1} s ago ({events} events)\n",
                    age as f64 / 1000.0
                ),
            ),
            Some(_) => (
                200,
                format!("ok: kernel programs attached, ring read ({events} events)\n"),
            ),
        }
    }

    /// `/readyz`: status and a one-line body.
    pub fn readiness(&self) -> (u16, String) {
        match &*self
            .storage
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
        {
            None => (503, "starting: the storage was not checked yet\n".into()),
            Some(Ok(())) => (200, "ok: storage reachable\n".into()),
            Some(Err(e)) => (503, format!("storage unreachable: {e}\n")),
        }
    }

    fn set(&self, result: Result<(), String>) {
        *self
            .storage
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(result);
    }
}

/// Checks the storage now and every [`STORAGE_CHECK_EVERY`] until `stop`;
/// a change of state is logged once.
pub async fn check_storage(
    store: Arc<Store>,
    health: Arc<Health>,
    mut stop: watch::Receiver<bool>,
) {
    let mut was_ok = None;
    loop {
        let result = match tokio::time::timeout(STORAGE_CHECK_TIMEOUT, store.check()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(super::spool::error_chain(&e)),
            Err(_) => Err(format!(
                "no answer within {} s",
                STORAGE_CHECK_TIMEOUT.as_secs()
            )),
        };
        let ok = result.is_ok();
        match (&result, was_ok) {
            (Err(e), Some(true) | None) => tracing::warn!("readiness: {e}"),
            (Ok(()), Some(false)) => tracing::info!("readiness: the storage answers again"),
            _ => {}
        }
        was_ok = Some(ok);
        health.set(result);
        tokio::select! {
            () = tokio::time::sleep(STORAGE_CHECK_EVERY) => {}
            _ = stop.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn liveness_follows_the_heartbeat() {
        let stall = u64::try_from(STALL_AFTER.as_millis()).unwrap();
        let cases: [(&str, u64, u64, u16, &str); 4] = [
            ("never beat", 0, 5_000, 503, "starting"),
            ("beat just now", 5_000, 5_000, 200, "ok"),
            (
                "beat within the stall limit",
                5_000,
                5_000 + stall,
                200,
                "ok",
            ),
            ("beat too long ago", 5_000, 5_001 + stall, 503, "stalled"),
        ];
        for (what, beat, now, want, text) in cases {
            let metrics = Metrics::default();
            metrics.heartbeat.0.store(beat, Ordering::Relaxed);
            let (status, body) = Health::liveness_at(&metrics, now);
            assert_eq!(status, want, "{what}: {body}");
            assert!(body.starts_with(text), "{what}: {body}");
        }
    }

    #[test]
    fn readiness_follows_the_last_check() {
        type Check = Option<Result<(), String>>;
        let cases: [(&str, Check, u16, &str); 3] = [
            ("not checked yet", None, 503, "starting"),
            ("checked", Some(Ok(())), 200, "ok"),
            (
                "failed",
                Some(Err("ListObjectsV2 caps/prod/: AccessDenied".into())),
                503,
                "storage unreachable: ListObjectsV2 caps/prod/: AccessDenied",
            ),
        ];
        for (what, state, want, text) in cases {
            let health = Health::default();
            if let Some(result) = state {
                health.set(result);
            }
            let (status, body) = health.readiness();
            assert_eq!(status, want, "{what}: {body}");
            assert!(body.starts_with(text), "{what}: {body}");
        }
    }
}
