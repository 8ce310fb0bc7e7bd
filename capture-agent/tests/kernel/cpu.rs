//! CPU time in the agent's captures: `procinfo` samples the CPU chisels
//! read, checked against what `/proc` says of the same threads.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use capture_format::file::CaptureReader;

use crate::inspector;
use crate::support::{helper, now_ns, scratch, start_agent};

/// The `spin` helper: busy `duty` percent of each 20 ms, named `name`.
pub fn spin(duty: u32, name: &str) {
    let c_name = std::ffi::CString::new(name).unwrap();
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes.
    let rc = unsafe { libc::prctl(libc::PR_SET_NAME, c_name.as_ptr()) };
    assert_eq!(rc, 0, "prctl(PR_SET_NAME)");
    println!("ready");
    std::io::Write::flush(&mut std::io::stdout()).unwrap();
    let period = Duration::from_millis(20);
    let busy = period * duty / 100;
    loop {
        let started = Instant::now();
        let mut x = 0u64;
        while started.elapsed() < busy {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        if let Some(idle) = period.checked_sub(busy).filter(|d| !d.is_zero()) {
            std::thread::sleep(idle);
        }
    }
}

/// A busy loop in its own process, killed when dropped (passed or not).
pub struct Spinner {
    /// The loop, or the shell it runs under.
    child: Child,
    /// The loop's pid.
    pub pid: u32,
    pub name: &'static str,
}

impl Spinner {
    /// Starts one and waits until it runs under its name.
    pub fn start(name: &'static str, duty: u32) -> Self {
        Self::spawn(name, duty, false)
    }

    /// Starts one as the child of a shell that waits for it.
    fn under_a_shell(name: &'static str, duty: u32) -> Self {
        Self::spawn(name, duty, true)
    }

    fn spawn(name: &'static str, duty: u32, shell: bool) -> Self {
        let mut command = helper("spin");
        command.extend([duty.to_string(), name.to_owned()]);
        let mut child = if shell {
            // `; true`: the shell forks the loop and waits, not execs it.
            Command::new("/bin/sh")
                .args(["-c", &format!("{}; true", command.join(" "))])
                .stdout(Stdio::piped())
                .spawn()
        } else {
            Command::new(&command[0])
                .args(&command[1..])
                .stdout(Stdio::piped())
                .spawn()
        }
        .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line, "ready\n", "{name}");
        let pid = if shell {
            let children = format!("/proc/{0}/task/{0}/children", child.id());
            std::fs::read_to_string(children)
                .unwrap()
                .trim()
                .parse()
                .unwrap()
        } else {
            child.id()
        };
        Self { child, pid, name }
    }
}

/// User plus system CPU process `pid` used so far, in clock ticks (`/proc`).
fn ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 1..];
    let fields: Vec<u64> = after
        .split_whitespace()
        .skip(11) // fields 3 to 13
        .take(2)
        .map(|f| f.parse().unwrap())
        .collect();
    fields.iter().sum()
}

impl Drop for Spinner {
    fn drop(&mut self) {
        // SAFETY: a signal to a pid this test started.
        unsafe { libc::kill(i32::try_from(self.pid).unwrap(), libc::SIGKILL) };
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Percent of one CPU each spinner used over the window of the capture
/// `record` makes, as `/proc` counts it: their CPU times are read every
/// 10 ms while it runs, and those read nearest the window's ends count
/// (the agent itself competes for the CPUs while it records, not after,
/// so a window as long as the agent's whole run would say more).
fn proc_shares(spinners: &[Spinner], record: impl FnOnce() -> PathBuf) -> Vec<f64> {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let pids: Vec<u32> = spinners.iter().map(|s| s.pid).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut readings = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                readings.push((now_ns(), pids.iter().map(|&p| ticks(p)).collect::<Vec<_>>()));
                std::thread::sleep(Duration::from_millis(10));
            }
            readings
        })
    };
    let capture = record();
    stop.store(true, Ordering::Relaxed);
    let readings = reader.join().unwrap();
    let reader = CaptureReader::open(std::fs::File::open(&capture).unwrap()).unwrap();
    let window = reader.index().window.expect("the capture has a window");
    let first = readings
        .iter()
        .rev()
        .find(|(ts, _)| *ts <= window.start)
        .expect("a reading before the capture started");
    let last = readings
        .iter()
        .find(|(ts, _)| *ts >= window.end)
        .expect("a reading after the capture stopped");
    let secs = (last.0 - first.0) as f64 / 1e9;
    first
        .1
        .iter()
        .zip(&last.1)
        .map(|(b, a)| (a - b) as f64 / hz / secs * 100.0)
        .collect()
}

/// The share `topprocs_cpu` gives process `pid` named `name`, if listed.
pub fn listed_share(table: &str, name: &str, pid: u32) -> Option<f64> {
    table.lines().skip(2).find_map(|line| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let pid_col = pid.to_string();
        (cols.len() == 3 && cols[1] == name && cols[2] == pid_col)
            .then(|| cols[0].trim_end_matches('%').parse().unwrap())
    })
}

/// Two busy loops of different duty cycles under a whole-host capture:
/// `topprocs_cpu` lists both, each with the share of a CPU `/proc` says it
/// used over the capture's window, within 10 points (the machine may be
/// busy with other work: shares of the window are compared, not absolute
/// times).
pub fn topprocs_cpu_agrees_with_proc_on_two_busy_loops() {
    let dir = scratch("cpu-top");
    let spinners = [
        Spinner::start("spin-full", 100),
        Spinner::start("spin-part", 40),
    ];
    let capture = dir.join("capture.syscap");
    let path = capture.to_str().unwrap();
    let expected = proc_shares(&spinners, || {
        start_agent(&capture, &["--duration", "3s"]).finish();
        capture.clone()
    });
    let table = inspector(&["chisel", "--rows", "0", "topprocs_cpu", path]);
    for (spinner, want) in spinners.iter().zip(&expected) {
        let got = listed_share(&table, spinner.name, spinner.pid)
            .unwrap_or_else(|| panic!("{} is not listed:\n{table}", spinner.name));
        eprintln!("{}: topprocs_cpu {got:.2}%, /proc {want:.2}%", spinner.name);
        assert!(
            (got - want).abs() <= 10.0,
            "{}: topprocs_cpu says {got:.2}%, /proc {want:.2}%\n{table}",
            spinner.name
        );
        assert!(*want > 5.0, "{} hardly ran: {want:.2}%", spinner.name);
    }
    // The host's row sums every process on it, the spinners' included.
    let containers = inspector(&["chisel", "topcontainers_cpu", path]);
    let host: f64 = containers
        .lines()
        .find_map(|l| l.strip_suffix("host"))
        .and_then(|l| l.trim().trim_end_matches('%').parse().ok())
        .unwrap_or_else(|| panic!("no host row:\n{containers}"));
    assert!(
        host + 10.0 >= expected.iter().sum::<f64>(),
        "host {host}% < the spinners' {expected:?}\n{containers}"
    );
}

/// A capture of one process tree (`--pid` of a shell) samples that tree
/// alone: a busy loop already running under the shell counts from the
/// start (its share of the window is what `/proc` says, within 10
/// points), another one outside is not listed.
pub fn pid_capture_samples_only_its_processes() {
    let dir = scratch("cpu-pid");
    let spinners = [
        Spinner::under_a_shell("spin-mine", 100),
        Spinner::start("spin-other", 50),
    ];
    let capture = dir.join("capture.syscap");
    let path = capture.to_str().unwrap();
    let shell = spinners[0].child.id().to_string();
    let expected = proc_shares(&spinners[..1], || {
        start_agent(&capture, &["--pid", &shell, "--duration", "2s"]).finish();
        capture.clone()
    })[0];
    let table = inspector(&["chisel", "--rows", "0", "topprocs_cpu", path]);
    assert!(
        !table.contains("spin-other"),
        "not below the shell:\n{table}"
    );
    let got = listed_share(&table, "spin-mine", spinners[0].pid)
        .unwrap_or_else(|| panic!("spin-mine is not listed:\n{table}"));
    eprintln!("spin-mine: topprocs_cpu {got:.2}%, /proc {expected:.2}%");
    assert!(
        (got - expected).abs() <= 10.0,
        "/proc {expected:.2}%\n{table}"
    );
    assert!(expected > 5.0, "spin-mine hardly ran: {expected:.2}%");
}
