//! `syscap-agent`: records system calls with eBPF into syscap capture files.

use std::io::{BufWriter, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use std::io::IsTerminal as _;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::Context as _;
use capture_agent::capture::{self, CaptureOptions, Destination, Status, StopReason};
use capture_agent::containers::RuntimeSockets;
use capture_agent::kernel::ProbeConfig;
use capture_format::event::EventType;
use capture_format::file::{CaptureHeader, WriterOptions};
use capture_format::synth::{SynthOptions, builtin_paths, generate, paths_from_walk};
use clap::{Parser, Subcommand};

/// Writes a line to stderr, ignoring failure: a closed stderr must not
/// turn a finished capture into a panic.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// `say!` without the newline (progress lines).
macro_rules! say_raw {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stderr(), $($arg)*);
    }};
}

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
    /// Records every system call of the host, or of one command and its
    /// descendants, into a capture file.
    #[command(after_help = "Examples:\n  \
        syscap-agent capture -o ls.syscap -- ls -l /tmp\n  \
        syscap-agent capture -o host.syscap --duration 10s\n  \
        syscap-agent capture proc.name = nginx and evt.type = openat   # live, like sysdig\n  \
        syscap-agent capture -p '%proc.name %evt.type %fd.name' evt.type = openat\n  \
        syscap-agent capture -o - --duration 10s > host.syscap\n  \
        syscap-agent capture -o nginx.syscap --comm nginx --syscalls openat,read,write,close")]
    Capture(Box<CaptureArgs>),
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
    /// Runs the agent: every system call into the pre-trigger ring, captures
    /// when rules fire, uploads to the storage (until SIGTERM; SIGHUP
    /// reloads the rules).
    #[command(after_help = "Examples:\n  \
        syscap-agent run --config /etc/syscap/agent.toml\n  \
        SYSCAP_STORAGE=s3://captures/prod SYSCAP_RULES=/etc/syscap/rules.yaml syscap-agent run")]
    Run {
        /// Settings (TOML); `SYSCAP_*` variables override them.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Asks the running agent to capture now, with a rule's settings.
    Trigger {
        /// The rule.
        rule: String,
        /// History to include instead of the rule's `before`: seconds
        /// (`30`), or with a unit (`500ms`, `2m`).
        #[arg(long, value_parser = parse_duration)]
        before: Option<Duration>,
        /// How long to go on instead of the rule's `after`: seconds
        /// (`10`), or with a unit (`500ms`, `2m`).
        #[arg(long, value_parser = parse_duration)]
        after: Option<Duration>,
        /// Keep only the events this filter matches, with the rule's own
        /// capture filter (both must match): `k8s.pod.name = web-1`.
        #[arg(long, value_name = "EXPR")]
        filter: Option<String>,
        /// The agent's control socket.
        #[arg(long, default_value = "/run/syscap/agent.sock")]
        socket: PathBuf,
    },
    /// What the running agent is doing.
    Status {
        /// The agent's control socket.
        #[arg(long, default_value = "/run/syscap/agent.sock")]
        socket: PathBuf,
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// The fields of the filter language, with what they mean.
    Fields,
    /// Validates a rules file; prints one line per rule when it is valid.
    CheckRules {
        /// Rules file (YAML).
        file: PathBuf,
    },
}

#[derive(clap::Args, Debug)]
struct CaptureArgs {
    /// Capture file to write (`-`: the capture format on standard output);
    /// without it, events are printed as they happen (live mode).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Live mode: a sysdig-style format of `%field` tokens for each event
    /// (`%evt.num %proc.name %evt.type %fd.name`).
    #[arg(short = 'p', long = "print", value_name = "FORMAT")]
    print: Option<String>,
    /// Live mode: JSON lines keyed by field name (only the `-p` fields if
    /// given).
    #[arg(short = 'j', long)]
    json: bool,
    /// Rotate: a new file once this many megabytes (10^6 bytes, as
    /// sysdig's -C) were written, named OUTPUT0, OUTPUT1...
    #[arg(short = 'C', long = "file-size", value_name = "MB")]
    file_size: Option<u64>,
    /// Rotate: a new file every this many seconds of the events' time (as
    /// sysdig's), named by OUTPUT as a strftime format of its start
    /// (`trace-%H%M%S.syscap`), or numbered when it has none.
    #[arg(short = 'G', long = "seconds", value_name = "SECONDS")]
    seconds: Option<u64>,
    /// With -C or -G: keep only the last COUNT files (with -C the numbers
    /// wrap around, as sysdig's; otherwise the oldest file is deleted).
    #[arg(short = 'W', long = "limit", value_name = "COUNT")]
    limit: Option<u32>,
    /// A filter as trailing words, as sysdig takes it (`proc.name = nginx
    /// and evt.type = openat`); with `-f`, both must match.
    #[arg(value_name = "FILTER")]
    filter_words: Vec<String>,
    /// Stop after this long: seconds (`10`), or with a unit (`500ms`,
    /// `2m`); without it and without a command, runs until Ctrl-C or
    /// SIGTERM.
    #[arg(long, value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Stop when the file reaches this size (`512MiB`, `1G`).
    #[arg(long, default_value = "512MiB", value_parser = parse_size)]
    max_size: u64,
    /// Bytes of each read/write/send/recv buffer to keep (0: none).
    #[arg(short, long, default_value_t = 80)]
    snaplen: u32,
    /// Size of each CPU's kernel ring buffer (a power of two).
    #[arg(long, default_value = "8MiB", value_parser = parse_size)]
    ring_size: u64,
    /// Record each call at its return only, without its latency: less
    /// overhead on syscall-heavy work (no clock read or task lookup at
    /// entry). `evt.latency` is then unknown.
    #[arg(long)]
    no_latency: bool,
    /// Keep only events this filter matches (sysdig/Falco syntax, e.g.
    /// `evt.type in (openat, connect) and proc.name != sshd`). Event types
    /// it names are also filtered in the kernel.
    #[arg(short, long, value_name = "EXPR")]
    filter: Option<String>,
    /// Only these processes (and their descendants); repeatable.
    #[arg(long = "pid", value_name = "PID")]
    pids: Vec<u32>,
    /// Only threads with this command name (`comm`, up to 15 bytes).
    #[arg(long)]
    comm: Option<String>,
    /// Only these system calls (comma-separated names); process events are
    /// always kept so that names resolve.
    #[arg(long, value_delimiter = ',')]
    syscalls: Vec<String>,
    /// A CRI socket (containerd, cri-o) to ask for the names, images and
    /// pods of containers; repeatable (default: containerd's, k3s',
    /// cri-o's, where they exist).
    #[arg(long = "cri-socket", value_name = "PATH")]
    cri_sockets: Vec<PathBuf>,
    /// Docker's socket, asked when no CRI runtime knows a container
    /// (default: /var/run/docker.sock, where it exists).
    #[arg(long, value_name = "PATH")]
    docker_socket: Option<PathBuf>,
    /// The command to run and capture with all its descendants; the agent
    /// exits with its exit status.
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<std::ffi::OsString>,
}

/// A duration: seconds when the number has no unit (`30`, `1.5`, as
/// sysdig's `-M` and `timeout` take them), or a number with its unit
/// (`500ms`, `10s`, `2m`, `1h`).
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let with_unit = if text.ends_with(|c: char| c.is_ascii_digit()) {
        format!("{text}s")
    } else {
        text.to_owned()
    };
    triggers::filter::parse_quantity(&with_unit, triggers::filter::Kind::Duration)
        .and_then(|ns| u64::try_from(ns).ok())
        .map(Duration::from_nanos)
        .ok_or_else(|| format!("{text:?} is not a duration (seconds, or 500ms, 10s, 2m, 1h)"))
}

fn parse_size(text: &str) -> Result<u64, String> {
    triggers::filter::parse_quantity(text, triggers::filter::Kind::Size)
        .and_then(|n| u64::try_from(n).ok())
        .ok_or_else(|| format!("{text:?} is not a size (e.g. 4096, 16MiB, 1G)"))
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        // Output piped into `head`: done, not failed.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            say!("syscap-agent: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The running agent logs through `tracing` to stderr, one line per event
/// with its time and level, at the level `SYSCAP_LOG` names (`error`,
/// `warn`, `info` (the default), `debug`; or a full `tracing` filter).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SYSCAP_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Capture(args) => capture(*args),
        Command::Synth {
            output,
            events,
            seed,
        } => synth(&output, events, seed).map(|()| ExitCode::SUCCESS),
        Command::CheckRules { file } => check_rules(&file).map(|()| ExitCode::SUCCESS),
        Command::Run { config } => {
            init_logging();
            let config = capture_agent::config::AgentConfig::load(config.as_deref(), &|name| {
                std::env::var(name).ok()
            })?;
            capture_agent::daemon::run(config)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Trigger {
            rule,
            before,
            after,
            filter,
            socket,
        } => {
            if let Some(text) = &filter {
                triggers::filter::Filter::per_event(text)
                    .map_err(|e| anyhow::anyhow!("--filter {text:?}: {e}"))?;
            }
            let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
            let answer = capture_agent::daemon::control::ask(
                &socket,
                &capture_agent::daemon::control::Request::Trigger {
                    rule,
                    before_ms: before.map(ms),
                    after_ms: after.map(ms),
                    filter,
                },
            )?;
            if !answer.ok {
                anyhow::bail!("{}", answer.message);
            }
            say!("{}", answer.message);
            Ok(ExitCode::SUCCESS)
        }
        Command::Status { socket, json } => {
            let answer = capture_agent::daemon::control::ask(
                &socket,
                &capture_agent::daemon::control::Request::Status,
            )?;
            let status = answer.status.unwrap_or_default();
            let mut out = std::io::stdout().lock();
            let text = if json {
                serde_json::to_string_pretty(&status).unwrap_or_default()
            } else {
                capture_agent::daemon::control::status_text(&status)
                    .trim_end()
                    .to_owned()
            };
            writeln!(out, "{text}")?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Fields => {
            triggers::filter::write_field_list(&mut std::io::stdout().lock())?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

impl CaptureArgs {
    /// A file, stdout (`-o -`) or live printing (no `-o`) with its format.
    fn destination(&self) -> anyhow::Result<Destination> {
        let args = self;
        let destination = match (&args.output, &args.print, args.json) {
            (None, print, json) => {
                let pieces = print
                    .as_deref()
                    .map(inspect_cli::print::Format::template)
                    .transpose()?;
                Destination::Print(match (pieces, json) {
                    (None, false) => inspect_cli::print::Format::Default,
                    (Some(p), false) => inspect_cli::print::Format::Template(p),
                    (p, true) => inspect_cli::print::Format::Json(p),
                })
            }
            (Some(_), Some(_), _) | (Some(_), _, true) => {
                anyhow::bail!("-p and -j print events as they happen: they take no -o")
            }
            (Some(path), None, false) if path.as_os_str() == "-" => Destination::Stdout,
            (Some(_), None, false) => Destination::File,
        };
        Ok(destination)
    }

    /// `-C`, `-G`, `-W`: rotation, into files only.
    fn rotation(&self, destination: &Destination) -> anyhow::Result<Option<capture::Rotation>> {
        if self.file_size.is_none() && self.seconds.is_none() {
            if self.limit.is_some() {
                anyhow::bail!("-W keeps the last files of a rotation: it needs -C or -G");
            }
            return Ok(None);
        }
        if !matches!(destination, Destination::File) {
            anyhow::bail!("-C and -G rotate capture files: they need -o FILE");
        }
        if self.file_size == Some(0) || self.seconds == Some(0) || self.limit == Some(0) {
            anyhow::bail!("-C, -G and -W take a number above 0");
        }
        Ok(Some(capture::Rotation {
            bytes: self.file_size.map(|mb| mb.saturating_mul(1_000_000)),
            every: self.seconds.map(Duration::from_secs),
            keep: self.limit,
        }))
    }

    /// Checks the arguments and turns them into capture options.
    fn into_options(self) -> anyhow::Result<CaptureOptions> {
        let args = self;
        let syscalls = if args.syscalls.is_empty() {
            None
        } else {
            let mut numbers = Vec::new();
            for name in &args.syscalls {
                match EventType::from_name(name.trim()) {
                    Some(t) if t.0 < 512 => numbers.push(t.0),
                    _ => anyhow::bail!("--syscalls: {name:?} is not an x86-64 system call"),
                }
            }
            Some(numbers)
        };
        let ring_bytes = u32::try_from(args.ring_size)
            .ok()
            .filter(|n| n.is_power_of_two() && *n >= 4096)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "--ring-size {} must be a power of two between 4KiB and 2GiB",
                    args.ring_size
                )
            })?;
        let destination = args.destination()?;
        let rotation = args.rotation(&destination)?;
        let words = args.filter_words.join(" ");
        let filter_text = match (&args.filter, words.trim().is_empty()) {
            (Some(f), false) => Some(format!("({f}) and ({words})")),
            (Some(f), true) => Some(f.clone()),
            (None, false) => Some(words),
            (None, true) => None,
        };
        let filter = match &filter_text {
            Some(text) => Some(
                triggers::filter::Filter::per_event(text)
                    .map_err(|e| anyhow::anyhow!("--filter: {e}\n{}", e.caret(text)))?,
            ),
            None => None,
        };
        let mut filter_text: Vec<String> = filter_text.into_iter().collect();
        if !args.pids.is_empty() {
            filter_text.push(format!(
                "proc.pid in ({})",
                args.pids
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if let Some(c) = &args.comm {
            filter_text.push(format!("proc.name = {c}"));
        }
        if !args.syscalls.is_empty() {
            filter_text.push(format!("evt.type in ({})", args.syscalls.join(", ")));
        }
        Ok(CaptureOptions {
            output: args.output.clone().unwrap_or_else(|| PathBuf::from("-")),
            destination,
            duration: args.duration,
            max_size: Some(args.max_size),
            probe: ProbeConfig {
                ring_bytes,
                snaplen: args.snaplen,
                pids: (!args.pids.is_empty()).then(|| args.pids.clone()),
                comm: args.comm.map(String::into_bytes),
                syscalls,
                latency: !args.no_latency,
                ..ProbeConfig::default()
            },
            command: args.command,
            runtimes: Some(RuntimeSockets {
                cri: if args.cri_sockets.is_empty() {
                    RuntimeSockets::default().cri
                } else {
                    args.cri_sockets.clone()
                },
                docker: args
                    .docker_socket
                    .clone()
                    .or(RuntimeSockets::default().docker),
                ..RuntimeSockets::default()
            }),
            filter,
            rotation,
            filter_text: if filter_text.len() > 1 {
                filter_text
                    .iter()
                    .map(|f| format!("({f})"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            } else {
                filter_text.concat()
            },
        })
    }
}

fn capture(args: CaptureArgs) -> anyhow::Result<ExitCode> {
    let options = args.into_options()?;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("cannot install signal handlers")?;
    }
    let live = matches!(options.destination, Destination::Print(_));
    // No progress line between the events printed live.
    let tty = std::io::stderr().is_terminal() && !live;
    let output = match options.destination {
        Destination::File => options.output.display().to_string(),
        Destination::Stdout => "standard output".to_owned(),
        Destination::Print(_) => "live output".to_owned(),
    };
    let report = capture::run(&options, &stop, |status| show_status(status, tty, &output))?;
    if tty {
        say_raw!("\r\x1b[K");
    }
    let events = report.events;
    let output = match report.files.as_slice() {
        [first, .., last] => format!(
            "{} files ({} to {})",
            report.files.len(),
            first.display(),
            last.display()
        ),
        [one] if matches!(options.destination, Destination::File) => one.display().to_string(),
        _ => output,
    };
    if live {
        say!(
            "syscap-agent: {events} events in {:.2} s",
            report.elapsed.as_secs_f64()
        );
    } else if report.files.len() > 1 {
        // Rotated: the sizes are the files'.
        say!(
            "syscap-agent: {events} events in {:.2} s written to {output}",
            report.elapsed.as_secs_f64()
        );
    } else {
        say!(
            "syscap-agent: {} events in {:.2} s written to {} ({}, {:.1} bytes/event){}",
            events,
            report.elapsed.as_secs_f64(),
            output,
            capture_agent::daemon::control::human_bytes(report.bytes),
            report.bytes as f64 / events.max(1) as f64,
            match report.stopped_by {
                StopReason::MaxSize => "; stopped at --max-size",
                _ => "",
            }
        );
    }
    if report.drops > 0 {
        say!(
            "syscap-agent: warning: the kernel dropped {} records (ring buffer full); drop records mark where in the capture",
            report.drops
        );
    }
    Ok(match report.exit_status {
        Some(status) => exit_code_of(status),
        None => ExitCode::SUCCESS,
    })
}

/// Says on stderr when recording starts, then shows progress on a terminal.
fn show_status(status: Status<'_>, tty: bool, output: &str) {
    let p = match status {
        Status::Started {
            processes,
            command_pid: Some(pid),
        } => {
            say!(
                "syscap-agent: capturing pid {pid} and its descendants into {output} ({processes} processes in the snapshot)"
            );
            return;
        }
        Status::Started {
            processes,
            command_pid: None,
        } => {
            say!(
                "syscap-agent: capturing into {output} ({processes} processes in the snapshot); Ctrl-C stops"
            );
            return;
        }
        Status::Running(p) => p,
    };
    if tty {
        let secs = p.elapsed.as_secs_f64().max(1e-3);
        say_raw!(
            "\r\x1b[K{} events ({:.0}/s), {}, {} drops",
            p.events,
            p.events as f64 / secs,
            capture_agent::daemon::control::human_bytes(p.bytes),
            p.drops
        );
    }
}

/// The command's exit code, or 128 + signal as shells report it.
fn exit_code_of(status: std::process::ExitStatus) -> ExitCode {
    use std::os::unix::process::ExitStatusExt;
    let code = status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1);
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

fn check_rules(file: &std::path::Path) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let set = match triggers::rules::check(&file.display().to_string(), &text) {
        Ok(set) => set,
        Err(errors) => {
            // Every error, one line each (file:line:column: rule: what).
            let (last, others) = errors.split_last().expect("errors are never empty");
            for e in others {
                say!("syscap-agent: {e}");
            }
            if others.is_empty() {
                anyhow::bail!("{last}");
            }
            say!("syscap-agent: {last}");
            anyhow::bail!("{} errors in {}", errors.len(), file.display());
        }
    };
    let mut out = std::io::stdout().lock();
    for rule in &set.rules {
        writeln!(out, "{rule}")?;
    }
    writeln!(
        out,
        "{} rules, at most {} captures at once",
        set.rules.len(),
        set.max_concurrent_captures
    )?;
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
    let file = capture::create_private(output)
        .with_context(|| format!("cannot write {}", output.display()))?;
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
    let written = workload
        .write_to(BufWriter::new(file), &header, WriterOptions::default())
        .map_err(anyhow::Error::from)
        .and_then(|(out, index)| {
            out.into_inner()
                .map_err(std::io::IntoInnerError::into_error)?
                .sync_all()?;
            Ok(index)
        })
        .with_context(|| format!("cannot write {}", output.display()));
    let index = match written {
        Ok(index) => index,
        Err(e) => {
            // No half-written capture left behind.
            let _ = std::fs::remove_file(output);
            return Err(e);
        }
    };
    say!(
        "wrote {} events in {} chunks to {}",
        index.events,
        index.chunks.len(),
        output.display()
    );
    Ok(())
}
