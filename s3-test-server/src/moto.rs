//! moto's S3 server (Python, from `PyPI`), a second implementation that no
//! one here wrote, so the store is not tested against one server's quirks.
//! `scripts/setup.sh` installs it in `target/moto-venv`. It keeps objects
//! in memory and checks no signatures, so the harness talks to it with
//! plain unsigned HTTP requests.

use std::io::{self, BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `moto_server` to run: `SYSCAP_MOTO_SERVER`, else the one
/// `scripts/setup.sh` installs; its absence is an error, never a skip.
fn program() -> io::Result<PathBuf> {
    let path = std::env::var_os("SYSCAP_MOTO_SERVER").map_or_else(
        || {
            // This crate's directory is in the repository's root.
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .unwrap_or(Path::new(".."))
                .join("target/moto-venv/bin/moto_server")
        },
        PathBuf::from,
    );
    if path.exists() {
        Ok(path)
    } else {
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "no moto server at {}: run scripts/setup.sh (it installs moto in target/moto-venv) or set SYSCAP_MOTO_SERVER",
                path.display()
            ),
        ))
    }
}

/// Starts moto on 127.0.0.1:`port` (0: any free one) with `bucket`
/// created; returns once it answers, with the port it listens on.
pub fn start(port: u16, bucket: &str) -> io::Result<(Child, u16)> {
    let mut child = Command::new(program()?)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    match listening(&mut child).and_then(|port| {
        create_bucket(port, bucket)?;
        Ok(port)
    }) {
        Ok(port) => Ok((child, port)),
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(e)
        }
    }
}

/// The port of werkzeug's `Running on http://127.0.0.1:PORT` line. The
/// rest of its log (a line per request) is read and dropped, so that a
/// full pipe never blocks the server.
fn listening(child: &mut Child) -> io::Result<u16> {
    let stderr = child
        .stderr
        .take()
        .ok_or_else(|| io::Error::other("no stderr"))?;
    let mut stderr = BufReader::new(stderr);
    let mut said = String::new();
    let mut line = String::new();
    loop {
        line.clear();
        if stderr.read_line(&mut line)? == 0 {
            return Err(io::Error::other(format!(
                "the moto server stopped before listening: {said}"
            )));
        }
        if let Some(port) = line
            .split("Running on http://127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.trim().parse().ok())
        {
            std::thread::spawn(move || io::copy(&mut stderr, &mut io::sink()));
            return Ok(port);
        }
        said.push_str(&line);
    }
}

/// Creates `bucket`, retrying until the server answers.
fn create_bucket(port: u16, bucket: &str) -> io::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match request(port, "PUT", &format!("/{bucket}")) {
            Ok((200, _)) => return Ok(()),
            Ok((status, body)) => {
                return Err(io::Error::other(format!(
                    "moto refused to create bucket {bucket}: {status} {body}"
                )));
            }
            Err(e) if Instant::now() > deadline => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// Every key in `bucket` (`ListObjectsV2`, page by page).
pub fn keys(port: u16, bucket: &str) -> io::Result<Vec<String>> {
    let mut keys = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut path = format!("/{bucket}?list-type=2");
        // moto's continuation tokens are hex: nothing to escape.
        if let Some(token) = &token {
            path.push_str("&continuation-token=");
            path.push_str(token);
        }
        let (status, body) = request(port, "GET", &path)?;
        if status != 200 {
            return Err(io::Error::other(format!(
                "moto did not list {bucket}: {status} {body}"
            )));
        }
        keys.extend(elements(&body, "Key").into_iter().map(unescape));
        token = elements(&body, "NextContinuationToken")
            .first()
            .map(|t| (*t).to_owned());
        if token.is_none() {
            return Ok(keys);
        }
    }
}

/// The texts of the `<name>` elements of an XML document without
/// attributes on them (as S3 listings are).
fn elements<'a>(xml: &'a str, name: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{name}>"), format!("</{name}>"));
    xml.split(open.as_str())
        .skip(1)
        .filter_map(|s| s.split_once(close.as_str()).map(|(text, _)| text))
        .collect()
}

/// XML's escapes, undone.
fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// One unsigned HTTP/1.1 request without a body: (status, body).
fn request(port: u16, method: &str, path: &str) -> io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other(format!("not an HTTP response: {response:?}")))?;
    let body = response
        .split_once("\r\n\r\n")
        .map_or("", |(_, body)| body)
        .to_owned();
    Ok((status, body))
}

#[cfg(test)]
mod tests {
    use super::request;
    use crate::{BUCKET, Backend, S3TestServer};

    /// What the harness promises for moto: objects listed, a restart on
    /// the same port with the bucket and without the objects, a freeze.
    #[test]
    fn lists_restarts_empty_and_freezes() {
        let mut server = S3TestServer::start_with(Backend::Moto, "unused".as_ref()).unwrap();
        for key in ["h/b.syscap", "h/a&b.syscap", "h/notes.txt"] {
            let key = key.replace('&', "%26");
            let (status, body) = request(server.port, "PUT", &format!("/{BUCKET}/{key}")).unwrap();
            assert_eq!(status, 200, "{body}");
        }
        assert_eq!(server.objects(), ["h/a&b.syscap", "h/b.syscap"]);
        let endpoint = server.endpoint();
        server.restart().unwrap();
        assert_eq!(server.endpoint(), endpoint);
        assert!(server.objects().is_empty());
        server.freeze(true).unwrap();
        server.freeze(false).unwrap();
        assert!(server.objects().is_empty());
    }
}
