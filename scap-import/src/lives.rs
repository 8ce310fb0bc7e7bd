//! A `.scap` file of thread lives, built on purpose for conformance checks
//! against sysdig: how a new thread is named (by the first of its clone's
//! two exits, a child in another pid namespace by its own), a tid used
//! again after its thread exited, `setresuid` and `setuid`, and relative
//! paths of a thread whose working directory is not known. The public
//! sample captures show none of these.
//!
//! Every thread of a scenario opens a file after it is made, so that its
//! process fields show in a call.

use super::testfile::{
    CHILD_IN_PIDNS, CLONE_PARENT, CloneExit, block, event_block, process_entry, s16, section_header,
};

const OPEN_E: u16 = 2;
const OPEN_X: u16 = 3;
const CLONE_E: u16 = 222;
const PROCEXIT_E: u16 = 186;
const SETRESUID_E: u16 = 192;
const SETRESUID_X: u16 = 193;
const SETUID_E: u16 = 198;
const SETUID_X: u16 = 199;
/// PPM `CLONE_THREAD`.
const CLONE_THREAD: u32 = 0x2000;

/// The process every scenario starts from: `sh`, pid 100, user 1000.
pub const SHELL: i64 = 100;

/// Events, each a tick after the last.
struct Events {
    ts: u64,
    out: Vec<u8>,
}

impl Events {
    fn push(&mut self, ty: u16, tid: i64, params: &[&[u8]]) {
        self.ts += 1_000;
        self.out
            .extend(event_block(ty, self.ts, tid, params, true, None));
    }

    fn clone_exit(&mut self, c: &CloneExit) {
        if c.res > 0 {
            self.push(CLONE_E, c.tid, &[]);
        }
        self.ts += 1_000;
        self.out.extend(c.block(self.ts));
    }

    fn open(&mut self, tid: i64, path: &str) {
        let name = [path.as_bytes(), b"\0"].concat();
        let (flags, mode) = (0u32.to_le_bytes(), 0u32.to_le_bytes());
        self.push(OPEN_E, tid, &[&name, &flags, &mode]);
        self.push(OPEN_X, tid, &[&3i64.to_le_bytes(), &name, &flags, &mode]);
    }

    fn exit(&mut self, tid: i64) {
        let zero = 0i64.to_le_bytes();
        self.push(PROCEXIT_E, tid, &[&zero, &zero, &[0], &[0]]);
    }
}

/// A user list (v1): root and `ubuntu` (1000).
fn users() -> Vec<u8> {
    let mut body = Vec::new();
    for (uid, name) in [(0u32, &b"root"[..]), (1000, b"ubuntu")] {
        body.push(0);
        body.extend(uid.to_le_bytes());
        body.extend(uid.to_le_bytes());
        s16(&mut body, name);
        s16(&mut body, b"/");
        s16(&mut body, b"/bin/sh");
    }
    block(0x206, &body)
}

/// The file: `sh` (pid 100) in the tables, then one scenario after the
/// other, each with threads of its own.
pub fn thread_lives() -> Vec<u8> {
    let mut f = section_header();
    f.extend(block(0x211, &process_entry(5, SHELL, SHELL, 1, b"sh", &[])));
    f.extend(users());
    let mut e = Events {
        ts: 1_700_000_000_000_000_000,
        out: Vec::new(),
    };
    let parent = |res, comm, flags| CloneExit {
        tid: SHELL,
        res,
        pid: SHELL,
        ptid: 1,
        comm,
        flags,
        uid: 1000,
        vtid: SHELL,
        exe_dir: "/usr/bin",
        cwd: "/home/u",
        args: "--flag",
    };
    let child = |tid, comm, flags, ptid, uid| CloneExit {
        tid,
        res: 0,
        pid: tid,
        ptid,
        comm,
        flags,
        uid,
        vtid: tid,
        exe_dir: "/usr/bin",
        cwd: "/home/u",
        args: "--flag",
    };
    // The parent's exit first: the child is named from it.
    e.clone_exit(&parent(201, "sh", 0));
    e.clone_exit(&child(201, "child", 0, SHELL, 1000));
    e.open(201, "/etc/a");
    // The child's exit first: named from its own.
    e.clone_exit(&child(202, "child", 0, SHELL, 0));
    e.clone_exit(&parent(202, "sh", 0));
    e.open(202, "/etc/b");
    // runc: a CLONE_PARENT child in a new pid namespace, whose parent's
    // exit comes first; the child's own exit names it, its parent is the
    // grandparent (ptid 1); it reports no working directory, and keeps its
    // parent's.
    e.clone_exit(&parent(
        301,
        "runc:[0:PARENT]",
        CLONE_PARENT | CHILD_IN_PIDNS,
    ));
    e.clone_exit(&CloneExit {
        vtid: 1,
        cwd: "",
        ..child(301, "runc:[1:CHILD]", CLONE_PARENT | CHILD_IN_PIDNS, 1, 0)
    });
    e.open(301, "/etc/c");
    e.open(301, "c2");
    // A thread of the shell (whose table entry runs /usr/bin/curl): its
    // clone exits say what its process runs.
    let args = "-6\0http://www.google.com";
    e.clone_exit(&CloneExit {
        args,
        ..parent(302, "curl", CLONE_THREAD)
    });
    e.clone_exit(&CloneExit {
        pid: SHELL,
        args,
        ..child(302, "curl", CLONE_THREAD, 1, 1000)
    });
    e.open(302, "/etc/d");
    // A tid used again after its thread exited.
    e.clone_exit(&child(401, "first", 0, SHELL, 1000));
    e.open(401, "/etc/e");
    e.exit(401);
    e.open(SHELL, "/etc/f");
    e.clone_exit(&child(401, "second", 0, SHELL, 0));
    e.open(401, "/etc/g");
    // setresuid and setuid (sudo) give the thread a new user.
    e.clone_exit(&child(501, "sudo", 0, SHELL, 1000));
    let all = u32::MAX.to_le_bytes();
    e.push(SETRESUID_E, 501, &[&all, &0u32.to_le_bytes(), &all]);
    e.push(SETRESUID_X, 501, &[&0i64.to_le_bytes()]);
    e.open(501, "/etc/h");
    e.clone_exit(&child(502, "su", 0, SHELL, 1000));
    e.push(SETUID_E, 502, &[&0u32.to_le_bytes()]);
    e.push(SETUID_X, 502, &[&0i64.to_le_bytes()]);
    e.open(502, "/etc/i");
    // setresuid(1000, -1, -1) leaves the effective uid (root) as it was.
    e.clone_exit(&child(503, "sudo", 0, SHELL, 0));
    let ubuntu = 1000u32.to_le_bytes();
    e.push(SETRESUID_E, 503, &[&ubuntu, &all, &all]);
    e.push(SETRESUID_X, 503, &[&0i64.to_le_bytes()]);
    e.open(503, "/etc/j");
    // A thread never seen before: its working directory is not known.
    e.open(601, "tls/libc.so.6");
    e.open(601, "./x/../y");
    f.extend(e.out);
    f
}

/// Writes the tables of `.scap` stream `input`, then its event blocks
/// repeated with shifted timestamps (each copy one second after the last
/// ended) until there are at least `want` events: every tid of the sample
/// lives again in each copy, after its exit in the copy before. Returns the
/// number of events written.
///
/// # Errors
/// Reading `input`, an `input` without events, or writing `output`.
pub fn repeat(
    input: impl std::io::Read + Send + 'static,
    mut output: impl std::io::Write,
    want: u64,
) -> Result<u64, RepeatError> {
    use super::{BlockKind, BlockReader, write_block};
    let mut reader = BlockReader::new(input)?;
    let mut body = Vec::new();
    // (block id, has a flags word, body) of every event block.
    let mut event_blocks: Vec<(u32, bool, Vec<u8>)> = Vec::new();
    let (mut first_ts, mut last_ts) = (u64::MAX, 0);
    while let Some(block) = reader.next_block(&mut body)? {
        match block.kind {
            BlockKind::Event { flags, .. } => {
                let ts = event_ts(&body, flags);
                first_ts = first_ts.min(ts);
                last_ts = last_ts.max(ts);
                event_blocks.push((block.id, flags, body.clone()));
            }
            // A second section would restart the tables: keep the first.
            BlockKind::SectionHeader if !event_blocks.is_empty() => break,
            _ => write_block(&mut output, block.id, &body).map_err(RepeatError::Write)?,
        }
    }
    if event_blocks.is_empty() {
        return Err(RepeatError::NoEvents);
    }
    let shift = last_ts - first_ts + 1_000_000_000;
    let mut written = 0u64;
    for copy in 0.. {
        for (id, flags, body) in &mut event_blocks {
            if copy > 0 {
                let at = if *flags { 6 } else { 2 };
                let ts = event_ts(body, *flags) + shift;
                body[at..at + 8].copy_from_slice(&ts.to_le_bytes());
            }
            write_block(&mut output, *id, body).map_err(RepeatError::Write)?;
            written += 1;
        }
        if written >= want {
            break;
        }
    }
    output.flush().map_err(RepeatError::Write)?;
    Ok(written)
}

/// The time of an event block's body.
fn event_ts(body: &[u8], flags: bool) -> u64 {
    super::u64_at(body, if flags { 6 } else { 2 })
}

/// Why [`repeat`] failed.
#[derive(Debug, thiserror::Error)]
pub enum RepeatError {
    /// The input is not a readable `.scap` stream.
    #[error(transparent)]
    Read(#[from] super::ScapError),
    /// The input has no event block.
    #[error("the capture has no events to repeat")]
    NoEvents,
    /// Writing the output failed.
    #[error("writing the repeated capture")]
    Write(#[source] std::io::Error),
}

/// A file of events sysdig never shows: container events first (one
/// stamped 0, as some writers put them, one with the time the capture was
/// asked for, as others do), then the driver's `procinfo` samples, with
/// times. It has no start.
pub fn hidden_only() -> Vec<u8> {
    const CONTAINER_JSON_E: u16 = 324;
    const PROCINFO_E: u16 = 234;
    let mut f = section_header();
    f.extend(block(0x211, &process_entry(5, SHELL, SHELL, 1, b"sh", &[])));
    let json = b"{\"container\":{\"id\":\"3f4e8b1a9c2d\",\"name\":\"web\",\"type\":0}}\0";
    for ts in [0, 1_699_999_999_000_000_000] {
        f.extend(event_block(CONTAINER_JSON_E, ts, -1, &[json], true, None));
    }
    for ts in [1_700_000_000_000_000_000u64, 1_700_000_001_000_000_000] {
        let cpu = 5u64.to_le_bytes();
        f.extend(event_block(
            PROCINFO_E,
            ts,
            SHELL,
            &[&cpu, &cpu],
            true,
            None,
        ));
    }
    f
}

/// A file of `*at` calls for `evt.abspath`: `sh` (working directory
/// `/home/u`) opens `/srv/data` as fd 3, then calls openat, mkdirat,
/// unlinkat, renameat2, symlinkat, linkat and fchmodat with paths relative
/// to fd 3, to `AT_FDCWD` and absolute ones (with `.`, `..` and repeated
/// slashes to normalise), and one openat on an fd never opened (9).
pub fn at_calls() -> Vec<u8> {
    const OPENAT_2_E: u16 = 306;
    const OPENAT_2_X: u16 = 307;
    const MKDIRAT_X: u16 = 305;
    const UNLINKAT_2_X: u16 = 303;
    const RENAMEAT2_X: u16 = 319;
    const SYMLINKAT_X: u16 = 181;
    const LINKAT_2_X: u16 = 311;
    const FCHMODAT_X: u16 = 313;
    const CWD: i64 = -100;
    let mut f = section_header();
    f.extend(block(0x211, &process_entry(5, SHELL, SHELL, 1, b"sh", &[])));
    let mut e = Events {
        ts: 1_700_000_000_000_000_000,
        out: Vec::new(),
    };
    e.open(SHELL, "/srv/data");
    let fd = |v: i64| v.to_le_bytes().to_vec();
    let s = |v: &str| [v.as_bytes(), b"\0"].concat();
    let u32le = |v: u32| v.to_le_bytes().to_vec();
    let ok = fd(0);
    for (n, (dirfd, name)) in [
        (3, "logs/../app.log"),
        (CWD, "notes.txt"),
        (3, "/etc//passwd"),
        (9, "z"),
    ]
    .into_iter()
    .enumerate()
    {
        let (dirfd, name, flags, mode) = (fd(dirfd), s(name), u32le(0), u32le(0));
        e.push(OPENAT_2_E, SHELL, &[&dirfd, &name, &flags, &mode]);
        let res = fd(5 + i64::try_from(n).unwrap_or(0));
        let dev = u32le(0);
        e.push(
            OPENAT_2_X,
            SHELL,
            &[&res, &dirfd, &name, &flags, &mode, &dev],
        );
    }
    let calls: [(u16, Vec<Vec<u8>>); 6] = [
        (
            MKDIRAT_X,
            vec![ok.clone(), fd(3), s("new/./dir"), u32le(0o755)],
        ),
        (UNLINKAT_2_X, vec![ok.clone(), fd(3), s("old"), u32le(0)]),
        (
            RENAMEAT2_X,
            vec![ok.clone(), fd(3), s("a"), fd(CWD), s("../b"), u32le(0)],
        ),
        (SYMLINKAT_X, vec![ok.clone(), s("/t"), fd(3), s("ln")]),
        (
            LINKAT_2_X,
            vec![ok.clone(), fd(CWD), s("x"), fd(3), s("y"), u32le(0)],
        ),
        (FCHMODAT_X, vec![ok, fd(3), s("f"), u32le(0o644)]),
    ];
    for (ty, params) in &calls {
        let params: Vec<&[u8]> = params.iter().map(Vec::as_slice).collect();
        e.push(ty - 1, SHELL, &[]);
        e.push(*ty, SHELL, &params);
    }
    f.extend(e.out);
    f
}

/// A file of sessions, process groups and terminals: `sh` (pid 100) in a
/// v8 process list with session 7 and process group 8; a child it forks
/// (which inherits them), that execs `bash` with a terminal (`tty_nr` 34816)
/// and process group 300 (an execve exit of sysdig 0.29.3's driver), then
/// starts a session of its own (setsid).
pub fn sessions() -> Vec<u8> {
    const EXECVE_19_E: u16 = 292;
    const EXECVE_19_X: u16 = 293;
    const SETSID_E: u16 = 274;
    const SETSID_X: u16 = 275;
    let mut f = section_header();
    f.extend(block(0x214, &process_entry(8, SHELL, SHELL, 1, b"sh", &[])));
    f.extend(users());
    let mut e = Events {
        ts: 1_700_000_000_000_000_000,
        out: Vec::new(),
    };
    let child = |tid, res| CloneExit {
        tid,
        res,
        pid: tid,
        ptid: SHELL,
        comm: "sh",
        flags: 0,
        uid: 1000,
        vtid: tid,
        exe_dir: "/bin",
        cwd: "/home/u",
        args: "",
    };
    e.open(SHELL, "/etc/a");
    e.clone_exit(&CloneExit {
        tid: SHELL,
        pid: SHELL,
        ptid: 1,
        ..child(SHELL, 300)
    });
    e.clone_exit(&child(300, 0));
    e.open(300, "/etc/b");
    let z = |s: &str| [s.as_bytes(), b"\0"].concat();
    let i64le = |v: i64| v.to_le_bytes().to_vec();
    let u64le = |v: u64| v.to_le_bytes().to_vec();
    let u32le = |v: u32| v.to_le_bytes().to_vec();
    e.push(EXECVE_19_E, 300, &[&z("/bin/bash")]);
    let params: Vec<Vec<u8>> = vec![
        i64le(0),
        z("/bin/bash"),
        z("-i"),
        i64le(300),
        i64le(300),
        i64le(SHELL),
        z("/home/u"),
        u64le(1024),
        u64le(0),
        u64le(0),
        u32le(0),
        u32le(0),
        u32le(0),
        z("bash"),
        z(""),
        z(""),
        u32le(34816),
        i64le(300),
        u32le(1000),
        u32le(0),
    ];
    let params: Vec<&[u8]> = params.iter().map(Vec::as_slice).collect();
    e.push(EXECVE_19_X, 300, &params);
    e.open(300, "/etc/c");
    e.push(SETSID_E, 300, &[]);
    e.push(SETSID_X, 300, &[&i64le(300)]);
    e.open(300, "/etc/d");
    e.open(SHELL, "/etc/e");
    f.extend(e.out);
    f
}

/// A file of writes to syslog: `sh` opens `/dev/log` (fd 3) and a log file
/// (fd 4), then writes messages to both: well-formed ones of several
/// facilities and severities, a facility past sysdig's names, malformed
/// priorities, an empty message, one whose write failed, and a well-formed
/// one to the file, which is no syslog message.
pub fn syslog() -> Vec<u8> {
    const WRITE_E: u16 = 8;
    const WRITE_X: u16 = 9;
    let mut f = section_header();
    f.extend(block(0x211, &process_entry(5, SHELL, SHELL, 1, b"sh", &[])));
    let mut e = Events {
        ts: 1_700_000_000_000_000_000,
        out: Vec::new(),
    };
    e.open(SHELL, "/dev/log");
    let (flags, mode) = (0u32.to_le_bytes(), 0u32.to_le_bytes());
    let log = b"/var/log/app.log\0";
    e.push(OPEN_E, SHELL, &[log, &flags, &mode]);
    e.push(OPEN_X, SHELL, &[&4i64.to_le_bytes(), log, &flags, &mode]);
    let messages: [(i64, &[u8], i64); 12] = [
        (3, b"<14>Dec  8 04:40:00 app[42]: hello", 0),
        (3, b"<191>local7 debug", 0),
        (3, b"<0>kern emerg", 0),
        (3, b"<200>past the names", 0),
        (3, b"<13>", 0),
        (3, b"<abc>not a number", 0),
        (3, b"no priority at all", 0),
        (3, b"<>empty", 0),
        (3, b"<13", 0),
        (3, b"<99999999999>overflow", 0),
        (3, b"<11>failed", -11),
        (4, b"<14>to a file", 0),
    ];
    for (fd, data, res) in messages {
        let size = u32::try_from(data.len()).unwrap_or(0);
        e.push(WRITE_E, SHELL, &[&fd.to_le_bytes(), &size.to_le_bytes()]);
        let res = if res == 0 { i64::from(size) } else { res };
        e.push(WRITE_X, SHELL, &[&res.to_le_bytes(), data]);
    }
    f.extend(e.out);
    f
}
