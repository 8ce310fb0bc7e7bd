//! Facts about the host for capture headers, and its clocks.

use std::fmt::Write as _;
use std::fs;
use std::io::Read;

use capture_format::file::CaptureHeader;

fn read_line(path: &str) -> String {
    fs::read_to_string(path)
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// A header with this host's name, kernel, boot id, CPUs and memory, and a
/// fresh capture id.
pub fn header(start_ts: u64) -> CaptureHeader {
    let memory_bytes = fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            let line = m.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib * 1024)
        })
        .unwrap_or(0);
    CaptureHeader {
        hostname: read_line("/proc/sys/kernel/hostname"),
        kernel_release: read_line("/proc/sys/kernel/osrelease"),
        boot_id: read_line("/proc/sys/kernel/random/boot_id"),
        producer: format!("syscap-agent {}", env!("CARGO_PKG_VERSION")),
        capture_id: new_capture_id(),
        start_ts,
        num_cpus: u32::try_from(aya::util::nr_cpus().unwrap_or(1)).unwrap_or(1),
        memory_bytes,
        ..CaptureHeader::default()
    }
}

/// 16 random bytes as 32 hex digits.
pub fn new_capture_id() -> String {
    let mut bytes = [0u8; 16];
    if fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .is_err()
    {
        // No urandom: the time and pid are unique enough for a name.
        bytes[..8].copy_from_slice(&realtime_ns().to_le_bytes());
        bytes[8..12].copy_from_slice(&std::process::id().to_le_bytes());
    }
    bytes.iter().fold(String::with_capacity(32), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec to write into.
    unsafe { libc::clock_gettime(clock, &raw mut ts) };
    u64::try_from(ts.tv_sec).unwrap_or(0) * 1_000_000_000 + u64::try_from(ts.tv_nsec).unwrap_or(0)
}

/// ns since the epoch.
pub fn realtime_ns() -> u64 {
    clock_ns(libc::CLOCK_REALTIME)
}

/// What to add to a `CLOCK_BOOTTIME` reading (the eBPF clock) to get ns
/// since the epoch; the middle of two realtime readings around it.
pub fn boot_to_epoch_ns() -> u64 {
    let a = clock_ns(libc::CLOCK_REALTIME);
    let boot = clock_ns(libc::CLOCK_BOOTTIME);
    let b = clock_ns(libc::CLOCK_REALTIME);
    (a / 2 + b / 2).saturating_sub(boot)
}

/// This host's name (`/proc/sys/kernel/hostname`).
pub fn hostname() -> String {
    read_line("/proc/sys/kernel/hostname")
}
