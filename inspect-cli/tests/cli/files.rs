//! Captures named as `file://` URLs and read from standard input (`-`)
//! wherever a capture is taken; `ls --since` durations and clock times;
//! sizes as people read them.

use std::path::Path;
use std::process::{Command, Stdio};

use super::{capture, outcome, scap_samples, syscap, tempdir};

/// `syscap ARGS` reading `input` on its standard input.
fn syscap_stdin(args: &[&str], input: &Path) -> (i32, String, String) {
    outcome(
        &Command::new(env!("CARGO_BIN_EXE_syscap"))
            .args(args)
            .stdin(Stdio::from(std::fs::File::open(input).unwrap()))
            .output()
            .expect("syscap runs"),
    )
}

/// Every command reads `file:///PATH` and `-` as it reads PATH: syscap
/// captures and `.scap` files.
#[test]
fn file_urls_and_stdin_everywhere() {
    let dir = tempdir("files");
    let synth = capture(&dir, 3_000);
    let scap = scap_samples().join("test_ipv6_client.scap");
    for path in [&synth, &scap] {
        let plain = path.to_str().unwrap();
        let url = format!("file://{plain}");
        let runs: &[&[&str]] = &[
            &["print", "CAPTURE", "-n", "50"],
            &["print", "CAPTURE", "evt.type = write"],
            &["summary", "CAPTURE"],
            &["chisel", "topscalls", "CAPTURE"],
            &["chisel", "lsof", "CAPTURE"],
            &["convert", "CAPTURE", "-"],
        ];
        for run in runs {
            let with = |name: &str| -> Vec<String> {
                run.iter()
                    .map(|w| if *w == "CAPTURE" { name } else { w }.to_owned())
                    .collect()
            };
            let args = with(plain);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let (code, want, err) = syscap(&args);
            assert_eq!(code, 0, "{args:?}: {err}");
            assert!(!want.is_empty(), "{args:?}");
            let by_url = with(&url);
            let by_url: Vec<&str> = by_url.iter().map(String::as_str).collect();
            let (code, got, err) = syscap(&by_url);
            assert_eq!((code, &got), (0, &want), "{by_url:?}: {err}");
            let by_stdin = with("-");
            let by_stdin: Vec<&str> = by_stdin.iter().map(String::as_str).collect();
            let (code, got, err) = syscap_stdin(&by_stdin, path);
            assert_eq!((code, &got), (0, &want), "{by_stdin:?}: {err}");
        }
        // info names the capture as given.
        let (code, out, err) = syscap(&["info", &url]);
        assert_eq!(code, 0, "{err}");
        assert!(out.starts_with(&format!("file         {url} (")), "{out}");
        let (code, out, err) = syscap_stdin(&["info", "-"], path);
        assert_eq!(code, 0, "{err}");
        assert!(out.starts_with("file         - ("), "{out}");
    }
    // What is not a capture on stdin: one line, exit 2.
    let junk = dir.join("junk");
    std::fs::write(&junk, b"not a capture").unwrap();
    let (code, _, err) = syscap_stdin(&["info", "-"], &junk);
    assert_eq!(code, 2);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("syscap: -: "), "{err}");

    // around reads its captures twice: not standard input.
    let (code, _, err) = syscap_stdin(
        &[
            "chisel",
            "around",
            "-",
            "10",
            "/dev/null",
            "--filter",
            "evt.type = read",
        ],
        &synth,
    );
    assert_eq!(code, 2);
    assert!(err.contains("give it a file, not -"), "{err}");

    // get copies a file:// capture; one without the agent's CRC32 only
    // with --no-verify, as from S3.
    let url = format!("file://{}", synth.display());
    let out_dir = dir.join("got");
    std::fs::create_dir_all(&out_dir).unwrap();
    let out_arg = out_dir.to_str().unwrap();
    let (code, _, err) = syscap(&["get", &url, "-o", out_arg]);
    assert_eq!(code, 2);
    assert!(err.contains("stored without a CRC32"), "{err}");
    let (code, out, err) = syscap(&["get", &url, "-o", out_arg, "--no-verify"]);
    assert_eq!(code, 0, "{err}");
    let copy = out_dir.join(synth.file_name().unwrap());
    assert!(out.contains("not verified"), "{out}");
    assert!(std::fs::read(&copy).unwrap() == std::fs::read(&synth).unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `ls --since` takes a duration ago and a clock time today (local or
/// UTC), and sizes read as people read them.
#[test]
fn ls_since_durations_and_clock_times_and_sizes() {
    let dir = tempdir("ls-since");
    let now = jiff::Timestamp::now().as_nanosecond();
    let day = 86_400_000_000_000_i128;
    let store = |name: &str, end: i128, size: usize| {
        let at = dir.join("host-1/2026/12/07");
        std::fs::create_dir_all(&at).unwrap();
        let path = at.join(format!("{name}.syscap"));
        std::fs::write(&path, vec![0u8; size]).unwrap();
        std::fs::write(
            path.with_extension("syscap.meta"),
            format!(
                "host=host-1\nrule={name}\nstart={}\nend={end}\nevents=7\n",
                end - 1
            ),
        )
        .unwrap();
    };
    store("recent", now - 1_000_000_000, 3_000);
    store("old", now - 2 * day, 2_147_483_648 / 1024);
    let url = format!("file://{}", dir.display());
    let rules = |since: &str| -> Vec<String> {
        let (code, out, err) = syscap(&["ls", &url, "--since", since]);
        assert_eq!(code, 0, "{since}: {err}");
        out.lines()
            .skip(1)
            .map(|l| l.split_whitespace().nth(2).unwrap().to_owned())
            .collect()
    };
    assert_eq!(rules("1h"), ["recent"]);
    assert_eq!(rules("3d"), ["old", "recent"]);
    assert_eq!(rules("00:00:00Z"), ["recent"]);
    assert_eq!(rules("00:00"), ["recent"]);
    let (code, _, err) = syscap(&["ls", &url, "--since", "soon"]);
    assert_eq!(code, 2);
    assert!(err.contains("a duration ago"), "{err}");

    let (code, out, err) = syscap(&["ls", &url]);
    assert_eq!(code, 0, "{err}");
    assert!(out.lines().next().unwrap().contains(" SIZE "), "{out}");
    assert!(out.contains(" 2.9KiB  "), "{out}");
    assert!(out.contains(" 2MiB  "), "{out}");
    let (_, json, _) = syscap(&["ls", &url, "--json"]);
    assert!(json.contains("\"bytes\":3000"), "{json}");
    assert!(json.contains("\"bytes\":2097152"), "{json}");

    let synth = capture(&dir, 20_000);
    let bytes = std::fs::metadata(&synth).unwrap().len();
    let (_, out, _) = syscap(&["info", synth.to_str().unwrap()]);
    let line = out.lines().next().unwrap();
    assert!(line.ends_with("KiB)"), "{line}");
    assert!(!line.contains(&bytes.to_string()), "{line}");
    let (_, json, _) = syscap(&["info", "--json", synth.to_str().unwrap()]);
    assert!(json.contains(&format!("\"bytes\": {bytes}")), "{json}");
    std::fs::remove_dir_all(&dir).unwrap();
}
