//! The event model: one record per completed system call or kernel event.
//!
//! A [`Record`] is what producers (the eBPF agent, the `.scap` importer, tests)
//! hand to the writer. Records borrow their strings and buffers, so building
//! one allocates nothing. What each argument means is not stored per record:
//! the [`EventType`] names an entry of the event table ([`EventInfo`]) that
//! gives every argument position a name and a kind.

mod names;
pub mod nr;
mod table;
mod typed;
mod x86_64;

use std::net::{SocketAddrV4, SocketAddrV6};

pub use names::{errno_name, flag_names, signal_name, value_name};
pub use table::{ArgDef, ArgKind, Category, EventInfo, FlagSet, RetKind, SysdigCategory};

/// What a record describes: an x86-64 system call (by number) or a kernel or
/// metadata event (from 1024 on).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
pub struct EventType(pub u16);

impl EventType {
    /// First number that is not an x86-64 system call.
    pub const FIRST_FOREIGN_SYSCALL: u16 = 512;
    /// First number of kernel and metadata events.
    pub const FIRST_KERNEL_EVENT: u16 = 1024;
    /// `sched_process_exec`: a thread replaced its program image.
    pub const PROC_EXEC: Self = Self(1024);
    /// `sched_process_fork`: a new thread or process was created.
    pub const PROC_FORK: Self = Self(1025);
    /// `sched_process_exit`: a thread exited (with its status).
    pub const PROC_EXIT: Self = Self(1026);
    /// The kernel lost events (ring buffer full).
    pub const DROP: Self = Self(1027);
    /// A trigger rule fired; marks the moment inside the capture.
    pub const TRIGGER: Self = Self(1028);
    /// A signal was delivered.
    pub const SIGNAL_DELIVER: Self = Self(1029);
    /// Container metadata (imported from `.scap`).
    pub const CONTAINER: Self = Self(1030);
    /// Per-thread CPU usage sample (imported from `.scap`).
    pub const PROC_INFO: Self = Self(1031);
    /// Any other kernel or library event, named by its first argument.
    pub const OTHER: Self = Self(1032);
    /// The scheduler switched to another thread (imported from `.scap`).
    pub const SWITCH: Self = Self(1033);
    /// What a producer learned of a thread it had not known: its process
    /// identity (parent, command, executable, arguments, directory, user,
    /// limits), e.g. from the clone exit of a child a `.scap` file first
    /// shows in its own clone. Missing arguments leave a field as it was.
    pub const THREAD_INFO: Self = Self(1034);
    /// The last kernel or metadata event number the table knows.
    pub const LAST_KERNEL_EVENT: Self = Self::THREAD_INFO;

    /// The table entry for this type; unknown numbers get a generic entry.
    pub fn info(self) -> &'static EventInfo {
        table::lookup(self)
    }

    /// The name users see, as `evt.type`.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// Finds a type by its `evt.type` name.
    pub fn from_name(name: &str) -> Option<Self> {
        table::by_name(name)
    }

    /// True for system calls (x86-64 or imported from another architecture).
    pub fn is_syscall(self) -> bool {
        self.0 < Self::FIRST_KERNEL_EVENT
    }

    /// sysdig's category of this type (`evt.category`).
    pub fn sysdig_category(self) -> SysdigCategory {
        table::sysdig_category(self)
    }

    /// Every type the table knows, in number order.
    pub fn all() -> impl Iterator<Item = Self> {
        table::all()
    }
}

/// Per-record flags.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct RecordFlags(pub u8);

impl RecordFlags {
    /// The system call was entered but never returned (`exit_group`, or a
    /// call interrupted by the end of the capture); `ret` and `latency` are
    /// meaningless.
    pub const NO_RETURN: Self = Self(1);

    /// The system call returned, but the producer recorded no return value
    /// (an old `.scap` exit event without `res`): `ret` is 0 and readers
    /// show the result as missing, as sysdig does.
    pub const NO_RESULT: Self = Self(2);

    /// The call returned, but its entry was not recorded (the agent ran
    /// without latency, `--no-latency`, to skip a clock read and a task
    /// lookup per call): `ts` is the return time and `latency` is unknown
    /// (0), so readers show no latency rather than a zero one.
    pub const NO_LATENCY: Self = Self(4);

    /// True when every bit of `other` is set.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for RecordFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

/// One argument value. The event table says what it means; the variant only
/// says how it is stored.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum Arg<'a> {
    /// No value (unreadable pointer, or not recorded by the producer).
    #[default]
    Absent,
    /// Any integer: fd, flags, mode, uid, pid, size, signal, raw register.
    Int(i64),
    /// Text that repeats: a path, a name, an argument vector (NUL-separated).
    Str(&'a [u8]),
    /// An I/O data snapshot: at most `snaplen` bytes of a read or write buffer.
    Bytes(&'a [u8]),
    /// A socket address (connect, bind, sendto).
    SockAddr(SockAddr<'a>),
    /// Both ends of a connection, client first.
    SockTuple(SockTuple<'a>),
}

impl Arg<'_> {
    /// The integer value, if this is an integer.
    pub fn as_int(&self) -> Option<i64> {
        match *self {
            Arg::Int(v) => Some(v),
            _ => None,
        }
    }

    /// The text or bytes, if this is a string or a data snapshot.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match *self {
            Arg::Str(b) | Arg::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// Converts into an owned value.
    pub fn to_owned_arg(&self) -> OwnedArg {
        match *self {
            Arg::Absent => OwnedArg::Absent,
            Arg::Int(v) => OwnedArg::Int(v),
            Arg::Str(s) => OwnedArg::Str(s.to_vec()),
            Arg::Bytes(b) => OwnedArg::Bytes(b.to_vec()),
            Arg::SockAddr(a) => OwnedArg::SockAddr(a.to_owned_addr()),
            Arg::SockTuple(t) => OwnedArg::SockTuple(t.to_owned_tuple()),
        }
    }
}

/// A socket address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum SockAddr<'a> {
    /// IPv4 address and port.
    V4(SocketAddrV4),
    /// IPv6 address and port.
    V6(SocketAddrV6),
    /// Unix socket path (abstract names start with `@`).
    Unix(&'a [u8]),
    /// A family syscap does not decode (netlink, packet, ...).
    Other(u16),
}

impl SockAddr<'_> {
    fn to_owned_addr(self) -> OwnedSockAddr {
        match self {
            SockAddr::V4(a) => OwnedSockAddr::V4(a),
            SockAddr::V6(a) => OwnedSockAddr::V6(a),
            SockAddr::Unix(p) => OwnedSockAddr::Unix(p.to_vec()),
            SockAddr::Other(f) => OwnedSockAddr::Other(f),
        }
    }
}

/// Both ends of a connection, in client to server order (as sysdig shows
/// them: `10.0.0.1:40000->10.0.0.2:80`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum SockTuple<'a> {
    /// IPv4 client and server.
    V4 {
        /// Client end.
        src: SocketAddrV4,
        /// Server end.
        dst: SocketAddrV4,
    },
    /// IPv6 client and server.
    V6 {
        /// Client end.
        src: SocketAddrV6,
        /// Server end.
        dst: SocketAddrV6,
    },
    /// A unix socket: kernel socket addresses (opaque ids) and the path.
    Unix {
        /// This end's kernel socket address.
        src: u64,
        /// The peer's kernel socket address.
        dst: u64,
        /// Path of the socket, empty when unnamed.
        path: &'a [u8],
    },
}

impl SockTuple<'_> {
    fn to_owned_tuple(self) -> OwnedSockTuple {
        match self {
            SockTuple::V4 { src, dst } => OwnedSockTuple::V4 { src, dst },
            SockTuple::V6 { src, dst } => OwnedSockTuple::V6 { src, dst },
            SockTuple::Unix { src, dst, path } => OwnedSockTuple::Unix {
                src,
                dst,
                path: path.to_vec(),
            },
        }
    }
}

/// An owned [`SockAddr`].
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum OwnedSockAddr {
    /// IPv4 address and port.
    V4(SocketAddrV4),
    /// IPv6 address and port.
    V6(SocketAddrV6),
    /// Unix socket path.
    Unix(Vec<u8>),
    /// Undecoded family.
    Other(u16),
}

impl OwnedSockAddr {
    /// Borrows as a [`SockAddr`].
    pub fn as_ref(&self) -> SockAddr<'_> {
        match self {
            OwnedSockAddr::V4(a) => SockAddr::V4(*a),
            OwnedSockAddr::V6(a) => SockAddr::V6(*a),
            OwnedSockAddr::Unix(p) => SockAddr::Unix(p),
            OwnedSockAddr::Other(f) => SockAddr::Other(*f),
        }
    }
}

/// An owned [`SockTuple`].
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum OwnedSockTuple {
    /// IPv4 client and server.
    V4 {
        /// Client end.
        src: SocketAddrV4,
        /// Server end.
        dst: SocketAddrV4,
    },
    /// IPv6 client and server.
    V6 {
        /// Client end.
        src: SocketAddrV6,
        /// Server end.
        dst: SocketAddrV6,
    },
    /// Unix socket.
    Unix {
        /// This end's kernel socket address.
        src: u64,
        /// The peer's kernel socket address.
        dst: u64,
        /// Path of the socket.
        path: Vec<u8>,
    },
}

impl OwnedSockTuple {
    /// Borrows as a [`SockTuple`].
    pub fn as_ref(&self) -> SockTuple<'_> {
        match self {
            OwnedSockTuple::V4 { src, dst } => SockTuple::V4 {
                src: *src,
                dst: *dst,
            },
            OwnedSockTuple::V6 { src, dst } => SockTuple::V6 {
                src: *src,
                dst: *dst,
            },
            OwnedSockTuple::Unix { src, dst, path } => SockTuple::Unix {
                src: *src,
                dst: *dst,
                path,
            },
        }
    }
}

/// An owned [`Arg`].
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub enum OwnedArg {
    /// No value.
    #[default]
    Absent,
    /// Integer.
    Int(i64),
    /// String.
    Str(Vec<u8>),
    /// Data snapshot.
    Bytes(Vec<u8>),
    /// Socket address.
    SockAddr(OwnedSockAddr),
    /// Connection tuple.
    SockTuple(OwnedSockTuple),
}

impl OwnedArg {
    /// Borrows as an [`Arg`].
    pub fn as_arg(&self) -> Arg<'_> {
        match self {
            OwnedArg::Absent => Arg::Absent,
            OwnedArg::Int(v) => Arg::Int(*v),
            OwnedArg::Str(s) => Arg::Str(s),
            OwnedArg::Bytes(b) => Arg::Bytes(b),
            OwnedArg::SockAddr(a) => Arg::SockAddr(a.as_ref()),
            OwnedArg::SockTuple(t) => Arg::SockTuple(t.as_ref()),
        }
    }
}

/// One completed system call or kernel event, as a producer hands it to the
/// writer. Borrowed, so that building one allocates nothing.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Record<'a> {
    /// What happened.
    pub ty: EventType,
    /// Record flags.
    pub flags: RecordFlags,
    /// Nanoseconds since the Unix epoch: system call entry, or event time.
    pub ts: u64,
    /// Nanoseconds from entry to return (0 for events).
    pub latency: u64,
    /// CPU the call returned on.
    pub cpu: u16,
    /// Thread id (`gettid()`); 0 or negative for records of no thread.
    pub tid: i64,
    /// Process id (thread group id).
    pub pid: i64,
    /// Return value; negative errno on failure.
    pub ret: i64,
    /// Arguments, in the order of the event table entry.
    pub args: &'a [Arg<'a>],
}

impl Record<'_> {
    /// Timestamp of the return (entry plus latency).
    pub fn ts_exit(&self) -> u64 {
        self.ts.saturating_add(self.latency)
    }

    /// Converts into an owned record.
    pub fn to_owned_record(&self) -> OwnedRecord {
        OwnedRecord {
            ty: self.ty,
            flags: self.flags,
            ts: self.ts,
            latency: self.latency,
            cpu: self.cpu,
            tid: self.tid,
            pid: self.pid,
            ret: self.ret,
            args: self.args.iter().map(Arg::to_owned_arg).collect(),
        }
    }
}

/// An owned [`Record`], for tests and for producers that build records
/// incrementally.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct OwnedRecord {
    /// What happened.
    pub ty: EventType,
    /// Record flags.
    pub flags: RecordFlags,
    /// Entry or event time, ns since the epoch.
    pub ts: u64,
    /// Latency in ns.
    pub latency: u64,
    /// CPU.
    pub cpu: u16,
    /// Thread id.
    pub tid: i64,
    /// Process id.
    pub pid: i64,
    /// Return value.
    pub ret: i64,
    /// Arguments.
    pub args: Vec<OwnedArg>,
}

impl OwnedRecord {
    /// Calls `f` with a borrowed [`Record`] of this one (without allocating
    /// for up to eight arguments).
    pub fn with_record<T>(&self, f: impl FnOnce(&Record<'_>) -> T) -> T {
        const INLINE: usize = 8;
        let mut inline = [Arg::Absent; INLINE];
        let heap: Vec<Arg<'_>>;
        let args: &[Arg<'_>] = if self.args.len() <= INLINE {
            for (slot, a) in inline.iter_mut().zip(&self.args) {
                *slot = a.as_arg();
            }
            &inline[..self.args.len()]
        } else {
            heap = self.args.iter().map(OwnedArg::as_arg).collect();
            &heap
        };
        f(&Record {
            ty: self.ty,
            flags: self.flags,
            ts: self.ts,
            latency: self.latency,
            cpu: self.cpu,
            tid: self.tid,
            pid: self.pid,
            ret: self.ret,
            args,
        })
    }
}

/// True when a return value is an error (`-4095..=-1`, the kernel's
/// `IS_ERR_VALUE`), whatever the system call returns on success.
pub fn is_error_return(ret: i64) -> bool {
    (-4095..0).contains(&ret)
}
