//! The pre-trigger ring: the last seconds of the host's events as sealed,
//! compressed chunks, bounded by bytes and by seconds, and the state
//! snapshots a capture starts from. A capture takes its history from here
//! in the same step as it starts receiving new chunks, so no event falls
//! between the two.

use std::collections::VecDeque;
use std::sync::Arc;

use capture_format::file::EncodedChunk;
use capture_format::state::Snapshot;

/// One chunk of the ring, numbered in stream order.
#[derive(Debug, Clone)]
pub struct RingChunk {
    /// Position in the stream (from 1).
    pub seq: u64,
    /// The chunk, shared with the captures that read it.
    pub chunk: Arc<EncodedChunk>,
}

/// The state after chunk `after_seq`: a capture that starts from it replays
/// the chunks that follow.
#[derive(Debug, Clone)]
pub struct RingSnapshot {
    /// The last chunk whose records it includes (0: none).
    pub after_seq: u64,
    /// The state.
    pub snapshot: Arc<Snapshot>,
}

/// The ring.
#[derive(Debug)]
pub struct PreTriggerRing {
    chunks: VecDeque<RingChunk>,
    snapshots: VecDeque<RingSnapshot>,
    bytes: u64,
    max_bytes: u64,
    max_ns: u64,
    /// Where the oldest chunk's events start: the last return time of the
    /// chunk dropped before it (or the start state's time). Not the
    /// chunk's earliest entry time, which a call that blocked long before
    /// (a futex waiting 12 s) moves back.
    covered_from: u64,
}

impl PreTriggerRing {
    /// A ring holding at most `max_bytes` of chunks spanning `max_seconds`;
    /// `start` is the state before the first chunk.
    pub fn new(max_bytes: u64, max_seconds: u64, start: Snapshot) -> Self {
        Self {
            covered_from: start.ts,
            chunks: VecDeque::new(),
            snapshots: VecDeque::from([RingSnapshot {
                after_seq: 0,
                snapshot: Arc::new(start),
            }]),
            bytes: 0,
            max_bytes,
            max_ns: max_seconds.saturating_mul(1_000_000_000),
        }
    }

    /// Adds a chunk, dropping the oldest ones beyond the bounds.
    pub fn push(&mut self, chunk: RingChunk) {
        self.bytes += chunk.chunk.len() as u64;
        let newest = chunk.chunk.summary.ts_max;
        self.chunks.push_back(chunk);
        while let Some(oldest) = self.chunks.front() {
            let too_big = self.bytes > self.max_bytes;
            let too_old = newest.saturating_sub(oldest.chunk.summary.ts_max) > self.max_ns;
            if self.chunks.len() <= 1 || !(too_big || too_old) {
                break;
            }
            self.bytes -= oldest.chunk.len() as u64;
            self.covered_from = oldest.chunk.summary.ts_max;
            self.chunks.pop_front();
        }
        // A snapshot is useful while every chunk after it is still here.
        let first = self.first_seq().unwrap_or(u64::MAX);
        while self.snapshots.len() > 1 && self.snapshots[0].after_seq + 1 < first {
            self.snapshots.pop_front();
        }
    }

    /// Records the state after chunk `after_seq`.
    pub fn add_snapshot(&mut self, after_seq: u64, snapshot: Snapshot) {
        self.snapshots.push_back(RingSnapshot {
            after_seq,
            snapshot: Arc::new(snapshot),
        });
    }

    /// Where a capture of the events from `since` (ns) starts: the latest
    /// snapshot taken before `since` whose following chunks are all here,
    /// and those chunks.
    pub fn history(&self, since: u64) -> (RingSnapshot, Vec<RingChunk>) {
        let first = self.first_seq().unwrap_or(u64::MAX);
        let usable = self
            .snapshots
            .iter()
            .filter(|s| s.after_seq + 1 >= first || self.chunks.is_empty());
        let chosen = usable
            .clone()
            .rfind(|s| s.snapshot.ts <= since)
            .or_else(|| usable.clone().next())
            .unwrap_or(&self.snapshots[0])
            .clone();
        let chunks = self
            .chunks
            .iter()
            .filter(|c| c.seq > chosen.after_seq)
            .cloned()
            .collect();
        (chosen, chunks)
    }

    /// The number of the oldest chunk held.
    pub fn first_seq(&self) -> Option<u64> {
        self.chunks.front().map(|c| c.seq)
    }

    /// Bytes of chunks held.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Chunks held.
    pub fn len(&self) -> usize {
        self.chunks.len()
    }

    /// True when no chunk is held.
    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    /// Seconds covered, from where the oldest chunk's events start to the
    /// newest's end.
    pub fn seconds(&self) -> f64 {
        self.chunks.back().map_or(0.0, |newest| {
            newest
                .chunk
                .summary
                .ts_max
                .saturating_sub(self.covered_from) as f64
                / 1e9
        })
    }
}

/// Chunks for the tests of the ring and of the captures that read it.
#[cfg(test)]
pub(crate) mod fixtures {
    use std::sync::Arc;

    use capture_format::event::{EventType, Record};
    use capture_format::file::{ChunkEncoder, WriterOptions};
    use capture_format::state::Tracker;

    use super::RingChunk;

    /// A real one-record chunk at `ts`.
    pub fn chunk(seq: u64, ts: u64) -> RingChunk {
        let mut encoder = ChunkEncoder::new(WriterOptions::default()).unwrap();
        let tracker = Tracker::new();
        let rec = Record {
            ty: EventType(39),
            ts,
            tid: 1,
            pid: 1,
            ..Record::default()
        };
        encoder.push(&rec, &tracker.unresolved()).unwrap();
        RingChunk {
            seq,
            chunk: Arc::new(encoder.seal().unwrap().unwrap()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::chunk;
    use super::*;

    fn snapshot(ts: u64) -> Snapshot {
        Snapshot {
            ts,
            ..Snapshot::default()
        }
    }

    #[test]
    fn bounded_by_seconds_with_usable_snapshots() {
        let mut ring = PreTriggerRing::new(u64::MAX, 10, snapshot(0));
        for seq in 1..=20 {
            ring.push(chunk(seq, seq * 1_000_000_000));
            if seq % 5 == 0 {
                ring.add_snapshot(seq, snapshot(seq * 1_000_000_000 + 600));
            }
        }
        // 10 s span: chunks 10 to 20.
        assert_eq!(ring.len(), 11);
        // From 14.5 s: the snapshot after chunk 10 is the latest one before,
        // and chunks 11.. follow it.
        let (s, chunks) = ring.history(14_500_000_000);
        assert_eq!(s.after_seq, 10);
        assert_eq!(chunks.first().map(|c| c.seq), Some(11));
        assert_eq!(chunks.len(), 10);
        // Older than everything: the oldest usable snapshot, and all that
        // follows it.
        let (s, chunks) = ring.history(0);
        assert_eq!((s.after_seq, chunks.len()), (10, 10));
    }

    /// The ring's seconds are the time its chunks cover, not back to the
    /// entry of a call that blocked long before (12 s here).
    #[test]
    fn seconds_are_not_stretched_by_a_call_that_blocked_long() {
        const S: u64 = 1_000_000_000;
        let mut ring = PreTriggerRing::new(u64::MAX, 3, snapshot(100 * S));
        let mut futex = super::fixtures::chunk(1, 101 * S);
        Arc::make_mut(&mut futex.chunk).summary.ts_min = 89 * S;
        ring.push(futex);
        assert!((ring.seconds() - 1.0).abs() < 1e-9, "{}", ring.seconds());
        for seq in 2..=6 {
            ring.push(chunk(seq, (100 + seq) * S));
        }
        // Chunks 3 to 6 are left, after chunk 2 ended at 102 s.
        assert_eq!(ring.first_seq(), Some(3));
        assert!((ring.seconds() - 4.0).abs() < 1e-9, "{}", ring.seconds());
    }

    #[test]
    fn bounded_by_bytes() {
        let one = chunk(1, 1).chunk.len() as u64;
        let mut ring = PreTriggerRing::new(one * 5 / 2, 1000, snapshot(0));
        for seq in 1..=5 {
            ring.push(chunk(seq, seq));
        }
        assert_eq!((ring.len(), ring.bytes()), (2, 2 * one));
        // The start state can no longer be replayed: only chunks 4 and 5
        // are left, and no snapshot follows chunk 3; the start snapshot is
        // kept as the only one, with what is left.
        let (s, chunks) = ring.history(0);
        assert_eq!((s.after_seq, chunks.len()), (0, 2));
    }
}
