"""Ring 0: one PostgreSQL server for the sandbox: sources, merge databases, Airflow metadata.

The superuser is the first platform's merge credential (its Secret's USER and PASSWORD), so
the merge handler and jobs log in with the credential the model names.
"""

from __future__ import annotations

from datasurface.platforms.yellow.kube_names import POSTGRES_SERVICE, credential_secret_name

from .k8s import Manifest, configmap, metadata, pvc, secret_env, selector
from .settings import SandboxSettings
from .sizing import profile

DATA_PVC = "postgres-data"
INITDB_CONFIGMAP = "postgres-initdb"
AIRFLOW_DATABASE = "airflow"
#: Host port of the kind node (sandbox/kind-config.yaml maps it to localhost).
NODE_PORT = 30432
PORT = 5432


def initdb_script(s: SandboxSettings) -> str:
    """Run once by the postgres image on an empty data directory."""
    lines = [
        "#!/bin/bash",
        "# Databases the sandbox needs before ring 1: Airflow's metadata and the model's sources.",
        "# The merge databases are created by ring 1 (`datasurface bootstrap --ring 1`).",
        "set -euo pipefail",
    ]
    for db in (AIRFLOW_DATABASE, *s.source_databases):
        lines.append(
            f'psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -c \'CREATE DATABASE "{db}"\''
        )
    return "\n".join(lines) + "\n"


def _pg_isready() -> dict[str, object]:
    return {
        "exec": {"command": ["sh", "-c", 'pg_isready -U "$POSTGRES_USER" -h 127.0.0.1 -p 5432']},
        "timeoutSeconds": 5,
    }


def postgres(s: SandboxSettings) -> list[Manifest]:
    ns = s.namespace
    secret = credential_secret_name(s.merge_credential.name)
    pod_labels = {"app.kubernetes.io/name": POSTGRES_SERVICE}
    container = {
        "name": "postgres",
        "image": s.postgres_image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "postgres", "containerPort": PORT}],
        "env": [
            secret_env("POSTGRES_USER", secret, "USER"),
            secret_env("POSTGRES_PASSWORD", secret, "PASSWORD"),
            # A sub-directory: the volume's root may hold lost+found, which initdb refuses.
            {"name": "PGDATA", "value": "/var/lib/postgresql/data/pgdata"},
        ],
        "volumeMounts": [
            {"name": "data", "mountPath": "/var/lib/postgresql/data"},
            {"name": "initdb", "mountPath": "/docker-entrypoint-initdb.d", "readOnly": True},
        ],
        # pg_isready over TCP: during first start-up the image runs initdb and the init
        # scripts on a server listening on the socket only, so TCP answers only once the
        # real server is up. The startup probe gives that first start 5 minutes; liveness
        # takes over after it.
        "startupProbe": {**_pg_isready(), "periodSeconds": 5, "failureThreshold": 60},
        "readinessProbe": {**_pg_isready(), "periodSeconds": 5, "failureThreshold": 3},
        "livenessProbe": {**_pg_isready(), "periodSeconds": 20, "failureThreshold": 6},
        "resources": profile(s.resource_profile).size("postgres").resources(),
    }
    return [
        pvc(DATA_PVC, ns, "5Gi", "ReadWriteOnce"),
        configmap(INITDB_CONFIGMAP, ns, {"10-databases.sh": initdb_script(s)}),
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": metadata(POSTGRES_SERVICE, ns),
            "spec": {
                "serviceName": POSTGRES_SERVICE,
                "replicas": 1,
                "selector": {"matchLabels": selector(POSTGRES_SERVICE)},
                "template": {
                    "metadata": {"labels": {**pod_labels, "app.kubernetes.io/part-of": "datasurface"}},
                    "spec": {
                        "containers": [container],
                        "volumes": [
                            {"name": "data", "persistentVolumeClaim": {"claimName": DATA_PVC}},
                            {"name": "initdb", "configMap": {"name": INITDB_CONFIGMAP, "defaultMode": 0o555}},
                        ],
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": metadata(POSTGRES_SERVICE, ns),
            "spec": {
                "selector": selector(POSTGRES_SERVICE),
                "ports": [{"name": "postgres", "port": PORT, "targetPort": "postgres"}],
            },
        },
        {
            # For notebooks and psql on the developer's machine (kind maps the node port).
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": metadata(f"{POSTGRES_SERVICE}-external", ns, POSTGRES_SERVICE),
            "spec": {
                "type": "NodePort",
                "selector": selector(POSTGRES_SERVICE),
                "ports": [{"name": "postgres", "port": PORT, "targetPort": "postgres", "nodePort": NODE_PORT}],
            },
        },
    ]
