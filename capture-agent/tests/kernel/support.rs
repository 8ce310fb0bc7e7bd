//! The harness: runs cases, runs the real `syscap-agent`, and reads what it
//! captured into rows that assertions and failure messages can show.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use capture_format::event::OwnedArg;
use capture_format::file::{CaptureReader, Index, Projection};
use capture_format::render::{Bytes, render_args};
use capture_format::state::FdKind;

/// A test case.
pub type Case = (&'static str, fn());

/// `cases![f, g]`: the cases named after their functions.
macro_rules! cases {
    ($($case:ident),* $(,)?) => {
        &[$((stringify!($case), $case as fn())),*]
    };
}

/// Runs `cases` (those whose name contains the first free argument, as
/// libtest does), prints libtest-style lines and exits non-zero on failure.
pub fn run_cases(cases: &[Case]) -> std::process::ExitCode {
    let filter = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_default();
    if std::env::var_os("SYSCAP_SKIP_KERNEL_TESTS").is_some_and(|v| v == "1") {
        println!("kernel tests skipped: SYSCAP_SKIP_KERNEL_TESTS=1");
        println!(
            "test result: ok. 0 passed; 0 failed; {} ignored",
            cases.len()
        );
        return std::process::ExitCode::SUCCESS;
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!(
            "kernel tests need root (eBPF); run as root or set SYSCAP_SKIP_KERNEL_TESTS=1 to skip them explicitly"
        );
        println!("test result: FAILED. 0 passed; {} failed", cases.len());
        return std::process::ExitCode::FAILURE;
    }
    let selected: Vec<&Case> = cases.iter().filter(|(n, _)| n.contains(&filter)).collect();
    println!("\nrunning {} tests", selected.len());
    let mut failed = Vec::new();
    for (name, case) in &selected {
        let ok = catch_unwind(AssertUnwindSafe(case)).is_ok();
        println!("test {name} ... {}", if ok { "ok" } else { "FAILED" });
        if !ok {
            failed.push(*name);
        }
    }
    let passed = selected.len() - failed.len();
    if failed.is_empty() {
        println!("\ntest result: ok. {passed} passed; 0 failed");
        std::process::ExitCode::SUCCESS
    } else {
        println!("\nfailures: {}", failed.join(", "));
        println!(
            "\ntest result: FAILED. {passed} passed; {} failed",
            failed.len()
        );
        std::process::ExitCode::FAILURE
    }
}

/// A scratch directory per case, removed when the case ends, passed or not
/// (declared first in a case, it outlives the mounts, servers and agents
/// that use it).
pub struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A new, empty scratch directory for the case `name`.
pub fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("syscap-kernel-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

/// A small tmpfs mounted for a test, unmounted when the test ends, passed
/// or not (lazily: a file still open on it must not keep it mounted).
pub struct Tmpfs(PathBuf);

impl Tmpfs {
    /// Mounts a tmpfs of `size` (e.g. `512k`) on `dir`, created if needed.
    pub fn mount(dir: &Path, size: &str) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .unwrap();
        assert!(mounted.success(), "mount a tmpfs on {}", dir.display());
        Self(dir.to_owned())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Runs `syscap-agent` with `args`.
pub fn agent(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_syscap-agent"))
        .args(args)
        .output()
        .expect("syscap-agent runs")
}

/// A `syscap-agent capture` running in the background.
pub struct RunningAgent {
    child: Child,
    stderr: std::thread::JoinHandle<String>,
}

impl RunningAgent {
    /// Its pid.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Waits for it to finish; panics with its messages unless it succeeded.
    pub fn finish(mut self) -> String {
        let status = self.child.wait().unwrap();
        let stderr = self.stderr.join().unwrap();
        assert!(status.success(), "syscap-agent failed ({status}): {stderr}");
        stderr
    }
}

/// Starts a whole-host `syscap-agent capture -o OUTPUT ARGS...` and returns
/// once it says it is recording.
pub fn start_agent(output: &Path, args: &[&str]) -> RunningAgent {
    let mut child = Command::new(env!("CARGO_BIN_EXE_syscap-agent"))
        .args(["capture", "-o", output.to_str().unwrap()])
        .args(args)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    assert!(first.contains("capturing"), "{first}");
    let stderr = std::thread::spawn(move || {
        let mut rest = first;
        let _ = std::io::Read::read_to_string(&mut stderr, &mut rest);
        rest
    });
    RunningAgent { child, stderr }
}

/// This test binary, which runs helpers when given `helper NAME`.
pub fn helper(name: &str) -> Vec<String> {
    vec![
        std::env::current_exe().unwrap().display().to_string(),
        "helper".into(),
        name.into(),
    ]
}

/// One captured event, decoded and rendered.
#[derive(Clone, Debug)]
pub struct Row {
    pub ty: String,
    pub tid: i64,
    pub comm: String,
    pub ret: i64,
    pub returned: bool,
    /// When the record says the call happened (its entry, or its return
    /// when the entry was not recorded), ns since the epoch.
    pub ts: u64,
    /// ns from entry to exit.
    pub latency: u64,
    /// Whether the latency was recorded (not with `--no-latency`).
    pub has_latency: bool,
    pub args: Vec<(String, OwnedArg)>,
    /// `name=value ...` as sysdig shows arguments.
    pub text: String,
    pub fd_name: String,
    pub fd_kind: FdKind,
}

impl Row {
    pub fn arg(&self, name: &str) -> &OwnedArg {
        &self
            .args
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("{} has no argument {name}: {self}", self.ty))
            .1
    }

    pub fn int(&self, name: &str) -> i64 {
        match self.arg(name) {
            OwnedArg::Int(v) => *v,
            other => panic!("{name} of {self} is {other:?}, not an integer"),
        }
    }

    pub fn bytes(&self, name: &str) -> &[u8] {
        match self.arg(name) {
            OwnedArg::Str(b) | OwnedArg::Bytes(b) => b,
            other => panic!("{name} of {self} is {other:?}, not text"),
        }
    }
}

impl std::fmt::Display for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}({}) {} {} [fd {}]",
            self.comm, self.tid, self.ty, self.text, self.fd_name
        )
    }
}

/// A capture read back.
pub struct Captured {
    pub rows: Vec<Row>,
    pub index: Index,
    pub path: PathBuf,
}

impl Captured {
    /// Reads every event of `path`.
    pub fn read(path: &Path) -> Self {
        let captured = Self::read_complete_blocks(path);
        let reader = CaptureReader::open(File::open(path).unwrap()).unwrap();
        assert!(reader.truncation().is_none(), "capture is truncated");
        captured
    }

    /// Reads the events of `path` that its complete blocks hold, as a
    /// reader finds them while the file is written or after a crash.
    pub fn read_complete_blocks(path: &Path) -> Self {
        let reader = CaptureReader::open(File::open(path).unwrap()).unwrap();
        let mut rows = Vec::new();
        for i in 0..reader.index().chunks.len() {
            let chunk = reader.read_chunk(i, Projection::ALL).unwrap();
            for e in chunk.events() {
                let mut text = Vec::new();
                render_args(&e, &mut Bytes(&mut text));
                let info = e.ty().info();
                let args = e
                    .args()
                    .enumerate()
                    .map(|(i, a)| {
                        let name = info.args.get(i).map_or("arg", |d| d.name);
                        (name.to_owned(), a.to_owned_arg())
                    })
                    .collect();
                rows.push(Row {
                    ty: e.ty().name().to_owned(),
                    tid: e.tid(),
                    comm: e
                        .thread()
                        .map(|t| String::from_utf8_lossy(t.comm()).into_owned())
                        .unwrap_or_default(),
                    ret: e.ret(),
                    returned: e.returned(),
                    ts: e.ts(),
                    latency: e.latency(),
                    has_latency: e.has_latency(),
                    args,
                    text: String::from_utf8_lossy(&text).into_owned(),
                    fd_name: e
                        .fd()
                        .map(|f| String::from_utf8_lossy(f.name()).into_owned())
                        .unwrap_or_default(),
                    fd_kind: e.fd().map_or(FdKind::Unknown, |f| f.kind()),
                });
            }
        }
        Self {
            rows,
            index: reader.index().clone(),
            path: path.to_owned(),
        }
    }

    /// Captures `command` with its descendants; panics with the agent's
    /// output when it fails.
    pub fn command(dir: &Path, extra: &[&str], command: &[&str]) -> (Self, Output) {
        let path = dir.join("capture.syscap");
        let mut args = vec!["capture", "-o", path.to_str().unwrap()];
        args.extend_from_slice(extra);
        args.push("--");
        args.extend_from_slice(command);
        let out = agent(&args);
        assert!(
            out.status.code().is_some(),
            "syscap-agent was killed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            path.exists(),
            "no capture written: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        (Self::read(&path), out)
    }

    /// Captures this test binary's helper `name` with `args`; panics with
    /// the helper's output unless it succeeded.
    pub fn helper(dir: &Path, name: &str, args: &[&str]) -> (Self, Output) {
        let cmd = helper(name);
        let mut cmd: Vec<&str> = cmd.iter().map(String::as_str).collect();
        cmd.extend_from_slice(args);
        let (cap, out) = Self::command(dir, &[], &cmd);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (cap, out)
    }

    /// The first row matching `pred`, or a panic that lists the rows.
    pub fn find(&self, what: &str, pred: impl Fn(&Row) -> bool) -> &Row {
        self.rows
            .iter()
            .find(|r| pred(r))
            .unwrap_or_else(|| panic!("no {what} in the capture:\n{}", self.listing()))
    }

    /// Every row, one per line, for failure messages.
    pub fn listing(&self) -> String {
        let mut s = String::new();
        for r in &self.rows {
            let _ = writeln!(s, "  {r}");
        }
        s
    }
}

/// Now, ns since the epoch (the clock captures are stamped with).
pub fn now_ns() -> u64 {
    u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    )
    .unwrap()
}

/// A helper that says `ready` and then waits in `read` on its stdin pipe,
/// until a line comes: returns once the kernel shows it blocked in `read`
/// (`/proc/PID/syscall`), or panics after a minute.
pub fn blocked_reader(file: &Path) -> Child {
    let cmd = helper("late-write");
    let mut child = Command::new(&cmd[0])
        .args(&cmd[1..])
        .arg(file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert_eq!(ready, "ready\n");
    let syscall = format!("/proc/{}/syscall", child.id());
    let deadline = std::time::Instant::now() + std::time::Duration::from_mins(1);
    // Syscall 0 is read on x86-64.
    while !std::fs::read_to_string(&syscall).is_ok_and(|s| s.starts_with("0 ")) {
        assert!(
            std::time::Instant::now() < deadline,
            "the helper never blocked in read"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child
}

/// Lets a [`blocked_reader`] go and waits for it to exit.
pub fn release(mut reader: Child) {
    use std::io::Write as _;
    reader.stdin.take().unwrap().write_all(b"go\n").unwrap();
    assert!(reader.wait().unwrap().success());
}

/// What an index says of a capture's time, for failure messages.
pub fn span_facts(index: &Index) -> String {
    format!(
        "events {} to {}, window {:?}",
        index.ts_min, index.ts_max, index.window
    )
}
