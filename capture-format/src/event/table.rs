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
