//! `syscap summary --by k8s`: what each Kubernetes namespace, pod and
//! container did (calls, errors, I/O bytes, new connections), as a tree:
//! the question people ask of a capture from a cluster ("what did pod X in
//! namespace Y do"). Processes outside containers are grouped under `host`;
//! containers no pod labels name, under `-`.

use std::collections::BTreeMap;
use std::io::{self, Write};

use capture_format::escape::escaped;
use capture_format::event::{Category, is_error_return, nr};
use capture_format::file::{ContainerText, Event, Projection};
use capture_format::state::label;

use crate::chisels::format_bytes;

/// Figures of one group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
struct Figures {
    calls: u64,
    errors: u64,
    bytes: u64,
    connections: u64,
}

impl std::ops::AddAssign for Figures {
    fn add_assign(&mut self, o: Self) {
        self.calls += o.calls;
        self.errors += o.errors;
        self.bytes += o.bytes;
        self.connections += o.connections;
    }
}

/// (namespace, pod, container) -> figures.
#[derive(Debug, Default)]
pub struct K8sGroups {
    groups: BTreeMap<(String, String, String), Figures>,
}

/// Where a process runs, by names people know.
fn place(e: &Event<'_>) -> (String, String, String) {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let Some(t) = e.thread() else {
        return ("host".into(), String::new(), String::new());
    };
    if t.container_id().is_empty() {
        return ("host".into(), String::new(), String::new());
    }
    let labels = t.container(ContainerText::Labels);
    let named = |key: &[u8]| label(labels, key).map_or_else(|| "-".to_owned(), text);
    let name = t.container(ContainerText::Name);
    let container = if name.is_empty() {
        t.container_id()
    } else {
        name
    };
    (
        named(b"io.kubernetes.pod.namespace"),
        named(b"io.kubernetes.pod.name"),
        text(container),
    )
}

impl K8sGroups {
    /// The columns it reads.
    pub fn projection() -> Projection {
        Projection::THREAD | Projection::FD | Projection::RET | Projection::FLAGS
    }

    /// Adds one event.
    pub fn event(&mut self, e: &Event<'_>) {
        let ty = e.ty();
        if !ty.is_syscall() {
            return;
        }
        let info = ty.info();
        let ret = e.ret();
        let failed = e.returned() && is_error_return(ret);
        let io = info.category.0 & (Category::IO_READ.0 | Category::IO_WRITE.0) != 0;
        let connected = matches!(ty.0, nr::CONNECT | nr::ACCEPT | nr::ACCEPT4)
            && e.returned()
            && (ret >= 0 || ret == -115); // EINPROGRESS: a connection on its way
        let figures = Figures {
            calls: 1,
            errors: u64::from(failed),
            bytes: if io && !failed {
                u64::try_from(ret).unwrap_or(0)
            } else {
                0
            },
            connections: u64::from(connected),
        };
        *self.groups.entry(place(e)).or_default() += figures;
    }

    /// The tree (names escaped: see [`capture_format::escape`]), or JSON
    /// rows (one per container, names exact).
    pub fn write(&self, out: &mut dyn Write, json: bool) -> io::Result<()> {
        if json {
            for ((namespace, pod, container), f) in &self.groups {
                let row = serde_json::json!({
                    "namespace": namespace, "pod": pod, "container": container,
                    "calls": f.calls, "errors": f.errors, "bytes": f.bytes,
                    "connections": f.connections,
                });
                writeln!(out, "{row}")?;
            }
            return Ok(());
        }
        writeln!(
            out,
            "{:<48} {:>10} {:>8} {:>10} {:>6}",
            "NAMESPACE / POD / CONTAINER", "CALLS", "ERRORS", "BYTES", "CONNS"
        )?;
        let row = |out: &mut dyn Write, depth: usize, name: &str, f: &Figures| {
            let name = format!("{:indent$}{}", "", escaped(name), indent = depth * 2);
            writeln!(
                out,
                "{name:<48} {:>10} {:>8} {:>10} {:>6}",
                f.calls,
                f.errors,
                format_bytes(f.bytes),
                f.connections
            )
        };
        // The groups are sorted by namespace, then pod: a header row each
        // time one changes, with the totals below it.
        let mut namespaces: BTreeMap<&str, Figures> = BTreeMap::new();
        let mut pods: BTreeMap<(&str, &str), Figures> = BTreeMap::new();
        for ((namespace, pod, _), f) in &self.groups {
            *namespaces.entry(namespace).or_default() += *f;
            *pods.entry((namespace, pod)).or_default() += *f;
        }
        let mut last: (Option<&str>, Option<&str>) = (None, None);
        for ((namespace, pod, container), f) in &self.groups {
            if last.0 != Some(namespace) {
                row(out, 0, namespace, &namespaces[namespace.as_str()])?;
                last = (Some(namespace), None);
            }
            if namespace == "host" {
                continue;
            }
            if last.1 != Some(pod) {
                row(out, 1, pod, &pods[&(namespace.as_str(), pod.as_str())])?;
                last.1 = Some(pod);
            }
            row(out, 2, container, f)?;
        }
        Ok(())
    }
}
