//! `syscap-agent run`: the long-running agent. A recorder thread keeps the
//! host's system calls in a pre-trigger ring and evaluates the rules; a
//! firing starts a capture thread that writes the ring's history and what
//! follows into the spool; an uploader stores finished captures and deletes
//! them only once the storage confirmed them. The control socket, the
//! metrics endpoint (with the probes' `/healthz` and `/readyz`) and the signals (SIGTERM/SIGINT stop, SIGHUP reloads
//! the rules) run on a small tokio runtime.

mod alerts;
pub mod control;
pub mod health;
pub mod metrics;
mod recorder;
pub mod ring;
mod sampler;
pub mod session;
pub mod spool;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use capture_store::Store;
use tokio::sync::{Notify, oneshot, watch};
use triggers::rules::RuleSet;

use crate::config::AgentConfig;
use crate::kernel::ProbeError;
use control::{Answer, Request};
use metrics::Metrics;
use recorder::Command;
use spool::Spool;

/// Why the agent could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The rules file is unreadable or invalid.
    #[error("rules {}: {message}", path.display())]
    Rules {
        /// The file.
        path: PathBuf,
        /// What is wrong, with line and column.
        message: String,
    },
    /// The spool cannot be used.
    #[error("spool {}", path.display())]
    Spool {
        /// The directory.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The storage cannot be opened.
    #[error(transparent)]
    Store(#[from] capture_store::StoreError),
    /// The kernel side failed.
    #[error(transparent)]
    Probe(#[from] ProbeError),
    /// The recorder thread ended while the agent ran (a bug): the agent
    /// stops, so that its supervisor restarts it, rather than run blind.
    #[error("the recorder stopped unexpectedly: {0}")]
    RecorderDied(String),
    /// A socket or a thread could not be set up.
    #[error("{what}")]
    Setup {
        /// What.
        what: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

/// Reads and validates the rules file (none: an empty rule set).
pub fn load_rules(path: Option<&std::path::Path>) -> Result<RuleSet, DaemonError> {
    let Some(path) = path else {
        return Ok(RuleSet {
            rules: Vec::new(),
            max_concurrent_captures: 1,
        });
    };
    let text = std::fs::read_to_string(path).map_err(|e| DaemonError::Rules {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    triggers::rules::load(&path.display().to_string(), &text).map_err(|e| DaemonError::Rules {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// The rules the agent starts with: an invalid file is an error, but a
/// missing one (or none configured) is said in one line and the agent runs
/// with no rules (SIGHUP loads the file once it is there).
fn startup_rules(path: Option<&std::path::Path>) -> Result<RuleSet, DaemonError> {
    let missing = match path {
        None => "no rules file is configured (`rules` in agent.toml, or SYSCAP_RULES)".to_owned(),
        Some(p)
            if std::fs::symlink_metadata(p)
                .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound) =>
        {
            format!("the rules file {} does not exist", p.display())
        }
        Some(_) => return load_rules(path),
    };
    tracing::warn!("{missing}: no rule can fire (SIGHUP loads the rules once the file is there)");
    load_rules(None)
}

/// Runs the agent until SIGTERM or SIGINT.
pub fn run(config: AgentConfig) -> Result<(), DaemonError> {
    // Everything the agent creates (spool files, the control socket before
    // its chmod) is its own: captures hold other users' data.
    // SAFETY: umask has no preconditions.
    unsafe { libc::umask(0o077) };
    let rules = startup_rules(config.rules.as_deref())?;
    let spool_err = |source| DaemonError::Spool {
        path: config.spool.clone(),
        source,
    };
    let spool = Spool::open(&config.spool, config.spool_bytes).map_err(spool_err)?;
    let metrics = Arc::new(Metrics::default());
    for name in spool.recover(&metrics) {
        tracing::warn!(
            "recovered capture {name}, cut short by a crash: finished as a truncated capture, to be stored"
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("syscap-agent-io")
        .enable_all()
        .build()
        .map_err(|source| DaemonError::Setup {
            what: "cannot start the I/O runtime".into(),
            source,
        })?;
    runtime.block_on(serve(config, rules, spool, metrics))
}

async fn serve(
    config: AgentConfig,
    rules: RuleSet,
    spool: Spool,
    metrics: Arc<Metrics>,
) -> Result<(), DaemonError> {
    let store = Arc::new(Store::open(config.storage.clone(), &config.s3).await?);
    let setup = |what: String| move |source| DaemonError::Setup { what, source };
    let control = control::bind(&config.control_socket).map_err(setup(format!(
        "cannot listen on the control socket {}",
        config.control_socket.display()
    )))?;
    let metrics_listener = match &config.metrics {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(setup(format!("cannot serve metrics on {addr}")))?,
        ),
        None => None,
    };
    let alerts_listener = bind_alerts(&config).await?;
    let metrics_addr = metrics_listener
        .as_ref()
        .and_then(|l| l.local_addr().ok())
        .map_or_else(|| "off".to_owned(), |a| a.to_string());
    let wake = Arc::new(Notify::new());
    let rule_count = rules.rules.len();
    let (commands, recorder) = recorder::start(
        config.clone(),
        rules,
        spool.clone(),
        metrics.clone(),
        wake.clone(),
    )?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let signals = Signals::install()?;
    tracing::info!(
        "running: host {}, {rule_count} rules, pre-trigger ring {} MiB / {} s, storage {}, spool {}, control socket {}, metrics {}",
        config.host,
        config.ring_bytes >> 20,
        config.ring_seconds,
        store.location(),
        config.spool.display(),
        config.control_socket.display(),
        metrics_addr,
    );
    let uploader = tokio::spawn(spool::upload_loop(
        spool.clone(),
        store.clone(),
        metrics.clone(),
        wake.clone(),
        stop_rx.clone(),
    ));
    let storage_check = serve_metrics(metrics_listener, &metrics, &store, &stop_rx);
    tokio::spawn(control_loop(control, commands.clone()));
    if let Some(receiver) = alerts_listener {
        receiver.spawn(commands.clone(), metrics.clone());
    }

    let (ended_tx, ended) = oneshot::channel::<()>();
    let recorder = tokio::task::spawn_blocking(move || {
        let result = recorder.join();
        let _ = ended_tx.send(());
        result
    });
    let recorder_died = wait_for_stop(signals, &config, &commands, &metrics, ended).await;
    let died = if recorder_died {
        let why = match recorder.await {
            Ok(Err(panic)) => panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "it panicked".to_owned()),
            _ => "it returned".to_owned(),
        };
        tracing::error!(
            "the recorder stopped unexpectedly ({why}): storing what is spooled, then exiting"
        );
        Some(why)
    } else {
        tracing::info!("stopping: finishing the running captures");
        let _ = commands.send(Command::Stop);
        let _ = recorder.await;
        None
    };
    // One last pass at the storage; what is left waits in the spool for
    // the next start.
    wake.notify_one();
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        while !spool.ready().is_empty() {
            wake.notify_one();
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    let _ = stop_tx.send(true);
    let _ = uploader.await;
    let _ = storage_check.await;
    let _ = std::fs::remove_file(&config.control_socket);
    let left = spool.ready().len();
    if left == 0 {
        tracing::info!("stopped");
    } else {
        tracing::warn!("stopped; {left} captures wait in the spool for the storage");
    }
    died.map_or(Ok(()), |why| Err(DaemonError::RecorderDied(why)))
}

/// The alert receiver, bound, before it serves.
struct AlertReceiver {
    listener: tokio::net::TcpListener,
    token: Option<Arc<str>>,
    max_body: u64,
}

/// Binds the alert receiver when it is configured, and reads its token.
async fn bind_alerts(config: &AgentConfig) -> Result<Option<AlertReceiver>, DaemonError> {
    let Some(alerts) = &config.alerts else {
        return Ok(None);
    };
    let listener = tokio::net::TcpListener::bind(alerts.listen)
        .await
        .map_err(|source| DaemonError::Setup {
            what: format!("cannot receive alerts on {}", alerts.listen),
            source,
        })?;
    Ok(Some(AlertReceiver {
        listener,
        token: read_token(alerts.token_file.as_deref())?,
        max_body: alerts.max_body,
    }))
}

impl AlertReceiver {
    /// Serves it, handing alerts to the recorder over `commands`.
    fn spawn(self, commands: std::sync::mpsc::Sender<Command>, metrics: Arc<Metrics>) {
        tracing::info!(
            "receiving Alertmanager alerts on http://{}{}{}",
            self.listener
                .local_addr()
                .map_or_else(|_| "?".to_owned(), |a| a.to_string()),
            alerts::PATH,
            if self.token.is_some() {
                " (bearer token required)"
            } else {
                ""
            }
        );
        tokio::spawn(alerts::serve(
            self.listener,
            self.token,
            self.max_body,
            commands,
            metrics,
        ));
    }
}

/// The alert receiver's bearer token, from its file (trimmed; not empty).
fn read_token(path: Option<&std::path::Path>) -> Result<Option<Arc<str>>, DaemonError> {
    let Some(path) = path else { return Ok(None) };
    let what = || format!("cannot read the alerts token file {}", path.display());
    let text = std::fs::read_to_string(path).map_err(|source| DaemonError::Setup {
        what: what(),
        source,
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(DaemonError::Setup {
            what: what(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, "it is empty"),
        });
    }
    Ok(Some(Arc::from(token)))
}

/// Serves the metrics and the probes on `listener` (if any), and checks the
/// storage for `/readyz` until `stop`: the checker's task.
fn serve_metrics(
    listener: Option<tokio::net::TcpListener>,
    metrics: &Arc<Metrics>,
    store: &Arc<Store>,
    stop: &watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let health = Arc::new(health::Health::default());
    let checker = tokio::spawn(health::check_storage(
        store.clone(),
        health.clone(),
        stop.clone(),
    ));
    if let Some(listener) = listener {
        tokio::spawn(metrics::serve(listener, metrics.clone(), health));
    }
    checker
}

/// The signals the agent handles.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    /// Takes the signals over (before the agent says it runs, so that a
    /// signal sent as soon as it does is not fatal).
    fn install() -> Result<Self, DaemonError> {
        use tokio::signal::unix::{SignalKind, signal};
        let take = |kind| {
            signal(kind).map_err(|source| DaemonError::Setup {
                what: "cannot handle signals".into(),
                source,
            })
        };
        Ok(Self {
            term: take(SignalKind::terminate())?,
            int: take(SignalKind::interrupt())?,
            hup: take(SignalKind::hangup())?,
        })
    }
}

/// Reloads the rules on SIGHUP until SIGTERM or SIGINT (false) or the
/// recorder's end (true).
async fn wait_for_stop(
    signals: Signals,
    config: &AgentConfig,
    commands: &std::sync::mpsc::Sender<Command>,
    metrics: &Metrics,
    mut recorder_ended: oneshot::Receiver<()>,
) -> bool {
    let Signals {
        mut term,
        mut int,
        mut hup,
    } = signals;
    loop {
        tokio::select! {
            _ = term.recv() => return false,
            _ = int.recv() => return false,
            _ = &mut recorder_ended => return true,
            _ = hup.recv() => match load_rules(config.rules.as_deref()) {
                Ok(set) => {
                    let _ = commands.send(Command::Reload(set));
                }
                Err(e) => {
                    metrics::inc(&metrics.reload_failures);
                    tracing::error!("{e}; the rules in use stay active");
                }
            },
        }
    }
}

/// Answers control requests, one per connection.
async fn control_loop(
    listener: tokio::net::UnixListener,
    commands: std::sync::mpsc::Sender<Command>,
) {
    use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of open files, most likely: retried after a pause
                // rather than in a loop that spins.
                tracing::debug!("control socket: cannot accept a connection: {e}");
                tokio::time::sleep(metrics::ACCEPT_RETRY).await;
                continue;
            }
        };
        let commands = commands.clone();
        tokio::spawn(async move {
            let (read, mut write) = stream.into_split();
            let mut line = String::new();
            if BufReader::new(read).read_line(&mut line).await.is_err() {
                return;
            }
            let answer = match serde_json::from_str::<Request>(&line) {
                Err(e) => Answer {
                    ok: false,
                    message: format!("bad request: {e}"),
                    status: None,
                },
                Ok(Request::Trigger {
                    rule,
                    before_ms,
                    after_ms,
                    filter,
                }) => {
                    let (reply, answer) = oneshot::channel();
                    let _ = commands.send(Command::Trigger {
                        rule,
                        before_ns: before_ms.map(|ms| ms.saturating_mul(1_000_000)),
                        after_ns: after_ms.map(|ms| ms.saturating_mul(1_000_000)),
                        filter,
                        reply,
                    });
                    match answer.await {
                        Ok(Ok(message)) => Answer {
                            ok: true,
                            message,
                            status: None,
                        },
                        Ok(Err(message)) => Answer {
                            ok: false,
                            message,
                            status: None,
                        },
                        Err(_) => Answer {
                            ok: false,
                            message: "the agent is stopping".into(),
                            status: None,
                        },
                    }
                }
                Ok(Request::Status) => {
                    let (reply, answer) = oneshot::channel();
                    let _ = commands.send(Command::Status { reply });
                    match answer.await {
                        Ok(status) => Answer {
                            ok: true,
                            message: "running".into(),
                            status: Some(status),
                        },
                        Err(_) => Answer {
                            ok: false,
                            message: "the agent is stopping".into(),
                            status: None,
                        },
                    }
                }
            };
            let mut text = serde_json::to_string(&answer).unwrap_or_default();
            text.push('\n');
            let _ = write.write_all(text.as_bytes()).await;
        });
    }
}
