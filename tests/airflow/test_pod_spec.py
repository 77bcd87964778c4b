"""The KubernetesPodOperator's pod, built without a cluster and validated against the
Kubernetes schema: image, command, env from Secrets, ConfigMap, models volume, account."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest

from datasurface.platforms.yellow.airflow.dag_factory import build_stream_dag
from datasurface.platforms.yellow.airflow.infra_dag import build_infrastructure_dag
from datasurface.platforms.yellow.airflow.settings import FactorySettings
from datasurface.platforms.yellow.kube_names import (
    ENV_CONFIGMAP,
    JOB_LAUNCHER_SERVICE_ACCOUNT,
    MODELS_MOUNT,
    MODELS_PVC,
)
from tests.airflow.helpers import synthetic_config

K8S_VERSION = "1.33.0"


def _pod(operator: Any) -> dict[str, Any]:
    from kubernetes.client import ApiClient

    operator.render_template_fields({})
    pod = operator.build_pod_request_obj(dry_run=True)
    doc: dict[str, Any] = ApiClient().sanitize_for_serialization(pod)
    # Strict: unknown fields are errors too (a typo'd field would be silently dropped).
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    return doc


def test_stream_job_pod() -> None:
    config = synthetic_config(1, launcher="kubernetes")
    doc = _pod(build_stream_dag(config).get_task("job"))

    assert doc["metadata"]["namespace"] == "datasurface"
    assert doc["metadata"]["name"].startswith("datasurface-yellowbench-store-00001-")
    assert doc["metadata"]["labels"]["datasurface/stream"] == "store_00001"
    spec = doc["spec"]
    assert spec["serviceAccountName"] == JOB_LAUNCHER_SERVICE_ACCOUNT
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"] == {"fsGroup": 10001, "runAsNonRoot": True, "runAsUser": 10001}
    assert spec["volumes"] == [{"name": "models", "persistentVolumeClaim": {"claimName": MODELS_PVC, "readOnly": True}}]
    (container,) = spec["containers"]
    assert container["image"] == "datasurface/datasurface:test"
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert container["command"] == ["datasurface"]
    assert container["args"] == config.job_args()
    assert container["args"] == [
        "job", "run", "--model", "/models", "--platform", "YellowBench", "--stream", "store_00001",
    ]  # fmt: skip
    assert container["volumeMounts"] == [{"mountPath": MODELS_MOUNT, "name": "models", "readOnly": True}]
    assert container["envFrom"] == [{"configMapRef": {"name": ENV_CONFIGMAP}}]
    env = {e["name"]: e for e in container["env"]}
    for var, secret, key in (
        ("POSTGRES_USER", "postgres-credential", "USER"),
        ("POSTGRES_PASSWORD", "postgres-credential", "PASSWORD"),
        ("CUSTOMER_DB_USER", "customer-db-credential", "USER"),
        ("CUSTOMER_DB_PASSWORD", "customer-db-credential", "PASSWORD"),
    ):
        assert env[var] == {"name": var, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}
    # Credentials only ever by reference: no literal values anywhere in the container.
    assert all("value" not in e for e in container["env"])


@pytest.mark.parametrize("long_name", [False, True])
def test_pod_names_are_dns_labels(long_name: bool) -> None:
    config = synthetic_config(2, launcher="kubernetes")
    if long_name:
        config = config.model_copy(update={"stream": "S" * 80 + ".Dataset_With_Caps"})
    doc = _pod(build_stream_dag(config).get_task("job"))
    name = doc["metadata"]["name"]
    assert len(name) <= 63
    assert name == name.lower()


def test_infrastructure_pods() -> None:
    settings = FactorySettings.from_env(
        {
            "DATASURFACE_MODEL_REPO": "https://github.com/acme/eco.git",
            "DATASURFACE_MODEL_BRANCH": "release",
            "DATASURFACE_INFRA_CREDENTIALS": "postgres,git",
            "DATASURFACE_JOB_IMAGE": "datasurface/datasurface:1.2",
        }
    )
    assert settings.infra is not None
    dag = build_infrastructure_dag(settings.infra, ["YellowLive"])

    merge = _pod(dag.get_task("merge_handler"))
    (container,) = merge["spec"]["containers"]
    assert container["image"] == "datasurface/datasurface:1.2"
    assert container["command"] == ["datasurface"]
    assert container["args"] == [
        "merge-handler", "--repo", "https://github.com/acme/eco.git", "--branch", "release", "--models-dir", MODELS_MOUNT,
    ]  # fmt: skip
    assert container["envFrom"] == [
        {"configMapRef": {"name": ENV_CONFIGMAP}},
        {"prefix": "POSTGRES_", "secretRef": {"name": "postgres-credential"}},
        {"prefix": "GIT_", "secretRef": {"name": "git-credential"}},
    ]
    # The merge handler writes model folders; every other pod reads them.
    assert container["volumeMounts"][0]["readOnly"] is False
    assert merge["spec"]["volumes"][0]["persistentVolumeClaim"]["readOnly"] is False

    views = _pod(dag.get_task("views__YellowLive"))
    (container,) = views["spec"]["containers"]
    assert container["args"] == [
        "views",
        "reconcile",
        "--model",
        MODELS_MOUNT,
        "--platform",
        "YellowLive",
        "--pending-ok",
    ]
    assert container["volumeMounts"][0]["readOnly"] is True


def test_pack_job_pod() -> None:
    """A pack's pod: `run-pack` with its JSON result in the xcom sidecar's file, the run's
    `members` conf as an environment variable, every member's credentials by reference."""
    from types import SimpleNamespace

    from datasurface.platforms.yellow.airflow.pack_dag import build_pack_dag
    from datasurface.platforms.yellow.stream_config import PackConfig, PackRef, dag_rows

    ref = PackRef(key="pack0007", pool="datasurface_merge__m", pool_slots=3)
    members = [synthetic_config(i, launcher="kubernetes").model_copy(update={"pack": ref}) for i in range(3)]
    (config,) = dag_rows(members)
    assert isinstance(config, PackConfig)
    job: Any = build_pack_dag(config).get_task("job")
    assert job.pool == "datasurface_merge__m"
    job.render_template_fields({"dag_run": SimpleNamespace(conf={"members": ["store_00001", "store_00002"]})})
    pod = job.build_pod_request_obj(dry_run=True)
    from kubernetes.client import ApiClient

    doc: dict[str, Any] = ApiClient().sanitize_for_serialization(pod)
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    assert doc["metadata"]["labels"]["datasurface/pack"] == "pack0007"
    container = next(c for c in doc["spec"]["containers"] if c["name"] == "base")
    assert container["args"] == [
        "job", "run-pack", "--model", "/models", "--platform", "YellowBench", "--pack", "pack0007",
        "--json", "--exit-zero", "--result-file", "/airflow/xcom/return.json",
    ]  # fmt: skip
    env = {e["name"]: e for e in container["env"]}
    assert env["DATASURFACE_PACK_MEMBERS"] == {"name": "DATASURFACE_PACK_MEMBERS", "value": "store_00001,store_00002"}
    assert env["CUSTOMER_DB_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "customer-db-credential",
        "key": "PASSWORD",
    }
    assert all("value" not in e for name, e in env.items() if name != "DATASURFACE_PACK_MEMBERS")
    # The xcom sidecar reads the result file from the shared volume.
    assert any(c["name"] == "airflow-xcom-sidecar" for c in doc["spec"]["containers"])
    assert any(m["mountPath"] == "/airflow/xcom" for m in container["volumeMounts"])
