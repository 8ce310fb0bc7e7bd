//! The fields of sysdig's list against the real sysdig 0.29.3 (a missing
//! sysdig fails these tests): `syscap fields` accounts for every field
//! `sysdig -l` lists, and fields added for that list print what
//! `sysdig -p` prints on the public sample captures.

use std::collections::{BTreeMap, BTreeSet};

use super::convert_scap::{SEP, format};
use super::{scap_samples, syscap, sysdig};

#[test]
fn syscap_fields_accounts_for_every_field_sysdig_lists() {
    let (code, ours, err) = syscap(&["fields"]);
    assert_eq!(code, 0, "{err}");
    let (answered, unanswered) = ours
        .split_once("\nsysdig fields syscap does not answer:\n")
        .expect("syscap fields has a section of the fields it does not answer");
    // `evt.arg.NAME`, `k8s.pod.label[KEY]` and `evt.around[T]` are sysdig's
    // `evt.arg`, `k8s.pod.label` and `evt.around`.
    let names = |text: &str| -> BTreeSet<String> {
        text.lines()
            .filter_map(|l| l.split_whitespace().next())
            .map(|n| {
                n.split('[')
                    .next()
                    .unwrap()
                    .trim_end_matches(".NAME")
                    .to_owned()
            })
            .collect()
    };
    let (answered, unanswered) = (names(answered), names(unanswered));
    let listed = sysdig(&["-l"]);
    let sysdig_fields: Vec<&str> = listed
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_lowercase()))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(sysdig_fields.len() > 250, "{}", sysdig_fields.len());
    let mut missing = Vec::new();
    for f in &sysdig_fields {
        let group = f.starts_with("evtin.span.") && unanswered.contains("evtin.span.*");
        match (answered.contains(*f), unanswered.contains(*f) || group) {
            (true, false) | (false, true) => {}
            (true, true) => missing.push(format!("{f}: answered and listed as not")),
            (false, false) => missing.push(format!("{f}: neither answered nor explained")),
        }
    }
    assert!(missing.is_empty(), "\n{}", missing.join("\n"));
    let n = sysdig_fields
        .iter()
        .filter(|f| answered.contains(**f))
        .count();
    assert!(n >= 105, "syscap answers {n} of sysdig's fields");
}

/// Fields whose values sysdig computes as syscap does; compared on every
/// call's exit line. A cell where sysdig shows `<NA>` accepts any value
/// (syscap merged the call's enter event, or knows state sysdig lacks).
const FIELDS: &[&str] = &[
    "evt.latency.human",
    "evt.latency.s",
    "evt.latency.ns",
    "syscall.type",
    "evt.io_dir",
    "evt.count",
    "evt.count.error",
    "evt.count.error.file",
    "evt.count.error.net",
    "evt.count.error.memory",
    "evt.count.error.other",
    "evt.count.exit",
    "evt.is_open_read",
    "evt.is_open_write",
    "evt.is_open_exec",
    "evt.is_syslog",
    "evt.is_wait",
    "evt.wait_latency",
    "proc.exeline",
    "proc.pcmdline",
    "proc.pname",
    "proc.apid[1]",
    "proc.aname[0]",
    "proc.loginshellid",
    "user.loginuid",
    "thread.ismain",
    "fd.connected",
];

#[test]
fn new_fields_print_what_sysdig_prints() {
    let samples = scap_samples();
    let mut failures = Vec::new();
    for sample in ["curl_google", "test_ipv6_client", "single_ipv6_conn"] {
        let path = samples.join(sample).with_extension("scap");
        let path = path.to_str().unwrap();
        let mut fields = vec!["thread.tid", "evt.type"];
        fields.extend(FIELDS);
        let theirs = sysdig(&["-r", path, "-p", &format(&fields), "evt.dir=<"]);
        let (code, ours, err) = syscap(&["print", path, "-p", &format(&fields), "evt.dir=<"]);
        assert_eq!(code, 0, "{err}");
        let (theirs, ours): (Vec<&str>, Vec<&str>) =
            (theirs.lines().collect(), ours.lines().collect());
        assert_eq!(theirs.len(), ours.len(), "{sample}: as many calls");
        for (n, (a, b)) in theirs.iter().zip(&ours).enumerate() {
            for ((name, x), y) in fields.iter().zip(a.split(SEP)).zip(b.split(SEP)) {
                if x != y && x != "<NA>" {
                    failures.push(format!(
                        "{sample} line {}: {name}: sysdig {x:?}, syscap {y:?}",
                        n + 1
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// The time formats: for every syscap event whose time is one of sysdig's
/// events' (a call's entry), the texts are sysdig's.
#[test]
fn time_fields_print_what_sysdig_prints() {
    let times = [
        "evt.rawtime",
        "evt.time",
        "evt.time.s",
        "evt.time.iso8601",
        "evt.datetime",
        "evt.datetime.s",
        "evt.rawtime.s",
        "evt.rawtime.ns",
    ];
    let path = scap_samples().join("curl_google.scap");
    let path = path.to_str().unwrap();
    let theirs: BTreeMap<String, String> = sysdig(&["-r", path, "-p", &format(&times)])
        .lines()
        .filter_map(|l| l.split_once(SEP))
        .map(|(t, rest)| (t.to_owned(), rest.to_owned()))
        .collect();
    let (code, ours, err) = syscap(&["print", path, "-p", &format(&times)]);
    assert_eq!(code, 0, "{err}");
    let mut compared = 0;
    for line in ours.lines() {
        let (t, rest) = line.split_once(SEP).unwrap();
        if let Some(want) = theirs.get(t) {
            assert_eq!(rest, want, "at {t}");
            compared += 1;
        }
    }
    assert!(compared > 500, "{compared} events compared");
}

/// `evt.category` on every call's exit, against sysdig reading the whole
/// capture (with a filter that drops the enter events, sysdig 0.29.3 loses
/// the fd of a read's exit and says `unknown`). Where sysdig does not know
/// the call's fd (fd.type `<NA>`) and says `unknown`, syscap may know it.
/// As a filter, `evt.category=net` keeps the calls that show `net`.
#[test]
fn category_prints_what_sysdig_prints() {
    let fields = ["evt.type", "evt.category"];
    let samples = scap_samples();
    for sample in ["curl_google", "test_ipv6_client", "single_ipv6_conn"] {
        let path = samples.join(sample).with_extension("scap");
        let path = path.to_str().unwrap();
        let theirs = sysdig(&[
            "-r",
            path,
            "-p",
            "*%evt.dir %fd.type %evt.type %evt.category",
        ]);
        let theirs: Vec<(&str, &str)> = theirs
            .lines()
            .filter_map(|l| l.strip_prefix("< "))
            .map(|l| l.split_once(' ').unwrap())
            .collect();
        let (code, ours, err) = syscap(&["print", path, "-p", &format(&fields), "evt.dir=<"]);
        assert_eq!(code, 0, "{err}");
        let ours: Vec<&str> = ours.lines().collect();
        assert_eq!(theirs.len(), ours.len(), "{sample}: as many calls");
        let mut compared = 0;
        for (n, ((fd_type, a), b)) in theirs.iter().zip(&ours).enumerate() {
            let (a, b) = (a.replace(' ', SEP), *b);
            assert!(
                a == b || (*fd_type == "<NA>" && a.ends_with("unknown")),
                "{sample} line {}: sysdig {a:?}, syscap {b:?}",
                n + 1
            );
            compared += usize::from(a == b);
        }
        assert!(compared * 10 > ours.len() * 9, "{sample}: {compared}");
        let (code, net, err) = syscap(&[
            "print",
            path,
            "-p",
            "%evt.type",
            "evt.category=net and evt.dir=<",
        ]);
        assert_eq!(code, 0, "{err}");
        let want = ours
            .iter()
            .filter(|l| l.ends_with(&format!("{SEP}net")))
            .count();
        assert!(want > 0, "{sample}: no net calls");
        assert_eq!(net.lines().count(), want, "{sample}: evt.category=net");
    }
}

/// `evt.deltatime` in output: the time since the line printed before (0
/// on the first), `.s` its seconds, `.ns` the rest in 9 digits; the same
/// relation holds in sysdig's output of the sample and in syscap's. In a
/// filter, as sysdig's: the time since the event read before, whether it
/// matched or not.
#[test]
fn deltatime_counts_from_the_line_printed_before() {
    let fields = "%evt.rawtime %evt.deltatime %evt.deltatime.s %evt.deltatime.ns";
    let check = |who: &str, text: &str| {
        let mut previous: Option<u64> = None;
        let mut lines = 0;
        for line in text.lines() {
            let cols: Vec<&str> = line.split(' ').collect();
            let t: u64 = cols[0].parse().unwrap();
            let delta = previous.map_or(0, |p| t.saturating_sub(p));
            let want = format!(
                "{delta} {} {:09}",
                delta / 1_000_000_000,
                delta % 1_000_000_000
            );
            assert_eq!(cols[1..].join(" "), want, "{who}: {line}");
            previous = Some(t);
            lines += 1;
        }
        assert!(lines > 10, "{who}: {lines} lines");
    };
    let path = scap_samples().join("curl_google.scap");
    let path = path.to_str().unwrap();
    for filter in ["evt.type=poll", "evt.dir=<"] {
        check("sysdig", &sysdig(&["-r", path, "-p", fields, filter]));
        let (code, ours, err) = syscap(&["print", path, "-p", fields, filter]);
        assert_eq!(code, 0, "{err}");
        check("syscap", &ours);
    }
    // A check alone is evaluated on every record, at its return (sysdig's
    // exit event) when the call returned; a filter shows the `switch`
    // records too, a format with `%evt.latency` not (they have none).
    let print = |format: &str| {
        let (code, out, err) = syscap(&["print", path, "-p", format, "evt.num > 0"]);
        assert_eq!(code, 0, "{err}");
        out
    };
    let latencies: BTreeMap<String, u64> = print("%evt.num %evt.latency")
        .lines()
        .map(|l| {
            let (num, latency) = l.split_once(' ').unwrap();
            (num.to_owned(), latency.parse().unwrap())
        })
        .collect();
    let mut want = Vec::new();
    let mut previous: Option<u64> = None;
    for line in print("%evt.num %evt.rawtime").lines() {
        let (num, t) = line.split_once(' ').unwrap();
        let t = t.parse::<u64>().unwrap() + latencies.get(num).copied().unwrap_or(0);
        if previous.is_some_and(|p| t.saturating_sub(p) > 1_000_000) {
            want.push(num.to_owned());
        }
        previous = Some(t);
    }
    let (code, got, err) = syscap(&["print", path, "-p", "%evt.num", "evt.deltatime > 1ms"]);
    assert_eq!(code, 0, "{err}");
    assert!(!want.is_empty());
    assert_eq!(got.lines().collect::<Vec<_>>(), want);
}

/// `evt.deltatime` in a filter counts, as sysdig's, from the last event
/// on which that check was evaluated (after short-circuiting), so the order
/// of the checks matters; a `.scap` read directly and its conversion to
/// `.syscap` give the same lines (no event left out by type, no chunk
/// skipped). Compared by the exit time of each line: sysdig's exit lines
/// show it, syscap's the entry time and the latency.
#[test]
fn deltatime_in_a_filter_counts_from_the_check_evaluated_before() {
    let dir = super::tempdir("deltatime-filter");
    let path = scap_samples().join("curl_google.scap");
    let converted = dir.join("curl_google.syscap");
    let (code, _, err) = syscap(&[
        "convert",
        path.to_str().unwrap(),
        converted.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let exits = |text: &str| -> Vec<u64> {
        text.lines()
            .map(|l| l.split(' ').map(|c| c.parse::<u64>().unwrap()).sum())
            .collect()
    };
    // (filter, sysdig's lines: 0 when syscap's differ, see below)
    let cases: &[(&str, usize)] = &[
        ("evt.type=read and evt.dir=< and evt.deltatime<20000", 9),
        ("evt.dir=< and evt.deltatime<20000", 556),
        (
            "evt.deltatime<20000 and (evt.type=read or proc.name=nonexistent) and evt.dir=<",
            0,
        ),
    ];
    for &(filter, lines) in cases {
        let theirs = exits(&sysdig(&[
            "-r",
            path.to_str().unwrap(),
            "-p",
            "%evt.rawtime",
            filter,
        ]));
        let mut outputs = Vec::new();
        for input in [&path, &converted] {
            let (code, ours, err) = syscap(&[
                "print",
                input.to_str().unwrap(),
                "-p",
                "%evt.rawtime %evt.latency",
                filter,
            ]);
            assert_eq!(code, 0, "{filter}: {err}");
            outputs.push(exits(&ours));
        }
        assert_eq!(outputs[0], outputs[1], "{filter}: .scap and .syscap");
        if lines > 0 {
            assert_eq!(theirs.len(), lines, "{filter}");
            assert_eq!(outputs[0], theirs, "{filter}");
        } else {
            // A check before `evt.dir` is evaluated by sysdig on the entry
            // events too, which a syscap record merges into its call: the
            // deltas differ, not the order's effect (50 lines against 9).
            assert!(theirs.len() > 40 && outputs[0].len() > 40, "{filter}");
            let common = outputs[0].iter().filter(|t| theirs.contains(t)).count();
            assert!(
                common + 3 >= theirs.len(),
                "{filter}: {common} of {}",
                theirs.len()
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `evt.abspath` (and `.src`, `.dst`) of `*at` calls relative to a
/// directory fd, to the working directory and absolute, as sysdig 0.29.3
/// prints them; where sysdig does not know the directory fd it writes
/// `<UNKNOWN>/NAME`, and syscap, which may know it from elsewhere in the
/// capture, answers nothing.
#[test]
fn abspath_prints_what_sysdig_prints() {
    let dir = super::tempdir("abspath");
    let capture = dir.join("at-calls.scap");
    std::fs::write(&capture, scap_import::lives::at_calls()).unwrap();
    let fields = [
        "evt.type",
        "evt.abspath",
        "evt.abspath.src",
        "evt.abspath.dst",
    ];
    let converted = dir.join("at-calls.syscap");
    let (code, _, err) = syscap(&[
        "convert",
        capture.to_str().unwrap(),
        converted.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    // Also with the calls' types only: the open of the directory fd is left
    // out of the `.scap` import, and the chunk still knows the fd.
    let at_types = "evt.type in (openat, mkdirat, unlinkat, renameat2, symlinkat, linkat, \
                    fchmodat) and evt.dir=<";
    for filter in ["evt.dir=<", at_types] {
        let theirs = super::convert_scap::sysdig_lines(&capture, &fields, filter);
        for input in [&capture, &converted] {
            let ours = super::convert_scap::syscap_lines(input, &fields, filter);
            assert_eq!(ours.len(), theirs.len(), "{filter}: {ours:?}\n{theirs:?}");
            let unknown = format!("openat{SEP}<UNKNOWN>/z{SEP}<UNKNOWN>/z{SEP}<UNKNOWN>/z");
            let mut compared = 0;
            for (a, b) in ours.iter().zip(&theirs) {
                if *b == unknown {
                    assert_eq!(*a, format!("openat{SEP}<NA>{SEP}<NA>{SEP}<NA>"));
                } else {
                    assert_eq!(a.replace(SEP, " "), b.replace(SEP, " "), "{filter}");
                    compared += usize::from(b.contains('/'));
                }
            }
            // The three openat, and mkdirat to fchmodat.
            assert_eq!(compared, 9, "{filter}: {theirs:?}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The syslog fields and `evt.info` of writes to `/dev/log`, as sysdig
/// 0.29.3 decodes them, on scap-import's file of syslog writes (good and
/// malformed priorities, a failed write, a write to another file).
#[test]
fn syslog_prints_what_sysdig_prints() {
    let dir = super::tempdir("syslog");
    let capture = dir.join("syslog.scap");
    std::fs::write(&capture, scap_import::lives::syslog()).unwrap();
    let fields = [
        "evt.type",
        "fd.num",
        "evt.is_syslog",
        "syslog.facility.str",
        "syslog.facility",
        "syslog.severity.str",
        "syslog.severity",
        "syslog.message",
        "evt.info",
    ];
    let theirs =
        super::convert_scap::sysdig_lines(&capture, &fields, "evt.type=write and evt.dir=<");
    let ours = super::convert_scap::syscap_lines(&capture, &fields, "evt.type=write");
    assert_eq!(ours.len(), 12, "{ours:?}");
    let decoded = ours.iter().filter(|l| l.contains("syslog sev=")).count();
    assert_eq!(decoded, 6, "{ours:?}");
    assert_eq!(ours.len(), theirs.len(), "{theirs:?}");
    // A line sysdig does not decode shows the call's arguments in
    // `evt.info`: syscap's one record per call has the enter event's too.
    let decoded_info = |l: &str| l.rsplit(SEP).next().unwrap().starts_with("syslog sev=");
    for (a, b) in ours.iter().zip(&theirs) {
        if decoded_info(b) || decoded_info(a) {
            assert_eq!(a, b);
        } else {
            assert_eq!(a.rsplit_once(SEP).unwrap().0, b.rsplit_once(SEP).unwrap().0);
        }
    }
    let (code, matched, err) = super::syscap(&[
        "print",
        capture.to_str().unwrap(),
        "-p",
        "%syslog.message",
        "syslog.severity.str=debug or syslog.facility=0",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(matched, "local7 debug\nkern emerg\noverflow\n");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `proc.sid`, `proc.sname`, `proc.vpgid`, `proc.tty` and
/// `user.loginname` as sysdig 0.29.3 prints them, on scap-import's file of
/// sessions (the process list's session and process group, inherited by a
/// fork, an execve exit's terminal, process group and login uid, setsid);
/// the samples' old drivers say nothing of them (-1, -1, 0, `<NA>`), as
/// sysdig shows.
#[test]
fn sessions_print_what_sysdig_prints() {
    let dir = super::tempdir("sessions");
    let capture = dir.join("sessions.scap");
    std::fs::write(&capture, scap_import::lives::sessions()).unwrap();
    let fields = [
        "evt.type",
        "thread.tid",
        "proc.name",
        "proc.sid",
        "proc.sname",
        "proc.vpgid",
        "proc.tty",
        "user.loginuid",
        "user.loginname",
    ];
    let theirs =
        super::convert_scap::sysdig_lines(&capture, &fields, "evt.type=open and evt.dir=<");
    let ours = super::convert_scap::syscap_lines(&capture, &fields, "evt.type=open and evt.dir=<");
    assert_eq!(ours, theirs);
    // Not only the unknown values.
    assert!(
        theirs
            .iter()
            .any(|l| l.ends_with(&format!("{SEP}34816{SEP}1000{SEP}ubuntu"))),
        "{theirs:?}"
    );
    let samples = scap_samples();
    for sample in ["curl_google", "test_ipv6_client", "single_ipv6_conn"] {
        let path = samples.join(sample).with_extension("scap");
        let theirs = super::convert_scap::sysdig_lines(&path, &fields, "evt.dir=<");
        let ours = super::convert_scap::syscap_lines(&path, &fields, "evt.dir=<");
        assert_eq!(ours.len(), theirs.len(), "{sample}");
        let mut compared = 0;
        for (a, b) in ours.iter().zip(&theirs) {
            // Field by field: where sysdig does not know a value (the
            // thread, `user.loginname` of these drivers), syscap may.
            let (a_cells, b_cells): (Vec<&str>, Vec<&str>) =
                (a.split(SEP).collect(), b.split(SEP).collect());
            assert_eq!(a_cells.len(), b_cells.len(), "{sample}: {a} | {b}");
            for ((field, x), y) in fields.iter().zip(&a_cells).zip(&b_cells) {
                if *y != "<NA>" {
                    assert_eq!(x, y, "{sample} {field}: {a} | {b}");
                    compared += usize::from(field.starts_with("proc."));
                }
            }
        }
        // proc.name, sid, sname, vpgid and tty of several lines compared.
        assert!(compared >= 5 * 5, "{sample}: {compared}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `proc.nthreads` and `proc.nchilds` as sysdig 0.29.3 prints them, on the
/// samples (curl's resolver thread) and on scap-import's file of thread
/// lives (threads made by either clone exit first, exits, a tid used
/// again); where sysdig does not know the thread, syscap may.
#[test]
fn thread_counts_print_what_sysdig_prints() {
    let fields = ["thread.tid", "proc.name", "proc.nthreads", "proc.nchilds"];
    let dir = super::tempdir("thread-counts");
    let lives = dir.join("lives.scap");
    std::fs::write(&lives, scap_import::lives::thread_lives()).unwrap();
    let samples = scap_samples();
    let mut captures = vec![lives];
    for sample in ["curl_google", "test_ipv6_client", "single_ipv6_conn"] {
        captures.push(samples.join(sample).with_extension("scap"));
    }
    let mut compared = 0;
    for capture in &captures {
        let theirs = super::convert_scap::sysdig_lines(capture, &fields, "evt.dir=<");
        let ours = super::convert_scap::syscap_lines(capture, &fields, "evt.dir=<");
        assert_eq!(ours.len(), theirs.len(), "{}", capture.display());
        for (a, b) in ours.iter().zip(&theirs) {
            if !b.contains("<NA>") {
                assert_eq!(a, b, "{}", capture.display());
                compared += 1;
            }
        }
    }
    assert!(compared > 500, "{compared}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `fd.sproto` and its kin print the port as text, and `fd.proto`
/// (filters only) matches either end's, on the calls sysdig's exit lines
/// show (one per call). On `curl_google`: the other samples' sockets meet
/// the differences of their ports, listed in the conformance README.
#[test]
fn proto_fields_print_and_filter_what_sysdig_does() {
    let path = scap_samples().join("curl_google.scap");
    let path = path.to_str().unwrap();
    let format = "%thread.tid %evt.type %fd.sproto %fd.cproto %fd.lproto %fd.rproto";
    let theirs = sysdig(&[
        "-r",
        path,
        "-p",
        format,
        "fd.type in (ipv4, ipv6) and evt.dir=<",
    ]);
    let (code, ours, err) = syscap(&["print", path, "-p", format, "fd.type in (ipv4, ipv6)"]);
    assert_eq!(code, 0, "{err}");
    assert!(ours.lines().count() > 5, "{ours}");
    assert_eq!(ours, theirs);
    // Brackets after a field that takes no argument are text.
    let format = "%proc.name[%proc.pid] [%fd.sproto] %proc.aname[1]";
    let theirs = sysdig(&["-r", path, "-p", format, "evt.type=connect and evt.dir=<"]);
    let (code, ours, err) = syscap(&["print", path, "-p", format, "evt.type=connect"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(ours, theirs);
    for filter in [
        "fd.proto=53",
        "fd.proto=80",
        "fd.sproto=80 and fd.cproto=37140",
    ] {
        let theirs = sysdig(&[
            "-r",
            path,
            "-p",
            "%thread.tid %evt.type",
            filter,
            "and evt.dir=<",
        ]);
        let (code, ours, err) = syscap(&["print", path, "-p", "%thread.tid %evt.type", filter]);
        assert_eq!(code, 0, "{err}");
        assert!(!ours.is_empty(), "{filter}: no call matched");
        assert_eq!(ours, theirs, "{filter}");
    }
}

/// The local and remote ends of a socket (`fd.lip`... `fd.rproto`) on every
/// sample's exit lines. They agree everywhere but where the conformance
/// README explains why not: sysdig calls the tuple's source (the client)
/// local whenever its address is one of the capture's interfaces (item 12),
/// and on `single_ipv6_conn` both ends are on `lo`, so on the server's
/// accepted socket sysdig's local end is syscap's remote end and the other
/// way round; `test_ipv6_client` meets items 2 and 3 (a UDP socket
/// connected twice, an unbound source).
#[test]
fn local_and_remote_ends_print_what_sysdig_prints() {
    const ENDS: [&str; 6] = [
        "fd.lip",
        "fd.lport",
        "fd.lproto",
        "fd.rip",
        "fd.rport",
        "fd.rproto",
    ];
    let samples = scap_samples();
    let mut fields = vec!["thread.tid", "evt.type"];
    fields.extend(ENDS);
    // (sample, sysdig's reading of it, lines allowed to differ and why).
    let cases: [(&str, &str, &[usize]); 4] = [
        ("curl_google", "curl_google", &[]),
        ("curl_google_comments", "curl_google", &[]),
        ("test_ipv6_client", "test_ipv6_client", &[27, 30, 31, 33]),
        ("single_ipv6_conn", "single_ipv6_conn", &[10, 13, 14]),
    ];
    let mut failures = Vec::new();
    let mut compared = 0;
    for (sample, reference, allowed) in cases {
        let path = |s: &str| samples.join(s).with_extension("scap");
        let (ours_path, theirs_path) = (path(sample), path(reference));
        let theirs = sysdig(&[
            "-r",
            theirs_path.to_str().unwrap(),
            "-p",
            &format(&fields),
            "evt.dir=<",
        ]);
        let (code, ours, err) = syscap(&[
            "print",
            ours_path.to_str().unwrap(),
            "-p",
            &format(&fields),
            "evt.dir=<",
        ]);
        assert_eq!(code, 0, "{err}");
        let (theirs, ours): (Vec<&str>, Vec<&str>) =
            (theirs.lines().collect(), ours.lines().collect());
        assert_eq!(theirs.len(), ours.len(), "{sample}: as many calls");
        let mut differing = Vec::new();
        for (n, (a, b)) in theirs.iter().zip(&ours).enumerate() {
            let (a, b): (Vec<&str>, Vec<&str>) = (a.split(SEP).collect(), b.split(SEP).collect());
            let agree = a.iter().zip(&b).all(|(x, y)| x == y || *x == "<NA>");
            if a.iter().skip(2).any(|x| *x != "<NA>") {
                compared += 1;
            }
            if agree {
                continue;
            }
            differing.push(n + 1);
            if sample == "single_ipv6_conn" {
                // Item 12: the same two ends, swapped.
                let swapped = [&b[..2], &b[5..], &b[2..5]].concat();
                if a != swapped {
                    failures.push(format!("{sample} line {}: not swapped: {a:?} {b:?}", n + 1));
                }
            }
        }
        if differing != allowed {
            failures.push(format!(
                "{sample}: lines {differing:?} differ, the README explains {allowed:?}"
            ));
        }
    }
    assert!(compared >= 30, "{compared} lines with a socket's ends");
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// A bound socket is a server socket, as sysdig says from its bind on
/// (`fd.is_server` of `bind` and `listen`, the server's and the client's
/// bind before its connect); what follows a connect differs by which end is
/// local (conformance README item 12).
#[test]
fn bound_sockets_are_servers_as_in_sysdig() {
    let path = scap_samples().join("single_ipv6_conn.scap");
    let path = path.to_str().unwrap();
    let format = "%thread.tid %evt.type %fd.is_server %fd.name";
    let theirs = sysdig(&[
        "-r",
        path,
        "-p",
        format,
        "evt.type in (bind, listen) and evt.dir=<",
    ]);
    let (code, ours, err) = syscap(&["print", path, "-p", format, "evt.type in (bind, listen)"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(ours.matches(" true ").count(), 3, "{ours}");
    assert_eq!(ours, theirs);
}
