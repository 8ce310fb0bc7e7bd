//! `fileslower`, `netlower`, `scallslower`: one line per call slower than a
//! threshold in milliseconds, as sysdig prints them.

use std::io::{self, Write};

use capture_format::file::{Event, Projection};
use triggers::filter::{Env, Filter};

use super::{Chisel, ChiselError, ChiselInfo, datetime, own_filter, text};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Net,
    Syscall,
}

struct Slower {
    kind: Kind,
    min_ms: f64,
    filter: Option<Filter>,
}

fn make(kind: Kind, name: &'static str, args: &[String]) -> Result<Box<dyn Chisel>, ChiselError> {
    let ms: u64 = args[0].parse().map_err(|_| ChiselError::Args {
        chisel: name,
        message: format!("{:?} is not a whole number of milliseconds", args[0]),
    })?;
    let filter = match kind {
        Kind::File => Some(own_filter("evt.is_io = true and fd.type = file")),
        Kind::Net => Some(own_filter(
            "evt.is_io = true and (fd.type = ipv4 or fd.type = ipv6)",
        )),
        Kind::Syscall => None,
    };
    Ok(Box::new(Slower {
        kind,
        min_ms: ms as f64,
        filter,
    }))
}

fn name_of(e: &Event<'_>) -> String {
    e.thread().map_or_else(|| "<NA>".into(), |t| text(t.comm()))
}

impl Chisel for Slower {
    fn projection(&self) -> Projection {
        Projection::MINIMAL | Projection::LATENCY | Projection::THREAD | Projection::FD
    }

    fn filter(&self) -> Option<&Filter> {
        self.filter.as_ref()
    }

    fn begin(&mut self, out: &mut dyn Write, _: bool) -> io::Result<()> {
        if self.kind == Kind::Syscall {
            writeln!(
                out,
                "{:<23.23} {:<23.23} {:<20} evt.type",
                "evt.datetime", "proc.name", "LATENCY(ms)"
            )?;
            writeln!(
                out,
                "{} {} {} {}",
                "-".repeat(23),
                "-".repeat(23),
                "-".repeat(20),
                "-".repeat(20)
            )
        } else {
            writeln!(
                out,
                "{:<23.23} {:<12.12} {:<8} {:<12} fd.name",
                "evt.datetime", "proc.name", "evt.type", "LATENCY(ms)"
            )?;
            writeln!(
                out,
                "{} {} {} {} {}",
                "-".repeat(23),
                "-".repeat(12),
                "-".repeat(8),
                "-".repeat(12),
                "-".repeat(41)
            )
        }
    }

    fn event(&mut self, e: &Event<'_>, _: &Env, out: &mut dyn Write) -> io::Result<()> {
        // As sysdig: fractional milliseconds, strictly above the threshold;
        // scallslower shows them as they are, the others truncated.
        let ms = e.latency() as f64 / 1e6;
        if !e.has_latency() || ms <= self.min_ms {
            return Ok(());
        }
        let when = datetime(e.ts());
        if self.kind == Kind::Syscall {
            let shown = format!("{ms}");
            return writeln!(
                out,
                "{when:<23.23} {:<23.23} {shown:<20} {}",
                name_of(e),
                e.ty().name()
            );
        }
        let ms = e.latency() / 1_000_000;
        let fd = e.fd().map(|f| text(f.name())).unwrap_or_default();
        if self.kind == Kind::File && fd.starts_with("/dev/") {
            return Ok(()); // sysdig skips device files by default
        }
        writeln!(
            out,
            "{when:<23.23} {:<12.12} {:<8} {ms:>12} {fd}",
            name_of(e),
            e.ty().name()
        )
    }

    fn finish(&mut self, _: &mut dyn Write, _: bool) -> io::Result<()> {
        Ok(())
    }
}

const MS: &[(&str, &str)] = &[("min_ms", "only calls slower than this many milliseconds")];

pub(super) const FILESLOWER: ChiselInfo = ChiselInfo {
    name: "fileslower",
    description: "Trace slow file I/O",
    args: MS,
    optional: &[],
    make: |name, args| make(Kind::File, name, args),
};

pub(super) const NETLOWER: ChiselInfo = ChiselInfo {
    name: "netlower",
    description: "Trace slow network I/O",
    args: MS,
    optional: &[],
    make: |name, args| make(Kind::Net, name, args),
};

pub(super) const SCALLSLOWER: ChiselInfo = ChiselInfo {
    name: "scallslower",
    description: "Trace slow syscalls",
    args: MS,
    optional: &[],
    make: |name, args| make(Kind::Syscall, name, args),
};
