"""Small builders for Kubernetes manifests as plain dicts (no Kubernetes client import).

Manifests are data: the renderer returns dicts, the CLI writes them as YAML and the tests
validate the same dicts against the Kubernetes schemas.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from datasurface.model.credential import Credential
from datasurface.platforms.yellow.kube_names import (
    ENV_CONFIGMAP,
    MODELS_MOUNT,
    MODELS_PVC,
    credential_secret_name,
)

Manifest = dict[str, Any]

#: Labels on every object ring 0 renders: `kubectl get all -l app.kubernetes.io/part-of=datasurface`.
PART_OF = {"app.kubernetes.io/part-of": "datasurface", "app.kubernetes.io/managed-by": "datasurface-bootstrap"}


#: Pod-template annotation: hash of the ConfigMaps the pod reads. A changed ConfigMap changes
#: the template, so `kubectl apply` rolls the Deployment; an unchanged one leaves it alone.
CONFIG_HASH = "datasurface.io/config-hash"
#: Job annotation: hash of the Job's spec. `make up` re-runs a Job only when it changed.
SPEC_HASH = "datasurface.io/spec-hash"


def content_hash(value: Any) -> str:
    """16 hex digits of SHA-256 over canonical JSON: stable across runs and Python versions."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def labels(component: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": component, **PART_OF}


def selector(component: str) -> dict[str, str]:
    # Selectors are immutable on Deployments/StatefulSets: keep them to the one stable label.
    return {"app.kubernetes.io/name": component}


def metadata(name: str, namespace: str | None, component: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": labels(component or name)}
    if namespace is not None:
        meta["namespace"] = namespace
    return meta


def credential_env(credentials: Iterable[Credential]) -> list[dict[str, Any]]:
    """`<NAME>_USER` / `<NAME>_PASSWORD` / `<NAME>_TOKEN` from each credential's Secret.

    The env var -> Secret key mapping is the one job pods use (`CredentialRef.of`), so the
    long-running pods and the job pods read a credential the same way.
    """
    env: list[dict[str, Any]] = []
    for cred in credentials:
        for var in cred.env_names():
            key = var.rsplit("_", 1)[-1]
            env.append(secret_env(var, credential_secret_name(cred.name), key))
    return env


def secret_env(var: str, secret: str, key: str) -> dict[str, Any]:
    return {"name": var, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def plain_env(values: Mapping[str, str]) -> list[dict[str, Any]]:
    return [{"name": k, "value": v} for k, v in values.items()]


def env_from_configmap() -> list[dict[str, Any]]:
    return [{"configMapRef": {"name": ENV_CONFIGMAP}}]


def models_volume() -> dict[str, Any]:
    return {"name": "models", "persistentVolumeClaim": {"claimName": MODELS_PVC}}


def models_mount(read_only: bool = False) -> dict[str, Any]:
    return {"name": "models", "mountPath": MODELS_MOUNT, "readOnly": read_only}


def resources(cpu: str, memory: str, memory_limit: str | None = None) -> dict[str, Any]:
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory_limit or memory}}


def pvc(name: str, namespace: str, size: str, access_mode: str) -> Manifest:
    # No storageClassName: the cluster's default class (kind: `standard`, local-path).
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": metadata(name, namespace),
        "spec": {"accessModes": [access_mode], "resources": {"requests": {"storage": size}}},
    }


def configmap(name: str, namespace: str, data: Mapping[str, str]) -> Manifest:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata(name, namespace), "data": dict(data)}


def job(
    name: str,
    namespace: str,
    pod_spec: dict[str, Any],
    *,
    backoff_limit: int = 2,
    ttl_seconds: int | None = 3600,
    deadline_seconds: int | None = None,
) -> Manifest:
    """A run-to-completion Job. Jobs are immutable: scripts delete the old one before applying.

    ttl_seconds None keeps the finished Job: `make up` compares its spec hash to skip a re-run.
    deadline_seconds bounds the whole Job in the cluster, whoever waits for it.
    """
    spec: dict[str, Any] = {"backoffLimit": backoff_limit}
    if ttl_seconds is not None:
        spec["ttlSecondsAfterFinished"] = ttl_seconds
    if deadline_seconds is not None:
        spec["activeDeadlineSeconds"] = deadline_seconds
    spec["template"] = {"metadata": {"labels": labels(name)}, "spec": {"restartPolicy": "Never", **pod_spec}}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata(name, namespace), "spec": spec}


def pod_template(doc: Manifest) -> dict[str, Any] | None:
    """The pod template of a Deployment, StatefulSet or Job; None for other kinds."""
    if doc.get("kind") in ("Deployment", "StatefulSet", "Job"):
        template: dict[str, Any] = doc["spec"]["template"]
        return template
    return None


def configmaps_read(pod_spec: Mapping[str, Any]) -> set[str]:
    """Names of the ConfigMaps a pod reads: volumes, envFrom and configMapKeyRef env."""
    names = {v["configMap"]["name"] for v in pod_spec.get("volumes", []) if "configMap" in v}
    for c in [*pod_spec.get("initContainers", []), *pod_spec.get("containers", [])]:
        names |= {s["configMapRef"]["name"] for s in c.get("envFrom", []) if "configMapRef" in s}
        for e in c.get("env", []):
            ref = e.get("valueFrom", {}).get("configMapKeyRef")
            if ref:
                names.add(ref["name"])
    return names
