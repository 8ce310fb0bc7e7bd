//! Encoding of the state snapshot block.

use super::rows::{Field, FieldKind, FieldKind::Bytes as B, FieldKind::Varint as V, RowWriter};
use super::rows::{RowBudget, TableError, put_table_header};
use super::sockaddr::{get_ends, put_ends};
use crate::state::{
    ContainerInfo, FdInfo, FdKind, GroupInfo, L4Proto, ProcessInfo, Snapshot, SocketRole,
    ThreadInfo, UserInfo,
};
use crate::varint::{Cursor, put_u64};

const USER: &[FieldKind] = &[V, V, B, B, B];
const GROUP: &[FieldKind] = &[V, B];
const PROCESS: &[FieldKind] = &[
    V, V, V, B, B, B, B, V, V, V, B, B, B, B, V, V, V, V, V, V, V,
];
const THREAD: &[FieldKind] = &[V, V, V, B];
const FD: &[FieldKind] = &[V, V, V, B, V, V, B, V];
const CONTAINER: &[FieldKind] = &[B, B, B, B, B, B, B, B, V, B];

/// The fields of table `i`, in the order the block stores its tables.
#[cfg(feature = "synth")]
pub(crate) fn fields(i: usize) -> &'static [FieldKind] {
    [USER, GROUP, PROCESS, THREAD, FD, CONTAINER][i]
}

/// Encodes `snap` (without compression).
pub(crate) fn encode(snap: &Snapshot) -> Vec<u8> {
    let mut out = Vec::new();
    put_u64(&mut out, snap.ts);
    put_table_header(&mut out, snap.users.len(), USER);
    for u in &snap.users {
        RowWriter(&mut out)
            .u(u64::from(u.uid))
            .u(u64::from(u.gid))
            .b(&u.name)
            .b(&u.home)
            .b(&u.shell);
    }
    put_table_header(&mut out, snap.groups.len(), GROUP);
    for g in &snap.groups {
        RowWriter(&mut out).u(u64::from(g.gid)).b(&g.name);
    }
    put_table_header(&mut out, snap.processes.len(), PROCESS);
    for p in &snap.processes {
        RowWriter(&mut out)
            .i(p.pid)
            .i(p.ppid)
            .i(p.vpid)
            .b(&p.exe)
            .b(&p.exepath)
            .b(&p.args)
            .b(&p.cwd)
            .u(u64::from(p.uid))
            .u(u64::from(p.gid))
            .u(u64::from(p.loginuid))
            .b(&p.user)
            .b(&p.group)
            .b(&p.container_id)
            .b(&p.pod_uid)
            .u(p.start_ts)
            .u(p.vm_size)
            .u(p.vm_rss)
            .u(p.fd_limit)
            .i(p.sid)
            .i(p.vpgid)
            .u(u64::from(p.tty));
    }
    put_table_header(&mut out, snap.threads.len(), THREAD);
    for t in &snap.threads {
        RowWriter(&mut out).i(t.tid).i(t.pid).i(t.vtid).b(&t.comm);
    }
    put_table_header(&mut out, snap.fds.len(), FD);
    let mut ends = Vec::new();
    for f in &snap.fds {
        ends.clear();
        put_ends(&mut ends, &f.ends);
        RowWriter(&mut out)
            .i(f.pid)
            .i(f.fd)
            .u(f.kind as u64)
            .b(&f.name)
            .u(f.l4proto as u64)
            .u(f.role as u64)
            .b(&ends)
            .u(u64::from(f.flags));
    }
    // Added after the first files: readers of those find no more tables.
    put_table_header(&mut out, snap.containers.len(), CONTAINER);
    for c in &snap.containers {
        RowWriter(&mut out)
            .b(&c.id)
            .b(&c.full_id)
            .b(&c.kind)
            .b(&c.name)
            .b(&c.image)
            .b(&c.image_repo)
            .b(&c.image_tag)
            .b(&c.image_digest)
            .u(u64::from(c.privileged))
            .b(&c.labels);
    }
    out
}

fn small(f: Field<'_>) -> u8 {
    u8::try_from(f.u()).unwrap_or(u8::MAX)
}

/// Decodes a snapshot; its tables hold at most what `budget` allows.
pub(crate) fn decode(bytes: &[u8], mut budget: RowBudget) -> Result<Snapshot, TableError> {
    let mut cur = Cursor::new(bytes);
    let mut snap = Snapshot {
        ts: cur.u64()?,
        ..Snapshot::default()
    };
    let mut f = [Field::Missing; 24];

    let t = budget.table(&mut cur, USER)?;
    for _ in 0..t.rows() {
        t.row(&mut cur, &mut f)?;
        snap.users.push(UserInfo {
            uid: f[0].u32(),
            gid: f[1].u32(),
            name: f[2].bytes().to_vec(),
            home: f[3].bytes().to_vec(),
            shell: f[4].bytes().to_vec(),
        });
    }
    let t = budget.table(&mut cur, GROUP)?;
    for _ in 0..t.rows() {
        t.row(&mut cur, &mut f)?;
        snap.groups.push(GroupInfo {
            gid: f[0].u32(),
            name: f[1].bytes().to_vec(),
        });
    }
    let t = budget.table(&mut cur, PROCESS)?;
    for _ in 0..t.rows() {
        t.row(&mut cur, &mut f)?;
        snap.processes.push(process_row(&f));
    }
    let t = budget.table(&mut cur, THREAD)?;
    for _ in 0..t.rows() {
        t.row(&mut cur, &mut f)?;
        snap.threads.push(ThreadInfo {
            key: 0,
            tid: f[0].i(),
            pid: f[1].i(),
            vtid: f[2].i(),
            comm: f[3].bytes().to_vec(),
        });
    }
    let t = budget.table(&mut cur, FD)?;
    for _ in 0..t.rows() {
        t.row(&mut cur, &mut f)?;
        snap.fds.push(FdInfo {
            key: 0,
            pid: f[0].i(),
            fd: f[1].i(),
            kind: FdKind::from_u8(small(f[2])),
            name: f[3].bytes().to_vec(),
            l4proto: L4Proto::from_u8(small(f[4])),
            role: SocketRole::from_u8(small(f[5])),
            ends: get_ends(f[6].bytes()).to_owned_ends(),
            flags: f[7].u32(),
        });
    }
    if cur.is_empty() {
        return Ok(snap);
    }
    let t = budget.table(&mut cur, CONTAINER)?;
    for _ in 0..t.rows() {
        t.row(&mut cur, &mut f)?;
        let text = |i: usize| f[i].bytes().to_vec();
        snap.containers.push(ContainerInfo {
            id: text(0),
            full_id: text(1),
            kind: text(2),
            name: text(3),
            image: text(4),
            image_repo: text(5),
            image_tag: text(6),
            image_digest: text(7),
            privileged: f[8].u() != 0,
            labels: text(9),
        });
    }
    Ok(snap)
}

/// A row of the process table.
fn process_row(f: &[Field<'_>]) -> ProcessInfo {
    ProcessInfo {
        key: 0,
        pid: f[0].i(),
        ppid: f[1].i(),
        vpid: f[2].i(),
        exe: f[3].bytes().to_vec(),
        exepath: f[4].bytes().to_vec(),
        args: f[5].bytes().to_vec(),
        cwd: f[6].bytes().to_vec(),
        uid: f[7].u32(),
        gid: f[8].u32(),
        loginuid: f[9].u32(),
        user: f[10].bytes().to_vec(),
        // Not stored: the tracker names it from the user table.
        login_user: Vec::new(),
        // Not stored: the tracker counts the snapshot's threads.
        threads: 0,
        group: f[11].bytes().to_vec(),
        container_id: f[12].bytes().to_vec(),
        pod_uid: f[13].bytes().to_vec(),
        start_ts: f[14].u(),
        // Absent in files written before these fields existed: 0 (the
        // session and process group: -1, unknown).
        vm_size: f[15].u(),
        vm_rss: f[16].u(),
        fd_limit: f[17].u(),
        sid: f[18].i_or(-1),
        vpgid: f[19].i_or(-1),
        tty: f[20].u32(),
        container: ContainerInfo::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sessions, process groups and terminals round-trip; a 1.1 snapshot
    /// (processes of 18 fields) reads them as unknown: -1, -1, 0.
    #[test]
    fn sessions_round_trip_and_older_snapshots_lack_them() {
        let p = ProcessInfo {
            pid: 300,
            sid: 7,
            vpgid: 300,
            tty: 34_816,
            ..ProcessInfo::default()
        };
        let snap = Snapshot {
            processes: vec![p],
            ..Snapshot::default()
        };
        let bytes = encode(&snap);
        let back = decode(&bytes, RowBudget::for_stored(bytes.len())).unwrap();
        let q = &back.processes[0];
        assert_eq!((q.pid, q.sid, q.vpgid, q.tty), (300, 7, 300, 34_816));
        // The same snapshot as 1.1 wrote it: no users, groups, threads,
        // fds or containers, one process of 18 fields.
        let mut old = Vec::new();
        put_u64(&mut old, 0);
        put_table_header(&mut old, 0, USER);
        put_table_header(&mut old, 0, GROUP);
        put_table_header(&mut old, 1, &PROCESS[..18]);
        RowWriter(&mut old).i(300).i(1).i(300);
        for _ in 0..4 {
            RowWriter(&mut old).b(b"");
        }
        RowWriter(&mut old).u(0).u(0).u(0);
        for _ in 0..4 {
            RowWriter(&mut old).b(b"");
        }
        RowWriter(&mut old).u(0).u(0).u(0).u(0);
        for kinds in [THREAD, FD, CONTAINER] {
            put_table_header(&mut old, 0, kinds);
        }
        let back = decode(&old, RowBudget::for_stored(old.len())).unwrap();
        let q = &back.processes[0];
        assert_eq!((q.pid, q.sid, q.vpgid, q.tty), (300, -1, -1, 0));
    }
}
