//! Which container and pod a process runs in, from its cgroups.

/// Container id (12 hex digits) and Kubernetes pod UID from a process's
/// cgroups, for docker, containerd (CRI) and cri-o layouts, in both
/// cgroupfs and systemd forms. Takes `/proc/PID/cgroup` (lines of
/// `hierarchy:controllers:path`) or the `.scap` form (`controller=path`
/// entries, each followed by a NUL).
pub fn container_of(cgroup: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut container = Vec::new();
    let mut pod = Vec::new();
    for line in cgroup.split(|&b| b == b'\n' || b == 0) {
        let path = if line.contains(&b':') {
            line.splitn(3, |&b| b == b':').nth(2)
        } else {
            line.splitn(2, |&b| b == b'=').nth(1)
        };
        let Some(path) = path else {
            continue;
        };
        for part in path.split(|&b| b == b'/') {
            let part = part.strip_suffix(b".scope").unwrap_or(part);
            let part = part.strip_suffix(b".slice").unwrap_or(part);
            if container.is_empty() {
                let id = part.rsplit(|&b| b == b'-').next().unwrap_or(part);
                if id.len() == 64 && id.iter().all(u8::is_ascii_hexdigit) {
                    container = id[..12].to_vec();
                }
            }
            if pod.is_empty()
                && let Some(at) = find(part, b"pod")
            {
                let uid: Vec<u8> = part[at + 3..]
                    .iter()
                    .map(|&b| if b == b'_' { b'-' } else { b })
                    .collect();
                if uid.len() == 36 && uid.iter().all(|b| b.is_ascii_hexdigit() || *b == b'-') {
                    pod = uid;
                }
            }
        }
    }
    (container, pod)
}

/// The last occurrence (`kubepods-besteffort-pod<uid>` holds two).
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_and_pod_ids_from_cgroup_paths() {
        let id = "3f4e8b1a9c2d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f";
        let cases: &[(&str, &str, &str)] = &[
            ("0::/user.slice/user-1000.slice/session-2.scope", "", ""),
            (&format!("0::/docker/{id}"), "3f4e8b1a9c2d", ""),
            (
                &format!("0::/system.slice/docker-{id}.scope"),
                "3f4e8b1a9c2d",
                "",
            ),
            (
                &format!(
                    "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1d2c3b4a_5e6f_4a7b_8c9d_0e1f2a3b4c5d.slice/cri-containerd-{id}.scope"
                ),
                "3f4e8b1a9c2d",
                "1d2c3b4a-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
            ),
            (
                &format!(
                    "12:pids:/kubepods/burstable/pod1d2c3b4a-5e6f-4a7b-8c9d-0e1f2a3b4c5d/{id}"
                ),
                "3f4e8b1a9c2d",
                "1d2c3b4a-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
            ),
            (
                &format!("0::/machine.slice/crio-{id}.scope"),
                "3f4e8b1a9c2d",
                "",
            ),
            // Read from inside a pod's own cgroup namespace: other
            // containers' paths are relative to it.
            (
                &format!(
                    "0::/../../kubepods-besteffort-pod1d2c3b4a_5e6f_4a7b_8c9d_0e1f2a3b4c5d.slice/cri-containerd-{id}.scope"
                ),
                "3f4e8b1a9c2d",
                "1d2c3b4a-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
            ),
            (&format!("0::/../libpod-{id}/container"), "3f4e8b1a9c2d", ""),
            // As a .scap process table or clone event carries them.
            (
                &format!("cpuset=/docker/{id}\0cpu=/docker/{id}\0"),
                "3f4e8b1a9c2d",
                "",
            ),
            ("cpuset=/\0cpu=/user.slice\0", "", ""),
        ];
        for (cgroup, container, pod) in cases {
            let (c, p) = container_of(cgroup.as_bytes());
            assert_eq!(
                (String::from_utf8(c).unwrap(), String::from_utf8(p).unwrap()),
                ((*container).to_owned(), (*pod).to_owned()),
                "{cgroup}"
            );
        }
    }
}
