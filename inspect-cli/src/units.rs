//! Sizes as people read them (`21.8KiB`, `2GiB`); JSON keeps exact numbers.

/// `n` bytes in binary units with one decimal, `.0` dropped: `832B`,
/// `21.8KiB`, `2GiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if n < 1024 {
        return format!("{n}B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    let text = format!("{value:.1}");
    let text = text.strip_suffix(".0").unwrap_or(&text);
    format!("{text}{}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_binary_units() {
        let cases: &[(u64, &str)] = &[
            (0, "0B"),
            (832, "832B"),
            (1023, "1023B"),
            (1024, "1KiB"),
            (22_296, "21.8KiB"),
            (1_572_864, "1.5MiB"),
            (2_147_483_648, "2GiB"),
            (5 << 40, "5TiB"),
            (u64::MAX, "16EiB"),
        ];
        for (n, want) in cases {
            assert_eq!(human_bytes(*n), *want, "{n}");
        }
    }
}
