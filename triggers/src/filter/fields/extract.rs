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
    /// The ns within a second: a number, shown as 9 digits as sysdig
    /// shows `evt.deltatime.ns`.
    Frac(u64),
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
    /// The time of the event shown before this one, for `evt.deltatime`
    /// (a printer sets it; a filter's [`Matcher`](crate::filter::Matcher)
    /// keeps its own, of the event it read before).
    pub previous: Option<u64>,
}

/// The `*at` calls whose path `evt.abspath` makes absolute, with the names
/// of their directory fd and path arguments: the source (`evt.abspath`,
/// `.src`) and the destination (`.dst`; the source again for calls with
/// one path), as sysdig 0.29.3 has them.
const ABSPATH_ARGS: &[(&str, [(&str, &str); 2])] = &[
    ("openat", [("dirfd", "name"), ("dirfd", "name")]),
    ("openat2", [("dirfd", "name"), ("dirfd", "name")]),
    ("mkdirat", [("dirfd", "path"), ("dirfd", "path")]),
    ("unlinkat", [("dirfd", "name"), ("dirfd", "name")]),
    ("fchmodat", [("dirfd", "filename"), ("dirfd", "filename")]),
    (
        "symlinkat",
        [("linkdirfd", "linkpath"), ("linkdirfd", "linkpath")],
    ),
    (
        "renameat",
        [("olddirfd", "oldpath"), ("newdirfd", "newpath")],
    ),
    (
        "renameat2",
        [("olddirfd", "oldpath"), ("newdirfd", "newpath")],
    ),
    ("linkat", [("olddir", "oldpath"), ("newdir", "newpath")]),
];

/// `evt.abspath`: the path argument joined to its directory: itself when
/// absolute, the thread's working directory for `AT_FDCWD`, else the
/// directory fd's name (none when the chunk does not know the fd), and
/// normalised as sysdig does (`.`, `..`, repeated slashes).
fn abspath<'a>(field: Field, e: &Event<'a>, scratch: &'a mut Vec<u8>) -> Value<'a> {
    const AT_FDCWD: i64 = -100;
    let info = e.ty().info();
    let Some((_, pairs)) = ABSPATH_ARGS.iter().find(|(name, _)| *name == info.name) else {
        return Value::None;
    };
    let (dirfd, path) = pairs[usize::from(field == Field::EvtAbspathDst)];
    let (Some(dirfd), Some(path)) = (info.arg_index(dirfd), info.arg_index(path)) else {
        return Value::None;
    };
    let (Arg::Int(dirfd), Arg::Str(path)) = (e.arg(dirfd), e.arg(path)) else {
        return Value::None;
    };
    let base: &[u8] = if path.starts_with(b"/") {
        b"/"
    } else if dirfd == AT_FDCWD {
        match e.thread() {
            Some(t) => t.cwd(),
            None => return Value::None,
        }
    } else {
        match e.process_fd(dirfd) {
            Some(f) => f.name(),
            None => return Value::None,
        }
    };
    capture_format::state::resolve_into(base, path, scratch);
    Value::Str(&scratch[..])
}

/// `evt.deltatime`, `.s` or `.ns` of an event at `ts` after one at
/// `previous`: 0 for the first event, and for one whose entry (its time)
/// came before the previous event's (records are in exit order).
pub fn deltatime(field: Field, ts: u64, previous: Option<u64>) -> Value<'static> {
    let delta = previous.map_or(0, |p| ts.saturating_sub(p));
    match field {
        Field::EvtDeltatimeS => Value::Num(delta / NS),
        Field::EvtDeltatimeNs => Value::Frac(delta % NS),
        _ => Value::Num(delta),
    }
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
        F::EvtLatency
        | F::EvtLatencyS
        | F::EvtLatencyNs
        | F::EvtLatencyHuman
        | F::EvtWaitLatency => latency(field, e, scratch),
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
        F::EvtBuffer | F::EvtArg(_) | F::EvtRawarg(_) | F::EvtArgs | F::EvtInfo => {
            arg_value(field, e, scratch)
        }
        F::ProcDuration => thread(e, |t| match t.start_ts() {
            0 => Value::None,
            start => Value::Num(e.ts().saturating_sub(start)),
        }),
        F::FdUid | F::FdContainername | F::FdContainerdirectory => {
            fd_thread_value(field, e, scratch)
        }
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
        F::SyslogFacilityStr
        | F::SyslogFacility
        | F::SyslogSeverityStr
        | F::SyslogSeverity
        | F::SyslogMessage => syslog_message(e).map_or(Value::None, |m| match field {
            F::SyslogFacilityStr => Value::Str(m.facility_name()),
            F::SyslogFacility => Value::Num(u64::from(m.facility())),
            F::SyslogSeverityStr => Value::Str(m.severity_name()),
            F::SyslogSeverity => Value::Num(u64::from(m.severity())),
            _ => Value::Str(m.text),
        }),
        _ => event_value(field, e, env, scratch),
    }
}

/// A write to an fd whose name holds `/dev/log` (the syslog socket, also
/// as the far end of a unix socket's name), as sysdig's `evt.is_syslog`.
fn writes_to_syslog(e: &Event<'_>) -> bool {
    e.ty().info().category.intersects(Category::IO_WRITE)
        && e.fd()
            .is_some_and(|f| f.name().windows(8).any(|w| w == b"/dev/log"))
}

/// The message a successful write to syslog carries, if it decodes
/// (see [`SyslogMessage::parse`]).
fn syslog_message<'a>(e: &Event<'a>) -> Option<SyslogMessage<'a>> {
    if !writes_to_syslog(e) || !e.has_result() || e.ret() < 0 {
        return None;
    }
    let data = e.args().find_map(|a| match a {
        Arg::Bytes(b) => Some(b),
        _ => None,
    })?;
    SyslogMessage::parse(data)
}

/// A syslog message: `<PRIORITY>TEXT`, the priority being facility * 8 +
/// severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SyslogMessage<'a> {
    priority: i32,
    text: &'a [u8],
}

impl<'a> SyslogMessage<'a> {
    /// Decodes `data` as sysdig 0.29.3's syslog decoder does: the first
    /// byte is skipped (whatever it is), the priority is the digits up to
    /// `>`, a NUL or 15 bytes, and the text is what follows the byte after
    /// them. No digits, another byte among them, or a priority of -1 (the
    /// decoder's "none", reached by overflow) is no message.
    fn parse(data: &'a [u8]) -> Option<Self> {
        let digits: &[u8] = data.get(1..).unwrap_or_default();
        let len = digits
            .iter()
            .take(15)
            .position(|&b| b == b'>' || b == 0)
            .unwrap_or(digits.len().min(15));
        if len == 0 || data.len() < len + 2 {
            return None;
        }
        let mut priority = 0i32;
        for &b in &digits[..len] {
            if !b.is_ascii_digit() {
                return None;
            }
            priority = priority.wrapping_mul(10).wrapping_add(i32::from(b - b'0'));
        }
        (priority != -1).then(|| Self {
            priority,
            text: &data[len + 2..],
        })
    }

    #[expect(
        clippy::cast_sign_loss,
        reason = "sysdig keeps the facility unsigned: an overflowed priority names none"
    )]
    fn facility(self) -> u32 {
        (self.priority >> 3) as u32
    }

    #[expect(
        clippy::cast_sign_loss,
        reason = "the low three bits, whatever the sign"
    )]
    fn severity(self) -> u32 {
        (self.priority & 7) as u32
    }

    fn facility_name(self) -> &'static [u8] {
        const NAMES: [&str; 24] = [
            "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "clock",
            "authpriv", "ftp", "ntp", "logaudit", "logalert", "cron", "local0", "local1", "local2",
            "local3", "local4", "local5", "local6", "local7",
        ];
        usize::try_from(self.facility())
            .ok()
            .and_then(|i| NAMES.get(i))
            .map_or(b"<NA>", |n| n.as_bytes())
    }

    fn severity_name(self) -> &'static [u8] {
        const NAMES: [&str; 8] = [
            "emerg", "alert", "crit", "err", "warn", "notice", "info", "debug",
        ];
        NAMES[usize::try_from(self.severity()).unwrap_or(0) % 8].as_bytes()
    }
}

/// The event fields sysdig derives from times, results and types
/// (`evt.datetime`, `evt.count.error`, `evt.is_open_read`...); none for
/// filter-only fields (`evt.around`: the matcher compares the time).
fn event_value<'a>(
    field: Field,
    e: &Event<'a>,
    env: &'a Env,
    scratch: &'a mut Vec<u8>,
) -> Value<'a> {
    use Field as F;
    match field {
        F::EvtTimeS | F::EvtTimeIso8601 | F::EvtDatetime | F::EvtDatetimeS | F::EvtOutputtime => {
            write_time(field, e.ts(), scratch);
            Value::Str(&scratch[..])
        }
        F::EvtRawtimeS => Value::Num(e.ts() / NS),
        F::EvtRawtimeNs => Value::Num(e.ts() % NS),
        F::EvtReltimeS => Value::Num(e.ts().saturating_sub(env.capture_start) / NS),
        F::EvtReltimeNs => Value::Num(e.ts().saturating_sub(env.capture_start) % NS),
        F::SyscallType if e.ty().is_syscall() => Value::Str(e.ty().name().as_bytes()),
        F::EvtIoDir => {
            let cat = e.ty().info().category;
            if cat.intersects(Category::IO_READ) {
                Value::Str(b"read")
            } else if cat.intersects(Category::IO_WRITE) {
                Value::Str(b"write")
            } else {
                Value::None
            }
        }
        F::EvtCount => Value::Num(1),
        F::EvtAbspath | F::EvtAbspathSrc | F::EvtAbspathDst => abspath(field, e, scratch),
        F::EvtDeltatime | F::EvtDeltatimeS | F::EvtDeltatimeNs => {
            deltatime(field, e.ts(), env.previous)
        }
        F::EvtIsWait => Value::Bool(waits(e.ty())),
        F::EvtTypeIs(t) => Value::Num(u64::from(e.ty().0 == t)),
        F::EvtCountExit => count(e.returned()),
        F::EvtCountError
        | F::EvtCountErrorFile
        | F::EvtCountErrorNet
        | F::EvtCountErrorMemory
        | F::EvtCountErrorOther => {
            // As sysdig: by the fd the call was on when there is one, else
            // by the call (file calls count when they take or make an fd:
            // access does not).
            let info = e.ty().info();
            let cat = info.category;
            let (file, net, memory) = match e.fd().map(|f| f.kind()) {
                Some(FdKind::File | FdKind::Directory) => (true, false, false),
                Some(k) if k.is_inet() || k == FdKind::Unix => (false, true, false),
                _ => (
                    cat.intersects(Category::FILE)
                        && (cat.intersects(Category::OPENS_FD)
                            || info.args.iter().any(|a| a.kind == ArgKind::Fd)),
                    cat.intersects(Category::NET),
                    cat.intersects(Category::MEMORY),
                ),
            };
            let wanted = match field {
                F::EvtCountErrorFile => file,
                F::EvtCountErrorNet => net,
                F::EvtCountErrorMemory => memory,
                F::EvtCountErrorOther => !(file || net || memory),
                _ => true,
            };
            count(wanted && e.has_result() && is_error_return(e.ret()))
        }
        F::EvtIsOpenRead | F::EvtIsOpenWrite | F::EvtIsOpenExec => open_mode(field, e),
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
        // A message written to syslog is shown decoded, as sysdig does.
        F::EvtInfo if let Some(m) = syslog_message(e) => {
            scratch.extend_from_slice(b"syslog sev=");
            scratch.extend_from_slice(m.severity_name());
            scratch.extend_from_slice(b" msg=");
            scratch.extend_from_slice(m.text);
            text(scratch)
        }
        F::EvtArgs | F::EvtInfo => {
            render_args(e, &mut Bytes(scratch));
            text(scratch)
        }
        _ => Value::None,
    }
}

/// Process, thread and user fields.
fn process_value<'a>(field: Field, e: &Event<'a>, scratch: &'a mut Vec<u8>) -> Value<'a> {
    use Field as F;
    match field {
        F::ProcName => thread(e, |t| Value::Str(or_na(t.comm()))),
        F::ProcPid => thread(e, |t| num(t.pid())),
        F::ProcPpid => thread(e, |t| num(t.ppid())),
        F::ProcPname => thread(e, |t| {
            creator(t).map_or(Value::None, |p| Value::Str(p.comm()))
        }),
        F::ProcExe => thread(e, |t| Value::Str(or_na(t.exe()))),
        F::ProcExepath => thread(e, |t| Value::Str(t.exepath())),
        F::ProcCmdline | F::ProcExeline | F::ProcPcmdline | F::ProcArgs => {
            command_line(field, e, scratch)
        }
        F::ProcCwd => thread(e, |t| Value::Str(t.cwd())),
        F::ProcAname(Some(0)) => thread(e, |t| Value::Str(or_na(t.comm()))),
        F::ProcAname(Some(n)) => thread(e, |t| {
            lineage(t)
                .nth(n as usize)
                .map_or(Value::None, |a| Value::Str(a.comm()))
        }),
        F::ProcApid(Some(n)) => thread(e, |t| {
            lineage(t)
                .nth(n as usize)
                .map_or(Value::None, |a| num(a.pid()))
        }),
        // Any ancestor: the matcher walks them; as a value, the parent.
        F::ProcApid(None) => thread(e, |t| t.parent().map_or(Value::None, |p| num(p.pid()))),
        F::ProcVpid => thread(e, |t| positive(t.vpid())),
        F::ThreadVtid => thread(e, |t| positive(t.vtid())),
        F::ThreadIsmain => thread(e, |t| Value::Bool(t.tid() == t.pid())),
        F::ProcLoginshellid => thread(e, |t| {
            lineage(t)
                .filter(|a| is_shell(a.comm()))
                .last()
                .map_or(Value::None, |a| num(a.pid()))
        }),
        F::ProcSid
        | F::ProcVpgid
        | F::ProcTty
        | F::ProcSname
        | F::ProcNthreads
        | F::ProcNchilds => thread(e, |t| session_value(field, t)),
        F::UserLoginname => thread(e, |t| match t.login_user() {
            b"" => Value::None,
            name => Value::Str(name),
        }),
        // The kernel's "unset" (u32::MAX) is sysdig's -1.
        F::UserLoginuid => thread(e, |t| Value::Signed(i64::from(t.loginuid().cast_signed()))),
        F::GroupName => thread(e, |t| {
            if t.group().is_empty() {
                Value::None
            } else {
                Value::Str(t.group())
            }
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
        F::K8sPodLabels => thread(e, |t| {
            if !pod_labels(t.container(ContainerText::Labels), scratch) {
                return Value::None;
            }
            Value::Str(&scratch[..])
        }),
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

/// `proc.cmdline`, `proc.exeline`, `proc.pcmdline`, `proc.args`: a name
/// and the arguments, space-separated.
fn command_line<'a>(field: Field, e: &Event<'a>, scratch: &'a mut Vec<u8>) -> Value<'a> {
    use Field as F;
    let Some(t) = e.thread() else {
        return Value::None;
    };
    let (head, t) = match field {
        F::ProcCmdline if t.comm().is_empty() => return Value::Str(NA),
        F::ProcCmdline => (Some(t.comm()), t),
        F::ProcExeline => (Some(or_na(t.exe())), t),
        F::ProcPcmdline => match creator(t) {
            Some(p) => (Some(or_na(p.comm())), p),
            None => return Value::None,
        },
        _ => (None, t),
    };
    let mut args = split_nul(t.args()).peekable();
    if let Some(head) = head {
        scratch.extend_from_slice(head);
        // As sysdig, exeline has the space even without arguments.
        if field == F::ProcExeline || args.peek().is_some() {
            scratch.push(b' ');
        }
    }
    for (i, a) in args.enumerate() {
        if i > 0 {
            scratch.push(b' ');
        }
        scratch.extend_from_slice(a);
    }
    Value::Str(&scratch[..])
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

/// Writes a container's `key=value` labels as sysdig's `k8s.pod.labels`
/// lists a pod's: `key:value` (`key` alone for an empty value), sorted by
/// key, joined by `, `, without the runtime's own (`io.kubernetes.*`,
/// `annotation.*`); false for a container that is not in a pod.
fn pod_labels(labels: &[u8], out: &mut Vec<u8>) -> bool {
    if label(labels, b"io.kubernetes.pod.name").is_none() {
        return false;
    }
    let mut pairs: Vec<(&[u8], &[u8])> = split_nul(labels)
        .filter(|kv| !kv.starts_with(b"io.kubernetes.") && !kv.starts_with(b"annotation."))
        .map(|kv| {
            let at = kv.iter().position(|&b| b == b'=').unwrap_or(kv.len());
            (&kv[..at], kv.get(at + 1..).unwrap_or_default())
        })
        .collect();
    pairs.sort_unstable();
    for (i, (key, value)) in pairs.into_iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        out.extend_from_slice(key);
        if !value.is_empty() {
            out.push(b':');
            out.extend_from_slice(value);
        }
    }
    true
}

/// What sysdig shows for a text a thread has but the capture never learned
/// (a thread first seen mid-capture, whose process nothing described).
const NA: &[u8] = b"<NA>";

/// `text`, or [`NA`] when it is empty: no process has an empty command
/// name or executable, so empty means unknown.
fn or_na(text: &[u8]) -> &[u8] {
    if text.is_empty() { NA } else { text }
}

/// `evt.latency` and its forms.
fn latency<'a>(field: Field, e: &Event<'a>, scratch: &'a mut Vec<u8>) -> Value<'a> {
    if !e.has_latency() || (field == Field::EvtWaitLatency && !waits(e.ty())) {
        return Value::None;
    }
    let ns = e.latency();
    match field {
        Field::EvtLatencyS => Value::Num(ns / NS),
        Field::EvtLatencyNs => Value::Frac(ns % NS),
        Field::EvtLatencyHuman => {
            write_human_duration(ns, scratch);
            Value::Str(&scratch[..])
        }
        _ => Value::Num(ns),
    }
}

/// True for the calls sysdig says wait (`evt.is_wait`): its event table
/// marks these.
fn waits(ty: EventType) -> bool {
    matches!(
        ty.name(),
        "poll" | "ppoll" | "select" | "epoll_wait" | "nanosleep"
    )
}

/// Nanoseconds in a second.
const NS: u64 = 1_000_000_000;

fn count(yes: bool) -> Value<'static> {
    if yes { Value::Num(1) } else { Value::None }
}

/// A field of the event's time, in the field's format (UTC).
fn write_time(field: Field, ns: u64, out: &mut Vec<u8>) {
    let ts = jiff::Timestamp::from_nanosecond(i128::from(ns)).unwrap_or_default();
    let t = ts.to_zoned(jiff::tz::TimeZone::UTC);
    let (date, sep, nanos, zone) = match field {
        Field::EvtTimeS => (false, ' ', false, false),
        Field::EvtTimeIso8601 => (true, 'T', true, true),
        Field::EvtDatetime => (true, ' ', true, false),
        Field::EvtDatetimeS => (true, ' ', false, false),
        _ => (false, ' ', true, false),
    };
    let mut w = Bytes(out);
    if date {
        let _ = write!(w, "{:04}-{:02}-{:02}{sep}", t.year(), t.month(), t.day());
    }
    let _ = write!(w, "{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second());
    if nanos {
        let _ = write!(w, ".{:09}", t.subsec_nanosecond());
    }
    if zone {
        let _ = write!(w, "+0000");
    }
}

/// A duration as sysdig shows it to people: `835ns`, `3.43us`, `12us`,
/// `1.04ms`, `3.11s` (two decimals, cut, below 10 of the unit).
fn write_human_duration(ns: u64, out: &mut Vec<u8>) {
    let mut w = Bytes(out);
    let (unit, name) = match ns {
        0..1_000 => {
            let _ = write!(w, "{ns}ns");
            return;
        }
        1_000..1_000_000 => (1_000, "us"),
        1_000_000..NS => (1_000_000, "ms"),
        _ => (NS, "s"),
    };
    let whole = ns / unit;
    if whole >= 10 {
        let _ = write!(w, "{whole}{name}");
    } else {
        let _ = write!(w, "{whole}.{:02}{name}", ns % unit * 100 / unit);
    }
}

/// `evt.is_open_read`, `_write` and `_exec` of an open (its flags and
/// mode arguments, as Linux has them).
fn open_mode(field: Field, e: &Event<'_>) -> Value<'static> {
    const O_ACCMODE: i64 = 0o3;
    const O_CREAT: i64 = 0o100;
    const O_TMPFILE: i64 = 0o20_200_000;
    const EXEC_BITS: i64 = 0o111;
    let name = e.ty().name();
    if !e.returned() || !matches!(name, "open" | "openat" | "openat2" | "creat") {
        return Value::Bool(false);
    }
    let int = |arg: &str| e.arg_named(arg).and_then(|a| a.as_int());
    // creat is open(O_CREAT|O_WRONLY|O_TRUNC).
    let flags = if name == "creat" {
        0o1101
    } else {
        int("flags").unwrap_or(0)
    };
    let mode = int("mode").unwrap_or(0);
    Value::Bool(match field {
        Field::EvtIsOpenRead => name != "creat" && matches!(flags & O_ACCMODE, 0 | 2),
        Field::EvtIsOpenWrite => matches!(flags & O_ACCMODE, 1 | 2),
        _ => (flags & O_CREAT != 0 || flags & O_TMPFILE == O_TMPFILE) && mode & EXEC_BITS != 0,
    })
}

/// The session, terminal and thread-count fields of a thread's process.
fn session_value(field: Field, t: ThreadView<'_>) -> Value<'_> {
    use Field as F;
    match field {
        F::ProcSid => Value::Signed(t.sid()),
        F::ProcVpgid => Value::Signed(t.vpgid()),
        F::ProcTty => Value::Num(u64::from(t.tty())),
        // Not counted (older chunks): none.
        F::ProcNthreads => match t.threads() {
            0 => Value::None,
            n => Value::Num(u64::from(n)),
        },
        F::ProcNchilds => match t.threads() {
            0 => Value::None,
            n if t.tid() == t.pid() => Value::Num(u64::from(n - 1)),
            _ => Value::Num(0),
        },
        // As sysdig: the session leader by its pid, or when it is gone,
        // the eldest ancestor still in the session; a thread known by its
        // id alone has no name: none, as sysdig.
        _ => lineage(t)
            .find(|a| a.pid() == t.sid())
            .or_else(|| lineage(t).take_while(|a| a.sid() == t.sid()).last())
            .filter(|a| !a.comm().is_empty())
            .map_or(Value::None, |a| Value::Str(a.comm())),
    }
}

/// The process and its ancestors, the process first.
fn lineage(t: ThreadView<'_>) -> impl Iterator<Item = ThreadView<'_>> {
    std::iter::successors(Some(t), ThreadView::parent)
}

/// The thread that started `t`, as sysdig sees it (`proc.pname`): the
/// process's parent for a main thread; for another thread, its process
/// (which created it).
fn creator(t: ThreadView<'_>) -> Option<ThreadView<'_>> {
    if t.tid() == t.pid() {
        t.parent()
    } else {
        Some(t)
    }
}

/// The shells `proc.loginshellid` looks for.
fn is_shell(comm: &[u8]) -> bool {
    matches!(
        comm,
        b"sh" | b"bash" | b"ash" | b"dash" | b"csh" | b"tcsh" | b"ksh" | b"zsh"
    )
}

/// A namespace id: none when the capture does not know it.
fn positive(id: i64) -> Value<'static> {
    if id > 0 { num(id) } else { Value::None }
}

/// Fd fields that also need the thread: `fd.uid`, `fd.containername`,
/// `fd.containerdirectory`.
fn fd_thread_value<'a>(field: Field, e: &Event<'a>, scratch: &'a mut Vec<u8>) -> Value<'a> {
    let Some(t) = e.thread() else {
        return Value::None;
    };
    let f = e.fd();
    match (field, f) {
        (Field::FdUid, Some(f)) => {
            let _ = write!(Bytes(scratch), "{}{}", t.tid(), f.num());
        }
        (Field::FdContainername, f) => {
            // An fd the state does not know has an empty name (as fd.name).
            if f.is_none() && unknown_fd_name(e) == Value::None {
                return Value::None;
            }
            scratch.extend_from_slice(t.container_id());
            scratch.push(b':');
            if let Some(f) = f {
                render_ends(f.ends(), f.name(), &mut Bytes(scratch));
            }
        }
        (Field::FdContainerdirectory, Some(f)) => {
            let Some(dir) = directory(f) else {
                return Value::None;
            };
            scratch.extend_from_slice(t.container_id());
            scratch.push(b':');
            scratch.extend_from_slice(dir);
        }
        _ => return Value::None,
    }
    Value::Str(&scratch[..])
}

/// The name of an fd the state does not know: sysdig shows an empty name
/// (and no value at all for events without an fd).
fn unknown_fd_name(e: &Event<'_>) -> Value<'static> {
    let info = e.ty().info();
    let has_fd = info
        .args
        .iter()
        .position(|a| a.kind == ArgKind::Fd)
        .and_then(|i| e.arg(i).as_int())
        .is_some_and(|n| n >= 0);
    if has_fd && info.typed {
        Value::Str(b"")
    } else {
        Value::None
    }
}

/// The directory of a file fd, or the directory an fd is.
fn directory(f: FdView<'_>) -> Option<&[u8]> {
    if !matches!(f.kind(), FdKind::File | FdKind::Directory) {
        return None;
    }
    let name = f.name();
    if f.kind() == FdKind::Directory {
        return Some(name);
    }
    match name.iter().rposition(|&b| b == b'/') {
        Some(0) => Some(b"/"),
        Some(i) => Some(&name[..i]),
        None => None,
    }
}

/// Fd fields.
fn fd_value<'a>(field: Field, e: &Event<'a>, scratch: &'a mut Vec<u8>) -> Value<'a> {
    use Field as F;
    let text = |scratch: &'a mut Vec<u8>| Value::Str(&scratch[..]);
    match field {
        F::FdNum => fd(e, |f| Value::Signed(f.num())),
        F::FdName => {
            let Some(f) = e.fd() else {
                return unknown_fd_name(e);
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
        F::FdDirectory => fd(e, |f| directory(f).map_or(Value::None, Value::Str)),
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
            endpoint(e, end_of(field)).map_or(Value::None, |a| Value::Num(u64::from(a.port())))
        }
        F::FdSproto | F::FdCproto | F::FdLproto | F::FdRproto => {
            let Some(end) = endpoint(e, end_of(field)) else {
                return Value::None;
            };
            let _ = write!(Bytes(scratch), "{}", end.port());
            text(scratch)
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
        F::FdIsServer => fd(e, |f| Value::Bool(f.role() == SocketRole::Server)),
        F::FdConnected => fd(e, |f| {
            Value::Bool(f.kind().is_inet() && matches!(f.ends(), FdEnds::Tuple(_)))
        }),
        // As their client and server fields; fd.ip, fd.port and fd.net are
        // for filters, whose matcher tries both ends.
        F::FdCnet => endpoint(e, F::FdCip).map_or(Value::None, |a| Value::Ip(a.ip())),
        F::FdSnet => endpoint(e, F::FdSip).map_or(Value::None, |a| Value::Ip(a.ip())),
        F::FdLnet => endpoint(e, F::FdLip).map_or(Value::None, |a| Value::Ip(a.ip())),
        F::FdRnet => endpoint(e, F::FdRip).map_or(Value::None, |a| Value::Ip(a.ip())),
        F::EvtCategory => Value::Str(
            e.ty()
                .sysdig_category()
                .name(e.fd().map(|f| f.kind()))
                .as_bytes(),
        ),
        F::EvtIsSyslog => Value::Bool(writes_to_syslog(e)),
        _ => Value::None,
    }
}

/// The IP field of the end a port or protocol field names (`fd.sport`
/// and `fd.sproto`: `fd.sip`), which [`endpoint`] knows.
fn end_of(field: Field) -> Field {
    match field {
        Field::FdSport | Field::FdSproto => Field::FdSip,
        Field::FdCport | Field::FdCproto => Field::FdCip,
        Field::FdLport | Field::FdLproto => Field::FdLip,
        _ => Field::FdRip,
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
///
/// The local end is the one the socket's role makes the process's own: the
/// server end of an accepted socket, the client end of a connected one
/// (a socket with only its own address, bound or listening, has just a
/// local end). sysdig 0.29.3 instead calls the client end local whenever
/// the client's address is one of the capture's interfaces (IPv6: the same
/// first 64 bits), so on a connection within one machine it shows the
/// client end as local on the server's side too; syscap's captures record
/// no interface list, and the role holds on both sides (conformance README
/// item 12).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abspath_arguments_are_in_the_event_table() {
        for (name, pairs) in ABSPATH_ARGS {
            let ty = EventType::from_name(name).unwrap_or_else(|| panic!("{name}"));
            let info = ty.info();
            for (dirfd, path) in pairs {
                let (Some(d), Some(p)) = (info.arg_index(dirfd), info.arg_index(path)) else {
                    panic!("{name}: no {dirfd} or {path}");
                };
                assert_eq!(info.args[d].kind, ArgKind::DirFd, "{name} {dirfd}");
                assert_eq!(info.args[p].kind, ArgKind::Path, "{name} {path}");
            }
        }
    }

    #[test]
    fn deltatimes_count_from_the_previous_event() {
        use Field as F;
        // (field, ts, previous, value): sysdig's `.ns` shows 9 digits.
        let cases: &[(Field, u64, Option<u64>, Value<'_>)] = &[
            (F::EvtDeltatime, 5, None, Value::Num(0)),
            (
                F::EvtDeltatime,
                1_534_527_348_514_648_551,
                Some(1_534_527_348_514_632_619),
                Value::Num(15_932),
            ),
            (F::EvtDeltatimeS, 3_500_000_001, Some(1), Value::Num(3)),
            (
                F::EvtDeltatimeNs,
                3_500_000_001,
                Some(1),
                Value::Frac(500_000_000),
            ),
            (F::EvtDeltatimeNs, 9, None, Value::Frac(0)),
            // An entry before the previous event's (exit order): 0.
            (F::EvtDeltatime, 10, Some(20), Value::Num(0)),
        ];
        for &(field, ts, previous, want) in cases {
            assert_eq!(
                deltatime(field, ts, previous),
                want,
                "{field:?} {ts} {previous:?}"
            );
        }
    }

    #[test]
    fn human_durations_as_sysdig_shows_them() {
        // Values and texts from `sysdig -p '%evt.latency %evt.latency.human'`.
        let cases: &[(u64, &str)] = &[
            (0, "0ns"),
            (985, "985ns"),
            (1_050, "1.05us"),
            (1_791, "1.79us"),
            (3_435, "3.43us"),
            (18_923, "18us"),
            (1_047_581, "1.04ms"),
            (11_951_897, "11ms"),
            (3_117_403_965, "3.11s"),
            (42_000_000_000, "42s"),
        ];
        for &(ns, want) in cases {
            let mut out = Vec::new();
            write_human_duration(ns, &mut out);
            assert_eq!(String::from_utf8(out).unwrap(), want, "{ns}");
        }
    }

    #[test]
    fn time_formats_as_sysdig_shows_them() {
        // sysdig -p on curl_google.scap's event 211.
        let ns = 1_534_527_348_514_632_619;
        let cases: &[(Field, &str)] = &[
            (Field::EvtTimeS, "17:35:48"),
            (Field::EvtTimeIso8601, "2018-08-17T17:35:48.514632619+0000"),
            (Field::EvtDatetime, "2018-08-17 17:35:48.514632619"),
            (Field::EvtDatetimeS, "2018-08-17 17:35:48"),
            (Field::EvtOutputtime, "17:35:48.514632619"),
        ];
        for &(field, want) in cases {
            let mut out = Vec::new();
            write_time(field, ns, &mut out);
            assert_eq!(String::from_utf8(out).unwrap(), want, "{field:?}");
        }
    }

    #[test]
    fn shells() {
        for (comm, want) in [
            (&b"bash"[..], true),
            (b"zsh", true),
            (b"sh", true),
            (b"bash2", false),
            (b"", false),
            (b"fish", false),
        ] {
            assert_eq!(is_shell(comm), want, "{comm:?}");
        }
    }

    #[test]
    fn syslog_messages_decode_as_sysdigs() {
        // (data, (facility, severity, text)): None for no message.
        type Decoded = Option<(u32, u32, &'static [u8])>;
        let cases: &[(&[u8], Decoded)] = &[
            (b"<14>hello", Some((1, 6, b"hello"))),
            (b"<191>x", Some((23, 7, b"x"))),
            (b"<13>", Some((1, 5, b""))),
            (b"x13>any first byte", Some((1, 5, b"any first byte"))),
            (b"<0\0rest", Some((0, 0, b"rest"))),
            (b"<>empty", None),
            (b"<13", None),
            (b"<1a>x", None),
            (b"", None),
            (b"<", None),
            // 15 digits at most: the 16th byte is taken as the separator.
            (b"<000000000000013x", Some((1, 5, b""))),
            (b"<4294967295>wraps to -1: none", None),
        ];
        for &(data, want) in cases {
            let got = SyslogMessage::parse(data).map(|m| (m.facility(), m.severity(), m.text));
            assert_eq!(got, want, "{:?}", String::from_utf8_lossy(data));
        }
        let m = SyslogMessage::parse(b"<200>x").unwrap();
        assert_eq!(
            (m.facility_name(), m.severity_name()),
            (&b"<NA>"[..], &b"emerg"[..])
        );
    }

    #[test]
    fn pod_labels_list_as_sysdigs() {
        let cases: &[(&[u8], Option<&str>)] = &[
            (
                b"io.kubernetes.pod.name=web\0tier=front\0app=shop\0annotation.x=1\0flag=\0",
                Some("app:shop, flag, tier:front"),
            ),
            (b"io.kubernetes.pod.name=web\0", Some("")),
            (b"app=shop\0", None),
            (b"", None),
        ];
        for &(labels, want) in cases {
            let mut out = Vec::new();
            let got = pod_labels(labels, &mut out).then(|| String::from_utf8(out).unwrap());
            assert_eq!(
                got.as_deref(),
                want,
                "{:?}",
                String::from_utf8_lossy(labels)
            );
        }
    }
}
