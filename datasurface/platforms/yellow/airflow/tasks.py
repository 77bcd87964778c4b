"""One operator factory for every DataSurface command an Airflow DAG runs.

Both launchers run the same `datasurface ...` command line, so a DAG has the same shape and
the same exit-code handling whichever is used:

- `kubernetes`: a KubernetesPodOperator on the job image, credentials as env vars from
  Kubernetes Secrets, non-secret settings from the `datasurface-env` ConfigMap, the models
  PVC mounted at MODELS_MOUNT.
- `local`: a BashOperator running the command as a subprocess of the worker, with the
  worker's environment (the local stack exports the settings and credentials there).

Exit codes listed in `skip_on_exit_code` leave the task SKIPPED instead of FAILED; any other
non-zero exit fails the task.

Each launcher's provider is imported only when a task of that launcher is built: importing
the cncf-kubernetes provider (and the `kubernetes` client) costs about 2 s of CPU, which a
dags folder whose DAGs all use the local launcher must never pay on every parse.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datasurface.platforms.yellow.kube_names import (
    ENV_CONFIGMAP,
    JOB_LAUNCHER_SERVICE_ACCOUNT,
    MODELS_MOUNT,
    MODELS_PVC,
)
from datasurface.platforms.yellow.stream_config import JobLaunchConfig

if TYPE_CHECKING:
    from airflow.providers.cncf.kubernetes.secret import Secret
    from airflow.sdk import BaseOperator
    from kubernetes.client import models as k8s

#: Any fixed past date for every DataSurface DAG: with catchup off, only ticks after creation run.
START_DATE = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
#: The image's user (Dockerfile.datasurface); fsGroup makes the models volume usable by it.
JOB_UID = 10001
MODELS_VOLUME = "models"
# KubernetesPodOperator appends "-" and 8 random characters to the pod name.
_POD_NAME_MAX = 63 - 9
_DNS_ILLEGAL = re.compile(r"[^a-z0-9-]+")
_LABEL_ILLEGAL = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True, slots=True)
class PodSettings:
    """Where and how a command runs as a pod (ignored by the local launcher)."""

    image: str
    namespace: str
    name: str  # pod name base: made DNS-safe by `pod_name`
    labels: dict[str, str] = field(default_factory=dict)
    #: (env var, Secret name, key in the Secret): one env var each.
    secret_env: Sequence[tuple[str, str, str]] = ()
    #: (env var prefix, Secret name): every key of the Secret, prefixed (USER -> PG_USER).
    secret_env_prefixed: Sequence[tuple[str, str]] = ()
    models_writable: bool = False

    @staticmethod
    def for_row(config: JobLaunchConfig, name: str, labels: dict[str, str]) -> PodSettings:
        """The pod of a config row's job: its image, namespace and credentials' Secrets."""
        return PodSettings(
            image=config.job_image,
            namespace=config.namespace,
            name=name,
            labels=labels,
            secret_env=[(var, ref.secret, key) for ref in config.credentials for var, key in ref.env.items()],
        )


def command_task(
    task_id: str,
    args: Sequence[str],
    launcher: str,
    pod: PodSettings,
    *,
    skip_on_exit_code: int | None = None,
    xcom_result: bool = False,
    env: dict[str, str] | None = None,
    **extra: Any,
) -> BaseOperator:
    """The operator running `datasurface <args>` with `launcher` ("kubernetes" or "local").

    `xcom_result`: the command's JSON result becomes the task's XCom: the last stdout line
    (local), or the file the command writes at KPO's XCom path (kubernetes: `args` must end
    with `--result-file` and `XCOM_RESULT_FILE`, see `result_args`). `env` adds variables
    (templated: values may use the run's conf); `extra` goes to the operator (e.g. `pool`)."""
    if launcher == "local":
        from airflow.providers.standard.operators.bash import BashOperator

        return BashOperator(
            task_id=task_id,
            bash_command=local_command(args),
            # BashOperator skips on 99 by default: say exactly which code skips, or none.
            skip_on_exit_code=skip_on_exit_code,
            do_xcom_push=xcom_result,
            env=env,
            append_env=True,
            **extra,
        )
    if launcher == "kubernetes":
        from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

        return KubernetesPodOperator(
            task_id=task_id,
            name=pod_name(pod.name),
            namespace=pod.namespace,
            image=pod.image,
            # kind loads images into the nodes; ":latest" would default to Always and fail.
            image_pull_policy="IfNotPresent",
            cmds=["datasurface"],
            arguments=list(args),
            labels={k: label_value(v) for k, v in pod.labels.items()},
            secrets=[_secret(var, secret, key) for var, secret, key in pod.secret_env],
            env_from=[*_config_env_from(), *(_secret_env_from(p, s) for p, s in pod.secret_env_prefixed)],
            volumes=[_models_volume(pod.models_writable)],
            volume_mounts=[_models_mount(pod.models_writable)],
            # The pods never call the Kubernetes API: the launcher's account, no token mounted.
            service_account_name=JOB_LAUNCHER_SERVICE_ACCOUNT,
            automount_service_account_token=False,
            security_context=_pod_security_context(),
            env_vars=_env_vars(tuple(sorted((env or {}).items()))) or None,
            skip_on_exit_code=skip_on_exit_code,
            get_logs=True,
            log_events_on_failure=True,
            on_finish_action="delete_pod",
            do_xcom_push=xcom_result,
            **extra,
        )
    raise ValueError(f"unknown launcher '{launcher}': use 'kubernetes' or 'local'")


# -- local ------------------------------------------------------------------------------------


@functools.cache
def datasurface_executable() -> list[str]:
    """The worker's own `datasurface`: the console script beside this interpreter, else
    `python -m datasurface.cli` (same code, e.g. when scripts were not installed)."""
    script = Path(sys.executable).parent / "datasurface"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "datasurface.cli"]


def local_command(args: Sequence[str]) -> str:
    # {% raw %}: bash_command is a Jinja template; model names must never be rendered, and a
    # command ending in ".sh" would otherwise be loaded as a template *file*.
    return "{% raw %}" + shlex.join([*datasurface_executable(), *args]) + "{% endraw %}"


# -- kubernetes -------------------------------------------------------------------------------


def pod_name(base: str) -> str:
    """A DNS-1123 label (before the operator's random suffix): `datasurface__P__S` ->
    `datasurface-p-s`; shortened with a hash of the original when too long."""
    name = re.sub(r"-{2,}", "-", _DNS_ILLEGAL.sub("-", base.lower())).strip("-") or "datasurface"
    if len(name) <= _POD_NAME_MAX:
        return name
    digest = hashlib.sha256(base.encode()).hexdigest()[:8]
    return f"{name[: _POD_NAME_MAX - 9].rstrip('-')}-{digest}"


def label_value(value: str) -> str:
    """A legal label value: at most 63 of [A-Za-z0-9_.-], alphanumeric at both ends."""
    clean = _LABEL_ILLEGAL.sub("_", value)
    if len(clean) > 63:
        clean = f"{clean[:54]}-{hashlib.sha256(value.encode()).hexdigest()[:8]}"
    return clean.strip("_.-")


# The same objects serve every pod of a parse: thousands of DAGs, no need for thousands of
# copies. The operator never mutates them (they are not template fields).
#: Where KubernetesPodOperator's xcom sidecar reads a pod's result.
XCOM_RESULT_FILE = "/airflow/xcom/return.json"


def result_args(launcher: str) -> list[str]:
    """Arguments that make a `--json` command's result the task's XCom under `launcher`."""
    return ["--result-file", XCOM_RESULT_FILE] if launcher == "kubernetes" else []


@functools.cache
def _config_env_from() -> tuple[k8s.V1EnvFromSource, ...]:
    from kubernetes.client import models as k8s

    return (k8s.V1EnvFromSource(config_map_ref=k8s.V1ConfigMapEnvSource(name=ENV_CONFIGMAP)),)


def _env_vars(items: tuple[tuple[str, str], ...]) -> list[k8s.V1EnvVar]:
    # New objects each time: KubernetesPodOperator renders templates into them in place.
    # One shared client Configuration: by default each model deep-copies one (~2 ms), which
    # a thousand pack DAGs would pay on every parse.
    from kubernetes.client import models as k8s

    return [k8s.V1EnvVar(name=k, value=v, local_vars_configuration=_k8s_configuration()) for k, v in items]


@functools.cache
def _k8s_configuration() -> object:
    from kubernetes.client import Configuration

    return Configuration.get_default_copy()


def _secret_env_from(prefix: str, secret: str) -> k8s.V1EnvFromSource:
    from kubernetes.client import models as k8s

    return k8s.V1EnvFromSource(prefix=prefix, secret_ref=k8s.V1SecretEnvSource(name=secret))


@functools.cache
def _models_volume(writable: bool) -> k8s.V1Volume:
    from kubernetes.client import models as k8s

    return k8s.V1Volume(
        name=MODELS_VOLUME,
        persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(claim_name=MODELS_PVC, read_only=not writable),
    )


@functools.cache
def _models_mount(writable: bool) -> k8s.V1VolumeMount:
    from kubernetes.client import models as k8s

    return k8s.V1VolumeMount(name=MODELS_VOLUME, mount_path=MODELS_MOUNT, read_only=not writable)


@functools.cache
def _pod_security_context() -> k8s.V1PodSecurityContext:
    from kubernetes.client import models as k8s

    return k8s.V1PodSecurityContext(run_as_non_root=True, run_as_user=JOB_UID, fs_group=JOB_UID)


def _secret(env_var: str, secret: str, key: str) -> Secret:
    from airflow.providers.cncf.kubernetes.secret import Secret

    return Secret("env", env_var, secret, key)  # type: ignore[no-untyped-call]  # provider's __init__ is unannotated
