//! The Alertmanager webhook receiver: `POST /alerts` with Alertmanager's
//! webhook JSON (version 4) hands each alert to the recorder, where a
//! firing alert whose labels match a rule's `alert` condition starts that
//! rule's capture. Its own listener, off by default, on the HTTP stack of
//! the metrics endpoint and with a connection budget of its own, as large; a bearer token
//! when configured (required beyond loopback), and a bound on the body.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::mpsc::Sender;

use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::{Bytes, Incoming};
use serde::Deserialize;

use super::metrics::{self, ACCEPT_RETRY, CONNECTION_TIMEOUT, MAX_CONNECTIONS, Metrics};
use super::recorder::Command;

/// The path Alertmanager posts to.
pub const PATH: &str = "/alerts";

/// One alert as the receiver got it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedAlert {
    /// Its `alertname` label (empty when it has none).
    pub name: String,
    /// Its labels, sorted by name.
    pub labels: Vec<(String, String)>,
    /// Alertmanager's fingerprint (of the labels, when it sent none).
    pub fingerprint: String,
    /// False once resolved.
    pub firing: bool,
}

/// Alertmanager's webhook payload (the parts the agent uses).
#[derive(Deserialize, Debug)]
struct Webhook {
    version: String,
    alerts: Vec<WebhookAlert>,
}

#[derive(Deserialize, Debug)]
struct WebhookAlert {
    status: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default, rename = "startsAt")]
    _starts_at: Option<String>,
    #[serde(default)]
    fingerprint: String,
}

/// Why a request is refused: its status and a one-line reason.
type Refused = (u16, String);

/// The longest fingerprint taken (Alertmanager's are 16 hex digits).
const MAX_FINGERPRINT: usize = 64;

/// `text` cut to at most `max` bytes, at a character boundary.
fn truncated(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// A fingerprint of `labels` (sorted) for an alert sent without one:
/// 16 hex digits of their FNV-1a hash.
fn labels_fingerprint(labels: &[(String, String)]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (k, v) in labels {
        // Lengths first, so that no two label sets run together alike.
        for part in [
            &k.len().to_le_bytes()[..],
            k.as_bytes(),
            &v.len().to_le_bytes(),
            v.as_bytes(),
        ] {
            for b in part {
                hash ^= u64::from(*b);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    format!("{hash:016x}")
}

/// Parses a webhook body into alerts; a fingerprint other than 1 to 64
/// letters and digits is refused.
pub fn parse(body: &[u8]) -> Result<Vec<ReceivedAlert>, String> {
    let hook: Webhook =
        serde_json::from_slice(body).map_err(|e| format!("bad Alertmanager webhook JSON: {e}"))?;
    if hook.version != "4" {
        return Err(format!(
            "webhook version {:?}: this receiver reads version \"4\"",
            hook.version
        ));
    }
    hook.alerts
        .into_iter()
        .enumerate()
        .map(|(i, a)| {
            let firing = match a.status.as_str() {
                "firing" => true,
                "resolved" => false,
                other => {
                    return Err(format!(
                        "alerts[{i}].status {other:?}: expected \"firing\" or \"resolved\""
                    ));
                }
            };
            let labels: Vec<(String, String)> = a.labels.into_iter().collect();
            let fingerprint = if a.fingerprint.is_empty() {
                labels_fingerprint(&labels)
            } else if a.fingerprint.len() <= MAX_FINGERPRINT
                && a.fingerprint.bytes().all(|b| b.is_ascii_alphanumeric())
            {
                a.fingerprint
            } else {
                return Err(format!(
                    "alerts[{i}].fingerprint {}: expected 1 to {MAX_FINGERPRINT} letters and digits",
                    capture_format::escape::escaped(&truncated(&a.fingerprint, MAX_FINGERPRINT + 1))
                ));
            };
            Ok(ReceivedAlert {
                name: labels
                    .iter()
                    .find(|(k, _)| k == "alertname")
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default(),
                labels,
                fingerprint,
                firing,
            })
        })
        .collect()
}

/// Whether `header` (an `Authorization` value) carries `token`; compared
/// in time independent of where they differ.
fn authorized(header: Option<&[u8]>, token: &str) -> bool {
    let Some(given) = header.and_then(|h| h.strip_prefix(b"Bearer ")) else {
        return false;
    };
    given.len() == token.len()
        && given
            .iter()
            .zip(token.as_bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// Answers one request.
async fn handle(
    req: hyper::Request<Incoming>,
    token: Option<&str>,
    max_body: u64,
    commands: &Sender<Command>,
    counters: &Metrics,
) -> Result<String, Refused> {
    if req.uri().path() != PATH {
        return Err((404, format!("not found: Alertmanager posts to {PATH}")));
    }
    if req.method() != hyper::Method::POST {
        return Err((405, format!("{} {PATH}: only POST", req.method())));
    }
    if let Some(token) = token
        && !authorized(
            req.headers()
                .get(hyper::header::AUTHORIZATION)
                .map(hyper::header::HeaderValue::as_bytes),
            token,
        )
    {
        return Err((401, "missing or wrong bearer token".into()));
    }
    let too_big = || (413, format!("the body is larger than {max_body} bytes"));
    let declared = req
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max_body) {
        return Err(too_big());
    }
    let limit = usize::try_from(max_body).unwrap_or(usize::MAX);
    let body = match Limited::new(req.into_body(), limit).collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return Err(too_big()),
        Err(e) => return Err((400, format!("cannot read the body: {e}"))),
    };
    let alerts = parse(&body).map_err(|m| (400, m))?;
    for _ in &alerts {
        metrics::inc(&counters.alerts_received);
    }
    let (reply, answer) = tokio::sync::oneshot::channel();
    commands
        .send(Command::Alerts { alerts, reply })
        .map_err(|_| (503, "the agent is stopping".to_owned()))?;
    answer
        .await
        .map_err(|_| (503, "the agent is stopping".to_owned()))
}

/// Serves the receiver on `listener` until the task is dropped, at most
/// [`MAX_CONNECTIONS`] connections at once, each for at most
/// [`CONNECTION_TIMEOUT`]. Requests without `token` (when given) get 401,
/// bodies beyond `max_body` bytes 413, what is not a version 4 webhook
/// 400; each with a one-line reason.
pub async fn serve(
    listener: tokio::net::TcpListener,
    token: Option<Arc<str>>,
    max_body: u64,
    commands: Sender<Command>,
    counters: Arc<Metrics>,
) {
    use hyper_util::rt::TokioIo;
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let mut failing = false;
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let socket = match listener.accept().await {
            Ok((socket, _)) => socket,
            Err(e) => {
                if !failing {
                    tracing::warn!("alerts: cannot accept a connection: {e}");
                    failing = true;
                }
                tokio::time::sleep(ACCEPT_RETRY).await;
                continue;
            }
        };
        failing = false;
        let (token, commands, counters) = (token.clone(), commands.clone(), counters.clone());
        let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let (token, commands, counters) = (token.clone(), commands.clone(), counters.clone());
            async move {
                let (status, mut body) =
                    match handle(req, token.as_deref(), max_body, &commands, &counters).await {
                        Ok(message) => (200, message),
                        Err((status, message)) => {
                            metrics::inc(&counters.alert_requests_refused);
                            tracing::debug!("alerts: refused a request ({status}): {message}");
                            (status, message)
                        }
                    };
                body.push('\n');
                let mut response = hyper::Response::builder()
                    .status(status)
                    .header("content-type", "text/plain; charset=utf-8");
                if status == 401 {
                    response = response.header("www-authenticate", "Bearer");
                }
                response.body(Full::new(Bytes::from(body)))
            }
        });
        tokio::spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .keep_alive(false)
                .serve_connection(TokioIo::new(socket), service);
            let _ = tokio::time::timeout(CONNECTION_TIMEOUT, connection).await;
            drop(slot);
        });
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Write as _};

    use super::*;

    const FIRING: &str = r#"{"version":"4","status":"firing","receiver":"syscap","groupKey":"{}:{}",
        "alerts":[{"status":"firing","labels":{"alertname":"HighErrors","pod":"web-1"},
        "annotations":{"summary":"s"},"startsAt":"2026-01-01T00:00:00Z","fingerprint":"abc123"},
        {"status":"resolved","labels":{"alertname":"Other"},"fingerprint":"def"}]}"#;

    #[test]
    fn webhooks_parse_or_say_why_not() {
        let alerts = parse(FIRING.as_bytes()).unwrap();
        assert_eq!(
            alerts[0],
            ReceivedAlert {
                name: "HighErrors".into(),
                labels: vec![
                    ("alertname".into(), "HighErrors".into()),
                    ("pod".into(), "web-1".into())
                ],
                fingerprint: "abc123".into(),
                firing: true,
            }
        );
        assert!(!alerts[1].firing);
        let no_fingerprint =
            parse(br#"{"version":"4","alerts":[{"status":"firing","labels":{"a":"1"}}]}"#).unwrap();
        let fp = &no_fingerprint[0].fingerprint;
        assert_eq!(fp.len(), 16, "{fp}");
        assert!(fp.bytes().all(|b| b.is_ascii_hexdigit()), "{fp}");
        let other =
            parse(br#"{"version":"4","alerts":[{"status":"firing","labels":{"a":"2"}}]}"#).unwrap();
        assert_ne!(&other[0].fingerprint, fp);
        let cases: &[(&str, &str)] = &[
            (
                "{",
                "bad Alertmanager webhook JSON: EOF while parsing an object at line 1 column 1",
            ),
            (r#"{"version":"4"}"#, "missing field `alerts`"),
            (
                r#"{"version":"3","alerts":[]}"#,
                "webhook version \"3\": this receiver reads version \"4\"",
            ),
            (
                r#"{"version":"4","alerts":[{"status":"firing","fingerprint":"ab\u001b[2Jcd"}]}"#,
                "alerts[0].fingerprint ab\\x1b[2Jcd: expected 1 to 64 letters and digits",
            ),
            (
                r#"{"version":"4","alerts":[{"status":"firing","fingerprint":"a b"}]}"#,
                "alerts[0].fingerprint a b: expected 1 to 64 letters and digits",
            ),
            (
                r#"{"version":"4","alerts":[{"status":"pending"}]}"#,
                "alerts[0].status \"pending\": expected \"firing\" or \"resolved\"",
            ),
        ];
        for (body, want) in cases {
            let e = parse(body.as_bytes()).unwrap_err();
            assert!(e.contains(want), "{body}: {e}");
        }
        let long = format!(
            r#"{{"version":"4","alerts":[{{"status":"firing","fingerprint":"{}"}}]}}"#,
            "f".repeat(65)
        );
        assert!(parse(long.as_bytes()).is_err());
        let longest = long.replace(&"f".repeat(65), &"f".repeat(64));
        assert_eq!(parse(longest.as_bytes()).unwrap()[0].fingerprint.len(), 64);
    }

    /// Runs the receiver with a recorder stand-in that answers each batch
    /// with the fingerprints it got; returns its address.
    fn receiver(token: Option<&str>, max_body: u64) -> (std::net::SocketAddr, Arc<Metrics>) {
        let counters = Arc::new(Metrics::default());
        let theirs = counters.clone();
        let (tx, rx) = std::sync::mpsc::channel::<Command>();
        std::thread::spawn(move || {
            for command in rx {
                if let Command::Alerts { alerts, reply } = command {
                    let prints: Vec<_> = alerts.iter().map(|a| a.fingerprint.clone()).collect();
                    let _ = reply.send(format!("got {}", prints.join(" ")));
                }
            }
        });
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let token: Option<Arc<str>> = token.map(Arc::from);
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                serve(listener, token, max_body, tx, theirs).await;
            });
        });
        (addr_rx.recv().unwrap(), counters)
    }

    /// One raw HTTP/1.1 request; the status and the body of the answer.
    fn request(addr: std::net::SocketAddr, head: &str, body: &[u8]) -> (u16, String) {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_mins(1)))
            .unwrap();
        write!(
            stream,
            "{head}\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .unwrap();
        // A refused body may be closed on before it is all sent.
        let _ = stream.write_all(body);
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        let status = answer
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no HTTP answer: {answer:?}"));
        let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        (status, body.trim_end().to_owned())
    }

    #[test]
    fn requests_are_checked_for_token_size_and_json() {
        let (addr, counters) = receiver(Some("s3cret"), 2048);
        let post = "POST /alerts HTTP/1.1\r\nAuthorization: Bearer s3cret";
        let cases: &[(&str, &[u8], u16, &str)] = &[
            (post, FIRING.as_bytes(), 200, "got abc123 def"),
            (
                post,
                b"{\"version\":\"4\",",
                400,
                "bad Alertmanager webhook JSON: EOF while parsing a value at line 1 column 15",
            ),
            (
                post,
                &[b' '; 4096],
                413,
                "the body is larger than 2048 bytes",
            ),
            (
                "POST /alerts HTTP/1.1\r\nAuthorization: Bearer wrong!",
                FIRING.as_bytes(),
                401,
                "missing or wrong bearer token",
            ),
            (
                "POST /alerts HTTP/1.1",
                FIRING.as_bytes(),
                401,
                "missing or wrong bearer token",
            ),
            (
                "GET /alerts HTTP/1.1\r\nAuthorization: Bearer s3cret",
                b"",
                405,
                "GET /alerts: only POST",
            ),
            (
                "POST /metrics HTTP/1.1\r\nAuthorization: Bearer s3cret",
                b"",
                404,
                "not found: Alertmanager posts to /alerts",
            ),
        ];
        for &(head, body, status, want) in cases {
            assert_eq!(
                request(addr, head, body),
                (status, want.to_owned()),
                "{head}"
            );
        }
        let count = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(count(&counters.alerts_received), 2);
        assert_eq!(count(&counters.alert_requests_refused), 6);
        // Without a token configured, none is needed.
        let (open, _) = receiver(None, 1 << 20);
        assert_eq!(
            request(open, "POST /alerts HTTP/1.1", FIRING.as_bytes()),
            (200, "got abc123 def".to_owned())
        );
    }
}
