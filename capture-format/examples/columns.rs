//! Prints how many bytes per event each column of a capture takes, before
//! and after compression, on the benchmark's synthetic workload (500K
//! events, paths from a walk of /usr): the breakdown FORMAT.md reasons from.
//!
//! Run: `cargo run --release -p capture-format --example columns`

use capture_format::file::{CaptureHeader, Writer, WriterOptions, debug_column_stats};
use capture_format::state::Tracker;
use capture_format::synth::{SynthOptions, generate, paths_from_walk};

fn main() {
    let workload = generate(&SynthOptions {
        events: 500_000,
        processes: 60,
        snaplen: 80,
        paths: paths_from_walk(std::path::Path::new("/usr"), 20_000),
        seed: 7,
    });
    let mut out = Vec::new();
    let mut writer = Writer::new(
        &mut out,
        &CaptureHeader::default(),
        WriterOptions::default(),
    )
    .unwrap();
    let mut tracker = Tracker::from_snapshot(&workload.snapshot);
    for r in &workload.records {
        r.with_record(|rec| {
            let ctx = tracker.apply(rec);
            writer.write(rec, &ctx).unwrap();
        });
    }
    writer.finish().unwrap();
    debug_column_stats(&out);
}
