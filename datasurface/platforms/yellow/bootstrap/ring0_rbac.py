"""Ring 0: who may launch job pods. The Airflow pods run as JOB_LAUNCHER_SERVICE_ACCOUNT;
the KubernetesPodOperator creates, watches, reads logs of and deletes pods in the namespace.
"""

from __future__ import annotations

from datasurface.platforms.yellow.kube_names import JOB_LAUNCHER_SERVICE_ACCOUNT

from .k8s import Manifest, metadata
from .settings import SandboxSettings

ROLE = "datasurface-pod-launcher"

# What KubernetesPodOperator does: create/delete/patch the pod, watch its status, stream
# `pods/log`, `pods/exec` for the xcom sidecar, read events on failure. Nothing cluster-wide.
_RULES = [
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["create", "delete", "get", "list", "patch", "watch"]},
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create", "get"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ["get", "list", "watch"]},
]


def rbac(s: SandboxSettings) -> list[Manifest]:
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": metadata(JOB_LAUNCHER_SERVICE_ACCOUNT, s.namespace, "airflow"),
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": metadata(ROLE, s.namespace, "airflow"),
            "rules": _RULES,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": metadata(ROLE, s.namespace, "airflow"),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": ROLE},
            "subjects": [{"kind": "ServiceAccount", "name": JOB_LAUNCHER_SERVICE_ACCOUNT, "namespace": s.namespace}],
        },
    ]
