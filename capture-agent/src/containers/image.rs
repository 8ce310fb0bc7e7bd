//! Image references split as sysdig shows them: `container.image`,
//! `container.image.repository`, `.tag` and `.digest`.

/// An image reference and its parts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImageName {
    /// As the container was asked to run it.
    pub image: String,
    /// Registry and path, without tag or digest.
    pub repository: String,
    /// Tag (`latest` when a reference names neither tag nor digest).
    pub tag: String,
    /// `sha256:...`, when known.
    pub digest: String,
}

impl ImageName {
    /// Splits `reference` (`[registry[:port]/]path[:tag][@digest]`).
    pub fn parse(reference: &str) -> Self {
        let (name, digest) = reference.split_once('@').unwrap_or((reference, ""));
        // A colon after the last slash starts the tag; one before it is a
        // registry's port.
        let last_slash = name.rfind('/').map_or(0, |i| i + 1);
        let (repository, tag) = match name[last_slash..].rfind(':') {
            Some(i) => (&name[..last_slash + i], &name[last_slash + i + 1..]),
            None => (name, ""),
        };
        let tag = if tag.is_empty() && digest.is_empty() && !repository.is_empty() {
            "latest"
        } else {
            tag
        };
        Self {
            image: reference.to_owned(),
            repository: repository.to_owned(),
            tag: tag.to_owned(),
            digest: digest.to_owned(),
        }
    }

    /// A CRI container's image: the reference it was asked to run, its
    /// digest from the reference the runtime resolved (`repo@sha256:..`,
    /// or the image id), as sysdig reads them.
    /// When the container names its image by id only, the resolved
    /// reference names it.
    pub fn of_container(asked: &str, resolved: &str) -> Self {
        let by_id = asked.is_empty() || asked.starts_with("sha256:");
        let mut name = Self::parse(if by_id { resolved } else { asked });
        if name.digest.is_empty() {
            // containerd resolves to `repo@sha256:...`, or to the image id
            // (`sha256:...`) for an image no registry named.
            let digest = match resolved.split_once('@') {
                Some((_, digest)) => digest,
                None if resolved.starts_with("sha256:") => resolved,
                None => "",
            };
            digest.clone_into(&mut name.digest);
        }
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_as_sysdig_splits_them() {
        let cases = [
            ("nginx", "nginx", "latest", ""),
            ("nginx:1.25", "nginx", "1.25", ""),
            (
                "docker.io/library/nginx:1.25",
                "docker.io/library/nginx",
                "1.25",
                "",
            ),
            (
                "registry.local:5000/team/app:v2",
                "registry.local:5000/team/app",
                "v2",
                "",
            ),
            (
                "registry.local:5000/team/app",
                "registry.local:5000/team/app",
                "latest",
                "",
            ),
            ("busybox@sha256:beef", "busybox", "", "sha256:beef"),
            ("busybox:1.36@sha256:beef", "busybox", "1.36", "sha256:beef"),
            ("", "", "", ""),
        ];
        for (reference, repository, tag, digest) in cases {
            let n = ImageName::parse(reference);
            assert_eq!(
                (n.repository.as_str(), n.tag.as_str(), n.digest.as_str()),
                (repository, tag, digest),
                "{reference}"
            );
        }
    }

    #[test]
    fn a_cri_image_takes_its_digest_from_the_resolved_reference() {
        let n = ImageName::of_container("nginx:1.25", "docker.io/library/nginx@sha256:beef");
        assert_eq!(
            (n.image.as_str(), n.tag.as_str(), n.digest.as_str()),
            ("nginx:1.25", "1.25", "sha256:beef")
        );
        let by_id = ImageName::of_container("sha256:0123", "docker.io/library/nginx@sha256:beef");
        assert_eq!(
            (by_id.repository.as_str(), by_id.digest.as_str()),
            ("docker.io/library/nginx", "sha256:beef")
        );
        let imported = ImageName::of_container("syscap.local/busybox:1", "sha256:77");
        assert_eq!(
            (
                imported.repository.as_str(),
                imported.tag.as_str(),
                imported.digest.as_str()
            ),
            ("syscap.local/busybox", "1", "sha256:77")
        );
    }
}
