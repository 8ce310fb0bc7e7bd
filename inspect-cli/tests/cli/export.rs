//! `syscap export --format parquet` read by an engine nobody here wrote:
//! DuckDB (PyPI, in the venv `scripts/setup.sh test` makes) answers fleet
//! questions over the Hive-partitioned tree, and its answers equal what
//! `syscap print` with the same filter gives on the captures.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{scap_samples, syscap, tempdir};

/// The venv's Python, with `DuckDB` importable; fails loudly when missing.
fn duckdb_python() -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("inspect-cli is inside the repository");
    let python = std::env::var_os("SYSCAP_MOTO_SERVER")
        .map(PathBuf::from)
        .and_then(|moto| moto.parent().map(|bin| bin.join("python")))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| repo.join("target/moto-venv/bin/python"));
    let ok = Command::new(&python)
        .args(["-c", "import duckdb"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "{} cannot import duckdb: run scripts/setup.sh test (it installs DuckDB from PyPI in target/moto-venv)",
        python.display()
    );
    python
}

/// A synthetic capture of `host`.
fn host_capture(dir: &Path, host: &str, seed: u64, events: usize) -> PathBuf {
    use capture_format::file::{CaptureHeader, WriterOptions};
    use capture_format::synth::{SynthOptions, generate};
    let path = dir.join(format!("{host}.syscap"));
    let w = generate(&SynthOptions {
        events,
        seed,
        ..SynthOptions::default()
    });
    let header = CaptureHeader {
        hostname: host.into(),
        ..CaptureHeader::default()
    };
    w.write_to(
        std::fs::File::create(&path).unwrap(),
        &header,
        WriterOptions::default(),
    )
    .unwrap();
    path
}

/// `syscap print CAPTURE --json -p FORMAT FILTER`: one JSON object per
/// line (none when nothing matched).
fn print_json(capture: &Path, format: &str, filter: &str) -> Vec<serde_json::Value> {
    let mut args = vec!["print", capture.to_str().unwrap(), "--json", "-p", format];
    args.extend(filter.split_whitespace());
    let (code, out, err) = syscap(&args);
    assert!(code == 0 || code == 1, "print {args:?}: {err}");
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn text(v: &serde_json::Value) -> String {
    v.as_str().map_or_else(|| "<NA>".into(), str::to_owned)
}

#[test]
fn duckdb_answers_as_print_does() {
    let python = duckdb_python();
    let dir = tempdir("export");
    let samples = scap_samples();
    // Three synthetic hosts and two sysdig captures (failed connects).
    let mut captures: Vec<(PathBuf, String)> = [("web-1", 1), ("web-2", 2), ("db-1", 3)]
        .into_iter()
        .map(|(host, seed)| (host_capture(&dir, host, seed, 6000), host.to_owned()))
        .collect();
    for sample in ["curl_google", "test_ipv6_client"] {
        let path = samples.join(format!("{sample}.scap"));
        let (code, info, err) = syscap(&["info", "--json", path.to_str().unwrap()]);
        assert_eq!(code, 0, "{err}");
        let info: serde_json::Value = serde_json::from_str(&info).unwrap();
        captures.push((path, text(&info["host"])));
    }
    let out = dir.join("out");
    let mut args = vec!["export", "--format", "parquet", "-o", out.to_str().unwrap()];
    args.extend(captures.iter().map(|(p, _)| p.to_str().unwrap()));
    let (code, stdout, err) = syscap(&args);
    assert_eq!(code, 0, "{err}");
    assert_eq!(stdout.lines().count(), captures.len(), "{stdout}");
    let files: Vec<_> = stdout
        .lines()
        .map(|l| PathBuf::from(l.rsplit_once(" written to ").unwrap().1))
        .collect();
    for f in &files {
        assert!(f.starts_with(&out) && f.is_file(), "{}", f.display());
        let rel = f.strip_prefix(&out).unwrap().to_str().unwrap().to_owned();
        assert!(
            rel.starts_with("dt=") && rel.contains("/host="),
            "not a Hive path: {rel}"
        );
    }

    // The program to look for: one the first host executed.
    let program =
        text(&print_json(&captures[0].0, "%proc.name", "evt.type = execve")[0]["proc.name"]);

    // What print says, capture by capture.
    let mut hosts = BTreeSet::new();
    let mut calls = BTreeMap::new();
    let mut failed: BTreeMap<String, u64> = BTreeMap::new();
    let mut written: BTreeMap<String, u64> = BTreeMap::new();
    for (path, host) in &captures {
        let all = print_json(path, "%evt.num", "");
        *calls.entry(host.clone()).or_insert(0u64) += all.len() as u64;
        let ran = format!("evt.type = execve and proc.name = {program}");
        if !print_json(path, "%proc.name", &ran).is_empty() {
            hosts.insert(host.clone());
        }
        for e in print_json(
            path,
            "%proc.name",
            "evt.type = connect and evt.failed = true",
        ) {
            *failed.entry(text(&e["proc.name"])).or_default() += 1;
        }
        for e in print_json(path, "%fd.name %evt.buflen", "evt.type = write") {
            if let (Some(name), Some(n)) = (e["fd.name"].as_str(), e["evt.buflen"].as_u64()) {
                *written.entry(name.to_owned()).or_default() += n;
            }
        }
    }
    assert!(
        !hosts.is_empty() && hosts.len() < captures.len(),
        "{program}: {hosts:?}"
    );
    assert!(!failed.is_empty() && !written.is_empty());

    let answer = ask_duckdb(&python, &out, &program);
    let as_map = |v: &serde_json::Value| -> BTreeMap<String, u64> {
        v.as_object()
            .unwrap()
            .iter()
            .map(|(k, n)| (k.clone(), n.as_u64().unwrap()))
            .collect()
    };
    let duck_hosts: BTreeSet<String> = answer["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(text)
        .collect();
    assert_eq!(duck_hosts, hosts, "hosts that ran {program}");
    assert_eq!(as_map(&answer["calls"]), calls, "calls per host");
    assert_eq!(
        answer["view"].as_u64(),
        Some(calls.values().sum()),
        "the --ddl view"
    );
    assert_eq!(
        as_map(&answer["failed"]),
        failed,
        "failed connects per process"
    );
    assert_eq!(
        as_map(&answer["written"]),
        written,
        "bytes written per file"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// What `DuckDB` says over the tree at `out`: hosts that executed
/// `program`, calls per host, failed connects per process, bytes written
/// per file; and the calls of the view `syscap export --ddl duckdb`
/// defines.
fn ask_duckdb(python: &Path, out: &Path, program: &str) -> serde_json::Value {
    let (code, view, err) = syscap(&["export", "--ddl", "duckdb", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let script = r#"
import duckdb, json, sys
src = "read_parquet('" + sys.argv[1] + "/**/*.parquet', hive_partitioning = true)"
q = lambda sql, *p: duckdb.execute(sql.replace("SRC", src), list(p)).fetchall()
na = lambda v: "<NA>" if v is None else v
duckdb.execute(sys.argv[3])
print(json.dumps({
  "view": duckdb.execute("SELECT count(*) FROM syscap_calls").fetchone()[0],
  "hosts": sorted(h for (h,) in q("SELECT DISTINCT host FROM SRC WHERE evt_type = 'execve' AND proc_name = ?", sys.argv[2])),
  "calls": {h: n for h, n in q("SELECT host, count(*) FROM SRC GROUP BY host")},
  "failed": {na(p): n for p, n in q("SELECT proc_name, count(*) FROM SRC WHERE evt_type = 'connect' AND failed GROUP BY 1")},
  "written": {f: int(n) for f, n in q("SELECT fd_name, sum(io_bytes) FROM SRC WHERE evt_type = 'write' AND fd_name IS NOT NULL AND io_bytes IS NOT NULL GROUP BY 1")},
}))
"#;
    let run = Command::new(python)
        .args(["-c", script, out.to_str().unwrap(), program, &view])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "duckdb: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    serde_json::from_slice(&run.stdout).unwrap()
}

/// The filter and `--flat`: only the matching calls, in `DIR/NAME.parquet`;
/// an output that cannot be written is a one-line error naming it.
#[test]
fn export_filters_and_fails_in_one_line() {
    let dir = tempdir("export-filter");
    let capture = host_capture(&dir, "web-1", 4, 3000);
    let out = dir.join("flat");
    let (code, stdout, err) = syscap(&[
        "export",
        capture.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--flat",
        "evt.type",
        "=",
        "write",
    ]);
    assert_eq!(code, 0, "{err}");
    let writes = print_json(&capture, "%evt.num", "evt.type = write").len();
    assert!(writes > 0);
    let want = format!(
        "{writes} calls written to {}\n",
        out.join("web-1.parquet").display()
    );
    assert_eq!(stdout, want);

    let (code, _, err) = syscap(&[
        "export",
        capture.to_str().unwrap(),
        capture.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("another capture was written there"), "{err}");

    let blocker = dir.join("file");
    std::fs::write(&blocker, "").unwrap();
    let (code, stdout, err) = syscap(&[
        "export",
        capture.to_str().unwrap(),
        "-o",
        blocker.join("sub").to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{stdout}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("cannot create") && err.contains("file/sub"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
