//! The kernel side: loading the eBPF programs, configuring their filters and
//! reading their ring buffers (one per CPU).

pub mod abi;
pub mod recipes;
mod ring;

use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;
use std::time::Duration;

/// A drain that handed over at least this many records means the kernel
/// produces faster than a poll interval drains: the loops drain again at
/// once instead of waiting.
pub const BUSY_DRAIN: usize = 4096;

use aya::maps::{Array, ArrayOfMaps, HashMap, MapData, PerCpuArray};
use aya::programs::BtfTracePoint;
use aya::{Btf, Ebpf, EbpfLoader, include_bytes_aligned};

/// The compiled kernel side (`bpf/syscap.bpf.c`, built by build.rs).
static OBJECT: &[u8] = include_bytes_aligned!(concat!(env!("OUT_DIR"), "/syscap.bpf.o"));

/// Where the kernel publishes its BTF, which CO-RE and `tp_btf` need.
pub const KERNEL_BTF: &str = "/sys/kernel/btf/vmlinux";

/// The programs and the tracepoints they attach to.
const PROGRAMS: [(&str, &str); 5] = [
    ("syscap_sys_enter", "sys_enter"),
    ("syscap_sys_exit", "sys_exit"),
    ("syscap_fork", "sched_process_fork"),
    ("syscap_exec", "sched_process_exec"),
    ("syscap_exit", "sched_process_exit"),
];

/// Bytes of each CPU's ring buffer unless configured: sysdig's and Falco's
/// default per-CPU buffer.
pub const DEFAULT_RING_BYTES: u32 = 8 << 20;

/// What to record, decided before the programs load.
#[derive(Clone, Debug)]
pub struct ProbeConfig {
    /// Bytes of each CPU's ring buffer (a power of two, at least a page).
    pub ring_bytes: u32,
    /// Bytes of each I/O buffer to keep.
    pub snaplen: u32,
    /// Only these thread groups and their descendants (none: every process).
    pub pids: Option<Vec<u32>>,
    /// Only threads with this `comm` (at most 15 bytes).
    pub comm: Option<Vec<u8>>,
    /// Only these syscalls (none: all).
    pub syscalls: Option<Vec<u16>>,
    /// Bytes queued in one CPU's ring before user space is woken early (0:
    /// a quarter of the ring). User space drains every few ms anyway;
    /// waking it more often makes it read records right behind the
    /// producer, which slows the producer down.
    pub wakeup_bytes: u64,
    /// Keep each call's entry time, for its latency. Without it calls are
    /// recorded at exit only: a clock read and a task storage lookup less
    /// at each end of every call, and no latency ([`RecordFlags::NO_LATENCY`]).
    ///
    /// [`RecordFlags::NO_LATENCY`]: capture_format::event::RecordFlags::NO_LATENCY
    pub latency: bool,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        Self {
            ring_bytes: DEFAULT_RING_BYTES,
            snaplen: 80,
            pids: None,
            comm: None,
            syscalls: None,
            wakeup_bytes: 0,
            latency: true,
        }
    }
}

/// Why the kernel side could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// No BTF: CO-RE and BTF tracepoints need it.
    #[error(
        "kernel BTF not found at {KERNEL_BTF} (needs a kernel built with CONFIG_DEBUG_INFO_BTF)"
    )]
    NoBtf,
    /// Not allowed to load BPF programs.
    #[error(
        "permission denied loading eBPF programs: run as root (or with CAP_BPF and CAP_PERFMON)"
    )]
    NotPermitted,
    /// A configuration value is out of range.
    #[error("invalid capture setting: {0}")]
    Config(String),
    /// Loading or verifying failed.
    #[error("loading the eBPF programs failed")]
    Load(#[source] aya::EbpfError),
    /// Loading or attaching one program failed.
    #[error("eBPF program {program} ({tracepoint}) failed to load or attach")]
    Program {
        /// Program name.
        program: &'static str,
        /// Tracepoint.
        tracepoint: &'static str,
        /// Cause.
        #[source]
        source: aya::programs::ProgramError,
    },
    /// A map access failed.
    #[error("eBPF map {map}")]
    Map {
        /// Map name.
        map: &'static str,
        /// Cause.
        #[source]
        source: aya::maps::MapError,
    },
    /// Creating a CPU's ring buffer failed.
    #[error("creating the ring buffer of CPU {cpu} ({bytes} bytes)")]
    CreateRing {
        /// The CPU.
        cpu: u32,
        /// Its size.
        bytes: u32,
        /// Cause.
        #[source]
        source: aya::maps::MapError,
    },
    /// Mapping a ring buffer failed.
    #[error("mapping the ring buffer failed")]
    Mmap(#[source] io::Error),
    /// Waiting for the ring buffers failed.
    #[error("polling the ring buffers failed")]
    Poll(#[source] io::Error),
}

fn map_err(map: &'static str) -> impl FnOnce(aya::maps::MapError) -> ProbeError {
    move |source| ProbeError::Map { map, source }
}

/// The loaded and attached kernel side.
pub struct Probe {
    ebpf: Ebpf,
    rings: ring::Rings,
    /// Edge-triggered epoll on every ring: it wakes when the kernel forces a
    /// wakeup (enough bytes queued in one ring), not whenever a record is
    /// there, so the consumer drains big batches instead of chasing the
    /// producer.
    epoll: std::os::fd::OwnedFd,
    /// The rings' maps, kept open for the mappings (the kernel also holds
    /// them through `RINGS`).
    _ring_maps: Vec<MapData>,
    drops: PerCpuArray<MapData, u64>,
    traced: HashMap<MapData, u32, u8>,
    /// Whether only the thread groups in `traced` are recorded.
    filter_pids: bool,
    settings: Array<MapData, abi::Settings>,
    /// Whether the entry program runs ([`ProbeConfig::latency`]).
    latency: bool,
}

fn edge_triggered_epoll(rings: &[MapData]) -> io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: plain syscalls; the returned fd is owned right away.
    unsafe {
        let fd = libc::epoll_create1(libc::EPOLL_CLOEXEC);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let epoll = std::os::fd::OwnedFd::from_raw_fd(fd);
        #[expect(clippy::cast_sign_loss, reason = "epoll flag bits")]
        let mut event = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLET) as u32,
            u64: 0,
        };
        for ring in rings {
            let ring = ring.fd().as_fd().as_raw_fd();
            if libc::epoll_ctl(fd, libc::EPOLL_CTL_ADD, ring, &raw mut event) < 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(epoll)
    }
}

impl std::fmt::Debug for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Probe").finish_non_exhaustive()
    }
}

fn is_permission_error(e: &aya::EbpfError) -> bool {
    let text = format!("{e:?}");
    text.contains("PermissionDenied") || text.contains("EPERM") || text.contains("os error 1)")
}

/// A command name as the kernel program compares it: 16 bytes, NUL-padded,
/// as two words.
fn comm_words(name: &[u8]) -> Result<[u64; 2], ProbeError> {
    if name.len() > 15 {
        return Err(ProbeError::Config(format!(
            "comm {:?} is longer than the kernel's 15 bytes",
            String::from_utf8_lossy(name)
        )));
    }
    let mut bytes = [0u8; 16];
    bytes[..name.len()].copy_from_slice(name);
    let (low, high) = bytes.split_at(8);
    let word = |half: &[u8]| half.first_chunk().map_or(0, |c| u64::from_ne_bytes(*c));
    Ok([word(low), word(high)])
}

impl Probe {
    /// Loads the programs with `config`, ready to attach.
    pub fn load(config: &ProbeConfig) -> Result<Self, ProbeError> {
        if !Path::new(KERNEL_BTF).exists() {
            return Err(ProbeError::NoBtf);
        }
        if !config.ring_bytes.is_power_of_two() || config.ring_bytes < 4096 {
            return Err(ProbeError::Config(format!(
                "ring buffer size {} is not a power of two of at least 4096 bytes",
                config.ring_bytes
            )));
        }
        if config.snaplen > abi::MAX_SNAPLEN {
            return Err(ProbeError::Config(format!(
                "snaplen {} is above the maximum of {}",
                config.snaplen,
                abi::MAX_SNAPLEN
            )));
        }
        let comm = config.comm.as_deref().map_or(Ok([0; 2]), comm_words)?;
        // Records of read/write calls reserve room for their data up front;
        // beyond this snaplen they take the general path.
        let fast_data_max = if config.snaplen <= 256 {
            config.snaplen
        } else {
            0
        };
        let wakeup_bytes = match config.wakeup_bytes {
            0 => u64::from(config.ring_bytes / 4),
            n => n,
        };
        // Arrays indexed by CPU number span the possible CPUs.
        let cpus = aya::util::nr_cpus().map_or(1, |n| n.max(1));
        let cpus = u32::try_from(cpus).map_err(|_| ProbeError::Config("CPU count".into()))?;
        let self_tgid = std::process::id();
        let filter_pids = u8::from(config.pids.is_some());
        let filter_comm_on = u8::from(config.comm.is_some());
        let record_entry = u8::from(config.latency);
        let mut ebpf = EbpfLoader::new()
            .allow_unsupported_maps()
            .override_global("self_tgid", &self_tgid, true)
            .override_global("filter_pids", &filter_pids, true)
            .override_global("filter_comm_on", &filter_comm_on, true)
            .override_global("filter_comm", &comm, true)
            .override_global("fast_data_max", &fast_data_max, true)
            .override_global("wakeup_bytes", &wakeup_bytes, true)
            .override_global("record_entry", &record_entry, true)
            .map_max_entries("RINGS", cpus)
            .map_max_entries("SCRATCH", cpus)
            .load(OBJECT)
            .map_err(|e| {
                if is_permission_error(&e) {
                    ProbeError::NotPermitted
                } else {
                    ProbeError::Load(e)
                }
            })?;

        let mut recipes: Array<_, abi::Recipe> = Array::try_from(
            ebpf.map_mut("RECIPES")
                .ok_or_else(|| ProbeError::Config("RECIPES map missing".into()))?,
        )
        .map_err(map_err("RECIPES"))?;
        for (i, recipe) in (0u32..).zip(recipes::recipes(config.syscalls.as_deref())) {
            recipes.set(i, recipe, 0).map_err(map_err("RECIPES"))?;
        }

        let take = |ebpf: &mut Ebpf, name: &'static str| {
            ebpf.take_map(name)
                .ok_or_else(|| ProbeError::Config(format!("map {name} missing from the object")))
        };
        let ring_maps = create_rings(
            ebpf.map_mut("RINGS")
                .ok_or_else(|| ProbeError::Config("RINGS map missing".into()))?,
            config.ring_bytes,
        )?;
        let rings = ring_maps
            .iter()
            .map(|map| ring::Ring::new(map.fd().as_fd(), config.ring_bytes as usize))
            .collect::<io::Result<_>>()
            .map_err(ProbeError::Mmap)?;
        let drops = PerCpuArray::try_from(take(&mut ebpf, "DROPS")?).map_err(map_err("DROPS"))?;
        let mut traced =
            HashMap::try_from(take(&mut ebpf, "TRACED")?).map_err(map_err("TRACED"))?;
        for &pid in config.pids.iter().flatten() {
            traced.insert(pid, 1, 0).map_err(map_err("TRACED"))?;
        }
        let settings =
            Array::try_from(take(&mut ebpf, "SETTINGS")?).map_err(map_err("SETTINGS"))?;
        let epoll = edge_triggered_epoll(&ring_maps).map_err(ProbeError::Poll)?;
        let mut probe = Self {
            ebpf,
            rings: ring::Rings::new(rings),
            epoll,
            _ring_maps: ring_maps,
            drops,
            traced,
            filter_pids: config.pids.is_some(),
            settings,
            latency: config.latency,
        };
        probe.set_snaplen(config.snaplen)?;
        Ok(probe)
    }

    /// Sets the bytes of each I/O buffer recorded from now on (at most
    /// [`abi::MAX_SNAPLEN`]). Above the snaplen the programs were loaded
    /// with, I/O records take the kernel's general path, a little slower.
    pub fn set_snaplen(&mut self, snaplen: u32) -> Result<(), ProbeError> {
        if snaplen > abi::MAX_SNAPLEN {
            return Err(ProbeError::Config(format!(
                "snaplen {snaplen} is above the maximum of {}",
                abi::MAX_SNAPLEN
            )));
        }
        let settings = abi::Settings { snaplen, pad: 0 };
        self.settings
            .set(0, settings, 0)
            .map_err(map_err("SETTINGS"))
    }

    /// Adds a thread group (and, from now on, its descendants) to the traced
    /// set. Only meaningful when the probe was loaded with `pids`.
    pub fn trace_pid(&mut self, tgid: u32) -> Result<(), ProbeError> {
        self.traced.insert(tgid, 1, 0).map_err(map_err("TRACED"))
    }

    /// The thread groups recorded now, when the probe was loaded with
    /// `pids` (the kernel adds their children and forgets those that
    /// exited); `None` when every process is recorded.
    pub fn traced_pids(&self) -> Option<Vec<u32>> {
        self.filter_pids
            .then(|| self.traced.keys().filter_map(Result::ok).collect())
    }

    /// Attaches every program: from here on events flow.
    pub fn attach(&mut self) -> Result<(), ProbeError> {
        let btf = Btf::from_sys_fs().map_err(|_| ProbeError::NoBtf)?;
        for (program, tracepoint) in PROGRAMS {
            // Without latency, calls are recorded at exit only (exit and
            // exit_group, which never return, when their thread exits).
            if program == "syscap_sys_enter" && !self.latency {
                continue;
            }
            let err = |source| ProbeError::Program {
                program,
                tracepoint,
                source,
            };
            let prog: &mut BtfTracePoint = self
                .ebpf
                .program_mut(program)
                .ok_or_else(|| ProbeError::Config(format!("program {program} missing")))?
                .try_into()
                .map_err(err)?;
            prog.load(tracepoint, &btf).map_err(err)?;
            prog.attach().map_err(err)?;
        }
        Ok(())
    }

    /// Records the kernel failed to queue since loading, over all CPUs.
    pub fn drops(&self) -> Result<u64, ProbeError> {
        let values = self.drops.get(&0, 0).map_err(map_err("DROPS"))?;
        Ok(values.iter().sum())
    }

    /// Waits up to `timeout` for the kernel to say that enough records are
    /// queued (`wakeup_bytes`).
    pub fn wait(&self, timeout: Duration) -> Result<(), ProbeError> {
        let mut event = libc::epoll_event { events: 0, u64: 0 };
        let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: one valid event slot for the duration of the call.
        let n = unsafe { libc::epoll_wait(self.epoll.as_raw_fd(), &raw mut event, 1, ms) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(ProbeError::Poll(e));
            }
        }
        Ok(())
    }

    /// Hands the records queued now to `f`, in the order they were queued
    /// over all CPUs; returns how many there were.
    pub fn drain(&mut self, f: impl FnMut(&[u8])) -> usize {
        self.rings.drain(f)
    }
}

/// Creates a ring buffer of `bytes` for each online CPU and puts it in the
/// programs' `RINGS` array, where each CPU finds its own: a shared ring
/// costs every call its lock and the cache lines of its positions (with two
/// CPUs recording, the exit program took twice as long as with one).
///
/// Online CPUs only, as their memory is allocated up front (virtual machines
/// often report many more possible CPUs): the calls of a CPU brought online
/// later are counted as drops.
fn create_rings(rings: &mut aya::maps::Map, bytes: u32) -> Result<Vec<MapData>, ProbeError> {
    const BPF_MAP_TYPE_RINGBUF: u32 = 27;
    let online = aya::util::online_cpus()
        .map_err(|(path, e)| ProbeError::Config(format!("reading {path}: {e}")))?;
    let mut array: ArrayOfMaps<&mut MapData, MapData> =
        ArrayOfMaps::try_from(rings).map_err(map_err("RINGS"))?;
    online
        .into_iter()
        .map(|cpu| {
            let definition = aya_obj::Map::new_from_params(BPF_MAP_TYPE_RINGBUF, 0, 0, bytes, 0);
            let map = MapData::create(definition, "syscap_ring", None)
                .map_err(|source| ProbeError::CreateRing { cpu, bytes, source })?;
            array.set(cpu, &map, 0).map_err(map_err("RINGS"))?;
            Ok(map)
        })
        .collect()
}
