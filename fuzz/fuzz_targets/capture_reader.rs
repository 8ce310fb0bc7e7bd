//! Any bytes given to the capture readers: they must return errors, never
//! panic, hang or allocate without bound.
#![no_main]

use capture_format::file::{CaptureReader, Chunk, Decoder, Projection, StreamReader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(reader) = CaptureReader::open(data) {
        let _ = reader.snapshot(0);
        let mut dec = Decoder::new();
        let mut chunk = Chunk::default();
        for i in 0..reader.index().chunks.len() {
            for projection in [Projection::ALL, Projection::THREAD, Projection::MINIMAL] {
                if dec.read_chunk(&reader, i, projection, &mut chunk).is_ok() {
                    for e in chunk.events() {
                        let _ = (
                            e.ts(),
                            e.thread().map(|t| t.comm()),
                            e.fd().map(|f| f.name()),
                        );
                        for a in e.args() {
                            let _ = a.as_bytes();
                        }
                    }
                }
            }
        }
    }
    if let Ok(mut stream) = StreamReader::new(data) {
        let mut chunk = Chunk::default();
        while let Ok(Some(_)) = stream.next_item(&mut chunk, Projection::ALL) {}
    }
});
