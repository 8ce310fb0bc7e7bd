//! Reads and validates a rules file. Every error names the file, the line
//! and column, and the rule; unknown keys are errors.

use std::collections::HashSet;

use super::model::{CaptureSpec, Condition, LabelMatch, Metric, Rule, RuleSet};
use super::template::Template;
use super::yaml::{self, Node, Pos, Style};
use crate::filter::{Filter, Kind};

/// Why a rules file is not valid.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("{file}:{line}:{column}: {}{message}", rule.as_ref().map(|r| format!("rule '{r}': ")).unwrap_or_default())]
pub struct RuleError {
    /// The file.
    pub file: String,
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub column: usize,
    /// The rule, when the error is inside one.
    pub rule: Option<String>,
    /// What is wrong.
    pub message: String,
}

struct Ctx<'a> {
    file: &'a str,
    rule: Option<String>,
}

impl Ctx<'_> {
    fn err(&self, pos: Pos, message: impl Into<String>) -> RuleError {
        RuleError {
            file: self.file.to_string(),
            line: pos.line,
            column: pos.column,
            rule: self.rule.clone(),
            message: message.into(),
        }
    }
}

/// Parses and validates the rules in `text` (read from `file`); the first
/// error when it is not valid (see [`check`] for all of them).
pub fn load(file: &str, text: &str) -> Result<RuleSet, RuleError> {
    check(file, text).map_err(|mut errors| errors.swap_remove(0))
}

/// Parses and validates the rules in `text` (read from `file`), reporting
/// every error when it is not valid: the first of each rule that is wrong,
/// each duplicate name, and what is wrong in `limits`, in file order. An
/// error in the file's structure (YAML, the top level) is the only one.
pub fn check(file: &str, text: &str) -> Result<RuleSet, Vec<RuleError>> {
    let mut cx = Ctx { file, rule: None };
    let root = match yaml::parse(text) {
        Ok(Some(root)) => root,
        Ok(None) => {
            return Err(vec![
                cx.err(Pos { line: 1, column: 1 }, "the rules file is empty"),
            ]);
        }
        Err((message, pos)) => return Err(vec![cx.err(pos, format!("YAML: {message}"))]),
    };
    let top = map(&cx, &root, &["rules", "limits"]).map_err(|e| vec![e])?;
    let mut set = RuleSet {
        rules: Vec::new(),
        max_concurrent_captures: 2,
    };
    let mut errors = Vec::new();
    if let Some(limits) = get(&top, "limits") {
        let limit = map(&cx, limits, &["max_concurrent_captures"]).and_then(|limits| {
            get(&limits, "max_concurrent_captures")
                .map(|n| integer(&cx, n, 1, 1000))
                .transpose()
        });
        match limit {
            Ok(Some(n)) => set.max_concurrent_captures = n,
            Ok(None) => {}
            Err(e) => errors.push(e),
        }
    }
    let Some(rules) = get(&top, "rules") else {
        errors.push(cx.err(root.pos(), "missing key 'rules'"));
        return Err(errors);
    };
    let Node::Seq(items, _) = rules else {
        errors.push(cx.err(rules.pos(), "'rules' must be a list"));
        return Err(errors);
    };
    // Names seen so far: a set, so that a file of many rules loads in
    // linear time.
    let mut names = HashSet::with_capacity(items.len());
    for item in items {
        match rule(&mut cx, item) {
            Ok((rule, pos)) => {
                if names.insert(rule.name.clone()) {
                    set.rules.push(rule);
                } else {
                    errors.push(cx.err(pos, format!("a second rule named '{}'", rule.name)));
                }
            }
            Err(e) => errors.push(e),
        }
        cx.rule = None;
    }
    // `limits` may come after `rules`: errors in file order.
    errors.sort_by_key(|e| (e.line, e.column));
    if errors.is_empty() {
        Ok(set)
    } else {
        Err(errors)
    }
}

type Entries<'n> = Vec<(&'n str, &'n Node, Pos)>;

/// The entries of a mapping, refusing keys not in `known`.
fn map<'n>(cx: &Ctx<'_>, node: &'n Node, known: &[&str]) -> Result<Entries<'n>, RuleError> {
    let Node::Map(entries, _) = node else {
        return Err(cx.err(node.pos(), "expected a mapping (key: value)"));
    };
    let mut out: Entries<'n> = Vec::new();
    for (k, v) in entries {
        let Node::Scalar(key, _, kpos) = k else {
            return Err(cx.err(k.pos(), "keys must be plain words"));
        };
        if !known.contains(&key.as_str()) {
            return Err(cx.err(
                *kpos,
                format!(
                    "unknown key '{key}' (expected one of: {})",
                    known.join(", ")
                ),
            ));
        }
        if out.iter().any(|(seen, _, _)| seen == key) {
            return Err(cx.err(*kpos, format!("key '{key}' appears twice")));
        }
        out.push((key, v, *kpos));
    }
    Ok(out)
}

fn get<'n>(entries: &Entries<'n>, key: &str) -> Option<&'n Node> {
    entries
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, v, _)| *v)
}

fn scalar<'n>(cx: &Ctx<'_>, node: &'n Node) -> Result<(&'n str, Pos), RuleError> {
    match node {
        Node::Scalar(s, _, pos) => Ok((s, *pos)),
        other => Err(cx.err(other.pos(), "expected a single value")),
    }
}

fn integer(cx: &Ctx<'_>, node: &Node, min: u32, max: u32) -> Result<u32, RuleError> {
    let (s, pos) = scalar(cx, node)?;
    s.parse::<u32>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| {
            cx.err(
                pos,
                format!("expected a whole number from {min} to {max}, found '{s}'"),
            )
        })
}

fn number(cx: &Ctx<'_>, node: &Node) -> Result<f64, RuleError> {
    let (s, pos) = scalar(cx, node)?;
    // Sizes are allowed (`rss_bytes` above 2GiB).
    if let Ok(v) = s.parse::<f64>()
        && v.is_finite()
    {
        return Ok(v);
    }
    crate::filter::parse_quantity(s, Kind::Size)
        .map(|v| v as f64)
        .ok_or_else(|| cx.err(pos, format!("expected a number, found '{s}'")))
}

fn duration(cx: &Ctx<'_>, node: &Node) -> Result<u64, RuleError> {
    let (s, pos) = scalar(cx, node)?;
    crate::filter::parse_quantity(s, Kind::Duration)
        .and_then(|v| u64::try_from(v).ok())
        .ok_or_else(|| {
            cx.err(
                pos,
                format!("expected a duration (30s, 5m, 500ms), found '{s}'"),
            )
        })
}

fn size(cx: &Ctx<'_>, node: &Node) -> Result<u64, RuleError> {
    let (s, pos) = scalar(cx, node)?;
    crate::filter::parse_quantity(s, Kind::Size)
        .and_then(|v| u64::try_from(v).ok())
        .ok_or_else(|| cx.err(pos, format!("expected a size (512MiB, 1GB), found '{s}'")))
}

/// A filter from a scalar; its errors point into the file.
fn filter(cx: &Ctx<'_>, node: &Node) -> Result<Filter, RuleError> {
    let (text, pos) = scalar(cx, node)?;
    Filter::per_event(text).map_err(|e| match node {
        // Columns inside a plain or single-quoted one-line scalar map to
        // the file; elsewhere the error points at the scalar and says where
        // inside the filter.
        Node::Scalar(_, style @ (Style::Plain | Style::SingleQuoted), _) if e.line == 1 => {
            let quote = usize::from(*style == Style::SingleQuoted);
            let at = Pos {
                line: pos.line,
                column: pos.column + quote + e.column - 1,
            };
            cx.err(at, format!("filter: {}", e.message))
        }
        _ => cx.err(
            pos,
            format!(
                "filter: {} at {}:{} of the filter",
                e.message, e.line, e.column
            ),
        ),
    })
}

/// A rule, and where its name is.
fn rule(cx: &mut Ctx<'_>, node: &Node) -> Result<(Rule, Pos), RuleError> {
    let entries = map(
        cx,
        node,
        &[
            "name",
            "description",
            "condition",
            "capture",
            "cooldown",
            "enabled",
        ],
    )?;
    let Some(name) = get(&entries, "name") else {
        return Err(cx.err(node.pos(), "a rule needs a 'name'"));
    };
    let (name, npos) = scalar(cx, name)?;
    if name.is_empty() || name.contains(['/', ' ']) {
        return Err(cx.err(npos, "rule names are non-empty words without '/' or spaces"));
    }
    cx.rule = Some(name.to_string());
    // Errors about the rule as a whole point at its name.
    let rule_pos = entries
        .iter()
        .find(|(k, _, _)| *k == "name")
        .map_or(node.pos(), |(_, _, p)| *p);
    let Some(cond) = get(&entries, "condition") else {
        return Err(cx.err(rule_pos, "missing key 'condition'"));
    };
    let condition = condition(cx, cond)?;
    let capture = match get(&entries, "capture") {
        Some(c) => capture(cx, c, &condition)?,
        None => CaptureSpec::default(),
    };
    let cooldown = get(&entries, "cooldown")
        .map(|n| duration(cx, n))
        .transpose()?
        .unwrap_or(0);
    let enabled = match get(&entries, "enabled") {
        None => true,
        Some(n) => match scalar(cx, n)? {
            ("true", _) => true,
            ("false", _) => false,
            (other, pos) => {
                return Err(cx.err(pos, format!("'enabled' is true or false, not '{other}'")));
            }
        },
    };
    let rule = Rule {
        name: name.to_string(),
        condition,
        capture,
        cooldown,
        enabled,
    };
    Ok((rule, rule_pos))
}

const CONDITION_KEYS: [&str; 6] = [
    "event",
    "metric",
    "process_down",
    "anomaly",
    "alert",
    "manual",
];

fn condition(cx: &Ctx<'_>, node: &Node) -> Result<Condition, RuleError> {
    let entries = map(
        cx,
        node,
        &[
            "event",
            "metric",
            "process_down",
            "anomaly",
            "alert",
            "manual",
            "at_least",
            "within",
            "process",
            "above",
            "below",
            "for",
            "sigma",
            "window",
            "min_samples",
        ],
    )?;
    let kinds: Vec<&str> = entries
        .iter()
        .map(|(k, _, _)| *k)
        .filter(|k| CONDITION_KEYS.contains(k))
        .collect();
    let kind = match kinds.as_slice() {
        [one] => *one,
        [] => {
            return Err(cx.err(
                node.pos(),
                format!("a condition needs one of: {}", CONDITION_KEYS.join(", ")),
            ));
        }
        _ => {
            return Err(cx.err(
                node.pos(),
                format!("a condition has one kind, found {}", kinds.join(" and ")),
            ));
        }
    };
    // Keys that belong to another kind are mistakes, not options.
    let allowed: &[&str] = match kind {
        "event" => &["event", "at_least", "within"],
        "metric" => &["metric", "process", "above", "below", "for"],
        "process_down" => &["process_down", "for"],
        "anomaly" => &["anomaly", "sigma", "window", "min_samples"],
        "alert" => &["alert"],
        _ => &["manual"],
    };
    if let Some((k, _, pos)) = entries.iter().find(|(k, _, _)| !allowed.contains(k)) {
        return Err(cx.err(*pos, format!("'{k}' does not apply to a {kind} condition")));
    }
    build_condition(cx, node, kind, &entries)
}

/// The condition of kind `kind` from its (checked) entries.
fn build_condition(
    cx: &Ctx<'_>,
    node: &Node,
    kind: &str,
    entries: &Entries<'_>,
) -> Result<Condition, RuleError> {
    let value = get(entries, kind).expect("kind is a key");
    let hold = get(entries, "for").map(|n| duration(cx, n)).transpose()?;
    Ok(match kind {
        "event" => {
            let at_least = get(entries, "at_least")
                .map(|n| integer(cx, n, 1, 1_000_000))
                .transpose()?
                .unwrap_or(1);
            let within = get(entries, "within")
                .map(|n| duration(cx, n))
                .transpose()?;
            if at_least > 1 && within.is_none() {
                return Err(cx.err(node.pos(), "'at_least' needs 'within' (a time window)"));
            }
            Condition::Event {
                filter: filter(cx, value)?,
                at_least,
                within: within.unwrap_or(0),
            }
        }
        "metric" => {
            let metric = metric(cx, value)?;
            let (threshold, above) = match (get(entries, "above"), get(entries, "below")) {
                (Some(a), None) => (number(cx, a)?, true),
                (None, Some(b)) => (number(cx, b)?, false),
                _ => {
                    return Err(cx.err(
                        node.pos(),
                        "a metric condition needs 'above' or 'below' (one of them)",
                    ));
                }
            };
            let process = get(entries, "process")
                .map(|n| process_filter(cx, n))
                .transpose()?;
            Condition::Metric {
                metric,
                process,
                threshold,
                above,
                hold: hold.unwrap_or(0),
            }
        }
        "process_down" => Condition::ProcessDown {
            filter: process_filter(cx, value)?,
            hold: hold.ok_or_else(|| {
                cx.err(
                    node.pos(),
                    "a process_down condition needs 'for' (how long)",
                )
            })?,
        },
        "anomaly" => Condition::Anomaly {
            metric: metric(cx, value)?,
            sigma: match get(entries, "sigma") {
                Some(n) => {
                    let sigma = number(cx, n)?;
                    if sigma <= 0.0 {
                        return Err(cx.err(n.pos(), "'sigma' must be above 0"));
                    }
                    sigma
                }
                None => 3.0,
            },
            window: get(entries, "window")
                .map(|n| duration(cx, n))
                .transpose()?
                .unwrap_or(300_000_000_000),
            min_samples: get(entries, "min_samples")
                .map(|n| integer(cx, n, 2, 100_000))
                .transpose()?
                .unwrap_or(30),
        },
        "alert" => alert(cx, value)?,
        _ => {
            let (v, pos) = scalar(cx, value)?;
            if v != "true" {
                return Err(cx.err(pos, "write 'manual: true'"));
            }
            Condition::Manual
        }
    })
}

/// `alert: {alertname: X, labels: {k: v, k: "!=v", k: "=~re", k: "!~re"}}`.
fn alert(cx: &Ctx<'_>, node: &Node) -> Result<Condition, RuleError> {
    let entries = map(cx, node, &["alertname", "labels"])?;
    let Some(name) = get(&entries, "alertname") else {
        return Err(cx.err(node.pos(), "an alert condition needs 'alertname'"));
    };
    let (alertname, pos) = scalar(cx, name)?;
    if alertname.is_empty() {
        return Err(cx.err(pos, "'alertname' is empty"));
    }
    let mut labels = Vec::new();
    if let Some(n) = get(&entries, "labels") {
        let Node::Map(items, _) = n else {
            return Err(cx.err(n.pos(), "'labels' must be a mapping (label: value)"));
        };
        for (k, v) in items {
            let (key, kpos) = scalar(cx, k)?;
            if !super::model::is_label_name(key) {
                return Err(cx.err(
                    kpos,
                    format!("label '{key}': a label name is letters, digits and '_', not starting with a digit"),
                ));
            }
            if labels.iter().any(|(seen, _)| seen == key) {
                return Err(cx.err(kpos, format!("label '{key}' is given twice")));
            }
            let (text, vpos) = scalar(cx, v)?;
            let regex = text
                .strip_prefix("=~")
                .map(|re| (re, false))
                .or_else(|| text.strip_prefix("!~").map(|re| (re, true)));
            let matcher = if let Some((re, negated)) = regex {
                // Anchored, as Alertmanager's matchers are.
                let anchored = format!("^(?:{re})$");
                regex::Regex::new(&anchored)
                    .map(|re| {
                        if negated {
                            LabelMatch::NotRegex(re)
                        } else {
                            LabelMatch::Regex(re)
                        }
                    })
                    .map_err(|e| {
                        let why = e.to_string();
                        let last = why.lines().last().unwrap_or("invalid").trim();
                        let last = last.strip_prefix("error: ").unwrap_or(last).to_owned();
                        cx.err(
                            vpos,
                            format!("label '{key}': bad regular expression: {last}"),
                        )
                    })?
            } else if let Some(v) = text.strip_prefix("!=") {
                LabelMatch::NotEqual(v.to_owned())
            } else {
                LabelMatch::Equal(text.strip_prefix('=').unwrap_or(text).to_owned())
            };
            labels.push((key.to_owned(), matcher));
        }
    }
    Ok(Condition::Alert {
        alertname: alertname.to_owned(),
        labels,
    })
}

fn metric(cx: &Ctx<'_>, node: &Node) -> Result<Metric, RuleError> {
    let (s, pos) = scalar(cx, node)?;
    Metric::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = Metric::ALL.iter().map(|(_, n)| *n).collect();
        cx.err(
            pos,
            format!(
                "unknown metric '{s}' (expected one of: {})",
                names.join(", ")
            ),
        )
    })
}

fn process_filter(cx: &Ctx<'_>, node: &Node) -> Result<Filter, RuleError> {
    let f = filter(cx, node)?;
    if !f.uses_only_process_fields() {
        return Err(cx.err(
            node.pos(),
            "process filters may use only proc.pid, proc.ppid, proc.name, proc.exe, proc.exepath, proc.args, proc.cmdline, proc.cwd, user.uid, user.name and container.id",
        ));
    }
    Ok(f)
}

/// A storage key prefix: `/`-separated names of letters, digits, `.`, `-`
/// and `_` (not `.` or `..`), outer slashes dropped; no key can leave the
/// storage's own prefix.
fn storage_prefix(text: &str) -> Result<String, String> {
    let prefix = text.trim_matches('/');
    let bad = prefix.split('/').find(|part| {
        matches!(*part, "" | "." | "..")
            || !part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    });
    match bad {
        Some(part) if !prefix.is_empty() => Err(format!(
            "storage_prefix '{text}': '{part}' is not a key name (letters, digits, '.', '-', '_'; not '.' or '..')"
        )),
        _ => Ok(prefix.to_owned()),
    }
}

fn capture(cx: &Ctx<'_>, node: &Node, condition: &Condition) -> Result<CaptureSpec, RuleError> {
    let entries = map(
        cx,
        node,
        &[
            "before",
            "after",
            "filter",
            "snaplen",
            "max_size",
            "storage_prefix",
            "tags",
        ],
    )?;
    let mut spec = CaptureSpec::default();
    if let Some(n) = get(&entries, "before") {
        spec.before = duration(cx, n)?;
    }
    if let Some(n) = get(&entries, "after") {
        spec.after = duration(cx, n)?;
    }
    if let Some(n) = get(&entries, "snaplen") {
        spec.snaplen = integer(cx, n, 0, super::MAX_SNAPLEN)?;
    }
    if let Some(n) = get(&entries, "max_size") {
        spec.max_size = size(cx, n)?;
    }
    if let Some(n) = get(&entries, "storage_prefix") {
        let (text, pos) = scalar(cx, n)?;
        spec.storage_prefix = storage_prefix(text).map_err(|m| cx.err(pos, m))?;
    }
    if let Some(n) = get(&entries, "tags") {
        let Node::Map(tags, _) = n else {
            return Err(cx.err(n.pos(), "'tags' must be a mapping (key: value)"));
        };
        // Stored as S3 object metadata, whose names ignore case.
        let mut seen = HashSet::with_capacity(tags.len());
        for (k, v) in tags {
            let (key, pos) = scalar(cx, k)?;
            if key.is_empty()
                || key.len() > 64
                || !key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(cx.err(
                    pos,
                    format!("tag '{key}': a tag name is 1 to 64 letters, digits, '-' or '_'"),
                ));
            }
            if !seen.insert(key.to_ascii_lowercase()) {
                return Err(cx.err(pos, format!("tag '{key}' is given twice")));
            }
            spec.tags
                .push((key.to_string(), scalar(cx, v)?.0.to_string()));
        }
    }
    if let Some(n) = get(&entries, "filter") {
        let (text, pos) = scalar(cx, n)?;
        let template = Template::parse(text).map_err(|(m, col)| {
            cx.err(
                Pos {
                    line: pos.line,
                    column: pos.column + col,
                },
                m,
            )
        })?;
        if template.has_fields() && !matches!(condition, Condition::Event { .. }) {
            return Err(cx.err(pos, "${field} in a capture filter needs an event condition"));
        }
        if template.has_alert_labels() && !matches!(condition, Condition::Alert { .. }) {
            return Err(cx.err(
                pos,
                "${alert.labels.NAME} in a capture filter needs an alert condition",
            ));
        }
        spec.filter = Some(template);
    }
    Ok(spec)
}
