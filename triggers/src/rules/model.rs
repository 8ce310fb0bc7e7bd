//! What a rules file says, once validated.

use super::template::Template;
use crate::filter::Filter;

/// A host or per-process metric, sampled every second.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Metric {
    /// CPU use, percent of one CPU.
    CpuPercent,
    /// Resident memory, bytes.
    RssBytes,
    /// System calls per second.
    SyscallRate,
    /// Failed system calls per second.
    ErrorRate,
    /// Open file descriptors.
    OpenFds,
    /// New connections (connect and accept) per second.
    ConnectionRate,
}

impl Metric {
    /// Every metric, as named in rules files.
    pub const ALL: [(Metric, &'static str); 6] = [
        (Metric::CpuPercent, "cpu_percent"),
        (Metric::RssBytes, "rss_bytes"),
        (Metric::SyscallRate, "syscall_rate"),
        (Metric::ErrorRate, "error_rate"),
        (Metric::OpenFds, "open_fds"),
        (Metric::ConnectionRate, "connection_rate"),
    ];

    /// Its name in rules files.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(m, _)| *m == self)
            .map_or("?", |(_, n)| n)
    }

    /// Finds a metric by name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, n)| *n == name).map(|(m, _)| *m)
    }
}

/// When a rule fires.
#[derive(Clone, Debug)]
pub enum Condition {
    /// An event matches a filter (`at_least` times `within` a window).
    Event {
        /// The filter.
        filter: Filter,
        /// Matches needed.
        at_least: u32,
        /// Window for `at_least`, ns.
        within: u64,
    },
    /// A metric is above (or below) a threshold for a while.
    Metric {
        /// The metric.
        metric: Metric,
        /// Per-process scope: processes this filter matches; `None`: host.
        process: Option<Filter>,
        /// Threshold.
        threshold: f64,
        /// True for "above", false for "below".
        above: bool,
        /// How long it must hold, ns.
        hold: u64,
    },
    /// No running process matches a filter for a while.
    ProcessDown {
        /// The process filter.
        filter: Filter,
        /// How long, ns.
        hold: u64,
    },
    /// A host metric deviates from its rolling baseline.
    Anomaly {
        /// The metric.
        metric: Metric,
        /// Standard deviations from the mean.
        sigma: f64,
        /// Baseline window, ns.
        window: u64,
        /// Samples needed before the baseline counts.
        min_samples: u32,
    },
    /// An Alertmanager alert fires (posted to the agent's receiver).
    Alert {
        /// Its `alertname` label.
        alertname: String,
        /// Further labels it must have, in file order.
        labels: Vec<(String, LabelMatch)>,
    },
    /// Fired by `syscap-agent trigger RULE` only.
    Manual,
}

/// How one label of an alert must look.
#[derive(Clone, Debug)]
pub enum LabelMatch {
    /// Exactly this value (`pod: web-1`).
    Equal(String),
    /// Anything but this value (`pod: "!=web-1"`); a missing label is empty.
    NotEqual(String),
    /// The whole value matches this regular expression (`pod: "=~web-.*"`),
    /// as Alertmanager's own matchers do.
    Regex(regex::Regex),
    /// The whole value does not match this regular expression
    /// (`pod: "!~web-.*"`).
    NotRegex(regex::Regex),
}

/// Whether `name` is a Prometheus label name: letters, digits and `_`, not
/// starting with a digit.
pub(crate) fn is_label_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .enumerate()
            .all(|(i, b)| b.is_ascii_alphabetic() || b == b'_' || (i > 0 && b.is_ascii_digit()))
}

impl LabelMatch {
    /// Whether `value` (empty for a missing label) matches.
    pub fn matches(&self, value: &str) -> bool {
        match self {
            LabelMatch::Equal(v) => v == value,
            LabelMatch::NotEqual(v) => v != value,
            LabelMatch::Regex(re) => re.is_match(value),
            LabelMatch::NotRegex(re) => !re.is_match(value),
        }
    }
}

impl std::fmt::Display for LabelMatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LabelMatch::Equal(v) => write!(f, "={v:?}"),
            LabelMatch::NotEqual(v) => write!(f, "!={v:?}"),
            // Shown as written: the stored one is anchored.
            LabelMatch::Regex(re) | LabelMatch::NotRegex(re) => {
                let text = re.as_str();
                let inner = text
                    .strip_prefix("^(?:")
                    .and_then(|t| t.strip_suffix(")$"))
                    .unwrap_or(text);
                let op = if matches!(self, LabelMatch::Regex(_)) {
                    "=~"
                } else {
                    "!~"
                };
                write!(f, "{op}{inner:?}")
            }
        }
    }
}

impl Condition {
    /// Its kind, as in rules files.
    pub fn kind(&self) -> &'static str {
        match self {
            Condition::Event { .. } => "event",
            Condition::Metric { .. } => "metric",
            Condition::ProcessDown { .. } => "process_down",
            Condition::Anomaly { .. } => "anomaly",
            Condition::Alert { .. } => "alert",
            Condition::Manual => "manual",
        }
    }
}

/// What a capture keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureSpec {
    /// Seconds of history from the pre-trigger ring, ns.
    pub before: u64,
    /// Capture after the trigger, ns.
    pub after: u64,
    /// Filter of what to keep, parsed and checked; may name fields of the
    /// triggering event as `${field}`.
    pub filter: Option<Template>,
    /// Bytes of I/O data kept per call: the kernel records at least this
    /// much while the capture runs, and the capture cuts what it keeps to
    /// it.
    pub snaplen: u32,
    /// Largest capture, bytes.
    pub max_size: u64,
    /// Key prefix under the storage's own (`team/db`), no leading or
    /// trailing `/`; empty for none.
    pub storage_prefix: String,
    /// Tags stored in the capture's header and with the stored object.
    pub tags: Vec<(String, String)>,
}

impl Default for CaptureSpec {
    fn default() -> Self {
        Self {
            before: 10_000_000_000,
            after: 30_000_000_000,
            filter: None,
            snaplen: 80,
            max_size: 512 << 20,
            storage_prefix: String::new(),
            tags: Vec::new(),
        }
    }
}

/// A rule.
#[derive(Clone, Debug)]
pub struct Rule {
    /// Unique name.
    pub name: String,
    /// When it fires.
    pub condition: Condition,
    /// What the capture keeps.
    pub capture: CaptureSpec,
    /// No new firing within this long of the last, ns.
    pub cooldown: u64,
    /// False for a rule kept in the file but not evaluated.
    pub enabled: bool,
}

/// A validated rules file.
#[derive(Clone, Debug)]
pub struct RuleSet {
    /// The rules, in file order.
    pub rules: Vec<Rule>,
    /// Captures that may run at once on the host.
    pub max_concurrent_captures: u32,
}

fn secs(ns: u64) -> String {
    let s = ns as f64 / 1e9;
    if s >= 60.0 && s % 60.0 == 0.0 {
        format!("{}m", s / 60.0)
    } else {
        format!("{s}s")
    }
}

impl std::fmt::Display for Rule {
    /// One line, as `syscap-agent check-rules` prints it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: ", self.name)?;
        if !self.enabled {
            write!(f, "(disabled) ")?;
        }
        match &self.condition {
            Condition::Event {
                filter,
                at_least,
                within,
            } => {
                write!(f, "event '{}'", filter.text())?;
                if *at_least > 1 {
                    write!(f, " at least {at_least} times within {}", secs(*within))?;
                }
            }
            Condition::Metric {
                metric,
                process,
                threshold,
                above,
                hold,
            } => {
                write!(f, "metric {}", metric.name())?;
                if let Some(p) = process {
                    write!(f, " of processes '{}'", p.text())?;
                }
                write!(f, " {} {threshold}", if *above { "above" } else { "below" })?;
                if *hold > 0 {
                    write!(f, " for {}", secs(*hold))?;
                }
            }
            Condition::ProcessDown { filter, hold } => {
                write!(f, "no process '{}' for {}", filter.text(), secs(*hold))?;
            }
            Condition::Anomaly {
                metric,
                sigma,
                window,
                ..
            } => write!(
                f,
                "anomaly of {} beyond {sigma} sigma over {}",
                metric.name(),
                secs(*window)
            )?,
            Condition::Alert { alertname, labels } => {
                write!(f, "alert {alertname:?}")?;
                for (k, m) in labels {
                    write!(f, " {k}{m}")?;
                }
            }
            Condition::Manual => write!(f, "manual")?,
        }
        let c = &self.capture;
        write!(
            f,
            " -> capture {} before, {} after",
            secs(c.before),
            secs(c.after)
        )?;
        if let Some(filter) = &c.filter {
            write!(f, ", keep '{}'", filter.text())?;
        }
        if c.snaplen != CaptureSpec::default().snaplen {
            write!(f, ", {} bytes of each buffer", c.snaplen)?;
        }
        if !c.storage_prefix.is_empty() {
            write!(f, ", stored under {}/", c.storage_prefix)?;
        }
        for (k, v) in &c.tags {
            write!(f, ", tag {k}={v}")?;
        }
        if self.cooldown > 0 {
            write!(f, ", cooldown {}", secs(self.cooldown))?;
        }
        Ok(())
    }
}
