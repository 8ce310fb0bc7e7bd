//! `syscap-agent run` end to end: the real agent on the real kernel, a real
//! S3 server (s3s-fs, checking signatures) on 127.0.0.1 that the tests stop
//! and restart, and the real `syscap` reading what was stored. The main
//! upload test runs on moto's server too, a second S3 implementation.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use s3_test_server::{Backend, KEY, S3TestServer as S3, SECRET, workspace_binary};

use crate::cpu::{Spinner, listed_share};
use crate::support::{Tmpfs, scratch};

/// A running agent and what it says.
pub(crate) struct Agent {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
    socket: PathBuf,
    spool: PathBuf,
}

pub(crate) struct AgentSetup<'a> {
    dir: &'a Path,
    rules: &'a str,
    s3: &'a S3,
    secret: &'a str,
    spool: Option<&'a Path>,
    spool_bytes: &'a str,
    metrics: bool,
    /// The CRI socket asked about containers (none: the defaults).
    pub(crate) cri_socket: Option<&'a Path>,
    /// The alert receiver's token file: the receiver listens on a free
    /// loopback port when given (none: off).
    pub(crate) alerts_token: Option<&'a Path>,
}

impl<'a> AgentSetup<'a> {
    /// The usual agent: right credentials, a spool in `dir`, no real bound.
    pub(crate) fn new(dir: &'a Path, rules: &'a str, s3: &'a S3) -> Self {
        Self {
            dir,
            rules,
            s3,
            secret: SECRET,
            spool: None,
            spool_bytes: "1GiB",
            metrics: false,
            cri_socket: None,
            alerts_token: None,
        }
    }
}

impl AgentSetup<'_> {
    /// Where the agent spools.
    fn spool(&self) -> PathBuf {
        self.spool
            .map_or_else(|| self.dir.join("spool"), Path::to_owned)
    }

    /// Writes the rules and `agent.toml`; returns the `syscap-agent run`
    /// to start.
    fn command(&self) -> Command {
        let rules = self.dir.join("rules.yaml");
        std::fs::write(&rules, self.rules).unwrap();
        let spool = self.spool();
        let socket = self.dir.join("agent.sock");
        let config = self.dir.join("agent.toml");
        std::fs::write(
            &config,
            format!(
                "rules = \"{}\"\nstorage = \"s3://caps/prod\"\nspool = \"{}\"\ncontrol_socket = \"{}\"\nmetrics = \"{}\"\nhost = \"test-host\"\n[ring]\nseconds = 30\nbytes = \"64MiB\"\n[limits]\nspool_bytes = {:?}\n[s3]\nendpoint = {:?}\npath_style = true\nregion = \"us-east-1\"\n",
                rules.display(),
                spool.display(),
                socket.display(),
                if self.metrics { "127.0.0.1:0" } else { "off" },
                self.spool_bytes,
                self.s3.endpoint()
            ),
        )
        .unwrap();
        if let Some(token) = self.alerts_token {
            let text = format!(
                "{}[alerts]\nlisten = \"127.0.0.1:0\"\ntoken_file = {:?}\n",
                std::fs::read_to_string(&config).unwrap(),
                token.display().to_string()
            );
            std::fs::write(&config, text).unwrap();
        }
        let mut command = Command::new(env!("CARGO_BIN_EXE_syscap-agent"));
        if let Some(socket) = self.cri_socket {
            command.env("SYSCAP_CRI_SOCKETS", socket);
        }
        command
            .args(["run", "--config", config.to_str().unwrap()])
            .env("AWS_ACCESS_KEY_ID", KEY)
            .env("AWS_SECRET_ACCESS_KEY", self.secret)
            .env_remove("AWS_PROFILE")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        command
    }
}

impl Agent {
    pub(crate) fn start(setup: &AgentSetup<'_>) -> Self {
        Self::spawn(setup.command(), setup)
    }

    /// Starts `command` (from `setup`, maybe changed) and waits until it
    /// says it runs.
    fn spawn(mut command: Command, setup: &AgentSetup<'_>) -> Self {
        let mut child = command.spawn().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let agent = Self {
            child,
            log,
            socket: setup.dir.join("agent.sock"),
            spool: setup.spool(),
        };
        agent.wait_for("running:", 1);
        // The ring fills from here: let it hold a few seconds.
        agent
    }

    pub(crate) fn lines(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Waits until `n` lines contain `text`.
    pub(crate) fn wait_for(&self, text: &str, n: usize) {
        let deadline = Instant::now() + Duration::from_mins(1);
        while Instant::now() < deadline {
            if self.lines().iter().filter(|l| l.contains(text)).count() >= n {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "no {n} lines with {text:?} in:\n{}",
            self.lines().join("\n")
        );
    }

    fn trigger(&self, rule: &str, before: &str, after: &str) {
        let (ok, err) = self.try_trigger(rule, before, after);
        assert!(ok, "trigger: {err}");
    }

    /// (accepted, what the command said on stderr).
    fn try_trigger(&self, rule: &str, before: &str, after: &str) -> (bool, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_syscap-agent"))
            .args([
                "trigger", rule, "--before", before, "--after", after, "--socket",
            ])
            .arg(&self.socket)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// What `syscap-agent status --json` says (within the client's own
    /// 30 s timeout).
    fn status(&self) -> Result<serde_json::Value, String> {
        let out = Command::new(env!("CARGO_BIN_EXE_syscap-agent"))
            .args(["status", "--json", "--socket"])
            .arg(&self.socket)
            .output()
            .unwrap();
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
    }

    /// The address the metrics endpoint listens on, as the agent said.
    fn metrics_address(&self) -> String {
        self.lines()
            .iter()
            .find_map(|l| l.split("metrics ").nth(1).map(|a| a.trim().to_owned()))
            .expect("the agent says where its metrics are")
    }

    /// The alert receiver's URL, as the agent said.
    pub(crate) fn alerts_url(&self) -> String {
        self.wait_for("receiving Alertmanager alerts on ", 1);
        self.lines()
            .iter()
            .find_map(|l| {
                let rest = l.split("receiving Alertmanager alerts on ").nth(1)?;
                Some(rest.split(' ').next()?.to_owned())
            })
            .expect("the agent says where it receives alerts")
    }

    fn signal(&self, signal: i32) {
        // SAFETY: a signal to our own child.
        unsafe { libc::kill(i32::try_from(self.child.id()).unwrap(), signal) };
    }

    fn ready(&self) -> usize {
        std::fs::read_dir(self.spool.join("ready")).map_or(0, Iterator::count)
    }

    pub(crate) fn stop(mut self) {
        // SAFETY: a signal to our own child.
        unsafe { libc::kill(i32::try_from(self.child.id()).unwrap(), libc::SIGTERM) };
        let _ = self.child.wait();
    }

    fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Agent {
    /// An agent left running by a failed test would go on recording.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The real inspector with the test server's settings.
pub(crate) fn syscap(s3: &S3, args: &[&str]) -> String {
    let bin = workspace_binary("syscap", "inspect-cli").unwrap();
    let out = Command::new(bin)
        .args(args)
        .env("AWS_ACCESS_KEY_ID", KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_REGION", "us-east-1")
        .env("SYSCAP_S3_ENDPOINT", s3.endpoint())
        .env("SYSCAP_S3_PATH_STYLE", "true")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "syscap {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

const MANUAL: &str = "rules:\n  - name: by-hand\n    condition:\n      manual: true\n    capture:\n      before: 2s\n      after: 1s\nlimits:\n  max_concurrent_captures: 4\n";

/// The scenario: a file written 2 s before a marker program runs is
/// in the capture the exec triggers, with the marker and what followed.
pub fn run_captures_the_history_before_an_event_trigger() {
    history_before_an_event_trigger(Backend::S3sFs);
}

/// The same, stored in moto's server.
pub fn run_captures_the_history_before_an_event_trigger_on_moto() {
    history_before_an_event_trigger(Backend::Moto);
}

fn history_before_an_event_trigger(backend: Backend) {
    let dir = scratch(&format!("daemon-event-{backend}"));
    let s3 = S3::start_with(backend, &dir.join("s3")).unwrap();
    let marker = dir.join("syscap-marker");
    std::fs::copy("/bin/true", &marker).unwrap();
    let spinner = Spinner::start("spin-daemon", 100);
    let rules = "rules:\n  - name: marker-exec\n    condition:\n      event: evt.type = execve and proc.name = syscap-marker\n    capture:\n      before: 5s\n      after: 2s\n";
    let agent = Agent::start(&AgentSetup::new(&dir, rules, &s3));
    std::thread::sleep(Duration::from_secs(1));
    let early = dir.join("written-before.txt");
    std::fs::write(&early, "before the trigger\n").unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let status = Command::new(&marker).status().unwrap();
    assert!(status.success());
    agent.wait_for("stored s3://caps/prod/test-host/", 1);
    let listed = syscap(&s3, &["ls", "s3://caps/prod", "--rule", "marker-exec"]);
    let rows: Vec<&str> = listed.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "{listed}");
    let key = rows[0].rsplit("  ").next().unwrap().trim();
    let url = format!("s3://caps/{key}");
    let early_path = early.to_str().unwrap();
    let writes = syscap(
        &s3,
        &[
            "print",
            &url,
            "-p",
            "%evt.type %fd.name %evt.rawres",
            "evt.type = write and fd.name =",
            early_path,
        ],
    );
    assert_eq!(
        writes,
        format!("write {early_path} 19\n"),
        "the write 2 s before the trigger"
    );
    let marks = syscap(
        &s3,
        &[
            "print",
            &url,
            "-p",
            "%evt.type %evt.arg.rule",
            "evt.type = trigger",
        ],
    );
    assert_eq!(marks, "trigger marker-exec\n");
    let after = syscap(
        &s3,
        &[
            "print",
            &url,
            "-p",
            "%proc.name",
            "proc.name = syscap-marker",
        ],
    );
    assert!(after.lines().count() > 5, "the marker's own calls: {after}");
    let info = syscap(&s3, &["info", &url]);
    assert!(info.contains("trigger      marker-exec"), "{info}");
    // The threads' CPU samples went into the ring with the calls.
    let cpu = syscap(&s3, &["chisel", "--rows", "0", "topprocs_cpu", &url]);
    assert!(
        listed_share(&cpu, spinner.name, spinner.pid).is_some_and(|s| s > 1.0),
        "{cpu}"
    );
    agent.stop();
}

/// The futex: a call that blocked long before a trigger capture's
/// window returns inside it. Its record keeps its entry time, but the
/// capture's start, end and duration (the footer, `syscap info`, the
/// object's metadata that `syscap ls` shows) are its window: from the
/// trigger (`--before 0`) for 2 s, not from the call's entry.
pub fn trigger_capture_spans_its_window_not_a_call_blocked_before() {
    let dir = scratch("daemon-window");
    let s3 = S3::start(&dir.join("s3")).unwrap();
    let agent = Agent::start(&AgentSetup::new(&dir, MANUAL, &s3));
    let reader = crate::support::blocked_reader(&dir.join("late.txt"));
    let pid = reader.id();
    let blocked = Instant::now();
    // The scenario itself, not a guess at timing: the read has to block a
    // while before the window starts.
    while blocked.elapsed() < Duration::from_millis(1500) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let before = crate::support::now_ns();
    agent.trigger("by-hand", "0", "2s");
    let triggered = crate::support::now_ns();
    crate::support::release(reader);
    agent.wait_for("stored s3://caps/prod/test-host/", 1);
    // JSON lines, one capture each.
    let listed: serde_json::Value =
        serde_json::from_str(&syscap(&s3, &["ls", "s3://caps/prod", "--json"])).unwrap();
    let key = listed["key"].as_str().unwrap().to_owned();
    let got = dir.join("got");
    syscap(
        &s3,
        &[
            "get",
            &format!("s3://caps/{key}"),
            "-o",
            got.to_str().unwrap(),
        ],
    );
    let file = walk_files(&got).pop().expect("a capture downloaded");
    let cap = crate::support::Captured::read(&file);
    let read = cap.find("the helper's read", |r| {
        r.ty == "read" && r.ret == 3 && r.tid == i64::from(pid)
    });
    assert!(read.ts < before, "the read keeps its entry time: {read}");
    let (start, end) = cap.index.span();
    assert!(
        (before..=triggered).contains(&start),
        "start {start} not between {before} and {triggered}: {}",
        crate::support::span_facts(&cap.index)
    );
    assert_eq!(
        end - start,
        2_000_000_000,
        "{}",
        crate::support::span_facts(&cap.index)
    );
    let url = format!("s3://caps/{key}");
    let info: serde_json::Value =
        serde_json::from_str(&syscap(&s3, &["info", "--json", &url])).unwrap();
    assert_eq!(info["duration_s"].as_f64(), Some(2.0), "{info}");
    assert_eq!(listed["duration_s"].as_f64(), Some(2.0), "{listed}");
    assert_eq!(listed["time"], info["start"], "{listed} {info}");
    agent.stop();
}

/// `run` with its rules file missing says so in one line and runs; SIGHUP
/// loads the file once it is there. `status` then shows, with units, the
/// capture a trigger started and its window (--json for scripts).
pub fn run_warns_when_its_rules_file_is_missing_and_status_reads() {
    let dir = scratch("daemon-no-rules");
    let s3 = S3::start(&dir.join("s3")).unwrap();
    let setup = AgentSetup::new(&dir, MANUAL, &s3);
    let command = setup.command();
    let rules = dir.join("rules.yaml");
    std::fs::remove_file(&rules).unwrap();
    let agent = Agent::spawn(command, &setup);
    let warned: Vec<String> = agent
        .lines()
        .into_iter()
        .filter(|l| l.contains("rules"))
        .filter(|l| !l.contains("running:"))
        .collect();
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert!(
        warned[0].contains("WARN")
            && warned[0].contains(&format!(
                "the rules file {} does not exist",
                rules.display()
            )),
        "{warned:?}"
    );
    let (refused, _) = agent.try_trigger("by-hand", "1s", "30s");
    assert!(!refused, "no rule yet");
    std::fs::write(&rules, MANUAL).unwrap();
    agent.signal(libc::SIGHUP);
    agent.wait_for("rules reloaded", 1);
    let before = crate::support::now_ns();
    agent.trigger("by-hand", "1s", "30s");
    let json = agent.status().unwrap();
    let running = &json["captures_running"][0];
    assert_eq!(running["rule"], "by-hand", "{json}");
    let (start, end) = (
        running["start"].as_u64().unwrap(),
        running["end"].as_u64().unwrap(),
    );
    // From 1 s before the trigger, or from the ring's oldest state when
    // it holds less (the agent has just started), to 30 s after.
    assert!(end >= before + 30_000_000_000, "{json}");
    let seconds = (end - start) as f64 / 1e9;
    assert!((30.0..=31.0).contains(&seconds), "{json}");
    let out = Command::new(env!("CARGO_BIN_EXE_syscap-agent"))
        .args(["status", "--socket"])
        .arg(&agent.socket)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{text}");
    assert!(text.starts_with("host               test-host\n"), "{text}");
    let line = text
        .lines()
        .find(|l| l.starts_with("capture running    by-hand from "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.ends_with(&format!("Z ({seconds:.1} s)")), "{text}");
    assert!(text.contains("\nring               "), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("spool ") && l.contains("B, ")),
        "{text}"
    );
    agent.stop();
}

/// Every regular file under `dir`.
pub(crate) fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk_files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// A rule's `capture` options reach the kernel, the file and S3: its
/// snaplen raises what the kernel records while it runs (600 bytes kept of
/// a 600-byte write, where the ring keeps 80) or cuts what the capture keeps
/// (8); its storage prefix goes into the key; its tags into the header and
/// the object metadata; its filter, filled in from the triggering event, is
/// what the header says was applied.
pub fn rule_capture_options_reach_the_kernel_the_file_and_s3() {
    let dir = scratch("daemon-options");
    let s3 = S3::start(&dir.join("s3")).unwrap();
    let marker = dir.join("syscap-optmark");
    std::fs::copy("/bin/true", &marker).unwrap();
    let data = dir.join("data.txt");
    let data_path = data.to_str().unwrap();
    let rules = format!(
        "rules:
  - name: wide
    condition: {{manual: true}}
    capture:
      before: 1s
      after: 4s
      snaplen: 1000
      storage_prefix: /incidents/db/
      tags: {{team: db, Ticket: INC-7}}
      filter: fd.name = {data_path}
  - name: narrow
    condition: {{manual: true}}
    capture: {{before: 1s, after: 4s, snaplen: 8}}
  - name: templated
    condition:
      event: evt.type = execve and proc.name = syscap-optmark
    capture:
      before: 1s
      after: 1s
      filter: proc.pid = ${{proc.pid}}
limits:
  max_concurrent_captures: 4
"
    );
    let agent = Agent::start(&AgentSetup::new(&dir, &rules, &s3));
    agent.trigger("wide", "1s", "4s");
    agent.trigger("narrow", "1s", "4s");
    // 600 bytes in one write, while both run.
    let status = Command::new("sh")
        .args(["-c", &format!("printf '%600s' | tr ' ' x > {data_path}")])
        .status()
        .unwrap();
    assert!(status.success());
    let exec = Command::new(&marker).spawn().unwrap();
    let pid = exec.id();
    assert!(exec.wait_with_output().unwrap().status.success());
    agent.wait_for("stored s3://", 3);
    let url = |rule: &str| {
        let listed = syscap(&s3, &["ls", "s3://caps/prod", "--rule", rule, "--json"]);
        let row: serde_json::Value =
            serde_json::from_str(listed.trim()).unwrap_or_else(|e| panic!("{e}: {listed}"));
        (format!("s3://caps/{}", row["key"].as_str().unwrap()), row)
    };
    let data_kept = |url: &str| {
        let printed = syscap(
            &s3,
            &[
                "print",
                url,
                "-p",
                "%evt.rawres %evt.arg.data",
                "evt.type = write and fd.name =",
                data_path,
            ],
        );
        let (res, data) = printed.trim_end().split_once(' ').unwrap();
        assert_eq!(res, "600", "{printed}");
        data.len()
    };

    let (wide, row) = url("wide");
    assert!(
        wide.starts_with("s3://caps/prod/incidents/db/test-host/"),
        "{wide}"
    );
    assert_eq!(
        row["tags"],
        serde_json::json!({"team": "db", "ticket": "INC-7"}),
        "object metadata: {row}"
    );
    assert_eq!(
        data_kept(&wide),
        600,
        "the kernel recorded 600 bytes for it"
    );
    let info: serde_json::Value =
        serde_json::from_str(&syscap(&s3, &["info", &wide, "--json"])).unwrap();
    assert_eq!(info["snaplen"], 1000);
    assert_eq!(info["filter"], format!("fd.name = {data_path}"));
    assert_eq!(
        info["tags"],
        serde_json::json!({"team": "db", "Ticket": "INC-7"})
    );

    let (narrow, _) = url("narrow");
    assert!(narrow.starts_with("s3://caps/prod/test-host/"), "{narrow}");
    assert_eq!(data_kept(&narrow), 8, "cut to the rule's snaplen");

    let (templated, _) = url("templated");
    let info: serde_json::Value =
        serde_json::from_str(&syscap(&s3, &["info", &templated, "--json"])).unwrap();
    assert_eq!(info["filter"], format!("proc.pid = {pid}"), "as applied");
    agent.stop();
}

/// S3 down while captures finish: they wait in the spool and all arrive,
/// once each, when it is back.
pub fn s3_outage_loses_nothing_and_duplicates_nothing() {
    let dir = scratch("daemon-outage");
    let mut s3 = S3::start(&dir.join("s3")).unwrap();
    let agent = Agent::start(&AgentSetup::new(&dir, MANUAL, &s3));
    s3.stop();
    for _ in 0..3 {
        agent.trigger("by-hand", "1s", "500ms");
        std::thread::sleep(Duration::from_millis(300));
    }
    agent.wait_for("it stays in the spool and is retried", 1);
    let deadline = Instant::now() + Duration::from_secs(30);
    while agent.ready() < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(agent.ready(), 3, "{}", agent.lines().join("\n"));
    for file in std::fs::read_dir(agent.spool.join("ready")).unwrap() {
        assert_eq!(mode_of(&file.unwrap().path()), 0o600, "the agent's alone");
    }
    assert!(s3.objects().is_empty());
    s3.restart().unwrap();
    agent.wait_for("stored s3://", 3);
    let objects = s3.objects();
    assert_eq!(objects.len(), 3, "{objects:?}");
    assert_eq!(agent.ready(), 0);
    let stored = agent
        .lines()
        .iter()
        .filter(|l| l.contains("stored s3://"))
        .count();
    assert_eq!(stored, 3, "each stored once");
    agent.stop();
}

/// SIGKILL with one capture finished (S3 down) and one running: after a
/// restart both reach S3, the cut one finished as a truncated capture.
pub fn killed_agent_recovers_its_captures() {
    let dir = scratch("daemon-kill");
    let mut s3 = S3::start(&dir.join("s3")).unwrap();
    s3.stop();
    let agent = Agent::start(&AgentSetup::new(&dir, MANUAL, &s3));
    agent.trigger("by-hand", "1s", "200ms");
    agent.wait_for("it stays in the spool and is retried", 1);
    agent.trigger("by-hand", "1s", "60s");
    // Let the running capture write a chunk or two.
    std::thread::sleep(Duration::from_secs(3));
    let spool = agent.spool.clone();
    agent.kill9();
    let partial = std::fs::read_dir(spool.join("partial")).unwrap().count();
    assert_eq!(partial, 1, "the capture cut by the kill");
    s3.restart().unwrap();
    let agent = Agent::start(&AgentSetup::new(&dir, MANUAL, &s3));
    agent.wait_for("recovered capture", 1);
    agent.wait_for("stored s3://", 2);
    assert_eq!(s3.objects().len(), 2, "{:?}", s3.objects());
    let cut = s3.objects().into_iter().max().unwrap();
    let info = syscap(&s3, &["info", &format!("s3://caps/{cut}")]);
    assert!(info.contains("events"), "{info}");
    agent.stop();
}

/// SIGKILL while a capture runs with a narrow filter (the host quiet as
/// far as it is concerned: a chunk of its own would not fill for minutes):
/// its file holds its history at once and each live event within seconds,
/// and what it held is recovered and stored after a restart.
pub fn killed_agent_keeps_a_quiet_capture_up_to_the_last_second() {
    let dir = scratch("daemon-kill-quiet");
    let s3 = S3::start(&dir.join("s3")).unwrap();
    let tick = dir.join("syscap-tick");
    std::fs::copy("/bin/touch", &tick).unwrap();
    let rules = "rules:\n  - name: quiet\n    condition: {manual: true}\n    capture: {before: 10s, after: 2m, filter: proc.name = syscap-tick}\n";
    let setup = AgentSetup::new(&dir, rules, &s3);
    let agent = Agent::start(&setup);
    let touch = |name: &str| {
        let status = Command::new(&tick).arg(dir.join(name)).status().unwrap();
        assert!(status.success());
    };
    touch("before-the-trigger");
    agent.trigger("quiet", "10s", "2m");
    let names: Vec<String> = (0..10).map(|i| format!("live-{i}")).collect();
    for name in &names {
        touch(name);
        std::thread::sleep(Duration::from_millis(200));
    }
    let touched = Instant::now();
    // The capture's file in partial/ holds the last one soon.
    let partial = || {
        std::fs::read_dir(agent.spool.join("partial"))
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .next()
    };
    let holds = |name: &str| {
        partial().is_some_and(|path| {
            crate::support::Captured::read_complete_blocks(&path)
                .rows
                .iter()
                .any(|r| r.text.contains(name))
        })
    };
    let deadline = touched + Duration::from_secs(30);
    while !holds(&names[9]) {
        assert!(
            Instant::now() < deadline,
            "the file does not hold the last event 30 s on: {}",
            agent.lines().join("\n")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let delay = touched.elapsed();
    assert!(
        delay < Duration::from_secs(5),
        "the last event reached the file {delay:?} after it happened"
    );
    assert_eq!(mode_of(&partial().unwrap()), 0o600, "the agent's alone");
    agent.kill9();

    let agent = Agent::start(&setup);
    agent.wait_for("recovered capture", 1);
    agent.wait_for("stored s3://", 1);
    agent.stop();
    let objects = s3.objects();
    assert_eq!(objects.len(), 1, "{objects:?}");
    let url = format!("s3://caps/{}", objects[0]);
    let printed = syscap(&s3, &["print", &url, "-p", "%evt.type %evt.args"]);
    for name in std::iter::once("before-the-trigger").chain(names.iter().map(String::as_str)) {
        assert!(printed.contains(name), "{name} recovered:\n{printed}");
    }
    assert!(printed.contains("trigger rule=quiet"), "{printed}");
}

/// The agent killed while an upload waits for the storage's answer: the
/// next agent stores the capture, once.
pub fn killed_agent_during_an_upload_stores_it_once() {
    let dir = scratch("daemon-kill-upload");
    let s3 = S3::start(&dir.join("s3")).unwrap();
    let agent = Agent::start(&AgentSetup::new(&dir, MANUAL, &s3));
    s3.freeze(true).unwrap();
    agent.trigger("by-hand", "1s", "200ms");
    let deadline = Instant::now() + Duration::from_secs(30);
    while agent.ready() == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(agent.ready(), 1, "the capture is spooled");
    // The uploader has sent it and waits for an answer that cannot come.
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        !agent.lines().iter().any(|l| l.contains("stored")),
        "{:?}",
        agent.lines()
    );
    agent.kill9();
    s3.freeze(false).unwrap();
    let agent = Agent::start(&AgentSetup::new(&dir, MANUAL, &s3));
    agent.wait_for("stored s3://", 1);
    assert_eq!(s3.objects().len(), 1, "{:?}", s3.objects());
    assert_eq!(agent.ready(), 0, "deleted from the spool once stored");
    agent.stop();
}

/// Wrong credentials: one clear line, and the capture stays in the spool.
pub fn wrong_credentials_keep_the_capture() {
    let dir = scratch("daemon-creds");
    let s3 = S3::start(&dir.join("s3")).unwrap();
    let agent = Agent::start(&AgentSetup {
        secret: "not-the-secret",
        ..AgentSetup::new(&dir, MANUAL, &s3)
    });
    agent.trigger("by-hand", "1s", "200ms");
    agent.wait_for("it stays in the spool and is retried", 1);
    let line = agent
        .lines()
        .into_iter()
        .find(|l| l.contains("cannot store"))
        .unwrap();
    assert!(
        line.contains("s3://caps/prod/test-host/")
            && line.contains("PutObject failed: SignatureDoesNotMatch"),
        "{line}"
    );
    assert_eq!(agent.ready(), 1);
    assert!(s3.objects().is_empty());
    agent.stop();
}

/// A spool on a small tmpfs: the oldest captures are dropped, said and
/// counted, and the agent goes on.
pub fn full_spool_drops_the_oldest_loudly() {
    let dir = scratch("daemon-spool");
    let mut s3 = S3::start(&dir.join("s3")).unwrap();
    s3.stop();
    let tmpfs = dir.join("tmpfs");
    // The file system fills before the configured bound would.
    let _mount = Tmpfs::mount(&tmpfs, "64k");
    let spool = tmpfs.join("spool");
    let agent = Agent::start(&AgentSetup {
        spool: Some(&spool),
        spool_bytes: "1GiB",
        ..AgentSetup::new(&dir, MANUAL, &s3)
    });
    std::thread::sleep(Duration::from_secs(2));
    for _ in 0..5 {
        agent.trigger("by-hand", "3s", "200ms");
        std::thread::sleep(Duration::from_millis(800));
    }
    agent.wait_for("spool full", 1);
    let doc = agent.status().expect("the agent still answers");
    let kept = agent.ready();
    let log = agent.lines().join("\n");
    agent.stop();
    assert!(log.contains("dropped capture"), "{log}");
    assert!(doc["spool_dropped"].as_u64().unwrap_or(0) >= 1, "{doc}");
    assert!(
        doc["captures_lost"].as_u64() >= doc["spool_dropped"].as_u64(),
        "a dropped capture is a lost one: {doc}"
    );
    assert!(kept >= 1, "the newest captures are kept: {log}");
}

/// A spool full to the last byte (a filler file beside it): every capture
/// fails before it can keep anything. Each is said once, counted in
/// `captures_lost`, and leaves no empty file in `partial/` that every
/// restart would fail to recover and say again.
pub fn full_spool_counts_lost_captures_and_leaves_no_empty_file() {
    let dir = scratch("daemon-spool-lost");
    let s3 = S3::start(&dir.join("s3")).unwrap();
    let tmpfs = dir.join("tmpfs");
    let _mount = Tmpfs::mount(&tmpfs, "1m");
    let spool = tmpfs.join("spool");
    let setup = AgentSetup {
        spool: Some(&spool),
        metrics: true,
        ..AgentSetup::new(&dir, MANUAL, &s3)
    };
    let agent = Agent::start(&setup);
    fill(&tmpfs.join("filler"));
    for n in 1..=3 {
        agent.trigger("by-hand", "1s", "100ms");
        agent.wait_for("capture of rule by-hand failed", n);
    }
    let partial = std::fs::read_dir(spool.join("partial")).unwrap().count();
    let page = scrape_metrics(&agent.metrics_address());
    let doc = agent.status().expect("the agent answers");
    let log = agent.lines().join("\n");
    agent.stop();
    assert_eq!(partial, 0, "no empty file left: {log}");
    assert_eq!(doc["captures_lost"], 3, "{doc}");
    assert!(
        page.lines().any(|l| l == "syscap_captures_lost_total 3"),
        "{page}"
    );
    let failures: Vec<&str> = log.lines().filter(|l| l.contains("failed")).collect();
    assert_eq!(failures.len(), 3, "said once each: {log}");
    assert!(
        failures
            .iter()
            .all(|l| l.contains("No space left on device") && l.contains("lost")),
        "{log}"
    );

    // Still full: nothing to recover, nothing said about it.
    let agent = Agent::start(&setup);
    let log = agent.lines().join("\n");
    agent.stop();
    assert!(!log.contains("recover"), "{log}");
}

/// Writes `path` until its file system is full.
fn fill(path: &Path) {
    use std::io::Write as _;
    let mut file = std::fs::File::create(path).unwrap();
    let block = vec![0xa5u8; 64 << 10];
    loop {
        match file.write(&block) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                assert_eq!(e.raw_os_error(), Some(libc::ENOSPC), "{e}");
                break;
            }
        }
    }
    // The last partial block too.
    while file.write(&[0xa5]).is_ok_and(|n| n == 1) {}
}

/// A spool another user could change is refused before anything in it is
/// opened, with one line naming the directory and why: a forged capture
/// that user put into `ready/` is never uploaded.
pub fn spool_another_user_could_change_is_refused() {
    use std::os::unix::fs::{PermissionsExt as _, chown};
    let dir = scratch("daemon-spool-owner");
    let s3 = S3::start(&dir.join("s3")).unwrap();
    let spool = dir.join("spool");
    let nobody = 65534;
    // (owner of spool/, owner of ready/ and partial/, mode of ready/, what
    // the agent says)
    let cases = [
        (
            0,
            nobody,
            0o700,
            format!("{}/partial is owned by uid 65534", spool.display()),
        ),
        (
            nobody,
            0,
            0o700,
            format!("{} is owned by uid 65534", spool.display()),
        ),
        (
            0,
            0,
            0o777,
            format!(
                "{}/ready is writable by other users (mode 0777)",
                spool.display()
            ),
        ),
    ];
    for (spool_owner, owner, ready_mode, expected) in cases {
        let _ = std::fs::remove_dir_all(&spool);
        for (d, uid) in [
            (spool.clone(), spool_owner),
            (spool.join("ready"), owner),
            (spool.join("partial"), owner),
        ] {
            std::fs::create_dir(&d).unwrap();
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
            chown(&d, Some(uid), Some(uid)).unwrap();
        }
        let ready = spool.join("ready");
        std::fs::set_permissions(&ready, std::fs::Permissions::from_mode(ready_mode)).unwrap();
        let forged = ready.join("20200101T000000Z_forged_0.syscap");
        let made = Command::new(env!("CARGO_BIN_EXE_syscap-agent"))
            .args(["synth", "--events", "100", "-o"])
            .arg(&forged)
            .output()
            .unwrap();
        assert!(made.status.success(), "{made:?}");
        chown(&forged, Some(nobody), Some(nobody)).unwrap();

        let (code, stderr) = run_to_exit(AgentSetup::new(&dir, MANUAL, &s3).command());
        assert_eq!(code, Some(1), "{expected}: {stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line: {stderr}");
        assert!(
            lines[0].starts_with(&format!("syscap-agent: spool {}: ", spool.display()))
                && lines[0].contains(&expected),
            "{expected}: {stderr}"
        );
        assert!(s3.objects().is_empty(), "{:?}", s3.objects());
        assert!(forged.exists(), "left alone");
    }
}

/// Runs the agent expecting it to refuse to start; returns its exit code
/// and what it said.
fn run_to_exit(mut command: Command) -> (Option<i32>, String) {
    let mut child = command.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "the agent started: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Symlinks planted in the spool (here to a root-only file) are never
/// opened: not recovered, not uploaded, their target untouched and none
/// of its bytes logged; each is said once, and left alone.
pub fn planted_symlinks_in_the_spool_are_never_followed() {
    use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
    let dir = scratch("daemon-spool-symlink");
    let s3 = S3::start(&dir.join("s3")).unwrap();
    let secret = dir.join("shadow");
    let content = b"SECRET:root:$y$j9T$planted:20000:0:99999:7:::\n";
    std::fs::write(&secret, content).unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let spool = dir.join("spool");
    for d in [&spool, &spool.join("ready"), &spool.join("partial")] {
        std::fs::DirBuilder::new().mode(0o700).create(d).unwrap();
    }
    let planted = [
        spool.join("partial/20200101T000000Z_planted_0.syscap"),
        spool.join("ready/20200101T000000Z_planted_1.syscap"),
    ];
    for link in &planted {
        std::os::unix::fs::symlink(&secret, link).unwrap();
    }
    let agent = Agent::start(&AgentSetup::new(&dir, MANUAL, &s3));
    agent.trigger("by-hand", "1s", "100ms");
    agent.wait_for("stored s3://", 1);
    let log = agent.lines().join("\n");
    agent.stop();
    assert_eq!(std::fs::read(&secret).unwrap(), content, "untouched");
    let first_bytes = format!("{:02x?}", &content[..4]);
    let first_bytes = first_bytes.trim_matches(['[', ']']);
    assert!(
        !log.contains("SECRET") && !log.contains(first_bytes),
        "no byte of the target logged: {log}"
    );
    for link in &planted {
        let name = link.file_name().unwrap().to_str().unwrap();
        let said: Vec<&str> = log.lines().filter(|l| l.contains(name)).collect();
        assert!(
            said.len() == 1 && said[0].contains("not a regular file"),
            "{name} said once: {log}"
        );
        assert!(std::fs::symlink_metadata(link).unwrap().is_symlink());
    }
    assert_eq!(s3.objects().len(), 1, "{:?}", s3.objects());
}

/// SIGHUP reloads the rules, refusing a file that does not validate (the
/// old rules stay); the metrics endpoint answers.
pub fn sighup_reloads_rules_and_metrics_answer() {
    let dir = scratch("daemon-hup");
    let s3 = S3::start(&dir.join("s3")).unwrap();
    let agent = Agent::start(&AgentSetup {
        metrics: true,
        ..AgentSetup::new(&dir, MANUAL, &s3)
    });
    let address = agent.metrics_address();
    // The count grows with the calls of anything on the host: make some
    // (a quiet host may make none), and read until they are counted.
    let deadline = Instant::now() + Duration::from_secs(20);
    let (page, events) = loop {
        let status = Command::new("true").status().unwrap();
        assert!(status.success());
        let page = scrape_metrics(&address);
        let events: u64 = page
            .lines()
            .find_map(|l| l.strip_prefix("syscap_events_total "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        if events > 0 || Instant::now() > deadline {
            break (page, events);
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(events > 0, "{page}");
    assert!(page.contains("# TYPE syscap_ring_bytes gauge"), "{page}");

    let rules = dir.join("rules.yaml");
    std::fs::write(&rules, "rules:\n  - name: broken\n    condition: {}\n").unwrap();
    agent.signal(libc::SIGHUP);
    agent.wait_for("the rules in use stay active", 1);
    agent.trigger("by-hand", "1s", "100ms");
    std::fs::write(&rules, MANUAL.replace("by-hand", "second")).unwrap();
    agent.signal(libc::SIGHUP);
    agent.wait_for("rules reloaded", 1);
    agent.trigger("second", "1s", "100ms");
    let (ok, err) = agent.try_trigger("by-hand", "1s", "100ms");
    assert!(!ok && err.contains("no rule named by-hand"), "{err}");
    agent.wait_for("stored s3://", 2);
    agent.stop();
}

/// `trigger --filter` narrows the capture to what the filter matches (with
/// the rule's own filter), and says so in the header; a filter that does
/// not parse is refused in one line, by the client and by the agent, and
/// costs the rule nothing.
pub fn trigger_filter_narrows_the_capture() {
    let dir = scratch("daemon-trigger-filter");
    let s3 = S3::start(&dir.join("s3")).unwrap();
    let agent = Agent::start(&AgentSetup::new(&dir, MANUAL, &s3));
    let marker = dir.join("filtered-marker");
    std::fs::write(&marker, "one\n").unwrap();
    std::fs::write(dir.join("other-file"), "two\n").unwrap();
    let filter = format!("fd.name = {}", marker.display());
    let trigger = |filter: &str| {
        Command::new(env!("CARGO_BIN_EXE_syscap-agent"))
            .args(["trigger", "by-hand", "--before", "5s", "--after", "200ms"])
            .args(["--filter", filter, "--socket"])
            .arg(&agent.socket)
            .output()
            .unwrap()
    };
    let out = trigger("proc.nme = x");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("--filter") && err.contains("unknown field 'proc.nme'"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    // The agent refuses it too (a client that did not check).
    let answer = capture_agent::daemon::control::ask(
        &agent.socket,
        &capture_agent::daemon::control::Request::Trigger {
            rule: "by-hand".into(),
            before_ms: None,
            after_ms: None,
            filter: Some("evt.type = = x".into()),
        },
    )
    .unwrap();
    assert!(
        !answer.ok && answer.message.starts_with("filter: "),
        "{}",
        answer.message
    );
    let out = trigger(&filter);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    agent.wait_for("stored s3://", 1);
    let listed: serde_json::Value =
        serde_json::from_str(&syscap(&s3, &["ls", "s3://caps/prod", "--json"])).unwrap();
    let url = format!("s3://caps/{}", listed["key"].as_str().unwrap());
    let names = syscap(
        &s3,
        &["print", &url, "-p", "%fd.name", "evt.type != trigger"],
    );
    let marker_name = marker.display().to_string();
    assert!(
        names.lines().count() >= 2,
        "the open and the write at least:\n{names}"
    );
    assert!(names.lines().all(|l| l == marker_name), "{names}");
    let info = syscap(&s3, &["info", &url]);
    assert!(info.contains(&filter), "{info}");
    agent.stop();
}

/// The probes: `/healthz` answers 200 while the recorder reads the kernel
/// ring; `/readyz` answers 200 while the storage answers, 503 naming the
/// storage once it stops, and 200 again once it is back.
pub fn health_and_readiness_probes_follow_the_recorder_and_the_storage() {
    let dir = scratch("daemon-probes");
    let mut s3 = S3::start(&dir.join("s3")).unwrap();
    let agent = Agent::start(&AgentSetup {
        metrics: true,
        ..AgentSetup::new(&dir, MANUAL, &s3)
    });
    let address = agent.metrics_address();
    // The storage is checked in the background every 15 s: 20 s more for a
    // busy machine.
    let wait_for = |path: &str, status: &str, body: &str| {
        let deadline = Instant::now() + Duration::from_secs(35);
        loop {
            let page = try_get(&address, path).unwrap_or_default();
            if page.starts_with(status) && page.contains(body) {
                return page;
            }
            assert!(
                Instant::now() < deadline,
                "GET {path}: no {status:?} with {body:?}; last answer:\n{page}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    let page = wait_for("/healthz", "HTTP/1.1 200", "ok: kernel programs attached");
    assert!(page.contains(" events)"), "{page}");
    wait_for("/readyz", "HTTP/1.1 200", "ok: storage reachable");
    s3.stop();
    wait_for("/readyz", "HTTP/1.1 503", "storage unreachable: ");
    // Unready is not dead: the agent records on, spooling.
    wait_for("/healthz", "HTTP/1.1 200", "ok:");
    s3.restart().unwrap();
    wait_for("/readyz", "HTTP/1.1 200", "ok: storage reachable");
    let page = try_get(&address, "/nothing").unwrap();
    assert!(page.starts_with("HTTP/1.1 404"), "{page}");
    agent.stop();
}

/// An unprivileged user holds as many idle connections to the metrics
/// endpoint as it can (up to a thousand) against an agent allowed 256 open
/// files: `status`, `trigger`, an
/// event rule's capture and SIGHUP go on working, the agent's open files
/// stay within the listener's own budget, and the endpoint answers again
/// once the flood ends.
pub fn metrics_flood_leaves_capturing_and_control_working() {
    use std::io::{BufRead as _, Write as _};
    use std::os::unix::process::CommandExt as _;
    const FLOOD: usize = 1000;
    let dir = scratch("daemon-flood");
    let s3 = S3::start(&dir.join("s3")).unwrap();
    let marker = dir.join("syscap-fmark");
    std::fs::copy("/bin/true", &marker).unwrap();
    let rules = MANUAL.replace(
        "limits:",
        "  - name: marker-exec\n    condition:\n      event: evt.type = execve and proc.name = syscap-fmark\n    capture: {before: 1s, after: 500ms}\nlimits:",
    );
    let agent = Agent::start(&AgentSetup {
        metrics: true,
        ..AgentSetup::new(&dir, &rules, &s3)
    });
    let pid = i32::try_from(agent.child.id()).unwrap();
    let limit = libc::rlimit {
        rlim_cur: 256,
        rlim_max: 256,
    };
    // SAFETY: a valid limit for our own child.
    let set = unsafe {
        libc::prlimit(
            pid,
            libc::RLIMIT_NOFILE,
            &raw const limit,
            std::ptr::null_mut(),
        )
    };
    assert_eq!(set, 0, "{}", std::io::Error::last_os_error());
    let open_files = || {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .count()
    };
    let before = open_files();
    let address = agent.metrics_address();

    let mut flood = KillOnDrop(
        Command::new(std::env::current_exe().unwrap())
            .args(["helper", "flood", &address, &FLOOD.to_string()])
            .uid(65534)
            .gid(65534)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut said = String::new();
    BufReader::new(flood.0.stdout.as_mut().unwrap())
        .read_line(&mut said)
        .unwrap();
    let held: usize = said.trim().parse().unwrap();
    // More than the listener may take (16), accepted or queued by the kernel.
    assert!(held > 100, "{held} connections held");

    let status = agent.status().expect("status answers during the flood");
    assert_eq!(status["host"], "test-host", "{status}");
    agent.trigger("by-hand", "1s", "200ms");
    assert!(Command::new(&marker).status().unwrap().success());
    agent.signal(libc::SIGHUP);
    agent.wait_for("rules reloaded", 1);
    agent.wait_for("stored s3://", 2);
    let during = open_files();
    let log = agent.lines().join("\n");
    assert!(!log.contains("failed"), "{log}");
    assert!(
        during <= before + 32,
        "{during} open files during the flood, {before} before"
    );

    // The flood ends: the endpoint answers again.
    drop(flood.0.stdin.take());
    let _ = flood.0.wait();
    let deadline = Instant::now() + Duration::from_mins(1);
    loop {
        match try_scrape_metrics(&address) {
            Some(page) if page.starts_with("HTTP/1.1 200") => break,
            other => assert!(
                Instant::now() < deadline,
                "no answer after the flood: {other:?}"
            ),
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = std::io::stdout().flush();
    agent.stop();
}

/// The permission bits of `path`.
fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// Kills a helper process when the test ends, passed or not.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Metric rules scoped to processes: the busy process's syscall rate and
/// CPU share fire their rules; the idle one, watched too, fires nothing.
pub fn per_process_metric_rules_fire_for_the_busy_process() {
    let dir = scratch("daemon-process-metrics");
    let s3 = S3::start(&dir.join("s3")).unwrap();
    let busy_bin = dir.join("syscap-busy");
    std::fs::copy("/bin/dd", &busy_bin).unwrap();
    let idle_bin = dir.join("syscap-idle");
    std::fs::copy("/bin/sleep", &idle_bin).unwrap();
    let rules = "rules:
  - name: busy-calls
    condition: {metric: syscall_rate, process: proc.name = syscap-busy, above: 1000, for: 2s}
    capture: {before: 1s, after: 500ms}
    cooldown: 10m
  - name: busy-cpu
    condition: {metric: cpu_percent, process: proc.name = syscap-busy, above: 3, for: 2s}
    capture: {before: 1s, after: 500ms}
    cooldown: 10m
  - name: idle-calls
    condition: {metric: syscall_rate, process: proc.name = syscap-idle, above: 1000, for: 2s}
    capture: {before: 1s, after: 500ms}
limits:
  max_concurrent_captures: 4
";
    // The thresholds are low, so that they hold on a busy host too (there,
    // other load left dd 24k calls/s and a few percent of a CPU); the idle
    // process makes no calls and takes no CPU.
    let agent = Agent::start(&AgentSetup::new(&dir, rules, &s3));
    let idle = KillOnDrop(Command::new(&idle_bin).arg("60").spawn().unwrap());
    let busy = KillOnDrop(
        Command::new(&busy_bin)
            .args(["if=/dev/zero", "of=/dev/null", "bs=1", "count=1000000000"])
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let who = format!("syscap-busy({})", busy.0.id());
    agent.wait_for(&format!("rule busy-calls fired (syscall_rate of {who}"), 1);
    agent.wait_for(&format!("rule busy-cpu fired (cpu_percent of {who}"), 1);
    drop(busy);
    drop(idle);
    agent.wait_for("stored s3://", 2);
    let log = agent.lines().join("\n");
    assert!(!log.contains("rule idle-calls fired"), "{log}");
    let listed = syscap(&s3, &["ls", "s3://caps/prod", "--json"]);
    assert_eq!(listed.lines().count(), 2, "{listed}");
    agent.stop();
}

/// One GET of the metrics page, status line and headers included.
fn scrape_metrics(address: &str) -> String {
    try_scrape_metrics(address).expect("the metrics endpoint answers")
}

/// One GET of the metrics page, or `None` when no answer comes within 10 s.
fn try_scrape_metrics(address: &str) -> Option<String> {
    try_get(address, "/metrics")
}

/// One GET of `path`, status line and headers included, or `None` when no
/// answer comes within 10 s.
fn try_get(address: &str, path: &str) -> Option<String> {
    let mut http = std::net::TcpStream::connect(address).ok()?;
    http.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    std::io::Write::write_all(
        &mut http,
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .ok()?;
    let mut page = String::new();
    std::io::Read::read_to_string(&mut http, &mut page).ok()?;
    Some(page)
}
