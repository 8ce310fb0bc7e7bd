//! Capture filters that name fields of the triggering event:
//! `container.id = ${container.id}` keeps the container that fired; a rule
//! fired by an Alertmanager alert names the alert's labels instead:
//! `k8s.pod.name = ${alert.labels.pod}`.
//!
//! A template is parsed and checked once, when the rules are loaded; a
//! template without fields is compiled then too. At each firing only the
//! values are filled in.

use capture_format::file::Event;

use crate::filter::fields::{Env, Field, Kind, Value, resolve, value};
use crate::filter::{Filter, FilterError};

/// A capture filter as a rule gives it, ready to apply.
#[derive(Clone, Debug)]
pub struct Template {
    text: String,
    parts: Vec<Part>,
    /// The compiled filter, when the template names no field.
    fixed: Option<Filter>,
}

/// Two templates are the same when their text is.
impl PartialEq for Template {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Template {}

#[derive(Clone, Debug)]
enum Part {
    Text(String),
    Field(Field),
    /// `${alert.labels.NAME}`: a label of the alert that fired.
    AlertLabel(String),
}

/// Where `${alert.labels.NAME}` starts.
const ALERT_LABELS: &str = "alert.labels.";

impl Template {
    /// Parses `${field}` references and checks that the template makes a
    /// valid filter for any value; `Err` gives the message and the column
    /// (in characters, from 0) of the problem. A reference must stand
    /// outside quotes: syscap quotes the value itself, so that no value can
    /// change the filter's structure.
    pub fn parse(text: &str) -> Result<Self, (String, usize)> {
        let column = |byte: usize| text[..byte].chars().count();
        let mut parts = Vec::new();
        let mut quote: Option<char> = None;
        let mut escaped = false;
        let mut literal = String::new();
        let mut at = 0;
        while at < text.len() {
            let rest = &text[at..];
            if quote.is_none() && rest.starts_with("${") {
                let Some(len) = rest.find('}') else {
                    return Err(("unclosed '${'".into(), column(at)));
                };
                let name = &rest[2..len];
                if let Some(label) = name.strip_prefix(ALERT_LABELS) {
                    if !super::model::is_label_name(label) {
                        return Err((
                            format!("'{label}' is not an alert label name"),
                            column(at + 2 + ALERT_LABELS.len()),
                        ));
                    }
                    parts.push(Part::Text(std::mem::take(&mut literal)));
                    parts.push(Part::AlertLabel(label.to_owned()));
                    at += len + 1;
                    continue;
                }
                let field = crate::filter::parser_field_ref(name)
                    .and_then(|(base, arg)| resolve(&base, arg.as_deref()))
                    .map_err(|m| (m, column(at + 2)))?;
                parts.push(Part::Text(std::mem::take(&mut literal)));
                parts.push(Part::Field(field));
                at += len + 1;
                continue;
            }
            let Some(c) = rest.chars().next() else { break };
            if rest.starts_with("${") && quote.is_some() {
                return Err((
                    "write ${field} without quotes: syscap quotes the value".into(),
                    column(at),
                ));
            }
            match (quote, c) {
                (Some(_), '\\') if !escaped => escaped = true,
                (Some(q), c) if c == q && !escaped => quote = None,
                (None, '\'' | '"') => quote = Some(c),
                _ => escaped = false,
            }
            literal.push(c);
            at += c.len_utf8();
        }
        parts.push(Part::Text(literal));
        let mut template = Self {
            text: text.to_owned(),
            parts,
            fixed: None,
        };
        let sample = template.fill(
            |f| match f.kind() {
                Kind::Str => "'x'".to_string(),
                Kind::Ip => "127.0.0.1".to_string(),
                Kind::Bool => "true".to_string(),
                _ => "0".to_string(),
            },
            |_| Some("'x'".to_string()),
        );
        let compiled =
            Filter::per_event(&sample).map_err(|e| (format!("capture filter: {e}"), 0))?;
        if template.parts.iter().all(|p| matches!(p, Part::Text(_))) {
            template.fixed = Some(compiled);
        }
        Ok(template)
    }

    /// The text as the rule gives it.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// True when the template names fields of the triggering event.
    pub fn has_fields(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Field(_)))
    }

    /// True when the template names labels of the triggering alert.
    pub fn has_alert_labels(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::AlertLabel(_)))
    }

    /// The filter to apply for an alert with `labels`: the compiled one, or
    /// the template filled in from the labels. `Err` says why there is
    /// none: the alert lacks a label, or the template names event fields.
    pub fn apply_alert(&self, labels: &[(String, String)]) -> Result<Filter, String> {
        if let Some(fixed) = &self.fixed {
            return Ok(fixed.clone());
        }
        if self.has_fields() {
            return Err("no event fired the rule to fill in its fields".into());
        }
        let mut missing = None;
        let text = self.fill(
            |_| String::new(),
            |label| {
                let found = labels.iter().find(|(k, _)| k == label);
                if found.is_none() {
                    missing.get_or_insert_with(|| label.to_owned());
                }
                found.map(|(_, v)| quote(Value::Str(v.as_bytes())))
            },
        );
        if let Some(label) = missing {
            return Err(format!("the alert has no label '{label}'"));
        }
        Filter::per_event(&text).map_err(|e: FilterError| e.to_string())
    }

    /// The filter to apply: the compiled one, or the template filled in from
    /// the event that fired. `Err` says why there is none: a field has no
    /// value for this event, no event fired the rule, or the filled filter
    /// is not valid.
    pub fn apply(&self, event: Option<(&Event<'_>, &Env)>) -> Result<Filter, String> {
        match (&self.fixed, event) {
            (Some(fixed), _) => Ok(fixed.clone()),
            (None, Some((e, env))) => self.render(e, env),
            (None, None) => Err("no event fired the rule to fill in its fields".into()),
        }
    }

    /// The filter for the event that fired; `Err` when a field has no value
    /// for this event, or the filled filter is not valid.
    fn render(&self, e: &Event<'_>, env: &Env) -> Result<Filter, String> {
        let mut scratch = Vec::new();
        let mut missing = None;
        let text = self.fill(
            |f| {
                let v = value(f, e, env, &mut scratch);
                if v == Value::None {
                    missing.get_or_insert(f);
                }
                quote(v)
            },
            |_| None,
        );
        if let Some(f) = missing {
            return Err(format!("{f:?} has no value for this event"));
        }
        if self.has_alert_labels() {
            return Err("no alert fired the rule to fill in its labels".into());
        }
        Filter::per_event(&text).map_err(|e: FilterError| e.to_string())
    }

    /// The text with each field's and each alert label's value (a label
    /// without one leaves `''`).
    fn fill(
        &self,
        mut value: impl FnMut(Field) -> String,
        mut label: impl FnMut(&str) -> Option<String>,
    ) -> String {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.clone(),
                Part::Field(f) => value(*f),
                Part::AlertLabel(l) => label(l).unwrap_or_else(|| "''".into()),
            })
            .collect()
    }
}

/// A value as a filter literal: numbers as they are, text quoted.
fn quote(v: Value<'_>) -> String {
    match v {
        Value::None => "''".into(),
        Value::Num(n) | Value::Frac(n) => n.to_string(),
        Value::Signed(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Ip(ip) => ip.to_string(),
        Value::Str(s) => {
            let mut out = String::from("'");
            for c in String::from_utf8_lossy(s).chars() {
                match c {
                    '\'' | '\\' => {
                        out.push('\\');
                        out.push(c);
                    }
                    '\n' => out.push_str("\\n"),
                    c => out.push(c),
                }
            }
            out.push('\'');
            out
        }
    }
}
