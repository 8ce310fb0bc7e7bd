//! One line per event: a default line readable like strace, sysdig-style
//! `-p` formats of `%field` tokens, or JSON lines keyed by field name.

use std::io::{self, Write};

use capture_format::escape::{escape_into, is_plain};
use capture_format::event::{ArgKind, is_error_return};
use capture_format::file::{Event, Projection};
use capture_format::render::{Bytes, render_arg, render_ends, render_ret, write_clock};
use triggers::filter::fields::value;
use triggers::filter::{Env, Field, Value};

/// A piece of a `-p` format.
#[derive(Clone, Debug)]
pub enum Piece {
    /// Literal text.
    Text(String),
    /// A field, and the name it was given by.
    Field(Field, String),
    /// The format started with `*`: print a line even when a field has no
    /// value (sysdig skips such lines otherwise).
    ShowIncomplete,
}

/// How events are printed.
#[derive(Clone, Debug)]
pub enum Format {
    /// `NUM TIME PROC(TID) TYPE(ARGS) = RET <LATENCY>`.
    Default,
    /// A `-p` format.
    Template(Vec<Piece>),
    /// JSON lines; with fields, only those.
    Json(Option<Vec<Piece>>),
}

/// A `-p` format that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("-p format: {message} at column {column}")]
pub struct FormatError {
    message: String,
    column: usize,
}

impl Format {
    /// Parses a sysdig-style format: text with `%field` tokens
    /// (`%evt.num %proc.name %evt.arg.fd`); `%%` is a percent sign.
    pub fn template(text: &str) -> Result<Vec<Piece>, FormatError> {
        let mut pieces = Vec::new();
        let text = match text.strip_prefix('*') {
            Some(rest) => {
                pieces.push(Piece::ShowIncomplete);
                rest
            }
            None => text,
        };
        let mut literal = String::new();
        let mut chars = text.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            if c != '%' {
                literal.push(c);
                continue;
            }
            if chars.peek().is_some_and(|&(_, c)| c == '%') {
                chars.next();
                literal.push('%');
                continue;
            }
            let start = at + 1;
            let mut end = start;
            while let Some(&(i, c)) = chars.peek() {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '[' | ']') {
                    end = i + c.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            let name = text[start..end].trim_end_matches('.');
            let field = triggers::filter::field(name).map_err(|message| FormatError {
                message: if name.is_empty() {
                    "a field name must follow '%'".to_owned()
                } else {
                    message
                },
                column: start + 1,
            })?;
            if !literal.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut literal)));
            }
            pieces.push(Piece::Field(field, name.to_owned()));
            // A trailing '.' was punctuation, not part of the name.
            if text[start..end].ends_with('.') {
                literal.push('.');
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(pieces)
    }

    /// The columns printing needs.
    pub fn projection(&self) -> Projection {
        let fields = |pieces: &[Piece]| {
            pieces
                .iter()
                .fold(Projection::MINIMAL, |p, piece| match piece {
                    Piece::Field(f, _) => p | f.projection(),
                    Piece::Text(_) | Piece::ShowIncomplete => p,
                })
        };
        match self {
            Format::Default | Format::Json(None) => Projection::ALL,
            Format::Template(p) | Format::Json(Some(p)) => fields(p),
        }
    }
}

/// Prints events; reuses its buffers, so printing allocates nothing per
/// event. Text lines show names with their control characters escaped
/// (`\x1b`, `\n`: see [`capture_format::escape`]); JSON is exact.
#[derive(Debug)]
pub struct Printer {
    format: Format,
    env: Env,
    line: Vec<u8>,
    scratch: Vec<u8>,
    /// The default line before escaping, when it needs any.
    unescaped: Vec<u8>,
    clock: Clock,
}

/// `HH:MM:SS.nnnnnnnnn` of a time, with the calendar work done once per
/// second: converting every event's time to a date was most of the cost of
/// printing.
#[derive(Debug, Default)]
struct Clock {
    second: Option<u64>,
    hms: Vec<u8>,
}

impl Clock {
    fn write(&mut self, ns: u64, out: &mut Vec<u8>) {
        let second = ns / 1_000_000_000;
        if self.second != Some(second) {
            self.hms.clear();
            write_clock(second * 1_000_000_000, &mut Bytes(&mut self.hms));
            self.hms.truncate(self.hms.len().saturating_sub(10)); // ".000000000"
            self.second = Some(second);
        }
        out.extend_from_slice(&self.hms);
        let _ = write!(out, ".{:09}", ns % 1_000_000_000);
    }
}

impl Printer {
    /// A printer of `format`; `env` gives relative times their origin.
    pub fn new(format: Format, env: Env) -> Self {
        Self {
            format,
            env,
            line: Vec::with_capacity(512),
            scratch: Vec::new(),
            unescaped: Vec::new(),
            clock: Clock::default(),
        }
    }

    /// Writes the line of `e` to `out`.
    pub fn print(&mut self, e: &Event<'_>, out: &mut impl Write) -> io::Result<()> {
        self.line.clear();
        match &self.format {
            Format::Default => {
                default_line(e, &mut self.clock, &mut self.line);
                // Everything but the names is printable ASCII: one check
                // of the whole line finds any name that needs escaping.
                if !is_plain(&self.line) {
                    std::mem::swap(&mut self.line, &mut self.unescaped);
                    self.line.clear();
                    escape_into(&self.unescaped, &mut self.line);
                }
            }
            Format::Template(pieces) => {
                let show_incomplete = matches!(pieces.first(), Some(Piece::ShowIncomplete));
                for piece in pieces {
                    match piece {
                        Piece::Text(t) => self.line.extend_from_slice(t.as_bytes()),
                        Piece::Field(f, _) => {
                            let v = value(*f, e, &self.env, &mut self.scratch);
                            if matches!(v, Value::None) && !show_incomplete {
                                // As sysdig: a line with a field that has no
                                // value is not printed.
                                return Ok(());
                            }
                            show_value(&v, &mut self.line);
                        }
                        Piece::ShowIncomplete => {}
                    }
                }
            }
            Format::Json(None) => json_default(e, &self.env, &mut self.line, &mut self.scratch),
            Format::Json(Some(pieces)) => {
                self.line.push(b'{');
                let mut first = true;
                for piece in pieces {
                    if let Piece::Field(f, name) = piece {
                        if !first {
                            self.line.push(b',');
                        }
                        first = false;
                        json_str(name.as_bytes(), &mut self.line);
                        self.line.push(b':');
                        let v = value(*f, e, &self.env, &mut self.scratch);
                        json_value(&v, &mut self.line);
                    }
                }
                self.line.push(b'}');
            }
        }
        self.line.push(b'\n');
        out.write_all(&self.line)
    }
}

/// A value as sysdig prints it; `<NA>` when the event has none.
pub fn write_value(v: &Value<'_>, out: &mut Vec<u8>) {
    match v {
        Value::None => out.extend_from_slice(b"<NA>"),
        Value::Num(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Signed(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Str(s) => out.extend_from_slice(s),
        Value::Ip(ip) => {
            let _ = write!(out, "{ip}");
        }
    }
}

/// A value as people read it: as [`write_value`] writes it, a name's
/// control characters escaped (`\x1b`, `\n`).
pub fn show_value(v: &Value<'_>, out: &mut Vec<u8>) {
    match v {
        Value::Str(s) => escape_into(s, out),
        other => write_value(other, out),
    }
}

fn json_value(v: &Value<'_>, out: &mut Vec<u8>) {
    match v {
        Value::None => out.extend_from_slice(b"null"),
        Value::Str(s) => json_str(s, out),
        Value::Ip(ip) => {
            let _ = write!(out, "\"{ip}\"");
        }
        other => write_value(other, out),
    }
}

/// A JSON string; bytes that are not UTF-8 become U+FFFD.
fn json_str(s: &[u8], out: &mut Vec<u8>) {
    let text = String::from_utf8_lossy(s);
    let _ = serde_json::to_writer(&mut *out, text.as_ref());
}

/// `NUM TIME PROC(TID) TYPE(ARGS) = RET <LATENCY>`, like strace with the
/// process and time first; events that are not system calls show their
/// arguments without a result.
fn default_line(e: &Event<'_>, clock: &mut Clock, out: &mut Vec<u8>) {
    let _ = write!(out, "{} ", e.num());
    clock.write(e.ts(), out);
    out.push(b' ');
    match e.thread() {
        Some(t) => {
            out.extend_from_slice(t.comm());
            let _ = write!(out, "({})", t.tid());
        }
        None => {
            let _ = write!(out, "<NA>({})", e.tid());
        }
    }
    out.push(b' ');
    let info = e.ty().info();
    out.extend_from_slice(info.name.as_bytes());
    out.push(b'(');
    for (i, arg) in e.args().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        let (name, kind) = info
            .args
            .get(i)
            .map_or(("arg", ArgKind::Hex), |a| (a.name, a.kind));
        out.extend_from_slice(name.as_bytes());
        out.push(b'=');
        render_arg(e, kind, arg, &mut Bytes(out));
    }
    out.push(b')');
    if e.ty().is_syscall() {
        if e.returned() {
            out.extend_from_slice(b" = ");
            if e.has_result() {
                render_ret(e, &mut Bytes(out));
            } else {
                out.push(b'?');
            }
            if e.has_latency() {
                let lat = e.latency();
                let _ = write!(
                    out,
                    " <{}.{:06}>",
                    lat / 1_000_000_000,
                    (lat % 1_000_000_000) / 1000
                );
            }
        } else {
            out.extend_from_slice(b" = ?");
        }
    }
}

/// Every common field of `e`, keyed by the filter language's names.
fn json_default(e: &Event<'_>, env: &Env, out: &mut Vec<u8>, scratch: &mut Vec<u8>) {
    out.push(b'{');
    let _ = write!(out, "\"evt.num\":{},\"evt.time\":", e.num());
    scratch.clear();
    let ts = jiff::Timestamp::from_nanosecond(i128::from(e.ts())).unwrap_or_default();
    let _ = write!(
        out,
        "\"{ts}\",\"evt.rawtime\":{},\"evt.cpu\":{}",
        e.ts(),
        e.cpu()
    );
    let _ = env;
    out.extend_from_slice(b",\"proc.name\":");
    match e.thread() {
        Some(t) => {
            json_str(t.comm(), out);
            let _ = write!(out, ",\"thread.tid\":{},\"proc.pid\":{}", t.tid(), t.pid());
        }
        None => {
            let _ = write!(
                out,
                "null,\"thread.tid\":{},\"proc.pid\":{}",
                e.tid(),
                e.pid()
            );
        }
    }
    out.extend_from_slice(b",\"evt.type\":");
    json_str(e.ty().name().as_bytes(), out);
    if e.has_result() {
        let ret = e.ret();
        out.extend_from_slice(b",\"evt.res\":");
        if is_error_return(ret) {
            let name = capture_format::event::errno_name(-ret).unwrap_or("error");
            json_str(name.as_bytes(), out);
        } else {
            json_str(b"SUCCESS", out);
        }
        let _ = write!(out, ",\"evt.rawres\":{ret}");
    }
    if e.has_latency() {
        let _ = write!(out, ",\"evt.latency\":{}", e.latency());
    }
    if let Some(fd) = e.fd() {
        out.extend_from_slice(b",\"fd.name\":");
        scratch.clear();
        render_ends(fd.ends(), fd.name(), &mut Bytes(scratch));
        json_str(scratch, out);
    }
    out.extend_from_slice(b",\"evt.args\":{");
    let info = e.ty().info();
    for (i, arg) in e.args().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let (name, kind) = info
            .args
            .get(i)
            .map_or(("arg", ArgKind::Hex), |a| (a.name, a.kind));
        json_str(name.as_bytes(), out);
        out.push(b':');
        scratch.clear();
        render_arg(e, kind, arg, &mut Bytes(scratch));
        json_str(scratch, out);
    }
    out.extend_from_slice(b"}}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse_fields_and_text() {
        let pieces = Format::template("%evt.num %proc.name: %evt.arg.fd 100%% done.").unwrap();
        let shown: Vec<String> = pieces
            .iter()
            .map(|p| match p {
                Piece::Text(t) => format!("T({t})"),
                Piece::Field(_, n) => format!("F({n})"),
                Piece::ShowIncomplete => "*".to_owned(),
            })
            .collect();
        assert_eq!(
            shown,
            [
                "F(evt.num)",
                "T( )",
                "F(proc.name)",
                "T(: )",
                "F(evt.arg.fd)",
                "T( 100% done.)"
            ]
        );
        let trailing = Format::template("at %evt.time.").unwrap();
        assert!(
            matches!(&trailing[..], [Piece::Text(_), Piece::Field(_, n), Piece::Text(t)] if n == "evt.time" && t == ".")
        );
    }

    #[test]
    fn template_errors_name_the_column() {
        let e = Format::template("%evt.num %proc.nme").unwrap_err();
        assert_eq!(e.column, 11);
        assert!(e.to_string().contains("proc.nme"), "{e}");
        let e = Format::template("50% %").unwrap_err();
        assert_eq!(
            e.to_string(),
            "-p format: a field name must follow '%' at column 4"
        );
    }
}
