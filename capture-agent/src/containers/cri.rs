//! A client of the Kubernetes Container Runtime Interface (CRI), as
//! containerd and cri-o serve it on their unix sockets: the two calls that
//! describe a container and its pod.
//!
//! The messages are the subset of `runtime.v1` (k8s.io/cri-api) these calls
//! need, declared here with the API's field numbers; protobuf skips the
//! fields a message does not declare, so the subset reads full answers.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::{Channel, Endpoint, Uri};

/// Why a CRI call failed.
#[derive(Debug, thiserror::Error)]
pub enum CriError {
    /// The socket does not accept connections.
    #[error("CRI socket {}: {source}", path.display())]
    Connect {
        /// The socket.
        path: PathBuf,
        /// Why.
        #[source]
        source: tonic::transport::Error,
    },
    /// The runtime answered with an error (`NotFound` for an id it does not
    /// know).
    #[error("CRI {call} on {}: {}", path.display(), status.message())]
    Call {
        /// The socket.
        path: PathBuf,
        /// The method.
        call: &'static str,
        /// The runtime's answer.
        #[source]
        status: Box<tonic::Status>,
    },
}

impl CriError {
    /// True when the runtime does not know the id (so another runtime, or
    /// the pod sandbox call, may).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Call { status, .. } if status.code() == tonic::Code::NotFound)
    }

    /// True when the runtime could not be reached or did not answer in
    /// time (so the connection is worth making again).
    pub fn is_unreachable(&self) -> bool {
        match self {
            Self::Connect { .. } => true,
            Self::Call { status, .. } => matches!(
                status.code(),
                tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Cancelled
            ),
        }
    }
}

/// `runtime.v1.ContainerStatusRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ContainerStatusRequest {
    /// Id, or a unique prefix of it.
    #[prost(string, tag = "1")]
    pub container_id: String,
    /// Ask for the runtime's `info` map too.
    #[prost(bool, tag = "2")]
    pub verbose: bool,
}

/// `runtime.v1.ContainerStatusResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ContainerStatusResponse {
    /// The container.
    #[prost(message, optional, tag = "1")]
    pub status: Option<ContainerStatus>,
    /// Verbose facts; containerd and cri-o put a JSON document under `info`.
    #[prost(map = "string, string", tag = "2")]
    pub info: HashMap<String, String>,
}

/// `runtime.v1.ContainerStatus` (the fields syscap uses).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ContainerStatus {
    /// The whole id.
    #[prost(string, tag = "1")]
    pub id: String,
    /// Name and attempt.
    #[prost(message, optional, tag = "2")]
    pub metadata: Option<ContainerMetadata>,
    /// The image as asked for.
    #[prost(message, optional, tag = "8")]
    pub image: Option<ImageSpec>,
    /// The image the runtime resolved it to (`repo@sha256:...`).
    #[prost(string, tag = "9")]
    pub image_ref: String,
    /// Labels (the kubelet's `io.kubernetes.*` among them).
    #[prost(map = "string, string", tag = "12")]
    pub labels: HashMap<String, String>,
}

/// `runtime.v1.ContainerMetadata`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ContainerMetadata {
    /// The container's name in its pod.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Restart count.
    #[prost(uint32, tag = "2")]
    pub attempt: u32,
}

/// `runtime.v1.ImageSpec`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ImageSpec {
    /// Image reference (`repo:tag`, `repo@digest` or an image id).
    #[prost(string, tag = "1")]
    pub image: String,
    /// The image as the user wrote it, when the runtime keeps it.
    #[prost(string, tag = "18")]
    pub user_specified_image: String,
}

/// `runtime.v1.PodSandboxStatusRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PodSandboxStatusRequest {
    /// Id, or a unique prefix of it.
    #[prost(string, tag = "1")]
    pub pod_sandbox_id: String,
    /// Ask for the runtime's `info` map too.
    #[prost(bool, tag = "2")]
    pub verbose: bool,
}

/// `runtime.v1.PodSandboxStatusResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PodSandboxStatusResponse {
    /// The pod sandbox.
    #[prost(message, optional, tag = "1")]
    pub status: Option<PodSandboxStatus>,
    /// Verbose facts.
    #[prost(map = "string, string", tag = "2")]
    pub info: HashMap<String, String>,
}

/// `runtime.v1.PodSandboxStatus` (the fields syscap uses).
#[derive(Clone, PartialEq, prost::Message)]
pub struct PodSandboxStatus {
    /// The whole id.
    #[prost(string, tag = "1")]
    pub id: String,
    /// Pod name, namespace and UID.
    #[prost(message, optional, tag = "2")]
    pub metadata: Option<PodSandboxMetadata>,
    /// The pod's labels.
    #[prost(map = "string, string", tag = "7")]
    pub labels: HashMap<String, String>,
}

/// `runtime.v1.PodSandboxMetadata`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PodSandboxMetadata {
    /// Pod name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Pod UID.
    #[prost(string, tag = "2")]
    pub uid: String,
    /// Namespace.
    #[prost(string, tag = "3")]
    pub namespace: String,
    /// Restart count.
    #[prost(uint32, tag = "4")]
    pub attempt: u32,
}

/// `runtime.v1.VersionRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct VersionRequest {
    /// The client's CRI version.
    #[prost(string, tag = "1")]
    pub version: String,
}

/// `runtime.v1.VersionResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct VersionResponse {
    /// CRI version.
    #[prost(string, tag = "1")]
    pub version: String,
    /// `containerd`, `cri-o`, ...
    #[prost(string, tag = "2")]
    pub runtime_name: String,
    /// The runtime's own version.
    #[prost(string, tag = "3")]
    pub runtime_version: String,
    /// The CRI API version it serves.
    #[prost(string, tag = "4")]
    pub runtime_api_version: String,
}

/// A connection to one runtime's CRI socket.
#[derive(Debug, Clone)]
pub struct CriClient {
    path: PathBuf,
    grpc: tonic::client::Grpc<Channel>,
}

impl CriClient {
    /// Connects to the runtime serving `path`; every call then times out
    /// after `timeout`.
    pub async fn connect(path: &Path, timeout: Duration) -> Result<Self, CriError> {
        let socket = path.to_path_buf();
        // The URI is required and ignored: the connector dials the socket.
        let channel = Endpoint::from_static("http://cri.invalid")
            .connect_timeout(timeout)
            .timeout(timeout)
            .connect_with_connector(tower::service_fn(move |_: Uri| {
                let socket = socket.clone();
                async move {
                    let stream = tokio::net::UnixStream::connect(socket).await?;
                    Ok::<_, std::io::Error>(TokioIo::new(stream))
                }
            }))
            .await
            .map_err(|source| CriError::Connect {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(Self {
            path: path.to_path_buf(),
            grpc: tonic::client::Grpc::new(channel),
        })
    }

    /// The socket this client talks to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Calls method `call` (`/runtime.v1.RuntimeService/NAME`) with
    /// `request`: the calls not wrapped here (tests drive pods with it).
    pub async fn call<Q, A>(&mut self, call: &'static str, request: Q) -> Result<A, CriError>
    where
        Q: prost::Message + Send + Sync + 'static,
        A: prost::Message + Default + Send + Sync + 'static,
    {
        let failed = |path: &Path, status| CriError::Call {
            path: path.to_path_buf(),
            call,
            status: Box::new(status),
        };
        self.grpc
            .ready()
            .await
            .map_err(|e| failed(&self.path, tonic::Status::unavailable(e.to_string())))?;
        let route = PathAndQuery::from_static(call);
        let codec = tonic_prost::ProstCodec::<Q, A>::default();
        self.grpc
            .unary(tonic::Request::new(request), route, codec)
            .await
            .map(tonic::Response::into_inner)
            .map_err(|status| failed(&self.path, status))
    }

    /// The runtime's name and version.
    pub async fn version(&mut self) -> Result<VersionResponse, CriError> {
        self.call(
            "/runtime.v1.RuntimeService/Version",
            VersionRequest {
                version: "v1".into(),
            },
        )
        .await
    }

    /// A container, verbose.
    pub async fn container_status(
        &mut self,
        id: &str,
    ) -> Result<ContainerStatusResponse, CriError> {
        self.call(
            "/runtime.v1.RuntimeService/ContainerStatus",
            ContainerStatusRequest {
                container_id: id.to_owned(),
                verbose: true,
            },
        )
        .await
    }

    /// A pod sandbox, verbose.
    pub async fn pod_sandbox_status(
        &mut self,
        id: &str,
    ) -> Result<PodSandboxStatusResponse, CriError> {
        self.call(
            "/runtime.v1.RuntimeService/PodSandboxStatus",
            PodSandboxStatusRequest {
                pod_sandbox_id: id.to_owned(),
                verbose: true,
            },
        )
        .await
    }
}
