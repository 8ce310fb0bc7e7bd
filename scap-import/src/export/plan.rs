//! Which `.scap` events each kind of syscap record becomes, and where each
//! of their parameters comes from: decided once per record type, from the
//! event table (`events.tsv`), from what the libs of sysdig 0.29.3 knew of
//! it (`libs2022-events.tsv`: how many parameters each event had then) and
//! from what that driver wrote for each system call
//! (`libs2022-syscalls.tsv`: its own pair of events, or a generic one).

use std::sync::LazyLock;

use capture_format::event::{EventInfo, EventType};

use crate::events::{ParamInfo, event_info};

/// sysdig 0.29.3 skips events of this type number and above
/// (`PPM_EVENT_MAX` of its libs).
pub const EVENT_MAX: u16 = 336;

/// `PPM_SC_*` codes sysdig 0.29.3 can name (`PPM_SC_MAX`); it reads its
/// table with any code unchecked, so a generic event never carries a
/// larger one.
pub const PPM_SC_MAX: u16 = 329;

/// `GENERIC_E`: a system call with no events of its own.
pub const GENERIC_E: u16 = 0;
/// `PROCEXIT_1_E`.
const PROCEXIT_E: u16 = 186;
/// `SCHEDSWITCH_6_E`.
const SWITCH_E: u16 = 152;
/// `SIGNALDELIVER_E`.
const SIGNALDELIVER_E: u16 = 232;
/// `PROCINFO_E`.
const PROCINFO_E: u16 = 234;
/// `NOTIFICATION_E`: a marker with an id and a description.
const NOTIFICATION_E: u16 = 280;
/// `CONTAINER_JSON_2_E` (32-bit parameter lengths).
pub const CONTAINER_JSON_E: u16 = 324;

static EVENTS_TSV: &str = include_str!("libs2022-events.tsv");
static SYSCALLS_TSV: &str = include_str!("libs2022-syscalls.tsv");

/// What sysdig 0.29.3's table says of one event type.
#[derive(Clone, Copy, Debug, Default)]
pub struct OldEvent {
    /// Parameters it has: the first ones of `events.tsv`'s.
    pub nparams: usize,
    /// 32-bit parameter lengths.
    pub large: bool,
}

/// Columns of a data line (`#` lines are comments).
fn data_lines(text: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').collect())
}

static OLD_EVENTS: LazyLock<Vec<OldEvent>> = LazyLock::new(|| {
    data_lines(EVENTS_TSV)
        .enumerate()
        .map(|(i, cols)| {
            let [num, _name, nparams, flags] = cols[..] else {
                panic!("libs2022-events.tsv: bad line {cols:?}");
            };
            assert_eq!(
                num.parse::<usize>().ok(),
                Some(i),
                "libs2022-events.tsv: order"
            );
            OldEvent {
                nparams: nparams.parse().expect("libs2022-events.tsv: nparams"),
                large: flags.contains("LARGE_PAYLOAD"),
            }
        })
        .collect()
});

/// What sysdig 0.29.3's driver wrote for one x86-64 system call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct OldSyscall {
    /// Its enter event type; [`GENERIC_E`] when it had none of its own.
    enter: u16,
    /// Its `PPM_SC_*` code (0: none).
    code: u16,
}

static OLD_SYSCALLS: LazyLock<Vec<OldSyscall>> = LazyLock::new(|| {
    let mut table = vec![OldSyscall::default(); usize::from(EventType::FIRST_FOREIGN_SYSCALL)];
    for cols in data_lines(SYSCALLS_TSV) {
        let [num, _name, enter, code] = cols[..] else {
            panic!("libs2022-syscalls.tsv: bad line {cols:?}");
        };
        let num: usize = num.parse().expect("libs2022-syscalls.tsv: number");
        table[num] = OldSyscall {
            enter: enter.parse().expect("libs2022-syscalls.tsv: enter"),
            code: code.parse().expect("libs2022-syscalls.tsv: code"),
        };
    }
    table
});

/// The event type `ty` as sysdig 0.29.3 knows it (`None` at and above
/// [`EVENT_MAX`]).
pub fn old_event(ty: u16) -> Option<OldEvent> {
    OLD_EVENTS.get(usize::from(ty)).copied()
}

/// Facts of a thread the state knows, for the events that describe a
/// process (clone and execve exits).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum StateField {
    /// `argv[0]`.
    Exe,
    /// `argv[1..]`, each NUL-terminated.
    Args,
    /// The thread.
    Tid,
    /// Its process.
    Pid,
    /// The process's parent.
    Ptid,
    /// Working directory.
    Cwd,
    /// Open-file limit.
    FdLimit,
    /// Virtual memory, KiB.
    VmSize,
    /// Resident memory, KiB.
    VmRss,
    /// Thread name.
    Comm,
    /// Cgroups naming the process's container.
    Cgroups,
    /// User.
    Uid,
    /// Group.
    Gid,
    /// Thread id in its pid namespace.
    Vtid,
    /// Process id in its pid namespace.
    Vpid,
    /// Login user.
    LoginUid,
}

impl StateField {
    fn named(name: &str) -> Option<Self> {
        Some(match name {
            "exe" => Self::Exe,
            "args" => Self::Args,
            "tid" => Self::Tid,
            "pid" => Self::Pid,
            "ptid" => Self::Ptid,
            "cwd" => Self::Cwd,
            "fdlimit" => Self::FdLimit,
            "vm_size" => Self::VmSize,
            "vm_rss" => Self::VmRss,
            "comm" => Self::Comm,
            "cgroups" => Self::Cgroups,
            "uid" => Self::Uid,
            "gid" => Self::Gid,
            "vtid" => Self::Vtid,
            "vpid" => Self::Vpid,
            "loginuid" => Self::LoginUid,
            _ => return None,
        })
    }
}

/// Where the value of one parameter comes from.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Source {
    /// The record's return value.
    Ret,
    /// The record's argument at this position.
    Arg(u8),
    /// The state of the calling thread, as it is after the call.
    State(StateField),
    /// Something syscap does not record: zero, or an empty text or buffer.
    Unknown,
}

/// One parameter of an event to write.
#[derive(Clone, Copy, Debug)]
pub struct Param {
    /// Its name and wire type.
    pub info: &'static ParamInfo,
    /// Where its value comes from.
    pub source: Source,
}

/// How the records of one type are written.
#[derive(Clone, Debug)]
pub enum Plan {
    /// A system call with its own pair of events (the exit is `enter + 1`).
    Call {
        /// Enter event type.
        enter: u16,
        /// Parameters of the enter event.
        enter_params: Vec<Param>,
        /// Parameters of the exit event.
        exit_params: Vec<Param>,
        /// clone, fork, vfork, clone3: the new thread's return (0) is an
        /// exit event alone, as the kernel module writes it.
        forks: bool,
    },
    /// A system call sysdig 0.29.3 had no events of its own for:
    /// `GENERIC_E`/`GENERIC_X` with its `PPM_SC_*` code (0 when that libs
    /// had none for it) and its x86-64 number.
    Generic {
        /// `PPM_SC_*` code.
        code: u16,
        /// x86-64 number.
        native: u16,
    },
    /// A record of its own kind that is one event.
    Single {
        /// Event type.
        ty: u16,
        /// Its parameters.
        params: Vec<Param>,
    },
    /// Container metadata: a `CONTAINER_JSON_2_E` event.
    Container,
    /// No event sysdig 0.29.3 knows says this; the record is left out.
    LeftOut,
}

/// The plan for records of type `ty`.
pub fn plan(ty: EventType) -> &'static Plan {
    static PLANS: LazyLock<Vec<Plan>> = LazyLock::new(|| {
        (0..=EventType::LAST_KERNEL_EVENT.0)
            .map(|t| build(EventType(t)))
            .collect()
    });
    static LEFT_OUT: Plan = Plan::LeftOut;
    PLANS.get(usize::from(ty.0)).unwrap_or(&LEFT_OUT)
}

/// The record argument a parameter takes its value from, where syscap
/// names it differently from libs.
fn argument_name(param: &str, ty: EventType) -> &str {
    match (ty, param) {
        (EventType::TRIGGER, "id") => "rule",
        (EventType::TRIGGER, "desc") => "reason",
        // dup2 and dup3 were dup's events: the fd duplicated.
        (_, "fd") if matches!(ty.name(), "dup" | "dup2" | "dup3") => "oldfd",
        _ => param,
    }
}

/// The parameters of event type `ty` (as 0.29.3 has them) for records of
/// `sys`; `exit` for exit events, whose first `res`/`fd` is the return
/// value; `describes_process` for the clone and execve exits, whose
/// process facts come from the state.
fn params(ty: u16, sys: &EventInfo, exit: bool, describes_process: bool) -> Vec<Param> {
    let (Some(info), Some(old)) = (event_info(ty), old_event(ty)) else {
        return Vec::new();
    };
    info.params
        .iter()
        .take(old.nparams)
        .enumerate()
        .map(|(i, p)| {
            let by_name = || {
                sys.arg_index(argument_name(p.name, sys.ty))
                    .and_then(|a| u8::try_from(a).ok())
                    .map(Source::Arg)
            };
            // The process's memory (brk, mmap and munmap exits say it too).
            let memory = || match p.name {
                "vm_size" => Some(Source::State(StateField::VmSize)),
                "vm_rss" => Some(Source::State(StateField::VmRss)),
                _ => None,
            };
            let source = if exit && i == 0 && matches!(p.name, "res" | "fd" | "res_or_fd") {
                Source::Ret
            } else if describes_process && let Some(f) = StateField::named(p.name) {
                Source::State(f)
            } else {
                by_name().or_else(memory).unwrap_or(Source::Unknown)
            };
            Param { info: p, source }
        })
        .collect()
}

fn build(ty: EventType) -> Plan {
    let sys = ty.info();
    let single = |libs: u16| Plan::Single {
        ty: libs,
        params: params(libs, sys, false, false),
    };
    match ty {
        EventType::PROC_EXIT => return single(PROCEXIT_E),
        EventType::SIGNAL_DELIVER => return single(SIGNALDELIVER_E),
        EventType::PROC_INFO => return single(PROCINFO_E),
        EventType::SWITCH => return single(SWITCH_E),
        EventType::TRIGGER => return single(NOTIFICATION_E),
        EventType::CONTAINER => return Plan::Container,
        _ if !ty.is_syscall() => return Plan::LeftOut,
        _ => {}
    }
    let old = OLD_SYSCALLS
        .get(usize::from(ty.0))
        .copied()
        .unwrap_or_default();
    let code = if old.code < PPM_SC_MAX { old.code } else { 0 };
    // (A system call of an event type sysdig 0.29.3 would skip, were the
    // data to name one, is generic too.)
    if old.enter == GENERIC_E || old.enter + 1 >= EVENT_MAX {
        return Plan::Generic { code, native: ty.0 };
    }
    let enter_info = event_info(old.enter).map(|i| i.name);
    let describes_process = matches!(enter_info, Some("clone" | "fork" | "vfork" | "clone3"));
    let execs = matches!(enter_info, Some("execve" | "execveat"));
    Plan::Call {
        enter: old.enter,
        enter_params: params(old.enter, sys, false, false),
        exit_params: params(old.enter + 1, sys, true, describes_process || execs),
        forks: describes_process,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use Source::{Arg, Ret, State, Unknown};
    use StateField as F;

    /// Parameters by name and where their values come from.
    type Sources = &'static [(&'static str, Source)];

    fn sources(params: &[Param]) -> Vec<(&'static str, Source)> {
        params.iter().map(|p| (p.info.name, p.source)).collect()
    }

    /// One case per kind of system call: the pair of events it becomes,
    /// and where every parameter comes from.
    #[test]
    fn calls_map_to_the_events_sysdig_0_29_reads() {
        let calls: &[(&str, u16, Sources, Sources)] = &[
            (
                "read",
                6,
                &[("fd", Arg(0)), ("size", Arg(1))],
                &[("res", Ret), ("data", Arg(2))],
            ),
            (
                "openat",
                306,
                &[
                    ("dirfd", Arg(0)),
                    ("name", Arg(1)),
                    ("flags", Arg(2)),
                    ("mode", Arg(3)),
                ],
                &[
                    ("fd", Ret),
                    ("dirfd", Arg(0)),
                    ("name", Arg(1)),
                    ("flags", Arg(2)),
                    ("mode", Arg(3)),
                    ("dev", Unknown),
                ],
            ),
            (
                "connect",
                22,
                &[("fd", Arg(0)), ("addr", Arg(1))],
                &[("res", Ret), ("tuple", Arg(2))],
            ),
            (
                "accept",
                246,
                &[],
                &[
                    ("fd", Ret),
                    ("tuple", Arg(1)),
                    ("queuepct", Unknown),
                    ("queuelen", Unknown),
                    ("queuemax", Unknown),
                ],
            ),
            (
                "accept4",
                248,
                &[("flags", Arg(2))],
                &[
                    ("fd", Ret),
                    ("tuple", Arg(1)),
                    ("queuepct", Unknown),
                    ("queuelen", Unknown),
                    ("queuemax", Unknown),
                ],
            ),
            // dup2 and dup3 were dup's events.
            ("dup2", 124, &[("fd", Arg(0))], &[("res", Ret)]),
            (
                "mmap",
                160,
                &[
                    ("addr", Arg(0)),
                    ("length", Arg(1)),
                    ("prot", Arg(2)),
                    ("flags", Arg(3)),
                    ("fd", Arg(4)),
                    ("offset", Arg(5)),
                ],
                &[
                    ("res", Ret),
                    ("vm_size", State(F::VmSize)),
                    ("vm_rss", State(F::VmRss)),
                    ("vm_swap", Unknown),
                ],
            ),
        ];
        for &(name, enter, enter_want, exit_want) in calls {
            let ty = EventType::from_name(name).unwrap();
            let Plan::Call {
                enter: e,
                enter_params,
                exit_params,
                ..
            } = plan(ty)
            else {
                panic!("{name}: {:?}", plan(ty));
            };
            assert_eq!(*e, enter, "{name}");
            assert_eq!(sources(enter_params), enter_want, "{name} enter");
            assert_eq!(sources(exit_params), exit_want, "{name} exit");
        }
    }

    #[test]
    fn clone_and_execve_describe_the_process_from_the_state() {
        let Plan::Call {
            enter,
            enter_params,
            exit_params,
            forks,
        } = plan(EventType::from_name("clone").unwrap())
        else {
            panic!("clone");
        };
        assert_eq!((*enter, *forks, enter_params.len()), (222, true, 0));
        let want: Sources = &[
            ("res", Ret),
            ("exe", State(F::Exe)),
            ("args", State(F::Args)),
            ("tid", State(F::Tid)),
            ("pid", State(F::Pid)),
            ("ptid", State(F::Ptid)),
            ("cwd", State(F::Cwd)),
            ("fdlimit", State(F::FdLimit)),
            ("pgft_maj", Unknown),
            ("pgft_min", Unknown),
            ("vm_size", State(F::VmSize)),
            ("vm_rss", State(F::VmRss)),
            ("vm_swap", Unknown),
            ("comm", State(F::Comm)),
            ("cgroups", State(F::Cgroups)),
            ("flags", Arg(0)),
            ("uid", State(F::Uid)),
            ("gid", State(F::Gid)),
            ("vtid", State(F::Vtid)),
            ("vpid", State(F::Vpid)),
        ];
        assert_eq!(sources(exit_params), want);

        // execve's exit: 20 parameters in 0.29.3, the process from the state.
        let Plan::Call {
            enter,
            enter_params,
            exit_params,
            forks,
        } = plan(EventType::from_name("execve").unwrap())
        else {
            panic!("execve");
        };
        assert_eq!((*enter, *forks), (292, false));
        assert_eq!(sources(enter_params), [("filename", Arg(0))]);
        assert_eq!(exit_params.len(), 20);
        assert_eq!(exit_params[2].source, State(F::Args));
        assert_eq!(exit_params[13].source, State(F::Comm));
        assert_eq!(exit_params[18].source, State(F::LoginUid));
    }

    #[test]
    fn calls_without_events_of_their_own_are_generic() {
        // System calls without events of their own: generic, with the code
        // of 0.29.3's table (none for the newer ones).
        let generic: &[(&str, u16)] = &[("exit_group", 164), ("getppid", 41), ("pidfd_open", 0)];
        for &(name, code) in generic {
            let ty = EventType::from_name(name).unwrap();
            assert!(
                matches!(plan(ty), Plan::Generic { code: c, native } if *c == code && *native == ty.0),
                "{name}: {:?}",
                plan(ty)
            );
        }
    }

    #[test]
    fn records_of_their_own_kind_map_to_libs_events_or_are_left_out() {
        let singles: &[(EventType, u16, Sources)] = &[
            (
                EventType::PROC_EXIT,
                186,
                &[
                    ("status", Arg(0)),
                    ("ret", Arg(1)),
                    ("sig", Arg(2)),
                    ("core", Arg(3)),
                ],
            ),
            (
                EventType::PROC_INFO,
                234,
                &[("cpu_usr", Arg(0)), ("cpu_sys", Arg(1))],
            ),
            (
                EventType::SIGNAL_DELIVER,
                232,
                &[("spid", Arg(0)), ("dpid", Arg(1)), ("sig", Arg(2))],
            ),
            (EventType::TRIGGER, 280, &[("id", Arg(0)), ("desc", Arg(1))]),
        ];
        for &(ty, libs, want) in singles {
            let Plan::Single { ty: t, params } = plan(ty) else {
                panic!("{ty:?}");
            };
            assert_eq!((*t, sources(params).as_slice()), (libs, want), "{ty:?}");
        }
        assert!(matches!(plan(EventType::CONTAINER), Plan::Container));
        for ty in [
            EventType::DROP,
            EventType::PROC_FORK,
            EventType::PROC_EXEC,
            EventType::THREAD_INFO,
            EventType::OTHER,
            EventType(2000),
        ] {
            assert!(matches!(plan(ty), Plan::LeftOut), "{ty:?}");
        }
    }

    #[test]
    fn every_event_written_is_one_sysdig_0_29_knows() {
        for t in 0..=EventType::LAST_KERNEL_EVENT.0 {
            let (types, params): (Vec<u16>, Vec<&[Param]>) = match plan(EventType(t)) {
                Plan::Call {
                    enter,
                    enter_params,
                    exit_params,
                    ..
                } => (
                    vec![*enter, enter + 1],
                    vec![&enter_params[..], &exit_params[..]],
                ),
                Plan::Single { ty, params } => (vec![*ty], vec![&params[..]]),
                Plan::Generic { code, .. } => {
                    assert!(*code < PPM_SC_MAX, "{t}");
                    continue;
                }
                Plan::Container | Plan::LeftOut => continue,
            };
            for (ty, params) in types.iter().zip(params) {
                let old = old_event(*ty).unwrap();
                assert!(*ty < EVENT_MAX, "{t}: {ty}");
                assert_eq!(params.len(), old.nparams, "{t}: {ty}");
            }
        }
    }
}
