//! `echo_fds`: the data read and written, with the fd and process it went
//! through, as sysdig prints it.

use std::io::{self, Write};

use capture_format::event::{Arg, Category};
use capture_format::file::{Event, Projection};
use capture_format::render::{Bytes, render_ends};
use triggers::filter::{Env, Filter};

use super::{Chisel, ChiselInfo, format_bytes, own_filter, text};

struct EchoFds {
    filter: Filter,
}

impl Chisel for EchoFds {
    fn projection(&self) -> Projection {
        Projection::ALL
    }

    fn filter(&self) -> Option<&Filter> {
        Some(&self.filter)
    }

    fn begin(&mut self, _: &mut dyn Write, _: bool) -> io::Result<()> {
        Ok(())
    }

    fn event(&mut self, e: &Event<'_>, _: &Env, out: &mut dyn Write) -> io::Result<()> {
        let Some(Arg::Bytes(data)) = e.arg_named("data") else {
            return Ok(());
        };
        let res = u64::try_from(e.ret()).unwrap_or(0);
        // As sysdig's: the fd by its `fd.name` (a socket by its ends), the
        // process by its `proc.name` alone.
        let fd = e
            .fd()
            .map(|f| {
                let mut name = Vec::new();
                render_ends(f.ends(), f.name(), &mut Bytes(&mut name));
                text(&name)
            })
            .unwrap_or_default();
        let name = e.thread().map_or_else(String::new, |t| text(t.comm()));
        let read = e.ty().info().category.0 & Category::IO_READ.0 != 0;
        let (verb, dir) = if read {
            ("Read", "from")
        } else {
            ("Write", "to")
        };
        writeln!(
            out,
            "------ {verb} {} {dir} {fd} ({name})",
            format_bytes(res)
        )?;
        let mut line = Vec::with_capacity(data.len() + 1);
        line.extend(data.iter().map(|&b| {
            if b.is_ascii_graphic() || b == b' ' || b == b'\n' {
                b
            } else {
                b'.'
            }
        }));
        line.push(b'\n');
        out.write_all(&line)
    }

    fn finish(&mut self, _: &mut dyn Write, _: bool) -> io::Result<()> {
        Ok(())
    }
}

pub(super) const ECHO_FDS: ChiselInfo = ChiselInfo {
    name: "echo_fds",
    description: "Print the data read and written by processes",
    args: &[],
    optional: &[],
    make: |_, _| {
        Ok(Box::new(EchoFds {
            filter: own_filter("evt.is_io = true and evt.rawres > 0"),
        }))
    },
};
