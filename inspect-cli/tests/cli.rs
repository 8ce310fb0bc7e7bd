//! The real `syscap` binary on captures written by `syscap-agent synth`:
//! finished, cut short, and foreign files.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn syscap(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_syscap"))
        .args(args)
        .output()
        .expect("syscap runs");
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

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("syscap-cli-{name}-{}", std::process::id()));
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
    let mut child = Command::new(env!("CARGO_BIN_EXE_syscap"))
        .arg("fields")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one byte, then close the pipe like `| head -c1`.
    let mut stdout = child.stdout.take().unwrap();
    let mut one = [0u8; 1];
    stdout.read_exact(&mut one).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
