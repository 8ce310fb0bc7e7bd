//! Path resolution as sysdig does it for `fd.name`: relative paths are joined
//! to the working directory (or the `*at` directory fd) and normalised
//! lexically (`.`, `..`, repeated slashes), without touching the file system.
//! A relative path whose base is not known (empty) stays relative, as
//! sysdig shows it (`tls/libc.so.6`), not rooted at `/`.

/// Joins `path` to `base` (when relative) and normalises the result; with
/// an empty (unknown) `base`, a relative path is normalised and stays
/// relative.
pub fn resolve(base: &[u8], path: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(base.len() + path.len() + 1);
    resolve_into(base, path, &mut out);
    out
}

/// [`resolve`] into `out` (cleared first), to reuse its memory.
pub fn resolve_into(base: &[u8], path: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let relative = !path.starts_with(b"/");
    if relative {
        push_components(out, base);
    }
    push_components(out, path);
    if relative && base.is_empty() && !path.is_empty() {
        // `push_components` put a `/` before each part.
        if !out.is_empty() {
            out.remove(0);
        }
        return;
    }
    if out.is_empty() {
        out.push(b'/');
    }
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
    use super::{resolve, resolve_into};

    #[test]
    fn resolves_like_sysdig() {
        let cases: &[(&str, &str, &str)] = &[
            ("/home/u", "a.txt", "/home/u/a.txt"),
            ("/home/u", "/etc/passwd", "/etc/passwd"),
            ("/home/u", "../../etc//passwd", "/etc/passwd"),
            ("/", "./x/./y/", "/x/y"),
            ("/a", "../../..", "/"),
            // An unknown working directory: the path stays relative.
            ("", "tls/libc.so.6", "tls/libc.so.6"),
            ("", "./a//b/../c/", "a/c"),
            ("", "../x", "x"),
            ("/tmp", "", "/tmp"),
        ];
        for &(base, path, want) in cases {
            let got = resolve(base.as_bytes(), path.as_bytes());
            assert_eq!(String::from_utf8_lossy(&got), want, "{base} + {path}");
            // Into a buffer that held something else.
            let mut reused = b"/left/over".to_vec();
            resolve_into(base.as_bytes(), path.as_bytes(), &mut reused);
            assert_eq!(reused, got, "{base} + {path}");
        }
    }
}
