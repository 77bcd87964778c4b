"""Ring 0: the run-to-completion Jobs (ring 1, merge handler, view reconciler) and the change
simulator, all on the job image with the model's credentials from their Secrets.

The model reaches the cluster as the model-source ConfigMap; ring 1 commits it into a git
repository on the models volume (MODEL_REPO), which the merge handler deploys from.
"""

from __future__ import annotations

from typing import Any

from datasurface.platforms.yellow.kube_names import MODELS_MOUNT

from .k8s import (
    Manifest,
    credential_env,
    env_from_configmap,
    job,
    labels,
    metadata,
    models_mount,
    models_volume,
    selector,
)
from .ring0_base import MODEL_SOURCE_MOUNT, model_source_mount, model_source_volume
from .settings import MODEL_BRANCH, MODEL_REPO, SandboxSettings
from .sizing import profile

RING1_JOB = "datasurface-ring1"
MERGE_HANDLER_JOB = "datasurface-merge-handler"
VIEWS_JOB = "datasurface-views-reconcile"
SIMULATOR = "datasurface-simulator"


def _container(s: SandboxSettings, name: str, args: list[str]) -> dict[str, Any]:
    return {
        "name": name,
        "image": s.job_image,
        # `kind load` puts the image on the node; never pull it from a registry.
        "imagePullPolicy": "IfNotPresent",
        "args": args,
        "envFrom": env_from_configmap(),
        "env": credential_env(s.credentials),
        "volumeMounts": [models_mount(), model_source_mount()],
        "resources": profile(s.resource_profile).size("job").resources(),
    }


def _pod(s: SandboxSettings, containers: list[dict[str, Any]]) -> dict[str, Any]:
    return {"containers": containers, "volumes": [models_volume(), model_source_volume(s)]}


def ring1_job(s: SandboxSettings) -> Manifest:
    args = [
        "bootstrap", "--ring", "1", "--model", MODEL_SOURCE_MOUNT,
        "--repo", MODEL_REPO, "--branch", MODEL_BRANCH, "--seed-from", MODEL_SOURCE_MOUNT,
        "--models-dir", MODELS_MOUNT,
    ]  # fmt: skip
    for p in s.platforms:
        args += ["--platform", p.name]
    # backoff 0: `make up` waits for Postgres to be ready first, so a failure is real and
    # `make up` shows it at once. No TTL: the finished Job records which spec ran, so a
    # re-run of `make up` with nothing changed doesn't run it again.
    return job(
        RING1_JOB,
        s.namespace,
        _pod(s, [_container(s, "ring1", args)]),
        backoff_limit=0,
        ttl_seconds=None,
        deadline_seconds=1800,
    )


def merge_handler_job(s: SandboxSettings) -> Manifest:
    args = ["merge-handler", "--repo", MODEL_REPO, "--branch", MODEL_BRANCH, "--models-dir", MODELS_MOUNT]
    return job(MERGE_HANDLER_JOB, s.namespace, _pod(s, [_container(s, "merge-handler", args)]))


def views_job(s: SandboxSettings) -> Manifest:
    # One container per platform: they reconcile independently, in parallel.
    containers = [
        _container(s, f"views-{i}", ["views", "reconcile", "--model", MODELS_MOUNT, "--platform", p.name])
        for i, p in enumerate(s.platforms)
    ]
    return job(VIEWS_JOB, s.namespace, _pod(s, containers))


def simulator(s: SandboxSettings) -> Manifest:
    args = ["simulate", "--model", MODEL_SOURCE_MOUNT, "--create-tables", "--rate", f"{s.simulator_rate:g}"]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(SIMULATOR, s.namespace),
        "spec": {
            "replicas": 1,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": selector(SIMULATOR)},
            "template": {
                "metadata": {"labels": labels(SIMULATOR)},
                "spec": _pod(
                    s,
                    [
                        {
                            **_container(s, "simulator", args),
                            "resources": profile(s.resource_profile).size("simulator").resources(),
                        }
                    ],
                ),
            },
        },
    }
