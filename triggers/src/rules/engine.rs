//! Evaluates rules on what the agent sees, with the timestamps it gives:
//! deterministic, so tests drive it with synthetic streams and a simulated
//! clock.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;

use capture_format::file::Event;

use super::model::{CaptureSpec, Condition, Metric, Rule, RuleSet};
use crate::filter::{Env, Filter, ProcessFacts};

/// Longest gap between samples of one scope before a metric hold restarts.
const MAX_SAMPLE_GAP: u64 = 5_000_000_000;

/// A rule fired: start a capture.
#[derive(Clone, Debug)]
pub struct Firing {
    /// The rule.
    pub rule: String,
    /// When, ns since the epoch.
    pub ts: u64,
    /// Why, in words.
    pub reason: String,
    /// What to capture.
    pub capture: CaptureSpec,
    /// The capture filter, templates filled in from the triggering event.
    pub filter: Option<Filter>,
}

/// Why a firing did not start a capture.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Refusal {
    /// No rule has that name.
    UnknownRule,
    /// The rule fired less than its cooldown ago.
    Cooldown,
    /// As many captures as allowed are running.
    TooManyCaptures,
}

/// A metric sample: of the host, or of one process.
#[derive(Clone, Debug)]
pub struct MetricSample {
    /// When, ns since the epoch.
    pub ts: u64,
    /// Which metric.
    pub metric: Metric,
    /// Its value.
    pub value: f64,
    /// The process, for per-process samples; `None` for the host.
    pub process: Option<ProcessFacts>,
}

/// An Alertmanager alert, as the agent's receiver got it.
#[derive(Clone, Copy, Debug)]
pub struct Alert<'a> {
    /// Its `alertname` label.
    pub name: &'a str,
    /// All its labels (`alertname` among them).
    pub labels: &'a [(String, String)],
    /// Alertmanager's fingerprint of its labels: the same alert re-sent
    /// has the same one.
    pub fingerprint: &'a str,
    /// False once resolved (resolved alerts start nothing).
    pub firing: bool,
}

/// Bytes of names and values the tags of an alert may add to a capture:
/// tags become S3 object metadata (`tag-NAME`, values percent-encoded as
/// `capture_store::metadata_value` does), which S3 bounds to 2 KB in all;
/// the budget counts them so.
const ALERT_TAG_BUDGET: usize = 1024;
/// What S3 metadata adds before each tag's name.
const TAG_METADATA_PREFIX_LEN: usize = "tag-".len();
/// Fingerprints an alert rule remembers for its cooldown; beyond, the
/// oldest is forgotten (and counted as "alert fingerprint forgotten").
const MAX_ALERT_FINGERPRINTS: usize = 1024;
/// A label's value longer than this is not made a tag.
const MAX_ALERT_TAG_VALUE: usize = 256;

/// What fired a rule, for its capture filter's `${...}`.
#[derive(Clone, Copy)]
enum Source<'a, 'e> {
    /// A condition on no one thing (metric, by hand).
    Nothing,
    /// An event.
    Event(&'a Event<'e>, &'a Env),
    /// An alert, with its labels.
    Alert(&'a [(String, String)]),
}

#[derive(Debug, Default)]
struct State {
    last_fired: Option<u64>,
    /// Times of recent matches, for `at_least ... within`.
    matches: VecDeque<u64>,
    /// Since when a metric condition has held, and when it was last seen,
    /// per scope (0: host, else pid).
    held_since: HashMap<u64, (u64, u64)>,
    /// Since when no process has matched.
    down_since: Option<u64>,
    /// Recent samples, for the anomaly baseline.
    baseline: VecDeque<(u64, f64)>,
    /// Fingerprints of the alerts that fired this rule, and when (dropped
    /// after the cooldown; at most [`MAX_ALERT_FINGERPRINTS`], the oldest
    /// forgotten first).
    alerts: HashMap<String, u64>,
}

/// The rule evaluator of one host.
#[derive(Debug)]
pub struct Engine {
    rules: Vec<(Rule, State)>,
    /// Event rules by the event types they can match; `any_type` holds
    /// those that any type can match.
    by_type: HashMap<u16, Vec<usize>>,
    any_type: Vec<usize>,
    candidates: Vec<usize>,
    max_concurrent: u32,
    running: u32,
    refused: HashMap<(String, &'static str), u64>,
    scratch: Vec<u8>,
}

impl Engine {
    /// An engine for `set`.
    pub fn new(set: RuleSet) -> Self {
        let rules = set
            .rules
            .into_iter()
            .filter(|r| r.enabled)
            .map(|r| (r, State::default()))
            .collect::<Vec<_>>();
        let mut by_type: HashMap<u16, Vec<usize>> = HashMap::new();
        let mut any_type = Vec::new();
        for (i, (rule, _)) in rules.iter().enumerate() {
            if let Condition::Event { filter, .. } = &rule.condition {
                match filter.event_types() {
                    Some(types) => types.for_each(|t| by_type.entry(t.0).or_default().push(i)),
                    None => any_type.push(i),
                }
            }
        }
        Self {
            by_type,
            any_type,
            candidates: Vec::new(),
            rules,
            max_concurrent: set.max_concurrent_captures,
            running: 0,
            refused: HashMap::new(),
            scratch: Vec::new(),
        }
    }

    /// The engine for reloaded rules: a rule kept under the same name keeps
    /// its state (cooldown, holds, baseline), so a reload cannot make it
    /// fire again at once; running captures and refusal counts carry over.
    #[must_use]
    pub fn reload(mut self, set: RuleSet) -> Self {
        let mut next = Self::new(set);
        // By name, so that a reload of many rules takes linear time.
        let mut old: HashMap<&str, &mut State> = HashMap::with_capacity(self.rules.len());
        for (rule, state) in &mut self.rules {
            old.entry(rule.name.as_str()).or_insert(state);
        }
        for (rule, state) in &mut next.rules {
            if let Some(old) = old.get_mut(rule.name.as_str()) {
                *state = std::mem::take(*old);
            }
        }
        drop(old);
        next.running = self.running;
        next.refused = self.refused;
        next
    }

    /// Captures running now.
    pub fn running(&self) -> u32 {
        self.running
    }

    /// Says how many captures are running (an engine built from reloaded
    /// rules takes over the captures of the old one).
    pub fn set_running(&mut self, running: u32) {
        self.running = running;
    }

    /// A capture ended (finished or failed): its slot is free again.
    pub fn capture_finished(&mut self) {
        self.running = self.running.saturating_sub(1);
    }

    /// The per-process metric conditions: which metric of which processes.
    /// The agent samples those processes, and only those, every second.
    pub fn process_metrics(&self) -> impl Iterator<Item = (Metric, &Filter)> + '_ {
        self.rules
            .iter()
            .filter_map(|(rule, _)| match &rule.condition {
                Condition::Metric {
                    metric,
                    process: Some(filter),
                    ..
                } => Some((*metric, filter)),
                _ => None,
            })
    }

    /// Firings refused so far, per rule and reason.
    pub fn refusals(&self) -> impl Iterator<Item = (&str, &'static str, u64)> + '_ {
        self.refused
            .iter()
            .map(|((r, why), n)| (r.as_str(), *why, *n))
    }

    /// Tries to start a capture for rule `i` at `ts`.
    fn fire(
        &mut self,
        i: usize,
        ts: u64,
        reason: String,
        source: Source<'_, '_>,
    ) -> Result<Firing, Refusal> {
        let (rule, state) = &mut self.rules[i];
        // An alert's cooldown is its fingerprint's (see `on_alert`).
        let per_rule_cooldown = !matches!(source, Source::Alert(_));
        let refusal = if per_rule_cooldown
            && state
                .last_fired
                .is_some_and(|last| ts.saturating_sub(last) < rule.cooldown)
        {
            Some((Refusal::Cooldown, "cooldown"))
        } else if self.running >= self.max_concurrent {
            Some((Refusal::TooManyCaptures, "too many captures"))
        } else {
            None
        };
        if let Some((refusal, why)) = refusal {
            *self.refused.entry((rule.name.clone(), why)).or_default() += 1;
            return Err(refusal);
        }
        // A template that cannot be filled keeps everything, and says so:
        // for forensics, more data is the safe side.
        let mut reason = reason;
        let filter = match rule.capture.filter.as_ref().map(|t| match source {
            Source::Nothing => t.apply(None),
            Source::Event(e, env) => t.apply(Some((e, env))),
            Source::Alert(labels) => t.apply_alert(labels),
        }) {
            Some(Ok(f)) => Some(f),
            Some(Err(why)) => {
                let _ = write!(
                    reason,
                    "; capture filter not applied ({why}), keeping every event"
                );
                None
            }
            None => None,
        };
        state.last_fired = Some(ts);
        self.running += 1;
        Ok(Firing {
            rule: rule.name.clone(),
            ts,
            reason,
            capture: rule.capture.clone(),
            filter,
        })
    }

    /// Evaluates the event conditions on `e`; firings go to `out`.
    pub fn on_event(&mut self, e: &Event<'_>, env: &Env, out: &mut Vec<Firing>) {
        // Only the rules this event's type can match, in file order.
        let mut candidates = std::mem::take(&mut self.candidates);
        candidates.clear();
        candidates.extend_from_slice(&self.any_type);
        if let Some(typed) = self.by_type.get(&e.ty().0) {
            candidates.extend_from_slice(typed);
            candidates.sort_unstable();
        }
        for &i in &candidates {
            let (rule, state) = &mut self.rules[i];
            let Condition::Event {
                filter,
                at_least,
                within,
            } = &rule.condition
            else {
                continue;
            };
            if !filter.matches_with(e, env, &mut self.scratch) {
                continue;
            }
            let ts = e.ts();
            state.matches.push_back(ts);
            while state
                .matches
                .front()
                .is_some_and(|&t| ts.saturating_sub(t) > *within)
            {
                state.matches.pop_front();
            }
            if state.matches.len() < *at_least as usize {
                continue;
            }
            let reason = if *at_least > 1 {
                format!(
                    "{} matches of '{}' within {}s",
                    state.matches.len(),
                    filter.text(),
                    *within as f64 / 1e9
                )
            } else {
                format!(
                    "event {} ({}) matched '{}'",
                    e.num(),
                    e.ty().name(),
                    filter.text()
                )
            };
            state.matches.clear();
            // It fires when the call returned: `after` counts from then, so
            // a call that blocked long still has its aftermath captured.
            let returned = ts.saturating_add(e.latency());
            if let Ok(f) = self.fire(i, returned, reason, Source::Event(e, env)) {
                out.push(f);
            }
        }
        self.candidates = candidates;
    }

    /// Evaluates metric and anomaly conditions on a sample.
    pub fn on_metric(&mut self, s: &MetricSample, out: &mut Vec<Firing>) {
        for i in 0..self.rules.len() {
            let (rule, state) = &mut self.rules[i];
            let reason = match &rule.condition {
                Condition::Metric {
                    metric,
                    process,
                    threshold,
                    above,
                    hold,
                } if *metric == s.metric => {
                    let key = match (process, &s.process) {
                        (None, None) => 0,
                        (Some(f), Some(p)) if f.matches_process(p) => p.pid.max(1),
                        _ => continue,
                    };
                    let holds = if *above {
                        s.value > *threshold
                    } else {
                        s.value < *threshold
                    };
                    if !holds {
                        state.held_since.remove(&key);
                        continue;
                    }
                    // Samples come every second: a gap means the process
                    // went away (or its pid was reused) and the hold starts
                    // again.
                    let held = state.held_since.entry(key).or_insert((s.ts, s.ts));
                    if s.ts.saturating_sub(held.1) > MAX_SAMPLE_GAP {
                        held.0 = s.ts;
                    }
                    held.1 = s.ts;
                    let since = held.0;
                    if s.ts.saturating_sub(since) < *hold {
                        continue;
                    }
                    state.held_since.remove(&key);
                    let who = s.process.as_ref().map_or_else(
                        || "host".to_string(),
                        |p| format!("{}({})", String::from_utf8_lossy(&p.name), p.pid),
                    );
                    format!(
                        "{} of {who} is {} ({} {threshold}) for {}s",
                        metric.name(),
                        s.value,
                        if *above { "above" } else { "below" },
                        *hold as f64 / 1e9
                    )
                }
                Condition::Anomaly {
                    metric,
                    sigma,
                    window,
                    min_samples,
                } if *metric == s.metric && s.process.is_none() && s.value.is_finite() => {
                    while state
                        .baseline
                        .front()
                        .is_some_and(|&(t, _)| s.ts.saturating_sub(t) > *window)
                    {
                        state.baseline.pop_front();
                    }
                    let n = state.baseline.len();
                    let verdict = (n >= *min_samples as usize).then(|| {
                        let mean = state.baseline.iter().map(|&(_, v)| v).sum::<f64>() / n as f64;
                        let var = state
                            .baseline
                            .iter()
                            .map(|&(_, v)| (v - mean).powi(2))
                            .sum::<f64>()
                            / n as f64;
                        (mean, var.sqrt())
                    });
                    state.baseline.push_back((s.ts, s.value));
                    let Some((mean, sd)) = verdict else { continue };
                    // A flat baseline would make any change infinitely
                    // anomalous: deviations count from 1% of the mean.
                    let sd = sd.max(mean.abs() * 0.01).max(1e-9);
                    let deviation = (s.value - mean).abs();
                    if deviation <= *sigma * sd {
                        continue;
                    }
                    format!(
                        "{} is {} against a baseline of {mean:.1} ± {sd:.1} ({:.1} σ)",
                        metric.name(),
                        s.value,
                        deviation / sd
                    )
                }
                _ => continue,
            };
            if let Ok(f) = self.fire(i, s.ts, reason, Source::Nothing) {
                out.push(f);
            }
        }
    }

    /// Evaluates `process_down` conditions on the processes running at `ts`.
    pub fn on_processes(&mut self, ts: u64, running: &[ProcessFacts], out: &mut Vec<Firing>) {
        for i in 0..self.rules.len() {
            let (rule, state) = &mut self.rules[i];
            let Condition::ProcessDown { filter, hold } = &rule.condition else {
                continue;
            };
            if running.iter().any(|p| filter.matches_process(p)) {
                state.down_since = None;
                continue;
            }
            let since = *state.down_since.get_or_insert(ts);
            if ts.saturating_sub(since) < *hold {
                continue;
            }
            state.down_since = None;
            let reason = format!(
                "no process matched '{}' for {}s",
                filter.text(),
                ts.saturating_sub(since) as f64 / 1e9
            );
            if let Ok(f) = self.fire(i, ts, reason, Source::Nothing) {
                out.push(f);
            }
        }
    }

    /// Evaluates the alert conditions on `alert` at `ts`; firings go to
    /// `out`. An alert rule's cooldown is per alert: the same alert (by
    /// fingerprint) fires a rule once within it, another alert (say, of
    /// another pod) fires it at once; the capture limit still holds.
    /// Resolved alerts fire nothing. Returns how many rules the
    /// alert matched (fired or refused).
    pub fn on_alert(&mut self, alert: &Alert<'_>, ts: u64, out: &mut Vec<Firing>) -> usize {
        if !alert.firing {
            return 0;
        }
        let label = |key: &str| {
            alert
                .labels
                .iter()
                .find(|(k, _)| k == key)
                .map_or("", |(_, v)| v.as_str())
        };
        let mut matched = 0;
        for i in 0..self.rules.len() {
            let (rule, state) = &mut self.rules[i];
            let Condition::Alert { alertname, labels } = &rule.condition else {
                continue;
            };
            if alertname != alert.name || !labels.iter().all(|(k, m)| m.matches(label(k))) {
                continue;
            }
            matched += 1;
            let cooldown = rule.cooldown;
            state
                .alerts
                .retain(|_, at| ts.saturating_sub(*at) < cooldown);
            if state.alerts.contains_key(alert.fingerprint) {
                *self
                    .refused
                    .entry((rule.name.clone(), "same alert"))
                    .or_default() += 1;
                continue;
            }
            let reason = alert_reason(alert);
            if let Ok(mut firing) = self.fire(i, ts, reason, Source::Alert(alert.labels)) {
                let alerts = &mut self.rules[i].1.alerts;
                if alerts.len() >= MAX_ALERT_FINGERPRINTS {
                    let oldest = alerts
                        .iter()
                        .min_by_key(|(_, at)| **at)
                        .map(|(k, _)| k.clone());
                    if let Some(oldest) = oldest {
                        alerts.remove(&oldest);
                        *self
                            .refused
                            .entry((self.rules[i].0.name.clone(), "alert fingerprint forgotten"))
                            .or_default() += 1;
                    }
                }
                self.rules[i]
                    .1
                    .alerts
                    .insert(alert.fingerprint.to_owned(), ts);
                add_alert_tags(&mut firing.capture.tags, alert);
                out.push(firing);
            }
        }
        matched
    }

    /// Fires rule `name` by hand (`syscap-agent trigger`), whatever its
    /// condition; cooldown and the capture limit still apply.
    pub fn trigger(&mut self, name: &str, ts: u64) -> Result<Firing, Refusal> {
        let i = self
            .rules
            .iter()
            .position(|(r, _)| r.name == name)
            .ok_or(Refusal::UnknownRule)?;
        self.fire(i, ts, "triggered by hand".to_string(), Source::Nothing)
    }
}

/// The alert's name and labels as capture tags (tag names are letters,
/// digits, '-' and '_', at most 64; the rule's own tags win), in label
/// order up to [`ALERT_TAG_BUDGET`] bytes as S3 metadata (prefix and
/// percent-encoding counted), values up to [`MAX_ALERT_TAG_VALUE`].
/// The longest alert name (in bytes, escaped) a firing's reason carries.
const MAX_ALERT_NAME_IN_REASON: usize = 256;

/// Why an alert fired a rule, for the log and the capture header: its name
/// escaped (`capture_format::escape`) and cut to
/// [`MAX_ALERT_NAME_IN_REASON`] bytes (then "..."), and its fingerprint
/// (the receiver takes only letters and digits, escaped all the same).
fn alert_reason(alert: &Alert<'_>) -> String {
    let name = capture_format::escape::escaped(alert.name);
    let mut end = name.len().min(MAX_ALERT_NAME_IN_REASON);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    let more = if end < name.len() { "..." } else { "" };
    format!(
        "alert {}{more} ({})",
        &name[..end],
        capture_format::escape::escaped(alert.fingerprint)
    )
}

/// The length of `value` as S3 metadata: bytes other than printable ASCII,
/// and '%', are percent-encoded (3 bytes each).
fn metadata_len(value: &str) -> usize {
    value
        .bytes()
        .map(|b| {
            if (0x20..0x7f).contains(&b) && b != b'%' {
                1
            } else {
                3
            }
        })
        .sum()
}

fn add_alert_tags(tags: &mut Vec<(String, String)>, alert: &Alert<'_>) {
    let mut budget = ALERT_TAG_BUDGET;
    let mut add = |key: String, value: &str| {
        let cost = TAG_METADATA_PREFIX_LEN + key.len() + metadata_len(value);
        if key.len() <= 64
            && value.len() <= MAX_ALERT_TAG_VALUE
            && cost <= budget
            && !tags.iter().any(|(k, _)| k.eq_ignore_ascii_case(&key))
        {
            budget -= cost;
            tags.push((key, value.to_owned()));
        }
    };
    add("alertname".to_owned(), alert.name);
    for (k, v) in alert.labels {
        let valid = k
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if k != "alertname" && valid {
            add(format!("alert_{k}"), v);
        }
    }
}
