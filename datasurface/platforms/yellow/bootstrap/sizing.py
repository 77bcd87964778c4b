"""Resource requests and limits of the sandbox's long-running pods, by profile, and the probes
of the Airflow components. Sized from measurements, not guesses.

Measurements (Airflow 3.3.2, LocalExecutor, PostgreSQL metadata database):

- The scheduler pod on kind, six concurrent tasks, parallelism 8: 1.44-1.57 GiB. That broke
  the 1536Mi limit of the time, and an OOM kill takes every running task with it.
- Each component alone, PSS of its whole process tree, by
  `sandbox/scripts/measure_airflow_memory.py` (runs the four components as the pods do):
  scheduler idle 255 MiB (its health server included); api-server 184 idle, 269 peak while
  serving; dag-processor 178 idle, 207 peak while parsing; triggerer 234-237; one
  `airflow jobs check` (the exec probe) peaks at 135 MiB and costs about 18 s of CPU on the
  loaded 2-core machine of the measurement (where `import airflow` alone took 14 s).
  The script's task run did not give a usable per-task figure (its tasks failed under the
  harness), so the scheduler's share per running task comes from the kind measurement:
  (1.57 GiB - 255 MiB) / 6 = 226 MiB.

So the scheduler's limit follows the profile's parallelism: (idle + parallelism x per-task)
with 25 % headroom; its request is the idle size plus half the tasks. The other components
don't grow with tasks: request near the measured peak, limit with headroom (and, for the
components with exec probes, room for one `airflow jobs check` running beside them).

Profiles: `standard` for a machine giving Docker 6 GB or more; `low` for an 8 GB laptop
(Docker Desktop's VM gets about half of it): parallelism 3 and lower limits (`make up
LOW_RESOURCES=1` renders it, and runs the simulator at a lower rate).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .settings import BootstrapError

#: MiB, from the measurements above.
MEASURED = {
    "scheduler_idle_mib": 255,
    "scheduler_per_task_mib": 226,
    "api_server_mib": 269,
    "dag_processor_mib": 207,
    "triggerer_mib": 237,
    "jobs_check_mib": 135,
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
    return (MEASURED["scheduler_idle_mib"] + parallelism * MEASURED["scheduler_per_task_mib"]) * HEADROOM


def _profile(name: str, parallelism: int, *, low: bool) -> Profile:
    m = MEASURED
    probe = m["jobs_check_mib"]
    scheduler_request = m["scheduler_idle_mib"] + parallelism / 2 * m["scheduler_per_task_mib"]
    sizes = {
        "airflow-scheduler": Size(
            "100m" if low else "200m", _mi(scheduler_request), _mi(scheduler_limit_mib(parallelism))
        ),
        # It serves the UI and the execution API every running task reports to, which the
        # measurement didn't load: three times its measured peak.
        "airflow-api-server": Size("100m", _mi(m["api_server_mib"]), _mi(m["api_server_mib"] * 3)),
        # Parsing the DAG factory loads the model: a further 50 % over the measured parse.
        "airflow-dag-processor": Size(
            "100m", _mi(m["dag_processor_mib"]), _mi((m["dag_processor_mib"] + probe) * HEADROOM * 1.5)
        ),
        "airflow-triggerer": Size("50m", _mi(m["triggerer_mib"]), _mi((m["triggerer_mib"] + probe) * HEADROOM)),
        # `airflow db migrate` and the wait-for-migrations init containers: one Airflow CLI.
        "airflow-migrate": Size("100m", "256Mi", "768Mi"),
        "postgres": Size("100m" if low else "250m", "256Mi" if low else "512Mi", "768Mi" if low else "1Gi"),
        # Ring 1 and the by-hand jobs: the datasurface CLI with the model loaded.
        "job": Size("100m", "256Mi", "768Mi" if low else "1Gi"),
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
