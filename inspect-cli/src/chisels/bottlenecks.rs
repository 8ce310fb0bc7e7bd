//! `bottlenecks`: the ten slowest system calls, each as its entry and its
//! return, in sysdig's chisel's shape.
//!
//! sysdig prints each call's two events with their own arguments; a
//! syscap record is one call, so the entry line names the call and the
//! return line carries all its arguments (`evt.args`), and both show the
//! record's `evt.num`.

use std::io::{self, Write};

use capture_format::event::EventType;
use capture_format::file::{Event, Projection};
use capture_format::render::{Bytes, render_args};
use triggers::filter::{Env, Filter};

use super::{Chisel, ChiselInfo, text};

/// How many calls it shows.
const HOW_MANY: usize = 10;

struct Slowest {
    latency: u64,
    enter: String,
    exit: String,
}

struct Bottlenecks {
    slowest: Vec<Slowest>,
    args: Vec<u8>,
}

impl Chisel for Bottlenecks {
    fn projection(&self) -> Projection {
        Projection::ALL
    }

    fn filter(&self) -> Option<&Filter> {
        None
    }

    fn event(&mut self, e: &Event<'_>, _: &Env, _: &mut dyn Write) -> io::Result<()> {
        if e.ty() == EventType::SWITCH || !e.has_latency() {
            return Ok(());
        }
        let latency = e.latency();
        // As sysdig: a call goes before the first slower one it beats, so
        // of equal calls the first seen ranks first.
        let Some(at) = (0..=self.slowest.len().min(HOW_MANY - 1))
            .find(|&j| self.slowest.get(j).is_none_or(|s| latency > s.latency))
        else {
            return Ok(());
        };
        let comm = e
            .thread()
            .filter(|t| !t.comm().is_empty())
            .map_or_else(|| "<NA>".to_owned(), |t| text(t.comm()));
        let (num, tid, name) = (e.num(), e.tid(), e.ty().info().name);
        self.args.clear();
        render_args(e, &mut Bytes(&mut self.args));
        let args = text(&self.args);
        self.slowest.insert(
            at,
            Slowest {
                latency,
                enter: format!("{num}) 0.000000000 {comm} ({tid}) > {name}"),
                exit: format!(
                    "{num}) {}.{:09} {comm} ({tid}) < {name} {args}",
                    latency / 1_000_000_000,
                    latency % 1_000_000_000
                ),
            },
        );
        self.slowest.truncate(HOW_MANY);
        Ok(())
    }

    fn finish(&mut self, out: &mut dyn Write, json: bool) -> io::Result<()> {
        for s in &self.slowest {
            if json {
                let row = serde_json::json!({
                    "latency": s.latency,
                    "enter": s.enter,
                    "exit": s.exit,
                });
                writeln!(out, "{row}")?;
            } else {
                writeln!(out, "{}", s.enter)?;
                writeln!(out, "{}", s.exit)?;
            }
        }
        Ok(())
    }
}

pub(super) const BOTTLENECKS: ChiselInfo = ChiselInfo {
    name: "bottlenecks",
    description: "The 10 slowest system calls",
    args: &[],
    optional: &[],
    make: |_, _| {
        Ok(Box::new(Bottlenecks {
            slowest: Vec::with_capacity(HOW_MANY + 1),
            args: Vec::new(),
        }))
    },
};
