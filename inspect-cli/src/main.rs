//! `syscap`: the inspector. `main` wires the commands of the library
//! modules to the command line.

mod convert;
mod export;
mod info;
mod stored;
mod stream;

use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use capture_format::escape::escaped;
use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "syscap", version, about = "Inspect syscap capture files")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Lists the captures stored under `s3://BUCKET/PREFIX` (or a directory).
    #[command(after_help = "Examples:\n  \
        syscap ls s3://captures/prod\n  \
        syscap ls s3://captures/prod --host web-1 --rule shell-in-web-server --since 2026-11-25T00:00:00Z\n  \
        syscap ls file:///var/lib/syscap/captures --since 1h")]
    Ls {
        /// `s3://BUCKET/PREFIX` or `file:///DIR`.
        url: String,
        /// Only captures of this host.
        #[arg(long)]
        host: Option<String>,
        /// Only captures of this rule.
        #[arg(long)]
        rule: Option<String>,
        /// Only captures that end at or after this time: a duration ago
        /// (`30m`, `1h`, `2d`), a clock time today (`19:45:33`, in the local
        /// time zone; `19:45:33Z` in UTC), or RFC 3339.
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// JSON lines.
        #[arg(long)]
        json: bool,
    },
    /// Downloads stored captures (checksums verified), as new files only
    /// readable by their owner.
    Get {
        /// `s3://BUCKET/KEY` (several allowed).
        #[arg(required = true)]
        urls: Vec<String>,
        /// Directory to write into (keys become paths under it).
        #[arg(short, long, default_value = ".")]
        output: PathBuf,
        /// Replace files that exist.
        #[arg(long)]
        force: bool,
        /// Keep objects that cannot be verified: stored without a CRC32,
        /// with unreadable CRC32 metadata, or not a capture.
        #[arg(long)]
        no_verify: bool,
    },
    /// Header and index facts at once, without scanning the capture.
    Info {
        /// Capture files (each described in turn).
        #[arg(required = true)]
        captures: Vec<PathBuf>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One line per event, like `sysdig -r` (FILTER is the trailing words).
    #[command(after_help = "Examples:\n  \
        syscap print c.syscap proc.name = nginx and evt.type = openat\n  \
        syscap print c.syscap -p '%evt.num %proc.name %fd.name' evt.failed = true\n  \
        syscap print c.syscap --since +2s --until +3s --json\n  \
        syscap print c.syscap -A -t r evt.type = write   # buffers as text, relative times\n  \
        syscap print c.syscap -pc                        # container name and id on each line")]
    Print {
        #[command(flatten)]
        stream: stream::StreamArgs,
        #[command(flatten)]
        display: stream::DisplayArgs,
        /// A sysdig-style format of `%field` tokens; `-pc` (`-pcontainer`)
        /// and `-pk` (`-pkubernetes`) add the container's name (or the
        /// pod's) and id to the default line, as sysdig's do.
        #[arg(short = 'p', long = "format", value_name = "FORMAT")]
        format: Option<String>,
        /// JSON lines keyed by field name (only the `-p` fields if given).
        #[arg(long)]
        json: bool,
        /// Stop after this many events.
        #[arg(short = 'n', long = "count", value_name = "N")]
        count: Option<u64>,
    },
    /// An overview: system calls, processes, files, network, security,
    /// errors and a timeline.
    Summary {
        #[command(flatten)]
        stream: stream::StreamArgs,
        /// JSON instead of tables.
        #[arg(long)]
        json: bool,
        /// Group by Kubernetes namespace, pod and container instead: calls,
        /// errors, I/O bytes and connections of each.
        #[arg(long, value_enum, value_name = "GROUPING")]
        by: Option<stream::Grouping>,
    },
    /// Runs a chisel (as sysdig's of the same name) over captures.
    #[command(after_help = "Examples:\n  \
        syscap chisel --list\n  \
        syscap chisel topfiles_bytes c.syscap\n  \
        syscap chisel fdbytes_by c.syscap proc.name --filter 'fd.type = file'\n  \
        syscap chisel fileslower c.syscap 10")]
    Chisel {
        /// List the chisels.
        #[arg(long, exclusive = true)]
        list: bool,
        /// The chisel, the captures, then the chisel's arguments.
        #[arg(
            value_name = "NAME CAPTURE... [ARGS]",
            required_unless_present = "list"
        )]
        words: Vec<String>,
        /// Only events this filter matches.
        #[arg(long, value_name = "EXPR")]
        filter: Option<String>,
        /// Tables as JSON.
        #[arg(long)]
        json: bool,
        /// Rows of a table chisel to show, instead of its own limit (0: all).
        #[arg(long, value_name = "N")]
        rows: Option<usize>,
    },
    /// Converts a capture (syscap, `.scap` or `.scap.gz`) to the type
    /// OUTPUT's name says: `.syscap`, sysdig's `.scap` (`.scap.gz`
    /// gzip'd), or JSON lines (`.jsonl`, `.json`, `-` for standard output).
    #[command(
        after_help = "Examples:\n  syscap convert trace.scap.gz trace.syscap\n  syscap convert web.syscap web.scap   # for sysdig -r and Sysdig Inspect\n  syscap convert trace.syscap trace.jsonl\n  syscap convert trace.scap - | head"
    )]
    Convert {
        /// Capture file (syscap, `.scap` or `.scap.gz`).
        input: PathBuf,
        /// Output file (`.syscap`, `.scap`, `.scap.gz`, `.jsonl`, `.json`;
        /// `-` for standard output).
        output: PathBuf,
    },
    /// Writes captures as Parquet, one row per call, for Athena, Trino,
    /// Spark and `DuckDB`: `DIR/dt=YYYY-MM-DD/host=HOST/CAPTURE.parquet`
    /// (the day the capture started, UTC). Takes `print`'s filter and
    /// time options.
    #[command(after_help = "Examples:\n  \
        syscap export --format parquet web-1.syscap db-1.syscap -o /data/calls\n  \
        syscap export --format parquet c.syscap -o out --flat evt.type = connect\n  \
        syscap export --ddl athena s3://captures/prod/parquet\n\n\
        duckdb -c \"SELECT DISTINCT host FROM read_parquet('/data/calls/**/*.parquet', hive_partitioning = true) WHERE proc_name = 'nc'\"")]
    Export {
        /// Print the table definition of the layout instead, for `DuckDB`
        /// (a view) or Athena (partition projection): ENGINE, then the
        /// tree's location (a directory, `s3://BUCKET/PREFIX`).
        #[arg(long, exclusive = true, num_args = 1..=2, value_names = ["ENGINE", "LOCATION"])]
        ddl: Option<Vec<String>>,
        #[command(flatten)]
        stream: stream::StreamArgs,
        /// The output format.
        #[arg(long, value_enum, default_value = "parquet")]
        format: ExportFormat,
        /// The directory to write into (created if missing).
        #[arg(short, long, value_name = "DIR", required = true)]
        output: Option<PathBuf>,
        /// `DIR/CAPTURE.parquet`, without the `dt=`/`host=` partitions.
        #[arg(long)]
        flat: bool,
    },
    /// The fields of the filter language, with what they mean.
    Fields,
}

/// What `syscap export` writes.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum ExportFormat {
    /// Apache Parquet.
    Parquet,
}

/// Exit status for bad input or usage, as clap uses for usage errors.
const EXIT_INPUT: u8 = 2;
/// Exit status of `print` when a filter or time window matched nothing.
const EXIT_NO_MATCH: u8 = 1;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let result = run(cli, &mut out).and_then(|()| out.flush().map_err(Into::into));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // `syscap ... | head` closes the pipe early: that is not an error.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) if e.is::<stream::NoMatch>() => ExitCode::from(EXIT_NO_MATCH),
        Err(e) => {
            eprintln!("syscap: {}", shown_error(&e));
            ExitCode::from(EXIT_INPUT)
        }
    }
}

/// An error as it is shown: one line, with the names in it (S3 keys, file
/// names, what a capture says) escaped, so that none forges a line or
/// drives the terminal; a bad filter keeps the caret line under it.
fn shown_error(e: &anyhow::Error) -> String {
    if let Some(bad) = e.downcast_ref::<stream::BadFilter>() {
        let caret: Vec<_> = bad.caret.lines().map(escaped).collect();
        return format!("filter: {}\n{}", escaped(&bad.message), caret.join("\n"));
    }
    escaped(&format!("{e:#}")).into_owned()
}

/// One warning line on stderr about `path`, escaped as errors are.
fn warn(path: &Path, what: &dyn std::fmt::Display) {
    eprintln!(
        "syscap: warning: {}: {}",
        escaped(path.as_os_str().as_bytes()),
        escaped(&what.to_string())
    );
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli, out: &mut impl Write) -> anyhow::Result<()> {
    match cli.command {
        Command::Ls {
            url,
            host,
            rule,
            since,
            json,
        } => stored::ls(
            &url,
            host.as_deref(),
            rule.as_deref(),
            since.as_deref(),
            json,
            out,
        ),
        Command::Get {
            urls,
            output,
            force,
            no_verify,
        } => stored::get(&urls, &output, stored::GetOptions { force, no_verify }, out),
        Command::Info { captures, json } => {
            for (i, capture) in captures.iter().enumerate() {
                if i > 0 && !json {
                    writeln!(out)?;
                }
                info::run(capture, json, out)?;
            }
            Ok(())
        }
        Command::Print {
            stream,
            display,
            format,
            json,
            count,
        } => stream::print(&stream, &display, format.as_deref(), json, count, out),
        Command::Summary { stream, json, by } => stream::summary(&stream, json, by, out),
        Command::Chisel {
            list,
            words,
            filter,
            json,
            rows,
        } => {
            if list {
                return Ok(inspect_cli::chisels::write_list(out)?);
            }
            stream::chisel(&words, filter.as_deref(), json, rows, out)
        }
        Command::Convert { input, output } => convert::run(&input, &output, out),
        Command::Export {
            ddl: Some(words), ..
        } => {
            use clap::ValueEnum as _;
            let engine = export::Engine::from_str(&words[0], true)
                .map_err(|_| anyhow::anyhow!("--ddl: {} is not duckdb or athena", words[0]))?;
            let location = words.get(1).map_or("DIR", String::as_str);
            Ok(out.write_all(export::ddl(engine, location).as_bytes())?)
        }
        Command::Export {
            ddl: None,
            stream,
            format: ExportFormat::Parquet,
            output,
            flat,
        } => {
            let output = output.ok_or_else(|| anyhow::anyhow!("export: -o DIR is required"))?;
            export::run(&stream, &output, flat, out)
        }
        Command::Fields => Ok(triggers::filter::write_field_list(out)?),
    }
}
