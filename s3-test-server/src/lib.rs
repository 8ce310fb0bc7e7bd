//! Runs a real S3-compatible server as a child process on 127.0.0.1 for
//! end-to-end tests: started, stopped and restarted on the same port to
//! play an outage, frozen to play a server that accepts requests and never
//! answers. A separate process, so a test can do all of that to it without
//! touching the code under test. Two implementations ([`Backend`]), so the
//! code under test does not lean on one server's quirks.

mod moto;

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

/// Which S3 server runs. Both take [`KEY`]/[`SECRET`], path-style
/// addressing and region us-east-1, and support start, stop, restart on
/// the same port, freeze and [`S3TestServer::objects`]; they differ in:
///
/// | | [`Backend::S3sFs`] | [`Backend::Moto`] |
/// |---|---|---|
/// | objects kept | as files under the root: a restart keeps them, tests can edit them | in memory: a restart loses them |
/// | signatures | checked (a wrong secret is `SignatureDoesNotMatch`) | not checked: any credentials pass |
/// | SSE | answered as S3 does, SSE-S3 reported for objects stored without asking | the encryption asked for echoed; nothing reported otherwise |
/// | keys | any (listed URL-encoded when asked, by our wrapper) | no newline (its router answers 404) |
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// s3s-fs (Rust, with our SSE answers), built from this workspace as
    /// `syscap-s3-test-server`.
    S3sFs,
    /// moto's server (Python), installed by `scripts/setup.sh` in
    /// `target/moto-venv` or found at `SYSCAP_MOTO_SERVER`.
    Moto,
}

impl Backend {
    /// Its name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Backend::S3sFs => "s3s-fs",
            Backend::Moto => "moto",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A running server; dropping it kills it.
#[derive(Debug)]
pub struct S3TestServer {
    backend: Backend,
    root: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl S3TestServer {
    /// Starts an s3s-fs server keeping its objects under `root` (bucket
    /// [`BUCKET`] created), on a free port.
    pub fn start(root: &Path) -> io::Result<Self> {
        Self::start_with(Backend::S3sFs, root)
    }

    /// Starts a `backend` server on a free port, with bucket [`BUCKET`];
    /// `root` holds the objects of s3s-fs (moto keeps them in memory).
    pub fn start_with(backend: Backend, root: &Path) -> io::Result<Self> {
        Self::start_on(backend, root, 0)
    }

    /// Starts a server on `port` (0: any free one); returns once it listens.
    fn start_on(backend: Backend, root: &Path, port: u16) -> io::Result<Self> {
        let (child, port) = match backend {
            Backend::S3sFs => start_s3s_fs(root, port)?,
            Backend::Moto => moto::start(port, BUCKET)?,
        };
        Ok(Self {
            backend,
            root: root.to_owned(),
            port,
            child: Some(child),
        })
    }

    /// Which server this is.
    pub fn backend(&self) -> Backend {
        self.backend
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

    /// Starts the server again on the same port: s3s-fs on the same files,
    /// moto empty but for bucket [`BUCKET`] (its objects were in memory).
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop();
        *self = Self::start_on(self.backend, &self.root.clone(), self.port)?;
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

    /// The keys of the `.syscap` objects in [`BUCKET`], sorted.
    ///
    /// # Panics
    ///
    /// When moto does not answer the listing (s3s-fs keeps each object as
    /// a file under the bucket's directory, read directly).
    pub fn objects(&self) -> Vec<String> {
        let mut keys = match self.backend {
            Backend::S3sFs => files_under(&self.root.join(BUCKET)),
            Backend::Moto => moto::keys(self.port, BUCKET)
                .unwrap_or_else(|e| panic!("cannot list the moto server's objects: {e}")),
        };
        keys.retain(|k| k.ends_with(".syscap"));
        keys.sort();
        keys
    }
}

/// Starts `syscap-s3-test-server` on `root` and `port`: it and the port it
/// says it listens on.
fn start_s3s_fs(root: &Path, port: u16) -> io::Result<(Child, u16)> {
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
    Ok((child, port))
}

/// The paths of the files under `dir`, relative to it.
fn files_under(dir: &Path) -> Vec<String> {
    let mut keys = Vec::new();
    let mut dirs = vec![dir.to_owned()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if let Ok(key) = path.strip_prefix(dir) {
                keys.push(key.display().to_string());
            }
        }
    }
    keys
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
