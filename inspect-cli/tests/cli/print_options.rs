//! `syscap print`'s display options, as sysdig 0.29.3's: `-A`, `-x`, `-X`,
//! `-b` (data buffers), `-t` (the time column), `-pc`/`-pk` (container
//! columns). Buffers are compared with the real sysdig (Debian's, which
//! `scripts/setup.sh` installs; a missing sysdig fails these tests) on the
//! public sample captures.

use super::{scap_samples, syscap, sysdig, tempdir, write_container_capture};

/// Every data buffer of the samples, in each style, as sysdig shows it:
/// `%evt.buffer` of the exit events (where sysdig has the data) against
/// syscap's one record per call, both in the order the calls returned.
#[test]
fn buffers_are_shown_as_sysdig_shows_them() {
    let samples = scap_samples();
    let format = "<<%evt.type %evt.buffer>>";
    for sample in ["curl_google", "single_ipv6_conn", "test_ipv6_client"] {
        let path = samples.join(sample).with_extension("scap");
        let path = path.to_str().unwrap();
        for style in ["-A", "-x", "-X", "-b"] {
            let want = sysdig(&["-r", path, style, "-p", format, "evt.dir=<"]);
            let (code, got, err) = syscap(&["print", path, style, "-p", format]);
            assert_eq!(code, 0, "{sample} {style}: {err}");
            assert!(want.matches("<<").count() > 2, "{sample} {style}: {want}");
            assert_eq!(got, want, "{sample} {style}");
        }
    }
    // The long names say the same.
    let path = samples.join("test_ipv6_client.scap");
    let path = path.to_str().unwrap();
    for (short, long) in [
        ("-A", "--print-ascii"),
        ("-x", "--print-hex"),
        ("-X", "--print-hex-ascii"),
        ("-b", "--print-base64"),
    ] {
        assert_eq!(
            syscap(&["print", path, short]).1,
            syscap(&["print", path, long]).1,
            "{long}"
        );
    }
    // One style at a time, as a usage error.
    let (code, _, err) = syscap(&["print", path, "-A", "-x"]);
    assert_eq!(code, 2, "{err}");
}

/// The default line lays the buffer out in place of `data=`'s dots, and
/// the rest of the line stays on its line.
#[test]
fn the_default_line_lays_buffers_out() {
    let samples = scap_samples();
    let path = samples.join("test_ipv6_client.scap");
    let path = path.to_str().unwrap();
    let filter = "evt.type = write and fd.num = 2";
    let (code, dots, err) = syscap(&["print", path, filter]);
    assert_eq!(code, 0, "{err}");
    assert!(
        dots.contains("data=ERR=Connection refused.) = 23 "),
        "{dots}"
    );
    let (_, ascii, _) = syscap(&["print", path, "-A", filter]);
    assert!(
        ascii.contains("data=\nERR=Connection refused\n) = 23 "),
        "{ascii}"
    );
    let (_, hex, _) = syscap(&["print", path, "-X", filter]);
    assert!(
        hex.contains(
            "data=\n\t0x0000: 4552 523d 436f 6e6e 6563 7469 6f6e 2072  ERR=Connection r\n\
             \t0x0010: 6566 7573 6564 0a                      efused.\n) = 23 "
        ),
        "{hex}"
    );
    let (_, b64, _) = syscap(&["print", path, "-b", filter]);
    assert!(
        b64.contains("data=RVJSPUNvbm5lY3Rpb24gcmVmdXNlZAo=) = 23 "),
        "{b64}"
    );
    assert_eq!(b64.lines().count(), dots.lines().count());
}

/// `-t`: the time column as sysdig's `h`, `a`, `r`, `d` and `D` show it.
#[test]
fn time_styles() {
    let samples = scap_samples();
    let path = samples.join("curl_google.scap");
    let path = path.to_str().unwrap();
    let filter = "evt.type = brk";
    let column = |style: &str| -> Vec<String> {
        let (code, out, err) = syscap(&["print", path, "-t", style, filter]);
        assert_eq!(code, 0, "{style}: {err}");
        out.lines()
            .map(|l| l.split(' ').nth(1).unwrap().to_owned())
            .collect()
    };
    let ns = |s: &str| -> u64 {
        let (sec, frac) = s.split_once('.').unwrap();
        assert_eq!(frac.len(), 9, "{s}");
        sec.parse::<u64>().unwrap() * 1_000_000_000 + frac.parse::<u64>().unwrap()
    };
    // h and a: sysdig's, on the enter events of the calls.
    let sysdig_column = |style: &str| -> Vec<String> {
        sysdig(&["-r", path, "-t", style, "evt.type=brk and evt.dir=>"])
            .lines()
            .map(|l| l.split(' ').nth(1).unwrap().to_owned())
            .collect()
    };
    assert_eq!(column("h"), sysdig_column("h"));
    let absolute = column("a");
    assert_eq!(absolute, sysdig_column("a"));
    assert!(absolute.len() > 3);
    // d: each call's latency, as sysdig's exit events show it.
    let latency: Vec<String> = sysdig(&["-r", path, "-t", "d", "evt.type=brk and evt.dir=<"])
        .lines()
        .map(|l| l.split(' ').nth(1).unwrap().to_owned())
        .collect();
    assert_eq!(column("d"), latency);
    assert!(latency.iter().any(|d| ns(d) > 0));
    // D: since the line before; r: since the capture's start (`info`'s).
    let times: Vec<u64> = absolute.iter().map(|a| ns(a)).collect();
    let since: Vec<u64> = column("D").iter().map(|d| ns(d)).collect();
    assert_eq!(since[0], 0);
    for i in 1..times.len() {
        assert_eq!(since[i], times[i] - times[i - 1]);
    }
    let start = 1_534_527_348_514_632_619; // the execve that starts curl
    let relative: Vec<u64> = column("r").iter().map(|r| ns(r)).collect();
    let want: Vec<u64> = times.iter().map(|t| t - start).collect();
    assert_eq!(relative, want);
    let (code, _, err) = syscap(&["print", path, "-t", "x"]);
    assert_eq!(code, 2, "{err}");
}

/// `-pc` and `-pk`: the container's name (the pod's) and id before the
/// process, as sysdig's container and Kubernetes formats put them.
#[test]
fn container_and_kubernetes_columns() {
    let dir = tempdir("print-columns");
    let path = dir.join("containers.syscap");
    write_container_capture(&path);
    let path = path.to_str().unwrap();
    let lines = |format: &str| -> Vec<String> {
        let (code, out, err) = syscap(&["print", path, format, "evt.type = openat"]);
        assert_eq!(code, 0, "{err}");
        out.lines()
            .map(|l| l.split(' ').skip(2).take(3).collect::<Vec<_>>().join(" "))
            .collect()
    };
    assert_eq!(
        lines("-pc"),
        [
            "shop-web (aaaaaaaaaaaa) web(10)",
            "shop-web (aaaaaaaaaaaa) web(10)",
            "host (host) cron(20)"
        ]
    );
    assert_eq!(lines("-pcontainer"), lines("-pc"));
    assert_eq!(
        lines("-pk"),
        [
            "web-7d9 (aaaaaaaaaaaa) web(10)",
            "web-7d9 (aaaaaaaaaaaa) web(10)",
            "<NA> (host) cron(20)"
        ]
    );
    assert_eq!(lines("-pkubernetes"), lines("-pk"));
    std::fs::remove_dir_all(&dir).unwrap();

    // A host process as sysdig shows it: `host (host)`, and `<NA> (host)`.
    let samples = scap_samples();
    let curl = samples.join("curl_google.scap");
    let curl = curl.to_str().unwrap();
    for (format, want) in [("-pc", "host (host) curl"), ("-pk", "<NA> (host) curl")] {
        let theirs = sysdig(&["-r", curl, format, "-n", "212"]);
        assert!(theirs.lines().last().unwrap().contains(want), "{theirs}");
        let (_, ours, _) = syscap(&["print", curl, format, "proc.name = curl", "-n", "1"]);
        assert!(ours.contains(&format!("{want}(17497)")), "{ours}");
    }
}

/// Names stay escaped whatever the buffers' style: the lines with laid-out
/// buffers are escaped around them, and the buffers carry no control
/// character but their layout's newlines and tabs.
#[test]
fn hostile_names_stay_escaped_in_every_style() {
    let dir = tempdir("print-hostile");
    let capture = dir.join("hostile.syscap");
    super::write_hostile_capture(&capture);
    let path = capture.to_str().unwrap();
    let (_, plain, _) = syscap(&["print", path]);
    assert!(plain.contains("ev\\x1b[2Jil\\r("), "{plain}");
    for style in ["-A", "-x", "-X", "-b", "-pc", "-pk"] {
        let (code, out, err) = syscap(&["print", path, style]);
        assert_eq!(code, 0, "{style}: {err}");
        super::assert_shown_safely(style, &out);
        assert!(out.contains("ev\\x1b[2Jil\\r("), "{style}: {out}");
    }
    let (_, hex, _) = syscap(&["print", path, "-x"]);
    assert!(
        hex.contains("data=\n\t0x0000: 1b5b 324a 2068 690d 0a\n)"),
        "{hex}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A filter on event types leaves the other records of a `.scap` file out
/// of the import (they are neither encoded nor decoded), yet every record
/// keeps its number: the filtered lines are the unfiltered ones of those
/// types, numbers, processes and chunk boundaries included. A chisel's own
/// filter does not (its span counts every event of the stream).
#[test]
fn a_filter_on_types_keeps_the_numbers_of_the_whole_capture() {
    let samples = scap_samples();
    let format = "%evt.num %evt.type %proc.name %thread.tid %fd.name %evt.res";
    for (sample, types) in [
        ("curl_google", &["connect"][..]),
        ("curl_google", &["read", "close"]),
        ("test_ipv6_client", &["sendto", "recvfrom", "procexit"]),
        ("single_ipv6_conn", &["connect", "switch"]),
    ] {
        let path = samples.join(sample).with_extension("scap");
        let path = path.to_str().unwrap();
        let (code, all, err) = syscap(&["print", path, "-p", format]);
        assert_eq!(code, 0, "{sample}: {err}");
        let want: Vec<&str> = all
            .lines()
            .filter(|l| types.contains(&l.split(' ').nth(1).unwrap()))
            .collect();
        assert!(!want.is_empty(), "{sample} {types:?}");
        let filter = format!("evt.type in ({})", types.join(", "));
        let (code, got, err) = syscap(&["print", path, "-p", format, &filter]);
        assert_eq!(code, 0, "{sample} {filter}: {err}");
        assert_eq!(got.lines().collect::<Vec<_>>(), want, "{sample} {filter}");
    }
}
