//! Filter evaluation on the synthetic workload of `capture_format::synth`
//! (500K events), on chunks decoded beforehand: the cost of the matcher
//! alone, per event.
//!
//! Run: `cargo bench -p triggers --bench filter`

use std::fmt::Write as _;
use std::hint::black_box;

use capture_format::file::{CaptureHeader, CaptureReader, Chunk, Projection, WriterOptions};
use capture_format::synth::{SynthOptions, generate, paths_from_walk};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use triggers::filter::{Env, Filter};
use triggers::rules::{Engine, load};

const EVENTS: usize = 500_000;

fn chunks() -> Vec<Chunk> {
    let w = generate(&SynthOptions {
        events: EVENTS,
        processes: 60,
        snaplen: 80,
        paths: paths_from_walk(std::path::Path::new("/usr"), 20_000),
        seed: 7,
    });
    let (out, _) = w
        .write_to(
            Vec::new(),
            &CaptureHeader::default(),
            WriterOptions::default(),
        )
        .unwrap();
    let reader = CaptureReader::open(out.as_slice()).unwrap();
    (0..reader.index().chunks.len())
        .map(|i| reader.read_chunk(i, Projection::ALL).unwrap())
        .collect()
}

fn benches(c: &mut Criterion) {
    let chunks = chunks();
    let env = Env::default();
    let mut g = c.benchmark_group("filter");
    g.throughput(Throughput::Elements(EVENTS as u64));
    for text in [
        "proc.name=nginx and evt.type in (read, write, sendfile) and evt.latency > 1ms",
        "evt.type=openat and evt.failed=true and fd.name startswith /usr/lib",
        "fd.name contains .so and proc.name != find and not evt.res=SUCCESS",
        "proc.aname=cron and evt.type=execve",
        // The newer operators and transformers.
        "fd.name regex '/usr/lib/.*[.]so[.0-9]*' and proc.name != find",
        "toupper(proc.name) = NGINX and fd.name iglob '*.SO*'",
        "evt.buffer bcontains 7f454c46 or fd.net = 10.0.0.0/8",
    ] {
        let filter = Filter::new(text).unwrap();
        g.bench_function(text, |b| {
            let mut m = filter.matcher();
            b.iter(|| {
                let mut n = 0usize;
                for chunk in &chunks {
                    n += chunk.events().filter(|e| m.matches(e, &env)).count();
                }
                black_box(n)
            });
        });
    }
    g.finish();

    // 50 event rules of the kinds people write, none firing (so the cost
    // measured is evaluation, not capture start).
    let shapes = [
        "proc.name = proc{i} and evt.type = execve",
        "fd.name startswith /etc/secret{i} and evt.is_io_write = true",
        "evt.type = connect and fd.sport = {port}",
        "proc.pname = parent{i} and proc.name in (sh, bash)",
        "evt.type in (init_module, finit_module) and proc.name = mod{i}",
        "evt.type = openat and evt.failed = true and fd.name = /root/key{i}",
        "user.name = intruder{i}",
        "evt.type = ptrace and proc.name != gdb{i}",
        "fd.name contains /proc/{i}/mem",
        "evt.latency > {i}00s",
    ];
    let mut yaml = String::from("rules:\n");
    for i in 0..50 {
        let shape = shapes[i % shapes.len()];
        let text = shape
            .replace("{i}", &i.to_string())
            .replace("{port}", &(40_000 + i).to_string());
        let _ = write!(
            yaml,
            "  - name: r{i}\n    condition:\n      event: \"{text}\"\n"
        );
    }
    let set = load("bench.yaml", &yaml).unwrap();
    let mut g = c.benchmark_group("rules");
    g.throughput(Throughput::Elements(EVENTS as u64));
    g.bench_function("50 event rules, per event", |b| {
        let mut engine = Engine::new(set.clone());
        let mut fired = Vec::new();
        b.iter(|| {
            for chunk in &chunks {
                for e in chunk.events() {
                    engine.on_event(&e, &env, &mut fired);
                }
            }
            black_box(fired.len())
        });
    });
    g.finish();
}

criterion_group!(filter, benches);
criterion_main!(filter);
