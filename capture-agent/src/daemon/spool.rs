//! The spool: where a capture is written (`partial/`), kept once finished
//! (`ready/`, synced, mode 0600) and deleted only after the storage
//! confirmed it. At start, captures cut short by a crash are finished as
//! truncated captures and queued too. The spool is bounded: past its limit
//! the oldest finished captures are dropped, loudly and counted.
//!
//! Captures hold what every user's programs read and wrote, and what is in
//! `ready/` is uploaded as this host's: a spool another user could change
//! is refused (its directories and those above it must be the agent's or
//! root's, writable by no one else), and its files are never opened
//! through a symlink nor their bytes logged.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use capture_format::file::CaptureReader;
use capture_store::{CaptureFacts, Store, TAG_METADATA_PREFIX, capture_key};

use super::metrics::{self, Metrics};

/// The spool directory.
#[derive(Debug, Clone)]
pub struct Spool {
    root: PathBuf,
    max_bytes: u64,
    /// The capture being uploaded, which the bound never drops; the lock
    /// also makes one bound enforcement run at a time (captures, recorder
    /// and uploader all enforce it).
    uploading: Arc<Mutex<Option<PathBuf>>>,
}

/// Syncs a directory, so that a rename or a removal in it survives a crash.
fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

/// Opens a spool file for reading (and writing), never through a symlink.
fn open_nofollow(path: &Path, write: bool) -> io::Result<fs::File> {
    fs::OpenOptions::new()
        .read(true)
        .write(write)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// Where a directory stands on the spool's path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Above the spool: root's or the agent's; writable by others only
    /// when sticky (as `/tmp`), so no one else can rename what is in it.
    Above,
    /// The spool, `partial/` and `ready/`: the agent's, writable by no one
    /// else.
    Own,
}

/// Why a directory of the spool's path could be changed by another user
/// (`None`: it cannot), from its owner and mode and the agent's user.
fn distrust(place: Place, uid: u32, mode: u32, agent_uid: u32) -> Option<String> {
    let owner_ok = uid == agent_uid || (place == Place::Above && uid == 0);
    if !owner_ok {
        return Some(format!(
            "is owned by uid {uid}, not by the agent (uid {agent_uid})"
        ));
    }
    let sticky = mode & 0o1000 != 0;
    if mode & 0o022 != 0 && !(place == Place::Above && sticky) {
        return Some(format!(
            "is writable by other users (mode {:04o})",
            mode & 0o7777
        ));
    }
    None
}

/// Refuses `dir` unless it is a directory (not a symlink) that no other
/// user can change, as `place` says.
fn check_dir(dir: &Path, place: Place, agent_uid: u32) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt as _;
    let meta = fs::symlink_metadata(dir)?;
    let reason = if meta.file_type().is_symlink() {
        Some("is a symlink, not a directory".to_owned())
    } else if !meta.is_dir() {
        Some("is not a directory".to_owned())
    } else {
        distrust(place, meta.uid(), meta.mode(), agent_uid)
    };
    match reason {
        None => Ok(()),
        Some(reason) => Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} {reason}: another user could read or replace the captures",
                dir.display()
            ),
        )),
    }
}

impl Spool {
    /// Opens (creating) the spool at `root`, bounded to `max_bytes`. Its
    /// own `partial/` and `ready/` are made 0700; an existing `root` keeps
    /// its mode (it may be readable by others), a new one is created 0700.
    /// A spool another user could change is refused: `root`, `partial/`
    /// and `ready/` must be the agent's and writable by no one else, the
    /// directories above root's or the agent's (writable by others only
    /// when sticky, as `/tmp`).
    pub fn open(root: &Path, max_bytes: u64) -> io::Result<Self> {
        if !root.is_dir() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(root)?;
        }
        // SAFETY: geteuid has no preconditions.
        let agent_uid = unsafe { libc::geteuid() };
        let root = fs::canonicalize(root)?;
        for above in root.ancestors().skip(1) {
            check_dir(above, Place::Above, agent_uid)?;
        }
        check_dir(&root, Place::Own, agent_uid)?;
        for d in [root.join("partial"), root.join("ready")] {
            match fs::DirBuilder::new().mode(0o700).create(&d) {
                Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
                _ => {}
            }
            check_dir(&d, Place::Own, agent_uid)?;
            fs::set_permissions(&d, fs::Permissions::from_mode(0o700))?;
        }
        Ok(Self {
            root,
            max_bytes,
            uploading: Arc::default(),
        })
    }

    /// Marks `path` as being uploaded (`None`: no upload running).
    fn set_uploading(&self, path: Option<&Path>) {
        *self
            .uploading
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = path.map(Path::to_owned);
    }

    /// A new file for a capture being written, mode 0600.
    pub fn create_partial(&self, name: &str) -> io::Result<(PathBuf, fs::File)> {
        let path = self.root.join("partial").join(name);
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)?;
        Ok((path, file))
    }

    /// Moves a finished (synced) capture to `ready/`.
    pub fn publish(&self, partial: &Path) -> io::Result<PathBuf> {
        let name = partial.file_name().unwrap_or_default();
        let ready = self.root.join("ready").join(name);
        fs::rename(partial, &ready)?;
        sync_dir(&self.root.join("ready"))?;
        sync_dir(&self.root.join("partial"))?;
        Ok(ready)
    }

    /// At start: what a crash left in `partial/` is finished as truncated
    /// captures (every complete chunk kept) and published, and what held
    /// nothing is removed and counted lost, each said once. Whatever is
    /// not a regular file is said once and left alone, never opened.
    /// Returns the names of the captures recovered.
    pub fn recover(&self, metrics: &Metrics) -> Vec<String> {
        for dir in ["partial", "ready"] {
            for path in strangers(&self.root.join(dir)) {
                tracing::warn!(
                    "spool: {dir}/{} is not a regular file (a symlink?): never opened nor uploaded, left alone",
                    display_name(&path)
                );
            }
        }
        let mut recovered = Vec::new();
        for path in list(&self.root.join("partial")) {
            match self.salvage(&path) {
                Salvaged::Published(_) => recovered.push(display_name(&path)),
                Salvaged::Nothing(why) => {
                    metrics::inc(&metrics.captures_lost);
                    tracing::warn!(
                        "capture {}, cut short, held nothing to keep ({why}): removed, lost",
                        display_name(&path)
                    );
                }
                Salvaged::Kept(why) => tracing::error!(
                    "cannot recover {} ({why}); it stays in the spool for the next start",
                    display_name(&path)
                ),
            }
        }
        recovered
    }

    /// Finishes the capture at `path` in `partial/` as a truncated capture
    /// (every complete chunk kept) and publishes it; removes it when it
    /// holds nothing a reader could use.
    pub fn salvage(&self, path: &Path) -> Salvaged {
        let finished = open_nofollow(path, true)
            .map_err(|e| (false, e.to_string()))
            .and_then(|mut f| {
                capture_format::file::finish_truncated(&mut f)
                    .map_err(|e| (holds_nothing(&e), capture_error(&e)))
                    .and_then(|_| f.sync_all().map_err(|e| (false, e.to_string())))
            })
            .and_then(|()| self.publish(path).map_err(|e| (false, e.to_string())));
        match finished {
            Ok(ready) => Salvaged::Published(ready),
            Err((true, why)) => match fs::remove_file(path) {
                Ok(()) => {
                    let _ = sync_dir(&self.root.join("partial"));
                    Salvaged::Nothing(why)
                }
                Err(e) => Salvaged::Kept(format!("{why}; cannot remove it: {e}")),
            },
            Err((false, why)) => Salvaged::Kept(why),
        }
    }

    /// Finished captures, oldest first (names start with their time).
    pub fn ready(&self) -> Vec<PathBuf> {
        list(&self.root.join("ready"))
    }

    /// Bytes of every capture in the spool.
    pub fn bytes(&self) -> u64 {
        ["partial", "ready"]
            .iter()
            .flat_map(|d| list(&self.root.join(d)))
            .filter_map(|p| fs::symlink_metadata(p).ok())
            .map(|m| m.len())
            .sum()
    }

    /// Bytes free on the spool's file system, and its size.
    fn available(&self) -> Option<(u64, u64)> {
        let path = std::ffi::CString::new(self.root.as_os_str().as_encoded_bytes()).ok()?;
        // SAFETY: a valid C string and a statvfs to fill.
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        if unsafe { libc::statvfs(path.as_ptr(), &raw mut st) } != 0 {
            return None;
        }
        Some((
            st.f_bavail.saturating_mul(st.f_frsize),
            st.f_blocks.saturating_mul(st.f_frsize),
        ))
    }

    /// Drops the oldest finished captures while the spool is over its
    /// bound, or its file system is nearly full (less free than a tenth of
    /// the bound or of the file system, at most 64 MiB: room for the next
    /// capture); each one is said on stderr and counted. The newest capture
    /// and the one being uploaded are never dropped: every capture is
    /// offered to the storage at least once.
    pub fn enforce_bound(&self, metrics: &Metrics) {
        let uploading = self
            .uploading
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut total = self.bytes();
        let (mut free, size) = self.available().unwrap_or((u64::MAX, u64::MAX));
        let reserve = (self.max_bytes / 10).min(size / 10).min(64 << 20);
        let mut ready = self.ready();
        ready.pop(); // the newest
        for path in ready {
            if total <= self.max_bytes && free >= reserve {
                break;
            }
            if uploading.as_deref() == Some(path.as_path()) {
                continue;
            }
            let size = fs::symlink_metadata(&path).map_or(0, |m| m.len());
            if fs::remove_file(&path).is_ok() {
                total = total.saturating_sub(size);
                free = free.saturating_add(size);
                metrics::inc(&metrics.spool_dropped);
                metrics::inc(&metrics.captures_lost);
                tracing::warn!(
                    "spool full ({} bytes, limit {}; {} bytes free on its file system): dropped capture {} ({size} bytes) before it was stored",
                    total + size,
                    self.max_bytes,
                    free - size,
                    display_name(&path)
                );
            }
        }
        let _ = sync_dir(&self.root.join("ready"));
        metrics::set(&metrics.spool_bytes, total);
        metrics::set(&metrics.uploads_pending, self.ready().len() as u64);
    }
}

/// What became of a capture cut short.
#[derive(Debug)]
pub enum Salvaged {
    /// Finished as a truncated capture and moved to `ready/`.
    Published(PathBuf),
    /// It held nothing a reader could use (cut inside its first block, or
    /// not a capture at all): removed. Why, in words.
    Nothing(String),
    /// Finishing it failed (a full disk, most likely): it stays in
    /// `partial/` for the next start. Why, in words.
    Kept(String),
}

/// True when a capture cut short cannot be finished because it holds
/// nothing a reader could use.
fn holds_nothing(e: &capture_format::Error) -> bool {
    matches!(
        e,
        capture_format::Error::NotACapture { .. } | capture_format::Error::Truncated { .. }
    )
}

/// A capture file's error, for the log: never the file's bytes (a file
/// that is not a capture could be anyone's secret).
fn capture_error(e: &capture_format::Error) -> String {
    match e {
        capture_format::Error::NotACapture { .. } => {
            "not a syscap capture (it does not start with the syscap magic)".to_owned()
        }
        other => error_chain(other),
    }
}

/// A spool file's name, for the log (control characters escaped).
fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().escape_debug().to_string())
        .unwrap_or_default()
}

/// The regular `*.syscap` files of `dir`, by name.
fn list(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "syscap"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// What in `dir` is not a regular file (the agent makes nothing else
/// there), by name.
fn strangers(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| !e.file_type().is_ok_and(|t| t.is_file()))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

/// The key and metadata of a finished capture, from its header and index:
/// under the storage's prefix and the rule's `storage_prefix`, with the
/// rule's tags as `tag-NAME` metadata.
pub fn describe(path: &Path, prefix: &str) -> io::Result<(String, Vec<(String, String)>)> {
    let reader = CaptureReader::open(open_nofollow(path, false)?)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, capture_error(&e)))?;
    let h = reader.header();
    let index = reader.index();
    let trigger = h.trigger.clone().unwrap_or_default();
    // The time the capture covers, not its records' entry times.
    let (start, end) = index.span();
    let facts = CaptureFacts {
        host: h.hostname.clone(),
        rule: trigger.rule.clone(),
        id: h.capture_id.clone(),
        trigger_ts: if trigger.ts > 0 { trigger.ts } else { start },
    };
    let mut metadata = vec![
        (
            "rule".to_owned(),
            capture_store::metadata_value(&trigger.rule),
        ),
        (
            "host".to_owned(),
            capture_store::metadata_value(&h.hostname),
        ),
        ("start".to_owned(), start.to_string()),
        ("end".to_owned(), end.to_string()),
        ("events".to_owned(), index.events.to_string()),
        ("drops".to_owned(), index.drops.to_string()),
        (
            "agent".to_owned(),
            capture_store::metadata_value(&h.producer),
        ),
        (
            "capture-id".to_owned(),
            capture_store::metadata_value(&h.capture_id),
        ),
    ];
    // S3 metadata names ignore case; the header keeps the tags as given.
    metadata.extend(h.tags.iter().map(|(k, v)| {
        (
            format!("{TAG_METADATA_PREFIX}{}", k.to_ascii_lowercase()),
            capture_store::metadata_value(v),
        )
    }));
    let prefix = [prefix, h.storage_prefix.as_str()]
        .iter()
        .map(|p| p.trim_matches('/'))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("/");
    Ok((capture_key(&prefix, &facts), metadata))
}

/// Uploads finished captures until `stop` says so: each is deleted once the
/// storage confirmed it. A failure is said once per new reason and the
/// round goes on with the next capture, unless that one fails the same way
/// (the storage is down: the round ends); failed rounds are retried with
/// backoff and jitter (1 s doubling to 60 s). The bound is enforced after
/// each round, so a capture is always offered to the storage before the
/// bound may drop it.
pub async fn upload_loop(
    spool: Spool,
    store: Arc<Store>,
    metrics: Arc<Metrics>,
    wake: Arc<tokio::sync::Notify>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_secs(1);
    let mut last_error = String::new();
    loop {
        let mut failed = false;
        let mut round_error: Option<String> = None;
        for path in spool.ready() {
            if *stop.borrow() {
                return;
            }
            let started = std::time::Instant::now();
            spool.set_uploading(Some(&path));
            // A stalled connection must not hold the agent's stop.
            let outcome = tokio::select! {
                outcome = upload_one(&path, &store) => outcome,
                _ = stop.changed() => {
                    spool.set_uploading(None);
                    return;
                }
            };
            spool.set_uploading(None);
            match outcome {
                Ok(url) => {
                    let bytes = fs::metadata(&path).map_or(0, |m| m.len());
                    let secs = started.elapsed().as_secs_f64();
                    let _ = fs::remove_file(&path);
                    let _ = sync_dir(path.parent().unwrap_or(Path::new("/")));
                    metrics::inc(&metrics.uploads_done);
                    tracing::info!(
                        "stored {url} ({bytes} bytes in {secs:.2} s, {:.1} MB/s)",
                        bytes as f64 / secs.max(1e-6) / 1e6
                    );
                    backoff = Duration::from_secs(1);
                    last_error.clear();
                }
                Err(UploadFailure { message, cause }) => {
                    metrics::inc(&metrics.uploads_failed);
                    failed = true;
                    if cause != last_error {
                        tracing::warn!(
                            "cannot store {}: {message}; it stays in the spool and is retried",
                            display_name(&path)
                        );
                        last_error.clone_from(&cause);
                    }
                    if round_error.as_ref() == Some(&cause) {
                        break;
                    }
                    round_error = Some(cause);
                }
            }
        }
        spool.enforce_bound(&metrics);
        let wait = if failed {
            let jitter =
                Duration::from_millis(u64::from(crate::host::realtime_ns().to_le_bytes()[1]) * 4);
            let w = backoff + jitter;
            backoff = (backoff * 2).min(Duration::from_mins(1));
            w
        } else {
            Duration::from_secs(30)
        };
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Why an upload failed: the message, and its cause without the key (the
/// same for every capture when the storage is down).
struct UploadFailure {
    message: String,
    cause: String,
}

async fn upload_one(path: &Path, store: &Store) -> Result<String, UploadFailure> {
    let (key, metadata) = describe(path, store.prefix()).map_err(|e| UploadFailure {
        message: e.to_string(),
        cause: e.kind().to_string(),
    })?;
    store.put_file(path, &key, &metadata).await.map_err(|e| {
        let message = error_chain(&e);
        UploadFailure {
            cause: message.replace(&key, ""),
            message,
        }
    })?;
    Ok(store.location().url_of(&key))
}

/// An error and its causes on one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(c) = source {
        let _ = std::fmt::Write::write_fmt(&mut s, format_args!(": {c}"));
        source = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use capture_format::file::{CaptureHeader, TriggerInfo, Writer, WriterOptions};

    use super::*;

    /// Who may own, and who may write, the directories of the spool's path.
    #[test]
    fn a_spool_another_user_could_change_is_distrusted() {
        const AGENT: u32 = 0;
        const NOBODY: u32 = 65534;
        let owned = "is owned by uid 65534, not by the agent (uid 0)";
        // (place, owner, mode, why not)
        let cases = [
            (Place::Own, AGENT, 0o700, None),
            (Place::Own, AGENT, 0o755, None),
            (Place::Own, NOBODY, 0o700, Some(owned)),
            (
                Place::Own,
                AGENT,
                0o770,
                Some("is writable by other users (mode 0770)"),
            ),
            (
                Place::Own,
                AGENT,
                0o1777,
                Some("is writable by other users (mode 1777)"),
            ),
            (Place::Above, AGENT, 0o755, None),
            (Place::Above, 0, 0o1777, None),
            (Place::Above, NOBODY, 0o755, Some(owned)),
            (
                Place::Above,
                0,
                0o777,
                Some("is writable by other users (mode 0777)"),
            ),
            (
                Place::Above,
                0,
                0o2775,
                Some("is writable by other users (mode 2775)"),
            ),
        ];
        for (place, uid, mode, expected) in cases {
            assert_eq!(
                distrust(place, uid, mode, AGENT).as_deref(),
                expected,
                "{place:?} uid {uid} mode {mode:o}"
            );
        }
        // An agent that is not root trusts root's directories above it.
        assert_eq!(distrust(Place::Above, 0, 0o755, 1000), None);
        assert!(distrust(Place::Own, 0, 0o755, 1000).is_some());
    }

    /// A capture goes under the storage's prefix and its rule's, and carries
    /// its rule's tags as metadata.
    #[test]
    fn a_capture_is_described_by_its_header() {
        let path =
            std::env::temp_dir().join(format!("syscap-describe-{}.syscap", std::process::id()));
        let header = CaptureHeader {
            hostname: "web-1".into(),
            capture_id: "c0ffee".into(),
            trigger: Some(TriggerInfo {
                rule: "db-slow".into(),
                ts: 1_700_000_000_000_000_000,
                reason: "by hand".into(),
            }),
            tags: vec![
                ("Team".into(), "db".into()),
                ("ticket".into(), "INC 7".into()),
            ],
            storage_prefix: "incidents/db".into(),
            ..CaptureHeader::default()
        };
        let file = fs::File::create(&path).unwrap();
        Writer::new(file, &header, WriterOptions::default())
            .unwrap()
            .finish()
            .unwrap();
        let cases = [
            ("prod", "prod/incidents/db/web-1/2023/11/14/"),
            ("", "incidents/db/web-1/2023/11/14/"),
        ];
        for (store_prefix, key_start) in cases {
            let (key, metadata) = describe(&path, store_prefix).unwrap();
            assert!(
                key.starts_with(key_start) && key.ends_with("_db-slow_c0ffee.syscap"),
                "{key}"
            );
            let tags: Vec<_> = metadata
                .iter()
                .filter(|(k, _)| k.starts_with(TAG_METADATA_PREFIX))
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            assert_eq!(tags, [("tag-team", "db"), ("tag-ticket", "INC 7")]);
        }
        let _ = fs::remove_file(&path);
    }
}
