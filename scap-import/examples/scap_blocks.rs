//! Lists the blocks of a `.scap` file: `cargo run -p scap-import --example scap_blocks FILE`.
use std::collections::BTreeMap;

use scap_import::{BlockKind, BlockReader, fd_list, machine_info, process_list, user_list};

fn main() {
    let path = std::env::args().nth(1).expect("usage: scap_blocks FILE");
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut reader = BlockReader::new(file).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut body = Vec::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    loop {
        match reader.next_block(&mut body) {
            Ok(Some(b)) => {
                match b.kind {
                    BlockKind::MachineInfo => println!("machine: {:?}", machine_info(&body)),
                    BlockKind::ProcessList(v) => {
                        match process_list(v, &body[..], body.len(), b.offset) {
                            Ok(threads) => {
                                println!("process list v{v}: {} threads", threads.len());
                                for t in threads.iter().filter(|t| t.comm == b"curl") {
                                    println!(
                                        "  tid {} pid {} ptid {} comm {} uid {} cwd {}",
                                        t.tid,
                                        t.pid,
                                        t.ptid,
                                        String::from_utf8_lossy(&t.comm),
                                        t.uid,
                                        String::from_utf8_lossy(&t.cwd)
                                    );
                                }
                            }
                            Err(e) => eprintln!("{path}: {e}"),
                        }
                    }
                    BlockKind::FdList(v) => match fd_list(v, &body[..], body.len(), b.offset) {
                        Ok((_, fds)) => *counts.entry("fds".into()).or_default() += fds.len(),
                        Err(e) => eprintln!("{path}: {e}"),
                    },
                    BlockKind::UserList(v) => match user_list(v, &body[..], body.len(), b.offset) {
                        Ok((users, groups)) => {
                            println!(
                                "user list v{v}: {} users, {} groups",
                                users.len(),
                                groups.len()
                            );
                        }
                        Err(e) => eprintln!("{path}: {e}"),
                    },
                    _ => {}
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
