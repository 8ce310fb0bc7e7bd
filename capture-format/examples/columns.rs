use capture_format::file::{CaptureHeader, Writer, WriterOptions};
use capture_format::state::Tracker;
use capture_format::synth::{SynthOptions, generate, paths_from_walk};
fn main() {
    let w = generate(&SynthOptions {
        events: 200_000,
        processes: 300,
        snaplen: 80,
        paths: paths_from_walk(std::path::Path::new("/usr"), 20000),
        seed: 7,
    });
    let mut out = Vec::new();
    let mut writer = Writer::new(
        &mut out,
        &CaptureHeader::default(),
        WriterOptions::default(),
    )
    .unwrap();
    let mut tracker = Tracker::from_snapshot(&w.snapshot);
    for r in &w.records {
        r.with_record(|rec| {
            let ctx = tracker.apply(rec);
            writer.write(rec, &ctx).unwrap();
        });
    }
    writer.finish().unwrap();
    let mut types = std::collections::HashMap::new();
    for r in &w.records {
        *types.entry(r.ty.name()).or_insert(0) += 1;
    }
    let mut t: Vec<_> = types.into_iter().collect();
    t.sort_by_key(|x| -x.1);
    println!("{t:?}");
    capture_format::file::debug_column_stats(&out);
}
