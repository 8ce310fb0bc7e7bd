//! Downloads on the local disk. A capture is a secret (every file, every
//! buffer the agent saw), and its key was chosen by whoever could write to
//! the bucket, so a download:
//!
//! - is created `0600`, new (`O_EXCL`), never through a symbolic link
//!   (`O_NOFOLLOW`), in directories that are checked not to be links;
//! - is written to a temporary file of its own (a unique name, created
//!   new), which is the only file a failed download deletes;
//! - is put in place only when complete and checked, without replacing an
//!   existing file unless asked to.

use std::fs::OpenOptions;
use std::io;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::StoreError;

/// How a download compares with the CRC32 stored with its object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CrcCheck {
    /// The whole file's CRC32 is the one stored with it.
    Matched,
    /// The object has no `crc32` metadata (not stored by a syscap agent,
    /// or by one older than the checksum).
    Missing,
    /// Its `crc32` metadata is not 8 hex digits: this value.
    Unreadable(String),
}

/// A downloaded object, complete and checked against its CRC32 when it has
/// one, in a private temporary file beside where it goes: [`Download::keep`]
/// puts it in place; dropped without that, the temporary file is deleted.
#[derive(Debug)]
pub struct Download {
    pub(crate) temp: PathBuf,
    pub(crate) to: PathBuf,
    pub(crate) bytes: u64,
    pub(crate) crc: CrcCheck,
    /// The temporary file is gone (renamed into place).
    pub(crate) consumed: bool,
}

impl Download {
    /// Bytes received.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// What its CRC32 says.
    pub fn crc(&self) -> &CrcCheck {
        &self.crc
    }

    /// The temporary file, to look at before keeping it.
    pub fn path(&self) -> &Path {
        &self.temp
    }

    /// Where it goes.
    pub fn destination(&self) -> &Path {
        &self.to
    }

    /// Puts the file in place: as a new file, or replacing whatever is
    /// there (a link itself, not what it points to) when `overwrite`.
    pub fn keep(mut self, overwrite: bool) -> Result<(), StoreError> {
        let renamed = if overwrite {
            std::fs::rename(&self.temp, &self.to).map(|()| true)
        } else {
            place_new(&self.temp, &self.to)
        };
        // After a hard link the temporary name is still there: Drop
        // removes it.
        self.consumed = renamed.map_err(|source| StoreError::Io {
            what: format!("cannot write {}", self.to.display()),
            source,
        })?;
        Ok(())
    }
}

impl Drop for Download {
    fn drop(&mut self) {
        if !self.consumed {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Links `temp` at `to`, which must not exist (`link(2)` never replaces
/// nor follows a link at `to`); true when `temp` was renamed instead, on
/// file systems without hard links: a check and a rename, which another
/// writer could race.
fn place_new(temp: &Path, to: &Path) -> io::Result<bool> {
    match std::fs::hard_link(temp, to) {
        Ok(()) => Ok(false),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(e),
        Err(_) => match std::fs::symlink_metadata(to) {
            Ok(_) => Err(io::ErrorKind::AlreadyExists.into()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                std::fs::rename(temp, to).map(|()| true)
            }
            Err(e) => Err(e),
        },
    }
}

/// Creates `path` for writing: new, `0600`, and not through a symbolic link.
pub fn create_private(path: &Path) -> io::Result<std::fs::File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// A new private temporary file in `dir`, named for this process and this
/// download (`.syscap-download-PID-N.part`), so that concurrent downloads,
/// here or in another process, never share one.
pub(crate) fn create_temp(dir: &Path) -> io::Result<(PathBuf, std::fs::File)> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!(".syscap-download-{}-{n}.part", std::process::id()));
        match create_private(&path) {
            Ok(file) => return Ok((path, file)),
            // Left by a process that had this id before: another name.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
}

/// Creates the directories between `dir` and the file `to` (a path under
/// `dir`, as [`crate::safe_local_path`] makes), refusing any that is a
/// symbolic link or not a directory: a key never writes through a link
/// planted under `dir`. `dir` itself is the user's choice and is created
/// if missing.
pub fn create_dirs_under(dir: &Path, to: &Path) -> Result<(), StoreError> {
    let io_err = |path: &Path| {
        let what = format!("cannot create {}", path.display());
        move |source| StoreError::Io { what, source }
    };
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let below = to
        .parent()
        .and_then(|p| p.strip_prefix(dir).ok())
        .unwrap_or(Path::new(""));
    let mut at = dir.to_owned();
    for part in below.components() {
        at.push(part);
        let found = match std::fs::symlink_metadata(&at) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => match std::fs::create_dir(&at) {
                Ok(()) => continue,
                // Made by someone else meanwhile: look at what it is.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    std::fs::symlink_metadata(&at).map_err(io_err(&at))?
                }
                Err(e) => return Err(io_err(&at)(e)),
            },
            found => found.map_err(io_err(&at))?,
        };
        if found.file_type().is_symlink() {
            return Err(StoreError::Symlink { path: at });
        }
        if !found.is_dir() {
            return Err(io_err(&at)(io::ErrorKind::NotADirectory.into()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("syscap-store-local-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn private_files_are_new_0600_and_never_through_a_link() {
        let dir = scratch("private");
        let path = dir.join("a.syscap");
        create_private(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = create_private(&path).unwrap_err();
        assert_eq!(again.kind(), io::ErrorKind::AlreadyExists);
        let target = dir.join("target");
        let link = dir.join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(create_private(&link).is_err(), "a dangling link");
        assert!(!target.exists());
        let (one, _) = create_temp(&dir).unwrap();
        let (two, _) = create_temp(&dir).unwrap();
        assert_ne!(one, two);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn directories_under_the_target_are_created_and_links_refused() {
        let dir = scratch("dirs");
        let to = dir.join("prod/h1/2026/a.syscap");
        create_dirs_under(&dir, &to).unwrap();
        assert!(dir.join("prod/h1/2026").is_dir());
        create_dirs_under(&dir, &to).unwrap();

        let outside = scratch("dirs-outside");
        std::os::unix::fs::symlink(&outside, dir.join("evil")).unwrap();
        let e = create_dirs_under(&dir, &dir.join("evil/x/a.syscap")).unwrap_err();
        assert!(matches!(e, StoreError::Symlink { .. }), "{e}");
        assert!(!outside.join("x").exists(), "nothing created through it");
        std::fs::write(dir.join("file"), b"").unwrap();
        assert!(create_dirs_under(&dir, &dir.join("file/a.syscap")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
        std::fs::remove_dir_all(&outside).unwrap();
    }

    #[test]
    fn a_kept_download_replaces_nothing_unless_asked() {
        let dir = scratch("keep");
        let to = dir.join("a.syscap");
        let download = |content: &[u8]| {
            let (temp, _) = create_temp(&dir).unwrap();
            std::fs::write(&temp, content).unwrap();
            Download {
                temp,
                to: to.clone(),
                bytes: 0,
                crc: CrcCheck::Matched,
                consumed: false,
            }
        };
        download(b"one").keep(false).unwrap();
        assert!(download(b"two").keep(false).is_err());
        assert_eq!(std::fs::read(&to).unwrap(), b"one");
        download(b"three").keep(true).unwrap();
        assert_eq!(std::fs::read(&to).unwrap(), b"three");
        drop(download(b"dropped"));
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(left.len(), 1, "only a.syscap: {left:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
