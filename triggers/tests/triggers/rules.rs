//! Rules files from text to firings: validation errors with positions, and
//! every condition kind driven by synthetic streams and a simulated clock.

use std::fmt::Write as _;

use capture_format::file::{CaptureReader, Projection};
use triggers::filter::{Env, ProcessFacts};
use triggers::rules::{Alert, Engine, Firing, Metric, MetricSample, Refusal, check, load};

use super::filter::{T0, capture};

const S: u64 = 1_000_000_000;

fn engine(yaml: &str) -> Engine {
    Engine::new(load("rules.yaml", yaml).unwrap_or_else(|e| panic!("{e}")))
}

#[test]
fn invalid_files_are_refused_with_file_line_column_and_rule() {
    let cases: &[(&str, &str)] = &[
        ("", "rules.yaml:1:1: the rules file is empty"),
        ("rules: [", "rules.yaml:2:1: YAML: while parsing a node"),
        (
            "rulez: []",
            "rules.yaml:1:1: unknown key 'rulez' (expected one of: rules, limits)",
        ),
        (
            "rules:\n  - name: a\n",
            "rules.yaml:2:5: rule 'a': missing key 'condition'",
        ),
        (
            "rules:\n  - name: a\n    condition: {event: 'proc.nme = x'}\n",
            "rules.yaml:3:25: rule 'a': filter: unknown field 'proc.nme' (did you mean proc.name?)",
        ),
        (
            "rules:\n  - name: a\n    condition:\n      event: evt.type=open\n    capture:\n      befor: 10s\n",
            "rules.yaml:6:7: rule 'a': unknown key 'befor' (expected one of: before, after, filter, snaplen, max_size, storage_prefix, tags)",
        ),
        (
            "rules:\n  - name: a\n    condition: {metric: cpu_percent, above: 90, at_least: 3}\n",
            "rules.yaml:3:49: rule 'a': 'at_least' does not apply to a metric condition",
        ),
        (
            "rules:\n  - name: a\n    condition: {metric: cpu, above: 90}\n",
            "rules.yaml:3:25: rule 'a': unknown metric 'cpu' (expected one of: cpu_percent, rss_bytes, syscall_rate, error_rate, open_fds, connection_rate)",
        ),
        (
            "rules:\n  - name: a\n    condition: {event: evt.type=open, at_least: 5}\n",
            "rules.yaml:3:16: rule 'a': 'at_least' needs 'within' (a time window)",
        ),
        (
            "rules:\n  - name: a\n    condition: {process_down: evt.type=open, for: 10s}\n",
            "rules.yaml:3:31: rule 'a': process filters may use only",
        ),
        (
            "rules:\n  - name: a\n    condition: {manual: true}\n    cooldown: soon\n",
            "rules.yaml:4:15: rule 'a': expected a duration (30s, 5m, 500ms), found 'soon'",
        ),
        (
            "rules:\n  - name: a\n    condition: {manual: true}\n    capture: {filter: 'container.id = ${container.id}'}\n",
            "rule 'a': ${field} in a capture filter needs an event condition",
        ),
        (
            "rules:\n  - name: a\n    condition: {manual: true}\n  - name: a\n    condition: {manual: true}\n",
            "rules.yaml:4:5: rule 'a': a second rule named 'a'",
        ),
        (
            "rules:\n  - name: a\n    condition: {manual: true, event: x=1}\n",
            "rule 'a': a condition has one kind, found",
        ),
        (
            "rules:\n  - name: a\n    condition: {event: evt.type=open}\n    capture: {filter: 'fd.name = \"${fd.name}\"'}\n",
            "write ${field} without quotes: syscap quotes the value",
        ),
        (
            "rules:\n  - name: a\n    condition: {manual: true}\n    capture: {snaplen: 16385}\n",
            "rules.yaml:4:24: rule 'a': expected a whole number from 0 to 16384, found '16385'",
        ),
        (
            "rules:\n  - name: a\n    condition: {manual: true}\n    capture: {storage_prefix: 'a/../b'}\n",
            "rules.yaml:4:31: rule 'a': storage_prefix 'a/../b': '..' is not a key name",
        ),
        (
            "rules:\n  - name: a\n    condition: {manual: true}\n    capture: {storage_prefix: 'a//b'}\n",
            "storage_prefix 'a//b': '' is not a key name",
        ),
        (
            "rules:\n  - name: a\n    condition: {manual: true}\n    capture: {tags: {'team x': db}}\n",
            "rules.yaml:4:22: rule 'a': tag 'team x': a tag name is 1 to 64 letters, digits, '-' or '_'",
        ),
        (
            "rules:\n  - name: a\n    condition: {manual: true}\n    capture: {tags: {team: db, Team: web}}\n",
            "rules.yaml:4:32: rule 'a': tag 'Team' is given twice",
        ),
        (
            "rules:\n  - name: a\n    condition: {manual: true}\n    capture: {filter: 'proc.name = '}\n",
            "rules.yaml:4:23: rule 'a': capture filter: expected a value after '=' at 1:12",
        ),
        (
            "rules:\n  - name: a\n    condition: {anomaly: open_fds, sigma: 0}\n",
            "rules.yaml:3:43: rule 'a': 'sigma' must be above 0",
        ),
        (
            "rules:\n  - name: a\n    condition:\n      event: |\n        proc.name = x and\n        fd.nam = y\n",
            "rules.yaml:5:9: rule 'a': filter: unknown field 'fd.nam' (did you mean fd.name?) at 2:1 of the filter",
        ),
        (
            "rules:\n  - name: a\n    condition: {manual: true}\n    enabled: maybe\n",
            "rules.yaml:4:14: rule 'a': 'enabled' is true or false, not 'maybe'",
        ),
    ];
    for &(yaml, want) in cases {
        let err = load("rules.yaml", yaml).unwrap_err().to_string();
        assert!(
            err.starts_with(want) || err.contains(want),
            "{yaml:?}\n  got:  {err}\n  want: {want}"
        );
        assert!(!err.contains('\n'), "{err}");
    }
}

/// `evt.deltatime` needs the previous event, which a rule's condition and
/// capture filter do not have: refused with the field's position.
#[test]
fn rules_refuse_deltatime() {
    let cases: &[(&str, &str)] = &[
        (
            "rules:\n  - name: a\n    condition: {event: 'evt.type = read and evt.deltatime < 5'}\n",
            "rules.yaml:3:45: rule 'a': filter: evt.deltatime needs the previous event",
        ),
        (
            "rules:\n  - name: a\n    condition: {manual: true}\n    capture: {filter: 'evt.deltatime.s > 1'}\n",
            "evt.deltatime needs the previous event",
        ),
    ];
    for &(yaml, want) in cases {
        let err = load("rules.yaml", yaml).unwrap_err().to_string();
        assert!(
            err.contains(want),
            "{yaml:?}\n  got:  {err}\n  want: {want}"
        );
    }
}

/// `check` reports every error of a file, each with its file, line, column
/// and rule, in file order: the first of each wrong rule, a duplicate name,
/// a wrong limit; the valid rules between them do not hide the later ones.
/// `load` stops at the first.
#[test]
fn check_reports_every_error_in_file_order() {
    let yaml = "rules:
  - name: a
    condition: {manual: true}
    capture: {filter: 'proc.name = '}
  - name: ok
    condition: {manual: true}
  - name: b
    condition: {anomaly: open_fds, sigma: 0}
  - name: ok
    condition: {manual: true}
  - name: c
    condition: {manual: true}
    enabled: maybe
limits: {max_concurrent_captures: 0}
";
    let errors: Vec<String> = check("rules.yaml", yaml)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    let want = [
        "rules.yaml:4:23: rule 'a': capture filter:",
        "rules.yaml:8:43: rule 'b': 'sigma' must be above 0",
        "rules.yaml:9:5: rule 'ok': a second rule named 'ok'",
        "rules.yaml:13:14: rule 'c': 'enabled' is true or false",
        "rules.yaml:14:",
    ];
    assert_eq!(errors.len(), want.len(), "{errors:#?}");
    for (got, want) in errors.iter().zip(want) {
        assert!(got.starts_with(want), "got:  {got}\nwant: {want}");
    }
    assert_eq!(load("rules.yaml", yaml).unwrap_err().to_string(), errors[0]);
    assert_eq!(
        check(
            "rules.yaml",
            "rules:\n  - name: ok\n    condition: {manual: true}\n"
        )
        .map(|s| s.rules.len()),
        Ok(1)
    );
}

/// The events of the filter tests' capture.
fn with_events(mut f: impl FnMut(&capture_format::file::Event<'_>)) {
    let bytes = capture();
    let reader = CaptureReader::open(bytes.as_slice()).unwrap();
    let chunk = reader.read_chunk(0, Projection::ALL).unwrap();
    for e in chunk.events() {
        f(&e);
    }
}

#[test]
fn event_rules_fire_with_templates_counts_and_cooldowns() {
    let mut engine = engine(
        "rules:
  - name: shell-from-nginx
    condition:
      event: proc.pname=nginx and evt.type=execve
    capture:
      before: 5s
      after: 20s
      filter: 'container.id = ${container.id} or proc.pid = ${proc.pid}'
  - name: two-opens
    condition: {event: evt.type=openat, at_least: 2, within: 10ms}
  - name: any-io
    condition: {event: evt.is_io=true}
    cooldown: 1h
limits:
  max_concurrent_captures: 10
",
    );
    let env = Env {
        capture_start: T0,
        ..Env::default()
    };
    let mut fired: Vec<Firing> = Vec::new();
    with_events(|e| engine.on_event(e, &env, &mut fired));
    let names: Vec<&str> = fired.iter().map(|f| f.rule.as_str()).collect();
    // Two opens 1 ms apart fire once; the I/O rule fires once (then cools
    // down); the shell rule fires on the exec.
    assert_eq!(names, ["two-opens", "any-io", "shell-from-nginx"]);
    let shell = &fired[2];
    assert_eq!((shell.capture.before, shell.capture.after), (5 * S, 20 * S));
    assert_eq!(
        shell
            .filter
            .as_ref()
            .map(|f| f.text().to_string())
            .as_deref(),
        Some("container.id = '3ad7b0f3c1e2' or proc.pid = 200")
    );
    assert!(
        shell.reason.contains("event 8 (execve)"),
        "{}",
        shell.reason
    );
    let refusals: Vec<_> = engine.refusals().collect();
    assert_eq!(refusals, [("any-io", "cooldown", 1)]);
}

/// A capture filter is compiled when the rules load; a firing carries the
/// filter it applies (what the capture's header stores), or says why none.
#[test]
fn firings_carry_the_capture_filter_they_apply() {
    let mut engine = engine(
        "rules:
  - name: fixed
    condition: {manual: true}
    capture: {filter: 'proc.name = nginx'}
  - name: templated
    condition: {event: evt.type=execve}
    capture: {filter: 'proc.pid = ${proc.pid}'}
limits: {max_concurrent_captures: 10}
",
    );
    let fixed = engine.trigger("fixed", T0).unwrap();
    assert_eq!(
        fixed.filter.as_ref().map(triggers::Filter::text),
        Some("proc.name = nginx")
    );
    assert!(!fixed.reason.contains("not applied"), "{}", fixed.reason);
    let by_hand = engine.trigger("templated", T0).unwrap();
    assert!(by_hand.filter.is_none());
    assert!(
        by_hand
            .reason
            .contains("capture filter not applied (no event fired the rule to fill in its fields)"),
        "{}",
        by_hand.reason
    );
}

#[test]
fn the_concurrent_capture_limit_holds_until_a_capture_finishes() {
    let mut engine = engine(
        "rules:
  - {name: a, condition: {manual: true}}
  - {name: b, condition: {manual: true}}
limits: {max_concurrent_captures: 1}
",
    );
    assert!(engine.trigger("a", T0).is_ok());
    assert_eq!(
        engine.trigger("b", T0 + S).unwrap_err(),
        Refusal::TooManyCaptures
    );
    engine.capture_finished();
    assert!(engine.trigger("b", T0 + 2 * S).is_ok());
    assert_eq!(
        engine.trigger("nope", T0).unwrap_err(),
        Refusal::UnknownRule
    );
}

#[test]
fn a_reload_keeps_the_state_of_rules_it_keeps() {
    let rules = "rules:
  - {name: a, condition: {manual: true}, cooldown: 1m}
  - {name: b, condition: {manual: true}, cooldown: 1m}
limits: {max_concurrent_captures: 3}
";
    let mut engine = engine(rules);
    assert!(engine.trigger("a", T0).is_ok());
    assert!(engine.trigger("b", T0).is_ok());
    let renamed = rules.replace("name: b", "name: c");
    let mut engine = engine.reload(load("rules.yaml", &renamed).unwrap());
    assert_eq!(engine.running(), 2, "running captures carry over");
    assert_eq!(
        engine.trigger("a", T0 + S).unwrap_err(),
        Refusal::Cooldown,
        "a kept rule keeps its cooldown"
    );
    assert!(
        engine.trigger("c", T0 + S).is_ok(),
        "a new rule starts afresh"
    );
    let refusals: Vec<_> = engine.refusals().collect();
    assert_eq!(refusals, [("a", "cooldown", 1)]);
}

fn sample(t: u64, metric: Metric, value: f64, process: Option<ProcessFacts>) -> MetricSample {
    MetricSample {
        ts: T0 + t * S,
        metric,
        value,
        process,
    }
}

#[test]
fn metric_rules_fire_after_holding_for_their_duration() {
    let mut engine = engine(
        "rules:
  - name: hot
    condition: {metric: cpu_percent, above: 90, for: 30s}
  - name: java-rss
    condition: {metric: rss_bytes, process: proc.name=java, above: 2GiB}
",
    );
    let watched: Vec<_> = engine
        .process_metrics()
        .map(|(m, f)| (m, f.text().to_owned()))
        .collect();
    assert_eq!(
        watched,
        [(Metric::RssBytes, "proc.name=java".to_owned())],
        "only the per-process condition asks for process samples"
    );
    let mut out = Vec::new();
    // Above for 20 s, a dip, then above for 30 s.
    for t in 0..=20 {
        engine.on_metric(&sample(t, Metric::CpuPercent, 95.0, None), &mut out);
    }
    engine.on_metric(&sample(21, Metric::CpuPercent, 50.0, None), &mut out);
    assert!(out.is_empty());
    for t in 22..=52 {
        engine.on_metric(&sample(t, Metric::CpuPercent, 99.0, None), &mut out);
    }
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].ts, T0 + 52 * S);
    assert!(
        out[0].reason.contains("cpu_percent of host is 99"),
        "{}",
        out[0].reason
    );

    let java = ProcessFacts {
        pid: 42,
        name: b"java".to_vec(),
        ..ProcessFacts::default()
    };
    let nginx = ProcessFacts {
        pid: 7,
        name: b"nginx".to_vec(),
        ..ProcessFacts::default()
    };
    let mut out = Vec::new();
    engine.on_metric(&sample(60, Metric::RssBytes, 3e9, Some(nginx)), &mut out);
    assert!(out.is_empty(), "other processes do not count");
    engine.on_metric(&sample(61, Metric::RssBytes, 3e9, Some(java)), &mut out);
    assert_eq!(out.len(), 1);
    assert!(out[0].reason.contains("java(42)"), "{}", out[0].reason);
}

#[test]
fn process_down_fires_when_no_process_matches_for_a_while() {
    let mut engine = engine(
        "rules:\n  - {name: nginx-down, condition: {process_down: proc.name=nginx, for: 10s}}\n",
    );
    let nginx = ProcessFacts {
        name: b"nginx".to_vec(),
        ..ProcessFacts::default()
    };
    let mut out = Vec::new();
    engine.on_processes(T0, std::slice::from_ref(&nginx), &mut out);
    for t in 1..=10 {
        engine.on_processes(T0 + t * S, &[], &mut out);
    }
    assert!(out.is_empty(), "down for 9 s only");
    engine.on_processes(T0 + 11 * S, &[], &mut out);
    assert_eq!(out.len(), 1);
    assert!(
        out[0]
            .reason
            .contains("no process matched 'proc.name=nginx' for 10s"),
        "{}",
        out[0].reason
    );
}

#[test]
fn anomalies_are_measured_against_the_rolling_baseline() {
    let mut engine = engine(
        "rules:\n  - {name: spike, condition: {anomaly: syscall_rate, sigma: 4, window: 60s, min_samples: 20}}\n",
    );
    let mut out = Vec::new();
    // A steady rate with some noise, then a spike.
    for t in 0..60 {
        let noise = f64::from(u32::try_from(t % 7).unwrap()) * 100.0;
        engine.on_metric(
            &sample(t, Metric::SyscallRate, 50_000.0 + noise, None),
            &mut out,
        );
    }
    assert!(out.is_empty(), "{:?}", out.first().map(|f| &f.reason));
    engine.on_metric(&sample(60, Metric::SyscallRate, 400_000.0, None), &mut out);
    assert_eq!(out.len(), 1);
    assert!(
        out[0]
            .reason
            .contains("syscall_rate is 400000 against a baseline of"),
        "{}",
        out[0].reason
    );
}

#[test]
fn templates_take_argument_fields_and_say_when_they_cannot_be_filled() {
    let mut engine = engine(
        "rules:
  - name: clone-fd
    condition: {event: evt.type=clone}
    capture: {filter: 'fd.num = ${fd.num} or evt.arg.fd = ${evt.arg.fd}'}
  - name: off
    enabled: false
    condition: {event: evt.type=openat}
",
    );
    let env = Env::default();
    let mut fired = Vec::new();
    with_events(|e| engine.on_event(e, &env, &mut fired));
    assert_eq!(fired.len(), 1, "the disabled rule does not fire");
    assert!(fired[0].filter.is_none());
    assert!(
        fired[0].reason.contains(
            "capture filter not applied (FdNum has no value for this event), keeping every event"
        ),
        "{}",
        fired[0].reason
    );
}

#[test]
fn a_hold_restarts_after_a_gap_in_samples() {
    let mut engine = engine(
        "rules:\n  - {name: hot, condition: {metric: cpu_percent, process: proc.name=x, above: 90, for: 60s}}\n",
    );
    let p = ProcessFacts {
        pid: 100,
        name: b"x".to_vec(),
        ..ProcessFacts::default()
    };
    let mut out = Vec::new();
    engine.on_metric(
        &sample(0, Metric::CpuPercent, 99.0, Some(p.clone())),
        &mut out,
    );
    // Hours later, a new process with the same pid is hot once.
    engine.on_metric(&sample(7200, Metric::CpuPercent, 99.0, Some(p)), &mut out);
    assert!(out.is_empty());
}

#[test]
fn a_flat_baseline_and_bad_samples_do_not_fire_anomalies() {
    let mut engine = engine(
        "rules:\n  - {name: fds, condition: {anomaly: open_fds, sigma: 3, window: 60s, min_samples: 10}}\n",
    );
    let mut out = Vec::new();
    for t in 0..20 {
        engine.on_metric(&sample(t, Metric::OpenFds, 100.0, None), &mut out);
    }
    engine.on_metric(&sample(20, Metric::OpenFds, 101.0, None), &mut out);
    engine.on_metric(&sample(21, Metric::OpenFds, f64::NAN, None), &mut out);
    assert!(out.is_empty(), "{:?}", out.first().map(|f| &f.reason));
    engine.on_metric(&sample(22, Metric::OpenFds, 200.0, None), &mut out);
    assert_eq!(out.len(), 1);
}

/// Runs `work` on a thread and fails if it takes longer than `deadline`
/// (without waiting for it to end).
fn within(deadline: std::time::Duration, what: &str, work: impl FnOnce() + Send + 'static) {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        work();
        let _ = done.send(());
    });
    assert!(
        finished.recv_timeout(deadline).is_ok(),
        "{what} took longer than {deadline:?}"
    );
}

#[test]
fn many_rules_and_tags_load_and_reload_in_linear_time() {
    // Far beyond any real file: a check that compares each rule (or tag)
    // with all those before it makes 5e9 comparisons here (minutes in a
    // debug build); a linear load takes a few seconds.
    const N: usize = 100_000;
    let deadline = std::time::Duration::from_mins(1);
    let mut rules = String::from("rules:\n");
    for i in 0..N {
        writeln!(rules, "  - {{name: r{i}, condition: {{manual: true}}}}").unwrap();
    }
    let mut tags = String::from(
        "rules:\n  - name: tagged\n    condition: {manual: true}\n    capture:\n      tags:\n",
    );
    for i in 0..N {
        writeln!(tags, "        t{i}: v").unwrap();
    }
    let text = rules.clone();
    within(deadline, "loading 100k rules", move || {
        let set = load("rules.yaml", &text).unwrap();
        assert_eq!(set.rules.len(), N);
    });
    within(deadline, "loading 100k tags", move || {
        let set = load("rules.yaml", &tags).unwrap();
        assert_eq!(set.rules[0].capture.tags.len(), N);
    });
    within(deadline, "reloading 100k rules", move || {
        let engine = Engine::new(load("rules.yaml", &rules).unwrap());
        let mut engine = engine.reload(load("rules.yaml", &rules).unwrap());
        assert!(engine.trigger("r99999", T0).is_ok());
    });
    // Duplicates are still refused, and named where the second one is.
    let dup = "rules:\n  - {name: a, condition: {manual: true}}\n  - {name: a, condition: {manual: true}}\n";
    assert_eq!(
        load("rules.yaml", dup).unwrap_err().to_string(),
        "rules.yaml:3:6: rule 'a': a second rule named 'a'"
    );
    let dup = "rules:\n  - name: a\n    condition: {manual: true}\n    capture: {tags: {Team: x, team: y}}\n";
    assert!(
        load("rules.yaml", dup)
            .unwrap_err()
            .to_string()
            .contains("tag 'team' is given twice")
    );
}

/// Alert conditions: errors point into the file like the other kinds.
#[test]
fn alert_conditions_are_checked_with_positions() {
    let cases: &[(&str, &str)] = &[
        (
            "rules:\n  - name: a\n    condition: {alert: {labels: {pod: x}}}\n",
            "rules.yaml:3:24: rule 'a': an alert condition needs 'alertname'",
        ),
        (
            "rules:\n  - name: a\n    condition: {alert: {alertname: X, lables: {}}}\n",
            "rules.yaml:3:39: rule 'a': unknown key 'lables' (expected one of: alertname, labels)",
        ),
        (
            "rules:\n  - name: a\n    condition: {alert: {alertname: X, labels: {pod: '=~web-('}}}\n",
            "rules.yaml:3:53: rule 'a': label 'pod': bad regular expression: unclosed group",
        ),
        (
            "rules:\n  - name: a\n    condition: {alert: {alertname: X, labels: {pod: '!~web-('}}}\n",
            "rules.yaml:3:53: rule 'a': label 'pod': bad regular expression: unclosed group",
        ),
        (
            "rules:\n  - name: a\n    condition: {alert: {alertname: X, labels: {9x: y}}}\n",
            "rules.yaml:3:48: rule 'a': label '9x': a label name is letters",
        ),
        (
            "rules:\n  - name: a\n    condition: {alert: {alertname: X}, within: 5s}\n",
            "rules.yaml:3:40: rule 'a': 'within' does not apply to a alert condition",
        ),
        (
            "rules:\n  - name: a\n    condition: {alert: {alertname: X, labels: [pod]}}\n",
            "rules.yaml:3:47: rule 'a': 'labels' must be a mapping",
        ),
    ];
    for &(yaml, want) in cases {
        let err = load("rules.yaml", yaml).unwrap_err().to_string();
        assert!(
            err.starts_with(want),
            "{yaml:?}\n  got:  {err}\n  want: {want}"
        );
    }
    let set = load(
        "rules.yaml",
        "rules:\n  - name: a\n    condition: {alert: {alertname: HighErrors, labels: {pod: '=~web-.*', ns: prod, env: '!=dev', zone: '!~eu-.*'}}}\n    cooldown: 5m\n",
    )
    .unwrap();
    assert_eq!(
        set.rules[0].to_string(),
        r#"a: alert "HighErrors" pod=~"web-.*" ns="prod" env!="dev" zone!~"eu-.*" -> capture 10s before, 30s after, cooldown 5m"#
    );
}

fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// A firing alert whose labels match starts the rule's capture, tagged
/// with the alert; the same alert again within the cooldown starts nothing,
/// another alert (fingerprint) of the rule starts its own capture (the
/// cooldown is per alert, the capture limit still holds), resolved alerts and other names or labels match nothing.
#[test]
fn alerts_fire_their_rules_once_per_fingerprint_within_the_cooldown() {
    let mut engine = engine(
        "limits: {max_concurrent_captures: 1}
rules:
  - name: web
    condition: {alert: {alertname: HighErrors, labels: {pod: '=~web-.*', env: '!=dev'}}}
    capture: {tags: {team: web}}
    cooldown: 60s
  - name: other
    condition: {alert: {alertname: Other}}
",
    );
    let web1 = labels(&[
        ("alertname", "HighErrors"),
        ("pod", "web-1"),
        ("env", "prod"),
    ]);
    let alert = |labels, fingerprint, firing| Alert {
        name: "HighErrors",
        labels,
        fingerprint,
        firing,
    };
    let mut out = Vec::new();
    assert_eq!(engine.on_alert(&alert(&web1, "f1", false), T0, &mut out), 0);
    assert!(out.is_empty());
    assert_eq!(engine.on_alert(&alert(&web1, "f1", true), T0, &mut out), 1);
    let [firing] = out.as_slice() else {
        panic!("{out:?}")
    };
    assert_eq!(firing.rule, "web");
    assert_eq!(firing.reason, "alert HighErrors (f1)");
    assert_eq!(
        firing.capture.tags,
        labels(&[
            ("team", "web"),
            ("alertname", "HighErrors"),
            ("alert_pod", "web-1"),
            ("alert_env", "prod")
        ])
    );
    engine.capture_finished();
    out.clear();
    // Re-sent: the same fingerprint, inside the cooldown.
    assert_eq!(
        engine.on_alert(&alert(&web1, "f1", true), T0 + 30 * S, &mut out),
        1
    );
    assert!(out.is_empty());
    // Another alert of the rule, inside f1's cooldown: a capture of its own.
    let web2 = labels(&[("alertname", "HighErrors"), ("pod", "web-2")]);
    assert_eq!(
        engine.on_alert(&alert(&web2, "f2", true), T0 + 30 * S, &mut out),
        1
    );
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].reason, "alert HighErrors (f2)");
    out.clear();
    // While that capture runs, a third alert is held by the capture limit.
    let web3 = labels(&[("alertname", "HighErrors"), ("pod", "web-3")]);
    assert_eq!(
        engine.on_alert(&alert(&web3, "f4", true), T0 + 31 * S, &mut out),
        1
    );
    assert!(out.is_empty());
    engine.capture_finished();
    // Labels that do not match.
    for bad in [
        labels(&[("alertname", "HighErrors"), ("pod", "db-1")]),
        labels(&[
            ("alertname", "HighErrors"),
            ("pod", "web-1"),
            ("env", "dev"),
        ]),
        labels(&[("alertname", "HighErrors")]),
    ] {
        let a = Alert {
            name: "HighErrors",
            labels: &bad,
            fingerprint: "f3",
            firing: true,
        };
        assert_eq!(engine.on_alert(&a, T0 + 90 * S, &mut out), 0);
    }
    let refused: Vec<_> = engine.refusals().filter(|(r, _, _)| *r == "web").collect();
    assert!(refused.contains(&("web", "same alert", 1)), "{refused:?}");
    assert!(
        refused.contains(&("web", "too many captures", 1)),
        "{refused:?}"
    );
    assert!(!refused.iter().any(|r| r.1 == "cooldown"), "{refused:?}");
    // After the cooldown the same alert fires again.
    assert_eq!(
        engine.on_alert(&alert(&web1, "f1", true), T0 + 61 * S, &mut out),
        1
    );
    assert_eq!(out.len(), 1);
}

/// `${alert.labels.NAME}` in a capture filter takes the label of the alert
/// that fired, quoted; an alert without it keeps everything and says so;
/// only alert rules may name alert labels.
#[test]
fn capture_filters_take_the_labels_of_the_alert() {
    let errors: &[(&str, &str)] = &[
        (
            "rules:\n  - name: a\n    condition: {manual: true}\n    capture: {filter: 'k8s.pod.name = ${alert.labels.pod}'}\n",
            "rules.yaml:4:23: rule 'a': ${alert.labels.NAME} in a capture filter needs an alert condition",
        ),
        (
            "rules:\n  - name: a\n    condition: {alert: {alertname: X}}\n    capture: {filter: 'k8s.pod.name = ${alert.labels.9}'}\n",
            "rules.yaml:4:53: rule 'a': '9' is not an alert label name",
        ),
        (
            "rules:\n  - name: a\n    condition: {alert: {alertname: X}}\n    capture: {filter: 'k8s.pod.name = ${proc.name}'}\n",
            "rules.yaml:4:23: rule 'a': ${field} in a capture filter needs an event condition",
        ),
    ];
    for &(yaml, want) in errors {
        let err = load("rules.yaml", yaml).unwrap_err().to_string();
        assert!(
            err.starts_with(want),
            "{yaml:?}\n  got:  {err}\n  want: {want}"
        );
    }
    let mut engine = engine(
        "rules:
  - name: pod
    condition: {alert: {alertname: X}}
    capture: {filter: 'k8s.pod.name = ${alert.labels.pod} and evt.type = open'}
",
    );
    let fire = |engine: &mut Engine, labels: &[(String, String)], fingerprint, ts| {
        let mut out = Vec::new();
        let alert = Alert {
            name: "X",
            labels,
            fingerprint,
            firing: true,
        };
        engine.on_alert(&alert, ts, &mut out);
        engine.capture_finished();
        out.pop().expect("a firing")
    };
    let firing = fire(
        &mut engine,
        &labels(&[("alertname", "X"), ("pod", "web-1' or 'a")]),
        "f1",
        T0,
    );
    assert_eq!(
        firing.filter.map(|f| f.text().to_owned()).as_deref(),
        Some(r"k8s.pod.name = 'web-1\' or \'a' and evt.type = open")
    );
    let firing = fire(&mut engine, &labels(&[("alertname", "X")]), "f2", T0 + S);
    assert!(firing.filter.is_none());
    assert!(
        firing.reason.ends_with(
            "capture filter not applied (the alert has no label 'pod'), keeping every event"
        ),
        "{}",
        firing.reason
    );
}

/// Alert tags fit S3's 2 KB of metadata as the upload writes it: each tag
/// as `tag-NAME`, values percent-encoded (3 bytes for '%' and each byte of
/// non-ASCII text), so labels of 250 bytes of 'é' or '%' are counted at
/// 750 and those beyond the budget are dropped.
#[test]
fn alert_tags_are_budgeted_as_encoded_s3_metadata() {
    let encoded = |v: &str| -> usize {
        v.bytes()
            .map(|b| {
                if (0x20..0x7f).contains(&b) && b != b'%' {
                    1
                } else {
                    3
                }
            })
            .sum()
    };
    for fill in ["é".repeat(125), "%".repeat(250)] {
        let mut engine = engine(
            "rules:\n  - name: a\n    condition: {alert: {alertname: Big}}\n    cooldown: 0s\n",
        );
        let mut pairs = vec![("alertname".to_owned(), "Big".to_owned())];
        pairs.extend((0..8).map(|i| (format!("l{i}"), fill.clone())));
        let alert = Alert {
            name: "Big",
            labels: &pairs,
            fingerprint: "f1",
            firing: true,
        };
        let mut out = Vec::new();
        assert_eq!(engine.on_alert(&alert, T0, &mut out), 1);
        let [firing] = out.as_slice() else {
            panic!("{out:?}")
        };
        let tags = &firing.capture.tags;
        let size: usize = tags
            .iter()
            .map(|(k, v)| "tag-".len() + k.len() + encoded(v))
            .sum();
        assert!(size <= 1024, "{size} bytes of metadata: {tags:?}");
        // The name and one label (4 + 9 + 3 + 4 + 8 + 750) fit; a second
        // label would not.
        assert_eq!(tags.len(), 2, "{tags:?}");
        assert_eq!(tags[0], ("alertname".to_owned(), "Big".to_owned()));
    }
}

/// An alert rule remembers at most 1024 fingerprints for its cooldown: the
/// oldest is forgotten (and counted), so it may fire again.
#[test]
fn alert_fingerprints_are_bounded_oldest_forgotten() {
    let mut engine =
        engine("rules:\n  - name: a\n    condition: {alert: {alertname: A}}\n    cooldown: 1h\n");
    let pairs = labels(&[("alertname", "A")]);
    let mut out = Vec::new();
    let mut fire = |engine: &mut Engine, fingerprint: &str, ts| {
        out.clear();
        let alert = Alert {
            name: "A",
            labels: &pairs,
            fingerprint,
            firing: true,
        };
        engine.on_alert(&alert, ts, &mut out);
        engine.capture_finished();
        out.len()
    };
    for n in 0..1025_u64 {
        assert_eq!(fire(&mut engine, &format!("f{n}"), T0 + n), 1, "f{n}");
    }
    // f0 was forgotten for f1024; f1 is still remembered.
    assert_eq!(fire(&mut engine, "f1", T0 + 2000), 0);
    assert_eq!(fire(&mut engine, "f0", T0 + 2000), 1);
    let refused: Vec<_> = engine.refusals().collect();
    assert!(
        refused.contains(&("a", "alert fingerprint forgotten", 2)),
        "{refused:?}"
    );
}

/// An alert's name reaches the firing's reason (log, capture header)
/// escaped and cut to 256 bytes; the fingerprint escaped too.
#[test]
fn alert_reasons_escape_and_bound_the_name() {
    let long = "N".repeat(300);
    let cases: &[(&str, &str, String)] = &[
        ("Plain", "f1", "alert Plain (f1)".to_owned()),
        (
            "Bad\x1b[2J\nName",
            "f\x07",
            "alert Bad\\x1b[2J\\nName (f\\x07)".to_owned(),
        ),
        (&long, "f1", format!("alert {}... (f1)", "N".repeat(256))),
    ];
    for (name, fingerprint, want) in cases {
        let mut engine = engine(&format!(
            "rules:\n  - name: a\n    condition: {{alert: {{alertname: {}}}}}\n",
            yaml_quoted(name)
        ));
        let pairs = vec![("alertname".to_owned(), (*name).to_owned())];
        let alert = Alert {
            name,
            labels: &pairs,
            fingerprint,
            firing: true,
        };
        let mut out = Vec::new();
        assert_eq!(engine.on_alert(&alert, T0, &mut out), 1, "{name:?}");
        assert_eq!(&out[0].reason, want);
    }
}

/// `text` as a YAML double-quoted scalar.
fn yaml_quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `!~re` takes alerts whose label does not match `re` as a whole (a
/// missing label is empty), as Alertmanager's matcher does.
#[test]
fn alert_labels_match_negative_regexes_anchored() {
    let mut engine = engine(
        "rules:\n  - name: a\n    condition: {alert: {alertname: A, labels: {zone: '!~eu-.*'}}}\n    cooldown: 0s\n",
    );
    for (zone, fires) in [
        (Some("eu-west"), false),
        (Some("us-east"), true),
        (Some("us-eu-1"), true),
        (Some("!~eu-.*"), true),
        (None, true),
    ] {
        let mut pairs = labels(&[("alertname", "A")]);
        pairs.extend(zone.map(|z| ("zone".to_owned(), z.to_owned())));
        let alert = Alert {
            name: "A",
            labels: &pairs,
            fingerprint: "f1",
            firing: true,
        };
        let mut out = Vec::new();
        let matched = engine.on_alert(&alert, T0, &mut out);
        engine.capture_finished();
        assert_eq!(matched == 1, fires, "{zone:?}");
    }
}
