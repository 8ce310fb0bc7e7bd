//! The real `syscap-agent` binary: synthetic captures and rule checks.

use std::process::Command;

fn agent(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_syscap-agent"))
        .args(args)
        .output()
        .expect("syscap-agent runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_rules_accepts_the_example_and_names_errors_by_line() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/rules.yaml");
    let (code, out, err) = agent(&["check-rules", example]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("shell-in-web-server: event 'proc.pname = nginx"),
        "{out}"
    );
    assert!(
        out.ends_with("8 rules, at most 3 captures at once\n"),
        "{out}"
    );
    assert!(
        out.contains(r#"on-high-errors: alert "HighErrorRate" namespace="shop" pod=~"web-.*" -> capture 30s before, 30s after, keep 'k8s.pod.name = ${alert.labels.pod}', cooldown 10m"#),
        "{out}"
    );

    let dir = std::env::temp_dir().join(format!("syscap-agent-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.yaml");
    std::fs::write(
        &bad,
        "rules:\n  - name: x\n    condition: {event: 'evt.tpye = open'}\n",
    )
    .unwrap();
    let (code, out, err) = agent(&["check-rules", bad.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(out.is_empty());
    assert_eq!(
        err.trim_end(),
        format!(
            "syscap-agent: {}:3:25: rule 'x': filter: unknown field 'evt.tpye' (did you mean evt.type?)",
            bad.display()
        )
    );
    // Every error, not just the first.
    std::fs::write(
        &bad,
        "rules:\n  - name: x\n    condition: {event: 'evt.tpye = open'}\n  - name: y\n    condition: {manual: maybe}\n",
    )
    .unwrap();
    let (code, out, err) = agent(&["check-rules", bad.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(out.is_empty());
    let lines: Vec<&str> = err.lines().collect();
    let file = bad.display();
    assert_eq!(lines.len(), 3, "{err}");
    assert!(
        lines[0].starts_with(&format!("syscap-agent: {file}:3:25: rule 'x': ")),
        "{err}"
    );
    assert!(
        lines[1].starts_with(&format!("syscap-agent: {file}:5:")),
        "{err}"
    );
    assert!(lines[1].contains("rule 'y': "), "{err}");
    assert_eq!(lines[2], format!("syscap-agent: 2 errors in {file}"));
    let (code, _, err) = agent(&["check-rules", "/nonexistent/rules.yaml"]);
    assert_ne!(code, 0);
    assert!(err.contains("cannot read /nonexistent/rules.yaml"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn synth_writes_a_capture_that_reads_back() {
    let dir = std::env::temp_dir().join(format!("syscap-agent-synth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("s.syscap");
    let (code, _, err) = agent(&["synth", "--events", "5000", "-o", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let reader = capture_format::CaptureReader::open(std::fs::File::open(&path).unwrap()).unwrap();
    assert_eq!(reader.index().events, 5000);
    assert!(reader.truncation().is_none());
    // Like every capture the agent writes: its own, whatever the umask.
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    let (code, _, err) = agent(&["synth", "-o", "/nonexistent/dir/x.syscap"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("cannot write /nonexistent/dir/x.syscap"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// `evt.deltatime` needs the previous event, which a capture filter and
/// `trigger --filter` do not have: refused before anything runs, with a
/// caret under the field.
#[test]
fn capture_filters_refuse_deltatime() {
    let out =
        std::env::temp_dir().join(format!("syscap-agent-delta-{}.syscap", std::process::id()));
    let out = out.to_str().unwrap();
    let socket =
        std::env::temp_dir().join(format!("syscap-agent-delta-{}.sock", std::process::id()));
    let socket = socket.to_str().unwrap();
    let cases: &[&[&str]] = &[
        &[
            "capture",
            "-o",
            out,
            "evt.type = read and evt.deltatime > 5",
        ],
        &["capture", "-o", out, "--filter", "evt.deltatime.s > 1"],
        &[
            "trigger",
            "--socket",
            socket,
            "--filter",
            "evt.deltatime.ns > 1",
            "r",
        ],
    ];
    for args in cases {
        let (code, stdout, err) = agent(args);
        assert_eq!(code, 1, "{args:?}: {stdout}{err}");
        assert!(
            err.contains("evt.deltatime needs the previous event"),
            "{args:?}: {err}"
        );
        assert!(!std::path::Path::new(out).exists(), "{args:?}");
    }
}

/// Output piped into a reader that stops early (`| head -1`) is not an
/// error: exit 0, no panic.
#[test]
fn a_closed_pipe_ends_listings_quietly() {
    use std::process::Stdio;
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/rules.yaml");
    for args in [&["check-rules", example][..], &["fields"][..]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_syscap-agent"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Close the reading end at once: every write fails with EPIPE.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?}: {err}");
    }
}

/// What `syscap-agent trigger` sends for `--before`/`--after`: a bare
/// number is seconds (as sysdig's `-M`), a unit says otherwise; anything
/// else is refused before the agent is asked.
#[test]
fn trigger_durations_are_seconds_unless_a_unit_says_otherwise() {
    use std::io::{BufRead as _, BufReader, Write as _};
    use std::os::unix::net::UnixListener;

    let dir = std::env::temp_dir().join(format!("syscap-agent-trigger-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let socket = dir.join("agent.sock");
    // (before, after, the milliseconds the agent is asked for)
    let cases = [
        ("30", "10", 30_000, 10_000),
        ("1.5", "0.25", 1_500, 250),
        ("30s", "2m", 30_000, 120_000),
        ("500ms", "1h", 500, 3_600_000),
    ];
    for (before, after, before_ms, after_ms) in cases {
        let _ = std::fs::remove_file(&socket);
        let listener = UnixListener::bind(&socket).unwrap();
        // A stand-in agent: reads the request, answers it.
        let agent = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut line = String::new();
            BufReader::new(&stream).read_line(&mut line).unwrap();
            (&stream)
                .write_all(b"{\"ok\":true,\"message\":\"capture started\"}\n")
                .unwrap();
            serde_json::from_str::<serde_json::Value>(&line).unwrap()
        });
        let (code, _, err) = agent_at(&socket, &["by-hand", "--before", before, "--after", after]);
        assert_eq!(code, 0, "--before {before} --after {after}: {err}");
        let request = agent.join().unwrap();
        assert_eq!(
            (request["before_ms"].as_u64(), request["after_ms"].as_u64()),
            (Some(before_ms), Some(after_ms)),
            "--before {before} --after {after}: {request}"
        );
    }
    let _ = std::fs::remove_file(&socket);
    for bad in ["30x", "-5", "", "s"] {
        let (code, _, err) = agent_at(&socket, &["by-hand", &format!("--before={bad}")]);
        assert_eq!(code, 2, "--before {bad:?}: {err}");
        assert!(
            err.contains(&format!("invalid value '{bad}' for '--before")),
            "--before {bad:?}: {err}"
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// `syscap-agent trigger ARGS --socket SOCKET`.
fn agent_at(socket: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["trigger"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--socket", socket.to_str().unwrap()]);
    agent(&all)
}
