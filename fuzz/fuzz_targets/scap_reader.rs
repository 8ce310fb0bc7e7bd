//! Any bytes given to the `.scap` importer (raw or gzip): it must return
//! errors or a capture the syscap reader reads back, never panic, hang or
//! allocate without bound.
#![no_main]

use capture_format::codec::Codec;
use capture_format::file::{CaptureReader, Chunk, Decoder, Projection, WriterOptions};
use scap_import::Importer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut importer) = Importer::new(std::io::Cursor::new(data.to_vec())) else {
        return;
    };
    let _ = importer.snapshot();
    let options = WriterOptions {
        codec: Codec::None,
        ..WriterOptions::default()
    };
    let Ok(bytes) = importer.write_capture(Vec::new(), options) else {
        return;
    };
    let _ = (importer.stats(), importer.error().map(ToString::to_string));
    let reader = CaptureReader::open(&bytes[..]).expect("an imported capture reads back");
    let mut dec = Decoder::new();
    let mut chunk = Chunk::default();
    for i in 0..reader.index().chunks.len() {
        dec.read_chunk(&reader, i, Projection::ALL, &mut chunk)
            .expect("an imported chunk decodes");
        for e in chunk.events() {
            let _ = (e.thread().map(|t| t.comm()), e.fd().map(|f| f.name()));
        }
    }
});
