//! `httplog` and `httptop`: HTTP requests and their responses, found in
//! the I/O data the capture holds, as sysdig's `http.lua` finds them.
//!
//! A request is a buffer that starts with an upper-case method and a URL
//! (the `Host:` header, when there is one, goes before the URL); the next
//! buffer on the same process and fd that holds `HTTP/x.y CODE` is its
//! response, with `Content-Length` as its size. Buffers are matched as
//! sysdig's chisel sees them, non-printable bytes shown as `.`, so a line
//! break is `..`.

use std::io::{self, Write};

use capture_format::event::{Arg, Category};
use capture_format::file::{Event, Projection};
use hashbrown::HashMap;
use triggers::filter::{Env, Filter};

use crate::print::{BufferStyle, write_buffer};

use super::table::{SEP, Shown, Units};
use super::{Chisel, ChiselError, ChiselInfo, own_filter, text};

/// A request waiting for its response.
struct Request {
    method: String,
    url: String,
    /// `>` written (a client), `<` read (a server).
    dir: char,
    ts: u64,
}

/// A request and its response.
struct Transaction {
    request: Request,
    code: u32,
    length: u64,
    ts: u64,
}

/// The request in `buf` (dotted), if it is one.
fn parse_request(buf: &[u8]) -> Option<(String, String)> {
    let method_len = buf.iter().take_while(|b| b.is_ascii_uppercase()).count();
    if method_len == 0 || buf.get(method_len) != Some(&b' ') {
        return None;
    }
    let rest = &buf[method_len + 1..];
    let url_len = rest.iter().take_while(|b| b.is_ascii_graphic()).count();
    if url_len == 0 {
        return None;
    }
    let method = String::from_utf8_lossy(&buf[..method_len]).into_owned();
    let mut url = String::from_utf8_lossy(&rest[..url_len]).into_owned();
    if let Some(host) = header(buf, b"Host: ") {
        url.insert_str(0, &String::from_utf8_lossy(host));
    }
    Some((method, url))
}

/// The value of the first header `name` followed by a line break: Lua's
/// `name(%g+)%.%.`, whose greedy `%g+` ends at the last `..` of the
/// printable run.
fn header<'b>(buf: &'b [u8], name: &[u8]) -> Option<&'b [u8]> {
    let mut from = 0;
    while let Some(at) = find(&buf[from..], name) {
        let start = from + at + name.len();
        let run = buf[start..]
            .iter()
            .take_while(|b| b.is_ascii_graphic())
            .count();
        let value = &buf[start..start + run];
        if let Some(end) = (1..value.len().saturating_sub(1))
            .rev()
            .find(|&i| &value[i..i + 2] == b"..")
        {
            return Some(&value[..end]);
        }
        from = start;
    }
    None
}

/// Lua's `Content%-Length: (%d+)%.%.`; 0 without one.
fn content_length(buf: &[u8]) -> u64 {
    const NAME: &[u8] = b"Content-Length: ";
    let mut from = 0;
    while let Some(at) = find(&buf[from..], NAME) {
        let start = from + at + NAME.len();
        let digits = buf[start..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits > 0 && buf[start + digits..].starts_with(b"..") {
            return std::str::from_utf8(&buf[start..start + digits])
                .ok()
                .and_then(|d| d.parse().ok())
                .unwrap_or(u64::MAX);
        }
        from = start;
    }
    0
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The status code and `Content-Length` (0 without one) of the response
/// in `buf` (dotted), if it is one: Lua's `HTTP/[%g]+ (%d+)`.
fn parse_response(buf: &[u8]) -> Option<(u32, u64)> {
    let mut from = 0;
    while let Some(at) = find(&buf[from..], b"HTTP/") {
        let start = from + at + 5;
        let run = buf[start..]
            .iter()
            .take_while(|b| b.is_ascii_graphic())
            .count();
        // The greedy run gives back characters until a space and digits
        // follow; only its end can be followed by a space.
        let after = &buf[start + run..];
        if run > 0 && after.first() == Some(&b' ') {
            let digits = after[1..].iter().take_while(|b| b.is_ascii_digit()).count();
            if digits > 0 {
                let code = std::str::from_utf8(&after[1..=digits])
                    .ok()
                    .and_then(|d| d.parse().ok())
                    .unwrap_or(u32::MAX);
                return Some((code, content_length(buf)));
            }
        }
        from = start;
    }
    None
}

/// Pairs requests with responses per (pid, fd).
#[derive(Default)]
struct Parser {
    pending: HashMap<(i64, i64), Request>,
    buf: Vec<u8>,
}

impl Parser {
    fn event(&mut self, e: &Event<'_>) -> Option<Transaction> {
        let Some(Arg::Bytes(data)) = e.arg_named("data") else {
            return None;
        };
        self.buf.clear();
        write_buffer(data, BufferStyle::Dots, &mut self.buf);
        let key = (e.pid(), e.fd().map_or(-1, |f| f.num()));
        let ts = e.ts_exit();
        if let Some(request) = self.pending.remove(&key) {
            if let Some((code, length)) = parse_response(&self.buf) {
                return Some(Transaction {
                    request,
                    code,
                    length,
                    ts,
                });
            }
            self.pending.insert(key, request);
        } else if let Some((method, url)) = parse_request(&self.buf) {
            let category = e.ty().info().category.0;
            let dir = if category & Category::IO_READ.0 != 0 {
                '<'
            } else {
                '>'
            };
            self.pending.insert(
                key,
                Request {
                    method,
                    url,
                    dir,
                    ts,
                },
            );
        }
        None
    }
}

const HTTP_FILTER: &str =
    "evt.is_io = true and evt.buflen > 0 and (fd.sockfamily = ip or fd.sockfamily = unix)";

/// `httplog`: one line per transaction.
struct HttpLog {
    filter: Filter,
    parser: Parser,
}

impl Chisel for HttpLog {
    fn projection(&self) -> Projection {
        Projection::ALL
    }

    fn filter(&self) -> Option<&Filter> {
        Some(&self.filter)
    }

    fn event(&mut self, e: &Event<'_>, _: &Env, out: &mut dyn Write) -> io::Result<()> {
        let Some(t) = self.parser.event(e) else {
            return Ok(());
        };
        let when = jiff::Timestamp::from_nanosecond(i128::from(t.ts))
            .unwrap_or_default()
            .to_zoned(jiff::tz::TimeZone::UTC)
            .strftime("%Y-%m-%d %H:%M:%S%.9f")
            .to_string();
        writeln!(
            out,
            "{when} {} method={} url={} response_code={} latency={}ms size={}B",
            t.request.dir,
            text(t.request.method.as_bytes()),
            text(t.request.url.as_bytes()),
            t.code,
            t.ts.saturating_sub(t.request.ts) / 1_000_000,
            t.length
        )
    }
}

pub(super) const HTTPLOG: ChiselInfo = ChiselInfo {
    name: "httplog",
    description: "HTTP requests log",
    args: &[],
    optional: &[],
    make: |_, _| {
        Ok(Box::new(HttpLog {
            filter: own_filter(HTTP_FILTER),
            parser: Parser::default(),
        }))
    },
};

#[derive(Clone, Copy, PartialEq, Eq)]
enum By {
    Calls,
    Time,
    Bytes,
}

/// `httptop`: transactions by method and URL.
struct HttpTop {
    filter: Filter,
    parser: Parser,
    by: By,
    /// (transactions, sum of the value) per key.
    totals: HashMap<Box<[u8]>, (u64, u64)>,
}

impl Chisel for HttpTop {
    fn projection(&self) -> Projection {
        Projection::ALL
    }

    fn filter(&self) -> Option<&Filter> {
        Some(&self.filter)
    }

    fn event(&mut self, e: &Event<'_>, _: &Env, _: &mut dyn Write) -> io::Result<()> {
        let Some(t) = self.parser.event(e) else {
            return Ok(());
        };
        let mut key = Vec::with_capacity(t.request.method.len() + t.request.url.len() + 2);
        key.extend_from_slice(t.request.method.as_bytes());
        key.extend_from_slice(SEP);
        key.extend_from_slice(t.request.url.as_bytes());
        let value = match self.by {
            By::Calls => 0,
            By::Time => t.ts.saturating_sub(t.request.ts),
            By::Bytes => t.length,
        };
        let entry = self.totals.entry(key.into_boxed_slice()).or_default();
        // Sums of a hostile capture's times saturate rather than wrap.
        entry.0 += 1;
        entry.1 = entry.1.saturating_add(value);
        Ok(())
    }

    fn finish(&mut self, out: &mut dyn Write, json: bool) -> io::Result<()> {
        let shown: HashMap<Box<[u8]>, u64> = self
            .totals
            .drain()
            .map(|(k, (n, sum))| {
                let v = match self.by {
                    By::Calls => n,
                    By::Time => sum / n.max(1),
                    By::Bytes => sum,
                };
                (k, v)
            })
            .collect();
        let (name, units) = match self.by {
            By::Calls => ("ncalls", Units::None),
            By::Time => ("time", Units::Time),
            By::Bytes => ("bytes", Units::Bytes),
        };
        Shown {
            value_name: name,
            key_names: &["method", "url"],
            units,
            span: 0,
            top: 30,
            when_empty: None,
        }
        .write(&shown, out, json)
    }
}

pub(super) const HTTPTOP: ChiselInfo = ChiselInfo {
    name: "httptop",
    description: "Top HTTP requests by ncalls, time or bytes",
    args: &[],
    optional: &[("by", "ncalls (the default), time or bytes")],
    make: |name, args| {
        let by = match args.first().map(String::as_str) {
            None | Some("ncalls") => By::Calls,
            Some("time") => By::Time,
            Some("bytes") => By::Bytes,
            Some(other) => {
                return Err(ChiselError::Args {
                    chisel: name,
                    message: format!("{other:?}: by is ncalls, time or bytes"),
                });
            }
        };
        Ok(Box::new(HttpTop {
            filter: own_filter(HTTP_FILTER),
            parser: Parser::default(),
            by,
            totals: HashMap::new(),
        }))
    },
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_responses_as_sysdig_finds_them() {
        let request =
            b"GET /search?q=1 HTTP/1.1..Host: www.google.com..User-Agent: curl/7.47.0....";
        assert_eq!(
            parse_request(request),
            Some(("GET".into(), "www.google.com/search?q=1".into()))
        );
        assert_eq!(
            parse_request(b"POST /x HTTP/1.1...."),
            Some(("POST".into(), "/x".into()))
        );
        for not_one in [&b"get / HTTP/1.1"[..], b"GET", b"GET  /", b" GET /", b""] {
            assert_eq!(parse_request(not_one), None, "{not_one:?}");
        }
        let response = b"HTTP/1.1 200 OK..Date: x..Content-Length: 1270..Server: gws....";
        assert_eq!(parse_response(response), Some((200, 1270)));
        assert_eq!(
            parse_response(b"HTTP/1.1 404 Not Found...."),
            Some((404, 0))
        );
        assert_eq!(
            parse_response(b"xx HTTP/1.0 301 ..Content-Length: 12a.."),
            Some((301, 0))
        );
        assert_eq!(parse_response(b"HTTP/1.1 OK"), None);
        assert_eq!(parse_response(b"<html>"), None);
    }
}
