//! sysdig's text form of syscap's events (arguments, return values with errno
//! names, fd names and socket ends, clock times), for printers and filter fields.

use std::fmt::Write as _;

use crate::event::{
    Arg, ArgKind, FlagSet, RetKind, SockAddr, SockTuple, errno_name, flag_names, is_error_return,
    signal_name, value_name,
};
use crate::file::{Event, FdEnds, FdView};
use crate::state::{L4Proto, split_nul};

/// Adapts a byte vector to `fmt::Write`.
#[derive(Debug)]
pub struct Bytes<'a>(pub &'a mut Vec<u8>);

impl std::fmt::Write for Bytes<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

impl Bytes<'_> {
    fn raw(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }
}

/// Writes the UTC time of day of `ns` as `HH:MM:SS.nnnnnnnnn`.
pub fn write_clock(ns: u64, out: &mut Bytes<'_>) {
    let ts = jiff::Timestamp::from_nanosecond(i128::from(ns)).unwrap_or_default();
    let t = ts.to_zoned(jiff::tz::TimeZone::UTC);
    let _ = write!(
        out,
        "{:02}:{:02}:{:02}.{:09}",
        t.hour(),
        t.minute(),
        t.second(),
        t.subsec_nanosecond()
    );
}

/// Writes a connection as sysdig names it: `cip:cport->sip:sport`, a
/// listening socket as `ip:port`, a unix socket by its path.
pub fn render_ends(ends: FdEnds<'_>, name: &[u8], out: &mut Bytes<'_>) {
    match ends {
        FdEnds::None => out.raw(name),
        FdEnds::Local(a) => render_addr(a, out),
        FdEnds::Tuple(SockTuple::V4 { src, dst }) => {
            let _ = write!(out, "{src}->{dst}");
        }
        FdEnds::Tuple(SockTuple::V6 { src, dst }) => {
            let _ = write!(
                out,
                "{}:{}->{}:{}",
                src.ip(),
                src.port(),
                dst.ip(),
                dst.port()
            );
        }
        FdEnds::Tuple(SockTuple::Unix { src, dst, path }) => {
            let _ = write!(out, "{src:x}->{dst:x} ");
            out.raw(path);
        }
    }
}

fn render_addr(a: SockAddr<'_>, out: &mut Bytes<'_>) {
    let _ = match a {
        SockAddr::V4(a) => write!(out, "{a}"),
        SockAddr::V6(a) => write!(out, "{}:{}", a.ip(), a.port()),
        SockAddr::Unix(p) => {
            out.raw(p);
            Ok(())
        }
        SockAddr::Other(family) => write!(out, "family {family}"),
    };
}

/// Writes data as sysdig does: printable ASCII as is, other bytes as `.`.
fn render_data(data: &[u8], out: &mut Bytes<'_>) {
    out.0.extend(data.iter().map(|&b| {
        if b.is_ascii_graphic() || b == b' ' {
            b
        } else {
            b'.'
        }
    }));
}

/// How a value is shown: among all the arguments (`evt.args`, the
/// default line), or on its own (`evt.arg.NAME`), as sysdig does.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shown {
    /// `-2(ENOENT)`, `0x7f00`, `3(<f>/etc/passwd)`.
    InArgs,
    /// `ENOENT`, `7F00`, `<f>/etc/passwd`.
    Alone,
}

/// Writes the return value as sysdig shows `res`: the number, with the
/// errno name of a failure (`-2(ENOENT)`), an fd with its name.
pub fn render_ret(e: &Event<'_>, out: &mut Bytes<'_>) {
    write_ret(e, Shown::InArgs, out);
}

/// Writes the return value as sysdig shows `evt.arg.res` on its own: the
/// errno name of a failure (`ENOENT`), an fd as its name.
pub fn render_ret_alone(e: &Event<'_>, out: &mut Bytes<'_>) {
    write_ret(e, Shown::Alone, out);
}

fn write_ret(e: &Event<'_>, shown: Shown, out: &mut Bytes<'_>) {
    let ret = e.ret();
    let info = e.ty().info();
    if is_error_return(ret) {
        let _ = match (errno_name(-ret), shown) {
            (Some(name), Shown::InArgs) => write!(out, "{ret}({name})"),
            (Some(name), Shown::Alone) => write!(out, "{name}"),
            (None, _) => write!(out, "{ret}"),
        };
    } else if info.ret == RetKind::Addr {
        let _ = match shown {
            Shown::InArgs => write!(out, "{ret:#x}"),
            Shown::Alone => write!(out, "{ret:X}"),
        };
    } else if info.ret == RetKind::Fd {
        write_fd(e, ret, shown, out);
    } else {
        let _ = write!(out, "{ret}");
    }
}

/// Writes an fd as sysdig does: `3(<f>/etc/passwd)` among the arguments,
/// `<f>/etc/passwd` alone, when the event's fd is this one; else the number.
fn write_fd(e: &Event<'_>, fd: i64, shown: Shown, out: &mut Bytes<'_>) {
    let Some(f) = e.fd().filter(|f| f.num() == fd) else {
        let _ = write!(out, "{fd}");
        return;
    };
    if shown == Shown::InArgs {
        let _ = write!(out, "{fd}(");
    }
    write_fd_type(f, out);
    render_ends(f.ends(), f.name(), out);
    if shown == Shown::InArgs {
        out.raw(b")");
    }
}

/// An fd's type as sysdig writes it before the name: `<f>`, and for
/// sockets of a known protocol `<4t>`, `<6u>`.
fn write_fd_type(f: FdView<'_>, out: &mut Bytes<'_>) {
    let proto = if f.kind().is_inet() {
        match f.l4proto() {
            L4Proto::Tcp => "t",
            L4Proto::Udp => "u",
            L4Proto::Icmp => "i",
            L4Proto::Raw => "r",
            L4Proto::Unknown => "",
        }
    } else {
        ""
    };
    let _ = write!(out, "<{}{proto}>", f.kind().typechar());
}

/// Writes one argument as sysdig shows `evt.arg.NAME`.
pub fn render_arg_alone(e: &Event<'_>, kind: ArgKind, arg: Arg<'_>, out: &mut Bytes<'_>) {
    match (kind, arg) {
        (ArgKind::Fd | ArgKind::DirFd, Arg::Int(v)) if v != -100 => {
            write_fd(e, v, Shown::Alone, out);
        }
        (ArgKind::Hex, Arg::Int(v)) => {
            let _ = write!(out, "{v:X}");
        }
        // sysdig's socket type is a plain number.
        (ArgKind::Flags(FlagSet::SockType), Arg::Int(v)) => {
            let _ = write!(out, "{v}");
        }
        (_, Arg::SockTuple(t)) => render_ends(FdEnds::Tuple(t), &[], out),
        _ => render_arg(e, kind, arg, out),
    }
}

/// Permission bits as C's `%#o` writes them (`0`, `0644`), as sysdig does.
fn render_mode(v: i64, out: &mut Bytes<'_>) {
    let _ = if v == 0 {
        write!(out, "0")
    } else {
        write!(out, "0{v:o}")
    };
}

/// Writes one argument as sysdig shows it.
pub fn render_arg(e: &Event<'_>, kind: ArgKind, arg: Arg<'_>, out: &mut Bytes<'_>) {
    match (kind, arg) {
        (_, Arg::Absent) => out.raw(b"<NA>"),
        (ArgKind::DirFd, Arg::Int(-100)) => out.raw(b"AT_FDCWD"),
        (ArgKind::Fd | ArgKind::DirFd, Arg::Int(v)) => write_fd(e, v, Shown::InArgs, out),
        #[expect(clippy::cast_sign_loss, reason = "flags are bit sets")]
        (ArgKind::Flags(set), Arg::Int(v)) => {
            let _ = write!(out, "{}", flag_names(set, v as u64));
        }
        #[expect(clippy::cast_sign_loss, reason = "enumerations are small")]
        (ArgKind::Enum(set), Arg::Int(v)) => {
            let _ = match value_name(set, v as u64) {
                Some(name) => write!(out, "{name}"),
                None => write!(out, "{v}"),
            };
        }
        (ArgKind::Mode, Arg::Int(v)) => render_mode(v, out),
        (ArgKind::Signal, Arg::Int(v)) => {
            let _ = match signal_name(v) {
                Some(name) => write!(out, "{v}({name})"),
                None => write!(out, "{v}"),
            };
        }
        (ArgKind::Hex, Arg::Int(v)) => {
            let _ = write!(out, "{v:#x}");
        }
        (_, Arg::Int(v)) => {
            let _ = write!(out, "{v}");
        }
        (ArgKind::Argv, Arg::Str(s)) => {
            for (i, part) in split_nul(s).enumerate() {
                if i > 0 {
                    out.raw(b" ");
                }
                out.raw(part);
            }
        }
        (_, Arg::Str(s)) => out.raw(s),
        (_, Arg::Bytes(b)) => render_data(b, out),
        (_, Arg::SockAddr(a)) => render_addr(a, out),
        (_, Arg::SockTuple(t)) => render_ends(FdEnds::Tuple(t), &[], out),
    }
}

/// Writes all arguments as `name=value` pairs, then `res=` for calls that
/// returned (with a recorded result).
pub fn render_args(e: &Event<'_>, out: &mut Bytes<'_>) {
    let info = e.ty().info();
    let mut first = true;
    if e.has_result() {
        let _ = write!(out, "{}=", info.ret_name);
        render_ret(e, out);
        first = false;
    }
    for (i, arg) in e.args().enumerate() {
        if !first {
            out.raw(b" ");
        }
        first = false;
        let (name, kind) = info
            .args
            .get(i)
            .map_or(("arg", ArgKind::Hex), |a| (a.name, a.kind));
        let _ = write!(out, "{name}=");
        render_arg(e, kind, arg, out);
    }
}

#[cfg(test)]
mod tests {
    use std::net::{SocketAddrV4, SocketAddrV6};

    use super::*;

    fn text(f: impl FnOnce(&mut Bytes<'_>)) -> String {
        let mut out = Vec::new();
        f(&mut Bytes(&mut out));
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn clock_is_utc_time_of_day_to_the_nanosecond() {
        assert_eq!(text(|o| write_clock(0, o)), "00:00:00.000000000");
        let ns = (86_400 + 3_723) * 1_000_000_000 + 42;
        assert_eq!(text(|o| write_clock(ns, o)), "01:02:03.000000042");
    }

    #[test]
    fn ends_are_written_as_sysdig_names_connections() {
        let v4 = |s: &str| s.parse::<SocketAddrV4>().unwrap();
        let v6 = |s: &str| s.parse::<SocketAddrV6>().unwrap();
        let cases: &[(FdEnds<'_>, &str)] = &[
            (FdEnds::None, "/etc/passwd"),
            (FdEnds::Local(SockAddr::V4(v4("0.0.0.0:22"))), "0.0.0.0:22"),
            (FdEnds::Local(SockAddr::Other(16)), "family 16"),
            (
                FdEnds::Tuple(SockTuple::V4 {
                    src: v4("10.0.0.1:40000"),
                    dst: v4("10.0.0.2:80"),
                }),
                "10.0.0.1:40000->10.0.0.2:80",
            ),
            (
                FdEnds::Tuple(SockTuple::V6 {
                    src: v6("[::1]:5"),
                    dst: v6("[::2]:6"),
                }),
                "::1:5->::2:6",
            ),
            (
                FdEnds::Tuple(SockTuple::Unix {
                    src: 0xab,
                    dst: 0xcd,
                    path: b"/run/x.sock",
                }),
                "ab->cd /run/x.sock",
            ),
        ];
        for &(ends, want) in cases {
            assert_eq!(text(|o| render_ends(ends, b"/etc/passwd", o)), want);
        }
    }

    #[test]
    fn modes_are_octal_and_data_is_printable() {
        assert_eq!(text(|o| render_mode(0, o)), "0");
        assert_eq!(text(|o| render_mode(0o644, o)), "0644");
        assert_eq!(text(|o| render_data(b"GET /\r\n\0", o)), "GET /...");
    }
}
