//! How to read each system call on x86-64, and how to turn what the kernel
//! side wrote back into a [`Record`] of the capture format.
//!
//! One table ([`SPECS`]) says, for every decoded system call, which user
//! memory the kernel side copies (its recipe: up to three blobs) and where
//! each argument of the capture format's event table comes from (a
//! register, the return value, a blob). The kernel side's recipes are
//! derived from it, and a test checks it against the event table.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};

use capture_format::event::{Arg, EventType, RecordFlags, SockAddr, SockTuple, nr};

use super::abi::{self, RawEvent, Recipe, RecipeBlob, blob};

/// Where one argument of a record comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Src {
    /// A register, all 64 bits (sizes, flags words, addresses, offsets).
    Reg(u8),
    /// A register's low 32 bits, sign-extended (`int` arguments: fds, pids,
    /// ids, modes, `int` flags).
    Int(u8),
    /// The return value.
    Ret,
    /// A blob, as text, data or a socket address according to its kind.
    Blob(u8),
    /// A connection tuple from the socket blob, completed with the peer
    /// address blob when the socket itself has no peer (unconnected UDP).
    Tuple(u8, Option<u8>),
    /// A little-endian `i32` at a byte offset of a RAW blob.
    RawI32(u8, u8),
    /// A `u64` at a byte offset of a RAW blob.
    RawU64(u8, u8),
    /// A 64-bit capability set from the two `__user_cap_data_struct`s of a
    /// RAW blob: 0 effective, 1 permitted, 2 inheritable.
    Caps(u8, u8),
}

/// How one system call is read.
#[derive(Debug)]
pub struct Spec {
    /// Syscall number.
    pub nr: u16,
    /// Blobs the kernel side copies: `(kind, register, aux)`.
    pub blobs: &'static [(u8, u8, u16)],
    /// Sources of the event table's arguments, in its order.
    pub args: &'static [Src],
}

use Src::{Blob, Int, Reg, Ret};

const fn s(nr: u16, blobs: &'static [(u8, u8, u16)], args: &'static [Src]) -> Spec {
    Spec { nr, blobs, args }
}

const STR0: (u8, u8, u16) = (blob::STR, 0, 0);
const STR1: (u8, u8, u16) = (blob::STR, 1, 0);
const DATA1: (u8, u8, u16) = (blob::DATA, 1, 0);
const TUPLE0: (u8, u8, u16) = (blob::TUPLE, 0, 0);
/// The socket's ends only when the address argument (register 4) is set:
/// datagrams to or from an explicit peer. Connected sockets' ends come from
/// their connect or accept, or from the `/proc` snapshot.
const TUPLE0_IF_ADDR4: (u8, u8, u16) = (blob::TUPLE, 0, 1 + 4);

/// Every decoded system call.
pub static SPECS: &[Spec] = &[
    s(nr::READ, &[DATA1], &[Int(0), Reg(2), Blob(0)]),
    s(nr::WRITE, &[DATA1], &[Int(0), Reg(2), Blob(0)]),
    s(nr::OPEN, &[STR0], &[Blob(0), Int(1), Int(2)]),
    s(nr::CLOSE, &[], &[Int(0)]),
    s(nr::STAT, &[STR0], &[Blob(0)]),
    s(nr::FSTAT, &[], &[Int(0)]),
    s(nr::LSTAT, &[STR0], &[Blob(0)]),
    s(nr::LSEEK, &[], &[Int(0), Reg(1), Int(2)]),
    s(
        nr::MMAP,
        &[],
        &[Reg(0), Reg(1), Reg(2), Reg(3), Int(4), Reg(5)],
    ),
    s(nr::MPROTECT, &[], &[Reg(0), Reg(1), Reg(2)]),
    s(nr::MUNMAP, &[], &[Reg(0), Reg(1)]),
    s(nr::BRK, &[], &[Reg(0)]),
    s(nr::IOCTL, &[], &[Int(0), Reg(1), Reg(2)]),
    s(nr::PREAD64, &[DATA1], &[Int(0), Reg(2), Blob(0), Reg(3)]),
    s(nr::PWRITE64, &[DATA1], &[Int(0), Reg(2), Blob(0), Reg(3)]),
    s(nr::READV, &[(blob::IOVEC, 1, 2)], &[Int(0), Ret, Blob(0)]),
    s(nr::WRITEV, &[(blob::IOVEC, 1, 2)], &[Int(0), Ret, Blob(0)]),
    s(nr::ACCESS, &[STR0], &[Blob(0), Int(1)]),
    s(
        nr::PIPE,
        &[(blob::RAW, 0, 8)],
        &[Src::RawI32(0, 0), Src::RawI32(0, 4)],
    ),
    s(nr::DUP, &[], &[Int(0)]),
    s(nr::DUP2, &[], &[Int(0), Int(1)]),
    s(
        nr::SENDFILE,
        &[(blob::RAW, 2, 8)],
        &[Int(0), Int(1), Src::RawU64(0, 0), Reg(3)],
    ),
    s(nr::SOCKET, &[], &[Int(0), Int(1), Int(2)]),
    s(
        nr::CONNECT,
        &[(blob::SOCKADDR, 1, 2), TUPLE0],
        &[Int(0), Blob(0), Src::Tuple(1, Some(0))],
    ),
    s(
        nr::ACCEPT,
        &[(blob::TUPLE_RET, 0, 0), (blob::SOCKADDR_P, 1, 2)],
        &[Int(0), Src::Tuple(0, Some(1))],
    ),
    s(
        nr::SENDTO,
        &[DATA1, TUPLE0_IF_ADDR4, (blob::SOCKADDR, 4, 5)],
        &[Int(0), Reg(2), Blob(0), Src::Tuple(1, Some(2))],
    ),
    s(
        nr::RECVFROM,
        &[DATA1, TUPLE0_IF_ADDR4, (blob::SOCKADDR_P, 4, 5)],
        &[Int(0), Reg(2), Blob(0), Src::Tuple(1, Some(2))],
    ),
    s(
        nr::SENDMSG,
        &[(blob::MSGHDR, 1, 0), TUPLE0, (blob::MSG_NAME, 1, 0)],
        &[Int(0), Ret, Blob(0), Src::Tuple(1, Some(2))],
    ),
    s(
        nr::RECVMSG,
        &[(blob::MSGHDR, 1, 0), TUPLE0, (blob::MSG_NAME, 1, 0)],
        &[Int(0), Ret, Blob(0), Src::Tuple(1, Some(2))],
    ),
    s(nr::SHUTDOWN, &[], &[Int(0), Int(1)]),
    s(nr::BIND, &[(blob::SOCKADDR, 1, 2)], &[Int(0), Blob(0)]),
    s(nr::LISTEN, &[], &[Int(0), Int(1)]),
    s(
        nr::SOCKETPAIR,
        &[(blob::RAW, 3, 8)],
        &[Int(0), Int(1), Int(2), Src::RawI32(0, 0), Src::RawI32(0, 4)],
    ),
    s(
        nr::SETSOCKOPT,
        &[(blob::RAW, 3, 4)],
        &[Int(0), Int(1), Int(2), Src::RawI32(0, 0), Int(4)],
    ),
    s(nr::CLONE, &[], &[Reg(0)]),
    s(nr::FORK, &[], &[]),
    s(nr::VFORK, &[], &[]),
    s(nr::EXECVE, &[STR0, (blob::ARGV, 1, 0)], &[Blob(0), Blob(1)]),
    s(nr::EXIT, &[], &[Int(0)]),
    s(nr::KILL, &[], &[Int(0), Int(1)]),
    s(nr::FCNTL, &[], &[Int(0), Int(1), Reg(2)]),
    s(nr::TRUNCATE, &[STR0], &[Blob(0), Reg(1)]),
    s(nr::FTRUNCATE, &[], &[Int(0), Reg(1)]),
    s(nr::CHDIR, &[STR0], &[Blob(0)]),
    s(nr::FCHDIR, &[], &[Int(0)]),
    s(nr::RENAME, &[STR0, STR1], &[Blob(0), Blob(1)]),
    s(nr::MKDIR, &[STR0], &[Blob(0), Int(1)]),
    s(nr::RMDIR, &[STR0], &[Blob(0)]),
    s(nr::CREAT, &[STR0], &[Blob(0), Int(1)]),
    s(nr::LINK, &[STR0, STR1], &[Blob(0), Blob(1)]),
    s(nr::UNLINK, &[STR0], &[Blob(0)]),
    s(nr::SYMLINK, &[STR0, STR1], &[Blob(0), Blob(1)]),
    s(nr::CHMOD, &[STR0], &[Blob(0), Int(1)]),
    s(nr::FCHMOD, &[], &[Int(0), Int(1)]),
    s(nr::CHOWN, &[STR0], &[Blob(0), Int(1), Int(2)]),
    s(nr::FCHOWN, &[], &[Int(0), Int(1), Int(2)]),
    s(nr::LCHOWN, &[STR0], &[Blob(0), Int(1), Int(2)]),
    s(nr::PTRACE, &[], &[Reg(0), Int(1), Reg(2), Reg(3)]),
    s(nr::SETUID, &[], &[Int(0)]),
    s(nr::SETGID, &[], &[Int(0)]),
    s(nr::SETRESUID, &[], &[Int(0), Int(1), Int(2)]),
    s(nr::SETRESGID, &[], &[Int(0), Int(1), Int(2)]),
    s(
        nr::CAPSET,
        &[(blob::RAW, 1, 24)],
        &[Src::Caps(0, 0), Src::Caps(0, 1), Src::Caps(0, 2)],
    ),
    s(
        nr::PRCTL,
        &[(blob::PRCTL_NAME, 1, 0)],
        &[Int(0), Blob(0), Reg(1)],
    ),
    s(nr::CHROOT, &[STR0], &[Blob(0)]),
    s(
        nr::MOUNT,
        &[STR0, STR1, (blob::STR, 2, 0)],
        &[Blob(0), Blob(1), Blob(2), Reg(3)],
    ),
    s(nr::UMOUNT2, &[STR0], &[Blob(0), Int(1)]),
    s(nr::INIT_MODULE, &[(blob::STR, 2, 0)], &[Reg(1), Blob(0)]),
    s(nr::DELETE_MODULE, &[STR0], &[Blob(0), Int(1)]),
    s(nr::TKILL, &[], &[Int(0), Int(1)]),
    s(nr::EXIT_GROUP, &[], &[Int(0)]),
    s(nr::TGKILL, &[], &[Int(0), Int(1), Int(2)]),
    s(nr::OPENAT, &[STR1], &[Int(0), Blob(0), Int(2), Int(3)]),
    s(nr::MKDIRAT, &[STR1], &[Int(0), Blob(0), Int(2)]),
    s(
        nr::FCHOWNAT,
        &[STR1],
        &[Int(0), Blob(0), Int(2), Int(3), Int(4)],
    ),
    s(nr::NEWFSTATAT, &[STR1], &[Int(0), Blob(0), Int(3)]),
    s(nr::UNLINKAT, &[STR1], &[Int(0), Blob(0), Int(2)]),
    s(
        nr::RENAMEAT,
        &[STR1, (blob::STR, 3, 0)],
        &[Int(0), Blob(0), Int(2), Blob(1)],
    ),
    s(
        nr::LINKAT,
        &[STR1, (blob::STR, 3, 0)],
        &[Int(0), Blob(0), Int(2), Blob(1), Int(4)],
    ),
    s(
        nr::SYMLINKAT,
        &[STR0, (blob::STR, 2, 0)],
        &[Blob(0), Int(1), Blob(1)],
    ),
    s(nr::FCHMODAT, &[STR1], &[Int(0), Blob(0), Int(2)]),
    s(nr::FACCESSAT, &[STR1], &[Int(0), Blob(0), Int(2)]),
    s(nr::UNSHARE, &[], &[Reg(0)]),
    s(
        nr::ACCEPT4,
        &[(blob::TUPLE_RET, 0, 0), (blob::SOCKADDR_P, 1, 2)],
        &[Int(0), Src::Tuple(0, Some(1)), Int(3)],
    ),
    s(nr::DUP3, &[], &[Int(0), Int(1), Int(2)]),
    s(
        nr::PIPE2,
        &[(blob::RAW, 0, 8)],
        &[Src::RawI32(0, 0), Src::RawI32(0, 4), Int(1)],
    ),
    s(nr::SETNS, &[], &[Int(0), Int(1)]),
    s(nr::FINIT_MODULE, &[STR1], &[Int(0), Blob(0), Int(2)]),
    s(
        nr::RENAMEAT2,
        &[STR1, (blob::STR, 3, 0)],
        &[Int(0), Blob(0), Int(2), Blob(1), Int(4)],
    ),
    s(nr::MEMFD_CREATE, &[STR0], &[Blob(0), Int(1)]),
    s(nr::BPF, &[], &[Int(0), Int(2)]),
    s(
        nr::EXECVEAT,
        &[STR1, (blob::ARGV, 2, 0)],
        &[Int(0), Blob(0), Blob(1), Int(4)],
    ),
    s(nr::STATX, &[STR1], &[Int(0), Blob(0), Int(2)]),
    s(nr::CLONE3, &[(blob::RAW, 0, 8)], &[Src::RawU64(0, 0)]),
    s(
        nr::OPENAT2,
        &[STR1, (blob::RAW, 2, 24)],
        &[
            Int(0),
            Blob(0),
            Src::RawU64(1, 0),
            Src::RawU64(1, 8),
            Src::RawU64(1, 16),
        ],
    ),
    s(nr::FACCESSAT2, &[STR1], &[Int(0), Blob(0), Int(2), Int(3)]),
];

/// System calls that never return: recorded at entry.
const NO_RETURN: &[u16] = &[nr::EXIT, nr::EXIT_GROUP];

/// The spec of every syscall number, `None` for the generically recorded.
fn spec_table() -> Vec<Option<&'static Spec>> {
    let mut table = vec![None; abi::MAX_SYSCALLS];
    for spec in SPECS {
        table[usize::from(spec.nr)] = Some(spec);
    }
    table
}

/// The recipe map's contents: every syscall enabled unless `only` restricts
/// them.
pub fn recipes(only: Option<&[u16]>) -> Vec<Recipe> {
    let table = spec_table();
    (0..=u16::MAX)
        .zip(&table)
        .map(|(number, spec)| {
            let mut recipe = Recipe {
                enabled: u8::from(only.is_none_or(|set| set.contains(&number))),
                flags: if NO_RETURN.contains(&number) {
                    abi::FLAG_NO_RETURN
                } else {
                    0
                },
                ..Recipe::default()
            };
            if let Some(spec) = spec {
                for (slot, &(kind, reg, aux)) in recipe.blob.iter_mut().zip(spec.blobs) {
                    *slot = RecipeBlob { kind, reg, aux };
                }
            }
            recipe
        })
        .collect()
}

/// Turns ring records into capture-format records.
#[derive(Debug)]
pub struct Decoder {
    specs: Vec<Option<&'static Spec>>,
    /// Added to `CLOCK_BOOTTIME` to get ns since the epoch.
    boot_to_epoch: u64,
}

/// Arguments a record can have (the event table's longest entry is 6).
const MAX_RECORD_ARGS: usize = 8;

impl Decoder {
    /// A decoder whose timestamps are `CLOCK_BOOTTIME + boot_to_epoch`.
    pub fn new(boot_to_epoch: u64) -> Self {
        Self {
            specs: spec_table(),
            boot_to_epoch,
        }
    }

    /// Converts a kernel timestamp to ns since the epoch.
    pub fn epoch_ns(&self, boot_ns: u64) -> u64 {
        boot_ns.saturating_add(self.boot_to_epoch)
    }

    /// Calls `f` with the record `raw` decodes to; allocates nothing.
    pub fn with_record<T>(&self, raw: &RawEvent<'_>, f: impl FnOnce(&Record<'_>) -> T) -> T {
        let h = &raw.head;
        let mut args = [Arg::Absent; MAX_RECORD_ARGS];
        let mut unix_name = [0u8; 112];
        let ty = EventType(h.ty);
        let n = match h.ty {
            abi::EV_PROC_EXEC => {
                args[0] = str_blob(raw, 0);
                args[1] = Arg::Int(reg32(h.args[0]));
                2
            }
            abi::EV_PROC_FORK => {
                args[0] = Arg::Int(reg32(h.args[0]));
                args[1] = Arg::Int(reg32(h.args[1]));
                args[2] = Arg::Int(reg_i64(h.args[2]));
                3
            }
            abi::EV_PROC_EXIT => {
                for (a, &v) in args.iter_mut().zip(&h.args[..4]) {
                    *a = Arg::Int(reg32(v));
                }
                4
            }
            number => {
                if let Some(spec) = self.specs.get(usize::from(number)).copied().flatten() {
                    for (a, src) in args.iter_mut().zip(spec.args) {
                        *a = resolve(*src, raw, &mut unix_name);
                    }
                    spec.args.len()
                } else {
                    // Recorded generically: the raw registers.
                    let count = ty.info().args.len().min(6);
                    for (a, &v) in args.iter_mut().zip(&h.args[..count]) {
                        *a = Arg::Int(reg_i64(v));
                    }
                    count
                }
            }
        };
        // An abstract unix name was built in `unix_name`; point at it.
        let name = &unix_name[1..=usize::from(unix_name[0])];
        for a in &mut args[..n] {
            match a {
                Arg::SockAddr(SockAddr::Unix(path))
                | Arg::SockTuple(SockTuple::Unix { path, .. })
                    if *path == ABSTRACT_MARK =>
                {
                    *path = name;
                }
                _ => {}
            }
        }
        let args = &args[..n];
        let no_return = h.flags & abi::FLAG_NO_RETURN != 0;
        let record = Record {
            ty,
            flags: if no_return {
                RecordFlags::NO_RETURN
            } else if h.flags & abi::FLAG_NO_ENTRY != 0 {
                RecordFlags::NO_LATENCY
            } else {
                RecordFlags::default()
            },
            ts: self.epoch_ns(h.ts),
            latency: if no_return { 0 } else { h.latency },
            cpu: h.cpu,
            tid: i64::from(h.tid),
            pid: i64::from(h.pid),
            ret: if no_return { 0 } else { h.ret },
            args,
        };
        f(&record)
    }
}

use capture_format::event::Record;

/// Abstract unix socket names are shown with a leading `@`: they are built
/// in a buffer on the decoder's stack, and marked by this placeholder until
/// the record's arguments can point at it.
const ABSTRACT_MARK: &[u8] = b"\0@abstract";

fn reg32(v: u64) -> i64 {
    #[expect(
        clippy::cast_possible_truncation,
        reason = "an int argument lives in the low 32 bits of its register"
    )]
    let low = v as u32;
    i64::from(low.cast_signed())
}

fn reg_i64(v: u64) -> i64 {
    v.cast_signed()
}

fn str_blob<'a>(raw: &RawEvent<'a>, slot: u8) -> Arg<'a> {
    raw.blob(slot).map_or(Arg::Absent, |b| Arg::Str(b.data))
}

#[expect(
    clippy::inline_always,
    reason = "measured: called, the 64-byte Arg comes back through a temporary \
              that is copied again; inlined, the agent spends 142 instead of \
              162 ns per event"
)]
#[inline(always)]
fn resolve<'a>(src: Src, raw: &RawEvent<'a>, unix_name: &mut [u8; 112]) -> Arg<'a> {
    let h = &raw.head;
    match src {
        Src::Reg(r) => Arg::Int(reg_i64(h.args[usize::from(r)])),
        Src::Int(r) => Arg::Int(reg32(h.args[usize::from(r)])),
        Src::Ret => Arg::Int(h.ret),
        Src::Blob(slot) => match raw.blob(slot) {
            None => Arg::Absent,
            Some(b) => match b.kind {
                blob::STR | blob::ARGV | blob::KSTR => Arg::Str(b.data),
                blob::DATA | blob::IOVEC | blob::MSGHDR => Arg::Bytes(b.data),
                blob::SOCKADDR => {
                    parse_sockaddr(b.data, unix_name).map_or(Arg::Absent, Arg::SockAddr)
                }
                _ => Arg::Absent,
            },
        },
        Src::Tuple(slot, peer) => {
            let peer = peer
                .and_then(|p| raw.blob(p))
                .and_then(|b| parse_sockaddr(b.data, unix_name));
            raw.blob(slot)
                .and_then(|b| parse_tuple(b.data, h.ty, peer))
                .map_or(Arg::Absent, Arg::SockTuple)
        }
        Src::RawI32(slot, at) => raw
            .blob(slot)
            .and_then(|b| b.data.get(usize::from(at)..usize::from(at) + 4))
            .map_or(Arg::Absent, |v| {
                Arg::Int(i64::from(i32::from_ne_bytes(
                    v.try_into().expect("4 bytes"),
                )))
            }),
        Src::RawU64(slot, at) => raw
            .blob(slot)
            .and_then(|b| b.data.get(usize::from(at)..usize::from(at) + 8))
            .map_or(Arg::Absent, |v| {
                Arg::Int(u64::from_ne_bytes(v.try_into().expect("8 bytes")).cast_signed())
            }),
        Src::Caps(slot, which) => {
            raw.blob(slot)
                .filter(|b| b.data.len() >= 24)
                .map_or(Arg::Absent, |b| {
                    let word =
                        |at: usize| u32::from_ne_bytes(b.data[at..at + 4].try_into().expect("4"));
                    let at = usize::from(which) * 4;
                    Arg::Int(i64::from(word(at)) | (i64::from(word(at + 12)) << 32))
                })
        }
    }
}

const AF_UNIX: u16 = 1;
const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;

/// A `struct sockaddr` as the kernel would read it.
fn parse_sockaddr<'a>(b: &'a [u8], unix_name: &mut [u8; 112]) -> Option<SockAddr<'a>> {
    let family = u16::from_ne_bytes(b.get(0..2)?.try_into().ok()?);
    let port = |b: &[u8]| Some(u16::from_be_bytes(b.get(2..4)?.try_into().ok()?));
    match family {
        AF_INET => {
            let ip: [u8; 4] = b.get(4..8)?.try_into().ok()?;
            Some(SockAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(ip),
                port(b)?,
            )))
        }
        AF_INET6 => {
            let ip: [u8; 16] = b.get(8..24)?.try_into().ok()?;
            let scope = b
                .get(24..28)
                .map_or(0, |s| u32::from_ne_bytes(s.try_into().expect("4 bytes")));
            Some(SockAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(ip),
                port(b)?,
                0,
                scope,
            )))
        }
        AF_UNIX => {
            let path = b.get(2..).unwrap_or_default();
            if path.first() == Some(&0) && path.len() > 1 {
                // Abstract: "@" and the name, without trailing NULs.
                let name = &path[1..];
                let name = &name[..name.iter().rposition(|&c| c != 0).map_or(0, |i| i + 1)];
                let len = name.len().min(unix_name.len() - 2);
                unix_name[0] = u8::try_from(len + 1).expect("at most 110");
                unix_name[1] = b'@';
                unix_name[2..2 + len].copy_from_slice(&name[..len]);
                Some(SockAddr::Unix(ABSTRACT_MARK))
            } else {
                let end = memchr_nul(path);
                Some(SockAddr::Unix(&path[..end]))
            }
        }
        other => Some(SockAddr::Other(other)),
    }
}

fn memchr_nul(b: &[u8]) -> usize {
    b.iter().position(|&c| c == 0).unwrap_or(b.len())
}

/// Whether the remote end is the client: on accept, and on a datagram
/// received from an unconnected socket's peer. A connected socket (a UDP
/// client after connect) keeps the orientation of its connect.
fn peer_is_client(ty: u16, from_datagram: bool) -> bool {
    matches!(ty, nr::ACCEPT | nr::ACCEPT4)
        || (from_datagram && matches!(ty, nr::RECVFROM | nr::RECVMSG))
}

/// `(local, remote)` in client-to-server order.
fn order<A>(peer_is_client: bool, local: A, remote: A) -> (A, A) {
    if peer_is_client {
        (remote, local)
    } else {
        (local, remote)
    }
}

/// Both ends of a socket, client first: the caller of connect/send is the
/// client; on accept and receive the peer is.
fn parse_tuple<'a>(b: &[u8], ty: u16, peer: Option<SockAddr<'a>>) -> Option<SockTuple<'a>> {
    if b.len() < 40 {
        return None;
    }
    let family = u16::from_ne_bytes([b[0], b[1]]);
    let local_port = u16::from_ne_bytes([b[2], b[3]]);
    let remote_port = u16::from_ne_bytes([b[4], b[5]]);
    let local = &b[8..24];
    let remote = &b[24..40];
    match family {
        AF_INET => {
            let l = SocketAddrV4::new(
                Ipv4Addr::from(<[u8; 4]>::try_from(&local[..4]).ok()?),
                local_port,
            );
            let mut r = SocketAddrV4::new(
                Ipv4Addr::from(<[u8; 4]>::try_from(&remote[..4]).ok()?),
                remote_port,
            );
            let mut from_datagram = false;
            if r.port() == 0 {
                match peer {
                    Some(SockAddr::V4(p)) => (r, from_datagram) = (p, true),
                    _ => return None,
                }
            }
            let (src, dst) = order(peer_is_client(ty, from_datagram), l, r);
            Some(SockTuple::V4 { src, dst })
        }
        AF_INET6 => {
            let l = SocketAddrV6::new(
                Ipv6Addr::from(<[u8; 16]>::try_from(local).ok()?),
                local_port,
                0,
                0,
            );
            let mut r = SocketAddrV6::new(
                Ipv6Addr::from(<[u8; 16]>::try_from(remote).ok()?),
                remote_port,
                0,
                0,
            );
            let mut from_datagram = false;
            if r.port() == 0 {
                match peer {
                    Some(SockAddr::V6(p)) => (r, from_datagram) = (p, true),
                    _ => return None,
                }
            }
            let (src, dst) = order(peer_is_client(ty, from_datagram), l, r);
            Some(SockTuple::V6 { src, dst })
        }
        AF_UNIX => {
            let word = |s: &[u8]| u64::from_ne_bytes(s[..8].try_into().expect("8 bytes"));
            let path = match peer {
                Some(SockAddr::Unix(path)) => path,
                _ => b"",
            };
            Some(SockTuple::Unix {
                src: word(local),
                dst: word(remote),
                path,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use capture_format::event::ArgKind;

    #[test]
    fn every_typed_syscall_has_a_spec_that_fits_the_event_table() {
        let table = spec_table();
        for ty in EventType::all().filter(|t| t.0 < 512 && t.info().typed) {
            let info = ty.info();
            let spec = table[usize::from(ty.0)]
                .unwrap_or_else(|| panic!("{} has no kernel spec", info.name));
            assert_eq!(
                spec.args.len(),
                info.args.len(),
                "{}: argument count",
                info.name
            );
            assert!(spec.blobs.len() <= abi::RECIPE_BLOBS, "{}", info.name);
            for (src, def) in spec.args.iter().zip(info.args) {
                let blob_kind = |slot: u8| {
                    spec.blobs
                        .get(usize::from(slot))
                        .unwrap_or_else(|| panic!("{}: no blob {slot}", info.name))
                        .0
                };
                let fits = match *src {
                    Src::Blob(slot) => matches!(
                        (blob_kind(slot), def.kind),
                        (blob::STR | blob::PRCTL_NAME, ArgKind::Path | ArgKind::Str)
                            | (blob::ARGV, ArgKind::Argv)
                            | (blob::DATA | blob::IOVEC | blob::MSGHDR, ArgKind::Data)
                            | (blob::SOCKADDR, ArgKind::SockAddr)
                    ),
                    Src::Tuple(slot, peer) => {
                        matches!(blob_kind(slot), blob::TUPLE | blob::TUPLE_RET)
                            && peer.is_none_or(|p| {
                                matches!(
                                    blob_kind(p),
                                    blob::SOCKADDR | blob::SOCKADDR_P | blob::MSG_NAME
                                )
                            })
                            && def.kind == ArgKind::SockTuple
                    }
                    Src::RawI32(slot, _) | Src::RawU64(slot, _) | Src::Caps(slot, _) => {
                        blob_kind(slot) == blob::RAW
                    }
                    Src::Reg(r) | Src::Int(r) => r < 6,
                    Src::Ret => true,
                };
                assert!(fits, "{}: {} from {src:?}", info.name, def.name);
            }
        }
    }

    #[test]
    fn recipes_follow_the_specs_and_the_syscall_filter() {
        let all = recipes(None);
        assert_eq!(all.len(), 512);
        assert!(all.iter().all(|r| r.enabled == 1));
        let open = all[usize::from(nr::OPENAT)];
        assert_eq!(
            open.blob[0],
            RecipeBlob {
                kind: blob::STR,
                reg: 1,
                aux: 0
            }
        );
        assert_eq!(all[usize::from(nr::EXIT_GROUP)].flags, abi::FLAG_NO_RETURN);
        let some = recipes(Some(&[nr::OPENAT, nr::CLOSE]));
        let enabled: Vec<usize> = (0..512).filter(|&i| some[i].enabled == 1).collect();
        assert_eq!(
            enabled,
            vec![usize::from(nr::CLOSE), usize::from(nr::OPENAT)]
        );
    }

    #[test]
    fn sockaddrs() {
        let mut name = [0u8; 112];
        let mut v4 = vec![2, 0, 0x1f, 0x90, 127, 0, 0, 1];
        v4.extend([0; 8]);
        assert_eq!(
            parse_sockaddr(&v4, &mut name),
            Some(SockAddr::V4("127.0.0.1:8080".parse().unwrap()))
        );
        let mut unix = vec![1, 0];
        unix.extend(b"/run/x.sock\0\0");
        assert_eq!(
            parse_sockaddr(&unix, &mut name),
            Some(SockAddr::Unix(b"/run/x.sock"))
        );
        let abstract_name = [1, 0, 0, b'a', b'b'];
        assert_eq!(
            parse_sockaddr(&abstract_name, &mut name),
            Some(SockAddr::Unix(ABSTRACT_MARK))
        );
        assert_eq!(&name[1..=usize::from(name[0])], b"@ab");
        assert_eq!(
            parse_sockaddr(&[16, 0], &mut name),
            Some(SockAddr::Other(16))
        );
        assert_eq!(parse_sockaddr(&[2], &mut name), None);
    }

    #[test]
    fn tuples_put_the_client_first() {
        let mut t = vec![0u8; 40];
        t[0..2].copy_from_slice(&2u16.to_ne_bytes());
        t[2..4].copy_from_slice(&41000u16.to_ne_bytes());
        t[4..6].copy_from_slice(&80u16.to_ne_bytes());
        t[8..12].copy_from_slice(&[10, 0, 0, 1]);
        t[24..28].copy_from_slice(&[10, 0, 0, 2]);
        let client: SocketAddrV4 = "10.0.0.1:41000".parse().unwrap();
        let server: SocketAddrV4 = "10.0.0.2:80".parse().unwrap();
        assert_eq!(
            parse_tuple(&t, nr::CONNECT, None),
            Some(SockTuple::V4 {
                src: client,
                dst: server
            })
        );
        assert_eq!(
            parse_tuple(&t, nr::ACCEPT4, None),
            Some(SockTuple::V4 {
                src: server,
                dst: client
            })
        );
        // Unconnected UDP: the peer comes from the datagram's address.
        t[4..6].copy_from_slice(&0u16.to_ne_bytes());
        let dns: SocketAddrV4 = "10.0.0.53:53".parse().unwrap();
        assert_eq!(
            parse_tuple(&t, nr::SENDTO, Some(SockAddr::V4(dns))),
            Some(SockTuple::V4 {
                src: client,
                dst: dns
            })
        );
        assert_eq!(parse_tuple(&t, nr::SENDTO, None), None);
        // A datagram received by an unconnected server: the sender is the
        // client.
        let client_addr: SocketAddrV4 = "10.0.0.9:40000".parse().unwrap();
        assert_eq!(
            parse_tuple(&t, nr::RECVFROM, Some(SockAddr::V4(client_addr))),
            Some(SockTuple::V4 {
                src: client_addr,
                dst: client
            })
        );
        // A connected UDP client receiving its reply keeps its connect's
        // orientation.
        t[4..6].copy_from_slice(&53u16.to_ne_bytes());
        let server53: SocketAddrV4 = "10.0.0.2:53".parse().unwrap();
        assert_eq!(
            parse_tuple(&t, nr::RECVFROM, Some(SockAddr::V4(server53))),
            Some(SockTuple::V4 {
                src: client,
                dst: server53
            })
        );
    }
}
