//! Lists the blocks of a `.scap` file: `cargo run --example scap_blocks FILE`.
use std::collections::BTreeMap;

use capture_format::scap::{BlockKind, BlockReader, machine_info};

fn main() {
    let path = std::env::args().nth(1).expect("usage: scap_blocks FILE");
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut reader = BlockReader::new(file).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut body = Vec::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    loop {
        match reader.next_block(&mut body) {
            Ok(Some(b)) => {
                if b.kind == BlockKind::MachineInfo {
                    println!("machine: {:?}", machine_info(&body));
                }
                *counts.entry(format!("{:?}", b.kind)).or_default() += 1;
            }
            Ok(None) => break,
            Err(e) => {
                eprintln!("{path}: {e}");
                break;
            }
        }
    }
    for (kind, n) in counts {
        println!("{n:>6} {kind}");
    }
}
