//! Reads a `.scap` stream as syscap chunks on background threads, so that
//! a reader of `.scap` files uses every core: one thread reads (and
//! decompresses) the file, one turns its events into records, tracks state
//! and builds chunks, and the caller seals and reads them. Each stage hands
//! the next one full buffers through bounded channels, and the buffers come
//! back to be reused: memory stays bounded by a few chunks whatever the
//! file size.

use std::io::{self, BufRead, Read};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::thread::JoinHandle;

use super::{ImportStats, Importer, MachineInfo, ScapError};
use capture_format::event::EventType;
use capture_format::file::{ChunkEncoder, EncodedChunk, WriterOptions};
use capture_format::state::{Snapshot, Tracker, changes_state};

/// Bytes the reading thread hands over at a time.
const READ_BUFFER: usize = 1 << 20;
/// Buffers or chunks in flight between two stages.
const IN_FLIGHT: usize = 4;

/// An I/O error of building chunks in memory (a compressor failing).
fn in_memory(source: io::Error) -> capture_format::Error {
    capture_format::Error::Io { offset: 0, source }
}

/// Which records a [`ChunkStream`] hands over, and with what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selection {
    /// Every record, with its arguments.
    All,
    /// Every record; only those of these types (and those that change the
    /// state) carry their arguments and are resolved (see
    /// [`Importer::only_arguments_of`]).
    ArgumentsOf(Vec<EventType>),
    /// Only the records of these types, numbered as in the whole capture
    /// (see [`StreamedChunk::nums`]): for a reader that shows nothing else.
    /// The others still change the state, but are neither encoded nor
    /// decoded.
    Only(Vec<EventType>),
}

/// A chunk of a [`ChunkStream`].
#[derive(Debug)]
pub struct StreamedChunk {
    /// The chunk, sealed.
    pub chunk: EncodedChunk,
    /// The number in the capture (`evt.num`, from 1) of its first record.
    pub first: u64,
    /// Records of the capture up to the end of this chunk's, the ones left
    /// out included.
    pub through: u64,
    /// The number in the capture of each of its records when some were
    /// left out ([`Selection::Only`]); empty when they are consecutive
    /// from `first`.
    pub nums: Vec<u64>,
}

/// What the record thread sends.
enum Message {
    /// A full chunk, to be sealed by the consumer, with the numbers of its
    /// records (empty: consecutive from the first) and of the last record
    /// read.
    Chunk(Box<ChunkEncoder>, Vec<u64>, u64),
    /// The end: what was skipped, and why reading stopped early.
    Done(ImportStats, Option<ScapError>),
    /// Building a chunk failed (a record the format cannot hold).
    Failed(capture_format::Error),
}

/// The chunks of one `.scap` stream, produced in the background.
pub struct ChunkStream {
    chunks: Receiver<Message>,
    recycle: SyncSender<Box<ChunkEncoder>>,
    /// Records handed over so far, the ones left out included.
    through: u64,
    snapshot: Snapshot,
    machine: Option<MachineInfo>,
    first_ts: u64,
    end: Option<(ImportStats, Option<ScapError>)>,
    threads: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for ChunkStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkStream")
            .field("first_ts", &self.first_ts)
            .finish_non_exhaustive()
    }
}

/// Reads what the reading thread sends, as one stream of bytes.
struct PipeReader {
    buffers: Receiver<io::Result<Vec<u8>>>,
    recycle: SyncSender<Vec<u8>>,
    current: Vec<u8>,
    at: usize,
}

impl Read for PipeReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = out.len().min(available.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for PipeReader {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.at == self.current.len() {
            let Ok(next) = self.buffers.recv() else {
                return Ok(&[]); // the reader is done
            };
            let old = std::mem::replace(&mut self.current, next?);
            let _ = self.recycle.try_send(old);
            self.at = 0;
        }
        Ok(&self.current[self.at..])
    }

    fn consume(&mut self, n: usize) {
        self.at = (self.at + n).min(self.current.len());
    }
}

/// A named thread (names show in `top -H` and profiles).
fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> JoinHandle<()> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(f)
        .expect("a thread starts")
}

/// Starts the reading thread: `input` (gzip or raw) as a stream of raw
/// `.scap` bytes.
fn spawn_reader(input: impl Read + Send + 'static) -> (PipeReader, JoinHandle<()>) {
    let (send, buffers) = sync_channel::<io::Result<Vec<u8>>>(IN_FLIGHT);
    let (recycle, spare) = sync_channel::<Vec<u8>>(IN_FLIGHT + 2);
    let handle = spawn("scap-read", move || {
        let mut input = super::decompressed(input);
        loop {
            let mut buf = spare.try_recv().unwrap_or_default();
            buf.clear();
            buf.reserve(READ_BUFFER);
            let read = (&mut input).take(READ_BUFFER as u64).read_to_end(&mut buf);
            let more = match read {
                Ok(0) => return,
                Ok(_) => send.send(Ok(buf)),
                Err(e) => {
                    let _ = send.send(Err(e));
                    return;
                }
            };
            if more.is_err() {
                return; // the consumer stopped
            }
        }
    });
    let reader = PipeReader {
        buffers,
        recycle,
        current: Vec::new(),
        at: 0,
    };
    (reader, handle)
}

impl ChunkStream {
    /// Reads the tables of `input` (errors there are returned), then starts
    /// importing its events in the background into chunks of `options`,
    /// of the records `selection` says.
    pub fn start(
        input: impl Read + Send + 'static,
        options: WriterOptions,
        selection: Selection,
    ) -> Result<Self, ScapError> {
        let (pipe, reader) = spawn_reader(input);
        let mut importer = Importer::from_raw(Box::new(pipe))?;
        // Records nobody will see (not of a wanted type) are kept for their
        // place in the stream but not resolved unless they change the
        // state; with `Only`, not kept either.
        let mut wanted = vec![true; usize::from(EventType::LAST_KERNEL_EVENT.0) + 1];
        let only = matches!(selection, Selection::Only(_));
        if let Selection::ArgumentsOf(types) | Selection::Only(types) = selection {
            wanted.fill(false);
            for ty in &types {
                if let Some(w) = wanted.get_mut(usize::from(ty.0)) {
                    *w = true;
                }
            }
            importer.only_arguments_of(types);
        }
        let wanted = move |ty: EventType| wanted.get(usize::from(ty.0)).copied().unwrap_or(true);
        let snapshot = importer.snapshot().clone();
        let machine = importer.machine().cloned();
        let first_ts = importer.first_ts();
        let (send, chunks) = sync_channel::<Message>(IN_FLIGHT);
        let (recycle, spare) = sync_channel::<Box<ChunkEncoder>>(IN_FLIGHT + 2);
        let records = spawn("scap-records", move || {
            let mut tracker = Tracker::from_snapshot(importer.snapshot());
            let new_encoder = || ChunkEncoder::new(options).map(Box::new).map_err(in_memory);
            let mut encoder = match new_encoder() {
                Ok(e) => e,
                Err(e) => {
                    let _ = send.send(Message::Failed(e));
                    return;
                }
            };
            // The numbers of the records in the open chunk (with `only`),
            // and of the last record read.
            let mut nums = Vec::new();
            let mut num = 0u64;
            let result = importer.run(|rec| {
                num += 1;
                let keep = wanted(rec.ty);
                if only && !keep {
                    if changes_state(rec.ty) {
                        tracker.apply(rec);
                    }
                    return Ok(());
                }
                let ctx = if keep || changes_state(rec.ty) {
                    tracker.apply(rec)
                } else {
                    tracker.unresolved()
                };
                if only {
                    nums.push(num);
                }
                if encoder.push(rec, &ctx)? {
                    let next = match spare.try_recv() {
                        Ok(e) => e,
                        Err(TryRecvError::Empty | TryRecvError::Disconnected) => new_encoder()?,
                    };
                    let full = std::mem::replace(&mut encoder, next);
                    // (One vector per chunk, of a chunk's records at most.)
                    let full_nums = std::mem::take(&mut nums);
                    send.send(Message::Chunk(full, full_nums, num))
                        .map_err(|_| {
                            capture_format::Error::Usage("the reader of the chunks stopped")
                        })?;
                }
                Ok::<(), capture_format::Error>(())
            });
            let last = match result {
                Ok(()) if encoder.pending() > 0 => {
                    send.send(Message::Chunk(encoder, nums, num)).is_ok()
                }
                Ok(()) => true,
                Err(e) => {
                    let _ = send.send(Message::Failed(e));
                    false
                }
            };
            if last {
                let _ = send.send(Message::Done(importer.stats(), importer.take_error()));
            }
        });
        Ok(Self {
            chunks,
            recycle,
            through: 0,
            snapshot,
            machine,
            first_ts,
            end: None,
            threads: vec![reader, records],
        })
    }

    /// The state at the start of the capture.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// The machine the capture was taken on, when the file says.
    pub fn machine(&self) -> Option<&MachineInfo> {
        self.machine.as_ref()
    }

    /// Time of the first event (0 for a file without events).
    pub fn first_ts(&self) -> u64 {
        self.first_ts
    }

    /// The next chunk, sealed here; `None` after the last one.
    pub fn next_chunk(&mut self) -> Option<capture_format::Result<StreamedChunk>> {
        loop {
            match self.chunks.recv() {
                Ok(Message::Chunk(mut encoder, nums, through)) => {
                    let sealed = encoder.seal();
                    let first = nums.first().copied().unwrap_or(self.through + 1);
                    self.through = through;
                    let _ = self.recycle.try_send(encoder);
                    match sealed {
                        Ok(Some(chunk)) => {
                            return Some(Ok(StreamedChunk {
                                chunk,
                                first,
                                through,
                                nums,
                            }));
                        }
                        Ok(None) => {}
                        Err(e) => return Some(Err(in_memory(e))),
                    }
                }
                Ok(Message::Done(stats, error)) => {
                    self.end = Some((stats, error));
                    return None;
                }
                Ok(Message::Failed(e)) => return Some(Err(e)),
                Err(_) => return None,
            }
        }
    }

    /// What the import read and skipped, and why it stopped early; known
    /// once [`ChunkStream::next_chunk`] returned `None`.
    pub fn finish(mut self) -> Option<(ImportStats, Option<ScapError>)> {
        let end = self.end.take();
        // Dropping the receiver stops the threads at their next send.
        drop(self);
        end
    }
}

impl Drop for ChunkStream {
    fn drop(&mut self) {
        // Unblock the producers, then wait for them.
        let (_, dead) = sync_channel(0);
        drop(std::mem::replace(&mut self.chunks, dead));
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
