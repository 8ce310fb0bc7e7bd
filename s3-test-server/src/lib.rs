//! Runs `syscap-s3-test-server` (a real S3-compatible server: s3s-fs,
//! which checks request signatures) as a child process on 127.0.0.1 for
//! end-to-end tests: started, stopped and restarted on the same port and
//! files to play an outage, frozen to play a server that accepts requests
//! and never answers. A separate process, so a test can do all of that to
//! it without touching the code under test.

use std::io::{self, BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The access key the server accepts (unless `SYSCAP_TEST_S3_KEY` says
/// otherwise in the server's environment).
pub const KEY: &str = "syscap";
/// The secret the server accepts (unless `SYSCAP_TEST_S3_SECRET`).
pub const SECRET: &str = "syscap-secret";
/// The bucket every server starts with.
pub const BUCKET: &str = "caps";

/// The server binary's name.
const BINARY: &str = "syscap-s3-test-server";

/// A running server; dropping it kills it.
#[derive(Debug)]
pub struct S3TestServer {
    root: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl S3TestServer {
    /// Starts a server keeping its objects under `root` (bucket [`BUCKET`]
    /// created), on a free port.
    pub fn start(root: &Path) -> io::Result<Self> {
        Self::start_on(root, 0)
    }

    /// Starts a server on `port` (0: any free one); returns once it listens.
    pub fn start_on(root: &Path, port: u16) -> io::Result<Self> {
        std::fs::create_dir_all(root.join(BUCKET))?;
        let mut child = Command::new(workspace_binary(BINARY, "s3-test-server")?)
            .arg(root)
            .arg(port.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let mut line = String::new();
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("no stdout"))?;
        BufReader::new(stdout).read_line(&mut line)?;
        let port = line
            .trim()
            .strip_prefix("listening on http://127.0.0.1:")
            .and_then(|p| p.parse().ok());
        let Some(port) = port else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::other(format!(
                "the S3 test server said {line:?}, not where it listens"
            )));
        };
        Ok(Self {
            root: root.to_owned(),
            port,
            child: Some(child),
        })
    }

    /// The URL clients are given.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Kills the server: connections are refused until [`Self::restart`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and files.
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop();
        *self = Self::start_on(&self.root.clone(), self.port)?;
        Ok(())
    }

    /// Stops (SIGSTOP) or continues (SIGCONT) the server: while frozen, the
    /// kernel still accepts connections and requests, and nobody answers.
    pub fn freeze(&self, frozen: bool) -> io::Result<()> {
        let child = self
            .child
            .as_ref()
            .ok_or_else(|| io::Error::other("the S3 test server is not running"))?;
        let pid = i32::try_from(child.id()).map_err(io::Error::other)?;
        let signal = if frozen { libc::SIGSTOP } else { libc::SIGCONT };
        // SAFETY: kill(2) on our own child, which has not been waited for.
        if unsafe { libc::kill(pid, signal) } == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// The keys of the `.syscap` objects in [`BUCKET`], sorted (s3s-fs
    /// keeps each object as a file under the bucket's directory).
    pub fn objects(&self) -> Vec<String> {
        let bucket = self.root.join(BUCKET);
        let mut keys = Vec::new();
        let mut dirs = vec![bucket.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|x| x == "syscap")
                    && let Ok(key) = path.strip_prefix(&bucket)
                {
                    keys.push(key.display().to_string());
                }
            }
        }
        keys.sort();
        keys
    }
}

impl Drop for S3TestServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Workspace binary `name` (of `package`) in the target directory the
/// running test executable lives in (`target/debug/deps/test-…` →
/// `target/debug/`), built with cargo when missing (a `cargo test -p` of
/// one crate does not build the other crates' binaries).
pub fn workspace_binary(name: &str, package: &str) -> io::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| io::Error::other(format!("{}: no target directory", exe.display())))?;
    let path = dir.join(name);
    if !path.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-q", "-p", package, "--bin", name])
            .status()?;
        if !status.success() || !path.exists() {
            return Err(io::Error::other(format!(
                "cannot build {} ({status})",
                path.display()
            )));
        }
    }
    Ok(path)
}
