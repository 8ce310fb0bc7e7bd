//! Builders of `.scap` bytes for tests, laid out as the reference writer
//! lays them out.

use super::events::event_info;

/// A block as the reference writer lays it out.
pub(crate) fn block(id: u32, content: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    super::write_block(&mut b, id, content).unwrap();
    b
}

pub(crate) fn s16(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&u16::try_from(s.len()).unwrap().to_le_bytes());
    out.extend_from_slice(s);
}

/// One process-list entry of `version` as the writer lays it out (exe
/// `/usr/bin/curl`, uid 1000).
pub(crate) fn process_entry(
    version: u8,
    tid: i64,
    pid: i64,
    ptid: i64,
    comm: &[u8],
    tail: &[u8],
) -> Vec<u8> {
    let mut e = Vec::new();
    for v in [tid, pid, ptid] {
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

/// An event block body: cpu, optional flags, header, lengths, values.
pub(crate) fn event_body(
    ty: u16,
    ts: u64,
    tid: i64,
    params: &[&[u8]],
    v2: bool,
    flags: Option<u32>,
) -> Vec<u8> {
    let large = event_info(ty).is_some_and(|i| i.large);
    let width = if large { 4 } else { 2 };
    let header = if v2 { 26 } else { 22 };
    let len = header + width * params.len() + params.iter().map(|p| p.len()).sum::<usize>();
    let mut b = 3u16.to_le_bytes().to_vec();
    if let Some(f) = flags {
        b.extend(f.to_le_bytes());
    }
    b.extend(ts.to_le_bytes());
    b.extend(tid.to_le_bytes());
    b.extend(u32::try_from(len).unwrap().to_le_bytes());
    b.extend(ty.to_le_bytes());
    if v2 {
        b.extend(u32::try_from(params.len()).unwrap().to_le_bytes());
    }
    for p in params {
        if large {
            b.extend(u32::try_from(p.len()).unwrap().to_le_bytes());
        } else {
            b.extend(u16::try_from(p.len()).unwrap().to_le_bytes());
        }
    }
    for p in params {
        b.extend_from_slice(p);
    }
    while !b.len().is_multiple_of(4) {
        b.push(0);
    }
    b
}

/// A section header block (version 1.2, no options).
pub(crate) fn section_header() -> Vec<u8> {
    let mut c = Vec::new();
    c.extend_from_slice(&super::BYTE_ORDER_MAGIC.to_le_bytes());
    c.extend_from_slice(&1u16.to_le_bytes());
    c.extend_from_slice(&2u16.to_le_bytes());
    c.extend_from_slice(&u64::MAX.to_le_bytes());
    block(super::SHB, &c)
}

/// An fd list (v1) of `tid` with regular files `(fd, path)`.
#[cfg(test)]
pub(crate) fn fd_list_v1(tid: i64, files: &[(i64, &[u8])]) -> Vec<u8> {
    let mut body = tid.to_le_bytes().to_vec();
    for &(fd, path) in files {
        body.extend_from_slice(&fd.to_le_bytes());
        body.extend_from_slice(&1u64.to_le_bytes());
        body.push(1);
        s16(&mut body, path);
    }
    block(0x203, &body)
}

/// An event block: `EV` (V1) or `EV_V2`, `EVF_V2` when `flags` is given.
pub(crate) fn event_block(
    ty: u16,
    ts: u64,
    tid: i64,
    params: &[&[u8]],
    v2: bool,
    flags: Option<u32>,
) -> Vec<u8> {
    let id = match (v2, flags.is_some()) {
        (false, false) => 0x204,
        (false, true) => 0x208,
        (true, false) if event_info(ty).is_some_and(|i| i.large) => 0x221,
        (true, false) => 0x216,
        (true, true) => 0x217,
    };
    block(id, &event_body(ty, ts, tid, params, v2, flags))
}

/// libs' `CLONE_20_X` event code.
pub(crate) const CLONE_X: u16 = 223;
/// PPM `CLONE_PARENT`.
pub(crate) const CLONE_PARENT: u32 = 0x100;
/// libs' clone flag: the child lives in another pid namespace.
pub(crate) const CHILD_IN_PIDNS: u32 = 1 << 29;

/// A clone exit (`CLONE_20_X`, its 20 parameters as libs writes them) of
/// thread `tid` returning `res`, describing the thread it returns in:
/// process `pid`, parent `ptid`, command `comm` run from `exe_dir`, PPM
/// `flags`, uid `uid`, `vtid` (the tid in its pid namespace).
#[derive(Clone, Copy, Debug)]
pub(crate) struct CloneExit {
    pub tid: i64,
    pub res: i64,
    pub pid: i64,
    pub ptid: i64,
    pub comm: &'static str,
    /// Where `comm` is run from: the exe is `exe_dir/comm`.
    pub exe_dir: &'static str,
    /// `argv[1..]`, NUL-separated.
    pub args: &'static str,
    /// The working directory the exit reports (a child in a container
    /// reports none).
    pub cwd: &'static str,
    pub flags: u32,
    pub uid: u32,
    pub vtid: i64,
}

impl CloneExit {
    /// The event block, at `ts`.
    pub(crate) fn block(&self, ts: u64) -> Vec<u8> {
        let z = |s: &str| [s.as_bytes(), b"\0"].concat();
        let params: Vec<Vec<u8>> = vec![
            self.res.to_le_bytes().to_vec(),
            z(&format!("{}/{}", self.exe_dir, self.comm)),
            z(self.args),
            self.tid.to_le_bytes().to_vec(),
            self.pid.to_le_bytes().to_vec(),
            self.ptid.to_le_bytes().to_vec(),
            z(self.cwd),
            1024i64.to_le_bytes().to_vec(),
            0u64.to_le_bytes().to_vec(),
            0u64.to_le_bytes().to_vec(),
            0u32.to_le_bytes().to_vec(),
            0u32.to_le_bytes().to_vec(),
            0u32.to_le_bytes().to_vec(),
            z(self.comm),
            Vec::new(),
            self.flags.to_le_bytes().to_vec(),
            self.uid.to_le_bytes().to_vec(),
            self.uid.to_le_bytes().to_vec(),
            self.vtid.to_le_bytes().to_vec(),
            self.pid.to_le_bytes().to_vec(),
        ];
        let refs: Vec<&[u8]> = params.iter().map(Vec::as_slice).collect();
        event_block(CLONE_X, ts, self.tid, &refs, true, None)
    }
}
