//! Reading captures as one stream of decoded chunks: chunks the index says
//! cannot match (time window, event types, process names) are skipped
//! unread, the rest are decoded in parallel on every core and handed to the
//! caller in file order.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

use capture_format::codec::Codec;
use capture_format::file::{
    ByteSource, CaptureReader, Chunk, Decoder, Projection, Writer, WriterOptions,
};
use scap_import::{ChunkStream, ImportStats, Importer, ScapError};
use triggers::filter::Filter;

/// Where a capture's bytes are: a syscap file, or a `.scap` file imported
/// into memory.
#[derive(Debug)]
pub enum Source {
    /// A syscap capture file, read in place.
    File(File),
    /// A capture built in memory from a `.scap` file.
    Memory(Vec<u8>),
    /// A stored capture read in place (ranged GETs).
    #[cfg(feature = "s3")]
    Remote(capture_store::RemoteSource),
}

impl ByteSource for Source {
    fn size(&self) -> std::io::Result<u64> {
        match self {
            Source::File(f) => f.size(),
            Source::Memory(m) => m.size(),
            #[cfg(feature = "s3")]
            Source::Remote(r) => r.size(),
        }
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        match self {
            Source::File(f) => f.read_exact_at(offset, buf),
            Source::Memory(m) => m.read_exact_at(offset, buf),
            #[cfg(feature = "s3")]
            Source::Remote(r) => r.read_exact_at(offset, buf),
        }
    }

    fn as_slice(&self) -> Option<&[u8]> {
        match self {
            Source::Memory(m) => Some(m),
            Source::File(_) => None,
            #[cfg(feature = "s3")]
            Source::Remote(_) => None,
        }
    }
}

/// What importing a `.scap` file skipped.
#[derive(Debug)]
pub struct ImportReport {
    /// Counts.
    pub stats: ImportStats,
    /// Why reading stopped early, or the first corrupt event.
    pub error: Option<ScapError>,
}

impl ImportReport {
    /// One line per thing a user should know, for warnings.
    pub fn warnings(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(e) = &self.error {
            lines.push(format!("{e} (the events before it were read)"));
        }
        if self.stats.unknown_types > 0 {
            lines.push(format!(
                "skipped {} events of types newer than this reader",
                self.stats.unknown_types
            ));
        }
        if self.stats.corrupt > 1 {
            lines.push(format!("skipped {} corrupt events", self.stats.corrupt));
        }
        lines
    }
}

/// One capture file, opened (header and index read).
#[derive(Debug)]
pub struct Input {
    /// Where it is.
    pub path: PathBuf,
    /// Its reader.
    pub reader: CaptureReader<Source>,
    /// Set when the file was a `.scap` file, imported on opening.
    pub imported: Option<ImportReport>,
    /// A `.scap` file read as it is imported (see [`Input::open_streaming`]):
    /// `reader` then holds only its header and starting state.
    pub streaming: Option<Mutex<Option<ChunkStream>>>,
}

/// Captures imported into memory are read once, right away: they are not
/// compressed.
fn in_memory_options() -> WriterOptions {
    WriterOptions {
        codec: Codec::None,
        ..WriterOptions::default()
    }
}

/// Why a capture could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// Opening or reading the file failed.
    #[error("cannot open {}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The storage refused the object.
    #[cfg(feature = "s3")]
    #[error("{}", path.display())]
    Store {
        /// The URL.
        path: PathBuf,
        /// Cause.
        #[source]
        source: capture_store::StoreError,
    },
    /// The `.scap` reader refused the file.
    #[error("{}", path.display())]
    Scap {
        /// The file.
        path: PathBuf,
        /// Cause (names the byte offset).
        #[source]
        source: ScapError,
    },
    /// The capture format reader refused the file or a chunk.
    #[error("{}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// Cause (names the byte offset).
        #[source]
        source: capture_format::Error,
    },
}

/// Opens a local capture file, and says whether it is a `.scap` file (raw
/// or gzip'd). Each format knows its own first bytes; a file that neither
/// knows goes to the syscap reader, whose error names the bytes it found.
pub fn open_local(path: &Path) -> Result<(File, bool), ScanError> {
    let open_err = |source| ScanError::Open {
        path: path.to_owned(),
        source,
    };
    let file = if path == Path::new(STDIN) {
        spool_stdin().map_err(open_err)?
    } else {
        File::open(local_path(path)).map_err(open_err)?
    };
    let mut head = [0u8; capture_format::file::FILE_MAGIC.len()];
    let n = std::os::unix::fs::FileExt::read_at(&file, &mut head, 0).map_err(open_err)?;
    let head = &head[..n];
    let scap = !capture_format::file::is_capture(head) && scap_import::is_scap(head);
    Ok((file, scap))
}

/// The word naming standard input as a capture.
pub const STDIN: &str = "-";

/// The local file a capture's name names: `file:///PATH` is `/PATH` (as
/// `syscap ls file:///DIR` takes a directory), any other name itself.
pub fn local_path(path: &Path) -> &Path {
    path.to_str()
        .and_then(|p| p.strip_prefix("file://"))
        .filter(|p| p.starts_with('/'))
        .map_or(path, Path::new)
}

/// True for a word that names a capture: an existing file (or
/// `file:///PATH`), `-` (standard input), or a stored capture (`s3://`).
pub fn names_capture(word: &str) -> bool {
    #[cfg(feature = "s3")]
    if crate::remote::is_remote(word) {
        return true;
    }
    word == STDIN || local_path(Path::new(word)).is_file()
}

/// Standard input copied into a private temporary file (created `0600`,
/// unnamed: gone when closed): syscap's format is read from its index at
/// the end, and `.scap` files are looked at before they are read, so the
/// bytes must be seekable; memory stays bounded, whatever their size.
fn spool_stdin() -> std::io::Result<File> {
    use std::io::{Seek as _, SeekFrom};
    let mut file = tempfile::tempfile()?;
    std::io::copy(&mut std::io::stdin().lock(), &mut file)?;
    file.seek(SeekFrom::Start(0))?;
    Ok(file)
}

/// Checks that `path` holds a capture without reading its events: a
/// syscap capture's header and index open (a truncated one too), a `.scap`
/// file has the first bytes of one.
pub fn check_capture(path: &Path) -> Result<(), ScanError> {
    let (file, scap) = open_local(path)?;
    if !scap {
        CaptureReader::open(Source::File(file)).map_err(|source| ScanError::Format {
            path: path.to_owned(),
            source,
        })?;
    }
    Ok(())
}

impl Input {
    /// Opens `path`; a truncated capture opens with what it holds.
    pub fn open(path: &Path) -> Result<Self, ScanError> {
        #[cfg(feature = "s3")]
        if let Some(url) = path.to_str().filter(|p| crate::remote::is_remote(p)) {
            return Self::open_remote(path, url);
        }
        let (file, scap) = open_local(path)?;
        if scap {
            return Self::import(path, file);
        }
        Self::over(path, Source::File(file))
    }

    /// A syscap capture over `source`.
    fn over(path: &Path, source: Source) -> Result<Self, ScanError> {
        let reader = CaptureReader::open(source).map_err(|source| ScanError::Format {
            path: path.to_owned(),
            source,
        })?;
        Ok(Self {
            path: path.to_owned(),
            reader,
            imported: None,
            streaming: None,
        })
    }

    /// A capture in S3, read in place.
    #[cfg(feature = "s3")]
    fn open_remote(path: &Path, url: &str) -> Result<Self, ScanError> {
        let store_err = |source| ScanError::Store {
            path: path.to_owned(),
            source,
        };
        let (store, key) = crate::remote::open(url).map_err(store_err)?;
        let source = capture_store::RemoteSource::open(
            store,
            &key,
            crate::remote::runtime().handle().clone(),
        )
        .map_err(store_err)?;
        Self::over(path, Source::Remote(source))
    }

    /// Opens `path` to be read once from start to end: a `.scap` file is
    /// imported on background threads while its chunks are read, instead of
    /// before (a syscap capture opens as with [`Input::open`]).
    /// `selection` says which records of a `.scap` file are imported, and
    /// which carry their arguments.
    pub fn open_streaming(
        path: &Path,
        selection: scap_import::Selection,
    ) -> Result<Self, ScanError> {
        #[cfg(feature = "s3")]
        if path.to_str().is_some_and(crate::remote::is_remote) {
            return Self::open(path);
        }
        let (file, scap) = open_local(path)?;
        if !scap {
            return Self::over(path, Source::File(file));
        }
        let stream =
            ChunkStream::start(file, in_memory_options(), selection).map_err(|source| {
                ScanError::Scap {
                    path: path.to_owned(),
                    source,
                }
            })?;
        // A capture of the header and the starting state only, so that the
        // header, start time and state are found as for any capture.
        let format_err = |source| ScanError::Format {
            path: path.to_owned(),
            source,
        };
        let mut header = scap_import::capture_header(stream.machine());
        header.start_ts = stream.first_ts();
        let mut writer =
            Writer::new(Vec::new(), &header, in_memory_options()).map_err(format_err)?;
        writer
            .write_snapshot(stream.snapshot())
            .map_err(format_err)?;
        let (bytes, _) = writer.finish().map_err(format_err)?;
        let reader = CaptureReader::open(Source::Memory(bytes)).map_err(format_err)?;
        Ok(Self {
            path: path.to_owned(),
            reader,
            imported: None,
            streaming: Some(Mutex::new(Some(stream))),
        })
    }

    /// Imports a `.scap` file into an in-memory capture (uncompressed: it is
    /// read once, right away).
    fn import(path: &Path, file: File) -> Result<Self, ScanError> {
        let scap_err = |source| ScanError::Scap {
            path: path.to_owned(),
            source,
        };
        let format_err = |source| ScanError::Format {
            path: path.to_owned(),
            source,
        };
        let mut importer = Importer::new(file).map_err(scap_err)?;
        let bytes = importer
            .write_capture(Vec::new(), in_memory_options())
            .map_err(format_err)?;
        let reader = CaptureReader::open(Source::Memory(bytes)).map_err(format_err)?;
        Ok(Self {
            path: path.to_owned(),
            reader,
            imported: Some(ImportReport {
                stats: importer.stats(),
                error: importer.take_error(),
            }),
            streaming: None,
        })
    }
}

/// Which chunks to read and which columns to decode.
#[derive(Clone, Copy, Debug)]
pub struct Plan<'a> {
    /// Keep only chunks that may hold a match.
    pub filter: Option<&'a Filter>,
    /// Only events returning at or after this time (ns since the epoch).
    pub since: Option<u64>,
    /// Only events starting before this time.
    pub until: Option<u64>,
    /// Columns to decode.
    pub projection: Projection,
}

/// The chunks `plan` needs: (input, chunk) in stream order.
pub fn chunks_to_read(inputs: &[Input], plan: &Plan<'_>) -> Vec<(usize, usize)> {
    let mut tasks = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let index = input.reader.index();
        for (c, meta) in index.chunks.iter().enumerate() {
            if plan.since.is_some_and(|t| meta.ts_max < t)
                || plan.until.is_some_and(|t| meta.ts_min >= t)
            {
                continue;
            }
            if plan.filter.is_some_and(|f| !f.may_match(meta, index)) {
                continue;
            }
            tasks.push((i, c));
        }
    }
    tasks
}

struct Shared {
    next_task: usize,
    delivered: usize,
    done: BTreeMap<usize, Result<Chunk, ScanError>>,
    free: Vec<Chunk>,
    stop: bool,
    /// A decoding thread panicked: its chunk will never come.
    panicked: bool,
}

/// Stops everyone when its thread leaves, normally or by panic, so that no
/// thread waits forever for one that is gone.
struct StopOnDrop<'a> {
    state: &'a Mutex<Shared>,
    changed: &'a Condvar,
    /// Only when unwinding (workers), or always (the consumer).
    always: bool,
}

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        if self.always || std::thread::panicking() {
            let mut s = self
                .state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            s.stop = true;
            s.panicked |= std::thread::panicking();
            drop(s);
            self.changed.notify_all();
        }
    }
}

/// Decodes the chunks of `tasks` on `threads` threads and calls `each` with
/// them in order. `each` returns false to stop early.
pub fn for_each_chunk(
    inputs: &[Input],
    tasks: &[(usize, usize)],
    projection: Projection,
    threads: usize,
    mut each: impl FnMut(&Input, &Chunk) -> bool,
) -> Result<(), ScanError> {
    let threads = threads.clamp(1, 64);
    // Workers run at most this far ahead of the consumer: memory stays
    // bounded by a few decoded chunks per thread whatever the file size.
    let window = threads * 2;
    let state = Mutex::new(Shared {
        next_task: 0,
        delivered: 0,
        done: BTreeMap::new(),
        free: Vec::new(),
        stop: false,
        panicked: false,
    });
    let changed = Condvar::new();
    let lock = || {
        state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };

    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let _stop = StopOnDrop {
                    state: &state,
                    changed: &changed,
                    always: false,
                };
                let mut decoder = Decoder::new();
                loop {
                    let (task, mut chunk) = {
                        let mut s = lock();
                        while !s.stop
                            && s.next_task < tasks.len()
                            && s.next_task >= s.delivered + window
                        {
                            s = changed
                                .wait(s)
                                .unwrap_or_else(std::sync::PoisonError::into_inner);
                        }
                        if s.stop || s.next_task >= tasks.len() {
                            return;
                        }
                        s.next_task += 1;
                        (s.next_task - 1, s.free.pop().unwrap_or_default())
                    };
                    let (i, c) = tasks[task];
                    let input = &inputs[i];
                    let result = decoder
                        .read_chunk(&input.reader, c, projection, &mut chunk)
                        .map(|()| chunk)
                        .map_err(|source| ScanError::Format {
                            path: input.path.clone(),
                            source,
                        });
                    lock().done.insert(task, result);
                    changed.notify_all();
                }
            });
        }

        let mut outcome = Ok(());
        for (task, &(i, _)) in tasks.iter().enumerate() {
            let result = {
                let mut s = lock();
                loop {
                    if let Some(r) = s.done.remove(&task) {
                        break r;
                    }
                    s = changed
                        .wait(s)
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                }
            };
            let keep_going = match result {
                Ok(chunk) => {
                    let more = each(&inputs[i], &chunk);
                    let mut s = lock();
                    s.free.push(chunk);
                    s.delivered = task + 1;
                    more
                }
                Err(e) => {
                    outcome = Err(e);
                    false
                }
            };
            changed.notify_all();
            if !keep_going {
                break;
            }
        }
        lock().stop = true;
        changed.notify_all();
        outcome
    })
}

/// Threads to decode with: every core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}
