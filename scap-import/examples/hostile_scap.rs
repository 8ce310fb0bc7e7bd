//! Writes hostile `.scap.gz` files (`scap_import::hostile`) into a
//! directory: to measure what `syscap` does with them, and to seed the
//! `scap_reader` fuzz corpus (`.ci/run`).
//!
//! `cargo run --release -p scap-import --example hostile_scap -- DIR [--small]`
//!
//! Without `--small`, blocks of 256 MiB of one entry repeated (files of
//! about 260 KB, and one of 1 MB with four fd lists), as issue 20 measured
//! them; with it, 1 MiB blocks (about 1 KB: fuzzers run each seed many
//! times, and a larger one is only slower to decompress).

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;

use scap_import::hostile::{ScapTable, table_bomb};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| ".".into()));
    let small = args.next().as_deref() == Some("--small");
    let body = if small { 1 << 20 } else { (256 << 20) - 12 };
    std::fs::create_dir_all(&dir)?;
    let mut shapes: Vec<(String, ScapTable, usize)> = ScapTable::ALL
        .iter()
        .map(|&t| (format!("hostile-{}.scap.gz", t.name()), t, 1))
        .collect();
    if !small {
        shapes.push(("hostile-fds-x4.scap.gz".into(), ScapTable::Fds, 4));
    }
    for (name, table, blocks) in shapes {
        let path = dir.join(name);
        table_bomb(BufWriter::new(File::create(&path)?), table, blocks, body)?;
        println!(
            "{} ({} bytes)",
            path.display(),
            std::fs::metadata(&path)?.len()
        );
    }
    Ok(())
}
