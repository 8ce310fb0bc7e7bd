//! Docker's Engine API on its unix socket: `GET /containers/ID/json`, what
//! sysdig's docker engine asks of a container.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use capture_format::state::ContainerInfo;
use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde::Deserialize;

use super::{ImageName, encode_labels};

/// Why docker could not describe a container.
#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    /// The socket does not answer.
    #[error("docker socket {}: {source}", path.display())]
    Connect {
        /// The socket.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The HTTP exchange failed.
    #[error("docker socket {}: {source}", path.display())]
    Http {
        /// The socket.
        path: PathBuf,
        /// Why.
        #[source]
        source: hyper::Error,
    },
    /// No answer in time.
    #[error("docker socket {}: no answer in {timeout:?}", path.display())]
    Timeout {
        /// The socket.
        path: PathBuf,
        /// How long it was given.
        timeout: Duration,
    },
    /// An answer that is not a container.
    #[error("docker socket {}: {status} {message}", path.display())]
    Answer {
        /// The socket.
        path: PathBuf,
        /// HTTP status.
        status: u16,
        /// What docker said.
        message: String,
    },
}

/// What `GET /containers/ID/json` says (the fields syscap uses).
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct Inspect {
    /// The whole id.
    pub id: String,
    /// `/name`.
    pub name: String,
    /// The image id (`sha256:...`).
    pub image: String,
    /// The container's configuration.
    pub config: InspectConfig,
    /// How it runs.
    pub host_config: InspectHostConfig,
}

/// `Config` of an inspect answer.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct InspectConfig {
    /// The image as the container was asked to run it.
    pub image: String,
    /// Labels (a kubelet's `io.kubernetes.*` on dockershim nodes).
    pub labels: Option<BTreeMap<String, String>>,
}

/// `HostConfig` of an inspect answer.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct InspectHostConfig {
    /// `--privileged`.
    pub privileged: bool,
}

/// Asks the engine on `socket` about container `id` (a prefix of its id
/// will do); `None` when docker does not know it.
pub async fn inspect(
    socket: &Path,
    id: &str,
    timeout: Duration,
) -> Result<Option<Inspect>, DockerError> {
    // Container ids are hex; anything else could not be one (nor go into
    // a request path as it is).
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Ok(None);
    }
    let ask = async {
        let stream = tokio::net::UnixStream::connect(socket)
            .await
            .map_err(|source| DockerError::Connect {
                path: socket.to_path_buf(),
                source,
            })?;
        let http = |source| DockerError::Http {
            path: socket.to_path_buf(),
            source,
        };
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(http)?;
        tokio::spawn(connection);
        let request = hyper::Request::get(format!("/containers/{id}/json"))
            .header(hyper::header::HOST, "docker")
            .body(Empty::<Bytes>::new())
            .map_err(|e| DockerError::Answer {
                path: socket.to_path_buf(),
                status: 0,
                message: e.to_string(),
            })?;
        let response = sender.send_request(request).await.map_err(http)?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(http)?
            .to_bytes();
        Ok((status, body))
    };
    let (status, body) =
        tokio::time::timeout(timeout, ask)
            .await
            .map_err(|_| DockerError::Timeout {
                path: socket.to_path_buf(),
                timeout,
            })??;
    match status {
        200 => serde_json::from_slice(&body)
            .map(Some)
            .map_err(|e| DockerError::Answer {
                path: socket.to_path_buf(),
                status,
                message: e.to_string(),
            }),
        404 => Ok(None),
        _ => Err(DockerError::Answer {
            path: socket.to_path_buf(),
            status,
            message: String::from_utf8_lossy(&body).trim().to_owned(),
        }),
    }
}

/// A docker container as sysdig describes it.
pub fn describe(inspect: &Inspect) -> ContainerInfo {
    let image = ImageName::of_container(&inspect.config.image, &inspect.image);
    let labels: BTreeMap<&str, &str> = inspect
        .config
        .labels
        .iter()
        .flatten()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let id = inspect.id.as_bytes();
    ContainerInfo {
        id: id[..id.len().min(12)].to_vec(),
        full_id: id.to_vec(),
        kind: b"docker".to_vec(),
        name: inspect
            .name
            .strip_prefix('/')
            .unwrap_or(&inspect.name)
            .as_bytes()
            .to_vec(),
        image: image.image.into_bytes(),
        image_repo: image.repository.into_bytes(),
        image_tag: image.tag.into_bytes(),
        image_digest: image.digest.into_bytes(),
        privileged: inspect.host_config.privileged,
        labels: encode_labels(&labels),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The part of a real answer (docker 20.10) syscap reads.
    #[test]
    fn an_inspect_answer_describes_the_container() {
        let answer = r#"{"Id":"5f1ad6fe52c1b8a1d0c3b1d0a9f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d",
            "Created":"2026-12-06T04:40:00Z","Name":"/web","Image":"sha256:e8f31a1f",
            "State":{"Status":"running","Pid":4242},
            "HostConfig":{"Privileged":true,"NetworkMode":"none"},
            "Config":{"Image":"syscap.local/busybox:1","Labels":{"app":"shop"}}}"#;
        let inspect: Inspect = serde_json::from_str(answer).unwrap();
        let c = describe(&inspect);
        assert_eq!(
            (
                &c.id[..],
                &c.name[..],
                &c.kind[..],
                &c.image[..],
                &c.image_repo[..],
                &c.image_tag[..],
                &c.image_digest[..],
                c.privileged,
                &c.labels[..]
            ),
            (
                &b"5f1ad6fe52c1"[..],
                &b"web"[..],
                &b"docker"[..],
                &b"syscap.local/busybox:1"[..],
                &b"syscap.local/busybox"[..],
                &b"1"[..],
                &b"sha256:e8f31a1f"[..],
                true,
                &b"app=shop\0"[..]
            )
        );
    }
}
