//! The blocks before the events of a `.scap` file: section header, machine
//! info, user list, process list and fd lists, from a state snapshot, in
//! the block versions sysdig 0.29.3 reads (`PL_V9`, `FDL_V2`, `UL_V2`),
//! with the limits its reader enforces (longer strings are cut, not
//! refused: one long argument list must not make the whole file
//! unreadable).

use hashbrown::HashMap;

use capture_format::event::{OwnedSockAddr, OwnedSockTuple};
use capture_format::file::CaptureHeader;
use capture_format::state::{
    ContainerInfo, FdInfo, FdKind, L4Proto, ProcessInfo, Snapshot, SocketEnds, ThreadInfo,
};

use crate::block::{BYTE_ORDER_MAGIC, SHB};
use crate::ppm;

const MACHINE_INFO: u32 = 0x201;
const PROCESS_LIST_V9: u32 = 0x215;
const FD_LIST_V2: u32 = 0x218;
const USER_LIST_V2: u32 = 0x220;

/// sysdig 0.29.3's limits: paths and names (`SCAP_MAX_PATH_SIZE`; fd names
/// must be shorter), argument lists and cgroups, user and group strings.
const MAX_PATH: usize = 1024;
const MAX_ARGS: usize = 4096;
const MAX_FD_NAME: usize = MAX_PATH - 1;
const MAX_CREDENTIAL: usize = 255;

/// `PPM_CL_CLONE_FILES`: the thread shares its process's fd table.
const CLONE_FILES: u32 = 1;
/// `PPM_CL_CLONE_THREAD`.
const CLONE_THREAD: u32 = 1 << 13;

/// Appends one block: type, total length, `body`, padding, total length.
pub fn block(out: &mut Vec<u8>, ty: u32, body: &[u8]) {
    let total = (8 + body.len()).next_multiple_of(4) + 4;
    let total32 = u32::try_from(total).unwrap_or(u32::MAX);
    out.extend_from_slice(&ty.to_le_bytes());
    out.extend_from_slice(&total32.to_le_bytes());
    out.extend_from_slice(body);
    out.resize(out.len() + total - 12 - body.len(), 0);
    out.extend_from_slice(&total32.to_le_bytes());
}

/// The first `max` bytes of `s`.
fn cut(s: &[u8], max: usize) -> &[u8] {
    &s[..s.len().min(max)]
}

/// A string with a u16 length, at most `max` bytes.
fn put_str(out: &mut Vec<u8>, s: &[u8], max: usize) {
    let s = cut(s, max.min(usize::from(u16::MAX)));
    out.extend_from_slice(&u16::try_from(s.len()).unwrap_or(0).to_le_bytes());
    out.extend_from_slice(s);
}

/// Section header (version 1.2, unknown section length) and machine info.
pub fn header_blocks(out: &mut Vec<u8>, header: &CaptureHeader) {
    let mut shb = BYTE_ORDER_MAGIC.to_le_bytes().to_vec();
    shb.extend_from_slice(&1u16.to_le_bytes());
    shb.extend_from_slice(&2u16.to_le_bytes());
    shb.extend_from_slice(&u64::MAX.to_le_bytes());
    block(out, SHB, &shb);
    // num_cpus, memory, max_pid, hostname[128], four reserved u64s.
    let mut mi = vec![0u8; 180];
    mi[0..4].copy_from_slice(&header.num_cpus.to_le_bytes());
    mi[4..12].copy_from_slice(&header.memory_bytes.to_le_bytes());
    let name = cut(header.hostname.as_bytes(), 127);
    mi[20..20 + name.len()].copy_from_slice(name);
    block(out, MACHINE_INFO, &mi);
}

/// The user list: users, then groups, each entry with its length. Written
/// when empty too: without one, sysdig names users from the users of the
/// machine it runs on.
pub fn user_list(out: &mut Vec<u8>, snap: &Snapshot) {
    let mut body = Vec::new();
    let mut entry = Vec::new();
    for u in &snap.users {
        entry.clear();
        entry.push(0);
        entry.extend_from_slice(&u.uid.to_le_bytes());
        entry.extend_from_slice(&u.gid.to_le_bytes());
        put_str(&mut entry, &u.name, MAX_CREDENTIAL);
        put_str(&mut entry, &u.home, MAX_CREDENTIAL);
        put_str(&mut entry, &u.shell, MAX_CREDENTIAL);
        with_length(&mut body, &entry);
    }
    for g in &snap.groups {
        entry.clear();
        entry.push(1);
        entry.extend_from_slice(&g.gid.to_le_bytes());
        put_str(&mut entry, &g.name, MAX_CREDENTIAL);
        with_length(&mut body, &entry);
    }
    block(out, USER_LIST_V2, &body);
}

/// An entry preceded by its length, the length's four bytes included.
fn with_length(out: &mut Vec<u8>, entry: &[u8]) {
    let len = u32::try_from(entry.len() + 4).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(entry);
}

/// The cgroups that make sysdig 0.29.3 find `process`'s container (its
/// engines take the container id from a cgroup path ending in 64 hex
/// digits, and keep 12): `cpuset=/kubepods/pod<uid>/<id>` in a pod,
/// `cpuset=/<runtime>/<id>` outside. The whole id is the container's when
/// a container event gave it; else the 12 digits syscap keeps, padded
/// with zeros (sysdig shows the first 12).
pub fn cgroups(out: &mut Vec<u8>, process: &ProcessInfo, container: Option<&ContainerInfo>) {
    let id = &process.container_id;
    if id.len() != 12 || !id.iter().all(u8::is_ascii_hexdigit) {
        return;
    }
    out.extend_from_slice(b"cpuset=/");
    if process.pod_uid.is_empty() {
        let kind = container.map_or(&b""[..], |c| &c.kind[..]);
        let kind = if kind.is_empty() || !kind.iter().all(u8::is_ascii_alphanumeric) {
            &b"docker"[..]
        } else {
            kind
        };
        out.extend_from_slice(kind);
    } else {
        out.extend_from_slice(b"kubepods/pod");
        out.extend_from_slice(&process.pod_uid);
    }
    out.push(b'/');
    match container.map(|c| &c.full_id[..]) {
        Some(full)
            if full.len() == 64
                && full.starts_with(id)
                && full.iter().all(u8::is_ascii_hexdigit) =>
        {
            out.extend_from_slice(full);
        }
        _ => {
            out.extend_from_slice(id);
            out.resize(out.len() + 52, b'0');
        }
    }
    out.push(0);
}

/// The container a process is in, as the snapshot describes it.
fn container_of<'s>(snap: &'s Snapshot, p: &'s ProcessInfo) -> Option<&'s ContainerInfo> {
    if p.container.id == p.container_id && !p.container.id.is_empty() {
        return Some(&p.container);
    }
    snap.containers.iter().find(|c| c.id == p.container_id)
}

/// One process list entry: `thread` of `process` (either may be missing
/// from the snapshot: the other's ids fill in).
fn process_entry(
    out: &mut Vec<u8>,
    thread: &ThreadInfo,
    process: Option<&ProcessInfo>,
    container: Option<&ContainerInfo>,
) {
    let empty = ProcessInfo::default();
    let p = process.unwrap_or(&empty);
    let mut e = Vec::with_capacity(256);
    e.extend_from_slice(&thread.tid.to_le_bytes());
    e.extend_from_slice(&thread.pid.to_le_bytes());
    let ptid = if process.is_some() { p.ppid } else { -1 };
    e.extend_from_slice(&ptid.to_le_bytes());
    e.extend_from_slice(&0i64.to_le_bytes()); // sid
    e.extend_from_slice(&0i64.to_le_bytes()); // vpgid
    put_str(&mut e, &thread.comm, MAX_PATH);
    put_str(&mut e, &p.exe, MAX_PATH);
    put_str(&mut e, &p.exepath, MAX_PATH);
    put_str(&mut e, &p.args, MAX_ARGS);
    put_str(&mut e, &p.cwd, MAX_PATH);
    e.extend_from_slice(&p.fd_limit.to_le_bytes());
    let flags = if thread.tid == thread.pid {
        0
    } else {
        CLONE_THREAD | CLONE_FILES
    };
    e.extend_from_slice(&flags.to_le_bytes());
    let (uid, gid) = if process.is_some() {
        (p.uid, p.gid)
    } else {
        (u32::MAX, u32::MAX)
    };
    e.extend_from_slice(&uid.to_le_bytes());
    e.extend_from_slice(&gid.to_le_bytes());
    e.extend_from_slice(&kib(p.vm_size).to_le_bytes());
    e.extend_from_slice(&kib(p.vm_rss).to_le_bytes());
    e.extend_from_slice(&0u32.to_le_bytes()); // vmswap_kb
    e.extend_from_slice(&0u64.to_le_bytes()); // pfmajor
    e.extend_from_slice(&0u64.to_le_bytes()); // pfminor
    put_str(&mut e, b"", MAX_ARGS); // env
    e.extend_from_slice(&thread.vtid.to_le_bytes());
    let vpid = if process.is_some() {
        p.vpid
    } else {
        thread.pid
    };
    e.extend_from_slice(&vpid.to_le_bytes());
    let mut cg = Vec::new();
    if process.is_some() {
        cgroups(&mut cg, p, container);
    }
    put_str(&mut e, &cg, MAX_ARGS);
    put_str(&mut e, b"", MAX_PATH); // root
    e.extend_from_slice(&p.loginuid.to_le_bytes());
    e.push(0); // exe_writable
    with_length(out, &e);
}

/// Bytes to KiB, as a u32 (saturating).
pub fn kib(bytes: u64) -> u32 {
    u32::try_from(bytes / 1024).unwrap_or(u32::MAX)
}

/// The process list (every thread, and a main thread for a process the
/// snapshot lists without one: sysdig keeps fds on main threads), then
/// one fd list per process.
pub fn process_and_fd_lists(out: &mut Vec<u8>, snap: &Snapshot) {
    let processes: HashMap<i64, &ProcessInfo> = snap.processes.iter().map(|p| (p.pid, p)).collect();
    let mut listed: HashMap<i64, ()> = HashMap::new();
    let mut body = Vec::new();
    let mut main_comm: HashMap<i64, &[u8]> = HashMap::new();
    for t in &snap.threads {
        main_comm.entry(t.pid).or_insert(&t.comm);
        if t.tid == t.pid {
            main_comm.insert(t.pid, &t.comm);
        }
    }
    for t in &snap.threads {
        if listed.insert(t.tid, ()).is_some() {
            continue;
        }
        let p = processes.get(&t.pid).copied();
        process_entry(&mut body, t, p, p.and_then(|p| container_of(snap, p)));
    }
    for p in &snap.processes {
        if listed.contains_key(&p.pid) {
            continue;
        }
        listed.insert(p.pid, ());
        let main = ThreadInfo {
            tid: p.pid,
            pid: p.pid,
            vtid: p.vpid,
            comm: main_comm.get(&p.pid).map_or_else(
                || {
                    let exe = p.exe.rsplit(|&b| b == b'/').next().unwrap_or_default();
                    exe[..exe.len().min(15)].to_vec()
                },
                |c| c.to_vec(),
            ),
            ..ThreadInfo::default()
        };
        process_entry(&mut body, &main, Some(p), container_of(snap, p));
    }
    if !body.is_empty() {
        block(out, PROCESS_LIST_V9, &body);
    }

    // Fds by process, in the snapshot's order, on the process's main
    // thread (listed above for every process that has fds).
    let mut by_pid: Vec<(i64, Vec<&FdInfo>)> = Vec::new();
    let mut at: HashMap<i64, usize> = HashMap::new();
    for fd in &snap.fds {
        let i = *at.entry(fd.pid).or_insert_with(|| {
            by_pid.push((fd.pid, Vec::new()));
            by_pid.len() - 1
        });
        by_pid[i].1.push(fd);
    }
    let mut entry = Vec::new();
    for (pid, fds) in by_pid {
        if !listed.contains_key(&pid) {
            continue;
        }
        body.clear();
        body.extend_from_slice(&pid.to_le_bytes());
        for fd in fds {
            entry.clear();
            if fd_entry(&mut entry, fd) {
                with_length(&mut body, &entry);
            }
        }
        block(out, FD_LIST_V2, &body);
    }
}

fn l4proto(p: L4Proto) -> u8 {
    match p {
        L4Proto::Unknown => 0,
        L4Proto::Tcp => 2,
        L4Proto::Udp => 3,
        L4Proto::Icmp => 4,
        L4Proto::Raw => 5,
    }
}

/// One fd entry of an `FDL_V2` list (without its length); false for fds
/// sysdig has no kind for (unknown ones, as libs skips them).
fn fd_entry(e: &mut Vec<u8>, fd: &FdInfo) -> bool {
    e.extend_from_slice(&fd.fd.to_le_bytes());
    e.extend_from_slice(&0u64.to_le_bytes()); // inode
    // scap_fd_type: 0.29.3 knows 1 to 16.
    let name = |e: &mut Vec<u8>, ty: u8| {
        e.push(ty);
        put_str(e, &fd.name, MAX_FD_NAME);
    };
    match fd.kind {
        FdKind::Unknown => return false,
        FdKind::File | FdKind::Memfd => {
            e.push(16); // SCAP_FD_FILE_V2
            e.extend_from_slice(&ppm::open_flags_to_ppm(fd.flags).to_le_bytes());
            put_str(e, &fd.name, MAX_FD_NAME);
            e.extend_from_slice(&0u32.to_le_bytes()); // dev
        }
        FdKind::Directory => name(e, 2),
        FdKind::Pipe => name(e, 7),
        FdKind::Event => name(e, 9),
        FdKind::SignalFd => name(e, 11),
        FdKind::EventPoll => name(e, 12),
        FdKind::Inotify => name(e, 13),
        FdKind::TimerFd => name(e, 14),
        FdKind::Netlink => name(e, 15),
        // Anonymous inodes libs of 2022 had no kind for.
        FdKind::Bpf | FdKind::UserFaultFd | FdKind::IoUring | FdKind::PidFd => name(e, 10),
        FdKind::Unix => {
            e.push(8);
            let (src, dst) = match &fd.ends {
                SocketEnds::Tuple(OwnedSockTuple::Unix { src, dst, .. }) => (*src, *dst),
                _ => (0, 0),
            };
            e.extend_from_slice(&src.to_le_bytes());
            e.extend_from_slice(&dst.to_le_bytes());
            put_str(e, &fd.name, MAX_FD_NAME);
        }
        FdKind::Ipv4 | FdKind::Ipv6 => inet_entry(e, fd),
    }
    true
}

/// An IP socket: connected (both ends, client first), bound or listening
/// (the local end), or not yet either (all zero).
fn inet_entry(e: &mut Vec<u8>, fd: &FdInfo) {
    let v6 = fd.kind == FdKind::Ipv6;
    // An address as the entry holds it (4 or 16 bytes; an IPv4 address of
    // an IPv6 socket mapped); its port is returned.
    let put = |e: &mut Vec<u8>, a: Option<&OwnedSockAddr>| -> u16 {
        let (ip6, ip4, port) = match a {
            Some(OwnedSockAddr::V4(a)) => {
                (a.ip().to_ipv6_mapped().octets(), a.ip().octets(), a.port())
            }
            Some(OwnedSockAddr::V6(a)) => (a.ip().octets(), [0; 4], a.port()),
            _ => ([0; 16], [0; 4], 0),
        };
        e.extend_from_slice(if v6 { &ip6 } else { &ip4 });
        port
    };
    match &fd.ends {
        SocketEnds::Local(a) => {
            e.push(if v6 { 6 } else { 5 }); // SCAP_FD_IPV{6,4}_SERVSOCK
            let port = put(e, Some(a));
            e.extend_from_slice(&port.to_le_bytes());
        }
        ends => {
            let (src, dst) = match ends {
                SocketEnds::Tuple(OwnedSockTuple::V4 { src, dst }) => {
                    (Some(OwnedSockAddr::V4(*src)), Some(OwnedSockAddr::V4(*dst)))
                }
                SocketEnds::Tuple(OwnedSockTuple::V6 { src, dst }) => {
                    (Some(OwnedSockAddr::V6(*src)), Some(OwnedSockAddr::V6(*dst)))
                }
                _ => (None, None),
            };
            e.push(if v6 { 4 } else { 3 }); // SCAP_FD_IPV{6,4}_SOCK
            let sport = put(e, src.as_ref());
            let dport = put(e, dst.as_ref());
            e.extend_from_slice(&sport.to_le_bytes());
            e.extend_from_slice(&dport.to_le_bytes());
        }
    }
    e.push(l4proto(fd.l4proto));
}
