#!/usr/bin/env python3
"""The Pod that `scripts/kube-test.sh` plays with podman, made from the
DaemonSet's pod template (podman 4.3 plays Pods and Deployments, not
DaemonSets) and the ConfigMap's agent.toml and rules.yaml.

    kube-pod.py DIR IMAGE MOTO_ENDPOINT METRICS_PORT >pod.yaml

Writes DIR/config/{agent.toml,rules.yaml} and prints the Pod. What differs
from the template, each for a reason of the test bed:
- the config volume is a hostPath of DIR/config (the ConfigMap's files,
  with the storage at moto and the podman socket as the docker socket);
- hostPath volumes (spool, runtime sockets) live under DIR, so nothing on
  the host changes; the podman API socket (DIR/podman) is mounted too;
- SYSCAP_HOST is a value (podman does not fill spec.nodeName), the metrics
  port a free one, moto's credentials are in the environment;
- the container's seccompProfile becomes the annotation podman 4.3 reads;
- podman 4.3 ignores hostPID (the pod gets a PID namespace of its own):
  the host's /proc is mounted at /host/proc and SYSCAP_PROC_ROOT points
  there, so the agent still finds the host's processes and their cgroups;
- the probes are dropped: podman 4.3 would run them as a curl inside the
  image, which has no curl. The test GETs the same paths itself.
"""

import copy
import os
import sys

import yaml


def main():
    work, image, endpoint, port = sys.argv[1:5]
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "deploy", "kubernetes")
    with open(os.path.join(here, "daemonset.yaml")) as f:
        daemonset = yaml.safe_load(f)
    with open(os.path.join(here, "configmap.yaml")) as f:
        configmap = yaml.safe_load(f)

    config = os.path.join(work, "config")
    os.makedirs(config, exist_ok=True)
    agent_toml = configmap["data"]["agent.toml"]
    for old, new in [
        ('storage = "s3://my-syscap-captures/eks"', 'storage = "s3://caps/kube"'),
        ('region = "eu-west-1"', f'region = "us-east-1"\nendpoint = "{endpoint}"\npath_style = true'),
        ('docker_socket = ""', 'docker_socket = "/run/podman/podman.sock"'),
    ]:
        if old not in agent_toml:
            sys.exit(f"kube-pod: the ConfigMap's agent.toml has no {old!r}")
        agent_toml = agent_toml.replace(old, new)
    with open(os.path.join(config, "agent.toml"), "w") as f:
        f.write(agent_toml)
    with open(os.path.join(config, "rules.yaml"), "w") as f:
        f.write(configmap["data"]["rules.yaml"])

    template = copy.deepcopy(daemonset["spec"]["template"])
    spec = template["spec"]
    [container] = spec["containers"]
    container["image"] = image
    annotations = dict(template["metadata"]["annotations"])
    if container["securityContext"].get("seccompProfile", {}).get("type") == "Unconfined":
        # podman 4.3 reads seccomp from the annotation Kubernetes had before
        # securityContext.seccompProfile, not from the field.
        annotations[f"container.seccomp.security.alpha.kubernetes.io/{container['name']}"] = "unconfined"
    for probe in ("livenessProbe", "readinessProbe"):
        container.pop(probe)
    env = [e for e in container["env"] if e["name"] != "SYSCAP_HOST"]
    env += [
        {"name": "SYSCAP_HOST", "value": "kube-test-node"},
        {"name": "SYSCAP_METRICS", "value": f"0.0.0.0:{port}"},
        {"name": "SYSCAP_PROC_ROOT", "value": "/host/proc"},
        {"name": "AWS_ACCESS_KEY_ID", "value": "testing"},
        {"name": "AWS_SECRET_ACCESS_KEY", "value": "testing"},
    ]
    container["env"] = env
    # hostNetwork: the agent listens on the host's port itself.
    container.pop("ports", None)
    container["volumeMounts"].append({"name": "podman", "mountPath": "/run/podman", "readOnly": True})
    container["volumeMounts"].append({"name": "host-proc", "mountPath": "/host/proc", "readOnly": True})
    volumes = []
    for volume in spec["volumes"]:
        name = volume["name"]
        if name == "config":
            volume = {"name": name, "hostPath": {"path": config, "type": "Directory"}}
        elif "hostPath" in volume:
            path = os.path.join(work, "host", name)
            os.makedirs(path, mode=0o700, exist_ok=True)
            volume = {"name": name, "hostPath": {"path": path, "type": "Directory"}}
        volumes.append(volume)
    volumes.append({"name": "podman", "hostPath": {"path": os.path.join(work, "podman"), "type": "Directory"}})
    volumes.append({"name": "host-proc", "hostPath": {"path": "/proc", "type": "Directory"}})
    spec["volumes"] = volumes
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "syscap-kube-test", "labels": template["metadata"]["labels"],
                     "annotations": annotations},
        "spec": spec,
    }
    yaml.safe_dump(pod, sys.stdout, sort_keys=False)


if __name__ == "__main__":
    main()
