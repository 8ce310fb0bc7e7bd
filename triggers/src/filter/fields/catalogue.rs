//! The field catalogue: every field's name, kind and description, the
//! columns it needs, and resolving a name as written (with suggestions for
//! typos) to a [`Field`].

use capture_format::event::EventType;
use capture_format::file::Projection;

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
    /// IP address compared with networks (`10.0.0.0/8`).
    Net,
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
    EvtTimeS,
    EvtTimeIso8601,
    EvtDatetime,
    EvtDatetimeS,
    EvtOutputtime,
    EvtRawtimeS,
    EvtRawtimeNs,
    EvtReltimeS,
    EvtReltimeNs,
    EvtLatencyS,
    EvtLatencyNs,
    EvtLatencyHuman,
    SyscallType,
    EvtInfo,
    EvtIoDir,
    EvtIsSyslog,
    /// `syslog.*`: the message a write to `/dev/log` carries, decoded.
    SyslogFacilityStr,
    SyslogFacility,
    SyslogSeverityStr,
    SyslogSeverity,
    SyslogMessage,
    EvtCount,
    EvtCountError,
    EvtCountErrorFile,
    EvtCountErrorNet,
    EvtCountErrorMemory,
    EvtCountErrorOther,
    EvtCountExit,
    EvtIsOpenRead,
    EvtIsOpenWrite,
    EvtIsOpenExec,
    EvtIsWait,
    EvtWaitLatency,
    EvtCategory,
    EvtAbspath,
    EvtAbspathSrc,
    EvtAbspathDst,
    EvtDeltatime,
    EvtDeltatimeS,
    EvtDeltatimeNs,
    /// `evt.type.is.NAME`: 1 for events of that type, 0 for others.
    EvtTypeIs(u16),
    /// `evt.around[T] = D` (filters only): within D ms of time T (ns
    /// since the epoch).
    EvtAround(u64),
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
    /// `proc.apid`: any ancestor's pid (filters only); `proc.apid[N]`: the
    /// Nth's (0 is the process itself).
    ProcApid(Option<u32>),
    ProcExeline,
    ProcPcmdline,
    ProcDuration,
    ProcVpid,
    ProcLoginshellid,
    ProcSid,
    ProcNthreads,
    ProcNchilds,
    ProcSname,
    ProcVpgid,
    ProcTty,
    ThreadTid,
    ThreadVtid,
    ThreadIsmain,
    UserUid,
    UserName,
    UserLoginuid,
    UserLoginname,
    GroupGid,
    GroupName,
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
    /// `fd.sproto` and kin: the port as text, as sysdig prints it with
    /// port-name resolution off (its default).
    FdSproto,
    FdCproto,
    FdLproto,
    FdRproto,
    FdL4proto,
    FdSockfamily,
    FdIsServer,
    FdConnected,
    FdUid,
    FdContainername,
    FdContainerdirectory,
    /// `fd.ip` (filters only): the client or the server IP.
    FdIp,
    /// `fd.port` (filters only): the client or the server port.
    FdPort,
    /// `fd.proto` (filters only): the client or the server port, as text.
    FdProto,
    /// `fd.net` (filters only): the client or the server IP, in a network.
    FdNet,
    FdCnet,
    FdSnet,
    FdLnet,
    FdRnet,
    ContainerId,
    ContainerFullId,
    ContainerName,
    ContainerImage,
    ContainerImageRepo,
    ContainerImageTag,
    ContainerImageDigest,
    ContainerType,
    ContainerPrivileged,
    /// `container.label[KEY]`.
    ContainerLabel(&'static str),
    K8sPodName,
    K8sNsName,
    K8sPodUid,
    /// `k8s.pod.label[KEY]`.
    K8sPodLabel(&'static str),
    /// `k8s.pod.labels`: every label, as sysdig lists them.
    K8sPodLabels,
    K8sPodSandboxId,
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
        "evt.time.s",
        Field::EvtTimeS,
        Kind::Str,
        "event time (UTC), as HH:MM:SS",
    ),
    f(
        "evt.time.iso8601",
        Field::EvtTimeIso8601,
        Kind::Str,
        "event time, as 2018-08-17T17:35:48.514632619+0000",
    ),
    f(
        "evt.datetime",
        Field::EvtDatetime,
        Kind::Str,
        "event time (UTC) with the date, as 2018-08-17 17:35:48.514632619",
    ),
    f(
        "evt.datetime.s",
        Field::EvtDatetimeS,
        Kind::Str,
        "event time (UTC) with the date, as 2018-08-17 17:35:48",
    ),
    f(
        "evt.outputtime",
        Field::EvtOutputtime,
        Kind::Str,
        "event time as printed (sysdig's -t default: evt.time)",
    ),
    f(
        "evt.rawtime",
        Field::EvtRawtime,
        Kind::Num,
        "event time, in ns since the epoch",
    ),
    f(
        "evt.rawtime.s",
        Field::EvtRawtimeS,
        Kind::Num,
        "event time, whole seconds since the epoch",
    ),
    f(
        "evt.rawtime.ns",
        Field::EvtRawtimeNs,
        Kind::Num,
        "event time, the ns within its second",
    ),
    f(
        "evt.reltime",
        Field::EvtReltime,
        Kind::Duration,
        "event time, in ns since the start of the capture",
    ),
    f(
        "evt.reltime.s",
        Field::EvtReltimeS,
        Kind::Num,
        "whole seconds since the start of the capture",
    ),
    f(
        "evt.reltime.ns",
        Field::EvtReltimeNs,
        Kind::Num,
        "the ns part of the time since the start of the capture",
    ),
    f(
        "evt.deltatime",
        Field::EvtDeltatime,
        Kind::Duration,
        "ns since the event before: in output, the event printed before (0 for the first); in a filter, the event read before",
    ),
    f(
        "evt.deltatime.s",
        Field::EvtDeltatimeS,
        Kind::Num,
        "whole seconds of evt.deltatime",
    ),
    f(
        "evt.deltatime.ns",
        Field::EvtDeltatimeNs,
        Kind::Num,
        "the ns part of evt.deltatime, shown as 9 digits",
    ),
    f(
        "evt.type",
        Field::EvtType,
        Kind::Str,
        "event type: the system call's name (open, read...) or the event's (procexit...)",
    ),
    f(
        "evt.type.is.NAME",
        Field::EvtTypeIs(0),
        Kind::Num,
        "1 for events of type NAME (evt.type.is.open), 0 for others",
    ),
    f(
        "evt.category",
        Field::EvtCategory,
        Kind::Str,
        "sysdig's event category: file, net, IPC, memory, process, signal, time, wait...; an I/O call's comes from its fd (file, net, ipc, unknown)",
    ),
    f(
        "evt.abspath",
        Field::EvtAbspath,
        Kind::Str,
        "a *at call's path made absolute from its directory fd (or the working directory): openat, mkdirat, unlinkat, fchmodat, symlinkat; renameat and linkat's source",
    ),
    f(
        "evt.abspath.src",
        Field::EvtAbspathSrc,
        Kind::Str,
        "as evt.abspath: renameat and linkat's source path",
    ),
    f(
        "evt.abspath.dst",
        Field::EvtAbspathDst,
        Kind::Str,
        "as evt.abspath, but renameat and linkat's destination path",
    ),
    f(
        "syscall.type",
        Field::SyscallType,
        Kind::Str,
        "the system call's name; no value for events that are not system calls",
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
        "evt.latency.s",
        Field::EvtLatencyS,
        Kind::Num,
        "whole seconds of the latency",
    ),
    f(
        "evt.latency.ns",
        Field::EvtLatencyNs,
        Kind::Num,
        "the ns part of the latency, shown as 9 digits",
    ),
    f(
        "evt.latency.human",
        Field::EvtLatencyHuman,
        Kind::Str,
        "the latency for people: 835ns, 3.43us, 12ms, 1.50s",
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
        "evt.io_dir",
        Field::EvtIoDir,
        Kind::Str,
        "read or write, for calls that read or write data",
    ),
    f(
        "evt.is_syslog",
        Field::EvtIsSyslog,
        Kind::Bool,
        "true for writes to /dev/log",
    ),
    f(
        "syslog.facility.str",
        Field::SyslogFacilityStr,
        Kind::Str,
        "facility of a message written to /dev/log: kern, user, mail, daemon, ... local7",
    ),
    f(
        "syslog.facility",
        Field::SyslogFacility,
        Kind::Num,
        "facility of a message written to /dev/log, as a number (0-23)",
    ),
    f(
        "syslog.severity.str",
        Field::SyslogSeverityStr,
        Kind::Str,
        "severity of a message written to /dev/log: emerg, alert, crit, err, warn, notice, info, debug",
    ),
    f(
        "syslog.severity",
        Field::SyslogSeverity,
        Kind::Num,
        "severity of a message written to /dev/log, as a number (0-7)",
    ),
    f(
        "syslog.message",
        Field::SyslogMessage,
        Kind::Str,
        "the text of a message written to /dev/log, after its <PRIORITY>",
    ),
    f(
        "evt.is_open_read",
        Field::EvtIsOpenRead,
        Kind::Bool,
        "true for opens (open, openat, openat2) for reading",
    ),
    f(
        "evt.is_open_write",
        Field::EvtIsOpenWrite,
        Kind::Bool,
        "true for opens (open, openat, openat2) for writing",
    ),
    f(
        "evt.is_open_exec",
        Field::EvtIsOpenExec,
        Kind::Bool,
        "true for opens and creats that create a file with an execute permission",
    ),
    f(
        "evt.is_wait",
        Field::EvtIsWait,
        Kind::Bool,
        "true for calls that wait: poll, ppoll, select, epoll_wait, nanosleep",
    ),
    f(
        "evt.wait_latency",
        Field::EvtWaitLatency,
        Kind::Duration,
        "the latency of a call that waits, in ns",
    ),
    f(
        "evt.count",
        Field::EvtCount,
        Kind::Num,
        "1, for counting events",
    ),
    f(
        "evt.count.error",
        Field::EvtCountError,
        Kind::Num,
        "1 for calls that failed",
    ),
    f(
        "evt.count.error.file",
        Field::EvtCountErrorFile,
        Kind::Num,
        "1 for failed calls on a file or a directory",
    ),
    f(
        "evt.count.error.net",
        Field::EvtCountErrorNet,
        Kind::Num,
        "1 for failed calls on a socket",
    ),
    f(
        "evt.count.error.memory",
        Field::EvtCountErrorMemory,
        Kind::Num,
        "1 for failed memory calls (brk, mmap...)",
    ),
    f(
        "evt.count.error.other",
        Field::EvtCountErrorOther,
        Kind::Num,
        "1 for other calls that failed",
    ),
    f(
        "evt.count.exit",
        Field::EvtCountExit,
        Kind::Num,
        "1 for calls that returned",
    ),
    f(
        "evt.around[T]",
        Field::EvtAround(0),
        Kind::Num,
        "filters only: evt.around[T]=D keeps events within D ms of T (an evt.rawtime)",
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
        "evt.info",
        Field::EvtInfo,
        Kind::Str,
        "the event's details: its arguments, as evt.args",
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
        "proc.exeline",
        Field::ProcExeline,
        Kind::Str,
        "argv[0] and the arguments",
    ),
    f(
        "proc.pcmdline",
        Field::ProcPcmdline,
        Kind::Str,
        "the parent's name and arguments",
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
    f(
        "proc.apid",
        Field::ProcApid(None),
        Kind::Num,
        "pid of any ancestor; proc.apid[N] the Nth's (1 is the parent, 0 the process)",
    ),
    f(
        "proc.duration",
        Field::ProcDuration,
        Kind::Duration,
        "ns since the process started",
    ),
    f(
        "proc.vpid",
        Field::ProcVpid,
        Kind::Num,
        "process id in its pid namespace",
    ),
    f(
        "proc.loginshellid",
        Field::ProcLoginshellid,
        Kind::Num,
        "pid of the eldest shell (sh, bash, zsh...) among the process and its ancestors",
    ),
    f(
        "proc.nthreads",
        Field::ProcNthreads,
        Kind::Num,
        "threads of the process the capture knows alive, the main thread included",
    ),
    f(
        "proc.nchilds",
        Field::ProcNchilds,
        Kind::Num,
        "threads of the process other than its main thread, for the main thread; 0 for the others (as sysdig)",
    ),
    f(
        "proc.sid",
        Field::ProcSid,
        Kind::Signed,
        "session id of the process; -1 when the capture does not say",
    ),
    f(
        "proc.sname",
        Field::ProcSname,
        Kind::Str,
        "name of the session leader: the ancestor whose pid is proc.sid, else the eldest ancestor in the same session",
    ),
    f(
        "proc.vpgid",
        Field::ProcVpgid,
        Kind::Signed,
        "process group id, as seen in the process's pid namespace; -1 when the capture does not say",
    ),
    f(
        "proc.tty",
        Field::ProcTty,
        Kind::Num,
        "controlling terminal (the kernel's tty_nr); 0 for none",
    ),
    f("thread.tid", Field::ThreadTid, Kind::Num, "thread id"),
    f(
        "thread.vtid",
        Field::ThreadVtid,
        Kind::Num,
        "thread id in its pid namespace",
    ),
    f(
        "thread.ismain",
        Field::ThreadIsmain,
        Kind::Bool,
        "true for the main thread of its process",
    ),
    f("user.uid", Field::UserUid, Kind::Num, "user id"),
    f("user.name", Field::UserName, Kind::Str, "user name"),
    f(
        "user.loginuid",
        Field::UserLoginuid,
        Kind::Signed,
        "audit (login) user id; -1 when unset",
    ),
    f(
        "user.loginname",
        Field::UserLoginname,
        Kind::Str,
        "audit (login) user name: of user.loginuid, from the capture's user table",
    ),
    f("group.gid", Field::GroupGid, Kind::Num, "group id"),
    f("group.name", Field::GroupName, Kind::Str, "group name"),
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
        "fd.sproto",
        Field::FdSproto,
        Kind::Str,
        "server protocol: the server port as text (sysdig names no services by default)",
    ),
    f(
        "fd.cproto",
        Field::FdCproto,
        Kind::Str,
        "client protocol: the client port as text",
    ),
    f(
        "fd.lproto",
        Field::FdLproto,
        Kind::Str,
        "local protocol: the local port as text",
    ),
    f(
        "fd.rproto",
        Field::FdRproto,
        Kind::Str,
        "remote protocol: the remote port as text",
    ),
    f(
        "fd.proto",
        Field::FdProto,
        Kind::Str,
        "filters only: the client or the server protocol (port as text)",
    ),
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
        "fd.is_server",
        Field::FdIsServer,
        Kind::Bool,
        "true when the process is the server end of the socket",
    ),
    f(
        "fd.connected",
        Field::FdConnected,
        Kind::Bool,
        "true for a connected socket",
    ),
    f(
        "fd.uid",
        Field::FdUid,
        Kind::Str,
        "the thread id and the fd number, written one after the other",
    ),
    f(
        "fd.containername",
        Field::FdContainername,
        Kind::Str,
        "the container id (empty on the host), ':' and the fd name",
    ),
    f(
        "fd.containerdirectory",
        Field::FdContainerdirectory,
        Kind::Str,
        "the container id (empty on the host), ':' and the fd's directory",
    ),
    f(
        "fd.ip",
        Field::FdIp,
        Kind::Ip,
        "filters only: the client or the server IP",
    ),
    f(
        "fd.port",
        Field::FdPort,
        Kind::Num,
        "filters only: the client or the server port",
    ),
    f(
        "fd.net",
        Field::FdNet,
        Kind::Net,
        "filters only: the client or the server IP is in the network (fd.net = 10.0.0.0/8)",
    ),
    f(
        "fd.cnet",
        Field::FdCnet,
        Kind::Net,
        "filters only: the client IP is in the network",
    ),
    f(
        "fd.snet",
        Field::FdSnet,
        Kind::Net,
        "filters only: the server IP is in the network",
    ),
    f(
        "fd.lnet",
        Field::FdLnet,
        Kind::Net,
        "filters only: the local IP is in the network",
    ),
    f(
        "fd.rnet",
        Field::FdRnet,
        Kind::Net,
        "filters only: the remote IP is in the network",
    ),
    f(
        "container.id",
        Field::ContainerId,
        Kind::Str,
        "container id, 'host' outside containers",
    ),
    f(
        "container.full_id",
        Field::ContainerFullId,
        Kind::Str,
        "the whole container id (64 hex digits), 'host' outside containers",
    ),
    f(
        "container.name",
        Field::ContainerName,
        Kind::Str,
        "container name, 'host' outside containers",
    ),
    f(
        "container.image",
        Field::ContainerImage,
        Kind::Str,
        "container image as the runtime names it",
    ),
    f(
        "container.image.repository",
        Field::ContainerImageRepo,
        Kind::Str,
        "container image repository",
    ),
    f(
        "container.image.tag",
        Field::ContainerImageTag,
        Kind::Str,
        "container image tag",
    ),
    f(
        "container.image.digest",
        Field::ContainerImageDigest,
        Kind::Str,
        "container image digest",
    ),
    f(
        "container.type",
        Field::ContainerType,
        Kind::Str,
        "container runtime: docker, containerd, cri-o, cri, ...; 'host' outside containers",
    ),
    f(
        "container.privileged",
        Field::ContainerPrivileged,
        Kind::Bool,
        "true for a privileged container",
    ),
    f(
        "container.label[KEY]",
        Field::ContainerLabel(""),
        Kind::Str,
        "the container's label KEY",
    ),
    f(
        "k8s.pod.name",
        Field::K8sPodName,
        Kind::Str,
        "Kubernetes pod name",
    ),
    f(
        "k8s.ns.name",
        Field::K8sNsName,
        Kind::Str,
        "Kubernetes namespace",
    ),
    f(
        "k8s.pod.uid",
        Field::K8sPodUid,
        Kind::Str,
        "Kubernetes pod UID",
    ),
    f(
        "k8s.pod.id",
        Field::K8sPodUid,
        Kind::Str,
        "Kubernetes pod UID (sysdig's name for k8s.pod.uid)",
    ),
    f(
        "k8s.pod.label[KEY]",
        Field::K8sPodLabel(""),
        Kind::Str,
        "the pod's label KEY (as its containers carry them)",
    ),
    f(
        "k8s.pod.labels",
        Field::K8sPodLabels,
        Kind::Str,
        "the pod's labels, `KEY:VALUE, ...` sorted by key, without the runtime's io.kubernetes.* and annotation.* ones",
    ),
    f(
        "k8s.pod.sandbox_id",
        Field::K8sPodSandboxId,
        Kind::Str,
        "the pod sandbox's container id (12 hex digits)",
    ),
    f(
        "trigger.rule",
        Field::TriggerRule,
        Kind::Str,
        "the trigger rule: of a trigger event, or that started the capture",
    ),
];

/// Why syscap cannot answer a field.
const NO_PLUGINS: &str = "plugin events: syscap records system calls, not plugin events";
const NO_MEMORY: &str =
    "syscap records no memory sizes (sysdig reads them from /proc and from execve's exit)";
const NO_FD_COUNTS: &str = "syscap records no fd counts or fd limits of processes";
const NO_SWITCHES: &str = "needs the driver's context-switch events; syscap records none";
const CPU_SINCE: &str = "not as a field: the CPU since the thread's previous procinfo sample, \
    which sysdig keeps per thread as it reads; topprocs_cpu and topcontainers_cpu sum it";
const NO_CGROUPS: &str = "syscap keeps a process's container id, not its cgroup paths";
const NO_PROBES: &str = "syscap records no container health checks or probes";
const NO_MOUNTS: &str = "syscap records no container mounts";
const NO_PASSWD: &str = "syscap records user names, not home directories or shells";
const NO_DNS: &str = "needs DNS answers; syscap records none";
const NO_DEVICES: &str = "syscap records no device numbers of files";
const NO_POLL_FDS: &str = "syscap records poll's fd array as a pointer, not the fds in it";
const NO_K8S_API: &str = "needs the Kubernetes API server; syscap records what the container \
    runtime says (pod name, namespace, uid, labels)";
const NO_MESOS: &str = "syscap records no Mesos or Marathon metadata";
const NO_TRACERS: &str = "needs sysdig's tracer events (spans); syscap records none";

/// The fields `sysdig -l` lists (sysdig 0.29) that syscap does not answer,
/// and why.
pub static UNANSWERED: &[(&str, &str)] = &[
    ("evt.pluginname", NO_PLUGINS),
    ("evt.plugininfo", NO_PLUGINS),
    ("proc.env", "syscap records no environment variables"),
    ("proc.fdopencount", NO_FD_COUNTS),
    ("proc.fdlimit", NO_FD_COUNTS),
    ("proc.fdusage", NO_FD_COUNTS),
    ("proc.vmsize", NO_MEMORY),
    ("proc.vmrss", NO_MEMORY),
    ("proc.vmswap", NO_MEMORY),
    ("thread.vmsize", NO_MEMORY),
    ("thread.vmrss", NO_MEMORY),
    (
        "thread.pfmajor",
        "needs the driver's page-fault counters; syscap records none",
    ),
    (
        "thread.pfminor",
        "needs the driver's page-fault counters; syscap records none",
    ),
    ("thread.exectime", NO_SWITCHES),
    ("thread.totexectime", NO_SWITCHES),
    ("thread.cpu", CPU_SINCE),
    ("thread.cpu.user", CPU_SINCE),
    ("thread.cpu.system", CPU_SINCE),
    ("thread.cgroups", NO_CGROUPS),
    ("thread.cgroup", NO_CGROUPS),
    ("proc.is_container_healthcheck", NO_PROBES),
    ("proc.is_container_liveness_probe", NO_PROBES),
    ("proc.is_container_readiness_probe", NO_PROBES),
    (
        "proc.is_exe_writable",
        "syscap records no permissions of executables",
    ),
    ("user.homedir", NO_PASSWD),
    ("user.shell", NO_PASSWD),
    ("container.image.id", "syscap records no image id"),
    ("container.mounts", NO_MOUNTS),
    ("container.mount", NO_MOUNTS),
    ("container.mount.source", NO_MOUNTS),
    ("container.mount.dest", NO_MOUNTS),
    ("container.mount.mode", NO_MOUNTS),
    ("container.mount.rdwr", NO_MOUNTS),
    ("container.mount.propagation", NO_MOUNTS),
    ("container.healthcheck", NO_PROBES),
    ("container.liveness_probe", NO_PROBES),
    ("container.readiness_probe", NO_PROBES),
    (
        "fd.name_changed",
        "not yet: needs the fd's name before the event",
    ),
    ("fd.cip.name", NO_DNS),
    ("fd.sip.name", NO_DNS),
    ("fd.lip.name", NO_DNS),
    ("fd.rip.name", NO_DNS),
    ("fd.dev", NO_DEVICES),
    ("fd.dev.major", NO_DEVICES),
    ("fd.dev.minor", NO_DEVICES),
    ("fdlist.nums", NO_POLL_FDS),
    ("fdlist.names", NO_POLL_FDS),
    ("fdlist.cips", NO_POLL_FDS),
    ("fdlist.sips", NO_POLL_FDS),
    ("fdlist.cports", NO_POLL_FDS),
    ("fdlist.sports", NO_POLL_FDS),
    ("k8s.rc.name", NO_K8S_API),
    ("k8s.rc.id", NO_K8S_API),
    ("k8s.rc.label", NO_K8S_API),
    ("k8s.rc.labels", NO_K8S_API),
    ("k8s.svc.name", NO_K8S_API),
    ("k8s.svc.id", NO_K8S_API),
    ("k8s.svc.label", NO_K8S_API),
    ("k8s.svc.labels", NO_K8S_API),
    ("k8s.ns.id", NO_K8S_API),
    ("k8s.ns.label", NO_K8S_API),
    ("k8s.ns.labels", NO_K8S_API),
    ("k8s.rs.name", NO_K8S_API),
    ("k8s.rs.id", NO_K8S_API),
    ("k8s.rs.label", NO_K8S_API),
    ("k8s.rs.labels", NO_K8S_API),
    ("k8s.deployment.name", NO_K8S_API),
    ("k8s.deployment.id", NO_K8S_API),
    ("k8s.deployment.label", NO_K8S_API),
    ("k8s.deployment.labels", NO_K8S_API),
    ("mesos.task.name", NO_MESOS),
    ("mesos.task.id", NO_MESOS),
    ("mesos.task.label", NO_MESOS),
    ("mesos.task.labels", NO_MESOS),
    ("mesos.framework.name", NO_MESOS),
    ("mesos.framework.id", NO_MESOS),
    ("marathon.app.name", NO_MESOS),
    ("marathon.app.id", NO_MESOS),
    ("marathon.app.label", NO_MESOS),
    ("marathon.app.labels", NO_MESOS),
    ("marathon.group.name", NO_MESOS),
    ("marathon.group.id", NO_MESOS),
    ("span.id", NO_TRACERS),
    ("span.time", NO_TRACERS),
    ("span.ntags", NO_TRACERS),
    ("span.nargs", NO_TRACERS),
    ("span.tags", NO_TRACERS),
    ("span.tag", NO_TRACERS),
    ("span.args", NO_TRACERS),
    ("span.arg", NO_TRACERS),
    ("span.enterargs", NO_TRACERS),
    ("span.enterarg", NO_TRACERS),
    ("span.duration", NO_TRACERS),
    ("span.duration.human", NO_TRACERS),
    ("evtin.span.*", NO_TRACERS),
];

/// Writes the field list as `syscap fields` shows it: one field a line,
/// name, kind and description; then the fields of sysdig's list that
/// syscap does not answer, each with the reason.
pub fn write_field_list(out: &mut impl std::io::Write) -> std::io::Result<()> {
    let width = FIELDS.iter().map(|f| f.name.len()).max().unwrap_or(0);
    for f in FIELDS {
        let kind = match f.kind {
            Kind::Num => "number",
            Kind::Signed => "signed",
            Kind::Duration => "duration",
            Kind::Size => "size",
            Kind::Bool => "bool",
            Kind::Str => "text",
            Kind::Ip => "ip",
            Kind::Net => "network",
        };
        writeln!(out, "{:<width$} {kind:<9} {}", f.name, f.description)?;
    }
    writeln!(out, "\nsysdig fields syscap does not answer:")?;
    let width = UNANSWERED.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    for (name, why) in UNANSWERED {
        writeln!(out, "{name:<width$} {why}")?;
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
        "container.label" | "k8s.pod.label" => {
            let key = match arg {
                Some(key) if !key.is_empty() => intern(key),
                _ => return Err(format!("field '{name}' needs a label: {name}[KEY]")),
            };
            Ok(if name == "container.label" {
                F::ContainerLabel(key)
            } else {
                F::K8sPodLabel(key)
            })
        }
        "proc.aname" | "proc.apid" => {
            let n = match arg {
                None => None,
                Some(a) => Some(a.parse::<u32>().map_err(|_| {
                    format!("{name}[N] needs a number N (0 is the process), found '{a}'")
                })?),
            };
            Ok(if name == "proc.aname" {
                F::ProcAname(n)
            } else {
                F::ProcApid(n)
            })
        }
        "evt.type.is" => match arg.map(EventType::from_name) {
            Some(Some(t)) => Ok(F::EvtTypeIs(t.0)),
            Some(None) => Err(format!(
                "unknown event type '{}' in evt.type.is",
                arg.unwrap_or_default()
            )),
            None => Err("evt.type.is needs an event type: evt.type.is.NAME".to_owned()),
        },
        "evt.around" => match arg.map(str::parse::<u64>) {
            Some(Ok(t)) => Ok(F::EvtAround(t)),
            _ => Err(
                "evt.around needs a time: evt.around[T]=D, T in ns since the epoch (as evt.rawtime), D in ms"
                    .to_owned(),
            ),
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

/// `key` as a `'static` str: label keys are interned in one process-wide
/// set (each distinct key kept once), so fields stay `Copy`.
fn intern(key: &str) -> &'static str {
    static KEYS: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
    let mut keys = KEYS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(&k) = keys.iter().find(|&&k| k == key) {
        return k;
    }
    let k: &'static str = Box::leak(key.to_owned().into_boxed_str());
    keys.push(k);
    k
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
    #[expect(clippy::too_many_lines, reason = "one arm per group of fields")]
    pub fn projection(self) -> Projection {
        use Field as F;
        match self {
            F::EvtNum
            | F::EvtType
            | F::EvtIsIo
            | F::EvtIsIoRead
            | F::EvtIsIoWrite
            | F::SyscallType
            | F::EvtIoDir
            | F::EvtTypeIs(_)
            | F::EvtIsWait
            | F::EvtCount => Projection::MINIMAL,
            F::EvtTime
            | F::EvtRawtime
            | F::EvtReltime
            | F::EvtTimeS
            | F::EvtTimeIso8601
            | F::EvtDatetime
            | F::EvtDatetimeS
            | F::EvtOutputtime
            | F::EvtRawtimeS
            | F::EvtRawtimeNs
            | F::EvtReltimeS
            | F::EvtReltimeNs
            | F::EvtAround(_)
            | F::EvtDeltatime
            | F::EvtDeltatimeS
            | F::EvtDeltatimeNs => Projection::TIME,
            F::EvtDir | F::EvtCountExit => Projection::FLAGS,
            F::EvtCpu => Projection::CPU,
            F::EvtRes
            | F::EvtRawres
            | F::EvtFailed
            | F::EvtCountError
            | F::EvtCountErrorFile
            | F::EvtCountErrorNet
            | F::EvtCountErrorMemory
            | F::EvtCountErrorOther => Projection::RET | Projection::FLAGS,
            F::EvtLatency
            | F::EvtLatencyS
            | F::EvtLatencyNs
            | F::EvtLatencyHuman
            | F::EvtWaitLatency => Projection::LATENCY,
            F::EvtBuflen
            | F::EvtBuffer
            | F::EvtArg(_)
            | F::EvtRawarg(_)
            | F::EvtArgs
            | F::EvtInfo
            | F::EvtIsOpenRead
            | F::EvtIsOpenWrite
            | F::EvtIsOpenExec => Projection::ARGS | Projection::FLAGS,
            F::SyslogFacilityStr
            | F::SyslogFacility
            | F::SyslogSeverityStr
            | F::SyslogSeverity
            | F::SyslogMessage => Projection::FD | Projection::ARGS | Projection::RET,
            F::ProcDuration => Projection::THREAD | Projection::TIME,
            F::EvtAbspath | F::EvtAbspathSrc | F::EvtAbspathDst => {
                Projection::ARGS | Projection::THREAD
            }
            F::FdUid | F::FdContainername | F::FdContainerdirectory => {
                Projection::THREAD | Projection::FD | Projection::ARGS
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
            | F::ProcApid(_)
            | F::ProcExeline
            | F::ProcPcmdline
            | F::ProcVpid
            | F::ProcLoginshellid
            | F::ProcSid
            | F::ProcNthreads
            | F::ProcNchilds
            | F::ProcSname
            | F::ProcVpgid
            | F::ProcTty
            | F::ThreadTid
            | F::ThreadVtid
            | F::ThreadIsmain
            | F::UserUid
            | F::UserName
            | F::UserLoginuid
            | F::UserLoginname
            | F::GroupGid
            | F::GroupName
            | F::ContainerId
            | F::ContainerFullId
            | F::ContainerName
            | F::ContainerImage
            | F::ContainerImageRepo
            | F::ContainerImageTag
            | F::ContainerImageDigest
            | F::ContainerType
            | F::ContainerPrivileged
            | F::ContainerLabel(_)
            | F::K8sPodName
            | F::K8sNsName
            | F::K8sPodUid
            | F::K8sPodLabel(_)
            | F::K8sPodLabels
            | F::K8sPodSandboxId => Projection::THREAD,
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
            | F::FdSproto
            | F::FdCproto
            | F::FdLproto
            | F::FdRproto
            | F::FdProto
            | F::FdL4proto
            | F::FdSockfamily
            | F::EvtIsSyslog
            | F::FdIsServer
            | F::FdConnected
            | F::FdIp
            | F::FdPort
            | F::FdNet
            | F::FdCnet
            | F::FdSnet
            | F::FdLnet
            | F::FdRnet
            | F::EvtCategory => Projection::FD,
            F::TriggerRule => Projection::ARGS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_field_resolves() {
        for f in FIELDS {
            let (name, arg) = match f.name.strip_suffix(".NAME") {
                Some("evt.type.is") => ("evt.type.is", Some("open")),
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
    fn unanswered_fields_are_not_answered() {
        for (name, why) in UNANSWERED {
            let listed = FIELDS.iter().any(|f| {
                f.name
                    .split(['[', ' '])
                    .next()
                    .is_some_and(|n| n.trim_end_matches(".NAME") == *name)
            });
            assert!(!listed, "{name} is answered and listed as not: {why}");
            assert!(!why.is_empty());
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
        assert!(resolve("proc.aname", Some("x")).is_err());
        assert_eq!(
            resolve("proc.apid", Some("0")),
            Ok(Field::ProcApid(Some(0)))
        );
        assert!(resolve("evt.around", None).is_err());
        assert!(resolve("proc.name", Some("1")).is_err());
    }
}
