//! Builds a large `.scap` file for benchmarks: the tables of a sample
//! capture, then its event blocks repeated with shifted timestamps until
//! there are at least EVENTS of them. The output is uncompressed, as sysdig
//! writes without `-z`.
//!
//! `cargo run --release -p scap-import --example scap_repeat IN.scap OUT.scap EVENTS`
use std::io::{BufWriter, Write};

use scap_import::{BlockKind, BlockReader, write_block};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output, events] = &args[..] else {
        return Err("usage: scap_repeat IN.scap OUT.scap EVENTS".into());
    };
    let want: u64 = events.parse()?;
    let mut reader = BlockReader::new(std::fs::File::open(input)?)?;
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(output)?);
    let mut body = Vec::new();
    // (block id, has a flags word, body) of every event block.
    let mut event_blocks: Vec<(u32, bool, Vec<u8>)> = Vec::new();
    let (mut first_ts, mut last_ts) = (u64::MAX, 0);
    while let Some(block) = reader.next_block(&mut body)? {
        match block.kind {
            BlockKind::Event { flags, .. } => {
                let at = if flags { 6 } else { 2 };
                let ts = u64::from_le_bytes(body[at..at + 8].try_into()?);
                first_ts = first_ts.min(ts);
                last_ts = last_ts.max(ts);
                event_blocks.push((block.id, flags, body.clone()));
            }
            // A second section would restart the tables: keep the first.
            BlockKind::SectionHeader if !event_blocks.is_empty() => break,
            _ => write_block(&mut out, block.id, &body)?,
        }
    }
    if event_blocks.is_empty() {
        return Err(format!("{input}: no events").into());
    }
    // Each copy starts one second after the previous one ended.
    let shift = last_ts - first_ts + 1_000_000_000;
    let mut written = 0u64;
    for copy in 0.. {
        for (id, flags, body) in &mut event_blocks {
            let at = if *flags { 6 } else { 2 };
            if copy > 0 {
                let ts = u64::from_le_bytes(body[at..at + 8].try_into()?) + shift;
                body[at..at + 8].copy_from_slice(&ts.to_le_bytes());
            }
            write_block(&mut out, *id, body)?;
            written += 1;
        }
        if written >= want {
            break;
        }
    }
    out.flush()?;
    println!("{output}: {written} events");
    Ok(())
}
