//! The control socket: `syscap-agent trigger` and `status` talk to the
//! running agent over a unix socket that only root can open (mode 0600,
//! owned by root). One JSON request per connection, one JSON answer.

use std::io::{self, BufRead as _, BufReader, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
use std::path::Path;

use serde::{Deserialize, Serialize};

/// A request.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Start a capture of `rule` now.
    Trigger {
        /// The rule.
        rule: String,
        /// Milliseconds of history, instead of the rule's.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before_ms: Option<u64>,
        /// Milliseconds after, instead of the rule's.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after_ms: Option<u64>,
    },
    /// What the agent is doing.
    Status,
}

/// An answer.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Answer {
    /// False when the request was refused.
    pub ok: bool,
    /// What happened, in words.
    pub message: String,
    /// Figures (status).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<serde_json::Value>,
}

/// Binds the socket at `path`, mode 0600 (only root can connect): a stale
/// one is replaced; a missing directory is created 0700, an existing one
/// keeps its mode (it may be `/run` or `/tmp`).
pub fn bind(path: &Path) -> io::Result<tokio::net::UnixListener> {
    if let Some(dir) = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty() && !d.is_dir())
    {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let listener = tokio::net::UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Sends `request` to the agent listening on `path` (client side).
pub fn ask(path: &Path, request: &Request) -> io::Result<Answer> {
    let stream = std::os::unix::net::UnixStream::connect(path).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "cannot reach the agent at {}: {e} (is `syscap-agent run` running, and are you root?)",
                path.display()
            ),
        )
    })?;
    let timeout = std::time::Duration::from_secs(30);
    stream.set_read_timeout(Some(timeout))?;
    let mut line = serde_json::to_string(request).map_err(io::Error::other)?;
    line.push('\n');
    (&stream).write_all(line.as_bytes())?;
    let mut answer = String::new();
    BufReader::new(&stream)
        .read_line(&mut answer)
        .map_err(|e| match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "the agent at {} did not answer within {} s",
                    path.display(),
                    timeout.as_secs()
                ),
            ),
            _ => e,
        })?;
    serde_json::from_str(&answer).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the agent answered something else: {e}"),
        )
    })
}
