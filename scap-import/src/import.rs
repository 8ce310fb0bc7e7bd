//! Turns a `.scap` stream into syscap records: the first section's process,
//! fd and user tables become the state snapshot; the enter and exit events
//! of one system call become one record (arguments from both); events with
//! no pair (procexit, signals, procinfo, container, scheduler and meta
//! events) become records of their own.

use hashbrown::HashMap;
use std::collections::VecDeque;
use std::io::Read;

use super::decode::{STATE_ONLY, ScapEvent, Value, decode_event};
use super::events::{Role, ScapEventInfo, event_info, syscall_code_name};
use super::tables::{Keyed, ScapFd, ScapFdInfo, ScapInterface, ScapThread, interface_list};
use super::{
    Block, BlockKind, BlockReader, MachineInfo, ScapError, fd_list, machine_info, ppm,
    process_list, user_list,
};
use capture_format::event::{
    Arg, ArgKind, EventType, OwnedSockAddr, OwnedSockTuple, Record, RecordFlags, nr,
};
use capture_format::state::{
    FdInfo, FdKind, L4Proto, ProcessInfo, Snapshot, SocketEnds, SocketRole, ThreadInfo,
    container_of,
};

/// Most arguments a record built here carries.
const MAX_ARGS: usize = 32;

/// What an import read and skipped.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct ImportStats {
    /// Event blocks read.
    pub events: u64,
    /// Records produced.
    pub records: u64,
    /// Events of types newer than the table (skipped).
    pub unknown_types: u64,
    /// Events kept only for state by fatfile writers (not shown, skipped).
    pub state_only: u64,
    /// Corrupt events skipped.
    pub corrupt: u64,
    /// Sections after the first.
    pub extra_sections: u32,
}

/// The body of the open block, buffered: tables are read a few bytes at a
/// time.
fn table(blocks: &mut BlockReader) -> std::io::BufReader<super::BodyReader<'_>> {
    std::io::BufReader::with_capacity(64 << 10, blocks.body())
}

/// Most blocks read ahead looking for an event with a time.
const MAX_AHEAD: usize = 4096;
/// Most bytes of blocks read ahead (events of 64 KiB of zeros each are
/// 64 bytes of gzip).
const MAX_AHEAD_BYTES: usize = 16 << 20;

/// The time of an event block (0 for other blocks, and for events that do
/// not place the capture in time), and whether it is a container event.
/// `after_others`: an event other than a container event came before.
fn event_time(block: &Block, body: &[u8], after_others: bool) -> (u64, bool) {
    match block.kind {
        BlockKind::Event { flags, .. } => {
            let at = if flags { 6 } else { 2 };
            // ts, tid, len, then the type.
            let ty = super::block::u16_at(body, at + 20);
            let info = event_info(ty);
            let container = info.is_some_and(is_container);
            if info.is_some_and(|i| !sets_the_time(i, after_others)) {
                (0, container)
            } else {
                (super::u64_at(body, at), container)
            }
        }
        _ => (0, false),
    }
}

fn is_container(info: &ScapEventInfo) -> bool {
    info.role == Role::Container
}

/// Whether events of this type place the capture in time. The container
/// events a file starts with say what is, not when: sysdig reads them as
/// the starting state and never shows them (some writers stamp them 0,
/// others with the time the capture was asked for); a container event after
/// any other event (a container started during the capture) is shown.
/// Internal events (`procinfo`, the CPU samples the driver writes every
/// second) are hidden by sysdig, and a capture filtered on writing keeps
/// them all, seconds before its first call and after its last. Those take
/// the time of the events around them, so a capture starts and ends where
/// sysdig's events do.
fn sets_the_time(info: &ScapEventInfo, after_others: bool) -> bool {
    !(info.internal || (is_container(info) && !after_others))
}

/// The first time among blocks read ahead.
fn first_time(ahead: &VecDeque<(Block, Vec<u8>)>) -> u64 {
    let mut after_others = false;
    for (b, body) in ahead {
        let (ts, container) = event_time(b, body, after_others);
        if ts > 0 {
            return ts;
        }
        after_others |= matches!(b.kind, BlockKind::Event { .. }) && !container;
    }
    0
}

/// Reads blocks after the first event until one has a time (or another
/// kind of block comes, or the file ends); a read error is left for the
/// run to meet again.
fn read_to_a_time(blocks: &mut BlockReader, ahead: &mut VecDeque<(Block, Vec<u8>)>) {
    let mut bytes = ahead.iter().map(|(_, body)| body.len()).sum::<usize>();
    while first_time(ahead) == 0 && ahead.len() < MAX_AHEAD && bytes < MAX_AHEAD_BYTES {
        let mut body = Vec::new();
        match blocks.next_block(&mut body) {
            Ok(Some(block)) => {
                let event = matches!(block.kind, BlockKind::Event { .. });
                bytes += body.len();
                ahead.push_back((block, body));
                if !event {
                    return;
                }
            }
            Ok(None) | Err(_) => return,
        }
    }
}

/// Reads a `.scap` stream as syscap records.
pub struct Importer {
    blocks: BlockReader,
    body: Vec<u8>,
    /// Blocks read ahead while collecting the tables: the first event, and
    /// up to the first one with a time (events stamped 0, such as the
    /// container events writers put first, take the time of the one after).
    ahead: VecDeque<(Block, Vec<u8>)>,
    snapshot: Snapshot,
    machine: Option<MachineInfo>,
    interfaces: Vec<ScapInterface>,
    state: State,
    error: Option<ScapError>,
}

impl std::fmt::Debug for Importer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Importer")
            .field("stats", &self.state.stats)
            .finish_non_exhaustive()
    }
}

/// An enter event waiting for its exit: decoded once, its bytes copied.
struct Pending {
    event: ScapEvent<'static>,
    bytes: Vec<u8>,
}

impl Pending {
    fn event(&self) -> ScapEvent<'_> {
        self.event.attach(&self.bytes)
    }
}

/// What a `threadinfo` record describes.
#[derive(Clone, Copy)]
enum Newcomer {
    /// A process first seen at its execve: everything the exit says.
    Exec { ppid: i64 },
    /// A new process (a clone's child): everything the exit says but the
    /// working directory, which is its parent's (sysdig does not take the
    /// exit's, which a child in a container reports empty).
    Process { ppid: i64 },
    /// A new thread of a process: its name only; the process keeps its
    /// own facts (exe, args, user).
    Thread,
}

/// A thread made by a clone exit.
#[derive(Clone, Copy)]
struct Cloned {
    /// When.
    ts: u64,
    /// By the child's own exit (before the parent's).
    by_child: bool,
}

#[derive(Default)]
struct State {
    /// The process of each live thread (tables, clones, execs).
    pids: HashMap<i64, i64>,
    /// Threads made by a clone exit in this capture, until they exit.
    clones: HashMap<i64, Cloned>,
    pending: HashMap<i64, Pending>,
    spare: Vec<Vec<u8>>,
    argv: Vec<u8>,
    text: Vec<u8>,
    types: Vec<Option<EventType>>,
    /// The syscap type of each `PPM_SC` code of generic events (filled on
    /// the first generic event).
    generic: Vec<Option<EventType>>,
    /// Where each argument comes from, per (enter type, exit type).
    plans: HashMap<(u16, u16), Vec<ArgSource>>,
    /// The record types whose arguments are wanted, by type number (`None`:
    /// all). Other records keep their type, time, thread and result but no
    /// arguments, unless they change the state.
    wanted: Option<Vec<bool>>,
    stats: ImportStats,
    first_corrupt: Option<ScapError>,
    /// The time of the last event that had one: events stamped 0 take it.
    last_ts: u64,
    /// An event other than a container event was read: container events
    /// are no longer the starting state.
    after_others: bool,
}

impl Importer {
    /// Opens a stream (raw or gzip) and reads its tables, up to the first
    /// event.
    pub fn new(input: impl Read + Send + 'static) -> Result<Self, ScapError> {
        Self::from_blocks(BlockReader::new(input)?)
    }

    /// Opens a stream that is already raw `.scap` bytes.
    pub fn from_raw(input: Box<dyn std::io::BufRead + Send>) -> Result<Self, ScapError> {
        Self::from_blocks(BlockReader::from_raw(input))
    }

    fn from_blocks(mut blocks: BlockReader) -> Result<Self, ScapError> {
        let mut body = Vec::new();
        // One entry per thread, user and group, across blocks as within.
        let mut threads = Keyed::new();
        let (mut users, mut groups) = (Keyed::new(), Keyed::new());
        let mut fds: Vec<(i64, Vec<ScapFd>)> = Vec::new();
        let mut snapshot = Snapshot::default();
        let mut machine = None;
        let mut interfaces = Vec::new();
        let mut sections = 0;
        let mut ahead = VecDeque::new();
        // Tables are read as streams, entry by entry: a list of millions of
        // entries (a 256 MiB block of zeros is 250 KB of gzip) costs the
        // entries kept, and the parsers keep one per thread, fd, user or
        // group.
        while let Some(block) = blocks.next_header()? {
            let (offset, len) = (block.offset, blocks.body_len());
            match block.kind {
                BlockKind::ProcessList(v) => {
                    for t in process_list(v, table(&mut blocks), len, offset)? {
                        threads.insert(t.tid, t);
                    }
                }
                BlockKind::FdList(v) => fds.push(fd_list(v, table(&mut blocks), len, offset)?),
                BlockKind::UserList(v) => {
                    let (listed_users, listed_groups) =
                        user_list(v, table(&mut blocks), len, offset)?;
                    for u in listed_users {
                        users.insert(u.uid, u);
                    }
                    for g in listed_groups {
                        groups.insert(g.gid, g);
                    }
                }
                BlockKind::InterfaceList(v) => {
                    interfaces.extend(interface_list(v, table(&mut blocks), len, offset)?);
                }
                BlockKind::SectionHeader => {
                    blocks.read_body(&mut body)?;
                    sections += 1;
                    if sections > 1 {
                        ahead.push_back((block, std::mem::take(&mut body)));
                        break;
                    }
                }
                BlockKind::MachineInfo => {
                    blocks.read_body(&mut body)?;
                    machine = Some(machine_info(&body));
                }
                BlockKind::Event { .. } => {
                    blocks.read_body(&mut body)?;
                    ahead.push_back((block, std::mem::take(&mut body)));
                    read_to_a_time(&mut blocks, &mut ahead);
                    break;
                }
                BlockKind::Unknown(_) => {}
            }
            blocks.finish()?;
        }
        let mut state = State {
            types: vec![None; super::events::event_types()],
            ..State::default()
        };
        snapshot.users = users.entries;
        snapshot.groups = groups.entries;
        build_snapshot(&mut snapshot, &threads.entries, &fds, &mut state.pids);
        snapshot.ts = machine.as_ref().map_or(0, |m: &MachineInfo| m.boot_ts);
        let first_ts = first_time(&ahead);
        state.last_ts = first_ts;
        Ok(Self {
            blocks,
            body,
            ahead,
            snapshot,
            machine,
            interfaces,
            state,
            error: None,
        })
    }

    /// The state at the start of the capture (from the first section's
    /// tables).
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// The machine the capture was taken on, when the file says.
    pub fn machine(&self) -> Option<&MachineInfo> {
        self.machine.as_ref()
    }

    /// Time of the first event that has one, 0 when the file has none.
    pub fn first_ts(&self) -> u64 {
        first_time(&self.ahead)
    }

    /// The network interfaces of the first section's interface list.
    pub fn interfaces(&self) -> &[ScapInterface] {
        &self.interfaces
    }

    /// What was read and skipped so far.
    pub fn stats(&self) -> ImportStats {
        self.state.stats
    }

    /// Why reading stopped before the end of the file (a truncated or
    /// corrupt block), or the first corrupt event skipped.
    pub fn error(&self) -> Option<&ScapError> {
        self.error.as_ref().or(self.state.first_corrupt.as_ref())
    }

    /// Decodes the arguments only of records of `types` (and of those that
    /// change the state): a reader that filters on event types skips the
    /// rest of the work. Event numbers do not change.
    pub fn only_arguments_of(&mut self, types: impl IntoIterator<Item = EventType>) {
        let mut wanted = vec![false; usize::from(EventType::LAST_KERNEL_EVENT.0) + 1];
        for ty in types {
            if let Some(w) = wanted.get_mut(usize::from(ty.0)) {
                *w = true;
            }
        }
        self.state.wanted = Some(wanted);
    }

    /// Takes the error [`Importer::error`] reports.
    pub fn take_error(&mut self) -> Option<ScapError> {
        self.error
            .take()
            .or_else(|| self.state.first_corrupt.take())
    }

    /// Hands every record to `sink`, in the order the system calls returned.
    /// A truncated or corrupt file ends the stream early (see
    /// [`Importer::error`]); only `sink`'s errors are returned.
    pub fn run<E>(&mut self, mut sink: impl FnMut(&Record<'_>) -> Result<(), E>) -> Result<(), E> {
        loop {
            let read_ahead = self.ahead.pop_front();
            let (block, body) = match &read_ahead {
                Some((b, body)) => (*b, &body[..]),
                None => match self.blocks.next_block_ref(&mut self.body) {
                    Ok(Some(b)) => b,
                    Ok(None) => break,
                    Err(e) => {
                        self.error = Some(e);
                        break;
                    }
                },
            };
            match block.kind {
                BlockKind::Event { flags, v2, .. } => {
                    self.state.stats.events += 1;
                    self.state.event(body, flags, v2, block.offset, &mut sink)?;
                }
                BlockKind::SectionHeader => self.state.stats.extra_sections += 1,
                _ => {}
            }
        }
        self.state.flush(&mut sink)
    }
}

fn fd_kind(kind: u8) -> FdKind {
    match kind {
        1 | 16 => FdKind::File,
        2 => FdKind::Directory,
        3 | 5 => FdKind::Ipv4,
        4 | 6 => FdKind::Ipv6,
        7 => FdKind::Pipe,
        8 => FdKind::Unix,
        9 => FdKind::Event,
        11 => FdKind::SignalFd,
        12 => FdKind::EventPoll,
        13 => FdKind::Inotify,
        14 => FdKind::TimerFd,
        15 => FdKind::Netlink,
        17 => FdKind::Bpf,
        18 => FdKind::UserFaultFd,
        19 => FdKind::IoUring,
        20 => FdKind::Memfd,
        21 => FdKind::PidFd,
        _ => FdKind::Unknown,
    }
}

fn l4proto(p: u8) -> L4Proto {
    match p {
        2 => L4Proto::Tcp,
        3 => L4Proto::Udp,
        4 => L4Proto::Icmp,
        5 => L4Proto::Raw,
        _ => L4Proto::Unknown,
    }
}

fn sock_addr(ip: &[u8], port: u16) -> OwnedSockAddr {
    if let Ok(v4) = <[u8; 4]>::try_from(ip) {
        return OwnedSockAddr::V4(std::net::SocketAddrV4::new(v4.into(), port));
    }
    let bytes: [u8; 16] = ip.try_into().unwrap_or_default();
    let v6 = std::net::Ipv6Addr::from(bytes);
    match v6.to_ipv4_mapped() {
        Some(v4) => OwnedSockAddr::V4(std::net::SocketAddrV4::new(v4, port)),
        None => OwnedSockAddr::V6(std::net::SocketAddrV6::new(v6, port, 0, 0)),
    }
}

fn tuple(local: OwnedSockAddr, remote: OwnedSockAddr) -> Option<OwnedSockTuple> {
    Some(match (local, remote) {
        (OwnedSockAddr::V4(src), OwnedSockAddr::V4(dst)) => OwnedSockTuple::V4 { src, dst },
        (OwnedSockAddr::V6(src), OwnedSockAddr::V6(dst)) => OwnedSockTuple::V6 { src, dst },
        _ => return None,
    })
}

/// Ports some process listens on (IPv4 server sockets of the fd tables).
fn server_ports(fds: &[(i64, Vec<ScapFd>)]) -> std::collections::HashSet<u16> {
    fds.iter()
        .flat_map(|(_, list)| list)
        .filter_map(|fd| match &fd.info {
            ScapFdInfo::Server { ip, port, .. } if ip.len() == 4 => Some(*port),
            _ => None,
        })
        .collect()
}

/// `servers`: the listening ports. The tables list a connected socket's
/// local end first; an IPv4 socket whose local port is a listening port is
/// the server end, and sysdig turns it round to client then server: so do
/// we.
fn fd_info(pid: i64, fd: &ScapFd, servers: &std::collections::HashSet<u16>) -> FdInfo {
    let mut info = FdInfo {
        pid,
        fd: fd.fd,
        kind: fd_kind(fd.kind),
        ..FdInfo::default()
    };
    match &fd.info {
        ScapFdInfo::Nothing => {}
        ScapFdInfo::Name(name) => info.name.clone_from(name),
        ScapFdInfo::File { flags, name, .. } => {
            info.name.clone_from(name);
            info.flags = ppm::open_flags(*flags);
        }
        ScapFdInfo::Connected {
            local,
            remote,
            local_port,
            remote_port,
            l4proto: p,
        } => {
            info.l4proto = l4proto(*p);
            let local_end = sock_addr(local, *local_port);
            let remote_end = sock_addr(remote, *remote_port);
            let ends = if matches!(local_end, OwnedSockAddr::V4(_)) && servers.contains(local_port)
            {
                info.role = SocketRole::Server;
                tuple(remote_end, local_end)
            } else {
                tuple(local_end, remote_end)
            };
            if let Some(t) = ends {
                info.ends = SocketEnds::Tuple(t);
            }
        }
        ScapFdInfo::Server {
            ip,
            port,
            l4proto: p,
        } => {
            info.l4proto = l4proto(*p);
            info.role = SocketRole::Server;
            info.ends = SocketEnds::Local(sock_addr(ip, *port));
        }
        // The table names a unix socket by its path alone, as sysdig shows
        // it; its kernel addresses are not an end anyone connects to.
        ScapFdInfo::Unix { name, .. } => {
            // Older writers copied the trailing newline of /proc/net/unix.
            info.name = name.strip_suffix(b"\n").unwrap_or(name).to_vec();
        }
    }
    info
}

/// Fills `snap` from a section's tables; `pids` learns each thread's process.
fn build_snapshot(
    snap: &mut Snapshot,
    threads: &[ScapThread],
    fds: &[(i64, Vec<ScapFd>)],
    pids: &mut HashMap<i64, i64>,
) {
    for t in threads {
        pids.insert(t.tid, t.pid);
    }
    // By id, so that many threads of many users take linear time (the
    // first of a uid or gid listed twice, as a search of the list found).
    let mut users: HashMap<u32, &[u8]> = HashMap::with_capacity(snap.users.len());
    for u in &snap.users {
        users.entry(u.uid).or_insert(&u.name);
    }
    let mut groups: HashMap<u32, &[u8]> = HashMap::with_capacity(snap.groups.len());
    for g in &snap.groups {
        groups.entry(g.gid).or_insert(&g.name);
    }
    let user = |uid: u32| users.get(&uid).map(|n| n.to_vec()).unwrap_or_default();
    let group = |gid: u32| groups.get(&gid).map(|n| n.to_vec()).unwrap_or_default();
    let mut processes: Vec<ProcessInfo> = Vec::new();
    let mut seen: HashMap<i64, usize> = HashMap::new();
    for t in threads {
        // The main thread describes the process; otherwise the first seen.
        let main = t.tid == t.pid;
        if seen.contains_key(&t.pid) && !main {
            continue;
        }
        let (container_id, pod_uid) = container_of(&t.cgroups);
        let p = ProcessInfo {
            pid: t.pid,
            ppid: pids.get(&t.ptid).copied().unwrap_or(t.ptid),
            container_id,
            pod_uid,
            vpid: t.vpid,
            exe: t.exe.clone(),
            exepath: t.exepath.clone(),
            args: t.args.clone(),
            cwd: t.cwd.clone(),
            uid: t.uid,
            gid: t.gid,
            loginuid: t.loginuid,
            user: user(t.uid),
            group: group(t.gid),
            vm_size: u64::from(t.vmsize_kb) * 1024,
            vm_rss: u64::from(t.vmrss_kb) * 1024,
            fd_limit: t.fdlimit,
            sid: t.sid,
            vpgid: t.vpgid,
            tty: t.tty,
            ..ProcessInfo::default()
        };
        if let Some(&i) = seen.get(&t.pid) {
            processes[i] = p;
        } else {
            seen.insert(t.pid, processes.len());
            processes.push(p);
        }
    }
    snap.processes = processes;
    snap.threads = threads
        .iter()
        .map(|t| ThreadInfo {
            tid: t.tid,
            pid: t.pid,
            vtid: t.vtid,
            comm: t.comm.clone(),
            ..ThreadInfo::default()
        })
        .collect();
    let servers = server_ports(fds);
    // One per (process, fd): the lists of two threads of a process are one.
    let mut by_fd = Keyed::new();
    for (tid, list) in fds {
        let pid = pids.get(tid).copied().unwrap_or(*tid);
        for fd in list {
            by_fd.insert((pid, fd.fd), fd_info(pid, fd, &servers));
        }
    }
    snap.fds = by_fd.entries;
}

/// Converts a parameter value into an argument of kind `kind`.
fn to_arg<'a>(v: Value<'a>, table: Option<&str>, kind: ArgKind) -> Arg<'a> {
    match v {
        Value::Int(i) => Arg::Int(table.map_or(i, |t| ppm::to_linux(t, i))),
        Value::Str(s) if kind != ArgKind::Hex => Arg::Str(s),
        Value::Bytes(b) if kind == ArgKind::Data => Arg::Bytes(b),
        Value::Bytes(b) if kind != ArgKind::Hex => Arg::Str(b),
        Value::SockAddr(a) => Arg::SockAddr(a),
        Value::SockTuple(t) => Arg::SockTuple(t),
        _ => Arg::Absent,
    }
}

/// The value of parameter `name`, from the exit event first.
fn lookup<'a>(
    name: &str,
    exit: Option<&ScapEvent<'a>>,
    enter: Option<&ScapEvent<'a>>,
) -> Option<(Value<'a>, Option<&'static str>)> {
    let mut empty = None;
    for ev in [exit, enter].into_iter().flatten() {
        if let Some(i) = ev.info.param_index(name)
            && let Some(v) = ev.value(i)
        {
            if v != Value::Empty {
                return Some((v, ev.info.params[i].table));
            }
            // An empty buffer is a value (sysdig shows `data=`); other empty
            // parameters are not.
            if ev.info.params[i].ty == super::events::ParamType::ByteBuf {
                empty = Some((Value::Bytes(&[]), None));
            }
        }
    }
    empty
}

/// Where one argument of a record comes from: its position among the exit
/// event's parameters and among the enter event's (looked up by name once
/// per pair of event types, not per event).
#[derive(Clone, Copy, Debug)]
struct ArgSource {
    exit: Option<u8>,
    enter: Option<u8>,
}

/// Where each of `args` comes from, for a record of these events.
fn arg_plan(
    args: &[capture_format::event::ArgDef],
    enter: Option<&ScapEventInfo>,
    exit: Option<&ScapEventInfo>,
) -> Vec<ArgSource> {
    let find = |info: Option<&ScapEventInfo>, name: &str| {
        info.and_then(|i| i.param_index(name))
            .and_then(|i| u8::try_from(i).ok())
    };
    args.iter()
        .map(|a| ArgSource {
            exit: find(exit, a.name),
            enter: find(enter, a.name),
        })
        .collect()
}

impl ArgSource {
    /// The value, from the exit event first (as [`lookup`]).
    fn value<'a>(
        self,
        exit: Option<&ScapEvent<'a>>,
        enter: Option<&ScapEvent<'a>>,
    ) -> Option<(Value<'a>, Option<&'static str>)> {
        let mut empty = None;
        for (ev, i) in [(exit, self.exit), (enter, self.enter)] {
            let (Some(ev), Some(i)) = (ev, i) else {
                continue;
            };
            let i = usize::from(i);
            match ev.value(i) {
                Some(Value::Empty) if ev.info.params[i].ty == super::events::ParamType::ByteBuf => {
                    empty = Some((Value::Bytes(&[]), None));
                }
                Some(Value::Empty) | None => {}
                Some(v) => return Some((v, ev.info.params[i].table)),
            }
        }
        empty
    }
}

fn is_exec(ty: EventType) -> bool {
    matches!(ty.0, nr::EXECVE | nr::EXECVEAT)
}

impl State {
    /// True when the arguments of a `ty` record are to be decoded.
    fn wants_arguments(&self, ty: EventType) -> bool {
        self.wanted.as_ref().is_none_or(|w| {
            w.get(usize::from(ty.0)).copied().unwrap_or(false)
                || capture_format::state::changes_state(ty)
        })
    }

    fn event<E>(
        &mut self,
        body: &[u8],
        has_flags: bool,
        v2: bool,
        offset: u64,
        sink: &mut impl FnMut(&Record<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut ev = match decode_event(body, has_flags, v2, offset) {
            Ok(Some(ev)) => ev,
            Ok(None) => {
                self.stats.unknown_types += 1;
                return Ok(());
            }
            Err(e) => {
                self.stats.corrupt += 1;
                self.first_corrupt.get_or_insert(e);
                return Ok(());
            }
        };
        let after_others = self.after_others;
        self.after_others |= !is_container(ev.info);
        if ev.ts == 0 || !sets_the_time(ev.info, after_others) {
            // Before any event with a time (none in the blocks read ahead),
            // a timeless event keeps its own; a container event of the
            // starting state has none (sysdig shows it nowhere).
            if self.last_ts != 0 || ev.ts == 0 || is_container(ev.info) {
                ev.ts = self.last_ts;
            }
        } else {
            self.last_ts = ev.ts;
        }
        if ev.dump_flags & STATE_ONLY != 0 {
            self.stats.state_only += 1;
            return Ok(());
        }
        if ev.info.unused {
            return Ok(());
        }
        if ev.info.is_enter() {
            if !ev.info.paired {
                // procexit ends a thread: a call still pending never returns.
                if ev.info.role == Role::ProcExit {
                    self.flush_tid(ev.tid, sink)?;
                    self.single(&ev, sink)?;
                    // Its tid may be used again: by a new thread, that
                    // its own clone (or exec) describes.
                    self.pids.remove(&ev.tid);
                    self.clones.remove(&ev.tid);
                    return Ok(());
                }
                return self.single(&ev, sink);
            }
            let mut bytes = self.spare.pop().unwrap_or_default();
            bytes.clear();
            bytes.extend_from_slice(ev.bytes());
            let pending = Pending {
                event: ev.detach(),
                bytes,
            };
            // A call still pending on this thread never returned.
            if let Some(old) = self.pending.insert(ev.tid, pending) {
                self.emit_unreturned(old, sink)?;
            }
            return Ok(());
        }
        let pending = match self.pending.remove(&ev.tid) {
            Some(p) if p.event.ty + 1 == ev.ty => Some(p),
            Some(p) => {
                self.emit_unreturned(p, sink)?;
                None
            }
            None => None,
        };
        let enter = pending.as_ref().map(Pending::event);
        let result = self.syscall(enter.as_ref(), Some(&ev), sink);
        if let Some(p) = pending {
            self.spare.push(p.bytes);
        }
        result
    }

    /// Emits the call pending on `tid`, if any, as one that never returned.
    fn flush_tid<E>(
        &mut self,
        tid: i64,
        sink: &mut impl FnMut(&Record<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        match self.pending.remove(&tid) {
            Some(p) => self.emit_unreturned(p, sink),
            None => Ok(()),
        }
    }

    fn emit_unreturned<E>(
        &mut self,
        p: Pending,
        sink: &mut impl FnMut(&Record<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let result = self.syscall(Some(&p.event()), None, sink);
        self.spare.push(p.bytes);
        result
    }

    /// At the end: every call still pending never returned, oldest first.
    fn flush<E>(&mut self, sink: &mut impl FnMut(&Record<'_>) -> Result<(), E>) -> Result<(), E> {
        let mut rest: Vec<Pending> = self.pending.drain().map(|(_, p)| p).collect();
        rest.sort_by_key(|p| (p.event.ts, p.event.tid));
        for p in rest {
            self.emit_unreturned(p, sink)?;
        }
        Ok(())
    }

    fn pid_of(&self, tid: i64) -> i64 {
        self.pids.get(&tid).copied().unwrap_or(0)
    }

    /// The syscap type of a system call event.
    fn syscall_type(&mut self, ev: &ScapEvent<'_>) -> Option<EventType> {
        if ev.ty <= 1 {
            // Generic events (`syscall`) name their call by a PPM_SC code.
            let code = match ev.value(0) {
                Some(Value::Int(c)) => usize::try_from(c).ok()?,
                _ => return None,
            };
            if self.generic.is_empty() {
                self.generic = (0..=u16::MAX >> 6)
                    .map(|c| {
                        syscall_code_name(c)
                            .and_then(EventType::from_name)
                            .filter(|t| t.is_syscall())
                    })
                    .collect();
            }
            return self.generic.get(code).copied().flatten();
        }
        let slot = self.types.get_mut(usize::from(ev.ty))?;
        if slot.is_none() {
            *slot = EventType::from_name(ev.info.name).filter(|t| t.is_syscall());
        }
        *slot
    }

    fn syscall<E>(
        &mut self,
        enter: Option<&ScapEvent<'_>>,
        exit: Option<&ScapEvent<'_>>,
        sink: &mut impl FnMut(&Record<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let Some(first) = enter.or(exit) else {
            return Ok(());
        };
        let tid = first.tid;
        let Some(ty) = self.syscall_type(first) else {
            return self.other(first, sink);
        };
        let result = exit.and_then(|x| match (x.info.params.first(), x.value(0)) {
            (Some(p), Some(Value::Int(v))) if matches!(p.name, "res" | "fd") => Some(v),
            _ => None,
        });
        let ret = result.unwrap_or(0);
        self.learn(ty, tid, ret, exit, sink)?;
        let info = ty.info();
        // execve's argument vector is argv[0] (`exe`) plus `args`.
        self.argv.clear();
        let exec = is_exec(ty);
        if exec && let Some((Value::Str(exe), _)) = lookup("exe", exit, enter) {
            self.argv.extend_from_slice(exe);
            self.argv.push(0);
            if let Some((Value::Bytes(rest), _)) = lookup("args", exit, enter) {
                self.argv.extend_from_slice(rest);
            }
        }
        // An exit of an old format without `res` says the call returned,
        // not what.
        let returned = if result.is_some() {
            RecordFlags::default()
        } else {
            RecordFlags::NO_RESULT
        };
        let (ts, latency, cpu, flags) = match (enter, exit) {
            (Some(e), Some(x)) => (e.ts, x.ts.saturating_sub(e.ts), x.cpu, returned),
            (None, Some(x)) => (x.ts, 0, x.cpu, returned),
            (Some(e), None) => (e.ts, 0, e.cpu, RecordFlags::NO_RETURN),
            (None, None) => return Ok(()),
        };
        let mut rec = Record {
            ty,
            flags,
            ts,
            latency,
            cpu,
            tid,
            pid: self.pid_of(tid),
            ret,
            args: &[],
        };
        self.stats.records += 1;
        if !self.wants_arguments(ty) {
            // (Most records of a filtered read: no plan, no argument array.)
            return sink(&rec);
        }
        let mut args = [Arg::Absent; MAX_ARGS];
        let n = info.args.len().min(MAX_ARGS);
        let key = (
            enter.map_or(u16::MAX, |e| e.ty),
            exit.map_or(u16::MAX, |x| x.ty),
        );
        let plan = self
            .plans
            .entry(key)
            .or_insert_with(|| arg_plan(info.args, enter.map(|e| e.info), exit.map(|x| x.info)));
        for ((slot, def), source) in args[..n].iter_mut().zip(info.args).zip(plan.iter()) {
            *slot = match def.name {
                "args" if exec && !self.argv.is_empty() => Arg::Str(&self.argv),
                "filename" | "pathname" if exec => lookup(def.name, exit, enter)
                    .or_else(|| lookup("exe", exit, enter))
                    .map_or(Arg::Absent, |(v, t)| to_arg(v, t, def.kind)),
                _ => source
                    .value(exit, enter)
                    .map_or(Arg::Absent, |(v, t)| to_arg(v, t, def.kind)),
            };
        }
        rec.args = &args[..n];
        sink(&rec)
    }

    /// Learns thread-to-process links from clone and execve exits; a child
    /// seen first in its own clone exit is announced by a `procfork`.
    fn learn<E>(
        &mut self,
        ty: EventType,
        tid: i64,
        ret: i64,
        exit: Option<&ScapEvent<'_>>,
        sink: &mut impl FnMut(&Record<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let Some(x) = exit else { return Ok(()) };
        if is_exec(ty)
            && ret == 0
            && let Some(pid) = x.int_of("pid")
        {
            // A process the tables did not list: its parent forked it
            // before the capture started.
            if self.pids.insert(tid, pid).is_none()
                && let Some(ptid) = x.int_of("ptid")
            {
                self.fork_record(ptid, tid, pid, 0, x, sink)?;
                self.thread_info_record(tid, pid, Newcomer::Exec { ppid: ptid }, x, sink)?;
            } else {
                self.terminal_record(tid, pid, x, sink)?;
            }
        }
        if !matches!(ty.0, nr::CLONE | nr::CLONE3 | nr::FORK | nr::VFORK) || ret < 0 {
            return Ok(());
        }
        let raw_flags = x.int_of("flags").unwrap_or(0);
        let flags = ppm::to_linux("clone_flags", raw_flags);
        let thread = flags & i64::from(libc_clone_thread()) != 0;
        // The first of the two exits (the parent's, or the child's) makes
        // the child, from what that exit says, as sysdig does; the second
        // one changes nothing.
        let (child, pid, parent) = if ret > 0 {
            // A child in another pid namespace is only known by the number
            // its parent sees there: it is made by its own exit.
            let vtid = x.int_of("vtid").unwrap_or(tid);
            if raw_flags & PPM_CL_CHILD_IN_PIDNS != 0 || vtid != tid {
                return Ok(());
            }
            if self.clones.get(&ret).is_some_and(|c| c.by_child) {
                return Ok(());
            }
            let parent_pid = self.pid_of(tid);
            let pid = if thread && parent_pid > 0 {
                parent_pid
            } else {
                ret
            };
            (ret, pid, tid)
        } else {
            // Made already by the parent's exit, or known from the tables
            // (unless it was made so long ago that this is a new life of
            // its tid whose exit the capture missed).
            let stale = self
                .clones
                .get(&tid)
                .is_some_and(|c| x.ts.saturating_sub(c.ts) > CLONE_STALE_NS);
            if self.pids.contains_key(&tid) && !stale {
                return Ok(());
            }
            let pid = x.int_of("pid").unwrap_or(tid);
            // A thread's parent is its process's main thread.
            let parent = if thread {
                pid
            } else {
                x.int_of("ptid").unwrap_or(0)
            };
            (tid, pid, parent)
        };
        self.pids.insert(child, pid);
        self.clones.insert(
            child,
            Cloned {
                ts: x.ts,
                by_child: ret == 0,
            },
        );
        if parent > 0 {
            self.fork_record(parent, child, pid, flags, x, sink)?;
        }
        let what = if thread {
            Newcomer::Thread
        } else {
            Newcomer::Process { ppid: parent }
        };
        self.thread_info_record(child, pid, what, x, sink)
    }

    /// A `procfork` record: `ptid` created thread `tid` of process `pid`.
    fn fork_record<E>(
        &mut self,
        ptid: i64,
        tid: i64,
        pid: i64,
        flags: i64,
        x: &ScapEvent<'_>,
        sink: &mut impl FnMut(&Record<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let args = [Arg::Int(tid), Arg::Int(pid), Arg::Int(flags)];
        let rec = Record {
            ty: EventType::PROC_FORK,
            ts: x.ts,
            cpu: x.cpu,
            tid: ptid,
            pid: self.pid_of(ptid),
            args: &args,
            ..Record::default()
        };
        self.stats.records += 1;
        sink(&rec)
    }

    /// A `threadinfo` record: what the exit event of a clone (in the child)
    /// or an execve says about a thread the capture had not known, so that
    /// it is named from its own facts, not from a parent the capture may
    /// not have either.
    fn thread_info_record<E>(
        &mut self,
        tid: i64,
        pid: i64,
        what: Newcomer,
        x: &ScapEvent<'_>,
        sink: &mut impl FnMut(&Record<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        // A new thread of a known process only brings its name: the
        // process keeps its own facts.
        let all = !matches!(what, Newcomer::Thread);
        let text = |name| {
            x.str_of(name)
                .filter(|_| all || name == "comm")
                .map_or(Arg::Absent, Arg::Str)
        };
        let int = |name| x.int_of(name).filter(|_| all).map_or(Arg::Absent, Arg::Int);
        // Memory sizes are in KiB in `.scap` files.
        let kib = |name| {
            x.int_of(name)
                .filter(|_| all)
                .map_or(Arg::Absent, |v| Arg::Int(v.saturating_mul(1024)))
        };
        // The container (and pod) the cgroups name; a clone without cgroups
        // leaves the process's as they were.
        let cgroups = x.str_of("cgroups").filter(|_| all);
        let (container, pod) = cgroups.map(container_of).unwrap_or_default();
        let known = cgroups.is_some();
        let args = [
            match what {
                Newcomer::Exec { ppid } | Newcomer::Process { ppid } => Arg::Int(ppid),
                Newcomer::Thread => Arg::Absent,
            },
            text("comm"),
            text("exe"),
            Arg::Absent,
            text("args"),
            if matches!(what, Newcomer::Exec { .. }) {
                text("cwd")
            } else {
                Arg::Absent
            },
            int("uid"),
            int("gid"),
            int("loginuid"),
            int("fdlimit"),
            kib("vm_size"),
            kib("vm_rss"),
            if known {
                Arg::Str(&container)
            } else {
                Arg::Absent
            },
            if known { Arg::Str(&pod) } else { Arg::Absent },
            Arg::Absent,
            int("vpgid"),
            int("tty"),
        ];
        let rec = Record {
            ty: EventType::THREAD_INFO,
            ts: x.ts,
            cpu: x.cpu,
            tid,
            pid,
            args: &args,
            ..Record::default()
        };
        self.stats.records += 1;
        sink(&rec)
    }

    /// What an execve exit says of a known process's terminal, process
    /// group and login user (`tty`, `vpgid`, `loginuid`: newer drivers), as
    /// a `threadinfo` record.
    fn terminal_record<E>(
        &mut self,
        tid: i64,
        pid: i64,
        x: &ScapEvent<'_>,
        sink: &mut impl FnMut(&Record<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let given = ["vpgid", "tty", "loginuid"].map(|name| (name, x.int_of(name)));
        if given.iter().all(|(_, v)| v.is_none()) {
            return Ok(());
        }
        let info = EventType::THREAD_INFO.info();
        let mut args = [Arg::Absent; 17];
        for (name, v) in given {
            if let (Some(i), Some(v)) = (info.arg_index(name), v) {
                args[i] = Arg::Int(v);
            }
        }
        let rec = Record {
            ty: EventType::THREAD_INFO,
            ts: x.ts,
            cpu: x.cpu,
            tid,
            pid,
            args: &args[..info.args.len()],
            ..Record::default()
        };
        self.stats.records += 1;
        sink(&rec)
    }

    /// An event with no pair.
    fn single<E>(
        &mut self,
        ev: &ScapEvent<'_>,
        sink: &mut impl FnMut(&Record<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let ty = match ev.info.role {
            Role::ProcExit => EventType::PROC_EXIT,
            Role::SignalDeliver => EventType::SIGNAL_DELIVER,
            Role::ProcInfo => EventType::PROC_INFO,
            Role::Switch => EventType::SWITCH,
            Role::Container if ev.info.param_index("id").is_some() => EventType::CONTAINER,
            Role::Container if ev.info.param_index("json").is_some() => {
                return self.container_json(ev, sink);
            }
            _ => return self.other(ev, sink),
        };
        let tid = if ev.tid == -1 { 0 } else { ev.tid };
        let mut rec = Record {
            ty,
            ts: ev.ts,
            cpu: ev.cpu,
            tid,
            pid: self.pid_of(tid),
            args: &[],
            ..Record::default()
        };
        self.stats.records += 1;
        if !self.wants_arguments(ty) {
            return sink(&rec);
        }
        let info = ty.info();
        let mut args = [Arg::Absent; MAX_ARGS];
        let n = info.args.len().min(MAX_ARGS);
        let plan = self
            .plans
            .entry((ev.ty, u16::MAX))
            .or_insert_with(|| arg_plan(info.args, Some(ev.info), None));
        for ((slot, def), source) in args[..n].iter_mut().zip(info.args).zip(plan.iter()) {
            *slot = source
                .value(None, Some(ev))
                .map_or(Arg::Absent, |(v, t)| to_arg(v, t, def.kind));
        }
        rec.args = &args[..n];
        sink(&rec)
    }

    /// A container event in its JSON form (what libs writes since 2019):
    /// a `container` record with what it says; JSON that does not parse
    /// becomes an `other` event, as unknown events do.
    fn container_json<E>(
        &mut self,
        ev: &ScapEvent<'_>,
        sink: &mut impl FnMut(&Record<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let Some(c) = ev
            .str_of("json")
            .and_then(|json| serde_json::from_slice::<serde_json::Value>(json).ok())
            .and_then(|v| v.get("container").cloned())
            .filter(|c| c.get("id").and_then(serde_json::Value::as_str).is_some())
        else {
            return self.other(ev, sink);
        };
        let text = |key: &str| c.get(key).and_then(serde_json::Value::as_str).unwrap_or("");
        let mut labels: Vec<(String, String)> = c
            .get("labels")
            .and_then(serde_json::Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        labels.sort();
        let labels: Vec<u8> = labels
            .iter()
            .flat_map(|(k, v)| [k.as_bytes(), b"=", v.as_bytes(), b"\0"].concat())
            .collect();
        let id = text("id");
        let full_id = text("full_id");
        let args = [
            Arg::Str(&id.as_bytes()[..id.len().min(12)]),
            c.get("type")
                .and_then(serde_json::Value::as_i64)
                .map_or(Arg::Absent, Arg::Int),
            Arg::Str(text("name").as_bytes()),
            Arg::Str(text("image").as_bytes()),
            Arg::Str(if full_id.is_empty() { id } else { full_id }.as_bytes()),
            Arg::Str(text("imagerepo").as_bytes()),
            Arg::Str(text("imagetag").as_bytes()),
            Arg::Str(text("imagedigest").as_bytes()),
            Arg::Int(i64::from(
                c.get("privileged")
                    .and_then(serde_json::Value::as_bool)
                    .unwrap_or(false),
            )),
            Arg::Str(&labels),
        ];
        let tid = if ev.tid == -1 { 0 } else { ev.tid };
        let rec = Record {
            ty: EventType::CONTAINER,
            ts: ev.ts,
            cpu: ev.cpu,
            tid,
            pid: self.pid_of(tid),
            args: &args,
            ..Record::default()
        };
        self.stats.records += 1;
        sink(&rec)
    }

    /// Any other event: its name, and its parameters as `name=value` text.
    fn other<E>(
        &mut self,
        ev: &ScapEvent<'_>,
        sink: &mut impl FnMut(&Record<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        use std::io::Write as _;
        self.text.clear();
        let wanted = self.wants_arguments(EventType::OTHER);
        for (i, p) in ev.info.params.iter().enumerate().take_while(|_| wanted) {
            let Some(v) = ev.value(i) else { break };
            if !self.text.is_empty() {
                self.text.push(b' ');
            }
            let _ = write!(self.text, "{}=", p.name);
            match v {
                Value::Int(n) => {
                    let _ = write!(self.text, "{n}");
                }
                Value::Str(s) | Value::Bytes(s) => self.text.extend(s.iter().map(|&b| {
                    if b.is_ascii_graphic() || b == b' ' {
                        b
                    } else {
                        b'.'
                    }
                })),
                Value::FdList(b) => {
                    for (j, (fd, flags)) in super::decode::fd_list_entries(b)
                        .into_iter()
                        .flatten()
                        .enumerate()
                    {
                        let _ = write!(self.text, "{}{fd}:{flags}", if j > 0 { "," } else { "" });
                    }
                }
                Value::SockAddr(_) | Value::SockTuple(_) | Value::Empty | Value::Malformed(_) => {}
            }
        }
        let name = if ev.info.role == Role::Syscall {
            match ev.value(0) {
                Some(Value::Int(c)) => u16::try_from(c)
                    .ok()
                    .and_then(syscall_code_name)
                    .unwrap_or("syscall"),
                _ => "syscall",
            }
        } else {
            ev.info.name
        };
        let args = [Arg::Str(name.as_bytes()), Arg::Str(&self.text)];
        let args = if wanted { &args[..] } else { &[] };
        let tid = if ev.tid == -1 { 0 } else { ev.tid };
        let rec = Record {
            ty: EventType::OTHER,
            ts: ev.ts,
            cpu: ev.cpu,
            tid,
            pid: self.pid_of(tid),
            args,
            ..Record::default()
        };
        self.stats.records += 1;
        sink(&rec)
    }
}

/// libs' flag on a clone exit whose child lives in another pid namespace.
const PPM_CL_CHILD_IN_PIDNS: i64 = 1 << 29;

/// How long after its clone a thread still waits for the clone's other
/// exit (sysdig's `CLONE_STALE_TIME_NS`): a child's exit later than that
/// starts a new life of its tid.
const CLONE_STALE_NS: u64 = 2_000_000_000;

/// Linux `CLONE_THREAD`.
const fn libc_clone_thread() -> u32 {
    0x0001_0000
}

/// The header of a syscap capture imported from a `.scap` file taken on
/// `machine`.
pub fn capture_header(machine: Option<&MachineInfo>) -> capture_format::file::CaptureHeader {
    let machine = machine.cloned().unwrap_or_default();
    capture_format::file::CaptureHeader {
        hostname: machine.hostname,
        producer: format!("syscap {} (imported from .scap)", env!("CARGO_PKG_VERSION")),
        // sysdig's default snap length.
        snaplen: 80,
        num_cpus: machine.num_cpus,
        memory_bytes: machine.memory_bytes,
        ..capture_format::file::CaptureHeader::default()
    }
}

impl Importer {
    /// Writes the whole stream as a syscap capture to `out`; what the
    /// import skipped is in [`Importer::stats`] and [`Importer::error`].
    pub fn write_capture<W: std::io::Write>(
        &mut self,
        out: W,
        options: capture_format::file::WriterOptions,
    ) -> capture_format::Result<W> {
        let header = capture_header(self.machine.as_ref());
        let mut writer = capture_format::file::Writer::new(out, &header, options)?;
        writer.write_snapshot(&self.snapshot)?;
        let mut tracker = capture_format::state::Tracker::from_snapshot(&self.snapshot);
        self.run(|rec| {
            let ctx = tracker.apply(rec);
            writer.write(rec, &ctx)
        })?;
        Ok(writer.finish()?.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testfile::{
        CHILD_IN_PIDNS, CLONE_PARENT, CLONE_X, CloneExit, block, event_block, fd_list_v1,
        process_entry, section_header,
    };
    use capture_format::event::{OwnedArg, OwnedRecord};
    use capture_format::state::Tracker;

    const OPEN_E: u16 = 2;
    const OPEN_X: u16 = 3;
    const READ_E: u16 = 6;
    const READ_X: u16 = 7;
    /// Generic events name their system call by a `PPM_SC_*` code.
    const GENERIC_E: u16 = 0;
    const PPM_SC_EXIT_GROUP: u16 = 164;
    const PROCEXIT_E: u16 = 186;

    /// A `*at` call's directory fd has its row in the call's chunk, also
    /// when the open that made it is in an earlier chunk (one event each).
    #[test]
    fn directory_fds_resolve_in_chunks_of_one_event() {
        use capture_format::event::{Arg, ArgKind};
        use capture_format::file::{CaptureReader, Projection, WriterOptions};
        let mut importer = Importer::new(std::io::Cursor::new(crate::lives::at_calls())).unwrap();
        let options = WriterOptions {
            chunk_events: 1,
            ..WriterOptions::default()
        };
        let bytes = importer.write_capture(Vec::new(), options).unwrap();
        let reader = CaptureReader::open(bytes.as_slice()).unwrap();
        let mut resolved = Vec::new();
        for c in 0..reader.index().chunks.len() {
            let chunk = reader.read_chunk(c, Projection::ALL).unwrap();
            for e in chunk.events() {
                let info = e.ty().info();
                for (i, def) in info.args.iter().enumerate() {
                    if def.kind == ArgKind::DirFd && matches!(e.arg(i), Arg::Int(3)) {
                        let fd = e.process_fd(3);
                        let name = fd.map(|f| String::from_utf8_lossy(f.name()).into_owned());
                        assert_eq!(name.as_deref(), Some("/srv/data"), "{}", info.name);
                        resolved.push(info.name);
                    }
                }
            }
        }
        assert_eq!(
            resolved,
            [
                "openat",
                "openat",
                "mkdirat",
                "unlinkat",
                "renameat2",
                "symlinkat",
                "linkat",
                "fchmodat"
            ]
        );
    }

    fn i64b(v: i64) -> Vec<u8> {
        v.to_le_bytes().to_vec()
    }

    /// A file of the curl era: process list v5 (curl, pid 100, cwd /home/u),
    /// fd 3 open on /etc/hosts, then `events`.
    fn file(events: &[Vec<u8>]) -> Vec<u8> {
        let mut f = section_header();
        f.extend(block(0x211, &process_entry(5, 100, 100, 1, b"curl", &[])));
        f.extend(fd_list_v1(100, &[(3, b"/etc/hosts")]));
        for e in events {
            f.extend_from_slice(e);
        }
        f
    }

    /// The capture's start as the importer sees it before reading events,
    /// and each record's type and time.
    fn start_and_times(events: &[Vec<u8>]) -> (u64, Vec<(&'static str, u64)>) {
        let importer = Importer::new(std::io::Cursor::new(file(events))).unwrap();
        let (_, records) = import(file(events));
        let times = records.iter().map(|r| (r.ty.name(), r.ts)).collect();
        (importer.first_ts(), times)
    }

    fn import(bytes: Vec<u8>) -> (Importer, Vec<OwnedRecord>) {
        let mut importer = Importer::new(std::io::Cursor::new(bytes)).unwrap();
        let mut records = Vec::new();
        importer
            .run(|r| {
                records.push(r.to_owned_record());
                Ok::<(), ()>(())
            })
            .unwrap();
        (importer, records)
    }

    /// open + read of one thread, a clone seen first in the child, an
    /// `exit_group` that never returns, a procexit and an event type from the
    /// future.
    /// The parameters of the clone exit of child 101 of process 100 (a new
    /// process), with `cgroups`.
    fn clone_child(cgroups: &[u8]) -> Vec<Vec<u8>> {
        let mut clone_params: Vec<Vec<u8>> = vec![
            i64b(0),
            b"curl\0".to_vec(),
            b"-6\0".to_vec(),
            i64b(101),
            i64b(101),
            i64b(100),
            b"/home/u\0".to_vec(),
            i64b(1024),
        ];
        clone_params.extend([0u64, 0].iter().map(|v| v.to_le_bytes().to_vec()));
        clone_params.extend([0u32, 0, 0].iter().map(|v| v.to_le_bytes().to_vec()));
        clone_params.push(b"curl\0".to_vec());
        clone_params.push(cgroups.to_vec());
        clone_params.push(0u32.to_le_bytes().to_vec()); // flags: a new process
        clone_params
    }

    fn calls(v2: bool) -> Vec<Vec<u8>> {
        let clone_params = clone_child(b"");
        let clone_refs: Vec<&[u8]> = clone_params.iter().map(Vec::as_slice).collect();
        let mut future = event_block(READ_E, 40, 100, &[], v2, None);
        // Type 999 is newer than the table.
        let at = 8 + 2 + 20; // block header, CPU number, event header
        future[at..at + 2].copy_from_slice(&999u16.to_le_bytes());
        vec![
            event_block(OPEN_E, 10, 100, &[], v2, None),
            event_block(
                OPEN_X,
                15,
                100,
                &[
                    &i64b(4),
                    b"passwd\0",
                    &0x1001u32.to_le_bytes(),
                    &0u32.to_le_bytes(),
                ],
                v2,
                None,
            ),
            event_block(
                READ_E,
                20,
                100,
                &[&i64b(4), &100u32.to_le_bytes()],
                v2,
                None,
            ),
            event_block(READ_X, 21, 100, &[&i64b(10), b"0123456789"], v2, None),
            event_block(CLONE_X, 30, 101, &clone_refs, v2, None),
            future,
            event_block(
                GENERIC_E,
                50,
                100,
                &[&PPM_SC_EXIT_GROUP.to_le_bytes(), &231u16.to_le_bytes()],
                v2,
                None,
            ),
            event_block(PROCEXIT_E, 60, 100, &[&i64b(0)], v2, None),
        ]
    }

    #[test]
    fn calls_become_records_and_state_resolves() {
        for v2 in [false, true] {
            let (importer, records) = import(file(&calls(v2)));
            let summary: Vec<(&str, u64, u64, i64, i64)> = records
                .iter()
                .map(|r| (r.ty.name(), r.ts, r.latency, r.tid, r.ret))
                .collect();
            assert_eq!(
                summary,
                [
                    ("open", 10, 5, 100, 4),
                    ("read", 20, 1, 100, 10),
                    ("procfork", 30, 0, 100, 0),
                    ("threadinfo", 30, 0, 101, 0),
                    ("clone", 30, 0, 101, 0),
                    ("exit_group", 50, 0, 100, 0),
                    ("procexit", 60, 0, 100, 0),
                ],
                "v2 {v2}"
            );
            let open = &records[0];
            assert_eq!(open.args[0], OwnedArg::Str(b"passwd".to_vec()));
            // PPM O_RDONLY|O_CLOEXEC is Linux O_CLOEXEC.
            assert_eq!(open.args[1], OwnedArg::Int(0o2_000_000));
            let read = &records[1];
            assert_eq!(
                read.args[..3],
                [
                    OwnedArg::Int(4),
                    OwnedArg::Int(100),
                    OwnedArg::Bytes(b"0123456789".to_vec())
                ]
            );
            assert!(records[5].flags.contains(RecordFlags::NO_RETURN));
            assert_eq!(importer.stats().unknown_types, 1);
            assert_eq!(importer.stats().events, 8);
            assert!(importer.error().is_none());

            // The tables and the events give the names sysdig gives.
            let mut tracker = Tracker::from_snapshot(importer.snapshot());
            assert_eq!(tracker.fd(100, 3).unwrap().name, b"/etc/hosts");
            for r in &records {
                r.with_record(|r| {
                    tracker.apply(r);
                });
                if r.ty.name() == "open" {
                    assert_eq!(tracker.fd(100, 4).unwrap().name, b"/home/u/passwd");
                }
            }
            let child = tracker.thread(101).unwrap();
            assert_eq!((child.pid, child.comm.as_slice()), (101, &b"curl"[..]));
            // Its own clone exit names it, not the parent it copied.
            let p = tracker.process(101).unwrap();
            assert_eq!(
                (p.ppid, &p.exe[..], &p.args[..], &p.cwd[..], p.fd_limit),
                (100, &b"curl"[..], &b"-6\0"[..], &b"/home/u"[..], 1024)
            );
        }
    }

    /// Thread 101 of each scenario: (comm, exe, ppid, uid) as the tracker
    /// sees it after the events.
    fn child_after(events: &[Vec<u8>]) -> Option<(String, String, i64, u32)> {
        let (importer, records) = import(file(events));
        let mut tracker = Tracker::from_snapshot(importer.snapshot());
        for r in &records {
            r.with_record(|r| {
                tracker.apply(r);
            });
        }
        let t = tracker.thread(101)?;
        let p = tracker.process(t.pid)?;
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        Some((text(&t.comm), text(&p.exe), p.ppid, p.uid))
    }

    /// Which clone exit names a new thread, as sysdig decides: the first of
    /// the parent's and the child's, from what that exit says (its comm,
    /// exe, uid; the caller, or the child's own `ptid`, as parent); a
    /// parent's exit for a child in another pid namespace, and a second
    /// exit, change nothing; a tid used again is a new thread.
    #[test]
    fn the_first_clone_exit_describes_the_new_thread() {
        let parent = |ts, comm, flags, vtid| {
            CloneExit {
                tid: 100,
                res: 101,
                pid: 100,
                ptid: 1,
                comm,
                exe_dir: "/bin",
                args: "-x",
                cwd: "/home/u",
                flags,
                uid: 1000,
                vtid,
            }
            .block(ts)
        };
        let child = |ts, comm, flags, ptid| {
            CloneExit {
                tid: 101,
                res: 0,
                pid: 101,
                ptid,
                comm,
                exe_dir: "/bin",
                args: "-x",
                cwd: "/home/u",
                flags,
                uid: 0,
                vtid: 101,
            }
            .block(ts)
        };
        let exit = |ts| event_block(PROCEXIT_E, ts, 101, &[&i64b(0)], true, None);
        let want = |comm: &str, exe: &str, ppid, uid| Some((comm.into(), exe.into(), ppid, uid));
        let cases: Vec<(&str, Vec<Vec<u8>>, _)> = vec![
            (
                "the parent's exit first: named from it, the caller is the parent",
                vec![parent(10, "sh", 0, 100), child(20, "child", 0, 100)],
                want("sh", "/bin/sh", 100, 1000),
            ),
            (
                "the child's exit first: named from it, its ptid is the parent",
                vec![child(10, "child", 0, 77), parent(20, "sh", 0, 100)],
                want("child", "/bin/child", 77, 0),
            ),
            (
                "runc's CLONE_PARENT child in a new pid namespace: its own exit",
                vec![
                    parent(10, "runc:[0:PARENT]", CLONE_PARENT | CHILD_IN_PIDNS, 100),
                    child(20, "runc:[1:CHILD]", CLONE_PARENT, 77),
                ],
                want("runc:[1:CHILD]", "/bin/runc:[1:CHILD]", 77, 0),
            ),
            (
                "a parent outside the child's pid namespace sees another tid",
                vec![parent(10, "sh", 0, 5), child(20, "child", 0, 77)],
                want("child", "/bin/child", 77, 0),
            ),
            (
                "a tid used again after its exit is a new thread",
                vec![
                    child(10, "first", 0, 100),
                    exit(20),
                    child(30, "second", 0, 77),
                ],
                want("second", "/bin/second", 77, 0),
            ),
            (
                "a child's exit 2 s after its clone: the old thread's exit was missed",
                vec![
                    parent(10, "sh", 0, 100),
                    child(3_000_000_000, "second", 0, 77),
                ],
                want("second", "/bin/second", 77, 0),
            ),
        ];
        for (what, events, want) in cases {
            assert_eq!(child_after(&events), want, "{what}");
        }
    }

    /// A container event in JSON names a container; a child whose clone
    /// carries that container's cgroups runs in it.
    #[test]
    fn container_events_describe_the_containers_processes_run_in() {
        let id = "3f4e8b1a9c2d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f";
        let json = r#"{"container":{"id":"3f4e8b1a9c2d","type":7,"name":"web","image":"web:1.2","imagerepo":"web","imagetag":"1.2","privileged":true,"labels":{"io.kubernetes.pod.name":"web-1","app":"shop"}}}"#.to_owned() + "\0";
        let cgroups = format!("cpuset=/kubepods/pod1d2c3b4a-5e6f-4a7b-8c9d-0e1f2a3b4c5d/{id}\0");
        let clone_params = clone_child(cgroups.as_bytes());
        let clone_refs: Vec<&[u8]> = clone_params.iter().map(Vec::as_slice).collect();
        let events = [
            event_block(324, 0, -1, &[json.as_bytes()], true, None),
            event_block(CLONE_X, 30, 101, &clone_refs, true, None),
        ];
        let (importer, records) = import(file(&events));
        let container = &records[0];
        assert_eq!(container.ty, EventType::CONTAINER);
        let text = |i: usize| match &container.args[i] {
            OwnedArg::Str(s) => String::from_utf8_lossy(s).into_owned(),
            other => format!("{other:?}"),
        };
        assert_eq!(
            (0..container.args.len()).map(text).collect::<Vec<_>>(),
            [
                "3f4e8b1a9c2d",
                "Int(7)",
                "web",
                "web:1.2",
                "3f4e8b1a9c2d",
                "web",
                "1.2",
                "",
                "Int(1)",
                "app=shop\0io.kubernetes.pod.name=web-1\0",
            ]
        );
        let mut tracker = Tracker::from_snapshot(importer.snapshot());
        for r in &records {
            r.with_record(|r| {
                tracker.apply(r);
            });
        }
        let p = tracker.process(101).unwrap();
        assert_eq!(
            (
                &p.container_id[..],
                &p.pod_uid[..],
                &p.container.name[..],
                &p.container.kind[..]
            ),
            (
                &b"3f4e8b1a9c2d"[..],
                &b"1d2c3b4a-5e6f-4a7b-8c9d-0e1f2a3b4c5d"[..],
                &b"web"[..],
                &b"containerd"[..]
            )
        );
        assert_eq!(
            p.container.label(b"io.kubernetes.pod.name"),
            Some(&b"web-1"[..])
        );
    }

    #[test]
    fn gzip_state_only_and_large_events() {
        use std::io::Write as _;
        let json = b"{\"container\":{}}\0";
        let events = vec![
            event_block(
                READ_E,
                20,
                100,
                &[&i64b(3), &9u32.to_le_bytes()],
                true,
                Some(STATE_ONLY),
            ),
            event_block(324, 25, -1, &[json], true, None),
            event_block(
                READ_E,
                30,
                100,
                &[&i64b(3), &9u32.to_le_bytes()],
                true,
                Some(0),
            ),
            event_block(READ_X, 31, 100, &[&i64b(9), b"127.0.0.1"], true, Some(0)),
        ];
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&file(&events)).unwrap();
        let (importer, records) = import(gz.finish().unwrap());
        let names: Vec<&str> = records.iter().map(|r| r.ty.name()).collect();
        assert_eq!(names, ["other", "read"]);
        assert_eq!(records[0].args[0], OwnedArg::Str(b"container".to_vec()));
        assert_eq!(importer.stats().state_only, 1);
    }

    /// Events a writer stamped 0 (container events, put first) take the
    /// time of the next event that has one, and so does the capture's start.
    #[test]
    fn events_stamped_zero_take_the_next_time() {
        let exit_group = [&PPM_SC_EXIT_GROUP.to_le_bytes()[..], &231u16.to_le_bytes()];
        let events = [
            event_block(GENERIC_E, 0, 100, &exit_group, true, None),
            event_block(PROCEXIT_E, 0, 100, &[&i64b(0)], true, None),
            event_block(PROCEXIT_E, 60, 100, &[&i64b(0)], true, None),
        ];
        let (start, times) = start_and_times(&events);
        assert_eq!(start, 60);
        assert_eq!(
            times,
            [("exit_group", 60), ("procexit", 60), ("procexit", 60)]
        );
    }

    /// An exit of an old format without `res` returned, with no recorded
    /// result (sysdig shows `<NA>`), not with 0.
    #[test]
    fn an_exit_without_res_has_no_result() {
        let events = [
            event_block(
                READ_E,
                20,
                100,
                &[&i64b(4), &100u32.to_le_bytes()],
                true,
                None,
            ),
            event_block(READ_X, 21, 100, &[], true, None),
            event_block(
                READ_E,
                22,
                100,
                &[&i64b(4), &100u32.to_le_bytes()],
                true,
                None,
            ),
            event_block(READ_X, 23, 100, &[&i64b(0), b""], true, None),
        ];
        let (_, records) = import(file(&events));
        let flags: Vec<(u64, RecordFlags, i64)> =
            records.iter().map(|r| (r.ts, r.flags, r.ret)).collect();
        assert_eq!(
            flags,
            [
                (20, RecordFlags::NO_RESULT, 0),
                (22, RecordFlags::default(), 0)
            ]
        );
    }

    /// A container event stamped with a time of its own (the time the
    /// capture was asked for) still starts nothing: sysdig never delivers
    /// container events, so the capture starts at the first other event.
    #[test]
    fn container_events_take_the_next_time_whatever_their_stamp() {
        let json = b"{\"container\":{\"id\":\"3f4e8b1a9c2d\",\"name\":\"web\"}}\0";
        let events = [
            event_block(324, 25, -1, &[json], true, None),
            event_block(PROCEXIT_E, 60, 100, &[&i64b(0)], true, None),
        ];
        let (start, times) = start_and_times(&events);
        assert_eq!(start, 60);
        assert_eq!(times, [("container", 60), ("procexit", 60)]);
    }

    /// A container event after other events (a container started during
    /// the capture) is shown by sysdig, at its own time: it places the
    /// capture in time, also when only hidden events come before it.
    #[test]
    fn a_container_event_after_other_events_keeps_its_time() {
        const PROCINFO_E: u16 = 234;
        let cpu = [&5u64.to_le_bytes()[..], &7u64.to_le_bytes()];
        let json = b"{\"container\":{\"id\":\"3f4e8b1a9c2d\",\"name\":\"web\"}}\0";
        let events = [
            event_block(PROCINFO_E, 10, 100, &cpu, true, None),
            event_block(324, 25, -1, &[json], true, None),
            event_block(PROCINFO_E, 30, 100, &cpu, true, None),
        ];
        let (start, times) = start_and_times(&events);
        assert_eq!(start, 25);
        assert_eq!(
            times,
            [("procinfo", 25), ("container", 25), ("procinfo", 25)]
        );
    }

    /// The driver's CPU samples (`procinfo`, internal: sysdig hides them)
    /// seconds before the first call and after the last take the time of
    /// the calls around them: the capture spans what sysdig shows.
    #[test]
    fn internal_events_take_the_time_around_them() {
        const PROCINFO_E: u16 = 234;
        let cpu = [&5u64.to_le_bytes()[..], &7u64.to_le_bytes()];
        let events = [
            event_block(PROCINFO_E, 10, 100, &cpu, true, None),
            event_block(PROCEXIT_E, 60, 100, &[&i64b(0)], true, None),
            event_block(PROCINFO_E, 70, 100, &cpu, true, None),
            event_block(PROCEXIT_E, 80, 100, &[&i64b(0)], true, None),
            event_block(PROCINFO_E, 990, 100, &cpu, true, None),
        ];
        let (start, times) = start_and_times(&events);
        assert_eq!(start, 60);
        assert_eq!(
            times,
            [
                ("procinfo", 60),
                ("procexit", 60),
                ("procinfo", 60),
                ("procexit", 80),
                ("procinfo", 80)
            ]
        );
        // With no other event, they keep their own times.
        let (_, records) = import(file(&events[..1]));
        assert_eq!(records[0].ts, 10);
    }

    #[test]
    fn a_second_section_goes_on_with_its_events() {
        let mut bytes = file(&[event_block(OPEN_E, 10, 100, &[], true, None)]);
        bytes.extend(section_header());
        bytes.extend(block(0x211, &process_entry(5, 100, 100, 1, b"curl", &[])));
        bytes.extend(event_block(
            OPEN_X,
            15,
            100,
            &[&i64b(4), b"/x\0", &1u32.to_le_bytes(), &0u32.to_le_bytes()],
            true,
            None,
        ));
        let (importer, records) = import(bytes);
        let names: Vec<(&str, u64)> = records.iter().map(|r| (r.ty.name(), r.latency)).collect();
        assert_eq!(names, [("open", 5)]);
        assert_eq!(importer.stats().extra_sections, 1);
    }

    #[test]
    fn truncated_and_corrupt_files_keep_what_they_can() {
        let mut bytes = file(&calls(true));
        let keep = bytes.len() - 10;
        bytes.truncate(keep);
        let (importer, records) = import(bytes);
        assert_eq!(
            records.len(),
            6,
            "every call before the cut, the exit_group never returned"
        );
        let e = importer.error().unwrap().to_string();
        assert!(e.starts_with("truncated at byte "), "{e}");

        // A corrupt event inside a sound block: skipped and reported.
        let mut bad = event_block(READ_X, 21, 100, &[&i64b(10), b"0123456789"], true, None);
        bad[8 + 2 + 26..8 + 2 + 28].copy_from_slice(&500u16.to_le_bytes());
        let (importer, records) =
            import(file(&[bad, event_block(OPEN_E, 30, 100, &[], true, None)]));
        assert_eq!(records.len(), 1);
        assert_eq!(importer.stats().corrupt, 1);
        assert!(importer.error().unwrap().to_string().contains("overruns"));

        // Not a .scap file at all.
        let e = Importer::new(std::io::Cursor::new(b"\x89SYSCAP\n".to_vec())).unwrap_err();
        assert!(matches!(e, ScapError::NotScap), "{e}");
    }
}
