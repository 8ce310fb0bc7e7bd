//! Builds a large `.scap` file for benchmarks: the tables of a sample
//! capture, then its event blocks repeated with shifted timestamps until
//! there are at least EVENTS of them. The output is uncompressed, as sysdig
//! writes without `-z`.
//!
//! `cargo run --release -p scap-import --example scap_repeat IN.scap OUT.scap EVENTS`
use std::io::BufWriter;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output, events] = &args[..] else {
        return Err("usage: scap_repeat IN.scap OUT.scap EVENTS".into());
    };
    let out = BufWriter::with_capacity(1 << 20, std::fs::File::create(output)?);
    let written = scap_import::lives::repeat(std::fs::File::open(input)?, out, events.parse()?)
        .map_err(|e| format!("{input}: {e}"))?;
    println!("{output}: {written} events");
    Ok(())
}
