//! End-to-end tests of `syscap-agent capture` against the real kernel: run
//! real commands under the real binary and check what the capture holds.
//!
//! Needs root (eBPF). Without it the run fails, unless
//! `SYSCAP_SKIP_KERNEL_TESTS=1` asks to skip explicitly.

mod alerts;
mod containers;
mod cpu;
mod daemon;
#[macro_use]
mod support;

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use alerts::alertmanager_alerts_start_one_capture_per_alert;
use capture_format::event::{EventType, OwnedArg, OwnedSockAddr, OwnedSockTuple};
use capture_format::state::FdKind;
use containers::{
    containers_are_named_from_the_cri, docker_containers_are_named,
    filtered_capture_names_containers,
};
use cpu::{
    pid_capture_samples_only_its_processes, topprocs_cpu_agrees_with_proc_on_two_busy_loops,
};
use daemon::{
    full_spool_counts_lost_captures_and_leaves_no_empty_file, full_spool_drops_the_oldest_loudly,
    health_and_readiness_probes_follow_the_recorder_and_the_storage,
    killed_agent_during_an_upload_stores_it_once,
    killed_agent_keeps_a_quiet_capture_up_to_the_last_second, killed_agent_recovers_its_captures,
    metrics_flood_leaves_capturing_and_control_working,
    per_process_metric_rules_fire_for_the_busy_process,
    planted_symlinks_in_the_spool_are_never_followed,
    rule_capture_options_reach_the_kernel_the_file_and_s3,
    run_captures_the_history_before_an_event_trigger,
    run_captures_the_history_before_an_event_trigger_on_moto,
    run_warns_when_its_rules_file_is_missing_and_status_reads,
    s3_outage_loses_nothing_and_duplicates_nothing, sighup_reloads_rules_and_metrics_answer,
    spool_another_user_could_change_is_refused,
    trigger_capture_spans_its_window_not_a_call_blocked_before, trigger_filter_narrows_the_capture,
    wrong_credentials_keep_the_capture,
};
use support::{
    Captured, Tmpfs, agent, blocked_reader, helper, now_ns, release, run_cases, scratch,
    span_facts, start_agent,
};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("helper") {
        run_helper(args.get(2).map_or("", String::as_str), &args[3..]);
        return ExitCode::SUCCESS;
    }
    run_cases(cases![
        cat_reads_a_file,
        shell_redirect_creates_and_writes,
        tcp_client_and_server,
        udp_datagrams_keep_their_addresses,
        a_thread_moving_between_cpus_stays_in_order,
        execve_records_argv,
        failed_open_is_enoent,
        blocking_calls_keep_their_entry_time,
        a_capture_spans_its_window,
        live_mode_prints_events_as_they_happen,
        live_mode_formats_and_filters_like_syscap_print,
        live_mode_exits_0_on_a_broken_pipe,
        output_dash_writes_a_valid_capture_to_stdout,
        rotation_by_size_and_by_time_writes_whole_captures,
        no_latency_records_calls_at_their_return,
        exec_from_a_thread_is_recorded,
        rename_and_unlink,
        main_thread_matches_strace,
        fd_opened_before_the_capture_resolves,
        drops_are_counted_and_recorded,
        exit_status_and_errors,
        syscall_and_comm_filters_run_in_the_kernel,
        filter_keeps_matches_and_resolves_names,
        large_snaplen_takes_the_general_path,
        sigint_finishes_the_file,
        capture_files_are_private,
        full_disk_keeps_what_was_written,
        inspector_reads_a_real_capture,
        pid_filter_covers_children_already_running,
        topprocs_cpu_agrees_with_proc_on_two_busy_loops,
        pid_capture_samples_only_its_processes,
        run_captures_the_history_before_an_event_trigger,
        run_captures_the_history_before_an_event_trigger_on_moto,
        trigger_capture_spans_its_window_not_a_call_blocked_before,
        run_warns_when_its_rules_file_is_missing_and_status_reads,
        rule_capture_options_reach_the_kernel_the_file_and_s3,
        s3_outage_loses_nothing_and_duplicates_nothing,
        killed_agent_recovers_its_captures,
        killed_agent_during_an_upload_stores_it_once,
        killed_agent_keeps_a_quiet_capture_up_to_the_last_second,
        wrong_credentials_keep_the_capture,
        full_spool_drops_the_oldest_loudly,
        full_spool_counts_lost_captures_and_leaves_no_empty_file,
        spool_another_user_could_change_is_refused,
        planted_symlinks_in_the_spool_are_never_followed,
        sighup_reloads_rules_and_metrics_answer,
        alertmanager_alerts_start_one_capture_per_alert,
        health_and_readiness_probes_follow_the_recorder_and_the_storage,
        trigger_filter_narrows_the_capture,
        metrics_flood_leaves_capturing_and_control_working,
        per_process_metric_rules_fire_for_the_busy_process,
        containers_are_named_from_the_cri,
        filtered_capture_names_containers,
        docker_containers_are_named,
    ])
}

/// Programs the tests capture, run as `kernel helper NAME ARGS`.
fn run_helper(name: &str, args: &[String]) {
    match name {
        // A client and a server in one process: connect, accept, a request
        // and a reply of known sizes.
        "tcp" => {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            let server = std::thread::spawn(move || {
                let (mut conn, _) = listener.accept().unwrap();
                let mut buf = [0u8; 5];
                conn.read_exact(&mut buf).unwrap();
                conn.write_all(b"pong!!\n").unwrap();
            });
            let mut client = TcpStream::connect(("127.0.0.1", port)).unwrap();
            client.write_all(b"ping\n").unwrap();
            let mut reply = [0u8; 7];
            client.read_exact(&mut reply).unwrap();
            server.join().unwrap();
            println!("{port}");
        }
        // Datagrams with an address (sendto/recvfrom name the peer), then
        // one on a connected socket (no address: the fast path of send).
        "udp" => {
            let server = UdpSocket::bind("127.0.0.1:0").unwrap();
            let client = UdpSocket::bind("127.0.0.1:0").unwrap();
            client
                .send_to(b"ping\n", server.local_addr().unwrap())
                .unwrap();
            let mut buf = [0u8; 16];
            let (n, from) = server.recv_from(&mut buf).unwrap();
            assert_eq!((n, from), (5, client.local_addr().unwrap()));
            client.connect(server.local_addr().unwrap()).unwrap();
            client.send(b"connected\n").unwrap();
            assert_eq!(server.recv(&mut buf).unwrap(), 10);
            println!(
                "{} {}",
                client.local_addr().unwrap(),
                server.local_addr().unwrap()
            );
        }
        // Opens a file, says so, waits for a line on stdin, then writes to
        // the fd it opened long before.
        "late-write" => {
            let mut f = std::fs::File::create(&args[0]).unwrap();
            println!("ready");
            std::io::stdout().flush().unwrap();
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).unwrap();
            f.write_all(b"late write\n").unwrap();
        }
        // Leaves its CPU in the middle of two calls: a read that waits for
        // another thread's write, then a sleep.
        "block" => {
            let (mut reader, mut writer) = std::os::unix::net::UnixStream::pair().unwrap();
            let late = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(150));
                writer.write_all(b"x").unwrap();
            });
            let mut byte = [0u8; 1];
            reader.read_exact(&mut byte).unwrap();
            late.join().unwrap();
            std::thread::sleep(Duration::from_millis(100));
        }
        // Execs /bin/true from a thread other than the main one (the
        // thread takes the process's tid).
        "exec-from-thread" => {
            use std::os::unix::process::CommandExt as _;
            let exec = std::thread::spawn(|| Command::new("/bin/true").exec());
            let err = exec.join().unwrap();
            panic!("exec failed: {err}");
        }
        // Opens a file on one CPU, writes to it from another, closes it back
        // on the first, over and over: each call lands in another CPU's
        // ring.
        "migrate" => {
            for i in 0..100 {
                run_on_cpu(0);
                let mut file = std::fs::File::create(format!("{}.{i}", args[0])).unwrap();
                run_on_cpu(1);
                file.write_all(b"x").unwrap();
                run_on_cpu(0);
                drop(file);
            }
        }
        // Opens up to N idle connections to ADDR (as an unprivileged user
        // would; it stops when three in a row time out: the listen queue is
        // full), says how many, and holds them until its stdin closes.
        "flood" => {
            let count: usize = args[1].parse().unwrap();
            let address: std::net::SocketAddr = args[0].parse().unwrap();
            let mut held = Vec::new();
            let mut failed_in_a_row = 0;
            while held.len() < count && failed_in_a_row < 3 {
                match TcpStream::connect_timeout(&address, Duration::from_secs(1)) {
                    Ok(stream) => {
                        held.push(stream);
                        failed_in_a_row = 0;
                    }
                    Err(_) => failed_in_a_row += 1,
                }
            }
            println!("{}", held.len());
            std::io::stdout().flush().unwrap();
            let mut rest = String::new();
            let _ = std::io::stdin().read_to_string(&mut rest);
        }
        // Busy ARGS[0] percent of the time, named ARGS[1], until killed.
        "spin" => cpu::spin(args[0].parse().unwrap(), &args[1]),
        other => panic!("unknown helper {other}"),
    }
}

/// Moves the calling thread to `cpu` (the kernel moves it before the call
/// returns).
fn run_on_cpu(cpu: usize) {
    // SAFETY: a zeroed CPU set with one bit set, passed with its size.
    let rc = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &raw const set)
    };
    assert_eq!(
        rc,
        0,
        "sched_setaffinity to CPU {cpu}: {}",
        std::io::Error::last_os_error()
    );
}

/// Each CPU has its ring; the agent merges them in the order the calls
/// returned, so a thread's open, write and close, each on another CPU,
/// still come out in that order and the write names the file it went to.
fn a_thread_moving_between_cpus_stays_in_order() {
    assert!(
        std::thread::available_parallelism().map_or(0, usize::from) >= 2,
        "this test needs two CPUs"
    );
    let dir = scratch("migrate");
    let base = dir.join("f");
    let base = base.to_str().unwrap();
    let (cap, _) = Captured::helper(&dir, "migrate", &[base]);
    let writes: Vec<_> = cap
        .rows
        .iter()
        .filter(|r| r.ty == "write" && r.ret == 1 && r.bytes("data") == b"x")
        .collect();
    assert_eq!(writes.len(), 100, "{}", cap.listing());
    for (i, write) in writes.iter().enumerate() {
        assert_eq!(write.fd_name, format!("{base}.{i}"), "{write}");
        assert_eq!(write.fd_kind, FdKind::File, "{write}");
    }
    assert_eq!(cap.index.drops, 0);
}

fn cat_reads_a_file() {
    let dir = scratch("cat");
    let file = dir.join("hello.txt");
    std::fs::write(&file, "hello from syscap\n").unwrap();
    let path = file.to_str().unwrap();
    let (cap, out) = Captured::command(&dir, &[], &["/bin/cat", path]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"hello from syscap\n");

    let open = cap.find("openat of the file", |r| {
        r.comm == "cat"
            && r.ty == "openat"
            && r.args.iter().any(|(_, a)| *a == OwnedArg::Str(path.into()))
    });
    assert!(open.ret >= 0, "{open}");
    assert_eq!(open.fd_name, path, "{open}");
    assert_eq!(open.fd_kind, FdKind::File);
    let read = cap.find("read of the file", |r| {
        r.comm == "cat" && r.ty == "read" && r.fd_name == path && r.ret > 0
    });
    assert_eq!(read.ret, 18, "{read}");
    assert_eq!(read.bytes("data"), b"hello from syscap\n", "{read}");
    assert_eq!(read.fd_name, path);
    let close = cap.find("close of the file", |r| {
        r.comm == "cat" && r.ty == "close" && r.fd_name == path
    });
    assert_eq!((close.ret, close.fd_name.as_str()), (0, path), "{close}");
    // The write to stdout carries the data too.
    let write = cap.find("write to stdout", |r| r.comm == "cat" && r.ty == "write");
    assert_eq!((write.int("fd"), write.ret), (1, 18), "{write}");
    // Only the command's tree was recorded.
    assert!(
        cap.rows
            .iter()
            .all(|r| r.comm == "cat" || r.comm == "syscap-agent"),
        "other processes leaked in:\n{}",
        cap.listing()
    );
    assert_eq!(cap.index.drops, 0);
}

fn shell_redirect_creates_and_writes() {
    let dir = scratch("redirect");
    let target = dir.join("x");
    let script = format!("echo hi > {}", target.display());
    let (cap, out) = Captured::command(&dir, &[], &["/bin/sh", "-c", &script]);
    assert!(out.status.success());
    let target = target.to_str().unwrap();
    let open = cap.find("open with O_CREAT", |r| {
        r.ty == "openat"
            && r.args
                .iter()
                .any(|(_, a)| *a == OwnedArg::Str(target.into()))
    });
    let flags = open.int("flags");
    assert_eq!(flags & 0o3, i64::from(libc::O_WRONLY), "{open}");
    assert_ne!(flags & i64::from(libc::O_CREAT), 0, "{open}");
    assert_ne!(flags & i64::from(libc::O_TRUNC), 0, "{open}");
    assert!(
        open.text.contains("O_CREAT") && open.text.contains("O_TRUNC"),
        "{open}"
    );
    assert_eq!(open.int("mode"), 0o666, "{open}");
    // The shell dup2s the file onto stdout, then echo writes.
    let write = cap.find("write of hi", |r| r.ty == "write" && r.ret == 3);
    assert_eq!(write.bytes("data"), b"hi\n", "{write}");
    assert_eq!(write.int("size"), 3);
    assert_eq!(write.fd_name, target, "{write}");
}

fn tcp_client_and_server() {
    let dir = scratch("tcp");
    let (cap, out) = Captured::helper(&dir, "tcp", &[]);
    let port: u16 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let server_addr: std::net::SocketAddrV4 = format!("127.0.0.1:{port}").parse().unwrap();

    let socket = cap.find("socket", |r| r.ty == "socket" && r.ret >= 0);
    assert_eq!(socket.int("domain"), 2, "{socket}");
    let bind = cap.find("bind", |r| r.ty == "bind");
    assert_eq!(bind.ret, 0);
    let listen = cap.find("listen", |r| r.ty == "listen");
    assert_eq!(listen.ret, 0);
    let connect = cap.find("connect", |r| r.ty == "connect");
    assert_eq!(connect.ret, 0, "{connect}");
    assert_eq!(
        *connect.arg("addr"),
        OwnedArg::SockAddr(OwnedSockAddr::V4(server_addr))
    );
    let OwnedArg::SockTuple(OwnedSockTuple::V4 { src: client, dst }) = connect.arg("tuple").clone()
    else {
        panic!("connect has no IPv4 tuple: {connect}");
    };
    assert_eq!(dst, server_addr);
    assert_ne!(client.port(), 0);
    let accept = cap.find("accept", |r| r.ty.starts_with("accept") && r.ret >= 0);
    assert_eq!(
        *accept.arg("tuple"),
        OwnedArg::SockTuple(OwnedSockTuple::V4 {
            src: client,
            dst: server_addr
        }),
        "{accept}"
    );
    let conn_name = format!("{client}->{server_addr}");
    assert!(accept.text.contains(&conn_name), "{accept}");
    // Request and reply: Rust's std sends with sendto and receives with
    // recvfrom; each side's fd resolves to the same connection.
    let send = cap.find("client send", |r| r.ty == "sendto" && r.ret == 5);
    assert_eq!(send.bytes("data"), b"ping\n");
    assert_eq!(send.fd_kind, FdKind::Ipv4);
    let recv = cap.find("server receive", |r| r.ty == "recvfrom" && r.ret == 5);
    assert_eq!(recv.bytes("data"), b"ping\n");
    let reply = cap.find("server reply", |r| r.ty == "sendto" && r.ret == 7);
    assert_eq!(reply.bytes("data"), b"pong!!\n");
    let got = cap.find("client receive", |r| r.ty == "recvfrom" && r.ret == 7);
    assert_eq!(got.bytes("data"), b"pong!!\n");
    assert_ne!(
        send.tid, recv.tid,
        "client and server are different threads"
    );
}

/// The read/write fast path takes sends and receives only when they carry
/// no address: datagrams sent to and received from an address keep it.
fn udp_datagrams_keep_their_addresses() {
    let dir = scratch("udp");
    let (cap, out) = Captured::helper(&dir, "udp", &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let (client, server) = stdout.trim().split_once(' ').unwrap();
    let client: std::net::SocketAddrV4 = client.parse().unwrap();
    let server: std::net::SocketAddrV4 = server.parse().unwrap();
    let datagram = OwnedArg::SockTuple(OwnedSockTuple::V4 {
        src: client,
        dst: server,
    });

    let send = cap.find("sendto with an address", |r| r.ty == "sendto" && r.ret == 5);
    assert_eq!(send.bytes("data"), b"ping\n", "{send}");
    assert_eq!(*send.arg("tuple"), datagram, "{send}");
    let recv = cap.find("recvfrom with an address", |r| {
        r.ty == "recvfrom" && r.ret == 5
    });
    assert_eq!(recv.bytes("data"), b"ping\n", "{recv}");
    assert_eq!(*recv.arg("tuple"), datagram, "{recv}");
    let connected = cap.find("send on the connected socket", |r| {
        r.ty == "sendto" && r.ret == 10
    });
    assert_eq!(connected.bytes("data"), b"connected\n", "{connected}");
    assert_eq!(connected.fd_kind, FdKind::Ipv4, "{connected}");
}

fn execve_records_argv() {
    let dir = scratch("exec");
    let (cap, out) = Captured::command(
        &dir,
        &[],
        &["/bin/sh", "-c", "/bin/echo one 'two three' >/dev/null"],
    );
    assert!(out.status.success());
    let exec = cap.find("execve of echo", |r| {
        r.ty == "execve" && r.ret == 0 && r.bytes("filename") == b"/bin/echo"
    });
    assert_eq!(exec.bytes("args"), b"/bin/echo\0one\0two three", "{exec}");
    assert_eq!(
        exec.comm, "echo",
        "after exec the thread is named by the new program"
    );
    let procexec = cap.find("procexec", |r| r.ty == "procexec" && r.tid == exec.tid);
    assert_eq!(procexec.bytes("filename"), b"/bin/echo");
    // The shell forked the child: a procfork event names it.
    let fork = cap.find("procfork", |r| {
        r.ty == "procfork" && r.int("child_tid") == exec.tid
    });
    assert_eq!(fork.comm, "sh");
    let exit = cap.find("procexit", |r| r.ty == "procexit" && r.tid == exec.tid);
    assert_eq!(exit.int("status"), 0);
    // The first exec is the command itself, with its whole argv.
    let first = cap.find("execve of sh", |r| r.ty == "execve" && r.ret == 0);
    assert_eq!(
        first.bytes("args"),
        b"/bin/sh\0-c\0/bin/echo one 'two three' >/dev/null"
    );
}

/// A call during which its thread leaves the CPU (and may come back on
/// another) keeps its entry time: the records are there and their latency
/// covers the wait.
fn blocking_calls_keep_their_entry_time() {
    let dir = scratch("blocking");
    let (cap, _) = Captured::helper(&dir, "block", &[]);
    let read = cap.find("the read that waits", |r| {
        matches!(r.ty.as_str(), "read" | "recvfrom")
            && r.ret == 1
            && r.latency > 0
            && r.fd_kind == FdKind::Unix
    });
    assert!(read.latency >= 140_000_000, "{read}: {} ns", read.latency);
    let sleep = cap.find("the sleep", |r| {
        matches!(r.ty.as_str(), "nanosleep" | "clock_nanosleep") && r.latency >= 90_000_000
    });
    assert!(
        sleep.latency < 1_000_000_000,
        "{sleep}: {} ns",
        sleep.latency
    );
}

/// A capture's start, end and duration are its window (from when it
/// started recording to when it stopped), whatever its events: here only
/// the few calls of a helper that was blocked in `read` when the capture
/// started and returns after, where the events alone would say a few
/// milliseconds, starting when the read returned. `syscap info` says the
/// same.
fn a_capture_spans_its_window() {
    let dir = scratch("window");
    let output = dir.join("window.syscap");
    let reader = blocked_reader(&dir.join("late.txt"));
    let filter = format!("proc.pid = {}", reader.id());
    let before = now_ns();
    let agent = start_agent(&output, &["--duration", "2", "-f", &filter]);
    let started = now_ns();
    release(reader);
    agent.finish();
    let cap = Captured::read(&output);
    cap.find("the helper's write", |r| r.ty == "write");
    let (start, end) = cap.index.span();
    assert!(
        (before..=started).contains(&start),
        "start {start} not between {before} and {started}: {}",
        span_facts(&cap.index)
    );
    let duration = end.saturating_sub(start);
    assert!(
        (2_000_000_000..2_500_000_000).contains(&duration),
        "{duration} ns: {}",
        span_facts(&cap.index)
    );
    let syscap = s3_test_server::workspace_binary("syscap", "inspect-cli").unwrap();
    let out = Command::new(syscap)
        .args(["info", "--json"])
        .arg(&output)
        .output()
        .unwrap();
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        info["duration_s"].as_f64(),
        Some(duration as f64 / 1e9),
        "{info}"
    );
}

/// Live mode (no `-o`): each event is printed as it happens, with the
/// filter as trailing words (like `sysdig proc.name=nginx`): a line for an
/// open of a marker file appears while the capture runs, long before it
/// stops; SIGINT ends it with status 0.
fn live_mode_prints_events_as_they_happen() {
    let dir = scratch("live");
    let marker = dir.join("live-marker.txt");
    let marker_path = marker.to_str().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_syscap-agent"))
        .args([
            "capture",
            "-p",
            "%evt.num %evt.type %fd.name",
            "fd.name",
            "=",
            marker_path,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    assert!(first.contains("capturing into live output"), "{first}");
    std::fs::write(&marker, "x").unwrap();
    // Read on a thread: a test that waited on a line that never comes
    // would hang rather than fail.
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let line = rx
        .recv_timeout(Duration::from_mins(1))
        .expect("a line printed while the capture runs");
    assert!(
        child.try_wait().unwrap().is_none(),
        "printed while it runs, not at its end"
    );
    assert!(line.starts_with("1 openat "), "{line}");
    assert!(line.ends_with(marker_path), "{line}");
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(i32::try_from(child.id()).unwrap(), libc::SIGINT) };
    let status = child.wait().unwrap();
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    assert!(status.success(), "{status}: {rest}");
    assert!(rest.contains(" events in "), "{rest}");
}

/// Live mode prints what `syscap print` prints of the same events: the
/// default line, `-p` formats, `-j` JSON lines; `-f` and trailing words
/// both filter. `-p` with `-o` is refused in one line.
fn live_mode_formats_and_filters_like_syscap_print() {
    let dir = scratch("live-format");
    let file = dir.join("hostname.txt");
    std::fs::write(&file, "live\n").unwrap();
    let path = file.to_str().unwrap();
    let live = |args: &[&str]| {
        let out = agent(&[&["capture"], args, &["--", "cat", path]].concat());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // cat's own output first.
        let text = String::from_utf8(out.stdout).unwrap();
        text.strip_prefix("live\n").unwrap_or(&text).to_owned()
    };
    let opened = format!("evt.type = openat and fd.name = {path}");
    let default = live(&[&opened]);
    let lines: Vec<&str> = default.lines().collect();
    assert_eq!(lines.len(), 1, "{default}");
    assert!(
        lines[0].starts_with("1 ")
            && lines[0].contains(" cat(")
            && lines[0].contains(&format!(
                "openat(dirfd=AT_FDCWD, name={path}, flags=O_RDONLY"
            )),
        "{default}"
    );
    let printed = live(&[
        "-f",
        "evt.type = read",
        "-p",
        "%proc.name %evt.type %fd.name %evt.rawres",
        "fd.name",
        "=",
        path,
    ]);
    assert_eq!(
        printed.lines().next(),
        Some(format!("cat read {path} 5").as_str()),
        "{printed}"
    );
    let json = live(&["-j", &opened]);
    let event: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(event["evt.type"], "openat", "{json}");
    assert_eq!(event["fd.name"], path, "{json}");
    let refused = agent(&[
        "capture",
        "-o",
        dir.join("x.syscap").to_str().unwrap(),
        "-p",
        "%evt.type",
        "--",
        "true",
    ]);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(said.lines().count(), 1, "{said}");
    assert!(
        said.contains("-p and -j print events as they happen"),
        "{said}"
    );
}

/// Live output into a reader that stops (`| head -1`): the agent exits 0,
/// saying nothing of a broken pipe.
fn live_mode_exits_0_on_a_broken_pipe() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_syscap-agent"))
        .args(["capture"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(!line.is_empty());
    // The pipe is closed: the next events fail to print. Some process
    // of this busy host makes a call within the minute.
    let deadline = Instant::now() + Duration::from_mins(1);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("still running a minute after its output closed");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut said = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut said)
        .unwrap();
    assert!(status.success(), "{status}: {said}");
    assert!(!said.contains("pipe"), "{said}");
}

/// `-o -` writes the capture format to standard output: into a file the
/// shell opened it is a whole, valid capture; into a pipe, `syscap print -`
/// reads it as it comes.
fn output_dash_writes_a_valid_capture_to_stdout() {
    let dir = scratch("stdout");
    let path = dir.join("out.syscap");
    let file = std::fs::File::create(&path).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_syscap-agent"))
        .args(["capture", "-o", "-", "--", "cat", "/etc/hostname"])
        .stdout(file)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    let cap = Captured::read(&path);
    cap.find("cat's open", |r| {
        r.ty == "openat" && r.fd_name == "/etc/hostname"
    });
    let bytes = std::fs::metadata(&path).unwrap().len();
    assert!(
        said.contains(&format!(
            "written to standard output ({}",
            capture_agent_size(bytes)
        )),
        "{said}"
    );
    // And through a pipe into the inspector, which reads it from stdin.
    let syscap = s3_test_server::workspace_binary("syscap", "inspect-cli").unwrap();
    let piped = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "'{}' capture -o - -- cat /etc/hostname | '{}' print - -p '%proc.name %evt.type %fd.name' 'evt.type = openat and fd.name = /etc/hostname'",
            env!("CARGO_BIN_EXE_syscap-agent"),
            syscap.display()
        ))
        .stderr(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&piped.stdout),
        "cat openat /etc/hostname\n"
    );
}

/// Rotation as sysdig's: `-C 1` starts a new file past 10^6 bytes, named
/// OUTPUT0, OUTPUT1... (with `-W 2` the numbers wrap: only 0 and 1);
/// `-G 1` a new file every second, named by OUTPUT as a strftime format,
/// and `-W 2` keeps the last two. Each file is a whole capture (no
/// truncation, its own state and threads' CPU times), their windows follow
/// each other, and together they hold every event of the command.
fn rotation_by_size_and_by_time_writes_whole_captures() {
    let dir = scratch("rotation");
    let sized = dir.join("sized");
    std::fs::create_dir_all(&sized).unwrap();
    let template = sized.join("r.syscap");
    // Random bytes do not compress: 20 000 reads and writes of 256 bytes
    // kept whole are about 10 MB of capture.
    let out = agent(&[
        "capture",
        "-o",
        template.to_str().unwrap(),
        "-C",
        "1",
        "-W",
        "2",
        "--snaplen",
        "256",
        "--",
        "dd",
        "if=/dev/urandom",
        "of=/dev/null",
        "bs=256",
        "count=20000",
    ]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    let names = sorted_names(&sized);
    assert_eq!(names, ["r.syscap0", "r.syscap1"], "{said}");
    assert!(said.contains(" files ("), "{said}");
    for name in &names {
        let cap = Captured::read(&sized.join(name));
        assert!(cap.index.events > 0, "{name}");
        cap.find("dd's reads", |r| r.ty == "read" && r.comm == "dd");
        assert!(cap.index.window.is_some(), "{name}");
    }

    let timed = dir.join("timed");
    std::fs::create_dir_all(&timed).unwrap();
    let pattern = timed.join("t-%H%M%S.syscap");
    // Files rotate on the events' time, as sysdig's: an idle host (a CI
    // machine between two tests) could let a second pass without a call,
    // and its file would span two. A thread here makes a call every 20 ms.
    let calling = Arc::new(AtomicBool::new(true));
    let caller = {
        let calling = calling.clone();
        std::thread::spawn(move || {
            while calling.load(Ordering::Relaxed) {
                let _ = std::fs::metadata("/");
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let out = agent(&[
        "capture",
        "-o",
        pattern.to_str().unwrap(),
        "-G",
        "1",
        "-W",
        "2",
        "--duration",
        "3500ms",
    ]);
    calling.store(false, Ordering::Relaxed);
    caller.join().unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    // A file a second for 3.5 s (more or less on a busy host).
    let files: usize = said
        .split("written to ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{said}"));
    assert!((3..=5).contains(&files), "{said}");
    let used_cpu = threads_that_used_cpu();
    let names = sorted_names(&timed);
    assert_eq!(names.len(), 2, "the last two kept: {names:?}");
    let spans: Vec<(u64, u64)> = names
        .iter()
        .map(|name| {
            assert!(
                name.len() == "t-HHMMSS.syscap".len() && name.starts_with("t-"),
                "{name}"
            );
            let cap = Captured::read(&timed.join(name));
            // Each file starts with every thread's CPU time, from which
            // its next samples count.
            let sampled: std::collections::HashSet<i64> = cap
                .rows
                .iter()
                .filter(|r| r.ty == "procinfo")
                .map(|r| r.tid)
                .collect();
            assert!(
                sampled.len() * 2 >= used_cpu,
                "{name}: {} threads sampled, {used_cpu} used CPU",
                sampled.len()
            );
            cap.index.span()
        })
        .collect();
    assert_eq!(
        spans[0].1, spans[1].0,
        "one file's end is the next one's start"
    );
    let first = (spans[0].1 - spans[0].0) as f64 / 1e9;
    assert!((1.0..2.0).contains(&first), "{first} s");
}

/// Threads of the host that used any CPU so far (`/proc`).
fn threads_that_used_cpu() -> usize {
    let used = |stat: &str| {
        stat.rsplit_once(')').is_some_and(|(_, rest)| {
            rest.split_whitespace()
                .skip(11) // fields 3 to 13
                .take(2)
                .any(|ticks| ticks != "0")
        })
    };
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|p| std::fs::read_dir(p.path().join("task")).ok())
        .flat_map(Iterator::flatten)
        .filter(|t| std::fs::read_to_string(t.path().join("stat")).is_ok_and(|s| used(&s)))
        .count()
}

/// The names of the files in `dir`, sorted.
fn sorted_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// `n` bytes as the agent says them.
fn capture_agent_size(n: u64) -> String {
    if n < 1024 {
        format!("{n} B")
    } else if n < 1 << 20 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", n as f64 / f64::from(1 << 20))
    }
}

/// `--no-latency`: no entry program, every call recorded at its return
/// (time of the return, no latency), including the exec of the command
/// (named through `sched_process_exec`) and its `exit_group`, which never
/// returns (recorded when the thread exits).
fn no_latency_records_calls_at_their_return() {
    let dir = scratch("no-latency");
    let cmd = helper("block");
    let cmd: Vec<&str> = cmd.iter().map(String::as_str).collect();
    let (cap, out) = Captured::command(&dir, &["--no-latency"], &cmd);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let calls: Vec<_> = cap.rows.iter().filter(|r| r.returned).collect();
    assert!(calls.len() > 20, "{}", cap.listing());
    assert!(
        calls.iter().all(|r| !r.has_latency && r.latency == 0),
        "a call with a latency:\n{}",
        cap.listing()
    );
    let exec = cap.find("the exec of the helper", |r| r.ty == "execve" && r.ret == 0);
    assert!(exec.text.contains("helper"), "{exec}");
    // The read starts at once and waits ~150 ms for another thread's
    // write: stamped with its return, it is that long after the exec (its
    // entry would be a few ms after).
    let read = cap.find("the read that waits", |r| {
        matches!(r.ty.as_str(), "read" | "recvfrom") && r.ret == 1 && r.fd_kind == FdKind::Unix
    });
    let waited = read.ts.saturating_sub(exec.ts);
    assert!(waited >= 140_000_000, "{read}: {waited} ns after the exec");
    assert_eq!(read.bytes("data"), b"x", "{read}");
    let exit = cap.find("exit_group", |r| r.ty == "exit_group");
    assert!(!exit.returned, "{exit}");
    assert_eq!(exit.int("status"), 0, "{exit}");
    let procexit = cap.find("procexit", |r| r.ty == "procexit" && r.tid == exit.tid);
    assert!(procexit.ts >= exit.ts);
    // The inspector shows no latency (sysdig's `<0.000150>`) rather than 0.
    let printed = inspector(&["print", cap.path.to_str().unwrap(), "evt.type = read"]);
    assert!(printed.contains("read(fd="), "{printed}");
    assert!(!printed.contains(" <0."), "{printed}");
}

/// An exec by a thread that is not its process's main thread (which then
/// takes the main thread's tid) is recorded, with its result: the call's
/// entry is kept per task, not per tid.
fn exec_from_a_thread_is_recorded() {
    let dir = scratch("exec-thread");
    let (cap, _) = Captured::helper(&dir, "exec-from-thread", &[]);
    let exec = cap.find("the exec of /bin/true", |r| {
        r.ty == "execve" && r.returned && r.ret == 0 && r.text.contains("/bin/true")
    });
    assert_eq!(exec.comm, "true", "{exec}");
}

fn failed_open_is_enoent() {
    let dir = scratch("enoent");
    let missing = dir.join("does-not-exist");
    let (cap, out) = Captured::command(&dir, &[], &["/bin/cat", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let open = cap.find("failed openat", |r| {
        r.ty == "openat"
            && r.args
                .iter()
                .any(|(_, a)| *a == OwnedArg::Str(missing.to_str().unwrap().into()))
    });
    assert_eq!(open.ret, -2, "{open}");
    assert!(open.text.contains("ENOENT"), "{open}");
}

fn rename_and_unlink() {
    let dir = scratch("rename");
    let a = dir.join("a");
    let b = dir.join("b");
    let script = format!(
        "echo x > {a} && mv {a} {b} && rm {b}",
        a = a.display(),
        b = b.display()
    );
    let (cap, out) = Captured::command(&dir, &[], &["/bin/sh", "-c", &script]);
    assert!(out.status.success());
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let rename = cap.find("rename", |r| r.ty.starts_with("rename") && r.ret == 0);
    assert_eq!(rename.bytes("oldpath"), a.as_bytes(), "{rename}");
    assert_eq!(rename.bytes("newpath"), b.as_bytes(), "{rename}");
    let unlink = cap.find("unlink", |r| r.ty.starts_with("unlink") && r.ret == 0);
    let name = unlink.args.iter().find_map(|(n, a)| match a {
        OwnedArg::Str(s) if n == "name" || n == "path" => Some(s.clone()),
        _ => None,
    });
    assert_eq!(name.as_deref(), Some(b.as_bytes()), "{unlink}");
}

/// The main thread's syscalls, names and return values, as `strace -f`
/// records them for the same deterministic command.
///
/// Documented differences: syscap starts at the command's `execve` like
/// strace (the agent's own spawning before it is dropped here); addresses
/// returned by mmap/brk differ between runs (ASLR) and are compared as
/// "an address", and the process's own pid (`set_tid_address`) as "PID";
/// syscap names `pread64`/`pwrite64` `pread`/`pwrite` as sysdig does.
fn main_thread_matches_strace() {
    let dir = scratch("strace");
    let file = dir.join("input.txt");
    std::fs::write(&file, "some text\n").unwrap();
    let cmd = ["/bin/cat", file.to_str().unwrap()];
    let trace = dir.join("strace.txt");
    let status = Command::new("strace")
        .args(["-f", "-qq", "-o", trace.to_str().unwrap()])
        .args(cmd)
        .stdout(Stdio::null())
        .status()
        .expect("strace is installed (scripts/setup.sh)");
    assert!(status.success());
    let text = std::fs::read_to_string(&trace).unwrap();
    let strace: Vec<(String, String)> = text
        .lines()
        .filter_map(|line| {
            let (pid, line) = line.split_once(' ')?;
            let line = line.trim_start();
            let (name, _) = line.split_once('(')?;
            let mut ret = line.rsplit_once(" = ")?.1.split_whitespace();
            let value = ret.next()?;
            // `-1 ENOENT (No such file or directory)`: the kernel returned
            // the negative errno.
            let value = match (value, ret.next()) {
                ("-1", Some(errno)) => (1..4096)
                    .find(|&n| capture_format::event::errno_name(n) == Some(errno))
                    .map_or(value.to_owned(), |n| (-n).to_string()),
                _ => value.to_owned(),
            };
            let name = match name {
                "pread64" => "pread",
                "pwrite64" => "pwrite",
                other => other,
            };
            let value = if value == pid {
                "PID".to_owned()
            } else {
                value
            };
            Some((name.to_owned(), normalize_ret(name, &value)))
        })
        .collect();

    let (cap, _) = Captured::command(&dir, &[], &cmd);
    let start = cap
        .rows
        .iter()
        .position(|r| r.ty == "execve" && r.ret == 0)
        .expect("an execve");
    let main_tid = cap.rows[start].tid;
    let syscap: Vec<(String, String)> = cap.rows[start..]
        .iter()
        .filter(|r| r.tid == main_tid && EventType::from_name(&r.ty).is_some_and(|t| t.0 < 512))
        .map(|r| {
            let ret = match r.ret {
                _ if !r.returned => "?".into(),
                ret if ret == main_tid => "PID".into(),
                ret => ret.to_string(),
            };
            (r.ty.clone(), normalize_ret(&r.ty, &ret))
        })
        .collect();
    if syscap != strace {
        let mut diff = String::new();
        for i in 0..syscap.len().max(strace.len()) {
            let a = syscap
                .get(i)
                .map_or(String::new(), |(n, r)| format!("{n} = {r}"));
            let b = strace
                .get(i)
                .map_or(String::new(), |(n, r)| format!("{n} = {r}"));
            let mark = if a == b { ' ' } else { '!' };
            let _ = writeln!(diff, "{mark} {a:<40} {b}");
        }
        panic!("syscap (left) and strace (right) differ:\n{diff}");
    }
}

/// Return values comparable across runs: addresses become `ADDR`, and
/// strace's `-1 ENOENT` style becomes the negative errno.
fn normalize_ret(name: &str, ret: &str) -> String {
    if matches!(name, "mmap" | "brk") {
        return "ADDR".into();
    }
    if let Some(hex) = ret.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).map_or(ret.to_owned(), |v| v.to_string());
    }
    ret.to_owned()
}

fn fd_opened_before_the_capture_resolves() {
    let dir = scratch("state");
    let file = dir.join("opened-early.log");
    let cmd = helper("late-write");
    let mut child = Command::new(&cmd[0])
        .args(&cmd[1..])
        .arg(&file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");

    let capture = dir.join("capture.syscap");
    let pid = child.id().to_string();
    let agent = start_agent(&capture, &["--pid", &pid, "--duration", "3s"]);
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    assert!(child.wait().unwrap().success());
    agent.finish();

    let cap = Captured::read(&capture);
    let write = cap.find("the late write", |r| r.ty == "write" && r.ret == 11);
    assert_eq!(write.fd_name, file.to_str().unwrap(), "{write}");
    assert_eq!(write.fd_kind, FdKind::File);
    assert_eq!(write.bytes("data"), b"late write\n");
    assert!(
        write.comm.starts_with("kernel-"),
        "named from the /proc snapshot: {write}"
    );
}

fn drops_are_counted_and_recorded() {
    let dir = scratch("drops");
    // A one-page ring cannot hold a burst of 400k syscalls.
    let (cap, out) = Captured::command(
        &dir,
        &["--ring-size", "4KiB", "--snaplen", "0"],
        &[
            "/bin/dd",
            "if=/dev/zero",
            "of=/dev/null",
            "bs=1",
            "count=200000",
        ],
    );
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        cap.index.drops > 0,
        "expected drops with a 4 KiB ring: {stderr}"
    );
    assert!(stderr.contains("dropped"), "{stderr}");
    let recorded: i64 = cap
        .rows
        .iter()
        .filter(|r| r.ty == "drop")
        .map(|r| r.int("count"))
        .sum();
    assert_eq!(u64::try_from(recorded).unwrap(), cap.index.drops);
    // Nothing is lost silently: what was written plus what was dropped
    // covers every read and write dd made.
    // (Counted by type: with exec events lost the process may not be
    // known by its name.)
    let io = cap
        .rows
        .iter()
        .filter(|r| r.ty == "read" || r.ty == "write")
        .count();
    assert!(
        u64::try_from(io).unwrap() + cap.index.drops >= 400_000,
        "{io} reads/writes + {} drops < 400000",
        cap.index.drops
    );
}

fn exit_status_and_errors() {
    let dir = scratch("exit");
    let (_, out) = Captured::command(&dir, &[], &["/bin/sh", "-c", "exit 7"]);
    assert_eq!(out.status.code(), Some(7));

    let out = agent(&[
        "capture",
        "-o",
        "/nonexistent-dir/x.syscap",
        "--",
        "/bin/true",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("cannot write /nonexistent-dir/x.syscap"),
        "{err}"
    );

    let out = agent(&[
        "capture",
        "-o",
        dir.join("y").to_str().unwrap(),
        "--",
        "/nonexistent-program",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot run /nonexistent-program"), "{err}");
    assert!(!dir.join("y").exists(), "a failed start leaves no file");

    // Without privileges: one line that says what to do, and no file.
    // (In a directory anyone may write to, so that only the agent's own
    // check keeps the file from being created.)
    let open = dir.join("nobody");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let output = open.join("nobody.syscap");
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_syscap-agent"))
        .args(["capture", "-o", output.to_str().unwrap(), "--", "/bin/true"])
        .output()
        .expect("setpriv (util-linux) runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(
        err.trim_end(),
        "syscap-agent: permission denied loading eBPF programs: run as root (or with CAP_BPF and CAP_PERFMON)"
    );
    assert!(!output.exists());
}

fn syscall_and_comm_filters_run_in_the_kernel() {
    let dir = scratch("filters");
    let (cap, out) = Captured::command(
        &dir,
        &["--syscalls", "openat,close"],
        &["/bin/cat", "/etc/hostname"],
    );
    assert!(out.status.success());
    let types: std::collections::BTreeSet<&str> = cap.rows.iter().map(|r| r.ty.as_str()).collect();
    let expected: std::collections::BTreeSet<&str> = ["openat", "close", "procexec", "procexit"]
        .into_iter()
        .collect();
    assert!(
        types.is_subset(&expected) && types.contains("openat"),
        "{types:?}"
    );
    let header = capture_format::file::CaptureReader::open(std::fs::File::open(&cap.path).unwrap())
        .unwrap()
        .header()
        .clone();
    assert_eq!(header.filter, "evt.type in (openat, close)");

    // A whole-host capture of one comm sees only it.
    let capture = dir.join("comm.syscap");
    let agent = start_agent(&capture, &["--comm", "syscap-probe-me", "--duration", "2s"]);
    let marker = dir.join("syscap-probe-me");
    std::fs::copy("/bin/cat", &marker).unwrap();
    for _ in 0..3 {
        Command::new(&marker)
            .arg("/etc/hostname")
            .stdout(Stdio::null())
            .status()
            .unwrap();
        Command::new("/bin/cat")
            .arg("/etc/hostname")
            .stdout(Stdio::null())
            .status()
            .unwrap();
    }
    std::thread::sleep(Duration::from_millis(200));
    agent.finish();
    let cap = Captured::read(&capture);
    assert!(!cap.rows.is_empty());
    assert!(
        cap.rows.iter().all(|r| r.comm == "syscap-probe-me"),
        "{}",
        cap.listing()
    );
}

fn filter_keeps_matches_and_resolves_names() {
    let dir = scratch("filter");
    let keep = dir.join("keep.txt");
    let other = dir.join("other.txt");
    let script = format!(
        "echo hi > {}; echo yo > {}; cat /etc/hostname > /dev/null",
        keep.display(),
        other.display()
    );
    let (cap, out) = Captured::command(
        &dir,
        &["--filter", "evt.type = write and fd.name endswith keep.txt"],
        &["/bin/sh", "-c", &script],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The open that named the fd was not kept, yet the write resolves.
    assert_eq!(cap.rows.len(), 1, "{}", cap.listing());
    let write = &cap.rows[0];
    assert_eq!(write.ty, "write");
    assert_eq!(write.fd_name, keep.to_str().unwrap());
    assert_eq!(write.bytes("data"), b"hi\n");

    let out = agent(&[
        "capture",
        "-o",
        dir.join("bad").to_str().unwrap(),
        "--filter",
        "fd.nme = x",
        "--",
        "/bin/true",
    ]);
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown field 'fd.nme'") && err.contains("at 1:1"),
        "{err}"
    );
    assert!(err.contains("\n^^^^^^"), "the caret marks the field: {err}");
}

/// Reads and writes above 256 bytes of snaplen are not built in place in
/// the ring; the general path must keep the same data.
fn large_snaplen_takes_the_general_path() {
    let dir = scratch("snaplen");
    let file = dir.join("big.txt");
    let text = (0..60).fold(String::new(), |mut s, i| {
        let _ = writeln!(s, "line {i:04}");
        s
    });
    std::fs::write(&file, &text).unwrap();
    let path = file.to_str().unwrap();
    for (snaplen, kept) in [("1000", text.len()), ("80", 80), ("0", 0)] {
        let (cap, out) = Captured::command(&dir, &["--snaplen", snaplen], &["/bin/cat", path]);
        assert!(out.status.success());
        let read = cap.find("read of the file", |r| {
            r.ty == "read" && r.fd_name == path && r.ret > 0
        });
        assert_eq!(read.ret, i64::try_from(text.len()).unwrap());
        let data: &[u8] = match read.arg("data") {
            OwnedArg::Bytes(b) => b,
            OwnedArg::Absent => &[],
            other => panic!("data is {other:?}"),
        };
        assert_eq!(data, &text.as_bytes()[..kept], "snaplen {snaplen}");
    }
}

fn sigint_finishes_the_file() {
    let dir = scratch("sigint");
    let capture = dir.join("host.syscap");
    let agent = start_agent(&capture, &[]);
    Command::new("/bin/true").status().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: signalling a child we started.
    unsafe { libc::kill(i32::try_from(agent.id()).unwrap(), libc::SIGINT) };
    let started = Instant::now();
    let stderr = agent.finish();
    assert!(started.elapsed() < Duration::from_secs(3), "{stderr}");
    let cap = Captured::read(&capture);
    assert!(
        cap.rows
            .iter()
            .any(|r| r.ty == "execve" && r.comm == "true"),
        "{}",
        cap.listing()
    );
}

/// A capture holds what other users' programs read and wrote: its file is
/// the agent's alone (0600, a new file owned by root), even with umask 022
/// and a file another user made there before, which is replaced rather
/// than written into (its owner, or a descriptor it holds, would read the
/// capture). A symlink there is refused, its target untouched.
fn capture_files_are_private() {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
    let dir = scratch("private");
    let secret = dir.join("secret.txt");
    std::fs::write(&secret, "root's secret\n").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let fresh = dir.join("fresh.syscap");
    let planted = dir.join("planted.syscap");
    std::fs::write(&planted, "a file another user made\n").unwrap();
    std::os::unix::fs::chown(&planted, Some(65534), Some(65534)).unwrap();
    std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o644)).unwrap();
    // What another user would hold on the file it made.
    let mut held = std::fs::File::open(&planted).unwrap();
    for path in [&fresh, &planted] {
        let out = Command::new("sh")
            .arg("-c")
            .arg("umask 022; exec \"$0\" capture -o \"$1\" -- /bin/cat \"$2\"")
            .arg(env!("CARGO_BIN_EXE_syscap-agent"))
            .arg(path)
            .arg(&secret)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let meta = std::fs::metadata(path).unwrap();
        assert_eq!(
            (meta.mode() & 0o7777, meta.uid()),
            (0o600, 0),
            "{}",
            path.display()
        );
        let cap = Captured::read(path);
        cap.find("the read of the secret", |r| {
            r.ty == "read" && r.ret > 0 && r.bytes("data").starts_with(b"root's secret")
        });
    }
    let mut seen = String::new();
    held.read_to_string(&mut seen).unwrap();
    assert_eq!(
        seen, "a file another user made\n",
        "a new file, not the one another user made and holds"
    );
    let link = dir.join("link.syscap");
    std::os::unix::fs::symlink(&secret, &link).unwrap();
    let out = agent(&["capture", "-o", link.to_str().unwrap(), "--", "/bin/true"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("cannot write {}", link.display()))
            && err.contains("not a regular file"),
        "{err}"
    );
    assert_eq!(std::fs::read(&secret).unwrap(), b"root's secret\n");
}

/// A capture that fills its file system stops with one line naming the file
/// and the cause; the chunks written before stay readable.
fn full_disk_keeps_what_was_written() {
    let dir = scratch("full");
    let small = dir.join("small");
    let _mount = Tmpfs::mount(&small, "512k");
    let path = small.join("capture.syscap");
    let out = agent(&[
        "capture",
        "-o",
        path.to_str().unwrap(),
        "--",
        "/usr/bin/find",
        "/usr",
        "-xdev",
    ]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let reader = capture_format::file::CaptureReader::open(std::fs::File::open(&path).unwrap());
    assert_eq!(out.status.code(), Some(1), "{err}");
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.contains(&format!("cannot write {}", path.display()))
            && last.contains("No space left on device"),
        "{err}"
    );
    let reader = reader.expect("the cut capture opens");
    let truncation = reader.truncation().expect("it says it was cut");
    assert!(truncation.events > 0, "{truncation:?}");
}

/// The real `syscap` inspector over a capture of the real agent (the
/// workspace's tests build both binaries into the same directory).
fn inspector_reads_a_real_capture() {
    let dir = scratch("inspect");
    let file = dir.join("data.txt");
    std::fs::write(&file, "x".repeat(3000)).unwrap();
    let path = file.to_str().unwrap();
    let (cap, _) = Captured::command(&dir, &[], &["/bin/cat", path]);
    let capture = cap.path.to_str().unwrap();
    let run = inspector;
    let reads = run(&[
        "print",
        capture,
        "-p",
        "%proc.name %fd.name %evt.rawres",
        "evt.type = read and fd.name =",
        path,
    ]);
    assert_eq!(reads, format!("cat {path} 3000\ncat {path} 0\n"));
    let top = run(&["chisel", "topfiles_bytes", capture]);
    // 3000 bytes read; the copy to stdout goes to a pipe, not a file.
    assert!(
        top.lines()
            .any(|l| l.starts_with("2.93KB") && l.ends_with(path)),
        "{top}"
    );
    let summary = run(&["summary", capture, "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&summary).unwrap();
    let commands = doc["commands"].as_array().unwrap();
    assert!(
        commands
            .iter()
            .any(|c| c["name"] == format!("/bin/cat {path}")),
        "{summary}"
    );
}

/// Runs the inspector (`syscap`, built next to `syscap-agent`) with `args`;
/// panics with its error unless it succeeds.
fn inspector(args: &[&str]) -> String {
    let syscap = std::env::current_exe()
        .unwrap()
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("syscap"))
        .filter(|p| p.exists())
        .expect("the syscap binary next to syscap-agent (cargo test --workspace builds it)");
    let out = Command::new(&syscap).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `--pid` of a shell that already has a child running: the child is
/// traced too (from the snapshot's process tree), not only children forked
/// after the capture starts. The child waits on a FIFO the test opens once
/// the agent records, however long the agent takes to start.
fn pid_filter_covers_children_already_running() {
    let dir = scratch("pidtree");
    let gate = dir.join("gate");
    let path = std::ffi::CString::new(gate.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0, "mkfifo");
    // The inner shell, forked before the capture, waits in its open of the
    // FIFO; once the test opens it, it becomes sleep, which exits.
    let script = format!(
        "/bin/sh -c 'exec /bin/sleep 0 < {gate}'; /bin/cat /etc/hostname > /dev/null",
        gate = gate.display()
    );
    let mut shell = Command::new("/bin/sh")
        .args(["-c", &script])
        .spawn()
        .unwrap();
    let waiting = |pid: &str| {
        std::fs::read_to_string(format!("/proc/{pid}/wchan"))
            .is_ok_and(|w| w.contains("wait_for_partner") || w.contains("fifo"))
    };
    let children = format!("/proc/{0}/task/{0}/children", shell.id());
    let deadline = Instant::now() + Duration::from_mins(1);
    while !std::fs::read_to_string(&children)
        .is_ok_and(|c| c.split_whitespace().next().is_some_and(waiting))
    {
        assert!(
            Instant::now() < deadline,
            "the inner shell never opened the FIFO"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let capture = dir.join("capture.syscap");
    let agent = start_agent(
        &capture,
        &["--pid", &shell.id().to_string(), "--duration", "3s"],
    );
    std::fs::write(&gate, b"").unwrap();
    assert!(shell.wait().unwrap().success());
    agent.finish();
    let cap = Captured::read(&capture);
    // sleep was forked before the capture: its exit is recorded all the same.
    assert!(
        cap.rows
            .iter()
            .any(|r| r.comm == "sleep" && r.ty == "exit_group"),
        "{}",
        cap.listing()
    );
    // cat was forked during the capture: the kernel added it.
    assert!(
        cap.rows.iter().any(|r| r.comm == "cat" && r.ty == "openat"),
        "{}",
        cap.listing()
    );
    assert!(
        cap.rows
            .iter()
            .all(|r| ["sh", "sleep", "cat"].contains(&r.comm.as_str())),
        "{}",
        cap.listing()
    );
}
