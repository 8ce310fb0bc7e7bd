//! Chisels: small analyses run over a capture, named and behaving like
//! sysdig's chisels of the same names (same filters, units, ordering and
//! table layout), so `syscap chisel topfiles_bytes c.syscap` answers what
//! `sysdig -r c.scap -c topfiles_bytes` does.
//!
//! A chisel is a [`Chisel`] (begin, one call per event, finish) listed in
//! [`CHISELS`]; adding one is a file and a line here.

mod bottlenecks;
mod containers;
mod echo_fds;
mod http;
mod iodata;
mod procs;
mod slower;
mod state;
mod table;

use std::io::{self, Write};

use capture_format::escape::escaped;
use capture_format::file::{Event, Projection};
use triggers::filter::{Env, Filter};

/// An analysis over a stream of events.
pub trait Chisel {
    /// The columns it reads.
    fn projection(&self) -> Projection;
    /// The events it wants (sysdig chisels set such a filter); the user's
    /// filter applies as well.
    fn filter(&self) -> Option<&Filter>;
    /// False for chisels that only read the state snapshot (`ps`, `lsof`,
    /// `netstat`): the events are then not read at all.
    fn needs_events(&self) -> bool {
        true
    }
    /// The state snapshot the capture starts with, and the user's filter
    /// (`--filter`), which table chisels apply to each thread and fd.
    fn state(
        &mut self,
        _snapshot: capture_format::state::Snapshot,
        _filter: Option<&Filter>,
        _env: &Env,
    ) -> Result<(), capture_format::Error> {
        Ok(())
    }
    /// Called once before the first event (headers of line-per-event
    /// chisels).
    fn begin(&mut self, _out: &mut dyn Write, _json: bool) -> io::Result<()> {
        Ok(())
    }
    /// Called for every event that passes both filters.
    fn event(&mut self, e: &Event<'_>, env: &Env, out: &mut dyn Write) -> io::Result<()>;
    /// The time the events span, from the first to the last event read
    /// (before the chisel's own filter), told before [`Chisel::finish`]:
    /// tables of CPU time show it as a share of that.
    fn span(&mut self, _ns: u64) {}
    /// sysdig's `set_interval_ns`: the period of [`Chisel::tick`], if the
    /// chisel has one.
    fn interval(&self) -> Option<u64> {
        None
    }
    /// Called, before the event, when an event (before the chisel's own
    /// filter) falls in a later interval than the previous call's, with
    /// that event's time: what sysdig's `on_interval` does on a file.
    fn tick(&mut self, _ts: u64, _out: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }
    /// Called once at the end (tables).
    fn finish(&mut self, _out: &mut dyn Write, _json: bool) -> io::Result<()> {
        Ok(())
    }
    /// Shows at most `rows` rows (0: all) instead of the chisel's own limit;
    /// false for chisels without a row limit.
    fn set_rows(&mut self, _rows: usize) -> bool {
        false
    }
}

/// A chisel the user cannot run as asked.
#[derive(Debug, thiserror::Error)]
pub enum ChiselError {
    /// No such chisel; the registered name nearest to it, if one is near.
    #[error(
        "no chisel named '{name}' ({}syscap chisel --list shows them)",
        suggestion.map_or(String::new(), |s| format!("did you mean {s}? "))
    )]
    Unknown {
        /// The name asked for.
        name: String,
        /// A chisel of a name within a typo or two of it.
        suggestion: Option<&'static str>,
    },
    /// Wrong arguments.
    #[error("chisel {chisel}: {message}")]
    Args {
        /// The chisel.
        chisel: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// Builds a chisel from its name and arguments.
type Make = fn(&'static str, &[String]) -> Result<Box<dyn Chisel>, ChiselError>;

/// A registered chisel.
pub struct ChiselInfo {
    /// Its name.
    pub name: &'static str,
    /// What it shows.
    pub description: &'static str,
    /// Its arguments: (name, meaning).
    pub args: &'static [(&'static str, &'static str)],
    /// Arguments that may follow them.
    pub optional: &'static [(&'static str, &'static str)],
    make: Make,
}

impl std::fmt::Debug for ChiselInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChiselInfo")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Every chisel, by name.
pub static CHISELS: &[ChiselInfo] = &[
    table::TOPFILES_BYTES,
    table::TOPFILES_TIME,
    table::TOPFILES_ERRORS,
    table::TOPPROCS_FILE,
    table::TOPPROCS_NET,
    table::TOPPROCS_ERRORS,
    table::TOPPROCS_CPU,
    table::TOPPORTS_SERVER,
    table::TOPCONNS,
    table::TOPCONTAINERS_CPU,
    table::TOPCONTAINERS_NET,
    table::TOPCONTAINERS_FILE,
    table::TOPCONTAINERS_ERROR,
    table::TOPSCALLS,
    table::TOPSCALLS_TIME,
    table::FDBYTES_BY,
    table::FDTIME_BY,
    slower::FILESLOWER,
    slower::NETLOWER,
    slower::SCALLSLOWER,
    bottlenecks::BOTTLENECKS,
    http::HTTPLOG,
    http::HTTPTOP,
    echo_fds::ECHO_FDS,
    iodata::IOBYTES,
    iodata::IOBYTES_FILE,
    iodata::IOBYTES_NET,
    iodata::STDIN,
    iodata::STDOUT,
    iodata::STDERR,
    iodata::SPY_PORT,
    iodata::SPY_IP,
    iodata::SPY_FILE,
    iodata::SPY_LOGS,
    procs::FDCOUNT_BY,
    procs::PROC_EXEC_TIME,
    procs::SPY_USERS,
    procs::LIST_LOGIN_SHELLS,
    state::PS,
    state::LSOF,
    state::NETSTAT,
    containers::LSCONTAINERS,
    AROUND,
];

/// `around` writes a capture rather than reading events one by one; the
/// streaming command runs it, this entry lists it.
const AROUND: ChiselInfo = ChiselInfo {
    name: "around",
    description: "Export the events within MS milliseconds of each --filter match to OUTPUT",
    args: &[
        ("ms", "milliseconds before and after"),
        ("output", "capture file to write"),
    ],
    optional: &[],
    make: |name, _| {
        Err(ChiselError::Args {
            chisel: name,
            message: "run as: syscap chisel around CAPTURE MS OUTPUT --filter EXPR".into(),
        })
    },
};

/// Builds chisel `name` with its arguments.
pub fn make(name: &str, args: &[String]) -> Result<Box<dyn Chisel>, ChiselError> {
    let info = CHISELS
        .iter()
        .find(|c| c.name == name)
        .ok_or_else(|| ChiselError::Unknown {
            name: name.to_owned(),
            suggestion: suggest(name),
        })?;
    let (least, most) = (info.args.len(), info.args.len() + info.optional.len());
    if !(least..=most).contains(&args.len()) {
        let names: Vec<String> = info
            .args
            .iter()
            .map(|a| a.0.to_owned())
            .chain(info.optional.iter().map(|a| format!("[{}]", a.0)))
            .collect();
        let takes = if least == most {
            least.to_string()
        } else {
            format!("{least} to {most}")
        };
        return Err(ChiselError::Args {
            chisel: info.name,
            message: format!(
                "takes {takes} argument{} ({}), got {}",
                if most == 1 { "" } else { "s" },
                names.join(", "),
                args.len()
            ),
        });
    }
    (info.make)(info.name, args)
}

/// The chisel whose name is nearest to `name` (a swap of two neighbours
/// is one edit), when it is within a few edits.
fn suggest(name: &str) -> Option<&'static str> {
    CHISELS
        .iter()
        .map(|c| (strsim::osa_distance(name, c.name), c.name))
        .filter(|&(d, n)| d <= 1.max(n.len() / 4))
        .min_by_key(|&(d, n)| (d, !n.starts_with(name)))
        .map(|(_, n)| n)
}

/// Writes the list of chisels.
pub fn write_list(out: &mut impl Write) -> io::Result<()> {
    for c in CHISELS {
        let args: Vec<String> = c
            .args
            .iter()
            .map(|a| a.0.to_uppercase())
            .chain(
                c.optional
                    .iter()
                    .map(|a| format!("[{}]", a.0.to_uppercase())),
            )
            .collect();
        let head = format!("{} {}", c.name, args.join(" "));
        writeln!(out, "{:<24}{}", head.trim_end(), c.description)?;
    }
    Ok(())
}

/// A filter a chisel sets; its text is ours, so it always parses.
fn own_filter(text: &str) -> Filter {
    Filter::new(text).unwrap_or_else(|e| panic!("chisel filter {text:?}: {e}"))
}

/// sysdig's `extend_string`: `s` padded to `width`, or cut to `width - 1`
/// and a space, so columns never run together.
fn extend_string(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n < width {
        format!("{s}{}", " ".repeat(width - n))
    } else {
        format!("{} ", s.chars().take(width - 1).collect::<String>())
    }
}

/// Captured bytes as a chisel's text output shows them: control
/// characters and bytes that are not UTF-8 escaped (`\x1b`, `\n`, `\xff`).
fn text(b: &[u8]) -> String {
    escaped(b).into_owned()
}

/// Bytes as sysdig's chisels show them: `832B`, `11.40KB`, `2.94M`.
pub fn format_bytes(v: u64) -> String {
    const UNITS: [(u64, &str); 5] = [
        (1 << 50, "P"),
        (1 << 40, "T"),
        (1 << 30, "G"),
        (1 << 20, "M"),
        (1 << 10, "KB"),
    ];
    for (scale, unit) in UNITS {
        if v > scale {
            // sysdig's Lua rounds halves up (10.625 -> 10.63); Rust's
            // formatting rounds them to even.
            let hundredths = (v as f64 / scale as f64 * 100.0).round();
            return format!("{:.2}{unit}", hundredths / 100.0);
        }
    }
    format!("{v}B")
}

/// A duration in ns as sysdig's chisels show it: `1.10s`, `25ms`,
/// `3.40ms`, `120us`, `5.20us`, `800ns`.
pub fn format_time(ns: u64) -> String {
    const S: u64 = 1_000_000_000;
    if ns >= S {
        format!("{}.{:02}s", ns / S, (ns % S) / 10_000_000)
    } else if ns >= S / 100 {
        format!("{}ms", ns / 1_000_000)
    } else if ns >= S / 1000 {
        format!("{}.{:02}ms", ns / 1_000_000, (ns % 1_000_000) / 10_000)
    } else if ns >= S / 100_000 {
        format!("{}us", ns / 1000)
    } else if ns >= S / 1_000_000 {
        format!("{}.{:02}us", ns / 1000, (ns % 1000) / 10)
    } else {
        format!("{ns}ns")
    }
}

/// `2026-11-25 21:38:05.692` (sysdig's `evt.datetime` to the millisecond).
fn datetime(ns: u64) -> String {
    let ts = jiff::Timestamp::from_nanosecond(i128::from(ns)).unwrap_or_default();
    ts.to_zoned(jiff::tz::TimeZone::UTC)
        .strftime("%Y-%m-%d %H:%M:%S%.3f")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_as_sysdig_shows_them() {
        let bytes: &[(u64, &str)] = &[
            (0, "0B"),
            (832, "832B"),
            (1024, "1024B"),
            (11_674, "11.40KB"),
            (3_082_813, "2.94M"),
            (5 << 30, "5.00G"),
        ];
        for (v, s) in bytes {
            assert_eq!(format_bytes(*v), *s, "{v}");
        }
        let times: &[(u64, &str)] = &[
            (800, "800ns"),
            (5_200, "5.20us"),
            (120_000, "120us"),
            (3_400_000, "3.40ms"),
            (25_000_000, "25ms"),
            (1_100_000_000, "1.10s"),
        ];
        for (v, s) in times {
            assert_eq!(format_time(*v), *s, "{v}");
        }
        assert_eq!(
            datetime(1_764_000_000_123_456_789),
            "2025-11-24 16:00:00.123"
        );
    }

    #[test]
    fn every_chisel_builds_with_its_arguments_and_refuses_others() {
        for c in CHISELS {
            let args: Vec<String> = c
                .args
                .iter()
                .map(|(name, _)| match *name {
                    "field" => "proc.name".to_owned(),
                    "host_ip" => "::1".to_owned(),
                    _ => "10".to_owned(),
                })
                .collect();
            if c.name == "around" {
                continue; // run by the streaming command, not built here
            }
            assert!(make(c.name, &args).is_ok(), "{}", c.name);
            let mut more = args.clone();
            more.extend(c.optional.iter().map(|_| String::new()));
            more.push("x".into());
            assert!(
                matches!(make(c.name, &more), Err(ChiselError::Args { .. })),
                "{}",
                c.name
            );
        }
        assert!(matches!(
            make("nope", &[]),
            Err(ChiselError::Unknown {
                suggestion: None,
                ..
            })
        ));
    }

    #[test]
    fn misspelled_chisels_get_the_nearest_name() {
        let cases: &[(&str, Option<&str>)] = &[
            ("topfile_bytes", Some("topfiles_bytes")),
            ("topscals", Some("topscalls")),
            ("lsfo", Some("lsof")),
            ("netsat", Some("netstat")),
            ("topconns_x", Some("topconns")),
            ("spy_user", Some("spy_users")),
            ("nothing_like_it", None),
            ("", None),
        ];
        for (typed, want) in cases {
            assert_eq!(suggest(typed), *want, "{typed}");
        }
        let e = make("topscals", &[]).err().map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some(
                "no chisel named 'topscals' (did you mean topscalls? syscap chisel --list shows them)"
            )
        );
    }
}
