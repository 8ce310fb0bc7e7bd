//! The metadata tables of a `.scap` section: process list (versions 1 to 9)
//! and user list (versions 1 and 2), `scap-format.md` §4.2 and §4.5.

use std::io::Read;

use super::ScapError;
use capture_format::state::{GroupInfo, UserInfo};

/// One thread of a process list, as stored (ids before namespace mapping).
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct ScapThread {
    /// Thread id.
    pub tid: i64,
    /// Process id.
    pub pid: i64,
    /// Parent thread id.
    pub ptid: i64,
    /// Session id (V6+; -1 before).
    pub sid: i64,
    /// Process group id in its pid namespace (V8+; -1 before).
    pub vpgid: i64,
    /// Controlling terminal, `tty_nr` (the V9 tail of newer writers; 0
    /// before).
    pub tty: u32,
    /// Thread name.
    pub comm: Vec<u8>,
    /// `argv[0]`.
    pub exe: Vec<u8>,
    /// Executable path (V7+).
    pub exepath: Vec<u8>,
    /// `argv[1..]`, each NUL-terminated.
    pub args: Vec<u8>,
    /// Working directory.
    pub cwd: Vec<u8>,
    /// `RLIMIT_NOFILE`.
    pub fdlimit: u64,
    /// `PPM_CL_*` flags.
    pub flags: u32,
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
    /// Virtual memory, KiB (V2+).
    pub vmsize_kb: u32,
    /// Resident memory, KiB (V2+).
    pub vmrss_kb: u32,
    /// Thread id in its pid namespace (V4+; -1 before).
    pub vtid: i64,
    /// Process id in its pid namespace (V4+; -1 before).
    pub vpid: i64,
    /// `controller=path` entries, NUL-terminated (V4+).
    pub cgroups: Vec<u8>,
    /// Root directory (V5+).
    pub root: Vec<u8>,
    /// Login uid (V9 tail; `u32::MAX` when absent).
    pub loginuid: u32,
}

/// Reads the fields of one block body as a stream, naming the block's
/// offset on errors: a table of millions of entries costs no more memory
/// than the entries kept.
struct Reader<R> {
    body: R,
    /// Bytes of the body.
    len: usize,
    /// Bytes read.
    at: usize,
    block: u64,
    what: &'static str,
}

impl<R: Read> Reader<R> {
    fn new(body: R, len: usize, block: u64, what: &'static str) -> Self {
        Self {
            body,
            len,
            at: 0,
            block,
            what,
        }
    }

    fn err(&self, detail: impl std::fmt::Display) -> ScapError {
        ScapError::BadBlock {
            offset: self.block,
            detail: format!("{} at byte {} of the body: {detail}", self.what, self.at),
        }
    }

    /// Fails unless `n` more bytes are in the body.
    fn need(&self, n: usize) -> Result<(), ScapError> {
        if n > self.remaining() {
            return Err(self.err(format!("{n} bytes needed, {} left", self.remaining())));
        }
        Ok(())
    }

    fn io(&self, source: std::io::Error) -> ScapError {
        if source.kind() == std::io::ErrorKind::UnexpectedEof {
            // The stream ends inside the block: the file was cut.
            ScapError::Truncated {
                offset: self.block,
                len: u32::try_from(self.len + 12).unwrap_or(u32::MAX),
            }
        } else {
            ScapError::Io {
                offset: self.block + 8 + self.at as u64,
                source,
            }
        }
    }

    fn fill(&mut self, buf: &mut [u8]) -> Result<(), ScapError> {
        self.need(buf.len())?;
        self.body.read_exact(buf).map_err(|e| self.io(e))?;
        self.at += buf.len();
        Ok(())
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], ScapError> {
        let mut out = [0; N];
        self.fill(&mut out)?;
        Ok(out)
    }

    /// `n` bytes (callers bound `n`: a few KiB at most).
    fn take(&mut self, n: usize) -> Result<Vec<u8>, ScapError> {
        self.need(n)?;
        let mut out = vec![0; n];
        self.fill(&mut out)?;
        Ok(out)
    }

    fn skip(&mut self, n: usize) -> Result<(), ScapError> {
        self.need(n)?;
        let skipped = std::io::copy(&mut (&mut self.body).take(n as u64), &mut std::io::sink())
            .map_err(|e| self.io(e))?;
        if skipped < n as u64 {
            return Err(self.io(std::io::ErrorKind::UnexpectedEof.into()));
        }
        self.at += n;
        Ok(())
    }

    fn u8(&mut self) -> Result<u8, ScapError> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, ScapError> {
        self.array().map(u16::from_le_bytes)
    }

    fn u32(&mut self) -> Result<u32, ScapError> {
        self.array().map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Result<u64, ScapError> {
        self.array().map(u64::from_le_bytes)
    }

    fn i64(&mut self) -> Result<i64, ScapError> {
        Ok(self.u64()?.cast_signed())
    }

    /// A `u16` length and that many bytes, at most `limit`.
    fn str16(&mut self, limit: usize) -> Result<Vec<u8>, ScapError> {
        let n = usize::from(self.u16()?);
        if n > limit {
            return Err(self.err(format!(
                "a string of {n} bytes, above the {limit}-byte limit"
            )));
        }
        self.take(n)
    }

    /// Where the entry starting here ends, when entries carry their length
    /// (a `u32` that counts itself).
    fn entry_end(&mut self, has_len: bool) -> Result<Option<usize>, ScapError> {
        if !has_len {
            return Ok(None);
        }
        let start = self.at;
        let len = self.u32()? as usize;
        let end = start
            .checked_add(len)
            .filter(|&e| e <= self.len && len >= 4);
        end.map(Some)
            .ok_or_else(|| self.err(format!("an entry of {len} bytes")))
    }

    /// Moves to the end of an entry that carries its length (skipping
    /// fields of newer writers); its fields must not have run past it.
    fn finish_entry(&mut self, end: usize) -> Result<(), ScapError> {
        if self.at > end {
            return Err(self.err(format!(
                "an entry's fields run past its length (to byte {end})"
            )));
        }
        self.skip(end - self.at)
    }

    fn remaining(&self) -> usize {
        self.len - self.at
    }
}

/// Entries keyed by `K`, in the order first seen; a later entry with the
/// same key replaces the earlier one. A table of a million copies of one
/// entry keeps one.
pub(crate) struct Keyed<K, T> {
    pub(crate) entries: Vec<T>,
    at: hashbrown::HashMap<K, usize>,
}

impl<K: std::hash::Hash + Eq, T> Keyed<K, T> {
    pub(crate) fn new() -> Self {
        Self {
            entries: Vec::new(),
            at: hashbrown::HashMap::new(),
        }
    }

    pub(crate) fn insert(&mut self, key: K, entry: T) {
        match self.at.entry(key) {
            hashbrown::hash_map::Entry::Occupied(i) => self.entries[*i.get()] = entry,
            hashbrown::hash_map::Entry::Vacant(slot) => {
                slot.insert(self.entries.len());
                self.entries.push(entry);
            }
        }
    }
}

/// Parses a process list block of `version` (1 to 9) at `offset`, its
/// `len`-byte body read from `body`. A thread listed again replaces the
/// entry before.
pub fn process_list(
    version: u8,
    body: impl Read,
    len: usize,
    offset: u64,
) -> Result<Vec<ScapThread>, ScapError> {
    const PATH: usize = 1024;
    const LONG: usize = 4096;
    let mut r = Reader::new(body, len, offset, "process list");
    let mut threads = Keyed::new();
    while r.remaining() >= 4 {
        let entry_end = r.entry_end(version >= 9)?;
        let mut t = ScapThread {
            tid: r.i64()?,
            pid: r.i64()?,
            ptid: r.i64()?,
            sid: -1,
            vpgid: -1,
            vtid: -1,
            vpid: -1,
            loginuid: u32::MAX,
            ..ScapThread::default()
        };
        if version >= 6 {
            t.sid = r.i64()?;
        }
        if version >= 8 {
            t.vpgid = r.i64()?;
        }
        t.comm = r.str16(PATH)?;
        t.exe = r.str16(PATH)?;
        if version >= 7 {
            t.exepath = r.str16(PATH)?;
        }
        t.args = r.str16(LONG)?;
        t.cwd = r.str16(PATH)?;
        t.fdlimit = r.u64()?;
        t.flags = r.u32()?;
        t.uid = r.u32()?;
        t.gid = r.u32()?;
        if version >= 2 {
            t.vmsize_kb = r.u32()?;
            t.vmrss_kb = r.u32()?;
            r.u32()?; // vmswap_kb
            r.u64()?; // pfmajor
            r.u64()?; // pfminor
        }
        if version >= 3 {
            r.str16(LONG)?; // env
        }
        if version >= 4 {
            t.vtid = r.i64()?;
            t.vpid = r.i64()?;
            t.cgroups = r.str16(LONG)?;
        }
        if version >= 5 {
            t.root = r.str16(PATH)?;
        }
        if let Some(end) = entry_end {
            // The V9 tail: loginuid first in the old shape; after the
            // pid-namespace start time and tty in the new one (§4.2).
            let left = end.saturating_sub(r.at);
            if left >= 4 {
                if left > 29 {
                    r.skip(8)?; // pidns_init_start_ts
                    t.tty = r.u32()?;
                }
                t.loginuid = r.u32()?;
            }
            r.finish_entry(end)?;
        }
        threads.insert(t.tid, t);
    }
    Ok(threads.entries)
}

/// What an fd list entry says beyond its number, by `scap_fd_type`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum ScapFdInfo {
    /// Unknown type (0), or a newer type skipped by its entry length.
    Nothing,
    /// A name: files, directories, FIFOs, eventfd, signalfd, epoll, inotify,
    /// timerfd, netlink, bpf, userfaultfd, `io_uring`, memfd, pidfd.
    Name(Vec<u8>),
    /// A file with its open flags (`PPM_O_*`), and device (FDL v2 only).
    File {
        /// Open flags.
        flags: u32,
        /// Path.
        name: Vec<u8>,
        /// Device number, when stored.
        dev: Option<u32>,
    },
    /// A connected socket: local then remote end (network-order addresses,
    /// host-order ports), and the transport (`scap_l4_proto`).
    Connected {
        /// Local address (4 or 16 bytes).
        local: Vec<u8>,
        /// Remote address.
        remote: Vec<u8>,
        /// Local port.
        local_port: u16,
        /// Remote port.
        remote_port: u16,
        /// 0 unknown, 1 n/a, 2 TCP, 3 UDP, 4 ICMP, 5 raw.
        l4proto: u8,
    },
    /// A bound or listening socket.
    Server {
        /// Address (4 or 16 bytes).
        ip: Vec<u8>,
        /// Port.
        port: u16,
        /// Transport.
        l4proto: u8,
    },
    /// A unix socket: kernel socket addresses and the path.
    Unix {
        /// This end.
        source: u64,
        /// The peer.
        dest: u64,
        /// Path.
        name: Vec<u8>,
    },
}

/// One fd of an fd list.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ScapFd {
    /// The fd number.
    pub fd: i64,
    /// Inode.
    pub ino: u64,
    /// `scap_fd_type` (1 file, 3 ipv4 socket, 8 unix socket, 16 file v2...).
    pub kind: u8,
    /// What it refers to.
    pub info: ScapFdInfo,
}

/// Parses an fd list block of `version` (1 or 2) at `offset`, its
/// `len`-byte body read from `body`: the thread whose table it is, and its
/// fds. An fd listed again replaces the entry before.
pub fn fd_list(
    version: u8,
    body: impl Read,
    len: usize,
    offset: u64,
) -> Result<(i64, Vec<ScapFd>), ScapError> {
    const NAME: usize = 1024;
    let mut r = Reader::new(body, len, offset, "fd list");
    let tid = r.i64()?;
    let mut fds = Keyed::new();
    while r.remaining() >= 4 {
        let entry_end = r.entry_end(version >= 2)?;
        let fd = r.i64()?;
        let ino = r.u64()?;
        let kind = r.u8()?;
        let info = match kind {
            0 => ScapFdInfo::Nothing,
            1 | 2 | 7 | 9..=15 | 17..=21 => ScapFdInfo::Name(r.str16(NAME)?),
            3 | 4 => {
                let n = if kind == 3 { 4 } else { 16 };
                let local = r.take(n)?;
                let remote = r.take(n)?;
                ScapFdInfo::Connected {
                    local,
                    remote,
                    local_port: r.u16()?,
                    remote_port: r.u16()?,
                    l4proto: r.u8()?,
                }
            }
            5 | 6 => ScapFdInfo::Server {
                ip: r.take(if kind == 5 { 4 } else { 16 })?,
                port: r.u16()?,
                l4proto: r.u8()?,
            },
            8 => ScapFdInfo::Unix {
                source: r.u64()?,
                dest: r.u64()?,
                name: r.str16(NAME)?,
            },
            16 => {
                let flags = r.u32()?;
                let name = r.str16(NAME)?;
                let dev = match entry_end {
                    Some(end) if end.saturating_sub(r.at) >= 4 => Some(r.u32()?),
                    _ => None,
                };
                ScapFdInfo::File { flags, name, dev }
            }
            // A newer type: skippable only when the entry has a length.
            other if entry_end.is_some() => {
                let _ = other;
                ScapFdInfo::Nothing
            }
            other => {
                return Err(r.err(format!(
                    "fd type {other} is unknown and its entry has no length"
                )));
            }
        };
        if let Some(end) = entry_end {
            r.finish_entry(end)?;
        }
        fds.insert(
            fd,
            ScapFd {
                fd,
                ino,
                kind,
                info,
            },
        );
    }
    Ok((tid, fds.entries))
}

/// Parses a user list block of `version` (1 or 2) at `offset`, its
/// `len`-byte body read from `body`. A user (uid) or group (gid) listed
/// again replaces the entry before.
pub fn user_list(
    version: u8,
    body: impl Read,
    len: usize,
    offset: u64,
) -> Result<(Vec<UserInfo>, Vec<GroupInfo>), ScapError> {
    const NAME: usize = 255;
    let mut r = Reader::new(body, len, offset, "user list");
    let (mut users, mut groups) = (Keyed::new(), Keyed::new());
    while r.remaining() >= 4 {
        let entry_end = r.entry_end(version >= 2)?;
        if r.u8()? == 0 {
            let user = UserInfo {
                uid: r.u32()?,
                gid: r.u32()?,
                name: r.str16(NAME)?,
                home: r.str16(NAME)?,
                shell: r.str16(NAME)?,
            };
            users.insert(user.uid, user);
        } else {
            let group = GroupInfo {
                gid: r.u32()?,
                name: r.str16(NAME)?,
            };
            groups.insert(group.gid, group);
        }
        if let Some(end) = entry_end {
            r.finish_entry(end)?;
        }
    }
    Ok((users.entries, groups.entries))
}

/// One network interface address of an interface list.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ScapInterface {
    /// Interface name (`lo`, `eth0`).
    pub name: Vec<u8>,
    /// Address, netmask and broadcast address (4 or 16 bytes each, network
    /// order).
    pub addr: Vec<u8>,
    /// Netmask.
    pub netmask: Vec<u8>,
    /// Broadcast address.
    pub broadcast: Vec<u8>,
    /// Link speed, when stored (types 1 and 2).
    pub link_speed: Option<u64>,
}

/// Parses an interface list block of `version` (1 or 2) at `offset`, its
/// `len`-byte body read from `body` (`scap-format.md` §4.4; v2 entry
/// lengths do not count themselves). An interface listed again (same name,
/// addresses and speed) is kept once.
pub fn interface_list(
    version: u8,
    body: impl Read,
    len: usize,
    offset: u64,
) -> Result<Vec<ScapInterface>, ScapError> {
    let mut r = Reader::new(body, len, offset, "interface list");
    let mut interfaces = Keyed::new();
    while r.remaining() >= 4 {
        let end = if version >= 2 {
            let len = r.u32()? as usize;
            let end = r.at.checked_add(len).filter(|&e| e <= r.len);
            Some(end.ok_or_else(|| r.err(format!("an entry of {len} bytes")))?)
        } else {
            None
        };
        let ty = r.u16()?;
        let name_len = usize::from(r.u16()?);
        if name_len >= 1024 {
            return Err(r.err(format!("an interface name of {name_len} bytes")));
        }
        let (width, speed) = match ty {
            1 => (4, true),
            2 => (16, true),
            3 => (4, false),
            4 => (16, false),
            other => return Err(r.err(format!("interface type {other}"))),
        };
        // Address, netmask and broadcast address, read without allocating:
        // an entry seen before costs nothing.
        let mut addrs = [[0u8; 16]; 3];
        for a in &mut addrs {
            r.fill(&mut a[..width])?;
        }
        let link_speed = if speed { Some(r.u64()?) } else { None };
        let name = r.take(name_len)?;
        if let Some(end) = end {
            r.finish_entry(end)?;
        }
        let key = (name, width, addrs, link_speed);
        if !interfaces.at.contains_key(&key) {
            let [addr, netmask, broadcast] = addrs.map(|a| a[..width].to_vec());
            let interface = ScapInterface {
                name: key.0.clone(),
                addr,
                netmask,
                broadcast,
                link_speed,
            };
            interfaces.insert(key, interface);
        }
    }
    Ok(interfaces.entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::testfile::s16;

    // The parsers over bodies in memory.
    fn process_list(version: u8, body: &[u8], offset: u64) -> Result<Vec<ScapThread>, ScapError> {
        super::process_list(version, body, body.len(), offset)
    }

    fn fd_list(version: u8, body: &[u8], offset: u64) -> Result<(i64, Vec<ScapFd>), ScapError> {
        super::fd_list(version, body, body.len(), offset)
    }

    fn user_list(
        version: u8,
        body: &[u8],
        offset: u64,
    ) -> Result<(Vec<UserInfo>, Vec<GroupInfo>), ScapError> {
        super::user_list(version, body, body.len(), offset)
    }

    fn interface_list(
        version: u8,
        body: &[u8],
        offset: u64,
    ) -> Result<Vec<ScapInterface>, ScapError> {
        super::interface_list(version, body, body.len(), offset)
    }

    /// One process-list entry of `version`: pid 100, parent 1.
    fn entry(version: u8, tid: i64, comm: &[u8], tail: &[u8]) -> Vec<u8> {
        crate::testfile::process_entry(version, tid, 100, 1, comm, tail)
    }

    #[test]
    fn process_lists_of_every_version() {
        for version in 1..=9u8 {
            let mut body = entry(version, 100, b"curl", &[]);
            body.extend(entry(version, 101, b"curl-worker", &[]));
            body.extend_from_slice(&[0, 0]); // padding
            let threads =
                process_list(version, &body, 64).unwrap_or_else(|e| panic!("v{version}: {e}"));
            assert_eq!(threads.len(), 2, "v{version}");
            let t = &threads[1];
            assert_eq!((t.tid, t.pid, t.ptid), (101, 100, 1), "v{version}");
            assert_eq!(t.comm, b"curl-worker", "v{version}");
            assert_eq!(t.args, b"-6\0http://www.google.com\0", "v{version}");
            assert_eq!((t.uid, t.gid, t.fdlimit), (1000, 1001, 1024), "v{version}");
            assert_eq!(
                t.vmsize_kb,
                if version >= 2 { 2048 } else { 0 },
                "v{version}"
            );
            assert_eq!(t.vpid, if version >= 4 { 1 } else { -1 }, "v{version}");
            assert_eq!(
                t.root,
                if version >= 5 { b"/".to_vec() } else { vec![] },
                "v{version}"
            );
            assert_eq!(t.sid, if version >= 6 { 7 } else { -1 }, "v{version}");
            assert_eq!(t.loginuid, u32::MAX);
        }
    }

    #[test]
    fn v9_tails_old_and_new() {
        let mut old = 1000u32.to_le_bytes().to_vec();
        old.push(0); // exe_writable
        let t = &process_list(9, &entry(9, 5, b"sh", &old), 0).unwrap()[0];
        assert_eq!(t.loginuid, 1000);
        let mut new = vec![0u8; 12]; // pidns_init_start_ts, tty
        new.extend_from_slice(&1001u32.to_le_bytes());
        new.extend_from_slice(&[0; 30]);
        let t = &process_list(9, &entry(9, 5, b"sh", &new), 0).unwrap()[0];
        assert_eq!(t.loginuid, 1001);
    }

    #[test]
    fn broken_lists_name_the_block_and_place() {
        let body = entry(5, 100, b"curl", &[]);
        let e = process_list(5, &body[..body.len() - 3], 4096).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("block at byte 4096: process list at byte"),
            "{e}"
        );
        let mut long = entry(5, 100, b"", &[]);
        long[24..26].copy_from_slice(&2000u16.to_le_bytes()); // comm length
        let e = process_list(5, &long, 0).unwrap_err();
        assert!(
            e.to_string()
                .contains("a string of 2000 bytes, above the 1024-byte limit"),
            "{e}"
        );
        let e = process_list(9, &[200, 0, 0, 0, 1, 2, 3, 4], 0).unwrap_err();
        assert!(e.to_string().contains("an entry of 200 bytes"), "{e}");
        // An entry length shorter than its fields.
        let mut short = entry(9, 100, b"curl", &[]);
        let mut padded = short.clone();
        short[0..4].copy_from_slice(&40u32.to_le_bytes());
        short.extend_from_slice(&[0; 4]);
        let e = process_list(9, &short, 0).unwrap_err();
        assert!(e.to_string().contains("run past its length"), "{e}");
        // Longer is fine: newer fields are skipped.
        let len = u32::try_from(padded.len() + 6).unwrap();
        padded[0..4].copy_from_slice(&len.to_le_bytes());
        padded.extend_from_slice(&[9; 6]);
        assert_eq!(process_list(9, &padded, 0).unwrap().len(), 1);
    }

    #[test]
    fn fd_lists_v1_and_v2() {
        let mut file = Vec::new();
        file.extend_from_slice(&3i64.to_le_bytes());
        file.extend_from_slice(&77u64.to_le_bytes());
        file.push(1);
        s16(&mut file, b"/etc/passwd");
        let mut conn = Vec::new();
        conn.extend_from_slice(&4i64.to_le_bytes());
        conn.extend_from_slice(&78u64.to_le_bytes());
        conn.push(3);
        conn.extend_from_slice(&[10, 0, 0, 79, 142, 250, 1, 1]);
        conn.extend_from_slice(&41000u16.to_le_bytes());
        conn.extend_from_slice(&80u16.to_le_bytes());
        conn.push(2);
        let mut body = 1234i64.to_le_bytes().to_vec();
        body.extend(&file);
        body.extend(&conn);
        let (tid, fds) = fd_list(1, &body, 0).unwrap();
        assert_eq!(tid, 1234);
        assert_eq!(fds[0].info, ScapFdInfo::Name(b"/etc/passwd".to_vec()));
        assert_eq!(
            fds[1].info,
            ScapFdInfo::Connected {
                local: vec![10, 0, 0, 79],
                remote: vec![142, 250, 1, 1],
                local_port: 41000,
                remote_port: 80,
                l4proto: 2,
            }
        );
        // v2: lengths, a FILE_V2 with its device, and a type from the future.
        let with_len = |e: &[u8]| {
            let mut out = u32::try_from(e.len() + 4).unwrap().to_le_bytes().to_vec();
            out.extend_from_slice(e);
            out
        };
        let mut file2 = 5i64.to_le_bytes().to_vec();
        file2.extend_from_slice(&9u64.to_le_bytes());
        file2.push(16);
        file2.extend_from_slice(&0o2u32.to_le_bytes());
        s16(&mut file2, b"/tmp/x");
        file2.extend_from_slice(&0x801u32.to_le_bytes());
        let mut future = 6i64.to_le_bytes().to_vec();
        future.extend_from_slice(&0u64.to_le_bytes());
        future.push(99);
        future.extend_from_slice(b"whatever");
        let mut body = 1i64.to_le_bytes().to_vec();
        body.extend(with_len(&file2));
        body.extend(with_len(&future));
        let (_, fds) = fd_list(2, &body, 0).unwrap();
        assert_eq!(
            fds[0].info,
            ScapFdInfo::File {
                flags: 2,
                name: b"/tmp/x".to_vec(),
                dev: Some(0x801)
            }
        );
        assert_eq!((fds[1].kind, &fds[1].info), (99, &ScapFdInfo::Nothing));
        // Without lengths a future type cannot be skipped.
        let mut v1 = 1i64.to_le_bytes().to_vec();
        v1.extend(&future);
        assert!(
            fd_list(1, &v1, 8)
                .unwrap_err()
                .to_string()
                .contains("fd type 99 is unknown")
        );
    }

    #[test]
    fn user_lists_v1_and_v2() {
        let mut user = vec![0u8];
        user.extend_from_slice(&1000u32.to_le_bytes());
        user.extend_from_slice(&1000u32.to_le_bytes());
        s16(&mut user, b"alice");
        s16(&mut user, b"/home/alice");
        s16(&mut user, b"/bin/bash");
        let mut group = vec![1u8];
        group.extend_from_slice(&27u32.to_le_bytes());
        s16(&mut group, b"sudo");
        let v1: Vec<u8> = [user.clone(), group.clone()].concat();
        let (users, groups) = user_list(1, &v1, 0).unwrap();
        assert_eq!(users[0].name, b"alice");
        assert_eq!(users[0].shell, b"/bin/bash");
        assert_eq!(
            (groups[0].gid, groups[0].name.as_slice()),
            (27, &b"sudo"[..])
        );
        let with_len = |e: &[u8], extra: usize| {
            let mut out = u32::try_from(e.len() + 4 + extra)
                .unwrap()
                .to_le_bytes()
                .to_vec();
            out.extend_from_slice(e);
            out.resize(out.len() + extra, 0xEE); // fields of a newer writer
            out
        };
        let v2 = [with_len(&user, 3), with_len(&group, 0)].concat();
        assert_eq!(user_list(2, &v2, 0).unwrap(), (users, groups));
    }

    #[test]
    fn interface_lists_v1_and_v2() {
        let entry = |ty: u16, name: &[u8], addr: &[u8], speed: bool| {
            let mut e = ty.to_le_bytes().to_vec();
            e.extend_from_slice(&u16::try_from(name.len()).unwrap().to_le_bytes());
            for _ in 0..3 {
                e.extend_from_slice(addr);
            }
            if speed {
                e.extend_from_slice(&1000u64.to_le_bytes());
            }
            e.extend_from_slice(name);
            e
        };
        let lo = entry(1, b"lo", &[127, 0, 0, 1], true);
        let v6 = entry(4, b"eth0", &[0xfe; 16], false);
        let v1: Vec<u8> = [lo.clone(), v6.clone()].concat();
        let got = interface_list(1, &v1, 0).unwrap();
        assert_eq!(got[0].name, b"lo");
        assert_eq!(
            (got[0].addr.as_slice(), got[0].link_speed),
            (&[127, 0, 0, 1][..], Some(1000))
        );
        assert_eq!(
            (got[1].name.as_slice(), got[1].addr.len()),
            (&b"eth0"[..], 16)
        );
        let mut v2 = Vec::new();
        for e in [&lo, &v6] {
            v2.extend_from_slice(&u32::try_from(e.len()).unwrap().to_le_bytes());
            v2.extend_from_slice(e);
        }
        assert_eq!(interface_list(2, &v2, 0).unwrap(), got);
        let bad = entry(9, b"x", &[1; 4], true);
        let e = interface_list(1, &bad, 96).unwrap_err().to_string();
        assert!(
            e.contains("byte 96") && e.contains("interface type 9"),
            "{e}"
        );
    }
}
