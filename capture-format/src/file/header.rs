//! The capture header: who captured what, where, and why.
//!
//! Stored as tag-length-value fields, so fields can be added without a
//! version change: readers skip tags they do not know.

use crate::varint::{Cursor, CursorError, put_bytes, put_u64};

/// The trigger rule that started a capture.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct TriggerInfo {
    /// Rule name.
    pub rule: String,
    /// When it fired, ns since the epoch.
    pub ts: u64,
    /// Why, in words (the matching event, the metric value).
    pub reason: String,
}

/// Facts about a capture, written first in the file.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct CaptureHeader {
    /// Host name.
    pub hostname: String,
    /// `uname -r`.
    pub kernel_release: String,
    /// `/proc/sys/kernel/random/boot_id`.
    pub boot_id: String,
    /// Name and version of the program that wrote the file.
    pub producer: String,
    /// Unique id of this capture.
    pub capture_id: String,
    /// The capture filter, empty when everything was kept.
    pub filter: String,
    /// Bytes of I/O data kept per call.
    pub snaplen: u32,
    /// The rule that fired, for triggered captures.
    pub trigger: Option<TriggerInfo>,
    /// Start of the requested time range, ns since the epoch.
    pub start_ts: u64,
    /// End of the requested time range (0 when open-ended); the footer has
    /// the range actually covered.
    pub end_ts: u64,
    /// Labels of the host (cluster, node, ...).
    pub labels: Vec<(String, String)>,
    /// Tags of the capture, from the rule that started it.
    pub tags: Vec<(String, String)>,
    /// Where the capture goes under the storage's own prefix (from the
    /// rule); empty for the storage's prefix itself.
    pub storage_prefix: String,
    /// Online CPUs.
    pub num_cpus: u32,
    /// Physical memory in bytes.
    pub memory_bytes: u64,
}

mod tag {
    pub const HOSTNAME: u64 = 1;
    pub const KERNEL_RELEASE: u64 = 2;
    pub const BOOT_ID: u64 = 3;
    pub const PRODUCER: u64 = 4;
    pub const CAPTURE_ID: u64 = 5;
    pub const FILTER: u64 = 6;
    pub const SNAPLEN: u64 = 7;
    pub const TRIGGER_RULE: u64 = 8;
    pub const TRIGGER_TS: u64 = 9;
    pub const TRIGGER_REASON: u64 = 10;
    pub const START_TS: u64 = 11;
    pub const END_TS: u64 = 12;
    pub const LABEL: u64 = 13;
    pub const NUM_CPUS: u64 = 14;
    pub const MEMORY_BYTES: u64 = 15;
    pub const TAG: u64 = 16;
    pub const STORAGE_PREFIX: u64 = 17;
}

impl CaptureHeader {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut text = |tag: u64, value: &str| {
            put_u64(&mut out, tag);
            put_bytes(&mut out, value.as_bytes());
        };
        text(tag::HOSTNAME, &self.hostname);
        text(tag::KERNEL_RELEASE, &self.kernel_release);
        text(tag::BOOT_ID, &self.boot_id);
        text(tag::PRODUCER, &self.producer);
        text(tag::CAPTURE_ID, &self.capture_id);
        text(tag::FILTER, &self.filter);
        if let Some(t) = &self.trigger {
            text(tag::TRIGGER_RULE, &t.rule);
            text(tag::TRIGGER_REASON, &t.reason);
        }
        if !self.storage_prefix.is_empty() {
            text(tag::STORAGE_PREFIX, &self.storage_prefix);
        }
        let pairs = [(tag::LABEL, &self.labels), (tag::TAG, &self.tags)];
        for (tag, (k, v)) in pairs
            .into_iter()
            .flat_map(|(tag, pairs)| pairs.iter().map(move |kv| (tag, kv)))
        {
            let mut kv = Vec::with_capacity(k.len() + v.len() + 2);
            put_bytes(&mut kv, k.as_bytes());
            put_bytes(&mut kv, v.as_bytes());
            put_u64(&mut out, tag);
            put_bytes(&mut out, &kv);
        }
        let mut number = |tag: u64, value: u64| {
            let mut v = Vec::with_capacity(10);
            put_u64(&mut v, value);
            put_u64(&mut out, tag);
            put_bytes(&mut out, &v);
        };
        number(tag::SNAPLEN, u64::from(self.snaplen));
        if let Some(t) = &self.trigger {
            number(tag::TRIGGER_TS, t.ts);
        }
        number(tag::START_TS, self.start_ts);
        number(tag::END_TS, self.end_ts);
        number(tag::NUM_CPUS, u64::from(self.num_cpus));
        number(tag::MEMORY_BYTES, self.memory_bytes);
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, CursorError> {
        let mut h = CaptureHeader::default();
        let mut trigger = TriggerInfo::default();
        let mut has_trigger = false;
        let mut cur = Cursor::new(bytes);
        while !cur.is_empty() {
            let tag = cur.u64()?;
            let value = cur.bytes()?;
            let text = || String::from_utf8_lossy(value).into_owned();
            let number = || Cursor::new(value).u64();
            match tag {
                tag::HOSTNAME => h.hostname = text(),
                tag::KERNEL_RELEASE => h.kernel_release = text(),
                tag::BOOT_ID => h.boot_id = text(),
                tag::PRODUCER => h.producer = text(),
                tag::CAPTURE_ID => h.capture_id = text(),
                tag::FILTER => h.filter = text(),
                tag::SNAPLEN => h.snaplen = u32::try_from(number()?).unwrap_or(u32::MAX),
                tag::TRIGGER_RULE => {
                    trigger.rule = text();
                    has_trigger = true;
                }
                tag::TRIGGER_TS => trigger.ts = number()?,
                tag::TRIGGER_REASON => trigger.reason = text(),
                tag::START_TS => h.start_ts = number()?,
                tag::END_TS => h.end_ts = number()?,
                tag::LABEL | tag::TAG => {
                    let mut kv = Cursor::new(value);
                    let k = String::from_utf8_lossy(kv.bytes()?).into_owned();
                    let v = String::from_utf8_lossy(kv.bytes()?).into_owned();
                    let pairs = if tag == tag::LABEL {
                        &mut h.labels
                    } else {
                        &mut h.tags
                    };
                    pairs.push((k, v));
                }
                tag::STORAGE_PREFIX => h.storage_prefix = text(),
                tag::NUM_CPUS => h.num_cpus = u32::try_from(number()?).unwrap_or(u32::MAX),
                tag::MEMORY_BYTES => h.memory_bytes = number()?,
                _ => {} // a field from a newer writer
            }
        }
        h.trigger = has_trigger.then_some(trigger);
        Ok(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_unknown_tags_are_skipped() {
        let h = CaptureHeader {
            hostname: "web-1".into(),
            kernel_release: "6.18.0".into(),
            boot_id: "b".into(),
            producer: "syscap-agent 0.1.0".into(),
            capture_id: "id".into(),
            filter: "proc.name=nginx".into(),
            snaplen: 80,
            trigger: Some(TriggerInfo {
                rule: "shell in container".into(),
                ts: 42,
                reason: "bash started".into(),
            }),
            start_ts: 1,
            end_ts: 2,
            labels: vec![("cluster".into(), "prod".into())],
            tags: vec![
                ("team".into(), "db".into()),
                ("ticket".into(), "INC-7".into()),
            ],
            storage_prefix: "incidents/db".into(),
            num_cpus: 2,
            memory_bytes: 1 << 34,
        };
        let mut bytes = h.encode();
        // A field from a newer writer.
        bytes.extend_from_slice(&[99, 3, b'x', b'y', b'z']);
        assert_eq!(CaptureHeader::decode(&bytes), Ok(h));
        assert!(CaptureHeader::decode(&[1, 9, b'x']).is_err());
    }
}
