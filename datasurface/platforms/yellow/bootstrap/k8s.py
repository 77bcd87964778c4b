"""Small builders for Kubernetes manifests as plain dicts (no Kubernetes client import).

Manifests are data: the renderer returns dicts, the CLI writes them as YAML and the tests
validate the same dicts against the Kubernetes schemas.
"""

from __future__ import annotations

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
    name: str, namespace: str, pod_spec: dict[str, Any], *, backoff_limit: int = 2, ttl_seconds: int = 3600
) -> Manifest:
    """A run-to-completion Job. Jobs are immutable: scripts delete the old one before applying."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": metadata(name, namespace),
        "spec": {
            "backoffLimit": backoff_limit,
            "ttlSecondsAfterFinished": ttl_seconds,
            "template": {"metadata": {"labels": labels(name)}, "spec": {"restartPolicy": "Never", **pod_spec}},
        },
    }
