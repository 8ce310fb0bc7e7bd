//! Which container a process runs in, and what its runtime says of it, as
//! sysdig's container engines learn it.
//!
//! A process's container id (and its pod's UID) come from its cgroups: at
//! the `/proc` snapshot, and again at every exec, since `runc` moves a
//! container's first process into the container's cgroup before it execs
//! the entry point. The runtime's description (name, image, labels, pod)
//! is asked for in the background, of the CRI sockets of containerd and
//! cri-o, then of docker's Engine API, so a lookup never holds up
//! recording: [`ContainerWatch`] writes a `threadinfo` record when a
//! process changes container, and a `container` record when a description
//! arrives, so a capture describes its containers to any reader, offline.

pub mod cri;
pub mod docker;
mod image;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use capture_format::event::{EventType, Record};
use capture_format::state::{ContainerInfo, Tracker, container_of, with_container_move_record};

use cri::{ContainerStatusResponse, CriClient, CriError, PodSandboxStatusResponse};
pub use image::ImageName;

/// Where the runtimes are asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeSockets {
    /// CRI sockets, asked in order; those that do not exist are skipped.
    pub cri: Vec<PathBuf>,
    /// Docker's socket, asked when no CRI runtime knows a container.
    pub docker: Option<PathBuf>,
    /// How long one call may take.
    pub timeout: Duration,
}

impl RuntimeSockets {
    /// True when some runtime is to be asked.
    pub fn any(&self) -> bool {
        !self.cri.is_empty() || self.docker.is_some()
    }
}

impl Default for RuntimeSockets {
    /// containerd's, k3s' and cri-o's default sockets, docker's, 2 s per
    /// call.
    fn default() -> Self {
        Self {
            cri: [
                "/run/containerd/containerd.sock",
                "/run/k3s/containerd/containerd.sock",
                "/run/crio/crio.sock",
                "/var/run/crio/crio.sock",
            ]
            .iter()
            .map(PathBuf::from)
            .collect(),
            docker: Some(PathBuf::from("/var/run/docker.sock")),
            timeout: Duration::from_secs(2),
        }
    }
}

/// Describes containers on a thread of its own, so callers never wait for a
/// runtime: ask with [`Lookups::ask`], collect with [`Lookups::answers`].
#[derive(Debug)]
pub struct Lookups {
    requests: tokio::sync::mpsc::UnboundedSender<Vec<u8>>,
    answers: mpsc::Receiver<ContainerInfo>,
}

impl Lookups {
    /// Starts the lookup thread.
    pub fn start(sockets: RuntimeSockets) -> std::io::Result<Self> {
        let (requests, mut pending) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
        let (answer, answers) = mpsc::channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("containers".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let mut runtimes = Runtimes::new(sockets);
                    let mut retries = Retries::default();
                    loop {
                        let (id, tries) = match retries.next_due() {
                            Some(due) => tokio::select! {
                                request = pending.recv() => match request {
                                    Some(id) => (id, 0),
                                    None => break,
                                },
                                () = tokio::time::sleep_until(due.into()) => {
                                    let Some(retry) = retries.pop() else { continue };
                                    retry
                                }
                            },
                            None => match pending.recv().await {
                                Some(id) => (id, 0),
                                None => break,
                            },
                        };
                        let (info, failed) = runtimes.describe(&id).await;
                        if failed {
                            retries.schedule(Instant::now(), id, tries);
                        }
                        // The first answer always goes out (the id at
                        // least); a retry's only when it names more.
                        let says_more = !info.name.is_empty() || !info.image.is_empty();
                        if (tries == 0 || says_more) && answer.send(info).is_err() {
                            break;
                        }
                    }
                });
            })?;
        Ok(Self { requests, answers })
    }

    /// Asks for a description of container `id`; the answer comes with as
    /// much as the runtimes said (at least the id), and again, complete,
    /// when a runtime that failed to answer does later ([`RETRY_AFTER`]).
    pub fn ask(&self, id: &[u8]) {
        // The thread only stops once this side is gone.
        let _ = self.requests.send(id.to_vec());
    }

    /// The descriptions that arrived since the last call.
    pub fn answers(&self) -> impl Iterator<Item = ContainerInfo> + '_ {
        self.answers.try_iter()
    }
}

/// When a lookup no runtime answered with a description (unreachable,
/// timed out, an error status, or not knowing the id yet) is tried again:
/// 1 s after, doubling, five times (31 s in all), so a runtime that
/// restarts or is slow to start still names the containers it runs, and a
/// container whose first process runs before its runtime has registered it
/// (a pod sandbox's `pause`, on a busy host) is named once it has.
pub const RETRY_AFTER: [Duration; 5] = [
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
    Duration::from_secs(16),
];

/// Lookups to try again, the earliest first.
#[derive(Debug, Default)]
struct Retries {
    due: BinaryHeap<Reverse<(Instant, usize, Vec<u8>)>>,
}

impl Retries {
    /// Schedules another try of `id` after `tries` retries, unless that
    /// was the last; says whether it did.
    fn schedule(&mut self, now: Instant, id: Vec<u8>, tries: usize) -> bool {
        let Some(delay) = RETRY_AFTER.get(tries) else {
            return false;
        };
        self.due.push(Reverse((now + *delay, tries + 1, id)));
        true
    }

    /// When the earliest retry is due.
    fn next_due(&self) -> Option<Instant> {
        self.due.peek().map(|Reverse((at, ..))| *at)
    }

    /// The earliest retry: the id and how many retries it is.
    fn pop(&mut self) -> Option<(Vec<u8>, usize)> {
        self.due.pop().map(|Reverse((_, tries, id))| (id, tries))
    }
}

/// The CRI runtimes found, connected on first use.
struct Runtimes {
    sockets: RuntimeSockets,
    clients: HashMap<PathBuf, (CriClient, String)>,
    /// Pod sandboxes already described: name, namespace, UID, labels.
    pods: HashMap<String, Option<PodSandboxStatusResponse>>,
}

impl Runtimes {
    fn new(sockets: RuntimeSockets) -> Self {
        Self {
            sockets,
            clients: HashMap::new(),
            pods: HashMap::new(),
        }
    }

    /// What the first runtime that knows `id` says of it; the bare id when
    /// none does, and whether to ask again: a runtime failed to answer, or
    /// none knew the id yet (its first process can run before its runtime
    /// registers it).
    async fn describe(&mut self, id: &[u8]) -> (ContainerInfo, bool) {
        let bare = ContainerInfo {
            id: id.to_vec(),
            ..ContainerInfo::default()
        };
        let Ok(text) = std::str::from_utf8(id) else {
            return (bare, false);
        };
        // Whether any runtime was there to ask: one that answered or not,
        // it may describe the container later.
        let mut asked = false;
        for path in self.sockets.cri.clone() {
            if !path.exists() {
                continue;
            }
            asked = true;
            match self.describe_with(&path, text).await {
                Ok(Some(info)) => return (info, false),
                Ok(None) => {}
                Err(e) => tracing::debug!("container {text}: {e}"),
            }
        }
        if let Some(socket) = self.sockets.docker.as_ref().filter(|p| p.exists()) {
            asked = true;
            match docker::inspect(socket, text, self.sockets.timeout).await {
                Ok(Some(inspect)) => return (docker::describe(&inspect), false),
                Ok(None) => {}
                Err(e) => tracing::debug!("container {text}: {e}"),
            }
        }
        (bare, asked)
    }

    async fn client(&mut self, path: &Path) -> Result<(CriClient, String), CriError> {
        if let Some(c) = self.clients.get(path) {
            return Ok(c.clone());
        }
        let mut client = CriClient::connect(path, self.sockets.timeout).await?;
        let name = client.version().await?.runtime_name;
        tracing::info!("container runtime {name} on {}", path.display());
        self.clients
            .insert(path.to_path_buf(), (client.clone(), name.clone()));
        Ok((client, name))
    }

    /// A container, or else a pod sandbox, of the runtime on `path`; `None`
    /// when it knows neither.
    async fn describe_with(
        &mut self,
        path: &Path,
        id: &str,
    ) -> Result<Option<ContainerInfo>, CriError> {
        let (mut client, runtime) = match self.client(path).await {
            Ok(c) => c,
            Err(e) => {
                self.clients.remove(path);
                return Err(e);
            }
        };
        match client.container_status(id).await {
            Ok(answer) => {
                let sandbox = sandbox_id(&answer);
                let pod = match sandbox {
                    Some(sandbox) => self.pod(&mut client, &sandbox).await,
                    None => None,
                };
                Ok(Some(describe_container(&runtime, &answer, pod.as_ref())))
            }
            Err(e) if e.is_unreachable() => {
                self.clients.remove(path);
                Err(e)
            }
            // Not a container (containerd 1.6 answers `Unknown`, not
            // `NotFound`, for an id it does not know): a pod sandbox?
            Err(not_container) => match client.pod_sandbox_status(id).await {
                Ok(answer) => Ok(Some(describe_sandbox(&runtime, id, &answer))),
                Err(e) if e.is_unreachable() => Err(e),
                Err(_) => {
                    tracing::debug!("container {id}: {not_container}");
                    Ok(None)
                }
            },
        }
    }

    async fn pod(&mut self, client: &mut CriClient, id: &str) -> Option<PodSandboxStatusResponse> {
        if let Some(known) = self.pods.get(id) {
            return known.clone();
        }
        let answer = client.pod_sandbox_status(id).await.ok();
        self.pods.insert(id.to_owned(), answer.clone());
        answer
    }
}

/// The container runtime's verbose `info` document.
fn verbose_info(info: &HashMap<String, String>) -> Option<serde_json::Value> {
    serde_json::from_str(info.get("info")?).ok()
}

/// The pod sandbox a CRI container belongs to, from its verbose info.
fn sandbox_id(answer: &ContainerStatusResponse) -> Option<String> {
    verbose_info(&answer.info)?
        .get("sandboxID")?
        .as_str()
        .map(str::to_owned)
}

/// sysdig's `container.type` for a CRI runtime's name.
fn runtime_kind(runtime: &str) -> &'static [u8] {
    match runtime {
        "containerd" => b"containerd",
        "cri-o" => b"cri-o",
        _ => b"cri",
    }
}

/// Labels as the capture keeps them: sorted `key=value`, each followed by
/// a NUL.
pub(crate) fn encode_labels(labels: &BTreeMap<&str, &str>) -> Vec<u8> {
    labels
        .iter()
        .flat_map(|(k, v)| [k.as_bytes(), b"=", v.as_bytes(), b"\0"].concat())
        .collect()
}

/// A CRI container as sysdig describes it: its name in the pod, its image
/// split into repository, tag and digest, privileged from its security
/// context, and its labels with the pod's added (`k8s.pod.label[...]`)
/// and the sandbox id (`k8s.pod.sandbox_id`).
fn describe_container(
    runtime: &str,
    answer: &ContainerStatusResponse,
    pod: Option<&PodSandboxStatusResponse>,
) -> ContainerInfo {
    let status = answer.status.clone().unwrap_or_default();
    let info = verbose_info(&answer.info);
    let asked = status.image.as_ref().map_or("", |i| {
        if i.user_specified_image.is_empty() {
            &i.image
        } else {
            &i.user_specified_image
        }
    });
    let image = ImageName::of_container(asked, &status.image_ref);
    let privileged = info
        .as_ref()
        .and_then(|i| i.pointer("/config/linux/security_context/privileged"))
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    let mut labels: BTreeMap<&str, &str> = status
        .labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    if let Some(pod) = pod.and_then(|p| p.status.as_ref()) {
        for (k, v) in &pod.labels {
            labels.entry(k).or_insert(v);
        }
        if let Some(m) = &pod.metadata {
            labels.entry("io.kubernetes.pod.name").or_insert(&m.name);
            labels
                .entry("io.kubernetes.pod.namespace")
                .or_insert(&m.namespace);
            labels.entry("io.kubernetes.pod.uid").or_insert(&m.uid);
        }
    }
    let sandbox = answer
        .info
        .get("info")
        .and(info.as_ref())
        .and_then(|i| i.get("sandboxID"))
        .and_then(serde_json::Value::as_str);
    if let Some(sandbox) = sandbox {
        labels.insert("io.kubernetes.sandbox.id", sandbox);
    }
    ContainerInfo {
        id: status.id.as_bytes()[..status.id.len().min(12)].to_vec(),
        full_id: status.id.as_bytes().to_vec(),
        kind: runtime_kind(runtime).to_vec(),
        name: status
            .metadata
            .as_ref()
            .map(|m| m.name.as_bytes().to_vec())
            .unwrap_or_default(),
        image: image.image.into_bytes(),
        image_repo: image.repository.into_bytes(),
        image_tag: image.tag.into_bytes(),
        image_digest: image.digest.into_bytes(),
        privileged,
        labels: encode_labels(&labels),
    }
}

/// A pod sandbox (its `pause` process) as a container: the pod's name,
/// and the pod's labels.
fn describe_sandbox(
    runtime: &str,
    asked: &str,
    answer: &PodSandboxStatusResponse,
) -> ContainerInfo {
    let status = answer.status.clone().unwrap_or_default();
    let full = if status.id.is_empty() {
        asked
    } else {
        &status.id
    };
    let meta = status.metadata.clone().unwrap_or_default();
    let mut labels: BTreeMap<&str, &str> = status
        .labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    labels.entry("io.kubernetes.pod.name").or_insert(&meta.name);
    labels
        .entry("io.kubernetes.pod.namespace")
        .or_insert(&meta.namespace);
    labels.entry("io.kubernetes.pod.uid").or_insert(&meta.uid);
    labels.insert("io.kubernetes.sandbox.id", full);
    ContainerInfo {
        id: full.as_bytes()[..full.len().min(12)].to_vec(),
        full_id: full.as_bytes().to_vec(),
        kind: runtime_kind(runtime).to_vec(),
        name: meta.name.as_bytes().to_vec(),
        labels: encode_labels(&labels),
        ..ContainerInfo::default()
    }
}

/// The container of process `pid` from `/proc/PID/cgroup`: its id (empty
/// on the host) and its pod's UID; `None` when the process is gone.
fn cgroup_container(proc_root: &Path, pid: i64, buf: &mut Vec<u8>) -> Option<(Vec<u8>, Vec<u8>)> {
    buf.clear();
    let mut file = std::fs::File::open(proc_root.join(pid.to_string()).join("cgroup")).ok()?;
    file.read_to_end(buf).ok()?;
    Some(container_of(buf))
}

/// A process that moved into another container (or out to the host).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerMove {
    tid: i64,
    pid: i64,
    ts: u64,
    container_id: Vec<u8>,
    pod_uid: Vec<u8>,
}

impl ContainerMove {
    /// Calls `f` with the `threadinfo` record that says so.
    pub fn with_record<T>(&self, f: impl FnOnce(&Record<'_>) -> T) -> T {
        with_container_move_record(
            self.tid,
            self.pid,
            self.ts,
            &self.container_id,
            &self.pod_uid,
            f,
        )
    }
}

/// Follows processes into containers and containers' descriptions into a
/// record stream (see the module's documentation).
#[derive(Debug)]
pub struct ContainerWatch {
    lookups: Option<Lookups>,
    asked: HashSet<Vec<u8>>,
    proc_root: PathBuf,
    buf: Vec<u8>,
}

impl ContainerWatch {
    /// A watch that reads `proc_root` and asks `lookups` (none: containers
    /// are followed by id only).
    pub fn new(proc_root: &Path, lookups: Option<Lookups>) -> Self {
        Self {
            lookups,
            asked: HashSet::new(),
            proc_root: proc_root.to_path_buf(),
            buf: Vec::new(),
        }
    }

    /// Asks for a description of every container `tracker` knows processes
    /// of but not what they are (those of the `/proc` snapshot).
    pub fn describe_known(&mut self, tracker: &Tracker) {
        let ids: HashSet<Vec<u8>> = tracker
            .processes()
            .filter(|p| !p.container_id.is_empty())
            .filter(|p| tracker.container(&p.container_id).is_none())
            .map(|p| p.container_id.clone())
            .collect();
        for id in ids {
            self.ask(&id);
        }
    }

    fn ask(&mut self, id: &[u8]) {
        if let Some(lookups) = &self.lookups
            && self.asked.insert(id.to_vec())
        {
            lookups.ask(id);
        }
    }

    /// After `rec` was applied: when it is an exec, the process's container
    /// from its cgroups, when that is not the one `tracker` has for it.
    pub fn after(&mut self, rec: &Record<'_>, tracker: &Tracker) -> Option<ContainerMove> {
        if rec.ty != EventType::PROC_EXEC {
            return None;
        }
        let (id, pod) = cgroup_container(&self.proc_root, rec.pid, &mut self.buf)?;
        if tracker.process(rec.pid).map(|p| &p.container_id) == Some(&id) {
            return None;
        }
        if !id.is_empty() && tracker.container(&id).is_none() {
            self.ask(&id);
        }
        Some(ContainerMove {
            tid: rec.tid,
            pid: rec.pid,
            ts: rec.ts,
            container_id: id,
            pod_uid: pod,
        })
    }

    /// The descriptions that arrived since the last call: each goes into
    /// the stream as a `container` record
    /// ([`capture_format::state::with_container_record`]).
    pub fn described(&mut self) -> Vec<ContainerInfo> {
        self.lookups
            .as_ref()
            .map(|l| l.answers().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::cri::{
        ContainerMetadata, ContainerStatus, ImageSpec, PodSandboxMetadata, PodSandboxStatus,
    };
    use super::*;

    fn labels(info: &ContainerInfo) -> Vec<String> {
        info.labels
            .split(|&b| b == 0)
            .filter(|l| !l.is_empty())
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect()
    }

    #[test]
    fn a_cri_container_with_its_pod() {
        let id = "0123456789abcdef".repeat(4);
        let answer = ContainerStatusResponse {
            status: Some(ContainerStatus {
                id: id.clone(),
                metadata: Some(ContainerMetadata {
                    name: "web".into(),
                    attempt: 0,
                }),
                image: Some(ImageSpec {
                    image: "docker.io/library/nginx:1.25".into(),
                    user_specified_image: String::new(),
                }),
                image_ref: "docker.io/library/nginx@sha256:abcd".into(),
                labels: [
                    ("io.kubernetes.pod.name", "shop-7d9"),
                    ("io.kubernetes.pod.namespace", "prod"),
                ]
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            }),
            info: [(
                "info".to_owned(),
                r#"{"sandboxID":"feedface","config":{"linux":{"security_context":{"privileged":true}}}}"#
                    .to_owned(),
            )]
            .into_iter()
            .collect(),
        };
        let pod = PodSandboxStatusResponse {
            status: Some(PodSandboxStatus {
                id: "feedface".into(),
                metadata: Some(PodSandboxMetadata {
                    name: "shop-7d9".into(),
                    uid: "u-1".into(),
                    namespace: "prod".into(),
                    attempt: 0,
                }),
                labels: [("app", "shop"), ("io.kubernetes.pod.name", "other")]
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            }),
            info: HashMap::new(),
        };
        let c = describe_container("containerd", &answer, Some(&pod));
        assert_eq!(c.id, b"0123456789ab");
        assert_eq!(c.full_id, id.as_bytes());
        assert_eq!(c.kind, b"containerd");
        assert_eq!(c.name, b"web");
        assert_eq!(c.image, b"docker.io/library/nginx:1.25");
        assert_eq!(c.image_repo, b"docker.io/library/nginx");
        assert_eq!(c.image_tag, b"1.25");
        assert_eq!(c.image_digest, b"sha256:abcd");
        assert!(c.privileged);
        assert_eq!(
            labels(&c),
            [
                "app=shop",
                "io.kubernetes.pod.name=shop-7d9",
                "io.kubernetes.pod.namespace=prod",
                "io.kubernetes.pod.uid=u-1",
                "io.kubernetes.sandbox.id=feedface",
            ]
        );
    }

    #[test]
    fn a_pod_sandbox_is_its_pod() {
        let answer = PodSandboxStatusResponse {
            status: Some(PodSandboxStatus {
                id: "fedcba9876543210".repeat(4),
                metadata: Some(PodSandboxMetadata {
                    name: "shop-7d9".into(),
                    uid: "u-1".into(),
                    namespace: "prod".into(),
                    attempt: 0,
                }),
                labels: HashMap::new(),
            }),
            info: HashMap::new(),
        };
        let c = describe_sandbox("cri-o", "fedcba987654", &answer);
        assert_eq!(
            (c.id.as_slice(), c.kind.as_slice(), c.name.as_slice()),
            (&b"fedcba987654"[..], &b"cri-o"[..], &b"shop-7d9"[..])
        );
        assert!(labels(&c).contains(&"io.kubernetes.pod.namespace=prod".to_owned()));
    }

    #[test]
    fn a_process_moving_into_a_container_is_followed_and_its_container_asked_for() {
        let root = std::env::temp_dir().join(format!("syscap-containers-{}", std::process::id()));
        let id = "ab".repeat(32);
        std::fs::create_dir_all(root.join("7")).unwrap();
        std::fs::write(
            root.join("7/cgroup"),
            format!("4:memory:/k8s.io/{id}\n0::/\n"),
        )
        .unwrap();
        let mut tracker = Tracker::new();
        let mut watch = ContainerWatch::new(&root, None);
        let args = [
            capture_format::event::Arg::Str(b"/pause"),
            capture_format::event::Arg::Int(7),
        ];
        let exec = Record {
            ty: EventType::PROC_EXEC,
            ts: 5,
            tid: 7,
            pid: 7,
            args: &args,
            ..Record::default()
        };
        tracker.apply(&exec);
        let moved = watch.after(&exec, &tracker).expect("moved");
        moved.with_record(|rec| tracker.apply(rec).thread.is_some());
        assert_eq!(tracker.process(7).unwrap().container_id, b"abababababab");
        // Already there: nothing more to say.
        assert_eq!(watch.after(&exec, &tracker), None);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn retries_double_and_stop_after_five() {
        let start = Instant::now();
        let mut retries = Retries::default();
        let mut at = Vec::new();
        let mut tries = 0;
        while retries.schedule(start, b"c1".to_vec(), tries) {
            at.push(retries.next_due().unwrap() - start);
            let (id, next) = retries.pop().unwrap();
            assert_eq!((id.as_slice(), next), (&b"c1"[..], tries + 1));
            tries = next;
        }
        assert_eq!(at, RETRY_AFTER);
        assert_eq!(retries.next_due(), None);
        // The earliest comes first, whatever the order of scheduling.
        retries.schedule(start, b"late".to_vec(), 3);
        retries.schedule(start, b"soon".to_vec(), 0);
        assert_eq!(retries.pop().unwrap().0, b"soon");
        assert_eq!(retries.pop().unwrap().0, b"late");
    }

    /// A docker engine that fails its first answer (a daemon restarting),
    /// or does not know the container yet (its first process ran before
    /// the engine registered it), names the container on the retry a
    /// second later.
    #[test]
    fn a_runtime_that_did_not_describe_it_is_asked_again() {
        for first in [
            ("500 Internal Server Error", r#"{"message":"restarting"}"#),
            ("404 Not Found", r#"{"message":"No such container"}"#),
        ] {
            asked_again_after(first);
        }
    }

    fn asked_again_after(first: (&'static str, &'static str)) {
        use std::io::Write as _;
        let dir = std::env::temp_dir().join(format!(
            "syscap-retry-{}-{}",
            std::process::id(),
            &first.0[..3]
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("docker.sock");
        let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let engine = std::thread::spawn(move || {
            let inspect = r#"{"Id":"5f1ad6fe52c1b8a1d0c3b1d0a9f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d","Name":"/web","Image":"sha256:e8f31a1f","Config":{"Image":"busybox:1"}}"#;
            let answers = [first, ("200 OK", inspect)];
            for (status, body) in answers {
                let (mut conn, _) = listener.accept().unwrap();
                let mut request = Vec::new();
                let mut byte = [0u8; 1];
                while !request.ends_with(b"\r\n\r\n") {
                    conn.read_exact(&mut byte).unwrap();
                    request.push(byte[0]);
                }
                write!(
                    conn,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
                .unwrap();
            }
        });
        let lookups = Lookups::start(RuntimeSockets {
            cri: Vec::new(),
            docker: Some(socket),
            timeout: Duration::from_secs(2),
        })
        .unwrap();
        lookups.ask(b"5f1ad6fe52c1");
        let mut answers = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while answers.len() < 2 && Instant::now() < deadline {
            answers.extend(
                lookups
                    .answers()
                    .map(|c| String::from_utf8(c.name).unwrap()),
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // The bare id at once, then the name.
        assert_eq!(answers, ["", "web"], "after {}", first.0);
        engine.join().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
