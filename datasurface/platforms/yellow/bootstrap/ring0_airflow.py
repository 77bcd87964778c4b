"""Ring 0: Airflow 3 as four Deployments (api-server, scheduler, dag-processor, triggerer)
with the LocalExecutor and its metadata database on the sandbox Postgres.

Image: `sandbox/Dockerfile.airflow` builds FROM apache/airflow and adds the datasurface wheel,
so the DAG factory and the `local` launcher's `datasurface job run` are importable/runnable
in every Airflow pod, with Airflow's own tested dependency set untouched. (FROM the datasurface
image instead would mean resolving Airflow's ~200 dependencies ourselves.)

DAG delivery: the factory's dags-folder shim, read from the installed package at render time,
in a ConfigMap mounted with subPath as one file in the dags folder. A subPath file is plain
(no `..data` symlink folders for Airflow to scan twice); the shim only imports the factory,
so a new factory version arrives with a new image, not a new manifest.
"""

from __future__ import annotations

from typing import Any

from datasurface.platforms.yellow.kube_names import (
    JOB_LAUNCHER_SERVICE_ACCOUNT,
    POSTGRES_SERVICE,
    credential_secret_name,
    service_dns_name,
)

from .k8s import (
    Manifest,
    configmap,
    credential_env,
    env_from_configmap,
    job,
    labels,
    metadata,
    models_mount,
    models_volume,
    plain_env,
    secret_env,
    selector,
)
from .ring0_postgres import AIRFLOW_DATABASE, PORT
from .settings import BootstrapError, SandboxSettings
from .sizing import SCHEDULER_HEALTH_PORT, Size, http_probe, jobs_check_probe, profile

DAGS_CONFIGMAP = "datasurface-dags"
DAGS_FOLDER = "/opt/airflow/dags"
#: Secret with AIRFLOW_JWT_SECRET, AIRFLOW_API_SECRET_KEY, AIRFLOW_ADMIN_PASSWORD (create-secrets.sh).
AIRFLOW_SECRET = "airflow-secrets"
ADMIN_USER = "admin"
API_SERVICE = "airflow-api-server"
SCHEDULER_SERVICE = "airflow-scheduler"
API_PORT = 8080
API_NODE_PORT = 30080
LOG_SERVER_PORT = 8793
MIGRATE_JOB = "airflow-db-migrate"
_AUTH_DIR = "/opt/airflow/auth"


def dag_shim() -> tuple[str, str]:
    """(file name, text) of the DAG factory's dags-folder shim shipped in the package."""
    # The factory's own installer knows where its shim lives; it imports no Airflow.
    from datasurface.platforms.yellow.airflow.install import SHIM

    try:
        return SHIM.name, SHIM.read_text(encoding="utf-8")
    except OSError:
        raise BootstrapError(
            f"the DAG factory's dags-folder shim {SHIM} is missing from the installed package; reinstall datasurface"
        ) from None


def _airflow_env(s: SandboxSettings) -> list[dict[str, Any]]:
    merge_secret = credential_secret_name(s.merge_credential.name)
    db_host = service_dns_name(POSTGRES_SERVICE, s.namespace)
    api = f"http://{service_dns_name(API_SERVICE, s.namespace)}:{API_PORT}"
    return [
        # Kubernetes expands $(VAR) from variables defined earlier in the list: the
        # connection URL is built in the pod, the manifest names only the Secret.
        secret_env("DS_AIRFLOW_DB_USER", merge_secret, "USER"),
        secret_env("DS_AIRFLOW_DB_PASSWORD", merge_secret, "PASSWORD"),
        *plain_env(
            {
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": (
                    f"postgresql+psycopg2://$(DS_AIRFLOW_DB_USER):$(DS_AIRFLOW_DB_PASSWORD)"
                    f"@{db_host}:{PORT}/{AIRFLOW_DATABASE}"
                ),
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                # Sized with the scheduler's memory limit (sizing.py): each running task is a
                # process in the scheduler pod.
                "AIRFLOW__CORE__PARALLELISM": str(profile(s.resource_profile).parallelism),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                "AIRFLOW__CORE__DAGS_FOLDER": DAGS_FOLDER,
                # Tasks (LocalExecutor, in the scheduler pod) report to the api-server's
                # execution API by its Service name, not localhost.
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api}/execution/",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": f"{_AUTH_DIR}/passwords.json",
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(LOG_SERVER_PORT),
                "AIRFLOW__KUBERNETES__IN_CLUSTER": "True",
                # The scheduler's tiny /health server: its probes are HTTP, not a CLI start-up.
                "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
                "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(SCHEDULER_HEALTH_PORT),
            }
        ),
        # JWTs are signed by one component and checked by another: every pod needs the same key.
        secret_env("AIRFLOW__API_AUTH__JWT_SECRET", AIRFLOW_SECRET, "AIRFLOW_JWT_SECRET"),
        secret_env("AIRFLOW__API__SECRET_KEY", AIRFLOW_SECRET, "AIRFLOW_API_SECRET_KEY"),
        # The model's credentials: the `local` launcher and the factory's merge-DB read.
        *credential_env(s.credentials),
    ]


def _size(s: SandboxSettings, component: str) -> Size:
    return profile(s.resource_profile).size(component)


def _pod_spec(s: SandboxSettings, component: str, args: list[str], **extra: Any) -> dict[str, Any]:
    shim_name, _ = dag_shim()
    container: dict[str, Any] = {
        "name": component,
        "image": s.airflow_image,
        "imagePullPolicy": "IfNotPresent",
        "args": args,
        "envFrom": env_from_configmap(),
        "env": _airflow_env(s),
        "volumeMounts": [
            models_mount(),
            {"name": "dags", "mountPath": f"{DAGS_FOLDER}/{shim_name}", "subPath": shim_name, "readOnly": True},
            {"name": "auth", "mountPath": _AUTH_DIR},
        ],
        "resources": _size(s, component).resources(),
    }
    container.update(extra.pop("container", {}))
    wait_for_migrations = {
        "name": "wait-for-migrations",
        "image": s.airflow_image,
        "imagePullPolicy": "IfNotPresent",
        "args": ["db", "check-migrations", "--migration-wait-timeout", "600"],
        "env": _airflow_env(s),
        "resources": _size(s, "airflow-migrate").resources(),
    }
    spec: dict[str, Any] = {
        "serviceAccountName": JOB_LAUNCHER_SERVICE_ACCOUNT,
        "initContainers": [wait_for_migrations, *extra.pop("init", [])],
        "containers": [container],
        "volumes": [
            models_volume(),
            {"name": "dags", "configMap": {"name": DAGS_CONFIGMAP}},
            {"name": "auth", "emptyDir": {}},
        ],
        **extra,
    }
    return spec


def _deployment(s: SandboxSettings, component: str, spec: dict[str, Any]) -> Manifest:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(component, s.namespace, component),
        "spec": {
            "replicas": 1,
            # Recreate: two schedulers sharing one LocalExecutor config is never wanted here.
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": selector(component)},
            "template": {"metadata": {"labels": labels(component)}, "spec": spec},
        },
    }


def _api_server(s: SandboxSettings) -> Manifest:
    # SimpleAuthManager opens its passwords file for append: it must be writable, so an init
    # container writes it into an emptyDir from the Secret instead of mounting the Secret.
    write_passwords = {
        "name": "write-passwords",
        "image": s.airflow_image,
        "imagePullPolicy": "IfNotPresent",
        "command": [
            "bash",
            "-c",
            f'printf \'{{"{ADMIN_USER}": "%s"}}\\n\' "$AIRFLOW_ADMIN_PASSWORD" > {_AUTH_DIR}/passwords.json',
        ],
        "env": [secret_env("AIRFLOW_ADMIN_PASSWORD", AIRFLOW_SECRET, "AIRFLOW_ADMIN_PASSWORD")],
        "volumeMounts": [{"name": "auth", "mountPath": _AUTH_DIR}],
        "resources": Size("10m", "16Mi", "64Mi").resources(),
    }
    health = "/api/v2/monitor/health"
    spec = _pod_spec(
        s,
        API_SERVICE,
        ["api-server"],
        init=[write_passwords],
        container={
            "ports": [{"name": "http", "containerPort": API_PORT}],
            # Start-up (migrations checked, app imported) may take minutes on a busy laptop:
            # the startup probe allows 5 minutes before liveness takes over.
            "startupProbe": http_probe(health, "http", period=10, timeout=5, failures=30),
            "readinessProbe": http_probe(health, "http", period=10, timeout=5, failures=3),
            "livenessProbe": http_probe(health, "http", period=30, timeout=10, failures=5),
        },
    )
    return _deployment(s, API_SERVICE, spec)


def _scheduler(s: SandboxSettings) -> Manifest:
    # Task logs are served by the scheduler pod (LocalExecutor) on LOG_SERVER_PORT; the
    # api-server finds it by the pod's FQDN, which hostname + subdomain + the headless
    # Service below make resolvable.
    spec = _pod_spec(
        s,
        SCHEDULER_SERVICE,
        ["scheduler"],
        hostname=SCHEDULER_SERVICE,
        subdomain=SCHEDULER_SERVICE,
        container={
            "ports": [
                {"name": "task-logs", "containerPort": LOG_SERVER_PORT},
                {"name": "health", "containerPort": SCHEDULER_HEALTH_PORT},
            ],
            # /health answers 200 while the scheduler's heartbeat is recent, 503 otherwise.
            "startupProbe": http_probe("/health", "health", period=10, timeout=5, failures=30),
            "readinessProbe": http_probe("/health", "health", period=15, timeout=5, failures=3),
            "livenessProbe": http_probe("/health", "health", period=30, timeout=10, failures=5),
        },
    )
    return _deployment(s, SCHEDULER_SERVICE, spec)


def _job_checked(s: SandboxSettings, component: str, command: str, job_type: str) -> Manifest:
    """A component without an HTTP endpoint (dag-processor, triggerer): both probes run
    `airflow jobs check` (this host's job heartbeats), as the official chart's liveness
    probes do. Each run is an Airflow CLI start-up (sizing.py: seconds of CPU), so they run
    rarely: readiness every minute, liveness every two minutes, restarting after three
    misses in a row (6 minutes without a heartbeat)."""
    container = {
        "readinessProbe": {**jobs_check_probe(job_type, period=60, failures=2), "initialDelaySeconds": 20},
        "livenessProbe": {**jobs_check_probe(job_type, period=120, failures=3), "initialDelaySeconds": 120},
    }
    return _deployment(s, component, _pod_spec(s, component, [command], container=container))


def airflow(s: SandboxSettings) -> list[Manifest]:
    ns = s.namespace
    shim_name, shim_text = dag_shim()
    return [
        configmap(DAGS_CONFIGMAP, ns, {shim_name: shim_text}),
        _api_server(s),
        _scheduler(s),
        _job_checked(s, "airflow-dag-processor", "dag-processor", "DagProcessorJob"),
        _job_checked(s, "airflow-triggerer", "triggerer", "TriggererJob"),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": metadata(API_SERVICE, ns),
            "spec": {
                "type": "NodePort",
                "selector": selector(API_SERVICE),
                "ports": [{"name": "http", "port": API_PORT, "targetPort": "http", "nodePort": API_NODE_PORT}],
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": metadata(SCHEDULER_SERVICE, ns),
            "spec": {
                "clusterIP": "None",
                "selector": selector(SCHEDULER_SERVICE),
                "ports": [{"name": "task-logs", "port": LOG_SERVER_PORT, "targetPort": "task-logs"}],
            },
        },
    ]


def migrate_job(s: SandboxSettings) -> Manifest:
    """`airflow db migrate`, once, before the Deployments' init containers stop waiting."""
    pod = {
        "containers": [
            {
                "name": "migrate",
                "image": s.airflow_image,
                "imagePullPolicy": "IfNotPresent",
                "args": ["db", "migrate"],
                "env": _airflow_env(s),
                "resources": _size(s, "airflow-migrate").resources(),
            }
        ]
    }
    # backoff 0: `make up` waits for Postgres first, so a failure is real and is shown at
    # once; kept after it finishes (no TTL) so a re-run can tell it already ran this spec.
    return job(MIGRATE_JOB, s.namespace, pod, backoff_limit=0, ttl_seconds=None, deadline_seconds=1800)
