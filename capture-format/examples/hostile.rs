//! Writes hostile capture files (`capture_format::file::hostile`) into a
//! directory: to measure what `syscap` does with them, and to seed the
//! fuzz corpora (`.ci/run`).
//!
//! `cargo run --release -p capture-format --example hostile -- DIR [--small]`
//!
//! Without `--small`, the shapes as issue 20 measured them (files of 11 to
//! 40 KB); with it, shapes small enough for the fuzzers (under 64 KiB, and
//! cheap to read even for a reader without limits).

use std::path::PathBuf;

use capture_format::file::hostile::{
    SnapshotTable, footer_repeating_a_chunk, snapshot_rows, zero_footer,
};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| ".".into()));
    let small = args.next().as_deref() == Some("--small");
    let scale = |full: usize, fuzz: usize| if small { fuzz } else { full };
    std::fs::create_dir_all(&dir)?;
    let mut files = vec![
        (
            "hostile-footer-repeats-a-chunk.syscap".to_owned(),
            footer_repeating_a_chunk(scale(100_000, 2_000), 1_000, true),
        ),
        (
            "hostile-footer-repeats-a-chunk-stored.syscap".to_owned(),
            footer_repeating_a_chunk(scale(100_000, 2_000), if small { 10 } else { 1_000 }, false),
        ),
        (
            "hostile-zero-footer.syscap".to_owned(),
            zero_footer(scale(1 << 30, 1 << 20)),
        ),
    ];
    for table in SnapshotTable::ALL {
        files.push((
            format!("hostile-snapshot-{}.syscap", table.name()),
            snapshot_rows(table, scale(4_000_000, 50_000), 0),
        ));
    }
    for (name, bytes) in files {
        let path = dir.join(name);
        std::fs::write(&path, &bytes)?;
        println!("{} ({} bytes)", path.display(), bytes.len());
    }
    Ok(())
}
