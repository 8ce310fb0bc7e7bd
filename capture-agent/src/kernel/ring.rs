//! Consumers of the per-CPU BPF ring buffers: each publishes its position
//! once per batch instead of once per record, and [`Rings`] merges them into
//! one stream in the order the records were queued.
//!
//! The kernel reads the consumer position on every reservation; when user
//! space writes it after every record (as general-purpose consumers do), its
//! cache line moves between the producing and consuming CPUs on every
//! system call. Writing it once per drained batch keeps that line shared and
//! cut the per-call cost of the kernel side by about half on this project's
//! benchmark machine.
//!
//! Layout (kernel/bpf/ringbuf.c): page 0 holds the consumer position
//! (mapped read-write), page 1 the producer position, then the data pages,
//! mapped twice in a row so a record that wraps reads as one slice. Each
//! record has an 8-byte header (length with BUSY and DISCARD bits, page
//! offset) and is padded to 8 bytes.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

const BUSY: u32 = 1 << 31;
const DISCARD: u32 = 1 << 30;
const HEADER: usize = 8;

/// A memory mapping, unmapped on drop.
struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

impl Mapping {
    fn new(fd: BorrowedFd<'_>, len: usize, prot: i32, offset: usize) -> io::Result<Self> {
        let offset = libc::off_t::try_from(offset)
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: a fresh shared mapping of a map fd; the kernel checks the
        // length, protection and offset against the ring buffer's layout.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                prot,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                offset,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr = NonNull::new(ptr.cast()).ok_or_else(io::Error::last_os_error)?;
        Ok(Self { ptr, len })
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly what `new` mapped.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

/// Reads records from a BPF ring buffer map.
pub struct Ring {
    consumer: Mapping,
    producer: Mapping,
    page: usize,
    mask: usize,
    /// Where this consumer has read to.
    pos: usize,
    /// The producer position when the current pass began.
    end: usize,
    /// Bytes consumed since the position was last published.
    unpublished: usize,
}

// SAFETY: the mappings are owned by this value and only read through it.
unsafe impl Send for Ring {}

impl Ring {
    /// Maps the ring buffer map `fd` of `size` bytes (a power of two).
    pub fn new(fd: BorrowedFd<'_>, size: usize) -> io::Result<Self> {
        // SAFETY: sysconf has no preconditions.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) })
            .map_err(|_| io::Error::last_os_error())?;
        let consumer = Mapping::new(fd, page, libc::PROT_READ | libc::PROT_WRITE, 0)?;
        let producer = Mapping::new(fd, page + 2 * size, libc::PROT_READ, page)?;
        let ring = Self {
            consumer,
            producer,
            page,
            mask: size - 1,
            pos: 0,
            end: 0,
            unpublished: 0,
        };
        let pos = ring.consumer_pos().load(Ordering::Acquire);
        Ok(Self {
            pos,
            end: pos,
            ..ring
        })
    }

    fn consumer_pos(&self) -> &AtomicUsize {
        // SAFETY: the first word of the consumer page, aligned and mapped
        // for as long as `self`.
        unsafe { self.consumer.ptr.cast::<AtomicUsize>().as_ref() }
    }

    fn producer_pos(&self) -> usize {
        // SAFETY: the first word of the producer page.
        let p = unsafe { self.producer.ptr.cast::<AtomicUsize>().as_ref() };
        p.load(Ordering::Acquire)
    }

    /// Starts a pass over the records committed now (at most one ring's
    /// worth: records queued meanwhile wait for the next pass, so under
    /// sustained load the caller still gets to seal, tick and stop).
    fn begin(&mut self) {
        self.end = self.producer_pos();
    }

    /// The next committed record of this pass, left in place until
    /// [`Ring::consume`]; `None` at the end of the pass or at a record still
    /// being written. Discarded records are skipped.
    fn peek(&mut self) -> Option<&[u8]> {
        while self.pos != self.end {
            let offset = self.pos & self.mask;
            // SAFETY: `offset` is inside the data pages; the header is an
            // aligned u32 the kernel updates atomically.
            let header = unsafe {
                self.producer
                    .ptr
                    .add(self.page + offset)
                    .cast::<AtomicU32>()
                    .as_ref()
            };
            let word = header.load(Ordering::Acquire);
            if word & BUSY != 0 {
                return None; // still being written
            }
            let len = (word & !(BUSY | DISCARD)) as usize;
            if word & DISCARD == 0 {
                // SAFETY: a committed record of `len` bytes after its
                // header; the double mapping makes it contiguous. It stays
                // valid until the consumer position moves past it.
                return Some(unsafe {
                    std::slice::from_raw_parts(
                        self.producer.ptr.as_ptr().add(self.page + offset + HEADER),
                        len,
                    )
                });
            }
            self.consume(len);
        }
        None
    }

    /// Moves past the record of `len` bytes at the read position (the one
    /// [`Ring::peek`] returned, or a discarded one).
    fn consume(&mut self, len: usize) {
        let step = (HEADER + len).next_multiple_of(8);
        self.pos = self.pos.wrapping_add(step);
        self.unpublished += step;
        // Publish progress every eighth of the ring, so a long pass frees
        // space for the producer as it goes.
        if self.unpublished >= (self.mask + 1) / 8 {
            self.publish();
        }
    }

    /// Tells the kernel how far this consumer has read.
    fn publish(&mut self) {
        if self.unpublished > 0 {
            self.consumer_pos().store(self.pos, Ordering::Release);
            self.unpublished = 0;
        }
    }
}

/// The time that orders a record among the CPUs' rings: when its system
/// call returned (entry time plus latency, the record's first two words),
/// which is when the kernel queued it.
fn queued_at(record: &[u8]) -> u64 {
    let word = |at: usize| {
        record
            .get(at..at + 8)
            .and_then(|w| w.try_into().ok())
            .map_or(0, u64::from_ne_bytes)
    };
    word(0).wrapping_add(word(8))
}

/// One ring per CPU, read as one stream in the order the records were
/// queued.
///
/// A thread that moves between CPUs leaves its records in several rings, and
/// its state (a clone before the child's first call, an open before the
/// read) must come out in order. Each pass therefore first reads the clock,
/// then the rings' positions, and hands over only the records queued before
/// that time, merged by queue time. A record queued before the clock read is
/// in its ring's snapshot, and a thread's call starts only after its
/// previous record was queued, so a record handed over never has an earlier
/// record of its thread left behind. The rest waits for the next pass.
pub struct Rings {
    rings: Vec<Ring>,
    heads: std::collections::BinaryHeap<std::cmp::Reverse<(u64, usize)>>,
}

impl Rings {
    /// Reads `rings` as one stream.
    pub fn new(rings: Vec<Ring>) -> Self {
        let heads = std::collections::BinaryHeap::with_capacity(rings.len());
        Self { rings, heads }
    }

    /// Hands the records queued before now to `f` in queue order, publishing
    /// the rings' positions as it goes; returns how many there were.
    pub fn drain(&mut self, mut f: impl FnMut(&[u8])) -> usize {
        let horizon = boot_time_ns();
        for ring in &mut self.rings {
            ring.begin();
        }
        let mut n = 0;
        for (i, ring) in self.rings.iter_mut().enumerate() {
            if let Some(at) = ring.peek().map(queued_at).filter(|&at| at <= horizon) {
                self.heads.push(std::cmp::Reverse((at, i)));
            }
        }
        while let Some(std::cmp::Reverse((_, i))) = self.heads.pop() {
            let ring = &mut self.rings[i];
            // Records of one ring in a row while they stay the earliest,
            // without going through the heap.
            let next = self.heads.peek().map_or(u64::MAX, |h| h.0.0);
            while let Some(record) = ring.peek() {
                let at = queued_at(record);
                if at > horizon {
                    break;
                }
                if at > next {
                    self.heads.push(std::cmp::Reverse((at, i)));
                    break;
                }
                let len = record.len();
                f(record);
                ring.consume(len);
                n += 1;
            }
        }
        for ring in &mut self.rings {
            ring.publish();
        }
        n
    }
}

/// `CLOCK_BOOTTIME` in ns, the clock of the records' times.
fn boot_time_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &raw mut ts) };
    u64::try_from(ts.tv_sec).unwrap_or(0) * 1_000_000_000 + u64::try_from(ts.tv_nsec).unwrap_or(0)
}
