//! End-to-end tests of the capture format: write with the real writer, read
//! back with both readers, cut and corrupt files, and compare with readable
//! diffs.

mod harness;

use capture_format::event::{Arg, EventType, OwnedArg, OwnedRecord, RecordFlags};
use capture_format::file::hostile::{self, CountingAlloc, SnapshotTable, peak_alloc};
use capture_format::file::{
    BlockKind, CaptureHeader, CaptureReader, Chunk, Decoder, Index, Projection, StreamItem,
    StreamReader, TriggerInfo, Writer, WriterOptions, finish_truncated,
};
use capture_format::state::Tracker;
use capture_format::synth::{SynthOptions, generate};
use capture_format::{Error, codec::Codec};
use harness::{Written, assert_lines_eq, read_all_lines, write_workload};

fn small_options() -> WriterOptions {
    WriterOptions {
        chunk_events: 500,
        ..WriterOptions::default()
    }
}

#[test]
fn round_trip_through_both_readers_with_resolved_state() {
    let workload = generate(&SynthOptions {
        events: 5_000,
        processes: 30,
        ..SynthOptions::default()
    });
    for codec in [Codec::Zstd, Codec::Deflate, Codec::Lz4, Codec::None] {
        let options = WriterOptions {
            codec,
            ..small_options()
        };
        let Written { bytes, expected } = write_workload(&workload, options);
        let reader = CaptureReader::open(bytes.as_slice()).unwrap();
        assert!(reader.truncation().is_none());
        assert_eq!(reader.index().events, 5_000);
        assert_eq!(reader.index().chunks.len(), 10, "{codec:?}");
        assert_eq!(reader.header().hostname, "test-host");
        let snap = reader.snapshot(0).unwrap().unwrap();
        assert_eq!(
            snap.processes, workload.snapshot.processes,
            "every process field survives"
        );
        let (lines, _) = read_all_lines(&reader);
        assert_lines_eq(&expected, &lines, &format!("random access, {codec:?}"));

        let mut stream = StreamReader::new(bytes.as_slice()).unwrap();
        let mut chunk = Chunk::default();
        let mut streamed = Vec::new();
        let mut snapshots = 0;
        while let Some(item) = stream.next_item(&mut chunk, Projection::ALL).unwrap() {
            match item {
                StreamItem::Snapshot(_) => snapshots += 1,
                StreamItem::Chunk => streamed.extend(chunk.events().map(|e| harness::line(&e))),
            }
        }
        assert_eq!(snapshots, 1);
        assert_lines_eq(&expected, &streamed, &format!("stream, {codec:?}"));
    }
}

#[test]
fn index_answers_info_without_a_scan() {
    let workload = generate(&SynthOptions {
        events: 3_000,
        ..SynthOptions::default()
    });
    let Written { bytes, .. } = write_workload(&workload, small_options());
    let reader = CaptureReader::open(bytes.as_slice()).unwrap();
    let index = reader.index();
    let mut by_type = std::collections::HashMap::new();
    for r in &workload.records {
        *by_type.entry(r.ty).or_insert(0u64) += 1;
    }
    for &(ty, n) in &index.types {
        assert_eq!(by_type.get(&ty), Some(&n), "count of {}", ty.name());
    }
    assert_eq!(index.types.iter().map(|t| t.1).sum::<u64>(), 3_000);
    assert!(
        index.types.windows(2).all(|w| w[0].1 >= w[1].1),
        "sorted by count"
    );
    assert_eq!(
        index.processes.iter().map(|p| p.events).sum::<u64>(),
        3_000,
        "every event is some process's"
    );
    let first = &workload.records[0];
    let last = workload.records.last().unwrap();
    assert_eq!(
        index.ts_min,
        workload.records.iter().map(|r| r.ts).min().unwrap()
    );
    assert!(index.ts_max >= last.ts + last.latency && index.ts_min <= first.ts);
    // Chunks are numbered consecutively and cover the time range.
    let mut next = 1;
    for c in &index.chunks {
        assert_eq!(c.first_num, next);
        next += u64::from(c.events);
        assert!(c.ts_min <= c.ts_max);
    }
    // A time window selects only the chunks that overlap it.
    let mid = &index.chunks[3];
    let selected: Vec<usize> = index.chunks_between(mid.ts_min, mid.ts_min).collect();
    assert!(selected.contains(&3));
    assert!(selected.len() < index.chunks.len());
}

#[test]
fn projection_decodes_only_what_is_asked() {
    let workload = generate(&SynthOptions {
        events: 2_000,
        ..SynthOptions::default()
    });
    let Written { bytes, .. } = write_workload(&workload, small_options());
    let reader = CaptureReader::open(bytes.as_slice()).unwrap();
    let full = reader.read_chunk(0, Projection::ALL).unwrap();
    let slim = reader.read_chunk(0, Projection::THREAD).unwrap();
    assert_eq!(full.types(), slim.types());
    for (a, b) in full.events().zip(slim.events()) {
        assert_eq!(a.thread().unwrap().comm(), b.thread().unwrap().comm());
        assert_eq!(b.args().count(), 0, "arguments were not asked for");
        assert!(b.fd().is_none());
    }
}

/// A reader that left events out numbers the rest one by one
/// (`Chunk::renumber`); numbers that do not fit the chunk leave it
/// consecutive.
#[test]
fn renumbered_chunks_number_each_event_as_told() {
    let workload = generate(&SynthOptions {
        events: 1_200,
        ..SynthOptions::default()
    });
    let Written { bytes, .. } = write_workload(&workload, small_options());
    let reader = CaptureReader::open(bytes.as_slice()).unwrap();
    let chunk = reader.read_chunk(1, Projection::MINIMAL).unwrap();
    let nums = |c: &Chunk| c.events().map(|e| e.num()).collect::<Vec<u64>>();
    let consecutive = nums(&chunk);
    assert!(consecutive[0] > 1 && consecutive.windows(2).all(|w| w[1] == w[0] + 1));
    let spread: Vec<u64> = (0..consecutive.len() as u64).map(|i| 10 + 3 * i).collect();
    let cases: [(&[u64], &[u64]); 3] = [
        (&spread, &spread),
        (&spread[1..], &consecutive),
        (&[], &consecutive),
    ];
    for (given, want) in cases {
        let mut c = chunk.clone();
        c.renumber(&spread);
        c.renumber(given);
        assert_eq!(nums(&c), want, "renumbered with {} numbers", given.len());
    }
}

#[test]
fn header_trigger_and_event_kinds_round_trip() {
    let header = CaptureHeader {
        hostname: "h".into(),
        trigger: Some(TriggerInfo {
            rule: "r".into(),
            ts: 5,
            reason: "why".into(),
        }),
        ..CaptureHeader::default()
    };
    let mut out = Vec::new();
    let mut w = Writer::new(&mut out, &header, WriterOptions::default()).unwrap();
    let mut tracker = Tracker::new();
    let records = [
        OwnedRecord {
            ty: EventType::DROP,
            ts: 10,
            tid: -1,
            pid: -1,
            args: vec![
                OwnedArg::Int(42),
                OwnedArg::Str(b"ring buffer full".to_vec()),
            ],
            ..OwnedRecord::default()
        },
        OwnedRecord {
            ty: EventType::TRIGGER,
            ts: 11,
            tid: -1,
            pid: -1,
            args: vec![OwnedArg::Str(b"r".to_vec()), OwnedArg::Str(b"why".to_vec())],
            ..OwnedRecord::default()
        },
        OwnedRecord {
            ty: EventType::from_name("exit_group").unwrap(),
            flags: RecordFlags::NO_RETURN,
            ts: 12,
            tid: 7,
            pid: 7,
            args: vec![OwnedArg::Int(3)],
            ..OwnedRecord::default()
        },
    ];
    for r in &records {
        r.with_record(|rec| {
            let ctx = tracker.apply(rec);
            w.write(rec, &ctx).unwrap();
        });
    }
    let (_, index) = w.finish().unwrap();
    assert_eq!(index.drops, 42);
    let reader = CaptureReader::open(out.as_slice()).unwrap();
    assert_eq!(reader.header(), &header);
    let chunk = reader.read_chunk(0, Projection::ALL).unwrap();
    let got: Vec<OwnedRecord> = chunk.events().map(|e| e.to_owned_record()).collect();
    assert_eq!(got[0], records[0]);
    assert_eq!(got[1], records[1]);
    assert_eq!(got[2], records[2]);
    assert!(!chunk.event(2).unwrap().returned());
    assert_eq!(chunk.event(0).unwrap().arg(0), Arg::Int(42));
}

/// A capture that keeps less data than was recorded cuts every I/O data
/// snapshot, and nothing else (paths stay whole).
#[test]
fn records_are_lent_with_data_cut_to_a_snaplen() {
    let mut out = Vec::new();
    let mut w = Writer::new(
        &mut out,
        &CaptureHeader::default(),
        WriterOptions::default(),
    )
    .unwrap();
    let mut tracker = Tracker::new();
    let write = OwnedRecord {
        ty: EventType::from_name("write").unwrap(),
        ts: 1,
        tid: 7,
        pid: 7,
        ret: 11,
        args: vec![
            OwnedArg::Int(1),
            OwnedArg::Bytes(b"hello world".to_vec()),
            OwnedArg::Int(11),
        ],
        ..OwnedRecord::default()
    };
    let open = OwnedRecord {
        ty: EventType::from_name("openat").unwrap(),
        ts: 2,
        tid: 7,
        pid: 7,
        ret: 3,
        args: vec![
            OwnedArg::Int(-100),
            OwnedArg::Str(b"/etc/hostname".to_vec()),
            OwnedArg::Int(0),
            OwnedArg::Int(0),
        ],
        ..OwnedRecord::default()
    };
    for r in [&write, &open] {
        r.with_record(|rec| w.write(rec, &tracker.apply(rec)).unwrap());
    }
    w.finish().unwrap();
    let reader = CaptureReader::open(out.as_slice()).unwrap();
    let chunk = reader.read_chunk(0, Projection::ALL).unwrap();
    #[expect(
        clippy::redundant_closure_for_method_calls,
        reason = "the method path is bound to one record lifetime; with_record_cut lends any"
    )]
    let cut = |i: usize, snaplen: usize| {
        chunk
            .event(i)
            .unwrap()
            .with_record_cut(snaplen, |r| r.to_owned_record())
    };
    let mut short = write.clone();
    short.args[1] = OwnedArg::Bytes(b"hello".to_vec());
    assert_eq!(cut(0, 5), short);
    assert_eq!(cut(0, 11), write);
    assert_eq!(cut(0, usize::MAX), write);
    assert_eq!(cut(1, 5), open, "paths are not data");
    short.args[1] = OwnedArg::Bytes(Vec::new());
    assert_eq!(cut(0, 0), short);
}

/// A file small enough to cut at every byte, big enough for three chunks
/// and a snapshot.
fn small_file() -> (Vec<u8>, Vec<String>) {
    let workload = generate(&SynthOptions {
        events: 60,
        processes: 4,
        ..SynthOptions::default()
    });
    let Written { bytes, expected } = write_workload(
        &workload,
        WriterOptions {
            chunk_events: 20,
            ..WriterOptions::default()
        },
    );
    (bytes, expected)
}

#[test]
fn a_file_cut_at_any_byte_reads_up_to_its_last_complete_chunk() {
    let (bytes, expected) = small_file();
    let full = CaptureReader::open(bytes.as_slice()).unwrap();
    let chunk_ends: Vec<u64> = full
        .index()
        .chunks
        .iter()
        .map(|c| c.offset + 12 + u64::from(c.len))
        .collect();
    for cut in 0..bytes.len() {
        let part = &bytes[..cut];
        // Events in the chunks that end before the cut.
        let complete = chunk_ends.iter().filter(|&&end| end <= cut as u64).count();
        let want = &expected[..complete * 20];
        match CaptureReader::open(part) {
            Ok(reader) => {
                let t = reader
                    .truncation()
                    .unwrap_or_else(|| panic!("cut at {cut} not reported"));
                assert_eq!(t.events, want.len() as u64, "cut at {cut}: {t}");
                let (lines, errors) = read_all_lines(&reader);
                assert!(errors.is_empty(), "cut at {cut}: {errors:?}");
                assert_lines_eq(want, &lines, &format!("cut at {cut}"));
            }
            Err(Error::Truncated { offset, events: 0 }) => assert!(offset <= 16, "cut at {cut}"),
            Err(e) => panic!("cut at {cut}: {e}"),
        }
        // The stream reader recovers the same events and names the cut.
        let mut lines = Vec::new();
        let end = match StreamReader::new(part) {
            Ok(mut s) => {
                let mut chunk = Chunk::default();
                loop {
                    match s.next_item(&mut chunk, Projection::ALL) {
                        Ok(Some(StreamItem::Chunk)) => {
                            lines.extend(chunk.events().map(|e| harness::line(&e)));
                        }
                        Ok(Some(StreamItem::Snapshot(_))) => {}
                        Ok(None) => break None,
                        Err(e) => break Some(e),
                    }
                }
            }
            Err(e) => Some(e),
        };
        assert_lines_eq(want, &lines, &format!("stream cut at {cut}"));
        match end {
            Some(Error::Truncated { events, .. }) => assert_eq!(events, want.len() as u64),
            other => panic!("stream cut at {cut}: {other:?}"),
        }
    }
}

#[test]
fn finishing_a_cut_file_makes_it_whole() {
    let (bytes, expected) = small_file();
    let dir = tempdir();
    for cut in [bytes.len() - 1, bytes.len() / 2, bytes.len() / 3 + 7] {
        let path = dir.join(format!("cut-{cut}.syscap"));
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        let repaired = finish_truncated(&mut file).unwrap().expect("was truncated");
        let reader = CaptureReader::open(std::fs::File::open(&path).unwrap()).unwrap();
        assert!(reader.truncation().is_none(), "cut at {cut}");
        assert_eq!(reader.index().events, repaired.events);
        let (lines, _) = read_all_lines(&reader);
        assert_lines_eq(
            &expected[..lines.len()],
            &lines,
            &format!("repaired cut at {cut}"),
        );
        // Finishing a finished file changes nothing.
        assert_eq!(finish_truncated(&mut file).unwrap(), None);
    }
    std::fs::remove_dir_all(dir).unwrap();
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("syscap-format-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn flipped_bits_are_reported_with_an_offset_and_never_panic() {
    let (bytes, _) = small_file();
    let mut detected = 0;
    for i in 0..bytes.len() {
        for bit in [0x01u8, 0x80] {
            let mut bad = bytes.clone();
            bad[i] ^= bit;
            let outcome = CaptureReader::open(bad.as_slice()).map(|r| {
                let (lines, mut errors) = read_all_lines(&r);
                if let Err(e) = r.snapshot(0) {
                    errors.push(e.to_string());
                }
                (lines.len(), errors, r.truncation().cloned())
            });
            match outcome {
                Err(e) => {
                    detected += 1;
                    assert!(!e.to_string().is_empty());
                }
                Ok((_, errors, truncation)) => {
                    if !errors.is_empty() || truncation.is_some() {
                        detected += 1;
                    }
                    for e in errors {
                        assert!(e.contains("at byte"), "{e}");
                    }
                }
            }
        }
    }
    // Every flip is caught except in the six bytes no reader checks: the
    // minor version and the reserved flags of the file header.
    assert_eq!(detected, bytes.len() * 2 - 6 * 2, "of {}", bytes.len() * 2);
}

#[test]
fn foreign_and_empty_files_get_one_clear_error() {
    let cases: &[(&[u8], &str)] = &[
        (b"", "truncated at byte 0"),
        (b"\x89SYS", "truncated at byte 0"),
        (
            b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03",
            "not a syscap capture",
        ),
        (b"hello world, this is text", "not a syscap capture"),
        (
            b"\x89SYSCAP\n\x02\x00\x00\x00\x00\x00\x00\x00",
            "unsupported capture format version 2.0",
        ),
    ];
    for &(bytes, want) in cases {
        let err = CaptureReader::open(bytes).unwrap_err().to_string();
        assert!(err.contains(want), "{bytes:?}: {err}");
        assert!(!err.contains('\n'));
        let err = StreamReader::new(bytes).unwrap_err().to_string();
        assert!(err.contains(want), "stream {bytes:?}: {err}");
    }
}

#[test]
fn chunks_decode_in_parallel_with_one_decoder_per_thread() {
    let workload = generate(&SynthOptions {
        events: 4_000,
        ..SynthOptions::default()
    });
    let Written { bytes, expected } = write_workload(&workload, small_options());
    let reader = CaptureReader::open(bytes.as_slice()).unwrap();
    let n = reader.index().chunks.len();
    let results: Vec<Vec<String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|t| {
                let reader = &reader;
                s.spawn(move || {
                    let mut dec = Decoder::new();
                    let mut chunk = Chunk::default();
                    let mut out = Vec::new();
                    for i in (t..n).step_by(2) {
                        dec.read_chunk(reader, i, Projection::ALL, &mut chunk)
                            .unwrap();
                        out.push((
                            i,
                            chunk
                                .events()
                                .map(|e| harness::line(&e))
                                .collect::<Vec<_>>(),
                        ));
                    }
                    out
                })
            })
            .collect();
        let mut all: Vec<(usize, Vec<String>)> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        all.sort_by_key(|(i, _)| *i);
        all.into_iter().map(|(_, l)| l).collect()
    });
    let lines: Vec<String> = results.into_iter().flatten().collect();
    assert_lines_eq(&expected, &lines, "parallel");
}

mod properties {
    use super::*;
    use capture_format::event::{OwnedSockAddr, OwnedSockTuple};
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};

    fn arg() -> impl Strategy<Value = OwnedArg> {
        let bytes = proptest::collection::vec(any::<u8>(), 0..40);
        prop_oneof![
            Just(OwnedArg::Absent),
            any::<i64>().prop_map(OwnedArg::Int),
            (-5i64..100).prop_map(OwnedArg::Int),
            bytes.clone().prop_map(OwnedArg::Str),
            bytes.clone().prop_map(OwnedArg::Bytes),
            (any::<[u8; 4]>(), any::<u16>()).prop_map(|(ip, port)| OwnedArg::SockAddr(
                OwnedSockAddr::V4(SocketAddrV4::new(Ipv4Addr::from(ip), port))
            )),
            (any::<[u8; 16]>(), any::<u16>(), any::<u32>(), any::<u32>()).prop_map(
                |(ip, port, flow, scope)| OwnedArg::SockAddr(OwnedSockAddr::V6(SocketAddrV6::new(
                    Ipv6Addr::from(ip),
                    port,
                    flow,
                    scope
                )))
            ),
            bytes
                .clone()
                .prop_map(|p| OwnedArg::SockAddr(OwnedSockAddr::Unix(p))),
            any::<u16>().prop_map(|f| OwnedArg::SockAddr(OwnedSockAddr::Other(f))),
            (
                any::<[u8; 4]>(),
                any::<u16>(),
                any::<[u8; 4]>(),
                any::<u16>()
            )
                .prop_map(|(a, p, b, q)| OwnedArg::SockTuple(OwnedSockTuple::V4 {
                    src: SocketAddrV4::new(Ipv4Addr::from(a), p),
                    dst: SocketAddrV4::new(Ipv4Addr::from(b), q),
                })),
            (any::<u64>(), any::<u64>(), bytes).prop_map(|(src, dst, path)| {
                OwnedArg::SockTuple(OwnedSockTuple::Unix { src, dst, path })
            }),
        ]
    }

    fn record() -> impl Strategy<Value = OwnedRecord> {
        (
            prop_oneof![0u16..470, 1024u16..1033, any::<u16>()],
            any::<u8>(),
            0u64..(1 << 62),
            0u64..(1 << 40),
            any::<u16>(),
            1i64..40,
            any::<i64>(),
            proptest::collection::vec(arg(), 0..10),
        )
            .prop_map(
                |(ty, flags, ts, latency, cpu, tid, ret, args)| OwnedRecord {
                    ty: EventType(ty),
                    flags: RecordFlags(flags),
                    ts,
                    latency,
                    cpu,
                    tid,
                    // Threads belong to one process, as in real captures.
                    pid: tid / 4 + 1,
                    ret,
                    args,
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Any sequence of records writes and reads back identically, and
        /// the state tracker never panics on it.
        #[test]
        fn any_records_round_trip(records in proptest::collection::vec(record(), 0..300),
                                  chunk_events in 1u32..120) {
            let mut out = Vec::new();
            let options = WriterOptions { chunk_events, ..WriterOptions::default() };
            let mut w = Writer::new(&mut out, &CaptureHeader::default(), options).unwrap();
            let mut tracker = Tracker::new();
            for r in &records {
                r.with_record(|rec| {
                    let ctx = tracker.apply(rec);
                    w.write(rec, &ctx).unwrap();
                });
            }
            w.finish().unwrap();
            let reader = CaptureReader::open(out.as_slice()).unwrap();
            prop_assert_eq!(reader.index().events, records.len() as u64);
            let mut got = Vec::new();
            for i in 0..reader.index().chunks.len() {
                let chunk = reader.read_chunk(i, Projection::ALL).unwrap();
                for e in chunk.events() {
                    // Through the borrowed view a re-encoder writes.
                    got.push(e.to_owned_record());
                }
            }
            prop_assert_eq!(got, records);
        }
    }
}

// Every test of this binary counts the bytes its thread allocates, so that
// hostile files can be held to a memory bound.
#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Where the footer of a finished capture is, from its trailer.
fn footer_at(bytes: &[u8]) -> u64 {
    let t = &bytes[bytes.len() - 24..];
    u64::from_le_bytes(t[..8].try_into().unwrap())
}

/// Opens `bytes` with both readers and reads everything (snapshots and
/// chunks); returns the first error of each reader, and the most bytes
/// this thread held meanwhile.
fn read_everything(bytes: &[u8]) -> (Vec<String>, usize) {
    let (errors, peak) = peak_alloc(|| {
        let mut errors = Vec::new();
        match CaptureReader::open(bytes) {
            Ok(reader) => {
                if let Err(e) = reader.snapshot(0) {
                    errors.push(e.to_string());
                }
                let (_, chunk_errors) = read_all_lines(&reader);
                errors.extend(chunk_errors);
            }
            Err(e) => errors.push(e.to_string()),
        }
        let mut chunk = Chunk::default();
        match StreamReader::new(bytes) {
            Ok(mut stream) => loop {
                match stream.next_item(&mut chunk, Projection::ALL) {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(e) => {
                        errors.push(format!("stream: {e}"));
                        break;
                    }
                }
            },
            Err(e) => errors.push(format!("stream: {e}")),
        }
        errors
    });
    (errors, peak)
}

#[test]
fn hostile_metadata_is_refused_before_it_costs_memory() {
    // Each of these files is a few kilobytes; readers that trusted them
    // took up to gigabytes (issue 20).
    let zero_footer = hostile::zero_footer(1 << 30);
    let small_zero_footer = hostile::zero_footer(64 << 10);
    let repeats = hostile::footer_repeating_a_chunk(100_000, 3, true);
    let rows_past_budget = hostile::snapshot_rows(SnapshotTable::Users, 600_000, 100_000);
    let mut cases: Vec<(String, Vec<u8>, String)> = vec![
        (
            "a footer of 1 GiB of zeros".into(),
            zero_footer.clone(),
            format!(
                "footer at byte {} claims 1073741824 bytes, more than the limit",
                footer_at(&zero_footer)
            ),
        ),
        (
            "a footer of 64 KiB of zeros (an index of nothing)".into(),
            small_zero_footer.clone(),
            format!(
                "corrupt footer at byte {}: the snapshot block at byte {} is not in the index",
                footer_at(&small_zero_footer),
                hostile::data_start(&small_zero_footer)
            ),
        ),
        (
            "a footer listing one chunk 100 000 times".into(),
            repeats.clone(),
            // Refused by its size (1.4 MB from 559 bytes); a less
            // compressible one by the rows its tables may hold, or by its
            // chunks overlapping (below).
            format!("footer at byte {}", footer_at(&repeats)),
        ),
        (
            "a snapshot of 600 000 users and 100 KB of other bytes".into(),
            rows_past_budget.clone(),
            format!(
                "corrupt snapshot at byte {}: its tables hold 600000 rows, more than the",
                hostile::data_start(&rows_past_budget)
            ),
        ),
    ];
    for table in SnapshotTable::ALL {
        let bytes = hostile::snapshot_rows(table, 2_000_000, 0);
        let want = format!("snapshot at byte {} claims", hostile::data_start(&bytes));
        cases.push((format!("2 000 000 empty {}", table.name()), bytes, want));
    }
    // Every case is checked, and every one that fails is listed.
    let mut failed = Vec::new();
    for (what, bytes, want) in cases {
        let (errors, peak) = read_everything(&bytes);
        if errors.is_empty()
            || !errors
                .iter()
                .all(|e| e.contains(&want) && !e.contains('\n'))
        {
            failed.push(format!(
                "{what} ({} bytes): expected every reader to say '{want}', got {errors:?}",
                bytes.len()
            ));
        }
        if peak >= 8 << 20 {
            failed.push(format!(
                "{what} ({} bytes): the readers held {peak} bytes",
                bytes.len()
            ));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

/// Changes that make an index contradict its file.
type Edit = Box<dyn Fn(&mut Index)>;

/// Cases of corrupt indexes of `index`, a capture of three chunks of four
/// events after a snapshot: what is wrong, the change, and what the
/// reader must say after `corrupt footer at byte N: `.
#[expect(
    clippy::too_many_lines,
    reason = "a table of cases, one per line of thought"
)]
fn corrupt_index_cases(index: &Index) -> Vec<(&'static str, Edit, String)> {
    let c = index.chunks.clone();
    let snap = index.snapshots[0];
    let end = |i: usize| c[i].offset + 12 + u64::from(c[i].len);
    vec![
        (
            "a chunk listed twice",
            Box::new(|i| i.chunks[1] = i.chunks[0].clone()),
            format!(
                "chunk 1 (at byte {0}) does not come after chunk 0 (at byte {0})",
                c[0].offset
            ),
        ),
        (
            "chunks out of order",
            Box::new(|i| i.chunks.swap(0, 1)),
            format!(
                "chunk 1 (at byte {}) does not come after chunk 0 (at byte {})",
                c[0].offset, c[1].offset
            ),
        ),
        (
            "a chunk inside another",
            Box::new(|i| i.chunks[1].offset = i.chunks[0].offset + 1),
            format!(
                "it lists a block at byte {}, inside the block before it (which ends at byte {})",
                c[0].offset + 1,
                end(0)
            ),
        ),
        (
            "a chunk before the data",
            Box::new(|i| i.chunks[0].offset = 20),
            format!(
                "it lists a block at byte 20, inside the capture header (which ends at byte {snap})"
            ),
        ),
        (
            "a chunk past the footer",
            Box::new(|i| i.chunks[2].len += 1000),
            format!(
                "it lists a block at byte {} that runs past the footer",
                c[2].offset
            ),
        ),
        (
            "a chunk left out",
            Box::new(|i| {
                i.chunks.remove(1);
                i.events -= 4;
            }),
            format!(
                "the chunk block at byte {} is not in the index",
                c[1].offset
            ),
        ),
        (
            "no chunks at all",
            Box::new(|i| {
                i.chunks.clear();
                i.events = 0;
            }),
            format!(
                "the chunk block at byte {} is not in the index",
                c[0].offset
            ),
        ),
        (
            "the snapshot left out",
            Box::new(|i| i.snapshots.clear()),
            format!("the snapshot block at byte {snap} is not in the index"),
        ),
        (
            "a snapshot where a chunk is",
            Box::new(|i| i.snapshots[0] = i.chunks[0].offset),
            format!("the snapshot block at byte {snap} is not in the index"),
        ),
        (
            "a snapshot listed twice",
            Box::new(|i| i.snapshots.push(i.snapshots[0])),
            format!("the snapshot at byte {snap} does not come after the one at byte {snap}"),
        ),
        (
            "a snapshot past the data",
            Box::new(|i| {
                let at = i.chunks[2].offset + 12 + u64::from(i.chunks[2].len);
                i.snapshots.push(at);
            }),
            format!(
                "it lists a snapshot at byte {}, where there is none",
                end(2)
            ),
        ),
        (
            "a wrong total",
            Box::new(|i| i.events += 1),
            "its chunks hold 12 events, it says 13".into(),
        ),
        (
            "types that do not add up",
            Box::new(|i| i.chunks[0].types[0].1 += 1),
            format!(
                "chunk 0 (at byte {}) holds 4 events, its event types count 5",
                c[0].offset
            ),
        ),
        (
            "an empty chunk",
            Box::new(|i| {
                i.chunks[0].events = 0;
                i.chunks[0].types.clear();
                i.events -= 4;
            }),
            format!("chunk 0 (at byte {}) holds 0 events", c[0].offset),
        ),
    ]
}

#[test]
fn corrupt_indexes_are_errors_naming_the_footer() {
    let good = hostile::small_capture(12, 4);
    let index = hostile::index_of(&good);
    assert_eq!((index.chunks.len(), index.snapshots.len()), (3, 1));
    let mut failed = Vec::new();
    for (what, edit, want) in corrupt_index_cases(&index) {
        let mut bad = index.clone();
        edit(&mut bad);
        let bytes = hostile::with_index(&good, &bad);
        let want = format!("corrupt footer at byte {}: {want}", footer_at(&bytes));
        match CaptureReader::open(bytes.as_slice()) {
            Err(e) if e.to_string().starts_with(&want) => {}
            Err(e) => failed.push(format!("{what}: {e}, expected: {want}")),
            Ok(r) => failed.push(format!(
                "{what}: opened ({} chunks, {} events), expected: {want}",
                r.index().chunks.len(),
                r.index().events
            )),
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[test]
fn a_chunk_the_index_miscounts_is_an_error_when_read() {
    let good = hostile::small_capture(12, 4);
    let index = hostile::index_of(&good);
    let c = &index.chunks;
    // A chunk whose events the index miscounts opens, and says so when read.
    let mut miscounted = index.clone();
    miscounted.chunks[0].events = 5;
    miscounted.chunks[0].types = vec![(EventType(39), 5)];
    miscounted.events = 13;
    let bytes = hostile::with_index(&good, &miscounted);
    let reader = CaptureReader::open(bytes.as_slice()).unwrap();
    let (lines, errors) = read_all_lines(&reader);
    assert_eq!(lines.len(), 8);
    assert_eq!(
        errors,
        [format!(
            "corrupt chunk at byte {}: it holds 4 events, the index says 5",
            c[0].offset
        )]
    );
}

#[test]
fn blocks_of_kinds_from_newer_writers_may_sit_between_listed_blocks() {
    let good = hostile::small_capture(12, 4);
    // Blocks of kinds this reader does not know, from a newer writer, may
    // sit between the blocks the index lists.
    let newer = hostile::with_block_before_footer(&good, BlockKind::Unknown(*b"XTRA"), b"later");
    let reader = CaptureReader::open(newer.as_slice()).unwrap();
    assert!(reader.truncation().is_none());
    assert_eq!(
        read_all_lines(&reader),
        read_all_lines(&CaptureReader::open(good.as_slice()).unwrap())
    );
}
