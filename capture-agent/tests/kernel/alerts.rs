//! Captures started by Alertmanager: the real agent (its webhook receiver
//! on a free loopback port, with a bearer token) and Debian's real
//! `prometheus-alertmanager` routing to it, an alert posted to
//! Alertmanager's API, and the real `syscap` reading what was stored.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use s3_test_server::S3TestServer as S3;

use crate::daemon::{Agent, AgentSetup, syscap};
use crate::support::scratch;

const ALERTMANAGER: &str = "/usr/bin/prometheus-alertmanager";

/// The rule: one alert, a pod label by regular expression, a capture
/// filter naming the alert's pod label (keeping every process, none being
/// named so), a cooldown far longer than the test.
const RULES: &str = "rules:
  - name: on-alert
    condition:
      alert:
        alertname: SyscapTestHighErrors
        labels: {pod: '=~web-.*', severity: page}
    capture:
      before: 2s
      after: 1s
      tags: {source: alertmanager}
      filter: 'proc.name != ${alert.labels.pod}'
    cooldown: 10m
";

/// A running Alertmanager, killed when dropped.
struct Alertmanager {
    child: Child,
    api: String,
}

impl Alertmanager {
    /// Starts Alertmanager on a free loopback port with its own data
    /// directory, routing every alert to `webhook` with `token`; re-sends a
    /// firing alert every few seconds, so that the agent sees it again.
    fn start(dir: &Path, webhook: &str, token: &Path) -> Self {
        assert!(
            Path::new(ALERTMANAGER).exists(),
            "{ALERTMANAGER} is missing: install Debian's prometheus-alertmanager (scripts/setup.sh test)"
        );
        let config = dir.join("alertmanager.yml");
        std::fs::write(
            &config,
            format!(
                "route:
  receiver: syscap
  group_by: ['...']
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 2s
receivers:
  - name: syscap
    webhook_configs:
      - url: {webhook}
        send_resolved: false
        http_config:
          authorization:
            type: Bearer
            credentials_file: {}
",
                token.display()
            ),
        )
        .unwrap();
        // The port is free when picked but may be taken before Alertmanager
        // binds it: then it exits, and another port is tried.
        let log = dir.join("alertmanager.log");
        for attempt in 1..=5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let address = format!("127.0.0.1:{port}");
            let child = Command::new(ALERTMANAGER)
                .arg(format!("--config.file={}", config.display()))
                .arg(format!("--storage.path={}", dir.join("am-data").display()))
                .arg(format!("--web.listen-address={address}"))
                .arg("--cluster.listen-address=")
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
                .unwrap();
            let mut am = Self {
                child,
                api: address,
            };
            let deadline = Instant::now() + Duration::from_mins(1);
            loop {
                if http(&am.api, "GET", "/-/ready", "").0 == 200 {
                    return am;
                }
                let text = || std::fs::read_to_string(&log).unwrap_or_default();
                if am.child.try_wait().unwrap().is_some() {
                    let text = text();
                    assert!(
                        text.contains("address already in use") && attempt < 5,
                        "Alertmanager exited (attempt {attempt}): {text}"
                    );
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "Alertmanager not ready within a minute: {}",
                    text()
                );
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        unreachable!("the last attempt returns or fails")
    }

    /// Posts one firing alert to Alertmanager's API.
    fn post(&self, labels: &str) {
        let body = format!(
            "[{{\"labels\":{labels},\"annotations\":{{\"summary\":\"errors\"}},\"generatorURL\":\"http://test/\"}}]"
        );
        let (status, answer) = http(&self.api, "POST", "/api/v2/alerts", &body);
        assert_eq!(status, 200, "POST /api/v2/alerts: {answer}");
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request: its status (0 when nothing answers) and body.
fn http(address: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let Ok(mut stream) = TcpStream::connect(address) else {
        return (0, String::new());
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return (0, String::new());
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let status = answer.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, body.to_owned())
}

/// An alert posted to Alertmanager reaches the agent's receiver (with the
/// bearer token) and starts the rule's capture, stored with the alert's name
/// and labels as tags; Alertmanager re-sends the firing alert, and an
/// alert that does not match is posted too, and neither starts a second
/// capture.
pub fn alertmanager_alerts_start_one_capture_per_alert() {
    let dir = scratch("daemon-alerts");
    let s3 = S3::start(&dir.join("s3")).unwrap();
    let token = dir.join("alerts.token");
    std::fs::write(&token, "t0ken-for-the-test\n").unwrap();
    let mut setup = AgentSetup::new(&dir, RULES, &s3);
    setup.alerts_token = Some(&token);
    let agent = Agent::start(&setup);
    let url = agent.alerts_url();
    assert!(url.ends_with("/alerts"), "{url}");
    let am = Alertmanager::start(&dir, &url, &token);
    // Not matching: another pod pattern.
    am.post(r#"{"alertname":"SyscapTestHighErrors","pod":"db-1","severity":"page"}"#);
    am.post(r#"{"alertname":"SyscapTestHighErrors","pod":"web-7","severity":"page"}"#);
    agent.wait_for("rule on-alert fired (alert SyscapTestHighErrors (", 1);
    agent.wait_for("stored s3://", 1);
    // The db-1 alert reached the agent too (its own group), and matched
    // nothing: a batch that started no capture and refused none.
    let deadline = Instant::now() + Duration::from_mins(2);
    while !agent.lines().iter().any(|l| {
        l.trim_end()
            .ends_with("alerts: 1 alerts (0 resolved): 0 captures started")
    }) {
        assert!(
            Instant::now() < deadline,
            "the db-1 alert did not reach the agent:\n{}",
            agent.lines().join("\n")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Alertmanager re-sends the firing alert every 2 s: at least two more
    // posts of it reach the agent, each refused (the same fingerprint
    // within the cooldown).
    let deadline = Instant::now() + Duration::from_mins(2);
    loop {
        let lines = agent.lines();
        let resent = lines
            .iter()
            .filter(|l| {
                l.contains("alerts: 1 alerts (0 resolved): 0 captures started, 1 matches refused")
            })
            .count();
        if resent >= 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Alertmanager did not re-send the alert:\n{}",
            lines.join("\n")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let fired = agent
        .lines()
        .iter()
        .filter(|l| l.contains("rule on-alert fired ("))
        .count();
    assert_eq!(fired, 1, "{}", agent.lines().join("\n"));
    agent.stop();

    let listed = syscap(&s3, &["ls", "s3://caps/prod", "--json"]);
    // One JSON object a line.
    let rows: Vec<serde_json::Value> = listed
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 1, "{listed}");
    let row = &rows[0];
    assert_eq!(row["rule"], "on-alert", "{listed}");
    assert_eq!(row["tags"]["alertname"], "SyscapTestHighErrors", "{listed}");
    assert_eq!(row["tags"]["alert_pod"], "web-7", "{listed}");
    assert_eq!(row["tags"]["alert_severity"], "page", "{listed}");
    assert_eq!(row["tags"]["source"], "alertmanager", "{listed}");
    let table = syscap(&s3, &["ls", "s3://caps/prod"]);
    assert!(
        table.contains(" on-alert (alert SyscapTestHighErrors) "),
        "{table}"
    );
    let key = row["key"].as_str().unwrap();
    let get_dir = dir.join("got");
    syscap(
        &s3,
        &[
            "get",
            &format!("s3://caps/{key}"),
            "-o",
            get_dir.to_str().unwrap(),
        ],
    );
    let file = crate::daemon::walk_files(&get_dir)
        .pop()
        .expect("a capture downloaded");
    let info = syscap(&s3, &["info", file.to_str().unwrap()]);
    assert!(
        info.contains("alertname=SyscapTestHighErrors") && info.contains("alert_pod=web-7"),
        "{info}"
    );
    assert!(info.contains("on-alert"), "{info}");
    assert!(info.contains("proc.name != 'web-7'"), "{info}");
}
