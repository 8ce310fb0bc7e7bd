//! The real `syscap` binary on captures written by `syscap-agent synth`:
//! finished, cut short, and foreign files.

use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn syscap(args: &[&str]) -> (i32, String, String) {
    syscap_with(args, &[])
}

/// `syscap ARGS` with these environment variables: exit status, stdout,
/// stderr.
fn syscap_with(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    outcome(
        &Command::new(env!("CARGO_BIN_EXE_syscap"))
            .args(args)
            .envs(env.iter().copied())
            .output()
            .expect("syscap runs"),
    )
}

/// Exit code (-1 for a signal), stdout and stderr.
fn outcome(out: &std::process::Output) -> (i32, String, String) {
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A capture of the synthetic workload, written by the library.
fn capture(dir: &Path, events: usize) -> PathBuf {
    let path = dir.join(format!("synth-{events}.syscap"));
    write_with_library(&path, events);
    path
}

fn write_with_library(path: &Path, events: usize) {
    use capture_format::file::{CaptureHeader, WriterOptions};
    use capture_format::synth::{SynthOptions, generate};
    let w = generate(&SynthOptions {
        events,
        ..SynthOptions::default()
    });
    let header = CaptureHeader {
        hostname: "synthetic".into(),
        ..CaptureHeader::default()
    };
    let file = std::fs::File::create(path).unwrap();
    w.write_to(file, &header, WriterOptions::default()).unwrap();
}

/// A fresh directory of this test process: each call gets its own, so two
/// tests that pick the same name cannot remove each other's files.
fn tempdir(name: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("syscap-cli-{name}-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn info_reports_header_and_index_facts() {
    let dir = tempdir("info");
    let path = capture(&dir, 20_000);
    let (code, out, err) = syscap(&["info", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(err.is_empty(), "{err}");
    for want in [
        "host         synthetic",
        "events       20000",
        "drops        0",
        "top system calls",
        "top processes",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
    let (code, json, _) = syscap(&["info", "--json", path.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(json.contains("\"events\": 20000"), "{json}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// A capture's start, end and duration in `info` are its window (the
/// footer's), not its records' times: here one call that entered 10 s
/// before a 3 s window and returned inside it. `convert` to syscap keeps
/// the window.
#[test]
fn info_spans_the_window_and_convert_keeps_it() {
    use capture_format::event::{EventType, Record};
    use capture_format::file::{CaptureHeader, Window, Writer, WriterOptions};
    use capture_format::state::Tracker;
    const S: u64 = 1_000_000_000;
    let t0 = 1_796_688_000 * S;
    let dir = tempdir("window");
    let path = dir.join("window.syscap");
    let header = CaptureHeader {
        start_ts: t0,
        ..CaptureHeader::default()
    };
    let mut writer = Writer::new(
        std::fs::File::create(&path).unwrap(),
        &header,
        WriterOptions::default(),
    )
    .unwrap();
    let futex = Record {
        ty: EventType(202),
        ts: t0 - 10 * S,
        latency: 11 * S,
        tid: 7,
        pid: 7,
        ..Record::default()
    };
    writer.write(&futex, &Tracker::new().unresolved()).unwrap();
    writer.set_window(Window {
        start: t0,
        end: t0 + 3 * S,
    });
    writer.finish().unwrap();
    let converted = dir.join("converted.syscap");
    let (code, _, err) = syscap(&[
        "convert",
        path.to_str().unwrap(),
        converted.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    for file in [&path, &converted] {
        let (code, json, err) = syscap(&["info", "--json", file.to_str().unwrap()]);
        assert_eq!(code, 0, "{err}");
        let info: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(info["start"], "2026-12-08T00:00:00.000000000Z", "{json}");
        assert_eq!(info["end"], "2026-12-08T00:00:03.000000000Z", "{json}");
        assert_eq!(info["duration_s"], 3.0, "{json}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_cut_capture_reports_what_was_recovered() {
    let dir = tempdir("cut");
    let path = capture(&dir, 200_000);
    let bytes = std::fs::read(&path).unwrap();
    let cut = dir.join("cut.syscap");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let (code, out, err) = syscap(&["info", cut.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.starts_with(&format!(
            "syscap: warning: {}: truncated at byte ",
            cut.display()
        )),
        "{err}"
    );
    assert!(
        err.contains("events recovered (the file ends inside a chunk block"),
        "{err}"
    );
    assert!(out.contains("truncated    truncated at byte"), "{out}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn foreign_files_and_bad_arguments_get_one_line_and_exit_2() {
    let (code, _, err) = syscap(&["info", "/etc/passwd"]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("syscap: /etc/passwd: not a syscap capture"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let (code, _, err) = syscap(&["info", "/nonexistent.syscap"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot open /nonexistent.syscap"), "{err}");
    let (code, _, _) = syscap(&["info"]);
    assert_eq!(code, 2);
    let (code, _, _) = syscap(&["frobnicate"]);
    assert_eq!(code, 2);
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    exits_quietly_when_the_pipe_closes(&["fields"]);
}

/// Runs `syscap ARGS`, reads a little of its output, then closes the pipe
/// as `| head` does: it must exit 0 without a word.
fn exits_quietly_when_the_pipe_closes(args: &[&str]) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_syscap"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut some = [0u8; 64];
    stdout.read_exact(&mut some).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Compares `actual` with `tests/golden/NAME`; `SYSCAP_BLESS=1` rewrites
/// the file (then review the diff by hand). A mismatch shows the lines
/// that differ.
fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("SYSCAP_BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (SYSCAP_BLESS=1 writes it)", path.display()));
    if expected != actual {
        let mut diff = String::new();
        let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
        for i in 0..e.len().max(a.len()) {
            let (x, y) = (e.get(i).copied(), a.get(i).copied());
            if x != y {
                let _ = writeln!(
                    diff,
                    "line {}:\n  - {}\n  + {}",
                    i + 1,
                    x.unwrap_or("<none>"),
                    y.unwrap_or("<none>")
                );
            }
        }
        panic!("{} differs (- expected, + actual):\n{diff}", path.display());
    }
}

#[test]
fn print_default_format_and_json_match_the_golden_files() {
    let dir = tempdir("print-golden");
    let path = capture(&dir, 40);
    let path = path.to_str().unwrap();
    let (code, out, err) = syscap(&["print", path, "-n", "12"]);
    assert_eq!(code, 0, "{err}");
    golden("print-default.txt", &out);
    let (code, out, err) = syscap(&[
        "print",
        path,
        "-p",
        "%evt.num %proc.name(%thread.tid) %evt.type %fd.name %evt.res %evt.latency",
        "evt.type",
        "in",
        "(read,",
        "write,",
        "openat)",
    ]);
    assert_eq!(code, 0, "{err}");
    golden("print-format.txt", &out);
    let (code, out, err) = syscap(&["print", path, "--json", "-n", "3"]);
    assert_eq!(code, 0, "{err}");
    for line in out.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v["evt.type"].is_string() && v["evt.num"].is_u64(), "{line}");
    }
    golden("print-json.txt", &out);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn print_filters_windows_and_limits() {
    let dir = tempdir("print-window");
    let path = capture(&dir, 20_000);
    let path = path.to_str().unwrap();
    let count = |args: &[&str]| {
        let mut all = vec!["print", path, "-p", "%evt.num"];
        all.extend_from_slice(args);
        let (code, out, err) = syscap(&all);
        assert_eq!(code, 0, "{err}");
        out.lines().count()
    };
    let all = count(&[]);
    assert_eq!(all, 20_000);
    let failed = count(&["evt.failed", "=", "true"]);
    assert!(failed > 0 && failed < all);
    let not_failed = count(&["not", "evt.failed", "=", "true"]);
    assert_eq!(failed + not_failed, all);
    assert_eq!(count(&["-n", "7"]), 7);
    // A window from the start to a point inside the capture holds part of it.
    let early = count(&["--until", "+5ms"]);
    let late = count(&["--since", "+5ms"]);
    assert!(early > 0 && late > 0, "{early} {late}");
    assert!(early + late >= all, "every event is before or after +5ms");
    // Nothing matching is exit 1, as grep.
    let (code, out, err) = syscap(&["print", path, "--since", "+1h"]);
    assert_eq!((code, out.as_str(), err.as_str()), (1, "", ""));
    let (code, _, _) = syscap(&["print", path, "proc.name", "=", "nosuchprocess"]);
    assert_eq!(code, 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn print_rejects_bad_filters_formats_and_times_with_exit_2() {
    let dir = tempdir("print-bad");
    let path = capture(&dir, 100);
    let path = path.to_str().unwrap();
    let (code, _, err) = syscap(&["print", path, "proc.nme", "=", "x"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("unknown field 'proc.nme'") && err.contains("\n^^^^^^^^"),
        "{err}"
    );
    let (code, _, err) = syscap(&["print", path, "-p", "%evt.num %nope"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("-p format") && err.contains("column 11"),
        "{err}"
    );
    let (code, _, err) = syscap(&["print", path, "--since", "yesterday"]);
    assert_eq!(code, 2);
    assert!(err.contains("\"yesterday\" is not a time"), "{err}");
    let (code, _, err) = syscap(&["print", "/nonexistent.syscap"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("/nonexistent.syscap: no such capture file"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn print_into_a_closed_pipe_exits_quietly() {
    let dir = tempdir("print-pipe");
    let path = capture(&dir, 50_000);
    exits_quietly_when_the_pipe_closes(&["print", path.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn convert_writes_json_lines() {
    let dir = tempdir("convert");
    let path = capture(&dir, 500);
    let json = dir.join("out.jsonl");
    let (code, _, err) = syscap(&["convert", path.to_str().unwrap(), json.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&json).unwrap();
    assert_eq!(text.lines().count(), 500);
    for line in text.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn chisels_match_the_golden_files() {
    let dir = tempdir("chisels");
    let path = capture(&dir, 5_000);
    let path = path.to_str().unwrap();
    let mut all = String::new();
    for args in [
        vec!["topfiles_bytes", path],
        vec!["topfiles_time", path],
        vec!["topprocs_file", path],
        vec!["topprocs_net", path],
        vec!["topprocs_errors", path],
        vec!["topconns", path],
        vec!["topscalls", path],
        vec!["topscalls_time", path],
        vec!["fdbytes_by", path, "fd.directory"],
        vec!["fdtime_by", path, "proc.name"],
        vec!["scallslower", path, "5"],
        vec!["fdcount_by", path, "proc.name"],
        vec!["proc_exec_time", path],
        vec!["spy_users", path],
        vec!["list_login_shells", path],
        vec!["ps", path],
        vec!["lsof", path],
        vec!["netstat", path],
    ] {
        let mut cmd = vec!["chisel"];
        cmd.extend_from_slice(&args);
        let (code, out, err) = syscap(&cmd);
        assert_eq!(code, 0, "{args:?}: {err}");
        let _ = writeln!(
            all,
            "$ syscap chisel {}\n{out}",
            args.join(" ").replace(path, "CAPTURE")
        );
    }
    golden("chisels.txt", &all);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn chisel_json_list_and_errors() {
    let dir = tempdir("chisel-errors");
    let path = capture(&dir, 1_000);
    let path = path.to_str().unwrap();
    let (code, out, err) = syscap(&["chisel", "topprocs_file", path, "--json"]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert!(
        !rows.is_empty() && rows[0]["Bytes"].is_u64() && rows[0]["Process"].is_string(),
        "{out}"
    );
    let (code, out, _) = syscap(&["chisel", "--list"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("fdbytes_by FIELD") && out.contains("topfiles_bytes"),
        "{out}"
    );
    // A user filter narrows what the chisel sees.
    let (_, all, _) = syscap(&["chisel", "topscalls", path]);
    let (_, only, _) = syscap(&["chisel", "topscalls", path, "--filter", "evt.type = close"]);
    assert!(
        all.lines().count() > 4 && only.lines().count() == 3,
        "{only}"
    );
    for (args, want) in [
        (vec!["chisel", "nope", path], "no chisel named 'nope'"),
        (
            vec!["chisel", "fdbytes_by", path],
            "chisel fdbytes_by: takes 1 argument (field), got 0",
        ),
        (
            vec!["chisel", "fdbytes_by", path, "proc.nme"],
            "unknown field 'proc.nme'",
        ),
        (
            vec!["chisel", "fileslower", path, "ten"],
            "\"ten\" is not a whole number",
        ),
        (
            vec!["chisel", "topscalls", "/nonexistent"],
            "/nonexistent: no such capture file",
        ),
        (
            vec!["chisel", "spy_port", path],
            "chisel spy_port: takes 1 to 2 arguments (host_port, [disable_colors]), got 0",
        ),
        (
            vec!["chisel", "spy_port", path, "http"],
            "\"http\" is not a port number",
        ),
        (
            vec!["chisel", "spy_ip", path, "10.0.0.300"],
            "\"10.0.0.300\" is not an IP address",
        ),
        (
            vec!["chisel", "spy_file", path, "X"],
            "read_or_write is R, W or RW",
        ),
        (
            vec!["chisel", "httptop", path, "latency"],
            "by is ncalls, time or bytes",
        ),
    ] {
        let (code, _, err) = syscap(&args);
        assert_eq!(code, 2, "{args:?}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn summary_matches_the_golden_file_and_json_has_every_section() {
    let dir = tempdir("summary");
    let path = capture(&dir, 5_000);
    let path = path.to_str().unwrap();
    let (code, out, err) = syscap(&["summary", path]);
    assert_eq!(code, 0, "{err}");
    golden("summary.txt", &out);
    let (code, out, err) = syscap(&["summary", path, "--json", "proc.name", "=", "nginx"]);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    for section in [
        "syscalls",
        "processes",
        "files_io",
        "connection_bytes",
        "errors",
        "timeline",
    ] {
        assert!(doc[section].is_array(), "{section}: {out}");
    }
    let procs = doc["processes"].as_array().unwrap();
    assert!(procs.iter().all(|p| p["name"] == "nginx"), "{out}");
    assert_eq!(
        doc["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_u64().unwrap())
            .sum::<u64>(),
        doc["events"].as_u64().unwrap()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn around_exports_the_events_near_each_match_to_a_new_capture() {
    let dir = tempdir("around");
    let path = capture(&dir, 20_000);
    let out_path = dir.join("around.syscap");
    let (p, o) = (path.to_str().unwrap(), out_path.to_str().unwrap());
    let (code, out, err) = syscap(&[
        "chisel",
        "around",
        p,
        "1",
        o,
        "--filter",
        "evt.type = execve",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("events around") && out.contains(o), "{out}");
    let count = |args: &[&str]| {
        let mut all = vec!["print"];
        all.extend_from_slice(args);
        let (code, out, err) = syscap(&all);
        assert_eq!(code, 0, "{err}");
        out.lines().count()
    };
    let exported = count(&[o, "-p", "%evt.num"]);
    assert!(exported > 0 && exported < 20_000, "{exported}");
    // Every match is in the copy, with its process resolved.
    assert_eq!(
        count(&[o, "evt.type", "=", "execve"]),
        count(&[p, "evt.type", "=", "execve"])
    );
    let (_, names, _) = syscap(&["print", o, "-p", "%proc.name", "evt.type", "=", "execve"]);
    assert!(
        names.lines().all(|n| n != "<NA>" && !n.is_empty()),
        "{names}"
    );
    let (code, _, err) = syscap(&["chisel", "around", p, "1", o]);
    assert_eq!(code, 2);
    assert!(err.contains("--filter"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The sample `.scap` captures of sysdig/libs: the directory `SCAP_SAMPLES`
/// names, else `target/scap-public` in the repository, which
/// `scripts/setup.sh test` fills (libs' test captures from Debian's source
/// package, and the pcapng-commented copy of one of them). Missing samples
/// fail the test: they are part of the test environment, not optional.
fn scap_samples() -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("inspect-cli is inside the repository");
    let dir = std::env::var_os("SCAP_SAMPLES")
        .map_or_else(|| repo.join("target/scap-public"), PathBuf::from);
    for sample in ["curl_google", "curl_google_comments", "test_ipv6_client"] {
        assert!(
            dir.join(sample).with_extension("scap").is_file(),
            "sample capture {sample}.scap not found in {}: run scripts/setup.sh test \
             (it fetches and writes them), or set SCAP_SAMPLES to their directory",
            dir.display(),
        );
    }
    dir
}

/// sysdig's output for `args` (Debian's sysdig 0.29.3, the reference the
/// sysdig comparisons run); a sysdig that cannot run fails the test.
fn sysdig(args: &[&str]) -> String {
    let out = Command::new("sysdig")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("sysdig does not run ({e}): scripts/setup.sh installs Debian's sysdig 0.29.3")
        });
    assert!(
        out.status.success(),
        "sysdig {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Needs the sample `.scap` captures ([`scap_samples`]).
#[test]
fn scap_files_read_everywhere_a_capture_is_accepted() {
    let samples = scap_samples();
    let curl = samples.join("curl_google.scap");
    let curl = curl.to_str().unwrap();
    let format = "*%evt.num %evt.type %thread.tid %proc.name %fd.name %evt.res";

    let (code, direct, err) = syscap(&["print", curl, "-p", format]);
    assert_eq!(code, 0, "{err}");
    assert!(err.is_empty(), "{err}");
    // 942 calls and events, the procfork and threadinfo of curl first seen
    // at its exec, and those of its thread, made by the parent's clone
    // exit (which came first) from what that exit says.
    assert_eq!(direct.lines().count(), 945, "records of 1536 events");
    assert!(
        direct.contains("connect 17497 curl 2600:1f18:262c:6542:9aa6:df7a:9a47:d29e:37140->2607:f8b0:4004:802::2004:80 EINPROGRESS"),
        "{direct}"
    );

    // The editcap'd copy (pcapng options sysdig cannot read) reads the same.
    let comments = samples.join("curl_google_comments.scap");
    let (code, same, err) = syscap(&["print", comments.to_str().unwrap(), "-p", format]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(same, direct);

    // Converted to syscap's format: the same events, a quarter of the size.
    let dir = tempdir("scap");
    let out = dir.join("curl.syscap");
    let (code, said, err) = syscap(&["convert", curl, out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(said.contains("1536 events, 945 records"), "{said}");
    let (_, converted, _) = syscap(&["print", out.to_str().unwrap(), "-p", format]);
    assert_eq!(converted, direct);
    let size = std::fs::metadata(&out).unwrap().len();
    assert!(
        size < std::fs::metadata(samples.join("curl_google.scap"))
            .unwrap()
            .len(),
        "{size}"
    );

    // Read as it is imported (only the filtered types decoded), a .scap
    // file gives what its converted copy gives.
    for (chisel, filter) in [
        ("topfiles_bytes", None),
        ("topconns", None),
        (
            "fdbytes_by",
            Some("proc.name = curl and evt.type in (read, write, recvfrom)"),
        ),
    ] {
        let run = |capture: &str| {
            let mut args = vec!["chisel", "--rows", "0", chisel, capture];
            if chisel == "fdbytes_by" {
                args.push("fd.name");
            }
            if let Some(f) = filter {
                args.extend(["--filter", f]);
            }
            let (code, out, err) = syscap(&args);
            assert_eq!(code, 0, "{err}");
            out
        };
        assert_eq!(run(curl), run(out.to_str().unwrap()), "{chisel}");
    }

    // info, summary and chisels take .scap files too.
    let (code, info, _) = syscap(&["info", curl]);
    assert_eq!(code, 0);
    assert!(info.contains("host         ip-10-0-0-79"), "{info}");
    let (code, top, _) = syscap(&["chisel", "topprocs_net", curl]);
    assert_eq!(code, 0);
    assert!(
        top.contains("11.40KB             curl                17497"),
        "{top}"
    );
    let (code, summary, _) = syscap(&["summary", curl]);
    assert_eq!(code, 0);
    assert!(summary.contains("curl"), "{summary}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// Needs the sample `.scap` captures ([`scap_samples`]).
#[test]
fn a_cut_or_foreign_scap_file_gets_one_line() {
    let samples = scap_samples();
    let dir = tempdir("scap-cut");
    // The sample is gzip'd: cut the raw stream inside an event block.
    let mut raw = Vec::new();
    flate2::read::MultiGzDecoder::new(
        std::fs::File::open(samples.join("test_ipv6_client.scap")).unwrap(),
    )
    .read_to_end(&mut raw)
    .unwrap();
    let cut = dir.join("cut.scap");
    std::fs::write(&cut, &raw[..raw.len() - 100]).unwrap();
    let (code, out, err) = syscap(&["print", cut.to_str().unwrap(), "evt.type = sendto"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.lines().count() >= 3, "{out}");
    let warning: Vec<&str> = err.lines().collect();
    assert_eq!(warning.len(), 1, "{err}");
    assert!(
        warning[0].contains("cut.scap: truncated at byte ")
            && warning[0].contains("events before it were read"),
        "{err}"
    );

    // A file that starts like a .scap and then is garbage.
    let bad = dir.join("bad.scap");
    std::fs::write(
        &bad,
        [&[0x0A, 0x0D, 0x0D, 0x0A, 28, 0, 0, 0][..], &[0xEE; 24]].concat(),
    )
    .unwrap();
    let (code, _, err) = syscap(&["print", bad.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("bad.scap: block at byte 0: trailer length"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// A capture whose state describes container `shop-web` (pod `web-7d9` in
/// namespace `shop`, process `web`) beside a host process `cron`: two
/// failed opens in the container, one on the host, and `procinfo` events.
fn write_container_capture(path: &Path) {
    use capture_format::event::{EventType, OwnedArg, OwnedRecord};
    use capture_format::file::{CaptureHeader, WriterOptions};
    use capture_format::state::{ContainerInfo, ProcessInfo, Snapshot, ThreadInfo};
    use capture_format::synth::Workload;

    let process = |pid: i64, container: &str| ProcessInfo {
        pid,
        container_id: container.as_bytes().to_vec(),
        ..ProcessInfo::default()
    };
    let thread = |pid: i64, comm: &str| ThreadInfo {
        tid: pid,
        pid,
        comm: comm.as_bytes().to_vec(),
        ..ThreadInfo::default()
    };
    let snapshot = Snapshot {
        processes: vec![process(10, "aaaaaaaaaaaa"), process(20, "")],
        threads: vec![thread(10, "web"), thread(20, "cron")],
        containers: vec![ContainerInfo {
            id: b"aaaaaaaaaaaa".to_vec(),
            name: b"shop-web".to_vec(),
            kind: b"containerd".to_vec(),
            labels: b"io.kubernetes.pod.name=web-7d9\0io.kubernetes.pod.namespace=shop\0".to_vec(),
            ..ContainerInfo::default()
        }],
        ..Snapshot::default()
    };
    let failed_open = |pid: i64, ts: u64| OwnedRecord {
        ty: EventType::from_name("openat").unwrap(),
        ts,
        tid: pid,
        pid,
        ret: -2,
        args: vec![
            OwnedArg::Int(-100),
            OwnedArg::Str(b"/nope".to_vec()),
            OwnedArg::Int(0),
            OwnedArg::Int(0),
        ],
        ..OwnedRecord::default()
    };
    // CPU jiffies (user, system) the kernel reported, once a second.
    let procinfo = |tid: i64, ts: u64, usr: i64, sys: i64| OwnedRecord {
        ty: EventType::PROC_INFO,
        ts,
        tid,
        pid: tid,
        args: vec![OwnedArg::Int(usr), OwnedArg::Int(sys)],
        ..OwnedRecord::default()
    };
    let second = 1_000_000_000;
    let records = vec![
        failed_open(10, 1),
        failed_open(10, 2),
        failed_open(20, 3),
        procinfo(10, second, 5, 5),
        procinfo(20, second, 0, 0),
        procinfo(99, second, 10, 0),
        procinfo(10, 2 * second, 30, 10),
        procinfo(20, 2 * second, 40, 10),
        procinfo(99, 2 * second, 90, 0),
        procinfo(20, 3 * second, 45, 15),
    ];
    let (bytes, _) = Workload { snapshot, records }
        .write_to(
            Vec::new(),
            &CaptureHeader::default(),
            WriterOptions::default(),
        )
        .unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// Containers and pods: the container chisels and fields over a capture
/// whose state describes a container (as a converted `.scap` with container
/// events does).
#[test]
fn container_chisels_and_fields() {
    let dir = tempdir("containers");
    let path = dir.join("containers.syscap");
    write_container_capture(&path);
    let path = path.to_str().unwrap();

    let (code, out, err) = syscap(&["chisel", "topcontainers_error", path]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.lines().map(str::trim_end).collect::<Vec<_>>(),
        [
            "#Errors             container.name",
            "--------------------------------------------------------------------------------",
            "2                   shop-web",
        ]
    );
    // sysdig's thread.cpu: the jiffies since the thread's last procinfo (a
    // total of 0 before counts as none; a thread the capture never
    // described is not counted), as a share of the 3 s the events span.
    let (code, out, err) = syscap(&["chisel", "topcontainers_cpu", path]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.lines().map(str::trim_end).collect::<Vec<_>>(),
        [
            "CPU%                container.name",
            "--------------------------------------------------------------------------------",
            "10.00%              shop-web",
            "3.33%               host",
        ]
    );
    let (code, out, err) = syscap(&[
        "print",
        path,
        "-p",
        "%proc.name %container.name %container.type %k8s.ns.name %k8s.pod.name",
        "k8s.ns.name = shop and evt.type = openat",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "web shop-web containerd shop web-7d9\n".repeat(2));
    let (_, out, _) = syscap(&[
        "print",
        path,
        "-p",
        "*%proc.name %container.name %k8s.pod.name",
        "proc.name = cron and evt.type = openat",
    ]);
    assert_eq!(out, "cron host <NA>\n");
    let (code, out, err) = syscap(&["summary", "--by", "k8s", path]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "NAMESPACE / POD / CONTAINER                           CALLS   ERRORS      BYTES  CONNS
host                                                      1        1         0B      0
shop                                                      2        2         0B      0
  web-7d9                                                 2        2         0B      0
    shop-web                                              2        2         0B      0
"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The state of a capture whose names are hostile: ESC sequences,
/// carriage returns and newlines in a process's comm, exe, arguments,
/// working directory and user, a file name, a container's name and its
/// pod's labels.
fn hostile_snapshot() -> capture_format::state::Snapshot {
    use capture_format::state::{ContainerInfo, FdInfo, FdKind, ProcessInfo, Snapshot, ThreadInfo};
    Snapshot {
        processes: vec![
            ProcessInfo {
                pid: 1,
                exe: b"bash".to_vec(),
                user: b"root".to_vec(),
                ..ProcessInfo::default()
            },
            ProcessInfo {
                pid: 10,
                ppid: 1,
                exe: b"ev\x1b[31mil".to_vec(),
                exepath: b"/tmp/\x1b]0;pwned\x07x".to_vec(),
                args: b"-c\0echo\nFAKE line\0".to_vec(),
                cwd: b"/tmp/\rcwd".to_vec(),
                user: b"r\x1b[8moot".to_vec(),
                container_id: b"bbbbbbbbbbbb".to_vec(),
                ..ProcessInfo::default()
            },
        ],
        threads: vec![
            ThreadInfo {
                tid: 1,
                pid: 1,
                comm: b"bash".to_vec(),
                ..ThreadInfo::default()
            },
            ThreadInfo {
                tid: 10,
                pid: 10,
                comm: b"ev\x1b[2Jil\r".to_vec(),
                ..ThreadInfo::default()
            },
        ],
        fds: vec![FdInfo {
            pid: 10,
            fd: 3,
            kind: FdKind::File,
            name: b"/etc/\x1b[2Jpasswd".to_vec(),
            ..FdInfo::default()
        }],
        containers: vec![ContainerInfo {
            id: b"bbbbbbbbbbbb".to_vec(),
            name: b"\x1b[31mred\ncontainer".to_vec(),
            kind: b"containerd".to_vec(),
            labels: b"io.kubernetes.pod.name=pod\rFAKE\0io.kubernetes.pod.namespace=ns\x1b[0m\0"
                .to_vec(),
            ..ContainerInfo::default()
        }],
        ..Snapshot::default()
    }
}

/// A capture of [`hostile_snapshot`]'s process opening, reading, writing,
/// executing and changing directory with hostile names, with ESC, CR and
/// newline in the host and rule names, the filter and a tag.
fn write_hostile_capture(path: &Path) {
    use capture_format::event::{EventType, OwnedArg, OwnedRecord};
    use capture_format::file::{CaptureHeader, TriggerInfo, WriterOptions};
    use capture_format::synth::Workload;

    let snapshot = hostile_snapshot();
    let call = |ts: u64, name: &str, ret: i64, args: Vec<OwnedArg>| OwnedRecord {
        ty: EventType::from_name(name).unwrap(),
        ts,
        latency: 1000,
        tid: 10,
        pid: 10,
        ret,
        args,
        ..OwnedRecord::default()
    };
    let (int, text) = (OwnedArg::Int, |s: &[u8]| OwnedArg::Str(s.to_vec()));
    let data = |s: &[u8]| OwnedArg::Bytes(s.to_vec());
    let records = vec![
        call(
            1_000,
            "openat",
            4,
            vec![
                int(-100),
                text(b"/tmp/a\rFAKE\nsyscap: injected"),
                int(0),
                int(0),
            ],
        ),
        call(
            2_000,
            "read",
            12,
            vec![int(4), int(12), data(b"\x1b[2J hi\r\n")],
        ),
        call(3_000, "write", 5, vec![int(3), int(5), data(b"x\x1bq\ny")]),
        call(
            4_000,
            "execve",
            0,
            vec![text(b"/tmp/\x1b]0;pwned\x07x"), text(b"x\0-e\0\x1b[31m\0")],
        ),
        call(5_000, "chdir", 0, vec![text(b"/\x1b[1mhome")]),
    ];
    let header = CaptureHeader {
        hostname: "host\x1b[5m".into(),
        trigger: Some(TriggerInfo {
            rule: "rule\rFAKE".into(),
            ts: 1_000,
            reason: "why\nFAKE".into(),
        }),
        filter: "proc.name = \"\x1b\"".into(),
        tags: vec![("team".into(), "a\x1b[2Jb".into())],
        ..CaptureHeader::default()
    };
    let (bytes, _) = Workload { snapshot, records }
        .write_to(Vec::new(), &header, WriterOptions::default())
        .unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// What a person reads must hold no control character but the newline
/// ending each line and the tabs some chisels separate columns with, and
/// no line forged by a name.
fn assert_shown_safely(what: &str, text: &str) {
    assert!(
        !text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t'),
        "{what}: a control character reached the output:\n{text:?}"
    );
    assert!(
        text.lines()
            .all(|l| !l.starts_with("FAKE") && !l.starts_with("syscap: injected")),
        "{what}: a name forged a line:\n{text}"
    );
}

/// Names from a capture never reach the terminal raw: every text output
/// (print's default line and `-p` fields, info, summary, the k8s summary,
/// chisels, warnings and errors) writes their control characters as
/// visible escapes; JSON keeps them exact.
#[test]
fn hostile_names_are_escaped_in_every_text_output() {
    let dir = tempdir("hostile");
    let capture = dir.join("hostile.syscap");
    write_hostile_capture(&capture);
    let path = capture.to_str().unwrap();
    let fields = "%proc.name %proc.exe %proc.exepath %proc.args %proc.cwd %user.name \
        %fd.name %container.name %k8s.pod.name %k8s.ns.name %evt.args";
    let runs: Vec<Vec<&str>> = vec![
        vec!["info", path],
        vec!["print", path],
        vec!["print", path, "-p", fields],
        vec!["summary", path],
        vec!["summary", "--by", "k8s", path],
        vec!["chisel", "topfiles_bytes", path],
        vec!["chisel", "topprocs_file", path],
        vec!["chisel", "topcontainers_file", path],
        vec!["chisel", "fdbytes_by", path, "proc.exepath"],
        vec!["chisel", "fdcount_by", path, "fd.name"],
        vec!["chisel", "echo_fds", path],
        vec!["chisel", "scallslower", path, "0"],
        vec!["chisel", "fileslower", path, "0"],
        vec!["chisel", "proc_exec_time", path],
        vec!["chisel", "spy_users", path],
        vec!["chisel", "ps", path],
        vec!["chisel", "lsof", path],
    ];
    let mut all = String::new();
    for args in runs {
        let (code, out, err) = syscap(&args);
        let what = args.join(" ").replace(path, "CAPTURE");
        assert_eq!(code, 0, "{what}: {err}");
        assert_shown_safely(&what, &out);
        assert_shown_safely(&what, &err);
        let _ = writeln!(all, "$ syscap {what}\n{}", out.replace(path, "CAPTURE"));
    }
    golden("hostile.txt", &all);

    // JSON keeps every byte (serde's escapes).
    let (code, out, err) = syscap(&["print", path, "--json", "-n", "1"]);
    assert_eq!(code, 0, "{err}");
    let line: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(line["proc.name"], "ev\x1b[2Jil\r", "{out}");
    assert_eq!(line["fd.name"], "/tmp/a\rFAKE\nsyscap: injected", "{out}");
    let (_, out, _) = syscap(&["info", "--json", path]);
    let info: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(info["host"], "host\x1b[5m");

    // Errors and warnings name files as they are shown too: a file whose
    // name holds ESC and a newline, cut short, then not a capture at all.
    let bytes = std::fs::read(&capture).unwrap();
    let odd = dir.join("cut\x1b[2J\nFAKE.syscap");
    std::fs::write(&odd, &bytes[..bytes.len() - 10]).unwrap();
    let (code, _, err) = syscap(&["info", odd.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("cut\\x1b[2J\\nFAKE.syscap: truncated"),
        "{err}"
    );
    assert_shown_safely("a cut capture's warning", &err);
    std::fs::write(&odd, b"not a capture").unwrap();
    let (code, _, err) = syscap(&["info", odd.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("cut\\x1b[2J\\nFAKE.syscap"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_shown_safely("an error", &err);
    std::fs::remove_dir_all(dir).unwrap();
}

/// Every output file of a capture (a converted capture or its events as
/// JSON, the `around` chisel's capture) is readable by its owner only, an
/// existing file too.
#[test]
fn outputs_are_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tempdir("private");
    let path = capture(&dir, 2_000);
    let json = dir.join("events.jsonl");
    let (code, _, err) = syscap(&["convert", path.to_str().unwrap(), json.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(mode(&json), 0o600);
    std::fs::set_permissions(&json, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, _, err) = syscap(&["convert", path.to_str().unwrap(), json.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(mode(&json), 0o600, "an existing output is narrowed");
    let around = dir.join("around.syscap");
    let (code, _, err) = syscap(&[
        "chisel",
        "around",
        path.to_str().unwrap(),
        "1",
        around.to_str().unwrap(),
        "--filter",
        "evt.type = execve",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(mode(&around), 0o600);
    std::fs::remove_dir_all(dir).unwrap();
}

// Captures in S3: `ls` and `get` against real S3 servers.

use s3_test_server::{Backend, KEY, S3TestServer, SECRET};

/// `on_each_s3_server![f, g]`: tests `s3s_fs::f`, `moto::f`, ... each
/// running `fn f(Backend)` against its own server.
macro_rules! on_each_s3_server {
    ($($test:ident),* $(,)?) => {
        mod s3s_fs {
            $(
                #[test]
                fn $test() {
                    super::$test(super::Backend::S3sFs);
                }
            )*
        }
        mod moto {
            $(
                #[test]
                fn $test() {
                    super::$test(super::Backend::Moto);
                }
            )*
        }
    };
}

on_each_s3_server![
    get_writes_private_new_files_and_replaces_only_when_forced,
    get_never_writes_through_a_symbolic_link,
    get_refuses_two_keys_for_one_path_before_downloading,
    a_failed_get_deletes_only_its_own_temporary_file,
    get_refuses_what_it_cannot_verify,
    ls_and_get_escape_keys_and_metadata,
];

/// A test's S3 server (bucket `caps`), its directory, and clients to put
/// objects into it as an agent does and as anybody could.
struct S3 {
    server: S3TestServer,
    dir: PathBuf,
    runtime: tokio::runtime::Runtime,
    store: capture_store::Store,
    client: aws_sdk_s3::Client,
}

impl S3 {
    fn start(name: &str, backend: Backend) -> Self {
        let dir = tempdir(&format!("s3-{name}-{backend}"));
        let server = S3TestServer::start_with(backend, &dir.join("s3")).unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let store = runtime
            .block_on(capture_store::Store::open(
                capture_store::Location::parse("s3://caps").unwrap(),
                &capture_store::S3Options {
                    region: Some("us-east-1".into()),
                    endpoint: Some(server.endpoint()),
                    path_style: true,
                    encryption: None,
                    static_credentials: Some((KEY.into(), SECRET.into())),
                },
            ))
            .unwrap();
        let config = aws_sdk_s3::config::Builder::new()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .endpoint_url(server.endpoint())
            .force_path_style(true)
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                KEY, SECRET, None, None, "test",
            ))
            .build();
        let client = aws_sdk_s3::Client::from_conf(config);
        Self {
            server,
            dir,
            runtime,
            store,
            client,
        }
    }

    /// `syscap ARGS` with the server's settings.
    fn syscap(&self, args: &[&str]) -> (i32, String, String) {
        let endpoint = self.server.endpoint();
        syscap_with(
            args,
            &[
                ("AWS_ACCESS_KEY_ID", KEY),
                ("AWS_SECRET_ACCESS_KEY", SECRET),
                ("AWS_REGION", "us-east-1"),
                ("SYSCAP_S3_ENDPOINT", &endpoint),
                ("SYSCAP_S3_PATH_STYLE", "true"),
            ],
        )
    }

    /// Stores `body` as `key` as the agent does: with `metadata` and the
    /// whole file's CRC32.
    fn store(&self, key: &str, body: &[u8], metadata: &[(&str, &str)]) {
        let file = self.dir.join("upload");
        std::fs::write(&file, body).unwrap();
        let metadata: Vec<(String, String)> = metadata
            .iter()
            .map(|&(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        self.runtime
            .block_on(self.store.put_file(&file, key, &metadata))
            .unwrap_or_else(|e| panic!("{key:?}: {e}"));
    }

    /// Puts `body` as `key` with exactly `metadata`, as anyone with write
    /// access to the bucket could.
    fn put(&self, key: &str, body: &[u8], metadata: &[(&str, &str)]) {
        let metadata = metadata
            .iter()
            .map(|&(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        self.runtime
            .block_on(
                self.client
                    .put_object()
                    .bucket("caps")
                    .key(key)
                    .body(body.to_vec().into())
                    .set_metadata(Some(metadata))
                    .send(),
            )
            .unwrap_or_else(|e| panic!("{key:?}: {e:?}"));
    }

    /// A real capture's bytes.
    fn capture_bytes(&self) -> Vec<u8> {
        std::fs::read(capture(&self.dir, 300)).unwrap()
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Every file under `dir`, relative to it (links listed, not followed).
fn files_under(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut dirs = vec![dir.to_owned()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                dirs.push(path);
            } else {
                found.push(path.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    found.sort();
    found
}

fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o777
}

/// A download is a new file only its owner can read, checked, with no
/// temporary file left; an existing file is replaced only with `--force`.
fn get_writes_private_new_files_and_replaces_only_when_forced(backend: Backend) {
    let s3 = S3::start("get", backend);
    let bytes = s3.capture_bytes();
    s3.store("prod/h1/a.syscap", &bytes, &[]);
    let out_dir = s3.dir.join("out");
    let out = out_dir.to_str().unwrap();
    let to = out_dir.join("prod/h1/a.syscap");
    let (code, said, err) = s3.syscap(&["get", "s3://caps/prod/h1/a.syscap", "-o", out]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        said,
        format!("{} ({} bytes, CRC32 checked)\n", to.display(), bytes.len())
    );
    assert!(std::fs::read(&to).unwrap() == bytes);
    assert_eq!(mode_of(&to), 0o600, "a capture is a secret");
    assert_eq!(files_under(&out_dir), ["prod/h1/a.syscap"]);

    std::fs::write(&to, b"mine").unwrap();
    let (code, _, err) = s3.syscap(&["get", "s3://caps/prod/h1/a.syscap", "-o", out]);
    assert_eq!(code, 2);
    assert_eq!(
        err,
        format!(
            "syscap: {}: exists, not overwritten with s3://caps/prod/h1/a.syscap (--force overwrites it)\n",
            to.display()
        )
    );
    assert_eq!(std::fs::read(&to).unwrap(), b"mine");
    let (code, _, err) = s3.syscap(&["get", "--force", "s3://caps/prod/h1/a.syscap", "-o", out]);
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::read(&to).unwrap() == bytes);
    assert_eq!(mode_of(&to), 0o600);
    assert_eq!(files_under(&out_dir), ["prod/h1/a.syscap"]);
}

/// A key never writes through a symbolic link under the target directory:
/// not a directory that is a link, and not a file that is one (replaced,
/// with `--force`, by the download itself).
fn get_never_writes_through_a_symbolic_link(backend: Backend) {
    let s3 = S3::start("links", backend);
    let bytes = s3.capture_bytes();
    s3.store("prod/h1/a.syscap", &bytes, &[]);
    let out_dir = s3.dir.join("out");
    let outside = s3.dir.join("outside");
    std::fs::create_dir_all(&out_dir).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    let out = out_dir.to_str().unwrap();

    std::os::unix::fs::symlink(&outside, out_dir.join("prod")).unwrap();
    let (code, _, err) = s3.syscap(&["get", "s3://caps/prod/h1/a.syscap", "-o", out]);
    assert_eq!(code, 2);
    assert!(err.contains("prod: a symbolic link"), "{err}");
    assert_eq!(files_under(&outside), Vec::<String>::new());

    std::fs::remove_file(out_dir.join("prod")).unwrap();
    std::fs::create_dir_all(out_dir.join("prod/h1")).unwrap();
    let precious = outside.join("precious");
    std::fs::write(&precious, b"precious").unwrap();
    let to = out_dir.join("prod/h1/a.syscap");
    std::os::unix::fs::symlink(&precious, &to).unwrap();
    let (code, _, err) = s3.syscap(&["get", "s3://caps/prod/h1/a.syscap", "-o", out]);
    assert_eq!(code, 2);
    assert!(err.contains("exists, not overwritten"), "{err}");
    let (code, _, err) = s3.syscap(&["get", "--force", "s3://caps/prod/h1/a.syscap", "-o", out]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read(&precious).unwrap(), b"precious");
    assert!(
        !std::fs::symlink_metadata(&to)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(std::fs::read(&to).unwrap() == bytes);
}

/// Keys that would be written to one path (`//` and `..` are dropped from
/// paths), or one inside the other, are refused before anything is
/// downloaded, naming both; the same object named twice is fetched once.
fn get_refuses_two_keys_for_one_path_before_downloading(backend: Backend) {
    let s3 = S3::start("collide", backend);
    let bytes = s3.capture_bytes();
    for key in ["prod/h1/a.syscap", "prod/h1//a.syscap", "capture.syscap"] {
        s3.store(key, &bytes, &[]);
    }
    let out_dir = s3.dir.join("out");
    let out = out_dir.to_str().unwrap();
    for (urls, path) in [
        (
            ["s3://caps/prod/h1/a.syscap", "s3://caps/prod/h1//a.syscap"],
            "would both be written to",
        ),
        (
            ["s3://caps/capture.syscap", "s3://caps/.."],
            "would both be written to",
        ),
        (
            ["s3://caps/prod/h1/a.syscap", "s3://caps/prod/h1"],
            "one would be written at",
        ),
    ] {
        let (code, _, err) = s3.syscap(&["get", urls[0], urls[1], "-o", out]);
        assert_eq!(code, 2, "{urls:?}");
        assert!(
            err.starts_with(&format!("syscap: {} and {}: ", urls[0], urls[1]))
                || err.starts_with(&format!("syscap: {} and {} {path}", urls[0], urls[1])),
            "{err}"
        );
        assert!(err.contains(path), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert_eq!(files_under(&out_dir), Vec::<String>::new(), "{urls:?}");
    }
    let url = "s3://caps/prod/h1/a.syscap";
    let (code, said, err) = s3.syscap(&["get", url, url, "-o", out]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(said.lines().count(), 1, "{said}");
    // A directory where a key's file would go is refused up front, even
    // with --force.
    std::fs::create_dir_all(out_dir.join("capture.syscap")).unwrap();
    let (code, _, err) = s3.syscap(&["get", "--force", "s3://caps/capture.syscap", "-o", out]);
    assert_eq!(code, 2);
    assert!(
        err.contains(
            "capture.syscap: a directory, where s3://caps/capture.syscap would be written"
        ),
        "{err}"
    );
}

/// A download that fails (here its CRC32 does not match) deletes its own
/// temporary file and nothing else: not a file another download could be
/// writing.
fn a_failed_get_deletes_only_its_own_temporary_file(backend: Backend) {
    let s3 = S3::start("failed", backend);
    let bytes = s3.capture_bytes();
    s3.put("prod/h1/a.syscap", &bytes, &[("crc32", "00000000")]);
    let out_dir = s3.dir.join("out");
    let theirs = out_dir.join("prod/h1/a.syscap.part");
    std::fs::create_dir_all(theirs.parent().unwrap()).unwrap();
    std::fs::write(&theirs, b"another download").unwrap();
    let (code, _, err) = s3.syscap(&[
        "get",
        "s3://caps/prod/h1/a.syscap",
        "-o",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("the copy is corrupt"), "{err}");
    assert_eq!(files_under(&out_dir), ["prod/h1/a.syscap.part"]);
    assert_eq!(std::fs::read(&theirs).unwrap(), b"another download");
}

/// An object that cannot be verified (stored without the CRC32 the agent
/// stores, with one that does not parse, or not a capture) is said so in
/// one line, not kept, and exits 2; `--no-verify` keeps it and says it is
/// not verified.
fn get_refuses_what_it_cannot_verify(backend: Backend) {
    let s3 = S3::start("verify", backend);
    let bytes = s3.capture_bytes();
    s3.put("v/none.syscap", &bytes, &[]);
    s3.put("v/bad.syscap", &bytes, &[("crc32", "zzzz")]);
    s3.store("v/text.syscap", b"hello, not a capture", &[]);
    let out_dir = s3.dir.join("out");
    let out = out_dir.to_str().unwrap();
    for (key, why) in [
        (
            "v/none.syscap",
            "stored without a CRC32, the copy cannot be checked",
        ),
        (
            "v/bad.syscap",
            "its crc32 metadata \"zzzz\" is not 8 hex digits, the copy cannot be checked",
        ),
        ("v/text.syscap", "not a capture (not a syscap capture"),
    ] {
        let url = format!("s3://caps/{key}");
        let (code, said, err) = s3.syscap(&["get", &url, "-o", out]);
        assert_eq!((code, said.as_str()), (2, ""), "{key}: {err}");
        assert!(err.starts_with(&format!("syscap: {url}: {why}")), "{err}");
        assert!(
            err.ends_with(": not kept (--no-verify keeps it)\n"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(!out_dir.join(key).exists(), "{key}");
        let left = files_under(&out_dir);
        assert!(
            !left
                .iter()
                .any(|f| Path::new(f).extension().is_some_and(|e| e == "part")),
            "{left:?}"
        );

        let (code, said, err) = s3.syscap(&["get", "--no-verify", &url, "-o", out]);
        assert_eq!(code, 0, "{key}: {err}");
        assert!(said.contains(&format!("not verified: {why}")), "{said}");
        assert_eq!(mode_of(&out_dir.join(key)), 0o600);
    }
}

/// Keys and metadata in S3 are whoever could write to the bucket's: `ls`
/// and `get` show their control characters escaped (the listing itself
/// works whatever the keys hold); `ls --json` keeps them exact.
fn ls_and_get_escape_keys_and_metadata(backend: Backend) {
    let s3 = S3::start("ls", backend);
    let bytes = s3.capture_bytes();
    let key = "prod/web\x1b]0;owned\x07/20261125T231205Z_r\x1b[2J_id\r.syscap";
    let host = capture_store::metadata_value("web\x1b[31m\nFAKE");
    s3.store(key, &bytes, &[("host", &host), ("rule", "r")]);
    s3.store("prod/plain/a.syscap", &bytes, &[("host", "plain")]);
    // An alert's name (the agent's `alertname` tag) is shown beside the rule.
    let alert = capture_store::metadata_value("High\x1b[2JErrors");
    s3.store(
        "prod/alerted/b.syscap",
        &bytes,
        &[
            ("host", "alerted"),
            ("rule", "on-alert"),
            ("tag-alertname", &alert),
        ],
    );
    let (code, listed, err) = s3.syscap(&["ls", "s3://caps/prod"]);
    assert_eq!(code, 0, "{err}");
    assert_shown_safely("ls", &listed);
    assert_eq!(listed.lines().count(), 4, "{listed}");
    assert!(
        listed.contains(" on-alert (alert High\\x1b[2JErrors) "),
        "{listed}"
    );
    assert!(listed.contains("web\\x1b[31m\\nFAKE"), "{listed}");
    assert!(
        listed.contains("prod/web\\x1b]0;owned\\x07/20261125T231205Z_r\\x1b[2J_id\\r.syscap"),
        "{listed}"
    );
    let (code, json, err) = s3.syscap(&["ls", "s3://caps/prod", "--json"]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        rows.iter()
            .any(|r| r["key"] == key && r["host"] == "web\x1b[31m\nFAKE"),
        "{json}"
    );

    let out_dir = s3.dir.join("out");
    let url = format!("s3://caps/{key}");
    let (code, said, err) = s3.syscap(&["get", &url, "-o", out_dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_shown_safely("get", &said);
    assert!(std::fs::read(out_dir.join(key)).unwrap() == bytes);
}

/// `convert` to sysdig's `.scap`, checked with the real sysdig.
#[path = "cli/convert_scap.rs"]
mod convert_scap;
/// Which thread a call belongs to, checked with the real sysdig.
#[path = "cli/thread_lives.rs"]
mod thread_lives;

/// `print`'s display options (`-A`, `-x`, `-X`, `-b`, `-t`, `-pc`, `-pk`).
#[path = "cli/print_options.rs"]
mod print_options;

/// Chisel details, as sysdig's: names, rows, sockets, empty tables.
#[path = "cli/chisel_details.rs"]
mod chisel_details;

/// `file://` URLs and standard input as captures; `ls --since`; sizes.
#[path = "cli/files.rs"]
mod files;

/// sysdig's field list and the values of fields added for it, checked with
/// the real sysdig.
#[path = "cli/sysdig_fields.rs"]
mod sysdig_fields;

/// The chisels that follow I/O and HTTP, against the real sysdig.
#[path = "cli/chisels_sysdig.rs"]
mod chisels_sysdig;

/// `export --format parquet`, queried with the real DuckDB.
#[path = "cli/export.rs"]
mod export;

/// Runs `syscap` with at most `mib` MiB of address space (`ulimit -v`): a
/// reader that tried to take more than that fails instead.
fn syscap_within(mib: u64, args: &[&str]) -> (i32, String, String) {
    outcome(
        &Command::new("sh")
            .arg("-c")
            .arg(format!("ulimit -v {} && exec \"$0\" \"$@\"", mib * 1024))
            .arg(env!("CARGO_BIN_EXE_syscap"))
            .args(args)
            .output()
            .expect("sh runs"),
    )
}

#[test]
fn hostile_files_cost_little_and_say_what_is_wrong() {
    use capture_format::file::hostile;
    let dir = tempdir("hostile-files");
    let write = |name: &str, bytes: Vec<u8>| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let footer =
        |bytes: &[u8]| u64::from_le_bytes(bytes[bytes.len() - 24..][..8].try_into().unwrap());
    // Each of these took a reader from 1 to 12 GiB, or minutes (issue 20);
    // each now costs a few MiB (the limit leaves room for the program).
    let zero = hostile::zero_footer(1 << 30);
    let zero_at = footer(&zero);
    let zero = write("zero-footer.syscap", zero);
    let repeats = hostile::footer_repeating_a_chunk(20_000, 100, false);
    let repeats_at = footer(&repeats);
    let repeats = write("repeats.syscap", repeats);
    let rows = write(
        "rows.syscap",
        hostile::snapshot_rows(hostile::SnapshotTable::Processes, 2_000_000, 0),
    );
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec!["info", &zero],
            format!("syscap: {zero}: footer at byte {zero_at} claims 1073741824 bytes"),
        ),
        (
            vec!["summary", &zero],
            format!("syscap: {zero}: footer at byte {zero_at} claims 1073741824 bytes"),
        ),
        (
            vec!["print", &repeats],
            format!(
                "syscap: {repeats}: corrupt footer at byte {repeats_at}: chunk 1 (at byte 154) \
                 does not come after chunk 0 (at byte 154)"
            ),
        ),
        (
            vec!["chisel", "ps", &rows],
            format!("syscap: {rows}: snapshot at byte 62 claims 42000066 bytes"),
        ),
    ];
    let mut failed = Vec::new();
    for (args, want) in &cases {
        let (code, out, err) = syscap_within(256, args);
        if code != 2 || !err.starts_with(want.as_str()) || err.lines().count() != 1 {
            failed.push(format!(
                "{args:?}: exit {code}, {} lines out, stderr {err:?}; expected exit 2 and {want:?}",
                out.lines().count()
            ));
        }
    }
    // A .scap.gz whose fd list is 32 MiB of one entry (32 KB of gzip):
    // read as it is, it imports in little memory.
    let scap = dir.join("fds.scap.gz");
    let file = std::io::BufWriter::new(std::fs::File::create(&scap).unwrap());
    scap_import::hostile::table_bomb(file, scap_import::hostile::ScapTable::Fds, 1, 32 << 20)
        .unwrap();
    let (code, out, err) = syscap_within(256, &["info", scap.to_str().unwrap()]);
    if code != 0 || !out.contains("events       1\n") {
        failed.push(format!(
            "info on {}: exit {code}, {out:?}, {err:?}",
            scap.display()
        ));
    }
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
