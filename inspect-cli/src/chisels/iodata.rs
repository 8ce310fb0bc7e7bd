//! The chisels that follow I/O as it happens: `iobytes`, `iobytes_file`
//! and `iobytes_net` (bytes in and out each second), `stdin`, `stdout` and
//! `stderr` (what went through fd 0, 1 or 2), and `spy_port`, `spy_ip` and
//! `spy_file` (the data exchanged with a port, an address or files).

use std::io::{self, Write};

use crate::print::{BufferStyle, write_buffer};
use capture_format::escape::escape_into;
use capture_format::event::Category;
use capture_format::file::{Event, Projection};
use triggers::filter::{Env, Filter};

use super::{Chisel, ChiselError, ChiselInfo, format_bytes, own_filter};

/// A chisel's interval callback, as sysdig runs it on a file: it fires at
/// the first event (before the chisel's own filter) whose second differs
/// from the previous firing's, and shows that event's time.
pub(super) const SECOND: u64 = 1_000_000_000;

/// Whether `e` read (rather than wrote).
fn is_read(e: &Event<'_>) -> bool {
    e.ty().info().category.0 & Category::IO_READ.0 != 0
}

/// The bytes a call moved: its return value when positive.
fn moved(e: &Event<'_>) -> u64 {
    u64::try_from(e.ret()).unwrap_or(0)
}

/// `HH:MM:SS` (sysdig's `evt.time.s`).
fn clock_s(ns: u64) -> String {
    let ts = jiff::Timestamp::from_nanosecond(i128::from(ns)).unwrap_or_default();
    ts.to_zoned(jiff::tz::TimeZone::UTC)
        .strftime("%H:%M:%S")
        .to_string()
}

/// `HH:MM:SS.nnnnnnnnn` (sysdig's `evt.time`).
fn clock_ns(ns: u64) -> String {
    format!("{}.{:09}", clock_s(ns), ns % SECOND)
}

/// I/O data as written to a terminal: the line breaks kept, every other
/// control character escaped (`\x1b`), so that captured bytes cannot
/// drive the terminal.
fn lines(data: &[u8], out: &mut Vec<u8>) {
    for (i, line) in data.split(|&b| b == b'\n').enumerate() {
        if i > 0 {
            out.push(b'\n');
        }
        escape_into(line, out);
    }
}

/// `iobytes*`: bytes read and written each second.
struct IoBytes {
    filter: Filter,
    read: u64,
    written: u64,
    /// When the last call counted returned.
    last: u64,
}

impl Chisel for IoBytes {
    fn projection(&self) -> Projection {
        Projection::MINIMAL | Projection::RET
    }

    fn filter(&self) -> Option<&Filter> {
        Some(&self.filter)
    }

    fn interval(&self) -> Option<u64> {
        Some(SECOND)
    }

    fn tick(&mut self, ts: u64, out: &mut dyn Write) -> io::Result<()> {
        let (read, written) = (self.read, self.written);
        (self.read, self.written) = (0, 0);
        writeln!(
            out,
            "{} in:{read} out:{written} tot:{}",
            clock_s(ts),
            read.saturating_add(written)
        )
    }

    fn event(&mut self, e: &Event<'_>, _: &Env, _: &mut dyn Write) -> io::Result<()> {
        let bytes = moved(e);
        if is_read(e) {
            self.read = self.read.saturating_add(bytes);
        } else {
            self.written = self.written.saturating_add(bytes);
        }
        self.last = e.ts_exit();
        Ok(())
    }

    /// The last second's bytes, shown as the next event would have shown
    /// them. sysdig leaves them out: the driver's hidden samples (`procinfo`,
    /// every second) usually come later and show them; syscap stamps those
    /// samples at the calls around them, so without this line a capture
    /// shorter than a second would show no bytes at all.
    fn finish(&mut self, out: &mut dyn Write, _: bool) -> io::Result<()> {
        if self.read > 0 || self.written > 0 {
            self.tick(self.last - self.last % SECOND + SECOND, out)?;
        }
        Ok(())
    }
}

macro_rules! iobytes_chisel {
    ($const:ident, $name:literal, $description:literal, $filter:expr) => {
        pub(super) const $const: ChiselInfo = ChiselInfo {
            name: $name,
            description: $description,
            args: &[],
            optional: &[],
            make: |_, _| {
                Ok(Box::new(IoBytes {
                    filter: own_filter($filter),
                    read: 0,
                    written: 0,
                    last: 0,
                }))
            },
        };
    };
}

iobytes_chisel!(
    IOBYTES,
    "iobytes",
    "Sum of I/O bytes on any type of fd, each second",
    "evt.is_io = true"
);
iobytes_chisel!(
    IOBYTES_FILE,
    "iobytes_file",
    "Sum of file I/O bytes, each second",
    "evt.is_io = true and fd.type = file"
);
iobytes_chisel!(
    IOBYTES_NET,
    "iobytes_net",
    "Sum of network I/O bytes, each second",
    "evt.is_io = true and (fd.type = ipv4 or fd.type = ipv6)"
);

/// `stdin`, `stdout`, `stderr`: the data of every call on that fd.
struct StdStream {
    filter: Filter,
    line: Vec<u8>,
}

impl Chisel for StdStream {
    fn projection(&self) -> Projection {
        Projection::ALL
    }

    fn filter(&self) -> Option<&Filter> {
        Some(&self.filter)
    }

    fn event(&mut self, e: &Event<'_>, _: &Env, out: &mut dyn Write) -> io::Result<()> {
        let Some(capture_format::event::Arg::Bytes(data)) = e.arg_named("data") else {
            return Ok(());
        };
        self.line.clear();
        lines(data, &mut self.line);
        self.line.push(b'\n');
        out.write_all(&self.line)
    }
}

macro_rules! std_chisel {
    ($const:ident, $name:literal, $description:literal, $fd:literal) => {
        pub(super) const $const: ChiselInfo = ChiselInfo {
            name: $name,
            description: $description,
            args: &[],
            optional: &[],
            make: |_, _| {
                Ok(Box::new(StdStream {
                    filter: own_filter(concat!("fd.num = ", $fd, " and evt.is_io = true")),
                    line: Vec::new(),
                }))
            },
        };
    };
}

std_chisel!(STDIN, "stdin", "Print the standard input of processes", 0);
std_chisel!(
    STDOUT,
    "stdout",
    "Print the standard output of processes",
    1
);
std_chisel!(STDERR, "stderr", "Print the standard error of processes", 2);

/// `spy_port` and `spy_ip`: the payloads exchanged with a port or an
/// address, a header each time the direction changes.
struct Spy {
    filter: Filter,
    color: bool,
    /// Whether the last payload shown was read (None: none shown yet).
    last_read: Option<bool>,
    /// sysdig's `spy_ip` says "Read" for writes too (its header is copied
    /// from the read branch); `spy_port` says "Write".
    write_word: &'static str,
    /// Header of the last direction change, shown again before each
    /// payload of the same direction (as sysdig's chisel does).
    header: Vec<u8>,
    line: Vec<u8>,
}

const RED: &str = "\x1b[31m";
const BLUE: &str = "\x1b[34m";
const RESET: &str = "\x1b[0m";

impl Chisel for Spy {
    fn projection(&self) -> Projection {
        Projection::ALL
    }

    fn filter(&self) -> Option<&Filter> {
        Some(&self.filter)
    }

    fn event(&mut self, e: &Event<'_>, _: &Env, out: &mut dyn Write) -> io::Result<()> {
        let res = moved(e);
        let Some(capture_format::event::Arg::Bytes(data)) = e.arg_named("data") else {
            return Ok(());
        };
        if res == 0 {
            return Ok(());
        }
        let read = is_read(e);
        if self.last_read != Some(read) {
            let (color, word) = if read {
                (RED, "Read")
            } else {
                (BLUE, self.write_word)
            };
            self.header.clear();
            if self.color {
                self.header.extend_from_slice(color.as_bytes());
            }
            self.header
                .extend_from_slice(format!("------ {word} {}", format_bytes(res)).as_bytes());
            self.last_read = Some(read);
        }
        self.line.clear();
        self.line.extend_from_slice(&self.header);
        self.line.push(b'\n');
        write_buffer(data, BufferStyle::Dots, &mut self.line);
        self.line.push(b'\n');
        out.write_all(&self.line)
    }

    fn finish(&mut self, out: &mut dyn Write, _: bool) -> io::Result<()> {
        if self.color {
            writeln!(out, "{RESET}")
        } else {
            writeln!(out)
        }
    }
}

/// The optional `disable_colors` argument of the spy chisels.
fn colors(name: &'static str, optional: &[String]) -> Result<bool, ChiselError> {
    match optional.first().map(String::as_str) {
        None => Ok(true),
        Some("disable_colors" | "disable_color") => Ok(false),
        Some(other) => Err(ChiselError::Args {
            chisel: name,
            message: format!("{other:?}: the optional argument is disable_colors"),
        }),
    }
}

fn spy(filter: &str, write_word: &'static str, color: bool) -> Box<dyn Chisel> {
    Box::new(Spy {
        filter: own_filter(filter),
        color,
        last_read: None,
        write_word,
        header: Vec::new(),
        line: Vec::new(),
    })
}

const NET: &str = "evt.is_io = true and (fd.type = ipv4 or fd.type = ipv6)";

pub(super) const SPY_PORT: ChiselInfo = ChiselInfo {
    name: "spy_port",
    description: "Show the data exchanged using the given IP port number",
    args: &[("host_port", "the port number")],
    optional: &[(
        "disable_colors",
        "'disable_colors' for output without colors",
    )],
    make: |name, args| {
        let port: u16 = args[0].parse().map_err(|_| ChiselError::Args {
            chisel: name,
            message: format!("{:?} is not a port number", args[0]),
        })?;
        Ok(spy(
            &format!("{NET} and (fd.sport = {port} or fd.cport = {port})"),
            "Write",
            colors(name, &args[1..])?,
        ))
    },
};

pub(super) const SPY_IP: ChiselInfo = ChiselInfo {
    name: "spy_ip",
    description: "Show the data exchanged with the given IP address",
    args: &[("host_ip", "the remote address")],
    optional: &[(
        "disable_colors",
        "'disable_colors' for output without colors",
    )],
    make: |name, args| {
        let ip: std::net::IpAddr = args[0].parse().map_err(|_| ChiselError::Args {
            chisel: name,
            message: format!("{:?} is not an IP address", args[0]),
        })?;
        Ok(spy(
            &format!("{NET} and (fd.sip = {ip} or fd.cip = {ip})"),
            "Read",
            colors(name, &args[1..])?,
        ))
    },
};

/// `spy_file`: every read or write of files, with its time, process, size
/// and data.
struct SpyFile {
    filter: Filter,
    line: Vec<u8>,
}

impl Chisel for SpyFile {
    fn projection(&self) -> Projection {
        Projection::ALL
    }

    fn filter(&self) -> Option<&Filter> {
        Some(&self.filter)
    }

    fn event(&mut self, e: &Event<'_>, _: &Env, out: &mut dyn Write) -> io::Result<()> {
        let data = match e.arg_named("data") {
            Some(capture_format::event::Arg::Bytes(data)) => data,
            _ => &[],
        };
        let (comm, pid) = e.thread().map_or((&[][..], -1), |t| (t.comm(), t.pid()));
        self.line.clear();
        self.line
            .extend_from_slice(clock_ns(e.ts_exit()).as_bytes());
        self.line.push(b' ');
        escape_into(comm, &mut self.line);
        let rw = if is_read(e) { 'R' } else { 'W' };
        self.line
            .extend_from_slice(format!("({pid}) {rw} {} ", format_bytes(moved(e))).as_bytes());
        if let Some(fd) = e.fd() {
            escape_into(fd.name(), &mut self.line);
        }
        self.line.push(b' ');
        // sysdig's ascii rendering of a buffer starts on a line of its own;
        // an empty one is nothing.
        write_buffer(data, BufferStyle::Ascii, &mut self.line);
        self.line.push(b'\n');
        out.write_all(&self.line)
    }
}

pub(super) const SPY_FILE: ChiselInfo = ChiselInfo {
    name: "spy_file",
    description: "Echo any read/write made by any process to all files (or to one)",
    args: &[],
    optional: &[
        (
            "read_or_write",
            "R for reads only, W for writes only, RW for both",
        ),
        ("spy_on_file_name", "the one file to watch"),
    ],
    make: |name, args| {
        let mut filter = match args.get(1).filter(|f| !f.is_empty()) {
            Some(file) => format!("fd.name = {} and ", quoted(file)),
            None => "not fd.name contains /dev/pt and not fd.name contains /dev/tty and ".into(),
        };
        filter.push_str(match args.first().map(String::as_str) {
            Some("R" | "r") => "evt.is_io_read = true and ",
            Some("W" | "w") => "evt.is_io_write = true and ",
            None | Some("RW" | "rw" | "") => "evt.is_io = true and ",
            Some(other) => {
                return Err(ChiselError::Args {
                    chisel: name,
                    message: format!("{other:?}: read_or_write is R, W or RW"),
                });
            }
        });
        filter.push_str("fd.type = file and evt.failed = false");
        Ok(Box::new(SpyFile {
            filter: own_filter(&filter),
            line: Vec::new(),
        }))
    },
};

/// `spy_logs`: every line written to log files, with the process and
/// the file (sysdig colors them by level on a terminal; syscap does not).
struct SpyLogs {
    filter: Filter,
    text: Vec<u8>,
    line: Vec<u8>,
}

impl Chisel for SpyLogs {
    fn projection(&self) -> Projection {
        Projection::ALL
    }

    fn filter(&self) -> Option<&Filter> {
        Some(&self.filter)
    }

    fn event(&mut self, e: &Event<'_>, _: &Env, out: &mut dyn Write) -> io::Result<()> {
        let Some(capture_format::event::Arg::Bytes(data)) = e.arg_named("data") else {
            return Ok(());
        };
        self.text.clear();
        write_buffer(data, BufferStyle::Ascii, &mut self.text);
        for msg in self.text.split(|&b| b == b'\n').filter(|m| !m.is_empty()) {
            self.line.clear();
            if let Some(t) = e.thread() {
                escape_into(t.comm(), &mut self.line);
            }
            self.line.push(b' ');
            if let Some(fd) = e.fd() {
                escape_into(fd.name(), &mut self.line);
            }
            self.line.push(b' ');
            self.line.extend_from_slice(msg);
            self.line.push(b'\n');
            out.write_all(&self.line)?;
        }
        Ok(())
    }
}

pub(super) const SPY_LOGS: ChiselInfo = ChiselInfo {
    name: "spy_logs",
    description: "Echo any write made by any process to a log file",
    args: &[],
    optional: &[(
        "disable_color",
        "accepted for sysdig's compatibility: syscap does not color",
    )],
    make: |name, args| {
        match args.first().map(String::as_str) {
            None | Some("disable_color" | "disable_colors") => {}
            Some(other) => {
                return Err(ChiselError::Args {
                    chisel: name,
                    message: format!(
                        "{other:?}: writing the events around each line to a file \
                         (sysdig's dump_file_name) is `syscap chisel around`'s job"
                    ),
                });
            }
        }
        Ok(Box::new(SpyLogs {
            filter: own_filter(
                "(fd.name contains .log or fd.name contains _log or fd.name contains /var/log) \
                 and not (fd.name contains .gz or fd.name contains .tgz) \
                 and evt.is_io_write = true and evt.failed = false",
            ),
            text: Vec::new(),
            line: Vec::new(),
        }))
    },
};

/// `s` as a quoted string of the filter language.
fn quoted(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_renderings() {
        let data = b"GET / HTTP/1.1\r\n\x1b[2Jok\tz\xff";
        let shown = |style| {
            let mut out = Vec::new();
            write_buffer(data, style, &mut out);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(shown(BufferStyle::Dots), "GET / HTTP/1.1...[2Jok.z.");
        assert_eq!(shown(BufferStyle::Ascii), "\nGET / HTTP/1.1\n[2Jokz");
        let mut out = Vec::new();
        lines(data, &mut out);
        assert_eq!(
            String::from_utf8_lossy(&out),
            "GET / HTTP/1.1\\r\n\\x1b[2Jok\\tz\\xff"
        );
    }

    #[test]
    fn clocks() {
        let ns = 1_534_527_348_514_700_898;
        assert_eq!(clock_s(ns), "17:35:48");
        assert_eq!(clock_ns(ns), "17:35:48.514700898");
    }

    #[test]
    fn quoted_names_stay_one_string() {
        assert_eq!(quoted(r#"/tmp/a "b"\c"#), r#""/tmp/a \"b\"\\c""#);
        assert!(Filter::new(&format!("fd.name = {}", quoted("/a b/c d"))).is_ok());
    }
}
