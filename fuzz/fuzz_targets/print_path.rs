//! Any bytes given to everything `syscap print`, `summary` and `chisel` do
//! with a capture: open, decode every chunk, print each event in the
//! default, JSON and a `-p` format (and with `-A`, `-x`, `-X`, `-b`, each
//! `-t` and `-pc`/`-pk`), summarise, run table and line chisels.
//! Errors are fine; panics, hangs and unbounded allocation are not.
#![no_main]

use capture_format::file::{CaptureReader, Chunk, Decoder, Projection};
use inspect_cli::print::{BufferStyle, Columns, Format, Options, Printer, TimeStyle};
use inspect_cli::summary::Summary;
use libfuzzer_sys::fuzz_target;
use triggers::filter::Env;

fuzz_target!(|data: &[u8]| {
    let Ok(reader) = CaptureReader::open(data) else {
        return;
    };
    let env = Env::default();
    let template =
        Format::template("%evt.num %proc.name %fd.name %evt.args %evt.res %evt.buffer %evt.arg.data")
            .unwrap();
    let shown = |buffers, time, columns| Options {
        buffers,
        time,
        columns,
    };
    let mut printers = [
        Printer::new(Format::Default, env.clone()),
        Printer::new(Format::Json(None), env.clone()),
        Printer::new(Format::Template(template.clone()), env.clone()),
        // sysdig's -A, -x, -X, -b with each -t and -pc/-pk.
        Printer::with_options(
            Format::Default,
            env.clone(),
            shown(BufferStyle::Ascii, TimeStyle::Relative, Columns::Container),
        ),
        Printer::with_options(
            Format::Default,
            env.clone(),
            shown(BufferStyle::Hex, TimeStyle::SincePrevious, Columns::Kubernetes),
        ),
        Printer::with_options(
            Format::Default,
            env.clone(),
            shown(BufferStyle::HexAscii, TimeStyle::Latency, Columns::Plain),
        ),
        Printer::with_options(
            Format::Template(template),
            env.clone(),
            shown(BufferStyle::Base64, TimeStyle::Absolute, Columns::Plain),
        ),
    ];
    let index = reader.index();
    let mut summary = Summary::new(index.ts_min, index.ts_max);
    let mut chisels: Vec<_> = [
        ("topfiles_bytes", vec![]),
        ("topconns", vec![]),
        ("fdbytes_by", vec!["proc.aname[2]".to_owned()]),
        ("scallslower", vec!["0".to_owned()]),
        ("echo_fds", vec![]),
    ]
    .into_iter()
    .filter_map(|(name, args)| inspect_cli::chisels::make(name, &args).ok())
    .collect();
    let mut sink = Vec::new();
    let mut decoder = Decoder::new();
    let mut chunk = Chunk::default();
    for i in 0..index.chunks.len() {
        if decoder.read_chunk(&reader, i, Projection::ALL, &mut chunk).is_err() {
            continue;
        }
        for e in chunk.events() {
            for p in &mut printers {
                let _ = p.print(&e, &mut sink);
            }
            summary.event(&e, &env);
            for c in &mut chisels {
                let _ = c.event(&e, &env, &mut sink);
            }
            sink.clear();
        }
    }
    let _ = summary.write(&mut sink, false);
    let _ = summary.write(&mut sink, true);
    for c in &mut chisels {
        let _ = c.finish(&mut sink, false);
    }
});
