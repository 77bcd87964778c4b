"""Names shared by the Kubernetes manifests (ring 0) and the job pods the DAG factory starts.

Plain strings only, no Kubernetes imports: both sides import these so that a pod never
refers to a Secret, volume or ConfigMap the manifests don't create.
"""

from __future__ import annotations

import hashlib
import re

#: PVC holding the models folder (model-<seconds> folders written by the merge handler).
MODELS_PVC = "datasurface-models"
#: Where the models folder is mounted in the Airflow and job pods.
MODELS_MOUNT = "/models"
#: ConfigMap with the non-secret settings the model reads (DATASURFACE_* variables).
ENV_CONFIGMAP = "datasurface-env"
#: Service account the Airflow scheduler/workers use to launch job pods.
JOB_LAUNCHER_SERVICE_ACCOUNT = "datasurface-airflow"
#: Keys inside a credential's Secret.
SECRET_KEYS = {"USER": "USER", "PASSWORD": "PASSWORD", "TOKEN": "TOKEN"}

_DNS_ILLEGAL = re.compile(r"[^a-z0-9-]+")


def credential_secret_name(credential_name: str) -> str:
    """A DNS-1123 Secret name for a model credential: `crm_db` -> `crm-db-credential`.

    Lint keeps credential names to `[A-Za-z0-9_]`, and names differing only in case fill the
    same upper-cased env vars, so lower-casing and `_` -> `-` never merges two credentials.
    Over-long names are shortened with a hash suffix.
    """
    base = _DNS_ILLEGAL.sub("-", credential_name.lower().replace("_", "-")).strip("-") or "c"
    name = f"{base}-credential"
    if len(name) <= 63:
        return name
    digest = hashlib.sha256(credential_name.lower().encode()).hexdigest()[:8]
    return f"{base[:40].strip('-')}-{digest}-credential"


#: The sandbox Postgres Service (ring 0). Model hosts for the sandbox point at its DNS name.
POSTGRES_SERVICE = "postgres"


def service_dns_name(service: str, namespace: str) -> str:
    """The in-cluster DNS name of a Service: reachable from pods in any namespace."""
    return f"{service}.{namespace}.svc.cluster.local"
