//! The `.scap` event table (`scap-format.md` §8, §9), kept as data:
//! `events.tsv` and `ppm_sc.tsv` are generated from falcosecurity/libs by
//! `scripts/gen-scap-events.py` and parsed once here.

use std::sync::LazyLock;

/// A parameter's wire type (`PT_*`, §7).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ParamType {
    /// No value.
    None,
    /// Signed integer of 1, 2, 4 or 8 bytes.
    Int(u8),
    /// Unsigned integer of 1, 2, 4 or 8 bytes (flags, uid, mode, port...).
    Uint(u8),
    /// A return value: i64, negative errno on failure.
    Errno,
    /// A file descriptor (i64).
    Fd,
    /// A pid or tid (i64).
    Pid,
    /// NUL-terminated text.
    CharBuf,
    /// A path (NUL-terminated).
    FsPath,
    /// A path relative to a directory fd of the same event.
    FsRelPath,
    /// Raw bytes (I/O data, argument vectors).
    ByteBuf,
    /// Socket address (§7.2).
    SockAddr,
    /// Connection tuple (§7.2).
    SockTuple,
    /// Poll fd list: u16 count, then (i64 fd, i16 flags) per entry.
    FdList,
    /// `PPM_SC_*` syscall code (u16).
    SyscallId,
    /// Signal number (u8).
    SigType,
    /// Duration in ns (u64).
    RelTime,
    /// Time in ns since the epoch (u64).
    AbsTime,
    /// IPv4 address, network order.
    Ipv4Addr,
    /// IPv6 address, network order.
    Ipv6Addr,
    /// A u8 selector followed by a value of the selected type (§7.3).
    Dyn,
    /// IEEE-754 double.
    Double,
    /// Strings back to back, or a pointer in legacy tracer events.
    CharBufArray,
}

impl ParamType {
    fn parse(name: &str) -> Option<Self> {
        use ParamType as P;
        Some(match name {
            "NONE" => P::None,
            "INT8" => P::Int(1),
            "INT16" => P::Int(2),
            "INT32" | "FD32" | "PID32" => P::Int(4),
            "INT64" => P::Int(8),
            "UINT8" | "FLAGS8" | "ENUMFLAGS8" | "L4PROTO" | "SOCKFAMILY" => P::Uint(1),
            "UINT16" | "FLAGS16" | "ENUMFLAGS16" | "PORT" => P::Uint(2),
            "UINT32" | "FLAGS32" | "ENUMFLAGS32" | "UID" | "GID" | "MODE" | "BOOL" | "SIGSET" => {
                P::Uint(4)
            }
            "UINT64" => P::Uint(8),
            "ERRNO" => P::Errno,
            "FD" => P::Fd,
            "PID" => P::Pid,
            "CHARBUF" => P::CharBuf,
            "FSPATH" => P::FsPath,
            "FSRELPATH" => P::FsRelPath,
            "BYTEBUF" => P::ByteBuf,
            "SOCKADDR" => P::SockAddr,
            "SOCKTUPLE" => P::SockTuple,
            "FDLIST" => P::FdList,
            "SYSCALLID" => P::SyscallId,
            "SIGTYPE" => P::SigType,
            "RELTIME" => P::RelTime,
            "ABSTIME" => P::AbsTime,
            "IPV4ADDR" => P::Ipv4Addr,
            "IPV6ADDR" => P::Ipv6Addr,
            "DYN" => P::Dyn,
            "DOUBLE" => P::Double,
            "CHARBUFARRAY" | "CHARBUF_PAIR_ARRAY" => P::CharBufArray,
            _ => return None,
        })
    }
}

/// One parameter of an event type.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ParamInfo {
    /// Name, as in sysdig's `evt.arg.NAME`.
    pub name: &'static str,
    /// Wire type.
    pub ty: ParamType,
    /// The `PT_*` name, for flag-namespace decisions (`FLAGS32`, `UID`...).
    pub type_name: &'static str,
    /// The flag table of flags and enum parameters (`file_flags`...).
    pub table: Option<&'static str>,
}

/// Which half of a system call an event is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Direction {
    /// Enter event (even type number; sysdig's `>`).
    Enter,
    /// Exit event (odd type number; sysdig's `<`).
    Exit,
}

/// One entry of the `.scap` event table.
#[derive(Clone, Debug)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent facts of the event table, each read per event"
)]
pub struct ScapEventInfo {
    /// Event type number.
    pub ty: u16,
    /// Name as sysdig prints it (`evt.type`).
    pub name: &'static str,
    /// Enter or exit.
    pub dir: Direction,
    /// Never written (placeholder).
    pub unused: bool,
    /// Length array uses 32-bit lengths.
    pub large: bool,
    /// A library-internal event sysdig hides unless `-D`.
    pub internal: bool,
    /// Parameters, in wire order (newest table; older files write a prefix).
    pub params: Vec<ParamInfo>,
    /// An enter event whose exit partner is used (the two make one call);
    /// single-direction events have an unused partner. Known from the table
    /// once, not looked up per event.
    pub paired: bool,
    /// What the importer does with events of this name, found once.
    pub(crate) role: Role,
}

/// The events the importer treats by name, told apart without comparing
/// names per event.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Role {
    /// Any other event.
    Other,
    /// `procexit`.
    ProcExit,
    /// `signaldeliver`.
    SignalDeliver,
    /// `procinfo`.
    ProcInfo,
    /// `switch`.
    Switch,
    /// `container`.
    Container,
    /// `syscall` (the generic event).
    Syscall,
}

impl Role {
    fn of(name: &str) -> Self {
        match name {
            "procexit" => Self::ProcExit,
            "signaldeliver" => Self::SignalDeliver,
            "procinfo" => Self::ProcInfo,
            "switch" => Self::Switch,
            "container" => Self::Container,
            "syscall" => Self::Syscall,
            _ => Self::Other,
        }
    }
}

impl ScapEventInfo {
    /// True for enter events.
    pub fn is_enter(&self) -> bool {
        self.dir == Direction::Enter
    }

    /// Position of the parameter called `name`.
    pub fn param_index(&self, name: &str) -> Option<usize> {
        self.params.iter().position(|p| p.name == name)
    }
}

static EVENTS_TSV: &str = include_str!("events.tsv");
static PPM_SC_TSV: &str = include_str!("ppm_sc.tsv");

static TABLE: LazyLock<Vec<ScapEventInfo>> = LazyLock::new(|| parse_events(EVENTS_TSV));
static PPM_SC: LazyLock<Vec<&'static str>> = LazyLock::new(|| parse_ppm_sc(PPM_SC_TSV));

fn parse_events(text: &'static str) -> Vec<ScapEventInfo> {
    let mut table: Vec<ScapEventInfo> = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&'static str> = line.split('\t').collect();
        let [num, _enum, name, dir, flags, params] = cols[..] else {
            panic!("events.tsv: bad line {line:?}");
        };
        let ty: u16 = num.parse().expect("events.tsv: event number");
        assert_eq!(usize::from(ty), table.len(), "events.tsv: numbers in order");
        let params = if params == "-" {
            Vec::new()
        } else {
            params
                .split(',')
                .map(|p| {
                    let mut parts = p.split(':');
                    let name = parts.next().unwrap_or_default();
                    let type_name = parts.next().unwrap_or_default();
                    let _format = parts.next();
                    ParamInfo {
                        name,
                        ty: ParamType::parse(type_name)
                            .unwrap_or_else(|| panic!("events.tsv: type {type_name}")),
                        type_name,
                        table: parts.next(),
                    }
                })
                .collect()
        };
        table.push(ScapEventInfo {
            ty,
            name,
            dir: if dir == ">" {
                Direction::Enter
            } else {
                Direction::Exit
            },
            unused: flags.contains("UNUSED"),
            large: flags.contains("LARGE_PAYLOAD"),
            internal: flags.contains("INTERNAL"),
            params,
            paired: false,
            role: Role::of(name),
        });
    }
    for ty in 0..table.len() {
        let partner_used = table.get(ty + 1).is_some_and(|x| !x.unused);
        table[ty].paired = table[ty].is_enter() && partner_used;
    }
    table
}

fn parse_ppm_sc(text: &'static str) -> Vec<&'static str> {
    let mut names = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (num, name) = line.split_once('\t').expect("ppm_sc.tsv: two columns");
        let num: usize = num.parse().expect("ppm_sc.tsv: code");
        if names.len() <= num {
            names.resize(num + 1, "");
        }
        names[num] = name;
    }
    names
}

/// The table entry of event type `ty`; `None` for types newer than the
/// table (skipped by readers, §5).
pub fn event_info(ty: u16) -> Option<&'static ScapEventInfo> {
    TABLE.get(usize::from(ty))
}

/// Number of event types the table knows.
pub fn event_types() -> usize {
    TABLE.len()
}

/// The name sysdig 0.29.3 gives `PPM_SC_*` code `code` (generic events).
/// Newer libs renamed a few; the old names are kept so that files print as
/// the sysdig users have prints them.
pub fn syscall_code_name(code: u16) -> Option<&'static str> {
    Some(match code {
        0 => "<unknown>",
        283 => "newselect",
        292 => "llseek",
        298 => "sigreturn",
        305 => "setuid",
        306 => "getuid",
        307 => "setgid",
        308 => "geteuid",
        309 => "getgid",
        310 => "setresuid",
        311 => "setresgid",
        312 => "getresuid",
        313 => "getresgid",
        _ => PPM_SC
            .get(usize::from(code))
            .copied()
            .filter(|n| !n.is_empty())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_covers_every_type_in_pairs() {
        assert_eq!(event_types(), 454);
        for ty in (0..454).step_by(2) {
            let (e, x) = (event_info(ty).unwrap(), event_info(ty + 1).unwrap());
            assert!(e.is_enter() && !x.is_enter(), "{ty}");
            assert!(
                x.unused || x.name == e.name || e.unused,
                "{ty} {} {}",
                e.name,
                x.name
            );
        }
        assert!(event_info(454).is_none());
    }

    #[test]
    fn known_entries() {
        let cases: &[(u16, &str, &[&str], bool)] = &[
            (
                3,
                "open",
                &["fd", "name", "flags", "mode", "dev", "ino"],
                false,
            ),
            (7, "read", &["res", "data", "fd", "size"], false),
            (27, "accept", &["fd", "tuple", "queuepct"], false),
            (223, "clone", &["res", "exe", "args"], false),
            (324, "container", &["json"], true),
        ];
        for &(ty, name, params, large) in cases {
            let info = event_info(ty).unwrap();
            assert_eq!(info.name, name, "{ty}");
            assert_eq!(info.large, large, "{ty}");
            let names: Vec<_> = info.params.iter().map(|p| p.name).collect();
            assert_eq!(&names[..params.len()], params, "{ty}");
        }
        assert_eq!(event_info(3).unwrap().params[2].table, Some("file_flags"));
        assert!(event_info(234).unwrap().internal, "procinfo");
    }

    #[test]
    fn syscall_codes_use_sysdig_names() {
        let cases = [
            (212, "set_robust_list"),
            (0, "<unknown>"),
            (283, "newselect"),
            (305, "setuid"),
            (3, "read"),
        ];
        for (code, name) in cases {
            assert_eq!(syscall_code_name(code), Some(name), "{code}");
        }
        assert_eq!(syscall_code_name(60_000), None);
    }
}
