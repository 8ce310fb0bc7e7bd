//! `.scap` flags are in libs' own `PPM_*` namespace (`scap-format.md` §10);
//! syscap stores Linux values. These tables translate the sets whose bits
//! differ, both ways (the importer reads `PPM_*` values, the `.scap` writer
//! writes them); sets that equal Linux (prot, access, whence, shutdown,
//! socket families) pass through.

use std::sync::LazyLock;

/// `(PPM bit, Linux bits)` pairs of the `file_flags` table.
const OPEN: &[(u32, u32)] = &[
    (0x4, 0o100),           // O_CREAT
    (0x8, 0o2000),          // O_APPEND
    (0x10, 0o10000),        // O_DSYNC
    (0x20, 0o200),          // O_EXCL
    (0x40, 0o4000),         // O_NONBLOCK
    (0x80, 0o4_010_000),    // O_SYNC
    (0x100, 0o1000),        // O_TRUNC
    (0x200, 0o40000),       // O_DIRECT
    (0x400, 0o200_000),     // O_DIRECTORY
    (0x800, 0o100_000),     // O_LARGEFILE
    (0x1000, 0o2_000_000),  // O_CLOEXEC
    (0x2000, 0o20_200_000), // O_TMPFILE
];

/// `clone_flags`.
const CLONE: &[(u32, u32)] = &[
    (0x1, 0x400),               // CLONE_FILES
    (0x2, 0x200),               // CLONE_FS
    (0x4, 0x8000_0000),         // CLONE_IO
    (0x8, 0x0800_0000),         // CLONE_NEWIPC
    (0x10, 0x4000_0000),        // CLONE_NEWNET
    (0x20, 0x0002_0000),        // CLONE_NEWNS
    (0x40, 0x2000_0000),        // CLONE_NEWPID
    (0x80, 0x0400_0000),        // CLONE_NEWUTS
    (0x100, 0x8000),            // CLONE_PARENT
    (0x200, 0x0010_0000),       // CLONE_PARENT_SETTID
    (0x400, 0x2000),            // CLONE_PTRACE
    (0x800, 0x800),             // CLONE_SIGHAND
    (0x1000, 0x0004_0000),      // CLONE_SYSVSEM
    (0x2000, 0x0001_0000),      // CLONE_THREAD
    (0x4000, 0x0080_0000),      // CLONE_UNTRACED
    (0x8000, 0x100),            // CLONE_VM
    (0x10_0000, 0x1000_0000),   // CLONE_NEWUSER
    (0x80_0000, 0x0020_0000),   // CLONE_CHILD_CLEARTID
    (0x100_0000, 0x0100_0000),  // CLONE_CHILD_SETTID
    (0x200_0000, 0x0008_0000),  // CLONE_SETTLS
    (0x400_0000, 0x0200_0000),  // CLONE_STOPPED
    (0x800_0000, 0x4000),       // CLONE_VFORK
    (0x1000_0000, 0x0200_0000), // CLONE_NEWCGROUP
];

/// `mmap_flags`.
const MMAP: &[(u32, u32)] = &[
    (0x1, 0x1),        // MAP_SHARED
    (0x2, 0x2),        // MAP_PRIVATE
    (0x4, 0x10),       // MAP_FIXED
    (0x8, 0x20),       // MAP_ANONYMOUS
    (0x10, 0x40),      // MAP_32BIT
    (0x40, 0x4000),    // MAP_NORESERVE
    (0x80, 0x8000),    // MAP_POPULATE
    (0x100, 0x1_0000), // MAP_NONBLOCK
    (0x200, 0x100),    // MAP_GROWSDOWN
    (0x400, 0x800),    // MAP_DENYWRITE
    (0x800, 0x1000),   // MAP_EXECUTABLE
    (0x4000, 0x2000),  // MAP_LOCKED
];

/// `fcntl_commands` (an enumeration): `(PPM value, Linux value)`.
const FCNTL: &[(u32, u32)] = &[
    (1, 0),     // F_DUPFD
    (2, 1),     // F_GETFD
    (3, 2),     // F_SETFD
    (4, 3),     // F_GETFL
    (5, 4),     // F_SETFL
    (6, 5),     // F_GETLK
    (8, 6),     // F_SETLK
    (9, 7),     // F_SETLKW
    (10, 8),    // F_SETOWN
    (12, 9),    // F_GETOWN
    (13, 10),   // F_SETSIG
    (15, 11),   // F_GETSIG
    (21, 15),   // F_SETOWN_EX
    (22, 16),   // F_GETOWN_EX
    (23, 1024), // F_SETLEASE
    (24, 1025), // F_GETLEASE
    (25, 1029), // F_CANCELLK
    (26, 1030), // F_DUPFD_CLOEXEC
    (27, 1026), // F_NOTIFY
    (28, 1031), // F_SETPIPE_SZ
    (29, 1032), // F_GETPIPE_SZ
    (30, 36),   // F_OFD_GETLK
    (31, 37),   // F_OFD_SETLK
];

fn bits(table: &[(u32, u32)], v: u32) -> u32 {
    table
        .iter()
        .filter(|&&(ppm, _)| v & ppm == ppm)
        .fold(0, |acc, &(_, linux)| acc | linux)
}

/// PPM open flags to Linux `O_*` flags.
pub fn open_flags(v: u32) -> u32 {
    // Access mode: PPM 1 read, 2 write, 3 both; Linux 0, 1, 2.
    let access = match v & 3 {
        2 => 1,
        3 => 2,
        _ => 0,
    };
    access | bits(OPEN, v)
}

/// PPM clone flags to Linux `CLONE_*` flags.
pub fn clone_flags(v: u32) -> u32 {
    bits(CLONE, v)
}

/// Translates value `v` of a parameter using flag table `table` into the
/// Linux value syscap stores.
pub fn to_linux(table: &str, v: i64) -> i64 {
    #[expect(clippy::cast_possible_truncation, reason = "flag sets are 32 bits")]
    #[expect(clippy::cast_sign_loss, reason = "flag sets are bit patterns")]
    let u = v as u32;
    let linux = match table {
        "file_flags" => open_flags(u),
        "clone_flags" => clone_flags(u),
        "mmap_flags" => bits(MMAP, u),
        "fcntl_commands" => match FCNTL.iter().find(|&&(ppm, _)| ppm == u) {
            Some(&(_, linux)) => linux,
            None => return v,
        },
        _ => return v,
    };
    i64::from(linux)
}

/// `table` in the order it is read backwards: entries whose Linux value
/// has more bits first (`O_SYNC` holds `O_DSYNC`'s bit, `O_TMPFILE`
/// `O_DIRECTORY`'s), and of two entries with the same Linux value the
/// later (`CLONE_NEWCGROUP` over the long-gone `CLONE_STOPPED`).
fn backwards(table: &[(u32, u32)]) -> Vec<(u32, u32)> {
    let mut order: Vec<(usize, (u32, u32))> = table.iter().copied().enumerate().collect();
    order.sort_by_key(|&(i, (_, linux))| {
        (std::cmp::Reverse(linux.count_ones()), std::cmp::Reverse(i))
    });
    order.into_iter().map(|(_, e)| e).collect()
}

static OPEN_BACKWARDS: LazyLock<Vec<(u32, u32)>> = LazyLock::new(|| backwards(OPEN));
static CLONE_BACKWARDS: LazyLock<Vec<(u32, u32)>> = LazyLock::new(|| backwards(CLONE));
static MMAP_BACKWARDS: LazyLock<Vec<(u32, u32)>> = LazyLock::new(|| backwards(MMAP));

/// The `PPM_*` bits of Linux bits `v`, by a table in [`backwards`] order.
fn ppm_bits(table: &[(u32, u32)], v: u32) -> u32 {
    let mut left = v;
    let mut ppm = 0;
    for &(p, linux) in table {
        if left & linux == linux {
            ppm |= p;
            left &= !linux;
        }
    }
    ppm
}

/// Linux open flags to PPM open flags.
pub fn open_flags_to_ppm(v: u32) -> u32 {
    // Access mode: Linux 0 read, 1 write, 2 both; PPM 1, 2, 3.
    let access = match v & 3 {
        1 => 2,
        2 | 3 => 3,
        _ => 1,
    };
    access | ppm_bits(&OPEN_BACKWARDS, v & !3)
}

/// Translates Linux value `v` of a parameter using flag table `table` into
/// the `PPM_*` value a `.scap` file holds: [`to_linux`] backwards.
pub fn to_ppm(table: &str, v: i64) -> i64 {
    #[expect(clippy::cast_possible_truncation, reason = "flag sets are 32 bits")]
    #[expect(clippy::cast_sign_loss, reason = "flag sets are bit patterns")]
    let u = v as u32;
    let ppm = match table {
        "file_flags" => open_flags_to_ppm(u),
        "clone_flags" => ppm_bits(&CLONE_BACKWARDS, u),
        "mmap_flags" => ppm_bits(&MMAP_BACKWARDS, u),
        "fcntl_commands" => match FCNTL.iter().find(|&&(_, linux)| linux == u) {
            Some(&(ppm, _)) => ppm,
            None => return v,
        },
        _ => return v,
    };
    i64::from(ppm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translations() {
        let cases: &[(&str, i64, i64)] = &[
            // O_RDONLY|O_CLOEXEC
            ("file_flags", 0x1001, 0o2_000_000),
            // O_WRONLY|O_CREAT|O_TRUNC
            ("file_flags", 0x106, 0o1101),
            ("file_flags", 0x3, 2),
            // 502Error's clone: FILES|FS|PARENT_SETTID|SIGHAND|SYSVSEM|THREAD|VM|CHILD_CLEARTID|SETTLS
            ("clone_flags", 41_990_659, 0x003d_0f00),
            ("mmap_flags", 0xa, 0x22),
            ("fcntl_commands", 26, 1030),
            ("fcntl_commands", 1, 0),
            ("fcntl_commands", 99, 99),
            ("prot_flags", 3, 3),
        ];
        for &(table, ppm, linux) in cases {
            assert_eq!(to_linux(table, ppm), linux, "{table} {ppm:#x}");
        }
    }

    #[test]
    fn translations_backwards() {
        let cases: &[(&str, i64, i64)] = &[
            // O_RDONLY|O_CLOEXEC
            ("file_flags", 0o2_000_000, 0x1001),
            // O_WRONLY|O_CREAT|O_TRUNC
            ("file_flags", 0o1101, 0x106),
            ("file_flags", 2, 0x3),
            // O_SYNC holds O_DSYNC's bit; O_TMPFILE holds O_DIRECTORY's.
            ("file_flags", 0o4_010_002, 0x83),
            ("file_flags", 0o20_200_002, 0x2003),
            ("file_flags", 0o200_000, 0x401),
            ("clone_flags", 0x003d_0f00, 41_990_659),
            // CLONE_NEWCGROUP, not CLONE_STOPPED (the same Linux bit).
            ("clone_flags", 0x0200_0000, 0x1000_0000),
            ("mmap_flags", 0x22, 0xa),
            ("fcntl_commands", 1030, 26),
            ("fcntl_commands", 0, 1),
            ("fcntl_commands", 99, 99),
            ("prot_flags", 3, 3),
        ];
        for &(table, linux, ppm) in cases {
            assert_eq!(to_ppm(table, linux), ppm, "{table} {linux:#o}");
            assert_eq!(to_linux(table, ppm), linux, "{table} {ppm:#x} round trip");
        }
    }
}
