//! Keeps threads, processes and fds current from the records, the way
//! sysdig's parser does, so that each record resolves to its process and to
//! the fd it concerns.

use hashbrown::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::sync::LazyLock;

use super::model::{
    ContainerInfo, FdInfo, FdKind, GroupInfo, L4Proto, ProcessInfo, Snapshot, SocketEnds,
    SocketRole, ThreadInfo, UserInfo,
};
use super::path::resolve;
use crate::event::{Arg, ArgKind, EventType, OwnedSockAddr, Record, SockAddr, nr};

/// `AT_FDCWD`.
const AT_FDCWD: i64 = -100;
/// `O_CLOEXEC`.
const O_CLOEXEC: u32 = 0o2_000_000;
/// `O_DIRECTORY`.
const O_DIRECTORY: i64 = 0o200_000;
/// `CLONE_THREAD`.
const CLONE_THREAD: i64 = 0x0001_0000;
/// `CLONE_PARENT`.
const CLONE_PARENT: i64 = 0x0000_8000;
/// `EINPROGRESS`, returned by a non-blocking connect that goes on.
const EINPROGRESS: i64 = 115;
/// The kernel keeps at most this many bytes of `comm`.
const COMM_LEN: usize = 15;

/// A process as the tracker keeps it: its info, its fd table, its threads.
#[derive(Debug, Default)]
struct Process {
    info: ProcessInfo,
    fds: HashMap<i64, FdInfo>,
    threads: u32,
}

/// Where the fd a record concerns lives.
enum FdSlot {
    None,
    Table(i64, i64),
    Scratch,
}

/// What the tracker knows about one record.
#[derive(Clone, Copy, Debug)]
pub struct Context<'t> {
    /// The thread that made the call; `None` for records of no thread.
    pub thread: Option<&'t ThreadInfo>,
    /// Its process.
    pub process: Option<&'t ProcessInfo>,
    /// The fd the record concerns: the one read or written, the one opened
    /// (or that a failed open would have opened), the one closed.
    pub fd: Option<&'t FdInfo>,
    tracker: &'t Tracker,
}

impl<'t> Context<'t> {
    /// The parent of `process`, when known.
    pub fn parent(&self, process: &ProcessInfo) -> Option<&'t ProcessInfo> {
        self.tracker.process(process.ppid)
    }

    /// The tracker, for other look-ups.
    pub fn tracker(&self) -> &'t Tracker {
        self.tracker
    }
}

/// Thread, process and fd tables, updated record by record.
#[derive(Debug, Default)]
pub struct Tracker {
    threads: HashMap<i64, ThreadInfo>,
    processes: HashMap<i64, Process>,
    users: HashMap<u32, UserInfo>,
    groups: HashMap<u32, GroupInfo>,
    /// Containers by id, as described so far.
    containers: HashMap<Vec<u8>, ContainerInfo>,
    next_key: u64,
    /// The fd the last record closed, or a failed open's would-be fd.
    scratch_fd: Option<FdInfo>,
    /// A thread that exited with the last record; it is removed before the
    /// next one, so the exit record itself still resolves.
    exited: Option<i64>,
}

impl Tracker {
    /// An empty tracker.
    pub fn new() -> Self {
        Self::default()
    }

    /// A tracker that starts from `snapshot`.
    pub fn from_snapshot(snapshot: &Snapshot) -> Self {
        let mut tracker = Self::new();
        tracker.load_snapshot(snapshot);
        tracker
    }

    /// Adds everything in `snapshot`, replacing entries with the same ids.
    pub fn load_snapshot(&mut self, snapshot: &Snapshot) {
        for u in &snapshot.users {
            self.users.insert(u.uid, u.clone());
        }
        for g in &snapshot.groups {
            self.groups.insert(g.gid, g.clone());
        }
        for c in &snapshot.containers {
            self.containers.insert(c.id.clone(), c.clone());
        }
        for p in &snapshot.processes {
            self.insert_process(p.clone());
        }
        for t in &snapshot.threads {
            self.insert_thread(t.clone());
        }
        for fd in &snapshot.fds {
            self.insert_fd(fd.clone());
        }
    }

    /// Everything known now, sorted by pid, tid and fd.
    pub fn snapshot(&self, ts: u64) -> Snapshot {
        let mut processes: Vec<ProcessInfo> =
            self.processes.values().map(|p| p.info.clone()).collect();
        processes.sort_by_key(|p| p.pid);
        let mut threads: Vec<ThreadInfo> = self.threads.values().cloned().collect();
        threads.sort_by_key(|t| t.tid);
        let mut fds: Vec<FdInfo> = self
            .processes
            .values()
            .flat_map(|p| p.fds.values().cloned())
            .collect();
        fds.sort_by_key(|f| (f.pid, f.fd));
        let mut users: Vec<UserInfo> = self.users.values().cloned().collect();
        users.sort_by_key(|u| u.uid);
        let mut groups: Vec<GroupInfo> = self.groups.values().cloned().collect();
        groups.sort_by_key(|g| g.gid);
        let mut containers: Vec<ContainerInfo> = self.containers.values().cloned().collect();
        containers.sort_by(|a, b| a.id.cmp(&b.id));
        Snapshot {
            ts,
            processes,
            threads,
            fds,
            users,
            groups,
            containers,
        }
    }

    fn new_key(&mut self) -> u64 {
        self.next_key += 1;
        self.next_key
    }

    /// Adds or replaces a process (its fd table is kept).
    pub fn insert_process(&mut self, mut info: ProcessInfo) {
        info.key = self.new_key();
        if info.container.id.is_empty()
            && let Some(c) = self.containers.get(&info.container_id)
        {
            info.container = c.clone();
        }
        if info.user.is_empty() {
            info.user = self.user_name(info.uid);
        }
        if info.login_user.is_empty() {
            info.login_user = self.user_name(info.loginuid);
        }
        if info.group.is_empty() {
            info.group = self.group_name(info.gid);
        }
        let pid = info.pid;
        let entry = self.process_entry(pid);
        // The threads the tracker counts, not the caller's.
        info.threads = entry.threads;
        entry.info = info;
    }

    /// Adds or replaces a thread; its process is created when missing.
    pub fn insert_thread(&mut self, mut info: ThreadInfo) {
        info.key = self.new_key();
        self.process_entry(info.pid);
        self.add_thread(info);
    }

    /// Adds or replaces an fd in the table of its process.
    pub fn insert_fd(&mut self, mut info: FdInfo) {
        info.key = self.new_key();
        let (pid, fd) = (info.pid, info.fd);
        self.process_entry(pid).fds.insert(fd, info);
    }

    /// The process `pid`, created empty when missing.
    fn process_entry(&mut self, pid: i64) -> &mut Process {
        if !self.processes.contains_key(&pid) {
            let key = self.new_key();
            // Nothing is known about it: not even that it runs as root, nor
            // its parent (sysdig: ppid -1).
            let info = ProcessInfo {
                key,
                pid,
                ppid: -1,
                vpid: pid,
                uid: u32::MAX,
                gid: u32::MAX,
                loginuid: u32::MAX,
                ..ProcessInfo::default()
            };
            self.processes.insert(
                pid,
                Process {
                    info,
                    ..Process::default()
                },
            );
        }
        self.processes.get_mut(&pid).expect("inserted above")
    }

    /// The thread `tid`.
    pub fn thread(&self, tid: i64) -> Option<&ThreadInfo> {
        self.threads.get(&tid)
    }

    /// The process `pid`.
    pub fn process(&self, pid: i64) -> Option<&ProcessInfo> {
        self.processes.get(&pid).map(|p| &p.info)
    }

    /// What the capture says of container `id` (12 hex digits).
    pub fn container(&self, id: &[u8]) -> Option<&ContainerInfo> {
        self.containers.get(id)
    }

    /// The fd `fd` of process `pid`.
    pub fn fd(&self, pid: i64, fd: i64) -> Option<&FdInfo> {
        self.processes.get(&pid)?.fds.get(&fd)
    }

    /// All processes, in no particular order.
    pub fn processes(&self) -> impl Iterator<Item = &ProcessInfo> {
        self.processes.values().map(|p| &p.info)
    }

    /// All threads, in no particular order.
    pub fn threads(&self) -> impl Iterator<Item = &ThreadInfo> {
        self.threads.values()
    }

    /// The open fds of `pid`, in no particular order.
    pub fn fds_of(&self, pid: i64) -> impl Iterator<Item = &FdInfo> {
        self.processes
            .get(&pid)
            .into_iter()
            .flat_map(|p| p.fds.values())
    }

    fn user_name(&self, uid: u32) -> Vec<u8> {
        self.users
            .get(&uid)
            .map(|u| u.name.clone())
            .unwrap_or_default()
    }

    fn group_name(&self, gid: u32) -> Vec<u8> {
        self.groups
            .get(&gid)
            .map(|g| g.name.clone())
            .unwrap_or_default()
    }

    /// The context of a record the tracker is not asked to resolve: no
    /// thread, process or fd. For readers that skip records nobody will see
    /// (see `changes_state` for which records must still be applied).
    pub fn unresolved(&self) -> Context<'_> {
        Context {
            thread: None,
            process: None,
            fd: None,
            tracker: self,
        }
    }

    /// Applies `rec` to the tables and returns what it resolves to.
    pub fn apply(&mut self, rec: &Record<'_>) -> Context<'_> {
        if let Some(tid) = self.exited.take() {
            self.remove_thread(tid);
        }
        self.scratch_fd = None;
        // Container events describe a container, not a thread's doing.
        if rec.ty == EventType::CONTAINER {
            self.container_event(rec);
        }
        if rec.tid <= 0 {
            return Context {
                thread: None,
                process: None,
                fd: None,
                tracker: self,
            };
        }
        self.ensure_thread(rec.tid, rec.pid);
        let pid = self.threads.get(&rec.tid).map_or(rec.pid, |t| t.pid);
        let slot = self.update(rec, pid);
        self.context(rec.tid, pid, &slot)
    }

    fn context(&self, tid: i64, pid: i64, slot: &FdSlot) -> Context<'_> {
        let process = self.processes.get(&pid);
        let fd = match *slot {
            FdSlot::None => None,
            FdSlot::Table(owner, fd) => self.processes.get(&owner).and_then(|p| p.fds.get(&fd)),
            FdSlot::Scratch => self.scratch_fd.as_ref(),
        };
        Context {
            thread: self.threads.get(&tid),
            process: process.map(|p| &p.info),
            fd,
            tracker: self,
        }
    }

    fn ensure_thread(&mut self, tid: i64, pid: i64) {
        match self.threads.get(&tid) {
            // The kernel's pid wins: a thread that exec'd in a multi-threaded
            // process, or a tid reused after an exit we did not see.
            Some(t) if pid > 0 && t.pid != pid => self.remove_thread(tid),
            Some(_) => return,
            None => {}
        }
        let pid = if pid > 0 { pid } else { tid };
        self.process_entry(pid);
        // A thread seen for the first time is named after its main thread.
        let comm = self
            .threads
            .get(&pid)
            .map(|t| t.comm.clone())
            .unwrap_or_default();
        self.insert_thread(ThreadInfo {
            tid,
            pid,
            vtid: tid,
            comm,
            ..ThreadInfo::default()
        });
    }

    fn add_thread(&mut self, info: ThreadInfo) {
        let pid = info.pid;
        self.process_entry(pid).threads += 1;
        if let Some(old) = self.threads.insert(info.tid, info)
            && let Some(p) = self.processes.get_mut(&old.pid)
        {
            p.threads = p.threads.saturating_sub(1);
            let old_pid = old.pid;
            self.count_threads(old_pid);
        }
        self.count_threads(pid);
    }

    fn remove_thread(&mut self, tid: i64) {
        let Some(thread) = self.threads.remove(&tid) else {
            return;
        };
        if let Some(p) = self.processes.get_mut(&thread.pid) {
            p.threads = p.threads.saturating_sub(1);
            if p.threads == 0 {
                self.processes.remove(&thread.pid);
            }
        }
        self.count_threads(thread.pid);
    }

    /// Shows process `pid`'s thread count in its description
    /// (`proc.nthreads`), which then changes key.
    fn count_threads(&mut self, pid: i64) {
        let key = self.new_key();
        if let Some(p) = self.processes.get_mut(&pid)
            && p.info.threads != p.threads
        {
            p.info.threads = p.threads;
            p.info.key = key;
        }
    }

    fn fd_arg(rec: &Record<'_>) -> Option<i64> {
        let pos = (*FD_ARG_POSITION)
            .get(usize::from(rec.ty.0))
            .copied()
            .flatten()?;
        rec.args.get(usize::from(pos))?.as_int()
    }

    /// Updates the tables for `rec` (made by a thread of `pid`) and says
    /// which fd it concerns.
    #[expect(
        clippy::too_many_lines,
        reason = "one match arm per system call family reads best as a table"
    )]
    fn update(&mut self, rec: &Record<'_>, pid: i64) -> FdSlot {
        let info = rec.ty.info();
        let ok = rec.ret >= 0 && !rec.flags.contains(crate::event::RecordFlags::NO_RETURN);
        let arg = |name: &str| info.arg_index(name).and_then(|i| rec.args.get(i)).copied();
        let int = |name: &str| arg(name).and_then(|a| a.as_int());
        let bytes = |name: &str| match arg(name) {
            Some(Arg::Str(s)) => Some(s),
            _ => None,
        };
        match rec.ty.0 {
            nr::OPEN | nr::OPENAT | nr::OPENAT2 | nr::CREAT => {
                let dirfd = int("dirfd").unwrap_or(AT_FDCWD);
                let path = bytes("name").unwrap_or_default();
                let name = self.resolve_at(pid, dirfd, path);
                let flags = if rec.ty.0 == nr::CREAT {
                    0o1101 // O_WRONLY|O_CREAT|O_TRUNC
                } else {
                    int("flags").unwrap_or(0)
                };
                let kind = if flags & O_DIRECTORY != 0 {
                    FdKind::Directory
                } else {
                    FdKind::File
                };
                let fd = FdInfo {
                    pid,
                    fd: rec.ret,
                    kind,
                    name,
                    #[expect(clippy::cast_possible_truncation, reason = "open flags are 32 bits")]
                    #[expect(clippy::cast_sign_loss, reason = "flags are a bit set")]
                    flags: flags as u32,
                    ..FdInfo::default()
                };
                return self.opened(pid, ok, fd);
            }
            nr::SOCKET if ok => {
                let domain = int("domain").unwrap_or(0);
                let ty = int("type").unwrap_or(0) & 0xf;
                let kind = match domain {
                    1 => FdKind::Unix,
                    2 => FdKind::Ipv4,
                    10 => FdKind::Ipv6,
                    16 => FdKind::Netlink,
                    _ => FdKind::Unknown,
                };
                let l4proto = match (kind.is_inet(), ty) {
                    (true, 1) => L4Proto::Tcp,
                    (true, 2) => L4Proto::Udp,
                    (true, 3) => L4Proto::Raw,
                    _ => L4Proto::Unknown,
                };
                let fd = FdInfo {
                    pid,
                    fd: rec.ret,
                    kind,
                    l4proto,
                    ..FdInfo::default()
                };
                return self.opened(pid, true, fd);
            }
            nr::ACCEPT | nr::ACCEPT4 if ok => {
                let listening = int("sockfd").and_then(|fd| self.fd(pid, fd)).cloned();
                let mut fd = FdInfo {
                    pid,
                    fd: rec.ret,
                    role: SocketRole::Server,
                    ..FdInfo::default()
                };
                if let Some(l) = listening {
                    fd.kind = l.kind;
                    fd.l4proto = l.l4proto;
                    fd.name = l.name;
                }
                if let Some(Arg::SockTuple(t)) = arg("tuple") {
                    set_tuple(&mut fd, t);
                }
                // Only connection sockets accept; on IP that is TCP (as
                // sysdig assumes when it did not see the listening socket).
                if fd.l4proto == L4Proto::Unknown && matches!(fd.kind, FdKind::Ipv4 | FdKind::Ipv6)
                {
                    fd.l4proto = L4Proto::Tcp;
                }
                return self.opened(pid, true, fd);
            }
            nr::CONNECT => {
                if ok || rec.ret == -EINPROGRESS {
                    let key = self.new_key();
                    if let Some(fd) = Self::fd_arg(rec).and_then(|n| self.fd_mut(pid, n)) {
                        fd.key = key;
                        fd.role = SocketRole::Client;
                        match (arg("tuple"), arg("addr")) {
                            (Some(Arg::SockTuple(t)), _) => set_tuple(fd, t),
                            (_, Some(Arg::SockAddr(a))) => connect_to(fd, a),
                            _ => {}
                        }
                    }
                } else if let (Some(Arg::SockTuple(t)), Some(n)) = (arg("tuple"), Self::fd_arg(rec))
                    && let Some(mut fd) = self.fd(pid, n).cloned()
                {
                    // A connect that failed names its fd, for this call only,
                    // after the ends its tuple reports (the unix path it
                    // tried), as sysdig does; the socket stays unconnected.
                    fd.role = SocketRole::Client;
                    set_tuple(&mut fd, t);
                    return self.opened(pid, false, fd);
                }
            }
            nr::BIND if ok => {
                let key = self.new_key();
                if let (Some(fd), Some(Arg::SockAddr(a))) = (
                    Self::fd_arg(rec).and_then(|n| self.fd_mut(pid, n)),
                    arg("addr"),
                ) {
                    fd.key = key;
                    match a {
                        SockAddr::Unix(path) => fd.name = path.to_vec(),
                        SockAddr::V4(_) | SockAddr::V6(_) => {
                            fd.ends = SocketEnds::Local(owned_addr(a));
                            // A bound socket serves its address until it
                            // connects (sysdig's server socket: fd.is_server).
                            fd.role = SocketRole::Server;
                        }
                        SockAddr::Other(_) => {}
                    }
                }
            }
            nr::LISTEN if ok => {
                let key = self.new_key();
                if let Some(fd) = Self::fd_arg(rec).and_then(|n| self.fd_mut(pid, n)) {
                    fd.key = key;
                    fd.role = SocketRole::Server;
                }
            }
            nr::SENDTO | nr::RECVFROM | nr::SENDMSG | nr::RECVMSG if ok => {
                // Unconnected UDP sockets learn their peer from each datagram.
                if let Some(Arg::SockTuple(t)) = arg("tuple") {
                    let key = self.new_key();
                    // A connected socket keeps the ends of its connect.
                    if let Some(fd) = Self::fd_arg(rec).and_then(|n| self.fd_mut(pid, n))
                        && ((fd.l4proto == L4Proto::Udp && fd.role != SocketRole::Client)
                            || matches!(fd.ends, SocketEnds::None))
                    {
                        fd.key = key;
                        set_tuple(fd, t);
                    }
                }
            }
            nr::CLOSE => {
                let n = Self::fd_arg(rec).unwrap_or(-1);
                if ok {
                    self.scratch_fd = self.processes.get_mut(&pid).and_then(|p| p.fds.remove(&n));
                    return FdSlot::Scratch;
                }
                return FdSlot::Table(pid, n);
            }
            nr::DUP | nr::DUP2 | nr::DUP3 if ok => {
                if let Some(old) = int("oldfd") {
                    return self.dup(pid, old, rec.ret);
                }
            }
            nr::FCNTL if ok => {
                // F_DUPFD and F_DUPFD_CLOEXEC.
                if matches!(int("cmd"), Some(0 | 1030))
                    && let Some(old) = Self::fd_arg(rec)
                {
                    return self.dup(pid, old, rec.ret);
                }
            }
            nr::PIPE | nr::PIPE2 | nr::SOCKETPAIR if ok => {
                let kind = if rec.ty.0 == nr::SOCKETPAIR {
                    FdKind::Unix
                } else {
                    FdKind::Pipe
                };
                for name in ["fd1", "fd2"] {
                    if let Some(n) = int(name) {
                        let fd = FdInfo {
                            pid,
                            fd: n,
                            kind,
                            ..FdInfo::default()
                        };
                        self.insert_fd(fd);
                    }
                }
            }
            nr::MEMFD_CREATE if ok => {
                let mut name = b"memfd:".to_vec();
                name.extend_from_slice(bytes("name").unwrap_or_default());
                let fd = FdInfo {
                    pid,
                    fd: rec.ret,
                    kind: FdKind::Memfd,
                    name,
                    ..FdInfo::default()
                };
                return self.opened(pid, true, fd);
            }
            nr::CHDIR if ok => {
                let cwd = self.resolve_at(pid, AT_FDCWD, bytes("path").unwrap_or_default());
                self.update_process(pid, |p| p.cwd = cwd);
            }
            nr::FCHDIR if ok => {
                if let Some(dir) = Self::fd_arg(rec).and_then(|n| self.fd(pid, n)) {
                    let cwd = dir.name.clone();
                    self.update_process(pid, |p| p.cwd = cwd);
                }
            }
            nr::EXECVE | nr::EXECVEAT if ok => {
                let dirfd = int("dirfd").unwrap_or(AT_FDCWD);
                let filename = bytes("filename")
                    .or_else(|| bytes("pathname"))
                    .unwrap_or_default();
                let argv = bytes("args");
                self.exec(rec.tid, pid, dirfd, filename, argv);
            }
            nr::CLONE | nr::CLONE3 | nr::FORK | nr::VFORK if rec.ret > 0 => {
                let flags = int("flags").unwrap_or(0);
                let child_pid = if flags & CLONE_THREAD != 0 {
                    pid
                } else {
                    rec.ret
                };
                self.fork(
                    rec.tid,
                    pid,
                    rec.ret,
                    child_pid,
                    flags,
                    rec.ts_exit(),
                    false,
                );
            }
            nr::SETUID | nr::SETRESUID if ok => {
                // The effective uid; setresuid's -1 leaves it as it was.
                let uid = int("uid").or_else(|| int("euid")).unwrap_or(-1);
                if let Ok(uid) = u32::try_from(uid)
                    && (uid != u32::MAX || rec.ty.0 == nr::SETUID)
                {
                    let user = self.user_name(uid);
                    self.update_process(pid, |p| {
                        p.uid = uid;
                        p.user = user;
                    });
                }
            }
            // As sysdig: the new session's id; the process group is not
            // followed.
            nr::SETSID if ok => self.update_process(pid, |p| p.sid = rec.ret),
            nr::SETGID | nr::SETRESGID if ok => {
                let gid = int("gid").or_else(|| int("egid")).unwrap_or(-1);
                if let Ok(gid) = u32::try_from(gid)
                    && (gid != u32::MAX || rec.ty.0 == nr::SETGID)
                {
                    let group = self.group_name(gid);
                    self.update_process(pid, |p| {
                        p.gid = gid;
                        p.group = group;
                    });
                }
            }
            nr::PRCTL if ok => {
                // PR_SET_NAME renames the calling thread.
                if int("option") == Some(15)
                    && let Some(name) = bytes("arg2_str")
                {
                    let comm = name[..name.len().min(COMM_LEN)].to_vec();
                    let key = self.new_key();
                    if let Some(t) = self.threads.get_mut(&rec.tid) {
                        t.comm = comm;
                        t.key = key;
                    }
                    if rec.tid == pid {
                        self.touch_descendants(pid);
                    }
                }
            }
            n if n == EventType::PROC_FORK.0 => {
                if let (Some(child_tid), Some(child_pid)) = (int("child_tid"), int("child_pid")) {
                    self.fork(
                        rec.tid,
                        pid,
                        child_tid,
                        child_pid,
                        int("flags").unwrap_or(0),
                        rec.ts,
                        true,
                    );
                }
            }
            n if n == EventType::PROC_EXEC.0 => {
                let filename = bytes("filename").unwrap_or_default();
                self.exec(rec.tid, pid, AT_FDCWD, filename, None);
            }
            n if n == EventType::PROC_EXIT.0 => self.exited = Some(rec.tid),
            n if n == EventType::THREAD_INFO.0 => {
                if let Some(comm) = bytes("comm") {
                    let comm = comm[..comm.len().min(COMM_LEN)].to_vec();
                    let key = self.new_key();
                    if let Some(t) = self.threads.get_mut(&rec.tid) {
                        t.comm = comm;
                        t.key = key;
                    }
                }
                let container =
                    bytes("container_id").and_then(|id| self.containers.get(id).cloned());
                let id = |name| int(name).and_then(|v| u32::try_from(v).ok());
                let (uid, gid) = (id("uid"), id("gid"));
                let user = uid.map(|u| self.user_name(u));
                let login = id("loginuid").map(|u| (u, self.user_name(u)));
                let group = gid.map(|g| self.group_name(g));
                let text = |field: &mut Vec<u8>, name: &str| {
                    if let Some(v) = bytes(name) {
                        *field = v.to_vec();
                    }
                };
                self.update_process(pid, |p| {
                    p.ppid = int("ppid").unwrap_or(p.ppid);
                    text(&mut p.exe, "exe");
                    text(&mut p.exepath, "exepath");
                    text(&mut p.args, "args");
                    text(&mut p.cwd, "cwd");
                    if let (Some(uid), Some(user)) = (uid, user) {
                        p.uid = uid;
                        p.user = user;
                    }
                    if let (Some(gid), Some(group)) = (gid, group) {
                        p.gid = gid;
                        p.group = group;
                    }
                    if let Some((uid, name)) = login {
                        p.loginuid = uid;
                        p.login_user = name;
                    }
                    let size = |name| int(name).and_then(|v| u64::try_from(v).ok());
                    p.fd_limit = size("fdlimit").unwrap_or(p.fd_limit);
                    p.vm_size = size("vm_size").unwrap_or(p.vm_size);
                    p.vm_rss = size("vm_rss").unwrap_or(p.vm_rss);
                    p.sid = int("sid").unwrap_or(p.sid);
                    p.vpgid = int("vpgid").unwrap_or(p.vpgid);
                    p.tty = id("tty").unwrap_or(p.tty);
                    text(&mut p.pod_uid, "pod_uid");
                    if let Some(id) = bytes("container_id") {
                        p.container_id = id.to_vec();
                        p.container = container.unwrap_or_default();
                    }
                });
            }
            nr::BPF if ok => {
                // Only some commands return a new fd.
                let cmd = rec.args.first().and_then(Arg::as_int);
                if matches!(
                    cmd,
                    Some(0 | 5 | 7 | 13 | 14 | 17 | 18 | 19 | 28 | 30 | 32 | 33)
                ) {
                    let fd = FdInfo {
                        pid,
                        fd: rec.ret,
                        kind: FdKind::Bpf,
                        ..FdInfo::default()
                    };
                    return self.opened(pid, true, fd);
                }
            }
            n => {
                if let Some(kind) = fd_creating_kind(n)
                    && ok
                {
                    let fd = FdInfo {
                        pid,
                        fd: rec.ret,
                        kind,
                        ..FdInfo::default()
                    };
                    return self.opened(pid, true, fd);
                }
            }
        }
        match Self::fd_arg(rec) {
            Some(n) if n >= 0 => FdSlot::Table(pid, n),
            _ => FdSlot::None,
        }
    }

    fn fd_mut(&mut self, pid: i64, fd: i64) -> Option<&mut FdInfo> {
        self.processes.get_mut(&pid)?.fds.get_mut(&fd)
    }

    /// Records a new fd; a failed open still resolves to the name it tried.
    fn opened(&mut self, pid: i64, ok: bool, fd: FdInfo) -> FdSlot {
        if ok {
            let n = fd.fd;
            self.insert_fd(fd);
            FdSlot::Table(pid, n)
        } else {
            let mut fd = fd;
            fd.key = self.new_key();
            self.scratch_fd = Some(fd);
            FdSlot::Scratch
        }
    }

    fn dup(&mut self, pid: i64, old: i64, new: i64) -> FdSlot {
        if let Some(mut fd) = self.fd(pid, old).cloned() {
            fd.fd = new;
            fd.flags &= !O_CLOEXEC;
            self.insert_fd(fd);
            return FdSlot::Table(pid, new);
        }
        FdSlot::Table(pid, old)
    }

    fn container_event(&mut self, rec: &Record<'_>) {
        let info = rec.ty.info();
        let arg = |name: &str| info.arg_index(name).and_then(|i| rec.args.get(i)).copied();
        let text = |name: &str| match arg(name) {
            Some(Arg::Str(s)) => s.to_vec(),
            _ => Vec::new(),
        };
        let id = text("id");
        if id.is_empty() {
            return;
        }
        let int = |name: &str| arg(name).and_then(|a| a.as_int());
        self.describe_container(ContainerInfo {
            id,
            full_id: text("full_id"),
            kind: int("type")
                .map(|t| container_type_name(t).as_bytes().to_vec())
                .unwrap_or_default(),
            name: text("name"),
            image: text("image"),
            image_repo: text("image_repo"),
            image_tag: text("image_tag"),
            image_digest: text("image_digest"),
            privileged: int("privileged").is_some_and(|v| v != 0),
            labels: text("labels"),
        });
    }

    /// Keeps what a container event says, and gives it to every process in
    /// that container.
    fn describe_container(&mut self, info: ContainerInfo) {
        let mut key = self.next_key;
        for p in self.processes.values_mut() {
            if p.info.container_id == info.id {
                key += 1;
                p.info.container = info.clone();
                p.info.key = key;
            }
        }
        self.next_key = key;
        self.containers.insert(info.id.clone(), info);
    }

    fn update_process(&mut self, pid: i64, f: impl FnOnce(&mut ProcessInfo)) {
        let key = self.new_key();
        if let Some(p) = self.processes.get_mut(&pid) {
            f(&mut p.info);
            p.info.key = key;
        }
    }

    /// The absolute form of `path`, relative to `dirfd` (or the cwd).
    fn resolve_at(&self, pid: i64, dirfd: i64, path: &[u8]) -> Vec<u8> {
        let base: &[u8] = if dirfd == AT_FDCWD {
            // Not known: the path stays relative.
            self.process(pid).map_or(b"", |p| &p.cwd)
        } else {
            self.fd(pid, dirfd).map_or(b"", |f| &f.name)
        };
        resolve(base, path)
    }

    fn exec(&mut self, tid: i64, pid: i64, dirfd: i64, filename: &[u8], argv: Option<&[u8]>) {
        let exepath = self.resolve_at(pid, dirfd, filename);
        let base = filename.rsplit(|&b| b == b'/').next().unwrap_or_default();
        let comm = base[..base.len().min(COMM_LEN)].to_vec();
        let key = self.new_key();
        if let Some(t) = self.threads.get_mut(&tid) {
            t.comm = comm;
            t.key = key;
        }
        self.update_process(pid, |p| {
            if let Some(argv) = argv {
                let mut parts = super::model::split_nul(argv);
                p.exe = parts.next().unwrap_or_default().to_vec();
                p.args.clear();
                for a in parts {
                    p.args.extend_from_slice(a);
                    p.args.push(0);
                }
            } else if p.exe.is_empty() {
                p.exe = filename.to_vec();
            }
            p.exepath = exepath;
        });
        // A successful exec closes the close-on-exec fds.
        if let Some(p) = self.processes.get_mut(&pid) {
            p.fds.retain(|_, fd| fd.flags & O_CLOEXEC == 0);
        }
        self.touch_descendants(pid);
    }

    /// Gives every descendant of `pid` a new key: their ancestry (parent
    /// name) changed. Exec is rare next to other calls, so one pass over the
    /// process table here keeps the per-record path free of ancestry walks.
    fn touch_descendants(&mut self, pid: i64) {
        let mut children: HashMap<i64, Vec<i64>> = HashMap::new();
        for p in self.processes.values() {
            if p.info.ppid != p.info.pid {
                children.entry(p.info.ppid).or_default().push(p.info.pid);
            }
        }
        let mut stack = children.remove(&pid).unwrap_or_default();
        let mut seen = 0usize;
        while let Some(child) = stack.pop() {
            seen += 1;
            if seen > self.processes.len() {
                break; // a cycle in corrupt input
            }
            let key = self.new_key();
            if let Some(p) = self.processes.get_mut(&child) {
                p.info.key = key;
            }
            stack.extend(children.remove(&child).unwrap_or_default());
        }
    }

    /// `parent_tid` made thread `child_tid` of process `child_pid`. A clone
    /// whose child is already known changes nothing (the `procfork` that
    /// announced it came first); a `procfork` (`new_life`) for a known tid
    /// starts the tid's new life: nothing of the old thread, nor of its
    /// process when the child is a process, carries over.
    #[expect(clippy::too_many_arguments, reason = "the facts of one fork, named")]
    fn fork(
        &mut self,
        parent_tid: i64,
        parent_pid: i64,
        child_tid: i64,
        child_pid: i64,
        flags: i64,
        ts: u64,
        new_life: bool,
    ) {
        // A thread is not its own child (corrupt input).
        if child_tid == parent_tid || child_tid <= 0 {
            return;
        }
        let known = self
            .threads
            .get(&child_tid)
            .is_some_and(|t| t.pid == child_pid);
        if known && !new_life {
            return;
        }
        let new_process = flags & CLONE_THREAD == 0 && child_pid != parent_pid;
        if new_life {
            self.remove_thread(child_tid);
            if new_process && self.processes.remove(&child_pid).is_some() {
                // Threads of the old process whose exits were missed.
                self.threads.retain(|_, t| t.pid != child_pid);
            }
        }
        // A new thread of a process the capture does not know (an imported
        // clone names the thread's parent process, not its own): nothing
        // is known of that process yet.
        let unknown_process = flags & CLONE_THREAD != 0 && !self.processes.contains_key(&child_pid);
        if child_pid != parent_pid && !self.processes.contains_key(&child_pid) && !unknown_process {
            let parent = self.processes.get(&parent_pid);
            let mut info = parent.map(|p| p.info.clone()).unwrap_or_default();
            let fds: HashMap<i64, FdInfo> = parent
                .map(|p| {
                    p.fds
                        .iter()
                        .map(|(&n, fd)| {
                            (
                                n,
                                FdInfo {
                                    pid: child_pid,
                                    ..fd.clone()
                                },
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            info.pid = child_pid;
            info.vpid = child_pid;
            // A new process starts now (`proc.duration`, `proc_exec_time`).
            info.start_ts = ts;
            info.ppid = if flags & CLONE_PARENT != 0 {
                info.ppid
            } else {
                parent_pid
            };
            info.key = self.new_key();
            self.processes.insert(
                child_pid,
                Process {
                    info,
                    fds,
                    threads: 0,
                },
            );
        }
        // A new thread or process takes the name of the thread that made it;
        // a thread whose clone names another process as its parent (an
        // imported clone) takes its own process's.
        let namesake = if flags & CLONE_THREAD != 0 && child_pid != parent_pid {
            child_pid
        } else {
            parent_tid
        };
        let comm = self
            .threads
            .get(&namesake)
            .map(|t| t.comm.clone())
            .unwrap_or_default();
        self.insert_thread(ThreadInfo {
            tid: child_tid,
            pid: child_pid,
            vtid: child_tid,
            comm,
            ..ThreadInfo::default()
        });
    }
}

/// Position of the fd argument of each event type (the first argument of
/// kind [`ArgKind::Fd`]).
static FD_ARG_POSITION: LazyLock<Vec<Option<u8>>> = LazyLock::new(|| {
    let mut positions = vec![None; usize::from(EventType::FIRST_KERNEL_EVENT)];
    for ty in EventType::all().filter(|t| t.is_syscall()) {
        let info = ty.info();
        if info.typed {
            positions[usize::from(ty.0)] = info
                .args
                .iter()
                .position(|a| a.kind == ArgKind::Fd)
                .and_then(|p| u8::try_from(p).ok());
        }
    }
    positions
});

/// Container runtimes as `.scap` container events number them (libs'
/// `container_type`), by the name sysdig shows as `container.type`.
const CONTAINER_TYPES: [&str; 12] = [
    "docker",
    "lxc",
    "libvirt-lxc",
    "mesos",
    "rkt",
    "custom",
    "cri",
    "containerd",
    "cri-o",
    "bpm",
    "static",
    "podman",
];

/// The name of a container runtime as `.scap` container events number them
/// (libs' `container_type`), as sysdig shows `container.type`.
pub fn container_type_name(n: i64) -> &'static str {
    usize::try_from(n)
        .ok()
        .and_then(|i| CONTAINER_TYPES.get(i))
        .copied()
        .unwrap_or("unknown")
}

/// The number of a container runtime's name: the inverse of
/// [`container_type_name`].
pub fn container_type_number(name: &[u8]) -> Option<i64> {
    CONTAINER_TYPES
        .iter()
        .position(|t| t.as_bytes() == name)
        .and_then(|i| i64::try_from(i).ok())
}

/// Calls `f` with the `container` record that describes `info` at `ts`:
/// what a producer that learns of a container (the agent's runtime
/// lookups) writes, and what the tracker reads back into the same
/// [`ContainerInfo`].
pub fn with_container_record<T>(
    info: &ContainerInfo,
    ts: u64,
    f: impl FnOnce(&Record<'_>) -> T,
) -> T {
    let args = [
        Arg::Str(&info.id),
        container_type_number(&info.kind).map_or(Arg::Absent, Arg::Int),
        Arg::Str(&info.name),
        Arg::Str(&info.image),
        Arg::Str(&info.full_id),
        Arg::Str(&info.image_repo),
        Arg::Str(&info.image_tag),
        Arg::Str(&info.image_digest),
        Arg::Int(i64::from(info.privileged)),
        Arg::Str(&info.labels),
    ];
    f(&Record {
        ty: EventType::CONTAINER,
        ts,
        args: &args,
        ..Record::default()
    })
}

/// Calls `f` with the `threadinfo` record that moves thread `tid` of
/// process `pid` into container `container_id` (empty: the host) of pod
/// `pod_uid` at `ts`, saying nothing else about it.
pub fn with_container_move_record<T>(
    tid: i64,
    pid: i64,
    ts: u64,
    container_id: &[u8],
    pod_uid: &[u8],
    f: impl FnOnce(&Record<'_>) -> T,
) -> T {
    let info = EventType::THREAD_INFO.info();
    let mut args = [Arg::Absent; 17];
    for (name, value) in [("container_id", container_id), ("pod_uid", pod_uid)] {
        if let Some(i) = info.arg_index(name) {
            args[i] = Arg::Str(value);
        }
    }
    f(&Record {
        ty: EventType::THREAD_INFO,
        ts,
        tid,
        pid,
        args: &args[..info.args.len()],
        ..Record::default()
    })
}

/// True for the event types the tracker learns from: a producer that drops
/// events before they reach a file (a capture filter) must still apply
/// these to its tracker, or later events resolve to the wrong names.
pub fn changes_state(ty: EventType) -> bool {
    matches!(
        ty,
        EventType::PROC_EXEC
            | EventType::PROC_FORK
            | EventType::PROC_EXIT
            | EventType::THREAD_INFO
            | EventType::CONTAINER
    ) || (ty.is_syscall() && changes_state_syscall(ty))
}

fn changes_state_syscall(ty: EventType) -> bool {
    fd_creating_kind(ty.0).is_some()
        || matches!(
            ty.0,
            nr::OPEN
                | nr::OPENAT
                | nr::OPENAT2
                | nr::CREAT
                | nr::SOCKET
                | nr::ACCEPT
                | nr::ACCEPT4
                | nr::CONNECT
                | nr::BIND
                | nr::LISTEN
                | nr::SENDTO
                | nr::RECVFROM
                | nr::SENDMSG
                | nr::RECVMSG
                | nr::CLOSE
                | nr::DUP
                | nr::DUP2
                | nr::DUP3
                | nr::FCNTL
                | nr::PIPE
                | nr::PIPE2
                | nr::SOCKETPAIR
                | nr::MEMFD_CREATE
                | nr::CHDIR
                | nr::FCHDIR
                | nr::EXECVE
                | nr::EXECVEAT
                | nr::CLONE
                | nr::CLONE3
                | nr::FORK
                | nr::VFORK
                | nr::SETUID
                | nr::SETRESUID
                | nr::SETSID
                | nr::SETGID
                | nr::SETRESGID
                | nr::PRCTL
                | nr::BPF
        )
}

/// The kind of fd the (untyped) system call `n` returns.
fn fd_creating_kind(n: u16) -> Option<FdKind> {
    Some(match n {
        nr::EVENTFD | nr::EVENTFD2 => FdKind::Event,
        nr::SIGNALFD | nr::SIGNALFD4 => FdKind::SignalFd,
        nr::TIMERFD_CREATE => FdKind::TimerFd,
        nr::EPOLL_CREATE | nr::EPOLL_CREATE1 => FdKind::EventPoll,
        nr::INOTIFY_INIT | nr::INOTIFY_INIT1 => FdKind::Inotify,
        nr::USERFAULTFD => FdKind::UserFaultFd,
        nr::IO_URING_SETUP => FdKind::IoUring,
        nr::PIDFD_OPEN => FdKind::PidFd,
        _ => return None,
    })
}

fn owned_addr(a: SockAddr<'_>) -> OwnedSockAddr {
    match a {
        SockAddr::V4(v) => OwnedSockAddr::V4(v),
        SockAddr::V6(v) => OwnedSockAddr::V6(v),
        SockAddr::Unix(p) => OwnedSockAddr::Unix(p.to_vec()),
        SockAddr::Other(f) => OwnedSockAddr::Other(f),
    }
}

fn set_tuple(fd: &mut FdInfo, t: crate::event::SockTuple<'_>) {
    use crate::event::{OwnedSockTuple, SockTuple};
    fd.ends = SocketEnds::Tuple(match t {
        SockTuple::V4 { src, dst } => {
            if fd.kind == FdKind::Unknown {
                fd.kind = FdKind::Ipv4;
            }
            OwnedSockTuple::V4 { src, dst }
        }
        SockTuple::V6 { src, dst } => {
            if fd.kind == FdKind::Unknown {
                fd.kind = FdKind::Ipv6;
            }
            OwnedSockTuple::V6 { src, dst }
        }
        SockTuple::Unix { src, dst, path } => {
            fd.kind = FdKind::Unix;
            if !path.is_empty() {
                fd.name = path.to_vec();
            }
            OwnedSockTuple::Unix {
                src,
                dst,
                path: path.to_vec(),
            }
        }
    });
}

/// A connect whose tuple the producer did not fill: the local end is not
/// known, the remote one is the address connected to.
fn connect_to(fd: &mut FdInfo, a: SockAddr<'_>) {
    use crate::event::OwnedSockTuple;
    fd.ends = match a {
        SockAddr::V4(dst) => SocketEnds::Tuple(OwnedSockTuple::V4 {
            src: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0),
            dst,
        }),
        SockAddr::V6(dst) => SocketEnds::Tuple(OwnedSockTuple::V6 {
            src: SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 0, 0, 0),
            dst,
        }),
        SockAddr::Unix(path) => {
            fd.name = path.to_vec();
            return;
        }
        SockAddr::Other(_) => return,
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{OwnedArg, OwnedRecord, OwnedSockTuple};

    fn rec(name: &str, tid: i64, ret: i64, args: Vec<OwnedArg>) -> OwnedRecord {
        OwnedRecord {
            ty: EventType::from_name(name).unwrap(),
            tid,
            pid: tid,
            ret,
            args,
            ..OwnedRecord::default()
        }
    }

    fn s(x: &str) -> OwnedArg {
        OwnedArg::Str(x.as_bytes().to_vec())
    }

    fn i(x: i64) -> OwnedArg {
        OwnedArg::Int(x)
    }

    /// Every event type outside `changes_state` leaves the tables as they
    /// were, whatever its arguments: dropping it cannot mislead the tracker.
    #[test]
    fn types_outside_changes_state_leave_the_tables_alone() {
        use crate::event::ArgKind;
        for ty in EventType::all().filter(|t| !changes_state(*t)) {
            let mut t = Tracker::new();
            t.insert_process(ProcessInfo {
                pid: 10,
                ..ProcessInfo::default()
            });
            t.insert_thread(ThreadInfo {
                tid: 10,
                pid: 10,
                ..ThreadInfo::default()
            });
            t.insert_fd(FdInfo {
                pid: 10,
                fd: 3,
                kind: FdKind::File,
                name: b"/a".to_vec(),
                ..FdInfo::default()
            });
            let args = ty
                .info()
                .args
                .iter()
                .map(|a| match a.kind {
                    ArgKind::Path | ArgKind::Str | ArgKind::Argv => s("/b"),
                    _ => i(3),
                })
                .collect();
            let before = t.snapshot(0);
            OwnedRecord {
                ty,
                ..rec("read", 10, 4, args)
            }
            .with_record(|r| {
                t.apply(r);
            });
            assert_eq!(t.snapshot(0), before, "{} changed the tables", ty.name());
        }
    }

    /// Applies `records` in order; returns what the last one resolved to:
    /// (comm, cwd, fd name, fd kind).
    fn run(records: &[OwnedRecord]) -> (String, String, Option<(String, FdKind)>) {
        let mut t = Tracker::new();
        t.insert_process(ProcessInfo {
            pid: 10,
            cwd: b"/home/u".to_vec(),
            ..ProcessInfo::default()
        });
        t.insert_thread(ThreadInfo {
            tid: 10,
            pid: 10,
            comm: b"bash".to_vec(),
            ..ThreadInfo::default()
        });
        let mut last = (String::new(), String::new(), None);
        for r in records {
            r.with_record(|rec| {
                let ctx = t.apply(rec);
                let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
                last = (
                    ctx.thread.map(|t| text(&t.comm)).unwrap_or_default(),
                    ctx.process.map(|p| text(&p.cwd)).unwrap_or_default(),
                    ctx.fd.map(|f| (text(&f.name), f.kind)),
                );
            });
        }
        last
    }

    /// What a sequence of records is about, the records, and the fd the last
    /// one must resolve to (name and kind).
    type Case = (&'static str, Vec<OwnedRecord>, Option<(String, FdKind)>);

    #[expect(clippy::too_many_lines, reason = "a table of cases")]
    fn resolution_cases() -> Vec<Case> {
        let fd = |name: &str, kind| Some((name.to_string(), kind));
        let tuple = OwnedArg::SockTuple(OwnedSockTuple::V4 {
            src: "10.0.0.1:40000".parse().unwrap(),
            dst: "10.0.0.2:80".parse().unwrap(),
        });
        vec![
            (
                "relative open, then a read of it",
                vec![
                    rec(
                        "openat",
                        10,
                        3,
                        vec![i(-100), s("../x/./a.txt"), i(0), i(0)],
                    ),
                    rec(
                        "read",
                        10,
                        5,
                        vec![i(3), i(10), OwnedArg::Bytes(b"hello".to_vec())],
                    ),
                ],
                fd("/home/x/a.txt", FdKind::File),
            ),
            (
                "a failed open resolves to the name it tried",
                vec![rec(
                    "openat",
                    10,
                    -2,
                    vec![i(-100), s("/etc/shadow"), i(0), i(0)],
                )],
                fd("/etc/shadow", FdKind::File),
            ),
            (
                "close resolves to the fd it closed",
                vec![
                    rec("open", 10, 4, vec![s("/tmp/f"), i(0), i(0)]),
                    rec("close", 10, 0, vec![i(4)]),
                ],
                fd("/tmp/f", FdKind::File),
            ),
            (
                "a closed fd is gone",
                vec![
                    rec("open", 10, 4, vec![s("/tmp/f"), i(0), i(0)]),
                    rec("close", 10, 0, vec![i(4)]),
                    rec("read", 10, -9, vec![i(4), i(1), OwnedArg::Absent]),
                ],
                None,
            ),
            (
                "dup2 copies the fd",
                vec![
                    rec("open", 10, 4, vec![s("/tmp/f"), i(0), i(0)]),
                    rec("dup2", 10, 1, vec![i(4), i(1)]),
                    rec(
                        "write",
                        10,
                        1,
                        vec![i(1), i(1), OwnedArg::Bytes(b"x".to_vec())],
                    ),
                ],
                fd("/tmp/f", FdKind::File),
            ),
            (
                "openat relative to a directory fd",
                vec![
                    rec(
                        "openat",
                        10,
                        5,
                        vec![i(-100), s("/var/log"), i(0o200_000), i(0)],
                    ),
                    rec("openat", 10, 6, vec![i(5), s("syslog"), i(0), i(0)]),
                ],
                fd("/var/log/syslog", FdKind::File),
            ),
            (
                "socket then connect carries the tuple",
                vec![
                    rec("socket", 10, 7, vec![i(2), i(1), i(0)]),
                    rec(
                        "connect",
                        10,
                        0,
                        vec![i(7), OwnedArg::Absent, tuple.clone()],
                    ),
                ],
                fd("", FdKind::Ipv4),
            ),
            (
                "a relative open of a thread whose cwd is not known stays relative",
                vec![rec("open", 30, 3, vec![s("./tls//libc.so.6"), i(0), i(0)])],
                fd("tls/libc.so.6", FdKind::File),
            ),
            (
                "pipe makes two pipe fds",
                vec![
                    rec("pipe2", 10, 0, vec![i(8), i(9), i(0)]),
                    rec("write", 10, 1, vec![i(9), i(1), OwnedArg::Absent]),
                ],
                fd("", FdKind::Pipe),
            ),
        ]
    }

    #[test]
    fn records_resolve_like_sysdig() {
        let cases = resolution_cases();
        for (what, records, want) in cases {
            assert_eq!(run(&records).2, want, "{what}");
        }
    }

    /// What a producer writes of a container and of a process moving into
    /// one reads back as the same container, given to the process.
    #[test]
    fn container_records_round_trip_through_the_tracker() {
        let info = ContainerInfo {
            id: b"0123456789ab".to_vec(),
            full_id: b"0123456789ab".repeat(6)[..64].to_vec(),
            kind: b"cri-o".to_vec(),
            name: b"web".to_vec(),
            image: b"nginx:1.25".to_vec(),
            image_repo: b"nginx".to_vec(),
            image_tag: b"1.25".to_vec(),
            image_digest: b"sha256:beef".to_vec(),
            privileged: true,
            labels: b"app=shop\0io.kubernetes.pod.name=shop-1\0".to_vec(),
        };
        let mut t = Tracker::new();
        t.insert_process(ProcessInfo {
            pid: 7,
            ..ProcessInfo::default()
        });
        with_container_move_record(7, 7, 10, &info.id, b"pod-uid", |rec| {
            t.apply(rec);
        });
        assert_eq!(t.process(7).unwrap().container_id, info.id);
        assert_eq!(t.process(7).unwrap().pod_uid, b"pod-uid");
        with_container_record(&info, 11, |rec| {
            t.apply(rec);
        });
        assert_eq!(t.container(&info.id), Some(&info));
        assert_eq!(t.process(7).unwrap().container, info);
        assert_eq!(
            container_type_number(b"cri-o").map(container_type_name),
            Some("cri-o")
        );
        assert_eq!(container_type_number(b"zone"), None);
    }

    /// A thread first seen mid-stream takes the identity a `threadinfo`
    /// gives; what it does not give stays as it was.
    #[test]
    fn threadinfo_gives_a_thread_seen_first_its_identity() {
        let mut t = Tracker::from_snapshot(&Snapshot {
            users: vec![UserInfo {
                uid: 33,
                gid: 33,
                name: b"www-data".to_vec(),
                ..UserInfo::default()
            }],
            ..Snapshot::default()
        });
        let mut info = rec(
            "threadinfo",
            500,
            0,
            vec![
                i(1),
                s("apache2"),
                s("/usr/sbin/apache2"),
                s("/usr/sbin/apache2"),
                s("-k\0start\0"),
                s("/"),
                i(33),
                i(33),
                OwnedArg::Absent,
                i(8192),
            ],
        );
        info.pid = 500;
        info.with_record(|r| {
            let ctx = t.apply(r);
            let p = ctx.process.unwrap();
            assert_eq!(ctx.thread.unwrap().comm, b"apache2");
            assert_eq!(
                (p.ppid, &p.exe[..], &p.args[..], &p.cwd[..], &p.user[..]),
                (
                    1,
                    &b"/usr/sbin/apache2"[..],
                    &b"-k\0start\0"[..],
                    &b"/"[..],
                    &b"www-data"[..]
                )
            );
            assert_eq!((p.uid, p.gid, p.fd_limit), (33, 33, 8192));
            assert_eq!(p.loginuid, u32::MAX, "not given: unchanged");
        });
        // A login uid names its user from the user table.
        let at = EventType::THREAD_INFO.info().arg_index("loginuid").unwrap();
        let mut args = vec![OwnedArg::Absent; EventType::THREAD_INFO.info().args.len()];
        args[at] = i(33);
        rec("threadinfo", 500, 0, args).with_record(|r| {
            let p = t.apply(r).process.unwrap();
            assert_eq!((p.loginuid, &p.login_user[..]), (33, &b"www-data"[..]));
        });
    }

    /// Sessions as sysdig follows them: a `threadinfo` gives the terminal
    /// and process group (what it does not give stays), a fork inherits
    /// them, setsid moves the caller to a session of its own, a failed one
    /// changes nothing.
    #[test]
    fn sessions_follow_threadinfo_forks_and_setsid() {
        type Session = (i64, i64, u32);
        let mut t = Tracker::new();
        t.insert_process(ProcessInfo {
            pid: 100,
            sid: 7,
            vpgid: 8,
            ..ProcessInfo::default()
        });
        let at = |name: &str| EventType::THREAD_INFO.info().arg_index(name).unwrap();
        let mut args = vec![OwnedArg::Absent; EventType::THREAD_INFO.info().args.len()];
        args[at("tty")] = i(34_816);
        rec("threadinfo", 100, 0, args).with_record(|r| {
            t.apply(r);
        });
        let cases: &[(&str, i64, i64, Session)] = &[
            // (call, tid, return value, the caller's (sid, vpgid, tty) after)
            ("getpid", 100, 100, (7, 8, 34_816)),
            ("fork", 100, 300, (7, 8, 34_816)),
            ("setsid", 300, -1, (7, 8, 34_816)),
            ("setsid", 300, 300, (300, 8, 34_816)),
        ];
        for &(name, tid, ret, want) in cases {
            rec(name, tid, ret, Vec::new()).with_record(|r| {
                t.apply(r);
            });
            let pid = if name == "fork" { ret } else { tid };
            let p = t.process(pid).unwrap();
            assert_eq!((p.sid, p.vpgid, p.tty), want, "{name} -> {ret}");
        }
        assert_eq!(t.process(100).unwrap().sid, 7, "the parent keeps its own");
    }

    /// A container described after its processes started reaches them
    /// (and only them), and the snapshot keeps it.
    #[test]
    fn a_container_event_describes_the_processes_in_it() {
        let mut t = Tracker::new();
        for (pid, container) in [(10, &b"abc123abc123"[..]), (11, b"")] {
            t.insert_process(ProcessInfo {
                pid,
                container_id: container.to_vec(),
                ..ProcessInfo::default()
            });
        }
        let before = t.process(10).unwrap().key;
        let event = rec(
            "container",
            0,
            0,
            vec![s("abc123abc123"), i(6), s("web"), s("web:1.2")],
        );
        event.with_record(|r| {
            t.apply(r);
        });
        let p = t.process(10).unwrap();
        assert_eq!(
            (&p.container.name[..], &p.container.kind[..]),
            (&b"web"[..], &b"cri"[..])
        );
        assert_ne!(p.key, before, "chunks must write the process again");
        assert!(t.process(11).unwrap().container.name.is_empty());
        assert_eq!(t.snapshot(0).containers.len(), 1);
    }

    /// The effective uid after setuid and setresuid, by name; setresuid's
    /// -1 leaves it as it was (sudo: root stays root).
    #[test]
    fn setuid_and_setresuid_change_the_user_as_sysdig_does() {
        let minus1 = i64::from(u32::MAX);
        let cases: &[(&str, Vec<OwnedRecord>, &str)] = &[
            ("setuid(0)", vec![rec("setuid", 10, 0, vec![i(0)])], "root"),
            (
                "setresuid(-1, 0, -1)",
                vec![rec("setresuid", 10, 0, vec![i(minus1), i(0), i(minus1)])],
                "root",
            ),
            (
                "setresuid(0, -1, -1) after setuid(0)",
                vec![
                    rec("setuid", 10, 0, vec![i(0)]),
                    rec("setresuid", 10, 0, vec![i(1000), i(minus1), i(minus1)]),
                ],
                "root",
            ),
            (
                "a failed setuid",
                vec![rec("setuid", 10, -1, vec![i(0)])],
                "ubuntu",
            ),
        ];
        for (what, records, want) in cases {
            let mut t = Tracker::from_snapshot(&Snapshot {
                users: [(0, "root"), (1000, "ubuntu")]
                    .iter()
                    .map(|&(uid, name)| UserInfo {
                        uid,
                        name: name.as_bytes().to_vec(),
                        ..UserInfo::default()
                    })
                    .collect(),
                ..Snapshot::default()
            });
            t.insert_process(ProcessInfo {
                pid: 10,
                uid: 1000,
                ..ProcessInfo::default()
            });
            for r in records {
                r.with_record(|r| {
                    t.apply(r);
                });
            }
            let user = &t.process(10).unwrap().user;
            assert_eq!(String::from_utf8_lossy(user), *want, "{what}");
        }
    }

    #[test]
    fn exec_fork_chdir_and_prctl_update_the_process() {
        let (comm, cwd, _) = run(&[
            rec("chdir", 10, 0, vec![s("/tmp")]),
            rec(
                "execve",
                10,
                0,
                vec![s("/usr/bin/python3"), s("python3\0-c\0pass\0")],
            ),
        ]);
        assert_eq!((comm.as_str(), cwd.as_str()), ("python3", "/tmp"));
        let (comm, cwd, _) = run(&[
            rec("clone", 10, 11, vec![i(0)]),
            rec("getpid", 11, 11, vec![]),
        ]);
        assert_eq!(
            (comm.as_str(), cwd.as_str()),
            ("bash", "/home/u"),
            "the child inherits"
        );
        let (comm, _, _) = run(&[rec("prctl", 10, 0, vec![i(15), s("worker-1"), i(0)])]);
        assert_eq!(comm, "worker-1");
    }

    /// A process's thread count (`proc.nthreads`) follows its threads: a
    /// thread clone adds one, a thread's exit takes it away once the next
    /// record comes (as sysdig removes exited threads), and every change
    /// gives the process a new key, so writers describe it again.
    #[test]
    fn processes_count_their_threads() {
        let mut t = Tracker::new();
        t.insert_thread(ThreadInfo {
            tid: 10,
            pid: 10,
            ..ThreadInfo::default()
        });
        let clone_thread = i(CLONE_THREAD);
        let steps: Vec<(OwnedRecord, u32)> = vec![
            (rec("getpid", 10, 10, vec![]), 1),
            (rec("clone", 10, 11, vec![clone_thread.clone()]), 2),
            (rec("clone", 10, 12, vec![clone_thread]), 3),
            (
                OwnedRecord {
                    pid: 10,
                    ..rec("procexit", 11, 0, vec![])
                },
                3,
            ),
            (rec("getpid", 10, 10, vec![]), 2),
        ];
        let mut key = 0;
        for (n, (r, want)) in steps.iter().enumerate() {
            r.with_record(|r| {
                t.apply(r);
            });
            let p = t.process(10).unwrap();
            assert_eq!(p.threads, *want, "step {n}");
            assert!(
                p.key != key || n == 0 || steps[n - 1].1 == *want,
                "step {n}: key"
            );
            key = p.key;
        }
    }

    /// A `procfork` for a tid the tables still hold (its exit was missed)
    /// starts a new thread: nothing of the old one, nor of its process,
    /// carries over; a clone record for a known child changes nothing.
    #[test]
    fn a_procfork_for_a_known_tid_starts_a_new_life() {
        let mut t = Tracker::new();
        t.insert_process(ProcessInfo {
            pid: 10,
            exe: b"bash".to_vec(),
            ..ProcessInfo::default()
        });
        t.insert_thread(ThreadInfo {
            tid: 10,
            pid: 10,
            comm: b"bash".to_vec(),
            ..ThreadInfo::default()
        });
        t.insert_process(ProcessInfo {
            pid: 20,
            ppid: 5,
            exe: b"old".to_vec(),
            ..ProcessInfo::default()
        });
        for tid in [20, 21] {
            t.insert_thread(ThreadInfo {
                tid,
                pid: 20,
                comm: b"old".to_vec(),
                ..ThreadInfo::default()
            });
        }
        let who = |t: &Tracker| {
            let th = t.thread(20).unwrap();
            let p = t.process(20).unwrap();
            (th.comm.clone(), p.exe.clone(), p.ppid)
        };
        rec("clone", 10, 20, vec![i(0)]).with_record(|r| {
            t.apply(r);
        });
        assert_eq!(who(&t), (b"old".to_vec(), b"old".to_vec(), 5));
        rec("procfork", 10, 0, vec![i(20), i(20), i(0)]).with_record(|r| {
            t.apply(r);
        });
        assert_eq!(who(&t), (b"bash".to_vec(), b"bash".to_vec(), 10));
        assert!(t.thread(21).is_none(), "the old process's other thread");
    }

    #[test]
    fn exit_removes_the_thread_after_its_record() {
        let mut t = Tracker::new();
        let exit = rec("procexit", 20, 0, vec![i(0), i(0), i(0), i(0)]);
        exit.with_record(|r| {
            assert!(t.apply(r).thread.is_some(), "the exit itself resolves");
        });
        assert!(t.thread(20).is_some());
        rec("getpid", 21, 21, vec![]).with_record(|r| {
            t.apply(r);
        });
        assert!(t.thread(20).is_none());
        assert!(
            t.process(20).is_none(),
            "its last thread took the process with it"
        );
    }
}
