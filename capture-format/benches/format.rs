//! Benchmarks of the capture format on a realistic synthetic syscall mix
//! (paths from a walk of /usr): encode and decode rates, the rate of a
//! count that only needs two columns, and (printed once) sizes per event
//! against gzip of a naive row encoding, for every codec.
//!
//! Run: `cargo bench -p capture-format --bench format`

#![expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "the naive row encoding truncates on purpose, as a simple tracer would"
)]

use std::hint::black_box;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use capture_format::codec::Codec;
use capture_format::event::{EventType, OwnedArg, OwnedRecord};
use capture_format::file::{
    CaptureHeader, CaptureReader, Chunk, Decoder, Projection, WriterOptions,
};
use capture_format::synth::{SynthOptions, Workload, generate, paths_from_walk};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const EVENTS: usize = 500_000;

fn workload(snaplen: usize) -> Workload {
    let mut paths = paths_from_walk(Path::new("/usr"), 20_000);
    if paths.len() < 100 {
        paths = capture_format::synth::builtin_paths();
    }
    generate(&SynthOptions {
        events: EVENTS,
        processes: 60,
        snaplen,
        paths,
        seed: 7,
    })
}

fn write(w: &Workload, options: WriterOptions) -> Vec<u8> {
    let out = Vec::with_capacity(w.records.len() * 16);
    w.write_to(out, &CaptureHeader::default(), options)
        .unwrap()
        .0
}

/// A fixed-width row per event (what a simple tracer would dump), for the
/// gzip comparison: type, flags, ts, latency, cpu, tid, pid, ret, then each
/// argument with a tag and a length.
fn naive_rows(w: &Workload) -> Vec<u8> {
    let mut out = Vec::new();
    for r in &w.records {
        out.extend_from_slice(&r.ty.0.to_le_bytes());
        out.push(r.flags.0);
        out.extend_from_slice(&r.ts.to_le_bytes());
        out.extend_from_slice(&r.latency.to_le_bytes());
        out.extend_from_slice(&r.cpu.to_le_bytes());
        out.extend_from_slice(&(r.tid as u32).to_le_bytes());
        out.extend_from_slice(&(r.pid as u32).to_le_bytes());
        out.extend_from_slice(&r.ret.to_le_bytes());
        out.push(r.args.len() as u8);
        for a in &r.args {
            match a {
                OwnedArg::Int(v) => {
                    out.push(1);
                    out.extend_from_slice(&v.to_le_bytes());
                }
                OwnedArg::Str(b) | OwnedArg::Bytes(b) => {
                    out.push(2);
                    out.extend_from_slice(&(b.len() as u16).to_le_bytes());
                    out.extend_from_slice(b);
                }
                other => {
                    let s = format!("{other:?}");
                    out.push(3);
                    out.extend_from_slice(&(s.len() as u16).to_le_bytes());
                    out.extend_from_slice(s.as_bytes());
                }
            }
        }
    }
    out
}

fn gzip(bytes: &[u8]) -> usize {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap().len()
}

fn data_bytes(w: &Workload) -> usize {
    w.records
        .iter()
        .flat_map(|r| &r.args)
        .map(|a| match a {
            OwnedArg::Bytes(b) => b.len(),
            _ => 0,
        })
        .sum()
}

fn decode_all(bytes: &[u8], projection: Projection) -> u64 {
    let reader = CaptureReader::open(bytes).unwrap();
    let mut dec = Decoder::new();
    let mut chunk = Chunk::default();
    let mut sum = 0u64;
    for i in 0..reader.index().chunks.len() {
        dec.read_chunk(&reader, i, projection, &mut chunk).unwrap();
        sum += chunk.len() as u64;
    }
    sum
}

/// `evt.type = openat and proc.name = nginx`, using the index to skip
/// chunks and decoding only the type and thread columns.
fn count_opens_by_nginx(bytes: &[u8]) -> u64 {
    let reader = CaptureReader::open(bytes).unwrap();
    let read = EventType::from_name("openat").unwrap();
    let Some(nginx) = reader.index().comm_id(b"nginx") else {
        return 0;
    };
    let mut dec = Decoder::new();
    let mut chunk = Chunk::default();
    let mut rows = Vec::new();
    let mut count = 0u64;
    for (i, meta) in reader.index().chunks.iter().enumerate() {
        if !meta.has_type(read) || !meta.has_comm(nginx) {
            continue;
        }
        dec.read_chunk(&reader, i, Projection::THREAD, &mut chunk)
            .unwrap();
        rows.clear();
        rows.push(false);
        rows.extend(chunk.threads().map(|t| t.comm() == b"nginx"));
        count += chunk
            .types()
            .iter()
            .zip(chunk.thread_refs())
            .filter(|&(&t, &r)| t == read.0 && rows[r as usize])
            .count() as u64;
    }
    count
}

fn report_sizes(w: &Workload, no_data: &Workload) {
    let n = w.records.len() as f64;
    let naive = naive_rows(no_data);
    println!(
        "\nsizes on {EVENTS} events ({} bytes of I/O data snapshots in the full mix)",
        data_bytes(w)
    );
    println!(
        "{:<28} {:>12} {:>12}",
        "encoding", "no data B/ev", "with data B/ev"
    );
    let gz_plain = gzip(&naive) as f64 / n;
    let gz_data = gzip(&naive_rows(w)) as f64 / n;
    println!(
        "{:<28} {:>12.2} {:>12.2}",
        "naive rows + gzip -6", gz_plain, gz_data
    );
    println!(
        "{:<28} {:>12.2} {:>12.2}",
        "naive rows, raw",
        naive.len() as f64 / n,
        naive_rows(w).len() as f64 / n
    );
    for (codec, level) in [
        (Codec::Zstd, 1),
        (Codec::Zstd, 3),
        (Codec::Zstd, 9),
        (Codec::Deflate, 6),
        (Codec::Lz4, 0),
        (Codec::None, 0),
    ] {
        let options = WriterOptions {
            codec,
            level,
            ..WriterOptions::default()
        };
        let t = Instant::now();
        let plain = write(no_data, options);
        let enc = t.elapsed();
        let full = write(w, options);
        let t = Instant::now();
        black_box(decode_all(&full, Projection::ALL));
        let dec = t.elapsed();
        println!(
            "{:<28} {:>12.2} {:>12.2}   encode {:>5.2} M ev/s, decode {:>5.2} M ev/s",
            format!("syscap {} {level}", codec.name()),
            plain.len() as f64 / n,
            full.len() as f64 / n,
            n / enc.as_secs_f64() / 1e6,
            n / dec.as_secs_f64() / 1e6,
        );
    }
    println!();
}

fn benches(c: &mut Criterion) {
    let w = workload(80);
    let no_data = Workload {
        snapshot: w.snapshot.clone(),
        records: w
            .records
            .iter()
            .map(|r| OwnedRecord {
                args: r
                    .args
                    .iter()
                    .map(|a| match a {
                        OwnedArg::Bytes(_) => OwnedArg::Bytes(Vec::new()),
                        other => other.clone(),
                    })
                    .collect(),
                ..r.clone()
            })
            .collect(),
    };
    report_sizes(&w, &no_data);
    let bytes = write(&w, WriterOptions::default());

    let mut g = c.benchmark_group("format");
    g.throughput(Throughput::Elements(EVENTS as u64));
    g.sample_size(10);
    g.bench_function("encode (tracker + writer)", |b| {
        b.iter(|| black_box(write(&w, WriterOptions::default()).len()));
    });
    g.bench_function("decode all columns", |b| {
        b.iter(|| black_box(decode_all(&bytes, Projection::ALL)));
    });
    assert!(count_opens_by_nginx(&bytes) > 1000);
    g.bench_function("count evt.type=openat and proc.name=nginx", |b| {
        b.iter(|| black_box(count_opens_by_nginx(&bytes)));
    });
    g.finish();
}

criterion_group!(format, benches);
criterion_main!(format);
