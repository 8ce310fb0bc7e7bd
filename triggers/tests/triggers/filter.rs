//! The filter language on events written by the real writer and read back:
//! a table of filters and the events each must select, evaluated both with
//! every column decoded and with only the columns the filter asks for.

use std::net::{Ipv4Addr, SocketAddrV4};

use capture_format::event::{
    EventType, OwnedArg, OwnedRecord, OwnedSockAddr, OwnedSockTuple, RecordFlags,
};
use capture_format::file::{CaptureHeader, CaptureReader, Projection, WriterOptions};
use capture_format::state::{ContainerInfo, FdInfo, FdKind, ProcessInfo, Snapshot, ThreadInfo};
use capture_format::synth::Workload;
use triggers::filter::{Env, Filter};

pub const T0: u64 = 1_700_000_000_000_000_000;

fn rec(ty: &str, tid: i64, pid: i64, ret: i64, latency: u64, args: Vec<OwnedArg>) -> OwnedRecord {
    OwnedRecord {
        ty: EventType::from_name(ty).unwrap(),
        latency,
        tid,
        pid,
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

/// nginx (pid 100, child of systemd 1).
fn snapshot() -> Snapshot {
    Snapshot {
        ts: T0,
        processes: vec![
            ProcessInfo {
                pid: 1,
                exe: b"/sbin/init".to_vec(),
                ..ProcessInfo::default()
            },
            ProcessInfo {
                pid: 100,
                ppid: 1,
                exe: b"nginx".to_vec(),
                exepath: b"/usr/sbin/nginx".to_vec(),
                args: b"-g\0daemon off;\0".to_vec(),
                cwd: b"/var/www".to_vec(),
                uid: 33,
                user: b"www-data".to_vec(),
                container_id: b"3ad7b0f3c1e2".to_vec(),
                ..ProcessInfo::default()
            },
        ],
        threads: vec![
            ThreadInfo {
                tid: 1,
                pid: 1,
                comm: b"systemd".to_vec(),
                ..ThreadInfo::default()
            },
            ThreadInfo {
                tid: 100,
                pid: 100,
                comm: b"nginx".to_vec(),
                ..ThreadInfo::default()
            },
        ],
        fds: vec![FdInfo {
            pid: 100,
            fd: 5,
            kind: FdKind::File,
            name: b"/var/log/nginx/access.log".to_vec(),
            ..FdInfo::default()
        }],
        ..Snapshot::default()
    }
}

/// What nginx and its shell child (pid 200) do.
fn records() -> Vec<OwnedRecord> {
    let tuple = OwnedSockTuple::V4 {
        src: SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 41234),
        dst: SocketAddrV4::new(Ipv4Addr::LOCALHOST, 5000),
    };
    vec![
        // 1: nginx opens a file
        rec(
            "openat",
            100,
            100,
            7,
            3_000,
            vec![i(-100), s("index.html"), i(0o2_000_000), i(0)],
        ),
        // 2: a failed open
        rec(
            "openat",
            100,
            100,
            -2,
            1_500,
            vec![i(-100), s("/etc/shadow"), i(0), i(0)],
        ),
        // 3: read of the file, 20 ms
        rec(
            "read",
            100,
            100,
            5,
            20_000_000,
            vec![i(7), i(4096), OwnedArg::Bytes(b"hello".to_vec())],
        ),
        // 4: write to the log
        rec(
            "write",
            100,
            100,
            12,
            2_000,
            vec![i(5), i(12), OwnedArg::Bytes(b"GET / 200\r\n\0".to_vec())],
        ),
        // 5: a client socket and 6: its connect
        rec("socket", 100, 100, 8, 900, vec![i(2), i(1), i(0)]),
        rec(
            "connect",
            100,
            100,
            0,
            50_000,
            vec![
                i(8),
                OwnedArg::SockAddr(OwnedSockAddr::V4(SocketAddrV4::new(
                    Ipv4Addr::LOCALHOST,
                    5000,
                ))),
                OwnedArg::SockTuple(tuple),
            ],
        ),
        // 7: nginx forks 200, which 8: execs a shell
        rec("clone", 100, 100, 200, 40_000, vec![i(0x0120_0011)]),
        rec(
            "execve",
            200,
            200,
            0,
            300_000,
            vec![s("/bin/sh"), s("sh\0-c\0id\0")],
        ),
        // 9: the shell exits for good
        OwnedRecord {
            flags: RecordFlags::NO_RETURN,
            ..rec("exit_group", 200, 200, 0, 0, vec![i(0)])
        },
    ]
}

pub fn capture() -> Vec<u8> {
    let mut records = records();
    for (n, r) in records.iter_mut().enumerate() {
        r.ts = T0 + (n as u64 + 1) * 1_000_000;
    }
    written(snapshot(), records)
}

/// The capture the writer makes of `records` after `snapshot`.
fn written(snapshot: Snapshot, records: Vec<OwnedRecord>) -> Vec<u8> {
    Workload { snapshot, records }
        .write_to(
            Vec::new(),
            &CaptureHeader::default(),
            WriterOptions::default(),
        )
        .unwrap()
        .0
}

/// Asserts that each filter selects the events (by number) it lists.
fn assert_selects(bytes: &[u8], cases: &[(&str, &[u64])]) {
    for &(text, want) in cases {
        let filter = Filter::new(text).unwrap();
        assert_eq!(selected(bytes, &filter, Projection::ALL), want, "{text}");
    }
}

/// The events (by number) `filter` selects, reading `projection`.
pub fn selected(bytes: &[u8], filter: &Filter, projection: Projection) -> Vec<u64> {
    let reader = CaptureReader::open(bytes).unwrap();
    let env = Env {
        capture_start: T0,
        ..Env::default()
    };
    let mut m = filter.matcher();
    let mut out = Vec::new();
    for c in 0..reader.index().chunks.len() {
        if !filter.may_match(&reader.index().chunks[c], reader.index()) {
            continue;
        }
        let chunk = reader.read_chunk(c, projection).unwrap();
        out.extend(
            chunk
                .events()
                .filter(|e| m.matches(e, &env))
                .map(|e| e.num()),
        );
    }
    out
}

#[test]
fn filters_select_the_right_events() {
    let bytes = capture();
    let cases: &[(&str, &[u64])] = &[
        ("evt.type=openat", &[1, 2]),
        ("evt.type in (read, write)", &[3, 4]),
        ("evt.type != openat", &[3, 4, 5, 6, 7, 8, 9]),
        ("proc.name=nginx and evt.type=openat", &[1, 2]),
        ("fd.name=/var/www/index.html", &[1, 3]),
        ("fd.name contains shadow", &[2]),
        ("fd.name icontains SHADOW", &[2]),
        ("fd.name startswith /var/log", &[4]),
        ("fd.name endswith .html", &[1, 3]),
        ("fd.name glob '/var/*/index.*'", &[1, 3]),
        ("fd.name pmatch (/etc, /var/log)", &[2, 4]),
        ("fd.directory=/var/www", &[1, 3]),
        ("fd.filename=access.log", &[4]),
        ("fd.type=ipv4", &[5, 6]),
        ("fd.typechar=f and evt.type=write", &[4]),
        ("evt.failed=true", &[2]),
        ("evt.res=ENOENT", &[2]),
        ("evt.res=SUCCESS and evt.type=openat", &[1]),
        ("evt.rawres < 0", &[2]),
        ("evt.latency > 10ms", &[3]),
        ("evt.latency >= 50us and evt.latency < 1ms", &[6, 8]),
        ("evt.buflen = 5", &[3]),
        ("evt.buffer contains hello", &[3]),
        ("evt.is_io=true", &[3, 4]),
        ("evt.is_io_write=true", &[4]),
        ("evt.arg.name=/etc/shadow", &[2]),
        ("evt.rawarg.fd=7", &[1, 3]),
        ("evt.arg.fd='<f>/var/www/index.html'", &[1, 3]),
        ("evt.arg[0] = AT_FDCWD", &[1, 2]),
        ("evt.rawarg.size = 4096", &[3]),
        ("evt.args contains 'flags=O_RDONLY|O_CLOEXEC'", &[1]),
        ("fd.sip=127.0.0.1 and fd.sport=5000", &[6]),
        ("fd.cip=10.0.0.1 and fd.cport=41234", &[6]),
        ("fd.rip=127.0.0.1 and fd.lport=41234", &[6]),
        ("fd.l4proto=tcp", &[5, 6]),
        ("fd.sockfamily=ip", &[5, 6]),
        ("proc.pname=nginx", &[8, 9]),
        ("proc.aname=systemd and proc.name=sh", &[8, 9]),
        ("proc.aname[2]=systemd", &[8, 9]),
        ("proc.cmdline='sh -c id'", &[8, 9]),
        ("proc.args contains id", &[8, 9]),
        ("proc.exepath=/bin/sh", &[8, 9]),
        ("proc.cwd=/var/www and evt.type=clone", &[7]),
        ("user.name=www-data and evt.type=clone", &[7]),
        ("user.uid=33 and evt.num=1", &[1]),
        ("container.id=3ad7b0f3c1e2 and evt.type=exit_group", &[9]),
        ("evt.dir='>'", &[9]),
        ("evt.num >= 8", &[8, 9]),
        ("evt.reltime < 2ms", &[1]),
        ("fd.num exists and evt.type=socket", &[5]),
        ("not fd.name exists", &[7, 8, 9]),
        (
            "(evt.type=read or evt.type=write) and not fd.name contains log",
            &[3],
        ),
        ("thread.tid=200 and evt.type=execve", &[8]),
        // `!=` on a boolean is the opposite of `=`.
        ("evt.failed != true", &[1, 3, 4, 5, 6, 7, 8, 9]),
        ("evt.type glob 'open*'", &[1, 2]),
        ("evt.rawarg.name = /etc/shadow", &[2]),
        ("fd.name pmatch (/)", &[1, 2, 3, 4]),
        // `!=` on a boolean is the opposite of `=`.
        ("evt.failed != true", &[1, 3, 4, 5, 6, 7, 8, 9]),
        ("evt.type glob 'open*'", &[1, 2]),
        ("evt.rawarg.name = /etc/shadow", &[2]),
        ("fd.name pmatch (/)", &[1, 2, 3, 4]),
    ];
    let mut failures = Vec::new();
    for &(text, want) in cases {
        let filter = Filter::new(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let all = selected(&bytes, &filter, Projection::ALL);
        let own = selected(&bytes, &filter, filter.projection());
        if all != want || own != want {
            failures.push(format!(
                "{text:<50} want {want:?}, got {all:?} (all columns), {own:?} (its columns)"
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// A thread the capture never learned about (no snapshot entry, no fork or
/// exec seen) has sysdig's placeholders: `<NA>` for its names, ppid -1.
#[test]
fn an_unknown_thread_shows_sysdig_placeholders() {
    let bytes = written(
        Snapshot::default(),
        vec![OwnedRecord {
            ts: T0,
            ..rec("getpid", 999, 999, 999, 100, vec![])
        }],
    );
    assert_selects(
        &bytes,
        &[
            ("proc.name = '<NA>'", &[1]),
            ("proc.exe = '<NA>'", &[1]),
            ("proc.cmdline = '<NA>'", &[1]),
            ("proc.ppid = -1", &[1]),
            ("proc.name = getpid", &[]),
            // Outside containers.
            ("container.name = host", &[1]),
            ("container.type = host", &[1]),
            ("container.image exists", &[]),
        ],
    );
}

/// Container and Kubernetes fields come from what the capture was told of
/// a process's container (here the snapshot; a `.scap` container event or
/// the agent's runtime lookups alike), through the chunks' thread tables.
#[test]
fn container_and_kubernetes_fields() {
    let mut snapshot = snapshot();
    snapshot.containers.push(ContainerInfo {
        id: b"3ad7b0f3c1e2".to_vec(),
        full_id: b"3ad7b0f3c1e2aaaabbbbccccddddeeeeffff0000111122223333444455556666".to_vec(),
        kind: b"containerd".to_vec(),
        name: b"web".to_vec(),
        image: b"registry.example/web:1.2@sha256:abc".to_vec(),
        image_repo: b"registry.example/web".to_vec(),
        image_tag: b"1.2".to_vec(),
        image_digest: b"sha256:abc".to_vec(),
        privileged: true,
        labels: b"io.kubernetes.pod.name=web-7d9\0io.kubernetes.pod.namespace=shop\0io.kubernetes.sandbox.id=99aa88bb77cc66dd\0team=db\0"
            .to_vec(),
    });
    let mut records = records();
    for (n, r) in records.iter_mut().enumerate() {
        r.ts = T0 + (n as u64 + 1) * 1_000_000;
    }
    let bytes = written(snapshot, records);
    let select = |text: &str| {
        let filter = Filter::new(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        selected(&bytes, &filter, filter.projection())
    };
    let inside = select("container.id = 3ad7b0f3c1e2");
    assert!(!inside.is_empty());
    for text in [
        "container.name = web",
        "container.type = containerd",
        "container.image = 'registry.example/web:1.2@sha256:abc'",
        "container.image.repository = registry.example/web",
        "container.image.tag = 1.2",
        "container.image.digest = 'sha256:abc'",
        "container.privileged = true",
        "container.full_id startswith 3ad7b0f3c1e2aaaa",
        "container.label[team] = db",
        "k8s.pod.name = web-7d9",
        "k8s.ns.name = shop",
        "k8s.pod.label[team] = db",
        "k8s.pod.sandbox_id = 99aa88bb77cc",
    ] {
        assert_eq!(select(text), inside, "{text}");
    }
    assert!(select("container.label[nope] exists").is_empty());
}

/// A call recorded without its entry (`--no-latency`) has no latency: a
/// latency comparison never selects it, where a call that took 0 ns does.
#[test]
fn a_call_recorded_without_latency_has_none() {
    let read = rec("read", 100, 100, 5, 0, vec![i(7), i(4096), i(0)]);
    let records = vec![
        OwnedRecord {
            ts: T0 + 1_000,
            ..read.clone()
        },
        OwnedRecord {
            ts: T0 + 2_000,
            flags: RecordFlags::NO_LATENCY,
            ..read
        },
    ];
    assert_selects(
        &written(snapshot(), records),
        &[
            ("evt.latency < 1ms", &[1]),
            ("evt.latency = 0", &[1]),
            ("not evt.latency > 1ms", &[1, 2]),
            ("evt.type = read", &[1, 2]),
        ],
    );
}
