//! Reading a field's value from an event: numbers, flags and text from the
//! record, its thread and its fd, with sysdig's formats.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use capture_format::event::{
    Arg, ArgKind, Category, EventType, SockAddr, SockTuple, errno_name, is_error_return,
};
use capture_format::file::{ContainerText, Event, FdEnds, FdView, Projection, ThreadView};
use capture_format::render::{
    Bytes, render_arg_alone, render_args, render_ends, render_ret_alone, write_clock,
};
use capture_format::state::{FdKind, SocketRole, label, split_nul};

use super::catalogue::{ArgSel, Field};

/// A field's value for one event.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Value<'a> {
    /// The event has no such value (no fd, not a system call...).
    None,
    /// Unsigned number (also durations, sizes, times).
    Num(u64),
    /// Signed number.
    Signed(i64),
    /// Boolean.
    Bool(bool),
    /// Text (not necessarily UTF-8).
    Str(&'a [u8]),
    /// IP address.
    Ip(IpAddr),
}

/// Facts about the capture that some fields need.
#[derive(Clone, Debug, Default)]
pub struct Env {
    /// Start of the capture (for `evt.reltime`), ns since the epoch.
    pub capture_start: u64,
    /// The rule that started the capture (for `trigger.rule`).
    pub trigger_rule: String,
}

fn num(v: i64) -> Value<'static> {
    u64::try_from(v).map_or(Value::Signed(v), Value::Num)
}

/// Reads `field` of `e`. Computed text goes to `scratch`, which the result
/// may borrow.
pub fn value<'a>(field: Field, e: &Event<'a>, env: &'a Env, scratch: &'a mut Vec<u8>) -> Value<'a> {
    use Field as F;
    scratch.clear();
    let text = |scratch: &'a mut Vec<u8>| Value::Str(&scratch[..]);
    // Process and fd fields have helpers of their own.
    let columns = field.projection();
    if columns == Projection::THREAD {
        return process_value(field, e, scratch);
    }
    if columns == Projection::FD || field == F::FdName {
        return fd_value(field, e, scratch);
    }
    match field {
        F::EvtNum => Value::Num(e.num()),
        F::EvtTime => {
            write_clock(e.ts(), &mut Bytes(scratch));
            text(scratch)
        }
        F::EvtRawtime => Value::Num(e.ts()),
        F::EvtReltime => Value::Num(e.ts().saturating_sub(env.capture_start)),
        F::EvtType => Value::Str(e.ty().name().as_bytes()),
        // Kernel and metadata events have one direction, shown as sysdig
        // shows its enter-only events.
        F::EvtDir => Value::Str(if e.returned() && e.ty().is_syscall() {
            b"<"
        } else {
            b">"
        }),
        F::EvtCpu => Value::Num(u64::from(e.cpu())),
        F::EvtRes if !e.has_result() => Value::None,
        F::EvtRes => match is_error_return(e.ret()).then(|| errno_name(-e.ret())) {
            None => Value::Str(b"SUCCESS"),
            Some(Some(name)) => Value::Str(name.as_bytes()),
            Some(None) => {
                let _ = write!(Bytes(scratch), "{}", e.ret());
                text(scratch)
            }
        },
        F::EvtRawres => {
            if e.has_result() {
                Value::Signed(e.ret())
            } else {
                Value::None
            }
        }
        F::EvtFailed => Value::Bool(e.returned() && is_error_return(e.ret())),
        F::EvtLatency => {
            if e.has_latency() {
                Value::Num(e.latency())
            } else {
                Value::None
            }
        }
        F::EvtBuflen => {
            let cat = e.ty().info().category;
            if cat.intersects(Category::IO_READ | Category::IO_WRITE) && e.returned() {
                num(e.ret().max(0))
            } else {
                Value::None
            }
        }
        F::EvtIsIo => Value::Bool(
            e.ty()
                .info()
                .category
                .intersects(Category::IO_READ | Category::IO_WRITE),
        ),
        F::EvtIsIoRead => Value::Bool(e.ty().info().category.intersects(Category::IO_READ)),
        F::EvtIsIoWrite => Value::Bool(e.ty().info().category.intersects(Category::IO_WRITE)),
        F::EvtBuffer | F::EvtArg(_) | F::EvtRawarg(_) | F::EvtArgs => arg_value(field, e, scratch),
        F::TriggerRule => {
            if e.ty() == EventType::TRIGGER
                && let Arg::Str(rule) = e.arg(0)
            {
                return Value::Str(rule);
            }
            if env.trigger_rule.is_empty() {
                Value::None
            } else {
                Value::Str(env.trigger_rule.as_bytes())
            }
        }
        _ => Value::None,
    }
}

/// Argument fields.
fn arg_value<'a>(field: Field, e: &Event<'a>, scratch: &'a mut Vec<u8>) -> Value<'a> {
    use Field as F;
    let text = |scratch: &'a mut Vec<u8>| Value::Str(&scratch[..]);
    match field {
        F::EvtBuffer => e
            .args()
            .find_map(|a| match a {
                Arg::Bytes(b) => Some(Value::Str(b)),
                _ => None,
            })
            .unwrap_or(Value::None),
        F::EvtArg(sel) => {
            if matches!(sel, ArgSel::Ret) || is_ret_name(e, sel) {
                if !e.has_result() {
                    return Value::None;
                }
                render_ret_alone(e, &mut Bytes(scratch));
                return text(scratch);
            }
            let Some((i, arg)) = select_arg(e, sel) else {
                return Value::None;
            };
            let kind = e.ty().info().args.get(i).map_or(ArgKind::Hex, |a| a.kind);
            render_arg_alone(e, kind, arg, &mut Bytes(scratch));
            text(scratch)
        }
        F::EvtRawarg(sel) => {
            if matches!(sel, ArgSel::Ret) || is_ret_name(e, sel) {
                return if e.has_result() {
                    Value::Signed(e.ret())
                } else {
                    Value::None
                };
            }
            match select_arg(e, sel).map(|(_, a)| a) {
                Some(Arg::Int(v)) => Value::Signed(v),
                Some(Arg::Str(s) | Arg::Bytes(s)) => Value::Str(s),
                _ => Value::None,
            }
        }
        F::EvtArgs => {
            render_args(e, &mut Bytes(scratch));
            text(scratch)
        }
        _ => Value::None,
    }
}

/// Process, thread and user fields.
fn process_value<'a>(field: Field, e: &Event<'a>, scratch: &'a mut Vec<u8>) -> Value<'a> {
    use Field as F;
    let text = |scratch: &'a mut Vec<u8>| Value::Str(&scratch[..]);
    match field {
        F::ProcName => thread(e, |t| Value::Str(or_na(t.comm()))),
        F::ProcPid => thread(e, |t| num(t.pid())),
        F::ProcPpid => thread(e, |t| num(t.ppid())),
        F::ProcPname => thread(e, |t| {
            t.parent().map_or(Value::None, |p| Value::Str(p.comm()))
        }),
        F::ProcExe => thread(e, |t| Value::Str(or_na(t.exe()))),
        F::ProcExepath => thread(e, |t| Value::Str(t.exepath())),
        F::ProcCmdline => {
            let Some(t) = e.thread() else {
                return Value::None;
            };
            if t.comm().is_empty() {
                return Value::Str(NA);
            }
            scratch.extend_from_slice(t.comm());
            for a in split_nul(t.args()) {
                scratch.push(b' ');
                scratch.extend_from_slice(a);
            }
            text(scratch)
        }
        F::ProcArgs => {
            let Some(t) = e.thread() else {
                return Value::None;
            };
            for (i, a) in split_nul(t.args()).enumerate() {
                if i > 0 {
                    scratch.push(b' ');
                }
                scratch.extend_from_slice(a);
            }
            text(scratch)
        }
        F::ProcCwd => thread(e, |t| Value::Str(t.cwd())),
        F::ProcAname(Some(n)) => thread(e, |t| {
            t.ancestors()
                .nth(n as usize - 1)
                .map_or(Value::None, |a| Value::Str(a.comm()))
        }),
        // Any ancestor: the matcher walks them; as a value, the parent.
        F::ProcAname(None) => thread(e, |t| {
            t.parent().map_or(Value::None, |p| Value::Str(p.comm()))
        }),
        F::ThreadTid => thread(e, |t| num(t.tid())),
        F::UserUid => thread(e, |t| Value::Num(u64::from(t.uid()))),
        // A uid the user table does not name has no user name (sysdig: <NA>).
        F::UserName => thread(e, |t| {
            if t.user().is_empty() {
                Value::None
            } else {
                Value::Str(t.user())
            }
        }),
        F::GroupGid => thread(e, |t| Value::Num(u64::from(t.gid()))),
        F::ContainerFullId
        | F::ContainerName
        | F::ContainerType
        | F::ContainerImage
        | F::ContainerImageRepo
        | F::ContainerImageTag
        | F::ContainerImageDigest
        | F::ContainerPrivileged
        | F::ContainerLabel(_)
        | F::K8sPodName
        | F::K8sNsName
        | F::K8sPodUid
        | F::K8sPodLabel(_)
        | F::K8sPodSandboxId => container_value(field, e),
        F::ContainerId => thread(e, |t| {
            Value::Str(if t.container_id().is_empty() {
                b"host"
            } else {
                t.container_id()
            })
        }),
        _ => Value::None,
    }
}

/// Container and Kubernetes fields.
fn container_value<'a>(field: Field, e: &Event<'a>) -> Value<'a> {
    use Field as F;
    match field {
        F::ContainerFullId => thread(e, |t| {
            let full = t.container(ContainerText::FullId);
            match (t.container_id(), full) {
                (b"", _) => Value::Str(b"host"),
                (id, b"") => Value::Str(id),
                (_, full) => Value::Str(full),
            }
        }),
        F::ContainerName => container(e, ContainerText::Name, b"host"),
        F::ContainerType => container(e, ContainerText::Kind, b"host"),
        F::ContainerImage => container(e, ContainerText::Image, b""),
        F::ContainerImageRepo => container(e, ContainerText::ImageRepo, b""),
        F::ContainerImageTag => container(e, ContainerText::ImageTag, b""),
        F::ContainerImageDigest => container(e, ContainerText::ImageDigest, b""),
        F::ContainerPrivileged => thread(e, |t| {
            if t.container_id().is_empty() {
                Value::None
            } else {
                Value::Bool(t.container_privileged())
            }
        }),
        F::ContainerLabel(key) | F::K8sPodLabel(key) => container_label(e, key),
        F::K8sPodName => container_label(e, "io.kubernetes.pod.name"),
        F::K8sNsName => container_label(e, "io.kubernetes.pod.namespace"),
        F::K8sPodUid => thread(e, |t| {
            if t.pod_uid().is_empty() {
                label(t.container(ContainerText::Labels), b"io.kubernetes.pod.uid")
                    .map_or(Value::None, Value::Str)
            } else {
                Value::Str(t.pod_uid())
            }
        }),
        // sysdig shows the sandbox's id as a container id: 12 digits.
        F::K8sPodSandboxId => thread(e, |t| {
            label(
                t.container(ContainerText::Labels),
                b"io.kubernetes.sandbox.id",
            )
            .map_or(Value::None, |id| Value::Str(&id[..id.len().min(12)]))
        }),
        _ => Value::None,
    }
}

/// A text of the event's container: `host` outside containers, none when
/// the capture was never told.
fn container<'a>(e: &Event<'a>, which: ContainerText, host: &'static [u8]) -> Value<'a> {
    thread(e, |t| match (t.container_id(), t.container(which)) {
        (b"", _) if !host.is_empty() => Value::Str(host),
        (_, b"") => Value::None,
        (_, text) => Value::Str(text),
    })
}

/// Label `key` of the event's container.
fn container_label<'a>(e: &Event<'a>, key: &str) -> Value<'a> {
    thread(e, |t| {
        label(t.container(ContainerText::Labels), key.as_bytes()).map_or(Value::None, Value::Str)
    })
}

/// What sysdig shows for a text a thread has but the capture never learned
/// (a thread first seen mid-capture, whose process nothing described).
const NA: &[u8] = b"<NA>";

/// `text`, or [`NA`] when it is empty: no process has an empty command
/// name or executable, so empty means unknown.
fn or_na(text: &[u8]) -> &[u8] {
    if text.is_empty() { NA } else { text }
}

/// Fd fields.
fn fd_value<'a>(field: Field, e: &Event<'a>, scratch: &'a mut Vec<u8>) -> Value<'a> {
    use Field as F;
    let text = |scratch: &'a mut Vec<u8>| Value::Str(&scratch[..]);
    match field {
        F::FdNum => fd(e, |f| Value::Signed(f.num())),
        F::FdName => {
            let Some(f) = e.fd() else {
                // An fd the state does not know: sysdig shows an empty name
                // (and no value at all for events without an fd).
                let info = e.ty().info();
                let has_fd = info
                    .args
                    .iter()
                    .position(|a| a.kind == capture_format::event::ArgKind::Fd)
                    .and_then(|i| e.arg(i).as_int())
                    .is_some_and(|n| n >= 0);
                return if has_fd && info.typed {
                    Value::Str(b"")
                } else {
                    Value::None
                };
            };
            match f.ends() {
                FdEnds::None => Value::Str(f.name()),
                ends => {
                    render_ends(ends, f.name(), &mut Bytes(scratch));
                    text(scratch)
                }
            }
        }
        F::FdType => fd(e, |f| Value::Str(f.kind().name().as_bytes())),
        F::FdTypechar => {
            let Some(f) = e.fd() else { return Value::None };
            let mut buf = [0u8; 4];
            scratch.extend_from_slice(f.kind().typechar().encode_utf8(&mut buf).as_bytes());
            text(scratch)
        }
        F::FdDirectory => fd(e, |f| {
            if !matches!(f.kind(), FdKind::File | FdKind::Directory) {
                return Value::None;
            }
            let name = f.name();
            if f.kind() == FdKind::Directory {
                return Value::Str(name);
            }
            match name.iter().rposition(|&b| b == b'/') {
                Some(0) => Value::Str(b"/"),
                Some(i) => Value::Str(&name[..i]),
                None => Value::None,
            }
        }),
        F::FdFilename => fd(e, |f| {
            if f.kind() != FdKind::File {
                return Value::None;
            }
            let name = f.name();
            Value::Str(name.rsplit(|&b| b == b'/').next().unwrap_or(name))
        }),
        F::FdSip | F::FdCip | F::FdLip | F::FdRip => {
            endpoint(e, field).map_or(Value::None, |a| Value::Ip(a.ip()))
        }
        F::FdSport | F::FdCport | F::FdLport | F::FdRport => {
            let field = match field {
                F::FdSport => F::FdSip,
                F::FdCport => F::FdCip,
                F::FdLport => F::FdLip,
                _ => F::FdRip,
            };
            endpoint(e, field).map_or(Value::None, |a| Value::Num(u64::from(a.port())))
        }
        F::FdL4proto => fd(e, |f| {
            if f.kind().is_inet() {
                Value::Str(f.l4proto().name().as_bytes())
            } else {
                Value::None
            }
        }),
        F::FdSockfamily => fd(e, |f| match f.kind() {
            FdKind::Ipv4 | FdKind::Ipv6 => Value::Str(b"ip"),
            FdKind::Unix => Value::Str(b"unix"),
            _ => Value::None,
        }),
        _ => Value::None,
    }
}

fn thread<'a>(e: &Event<'a>, f: impl FnOnce(ThreadView<'a>) -> Value<'a>) -> Value<'a> {
    e.thread().map_or(Value::None, f)
}

fn fd<'a>(e: &Event<'a>, f: impl FnOnce(FdView<'a>) -> Value<'a>) -> Value<'a> {
    e.fd().map_or(Value::None, f)
}

/// True when `sel` names the return value of `e`'s type (`evt.arg.fd` of
/// an open, whose result is the fd).
fn is_ret_name(e: &Event<'_>, sel: ArgSel) -> bool {
    let info = e.ty().info();
    matches!(sel, ArgSel::Name(n) if n == info.ret_name && info.arg_index(n).is_none())
}

fn select_arg<'a>(e: &Event<'a>, sel: ArgSel) -> Option<(usize, Arg<'a>)> {
    let i = match sel {
        ArgSel::Name(name) => e.ty().info().arg_index(name)?,
        ArgSel::Index(i) => i as usize,
        ArgSel::Ret => return None,
    };
    match e.arg(i) {
        Arg::Absent => None,
        a => Some((i, a)),
    }
}

/// One end of the event's connection: server, client, local or remote.
fn endpoint(e: &Event<'_>, which: Field) -> Option<SocketAddr> {
    let f = e.fd()?;
    let (client, server) = match f.ends() {
        FdEnds::Tuple(SockTuple::V4 { src, dst }) => (SocketAddr::V4(src), SocketAddr::V4(dst)),
        FdEnds::Tuple(SockTuple::V6 { src, dst }) => (SocketAddr::V6(src), SocketAddr::V6(dst)),
        FdEnds::Local(SockAddr::V4(a)) => {
            return matches!(which, Field::FdSip | Field::FdLip).then_some(SocketAddr::V4(a));
        }
        FdEnds::Local(SockAddr::V6(a)) => {
            return matches!(which, Field::FdSip | Field::FdLip).then_some(SocketAddr::V6(a));
        }
        _ => return None,
    };
    let (local, remote) = if f.role() == SocketRole::Server {
        (server, client)
    } else {
        (client, server)
    };
    Some(match which {
        Field::FdSip => server,
        Field::FdCip => client,
        Field::FdLip => local,
        _ => remote,
    })
}
