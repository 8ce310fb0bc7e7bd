//! One line per event: a default line readable like strace, sysdig-style
//! `-p` formats of `%field` tokens, or JSON lines keyed by field name.

use std::io::{self, Write};

use capture_format::escape::{escape_into, is_plain};
use capture_format::event::{Arg, ArgKind, is_error_return};
use capture_format::file::{Event, Projection};
use capture_format::render::{Bytes, render_arg, render_ends, render_ret, write_clock};
use triggers::filter::fields::{ArgSel, value};
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
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_') {
                    end = i + c.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            // An argument in brackets (`%proc.aname[2]`,
            // `%k8s.pod.label[app.kubernetes.io/name]`) ends at its `]`,
            // for a field that takes one; otherwise brackets are text
            // (`[%fd.sproto]`, `%proc.name[%proc.pid]`), as in sysdig.
            if chars.peek().is_some_and(|&(_, c)| c == '[') {
                let mut ahead = chars.clone();
                let close = ahead.find(|&(_, c)| c == ']').map(|(i, _)| i + 1);
                if let Some(close) = close
                    && triggers::filter::field(&text[start..close]).is_ok()
                {
                    chars = ahead;
                    end = close;
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

/// How data buffers (the `data` argument of reads and writes,
/// `%evt.buffer`) are shown, as sysdig's `-A`, `-x`, `-X` and `-b` show
/// them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BufferStyle {
    /// Printable ASCII as is, other bytes as `.` (sysdig's default).
    #[default]
    Dots,
    /// `-A`: a newline, then only the printable ASCII and the line ends
    /// (`\r`, `\n` and `\r\n` each a newline).
    Ascii,
    /// `-x`: lines of `\t0xOFFS: 0102 0304 ...`, 16 bytes each.
    Hex,
    /// `-X`: as `-x`, then the 16 bytes as ASCII (others as `.`).
    HexAscii,
    /// `-b`: base64 (standard alphabet, padded).
    Base64,
}

/// How the default line shows an event's time, as sysdig's `-t` does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TimeStyle {
    /// `h`: the time of day (UTC), `HH:MM:SS.nnnnnnnnn`.
    #[default]
    Human,
    /// `a`: seconds since the epoch, `1534527348.514632619`.
    Absolute,
    /// `r`: seconds since the capture's start.
    Relative,
    /// `d`: the call's latency (its enter to its exit); 0 when unknown.
    Latency,
    /// `D`: seconds since the event printed before it (0 for the first).
    SincePrevious,
}

/// What the default line shows before the process, as sysdig's `-pc` and
/// `-pk` add to its own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Columns {
    /// `NUM TIME PROC(TID) ...`.
    #[default]
    Plain,
    /// `-pc`: `NUM TIME CONTAINER.NAME (CONTAINER.ID) PROC(TID) ...`.
    Container,
    /// `-pk`: `NUM TIME K8S.POD.NAME (CONTAINER.ID) PROC(TID) ...`.
    Kubernetes,
}

/// sysdig's display options of `print`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// `-A`, `-x`, `-X`, `-b`.
    pub buffers: BufferStyle,
    /// `-t`.
    pub time: TimeStyle,
    /// `-pc`, `-pk`.
    pub columns: Columns,
}

/// Prints events; reuses its buffers, so printing allocates nothing per
/// event. Text lines show names with their control characters escaped
/// (`\x1b`, `\n`: see [`capture_format::escape`]), except the newlines
/// and tabs `-A`, `-x` and `-X` lay buffers out with (all other control
/// characters of a buffer are dropped or shown as `.` or hex); JSON is
/// exact.
#[derive(Debug)]
pub struct Printer {
    format: Format,
    env: Env,
    options: Options,
    line: Vec<u8>,
    scratch: Vec<u8>,
    /// The default line before escaping, when it needs any.
    unescaped: Vec<u8>,
    /// Where in the line buffers laid out by `-A`/`-x`/`-X` are: they are
    /// not escaped.
    laid_out: Vec<std::ops::Range<usize>>,
    clock: Clock,
    /// `container.name`, `container.id`, `k8s.pod.name`, for `-pc`/`-pk`.
    container_fields: [Field; 3],
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
        Self::with_options(format, env, Options::default())
    }

    /// A printer of `format` with sysdig's display options.
    ///
    /// # Panics
    ///
    /// Never: the container fields are the filter language's own.
    pub fn with_options(format: Format, env: Env, options: Options) -> Self {
        let known = |name| triggers::filter::field(name).expect("a field of the catalogue");
        Self {
            format,
            env,
            options,
            line: Vec::with_capacity(512),
            scratch: Vec::new(),
            unescaped: Vec::new(),
            laid_out: Vec::new(),
            clock: Clock::default(),
            container_fields: [
                known("container.name"),
                known("container.id"),
                known("k8s.pod.name"),
            ],
        }
    }

    /// Writes the line of `e` to `out`.
    pub fn print(&mut self, e: &Event<'_>, out: &mut impl Write) -> io::Result<()> {
        self.line.clear();
        match &self.format {
            Format::Default => {
                self.laid_out.clear();
                self.default_line(e);
                // Everything but the names (and laid-out buffers) is
                // printable ASCII: one check of the whole line finds any
                // name that needs escaping.
                if !is_plain(&self.line) {
                    std::mem::swap(&mut self.line, &mut self.unescaped);
                    self.line.clear();
                    let mut at = 0;
                    for span in &self.laid_out {
                        escape_into(&self.unescaped[at..span.start], &mut self.line);
                        self.line.extend_from_slice(&self.unescaped[span.clone()]);
                        at = span.end;
                    }
                    escape_into(&self.unescaped[at..], &mut self.line);
                }
            }
            Format::Template(pieces) => {
                let show_incomplete = matches!(pieces.first(), Some(Piece::ShowIncomplete));
                for piece in pieces {
                    match piece {
                        Piece::Text(t) => self.line.extend_from_slice(t.as_bytes()),
                        Piece::Field(f, _) => {
                            if self.options.buffers != BufferStyle::Dots
                                && let Some(data) = buffer_of(*f, e)
                            {
                                write_buffer(data, self.options.buffers, &mut self.line);
                                continue;
                            }
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
        // The time `-t D` and `evt.deltatime` count from.
        self.env.previous = Some(e.ts());
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
        Value::Frac(n) => {
            let _ = write!(out, "{n:09}");
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
        Value::Frac(n) => {
            let _ = write!(out, "{n}");
        }
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

impl Printer {
    /// `NUM TIME PROC(TID) TYPE(ARGS) = RET <LATENCY>`, like strace with
    /// the process and time first; events that are not system calls show
    /// their arguments without a result.
    fn default_line(&mut self, e: &Event<'_>) {
        let out = &mut self.line;
        let _ = write!(out, "{} ", e.num());
        match self.options.time {
            TimeStyle::Human => self.clock.write(e.ts(), out),
            TimeStyle::Absolute => write_seconds(e.ts(), out),
            TimeStyle::Relative => {
                write_seconds(e.ts().saturating_sub(self.env.capture_start), out);
            }
            TimeStyle::Latency => {
                write_seconds(if e.has_latency() { e.latency() } else { 0 }, out);
            }
            TimeStyle::SincePrevious => {
                let previous = self.env.previous;
                write_seconds(previous.map_or(0, |p| e.ts().saturating_sub(p)), out);
            }
        }
        out.push(b' ');
        if self.options.columns != Columns::Plain {
            let [name, id, pod] = self.container_fields;
            let first = if self.options.columns == Columns::Container {
                name
            } else {
                pod
            };
            show_value(&value(first, e, &self.env, &mut self.scratch), out);
            out.extend_from_slice(b" (");
            show_value(&value(id, e, &self.env, &mut self.scratch), out);
            out.extend_from_slice(b") ");
        }
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
            match arg {
                Arg::Bytes(data) if self.options.buffers != BufferStyle::Dots => {
                    let start = out.len();
                    write_buffer(data, self.options.buffers, out);
                    self.laid_out.push(start..out.len());
                }
                _ => render_arg(e, kind, arg, &mut Bytes(out)),
            }
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
}

/// Nanoseconds as sysdig's `-t a`, `r`, `d` and `D` show them:
/// `SECONDS.NNNNNNNNN`.
fn write_seconds(ns: u64, out: &mut Vec<u8>) {
    let _ = write!(out, "{}.{:09}", ns / 1_000_000_000, ns % 1_000_000_000);
}

/// The data buffer a `-p` field shows, if it shows one: `%evt.buffer`, or
/// `%evt.arg.NAME`/`%evt.arg[N]` of a buffer argument.
fn buffer_of<'a>(field: Field, e: &Event<'a>) -> Option<&'a [u8]> {
    let i = match field {
        Field::EvtBuffer => {
            return e.args().find_map(|a| match a {
                Arg::Bytes(b) => Some(b),
                _ => None,
            });
        }
        Field::EvtArg(ArgSel::Name(name)) => e.ty().info().arg_index(name)?,
        Field::EvtArg(ArgSel::Index(i)) => usize::try_from(i).ok()?,
        _ => return None,
    };
    match e.arg(i) {
        Arg::Bytes(b) => Some(b),
        _ => None,
    }
}

/// Lower-case hex digits.
const HEX: &[u8; 16] = b"0123456789abcdef";

/// Bytes per line of `-x` and `-X`, shown in groups of two.
const HEX_LINE: usize = 16;

/// Writes a data buffer in `style`, as sysdig 0.29.3 does; nothing it
/// writes is a control character but the newlines and tabs of the layout.
/// An empty buffer is nothing, in every style.
pub fn write_buffer(data: &[u8], style: BufferStyle, out: &mut Vec<u8>) {
    use base64::Engine as _;
    if data.is_empty() {
        return;
    }
    let printable = |b: u8| (0x20..0x7f).contains(&b);
    match style {
        BufferStyle::Dots => out.extend(data.iter().map(|&b| if printable(b) { b } else { b'.' })),
        BufferStyle::Ascii => {
            // As sysdig: a carriage return is a newline, and so is a line
            // feed but right after one (`\r\n` is one newline) or at the
            // very start of the data (libs skips that one too).
            out.push(b'\n');
            let mut previous = b'\r';
            for &b in data {
                if printable(b) {
                    out.push(b);
                } else if b == b'\r' || (b == b'\n' && previous != b'\r') {
                    out.push(b'\n');
                }
                previous = b;
            }
        }
        BufferStyle::Hex | BufferStyle::HexAscii => {
            for (n, line) in data.chunks(HEX_LINE).enumerate() {
                let _ = write!(out, "\n\t0x{:04x}:", n * HEX_LINE);
                for pair in line.chunks(2) {
                    out.push(b' ');
                    for &b in pair {
                        out.extend_from_slice(&[
                            HEX[usize::from(b >> 4)],
                            HEX[usize::from(b & 15)],
                        ]);
                    }
                }
                if style == BufferStyle::HexAscii {
                    let missing = HEX_LINE / 2 - line.len().div_ceil(2);
                    out.resize(out.len() + missing * 5 + 2, b' ');
                    out.extend(line.iter().map(|&b| if printable(b) { b } else { b'.' }));
                }
            }
            out.push(b'\n');
        }
        BufferStyle::Base64 => {
            let engine = &base64::engine::general_purpose::STANDARD;
            let start = out.len();
            out.resize(
                start + base64::encoded_len(data.len(), true).unwrap_or(0),
                0,
            );
            let written = engine.encode_slice(data, &mut out[start..]).unwrap_or(0);
            out.truncate(start + written);
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

    /// A template's pieces, written `F(field)`, `T(text)` and `*`.
    fn shown(pieces: &[Piece]) -> Vec<String> {
        pieces
            .iter()
            .map(|p| match p {
                Piece::Text(t) => format!("T({t})"),
                Piece::Field(_, n) => format!("F({n})"),
                Piece::ShowIncomplete => "*".to_owned(),
            })
            .collect()
    }

    #[test]
    fn templates_parse_fields_and_text() {
        let pieces = Format::template("%evt.num %proc.name: %evt.arg.fd 100%% done.").unwrap();
        assert_eq!(
            shown(&pieces),
            [
                "F(evt.num)",
                "T( )",
                "F(proc.name)",
                "T(: )",
                "F(evt.arg.fd)",
                "T( 100% done.)"
            ]
        );
        let bracketed =
            Format::template("[%fd.sproto] %proc.aname[2]] %proc.name[%proc.pid]").unwrap();
        assert_eq!(
            shown(&bracketed),
            [
                "T([)",
                "F(fd.sproto)",
                "T(] )",
                "F(proc.aname[2])",
                "T(] )",
                "F(proc.name)",
                "T([)",
                "F(proc.pid)",
                "T(])"
            ]
        );
        let trailing = Format::template("at %evt.time.").unwrap();
        assert!(
            matches!(&trailing[..], [Piece::Text(_), Piece::Field(_, n), Piece::Text(t)] if n == "evt.time" && t == ".")
        );
    }

    #[test]
    fn buffers_in_each_style() {
        let cases: &[(&[u8], BufferStyle, &str)] = &[
            (b"", BufferStyle::Ascii, ""),
            (b"", BufferStyle::Hex, ""),
            (b"a\x1bb\r\nc\rd\ne\t", BufferStyle::Dots, "a.b..c.d.e."),
            (b"a\x1bb\r\nc\rd\ne\t", BufferStyle::Ascii, "\nab\nc\nd\ne"),
            (b"\nA\n\r\nB\t\x07", BufferStyle::Ascii, "\nA\n\nB"),
            (b"abc", BufferStyle::Hex, "\n\t0x0000: 6162 63\n"),
            (
                b"0123456789abcdef\x00",
                BufferStyle::Hex,
                "\n\t0x0000: 3031 3233 3435 3637 3839 6162 6364 6566\n\t0x0010: 00\n",
            ),
            (
                b"abc",
                BufferStyle::HexAscii,
                "\n\t0x0000: 6162 63                                abc\n",
            ),
            (b"ab\x00", BufferStyle::Base64, "YWIA"),
            (b"a", BufferStyle::Base64, "YQ=="),
        ];
        for (data, style, want) in cases {
            let mut out = b"x=".to_vec();
            write_buffer(data, *style, &mut out);
            assert_eq!(
                String::from_utf8_lossy(&out[2..]),
                *want,
                "{data:?} {style:?}"
            );
        }
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
