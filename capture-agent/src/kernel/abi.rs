//! The Rust mirror of `bpf/syscap.h`: the layout of ring buffer records and
//! of the recipe map. Sizes and offsets are asserted on both sides.

use std::mem::{offset_of, size_of};

/// Event types of the kernel side (same numbers as the capture format).
pub const EV_PROC_EXEC: u16 = 1024;
/// `sched_process_fork`.
pub const EV_PROC_FORK: u16 = 1025;
/// `sched_process_exit`.
pub const EV_PROC_EXIT: u16 = 1026;

/// Entries of the recipe map.
pub const MAX_SYSCALLS: usize = 512;

/// Emitted at entry, the call does not return.
pub const FLAG_NO_RETURN: u8 = 1;
/// A blob did not fit in the record.
pub const FLAG_TRUNCATED: u8 = 2;
/// Recorded at exit only (no entry time): `ts` is the return time.
pub const FLAG_NO_ENTRY: u8 = 4;

/// Blob kinds (`SYSCAP_BLOB_*`).
pub mod blob {
    /// NUL-terminated user string.
    pub const STR: u8 = 1;
    /// User buffer, `min(ret, snaplen)` bytes.
    pub const DATA: u8 = 2;
    /// Data of an iovec array.
    pub const IOVEC: u8 = 3;
    /// Data of the iovecs of a msghdr.
    pub const MSGHDR: u8 = 4;
    /// A sockaddr whose length is in a register.
    pub const SOCKADDR: u8 = 5;
    /// A sockaddr whose length is behind a user pointer.
    pub const SOCKADDR_P: u8 = 6;
    /// Socket ends of the fd in a register.
    pub const TUPLE: u8 = 7;
    /// Socket ends of the returned fd.
    pub const TUPLE_RET: u8 = 8;
    /// An argument vector.
    pub const ARGV: u8 = 9;
    /// `aux` bytes of user memory.
    pub const RAW: u8 = 10;
    /// `prctl(PR_SET_NAME)` name.
    pub const PRCTL_NAME: u8 = 11;
    /// The sockaddr named by a msghdr.
    pub const MSG_NAME: u8 = 12;
    /// Kernel string.
    pub const KSTR: u8 = 13;
}

/// Longest string the kernel side copies.
pub const MAX_STR: usize = 4096;
/// Largest snaplen the kernel side honours.
pub const MAX_SNAPLEN: u32 = 16384;
/// Blobs per recipe.
pub const RECIPE_BLOBS: usize = 3;

/// `struct syscap_tuple`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tuple {
    /// Address family.
    pub family: u16,
    /// Local port (host order).
    pub local_port: u16,
    /// Remote port (host order).
    pub remote_port: u16,
    /// Padding.
    pub pad: u16,
    /// Local address (IPv4 in the first four bytes; unix: socket address).
    pub local: [u8; 16],
    /// Remote address.
    pub remote: [u8; 16],
}

/// `struct syscap_recipe_blob`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecipeBlob {
    /// Blob kind, 0 for none.
    pub kind: u8,
    /// Register the blob starts from.
    pub reg: u8,
    /// Second register, or a byte count for RAW.
    pub aux: u16,
}

/// `struct syscap_recipe`: how the kernel side reads one system call.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Recipe {
    /// 0: dropped by the syscall filter.
    pub enabled: u8,
    /// `FLAG_NO_RETURN`: emitted at entry.
    pub flags: u8,
    /// Padding.
    pub pad: u16,
    /// Up to three blobs.
    pub blob: [RecipeBlob; RECIPE_BLOBS],
}

// SAFETY: plain old data of integers with no padding holes (asserted below).
unsafe impl aya::Pod for Recipe {}

/// `struct syscap_settings`: what user space changes while the programs run.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    /// Bytes of each I/O buffer to keep, at most [`MAX_SNAPLEN`].
    pub snaplen: u32,
    /// Padding.
    pub pad: u32,
}

// SAFETY: plain old data of integers with no padding holes (asserted below).
unsafe impl aya::Pod for Settings {}

/// `SYSCAP_SETTINGS_SIZE`.
pub const SETTINGS_SIZE: usize = 8;

/// `struct syscap_event`: the fixed head of every ring record.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EventHead {
    /// `CLOCK_BOOTTIME` ns at entry.
    pub ts: u64,
    /// ns from entry to exit.
    pub latency: u64,
    /// Return value.
    pub ret: i64,
    /// Argument registers.
    pub args: [u64; 6],
    /// Thread id.
    pub tid: u32,
    /// Thread group id.
    pub pid: u32,
    /// Syscall number or `EV_*`.
    pub ty: u16,
    /// Bytes of the record including blobs.
    pub size: u16,
    /// CPU.
    pub cpu: u16,
    /// `FLAG_*`.
    pub flags: u8,
    /// Blobs that follow.
    pub nblobs: u8,
}

/// `SYSCAP_EVENT_SIZE`.
pub const EVENT_SIZE: usize = 88;
/// `SYSCAP_BLOB_HEADER_SIZE`.
pub const BLOB_HEADER_SIZE: usize = 4;

const _: () = {
    assert!(size_of::<EventHead>() == EVENT_SIZE);
    assert!(offset_of!(EventHead, args) == 24);
    assert!(offset_of!(EventHead, tid) == 72);
    assert!(offset_of!(EventHead, ty) == 80);
    assert!(offset_of!(EventHead, cpu) == 84);
    assert!(offset_of!(EventHead, nblobs) == 87);
    assert!(size_of::<Tuple>() == 40);
    assert!(size_of::<Recipe>() == 16);
    assert!(size_of::<RecipeBlob>() == 4);
    assert!(size_of::<Settings>() == SETTINGS_SIZE);
};

/// One blob of a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Blob<'a> {
    /// Recipe slot it fills.
    pub slot: u8,
    /// `blob::*` kind as user space sees it.
    pub kind: u8,
    /// The bytes.
    pub data: &'a [u8],
}

/// A record of the ring buffer, parsed without copying.
#[derive(Clone, Copy, Debug)]
pub struct RawEvent<'a> {
    /// The fixed head.
    pub head: EventHead,
    blobs: [Option<Blob<'a>>; RECIPE_BLOBS],
}

/// Why a ring record could not be parsed (a kernel/user-space mismatch).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AbiError {
    /// Shorter than its head.
    #[error("ring record of {len} bytes is shorter than the {EVENT_SIZE}-byte head")]
    Short {
        /// Bytes in the record.
        len: usize,
    },
    /// A blob runs past the end of the record.
    #[error("blob {index} of a {ty} record runs past the end ({end} > {len})")]
    BlobOverrun {
        /// Event type.
        ty: u16,
        /// Index of the blob.
        index: usize,
        /// Where it ends.
        end: usize,
        /// Bytes in the record.
        len: usize,
    },
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    b.get(at..)
        .and_then(<[u8]>::first_chunk)
        .map_or(0, |c| u64::from_ne_bytes(*c))
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    b.get(at..)
        .and_then(<[u8]>::first_chunk)
        .map_or(0, |c| u32::from_ne_bytes(*c))
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    b.get(at..)
        .and_then(<[u8]>::first_chunk)
        .map_or(0, |c| u16::from_ne_bytes(*c))
}

impl<'a> RawEvent<'a> {
    /// Parses a record as the kernel side wrote it.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, AbiError> {
        if bytes.len() < EVENT_SIZE {
            return Err(AbiError::Short { len: bytes.len() });
        }
        let mut args = [0u64; 6];
        for (i, a) in args.iter_mut().enumerate() {
            *a = u64_at(bytes, 24 + i * 8);
        }
        let head = EventHead {
            ts: u64_at(bytes, 0),
            latency: u64_at(bytes, 8),
            ret: u64_at(bytes, 16).cast_signed(),
            args,
            tid: u32_at(bytes, 72),
            pid: u32_at(bytes, 76),
            ty: u16_at(bytes, 80),
            size: u16_at(bytes, 82),
            cpu: u16_at(bytes, 84),
            flags: bytes[86],
            nblobs: bytes[87],
        };
        let mut blobs = [None; RECIPE_BLOBS];
        let mut at = EVENT_SIZE;
        for (index, blob) in blobs.iter_mut().enumerate().take(usize::from(head.nblobs)) {
            let start = at + BLOB_HEADER_SIZE;
            let end = bytes.get(at..start).map_or(start, |h| {
                start + usize::from(u16::from_ne_bytes([h[2], h[3]]))
            });
            if end > bytes.len() {
                return Err(AbiError::BlobOverrun {
                    ty: head.ty,
                    index,
                    end,
                    len: bytes.len(),
                });
            }
            *blob = Some(Blob {
                slot: bytes[at],
                kind: bytes[at + 1],
                data: &bytes[start..end],
            });
            at = end;
        }
        Ok(Self { head, blobs })
    }

    /// The blob that filled recipe slot `slot`, if the kernel side wrote one.
    pub fn blob(&self, slot: u8) -> Option<Blob<'a>> {
        self.blobs
            .iter()
            .flatten()
            .find(|b| b.slot == slot)
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(blobs: &[(u8, u8, &[u8])]) -> Vec<u8> {
        let mut v = vec![0u8; EVENT_SIZE];
        v[0..8].copy_from_slice(&7u64.to_ne_bytes());
        v[16..24].copy_from_slice(&(-2i64).to_ne_bytes());
        v[24..32].copy_from_slice(&3u64.to_ne_bytes());
        v[72..76].copy_from_slice(&10u32.to_ne_bytes());
        v[76..80].copy_from_slice(&9u32.to_ne_bytes());
        v[80..82].copy_from_slice(&257u16.to_ne_bytes());
        v[87] = u8::try_from(blobs.len()).unwrap();
        for (slot, kind, data) in blobs {
            v.extend_from_slice(&[*slot, *kind]);
            v.extend_from_slice(&u16::try_from(data.len()).unwrap().to_ne_bytes());
            v.extend_from_slice(data);
        }
        v
    }

    #[test]
    fn parses_head_and_blobs() {
        let bytes = record(&[
            (1, blob::STR, b"/etc/hostname"),
            (2, blob::RAW, b"\x01\x02"),
        ]);
        let e = RawEvent::parse(&bytes).unwrap();
        assert_eq!(
            (
                e.head.ts,
                e.head.ret,
                e.head.args[0],
                e.head.tid,
                e.head.pid,
                e.head.ty
            ),
            (7, -2, 3, 10, 9, 257)
        );
        assert_eq!(e.blob(1).unwrap().data, b"/etc/hostname");
        assert_eq!(e.blob(2).unwrap().kind, blob::RAW);
        assert_eq!(e.blob(0), None);
    }

    #[test]
    fn rejects_short_and_overrunning_records() {
        assert_eq!(
            RawEvent::parse(&[0; 10]).unwrap_err(),
            AbiError::Short { len: 10 }
        );
        let mut bytes = record(&[(0, blob::STR, b"abc")]);
        bytes.truncate(bytes.len() - 1);
        assert!(matches!(
            RawEvent::parse(&bytes),
            Err(AbiError::BlobOverrun { index: 0, .. })
        ));
    }

    #[test]
    fn header_constants_match_the_c_header() {
        let header = include_str!("../../bpf/syscap.h");
        let define = |name: &str| -> u64 {
            let line = header
                .lines()
                .find(|l| l.starts_with(&format!("#define {name} ")))
                .unwrap_or_else(|| panic!("{name} not in syscap.h"));
            line.split_whitespace().nth(2).unwrap().parse().unwrap()
        };
        let pairs: &[(&str, u64)] = &[
            ("SYSCAP_EV_PROC_EXEC", EV_PROC_EXEC.into()),
            ("SYSCAP_EV_PROC_FORK", EV_PROC_FORK.into()),
            ("SYSCAP_EV_PROC_EXIT", EV_PROC_EXIT.into()),
            ("SYSCAP_MAX_SYSCALLS", MAX_SYSCALLS as u64),
            ("SYSCAP_FLAG_NO_RETURN", FLAG_NO_RETURN.into()),
            ("SYSCAP_FLAG_TRUNCATED", FLAG_TRUNCATED.into()),
            ("SYSCAP_FLAG_NO_ENTRY", FLAG_NO_ENTRY.into()),
            ("SYSCAP_BLOB_STR", blob::STR.into()),
            ("SYSCAP_BLOB_DATA", blob::DATA.into()),
            ("SYSCAP_BLOB_IOVEC", blob::IOVEC.into()),
            ("SYSCAP_BLOB_MSGHDR", blob::MSGHDR.into()),
            ("SYSCAP_BLOB_SOCKADDR", blob::SOCKADDR.into()),
            ("SYSCAP_BLOB_SOCKADDR_P", blob::SOCKADDR_P.into()),
            ("SYSCAP_BLOB_TUPLE", blob::TUPLE.into()),
            ("SYSCAP_BLOB_TUPLE_RET", blob::TUPLE_RET.into()),
            ("SYSCAP_BLOB_ARGV", blob::ARGV.into()),
            ("SYSCAP_BLOB_RAW", blob::RAW.into()),
            ("SYSCAP_BLOB_PRCTL_NAME", blob::PRCTL_NAME.into()),
            ("SYSCAP_BLOB_MSG_NAME", blob::MSG_NAME.into()),
            ("SYSCAP_BLOB_KSTR", blob::KSTR.into()),
            ("SYSCAP_MAX_STR", MAX_STR as u64),
            ("SYSCAP_MAX_SNAPLEN", MAX_SNAPLEN.into()),
            ("SYSCAP_RECIPE_BLOBS", RECIPE_BLOBS as u64),
            ("SYSCAP_EVENT_SIZE", EVENT_SIZE as u64),
            ("SYSCAP_BLOB_HEADER_SIZE", BLOB_HEADER_SIZE as u64),
            ("SYSCAP_SETTINGS_SIZE", SETTINGS_SIZE as u64),
            ("SYSCAP_TUPLE_SIZE", size_of::<Tuple>() as u64),
        ];
        for (name, value) in pairs {
            assert_eq!(define(name), *value, "{name}");
        }
    }
}
