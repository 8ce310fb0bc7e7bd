//! Byte encodings of socket addresses, connection tuples and fd ends, as
//! stored in chunk dictionaries and snapshots (see FORMAT.md, "Addresses").
//!
//! IP addresses are network-order bytes, ports and ids little-endian.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};

use crate::event::{OwnedSockAddr, OwnedSockTuple, SockAddr, SockTuple};
use crate::state::SocketEnds;

const FAMILY_OTHER: u8 = 0;
const FAMILY_UNIX: u8 = 1;
const FAMILY_INET: u8 = 2;
const FAMILY_INET6: u8 = 10;

const ENDS_LOCAL: u8 = 1;
const ENDS_TUPLE: u8 = 2;

fn put_v4(out: &mut Vec<u8>, a: SocketAddrV4) {
    out.extend_from_slice(&a.ip().octets());
    out.extend_from_slice(&a.port().to_le_bytes());
}

fn put_v6(out: &mut Vec<u8>, a: &SocketAddrV6) {
    out.extend_from_slice(&a.ip().octets());
    out.extend_from_slice(&a.port().to_le_bytes());
    out.extend_from_slice(&a.flowinfo().to_le_bytes());
    out.extend_from_slice(&a.scope_id().to_le_bytes());
}

/// Appends the encoding of `addr`.
pub(crate) fn put_addr(out: &mut Vec<u8>, addr: &SockAddr<'_>) {
    match addr {
        SockAddr::V4(a) => {
            out.push(FAMILY_INET);
            put_v4(out, *a);
        }
        SockAddr::V6(a) => {
            out.push(FAMILY_INET6);
            put_v6(out, a);
        }
        SockAddr::Unix(path) => {
            out.push(FAMILY_UNIX);
            out.extend_from_slice(path);
        }
        SockAddr::Other(family) => {
            out.push(FAMILY_OTHER);
            out.extend_from_slice(&family.to_le_bytes());
        }
    }
}

/// Appends the encoding of `tuple`.
pub(crate) fn put_tuple(out: &mut Vec<u8>, tuple: &SockTuple<'_>) {
    match tuple {
        SockTuple::V4 { src, dst } => {
            out.push(FAMILY_INET);
            put_v4(out, *src);
            put_v4(out, *dst);
        }
        SockTuple::V6 { src, dst } => {
            out.push(FAMILY_INET6);
            put_v6(out, src);
            put_v6(out, dst);
        }
        SockTuple::Unix { src, dst, path } => {
            out.push(FAMILY_UNIX);
            out.extend_from_slice(&src.to_le_bytes());
            out.extend_from_slice(&dst.to_le_bytes());
            out.extend_from_slice(path);
        }
    }
}

/// Appends the encoding of an fd's ends (nothing for [`SocketEnds::None`]).
pub(crate) fn put_ends(out: &mut Vec<u8>, ends: &SocketEnds) {
    match ends {
        SocketEnds::None => {}
        SocketEnds::Local(a) => {
            out.push(ENDS_LOCAL);
            put_addr(out, &a.as_ref());
        }
        SocketEnds::Tuple(t) => {
            out.push(ENDS_TUPLE);
            put_tuple(out, &t.as_ref());
        }
    }
}

fn v4(b: &[u8]) -> Option<SocketAddrV4> {
    let ip: [u8; 4] = b.get(..4)?.try_into().ok()?;
    let port = u16::from_le_bytes(b.get(4..6)?.try_into().ok()?);
    Some(SocketAddrV4::new(Ipv4Addr::from(ip), port))
}

fn v6(b: &[u8]) -> Option<SocketAddrV6> {
    let ip: [u8; 16] = b.get(..16)?.try_into().ok()?;
    let port = u16::from_le_bytes(b.get(16..18)?.try_into().ok()?);
    let flow = u32::from_le_bytes(b.get(18..22)?.try_into().ok()?);
    let scope = u32::from_le_bytes(b.get(22..26)?.try_into().ok()?);
    Some(SocketAddrV6::new(Ipv6Addr::from(ip), port, flow, scope))
}

const V4_LEN: usize = 6;
const V6_LEN: usize = 26;

/// Decodes an address; `None` when the bytes are malformed.
pub(crate) fn get_addr(b: &[u8]) -> Option<SockAddr<'_>> {
    let (&family, rest) = b.split_first()?;
    Some(match family {
        FAMILY_INET if rest.len() == V4_LEN => SockAddr::V4(v4(rest)?),
        FAMILY_INET6 if rest.len() == V6_LEN => SockAddr::V6(v6(rest)?),
        FAMILY_UNIX => SockAddr::Unix(rest),
        FAMILY_OTHER if rest.len() == 2 => SockAddr::Other(u16::from_le_bytes([rest[0], rest[1]])),
        _ => return None,
    })
}

/// Decodes a tuple; `None` when the bytes are malformed.
pub(crate) fn get_tuple(b: &[u8]) -> Option<SockTuple<'_>> {
    let (&family, rest) = b.split_first()?;
    Some(match family {
        FAMILY_INET if rest.len() == 2 * V4_LEN => SockTuple::V4 {
            src: v4(rest)?,
            dst: v4(&rest[V4_LEN..])?,
        },
        FAMILY_INET6 if rest.len() == 2 * V6_LEN => SockTuple::V6 {
            src: v6(rest)?,
            dst: v6(&rest[V6_LEN..])?,
        },
        FAMILY_UNIX if rest.len() >= 16 => SockTuple::Unix {
            src: u64::from_le_bytes(rest[..8].try_into().ok()?),
            dst: u64::from_le_bytes(rest[8..16].try_into().ok()?),
            path: &rest[16..],
        },
        _ => return None,
    })
}

/// The ends of a socket fd, borrowed from a chunk.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum FdEnds<'a> {
    /// Not a socket, or nothing known.
    #[default]
    None,
    /// Bound or listening.
    Local(SockAddr<'a>),
    /// Connected, client to server.
    Tuple(SockTuple<'a>),
}

impl FdEnds<'_> {
    /// Converts into the owned form.
    pub fn to_owned_ends(self) -> SocketEnds {
        match self {
            FdEnds::None => SocketEnds::None,
            FdEnds::Local(a) => SocketEnds::Local(owned_addr(a)),
            FdEnds::Tuple(t) => SocketEnds::Tuple(owned_tuple(t)),
        }
    }
}

pub(crate) fn owned_addr(a: SockAddr<'_>) -> OwnedSockAddr {
    match a {
        SockAddr::V4(v) => OwnedSockAddr::V4(v),
        SockAddr::V6(v) => OwnedSockAddr::V6(v),
        SockAddr::Unix(p) => OwnedSockAddr::Unix(p.to_vec()),
        SockAddr::Other(f) => OwnedSockAddr::Other(f),
    }
}

pub(crate) fn owned_tuple(t: SockTuple<'_>) -> OwnedSockTuple {
    match t {
        SockTuple::V4 { src, dst } => OwnedSockTuple::V4 { src, dst },
        SockTuple::V6 { src, dst } => OwnedSockTuple::V6 { src, dst },
        SockTuple::Unix { src, dst, path } => OwnedSockTuple::Unix {
            src,
            dst,
            path: path.to_vec(),
        },
    }
}

/// Decodes fd ends; malformed bytes decode as [`FdEnds::None`].
pub(crate) fn get_ends(b: &[u8]) -> FdEnds<'_> {
    match b.split_first() {
        Some((&ENDS_LOCAL, rest)) => get_addr(rest).map_or(FdEnds::None, FdEnds::Local),
        Some((&ENDS_TUPLE, rest)) => get_tuple(rest).map_or(FdEnds::None, FdEnds::Tuple),
        _ => FdEnds::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let v4a = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 5000);
        let v4b = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 41234);
        let v6a = SocketAddrV6::new(Ipv6Addr::LOCALHOST, 80, 1, 2);
        let addrs = [
            SockAddr::V4(v4a),
            SockAddr::V6(v6a),
            SockAddr::Unix(b"/run/x.sock"),
            SockAddr::Unix(b""),
            SockAddr::Other(16),
        ];
        for a in addrs {
            let mut b = Vec::new();
            put_addr(&mut b, &a);
            assert_eq!(get_addr(&b), Some(a));
        }
        let tuples = [
            SockTuple::V4 { src: v4a, dst: v4b },
            SockTuple::V6 { src: v6a, dst: v6a },
            SockTuple::Unix {
                src: 1,
                dst: u64::MAX,
                path: b"/var/run/nscd/socket",
            },
        ];
        for t in tuples {
            let mut b = Vec::new();
            put_tuple(&mut b, &t);
            assert_eq!(get_tuple(&b), Some(t));
            let ends = SocketEnds::Tuple(owned_tuple(t));
            let mut e = Vec::new();
            put_ends(&mut e, &ends);
            assert_eq!(get_ends(&e).to_owned_ends(), ends);
        }
    }

    #[test]
    fn malformed_bytes_decode_to_nothing() {
        for b in [&[][..], &[2, 1, 2], &[10; 5], &[7, 0], &[1, 0, 0]] {
            assert_eq!(
                get_addr(b).filter(|a| !matches!(a, SockAddr::Unix(_))),
                None
            );
            assert_eq!(get_tuple(b), None);
        }
        assert_eq!(get_ends(&[9]), FdEnds::None);
    }
}
