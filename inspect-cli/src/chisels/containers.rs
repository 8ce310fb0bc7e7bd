//! `lscontainers`: the containers the capture knows when it starts, as
//! sysdig's chisel lists them (it prints its container table at the first
//! event; syscap reads the snapshot the capture starts with).

use std::io::{self, Write};

use capture_format::file::{Event, Projection};
use capture_format::state::Snapshot;
use triggers::filter::{Env, Filter};

use super::{Chisel, ChiselInfo, extend_string, text};

/// sysdig's columns and their widths.
const COLUMNS: [(&str, usize); 4] = [
    ("container.type", 15),
    ("container.image", 16),
    ("container.name", 20),
    ("container.id", 13),
];

struct LsContainers {
    snapshot: Option<Snapshot>,
}

impl Chisel for LsContainers {
    fn projection(&self) -> Projection {
        Projection::MINIMAL
    }

    fn filter(&self) -> Option<&Filter> {
        None
    }

    fn needs_events(&self) -> bool {
        false
    }

    fn state(
        &mut self,
        snapshot: Snapshot,
        _filter: Option<&Filter>,
        _env: &Env,
    ) -> Result<(), capture_format::Error> {
        self.snapshot = Some(snapshot);
        Ok(())
    }

    fn event(&mut self, _: &Event<'_>, _: &Env, _: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }

    fn finish(&mut self, out: &mut dyn Write, json: bool) -> io::Result<()> {
        let mut containers: Vec<_> = self
            .snapshot
            .as_ref()
            .map(|s| s.containers.iter().collect())
            .unwrap_or_default();
        containers.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        if json {
            for c in containers {
                let row = serde_json::json!({
                    "container.type": String::from_utf8_lossy(&c.kind),
                    "container.image": String::from_utf8_lossy(&c.image),
                    "container.name": String::from_utf8_lossy(&c.name),
                    "container.id": String::from_utf8_lossy(&c.id),
                });
                writeln!(out, "{row}")?;
            }
            return Ok(());
        }
        let mut head = String::new();
        let mut rule = String::new();
        for (name, width) in COLUMNS {
            head.push_str(&extend_string(name, width));
            rule.push_str(&extend_string(&"-".repeat(width), width));
        }
        writeln!(out, "{head}")?;
        writeln!(out, "{rule}")?;
        for c in containers {
            let mut line = String::new();
            for (value, (_, width)) in [&c.kind, &c.image, &c.name, &c.id].iter().zip(COLUMNS) {
                line.push_str(&extend_string(&text(value), width));
            }
            writeln!(out, "{line}")?;
        }
        Ok(())
    }
}

pub(super) const LSCONTAINERS: ChiselInfo = ChiselInfo {
    name: "lscontainers",
    description: "List the running containers (at the start of the capture)",
    args: &[],
    optional: &[],
    make: |_, _| Ok(Box::new(LsContainers { snapshot: None })),
};
