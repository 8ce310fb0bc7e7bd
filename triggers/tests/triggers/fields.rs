//! Fields added for sysdig's list (`evt.datetime`, `proc.apid`,
//! `evt.is_open_read`, `fd.net`...) and the newer operators, on the events
//! of [`super::filter::capture`].

use capture_format::file::{CaptureReader, Projection};
use triggers::filter::{Env, Filter, Value, field, fields::value};

use super::filter::{T0, capture, selected};

/// Each filter's selected events (by number), with every column and with
/// the filter's own columns.
fn check(cases: &[(&str, &[u64])]) {
    let bytes = capture();
    let mut failures = Vec::new();
    for &(text, want) in cases {
        let filter = Filter::new(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        for projection in [Projection::ALL, filter.projection()] {
            let got = selected(&bytes, &filter, projection);
            if got != want {
                failures.push(format!("{text:<50} want {want:?}, got {got:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// The text of `name` for event `num`, as `-p` shows it.
fn shown(name: &str, num: u64) -> String {
    let bytes = capture();
    let reader = CaptureReader::open(&bytes[..]).unwrap();
    let env = Env {
        capture_start: T0,
        ..Env::default()
    };
    let f = field(name).unwrap();
    let chunk = reader.read_chunk(0, Projection::ALL).unwrap();
    let e = chunk.events().find(|e| e.num() == num).unwrap();
    let mut scratch = Vec::new();
    match value(f, &e, &env, &mut scratch) {
        Value::None => "<NA>".into(),
        Value::Num(n) => n.to_string(),
        Value::Frac(n) => format!("{n:09}"),
        Value::Signed(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Str(s) => String::from_utf8_lossy(s).into_owned(),
        Value::Ip(ip) => ip.to_string(),
    }
}

#[test]
fn new_fields_select_the_right_events() {
    check(&[
        ("evt.is_open_read=true", &[1, 2]),
        ("evt.is_open_write=true", &[]),
        ("evt.is_open_exec=true", &[]),
        ("syscall.type=read", &[3]),
        ("evt.is_wait=true", &[]),
        ("evt.wait_latency exists", &[]),
        ("evt.type.is.openat=1", &[1, 2]),
        ("evt.type.is.openat=0 and evt.num < 4", &[3]),
        ("evt.io_dir=write", &[4]),
        ("evt.count.error=1", &[2]),
        ("evt.count.exit=1 and evt.type=execve", &[8]),
        ("not evt.count.exit exists", &[9]),
        ("evt.latency.human='20ms'", &[3]),
        ("evt.latency.s=0 and evt.latency.ns=20000000", &[3]),
        (
            "evt.datetime.s='2023-11-14 22:13:20'",
            &[1, 2, 3, 4, 5, 6, 7, 8, 9],
        ),
        ("evt.rawtime.ns=6000000", &[6]),
        ("evt.reltime.ns=2000000", &[2]),
        ("proc.apid=1 and evt.type=execve", &[8]),
        ("proc.apid[1]=100", &[8, 9]),
        ("proc.apid[0]=200", &[8, 9]),
        ("proc.aname[0]=sh", &[8, 9]),
        ("proc.pcmdline='nginx -g daemon off;'", &[8, 9]),
        ("proc.exeline='sh -c id'", &[8, 9]),
        ("thread.ismain=true and evt.num=1", &[1]),
        ("fd.ip=127.0.0.1", &[6]),
        ("fd.ip=10.0.0.1", &[6]),
        ("fd.ip!=10.0.0.1", &[]),
        ("fd.port=41234", &[6]),
        ("fd.net=10.0.0.0/8", &[6]),
        ("fd.net in (192.168.0.0/16, 127.0.0.0/8)", &[6]),
        ("fd.snet=10.0.0.0/8", &[]),
        ("fd.cnet=10.0.0.0/8", &[6]),
        ("fd.connected=true", &[6]),
        ("fd.uid='1007' and evt.type=read", &[3]),
        (
            "fd.containername=3ad7b0f3c1e2:/var/log/nginx/access.log",
            &[4],
        ),
        // 5 ms around the fourth event (at T0 + 4 ms).
        ("evt.around[1700000000004000000]=1", &[3, 4, 5]),
    ]);
}

#[test]
fn new_fields_show_as_sysdig_shows_them() {
    let cases: &[(&str, u64, &str)] = &[
        ("evt.datetime", 3, "2023-11-14 22:13:20.003000000"),
        ("evt.time.iso8601", 3, "2023-11-14T22:13:20.003000000+0000"),
        ("evt.time.s", 3, "22:13:20"),
        ("evt.latency.human", 3, "20ms"),
        ("evt.latency.human", 6, "50us"),
        ("proc.exeline", 1, "nginx -g daemon off;"),
        ("proc.pcmdline", 1, "systemd"),
        ("proc.loginshellid", 8, "200"),
        ("proc.loginshellid", 1, "<NA>"),
        ("user.loginuid", 1, "0"),
        ("fd.uid", 4, "1005"),
        ("fd.ip", 6, "<NA>"),
        ("evt.around[1]", 6, "<NA>"),
        ("evt.count.error", 1, "<NA>"),
        ("evt.count.error.file", 2, "1"),
        ("evt.count.error.other", 2, "<NA>"),
    ];
    let mut failures = Vec::new();
    // sysdig's evt.info is evt.args but for syslog writes.
    for num in 1..=9 {
        assert_eq!(shown("evt.info", num), shown("evt.args", num));
    }
    for &(name, num, want) in cases {
        let got = shown(name, num);
        if got != want {
            failures.push(format!("{name} of event {num}: want {want:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn operators_and_transformers() {
    check(&[
        ("fd.name regex '/var/(www|log)/.*'", &[1, 3, 4]),
        // The whole value must match.
        ("fd.name regex 'www'", &[]),
        ("fd.name iglob '/VAR/WWW/*'", &[1, 3]),
        ("evt.buffer bcontains 6c6c6f", &[3]),
        ("evt.buffer bstartswith 474554", &[4]),
        ("evt.buffer bstartswith 6c6c6f", &[]),
        ("proc.aname intersects (nginx, foo)", &[8, 9]),
        ("evt.type intersects (read, write)", &[3, 4]),
        ("toupper(proc.name) = NGINX", &[1, 2, 3, 4, 5, 6, 7]),
        ("toupper(proc.name) != NGINX", &[8, 9]),
        ("not toupper(proc.name) = NGINX", &[8, 9]),
        ("tolower(toupper(fd.name)) contains index", &[1, 3]),
        ("toupper(fd.name) in (/VAR/WWW/INDEX.HTML)", &[1, 3]),
        // No buffer or name here is base64 (decoding is unit-tested in compile).
        ("b64(evt.buffer) exists", &[]),
        ("b64(proc.name) exists", &[]),
    ]);
}
