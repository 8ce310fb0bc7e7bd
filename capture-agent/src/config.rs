//! `agent.toml`, the settings of `syscap-agent run`, with `SYSCAP_*`
//! environment overrides (a `DaemonSet` sets these per node).
//!
//! ```toml
//! rules = "/etc/syscap/rules.yaml"
//! storage = "s3://captures/prod"          # or file:///var/lib/syscap/captures
//! spool = "/var/lib/syscap/spool"
//! host = "web-1"                           # default: the host name
//! labels = { cluster = "eu-1", node = "ip-10-0-0-1" }
//! control_socket = "/run/syscap/agent.sock"
//! metrics = "127.0.0.1:9464"
//! latency = true   # false: record calls at return only, cheaper, no evt.latency
//!
//! [ring]
//! bytes = "256MiB"
//! seconds = 60
//!
//! [limits]
//! spool_bytes = "2GiB"
//! capture_bytes = "512MiB"
//! kernel_ring_bytes = "8MiB"   # per CPU
//!
//! [s3]
//! region = "eu-west-1"
//! endpoint = "http://127.0.0.1:9000"
//! path_style = true
//! encryption = "aws:kms"                 # or "AES256"
//! kms_key_id = "arn:aws:kms:..."
//!
//! [alerts]
//! # Alertmanager webhook receiver (off unless set; SYSCAP_ALERTS_LISTEN)
//! listen = "127.0.0.1:9465"
//! # bearer token Alertmanager sends; required unless listen is loopback
//! # (SYSCAP_ALERTS_TOKEN_FILE)
//! token_file = "/etc/syscap/alerts.token"
//! max_body = "1MiB"                          # larger posts get 413
//!
//! [containers]
//! # CRI sockets asked for container names, images and pods, in order
//! # (default: containerd's, k3s', cri-o's); [] asks none
//! cri_sockets = ["/run/containerd/containerd.sock"]
//! # then docker's (default /var/run/docker.sock; "" asks none)
//! docker_socket = "/var/run/docker.sock"
//! # the host's /proc, where the agent's own is another PID namespace's
//! # (default /proc; SYSCAP_PROC_ROOT)
//! proc_root = "/proc"
//! ```

use std::path::{Path, PathBuf};

use capture_store::{Encryption, Location, S3Options};
use serde::Deserialize;

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The file does not parse or has a bad value.
    #[error("{}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What and where (TOML line and column).
        message: String,
    },
    /// An environment override has a bad value.
    #[error("environment variable {name}: {message}")]
    Env {
        /// The variable.
        name: String,
        /// What is wrong.
        message: String,
    },
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    rules: Option<PathBuf>,
    storage: Option<String>,
    spool: Option<PathBuf>,
    host: Option<String>,
    #[serde(default)]
    labels: std::collections::BTreeMap<String, String>,
    control_socket: Option<PathBuf>,
    metrics: Option<String>,
    latency: Option<bool>,
    #[serde(default)]
    ring: RawRing,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    s3: RawS3,
    #[serde(default)]
    containers: RawContainers,
    #[serde(default)]
    alerts: RawAlerts,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct RawAlerts {
    listen: Option<String>,
    token_file: Option<PathBuf>,
    max_body: Option<Size>,
}

/// The Alertmanager webhook receiver's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertsConfig {
    /// Where it listens.
    pub listen: std::net::SocketAddr,
    /// The file holding the bearer token requests must carry (none: no
    /// token, allowed on loopback only).
    pub token_file: Option<PathBuf>,
    /// Largest request body, bytes (413 beyond).
    pub max_body: u64,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct RawContainers {
    cri_sockets: Option<Vec<PathBuf>>,
    docker_socket: Option<PathBuf>,
    proc_root: Option<PathBuf>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct RawRing {
    bytes: Option<Size>,
    seconds: Option<u64>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
#[expect(
    clippy::struct_field_names,
    reason = "the names users write in agent.toml"
)]
struct RawLimits {
    spool_bytes: Option<Size>,
    capture_bytes: Option<Size>,
    kernel_ring_bytes: Option<Size>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct RawS3 {
    region: Option<String>,
    endpoint: Option<String>,
    path_style: Option<bool>,
    encryption: Option<String>,
    kms_key_id: Option<String>,
}

/// A byte size: a number, or a string with a unit (`256MiB`, `2GiB`).
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(try_from = "SizeRepr")]
struct Size(u64);

#[derive(Deserialize)]
#[serde(untagged)]
enum SizeRepr {
    Int(u64),
    Text(String),
}

impl TryFrom<SizeRepr> for Size {
    type Error = String;
    fn try_from(r: SizeRepr) -> Result<Self, String> {
        match r {
            SizeRepr::Int(n) => Ok(Size(n)),
            SizeRepr::Text(t) => parse_size(&t).map(Size),
        }
    }
}

/// Parses `256MiB`, `2GiB`, `1G`, `4096` (the units of the rules files).
pub fn parse_size(text: &str) -> Result<u64, String> {
    triggers::filter::parse_quantity(text.trim(), triggers::filter::Kind::Size)
        .and_then(|n| u64::try_from(n).ok())
        .ok_or_else(|| format!("{text:?} is not a size (like 256MiB)"))
}

/// The settings of a running agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentConfig {
    /// The trigger rules file (none: only manual triggers of no rule... no
    /// captures).
    pub rules: Option<PathBuf>,
    /// Where finished captures go.
    pub storage: Location,
    /// S3 settings.
    pub s3: S3Options,
    /// Where captures wait until the storage has them.
    pub spool: PathBuf,
    /// This host's name in keys and headers.
    pub host: String,
    /// Labels written into capture headers (cluster, node...).
    pub labels: Vec<(String, String)>,
    /// The control socket (`trigger`, `status`).
    pub control_socket: PathBuf,
    /// Address of the Prometheus endpoint (none: off).
    pub metrics: Option<String>,
    /// The Alertmanager webhook receiver (none: off).
    pub alerts: Option<AlertsConfig>,
    /// Pre-trigger ring: at most this many bytes of compressed chunks...
    pub ring_bytes: u64,
    /// ...and this many seconds.
    pub ring_seconds: u64,
    /// The spool's bound: the oldest captures are dropped beyond it.
    pub spool_bytes: u64,
    /// A capture stops growing at this size (unless its rule says less).
    pub capture_bytes: u64,
    /// Bytes of each CPU's kernel ring buffer.
    pub kernel_ring_bytes: u32,
    /// Record each call's latency (false: at return only, cheaper).
    pub latency: bool,
    /// Where container runtimes are asked about containers.
    pub runtimes: crate::containers::RuntimeSockets,
    /// The host's `/proc` (processes, their files and cgroups): `/proc`
    /// itself unless the agent runs in a PID namespace of its own with the
    /// host's mounted elsewhere.
    pub proc_root: PathBuf,
}

impl AgentConfig {
    /// Reads `path` (none: the defaults), then applies `SYSCAP_*` variables
    /// from `env`.
    #[expect(
        clippy::too_many_lines,
        reason = "one statement per setting, each with its variable, reads best as a list"
    )]
    pub fn load(
        path: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let raw: RawConfig = match path {
            None => RawConfig::default(),
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.to_owned(),
                    source,
                })?;
                toml::from_str(&text).map_err(|e| ConfigError::Invalid {
                    path: p.to_owned(),
                    message: one_line(&e, &text),
                })?
            }
        };
        let file_err = |message: String| ConfigError::Invalid {
            path: path.map(Path::to_owned).unwrap_or_default(),
            message,
        };
        let env_err = |name: &str, message: String| ConfigError::Env {
            name: name.to_owned(),
            message,
        };
        let var = |name: &str| env(name).filter(|v| !v.is_empty());
        let size_var =
            |name: &str, default: Option<Size>, fallback: u64| -> Result<u64, ConfigError> {
                match var(name) {
                    Some(v) => parse_size(&v).map_err(|m| env_err(name, m)),
                    None => Ok(default.map_or(fallback, |s| s.0)),
                }
            };
        let storage_text = var("SYSCAP_STORAGE")
            .or(raw.storage)
            .unwrap_or_else(|| "file:///var/lib/syscap/captures".to_owned());
        let storage = Location::parse(&storage_text).map_err(|e| match var("SYSCAP_STORAGE") {
            Some(_) => env_err("SYSCAP_STORAGE", e.to_string()),
            None => file_err(e.to_string()),
        })?;
        let encryption = match var("SYSCAP_S3_ENCRYPTION").or(raw.s3.encryption).as_deref() {
            None | Some("none") => None,
            Some("AES256" | "aes256" | "sse-s3") => Some(Encryption::S3),
            Some("aws:kms" | "sse-kms") => Some(Encryption::Kms(
                var("SYSCAP_S3_KMS_KEY_ID").or(raw.s3.kms_key_id),
            )),
            Some(other) => {
                return Err(file_err(format!(
                    "s3.encryption {other:?}: expected AES256 or aws:kms"
                )));
            }
        };
        let path_style = match var("SYSCAP_S3_PATH_STYLE") {
            Some(v) => v
                .parse()
                .map_err(|_| env_err("SYSCAP_S3_PATH_STYLE", format!("{v:?}: true or false")))?,
            None => raw.s3.path_style.unwrap_or(false),
        };
        let latency = match var("SYSCAP_LATENCY") {
            Some(v) => v
                .parse()
                .map_err(|_| env_err("SYSCAP_LATENCY", format!("{v:?}: true or false")))?,
            None => raw.latency.unwrap_or(true),
        };
        let ring_seconds = match var("SYSCAP_RING_SECONDS") {
            Some(v) => v
                .parse()
                .map_err(|_| env_err("SYSCAP_RING_SECONDS", format!("{v:?} is not a number")))?,
            None => raw.ring.seconds.unwrap_or(60),
        };
        let kernel_ring = size_var(
            "SYSCAP_KERNEL_RING_BYTES",
            raw.limits.kernel_ring_bytes,
            u64::from(crate::kernel::DEFAULT_RING_BYTES),
        )?;
        let alerts = alerts_config(raw.alerts, &var, &file_err)?;
        let mut config = Self {
            rules: var("SYSCAP_RULES").map(PathBuf::from).or(raw.rules),
            storage,
            s3: S3Options {
                region: var("SYSCAP_S3_REGION").or(raw.s3.region),
                endpoint: var("SYSCAP_S3_ENDPOINT").or(raw.s3.endpoint),
                path_style,
                encryption,
                static_credentials: None,
            },
            spool: var("SYSCAP_SPOOL")
                .map(PathBuf::from)
                .or(raw.spool)
                .unwrap_or_else(|| PathBuf::from("/var/lib/syscap/spool")),
            host: var("SYSCAP_HOST")
                .or(raw.host)
                .unwrap_or_else(crate::host::hostname),
            labels: raw.labels.into_iter().collect(),
            control_socket: var("SYSCAP_CONTROL_SOCKET")
                .map(PathBuf::from)
                .or(raw.control_socket)
                .unwrap_or_else(|| PathBuf::from("/run/syscap/agent.sock")),
            metrics: match var("SYSCAP_METRICS").or(raw.metrics) {
                Some(m) if m == "off" => None,
                Some(m) => Some(m),
                None => Some("127.0.0.1:9464".to_owned()),
            },
            alerts,
            ring_bytes: size_var("SYSCAP_RING_BYTES", raw.ring.bytes, 256 << 20)?,
            ring_seconds,
            spool_bytes: size_var("SYSCAP_SPOOL_BYTES", raw.limits.spool_bytes, 2 << 30)?,
            capture_bytes: size_var("SYSCAP_CAPTURE_BYTES", raw.limits.capture_bytes, 512 << 20)?,
            kernel_ring_bytes: u32::try_from(kernel_ring)
                .ok()
                .filter(|n| n.is_power_of_two() && *n >= 4096)
                .ok_or_else(|| {
                    file_err(format!(
                        "kernel_ring_bytes {kernel_ring}: a power of two, 4096 or more, below 4 GiB"
                    ))
                })?,
            latency,
            runtimes: crate::containers::RuntimeSockets::default(),
            proc_root: var("SYSCAP_PROC_ROOT")
                .map(PathBuf::from)
                .or(raw.containers.proc_root)
                .unwrap_or_else(|| PathBuf::from("/proc")),
        };
        if let Some(sockets) = var("SYSCAP_CRI_SOCKETS") {
            config.runtimes.cri = std::env::split_paths(&sockets).collect();
        } else if let Some(sockets) = raw.containers.cri_sockets {
            config.runtimes.cri = sockets;
        }
        if let Some(socket) = var("SYSCAP_DOCKER_SOCKET")
            .map(PathBuf::from)
            .or(raw.containers.docker_socket)
        {
            // An empty path (`docker_socket = ""`) asks no docker.
            config.runtimes.docker = (!socket.as_os_str().is_empty()).then_some(socket);
        }
        if config.capture_bytes > config.spool_bytes {
            return Err(file_err(format!(
                "limits: capture_bytes ({}) is more than spool_bytes ({}): a capture would not fit in the spool",
                config.capture_bytes, config.spool_bytes
            )));
        }
        Ok(config)
    }
}

/// The receiver's settings: off without an address; a token file is
/// required beyond loopback.
fn alerts_config(
    raw: RawAlerts,
    var: &dyn Fn(&str) -> Option<String>,
    file_err: &dyn Fn(String) -> ConfigError,
) -> Result<Option<AlertsConfig>, ConfigError> {
    let from_env = var("SYSCAP_ALERTS_LISTEN");
    let Some(listen) = from_env.clone().or(raw.listen) else {
        return Ok(None);
    };
    if listen == "off" {
        return Ok(None);
    }
    let bad = |message: String| match from_env {
        Some(_) => ConfigError::Env {
            name: "SYSCAP_ALERTS_LISTEN".into(),
            message,
        },
        None => file_err(message),
    };
    let addr: std::net::SocketAddr = listen.parse().map_err(|_| {
        bad(format!(
            "alerts.listen {listen:?}: expected IP:PORT (127.0.0.1:9465, [::1]:9465, 0.0.0.0:9465)"
        ))
    })?;
    let token_file = var("SYSCAP_ALERTS_TOKEN_FILE")
        .map(PathBuf::from)
        .or(raw.token_file);
    if token_file.is_none() && !addr.ip().is_loopback() {
        return Err(bad(format!(
            "alerts.listen {addr} is not loopback: set alerts.token_file (the bearer token Alertmanager sends)"
        )));
    }
    Ok(Some(AlertsConfig {
        listen: addr,
        token_file,
        max_body: raw.max_body.map_or(1 << 20, |s| s.0),
    }))
}

/// A TOML error as one line with its line and column.
fn one_line(e: &toml::de::Error, text: &str) -> String {
    let message = e.message().trim().replace('\n', " ");
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("{line}:{column}: {message}")
        }
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str, env: &[(&str, &str)]) -> Result<AgentConfig, ConfigError> {
        let dir = std::env::temp_dir().join(format!("syscap-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("agent-{}.toml", text.len()));
        std::fs::write(&path, text).unwrap();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        AgentConfig::load(Some(&path), &|name| {
            env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn defaults_file_values_and_environment_overrides() {
        let c = AgentConfig::load(None, &|_| None).unwrap();
        assert_eq!(c.storage, Location::Dir("/var/lib/syscap/captures".into()));
        assert_eq!((c.ring_bytes, c.ring_seconds), (256 << 20, 60));
        let c = load(
            "storage = \"s3://caps/prod\"\nhost = \"web-1\"\nlabels = { cluster = \"eu\" }\n[ring]\nbytes = \"64MiB\"\n[s3]\nendpoint = \"http://127.0.0.1:9\"\npath_style = true\nencryption = \"aws:kms\"\n",
            &[("SYSCAP_RING_SECONDS", "30"), ("SYSCAP_HOST", "web-2")],
        )
        .unwrap();
        assert_eq!(
            c.storage,
            Location::S3 {
                bucket: "caps".into(),
                prefix: "prod".into()
            }
        );
        assert_eq!(
            (c.ring_bytes, c.ring_seconds, c.host.as_str()),
            (64 << 20, 30, "web-2")
        );
        assert_eq!(c.labels, [("cluster".to_owned(), "eu".to_owned())]);
        assert!(c.s3.path_style && c.s3.encryption == Some(Encryption::Kms(None)));
        assert!(
            c.runtimes.cri.len() > 1,
            "containerd's and cri-o's by default"
        );
        let c = load("[containers]\ncri_sockets = [\"/run/a.sock\"]\n", &[]).unwrap();
        assert_eq!(c.runtimes.cri, [PathBuf::from("/run/a.sock")]);
        let c = load("", &[("SYSCAP_CRI_SOCKETS", "/run/b.sock:/run/c.sock")]).unwrap();
        assert_eq!(
            c.runtimes.cri,
            [PathBuf::from("/run/b.sock"), PathBuf::from("/run/c.sock")]
        );
        assert_eq!(
            c.runtimes.docker.as_deref(),
            Some(Path::new("/var/run/docker.sock"))
        );
        let c = load(
            "[containers]\ndocker_socket = \"\"\ncri_sockets = []\n",
            &[],
        )
        .unwrap();
        assert!(!c.runtimes.any(), "no runtime asked");
        assert!(load("", &[]).unwrap().latency, "latency by default");
        assert!(!load("latency = false\n", &[]).unwrap().latency);
        let c = load("latency = false\n", &[("SYSCAP_LATENCY", "true")]).unwrap();
        assert!(c.latency, "the variable wins");
    }

    #[test]
    fn the_example_file_is_valid() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/agent.toml");
        let c = AgentConfig::load(Some(&example), &|_| None).unwrap();
        assert_eq!(c.labels, [("cluster".to_owned(), "prod-eu-1".to_owned())]);
        assert_eq!(c.metrics.as_deref(), Some("127.0.0.1:9464"));
    }

    #[test]
    fn bad_values_name_the_place() {
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
        let cases: &[Case<'_>] = &[
            ("ring = 3\n", &[], ": 1:8: invalid type"),
            ("[ring]\nbytes = \"12 parsecs\"\n", &[], "is not a size"),
            (
                "storage = \"ftp://x\"\n",
                &[],
                "expected s3://BUCKET/PREFIX",
            ),
            ("colour = 1\n", &[], "1:1: unknown field `colour`"),
            (
                "",
                &[("SYSCAP_RING_BYTES", "lots")],
                "environment variable SYSCAP_RING_BYTES",
            ),
            ("[limits]\nkernel_ring_bytes = 5000\n", &[], "power of two"),
            (
                "",
                &[("SYSCAP_LATENCY", "sometimes")],
                "SYSCAP_LATENCY: \"sometimes\": true or false",
            ),
            (
                "[alerts]\nlisten = \"0.0.0.0:9465\"\n",
                &[],
                "alerts.listen 0.0.0.0:9465 is not loopback: set alerts.token_file",
            ),
            (
                "",
                &[("SYSCAP_ALERTS_LISTEN", "localhost")],
                "SYSCAP_ALERTS_LISTEN: alerts.listen \"localhost\": expected IP:PORT",
            ),
            ("[alerts]\nport = 1\n", &[], "unknown field `port`"),
            (
                "[limits]\nspool_bytes = \"1MiB\"\n",
                &[],
                "capture_bytes (536870912) is more than spool_bytes (1048576)",
            ),
        ];
        for (text, env, want) in cases {
            let e = load(text, env).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }

    #[test]
    fn the_alert_receiver_is_off_by_default_and_needs_a_token_beyond_loopback() {
        assert_eq!(load("", &[]).unwrap().alerts, None);
        let c = load("[alerts]\nlisten = \"127.0.0.1:9465\"\n", &[]).unwrap();
        assert_eq!(
            c.alerts,
            Some(AlertsConfig {
                listen: "127.0.0.1:9465".parse().unwrap(),
                token_file: None,
                max_body: 1 << 20,
            })
        );
        let c = load(
            "[alerts]\nlisten = \"0.0.0.0:9465\"\ntoken_file = \"/t\"\nmax_body = \"64KiB\"\n",
            &[],
        )
        .unwrap();
        let a = c.alerts.unwrap();
        assert_eq!(
            (a.token_file.as_deref(), a.max_body),
            (Some(Path::new("/t")), 64 << 10)
        );
        let c = load(
            "[alerts]\nlisten = \"127.0.0.1:9465\"\n",
            &[("SYSCAP_ALERTS_LISTEN", "off")],
        )
        .unwrap();
        assert_eq!(c.alerts, None);
    }

    #[test]
    fn proc_root_from_file_and_environment() {
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
        let proc_roots: [Case<'_>; 3] = [
            ("", &[], "/proc"),
            (
                "[containers]\nproc_root = \"/host/proc\"\n",
                &[],
                "/host/proc",
            ),
            (
                "[containers]\nproc_root = \"/host/proc\"\n",
                &[("SYSCAP_PROC_ROOT", "/hostfs/proc")],
                "/hostfs/proc",
            ),
        ];
        for (text, env, want) in proc_roots {
            assert_eq!(
                load(text, env).unwrap().proc_root,
                Path::new(want),
                "{text:?} {env:?}"
            );
        }
    }
}
