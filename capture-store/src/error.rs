//! Errors of the stores: each names the object and the operation, and an
//! S3 error keeps the service's code and message.

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A storage URL that does not parse.
    #[error("storage {url:?}: {why}")]
    Url {
        /// The URL.
        url: String,
        /// What is wrong.
        why: String,
    },
    /// Local I/O.
    #[error("{what}")]
    Io {
        /// What was being done.
        what: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// S3 refused or failed a request.
    #[error("s3://{bucket}/{key}: {operation} failed: {message}")]
    S3 {
        /// The request.
        operation: &'static str,
        /// Bucket.
        bucket: String,
        /// Key or prefix.
        key: String,
        /// The service's code and message, or the transport's error.
        message: String,
    },
    /// A download's content is not what was stored.
    #[error("{url}: content CRC32 {got:08x}, stored with {expected:08x}: the copy is corrupt")]
    Checksum {
        /// Object.
        url: String,
        /// The CRC32 stored with it.
        expected: u32,
        /// The CRC32 of what arrived.
        got: u32,
    },
    /// The server did not say it applied the server-side encryption the
    /// upload asked for (a server that ignores it stores the object as is).
    #[error(
        "s3://{bucket}/{key}: asked for {asked}, the server answered {answered}: the object is not encrypted as configured"
    )]
    Encryption {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
        /// What the upload asked for (`SSE-S3`, `SSE-KMS`).
        asked: &'static str,
        /// What the server said it applied (`no encryption` when it did not say).
        answered: String,
    },
    /// A directory a download would be written through is a symbolic link.
    #[error(
        "{}: a symbolic link where a download needs a directory: not followed",
        path.display()
    )]
    Symlink {
        /// The link.
        path: std::path::PathBuf,
    },
    /// A ranged read returned fewer bytes than asked.
    #[error("{url}: {got} bytes at byte {offset}, expected {wanted}")]
    Short {
        /// Object.
        url: String,
        /// Where.
        offset: u64,
        /// Bytes asked.
        wanted: usize,
        /// Bytes received.
        got: usize,
    },
}

impl StoreError {
    pub(crate) fn s3<E>(
        operation: &'static str,
        bucket: &str,
        key: &str,
        error: &aws_sdk_s3::error::SdkError<E>,
    ) -> Self
    where
        E: std::error::Error + aws_sdk_s3::error::ProvideErrorMetadata + 'static,
    {
        let message = match error {
            aws_sdk_s3::error::SdkError::ServiceError(e) => {
                let meta = e.err().meta();
                match (meta.code(), meta.message()) {
                    (Some(code), Some(msg)) => format!("{code}: {msg}"),
                    (Some(code), None) => code.to_owned(),
                    _ => format!("HTTP {}", e.raw().status().as_u16()),
                }
            }
            other => {
                // The innermost cause says most (connection refused, ...).
                let mut msg = other.to_string();
                let mut source = std::error::Error::source(other);
                while let Some(s) = source {
                    msg = s.to_string();
                    source = s.source();
                }
                msg
            }
        };
        StoreError::S3 {
            operation,
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            message,
        }
    }

    /// True for errors worth retrying later (the service or the network),
    /// false for refusals that retrying cannot fix (bad credentials are
    /// retried too: they may be rotated).
    pub fn is_transient(&self) -> bool {
        !matches!(self, StoreError::Url { .. })
    }
}
