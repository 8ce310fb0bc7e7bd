//! Typed definitions of the system calls syscap decodes, and of the kernel
//! and metadata events. Argument names follow sysdig's event table where
//! sysdig has the same argument, so `evt.arg.NAME` habits carry over.
//!
//! The eBPF program fills the arguments in exactly this order; the kernel
//! side's table (`capture-agent/bpf/syscap.h`) is checked against this one by
//! a test.

use super::EventType;
use super::table::ArgKind::{
    Argv, Data, DirFd, Enum, Fd, Flags, Gid, Hex, Int, Mode, Path, Pid, Signal, Size, SockAddr,
    SockTuple, Str, Uid,
};
use super::table::{ArgDef, ArgKind, Category, EventInfo, FlagSet, RetKind};

const fn a(name: &'static str, kind: ArgKind) -> ArgDef {
    ArgDef { name, kind }
}

const fn cat(groups: &[Category]) -> Category {
    let mut bits = 0;
    let mut i = 0;
    while i < groups.len() {
        bits |= groups[i].0;
        i += 1;
    }
    Category(bits)
}

const fn sys(
    nr: u16,
    name: &'static str,
    args: &'static [ArgDef],
    ret: RetKind,
    category: Category,
) -> EventInfo {
    EventInfo {
        ty: EventType(nr),
        name,
        args,
        ret_name: match ret {
            RetKind::Fd => "fd",
            _ => "res",
        },
        ret,
        category,
        typed: true,
    }
}

const fn event(ty: EventType, name: &'static str, args: &'static [ArgDef]) -> EventInfo {
    EventInfo {
        ty,
        name,
        args,
        ret_name: "res",
        ret: RetKind::None,
        category: Category::EVENT,
        typed: true,
    }
}

const RD: Category = Category::IO_READ;
const WR: Category = Category::IO_WRITE;
const OPEN: Category = Category::OPENS_FD;
const FILE: Category = Category::FILE;
const NET: Category = Category::NET;
const PROC: Category = Category::PROCESS;
const MEM: Category = Category::MEMORY;
const SEC: Category = Category::SECURITY;
const NORET: Category = Category::NO_RETURN;
const NONE: Category = Category(0);

use RetKind::{Addr, Fd as RFd, Pid as RPid, Size as RSize, Status};

const FD: ArgDef = a("fd", Fd);
const SIZE: ArgDef = a("size", Size);
const DATA: ArgDef = a("data", Data);
const TUPLE: ArgDef = a("tuple", SockTuple);
const DIRFD: ArgDef = a("dirfd", DirFd);

/// The decoded system calls, by x86-64 number.
pub(super) static TYPED_SYSCALLS: &[EventInfo] = &[
    sys(0, "read", &[FD, SIZE, DATA], RSize, RD),
    sys(1, "write", &[FD, SIZE, DATA], RSize, WR),
    sys(
        2,
        "open",
        &[
            a("name", Path),
            a("flags", Flags(FlagSet::Open)),
            a("mode", Mode),
        ],
        RFd,
        cat(&[OPEN, FILE]),
    ),
    sys(3, "close", &[FD], Status, NONE),
    sys(4, "stat", &[a("path", Path)], Status, FILE),
    sys(5, "fstat", &[FD], Status, FILE),
    sys(6, "lstat", &[a("path", Path)], Status, FILE),
    sys(
        8,
        "lseek",
        &[FD, a("offset", Int), a("whence", Enum(FlagSet::Whence))],
        Status,
        FILE,
    ),
    sys(
        9,
        "mmap",
        &[
            a("addr", Hex),
            a("length", Size),
            a("prot", Flags(FlagSet::Prot)),
            a("flags", Flags(FlagSet::Mmap)),
            FD,
            a("offset", Int),
        ],
        Addr,
        MEM,
    ),
    sys(
        10,
        "mprotect",
        &[
            a("addr", Hex),
            a("length", Size),
            a("prot", Flags(FlagSet::Prot)),
        ],
        Status,
        MEM,
    ),
    sys(
        11,
        "munmap",
        &[a("addr", Hex), a("length", Size)],
        Status,
        MEM,
    ),
    sys(12, "brk", &[a("addr", Hex)], Addr, MEM),
    sys(
        16,
        "ioctl",
        &[FD, a("request", Hex), a("argument", Hex)],
        Status,
        FILE,
    ),
    sys(17, "pread", &[FD, SIZE, DATA, a("pos", Int)], RSize, RD),
    sys(18, "pwrite", &[FD, SIZE, DATA, a("pos", Int)], RSize, WR),
    sys(19, "readv", &[FD, SIZE, DATA], RSize, RD),
    sys(20, "writev", &[FD, SIZE, DATA], RSize, WR),
    sys(
        21,
        "access",
        &[a("name", Path), a("mode", Flags(FlagSet::Access))],
        Status,
        FILE,
    ),
    sys(22, "pipe", &[a("fd1", Fd), a("fd2", Fd)], Status, OPEN),
    sys(32, "dup", &[a("oldfd", Fd)], RFd, OPEN),
    sys(33, "dup2", &[a("oldfd", Fd), a("newfd", Fd)], RFd, OPEN),
    sys(
        40,
        "sendfile",
        &[a("out_fd", Fd), a("in_fd", Fd), a("offset", Int), SIZE],
        RSize,
        cat(&[RD, WR]),
    ),
    sys(
        41,
        "socket",
        &[
            a("domain", Enum(FlagSet::Family)),
            a("type", Flags(FlagSet::SockType)),
            a("proto", Int),
        ],
        RFd,
        cat(&[OPEN, NET]),
    ),
    sys(
        42,
        "connect",
        &[FD, a("addr", SockAddr), TUPLE],
        Status,
        NET,
    ),
    sys(
        43,
        "accept",
        &[a("sockfd", Fd), TUPLE],
        RFd,
        cat(&[OPEN, NET]),
    ),
    sys(
        44,
        "sendto",
        &[FD, SIZE, DATA, TUPLE],
        RSize,
        cat(&[WR, NET]),
    ),
    sys(
        45,
        "recvfrom",
        &[FD, SIZE, DATA, TUPLE],
        RSize,
        cat(&[RD, NET]),
    ),
    sys(
        46,
        "sendmsg",
        &[FD, SIZE, DATA, TUPLE],
        RSize,
        cat(&[WR, NET]),
    ),
    sys(
        47,
        "recvmsg",
        &[FD, SIZE, DATA, TUPLE],
        RSize,
        cat(&[RD, NET]),
    ),
    sys(
        48,
        "shutdown",
        &[FD, a("how", Enum(FlagSet::Shutdown))],
        Status,
        NET,
    ),
    sys(49, "bind", &[FD, a("addr", SockAddr)], Status, NET),
    sys(50, "listen", &[FD, a("backlog", Int)], Status, NET),
    sys(
        53,
        "socketpair",
        &[
            a("domain", Enum(FlagSet::Family)),
            a("type", Flags(FlagSet::SockType)),
            a("proto", Int),
            a("fd1", Fd),
            a("fd2", Fd),
        ],
        Status,
        cat(&[OPEN, NET]),
    ),
    sys(
        54,
        "setsockopt",
        &[
            FD,
            a("level", Enum(FlagSet::SockoptLevel)),
            a("optname", Enum(FlagSet::Sockopt)),
            a("val", Int),
            a("optlen", Size),
        ],
        Status,
        NET,
    ),
    sys(
        56,
        "clone",
        &[a("flags", Flags(FlagSet::Clone))],
        RPid,
        PROC,
    ),
    sys(57, "fork", &[], RPid, PROC),
    sys(58, "vfork", &[], RPid, PROC),
    sys(
        59,
        "execve",
        &[a("filename", Path), a("args", Argv)],
        Status,
        PROC,
    ),
    sys(60, "exit", &[a("status", Int)], Status, cat(&[PROC, NORET])),
    sys(62, "kill", &[a("pid", Pid), a("sig", Signal)], Status, PROC),
    sys(
        72,
        "fcntl",
        &[FD, a("cmd", Enum(FlagSet::Fcntl)), a("arg", Int)],
        Status,
        FILE,
    ),
    sys(
        76,
        "truncate",
        &[a("path", Path), a("length", Size)],
        Status,
        FILE,
    ),
    sys(77, "ftruncate", &[FD, a("length", Size)], Status, FILE),
    sys(80, "chdir", &[a("path", Path)], Status, FILE),
    sys(81, "fchdir", &[FD], Status, FILE),
    sys(
        82,
        "rename",
        &[a("oldpath", Path), a("newpath", Path)],
        Status,
        FILE,
    ),
    sys(
        83,
        "mkdir",
        &[a("path", Path), a("mode", Mode)],
        Status,
        FILE,
    ),
    sys(84, "rmdir", &[a("path", Path)], Status, FILE),
    sys(
        85,
        "creat",
        &[a("name", Path), a("mode", Mode)],
        RFd,
        cat(&[OPEN, FILE]),
    ),
    sys(
        86,
        "link",
        &[a("oldpath", Path), a("newpath", Path)],
        Status,
        FILE,
    ),
    sys(87, "unlink", &[a("path", Path)], Status, FILE),
    sys(
        88,
        "symlink",
        &[a("target", Path), a("linkpath", Path)],
        Status,
        FILE,
    ),
    sys(
        90,
        "chmod",
        &[a("filename", Path), a("mode", Mode)],
        Status,
        FILE,
    ),
    sys(91, "fchmod", &[FD, a("mode", Mode)], Status, FILE),
    sys(
        92,
        "chown",
        &[a("path", Path), a("uid", Uid), a("gid", Gid)],
        Status,
        FILE,
    ),
    sys(
        93,
        "fchown",
        &[FD, a("uid", Uid), a("gid", Gid)],
        Status,
        FILE,
    ),
    sys(
        94,
        "lchown",
        &[a("path", Path), a("uid", Uid), a("gid", Gid)],
        Status,
        FILE,
    ),
    sys(
        101,
        "ptrace",
        &[
            a("request", Enum(FlagSet::Ptrace)),
            a("pid", Pid),
            a("addr", Hex),
            a("data", Hex),
        ],
        Status,
        SEC,
    ),
    sys(105, "setuid", &[a("uid", Uid)], Status, SEC),
    sys(106, "setgid", &[a("gid", Gid)], Status, SEC),
    sys(
        117,
        "setresuid",
        &[a("ruid", Uid), a("euid", Uid), a("suid", Uid)],
        Status,
        SEC,
    ),
    sys(
        119,
        "setresgid",
        &[a("rgid", Gid), a("egid", Gid), a("sgid", Gid)],
        Status,
        SEC,
    ),
    sys(
        126,
        "capset",
        &[
            a("cap_effective", Hex),
            a("cap_permitted", Hex),
            a("cap_inheritable", Hex),
        ],
        Status,
        SEC,
    ),
    sys(
        157,
        "prctl",
        &[
            a("option", Enum(FlagSet::Prctl)),
            a("arg2_str", Str),
            a("arg2_int", Int),
        ],
        Status,
        PROC,
    ),
    sys(161, "chroot", &[a("path", Path)], Status, cat(&[FILE, SEC])),
    sys(
        165,
        "mount",
        &[
            a("dev", Path),
            a("dir", Path),
            a("type", Str),
            a("flags", Flags(FlagSet::Mount)),
        ],
        Status,
        cat(&[FILE, SEC]),
    ),
    sys(
        166,
        "umount2",
        &[a("name", Path), a("flags", Flags(FlagSet::Umount))],
        Status,
        cat(&[FILE, SEC]),
    ),
    sys(
        175,
        "init_module",
        &[a("length", Size), a("uargs", Str)],
        Status,
        SEC,
    ),
    sys(
        176,
        "delete_module",
        &[a("name", Str), a("flags", Int)],
        Status,
        SEC,
    ),
    sys(
        200,
        "tkill",
        &[a("tid", Pid), a("sig", Signal)],
        Status,
        PROC,
    ),
    sys(
        231,
        "exit_group",
        &[a("status", Int)],
        Status,
        cat(&[PROC, NORET]),
    ),
    sys(
        234,
        "tgkill",
        &[a("pid", Pid), a("tid", Pid), a("sig", Signal)],
        Status,
        PROC,
    ),
    sys(
        257,
        "openat",
        &[
            DIRFD,
            a("name", Path),
            a("flags", Flags(FlagSet::Open)),
            a("mode", Mode),
        ],
        RFd,
        cat(&[OPEN, FILE]),
    ),
    sys(
        258,
        "mkdirat",
        &[DIRFD, a("path", Path), a("mode", Mode)],
        Status,
        FILE,
    ),
    sys(
        260,
        "fchownat",
        &[
            DIRFD,
            a("pathname", Path),
            a("uid", Uid),
            a("gid", Gid),
            a("flags", Flags(FlagSet::At)),
        ],
        Status,
        FILE,
    ),
    sys(
        262,
        "newfstatat",
        &[DIRFD, a("path", Path), a("flags", Flags(FlagSet::At))],
        Status,
        FILE,
    ),
    sys(
        263,
        "unlinkat",
        &[DIRFD, a("name", Path), a("flags", Flags(FlagSet::At))],
        Status,
        FILE,
    ),
    sys(
        264,
        "renameat",
        &[
            a("olddirfd", DirFd),
            a("oldpath", Path),
            a("newdirfd", DirFd),
            a("newpath", Path),
        ],
        Status,
        FILE,
    ),
    sys(
        265,
        "linkat",
        &[
            a("olddir", DirFd),
            a("oldpath", Path),
            a("newdir", DirFd),
            a("newpath", Path),
            a("flags", Flags(FlagSet::At)),
        ],
        Status,
        FILE,
    ),
    sys(
        266,
        "symlinkat",
        &[
            a("target", Path),
            a("linkdirfd", DirFd),
            a("linkpath", Path),
        ],
        Status,
        FILE,
    ),
    sys(
        268,
        "fchmodat",
        &[DIRFD, a("filename", Path), a("mode", Mode)],
        Status,
        FILE,
    ),
    sys(
        269,
        "faccessat",
        &[
            DIRFD,
            a("pathname", Path),
            a("mode", Flags(FlagSet::Access)),
        ],
        Status,
        FILE,
    ),
    sys(
        272,
        "unshare",
        &[a("flags", Flags(FlagSet::Clone))],
        Status,
        SEC,
    ),
    sys(
        288,
        "accept4",
        &[a("sockfd", Fd), TUPLE, a("flags", Flags(FlagSet::FdFlags))],
        RFd,
        cat(&[OPEN, NET]),
    ),
    sys(
        292,
        "dup3",
        &[
            a("oldfd", Fd),
            a("newfd", Fd),
            a("flags", Flags(FlagSet::FdFlags)),
        ],
        RFd,
        OPEN,
    ),
    sys(
        293,
        "pipe2",
        &[
            a("fd1", Fd),
            a("fd2", Fd),
            a("flags", Flags(FlagSet::FdFlags)),
        ],
        Status,
        OPEN,
    ),
    sys(
        308,
        "setns",
        &[FD, a("nstype", Flags(FlagSet::Clone))],
        Status,
        SEC,
    ),
    sys(
        313,
        "finit_module",
        &[FD, a("uargs", Str), a("flags", Int)],
        Status,
        SEC,
    ),
    sys(
        316,
        "renameat2",
        &[
            a("olddirfd", DirFd),
            a("oldpath", Path),
            a("newdirfd", DirFd),
            a("newpath", Path),
            a("flags", Flags(FlagSet::Rename)),
        ],
        Status,
        FILE,
    ),
    sys(
        319,
        "memfd_create",
        &[a("name", Str), a("flags", Flags(FlagSet::Memfd))],
        RFd,
        cat(&[OPEN, MEM]),
    ),
    sys(
        321,
        "bpf",
        &[a("cmd", Enum(FlagSet::BpfCmd)), a("size", Size)],
        Status,
        SEC,
    ),
    sys(
        322,
        "execveat",
        &[
            DIRFD,
            a("pathname", Path),
            a("args", Argv),
            a("flags", Flags(FlagSet::At)),
        ],
        Status,
        PROC,
    ),
    sys(
        332,
        "statx",
        &[DIRFD, a("pathname", Path), a("flags", Flags(FlagSet::At))],
        Status,
        FILE,
    ),
    sys(
        435,
        "clone3",
        &[a("flags", Flags(FlagSet::Clone))],
        RPid,
        PROC,
    ),
    sys(
        437,
        "openat2",
        &[
            DIRFD,
            a("name", Path),
            a("flags", Flags(FlagSet::Open)),
            a("mode", Mode),
            a("resolve", Flags(FlagSet::Resolve)),
        ],
        RFd,
        cat(&[OPEN, FILE]),
    ),
    sys(
        439,
        "faccessat2",
        &[
            DIRFD,
            a("pathname", Path),
            a("mode", Flags(FlagSet::Access)),
            a("flags", Flags(FlagSet::At)),
        ],
        Status,
        FILE,
    ),
];

/// Kernel and metadata events.
pub(super) static KERNEL_EVENTS: &[EventInfo] = &[
    event(
        EventType::PROC_EXEC,
        "procexec",
        &[a("filename", Path), a("old_tid", Pid)],
    ),
    event(
        EventType::PROC_FORK,
        "procfork",
        &[
            a("child_tid", Pid),
            a("child_pid", Pid),
            a("flags", Flags(FlagSet::Clone)),
        ],
    ),
    event(
        EventType::PROC_EXIT,
        "procexit",
        &[
            a("status", Int),
            a("ret", Int),
            a("sig", Signal),
            a("core", Int),
        ],
    ),
    event(
        EventType::DROP,
        "drop",
        &[a("count", Size), a("reason", Str)],
    ),
    event(
        EventType::TRIGGER,
        "trigger",
        &[a("rule", Str), a("reason", Str)],
    ),
    event(
        EventType::SIGNAL_DELIVER,
        "signaldeliver",
        &[a("spid", Pid), a("dpid", Pid), a("sig", Signal)],
    ),
    event(
        EventType::CONTAINER,
        "container",
        &[
            a("id", Str),
            a("type", Int),
            a("name", Str),
            a("image", Str),
            a("full_id", Str),
            a("image_repo", Str),
            a("image_tag", Str),
            a("image_digest", Str),
            a("privileged", Int),
            a("labels", Argv),
        ],
    ),
    event(
        EventType::PROC_INFO,
        "procinfo",
        &[a("cpu_usr", Int), a("cpu_sys", Int)],
    ),
    event(EventType::OTHER, "other", &[a("name", Str), a("info", Str)]),
    event(
        EventType::SWITCH,
        "switch",
        &[
            a("next", Pid),
            a("pgft_maj", Int),
            a("pgft_min", Int),
            a("vm_size", Int),
            a("vm_rss", Int),
            a("vm_swap", Int),
        ],
    ),
    event(
        EventType::THREAD_INFO,
        "threadinfo",
        &[
            a("ppid", Pid),
            a("comm", Str),
            a("exe", Str),
            a("exepath", Path),
            a("args", Argv),
            a("cwd", Path),
            a("uid", Uid),
            a("gid", Gid),
            a("loginuid", Uid),
            a("fdlimit", Int),
            a("vm_size", Size),
            a("vm_rss", Size),
            a("container_id", Str),
            a("pod_uid", Str),
            a("sid", Pid),
            a("vpgid", Pid),
            a("tty", Int),
        ],
    ),
];
