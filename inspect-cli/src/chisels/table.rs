//! The `top*` and `*_by` chisels: sum a value (event count, bytes of the
//! return value, latency) per key (file, process, connection, syscall, any
//! field) over the events a filter selects, then print the largest.
//! sysdig builds them all on its `table_generator` chisel; so do we.

use std::io::{self, Write};

use capture_format::escape::escaped;
use capture_format::event::EventType;
use capture_format::file::{Event, Projection};
use hashbrown::HashMap;
use triggers::filter::fields::value;
use triggers::filter::{Env, Field, Filter};

use super::{
    Chisel, ChiselError, ChiselInfo, extend_string, format_bytes, format_time, own_filter,
};
use crate::print::write_value;

/// What is summed per key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Measure {
    /// One per event (`evt.count`).
    Count,
    /// The return value when positive: bytes of I/O (`evt.rawarg.res`).
    Res,
    /// The call's latency (`evt.latency`).
    Latency,
    /// CPU time a `procinfo` event says its thread used since the thread's
    /// previous one (sysdig's `thread.cpu`: jiffies, at most 100 a second),
    /// in ns.
    ThreadCpu,
}

/// How values are shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Units {
    None,
    Bytes,
    Time,
    /// A share of the time the events span (`timepct`).
    TimeShare,
}

/// A table chisel's definition.
struct Spec {
    keys: &'static [&'static str],
    key_names: &'static [&'static str],
    measure: Measure,
    value_name: &'static str,
    filter: &'static str,
    top: usize,
    units: Units,
}

struct Table {
    keys: Vec<(Field, String)>,
    measure: Measure,
    value_name: &'static str,
    filter: Option<Filter>,
    top: usize,
    units: Units,
    totals: HashMap<Box<[u8]>, u64>,
    key: Vec<u8>,
    scratch: Vec<u8>,
    /// [`Measure::ThreadCpu`]: each thread's CPU jiffies at its last
    /// `procinfo`.
    cpu_seen: HashMap<i64, u64>,
    /// ns the events span.
    span: u64,
}

/// Key parts are joined with this, as sysdig does.
pub(super) const SEP: &[u8] = b"\x01\x01";
/// Columns are this wide.
const WIDTH: usize = 20;
/// A jiffy, the unit of `procinfo`'s CPU times (`USER_HZ` = 100).
const JIFFY_NS: u64 = 10_000_000;

impl Table {
    fn new(spec: &Spec, keys: Vec<(Field, String)>) -> Self {
        Self {
            keys,
            measure: spec.measure,
            value_name: spec.value_name,
            filter: (!spec.filter.is_empty()).then(|| own_filter(spec.filter)),
            top: spec.top,
            units: spec.units,
            totals: HashMap::new(),
            key: Vec::new(),
            scratch: Vec::new(),
            cpu_seen: HashMap::new(),
            span: 0,
        }
    }

    fn from_spec(spec: &Spec) -> Self {
        let keys = spec
            .keys
            .iter()
            .zip(spec.key_names)
            .map(|(k, n)| {
                (
                    triggers::filter::field(k).unwrap_or_else(|e| panic!("{k}: {e}")),
                    (*n).to_owned(),
                )
            })
            .collect();
        Self::new(spec, keys)
    }

    /// ns of CPU `e` (a `procinfo`) says its thread used since its last
    /// one, as sysdig's `thread.cpu` counts it: the first says 0. None for
    /// other events, and for a `procinfo` of a thread the capture never
    /// described (sysdig makes no thread for it, so it has no container).
    fn thread_cpu(&mut self, e: &Event<'_>) -> Option<u64> {
        let described = e.thread().is_some_and(|t| !t.comm().is_empty());
        if e.ty() != EventType::PROC_INFO || !described {
            return None;
        }
        let jiffies = |name| {
            e.arg_named(name)
                .and_then(|a| a.as_int())
                .and_then(|v| u64::try_from(v).ok())
                .unwrap_or(0)
        };
        let total = jiffies("cpu_usr").wrapping_add(jiffies("cpu_sys"));
        // As sysdig counts: a total of 0 before reads as none before, and
        // a total that went down as a full second.
        Some(match self.cpu_seen.insert(e.tid(), total) {
            Some(before) if before != 0 => total.wrapping_sub(before).min(100) * JIFFY_NS,
            _ => 0,
        })
    }
}

impl Chisel for Table {
    fn set_rows(&mut self, rows: usize) -> bool {
        self.top = rows;
        true
    }

    fn projection(&self) -> Projection {
        let p = self
            .keys
            .iter()
            .fold(Projection::MINIMAL, |p, (f, _)| p | f.projection());
        match self.measure {
            Measure::Count => p,
            Measure::Res => p | Projection::RET,
            Measure::Latency => p | Projection::LATENCY,
            Measure::ThreadCpu => p | Projection::ARGS,
        }
    }

    fn filter(&self) -> Option<&Filter> {
        self.filter.as_ref()
    }

    fn begin(&mut self, _: &mut dyn Write, _: bool) -> io::Result<()> {
        Ok(())
    }

    fn event(&mut self, e: &Event<'_>, env: &Env, _: &mut dyn Write) -> io::Result<()> {
        let v = match self.measure {
            Measure::Count => 1,
            Measure::Res => u64::try_from(e.ret()).unwrap_or(0),
            Measure::Latency if e.has_latency() => e.latency(),
            Measure::Latency => 0,
            // sysdig's CPU tables list every key seen, at 0% too.
            Measure::ThreadCpu => match self.thread_cpu(e) {
                Some(v) => v,
                None => return Ok(()),
            },
        };
        if v == 0 && self.measure != Measure::ThreadCpu {
            return Ok(());
        }
        self.key.clear();
        for (i, (field, _)) in self.keys.iter().enumerate() {
            let val = value(*field, e, env, &mut self.scratch);
            if matches!(val, triggers::filter::Value::None) {
                return Ok(()); // sysdig skips events without the key
            }
            if i > 0 {
                self.key.extend_from_slice(SEP);
            }
            write_value(&val, &mut self.key);
        }
        if let Some(total) = self.totals.get_mut(&self.key[..]) {
            *total += v;
        } else {
            self.totals.insert(self.key.clone().into_boxed_slice(), v);
        }
        Ok(())
    }

    fn span(&mut self, ns: u64) {
        self.span = ns;
    }

    fn finish(&mut self, out: &mut dyn Write, json: bool) -> io::Result<()> {
        let names: Vec<&str> = self.keys.iter().map(|(_, n)| n.as_str()).collect();
        let table = Shown {
            value_name: self.value_name,
            key_names: &names,
            units: self.units,
            span: self.span,
            top: self.top,
            // An empty CPU table would read as "no CPU used".
            when_empty: (self.measure == Measure::ThreadCpu).then_some(
                "(no CPU figures: no procinfo event among the events read; syscap-agent \
                 and sysdig's and Falco's drivers write one for each thread that ran, every \
                 second)",
            ),
        };
        table.write(&self.totals, out, json)
    }
}

/// How a table of totals is shown: sysdig's `print_sorted_table`.
pub(super) struct Shown<'a> {
    pub value_name: &'a str,
    pub key_names: &'a [&'a str],
    pub units: Units,
    /// ns the events span ([`Units::TimeShare`]).
    pub span: u64,
    /// Rows shown (0: all).
    pub top: usize,
    /// Says why a table is empty, where an empty one would mislead.
    pub when_empty: Option<&'a str>,
}

impl Shown<'_> {
    fn show(&self, v: u64) -> String {
        match self.units {
            Units::None => v.to_string(),
            Units::Bytes => format_bytes(v),
            Units::Time => format_time(v),
            Units::TimeShare if self.span > 0 => {
                format!("{:.2}%", v as f64 / self.span as f64 * 100.0)
            }
            Units::TimeShare => "0.00%".to_owned(),
        }
    }

    /// Writes the largest `top` totals; keys are their parts joined by
    /// [`SEP`].
    pub fn write(
        &self,
        totals: &HashMap<Box<[u8]>, u64>,
        out: &mut dyn Write,
        json: bool,
    ) -> io::Result<()> {
        let mut rows: Vec<(&[u8], u64)> = totals.iter().map(|(k, v)| (&k[..], *v)).collect();
        // Largest first; ties in key order, so output is stable.
        rows.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        if self.top > 0 {
            rows.truncate(self.top);
        }
        let split = |k: &[u8]| -> Vec<String> {
            let text = String::from_utf8_lossy(k);
            text.split("\u{1}\u{1}").map(str::to_owned).collect()
        };
        if json {
            let data: Vec<serde_json::Value> = rows
                .iter()
                .map(|(k, v)| {
                    let mut obj = serde_json::Map::new();
                    for (name, part) in self.key_names.iter().zip(split(k)) {
                        obj.insert((*name).to_owned(), part.into());
                    }
                    let value = match self.units {
                        Units::TimeShare if self.span > 0 => {
                            (*v as f64 / self.span as f64 * 100.0).into()
                        }
                        _ => (*v).into(),
                    };
                    obj.insert(self.value_name.to_owned(), value);
                    serde_json::Value::Object(obj)
                })
                .collect();
            serde_json::to_writer_pretty(&mut *out, &data)?;
            return writeln!(out);
        }
        let mut header = extend_string(self.value_name, WIDTH);
        for name in self.key_names {
            header.push_str(&extend_string(name, WIDTH));
        }
        writeln!(out, "{}", header.trim_end())?;
        writeln!(out, "{}", "-".repeat(80))?;
        if rows.is_empty()
            && let Some(note) = self.when_empty
        {
            writeln!(out, "{note}")?;
        }
        for (k, v) in rows {
            let parts = split(k);
            let mut line = extend_string(&self.show(v), WIDTH);
            for (i, part) in parts.iter().enumerate() {
                let part = escaped(part);
                if i + 1 < parts.len() {
                    line.push_str(&extend_string(&part, WIDTH));
                } else {
                    line.push_str(&part);
                }
            }
            writeln!(out, "{line}")?;
        }
        Ok(())
    }
}

macro_rules! table_chisel {
    ($const:ident, $name:literal, $description:literal, $spec:expr) => {
        pub(super) const $const: ChiselInfo = ChiselInfo {
            name: $name,
            description: $description,
            args: &[],
            optional: &[],
            make: |_, _| {
                const SPEC: Spec = $spec;
                Ok(Box::new(Table::from_spec(&SPEC)))
            },
        };
    };
}

const FILE_IO: &str = "fd.type = file and evt.is_io = true";
const NET_IO: &str = "(fd.type = ipv4 or fd.type = ipv6) and evt.is_io = true";

table_chisel!(
    TOPFILES_BYTES,
    "topfiles_bytes",
    "Top files by R+W bytes",
    Spec {
        keys: &["fd.name"],
        key_names: &["Filename"],
        measure: Measure::Res,
        value_name: "Bytes",
        filter: FILE_IO,
        top: 10,
        units: Units::Bytes,
    }
);
table_chisel!(
    TOPFILES_TIME,
    "topfiles_time",
    "Top files by time spent in I/O",
    Spec {
        keys: &["fd.name"],
        key_names: &["Filename"],
        measure: Measure::Latency,
        value_name: "Time",
        filter: FILE_IO,
        top: 10,
        units: Units::Time,
    }
);
table_chisel!(
    TOPFILES_ERRORS,
    "topfiles_errors",
    "Top files by number of errors",
    Spec {
        keys: &["fd.name"],
        key_names: &["Filename"],
        measure: Measure::Count,
        value_name: "#Errors",
        filter: "fd.type = file and evt.failed = true",
        top: 100,
        units: Units::None,
    }
);
table_chisel!(
    TOPPROCS_FILE,
    "topprocs_file",
    "Top processes by R+W disk bytes",
    Spec {
        keys: &["proc.name", "proc.pid"],
        key_names: &["Process", "PID"],
        measure: Measure::Res,
        value_name: "Bytes",
        filter: FILE_IO,
        top: 10,
        units: Units::Bytes,
    }
);
table_chisel!(
    TOPPROCS_NET,
    "topprocs_net",
    "Top processes by network I/O",
    Spec {
        keys: &["proc.name", "proc.pid"],
        key_names: &["Process", "PID"],
        measure: Measure::Res,
        value_name: "Bytes",
        filter: NET_IO,
        top: 100,
        units: Units::Bytes,
    }
);
table_chisel!(
    TOPPROCS_ERRORS,
    "topprocs_errors",
    "Top processes by number of errors",
    Spec {
        keys: &["proc.name", "proc.pid"],
        key_names: &["Process", "PID"],
        measure: Measure::Count,
        value_name: "#Errors",
        filter: "evt.failed = true",
        top: 100,
        units: Units::None,
    }
);
table_chisel!(
    TOPCONTAINERS_NET,
    "topcontainers_net",
    "Top containers by network I/O",
    Spec {
        keys: &["container.name"],
        key_names: &["container.name"],
        measure: Measure::Res,
        value_name: "Bytes",
        filter: "(fd.type = ipv4 or fd.type = ipv6) and evt.is_io = true and container.name != host",
        top: 100,
        units: Units::Bytes,
    }
);
table_chisel!(
    TOPCONTAINERS_FILE,
    "topcontainers_file",
    "Top containers by R+W disk bytes",
    Spec {
        keys: &["container.name"],
        key_names: &["container.name"],
        measure: Measure::Res,
        value_name: "Bytes",
        filter: "fd.type = file and evt.is_io = true and container.name != host",
        top: 10,
        units: Units::Bytes,
    }
);
table_chisel!(
    TOPCONTAINERS_ERROR,
    "topcontainers_error",
    "Top containers by number of errors",
    Spec {
        keys: &["container.name"],
        key_names: &["container.name"],
        measure: Measure::Count,
        value_name: "#Errors",
        filter: "evt.failed = true and container.name != host",
        top: 100,
        units: Units::None,
    }
);
table_chisel!(
    TOPCONTAINERS_CPU,
    "topcontainers_cpu",
    "Top containers by CPU usage",
    Spec {
        keys: &["container.name"],
        key_names: &["container.name"],
        measure: Measure::ThreadCpu,
        value_name: "CPU%",
        filter: "evt.type = procinfo",
        top: 50,
        units: Units::TimeShare,
    }
);
table_chisel!(
    TOPPROCS_CPU,
    "topprocs_cpu",
    "Top processes by CPU usage",
    Spec {
        keys: &["proc.name", "proc.pid"],
        key_names: &["Process", "PID"],
        measure: Measure::ThreadCpu,
        value_name: "CPU%",
        filter: "evt.type = procinfo",
        top: 10,
        units: Units::TimeShare,
    }
);
table_chisel!(
    TOPPORTS_SERVER,
    "topports_server",
    "Top TCP/UDP server ports by R+W bytes",
    Spec {
        keys: &["fd.sport"],
        key_names: &["Srv Port"],
        measure: Measure::Res,
        value_name: "Bytes",
        filter: NET_IO,
        top: 100,
        units: Units::Bytes,
    }
);
table_chisel!(
    TOPCONNS,
    "topconns",
    "Top network connections by total bytes",
    Spec {
        keys: &["fd.l4proto", "fd.name"],
        key_names: &["Proto", "Conn"],
        measure: Measure::Res,
        value_name: "Bytes",
        filter: NET_IO,
        top: 10,
        units: Units::Bytes,
    }
);
table_chisel!(
    TOPSCALLS,
    "topscalls",
    "Top system calls by number of calls",
    Spec {
        keys: &["evt.type"],
        key_names: &["Syscall"],
        measure: Measure::Count,
        value_name: "# Calls",
        // As sysdig's: a context switch is no system call, and 30 rows;
        // nor are syscap's own records, which sysdig has no event for.
        filter: "not evt.type in (switch, procfork, procexec, threadinfo, drop, other)",
        top: 30,
        units: Units::None,
    }
);
table_chisel!(
    TOPSCALLS_TIME,
    "topscalls_time",
    "Top system calls by time",
    Spec {
        keys: &["evt.type"],
        key_names: &["Syscall"],
        measure: Measure::Latency,
        value_name: "Time",
        filter: "",
        top: 30,
        units: Units::Time,
    }
);

/// A `*_by FIELD` chisel: the key is the user's field.
fn by_field(
    name: &'static str,
    args: &[String],
    spec: &Spec,
) -> Result<Box<dyn Chisel>, ChiselError> {
    let field = triggers::filter::field(&args[0]).map_err(|message| ChiselError::Args {
        chisel: name,
        message,
    })?;
    Ok(Box::new(Table::new(spec, vec![(field, args[0].clone())])))
}

pub(super) const FDBYTES_BY: ChiselInfo = ChiselInfo {
    name: "fdbytes_by",
    description: "I/O bytes, aggregated by an arbitrary filter field",
    args: &[("field", "the filter field used for grouping")],
    optional: &[],
    make: |name, args| {
        const SPEC: Spec = Spec {
            keys: &[],
            key_names: &[],
            measure: Measure::Res,
            value_name: "Bytes",
            filter: "evt.is_io = true and evt.failed = false",
            top: 10,
            units: Units::Bytes,
        };
        by_field(name, args, &SPEC)
    },
};

pub(super) const FDTIME_BY: ChiselInfo = ChiselInfo {
    name: "fdtime_by",
    description: "FD time group by",
    args: &[("field", "the filter field used for grouping")],
    optional: &[],
    make: |name, args| {
        const SPEC: Spec = Spec {
            keys: &[],
            key_names: &[],
            measure: Measure::Latency,
            value_name: "Time",
            filter: "evt.is_io = true",
            top: 10,
            units: Units::Time,
        };
        by_field(name, args, &SPEC)
    },
};
