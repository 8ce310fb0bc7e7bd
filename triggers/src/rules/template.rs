//! Capture filters that name fields of the triggering event:
//! `container.id = ${container.id}` keeps the container that fired.

use capture_format::file::Event;

use crate::filter::fields::{Env, Field, Kind, Value, resolve, value};
use crate::filter::{Filter, FilterError};

/// A filter template.
#[derive(Clone, Debug)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Clone, Debug)]
enum Part {
    Text(String),
    Field(Field),
}

impl Template {
    /// Parses `${field}` references; `Err` gives the message and the column
    /// offset of the problem.
    pub fn parse(text: &str) -> Result<Self, (String, usize)> {
        let mut parts = Vec::new();
        let mut rest = text;
        let mut offset = 0;
        while let Some(start) = rest.find("${") {
            parts.push(Part::Text(rest[..start].to_string()));
            let Some(len) = rest[start..].find('}') else {
                return Err(("unclosed '${'".into(), offset + start));
            };
            let name = &rest[start + 2..start + len];
            let (base, arg) = match name.find('[') {
                Some(i) => (&name[..i], name[i + 1..].strip_suffix(']')),
                None => (name, None),
            };
            let field = resolve(base, arg).map_err(|m| (m, offset + start + 2))?;
            parts.push(Part::Field(field));
            offset += start + len + 1;
            rest = &rest[start + len + 1..];
        }
        parts.push(Part::Text(rest.to_string()));
        Ok(Self { parts })
    }

    /// True when the template names fields.
    pub fn has_fields(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Field(_)))
    }

    /// Checks that the template makes a valid filter for any value.
    pub fn check(&self) -> Result<(), String> {
        let sample = self.fill(|f| match f.kind() {
            Kind::Str => "'x'".to_string(),
            Kind::Ip => "127.0.0.1".to_string(),
            Kind::Bool => "true".to_string(),
            _ => "0".to_string(),
        });
        Filter::new(&sample).map(|_| ()).map_err(|e| e.to_string())
    }

    /// The filter for the event that fired.
    pub fn render(&self, e: &Event<'_>, env: &Env) -> Result<Filter, FilterError> {
        let mut scratch = Vec::new();
        let text = self.fill(|f| {
            let v = value(f, e, env, &mut scratch);
            quote(v)
        });
        Filter::new(&text)
    }

    fn fill(&self, mut value: impl FnMut(Field) -> String) -> String {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.clone(),
                Part::Field(f) => value(*f),
            })
            .collect()
    }
}

/// A value as a filter literal: numbers as they are, text quoted.
fn quote(v: Value<'_>) -> String {
    match v {
        Value::None => "''".into(),
        Value::Num(n) => n.to_string(),
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
