//! What is known about threads, processes and file descriptors.

use crate::event::{OwnedSockAddr, OwnedSockTuple};

/// A process: what its threads share.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ProcessInfo {
    /// Changes whenever a field changes; lets writers deduplicate cheaply.
    pub key: u64,
    /// Process id (thread group id).
    pub pid: i64,
    /// Parent process id.
    pub ppid: i64,
    /// Process id inside its pid namespace.
    pub vpid: i64,
    /// `argv[0]`.
    pub exe: Vec<u8>,
    /// Full path of the executable (`/proc/PID/exe`).
    pub exepath: Vec<u8>,
    /// `argv[1..]`, each argument followed by a NUL.
    pub args: Vec<u8>,
    /// Working directory.
    pub cwd: Vec<u8>,
    /// Effective user id.
    pub uid: u32,
    /// Effective group id.
    pub gid: u32,
    /// Login user id (`u32::MAX` when unset).
    pub loginuid: u32,
    /// User name of `uid`.
    pub user: Vec<u8>,
    /// User name of `loginuid` (empty when unset or not in the user table).
    pub login_user: Vec<u8>,
    /// Group name of `gid`.
    pub group: Vec<u8>,
    /// Container id (12 hex digits, as docker shows it), empty on the host.
    pub container_id: Vec<u8>,
    /// Kubernetes pod UID, empty outside Kubernetes.
    pub pod_uid: Vec<u8>,
    /// Start time, ns since the epoch (0 when unknown).
    pub start_ts: u64,
    /// Virtual memory size in bytes when the state was taken (0: unknown).
    pub vm_size: u64,
    /// Resident memory in bytes when the state was taken (0: unknown).
    pub vm_rss: u64,
    /// Soft limit on open files (`RLIMIT_NOFILE`; 0: unknown).
    pub fd_limit: u64,
    /// Session id (-1: unknown).
    pub sid: i64,
    /// Process group id inside its pid namespace (-1: unknown).
    pub vpgid: i64,
    /// Controlling terminal, as the kernel's device number `tty_nr` (0:
    /// none or unknown).
    pub tty: u32,
    /// Threads the capture knows alive in the process (kept by the state
    /// tracker; 0: not counted).
    pub threads: u32,
    /// What the capture knows of the container `container_id` names
    /// (empty when nothing described it).
    pub container: ContainerInfo,
}

impl Default for ProcessInfo {
    /// Nothing known: ids 0, the session and process group -1 (sysdig's
    /// unknown).
    fn default() -> Self {
        Self {
            key: 0,
            pid: 0,
            ppid: 0,
            vpid: 0,
            exe: Vec::new(),
            exepath: Vec::new(),
            args: Vec::new(),
            cwd: Vec::new(),
            uid: 0,
            gid: 0,
            loginuid: 0,
            user: Vec::new(),
            login_user: Vec::new(),
            group: Vec::new(),
            container_id: Vec::new(),
            pod_uid: Vec::new(),
            start_ts: 0,
            vm_size: 0,
            vm_rss: 0,
            fd_limit: 0,
            sid: -1,
            vpgid: -1,
            tty: 0,
            threads: 0,
            container: ContainerInfo::default(),
        }
    }
}

/// A container, as its runtime describes it (a `.scap` container event, or
/// the agent's runtime lookups).
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct ContainerInfo {
    /// Id, 12 hex digits, as docker shows it.
    pub id: Vec<u8>,
    /// The whole id (64 hex digits), when known.
    pub full_id: Vec<u8>,
    /// Runtime: `docker`, `containerd`, `cri-o`, ...
    pub kind: Vec<u8>,
    /// Name.
    pub name: Vec<u8>,
    /// Image as the runtime names it (`repo:tag` or `repo@digest`).
    pub image: Vec<u8>,
    /// Image repository.
    pub image_repo: Vec<u8>,
    /// Image tag.
    pub image_tag: Vec<u8>,
    /// Image digest.
    pub image_digest: Vec<u8>,
    /// Runs privileged.
    pub privileged: bool,
    /// Labels, each `key=value` followed by a NUL.
    pub labels: Vec<u8>,
}

impl ContainerInfo {
    /// The value of label `key`.
    pub fn label(&self, key: &[u8]) -> Option<&[u8]> {
        label(&self.labels, key)
    }
}

/// The value of `key` in NUL-terminated `key=value` labels.
pub fn label<'a>(labels: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    split_nul(labels).find_map(|kv| {
        kv.strip_prefix(key)
            .and_then(|rest| rest.strip_prefix(b"="))
    })
}

impl ProcessInfo {
    /// The arguments after `argv[0]`, without their NUL terminators.
    pub fn arg_list(&self) -> impl Iterator<Item = &[u8]> {
        split_nul(&self.args)
    }
}

/// Splits NUL-terminated (or NUL-separated) strings.
pub fn split_nul(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let trimmed = bytes.strip_suffix(b"\0").unwrap_or(bytes);
    let mut parts = trimmed.split(|&b| b == 0);
    if trimmed.is_empty() {
        // `split` yields one empty item for an empty input; there is no argument.
        parts.next();
    }
    parts
}

/// A thread.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct ThreadInfo {
    /// Changes whenever a field changes.
    pub key: u64,
    /// Thread id.
    pub tid: i64,
    /// Process it belongs to.
    pub pid: i64,
    /// Thread id inside its pid namespace.
    pub vtid: i64,
    /// Command name (`comm`, at most 15 bytes).
    pub comm: Vec<u8>,
}

/// What an fd refers to, with sysdig's type names.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
#[repr(u8)]
pub enum FdKind {
    /// Not known.
    #[default]
    Unknown = 0,
    /// A regular file (or device).
    File = 1,
    /// A directory.
    Directory = 2,
    /// IPv4 socket.
    Ipv4 = 3,
    /// IPv6 socket.
    Ipv6 = 4,
    /// Unix socket.
    Unix = 5,
    /// Pipe or FIFO.
    Pipe = 6,
    /// eventfd.
    Event = 7,
    /// signalfd.
    SignalFd = 8,
    /// epoll instance.
    EventPoll = 9,
    /// inotify instance.
    Inotify = 10,
    /// timerfd.
    TimerFd = 11,
    /// Netlink socket.
    Netlink = 12,
    /// BPF map, program or link.
    Bpf = 13,
    /// userfaultfd.
    UserFaultFd = 14,
    /// `io_uring` instance.
    IoUring = 15,
    /// memfd.
    Memfd = 16,
    /// pidfd.
    PidFd = 17,
}

impl FdKind {
    /// Every kind, in number order.
    pub const ALL: [FdKind; 18] = [
        FdKind::Unknown,
        FdKind::File,
        FdKind::Directory,
        FdKind::Ipv4,
        FdKind::Ipv6,
        FdKind::Unix,
        FdKind::Pipe,
        FdKind::Event,
        FdKind::SignalFd,
        FdKind::EventPoll,
        FdKind::Inotify,
        FdKind::TimerFd,
        FdKind::Netlink,
        FdKind::Bpf,
        FdKind::UserFaultFd,
        FdKind::IoUring,
        FdKind::Memfd,
        FdKind::PidFd,
    ];

    /// From the stored number; unknown numbers become [`FdKind::Unknown`].
    pub fn from_u8(v: u8) -> Self {
        Self::ALL
            .get(usize::from(v))
            .copied()
            .unwrap_or(FdKind::Unknown)
    }

    /// sysdig's `fd.type` name.
    pub fn name(self) -> &'static str {
        match self {
            FdKind::Unknown => "unknown",
            FdKind::File => "file",
            FdKind::Directory => "directory",
            FdKind::Ipv4 => "ipv4",
            FdKind::Ipv6 => "ipv6",
            FdKind::Unix => "unix",
            FdKind::Pipe => "pipe",
            FdKind::Event => "event",
            FdKind::SignalFd => "signalfd",
            FdKind::EventPoll => "eventpoll",
            FdKind::Inotify => "inotify",
            FdKind::TimerFd => "timerfd",
            FdKind::Netlink => "netlink",
            FdKind::Bpf => "bpf",
            FdKind::UserFaultFd => "userfaultfd",
            FdKind::IoUring => "io_uring",
            FdKind::Memfd => "memfd",
            FdKind::PidFd => "pidfd",
        }
    }

    /// sysdig's `fd.typechar`.
    pub fn typechar(self) -> char {
        match self {
            FdKind::Unknown => '?',
            FdKind::File => 'f',
            FdKind::Directory => 'd',
            FdKind::Ipv4 => '4',
            FdKind::Ipv6 => '6',
            // sysdig uses 'u' for both.
            FdKind::Unix | FdKind::UserFaultFd => 'u',
            FdKind::Pipe => 'p',
            FdKind::Event => 'e',
            FdKind::SignalFd => 's',
            FdKind::EventPoll => 'l',
            FdKind::Inotify => 'i',
            FdKind::TimerFd => 't',
            FdKind::Netlink => 'n',
            FdKind::Bpf => 'b',
            FdKind::IoUring => 'r',
            FdKind::Memfd => 'm',
            FdKind::PidFd => 'P',
        }
    }

    /// True for sockets that have addresses.
    pub fn is_inet(self) -> bool {
        matches!(self, FdKind::Ipv4 | FdKind::Ipv6)
    }
}

/// Transport protocol of a socket.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
#[repr(u8)]
pub enum L4Proto {
    /// Not known.
    #[default]
    Unknown = 0,
    /// TCP.
    Tcp = 1,
    /// UDP.
    Udp = 2,
    /// ICMP.
    Icmp = 3,
    /// Raw IP.
    Raw = 4,
}

impl L4Proto {
    /// From the stored number.
    pub fn from_u8(v: u8) -> Self {
        match v {
            1 => L4Proto::Tcp,
            2 => L4Proto::Udp,
            3 => L4Proto::Icmp,
            4 => L4Proto::Raw,
            _ => L4Proto::Unknown,
        }
    }

    /// sysdig's `fd.l4proto` name.
    pub fn name(self) -> &'static str {
        match self {
            L4Proto::Unknown => "unknown",
            L4Proto::Tcp => "tcp",
            L4Proto::Udp => "udp",
            L4Proto::Icmp => "icmp",
            L4Proto::Raw => "raw",
        }
    }
}

/// Which end of a connection this process is.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
#[repr(u8)]
pub enum SocketRole {
    /// Not known (e.g. found open in `/proc`).
    #[default]
    Unknown = 0,
    /// Connected out.
    Client = 1,
    /// Accepted, or listening.
    Server = 2,
}

impl SocketRole {
    /// From the stored number.
    pub fn from_u8(v: u8) -> Self {
        match v {
            1 => SocketRole::Client,
            2 => SocketRole::Server,
            _ => SocketRole::Unknown,
        }
    }
}

/// Addresses of a socket fd.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub enum SocketEnds {
    /// Not a socket, or nothing known.
    #[default]
    None,
    /// Bound or listening: the local address only.
    Local(OwnedSockAddr),
    /// Connected: client to server.
    Tuple(OwnedSockTuple),
}

/// An open file descriptor.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct FdInfo {
    /// Unique per open (changes when the fd number is reused or updated).
    pub key: u64,
    /// Process that holds it.
    pub pid: i64,
    /// The number.
    pub fd: i64,
    /// What it refers to.
    pub kind: FdKind,
    /// Path for files, directories, FIFOs, unix sockets, memfds.
    pub name: Vec<u8>,
    /// Transport protocol for sockets.
    pub l4proto: L4Proto,
    /// Which end this process is, for sockets.
    pub role: SocketRole,
    /// Addresses, for sockets.
    pub ends: SocketEnds,
    /// Open flags (`O_*`).
    pub flags: u32,
}

/// A user account (from `/etc/passwd` of the captured host).
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct UserInfo {
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Login name.
    pub name: Vec<u8>,
    /// Home directory.
    pub home: Vec<u8>,
    /// Login shell.
    pub shell: Vec<u8>,
}

/// A group (from `/etc/group`).
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct GroupInfo {
    /// Group id.
    pub gid: u32,
    /// Name.
    pub name: Vec<u8>,
}

/// Every thread, process and open fd at one moment, plus the user and group
/// tables: written at the start of a capture so that events of processes
/// started earlier resolve.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Snapshot {
    /// When it was taken, ns since the epoch.
    pub ts: u64,
    /// Processes.
    pub processes: Vec<ProcessInfo>,
    /// Threads.
    pub threads: Vec<ThreadInfo>,
    /// Open fds.
    pub fds: Vec<FdInfo>,
    /// Users.
    pub users: Vec<UserInfo>,
    /// Groups.
    pub groups: Vec<GroupInfo>,
    /// Containers.
    pub containers: Vec<ContainerInfo>,
}
