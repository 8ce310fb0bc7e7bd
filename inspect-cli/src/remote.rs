//! Captures in S3 (or a capture directory): `syscap ls`, `syscap get`, and
//! `s3://BUCKET/KEY` wherever a capture is accepted, read in place with
//! ranged GETs (the footer first, then only the chunks a scan needs).
//!
//! S3 settings come from the standard AWS variables and profile, plus
//! `SYSCAP_S3_ENDPOINT`, `SYSCAP_S3_PATH_STYLE` and `SYSCAP_S3_REGION` for
//! S3-compatible servers, as the agent reads them.

use std::sync::{Arc, OnceLock};

use capture_store::{Location, S3Options, Store, StoreError};

/// The runtime S3 requests run on (started on first use).
///
/// # Panics
///
/// When the runtime cannot start (no threads left): nothing could be read.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("the tokio runtime starts")
    })
}

/// S3 settings from the environment.
pub fn s3_options() -> S3Options {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    S3Options {
        region: var("SYSCAP_S3_REGION"),
        endpoint: var("SYSCAP_S3_ENDPOINT"),
        path_style: var("SYSCAP_S3_PATH_STYLE").is_some_and(|v| v == "true" || v == "1"),
        encryption: None,
        static_credentials: None,
    }
}

/// True for words that name stored captures rather than files.
pub fn is_remote(word: &str) -> bool {
    word.starts_with("s3://")
}

/// The store of `url` and the key (or prefix) it names: `s3://bucket/key`,
/// or a directory for `file:///dir` (key relative to it).
pub fn open(url: &str) -> Result<(Arc<Store>, String), StoreError> {
    let location = Location::parse(url)?;
    let (location, key) = match location {
        Location::S3 { bucket, prefix } => (
            Location::S3 {
                bucket,
                prefix: String::new(),
            },
            prefix,
        ),
        dir @ Location::Dir(_) => (dir, String::new()),
    };
    let store = runtime().block_on(Store::open(location, &s3_options()))?;
    Ok((Arc::new(store), key))
}

/// The store holding the one capture `url` names, and its key:
/// `s3://BUCKET/KEY`, or `file:///DIR/NAME` (a capture in a directory
/// store, or any file: its directory, and its name as the key).
pub fn open_object(url: &str) -> Result<(Arc<Store>, String), StoreError> {
    if let Location::Dir(path) = Location::parse(url)?
        && let (Some(dir), Some(name)) = (path.parent(), path.file_name())
    {
        let store =
            runtime().block_on(Store::open(Location::Dir(dir.to_owned()), &s3_options()))?;
        return Ok((Arc::new(store), name.to_string_lossy().into_owned()));
    }
    open(url)
}
