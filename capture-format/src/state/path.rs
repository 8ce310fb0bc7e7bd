//! Path resolution as sysdig does it for `fd.name`: relative paths are joined
//! to the working directory (or the `*at` directory fd) and normalised
//! lexically (`.`, `..`, repeated slashes), without touching the file system.

/// Joins `path` to `base` (when relative) and normalises the result.
pub fn resolve(base: &[u8], path: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(base.len() + path.len() + 1);
    if !path.starts_with(b"/") {
        push_components(&mut out, base);
    }
    push_components(&mut out, path);
    if out.is_empty() {
        out.push(b'/');
    }
    out
}

fn push_components(out: &mut Vec<u8>, path: &[u8]) {
    for part in path.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                let cut = out.iter().rposition(|&b| b == b'/').unwrap_or(0);
                out.truncate(cut);
            }
            name => {
                out.push(b'/');
                out.extend_from_slice(name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::resolve;

    #[test]
    fn resolves_like_sysdig() {
        let cases: &[(&str, &str, &str)] = &[
            ("/home/u", "a.txt", "/home/u/a.txt"),
            ("/home/u", "/etc/passwd", "/etc/passwd"),
            ("/home/u", "../../etc//passwd", "/etc/passwd"),
            ("/", "./x/./y/", "/x/y"),
            ("/a", "../../..", "/"),
            ("", "rel", "/rel"),
            ("/tmp", "", "/tmp"),
        ];
        for &(base, path, want) in cases {
            let got = resolve(base.as_bytes(), path.as_bytes());
            assert_eq!(String::from_utf8_lossy(&got), want, "{base} + {path}");
        }
    }
}
