//! `syscap-agent`: records system calls into syscap capture files.
//!
//! This first version writes synthetic captures (for demos and benchmarks);
//! eBPF capture comes next.

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use capture_format::file::{CaptureHeader, WriterOptions};
use capture_format::synth::{SynthOptions, builtin_paths, generate, paths_from_walk};
use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "syscap-agent",
    version,
    about = "Records system calls into syscap capture files"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Writes a capture of a synthetic but realistic workload (web server,
    /// database, cache, JVM, cron, find), for demos and benchmarks.
    Synth {
        /// Capture file to write.
        #[arg(short, long)]
        output: PathBuf,
        /// Events to generate.
        #[arg(long, default_value_t = 1_000_000)]
        events: usize,
        /// Seed of the generator.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// The fields of the filter language, with what they mean.
    Fields,
    /// Validates a rules file; prints one line per rule when it is valid.
    CheckRules {
        /// Rules file (YAML).
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("syscap-agent: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Synth {
            output,
            events,
            seed,
        } => synth(&output, events, seed),
        Command::CheckRules { file } => check_rules(&file),
        Command::Fields => {
            let mut out = std::io::stdout().lock();
            match triggers::filter::write_field_list(&mut out) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                other => Ok(other?),
            }
        }
    }
}

fn check_rules(file: &std::path::Path) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let set = triggers::rules::load(&file.display().to_string(), &text)?;
    for rule in &set.rules {
        println!("{rule}");
    }
    println!(
        "{} rules, at most {} captures at once",
        set.rules.len(),
        set.max_concurrent_captures
    );
    Ok(())
}

fn synth(output: &PathBuf, events: usize, seed: u64) -> anyhow::Result<()> {
    let mut paths = paths_from_walk(std::path::Path::new("/usr"), 20_000);
    if paths.len() < 100 {
        paths = builtin_paths();
    }
    let workload = generate(&SynthOptions {
        events,
        seed,
        paths,
        ..SynthOptions::default()
    });
    let file =
        File::create(output).with_context(|| format!("cannot write {}", output.display()))?;
    let header = CaptureHeader {
        hostname: "synthetic".into(),
        producer: format!(
            "syscap-agent {} (synthetic workload)",
            env!("CARGO_PKG_VERSION")
        ),
        capture_id: format!("synth-{seed}"),
        snaplen: 80,
        start_ts: workload.snapshot.ts,
        num_cpus: 2,
        ..CaptureHeader::default()
    };
    let (out, index) = workload
        .write_to(BufWriter::new(file), &header, WriterOptions::default())
        .with_context(|| format!("cannot write {}", output.display()))?;
    out.into_inner()
        .map_err(std::io::IntoInnerError::into_error)?
        .sync_all()?;
    eprintln!(
        "wrote {} events in {} chunks to {}",
        index.events,
        index.chunks.len(),
        output.display()
    );
    Ok(())
}
