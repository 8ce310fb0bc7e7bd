//! Events of `.scap` event blocks (`scap-format.md` §5–§7): header, the
//! parameter length array (16- or 32-bit, with `nparams` inferred for V1
//! blocks) and typed parameter values. Nothing is copied: parameters are
//! slices of the block body.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};

use super::events::{ParamType, ScapEventInfo, event_info};
use super::{ScapError, u16_at, u32_at, u64_at};
use capture_format::event::{SockAddr, SockTuple};

/// Most parameters an event can have (`PPM_MAX_EVENT_PARAMS`).
pub const MAX_PARAMS: usize = 32;

const V1_HEADER: usize = 22;
const V2_HEADER: usize = 26;

/// `SCAP_DF_STATE_ONLY`: the event updates state but is not shown.
pub const STATE_ONLY: u32 = 1;

/// One decoded event; parameters borrow the block body.
#[derive(Clone, Copy, Debug)]
pub struct ScapEvent<'a> {
    /// Nanoseconds since the epoch.
    pub ts: u64,
    /// Thread id (0 or -1 for meta events).
    pub tid: i64,
    /// CPU the event came from.
    pub cpu: u16,
    /// Event type number.
    pub ty: u16,
    /// Dump flags of EVF blocks (0 otherwise).
    pub dump_flags: u32,
    /// The table entry of `ty`.
    pub info: &'static ScapEventInfo,
    /// The event's bytes.
    data: &'a [u8],
    /// Where the parameter lengths start (after the header).
    lens_at: u8,
    /// Bytes per length: 2, or 4 for large-payload types.
    width: u8,
    nparams: u8,
    /// Where the first value starts. Values are found by adding lengths
    /// (checked when decoding), which keeps the event small: it is passed by
    /// value.
    values_at: u32,
}

impl<'a> ScapEvent<'a> {
    /// The event's bytes (header, lengths and values).
    pub fn bytes(&self) -> &'a [u8] {
        self.data
    }

    /// This event without its bytes, to keep while they are copied
    /// elsewhere (an enter event waiting for its exit).
    pub fn detach(&self) -> ScapEvent<'static> {
        ScapEvent {
            ts: self.ts,
            tid: self.tid,
            cpu: self.cpu,
            ty: self.ty,
            dump_flags: self.dump_flags,
            info: self.info,
            data: &[],
            lens_at: self.lens_at,
            width: self.width,
            nparams: self.nparams,
            values_at: self.values_at,
        }
    }

    /// A detached event over a copy of [`ScapEvent::bytes`].
    pub fn attach(self, bytes: &[u8]) -> ScapEvent<'_> {
        ScapEvent {
            data: bytes,
            ..self
        }
    }

    /// Number of parameters present.
    pub fn param_count(&self) -> usize {
        usize::from(self.nparams)
    }

    fn len_of(&self, i: usize) -> usize {
        let at = usize::from(self.lens_at) + usize::from(self.width) * i;
        if self.width == 4 {
            u32_at(self.data, at) as usize
        } else {
            usize::from(u16_at(self.data, at))
        }
    }

    /// The raw bytes of parameter `i`, if present.
    pub fn param(&self, i: usize) -> Option<&'a [u8]> {
        if i >= self.param_count() {
            return None;
        }
        let start = self.values_at as usize + (0..i).map(|j| self.len_of(j)).sum::<usize>();
        self.data.get(start..start + self.len_of(i))
    }

    /// The decoded value of parameter `i` (only the parameters the table
    /// describes; extra ones from newer producers are ignored).
    pub fn value(&self, i: usize) -> Option<Value<'a>> {
        let ty = self.info.params.get(i)?.ty;
        Some(Value::decode(ty, self.param(i)?))
    }

    /// The decoded value of the parameter called `name`.
    pub fn value_of(&self, name: &str) -> Option<Value<'a>> {
        self.value(self.info.param_index(name)?)
    }

    /// The integer value of the parameter called `name`.
    pub fn int_of(&self, name: &str) -> Option<i64> {
        match self.value_of(name)? {
            Value::Int(v) => Some(v),
            _ => None,
        }
    }

    /// The text of the parameter called `name` (without its NUL).
    pub fn str_of(&self, name: &str) -> Option<&'a [u8]> {
        match self.value_of(name)? {
            Value::Str(s) | Value::Bytes(s) => Some(s),
            _ => None,
        }
    }
}

/// A parameter value.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Value<'a> {
    /// An empty (0-length) parameter: the producer had no value.
    Empty,
    /// Any integer (signed types sign-extended, unsigned zero-extended).
    Int(i64),
    /// Text, without its terminating NUL.
    Str(&'a [u8]),
    /// Raw bytes.
    Bytes(&'a [u8]),
    /// A socket address.
    SockAddr(SockAddr<'a>),
    /// A connection tuple, in the driver's client to server order.
    SockTuple(SockTuple<'a>),
    /// A poll fd list (see [`fd_list_entries`]).
    FdList(&'a [u8]),
    /// A value whose width does not match its type (kept raw).
    Malformed(&'a [u8]),
}

fn int_le(b: &[u8], width: u8, signed: bool) -> Option<i64> {
    Some(match (width, signed) {
        (1, true) => i64::from(i8::from_le_bytes([*b.first()?])),
        (1, false) => i64::from(*b.first()?),
        (2, true) => i64::from(i16::from_le_bytes(*b.first_chunk()?)),
        (2, false) => i64::from(u16::from_le_bytes(*b.first_chunk()?)),
        (4, true) => i64::from(i32::from_le_bytes(*b.first_chunk()?)),
        (4, false) => i64::from(u32::from_le_bytes(*b.first_chunk()?)),
        (8, _) => i64::from_le_bytes(*b.first_chunk()?),
        _ => return None,
    })
}

fn text(b: &[u8]) -> &[u8] {
    b.strip_suffix(&[0]).unwrap_or(b)
}

fn port(b: &[u8]) -> u16 {
    u16::from_le_bytes([b[0], b[1]])
}

fn v4(b: &[u8]) -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::new(b[0], b[1], b[2], b[3]), port(&b[4..6]))
}

fn v6(b: &[u8]) -> SocketAddrV6 {
    let ip: [u8; 16] = b[..16].try_into().unwrap_or_default();
    SocketAddrV6::new(Ipv6Addr::from(ip), port(&b[16..18]), 0, 0)
}

impl<'a> Value<'a> {
    /// Decodes `bytes` as a value of wire type `ty`.
    pub fn decode(ty: ParamType, bytes: &'a [u8]) -> Self {
        if bytes.is_empty() {
            return Value::Empty;
        }
        let int = |width: u8, signed: bool| {
            if bytes.len() == usize::from(width) {
                int_le(bytes, width, signed).map_or(Value::Malformed(bytes), Value::Int)
            } else {
                Value::Malformed(bytes)
            }
        };
        match ty {
            ParamType::None => Value::Malformed(bytes),
            ParamType::Int(w) => int(w, true),
            ParamType::Uint(w) => int(w, false),
            ParamType::Errno
            | ParamType::Fd
            | ParamType::Pid
            | ParamType::RelTime
            | ParamType::AbsTime => int(8, true),
            ParamType::SyscallId => int(2, false),
            ParamType::SigType => int(1, false),
            ParamType::Ipv4Addr if bytes.len() == 4 => Value::Bytes(bytes),
            ParamType::Ipv6Addr if bytes.len() == 16 => Value::Bytes(bytes),
            ParamType::CharBuf | ParamType::FsPath | ParamType::FsRelPath => {
                Value::Str(text(bytes))
            }
            ParamType::SockAddr => sockaddr(bytes).map_or(Value::Malformed(bytes), Value::SockAddr),
            ParamType::SockTuple => {
                socktuple(bytes).map_or(Value::Malformed(bytes), Value::SockTuple)
            }
            ParamType::FdList => {
                if fd_list_entries(bytes).is_some() {
                    Value::FdList(bytes)
                } else {
                    Value::Malformed(bytes)
                }
            }
            ParamType::ByteBuf
            | ParamType::Dyn
            | ParamType::Double
            | ParamType::CharBufArray
            | ParamType::Ipv4Addr
            | ParamType::Ipv6Addr => Value::Bytes(bytes),
        }
    }
}

/// The entries of a `PT_FDLIST`: a u16 count, then per entry an i64 fd and
/// i16 `PPM_POLL*` flags; `None` when the length does not match the count.
pub fn fd_list_entries(b: &[u8]) -> Option<impl Iterator<Item = (i64, i16)> + '_> {
    let (count, rest) = b.split_first_chunk::<2>()?;
    let count = usize::from(u16::from_le_bytes(*count));
    (rest.len() == count * 10).then(|| {
        rest.chunks_exact(10).map(|e| {
            let fd = i64::from_le_bytes(e[..8].try_into().unwrap_or_default());
            (fd, i16::from_le_bytes([e[8], e[9]]))
        })
    })
}

/// A `PT_SOCKADDR` (§7.2).
pub fn sockaddr(b: &[u8]) -> Option<SockAddr<'_>> {
    let (&family, rest) = b.split_first()?;
    Some(match family {
        2 if rest.len() >= 6 => SockAddr::V4(v4(rest)),
        10 if rest.len() >= 18 => SockAddr::V6(v6(rest)),
        1 => SockAddr::Unix(text(rest)),
        2 | 10 => return None,
        other => SockAddr::Other(u16::from(other)),
    })
}

/// A `PT_SOCKTUPLE` (§7.2); IPv4-mapped IPv6 tuples become IPv4 ones, as
/// sysdig shows them.
pub fn socktuple(b: &[u8]) -> Option<SockTuple<'_>> {
    let (&family, rest) = b.split_first()?;
    Some(match family {
        2 if rest.len() >= 12 => SockTuple::V4 {
            src: v4(&rest[..6]),
            dst: v4(&rest[6..12]),
        },
        10 if rest.len() >= 36 => {
            let (src, dst) = (v6(&rest[..18]), v6(&rest[18..36]));
            match (src.ip().to_ipv4_mapped(), dst.ip().to_ipv4_mapped()) {
                (Some(s), Some(d)) => SockTuple::V4 {
                    src: SocketAddrV4::new(s, src.port()),
                    dst: SocketAddrV4::new(d, dst.port()),
                },
                _ => SockTuple::V6 { src, dst },
            }
        }
        1 if rest.len() >= 16 => SockTuple::Unix {
            src: u64_at(rest, 0),
            dst: u64_at(rest, 8),
            path: text(&rest[16..]),
        },
        _ => return None,
    })
}

/// Decodes the event in an event block body; `Ok(None)` for a type newer
/// than the table (skipped, §5). `offset` is the block's, for errors.
pub fn decode_event(
    body: &[u8],
    has_flags: bool,
    v2: bool,
    offset: u64,
) -> Result<Option<ScapEvent<'_>>, ScapError> {
    let bad = |detail: String| ScapError::BadBlock { offset, detail };
    let cpu = u16_at(body, 0);
    let (dump_flags, start) = if has_flags {
        (u32_at(body, 2), 6)
    } else {
        (0, 2)
    };
    let header_len = if v2 { V2_HEADER } else { V1_HEADER };
    let ev = body.get(start..).unwrap_or_default();
    if ev.len() < header_len {
        return Err(bad(format!(
            "event block of {} bytes is too short for a {header_len}-byte event header",
            body.len()
        )));
    }
    let ts = u64_at(ev, 0);
    let tid = i64::from_le_bytes(ev[8..16].try_into().unwrap_or_default());
    let declared = u32_at(ev, 16) as usize;
    let ty = u16_at(ev, 20);
    let Some(info) = event_info(ty) else {
        return Ok(None);
    };
    // Old writers stored the length of these two types 3 bytes too long.
    let len = if !v2 && matches!(ty, 280 | 286) {
        declared.saturating_sub(3)
    } else {
        declared
    };
    if len < header_len || len > ev.len() {
        return Err(bad(format!(
            "event length {declared} does not fit the block ({} bytes after the CPU number)",
            ev.len()
        )));
    }
    let ev = &ev[..len];
    let width = if info.large { 4 } else { 2 };
    let nparams = if v2 {
        let n = u32_at(ev, 22) as usize;
        if n > MAX_PARAMS {
            return Err(bad(format!(
                "event type {ty} has {n} parameters (at most {MAX_PARAMS})"
            )));
        }
        n
    } else {
        infer_nparams(ev, info.params.len().min(MAX_PARAMS)).ok_or_else(|| {
            bad(format!(
                "event type {ty}: parameter lengths do not add up to the event length {len}"
            ))
        })?
    };
    let lens_end = header_len + width * nparams;
    if lens_end > len {
        return Err(bad(format!(
            "event type {ty}: {nparams} parameter lengths do not fit in {len} bytes"
        )));
    }
    let mut at = lens_end;
    for i in 0..nparams {
        let l = if width == 4 {
            u32_at(ev, header_len + 4 * i) as usize
        } else {
            usize::from(u16_at(ev, header_len + 2 * i))
        };
        let end = at.checked_add(l).filter(|&e| e <= len).ok_or_else(|| {
            bad(format!(
                "event type {ty}: parameter {i} ({l} bytes) overruns the event"
            ))
        })?;
        at = end;
    }
    Ok(Some(ScapEvent {
        ts,
        tid,
        cpu,
        ty,
        dump_flags,
        info,
        data: ev,
        #[expect(clippy::cast_possible_truncation, reason = "a 22 or 26 byte header")]
        lens_at: header_len as u8,
        #[expect(clippy::cast_possible_truncation, reason = "2 or 4")]
        width: width as u8,
        #[expect(clippy::cast_possible_truncation, reason = "at most MAX_PARAMS")]
        nparams: nparams as u8,
        // Events are at most 256 MiB (the block limit).
        values_at: u32::try_from(lens_end).unwrap_or(u32::MAX),
    }))
}

/// V1 events carry no parameter count: the largest count whose lengths add
/// up exactly to the event length is the true one (§6.3).
fn infer_nparams(ev: &[u8], max: usize) -> Option<usize> {
    let end = ev.len();
    // sums[n]: the first n lengths added up, for every n whose lengths fit.
    let mut sums = [0usize; MAX_PARAMS + 1];
    let mut fit = 0;
    while fit < max.min(MAX_PARAMS) && V1_HEADER + 2 * (fit + 1) <= end {
        sums[fit + 1] = sums[fit] + usize::from(u16_at(ev, V1_HEADER + 2 * fit));
        fit += 1;
    }
    for n in (0..=fit).rev() {
        match (V1_HEADER + 2 * n + sums[n]).cmp(&end) {
            std::cmp::Ordering::Equal => return Some(n),
            std::cmp::Ordering::Less => return None,
            std::cmp::Ordering::Greater => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::testfile::event_body;

    #[test]
    fn v1_and_v2_events_decode_alike() {
        let fd = 3i64.to_le_bytes();
        let size = 100u32.to_le_bytes();
        for v2 in [false, true] {
            let body = event_body(6, 42, 7, &[&fd, &size], v2, None);
            let ev = decode_event(&body, false, v2, 0).unwrap().unwrap();
            assert_eq!((ev.ts, ev.tid, ev.cpu, ev.ty), (42, 7, 3, 6));
            assert_eq!(ev.int_of("fd"), Some(3));
            assert_eq!(ev.int_of("size"), Some(100));
        }
    }

    #[test]
    fn v1_count_is_inferred_from_lengths() {
        // open_E of 2018 had no parameters although the table lists three.
        let body = event_body(2, 1, 1, &[], false, None);
        let ev = decode_event(&body, false, false, 0).unwrap().unwrap();
        assert_eq!(ev.param_count(), 0);
        // open_X with 4 of today's 6.
        let name = b"/etc/passwd\0";
        let body = event_body(
            3,
            1,
            1,
            &[
                &5i64.to_le_bytes(),
                name,
                &1u32.to_le_bytes(),
                &0u32.to_le_bytes(),
            ],
            false,
            None,
        );
        let ev = decode_event(&body, false, false, 0).unwrap().unwrap();
        assert_eq!(ev.param_count(), 4);
        assert_eq!(ev.str_of("name"), Some(&b"/etc/passwd"[..]));
    }

    #[test]
    fn flags_word_of_evf_blocks() {
        let body = event_body(8, 1, 1, &[&1i64.to_le_bytes()], true, Some(STATE_ONLY));
        let ev = decode_event(&body, true, true, 0).unwrap().unwrap();
        assert_eq!(ev.dump_flags, STATE_ONLY);
        assert_eq!(ev.int_of("fd"), Some(1));
    }

    #[test]
    fn large_events_use_32_bit_lengths() {
        let json = b"{\"container\":{}}\0";
        let body = event_body(324, 1, -1, &[json], true, None);
        let ev = decode_event(&body, false, true, 0).unwrap().unwrap();
        assert_eq!(ev.str_of("json"), Some(&json[..json.len() - 1]));
    }

    #[test]
    fn newer_types_are_skipped_and_corruption_is_an_error() {
        let body = event_body(6, 1, 1, &[], true, None);
        let mut newer = body.clone();
        newer[2 + 20..2 + 22].copy_from_slice(&999u16.to_le_bytes());
        assert!(decode_event(&newer, false, true, 0).unwrap().is_none());
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (body[..10].to_vec(), "too short"),
            (
                {
                    let mut b = event_body(6, 1, 1, &[&[1u8; 8]], true, None);
                    b[2 + 26..2 + 28].copy_from_slice(&900u16.to_le_bytes());
                    b
                },
                "overruns",
            ),
            (
                {
                    let mut b = body.clone();
                    b[2 + 16..2 + 20].copy_from_slice(&5000u32.to_le_bytes());
                    b
                },
                "does not fit",
            ),
            (
                {
                    let mut b = body.clone();
                    b[2 + 22..2 + 26].copy_from_slice(&33u32.to_le_bytes());
                    b
                },
                "at most 32",
            ),
        ];
        for (body, want) in cases {
            let err = decode_event(&body, false, true, 64)
                .unwrap_err()
                .to_string();
            assert!(err.contains(want) && err.contains("byte 64"), "{err}");
        }
    }

    #[test]
    fn values_of_every_shape() {
        let tuple4 = [2, 192, 168, 0, 1, 0x92, 0xad, 192, 168, 0, 3, 80, 0];
        let mut mapped = vec![10u8];
        for (ip, port) in [([192u8, 168, 0, 1], 1000u16), ([10, 0, 0, 1], 80)] {
            mapped.extend(Ipv4Addr::from(ip).to_ipv6_mapped().octets());
            mapped.extend(port.to_le_bytes());
        }
        let mut unix = vec![1u8];
        unix.extend(1u64.to_le_bytes());
        unix.extend(2u64.to_le_bytes());
        unix.extend(b"/run/x\0");
        let addr = |s: &str| s.parse().unwrap();
        let cases: Vec<(ParamType, Vec<u8>, Value<'_>)> = vec![
            (
                ParamType::Errno,
                (-2i64).to_le_bytes().to_vec(),
                Value::Int(-2),
            ),
            (
                ParamType::Uint(4),
                u32::MAX.to_le_bytes().to_vec(),
                Value::Int(4_294_967_295),
            ),
            (
                ParamType::Int(4),
                (-1i32).to_le_bytes().to_vec(),
                Value::Int(-1),
            ),
            (ParamType::CharBuf, b"abc\0".to_vec(), Value::Str(b"abc")),
            (ParamType::ByteBuf, b"a\0b".to_vec(), Value::Bytes(b"a\0b")),
            (ParamType::Fd, vec![], Value::Empty),
            (ParamType::Fd, vec![1, 2], Value::Malformed(&[1, 2])),
            (
                ParamType::SockTuple,
                tuple4.to_vec(),
                Value::SockTuple(SockTuple::V4 {
                    src: addr("192.168.0.1:44434"),
                    dst: addr("192.168.0.3:80"),
                }),
            ),
            (
                ParamType::SockTuple,
                mapped.clone(),
                Value::SockTuple(SockTuple::V4 {
                    src: addr("192.168.0.1:1000"),
                    dst: addr("10.0.0.1:80"),
                }),
            ),
            (
                ParamType::SockTuple,
                unix.clone(),
                Value::SockTuple(SockTuple::Unix {
                    src: 1,
                    dst: 2,
                    path: b"/run/x",
                }),
            ),
            (
                ParamType::SockAddr,
                vec![2, 127, 0, 0, 1, 0x90, 0x1f],
                Value::SockAddr(SockAddr::V4(addr("127.0.0.1:8080"))),
            ),
            (ParamType::SockAddr, vec![2, 1], Value::Malformed(&[2, 1])),
            (
                ParamType::FdList,
                [
                    &[2u8, 0][..],
                    &3i64.to_le_bytes(),
                    &[1, 0],
                    &4i64.to_le_bytes(),
                    &[4, 0],
                ]
                .concat(),
                Value::FdList(&[
                    2, 0, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 4, 0, 0, 0, 0, 0, 0, 0, 4, 0,
                ]),
            ),
            (
                ParamType::FdList,
                vec![2, 0, 1],
                Value::Malformed(&[2, 0, 1]),
            ),
        ];
        for (ty, bytes, want) in &cases {
            assert_eq!(Value::decode(*ty, bytes), *want, "{ty:?} {bytes:?}");
        }
    }
}
