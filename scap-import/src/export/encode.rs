//! The bytes of `.scap` event blocks (`EV_V2`, `EV_V2_LARGE`) and of their
//! parameters, as the libs driver writes them: the reader's decoding
//! (`decode`) backwards.

use capture_format::event::{Arg, SockAddr, SockTuple};

use crate::events::ParamType;
use crate::ppm;

/// `EV_BLOCK_TYPE_V2`: an event with its parameter count.
const EV_V2: u32 = 0x216;
/// `EV_BLOCK_TYPE_V2_LARGE`: the same with 32-bit parameter lengths.
const EV_V2_LARGE: u32 = 0x221;
/// `EVF_BLOCK_TYPE_V2`: an event with a flags word.
const EVF_V2: u32 = 0x217;
/// `SCAP_DF_STATE_ONLY`: readers apply the event to their state and do not
/// show it.
pub const STATE_ONLY: u32 = 1;
/// The event header: ts, tid, len, type, nparams.
const EVENT_HEADER: usize = 26;
/// Largest event sysdig 0.29.3 reads from a block that is not LARGE: its
/// read buffer is 64 KiB for the CPU number, the flags word, the event, the
/// padding and the trailer.
pub const MAX_EVENT: usize = 65_536 - 2 - 4 - 3 - 4;

/// The header fields of an event.
#[derive(Clone, Copy, Debug)]
pub struct Head {
    /// Time, ns since the epoch.
    pub ts: u64,
    /// Thread (-1: none).
    pub tid: i64,
    /// Event type.
    pub ty: u16,
    /// CPU.
    pub cpu: u16,
}

/// The block an event goes in.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Form {
    /// `EV_V2`: 16-bit parameter lengths, at most [`MAX_EVENT`] bytes.
    Plain,
    /// `EV_V2_LARGE`: 32-bit lengths (the event types whose table entry
    /// says so).
    Large,
    /// `EVF_V2` with these flags ([`STATE_ONLY`]).
    Flagged(u32),
}

/// One event being written: the header fields, then the parameters.
#[derive(Debug, Default)]
pub struct EventBuilder {
    /// The parameter values, back to back.
    values: Vec<u8>,
    /// Where each parameter ends in `values`.
    ends: Vec<usize>,
}

impl EventBuilder {
    /// Starts a new event.
    pub fn clear(&mut self) {
        self.values.clear();
        self.ends.clear();
    }

    fn end_param(&mut self) {
        self.ends.push(self.values.len());
    }

    /// A parameter of `bytes`, as they are.
    pub fn raw(&mut self, bytes: &[u8]) {
        self.values.extend_from_slice(bytes);
        self.end_param();
    }

    /// An integer parameter of `width` bytes, little-endian (truncated as
    /// the driver's casts do).
    pub fn int(&mut self, v: i64, width: usize) {
        self.values
            .extend_from_slice(&v.to_le_bytes()[..width.min(8)]);
        self.end_param();
    }

    /// A NUL-terminated text parameter (a NUL inside ends the text, as C
    /// readers take it).
    pub fn text(&mut self, s: &[u8]) {
        let s = s.split(|&b| b == 0).next().unwrap_or_default();
        self.values.extend_from_slice(s);
        self.values.push(0);
        self.end_param();
    }

    /// A parameter of wire type `ty` from argument `arg`, flags translated
    /// by `table`; what syscap does not know becomes a zero, an empty text
    /// or an empty buffer, never a value of the wrong width (sysdig reads
    /// fixed-width values without checking their length).
    pub fn arg(&mut self, ty: ParamType, table: Option<&str>, arg: Arg<'_>) {
        let int = |v: i64| table.map_or(v, |t| ppm::to_ppm(t, v));
        match ty {
            ParamType::Int(w) | ParamType::Uint(w) => {
                self.int(int(arg.as_int().unwrap_or(0)), w.into());
            }
            ParamType::Errno
            | ParamType::Pid
            | ParamType::RelTime
            | ParamType::AbsTime
            | ParamType::Double => self.int(arg.as_int().unwrap_or(0), 8),
            ParamType::Fd => self.int(arg.as_int().unwrap_or(-1), 8),
            ParamType::SyscallId => self.int(arg.as_int().unwrap_or(0), 2),
            ParamType::SigType => self.int(arg.as_int().unwrap_or(0), 1),
            ParamType::Ipv4Addr | ParamType::Ipv6Addr => {
                let width = if ty == ParamType::Ipv4Addr { 4 } else { 16 };
                match arg {
                    Arg::Str(b) | Arg::Bytes(b) if b.len() == width => self.raw(b),
                    _ => self.raw(&[0; 16][..width]),
                }
            }
            ParamType::CharBuf | ParamType::FsPath | ParamType::FsRelPath => {
                self.text(arg.as_bytes().unwrap_or_default());
            }
            ParamType::ByteBuf | ParamType::CharBufArray => {
                self.raw(arg.as_bytes().unwrap_or_default());
            }
            ParamType::SockAddr => {
                if let Arg::SockAddr(a) = arg {
                    sockaddr(&mut self.values, a);
                }
                self.end_param();
            }
            ParamType::SockTuple => {
                if let Arg::SockTuple(t) = arg {
                    socktuple(&mut self.values, t);
                }
                self.end_param();
            }
            // An empty poll list: a count of 0.
            ParamType::FdList => self.raw(&[0, 0]),
            ParamType::Dyn => self.dynamic(table, arg),
            ParamType::None => self.raw(&[]),
        }
    }

    /// A `PT_DYN` value: a selector of the parameter's dynamic table, then
    /// a value of the selected type. A value imported from a `.scap` file
    /// is kept as its bytes (selector included).
    fn dynamic(&mut self, table: Option<&str>, arg: Arg<'_>) {
        match (table, arg) {
            (_, Arg::Str(raw) | Arg::Bytes(raw)) if !raw.is_empty() => self.raw(raw),
            // PPM_SOCKOPT_IDX_UINT64, PPM_PTRACE_IDX_UINT64.
            (Some("sockopt_dynamic_param"), Arg::Int(v)) => self.selected(3, v),
            (Some("ptrace_dynamic_param"), Arg::Int(v)) => self.selected(0, v),
            // PPM_BPF_IDX_FD for fds, PPM_BPF_IDX_RES for errors.
            (Some("bpf_dynamic_param"), Arg::Int(v)) => self.selected(u8::from(v < 0), v),
            // Selector 0 with no value: sockopt's UNKNOWN bytes; others
            // have a fixed-width first type.
            (Some("sockopt_dynamic_param"), _) => self.raw(&[0]),
            _ => self.selected(0, 0),
        }
    }

    fn selected(&mut self, selector: u8, v: i64) {
        self.values.push(selector);
        self.values.extend_from_slice(&v.to_le_bytes());
        self.end_param();
    }

    /// Cuts the longest parameters until the event fits in `max` bytes
    /// (only an event with a huge I/O buffer or path is ever that long);
    /// texts keep their NUL.
    fn fit(&mut self, max: usize, width: usize) {
        let size = |b: &Self| EVENT_HEADER + width * b.ends.len() + b.values.len();
        while size(self) > max {
            let excess = size(self) - max;
            let lens = self.ends.iter().scan(0, |start, &end| {
                let len = end - *start;
                *start = end;
                Some(len)
            });
            let Some((i, len)) = lens.enumerate().max_by_key(|&(_, len)| len) else {
                return;
            };
            if len <= 1 {
                return;
            }
            let end = self.ends[i];
            let nul = self.values[end - 1] == 0;
            let cut = excess.min(len - 1);
            let keep_to = end - cut;
            self.values.drain(keep_to..end);
            if nul {
                self.values[keep_to - 1] = 0;
            }
            for e in &mut self.ends[i..] {
                *e -= cut;
            }
        }
    }

    /// Appends the whole block of this event to `out`: block header, CPU,
    /// flags, event header, lengths, values, padding, trailer.
    pub fn block(&mut self, out: &mut Vec<u8>, head: Head, form: Form) {
        let large = form == Form::Large;
        let width = if large { 4 } else { 2 };
        if !large {
            self.fit(MAX_EVENT, width);
        }
        let event_len = EVENT_HEADER + width * self.ends.len() + self.values.len();
        let flags = match form {
            Form::Flagged(flags) => Some(flags),
            Form::Plain | Form::Large => None,
        };
        let flags_len = if flags.is_some() { 4 } else { 0 };
        let body = (2 + flags_len + event_len).next_multiple_of(4);
        let total = 8 + body + 4;
        let total32 = u32::try_from(total).unwrap_or(u32::MAX);
        out.reserve(total);
        let kind = match (flags, large) {
            (Some(_), _) => EVF_V2,
            (None, true) => EV_V2_LARGE,
            (None, false) => EV_V2,
        };
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&total32.to_le_bytes());
        out.extend_from_slice(&head.cpu.to_le_bytes());
        if let Some(flags) = flags {
            out.extend_from_slice(&flags.to_le_bytes());
        }
        out.extend_from_slice(&head.ts.to_le_bytes());
        out.extend_from_slice(&head.tid.to_le_bytes());
        out.extend_from_slice(&u32::try_from(event_len).unwrap_or(u32::MAX).to_le_bytes());
        out.extend_from_slice(&head.ty.to_le_bytes());
        out.extend_from_slice(&u32::try_from(self.ends.len()).unwrap_or(0).to_le_bytes());
        let mut start = 0;
        for &end in &self.ends {
            let len = end - start;
            start = end;
            if large {
                out.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_le_bytes());
            } else {
                out.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_le_bytes());
            }
        }
        out.extend_from_slice(&self.values);
        out.resize(out.len() + body - 2 - flags_len - event_len, 0);
        out.extend_from_slice(&total32.to_le_bytes());
    }
}

/// A `PT_SOCKADDR`: the family, then the address (network order) and the
/// port (host order), or the unix path.
pub fn sockaddr(out: &mut Vec<u8>, a: SockAddr<'_>) {
    match a {
        SockAddr::V4(a) => {
            out.push(2);
            out.extend_from_slice(&a.ip().octets());
            out.extend_from_slice(&a.port().to_le_bytes());
        }
        SockAddr::V6(a) => {
            out.push(10);
            out.extend_from_slice(&a.ip().octets());
            out.extend_from_slice(&a.port().to_le_bytes());
        }
        SockAddr::Unix(path) => {
            out.push(1);
            out.extend_from_slice(path.split(|&b| b == 0).next().unwrap_or_default());
            out.push(0);
        }
        #[expect(
            clippy::cast_possible_truncation,
            reason = "the family is one byte on the wire"
        )]
        SockAddr::Other(family) => out.push(family as u8),
    }
}

/// A `PT_SOCKTUPLE`: the family, then both ends (client first), or the
/// unix socket addresses and path.
pub fn socktuple(out: &mut Vec<u8>, t: SockTuple<'_>) {
    match t {
        SockTuple::V4 { src, dst } => {
            out.push(2);
            for end in [src, dst] {
                out.extend_from_slice(&end.ip().octets());
                out.extend_from_slice(&end.port().to_le_bytes());
            }
        }
        SockTuple::V6 { src, dst } => {
            out.push(10);
            for end in [src, dst] {
                out.extend_from_slice(&end.ip().octets());
                out.extend_from_slice(&end.port().to_le_bytes());
            }
        }
        SockTuple::Unix { src, dst, path } => {
            out.push(1);
            out.extend_from_slice(&src.to_le_bytes());
            out.extend_from_slice(&dst.to_le_bytes());
            out.extend_from_slice(path.split(|&b| b == 0).next().unwrap_or_default());
            out.push(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{
        Value, decode_event, sockaddr as read_sockaddr, socktuple as read_socktuple,
    };

    /// Every parameter shape written, then read back by the importer's
    /// decoder: the same values.
    #[test]
    fn parameters_read_back_as_written() {
        let v4 = "10.0.0.1:40000".parse().unwrap();
        let v4b = "10.0.0.2:80".parse().unwrap();
        let v6 = "[2001:db8::1]:443".parse().unwrap();
        let v6b = "[2001:db8::2]:5353".parse().unwrap();
        let addrs = [
            SockAddr::V4(v4),
            SockAddr::V6(v6),
            SockAddr::Unix(b"/run/x.sock"),
            SockAddr::Other(16),
        ];
        for a in addrs {
            let mut b = Vec::new();
            sockaddr(&mut b, a);
            assert_eq!(read_sockaddr(&b), Some(a), "{a:?}");
        }
        let tuples = [
            SockTuple::V4 { src: v4, dst: v4b },
            SockTuple::V6 { src: v6, dst: v6b },
            SockTuple::Unix {
                src: 0xffff_8000_0000_0001,
                dst: 2,
                path: b"/run/dbus",
            },
        ];
        for t in tuples {
            let mut b = Vec::new();
            socktuple(&mut b, t);
            assert_eq!(read_socktuple(&b), Some(t), "{t:?}");
        }

        // read_X of 0.29.3: res, data; then open_X: fd, name, flags, mode, dev.
        let mut e = EventBuilder::default();
        e.arg(ParamType::Errno, None, Arg::Int(-2));
        e.arg(ParamType::FsPath, None, Arg::Str(b"/etc/passwd"));
        e.arg(
            ParamType::Uint(4),
            Some("file_flags"),
            Arg::Int(0o2_000_000),
        );
        e.arg(ParamType::Uint(4), None, Arg::Absent);
        e.arg(ParamType::Uint(4), None, Arg::Int(0x801));
        let mut block = Vec::new();
        e.block(
            &mut block,
            Head {
                ts: 77,
                tid: 1234,
                ty: 3,
                cpu: 1,
            },
            Form::Plain,
        );
        assert_eq!(block.len() % 4, 0);
        assert_eq!(
            u32::from_le_bytes(block[4..8].try_into().unwrap()) as usize,
            block.len()
        );
        assert_eq!(&block[block.len() - 4..], &block[4..8]);
        let ev = decode_event(&block[8..block.len() - 4], false, true, 0)
            .unwrap()
            .unwrap();
        assert_eq!(
            (ev.ts, ev.tid, ev.cpu, ev.ty, ev.param_count()),
            (77, 1234, 1, 3, 5)
        );
        assert_eq!(ev.value(0), Some(Value::Int(-2)));
        assert_eq!(ev.value(1), Some(Value::Str(b"/etc/passwd")));
        assert_eq!(
            ev.value(2),
            Some(Value::Int(0x1001)),
            "O_RDONLY|O_CLOEXEC in PPM"
        );
        assert_eq!(ev.value(3), Some(Value::Int(0)), "unknown: 0, four bytes");
        assert_eq!(ev.value(4), Some(Value::Int(0x801)));
    }

    #[test]
    fn an_event_too_big_for_sysdig_is_cut_and_a_large_one_is_not() {
        let data = vec![7u8; 100_000];
        let mut e = EventBuilder::default();
        e.arg(ParamType::Errno, None, Arg::Int(100_000));
        e.arg(ParamType::ByteBuf, None, Arg::Bytes(&data));
        let mut block = Vec::new();
        e.block(
            &mut block,
            Head {
                ts: 1,
                tid: 1,
                ty: 7,
                cpu: 0,
            },
            Form::Plain,
        );
        let body = &block[8..block.len() - 4];
        assert!(block.len() - 8 <= 65_536, "{}", block.len());
        let ev = decode_event(body, false, true, 0).unwrap().unwrap();
        assert_eq!(ev.value(0), Some(Value::Int(100_000)));
        let Some(Value::Bytes(kept)) = ev.value(1) else {
            panic!()
        };
        assert!(
            kept.len() > 65_000 && kept.iter().all(|&b| b == 7),
            "{}",
            kept.len()
        );

        let json = vec![b'x'; 100_000];
        e.clear();
        e.text(&json);
        block.clear();
        e.block(
            &mut block,
            Head {
                ts: 1,
                tid: -1,
                ty: 324,
                cpu: 0,
            },
            Form::Large,
        );
        let ev = decode_event(&block[8..block.len() - 4], false, true, 0)
            .unwrap()
            .unwrap();
        assert_eq!(ev.value(0), Some(Value::Str(&json[..])));
    }
}
