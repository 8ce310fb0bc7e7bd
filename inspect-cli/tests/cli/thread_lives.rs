//! Which thread a call of a `.scap` capture belongs to, and what is known
//! of it, checked with the real sysdig 0.29.3 (a missing sysdig fails
//! these tests): the process fields (`proc.name`, `proc.exe`,
//! `proc.cmdline`, `proc.ppid`, `user.name`) and `fd.name` of every call
//! must be sysdig's, where sysdig knows them (its `<NA>` accepts any
//! value). Captures: scap-import's file of thread lives (clone exits in
//! either order, runc's CLONE_PARENT child in a new pid namespace, a tid
//! used again, setresuid and setuid, relative paths of a thread whose
//! working directory is not known), and a public sample repeated, each
//! copy a new life of every tid.

use std::path::Path;

use super::convert_scap::{syscap_lines, sysdig_lines};
use super::{scap_samples, tempdir};

const PROCESS: [&str; 7] = [
    "evt.type",
    "thread.tid",
    "proc.name",
    "proc.exe",
    "proc.cmdline",
    "proc.ppid",
    "user.name",
];

/// Every exit line where syscap and sysdig disagree on `fields` (the lines
/// of both, in order, must be as many), and sysdig's lines.
fn disagreements(capture: &Path, fields: &[&str]) -> (Vec<String>, Vec<String>) {
    let filter = "evt.dir = <";
    let theirs = sysdig_lines(capture, fields, filter);
    let ours = syscap_lines(capture, fields, filter);
    assert_eq!(
        ours.len(),
        theirs.len(),
        "syscap:\n{}\nsysdig:\n{}",
        ours.join("\n"),
        theirs.join("\n")
    );
    let bad = ours
        .iter()
        .zip(&theirs)
        .filter(|(a, b)| {
            a.split('\x1f')
                .zip(b.split('\x1f'))
                .any(|(a, b)| a != b && b != "<NA>")
        })
        .map(|(a, b)| format!("syscap: {a} | sysdig: {b}").replace('\x1f', " "))
        .collect();
    (bad, theirs)
}

#[test]
fn threads_are_named_as_sysdig_names_them() {
    let dir = tempdir("thread-lives");
    let capture = dir.join("lives.scap");
    std::fs::write(&capture, scap_import::lives::thread_lives()).unwrap();
    let fields: Vec<&str> = PROCESS.iter().copied().chain(["fd.name"]).collect();
    let (bad, theirs) = disagreements(&capture, &fields);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    // The scenarios are there (the test cannot pass on an empty capture).
    let all = theirs.join("\n");
    for seen in ["runc:[1:CHILD]", "second", "root", "tls/libc.so.6"] {
        assert!(all.contains(seen), "sysdig shows no {seen}:\n{all}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Needs the sample `.scap` captures.
#[test]
fn a_tid_used_again_is_a_new_thread() {
    let dir = tempdir("thread-lives-repeat");
    let capture = dir.join("curl10.scap");
    let sample = std::fs::File::open(scap_samples().join("curl_google.scap")).unwrap();
    let out = std::fs::File::create(&capture).unwrap();
    // Ten copies: each a new life of curl (pid 17497) and its threads.
    scap_import::lives::repeat(sample, out, 15_360).unwrap();
    let (bad, theirs) = disagreements(&capture, &PROCESS);
    assert!(theirs.len() > 5_000, "{} lines", theirs.len());
    assert!(
        bad.is_empty(),
        "{} of {} lines disagree, first:\n{}",
        bad.len(),
        theirs.len(),
        bad[..bad.len().min(10)].join("\n")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A capture of only events sysdig hides (a container event stamped 0, the
/// driver's CPU samples) starts nowhere: `info` says so, never 1970.
#[test]
fn a_capture_sysdig_shows_nothing_of_has_no_start() {
    let dir = tempdir("thread-lives-hidden");
    let capture = dir.join("hidden.scap");
    std::fs::write(&capture, scap_import::lives::hidden_only()).unwrap();
    assert!(sysdig_lines(&capture, &["evt.num"], "evt.num > 0").is_empty());
    let (code, out, err) = super::syscap(&["info", capture.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    for row in ["start", "end"] {
        let line = out.lines().find(|l| l.starts_with(row)).unwrap();
        assert!(line.ends_with("none (no event sysdig shows)"), "{out}");
    }
    assert!(!out.contains("1970"), "{out}");
    let (code, json, err) = super::syscap(&["info", "--json", capture.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        (&json["start"], &json["end"]),
        (&serde_json::Value::Null, &serde_json::Value::Null)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
