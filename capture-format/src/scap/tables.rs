//! The metadata tables of a `.scap` section: process list (versions 1 to 9)
//! and user list (versions 1 and 2), `scap-format.md` §4.2 and §4.5.

use super::ScapError;
use crate::state::{GroupInfo, UserInfo};

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

/// Reads fields of one block body, naming the block's offset on errors.
struct Reader<'a> {
    body: &'a [u8],
    at: usize,
    block: u64,
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn err(&self, detail: impl std::fmt::Display) -> ScapError {
        ScapError::BadBlock {
            offset: self.block,
            detail: format!("{} at byte {} of the body: {detail}", self.what, self.at),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ScapError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.body.len());
        let Some(end) = end else {
            return Err(self.err(format!(
                "{n} bytes needed, {} left",
                self.body.len() - self.at
            )));
        };
        let bytes = &self.body[self.at..end];
        self.at = end;
        Ok(bytes)
    }

    fn u8(&mut self) -> Result<u8, ScapError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, ScapError> {
        Ok(u16::from_le_bytes(
            self.take(2)?.try_into().unwrap_or_default(),
        ))
    }

    fn u32(&mut self) -> Result<u32, ScapError> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().unwrap_or_default(),
        ))
    }

    fn u64(&mut self) -> Result<u64, ScapError> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().unwrap_or_default(),
        ))
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
        Ok(self.take(n)?.to_vec())
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
            .filter(|&e| e <= self.body.len() && len >= 4);
        end.map(Some)
            .ok_or_else(|| self.err(format!("an entry of {len} bytes")))
    }

    fn remaining(&self) -> usize {
        self.body.len() - self.at
    }
}

/// Parses a process list block of `version` (1 to 9) at `offset`.
pub fn process_list(version: u8, body: &[u8], offset: u64) -> Result<Vec<ScapThread>, ScapError> {
    const PATH: usize = 1024;
    const LONG: usize = 4096;
    let mut r = Reader {
        body,
        at: 0,
        block: offset,
        what: "process list",
    };
    let mut threads = Vec::new();
    while r.remaining() >= 4 {
        let entry_end = r.entry_end(version >= 9)?;
        let mut t = ScapThread {
            tid: r.i64()?,
            pid: r.i64()?,
            ptid: r.i64()?,
            sid: -1,
            vtid: -1,
            vpid: -1,
            loginuid: u32::MAX,
            ..ScapThread::default()
        };
        if version >= 6 {
            t.sid = r.i64()?;
        }
        if version >= 8 {
            r.i64()?; // vpgid
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
                    r.take(12)?;
                }
                t.loginuid = r.u32()?;
            }
            r.at = end;
        }
        threads.push(t);
    }
    Ok(threads)
}

/// Parses a user list block of `version` (1 or 2) at `offset`.
pub fn user_list(
    version: u8,
    body: &[u8],
    offset: u64,
) -> Result<(Vec<UserInfo>, Vec<GroupInfo>), ScapError> {
    const NAME: usize = 255;
    let mut r = Reader {
        body,
        at: 0,
        block: offset,
        what: "user list",
    };
    let (mut users, mut groups) = (Vec::new(), Vec::new());
    while r.remaining() >= 4 {
        let entry_end = r.entry_end(version >= 2)?;
        if r.u8()? == 0 {
            users.push(UserInfo {
                uid: r.u32()?,
                gid: r.u32()?,
                name: r.str16(NAME)?,
                home: r.str16(NAME)?,
                shell: r.str16(NAME)?,
            });
        } else {
            groups.push(GroupInfo {
                gid: r.u32()?,
                name: r.str16(NAME)?,
            });
        }
        if let Some(end) = entry_end {
            r.at = end;
        }
    }
    Ok((users, groups))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s16(out: &mut Vec<u8>, s: &[u8]) {
        out.extend_from_slice(&u16::try_from(s.len()).unwrap().to_le_bytes());
        out.extend_from_slice(s);
    }

    /// One process-list entry of `version` as the writer lays it out.
    fn entry(version: u8, tid: i64, comm: &[u8], tail: &[u8]) -> Vec<u8> {
        let mut e = Vec::new();
        for v in [tid, 100, 1] {
            e.extend_from_slice(&v.to_le_bytes());
        }
        if version >= 6 {
            e.extend_from_slice(&7i64.to_le_bytes());
        }
        if version >= 8 {
            e.extend_from_slice(&8i64.to_le_bytes());
        }
        s16(&mut e, comm);
        s16(&mut e, b"/usr/bin/curl");
        if version >= 7 {
            s16(&mut e, b"/usr/bin/curl");
        }
        s16(&mut e, b"-6\0http://www.google.com\0");
        s16(&mut e, b"/home/u");
        e.extend_from_slice(&1024u64.to_le_bytes());
        e.extend_from_slice(&0u32.to_le_bytes());
        e.extend_from_slice(&1000u32.to_le_bytes());
        e.extend_from_slice(&1001u32.to_le_bytes());
        if version >= 2 {
            for v in [2048u32, 512, 0] {
                e.extend_from_slice(&v.to_le_bytes());
            }
            e.extend_from_slice(&[0; 16]);
        }
        if version >= 3 {
            s16(&mut e, b"HOME=/home/u\0");
        }
        if version >= 4 {
            e.extend_from_slice(&1i64.to_le_bytes());
            e.extend_from_slice(&1i64.to_le_bytes());
            s16(&mut e, b"cpu=/docker/abc\0");
        }
        if version >= 5 {
            s16(&mut e, b"/");
        }
        e.extend_from_slice(tail);
        if version >= 9 {
            let len = u32::try_from(e.len() + 4).unwrap();
            let mut with_len = len.to_le_bytes().to_vec();
            with_len.extend(e);
            return with_len;
        }
        e
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
}
