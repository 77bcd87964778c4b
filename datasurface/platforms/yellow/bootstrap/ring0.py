"""Ring 0: render every Kubernetes manifest of the sandbox, without a cluster or a database.

Output layout (what `sandbox/scripts/up.sh` applies, in this order):

    00-namespace.yaml ... 50-airflow.yaml   `kubectl apply -f OUT/` (top level only)
    server-side/model-source.yaml          `kubectl apply --server-side`: the model's files
                                           (client-side apply would copy them into an
                                           annotation limited to 256 KiB)
    jobs/airflow-db-migrate.yaml           run once before Airflow starts
    jobs/ring1.yaml                        databases, tables, first merge handler
    jobs/merge-handler.yaml                re-deploy the model by hand
    jobs/views-reconcile.yaml              reconcile consumer views by hand
    apps/simulator.yaml                    the change simulator, after ring 1
    create-secrets.sh                      Secrets from environment variables (no values)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml

from .k8s import CONFIG_HASH, SPEC_HASH, Manifest, configmaps_read, content_hash, pod_template
from .ring0_airflow import airflow, migrate_job
from .ring0_base import config, model_source, namespace, storage
from .ring0_jobs import merge_handler_job, ring1_job, simulator, views_job
from .ring0_postgres import postgres
from .ring0_rbac import rbac
from .secrets_script import secrets_script
from .settings import SandboxSettings

SECRETS_SCRIPT = "create-secrets.sh"

_FILES: dict[str, Callable[[SandboxSettings], list[Manifest]]] = {
    "00-namespace.yaml": namespace,
    "10-config.yaml": config,
    "server-side/model-source.yaml": model_source,
    "20-storage.yaml": storage,
    "30-rbac.yaml": rbac,
    "40-postgres.yaml": postgres,
    "50-airflow.yaml": airflow,
    "jobs/airflow-db-migrate.yaml": lambda s: [migrate_job(s)],
    "jobs/ring1.yaml": lambda s: [ring1_job(s)],
    "jobs/merge-handler.yaml": lambda s: [merge_handler_job(s)],
    "jobs/views-reconcile.yaml": lambda s: [views_job(s)],
    "apps/simulator.yaml": lambda s: [simulator(s)],
}


def render_ring0(s: SandboxSettings) -> dict[str, list[Manifest]]:
    """Every manifest, by output file (relative path), with the change-detection hashes."""
    rendered = {name: build(s) for name, build in _FILES.items()}
    stamp_hashes([doc for docs in rendered.values() for doc in docs])
    return rendered


def stamp_hashes(docs: list[Manifest]) -> None:
    """Annotate each pod template with the hash of the ConfigMaps it reads, then each Job
    with the hash of its spec (which includes its template's config hash and image).

    Why: `make up` re-runs with no change must change nothing, and a change must reach the
    pods that read it. Kubernetes rolls a Deployment only when its template changes; the
    config hash makes a ConfigMap change a template change (as the Airflow Helm chart's
    checksum annotations do). Secrets are not hashed here: ring 0 never sees their values;
    `make up` restarts the Deployments when create-secrets.sh reports a changed Secret.
    """
    configmaps = {d["metadata"]["name"]: d.get("data", {}) for d in docs if d["kind"] == "ConfigMap"}
    for doc in docs:
        template = pod_template(doc)
        if template is None:
            continue
        read = sorted(configmaps_read(template["spec"]))
        annotations = template.setdefault("metadata", {}).setdefault("annotations", {})
        annotations[CONFIG_HASH] = content_hash({name: configmaps.get(name) for name in read})
    for doc in docs:
        if doc["kind"] == "Job":
            doc["metadata"].setdefault("annotations", {})[SPEC_HASH] = content_hash(doc["spec"])


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (scripts, eco.py) as literal blocks, so the files read like source."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def to_yaml(docs: list[Manifest]) -> str:
    return "---\n".join(
        yaml.dump(d, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=120) for d in docs
    )


def write_ring0(s: SandboxSettings, out: Path) -> list[Path]:
    """Write the manifests and the secrets script under `out`; return the files written."""
    written: list[Path] = []
    for name, docs in render_ring0(s).items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(to_yaml(docs), encoding="utf-8")
        written.append(path)
    script = out / SECRETS_SCRIPT
    script.write_text(secrets_script(s), encoding="utf-8")
    script.chmod(0o755)
    written.append(script)
    return written
