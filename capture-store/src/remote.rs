//! A stored capture read in place: the capture reader asks for byte ranges
//! (the footer first, then the chunks a scan needs) and each becomes a
//! ranged GET.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use capture_format::file::ByteSource;

use crate::Store;

/// The bytes of one stored object, for [`capture_format::file::CaptureReader`].
#[derive(Debug)]
pub struct RemoteSource {
    store: Arc<Store>,
    key: String,
    size: u64,
    runtime: tokio::runtime::Handle,
    requests: AtomicU64,
    fetched: AtomicU64,
}

impl RemoteSource {
    /// Opens `key` (its size is asked once); requests run on `runtime`.
    pub fn open(
        store: Arc<Store>,
        key: &str,
        runtime: tokio::runtime::Handle,
    ) -> Result<Self, crate::StoreError> {
        let size = runtime.block_on(store.size(key))?;
        Ok(Self {
            store,
            key: key.to_owned(),
            size,
            runtime,
            requests: AtomicU64::new(0),
            fetched: AtomicU64::new(0),
        })
    }

    /// Ranged GETs made so far, and the bytes they fetched.
    pub fn fetched(&self) -> (u64, u64) {
        (
            self.requests.load(Ordering::Relaxed),
            self.fetched.load(Ordering::Relaxed),
        )
    }
}

impl ByteSource for RemoteSource {
    fn size(&self) -> io::Result<u64> {
        Ok(self.size)
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let bytes = self
            .runtime
            .block_on(self.store.get_range(&self.key, offset, buf.len()))
            .map_err(io::Error::other)?;
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.fetched
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        buf.copy_from_slice(&bytes);
        Ok(())
    }
}
