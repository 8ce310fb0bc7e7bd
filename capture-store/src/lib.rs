//! Where captures are kept: a local directory (the embedded default) or an
//! S3 bucket, behind one [`Store`], with the key layout that lets people and
//! tools find captures (`PREFIX/HOST/YYYY/MM/DD/TIMESTAMP_RULE_ID.syscap`)
//! and their facts as object metadata.
//!
//! S3 uses aws-config's standard credential chain (environment, profile,
//! IMDS, EKS web identity), an optional endpoint with path-style addressing
//! for S3-compatible servers, and optional server-side encryption. Uploads
//! above [`MULTIPART_THRESHOLD`] go in parts; every request carries a CRC32
//! that S3 checks, and downloads check it back.
//!
//! # Layout
//!
//! - this file: [`Location`] (`file:///DIR` or `s3://BUCKET/PREFIX`) and
//!   [`Store`] (put a finished capture, list, download, size), for both
//!   backends.
//! - `key`: where a capture goes (`PREFIX/[RULE_PREFIX/]HOST/...`), its
//!   metadata values, and safe local paths for downloads.
//! - `local`: downloads on the local disk ([`Download`]): private files,
//!   never through a link, never replacing a file unless asked.
//! - `remote`: [`RemoteSource`], a stored capture read in place by ranged
//!   GETs (the capture reader's byte source).
//! - `error`: [`StoreError`], each naming the object and the operation.
//!
//! The agent's uploader puts captures; the inspector lists, downloads and
//! reads them.

mod error;
mod key;
mod local;
mod remote;

use std::path::{Path, PathBuf};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    ChecksumAlgorithm, ChecksumMode, CompletedMultipartUpload, CompletedPart, EncodingType,
    ServerSideEncryption,
};
use tokio::io::AsyncReadExt as _;

pub use error::StoreError;
pub use key::{
    CaptureFacts, capture_key, metadata_text, metadata_value, parse_key_name, safe_local_path,
};
pub use local::{CrcCheck, Download, create_dirs_under, create_private};
pub use remote::RemoteSource;

/// Files at least this large are uploaded in parts.
pub const MULTIPART_THRESHOLD: u64 = 16 << 20;
/// Size of one part (S3's minimum is 5 MiB).
const PART_SIZE: usize = 8 << 20;
/// Object metadata names of a capture's tags start with this (`tag-team`).
pub const TAG_METADATA_PREFIX: &str = "tag-";

/// The metadata key of a stored capture's whole-file CRC32 (8 hex digits).
pub const CRC_METADATA: &str = "crc32";

/// Where captures go: parsed from `file:///dir`, a plain path, or
/// `s3://bucket/prefix`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// A local directory.
    Dir(PathBuf),
    /// A bucket and a key prefix (no leading or trailing `/`).
    S3 {
        /// Bucket.
        bucket: String,
        /// Key prefix, possibly empty.
        prefix: String,
    },
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Dir(dir) => write!(f, "file://{}", dir.display()),
            Location::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            Location::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

impl Location {
    /// Parses a storage URL.
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        let bad = |why: &str| StoreError::Url {
            url: url.to_owned(),
            why: why.to_owned(),
        };
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.len() < 3
                || !bucket
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.".contains(&b))
            {
                return Err(bad(
                    "a bucket name is 3 or more lower-case letters, digits, '-' or '.'",
                ));
            }
            return Ok(Location::S3 {
                bucket: bucket.to_owned(),
                prefix: prefix.trim_matches('/').to_owned(),
            });
        }
        let path = url.strip_prefix("file://").unwrap_or(url);
        if path.is_empty() || !path.starts_with('/') {
            return Err(bad(
                "expected s3://BUCKET/PREFIX, file:///DIR or an absolute path",
            ));
        }
        Ok(Location::Dir(PathBuf::from(path)))
    }

    /// The URL of `key` under this location.
    pub fn url_of(&self, key: &str) -> String {
        match self {
            Location::Dir(dir) => format!("file://{}", dir.join(key).display()),
            Location::S3 { bucket, .. } => format!("s3://{bucket}/{key}"),
        }
    }
}

/// Settings of an S3 store.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct S3Options {
    /// Region (else from the environment or profile; `us-east-1` at last).
    pub region: Option<String>,
    /// Endpoint of an S3-compatible server (`http://127.0.0.1:9000`).
    pub endpoint: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`), which local servers
    /// need.
    pub path_style: bool,
    /// Server-side encryption.
    pub encryption: Option<Encryption>,
    /// An access key and secret to use instead of the standard chain (for
    /// tools and tests; agents use the chain).
    pub static_credentials: Option<(String, String)>,
}

/// Server-side encryption of uploaded captures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Encryption {
    /// SSE-S3 (AES256).
    S3,
    /// SSE-KMS, with a key id or the bucket's default key.
    Kms(Option<String>),
}

impl Encryption {
    /// Its usual name.
    pub fn name(&self) -> &'static str {
        match self {
            Encryption::S3 => "SSE-S3",
            Encryption::Kms(_) => "SSE-KMS",
        }
    }
}

/// Checks that the server says it applied the encryption asked for (S3
/// answers with the algorithm it used; KMS counts for SSE-S3 too, as the
/// stronger of the two).
fn confirm_encryption(
    asked: Option<&Encryption>,
    answered: Option<&str>,
    bucket: &str,
    key: &str,
) -> Result<(), StoreError> {
    let Some(asked) = asked else {
        return Ok(());
    };
    let kms = matches!(answered, Some("aws:kms" | "aws:kms:dsse"));
    let confirmed = match asked {
        Encryption::S3 => kms || answered == Some("AES256"),
        Encryption::Kms(_) => kms,
    };
    if confirmed {
        return Ok(());
    }
    Err(StoreError::Encryption {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        asked: asked.name(),
        answered: answered.unwrap_or("no encryption").to_owned(),
    })
}

/// One stored capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredObject {
    /// Its key.
    pub key: String,
    /// Bytes.
    pub size: u64,
    /// Its metadata (rule, host, start, end, events, drops, agent).
    pub metadata: Vec<(String, String)>,
}

#[derive(Debug)]
enum Backend {
    Dir(PathBuf),
    S3 {
        client: aws_sdk_s3::Client,
        bucket: String,
        encryption: Option<Encryption>,
    },
}

/// A place to put, list and read captures.
#[derive(Debug)]
pub struct Store {
    location: Location,
    backend: Backend,
}

impl Store {
    /// Opens `location`; S3 credentials come from the standard chain.
    pub async fn open(location: Location, options: &S3Options) -> Result<Self, StoreError> {
        let backend = match &location {
            Location::Dir(dir) => Backend::Dir(dir.clone()),
            Location::S3 { bucket, .. } => {
                let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
                if let Some((key, secret)) = &options.static_credentials {
                    loader = loader.credentials_provider(aws_sdk_s3::config::Credentials::new(
                        key, secret, None, None, "syscap",
                    ));
                }
                if let Some(region) = &options.region {
                    loader = loader.region(aws_config::Region::new(region.clone()));
                }
                let shared = loader.load().await;
                let mut config = aws_sdk_s3::config::Builder::from(&shared);
                if shared.region().is_none() {
                    config = config.region(aws_config::Region::new("us-east-1"));
                }
                if let Some(endpoint) = &options.endpoint {
                    config = config.endpoint_url(endpoint);
                }
                config = config.force_path_style(options.path_style);
                Backend::S3 {
                    client: aws_sdk_s3::Client::from_conf(config.build()),
                    bucket: bucket.clone(),
                    encryption: options.encryption.clone(),
                }
            }
        };
        Ok(Self { location, backend })
    }

    /// Where it is.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The key prefix captures go under (empty for a directory).
    pub fn prefix(&self) -> &str {
        match &self.location {
            Location::Dir(_) => "",
            Location::S3 { prefix, .. } => prefix,
        }
    }

    /// Stores the file at `path` as `key`, with `metadata`; done only when
    /// the store confirmed it (S3 checked the checksum; a directory's copy
    /// is synced).
    pub async fn put_file(
        &self,
        path: &Path,
        key: &str,
        metadata: &[(String, String)],
    ) -> Result<(), StoreError> {
        let url = self.location.url_of(key);
        // The whole file's CRC32 goes with it, so that any download (a
        // multipart object's parts are checked only part by part) can be
        // checked end to end.
        let crc = file_crc32(path).await.map_err(|source| StoreError::Io {
            what: format!("cannot read {}", path.display()),
            source,
        })?;
        let mut metadata = metadata.to_vec();
        metadata.push((CRC_METADATA.to_owned(), format!("{crc:08x}")));
        let metadata = &metadata[..];
        match &self.backend {
            Backend::Dir(dir) => put_in_dir(dir, path, key, metadata)
                .await
                .map_err(|source| StoreError::Io {
                    what: format!("cannot store {url}"),
                    source,
                }),
            Backend::S3 {
                client,
                bucket,
                encryption,
            } => {
                let size = tokio::fs::metadata(path)
                    .await
                    .map_err(|source| StoreError::Io {
                        what: format!("cannot read {}", path.display()),
                        source,
                    })?
                    .len();
                if size < MULTIPART_THRESHOLD {
                    put_whole(client, bucket, key, path, metadata, encryption.as_ref()).await
                } else {
                    put_parts(client, bucket, key, path, metadata, encryption.as_ref()).await
                }
            }
        }
    }

    /// A cheap check that the storage answers and takes captures: for a
    /// directory, a file created (mode 0600), synced and removed in it; for
    /// S3, one `ListObjectsV2` of at most one key under the prefix (what
    /// the least-privilege policy of `deploy/aws/` allows, unlike
    /// `HeadBucket`).
    pub async fn check(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Dir(dir) => {
                let dir = dir.clone();
                tokio::task::spawn_blocking(move || {
                    let probe = dir.join(format!(".syscap-check-{}", std::process::id()));
                    // One left by a crashed agent of the same id.
                    let _ = std::fs::remove_file(&probe);
                    let result = std::fs::create_dir_all(&dir)
                        .and_then(|()| local::create_private(&probe))
                        .and_then(|file| file.sync_all());
                    let _ = std::fs::remove_file(&probe);
                    result.map_err(|source| StoreError::Io {
                        what: format!("cannot write in {}", dir.display()),
                        source,
                    })
                })
                .await
                .map_err(|e| StoreError::Io {
                    what: "the storage check did not finish".into(),
                    source: std::io::Error::other(e),
                })?
            }
            Backend::S3 { client, bucket, .. } => {
                let prefix = match self.prefix() {
                    "" => String::new(),
                    p => format!("{p}/"),
                };
                client
                    .list_objects_v2()
                    .bucket(bucket)
                    .prefix(&prefix)
                    .max_keys(1)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| StoreError::s3("ListObjectsV2", bucket, &prefix, &e))
            }
        }
    }

    /// The captures under `prefix` (relative to the store's own prefix for
    /// a directory; a full key prefix for S3), with their metadata.
    pub async fn list(&self, prefix: &str) -> Result<Vec<StoredObject>, StoreError> {
        match &self.backend {
            Backend::Dir(dir) => list_dir(dir, prefix).map_err(|source| StoreError::Io {
                what: format!("cannot list {}", dir.display()),
                source,
            }),
            Backend::S3 { client, bucket, .. } => {
                let mut out = Vec::new();
                // XML 1.0 cannot carry a key's control characters (one such
                // key would fail the whole listing): S3 percent-encodes the
                // keys when asked.
                let mut pages = client
                    .list_objects_v2()
                    .bucket(bucket)
                    .prefix(prefix)
                    .encoding_type(EncodingType::Url)
                    .into_paginator()
                    .send();
                while let Some(page) = pages.next().await {
                    let page =
                        page.map_err(|e| StoreError::s3("ListObjectsV2", bucket, prefix, &e))?;
                    let encoded = page.encoding_type() == Some(&EncodingType::Url);
                    for object in page.contents() {
                        let Some(key) = object.key() else { continue };
                        let decoded;
                        let key = if encoded {
                            decoded = key::listed_key(key).ok_or_else(|| StoreError::S3 {
                                operation: "ListObjectsV2",
                                bucket: bucket.clone(),
                                key: key.to_owned(),
                                message: "a listed key is not UTF-8 once URL-decoded".into(),
                            })?;
                            decoded.as_str()
                        } else {
                            key
                        };
                        if !key.ends_with(".syscap") {
                            continue;
                        }
                        let head = client
                            .head_object()
                            .bucket(bucket)
                            .key(key)
                            .send()
                            .await
                            .map_err(|e| StoreError::s3("HeadObject", bucket, key, &e))?;
                        let mut metadata: Vec<(String, String)> = head
                            .metadata()
                            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                            .unwrap_or_default();
                        metadata.sort();
                        out.push(StoredObject {
                            key: key.to_owned(),
                            size: u64::try_from(object.size().unwrap_or(0)).unwrap_or(0),
                            metadata,
                        });
                    }
                }
                Ok(out)
            }
        }
    }

    /// The size of `key`.
    pub async fn size(&self, key: &str) -> Result<u64, StoreError> {
        match &self.backend {
            Backend::Dir(dir) => Ok(tokio::fs::metadata(dir.join(key))
                .await
                .map_err(|source| StoreError::Io {
                    what: format!("cannot read {}", self.location.url_of(key)),
                    source,
                })?
                .len()),
            Backend::S3 { client, bucket, .. } => {
                let head = client
                    .head_object()
                    .bucket(bucket)
                    .key(key)
                    .send()
                    .await
                    .map_err(|e| StoreError::s3("HeadObject", bucket, key, &e))?;
                Ok(u64::try_from(head.content_length().unwrap_or(0)).unwrap_or(0))
            }
        }
    }

    /// `len` bytes of `key` from `offset` (a ranged GET on S3).
    pub async fn get_range(
        &self,
        key: &str,
        offset: u64,
        len: usize,
    ) -> Result<Vec<u8>, StoreError> {
        let url = self.location.url_of(key);
        match &self.backend {
            Backend::Dir(dir) => {
                let path = dir.join(key);
                tokio::task::spawn_blocking(move || {
                    let file = std::fs::File::open(&path)?;
                    let mut buf = vec![0; len];
                    std::os::unix::fs::FileExt::read_exact_at(&file, &mut buf, offset)?;
                    Ok(buf)
                })
                .await
                .map_err(|e| StoreError::Io {
                    what: format!("cannot read {url}"),
                    source: std::io::Error::other(e),
                })?
                .map_err(|source| StoreError::Io {
                    what: format!("cannot read {url}"),
                    source,
                })
            }
            Backend::S3 { client, bucket, .. } => {
                if len == 0 {
                    return Ok(Vec::new());
                }
                let range = format!("bytes={offset}-{}", offset + len as u64 - 1);
                let out = client
                    .get_object()
                    .bucket(bucket)
                    .key(key)
                    .range(range)
                    .send()
                    .await
                    .map_err(|e| StoreError::s3("GetObject", bucket, key, &e))?;
                let bytes = out
                    .body
                    .collect()
                    .await
                    .map_err(|e| StoreError::Io {
                        what: format!("cannot read {url}"),
                        source: std::io::Error::other(e),
                    })?
                    .into_bytes();
                if bytes.len() != len {
                    return Err(StoreError::Short {
                        url,
                        offset,
                        wanted: len,
                        got: bytes.len(),
                    });
                }
                Ok(bytes.to_vec())
            }
        }
    }

    /// Downloads `key` into a private temporary file beside `to` (whose
    /// directory must exist: [`create_dirs_under`]), checked against the
    /// CRC32 stored with it when there is one, calling `progress` with the
    /// bytes received so far. [`Download::keep`] puts it at `to`.
    pub async fn download(
        &self,
        key: &str,
        to: &Path,
        mut progress: impl FnMut(u64),
    ) -> Result<Download, StoreError> {
        let url = self.location.url_of(key);
        let io = |what: String| move |source| StoreError::Io { what, source };
        let dir = to.parent().unwrap_or(Path::new("."));
        let (temp, file) =
            local::create_temp(dir).map_err(io(format!("cannot write in {}", dir.display())))?;
        // From here the temporary file is deleted on any failure.
        let mut download = Download {
            temp,
            to: to.to_owned(),
            bytes: 0,
            crc: CrcCheck::Missing,
            consumed: false,
        };
        let temp_name = download.temp.display().to_string();
        let mut file = tokio::fs::File::from_std(file);
        let mut crc = crc32fast::Hasher::new();
        let stored: Option<String>;
        match &self.backend {
            Backend::Dir(dir) => {
                stored = read_meta(&dir.join(key))
                    .into_iter()
                    .find(|(k, _)| k == CRC_METADATA)
                    .map(|(_, v)| v);
                let mut src = tokio::fs::File::open(dir.join(key))
                    .await
                    .map_err(io(format!("cannot read {url}")))?;
                let mut buf = vec![0u8; 1 << 20];
                loop {
                    let n = src
                        .read(&mut buf)
                        .await
                        .map_err(io(format!("cannot read {url}")))?;
                    if n == 0 {
                        break;
                    }
                    tokio::io::AsyncWriteExt::write_all(&mut file, &buf[..n])
                        .await
                        .map_err(io(format!("cannot write {temp_name}")))?;
                    crc.update(&buf[..n]);
                    download.bytes += n as u64;
                    progress(download.bytes);
                }
            }
            Backend::S3 { client, bucket, .. } => {
                // Checksum mode: the SDK checks the object's checksum as
                // the body streams and fails the read on a mismatch.
                let out = client
                    .get_object()
                    .bucket(bucket)
                    .key(key)
                    .checksum_mode(ChecksumMode::Enabled)
                    .send()
                    .await
                    .map_err(|e| StoreError::s3("GetObject", bucket, key, &e))?;
                stored = out.metadata().and_then(|m| m.get(CRC_METADATA)).cloned();
                let mut body = out.body;
                while let Some(bytes) = body.try_next().await.map_err(|e| StoreError::Io {
                    what: format!("cannot read {url} (checksum or transfer)"),
                    source: std::io::Error::other(e),
                })? {
                    tokio::io::AsyncWriteExt::write_all(&mut file, &bytes)
                        .await
                        .map_err(io(format!("cannot write {temp_name}")))?;
                    crc.update(&bytes);
                    download.bytes += bytes.len() as u64;
                    progress(download.bytes);
                }
            }
        }
        let got = crc.finalize();
        download.crc = match stored.as_deref().map(crc_of_metadata) {
            None => CrcCheck::Missing,
            Some(Some(expected)) if expected != got => {
                return Err(StoreError::Checksum { url, expected, got });
            }
            Some(Some(_)) => CrcCheck::Matched,
            Some(None) => CrcCheck::Unreadable(stored.unwrap_or_default()),
        };
        file.sync_all()
            .await
            .map_err(io(format!("cannot write {temp_name}")))?;
        Ok(download)
    }
}

/// The CRC32 a `crc32` metadata value says: exactly 8 hex digits, as
/// [`Store::put_file`] writes it.
fn crc_of_metadata(value: &str) -> Option<u32> {
    if value.len() == 8 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        u32::from_str_radix(value, 16).ok()
    } else {
        None
    }
}

/// A directory store: the file is copied under its key, synced, renamed
/// into place; metadata goes to a `.meta` file beside it.
async fn put_in_dir(
    dir: &Path,
    path: &Path,
    key: &str,
    metadata: &[(String, String)],
) -> std::io::Result<()> {
    let target = dir.join(key);
    let parent = target.parent().unwrap_or(dir).to_owned();
    let (path, metadata) = (path.to_owned(), metadata.to_vec());
    tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&parent)?;
        let tmp = target.with_extension("syscap.part");
        std::fs::copy(&path, &tmp)?;
        std::fs::File::open(&tmp)?.sync_all()?;
        let meta = metadata.iter().fold(String::new(), |mut m, (k, v)| {
            use std::fmt::Write as _;
            let _ = writeln!(m, "{k}={v}");
            m
        });
        std::fs::write(target.with_extension("syscap.meta"), meta)?;
        std::fs::rename(&tmp, &target)?;
        std::fs::File::open(&parent)?.sync_all()
    })
    .await
    .map_err(std::io::Error::other)?
}

/// The metadata a directory store keeps beside the capture at `path`.
fn read_meta(path: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path.with_extension("syscap.meta"))
        .map(|m| {
            m.lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// The CRC32 of the file at `path`.
async fn file_crc32(path: &Path) -> std::io::Result<u32> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut file = std::fs::File::open(path)?;
        let mut crc = crc32fast::Hasher::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = std::io::Read::read(&mut file, &mut buf)?;
            if n == 0 {
                return Ok(crc.finalize());
            }
            crc.update(&buf[..n]);
        }
    })
    .await
    .map_err(std::io::Error::other)?
}

fn list_dir(dir: &Path, prefix: &str) -> std::io::Result<Vec<StoredObject>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                stack.push(path);
                continue;
            }
            let Ok(rel) = path.strip_prefix(dir) else {
                continue;
            };
            let key = rel.to_string_lossy().into_owned();
            if !key.ends_with(".syscap") || !key.starts_with(prefix) {
                continue;
            }
            let metadata = read_meta(&path);
            out.push(StoredObject {
                key,
                size: entry.metadata()?.len(),
                metadata,
            });
        }
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

/// The `x-amz-server-side-encryption` and KMS key headers of an upload.
fn sse_headers(encryption: Option<&Encryption>) -> (Option<ServerSideEncryption>, Option<String>) {
    match encryption {
        None => (None, None),
        Some(Encryption::S3) => (Some(ServerSideEncryption::Aes256), None),
        Some(Encryption::Kms(key)) => (Some(ServerSideEncryption::AwsKms), key.clone()),
    }
}

async fn put_whole(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    path: &Path,
    metadata: &[(String, String)],
    encryption: Option<&Encryption>,
) -> Result<(), StoreError> {
    let body = ByteStream::from_path(path)
        .await
        .map_err(|e| StoreError::Io {
            what: format!("cannot read {}", path.display()),
            source: std::io::Error::other(e),
        })?;
    let (sse, kms_key) = sse_headers(encryption);
    let put = client
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(body)
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .set_metadata(Some(metadata.iter().cloned().collect()))
        .set_server_side_encryption(sse)
        .set_ssekms_key_id(kms_key)
        .send()
        .await
        .map_err(|e| StoreError::s3("PutObject", bucket, key, &e))?;
    confirm_encryption(
        encryption,
        put.server_side_encryption()
            .map(ServerSideEncryption::as_str),
        bucket,
        key,
    )
}

async fn put_parts(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    path: &Path,
    metadata: &[(String, String)],
    encryption: Option<&Encryption>,
) -> Result<(), StoreError> {
    let (sse, kms_key) = sse_headers(encryption);
    let upload = client
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .set_metadata(Some(metadata.iter().cloned().collect()))
        .set_server_side_encryption(sse)
        .set_ssekms_key_id(kms_key)
        .send()
        .await
        .map_err(|e| StoreError::s3("CreateMultipartUpload", bucket, key, &e))?;
    let id = upload.upload_id().unwrap_or_default().to_owned();
    let result = async {
        let parts = upload_parts(client, bucket, key, &id, path).await?;
        client
            .complete_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(&id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| StoreError::s3("CompleteMultipartUpload", bucket, key, &e))
    }
    .await;
    match result {
        Ok(done) => confirm_encryption(
            encryption,
            done.server_side_encryption()
                .map(ServerSideEncryption::as_str),
            bucket,
            key,
        ),
        Err(e) => {
            // Leave no orphaned parts billed to the bucket.
            let _ = client
                .abort_multipart_upload()
                .bucket(bucket)
                .key(key)
                .upload_id(&id)
                .send()
                .await;
            Err(e)
        }
    }
}

/// Sends `path` as the parts of upload `id`, each with its CRC32.
async fn upload_parts(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    id: &str,
    path: &Path,
) -> Result<Vec<CompletedPart>, StoreError> {
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(|source| StoreError::Io {
            what: format!("cannot read {}", path.display()),
            source,
        })?;
    let mut parts = Vec::new();
    let mut buf = vec![0u8; PART_SIZE];
    for number in 1.. {
        let mut filled = 0;
        while filled < PART_SIZE {
            let n = file
                .read(&mut buf[filled..])
                .await
                .map_err(|source| StoreError::Io {
                    what: format!("cannot read {}", path.display()),
                    source,
                })?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        if filled == 0 {
            break;
        }
        let part = client
            .upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(id)
            .part_number(number)
            .checksum_algorithm(ChecksumAlgorithm::Crc32)
            .body(ByteStream::from(buf[..filled].to_vec()))
            .send()
            .await
            .map_err(|e| StoreError::s3("UploadPart", bucket, key, &e))?;
        parts.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(part.e_tag().map(str::to_owned))
                .set_checksum_crc32(part.checksum_crc32().map(str::to_owned))
                .build(),
        );
        if filled < PART_SIZE {
            break;
        }
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn check_says_whether_a_directory_takes_captures() {
        let base = std::env::temp_dir().join(format!("syscap-store-check-{}", std::process::id()));
        std::fs::create_dir_all(&base).unwrap();
        let file = base.join("a-file");
        std::fs::write(&file, b"x").unwrap();
        let cases: [(&str, PathBuf, bool); 3] = [
            ("an existing directory", base.clone(), true),
            ("a directory made on demand", base.join("new/sub"), true),
            ("a path under a file", file.join("sub"), false),
        ];
        for (what, dir, ok) in cases {
            let store = Store::open(Location::Dir(dir.clone()), &S3Options::default())
                .await
                .unwrap();
            let result = store.check().await;
            assert_eq!(result.is_ok(), ok, "{what}: {result:?}");
            if let Err(e) = result {
                assert!(
                    e.to_string().contains(&*dir.to_string_lossy()),
                    "{what}: {e}"
                );
            } else {
                let left: Vec<_> = std::fs::read_dir(&dir)
                    .unwrap()
                    .flatten()
                    .map(|e| e.file_name())
                    .collect();
                assert!(
                    !left
                        .iter()
                        .any(|n| n.to_string_lossy().starts_with(".syscap-check")),
                    "{what}: the check left {left:?}"
                );
            }
        }
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn crc_metadata_is_exactly_8_hex_digits() {
        for (value, crc) in [
            ("0a1b2c3d", Some(0x0a1b_2c3d)),
            ("0A1B2C3D", Some(0x0a1b_2c3d)),
            ("00000000", Some(0)),
            ("+a1b2c3d", None),
            ("a1b2c3d", None),
            ("0a1b2c3d0", None),
            ("zzzz", None),
            ("", None),
        ] {
            assert_eq!(crc_of_metadata(value), crc, "{value:?}");
        }
    }

    #[test]
    fn the_server_must_say_it_applied_the_encryption_asked_for() {
        let kms = Encryption::Kms(Some("key".into()));
        // (asked, answered, confirmed)
        let cases = [
            (None, None, true),
            (None, Some("AES256"), true),
            (Some(&Encryption::S3), Some("AES256"), true),
            (Some(&Encryption::S3), Some("aws:kms"), true),
            (Some(&Encryption::S3), None, false),
            (Some(&kms), Some("aws:kms"), true),
            (Some(&kms), Some("aws:kms:dsse"), true),
            (Some(&kms), Some("AES256"), false),
            (Some(&kms), None, false),
        ];
        for (asked, answered, confirmed) in cases {
            let got = confirm_encryption(asked, answered, "b", "k");
            assert_eq!(got.is_ok(), confirmed, "{asked:?} answered {answered:?}");
        }
        let e = confirm_encryption(Some(&kms), None, "b", "k").unwrap_err();
        assert_eq!(
            e.to_string(),
            "s3://b/k: asked for SSE-KMS, the server answered no encryption: the object is not encrypted as configured"
        );
    }
}
