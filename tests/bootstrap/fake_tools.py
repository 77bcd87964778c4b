"""Stand-ins for `docker`, `kind` and `kubectl` in `make up` tests: one program; the tests put
tiny `docker`/`kind`/`kubectl` wrappers on PATH that run it with the tool's name first.

It keeps a small cluster in a JSON state file: the clusters and whether their node runs, the
images in Docker and on the node, and every applied object. `kubectl apply` answers as kubectl
does (created / configured / unchanged, a Job's spec is immutable), so the scripts' change
detection meets realistic answers. What would happen in a real cluster is written to an
events log, one line each: `build IMAGE`, `load IMAGE`, `rollout deployment/NAME` (a pod
template changed: Kubernetes would restart its pods), `restart deployment/NAME`
(`kubectl rollout restart`), `run job/NAME`, `create cluster`, `delete cluster`,
`start NODE`, `stop NODE`. Every call's argv goes to the calls log.

Scenarios, from the environment:
  FAKE_STATE          folder of state.json, calls.log, events.log (required)
  FAKE_DOCKER_DOWN=1  the Docker daemon does not answer
  FAKE_NO_BUILDX=1    `docker buildx` is not installed
  FAKE_MEM_BYTES      memory Docker reports (default 16 GiB)
  FAKE_KIND_VERSION / FAKE_KUBECTL_VERSION   versions reported (defaults: current ones)
  FAKE_FAIL_JOB=NAME  the Job's pod fails; its log says "FAKE-FAILURE-LOG"
  FAKE_CRASH=NAME     the Deployment's pod crash-loops; its log says "FAKE-CRASH-LOG"
  FAKE_BATCHES=N      committed batches psql reports in the merge database (default 2)
  FAKE_RESTART_ON_RERUN=NAME  NAME's container restarts when `make up` runs again
"""

from __future__ import annotations

import base64
import copy
import json
import os
import sys
from pathlib import Path
from typing import Any

STATE = Path(os.environ["FAKE_STATE"])
GROUPS = {"Deployment": "deployment.apps", "StatefulSet": "statefulset.apps", "Job": "job.batch"}
RBAC = {"Role", "RoleBinding"}


def load() -> dict[str, Any]:
    path = STATE / "state.json"
    if path.exists():
        state: dict[str, Any] = json.loads(path.read_text())
        return state
    return {"clusters": {}, "images": [], "node_images": [], "objects": {}}


def save(state: dict[str, Any]) -> None:
    (STATE / "state.json").write_text(json.dumps(state, indent=1, sort_keys=True))


def event(line: str) -> None:
    with open(STATE / "events.log", "a") as f:
        f.write(line + "\n")


def out(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")


def fail(message: str, code: int = 1) -> None:
    sys.stderr.write(message + "\n")
    sys.exit(code)


def resource_name(kind: str) -> str:
    if kind in GROUPS:
        return GROUPS[kind]
    if kind in RBAC:
        return f"{kind.lower()}.rbac.authorization.k8s.io"
    return kind.lower()


# ---------------------------------------------------------------- docker


def docker(args: list[str]) -> None:
    state = load()
    if os.environ.get("FAKE_DOCKER_DOWN") and args[:1] in (["info"], ["build"], ["image"]):
        fail("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?")
    cmd = args[0]
    if cmd == "info":
        fmt = args[args.index("--format") + 1] if "--format" in args else "{{.ServerVersion}}"
        values = {
            "{{.ServerVersion}}": "27.3.1",
            "{{.MemTotal}}": os.environ.get("FAKE_MEM_BYTES", str(16 * 1024**3)),
            "{{.DockerRootDir}}": str(STATE),
        }
        for field, value in values.items():
            fmt = fmt.replace(field, value)
        out(fmt)
    elif cmd == "buildx":
        if os.environ.get("FAKE_NO_BUILDX"):
            fail("docker: unknown command: docker buildx")
        out("github.com/docker/buildx v0.17.1")
    elif cmd == "build":
        tag = args[args.index("-t") + 1]
        if tag not in state["images"]:
            state["images"].append(tag)
        event(f"build {tag} DOCKER_BUILDKIT={os.environ.get('DOCKER_BUILDKIT', '')}")
        save(state)
        out(f"Successfully tagged {tag}")
    elif cmd == "image" and args[1] == "inspect":
        sys.exit(0 if args[2] in state["images"] else 1)
    elif cmd == "image" and args[1] == "ls":
        repo = args[2]
        for image in state["images"]:
            if image.rsplit(":", 1)[0] == repo:
                out(image)
    elif cmd == "image" and args[1] == "rm":
        state["images"] = [i for i in state["images"] if i != args[2]]
        event(f"docker rmi {args[2]}")
        save(state)
    elif cmd == "inspect":
        node = args[-1]
        cluster = node.removesuffix("-control-plane")
        if cluster not in state["clusters"]:
            fail(f"Error: No such object: {node}")
        out("true" if state["clusters"][cluster]["running"] else "false")
    elif cmd in ("start", "stop"):
        for node in args[1:]:
            state["clusters"][node.removesuffix("-control-plane")]["running"] = cmd == "start"
            event(f"{cmd} {node}")
            out(node)
        save(state)
    elif cmd == "exec" and args[2:4] == ["crictl", "images"]:
        out("IMAGE                       TAG                 IMAGE ID            SIZE")
        for image in state["node_images"]:
            repo, tag = image.rsplit(":", 1)
            out(f"docker.io/{repo}    {tag}    0123456789ab    1GB")
    elif cmd == "exec" and args[2:4] == ["crictl", "rmi"]:
        ref = args[4].removeprefix("docker.io/")
        state["node_images"] = [i for i in state["node_images"] if i != ref]
        event(f"node rmi {ref}")
        save(state)
    else:
        fail(f"fake docker: unsupported: {args}", 2)


# ---------------------------------------------------------------- kind


def _opt(args: list[str], name: str, default: str = "") -> str:
    return args[args.index(name) + 1] if name in args else default


def kind(args: list[str]) -> None:
    state = load()
    name = _opt(args, "--name", "kind")
    if args[0] == "version":
        out(f"kind {os.environ.get('FAKE_KIND_VERSION', 'v0.24.0')} go1.22.6 linux/amd64")
    elif args[:2] == ["get", "clusters"]:
        for cluster in state["clusters"]:
            out(cluster)
    elif args[:2] == ["get", "nodes"]:
        if name in state["clusters"]:
            out(f"{name}-control-plane")
    elif args[:2] == ["create", "cluster"]:
        if name in state["clusters"]:
            fail(f'ERROR: failed to create cluster: node(s) already exist for a cluster with the name "{name}"')
        state["clusters"][name] = {"running": True, "kubeconfig": _opt(args, "--kubeconfig")}
        Path(_opt(args, "--kubeconfig")).write_text(f"current-context: kind-{name}\n")
        event("create cluster")
        save(state)
    elif args[:2] == ["export", "kubeconfig"]:
        Path(_opt(args, "--kubeconfig")).write_text(f"current-context: kind-{name}\n")
        restart = os.environ.get("FAKE_RESTART_ON_RERUN")
        if restart:
            state.setdefault("restarts", {})[restart] = state.get("restarts", {}).get(restart, 0) + 1
            save(state)
    elif args[:2] == ["load", "docker-image"]:
        images = [a for a in args[2:] if not a.startswith("--") and a != name]
        for image in images:
            if image not in state["images"]:
                fail(f"ERROR: image: {image!r} not present locally")
            if image in state["node_images"]:
                out(f'Image: "{image}" with ID "sha256:0123" found to be already present on all nodes.')
            else:
                state["node_images"].append(image)
                event(f"load {image}")
        save(state)
    elif args[:2] == ["delete", "cluster"]:
        if name in state["clusters"]:
            del state["clusters"][name]
            state["objects"] = {}
            state["node_images"] = []
            event("delete cluster")
            save(state)
        out(f'Deleting cluster "{name}" ...')
    else:
        fail(f"fake kind: unsupported: {args}", 2)


# ---------------------------------------------------------------- kubectl


def _docs(path: str) -> list[dict[str, Any]]:
    import yaml  # here, not at the top: most calls don't need it, and each call is a process

    if path == "-":
        return [d for d in yaml.safe_load_all(sys.stdin.read()) if d]
    p = Path(path)
    files = sorted(f for f in p.iterdir() if f.suffix in (".yaml", ".yml") and f.is_file()) if p.is_dir() else [p]
    return [d for f in files for d in yaml.safe_load_all(f.read_text()) if d]


def _job_failing(name: str) -> bool:
    return os.environ.get("FAKE_FAIL_JOB") == name


def _apply(state: dict[str, Any], path: str, server_side: bool) -> None:
    for doc in _docs(path):
        kind_, name = doc["kind"], doc["metadata"]["name"]
        key = f"{kind_}/{name}"
        shown = f"{resource_name(kind_)}/{name}"
        old = state["objects"].get(key)
        if old is None:
            verdict = "created"
        elif old["doc"] == doc:
            verdict = "unchanged"
        else:
            if kind_ == "Job" and old["doc"]["spec"] != doc["spec"]:
                fail(f'The Job "{name}" is invalid: spec.template: Invalid value: ...: field is immutable')
            verdict = "configured"
        if server_side:
            verdict = "serverside-applied"
        if kind_ in ("Deployment", "StatefulSet") and (
            old is None or old["doc"]["spec"]["template"] != doc["spec"]["template"]
        ):
            if old is not None:
                event(f"rollout {kind_.lower()}/{name}")
        if kind_ == "Job" and old is None:
            event(f"run job/{name}")
        generation = 1 if old is None else old.get("generation", 1) + (old["doc"].get("spec") != doc.get("spec"))
        state["objects"][key] = {"doc": copy.deepcopy(doc), "generation": generation}
        out(f"{shown} {verdict}")


def _secret_yaml(args: list[str]) -> None:
    import yaml

    name = args[3]
    folder = next(a.split("=", 1)[1] for a in args if a.startswith("--from-file="))
    data = {f.name: base64.b64encode(f.read_bytes()).decode() for f in sorted(Path(folder).iterdir())}
    out(yaml.safe_dump({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "data": data}))


def _pod_line(name: str, phase: str, reasons: str) -> str:
    return f"{name}|{phase}|||{reasons}\n"


def _get(state: dict[str, Any], args: list[str]) -> None:
    what = args[1]
    template = _opt(args, "-o")
    selector = _opt(args, "-l")
    if what == "job":
        job = state["objects"].get(f"Job/{args[2]}")
        if job is None:
            fail(f'Error from server (NotFound): jobs.batch "{args[2]}" not found')
        failing = _job_failing(args[2])
        if "spec-hash" in template:
            annotation = job["doc"]["metadata"].get("annotations", {}).get("datasurface.io/spec-hash", "")
            out(f"{annotation} {'' if failing else 1}")
        elif "reason" in template:
            out("BackoffLimitExceeded: Job has reached the specified backoff limit" if failing else "")
        else:
            out("Failed " if failing else "Complete ")
    elif what == "pods" and " in (" in selector:
        names = selector.split("(", 1)[1].rstrip(")").split(",")
        restarts = state.get("restarts", {})
        for key in sorted(state["objects"]):
            kind_, name = key.split("/", 1)
            if kind_ in ("Deployment", "StatefulSet") and name in names:
                out(f"{name}-6d5f8-abcde restarts={restarts.get(name, 0)},")
    elif what == "pods":
        label, _, value = selector.partition("=")
        if label == "job-name":
            pods = [(f"{value}-x7k2p", "Failed" if _job_failing(value) else "Succeeded", "")]
        else:
            crash = os.environ.get("FAKE_CRASH") == value
            pods = [(f"{value}-6d5f8-abcde", "Running", "CrashLoopBackOff " if crash else " ")]
        if template.startswith("jsonpath"):
            sys.stdout.write("".join(_pod_line(*p) for p in pods))
        elif template == "name":
            out("\n".join(f"pod/{p[0]}" for p in pods))
        else:
            out("NAME   READY   STATUS\n" + "\n".join(f"{p[0]}   0/1   {p[2] or p[1]}" for p in pods))
    elif what == "deployments,statefulsets":
        for key, obj in sorted(state["objects"].items()):
            if key.split("/")[0] in ("Deployment", "StatefulSet"):
                out(f"{key} generation={obj.get('generation', 1)}")
    elif what == "events":
        out("LAST SEEN   TYPE      REASON    OBJECT   MESSAGE\n10s   Warning   BackOff   pod   Back-off restarting")
    else:
        out("NAME                 READY   STATUS")


def kubectl(args: list[str]) -> None:
    state = load()
    # Global flags: the scripts must always name the sandbox's kubeconfig and context.
    rest: list[str] = []
    i = 0
    while i < len(args):
        if args[i] in ("--kubeconfig", "--context", "-n"):
            i += 2
            continue
        rest.append(args[i])
        i += 1
    cmd = rest[0] if rest else ""
    if cmd == "version":
        out(f"Client Version: {os.environ.get('FAKE_KUBECTL_VERSION', 'v1.31.2')}\nKustomize Version: v5.4.2")
    elif cmd == "get" and rest[1:3] == ["--raw", "/readyz"]:
        if not any(c["running"] for c in state["clusters"].values()):
            fail("The connection to the server was refused")
        out("ok")
    elif cmd == "apply":
        _apply(state, _opt(rest, "-f"), "--server-side" in rest)
        save(state)
    elif cmd == "create" and rest[1:3] == ["secret", "generic"]:
        _secret_yaml(rest)
    elif cmd == "delete" and rest[1] == "job":
        if state["objects"].pop(f"Job/{rest[2]}", None) is not None:
            out(f'job.batch "{rest[2]}" deleted')
        save(state)
    elif cmd == "get":
        _get(state, rest)
    elif cmd == "rollout" and rest[1] == "status":
        name = rest[2].split("/", 1)[1]
        if os.environ.get("FAKE_CRASH") == name:
            fail("error: timed out waiting for the condition")
        out(f"{rest[2]} successfully rolled out")
    elif cmd == "exec":
        query = rest[-1]
        if "batch_metrics" in query:
            out(os.environ.get("FAKE_BATCHES", "2"))
        else:
            out("42")
    elif cmd == "rollout" and rest[1] == "restart":
        event(f"restart {rest[2]}")
        obj = state["objects"][f"Deployment/{rest[2].split('/', 1)[1]}"]
        obj["generation"] = obj.get("generation", 1) + 1
        save(state)
        out(f"{rest[2]} restarted")
    elif cmd == "logs":
        pod = next((a for a in rest[1:] if a.startswith(("pod/", "job/", "deployment/"))), "")
        name = pod.split("/", 1)[-1]
        if "--previous" in rest and "x7k2p" in name:
            fail("previous terminated container not found")
        marker = "FAKE-FAILURE-LOG" if "x7k2p" in name else "FAKE-CRASH-LOG"
        out("\n".join(f"[{name}] line {n}: {marker}" for n in range(1, 4)))
    else:
        fail(f"fake kubectl: unsupported: {args}", 2)


def main() -> None:
    tool, args = sys.argv[1], sys.argv[2:]
    with open(STATE / "calls.log", "a") as f:
        f.write(f"{tool} {' '.join(args)}\n")
    {"docker": docker, "kind": kind, "kubectl": kubectl}[tool](args)


if __name__ == "__main__":
    main()
