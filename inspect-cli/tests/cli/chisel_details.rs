//! The chisels' details that sysdig users notice, compared with the real
//! sysdig 0.29.3 on the public samples: a misspelled chisel's nearest
//! name, `topscalls`' rows, `fdcount_by` on sockets, `echo_fds`' names, an
//! empty CPU table.

use super::{scap_samples, syscap, sysdig};

/// A misspelled chisel gets one line naming the nearest chisel.
#[test]
fn a_misspelled_chisel_gets_a_did_you_mean() {
    let curl = scap_samples().join("curl_google.scap");
    let curl = curl.to_str().unwrap();
    for (typed, want) in [
        ("topscals", "did you mean topscalls?"),
        ("topfile_bytes", "did you mean topfiles_bytes?"),
        ("lsfo", "did you mean lsof?"),
    ] {
        let (code, out, err) = syscap(&["chisel", typed, curl]);
        assert_eq!(code, 2, "{typed}: {out}");
        assert!(
            err.contains(&format!("no chisel named '{typed}' ({want}")),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    let (code, _, err) = syscap(&["chisel", "zzzzzzzz", curl]);
    assert_eq!(code, 2);
    assert!(!err.contains("did you mean"), "{err}");
}

/// The second column of a table chisel's rows, sorted.
fn names(table: &str) -> Vec<String> {
    let mut names: Vec<String> = table
        .lines()
        .skip(2)
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_owned))
        .collect();
    names.sort();
    names
}

/// `topscalls`: sysdig's 30 rows, without context switches (nor syscap's
/// own records, which sysdig has no event for): the same system calls as
/// sysdig lists.
#[test]
fn topscalls_lists_what_sysdig_lists() {
    let samples = scap_samples();
    for sample in ["test_ipv6_client", "single_ipv6_conn"] {
        let path = samples.join(sample).with_extension("scap");
        let path = path.to_str().unwrap();
        let theirs = sysdig(&["-r", path, "-c", "topscalls"]);
        let (code, ours, err) = syscap(&["chisel", "topscalls", path]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(names(&ours), names(&theirs), "{sample}:\n{ours}");
        assert!(!ours.contains(" switch"), "{ours}");
    }
    // A capture of more than 30 kinds of events shows 30 rows, as sysdig.
    let curl = samples.join("curl_google.scap");
    let curl = curl.to_str().unwrap();
    let (_, ours, _) = syscap(&["chisel", "topscalls", curl]);
    assert_eq!(ours.lines().count(), 2 + 30, "{ours}");
    let theirs = sysdig(&["-r", curl, "-c", "topscalls"]);
    assert_eq!(theirs.lines().count(), 2 + 30, "{theirs}");
    let (_, ours, _) = syscap(&["chisel", "topscalls_time", curl]);
    assert_eq!(ours.lines().count(), 2 + 30, "{ours}");
}

/// `fdcount_by` counts every fd with a name, sockets by their ends too.
#[test]
fn fdcount_by_counts_sockets() {
    let path = scap_samples().join("single_ipv6_conn.scap");
    let path = path.to_str().unwrap();
    for key in ["fd.type", "proc.name"] {
        let theirs = sysdig(&["-r", path, "-c", "fdcount_by", key]);
        let (code, ours, err) = syscap(&["chisel", "fdcount_by", path, key]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(ours, theirs, "{key}");
    }
    let (_, ours, _) = syscap(&["chisel", "fdcount_by", path, "fd.type"]);
    assert!(ours.contains("ipv6\t"), "{ours}");
}

/// `echo_fds` names each read and write's process by its name alone and
/// its fd by `fd.name` (a socket by its ends), as sysdig does.
#[test]
fn echo_fds_names_as_sysdig() {
    let path = scap_samples().join("test_ipv6_client.scap");
    let path = path.to_str().unwrap();
    let heads = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with("------ "))
            .map(|l| {
                let words: Vec<&str> = l.split_whitespace().collect();
                // Verb, size and the process: the fd names differ where the
                // state does (see the conformance README).
                format!("{} {} {}", words[1], words[2], words[words.len() - 1])
            })
            .collect()
    };
    let theirs = sysdig(&["-r", path, "-c", "echo_fds", "disable_color"]);
    let (code, ours, err) = syscap(&["chisel", "echo_fds", path]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(heads(&ours), heads(&theirs));
    assert!(!heads(&ours).is_empty());
    assert!(
        ours.contains("------ Write 6B to ::1:38255->::1:2345 (test_ipv6_clien)\n"),
        "{ours}"
    );
}

/// An empty `topcontainers_cpu` says why: the capture has no `procinfo`.
#[test]
fn an_empty_cpu_table_says_why() {
    let dir = super::tempdir("chisel-cpu");
    let path = super::capture(&dir, 2_000);
    let (code, out, err) = syscap(&["chisel", "topcontainers_cpu", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("no procinfo event among the events read"),
        "{out}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `ps`, `lsof` and `netstat` apply `--filter` to each thread's fds as
/// sysdig's apply their filter argument: the same rows as sysdig's (in
/// any order: sysdig lists a thread's fds in hash order).
#[test]
fn table_chisels_apply_the_filter() {
    let samples = scap_samples();
    let sorted = |text: &str| -> Vec<String> {
        let mut lines: Vec<String> = text.lines().map(|l| l.trim_end().to_owned()).collect();
        lines.sort();
        lines
    };
    for sample in ["test_ipv6_client", "curl_google", "single_ipv6_conn"] {
        let path = samples.join(sample).with_extension("scap");
        let path = path.to_str().unwrap();
        for chisel in ["lsof", "ps", "netstat"] {
            let (_, all, _) = syscap(&["chisel", chisel, path]);
            for filter in [
                "proc.name=bash",
                "fd.type=ipv6",
                "fd.num=3",
                "proc.name=nothing",
            ] {
                let theirs = sysdig(&["-r", path, "-c", chisel, filter]);
                let (code, ours, err) = syscap(&["chisel", chisel, path, "--filter", filter]);
                assert_eq!(code, 0, "{err}");
                assert_eq!(sorted(&ours), sorted(&theirs), "{sample} {chisel} {filter}");
                if filter == "proc.name=nothing" {
                    assert_eq!(ours.lines().count(), 1, "{ours}");
                    assert!(all.lines().count() > 1, "{sample} {chisel}: {all}");
                }
            }
        }
    }
}
