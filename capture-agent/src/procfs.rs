//! The state of the host before the capture starts, read from `/proc`:
//! processes, threads, open fds (files and sockets), users and groups, and
//! container / pod ids from cgroup paths.
//!
//! Processes come and go while this runs; anything that vanishes half-way is
//! skipped, never an error.

use std::collections::HashMap;
use std::fs;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use capture_format::event::{OwnedSockAddr, OwnedSockTuple};
use capture_format::state::{
    FdInfo, FdKind, GroupInfo, L4Proto, ProcessInfo, Snapshot, SocketEnds, SocketRole, ThreadInfo,
    UserInfo, container_of,
};

/// Reads the state of every process under `root` (normally `/proc`).
pub fn snapshot(root: &Path, etc: &Path, ts: u64, boot_epoch_ns: u64) -> Snapshot {
    // Sockets are listed per network namespace: containers have their own.
    let mut sockets_by_netns: HashMap<u64, Sockets> = HashMap::new();
    let users = read_users(&etc.join("passwd"));
    let groups = read_groups(&etc.join("group"));
    let user_names: HashMap<u32, Vec<u8>> = users.iter().map(|u| (u.uid, u.name.clone())).collect();
    let group_names: HashMap<u32, Vec<u8>> =
        groups.iter().map(|g| (g.gid, g.name.clone())).collect();
    let ticks = clock_ticks();
    let mut snap = Snapshot {
        ts,
        users,
        groups,
        ..Snapshot::default()
    };
    let Ok(dir) = fs::read_dir(root) else {
        return snap;
    };
    for entry in dir.flatten() {
        let Some(pid) = parse_num(entry.file_name().as_bytes()) else {
            continue;
        };
        let base = entry.path();
        let Some(mut process) = read_process(&base, pid, ticks, boot_epoch_ns) else {
            continue;
        };
        process.user = user_names.get(&process.uid).cloned().unwrap_or_default();
        process.login_user = user_names
            .get(&process.loginuid)
            .cloned()
            .unwrap_or_default();
        process.group = group_names.get(&process.gid).cloned().unwrap_or_default();
        let mut threads = 0;
        if let Ok(tasks) = fs::read_dir(base.join("task")) {
            for task in tasks.flatten() {
                let Some(tid) = parse_num(task.file_name().as_bytes()) else {
                    continue;
                };
                let comm = read_trimmed(&task.path().join("comm"));
                let vtid = read_status(&task.path().join("status"))
                    .and_then(|s| s.nspid_last)
                    .unwrap_or(tid);
                snap.threads.push(ThreadInfo {
                    tid,
                    pid,
                    vtid,
                    comm,
                    ..ThreadInfo::default()
                });
                threads += 1;
            }
        }
        if threads == 0 {
            continue; // a zombie or gone
        }
        let netns = fs::metadata(base.join("ns/net")).map_or(0, |m| {
            use std::os::unix::fs::MetadataExt;
            m.ino()
        });
        let sockets = sockets_by_netns
            .entry(netns)
            .or_insert_with(|| Sockets::read(&base));
        read_fds(&base, pid, sockets, &mut snap.fds);
        snap.processes.push(process);
    }
    snap
}

struct Status {
    ppid: i64,
    uid: u32,
    gid: u32,
    nspid_last: Option<i64>,
    /// The process group in the process's own pid namespace.
    nspgid_last: Option<i64>,
    vm_size_kb: u64,
    vm_rss_kb: u64,
}

fn read_status(path: &Path) -> Option<Status> {
    let text = fs::read(path).ok()?;
    let mut st = Status {
        ppid: 0,
        uid: 0,
        gid: 0,
        nspid_last: None,
        nspgid_last: None,
        vm_size_kb: 0,
        vm_rss_kb: 0,
    };
    for line in text.split(|&b| b == b'\n') {
        let field = |prefix: &[u8]| {
            line.strip_prefix(prefix).map(|rest| {
                rest.split(u8::is_ascii_whitespace)
                    .filter(|s| !s.is_empty())
            })
        };
        if let Some(mut f) = field(b"PPid:") {
            st.ppid = f.next().and_then(parse_num).unwrap_or(0);
        } else if let Some(f) = field(b"Uid:") {
            // Real, effective, saved, fs: sysdig's user.uid is the effective.
            st.uid = effective_id(f);
        } else if let Some(f) = field(b"Gid:") {
            st.gid = effective_id(f);
        } else if let Some(f) = field(b"VmSize:") {
            st.vm_size_kb = first_u64(f);
        } else if let Some(f) = field(b"VmRSS:") {
            st.vm_rss_kb = first_u64(f);
        } else if let Some(mut f) = field(b"NSpid:") {
            st.nspid_last = f.next_back().and_then(parse_num);
        } else if let Some(mut f) = field(b"NSpgid:") {
            st.nspgid_last = f.next_back().and_then(parse_num);
        }
    }
    Some(st)
}

/// The first number of a status line (`VmRSS:  1234 kB`), 0 if none.
fn first_u64<'a>(mut words: impl Iterator<Item = &'a [u8]>) -> u64 {
    words
        .next()
        .and_then(parse_num)
        .and_then(|v| u64::try_from(v).ok())
        .unwrap_or(0)
}

/// The second of the real/effective/saved/fs ids of a status line.
fn effective_id<'a>(mut ids: impl Iterator<Item = &'a [u8]>) -> u32 {
    ids.nth(1)
        .and_then(parse_num)
        .and_then(|v| u32::try_from(v).ok())
        .unwrap_or(0)
}

fn read_process(base: &Path, pid: i64, ticks: u64, boot_epoch_ns: u64) -> Option<ProcessInfo> {
    let status = read_status(&base.join("status"))?;
    let cmdline = fs::read(base.join("cmdline")).unwrap_or_default();
    let (exe, args) = match cmdline.iter().position(|&b| b == 0) {
        Some(i) => (cmdline[..i].to_vec(), cmdline[i + 1..].to_vec()),
        None => (cmdline.clone(), Vec::new()),
    };
    let exe = if exe.is_empty() {
        read_trimmed(&base.join("comm")) // kernel threads
    } else {
        exe
    };
    let exepath = fs::read_link(base.join("exe"))
        .map(|p| p.as_os_str().as_bytes().to_vec())
        .unwrap_or_default();
    let cwd = fs::read_link(base.join("cwd"))
        .map(|p| p.as_os_str().as_bytes().to_vec())
        .unwrap_or_default();
    let loginuid = fs::read(base.join("loginuid"))
        .ok()
        .and_then(|t| parse_num(t.trim_ascii()))
        .and_then(|v| u32::try_from(v).ok())
        .unwrap_or(u32::MAX);
    let cgroup = fs::read(base.join("cgroup")).unwrap_or_default();
    let (container_id, pod_uid) = container_of(&cgroup);
    let stat = fs::read(base.join("stat")).unwrap_or_default();
    let start_ts = start_ticks(&stat).map_or(0, |t| {
        boot_epoch_ns.saturating_add(t.saturating_mul(1_000_000_000) / ticks.max(1))
    });
    let (pgrp, sid, tty) = session_fields(&stat);
    Some(ProcessInfo {
        pid,
        ppid: status.ppid,
        vpid: status.nspid_last.unwrap_or(pid),
        exe,
        exepath,
        args,
        cwd,
        uid: status.uid,
        gid: status.gid,
        loginuid,
        container_id,
        pod_uid,
        start_ts,
        vm_size: status.vm_size_kb * 1024,
        vm_rss: status.vm_rss_kb * 1024,
        fd_limit: fd_limit(&base.join("limits")),
        sid,
        vpgid: status.nspgid_last.unwrap_or(pgrp),
        tty,
        ..ProcessInfo::default()
    })
}

/// The process group, session (both -1 when unreadable) and controlling
/// terminal (`tty_nr`, 0 for none) of `/proc/PID/stat`: fields 5 to 7.
fn session_fields(stat: &[u8]) -> (i64, i64, u32) {
    let id = |n| {
        stat_field(stat, n)
            .and_then(|v| i64::try_from(v).ok())
            .unwrap_or(-1)
    };
    let tty = stat_field(stat, 7)
        .and_then(|v| u32::try_from(v).ok())
        .unwrap_or(0);
    (id(5), id(6), tty)
}

/// The soft "Max open files" of `/proc/PID/limits` (0 when unreadable or
/// unlimited).
fn fd_limit(path: &Path) -> u64 {
    let Ok(text) = fs::read_to_string(path) else {
        return 0;
    };
    text.lines()
        .find_map(|l| l.strip_prefix("Max open files"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|soft| soft.parse().ok())
        .unwrap_or(0)
}

/// Field 22 of `/proc/PID/stat`: when the process started, in clock ticks
/// since boot.
fn start_ticks(stat: &[u8]) -> Option<u64> {
    stat_field(stat, 22)
}

/// Numeric field `n` (1-based, as in proc(5)) of `/proc/PID/stat`, counted
/// after the parenthesised comm, which may contain spaces.
fn stat_field(stat: &[u8], n: usize) -> Option<u64> {
    stat_fields(stat, [n]).map(|[v]| v)
}

/// Numeric fields `ns` (1-based, ascending, as in proc(5)) of
/// `/proc/PID/stat`, in one pass over the line.
pub(crate) fn stat_fields<const N: usize>(stat: &[u8], ns: [usize; N]) -> Option<[u64; N]> {
    let after = &stat[stat.iter().rposition(|&b| b == b')')? + 1..];
    let mut fields = after
        .split(u8::is_ascii_whitespace)
        .filter(|s| !s.is_empty());
    let mut out = [0; N];
    // Field 3 is the first after the comm.
    let mut at = 3;
    for (slot, &n) in out.iter_mut().zip(&ns) {
        let field = fields.nth(n.checked_sub(at)?)?;
        at = n + 1;
        *slot = std::str::from_utf8(field).ok()?.parse().ok()?;
    }
    Some(out)
}

/// The comm of a `/proc/PID/stat` line: between the first `(` and the last
/// `)` (a comm may hold either).
pub(crate) fn stat_comm(stat: &[u8]) -> Option<&[u8]> {
    let open = stat.iter().position(|&b| b == b'(')?;
    let close = stat.iter().rposition(|&b| b == b')')?;
    stat.get(open + 1..close)
}

/// What one process uses now, for per-process metric rules.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ProcessUsage {
    /// User plus system CPU time so far, seconds.
    pub cpu_seconds: f64,
    /// Resident memory, bytes.
    pub rss_bytes: u64,
    /// Open file descriptors.
    pub open_fds: u64,
}

/// Reads what process `pid` under `root` (normally `/proc`) uses; `None` when
/// it is gone.
pub fn usage(root: &Path, pid: u64) -> Option<ProcessUsage> {
    let base = root.join(pid.to_string());
    let stat = fs::read(base.join("stat")).ok()?;
    let ticks = stat_field(&stat, 14)? + stat_field(&stat, 15)?;
    let resident_pages = fs::read_to_string(base.join("statm"))
        .ok()
        .and_then(|t| t.split_whitespace().nth(1)?.parse::<u64>().ok())
        .unwrap_or(0);
    let open_fds = fs::read_dir(base.join("fd")).map_or(0, |d| d.count() as u64);
    Some(ProcessUsage {
        cpu_seconds: ticks as f64 / clock_ticks() as f64,
        rss_bytes: resident_pages * page_size(),
        open_fds,
    })
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(p).ok().filter(|&p| p > 0).unwrap_or(4096)
}

/// `USER_HZ`: the unit of `/proc`'s CPU times.
pub(crate) fn clock_ticks() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(t).ok().filter(|&t| t > 0).unwrap_or(100)
}

fn read_trimmed(path: &Path) -> Vec<u8> {
    fs::read(path)
        .map(|t| t.trim_ascii_end().to_vec())
        .unwrap_or_default()
}

fn parse_num(b: &[u8]) -> Option<i64> {
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// Sockets of one network namespace by inode, from `/proc/PID/net`.
#[derive(Default)]
struct Sockets {
    inet: HashMap<u64, (L4Proto, SocketEnds, bool)>,
    unix: HashMap<u64, Vec<u8>>,
}

impl Sockets {
    /// Reads `DIR/net/*`: `DIR` is a process's `/proc/PID`, whose `net`
    /// shows the sockets of that process's network namespace.
    fn read(dir: &Path) -> Self {
        let mut s = Self::default();
        let net = dir.join("net");
        for (file, proto, v6) in [
            ("tcp", L4Proto::Tcp, false),
            ("tcp6", L4Proto::Tcp, true),
            ("udp", L4Proto::Udp, false),
            ("udp6", L4Proto::Udp, true),
        ] {
            let Ok(text) = fs::read(net.join(file)) else {
                continue;
            };
            for line in text.split(|&b| b == b'\n').skip(1) {
                if let Some((inode, ends, listening)) = parse_inet_line(line, v6) {
                    s.inet.insert(inode, (proto, ends, listening));
                }
            }
        }
        if let Ok(text) = fs::read(net.join("unix")) {
            for line in text.split(|&b| b == b'\n').skip(1) {
                let f: Vec<&[u8]> = line
                    .split(u8::is_ascii_whitespace)
                    .filter(|s| !s.is_empty())
                    .collect();
                if let (Some(inode), path) = (f.get(6).and_then(|i| parse_num(i)), f.get(7)) {
                    let inode = u64::try_from(inode).unwrap_or(0);
                    s.unix
                        .insert(inode, path.map(|p| p.to_vec()).unwrap_or_default());
                }
            }
        }
        s
    }
}

/// One line of `/proc/net/tcp*` or `udp*`: inode, ends, listening.
fn parse_inet_line(line: &[u8], v6: bool) -> Option<(u64, SocketEnds, bool)> {
    let f: Vec<&[u8]> = line
        .split(u8::is_ascii_whitespace)
        .filter(|s| !s.is_empty())
        .collect();
    let local = f.get(1)?;
    let remote = f.get(2)?;
    let state = f.get(3)?;
    let inode: u64 = std::str::from_utf8(f.get(9)?).ok()?.parse().ok()?;
    let (local, remote) = if v6 {
        (
            OwnedSockAddr::V6(parse_v6(local)?),
            OwnedSockAddr::V6(parse_v6(remote)?),
        )
    } else {
        (
            OwnedSockAddr::V4(parse_v4(local)?),
            OwnedSockAddr::V4(parse_v4(remote)?),
        )
    };
    let listening = *state == b"0A";
    let remote_port = match &remote {
        OwnedSockAddr::V4(a) => a.port(),
        OwnedSockAddr::V6(a) => a.port(),
        _ => 0,
    };
    let ends = if remote_port == 0 {
        SocketEnds::Local(local)
    } else {
        // Client first: the end with the ephemeral (higher) port is taken
        // to be the client, as sysdig does for sockets it did not see open.
        let local_port = match &local {
            OwnedSockAddr::V4(a) => a.port(),
            OwnedSockAddr::V6(a) => a.port(),
            _ => 0,
        };
        let (client, server) = if local_port >= remote_port {
            (local, remote)
        } else {
            (remote, local)
        };
        SocketEnds::Tuple(match (client, server) {
            (OwnedSockAddr::V4(src), OwnedSockAddr::V4(dst)) => OwnedSockTuple::V4 { src, dst },
            (OwnedSockAddr::V6(src), OwnedSockAddr::V6(dst)) => OwnedSockTuple::V6 { src, dst },
            _ => return None,
        })
    };
    Some((inode, ends, listening))
}

fn hex_u32(h: &[u8]) -> Option<u32> {
    u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()
}

fn parse_v4(field: &[u8]) -> Option<SocketAddrV4> {
    let colon = field.iter().position(|&b| b == b':')?;
    // The address is the kernel's __be32 printed as a host-order number.
    let ip = hex_u32(&field[..colon])?.to_le_bytes();
    let port = u16::try_from(hex_u32(&field[colon + 1..])?).ok()?;
    Some(SocketAddrV4::new(Ipv4Addr::from(ip), port))
}

fn parse_v6(field: &[u8]) -> Option<SocketAddrV6> {
    let colon = field.iter().position(|&b| b == b':')?;
    let hex = &field[..colon];
    if hex.len() != 32 {
        return None;
    }
    let mut ip = [0u8; 16];
    for (i, word) in hex.chunks(8).enumerate() {
        ip[i * 4..i * 4 + 4].copy_from_slice(&hex_u32(word)?.to_le_bytes());
    }
    let port = u16::try_from(hex_u32(&field[colon + 1..])?).ok()?;
    Some(SocketAddrV6::new(Ipv6Addr::from(ip), port, 0, 0))
}

fn read_fds(base: &Path, pid: i64, sockets: &Sockets, out: &mut Vec<FdInfo>) {
    let Ok(dir) = fs::read_dir(base.join("fd")) else {
        return;
    };
    for entry in dir.flatten() {
        let Some(fd) = parse_num(entry.file_name().as_bytes()) else {
            continue;
        };
        let Ok(target) = fs::read_link(entry.path()) else {
            continue;
        };
        let target = target.as_os_str().as_bytes();
        let mut info = FdInfo {
            pid,
            fd,
            ..FdInfo::default()
        };
        if let Some(inode) = target
            .strip_prefix(b"socket:[")
            .and_then(|r| r.strip_suffix(b"]"))
            .and_then(parse_num)
            .and_then(|i| u64::try_from(i).ok())
        {
            if let Some((proto, ends, listening)) = sockets.inet.get(&inode) {
                info.l4proto = *proto;
                info.kind = match ends {
                    SocketEnds::Local(OwnedSockAddr::V6(_))
                    | SocketEnds::Tuple(OwnedSockTuple::V6 { .. }) => FdKind::Ipv6,
                    _ => FdKind::Ipv4,
                };
                info.ends = ends.clone();
                if *listening {
                    info.role = SocketRole::Server;
                }
            } else if let Some(path) = sockets.unix.get(&inode) {
                info.kind = FdKind::Unix;
                info.name.clone_from(path);
            } else {
                info.kind = FdKind::Unknown;
                info.name = target.to_vec();
            }
        } else if target.starts_with(b"pipe:[") {
            info.kind = FdKind::Pipe;
            info.name = target.to_vec();
        } else if let Some(anon) = target.strip_prefix(b"anon_inode:") {
            let anon = anon.trim_ascii();
            let bare = anon
                .strip_prefix(b"[")
                .and_then(|a| a.strip_suffix(b"]"))
                .unwrap_or(anon);
            info.kind = match bare {
                b"eventfd" => FdKind::Event,
                b"eventpoll" => FdKind::EventPoll,
                b"inotify" => FdKind::Inotify,
                b"timerfd" => FdKind::TimerFd,
                b"signalfd" => FdKind::SignalFd,
                b"pidfd" => FdKind::PidFd,
                b"io_uring" => FdKind::IoUring,
                b"userfaultfd" => FdKind::UserFaultFd,
                b if b.starts_with(b"bpf") => FdKind::Bpf,
                _ => FdKind::Unknown,
            };
            info.name = target.to_vec();
        } else if target.starts_with(b"/memfd:") {
            info.kind = FdKind::Memfd;
            info.name = target.to_vec();
        } else if target.starts_with(b"/") {
            info.kind = if fs::metadata(entry.path()).is_ok_and(|m| m.is_dir()) {
                FdKind::Directory
            } else {
                FdKind::File
            };
            info.name = target.to_vec();
        } else {
            info.name = target.to_vec();
        }
        out.push(info);
    }
}

fn read_users(path: &Path) -> Vec<UserInfo> {
    let text = fs::read(path).unwrap_or_default();
    text.split(|&b| b == b'\n')
        .filter_map(|line| {
            let f: Vec<&[u8]> = line.split(|&b| b == b':').collect();
            Some(UserInfo {
                uid: u32::try_from(parse_num(f.get(2)?)?).ok()?,
                gid: u32::try_from(parse_num(f.get(3)?)?).ok()?,
                name: f[0].to_vec(),
                home: f.get(5).map(|h| h.to_vec()).unwrap_or_default(),
                shell: f.get(6).map(|s| s.to_vec()).unwrap_or_default(),
            })
        })
        .collect()
}

fn read_groups(path: &Path) -> Vec<GroupInfo> {
    let text = fs::read(path).unwrap_or_default();
    text.split(|&b| b == b'\n')
        .filter_map(|line| {
            let f: Vec<&[u8]> = line.split(|&b| b == b':').collect();
            Some(GroupInfo {
                gid: u32::try_from(parse_num(f.get(2)?)?).ok()?,
                name: f[0].to_vec(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_net_lines() {
        let listen = b"   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0";
        let (inode, ends, listening) = parse_inet_line(listen, false).unwrap();
        assert_eq!(inode, 4242);
        assert!(listening);
        assert_eq!(
            ends,
            SocketEnds::Local(OwnedSockAddr::V4("127.0.0.1:8080".parse().unwrap()))
        );
        let conn = b"   1: 0100007F:A0F0 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 4343 1";
        let (_, ends, _) = parse_inet_line(conn, false).unwrap();
        assert_eq!(
            ends,
            SocketEnds::Tuple(OwnedSockTuple::V4 {
                src: "127.0.0.1:41200".parse().unwrap(),
                dst: "127.0.0.1:8080".parse().unwrap(),
            })
        );
        let v6 = b"   0: 00000000000000000000000001000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 77 1";
        let (_, ends, _) = parse_inet_line(v6, true).unwrap();
        assert_eq!(
            ends,
            SocketEnds::Local(OwnedSockAddr::V6("[::1]:22".parse().unwrap()))
        );
    }

    #[test]
    fn stat_start_time_skips_the_comm() {
        type Session = (i64, i64, u32);
        let stat = b"42 (a) b) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 12345 1000 10";
        assert_eq!(start_ticks(stat), Some(12345));
        assert_eq!(stat_field(stat, 14), Some(1), "utime");
        assert_eq!(stat_field(stat, 15), Some(2), "stime");
        assert_eq!(stat_field(stat, 2), None, "the comm is not a number");
        assert_eq!(stat_fields(stat, [14, 15, 22]), Some([1, 2, 12345]));
        assert_eq!(stat_fields(stat, [15, 14]), None, "ascending only");
        assert_eq!(stat_fields(stat, [14, 99]), None, "past the end");
        assert_eq!(stat_comm(stat), Some(&b"a) b"[..]));
        assert_eq!(stat_comm(b"42 (x"), None);
        // (stat, (pgrp, session, tty_nr)): a shell on /dev/pts/0 (136, 0),
        // a daemon without a terminal, and a stat cut short.
        let cases: &[(&[u8], Session)] = &[
            (b"7 (bash) S 6 7 7 34816 7 4194560", (7, 7, 34_816)),
            (b"42 (a b) S 1 42 42 0 -1 4194560", (42, 42, 0)),
            (b"9 (x) S 1", (-1, -1, 0)),
        ];
        for &(stat, want) in cases {
            assert_eq!(
                session_fields(stat),
                want,
                "{}",
                String::from_utf8_lossy(stat)
            );
        }
    }

    #[test]
    fn usage_of_this_process() {
        let me = u64::from(std::process::id());
        let file = std::fs::File::open("/proc/self/stat").unwrap();
        let u = usage(Path::new("/proc"), me).unwrap();
        assert!(u.rss_bytes > 1 << 20, "{u:?}");
        assert!(u.open_fds >= 4, "stdio and the file: {u:?}");
        assert!(u.cpu_seconds >= 0.0, "{u:?}");
        drop(file);
        assert_eq!(usage(Path::new("/proc"), u64::from(u32::MAX)), None);
    }

    #[test]
    fn snapshot_of_this_process_resolves_its_open_file_and_socket() {
        let file = std::fs::File::open("Cargo.toml").unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = match listener.local_addr().unwrap() {
            std::net::SocketAddr::V4(a) => a,
            std::net::SocketAddr::V6(_) => unreachable!("bound to an IPv4 address"),
        };
        let snap = snapshot(Path::new("/proc"), Path::new("/etc"), 1, 0);
        let me = i64::from(std::process::id());
        let process = snap.processes.iter().find(|p| p.pid == me).unwrap();
        assert!(process.exepath.ends_with(b"capture_agent") || !process.exepath.is_empty());
        assert!(snap.threads.iter().any(|t| t.tid == me));
        assert!(
            process.vm_size >= process.vm_rss && process.vm_rss > 0,
            "{process:?}"
        );
        assert!(process.fd_limit >= 64, "{process:?}");
        assert!(snap.fds.iter().any(|f| f.pid == me
            && f.kind == FdKind::File
            && f.name.ends_with(b"capture-agent/Cargo.toml")));
        let socket = snap
            .fds
            .iter()
            .find(|f| f.pid == me && f.ends == SocketEnds::Local(OwnedSockAddr::V4(addr)))
            .expect("the listening socket is in the snapshot");
        assert_eq!(
            (socket.kind, socket.l4proto, socket.role),
            (FdKind::Ipv4, L4Proto::Tcp, SocketRole::Server)
        );
        drop((file, listener));
        assert!(snap.users.iter().any(|u| u.uid == 0 && u.name == b"root"));
    }
}
