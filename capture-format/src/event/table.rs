//! The event table: for every event type, its name and what each argument
//! position means.
//!
//! Built once from data: the generated x86-64 syscall list (numbers, names,
//! kernel argument names) overlaid with the typed definitions of the system
//! calls syscap decodes, plus the kernel and metadata events.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::EventType;
use super::typed::{KERNEL_EVENTS, TYPED_SYSCALLS};
use super::x86_64::X86_64_SYSCALLS;

/// How to read and show one argument.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ArgKind {
    /// A file descriptor.
    Fd,
    /// A directory fd for the `*at` calls (`-100` is `AT_FDCWD`).
    DirFd,
    /// A file system path.
    Path,
    /// Other text.
    Str,
    /// An argument vector: NUL-separated strings.
    Argv,
    /// An I/O data snapshot.
    Data,
    /// A socket address.
    SockAddr,
    /// A connection tuple.
    SockTuple,
    /// A bit set with named bits.
    Flags(FlagSet),
    /// An enumeration with named values.
    Enum(FlagSet),
    /// Permission bits, shown in octal.
    Mode,
    /// A user id.
    Uid,
    /// A group id.
    Gid,
    /// A process or thread id.
    Pid,
    /// A byte count.
    Size,
    /// A signal number.
    Signal,
    /// A signed integer (offsets, levels).
    Int,
    /// An address or other raw register value, shown in hex.
    Hex,
}

/// Named value sets used by [`ArgKind::Flags`] and [`ArgKind::Enum`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum FlagSet {
    /// `open(2)` flags (`O_*`).
    Open,
    /// `access(2)` mode (`R_OK`...).
    Access,
    /// `AT_*` flags of the `*at` calls.
    At,
    /// `CLONE_*` flags (also `unshare`, `setns`).
    Clone,
    /// `PROT_*`.
    Prot,
    /// `MAP_*`.
    Mmap,
    /// `RENAME_*`.
    Rename,
    /// Socket address family (`AF_*`).
    Family,
    /// Socket type (`SOCK_*`).
    SockType,
    /// `lseek` whence.
    Whence,
    /// `fcntl` command.
    Fcntl,
    /// `shutdown` how.
    Shutdown,
    /// `ptrace` request.
    Ptrace,
    /// `prctl` option.
    Prctl,
    /// `MS_*` mount flags.
    Mount,
    /// `umount2` flags.
    Umount,
    /// `bpf` command.
    BpfCmd,
    /// `MFD_*` memfd flags.
    Memfd,
    /// `setsockopt` level.
    SockoptLevel,
    /// Socket-level option names.
    Sockopt,
    /// `O_CLOEXEC`/`O_NONBLOCK` style flags of `pipe2`, `dup3`, `accept4`.
    FdFlags,
    /// `RESOLVE_*` of `openat2`.
    Resolve,
}

/// What a system call returns on success.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum RetKind {
    /// 0 or a count.
    Status,
    /// A new file descriptor.
    Fd,
    /// A process or thread id.
    Pid,
    /// A byte count.
    Size,
    /// An address.
    Addr,
    /// Nothing: events.
    None,
}

/// Groups of event types, for `evt.is_io` and for summaries.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct Category(pub u16);

impl Category {
    /// Reads data from an fd.
    pub const IO_READ: Self = Self(1);
    /// Writes data to an fd.
    pub const IO_WRITE: Self = Self(1 << 1);
    /// Creates a new fd (its number is the return value).
    pub const OPENS_FD: Self = Self(1 << 2);
    /// File system name space.
    pub const FILE: Self = Self(1 << 3);
    /// Networking.
    pub const NET: Self = Self(1 << 4);
    /// Processes and threads.
    pub const PROCESS: Self = Self(1 << 5);
    /// Memory management.
    pub const MEMORY: Self = Self(1 << 6);
    /// Credentials, namespaces, modules, tracing: security relevant.
    pub const SECURITY: Self = Self(1 << 7);
    /// Never returns on success.
    pub const NO_RETURN: Self = Self(1 << 8);
    /// Kernel or metadata event, not a system call.
    pub const EVENT: Self = Self(1 << 9);

    /// True when any bit of `other` is set.
    pub fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }
}

impl std::ops::BitOr for Category {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

/// sysdig's category of an event type (libs' `EC_*`), as `evt.category`
/// shows it; from `sysdig-categories.tsv`, generated from the libs sysdig
/// 0.29.3 reads with.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum SysdigCategory {
    /// No category (a call sysdig's driver does not know).
    #[default]
    Unknown,
    Other,
    File,
    Net,
    Ipc,
    Memory,
    Process,
    Sleep,
    System,
    Signal,
    User,
    Time,
    Processing,
    /// I/O named by the fd's type (`file`, `net`, `ipc`, else `unknown`).
    IoByFd,
    /// I/O of a call sysdig's driver wrote as a generic event: no fd, so
    /// `unknown`.
    IoGeneric,
    Wait,
    Scheduler,
    Internal,
}

impl SysdigCategory {
    /// The text of `evt.category`; `fd` is the type of the call's fd, for
    /// the I/O categories.
    pub fn name(self, fd: Option<crate::state::FdKind>) -> &'static str {
        use crate::state::FdKind as K;
        match self {
            Self::Unknown | Self::IoGeneric => "unknown",
            Self::Other => "other",
            Self::File => "file",
            Self::Net => "net",
            Self::Ipc => "IPC",
            Self::Memory => "memory",
            Self::Process => "process",
            Self::Sleep => "sleep",
            Self::System => "system",
            Self::Signal => "signal",
            Self::User => "user",
            Self::Time => "time",
            Self::Processing => "processing",
            Self::Wait => "wait",
            Self::Scheduler => "scheduler",
            Self::Internal => "internal",
            Self::IoByFd => match fd {
                Some(K::File | K::Directory) => "file",
                Some(K::Ipv4 | K::Ipv6) => "net",
                Some(K::Pipe | K::Unix | K::Event | K::SignalFd | K::Inotify) => "ipc",
                _ => "unknown",
            },
        }
    }

    /// Reads a line's category (`IO_READ`) and source (`fd`, `generic`,
    /// `event`).
    fn parse(category: &str, source: &str) -> Option<Self> {
        Some(match (category, source) {
            ("IO_READ" | "IO_WRITE" | "IO_OTHER", "fd") => Self::IoByFd,
            ("IO_READ" | "IO_WRITE" | "IO_OTHER", _) => Self::IoGeneric,
            ("UNKNOWN", _) => Self::Unknown,
            ("OTHER", _) => Self::Other,
            ("FILE", _) => Self::File,
            ("NET", _) => Self::Net,
            ("IPC", _) => Self::Ipc,
            ("MEMORY", _) => Self::Memory,
            ("PROCESS", _) => Self::Process,
            ("SLEEP", _) => Self::Sleep,
            ("SYSTEM", _) => Self::System,
            ("SIGNAL", _) => Self::Signal,
            ("USER", _) => Self::User,
            ("TIME", _) => Self::Time,
            ("PROCESSING", _) => Self::Processing,
            ("WAIT", _) => Self::Wait,
            ("SCHEDULER", _) => Self::Scheduler,
            ("INTERNAL", _) => Self::Internal,
            _ => return None,
        })
    }
}

static SYSDIG_CATEGORIES_TSV: &str = include_str!("sysdig-categories.tsv");

/// Categories by type number; syscap's own events that sysdig lacks get the
/// category of what they are (execs and forks: process; triggers and
/// thread descriptions: internal).
static SYSDIG_CATEGORIES: LazyLock<HashMap<EventType, SysdigCategory>> = LazyLock::new(|| {
    let mut map: HashMap<EventType, SysdigCategory> = [
        (EventType::PROC_EXEC, SysdigCategory::Process),
        (EventType::PROC_FORK, SysdigCategory::Process),
        (EventType::TRIGGER, SysdigCategory::Internal),
        (EventType::THREAD_INFO, SysdigCategory::Internal),
    ]
    .into_iter()
    .collect();
    for line in SYSDIG_CATEGORIES_TSV
        .lines()
        .filter(|l| !l.starts_with('#'))
    {
        let mut cols = line.split('\t');
        let (Some(name), Some(category), Some(source)) = (cols.next(), cols.next(), cols.next())
        else {
            continue;
        };
        if let (Some(ty), Some(c)) = (by_name(name), SysdigCategory::parse(category, source)) {
            map.insert(ty, c);
        }
    }
    map
});

pub(super) fn sysdig_category(ty: EventType) -> SysdigCategory {
    SYSDIG_CATEGORIES.get(&ty).copied().unwrap_or_default()
}

/// One argument position.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ArgDef {
    /// Name, as in `evt.arg.NAME` (sysdig's names where sysdig has one).
    pub name: &'static str,
    /// Meaning.
    pub kind: ArgKind,
}

/// One entry of the event table.
#[derive(Clone, Debug)]
pub struct EventInfo {
    /// The type.
    pub ty: EventType,
    /// Name, as in `evt.type`.
    pub name: &'static str,
    /// Argument positions.
    pub args: &'static [ArgDef],
    /// Name of the return value as an argument (`res` or `fd`).
    pub ret_name: &'static str,
    /// What the return value is.
    pub ret: RetKind,
    /// Groups.
    pub category: Category,
    /// True when syscap decodes the arguments (false: raw registers).
    pub typed: bool,
}

impl EventInfo {
    /// Position of the argument called `name`.
    pub fn arg_index(&self, name: &str) -> Option<usize> {
        self.args.iter().position(|a| a.name == name)
    }
}

struct Table {
    by_type: Vec<Option<EventInfo>>,
    by_name: HashMap<&'static str, EventType>,
}

static TABLE: LazyLock<Table> = LazyLock::new(build);

fn build() -> Table {
    let mut by_type: Vec<Option<EventInfo>> =
        vec![None; usize::from(EventType::LAST_KERNEL_EVENT.0) + 1];
    for info in TYPED_SYSCALLS.iter().chain(KERNEL_EVENTS) {
        by_type[usize::from(info.ty.0)] = Some(info.clone());
    }
    for &(nr, name, kernel_args) in X86_64_SYSCALLS {
        let slot = &mut by_type[usize::from(nr)];
        if slot.is_some() {
            continue; // typed above
        }
        // Leaked once: the table lives as long as the program.
        let args: &'static [ArgDef] = Vec::leak(
            kernel_args
                .iter()
                .map(|&name| ArgDef {
                    name,
                    kind: ArgKind::Hex,
                })
                .collect(),
        );
        *slot = Some(EventInfo {
            ty: EventType(nr),
            name,
            args,
            ret_name: "res",
            ret: RetKind::Status,
            category: Category::default(),
            typed: false,
        });
    }
    // Kernel names first, so that sysdig's names (`pread` for `pread64`) win
    // where both exist and both are accepted.
    let mut by_name: HashMap<&'static str, EventType> = X86_64_SYSCALLS
        .iter()
        .map(|&(nr, name, _)| (name, EventType(nr)))
        .collect();
    by_name.extend(by_type.iter().flatten().map(|info| (info.name, info.ty)));
    Table { by_type, by_name }
}

/// The entry for `ty`; a generic one named `syscall_N` / `event_N` when the
/// table does not know the number (a newer producer).
pub(super) fn lookup(ty: EventType) -> &'static EventInfo {
    if let Some(Some(info)) = TABLE.by_type.get(usize::from(ty.0)) {
        return info;
    }
    unknown(ty)
}

fn unknown(ty: EventType) -> &'static EventInfo {
    static CACHE: LazyLock<std::sync::Mutex<HashMap<u16, &'static EventInfo>>> =
        LazyLock::new(Default::default);
    let mut cache = CACHE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    cache.entry(ty.0).or_insert_with(|| {
        let name = if ty.is_syscall() {
            format!("syscall_{}", ty.0)
        } else {
            format!("event_{}", ty.0)
        };
        Box::leak(Box::new(EventInfo {
            ty,
            name: String::leak(name),
            args: &[],
            ret_name: "res",
            ret: if ty.is_syscall() {
                RetKind::Status
            } else {
                RetKind::None
            },
            category: if ty.is_syscall() {
                Category::default()
            } else {
                Category::EVENT
            },
            typed: false,
        }))
    })
}

pub(super) fn by_name(name: &str) -> Option<EventType> {
    TABLE.by_name.get(name).copied()
}

pub(super) fn all() -> impl Iterator<Item = EventType> {
    TABLE.by_type.iter().flatten().map(|info| info.ty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_entries() {
        let cases: &[(u16, &str, usize, bool)] = &[
            (0, "read", 3, true),
            (257, "openat", 4, true),
            (202, "futex", 6, false),
            (231, "exit_group", 1, true),
            (1024, "procexec", 2, true),
        ];
        for &(nr, name, nargs, typed) in cases {
            let info = EventType(nr).info();
            assert_eq!(
                (info.name, info.args.len(), info.typed),
                (name, nargs, typed),
                "type {nr}"
            );
            assert_eq!(EventType::from_name(name), Some(EventType(nr)));
        }
    }

    #[test]
    fn every_category_line_names_a_type_and_a_category() {
        for line in SYSDIG_CATEGORIES_TSV
            .lines()
            .filter(|l| !l.starts_with('#'))
        {
            let cols: Vec<&str> = line.split('\t').collect();
            assert_eq!(cols.len(), 3, "{line:?}");
            assert!(by_name(cols[0]).is_some(), "{line:?}: no such type");
            assert!(
                SysdigCategory::parse(cols[1], cols[2]).is_some(),
                "{line:?}"
            );
        }
    }

    #[test]
    fn sysdig_categories() {
        use crate::state::FdKind as K;
        let cases: &[(&str, Option<K>, &str)] = &[
            ("read", Some(K::Ipv4), "net"),
            ("read", Some(K::File), "file"),
            ("close", Some(K::Pipe), "ipc"),
            ("write", Some(K::Unknown), "unknown"),
            ("ioctl", None, "unknown"),
            ("futex", None, "IPC"),
            ("exit_group", None, "unknown"),
            ("rt_sigaction", None, "signal"),
            ("clock_gettime", None, "time"),
            ("poll", None, "wait"),
            ("switch", None, "scheduler"),
            ("procexit", None, "process"),
            ("open", Some(K::File), "file"),
            ("pread", Some(K::File), "file"),
            ("procexec", None, "process"),
            ("syscall_500", None, "unknown"),
        ];
        for &(name, fd, want) in cases {
            let ty = EventType::from_name(name).unwrap_or(EventType(500));
            assert_eq!(ty.sysdig_category().name(fd), want, "{name} {fd:?}");
        }
    }

    #[test]
    fn unknown_numbers_get_stable_generic_names() {
        assert_eq!(EventType(500).name(), "syscall_500");
        assert_eq!(EventType(2000).name(), "event_2000");
        assert!(std::ptr::eq(EventType(2000).info(), EventType(2000).info()));
    }

    #[test]
    fn typed_entries_name_every_argument_uniquely() {
        for ty in EventType::all() {
            let info = ty.info();
            for (i, a) in info.args.iter().enumerate() {
                assert!(
                    info.args[..i].iter().all(|b| b.name != a.name),
                    "{} repeats argument {}",
                    info.name,
                    a.name
                );
            }
        }
    }
}
