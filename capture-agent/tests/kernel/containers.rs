//! Containers end to end: a real containerd (Debian's, with its CRI
//! plugin, started privately by `scripts/containerd-lab.sh`) runs a
//! Kubernetes-style pod from images built on the spot; the real agent
//! records it; the capture names the container, its image and its pod.
//!
//! The pod is made the way the kubelet makes one (`RunPodSandbox`,
//! `CreateContainer`, `StartContainer` over CRI, with the kubelet's
//! `io.kubernetes.*` labels and a `kubepods` cgroup parent, under the lab's
//! own `syscap-lab` cgroup), on the host's network, since no CNI plugin is
//! installed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use capture_agent::containers::cri::{ContainerMetadata, CriClient, ImageSpec, PodSandboxMetadata};
use s3_test_server::S3TestServer as S3;

use crate::daemon::{Agent, AgentSetup, syscap};
use crate::support::{scratch, start_agent};

/// The CRI messages that make a pod (`runtime.v1`, the fields used).
mod pod {
    use std::collections::HashMap;

    use capture_agent::containers::cri::{ContainerMetadata, ImageSpec, PodSandboxMetadata};

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct NamespaceOption {
        /// 2: the node's (host network, no CNI needed).
        #[prost(int32, tag = "1")]
        pub network: i32,
        /// 1: the container's own.
        #[prost(int32, tag = "2")]
        pub pid: i32,
        /// 0: the pod's.
        #[prost(int32, tag = "3")]
        pub ipc: i32,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct LinuxSandboxSecurityContext {
        #[prost(message, optional, tag = "1")]
        pub namespace_options: Option<NamespaceOption>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct LinuxPodSandboxConfig {
        #[prost(string, tag = "1")]
        pub cgroup_parent: String,
        #[prost(message, optional, tag = "2")]
        pub security_context: Option<LinuxSandboxSecurityContext>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct PodSandboxConfig {
        #[prost(message, optional, tag = "1")]
        pub metadata: Option<PodSandboxMetadata>,
        #[prost(map = "string, string", tag = "6")]
        pub labels: HashMap<String, String>,
        #[prost(message, optional, tag = "8")]
        pub linux: Option<LinuxPodSandboxConfig>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct RunPodSandboxRequest {
        #[prost(message, optional, tag = "1")]
        pub config: Option<PodSandboxConfig>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct RunPodSandboxResponse {
        #[prost(string, tag = "1")]
        pub pod_sandbox_id: String,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct LinuxContainerSecurityContext {
        #[prost(message, optional, tag = "3")]
        pub namespace_options: Option<NamespaceOption>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct LinuxContainerConfig {
        #[prost(message, optional, tag = "2")]
        pub security_context: Option<LinuxContainerSecurityContext>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ContainerConfig {
        #[prost(message, optional, tag = "1")]
        pub metadata: Option<ContainerMetadata>,
        #[prost(message, optional, tag = "2")]
        pub image: Option<ImageSpec>,
        #[prost(string, repeated, tag = "3")]
        pub command: Vec<String>,
        #[prost(map = "string, string", tag = "9")]
        pub labels: HashMap<String, String>,
        #[prost(message, optional, tag = "15")]
        pub linux: Option<LinuxContainerConfig>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct CreateContainerRequest {
        #[prost(string, tag = "1")]
        pub pod_sandbox_id: String,
        #[prost(message, optional, tag = "2")]
        pub config: Option<ContainerConfig>,
        #[prost(message, optional, tag = "3")]
        pub sandbox_config: Option<PodSandboxConfig>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct CreateContainerResponse {
        #[prost(string, tag = "1")]
        pub container_id: String,
    }

    /// `StartContainerRequest`, and the pod sandbox's stop and remove
    /// requests: one id each.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct IdRequest {
        #[prost(string, tag = "1")]
        pub id: String,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Empty {}
}

/// A private container runtime started by one of the lab scripts
/// (`scripts/containerd-lab.sh`, `scripts/docker-lab.sh`), stopped with
/// all it ran when dropped.
struct Lab {
    script: PathBuf,
    dir: PathBuf,
    socket: PathBuf,
}

impl Lab {
    fn start(script: &str, dir: &Path) -> Self {
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scripts")
            .join(script);
        let out = Command::new(&script)
            .arg("start")
            .arg(dir)
            .output()
            .unwrap_or_else(|e| panic!("{}: {e}", script.display()));
        assert!(
            out.status.success(),
            "{} start: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let socket = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
        Self {
            script,
            dir: dir.to_owned(),
            socket,
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = Command::new(&self.script)
            .arg("stop")
            .arg(&self.dir)
            .status();
    }
}

/// A pod as the kubelet makes it: its UID, sandbox id and container id.
struct Pod {
    uid: String,
    sandbox: String,
    container: String,
}

/// Runs pod `name` in namespace `namespace` (label `app=shop`) with one
/// container `web` of `syscap.local/busybox:1` running `script`.
async fn run_pod(socket: &Path, name: &str, namespace: &str, script: &str) -> Pod {
    let mut cri = CriClient::connect(socket, Duration::from_mins(1))
        .await
        .expect("containerd's CRI answers");
    let uid = format!("0f0e0d0c-0b0a-4908-8706-{:012x}", std::process::id());
    let k8s_labels: HashMap<String, String> = [
        ("io.kubernetes.pod.name", name),
        ("io.kubernetes.pod.namespace", namespace),
        ("io.kubernetes.pod.uid", uid.as_str()),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let mut pod_labels = k8s_labels.clone();
    pod_labels.insert("app".into(), "shop".into());
    let namespaces = Some(pod::NamespaceOption {
        network: 2,
        pid: 1,
        ipc: 0,
    });
    let sandbox_config = pod::PodSandboxConfig {
        metadata: Some(PodSandboxMetadata {
            name: name.into(),
            uid: uid.clone(),
            namespace: namespace.into(),
            attempt: 0,
        }),
        labels: pod_labels,
        linux: Some(pod::LinuxPodSandboxConfig {
            // A kubelet-like parent, under a root of the lab's own.
            cgroup_parent: format!("/syscap-lab/kubepods/besteffort/pod{uid}"),
            security_context: Some(pod::LinuxSandboxSecurityContext {
                namespace_options: namespaces.clone(),
            }),
        }),
    };
    let sandbox: pod::RunPodSandboxResponse = cri
        .call(
            "/runtime.v1.RuntimeService/RunPodSandbox",
            pod::RunPodSandboxRequest {
                config: Some(sandbox_config.clone()),
            },
        )
        .await
        .expect("RunPodSandbox");
    let mut labels = k8s_labels;
    labels.insert("io.kubernetes.container.name".into(), "web".into());
    let created: pod::CreateContainerResponse = cri
        .call(
            "/runtime.v1.RuntimeService/CreateContainer",
            pod::CreateContainerRequest {
                pod_sandbox_id: sandbox.pod_sandbox_id.clone(),
                config: Some(pod::ContainerConfig {
                    metadata: Some(ContainerMetadata {
                        name: "web".into(),
                        attempt: 0,
                    }),
                    image: Some(ImageSpec {
                        image: "syscap.local/busybox:1".into(),
                        user_specified_image: String::new(),
                    }),
                    command: vec!["/bin/sh".into(), "-c".into(), script.into()],
                    labels,
                    linux: Some(pod::LinuxContainerConfig {
                        security_context: Some(pod::LinuxContainerSecurityContext {
                            namespace_options: namespaces,
                        }),
                    }),
                }),
                sandbox_config: Some(sandbox_config),
            },
        )
        .await
        .expect("CreateContainer");
    let _: pod::Empty = cri
        .call(
            "/runtime.v1.RuntimeService/StartContainer",
            pod::IdRequest {
                id: created.container_id.clone(),
            },
        )
        .await
        .expect("StartContainer");
    Pod {
        uid,
        sandbox: sandbox.pod_sandbox_id,
        container: created.container_id,
    }
}

/// Stops and removes the pod and its container.
async fn remove_pod(socket: &Path, sandbox: &str) {
    let Ok(mut cri) = CriClient::connect(socket, Duration::from_secs(30)).await else {
        return;
    };
    for call in [
        "/runtime.v1.RuntimeService/StopPodSandbox",
        "/runtime.v1.RuntimeService/RemovePodSandbox",
    ] {
        let done: Result<pod::Empty, _> =
            cri.call(call, pod::IdRequest { id: sandbox.into() }).await;
        if let Err(e) = done {
            eprintln!("{call}: {e}");
        }
    }
}

/// A pod started while the agent runs: its container's system calls carry
/// the container's name, image (repository, tag, the image id as digest),
/// runtime, its pod's name, namespace, UID, labels and sandbox; an event
/// rule on `container.name` fires on them live; the file describes the
/// pod's sandbox and the container as they appeared; the host's processes
/// stay `host`.
pub fn containers_are_named_from_the_cri() {
    let dir = scratch("containers-cri");
    let containerd = Lab::start("containerd-lab.sh", &dir.join("containerd"));
    let s3 = S3::start(&dir.join("s3")).unwrap();
    // Two rules fire on the same read: one keeps the whole host, the other
    // only the pod that fired (a capture filter filled in from the event).
    let when = "evt.type = openat and container.name = web and fd.name = /etc/hosts";
    let rules = format!(
        "rules:\n  - name: web-reads-hosts\n    condition:\n      event: {when}\n    capture:\n      before: 10s\n      after: 2s\n  - name: pod-only\n    condition:\n      event: {when}\n    capture:\n      before: 10s\n      after: 2s\n      filter: k8s.pod.name = ${{k8s.pod.name}}\n"
    );
    let mut setup = AgentSetup::new(&dir, &rules, &s3);
    setup.cri_socket = Some(&containerd.socket);
    let agent = Agent::start(&setup);
    // The pod starts inside the history the capture keeps.
    std::thread::sleep(Duration::from_secs(1));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let script = "while true; do cat /etc/hosts >/dev/null; sleep 0.2; done";
    let pod = runtime.block_on(run_pod(&containerd.socket, "shop-1", "prod", script));
    let stored = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        agent.wait_for("stored s3://caps/prod/test-host/", 2);
    }));
    runtime.block_on(remove_pod(&containerd.socket, &pod.sandbox));
    if let Err(panic) = stored {
        std::panic::resume_unwind(panic);
    }
    agent.stop();
    let listed = syscap(&s3, &["ls", "s3://caps/prod", "--rule", "web-reads-hosts"]);
    let key = listed
        .lines()
        .nth(1)
        .and_then(|row| row.rsplit("  ").next())
        .unwrap_or_else(|| panic!("one capture: {listed}"))
        .trim();
    let url = format!("s3://caps/{key}");
    let print = |format: &str, filter: &str| syscap(&s3, &["print", &url, "-p", format, filter]);
    let reads = print(
        "%container.id|%container.full_id|%container.name|%container.image|%container.image.repository|%container.image.tag|%container.type|%k8s.pod.name|%k8s.ns.name|%k8s.pod.uid|%k8s.pod.label[app]|%k8s.pod.sandbox_id|%proc.name|%container.image.digest",
        "evt.type = openat and fd.name = /etc/hosts",
    );
    let want = format!(
        "{}|{}|web|syscap.local/busybox:1|syscap.local/busybox|1|containerd|shop-1|prod|{}|shop|{}|cat",
        &pod.container[..12],
        pod.container,
        pod.uid,
        &pod.sandbox[..12],
    );
    let lines: Vec<&str> = reads.lines().collect();
    assert!(lines.len() >= 3, "the container's reads: {reads}");
    for line in &lines {
        // The image was imported, so containerd resolves it to its id.
        let (fields, digest) = line.rsplit_once('|').unwrap();
        assert_eq!(fields, want);
        assert!(
            digest.len() == 71 && digest.starts_with("sha256:"),
            "the image id as digest: {line}"
        );
    }
    // All the pod's labels, as sysdig lists them: not the runtime's own.
    let labels = print(
        "%k8s.pod.labels",
        "evt.type = openat and fd.name = /etc/hosts",
    );
    for line in labels.lines() {
        assert!(
            line.split(", ").any(|l| l == "app:shop") && !line.contains("io.kubernetes."),
            "{labels}"
        );
    }
    // The filter language takes the pod's names.
    let by_pod = print(
        "%container.name %proc.exe",
        "k8s.ns.name = prod and k8s.pod.name = shop-1 and evt.type = execve",
    );
    assert!(by_pod.contains("web cat"), "{by_pod}");
    // The file describes both containers as they appeared: the pod's
    // sandbox (its `pause` process, by the pod's name) and `web`. (A
    // container whose first process ran before containerd registered it,
    // as a sandbox's `pause` may on a busy host, is first described by its
    // id alone, then named when a retry finds it.)
    let described = print("*%evt.arg.id %evt.arg.name", "evt.type = container");
    let mut named: Vec<(&str, &str)> = Vec::new();
    for line in described.lines() {
        let (id, name) = line.split_once(' ').unwrap_or((line, ""));
        match named.iter_mut().find(|(known, _)| *known == id) {
            Some(known) => known.1 = name,
            None => named.push((id, name)),
        }
    }
    assert_eq!(
        named,
        [
            (&pod.sandbox[..12], "shop-1"),
            (&pod.container[..12], "web")
        ],
        "{described}"
    );
    let host = print(
        // `*`: print lines with fields that have no value (the pod).
        "*%container.id %container.name %k8s.pod.name",
        "container.id = host and evt.type = openat",
    );
    assert!(
        host.lines().count() > 0 && host.lines().all(|l| l == "host host <NA>"),
        "the host's processes: {host}"
    );
    let info = syscap(&s3, &["summary", "--by", "k8s", &url]);
    assert!(info.contains("prod") && info.contains("shop-1"), "{info}");
    only_the_pod(&s3);
    drop(containerd);
}

/// The capture of rule `pod-only` holds the pod's events and no other
/// process's, and says which filter it applied.
fn only_the_pod(s3: &S3) {
    let listed = syscap(s3, &["ls", "s3://caps/prod", "--rule", "pod-only"]);
    let key = listed
        .lines()
        .nth(1)
        .and_then(|row| row.rsplit("  ").next())
        .unwrap_or_else(|| panic!("one capture: {listed}"))
        .trim();
    let url = format!("s3://caps/{key}");
    let info = syscap(s3, &["info", &url]);
    assert!(
        info.lines().any(|l| l.starts_with("filter")
            && l.contains("k8s.pod.name = ")
            && l.contains("shop-1")),
        "the filter as applied: {info}"
    );
    let pods = syscap(
        s3,
        &["print", &url, "-p", "*%k8s.pod.name", "evt.type = openat"],
    );
    assert!(pods.lines().count() >= 3, "the pod's reads: {pods}");
    assert!(pods.lines().all(|l| l == "shop-1"), "only the pod: {pods}");
}

/// `syscap-agent capture` names containers too, and a capture filter keeps
/// what names them: only the container's reads of `/etc/hosts` are kept,
/// each with its container and pod.
pub fn filtered_capture_names_containers() {
    let dir = scratch("containers-capture");
    let containerd = Lab::start("containerd-lab.sh", &dir.join("containerd"));
    let output = dir.join("pod.syscap");
    let capture = start_agent(
        &output,
        &[
            "--duration",
            "5s",
            "--cri-socket",
            containerd.socket.to_str().unwrap(),
            "-f",
            "evt.type = openat and fd.name = /etc/hosts",
        ],
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let script = "while true; do cat /etc/hosts >/dev/null; sleep 0.2; done";
    let pod = runtime.block_on(run_pod(&containerd.socket, "shop-2", "staging", script));
    let finished = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| capture.finish()));
    runtime.block_on(remove_pod(&containerd.socket, &pod.sandbox));
    if let Err(panic) = finished {
        std::panic::resume_unwind(panic);
    }
    every_read_is(
        &output,
        "%container.name %container.image %k8s.ns.name %k8s.pod.name %proc.name",
        "web syscap.local/busybox:1 staging shop-2 cat",
    );
    drop(containerd);
}

/// A docker container started while `syscap-agent capture` runs (Debian's
/// dockerd, started privately by `scripts/docker-lab.sh`) is named from
/// docker's Engine API: name, image, runtime, labels.
pub fn docker_containers_are_named() {
    let dir = scratch("containers-docker");
    let docker = Lab::start("docker-lab.sh", &dir.join("docker"));
    let output = dir.join("docker.syscap");
    let capture = start_agent(
        &output,
        &[
            "--duration",
            "4s",
            "--cri-socket",
            "/nonexistent/cri.sock",
            "--docker-socket",
            docker.socket.to_str().unwrap(),
            "-f",
            "evt.type = openat and fd.name = /etc/hosts",
        ],
    );
    let run = Command::new("/usr/bin/docker")
        .arg("-H")
        .arg(format!("unix://{}", docker.socket.display()))
        .args([
            "run",
            "-d",
            "--network",
            "none",
            "--name",
            "web",
            "--label",
            "app=shop",
            "syscap.local/busybox:1",
            "-c",
            "while true; do cat /etc/hosts >/dev/null; sleep 0.2; done",
        ])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "docker run: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let id = String::from_utf8(run.stdout).unwrap().trim().to_owned();
    capture.finish();
    drop(docker);
    every_read_is(
        &output,
        "%container.id %container.name %container.image %container.type %container.label[app] %proc.name",
        &format!("{} web syscap.local/busybox:1 docker shop cat", &id[..12]),
    );
}

/// The capture at `path` holds the container's reads of `/etc/hosts`
/// (three or more), each printed by `format` as `want`.
fn every_read_is(path: &Path, format: &str, want: &str) {
    let bin = s3_test_server::workspace_binary("syscap", "inspect-cli").unwrap();
    let out = Command::new(bin)
        .arg("print")
        .arg(path)
        .args(["-p", format, "evt.type = openat"])
        .output()
        .unwrap();
    let reads = String::from_utf8(out.stdout).unwrap();
    assert!(reads.lines().count() >= 3, "the container's reads: {reads}");
    for line in reads.lines() {
        assert_eq!(line, want);
    }
}
