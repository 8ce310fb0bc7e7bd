//! Names of errno values, signals, and flag and enumeration values, as
//! sysdig and strace show them.

use std::fmt;

use super::table::FlagSet;

static ERRNO: &[(i64, &str)] = &[
    (1, "EPERM"),
    (2, "ENOENT"),
    (3, "ESRCH"),
    (4, "EINTR"),
    (5, "EIO"),
    (6, "ENXIO"),
    (7, "E2BIG"),
    (8, "ENOEXEC"),
    (9, "EBADF"),
    (10, "ECHILD"),
    (11, "EAGAIN"),
    (12, "ENOMEM"),
    (13, "EACCES"),
    (14, "EFAULT"),
    (15, "ENOTBLK"),
    (16, "EBUSY"),
    (17, "EEXIST"),
    (18, "EXDEV"),
    (19, "ENODEV"),
    (20, "ENOTDIR"),
    (21, "EISDIR"),
    (22, "EINVAL"),
    (23, "ENFILE"),
    (24, "EMFILE"),
    (25, "ENOTTY"),
    (26, "ETXTBSY"),
    (27, "EFBIG"),
    (28, "ENOSPC"),
    (29, "ESPIPE"),
    (30, "EROFS"),
    (31, "EMLINK"),
    (32, "EPIPE"),
    (33, "EDOM"),
    (34, "ERANGE"),
    (35, "EDEADLK"),
    (36, "ENAMETOOLONG"),
    (37, "ENOLCK"),
    (38, "ENOSYS"),
    (39, "ENOTEMPTY"),
    (40, "ELOOP"),
    (42, "ENOMSG"),
    (43, "EIDRM"),
    (44, "ECHRNG"),
    (45, "EL2NSYNC"),
    (46, "EL3HLT"),
    (47, "EL3RST"),
    (48, "ELNRNG"),
    (49, "EUNATCH"),
    (50, "ENOCSI"),
    (51, "EL2HLT"),
    (52, "EBADE"),
    (53, "EBADR"),
    (54, "EXFULL"),
    (55, "ENOANO"),
    (56, "EBADRQC"),
    (57, "EBADSLT"),
    (59, "EBFONT"),
    (60, "ENOSTR"),
    (61, "ENODATA"),
    (62, "ETIME"),
    (63, "ENOSR"),
    (64, "ENONET"),
    (65, "ENOPKG"),
    (66, "EREMOTE"),
    (67, "ENOLINK"),
    (68, "EADV"),
    (69, "ESRMNT"),
    (70, "ECOMM"),
    (71, "EPROTO"),
    (72, "EMULTIHOP"),
    (73, "EDOTDOT"),
    (74, "EBADMSG"),
    (75, "EOVERFLOW"),
    (76, "ENOTUNIQ"),
    (77, "EBADFD"),
    (78, "EREMCHG"),
    (79, "ELIBACC"),
    (80, "ELIBBAD"),
    (81, "ELIBSCN"),
    (82, "ELIBMAX"),
    (83, "ELIBEXEC"),
    (84, "EILSEQ"),
    (85, "ERESTART"),
    (86, "ESTRPIPE"),
    (87, "EUSERS"),
    (88, "ENOTSOCK"),
    (89, "EDESTADDRREQ"),
    (90, "EMSGSIZE"),
    (91, "EPROTOTYPE"),
    (92, "ENOPROTOOPT"),
    (93, "EPROTONOSUPPORT"),
    (94, "ESOCKTNOSUPPORT"),
    (95, "EOPNOTSUPP"),
    (96, "EPFNOSUPPORT"),
    (97, "EAFNOSUPPORT"),
    (98, "EADDRINUSE"),
    (99, "EADDRNOTAVAIL"),
    (100, "ENETDOWN"),
    (101, "ENETUNREACH"),
    (102, "ENETRESET"),
    (103, "ECONNABORTED"),
    (104, "ECONNRESET"),
    (105, "ENOBUFS"),
    (106, "EISCONN"),
    (107, "ENOTCONN"),
    (108, "ESHUTDOWN"),
    (109, "ETOOMANYREFS"),
    (110, "ETIMEDOUT"),
    (111, "ECONNREFUSED"),
    (112, "EHOSTDOWN"),
    (113, "EHOSTUNREACH"),
    (114, "EALREADY"),
    (115, "EINPROGRESS"),
    (116, "ESTALE"),
    (117, "EUCLEAN"),
    (118, "ENOTNAM"),
    (119, "ENAVAIL"),
    (120, "EISNAM"),
    (121, "EREMOTEIO"),
    (122, "EDQUOT"),
    (123, "ENOMEDIUM"),
    (124, "EMEDIUMTYPE"),
    (125, "ECANCELED"),
    (126, "ENOKEY"),
    (127, "EKEYEXPIRED"),
    (128, "EKEYREVOKED"),
    (129, "EKEYREJECTED"),
    (130, "EOWNERDEAD"),
    (131, "ENOTRECOVERABLE"),
    (132, "ERFKILL"),
    (133, "EHWPOISON"),
    (512, "ERESTARTSYS"),
    (513, "ERESTARTNOINTR"),
    (514, "ERESTARTNOHAND"),
    (515, "ENOIOCTLCMD"),
    (516, "ERESTART_RESTARTBLOCK"),
    (517, "EPROBE_DEFER"),
    (518, "EOPENSTALE"),
    (519, "ENOPARAM"),
    (521, "EBADHANDLE"),
    (522, "ENOTSYNC"),
    (523, "EBADCOOKIE"),
    (524, "ENOTSUPP"),
    (525, "ETOOSMALL"),
    (526, "ESERVERFAULT"),
    (527, "EBADTYPE"),
    (528, "EJUKEBOX"),
    (529, "EIOCBQUEUED"),
    (530, "ERECALLCONFLICT"),
];

/// The name of a positive errno value (`2` is `ENOENT`).
pub fn errno_name(errno: i64) -> Option<&'static str> {
    ERRNO
        .binary_search_by_key(&errno, |&(v, _)| v)
        .ok()
        .map(|i| ERRNO[i].1)
}

static SIGNALS: &[&str] = &[
    "",
    "SIGHUP",
    "SIGINT",
    "SIGQUIT",
    "SIGILL",
    "SIGTRAP",
    "SIGABRT",
    "SIGBUS",
    "SIGFPE",
    "SIGKILL",
    "SIGUSR1",
    "SIGSEGV",
    "SIGUSR2",
    "SIGPIPE",
    "SIGALRM",
    "SIGTERM",
    "SIGSTKFLT",
    "SIGCHLD",
    "SIGCONT",
    "SIGSTOP",
    "SIGTSTP",
    "SIGTTIN",
    "SIGTTOU",
    "SIGURG",
    "SIGXCPU",
    "SIGXFSZ",
    "SIGVTALRM",
    "SIGPROF",
    "SIGWINCH",
    "SIGIO",
    "SIGPWR",
    "SIGSYS",
];

/// The name of a signal number (`9` is `SIGKILL`).
pub fn signal_name(sig: i64) -> Option<&'static str> {
    usize::try_from(sig)
        .ok()
        .and_then(|i| SIGNALS.get(i))
        .copied()
        .filter(|name| !name.is_empty())
}

/// How a set is laid out: bits, or plain values, or an access mode in the
/// low two bits followed by bits (`open` flags).
enum Layout {
    Bits(&'static [(u64, &'static str)]),
    Values(&'static [(u64, &'static str)]),
    /// Low bits select one of the values, the rest are bits.
    Mode {
        mask: u64,
        values: &'static [(u64, &'static str)],
        bits: &'static [(u64, &'static str)],
    },
}

#[expect(clippy::too_many_lines, reason = "a table of every flag set")]
fn layout(set: FlagSet) -> Layout {
    match set {
        FlagSet::Open => Layout::Mode {
            mask: 0o3,
            values: &[(0, "O_RDONLY"), (1, "O_WRONLY"), (2, "O_RDWR")],
            bits: OPEN_BITS,
        },
        FlagSet::Access => Layout::Mode {
            mask: 0,
            values: &[(0, "F_OK")],
            bits: &[(4, "R_OK"), (2, "W_OK"), (1, "X_OK")],
        },
        FlagSet::At => Layout::Bits(&[
            (0x100, "AT_SYMLINK_NOFOLLOW"),
            (0x200, "AT_REMOVEDIR"),
            (0x400, "AT_SYMLINK_FOLLOW"),
            (0x800, "AT_NO_AUTOMOUNT"),
            (0x1000, "AT_EMPTY_PATH"),
            (0x8000, "AT_RECURSIVE"),
        ]),
        FlagSet::Clone => Layout::Bits(CLONE_BITS),
        FlagSet::Prot => Layout::Mode {
            mask: 0,
            values: &[(0, "PROT_NONE")],
            bits: &[
                (1, "PROT_READ"),
                (2, "PROT_WRITE"),
                (4, "PROT_EXEC"),
                (0x0100_0000, "PROT_GROWSDOWN"),
                (0x0200_0000, "PROT_GROWSUP"),
            ],
        },
        FlagSet::Mmap => Layout::Bits(&[
            (0x01, "MAP_SHARED"),
            (0x02, "MAP_PRIVATE"),
            (0x10, "MAP_FIXED"),
            (0x20, "MAP_ANONYMOUS"),
            (0x40, "MAP_32BIT"),
            (0x100, "MAP_GROWSDOWN"),
            (0x800, "MAP_DENYWRITE"),
            (0x1000, "MAP_EXECUTABLE"),
            (0x2000, "MAP_LOCKED"),
            (0x4000, "MAP_NORESERVE"),
            (0x8000, "MAP_POPULATE"),
            (0x10000, "MAP_NONBLOCK"),
            (0x20000, "MAP_STACK"),
            (0x40000, "MAP_HUGETLB"),
            (0x80000, "MAP_SYNC"),
            (0x0010_0000, "MAP_FIXED_NOREPLACE"),
        ]),
        FlagSet::Rename => Layout::Bits(&[
            (1, "RENAME_NOREPLACE"),
            (2, "RENAME_EXCHANGE"),
            (4, "RENAME_WHITEOUT"),
        ]),
        FlagSet::Family => Layout::Values(&[
            (0, "AF_UNSPEC"),
            (1, "AF_UNIX"),
            (2, "AF_INET"),
            (10, "AF_INET6"),
            (16, "AF_NETLINK"),
            (17, "AF_PACKET"),
            (38, "AF_ALG"),
            (40, "AF_VSOCK"),
            (44, "AF_XDP"),
        ]),
        FlagSet::SockType => Layout::Mode {
            mask: 0xf,
            values: &[
                (1, "SOCK_STREAM"),
                (2, "SOCK_DGRAM"),
                (3, "SOCK_RAW"),
                (4, "SOCK_RDM"),
                (5, "SOCK_SEQPACKET"),
                (6, "SOCK_DCCP"),
                (10, "SOCK_PACKET"),
            ],
            bits: &[(0o4000, "SOCK_NONBLOCK"), (0o2_000_000, "SOCK_CLOEXEC")],
        },
        FlagSet::Whence => Layout::Values(&[
            (0, "SEEK_SET"),
            (1, "SEEK_CUR"),
            (2, "SEEK_END"),
            (3, "SEEK_DATA"),
            (4, "SEEK_HOLE"),
        ]),
        FlagSet::Fcntl => Layout::Values(&[
            (0, "F_DUPFD"),
            (1, "F_GETFD"),
            (2, "F_SETFD"),
            (3, "F_GETFL"),
            (4, "F_SETFL"),
            (5, "F_GETLK"),
            (6, "F_SETLK"),
            (7, "F_SETLKW"),
            (8, "F_SETOWN"),
            (9, "F_GETOWN"),
            (10, "F_SETSIG"),
            (11, "F_GETSIG"),
            (1024, "F_SETLEASE"),
            (1025, "F_GETLEASE"),
            (1026, "F_NOTIFY"),
            (1030, "F_DUPFD_CLOEXEC"),
            (1031, "F_SETPIPE_SZ"),
            (1032, "F_GETPIPE_SZ"),
            (1033, "F_ADD_SEALS"),
            (1034, "F_GET_SEALS"),
        ]),
        FlagSet::Shutdown => Layout::Values(&[(0, "SHUT_RD"), (1, "SHUT_WR"), (2, "SHUT_RDWR")]),
        FlagSet::Ptrace => Layout::Values(&[
            (0, "PTRACE_TRACEME"),
            (1, "PTRACE_PEEKTEXT"),
            (2, "PTRACE_PEEKDATA"),
            (3, "PTRACE_PEEKUSR"),
            (4, "PTRACE_POKETEXT"),
            (5, "PTRACE_POKEDATA"),
            (6, "PTRACE_POKEUSR"),
            (7, "PTRACE_CONT"),
            (8, "PTRACE_KILL"),
            (9, "PTRACE_SINGLESTEP"),
            (12, "PTRACE_GETREGS"),
            (13, "PTRACE_SETREGS"),
            (14, "PTRACE_GETFPREGS"),
            (15, "PTRACE_SETFPREGS"),
            (16, "PTRACE_ATTACH"),
            (17, "PTRACE_DETACH"),
            (24, "PTRACE_SYSCALL"),
            (0x4200, "PTRACE_SETOPTIONS"),
            (0x4201, "PTRACE_GETEVENTMSG"),
            (0x4202, "PTRACE_GETSIGINFO"),
            (0x4203, "PTRACE_SETSIGINFO"),
            (0x4204, "PTRACE_GETREGSET"),
            (0x4205, "PTRACE_SETREGSET"),
            (0x4206, "PTRACE_SEIZE"),
            (0x4207, "PTRACE_INTERRUPT"),
            (0x4208, "PTRACE_LISTEN"),
        ]),
        FlagSet::Prctl => Layout::Values(&[
            (1, "PR_SET_PDEATHSIG"),
            (2, "PR_GET_PDEATHSIG"),
            (3, "PR_GET_DUMPABLE"),
            (4, "PR_SET_DUMPABLE"),
            (8, "PR_SET_KEEPCAPS"),
            (15, "PR_SET_NAME"),
            (16, "PR_GET_NAME"),
            (22, "PR_SET_SECCOMP"),
            (23, "PR_CAPBSET_READ"),
            (24, "PR_CAPBSET_DROP"),
            (36, "PR_SET_CHILD_SUBREAPER"),
            (37, "PR_GET_CHILD_SUBREAPER"),
            (38, "PR_SET_NO_NEW_PRIVS"),
            (39, "PR_GET_NO_NEW_PRIVS"),
            (47, "PR_CAP_AMBIENT"),
        ]),
        FlagSet::Mount => Layout::Bits(&[
            (1, "MS_RDONLY"),
            (2, "MS_NOSUID"),
            (4, "MS_NODEV"),
            (8, "MS_NOEXEC"),
            (16, "MS_SYNCHRONOUS"),
            (32, "MS_REMOUNT"),
            (64, "MS_MANDLOCK"),
            (128, "MS_DIRSYNC"),
            (1024, "MS_NOATIME"),
            (2048, "MS_NODIRATIME"),
            (4096, "MS_BIND"),
            (8192, "MS_MOVE"),
            (16384, "MS_REC"),
            (32768, "MS_SILENT"),
            (1 << 17, "MS_UNBINDABLE"),
            (1 << 18, "MS_PRIVATE"),
            (1 << 19, "MS_SLAVE"),
            (1 << 20, "MS_SHARED"),
            (1 << 21, "MS_RELATIME"),
            (1 << 24, "MS_STRICTATIME"),
            (1 << 25, "MS_LAZYTIME"),
        ]),
        FlagSet::Umount => Layout::Bits(&[
            (1, "MNT_FORCE"),
            (2, "MNT_DETACH"),
            (4, "MNT_EXPIRE"),
            (8, "UMOUNT_NOFOLLOW"),
        ]),
        FlagSet::BpfCmd => Layout::Values(&[
            (0, "BPF_MAP_CREATE"),
            (1, "BPF_MAP_LOOKUP_ELEM"),
            (2, "BPF_MAP_UPDATE_ELEM"),
            (3, "BPF_MAP_DELETE_ELEM"),
            (4, "BPF_MAP_GET_NEXT_KEY"),
            (5, "BPF_PROG_LOAD"),
            (6, "BPF_OBJ_PIN"),
            (7, "BPF_OBJ_GET"),
            (8, "BPF_PROG_ATTACH"),
            (9, "BPF_PROG_DETACH"),
            (10, "BPF_PROG_TEST_RUN"),
            (11, "BPF_PROG_GET_NEXT_ID"),
            (12, "BPF_MAP_GET_NEXT_ID"),
            (13, "BPF_PROG_GET_FD_BY_ID"),
            (14, "BPF_MAP_GET_FD_BY_ID"),
            (15, "BPF_OBJ_GET_INFO_BY_FD"),
            (16, "BPF_PROG_QUERY"),
            (17, "BPF_RAW_TRACEPOINT_OPEN"),
            (18, "BPF_BTF_LOAD"),
            (28, "BPF_LINK_CREATE"),
        ]),
        FlagSet::Memfd => Layout::Bits(&[
            (1, "MFD_CLOEXEC"),
            (2, "MFD_ALLOW_SEALING"),
            (4, "MFD_HUGETLB"),
            (8, "MFD_NOEXEC_SEAL"),
            (16, "MFD_EXEC"),
        ]),
        FlagSet::SockoptLevel => Layout::Values(&[
            (0, "SOL_IP"),
            (1, "SOL_SOCKET"),
            (6, "SOL_TCP"),
            (17, "SOL_UDP"),
            (41, "SOL_IPV6"),
        ]),
        FlagSet::Sockopt => Layout::Values(&[
            (1, "SO_DEBUG"),
            (2, "SO_REUSEADDR"),
            (3, "SO_TYPE"),
            (4, "SO_ERROR"),
            (5, "SO_DONTROUTE"),
            (6, "SO_BROADCAST"),
            (7, "SO_SNDBUF"),
            (8, "SO_RCVBUF"),
            (9, "SO_KEEPALIVE"),
            (10, "SO_OOBINLINE"),
            (13, "SO_LINGER"),
            (15, "SO_REUSEPORT"),
            (20, "SO_RCVTIMEO"),
            (21, "SO_SNDTIMEO"),
            (25, "SO_BINDTODEVICE"),
        ]),
        FlagSet::FdFlags => Layout::Bits(&[(0o4000, "O_NONBLOCK"), (0o2_000_000, "O_CLOEXEC")]),
        FlagSet::Resolve => Layout::Bits(&[
            (1, "RESOLVE_NO_XDEV"),
            (2, "RESOLVE_NO_MAGICLINKS"),
            (4, "RESOLVE_NO_SYMLINKS"),
            (8, "RESOLVE_BENEATH"),
            (16, "RESOLVE_IN_ROOT"),
            (32, "RESOLVE_CACHED"),
        ]),
    }
}

static OPEN_BITS: &[(u64, &str)] = &[
    (0o100, "O_CREAT"),
    (0o200, "O_EXCL"),
    (0o400, "O_NOCTTY"),
    (0o1000, "O_TRUNC"),
    (0o2000, "O_APPEND"),
    (0o4000, "O_NONBLOCK"),
    (0o10000, "O_DSYNC"),
    (0o20000, "O_ASYNC"),
    (0o40000, "O_DIRECT"),
    (0o100_000, "O_LARGEFILE"),
    (0o200_000, "O_DIRECTORY"),
    (0o400_000, "O_NOFOLLOW"),
    (0o1_000_000, "O_NOATIME"),
    (0o2_000_000, "O_CLOEXEC"),
    (0o4_000_000, "__O_SYNC"),
    (0o10_000_000, "O_PATH"),
    (0o20_000_000, "__O_TMPFILE"),
];

/// In the order sysdig lists them (its `clone_flags` table), so that
/// names print in the same order.
static CLONE_BITS: &[(u64, &str)] = &[
    (0x0000_0400, "CLONE_FILES"),
    (0x0000_0200, "CLONE_FS"),
    (0x8000_0000, "CLONE_IO"),
    (0x0800_0000, "CLONE_NEWIPC"),
    (0x4000_0000, "CLONE_NEWNET"),
    (0x0002_0000, "CLONE_NEWNS"),
    (0x2000_0000, "CLONE_NEWPID"),
    (0x0400_0000, "CLONE_NEWUTS"),
    (0x0000_8000, "CLONE_PARENT"),
    (0x0010_0000, "CLONE_PARENT_SETTID"),
    (0x0000_2000, "CLONE_PTRACE"),
    (0x0000_0800, "CLONE_SIGHAND"),
    (0x0004_0000, "CLONE_SYSVSEM"),
    (0x0001_0000, "CLONE_THREAD"),
    (0x0080_0000, "CLONE_UNTRACED"),
    (0x0000_0100, "CLONE_VM"),
    (0x1000_0000, "CLONE_NEWUSER"),
    (0x0020_0000, "CLONE_CHILD_CLEARTID"),
    (0x0100_0000, "CLONE_CHILD_SETTID"),
    (0x0008_0000, "CLONE_SETTLS"),
    (0x0000_4000, "CLONE_VFORK"),
    (0x0200_0000, "CLONE_NEWCGROUP"),
    (0x0000_1000, "CLONE_PIDFD"),
    (0x0040_0000, "CLONE_DETACHED"),
];

/// The name of one value of an enumeration (`SEEK_END`), if it has one.
pub fn value_name(set: FlagSet, value: u64) -> Option<&'static str> {
    let values = match layout(set) {
        Layout::Values(v) | Layout::Bits(v) => v,
        Layout::Mode { values, .. } => values,
    };
    values.iter().find(|&&(v, _)| v == value).map(|&(_, n)| n)
}

/// Shows a flag value as `O_WRONLY|O_CREAT|O_TRUNC`; bits without a name are
/// shown as a hexadecimal remainder, so nothing is hidden.
pub fn flag_names(set: FlagSet, value: u64) -> FlagNames {
    FlagNames { set, value }
}

/// Display adapter returned by [`flag_names`].
#[derive(Clone, Copy, Debug)]
pub struct FlagNames {
    set: FlagSet,
    value: u64,
}

impl fmt::Display for FlagNames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (mut rest, mut first) = (self.value, true);
        let mut sep = |f: &mut fmt::Formatter<'_>| {
            let s = if first { "" } else { "|" };
            first = false;
            f.write_str(s)
        };
        match layout(self.set) {
            Layout::Values(values) => {
                return match values.iter().find(|&&(v, _)| v == self.value) {
                    Some((_, name)) => f.write_str(name),
                    None => write!(f, "{}", self.value),
                };
            }
            Layout::Mode { mask, values, bits } => {
                // With no mask, the value names only the all-zero value (`F_OK`).
                let selector = if mask == 0 {
                    self.value
                } else {
                    self.value & mask
                };
                if let Some((_, name)) = values.iter().find(|&&(v, _)| v == selector) {
                    sep(f)?;
                    f.write_str(name)?;
                    rest &= !mask;
                }
                write_bits(f, bits, &mut rest, &mut sep)?;
            }
            Layout::Bits(bits) => write_bits(f, bits, &mut rest, &mut sep)?,
        }
        if rest != 0 {
            sep(f)?;
            write!(f, "{rest:#x}")?;
        } else if first {
            f.write_str("0")?;
        }
        Ok(())
    }
}

fn write_bits(
    f: &mut fmt::Formatter<'_>,
    bits: &[(u64, &str)],
    rest: &mut u64,
    sep: &mut impl FnMut(&mut fmt::Formatter<'_>) -> fmt::Result,
) -> fmt::Result {
    for &(bit, name) in bits {
        if bit != 0 && *rest & bit == bit {
            sep(f)?;
            f.write_str(name)?;
            *rest &= !bit;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_render_like_strace() {
        let cases: &[(FlagSet, u64, &str)] = &[
            (FlagSet::Open, 0, "O_RDONLY"),
            (FlagSet::Open, 0o2_000_000, "O_RDONLY|O_CLOEXEC"),
            (FlagSet::Open, 0o1101, "O_WRONLY|O_CREAT|O_TRUNC"),
            (FlagSet::Access, 0, "F_OK"),
            (FlagSet::Access, 6, "R_OK|W_OK"),
            (FlagSet::Whence, 2, "SEEK_END"),
            (FlagSet::Whence, 99, "99"),
            (FlagSet::Rename, 0, "0"),
            (FlagSet::Rename, 0x11, "RENAME_NOREPLACE|0x10"),
            (FlagSet::SockType, 0o2_000_001, "SOCK_STREAM|SOCK_CLOEXEC"),
            (FlagSet::Mmap, 0x22, "MAP_PRIVATE|MAP_ANONYMOUS"),
        ];
        for &(set, value, want) in cases {
            assert_eq!(
                flag_names(set, value).to_string(),
                want,
                "{set:?} {value:#o}"
            );
        }
    }

    #[test]
    fn errno_and_signal_names() {
        assert_eq!(errno_name(2), Some("ENOENT"));
        assert_eq!(errno_name(133), Some("EHWPOISON"));
        assert_eq!(errno_name(512), Some("ERESTARTSYS"));
        assert_eq!(errno_name(0), None);
        assert_eq!(errno_name(-2), None);
        assert_eq!(signal_name(9), Some("SIGKILL"));
        assert_eq!(signal_name(0), None);
        assert_eq!(signal_name(64), None);
    }
}
