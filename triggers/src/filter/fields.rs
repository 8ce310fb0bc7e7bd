//! The fields of the filter language, with sysdig's names, meanings and
//! value formats: what each one is, how to read it from an event, and what
//! columns of a chunk it needs.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use capture_format::event::{
    Arg, ArgKind, Category, EventType, SockAddr, SockTuple, errno_name, is_error_return,
};
use capture_format::file::{Event, FdEnds, FdView, Projection, ThreadView};
use capture_format::render::{
    Bytes, render_arg_alone, render_args, render_ends, render_ret_alone, write_clock,
};
use capture_format::state::{FdKind, SocketRole, split_nul};

/// How a field's values compare and how literals are read for it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    /// Unsigned number.
    Num,
    /// Signed number.
    Signed,
    /// Nanoseconds; literals take `ns`, `us`, `ms`, `s`, `m`, `h` suffixes.
    Duration,
    /// Bytes; literals take `K`, `KB`, `KiB`, `M`, ... suffixes.
    Size,
    /// `true` or `false`.
    Bool,
    /// Text.
    Str,
    /// IP address.
    Ip,
}

/// A field of the language.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Field {
    EvtNum,
    EvtTime,
    EvtRawtime,
    EvtReltime,
    EvtType,
    EvtDir,
    EvtCpu,
    EvtRes,
    EvtRawres,
    EvtFailed,
    EvtLatency,
    EvtBuflen,
    EvtBuffer,
    EvtIsIo,
    EvtIsIoRead,
    EvtIsIoWrite,
    /// `evt.arg.NAME` / `evt.arg[N]`: an argument, rendered as sysdig does.
    EvtArg(ArgSel),
    /// `evt.rawarg.NAME`: an argument's raw value.
    EvtRawarg(ArgSel),
    EvtArgs,
    ProcName,
    ProcPid,
    ProcPpid,
    ProcPname,
    ProcExe,
    ProcExepath,
    ProcCmdline,
    ProcArgs,
    ProcCwd,
    /// `proc.aname`: any ancestor's name; `proc.aname[N]`: the Nth (1 is
    /// the parent).
    ProcAname(Option<u32>),
    ThreadTid,
    UserUid,
    UserName,
    GroupGid,
    FdNum,
    FdName,
    FdType,
    FdTypechar,
    FdDirectory,
    FdFilename,
    FdSip,
    FdCip,
    FdSport,
    FdCport,
    FdLip,
    FdRip,
    FdLport,
    FdRport,
    FdL4proto,
    FdSockfamily,
    ContainerId,
    K8sPodUid,
    TriggerRule,
}

/// Which argument of `evt.arg`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ArgSel {
    /// By name (resolved per event type).
    Name(&'static str),
    /// By position.
    Index(u32),
    /// The return value (`evt.arg.res`, `evt.arg.fd` of an open).
    Ret,
}

/// A field's description, for `syscap fields` and `syscap-agent fields`.
#[derive(Clone, Copy, Debug)]
pub struct FieldInfo {
    /// Name as written (`evt.arg.NAME` for the argument fields).
    pub name: &'static str,
    /// The field (with a placeholder argument for the argument fields).
    pub field: Field,
    /// Value kind.
    pub kind: Kind,
    /// What it is.
    pub description: &'static str,
}

/// Every field, in the order `fields` lists them.
pub static FIELDS: &[FieldInfo] = &[
    f(
        "evt.num",
        Field::EvtNum,
        Kind::Num,
        "event number in the capture, from 1",
    ),
    f(
        "evt.time",
        Field::EvtTime,
        Kind::Str,
        "event time (UTC), as HH:MM:SS.nnnnnnnnn",
    ),
    f(
        "evt.rawtime",
        Field::EvtRawtime,
        Kind::Num,
        "event time, in ns since the epoch",
    ),
    f(
        "evt.reltime",
        Field::EvtReltime,
        Kind::Duration,
        "event time, in ns since the start of the capture",
    ),
    f(
        "evt.type",
        Field::EvtType,
        Kind::Str,
        "event type: the system call's name (open, read...) or the event's (procexit...)",
    ),
    f(
        "evt.dir",
        Field::EvtDir,
        Kind::Str,
        "'<' for a call that returned (syscap records calls at their return), '>' for one that did not",
    ),
    f(
        "evt.cpu",
        Field::EvtCpu,
        Kind::Num,
        "CPU the call returned on",
    ),
    f(
        "evt.res",
        Field::EvtRes,
        Kind::Str,
        "result: SUCCESS, or the errno name (ENOENT...) of a failed call",
    ),
    f(
        "evt.rawres",
        Field::EvtRawres,
        Kind::Signed,
        "return value, as a number",
    ),
    f(
        "evt.failed",
        Field::EvtFailed,
        Kind::Bool,
        "true for calls that returned an error",
    ),
    f(
        "evt.latency",
        Field::EvtLatency,
        Kind::Duration,
        "time from entry to return, in ns",
    ),
    f(
        "evt.buflen",
        Field::EvtBuflen,
        Kind::Size,
        "bytes read or written by an I/O call",
    ),
    f(
        "evt.buffer",
        Field::EvtBuffer,
        Kind::Str,
        "the data snapshot of an I/O call (its first snaplen bytes)",
    ),
    f(
        "evt.is_io",
        Field::EvtIsIo,
        Kind::Bool,
        "true for calls that read or write data",
    ),
    f(
        "evt.is_io_read",
        Field::EvtIsIoRead,
        Kind::Bool,
        "true for calls that read data",
    ),
    f(
        "evt.is_io_write",
        Field::EvtIsIoWrite,
        Kind::Bool,
        "true for calls that write data",
    ),
    f(
        "evt.arg.NAME",
        Field::EvtArg(ArgSel::Index(0)),
        Kind::Str,
        "an argument by name (evt.arg.fd) or position (evt.arg[0]), as sysdig shows it",
    ),
    f(
        "evt.rawarg.NAME",
        Field::EvtRawarg(ArgSel::Index(0)),
        Kind::Signed,
        "an argument's raw value",
    ),
    f(
        "evt.args",
        Field::EvtArgs,
        Kind::Str,
        "all arguments, as NAME=VALUE pairs",
    ),
    f(
        "proc.name",
        Field::ProcName,
        Kind::Str,
        "process (thread) name, as comm",
    ),
    f("proc.pid", Field::ProcPid, Kind::Num, "process id"),
    f("proc.ppid", Field::ProcPpid, Kind::Num, "parent process id"),
    f(
        "proc.pname",
        Field::ProcPname,
        Kind::Str,
        "parent process name",
    ),
    f(
        "proc.exe",
        Field::ProcExe,
        Kind::Str,
        "first command-line argument (argv[0])",
    ),
    f(
        "proc.exepath",
        Field::ProcExepath,
        Kind::Str,
        "full path of the executable",
    ),
    f(
        "proc.cmdline",
        Field::ProcCmdline,
        Kind::Str,
        "process name and arguments",
    ),
    f(
        "proc.args",
        Field::ProcArgs,
        Kind::Str,
        "arguments after argv[0]",
    ),
    f("proc.cwd", Field::ProcCwd, Kind::Str, "working directory"),
    f(
        "proc.aname",
        Field::ProcAname(None),
        Kind::Str,
        "name of any ancestor; proc.aname[N] the Nth (1 is the parent)",
    ),
    f("thread.tid", Field::ThreadTid, Kind::Num, "thread id"),
    f("user.uid", Field::UserUid, Kind::Num, "user id"),
    f("user.name", Field::UserName, Kind::Str, "user name"),
    f("group.gid", Field::GroupGid, Kind::Num, "group id"),
    f("fd.num", Field::FdNum, Kind::Signed, "fd number"),
    f(
        "fd.name",
        Field::FdName,
        Kind::Str,
        "fd name: a path, or a connection as cip:cport->sip:sport",
    ),
    f(
        "fd.type",
        Field::FdType,
        Kind::Str,
        "fd type: file, directory, ipv4, ipv6, unix, pipe, event, signalfd, eventpoll, inotify, timerfd, netlink, bpf...",
    ),
    f(
        "fd.typechar",
        Field::FdTypechar,
        Kind::Str,
        "fd type as one letter (f, d, 4, 6, u, p...)",
    ),
    f(
        "fd.directory",
        Field::FdDirectory,
        Kind::Str,
        "directory of a file fd",
    ),
    f(
        "fd.filename",
        Field::FdFilename,
        Kind::Str,
        "base name of a file fd",
    ),
    f(
        "fd.sip",
        Field::FdSip,
        Kind::Ip,
        "server IP of a connection",
    ),
    f(
        "fd.cip",
        Field::FdCip,
        Kind::Ip,
        "client IP of a connection",
    ),
    f("fd.sport", Field::FdSport, Kind::Num, "server port"),
    f("fd.cport", Field::FdCport, Kind::Num, "client port"),
    f("fd.lip", Field::FdLip, Kind::Ip, "local IP"),
    f("fd.rip", Field::FdRip, Kind::Ip, "remote IP"),
    f("fd.lport", Field::FdLport, Kind::Num, "local port"),
    f("fd.rport", Field::FdRport, Kind::Num, "remote port"),
    f(
        "fd.l4proto",
        Field::FdL4proto,
        Kind::Str,
        "transport protocol: tcp, udp, icmp, raw",
    ),
    f(
        "fd.sockfamily",
        Field::FdSockfamily,
        Kind::Str,
        "socket family: ip or unix",
    ),
    f(
        "container.id",
        Field::ContainerId,
        Kind::Str,
        "container id, 'host' outside containers",
    ),
    f(
        "k8s.pod.uid",
        Field::K8sPodUid,
        Kind::Str,
        "Kubernetes pod UID",
    ),
    f(
        "trigger.rule",
        Field::TriggerRule,
        Kind::Str,
        "the trigger rule: of a trigger event, or that started the capture",
    ),
];

/// Writes the field list as `syscap fields` shows it: one field a line,
/// name, kind and description.
pub fn write_field_list(out: &mut impl std::io::Write) -> std::io::Result<()> {
    for f in FIELDS {
        let kind = match f.kind {
            Kind::Num => "number",
            Kind::Signed => "signed",
            Kind::Duration => "duration",
            Kind::Size => "size",
            Kind::Bool => "bool",
            Kind::Str => "text",
            Kind::Ip => "ip",
        };
        writeln!(out, "{:<18} {kind:<9} {}", f.name, f.description)?;
    }
    Ok(())
}

const fn f(name: &'static str, field: Field, kind: Kind, description: &'static str) -> FieldInfo {
    FieldInfo {
        name,
        field,
        kind,
        description,
    }
}

/// Resolves a field name (and its argument) to a [`Field`]; `Err` says what
/// is wrong, with a suggestion for a misspelled name.
pub fn resolve(name: &str, arg: Option<&str>) -> Result<Field, String> {
    use Field as F;
    let plain = |field: Field| match arg {
        None => Ok(field),
        Some(a) => Err(format!("field '{name}' takes no argument (found '{a}')")),
    };
    match name {
        "evt.arg" | "evt.rawarg" => {
            let Some(a) = arg else {
                return Err(format!(
                    "field '{name}' needs an argument: {name}.NAME or {name}[N]"
                ));
            };
            let sel = match a.parse::<u32>() {
                Ok(i) => ArgSel::Index(i),
                Err(_) if a == "res" => ArgSel::Ret,
                Err(_) => ArgSel::Name(
                    arg_name(a)
                        .ok_or_else(|| format!("no event type has an argument called '{a}'"))?,
                ),
            };
            Ok(if name == "evt.arg" {
                F::EvtArg(sel)
            } else {
                F::EvtRawarg(sel)
            })
        }
        "proc.aname" => match arg {
            None => Ok(F::ProcAname(None)),
            Some(a) => match a.parse::<u32>() {
                Ok(n) if n > 0 => Ok(F::ProcAname(Some(n))),
                _ => Err(format!("proc.aname[N] needs N >= 1, found '{a}'")),
            },
        },
        _ => match FIELDS.iter().find(|f| f.name == name) {
            Some(info) => plain(info.field),
            None => Err(match suggest(name) {
                Some(s) => format!("unknown field '{name}' (did you mean {s}?)"),
                None => format!("unknown field '{name}'"),
            }),
        },
    }
}

/// The event table's spelling of an argument name (a `'static` str).
fn arg_name(name: &str) -> Option<&'static str> {
    EventType::all()
        .flat_map(|t| t.info().args.iter())
        .map(|a| a.name)
        .find(|&n| n == name)
}

/// The known field nearest to `name`, if near enough to be a typo.
fn suggest(name: &str) -> Option<&'static str> {
    FIELDS
        .iter()
        .map(|f| f.name.trim_end_matches(".NAME"))
        .map(|n| (edit_distance(name, n), n))
        .filter(|&(d, n)| d <= 2.max(n.len() / 4))
        // Ties go to a completion of what was typed (fd.nam: fd.name).
        .min_by_key(|&(d, n)| (d, !n.starts_with(name)))
        .map(|(_, n)| n)
}

/// Edit distance counting a swap of two neighbours as one edit (the
/// commonest typo: `evt.tpye`).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

impl Field {
    /// How values of this field compare.
    pub fn kind(self) -> Kind {
        let same =
            |f: &&FieldInfo| std::mem::discriminant(&f.field) == std::mem::discriminant(&self);
        FIELDS.iter().find(same).map_or(Kind::Str, |f| f.kind)
    }

    /// The chunk columns needed to read this field.
    pub fn projection(self) -> Projection {
        use Field as F;
        match self {
            F::EvtNum | F::EvtType | F::EvtIsIo | F::EvtIsIoRead | F::EvtIsIoWrite => {
                Projection::MINIMAL
            }
            F::EvtTime | F::EvtRawtime | F::EvtReltime => Projection::TIME,
            F::EvtDir => Projection::FLAGS,
            F::EvtCpu => Projection::CPU,
            F::EvtRes | F::EvtRawres | F::EvtFailed => Projection::RET | Projection::FLAGS,
            F::EvtLatency => Projection::LATENCY,
            F::EvtBuflen | F::EvtBuffer | F::EvtArg(_) | F::EvtRawarg(_) | F::EvtArgs => {
                Projection::ARGS | Projection::FLAGS
            }
            F::ProcName
            | F::ProcPid
            | F::ProcPpid
            | F::ProcPname
            | F::ProcExe
            | F::ProcExepath
            | F::ProcCmdline
            | F::ProcArgs
            | F::ProcCwd
            | F::ProcAname(_)
            | F::ThreadTid
            | F::UserUid
            | F::UserName
            | F::GroupGid
            | F::ContainerId
            | F::K8sPodUid => Projection::THREAD,
            // The fd argument tells an unknown fd from no fd.
            F::FdName => Projection::FD | Projection::ARGS,
            F::FdNum
            | F::FdType
            | F::FdTypechar
            | F::FdDirectory
            | F::FdFilename
            | F::FdSip
            | F::FdCip
            | F::FdSport
            | F::FdCport
            | F::FdLip
            | F::FdRip
            | F::FdLport
            | F::FdRport
            | F::FdL4proto
            | F::FdSockfamily => Projection::FD,
            F::TriggerRule => Projection::ARGS,
        }
    }
}

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
        F::EvtRes if !e.returned() => Value::None,
        F::EvtRes => match is_error_return(e.ret()).then(|| errno_name(-e.ret())) {
            None => Value::Str(b"SUCCESS"),
            Some(Some(name)) => Value::Str(name.as_bytes()),
            Some(None) => {
                let _ = write!(Bytes(scratch), "{}", e.ret());
                text(scratch)
            }
        },
        F::EvtRawres => {
            if e.returned() {
                Value::Signed(e.ret())
            } else {
                Value::None
            }
        }
        F::EvtFailed => Value::Bool(e.returned() && is_error_return(e.ret())),
        F::EvtLatency => {
            if e.returned() {
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
                if !e.returned() {
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
                return if e.returned() {
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
        F::ProcName => thread(e, |t| Value::Str(t.comm())),
        F::ProcPid => thread(e, |t| num(t.pid())),
        F::ProcPpid => thread(e, |t| num(t.ppid())),
        F::ProcPname => thread(e, |t| {
            t.parent().map_or(Value::None, |p| Value::Str(p.comm()))
        }),
        F::ProcExe => thread(e, |t| Value::Str(t.exe())),
        F::ProcExepath => thread(e, |t| Value::Str(t.exepath())),
        F::ProcCmdline => {
            let Some(t) = e.thread() else {
                return Value::None;
            };
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
        F::ContainerId => thread(e, |t| {
            Value::Str(if t.container_id().is_empty() {
                b"host"
            } else {
                t.container_id()
            })
        }),
        F::K8sPodUid => thread(e, |t| Value::Str(t.pod_uid())),
        _ => Value::None,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_field_resolves() {
        for f in FIELDS {
            let (name, arg) = match f.name.strip_suffix(".NAME") {
                Some(base) => (base, Some("fd")),
                None => (f.name, None),
            };
            let field = resolve(name, arg).unwrap_or_else(|e| panic!("{}: {e}", f.name));
            assert_eq!(
                std::mem::discriminant(&field),
                std::mem::discriminant(&f.field),
                "{}",
                f.name
            );
            assert_eq!(field.kind(), f.kind, "{}", f.name);
        }
    }

    #[test]
    fn typos_get_suggestions() {
        let cases: &[(&str, &str)] = &[
            (
                "proc.nme",
                "unknown field 'proc.nme' (did you mean proc.name?)",
            ),
            ("fd.nam", "unknown field 'fd.nam' (did you mean fd.name?)"),
            (
                "evt.tpye",
                "unknown field 'evt.tpye' (did you mean evt.type?)",
            ),
            ("zzzz", "unknown field 'zzzz'"),
        ];
        for &(name, want) in cases {
            assert_eq!(resolve(name, None).unwrap_err(), want);
        }
        assert!(resolve("evt.arg", Some("nosuchname")).is_err());
        assert!(resolve("proc.aname", Some("0")).is_err());
        assert!(resolve("proc.name", Some("1")).is_err());
    }
}
