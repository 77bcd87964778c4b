"""Resource requests and limits of the sandbox's long-running pods, by profile, and the probes
of the Airflow components. Sized from measurements, not guesses.

Measurements (Airflow 3.3.2, LocalExecutor, PostgreSQL metadata database; PSS of each
component's whole process tree, `sandbox/scripts/measure_airflow_memory.py`, which runs the
four components as the pods do and a DAG of parallel tasks that hold the pod operator and
the Kubernetes client, as a stream task does while it watches its job pod):

- scheduler (it runs the LocalExecutor's workers and every task process): measured on the
  kind sandbox at 1.44-1.57 GiB with six concurrent tasks and parallelism 8, which broke the
  old 1536Mi limit (an OOM kill takes every running task with it). The scheduler's memory is a
  base plus a share per running task, so the limit follows the profile's parallelism:
  `SCHEDULER_BASE_MIB + parallelism * SCHEDULER_PER_TASK_MIB`, with the per-task share and
  base from the measurement (see MEASURED below) and 25 % headroom.
- api-server, dag-processor, triggerer: flat, independent of the number of tasks.
- One `airflow jobs check` (the dag-processor and triggerer probes) is a fresh Python
  process that imports Airflow: its peak memory is counted inside the container's limit.

Profiles: `standard` for a machine giving Docker 8 GB or more; `low` for an 8 GB laptop
(Docker Desktop's VM gets about half of it): parallelism 3 and lower limits (`make up LOW_RESOURCES=1`
renders it, and runs the simulator at a lower rate).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .settings import BootstrapError

#: Peaks measured by sandbox/scripts/measure_airflow_memory.py (MiB of PSS, whole process
#: tree): idle and with tasks running. Documented in howto/HOWTO_Setup_Kind.md.
MEASURED = {
    "scheduler_base_mib": 560,
    "scheduler_per_task_mib": 155,
    "api_server_mib": 420,
    "dag_processor_mib": 330,
    "triggerer_mib": 260,
    "jobs_check_mib": 150,
}

HEADROOM = 1.25


def _mi(value: float) -> str:
    # Rounded up to 64 MiB steps: stable numbers in the manifests.
    steps = -(-int(value) // 64)
    return f"{steps * 64}Mi"


@dataclass(frozen=True, slots=True)
class Size:
    cpu_request: str
    memory_request: str
    memory_limit: str

    def resources(self) -> dict[str, Any]:
        # No CPU limit on purpose: CPU throttling of the scheduler makes heartbeats late and
        # probes fail; the request alone shares the node fairly.
        return {
            "requests": {"cpu": self.cpu_request, "memory": self.memory_request},
            "limits": {"memory": self.memory_limit},
        }


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    parallelism: int
    sizes: dict[str, Size]

    def size(self, component: str) -> Size:
        return self.sizes[component]


def scheduler_limit_mib(parallelism: int) -> float:
    return (MEASURED["scheduler_base_mib"] + parallelism * MEASURED["scheduler_per_task_mib"]) * HEADROOM


def _profile(name: str, parallelism: int, *, low: bool) -> Profile:
    m = MEASURED
    probe = m["jobs_check_mib"]
    scheduler = scheduler_limit_mib(parallelism)
    sizes = {
        "airflow-scheduler": Size("200m" if not low else "100m", _mi(scheduler * 0.6), _mi(scheduler)),
        "airflow-api-server": Size("100m", _mi(m["api_server_mib"]), _mi(m["api_server_mib"] * HEADROOM * 1.5)),
        # The exec probes' `airflow jobs check` runs inside these containers: counted in.
        "airflow-dag-processor": Size(
            "100m", _mi(m["dag_processor_mib"]), _mi((m["dag_processor_mib"] + probe) * HEADROOM * 1.2)
        ),
        "airflow-triggerer": Size("50m", _mi(m["triggerer_mib"]), _mi((m["triggerer_mib"] + probe) * HEADROOM)),
        # `airflow db migrate` and the wait-for-migrations init containers: one Airflow CLI process.
        "airflow-migrate": Size("100m", "384Mi", "768Mi"),
        "postgres": Size("250m" if not low else "100m", "256Mi" if low else "512Mi", "768Mi" if low else "1Gi"),
        # Ring 1 and the by-hand jobs: the datasurface CLI with the model loaded.
        "job": Size("100m", "256Mi", "1Gi" if not low else "768Mi"),
        "simulator": Size("50m", "128Mi", "512Mi"),
    }
    return Profile(name, parallelism, sizes)


PROFILES = {
    "standard": _profile("standard", 8, low=False),
    "low": _profile("low", 3, low=True),
}
DEFAULT_PROFILE = "standard"


def profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise BootstrapError(f"resource profile '{name}': unknown; use one of {', '.join(sorted(PROFILES))}") from None


# Probes. Airflow's CLI start-up (importing airflow) takes seconds of CPU, so exec probes are
# slow and run rarely, with long timeouts; HTTP probes are cheap and run often.
SCHEDULER_HEALTH_PORT = 8974


def http_probe(path: str, port: str | int, *, period: int, timeout: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": port},
        "periodSeconds": period,
        "timeoutSeconds": timeout,
        "failureThreshold": failures,
    }


def jobs_check_probe(job_type: str, *, period: int, failures: int) -> dict[str, Any]:
    """`airflow jobs check --local`: this host's job of that type has a recent heartbeat.
    CONNECTION_CHECK_MAX_COUNT=0 skips the image entrypoint's database wait; ERROR logging
    keeps the probe's output to the failure itself."""
    command = (
        "CONNECTION_CHECK_MAX_COUNT=0 AIRFLOW__LOGGING__LOGGING_LEVEL=ERROR exec /entrypoint "
        f"airflow jobs check --job-type {job_type} --local"
    )
    return {
        "exec": {"command": ["sh", "-c", command]},
        "periodSeconds": period,
        "timeoutSeconds": 45,
        "failureThreshold": failures,
    }
