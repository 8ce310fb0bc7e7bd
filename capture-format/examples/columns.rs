//! Prints how many bytes per event each column of a capture takes, before
//! and after compression, on the benchmark's synthetic workload (500K
//! events, paths from a walk of /usr): the breakdown FORMAT.md reasons from.
//!
//! Run: `cargo run --release -p capture-format --example columns`

use capture_format::file::{CaptureHeader, WriterOptions, debug_column_stats};
use capture_format::synth::{SynthOptions, generate, paths_from_walk};

fn main() {
    let workload = generate(&SynthOptions {
        events: 500_000,
        processes: 60,
        snaplen: 80,
        paths: paths_from_walk(std::path::Path::new("/usr"), 20_000),
        seed: 7,
    });
    let (out, _) = workload
        .write_to(
            Vec::new(),
            &CaptureHeader::default(),
            WriterOptions::default(),
        )
        .unwrap();
    debug_column_stats(&out);
}
