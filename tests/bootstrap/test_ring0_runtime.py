"""What ring 0 renders for a pod's life: probes on every Airflow component and Postgres,
resources sized for the measured load, change-detection hashes, and Kubernetes' ConfigMap
rules checked before anything is applied."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from click.testing import CliRunner

from datasurface.cli import cli
from datasurface.model.loader import LoadedModel
from datasurface.platforms.yellow.bootstrap import BootstrapError, SandboxSettings, build_settings, render_ring0
from datasurface.platforms.yellow.bootstrap.k8s import CONFIG_HASH, SPEC_HASH

from .conftest import SANDBOX_MODEL

AIRFLOW = ("airflow-api-server", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer")
MIB = 1024 * 1024
#: The scheduler pod's memory measured on kind with six concurrent tasks at parallelism 8
#: (the 1536Mi limit of the time was broken by it).
SCHEDULER_MEASURED_PEAK = int(1.57 * 1024 * MIB)


def _docs(settings: SandboxSettings) -> list[dict[str, Any]]:
    return [d for docs in render_ring0(settings).values() for d in docs]


def _workload(docs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(d for d in docs if d["kind"] in ("Deployment", "StatefulSet", "Job") and d["metadata"]["name"] == name)


def _main(doc: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = doc["spec"]["template"]["spec"]["containers"][0]
    return container


def _bytes(quantity: str) -> int:
    units = {"Ki": 1024, "Mi": MIB, "Gi": 1024 * MIB}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return int(float(quantity[: -len(suffix)]) * factor)
    return int(quantity)


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container.get("env", [])}


@pytest.mark.parametrize("name", [*AIRFLOW, "postgres"])
def test_every_airflow_component_and_postgres_has_liveness_and_readiness(settings: SandboxSettings, name: str) -> None:
    container = _main(_workload(_docs(settings), name))
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    for kind in ("livenessProbe", "readinessProbe"):
        probe = container[kind]
        assert probe["periodSeconds"] >= 5 and probe["failureThreshold"] >= 2
        if "httpGet" in probe:
            # A named port must be one the container declares.
            assert probe["httpGet"]["port"] in ports
        else:
            assert probe["exec"]["command"][0] == "sh"
    # A liveness probe must not kill a slow first start: a startup probe or an initial delay.
    assert "startupProbe" in container or container["livenessProbe"].get("initialDelaySeconds", 0) >= 60


def test_exec_probes_check_the_components_own_heartbeat(settings: SandboxSettings) -> None:
    docs = _docs(settings)
    for name, job_type in (("airflow-dag-processor", "DagProcessorJob"), ("airflow-triggerer", "TriggererJob")):
        command = _main(_workload(docs, name))["livenessProbe"]["exec"]["command"][2]
        assert f"airflow jobs check --job-type {job_type} --local" in command
    scheduler = _main(_workload(docs, "airflow-scheduler"))
    assert _env(scheduler)["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "True"
    port = int(_env(scheduler)["AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT"])
    assert {"name": "health", "containerPort": port} in scheduler["ports"]
    assert scheduler["livenessProbe"]["httpGet"]["path"] == "/health"


def test_every_container_has_requests_within_limits(settings: SandboxSettings) -> None:
    for doc in _docs(settings):
        if doc["kind"] not in ("Deployment", "StatefulSet", "Job"):
            continue
        spec = doc["spec"]["template"]["spec"]
        for c in [*spec.get("initContainers", []), *spec["containers"]]:
            requests, limits = c["resources"]["requests"], c["resources"]["limits"]
            assert _bytes(requests["memory"]) <= _bytes(limits["memory"]), (doc["metadata"]["name"], c["name"])
            assert "cpu" in requests and "cpu" not in limits, "no CPU limits: throttling delays heartbeats"


def test_scheduler_limit_covers_the_measured_peak_for_its_parallelism(
    sandbox_model: LoadedModel, settings: SandboxSettings
) -> None:
    standard = _main(_workload(_docs(settings), "airflow-scheduler"))
    assert _env(standard)["AIRFLOW__CORE__PARALLELISM"] == "8"
    # Six tasks measured 1.57 GiB; eight must fit with room to spare.
    assert _bytes(standard["resources"]["limits"]["memory"]) >= SCHEDULER_MEASURED_PEAK * 8 / 6
    low = _main(_workload(_docs(dataclasses.replace(settings, resource_profile="low")), "airflow-scheduler"))
    assert _env(low)["AIRFLOW__CORE__PARALLELISM"] == "3"
    assert _bytes(low["resources"]["limits"]["memory"]) < _bytes(standard["resources"]["limits"]["memory"])
    with pytest.raises(BootstrapError, match="resource profile 'huge'"):
        _docs(dataclasses.replace(settings, resource_profile="huge"))


def test_bootstrap_jobs_stay_as_a_record_and_fail_fast(settings: SandboxSettings) -> None:
    docs = _docs(settings)
    for name in ("airflow-db-migrate", "datasurface-ring1"):
        spec = _workload(docs, name)["spec"]
        assert spec["backoffLimit"] == 0
        assert "ttlSecondsAfterFinished" not in spec
        assert spec["activeDeadlineSeconds"] > 0


def _template_hashes(settings: SandboxSettings) -> dict[str, str]:
    hashes = {}
    for d in _docs(settings):
        if d["kind"] in ("Deployment", "StatefulSet", "Job"):
            hashes[d["metadata"]["name"]] = d["spec"]["template"]["metadata"]["annotations"][CONFIG_HASH]
            if d["kind"] == "Job":
                hashes[f"job:{d['metadata']['name']}"] = d["metadata"]["annotations"][SPEC_HASH]
    return hashes


def test_hashes_change_exactly_where_the_change_is_read(settings: SandboxSettings) -> None:
    base = _template_hashes(settings)
    assert _template_hashes(settings) == base  # deterministic
    files = {**settings.model_files, "eco.py": settings.model_files["eco.py"] + "\n# changed\n"}
    model_change = _template_hashes(dataclasses.replace(settings, model_files=files))
    changed = {k for k in base if base[k] != model_change[k]}
    # The model-source ConfigMap is read by ring 1, the by-hand jobs and the simulator.
    assert changed == {
        "datasurface-ring1",
        "job:datasurface-ring1",
        "datasurface-merge-handler",
        "job:datasurface-merge-handler",
        "datasurface-views-reconcile",
        "job:datasurface-views-reconcile",
        "datasurface-simulator",
    }
    # A new Airflow image changes no ConfigMap, but it does change the migration Job's spec.
    image_change = _template_hashes(dataclasses.replace(settings, airflow_image="datasurface/airflow:src-new"))
    assert {k for k in base if base[k] != image_change[k]} == {"job:airflow-db-migrate"}


def _model_copy(tmp_path: Path) -> Path:
    model = tmp_path / "model"
    shutil.copytree(SANDBOX_MODEL, model, ignore=shutil.ignore_patterns("__pycache__"))
    return model


def test_model_files_over_the_configmap_limit_are_named(
    sandbox_model: LoadedModel, settings: SandboxSettings, tmp_path: Path
) -> None:
    model = _model_copy(tmp_path)
    (model / "reference_data.json").write_text('["' + "x" * (700 * 1024) + '"]')
    (model / "lookup.json").write_text('["' + "y" * (400 * 1024) + '"]')
    with pytest.raises(BootstrapError) as err:
        render_ring0(build_settings(sandbox_model.ecosystem, model))
    message = str(err.value)
    assert "over the 1,048,576-byte limit of ConfigMap 'datasurface-model-source'" in message
    assert message.index("'reference_data.json'") < message.index("'lookup.json'")  # largest first
    # The CLI says the same, without a traceback.
    result = CliRunner().invoke(
        cli, ["bootstrap", "--ring", "0", "--model", str(model), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 1
    assert "reference_data.json" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out" / "server-side").exists()


def test_model_files_just_under_the_limit_render_valid_manifests(sandbox_model: LoadedModel, tmp_path: Path) -> None:
    model = _model_copy(tmp_path)
    used = sum(len(p.relative_to(model).as_posix()) + p.stat().st_size for p in model.rglob("*") if p.is_file())
    (model / "reference_data.json").write_text("x" * (1024 * 1024 - used - 200))
    docs = _docs(build_settings(sandbox_model.ecosystem, model))
    source = next(d for d in docs if d["metadata"]["name"] == "datasurface-model-source")
    assert "reference_data.json" in source["data"]
    kubernetes_validate.validate(source, kubernetes_validate.latest_version(), strict=True)


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"bad name.py": "x = 1\n"}, "model file 'bad name.py'"),
        ({"ünïcode.py": "x = 1\n"}, "model file 'ünïcode.py'"),
        ({"pkg/a.py": "x = 1\n", "pkg__a.py": "y = 2\n"}, "map to the same ConfigMap key 'pkg__a.py'"),
    ],
)
def test_model_file_names_that_cant_be_configmap_keys_are_named(
    sandbox_model: LoadedModel, tmp_path: Path, files: dict[str, str], expected: str
) -> None:
    model = _model_copy(tmp_path)
    for name, text in files.items():
        (model / name).parent.mkdir(parents=True, exist_ok=True)
        (model / name).write_text(text)
    with pytest.raises(BootstrapError, match=re.escape(expected)):
        render_ring0(build_settings(sandbox_model.ecosystem, model))


def test_a_model_file_that_is_not_utf8_is_named(sandbox_model: LoadedModel, tmp_path: Path) -> None:
    model = _model_copy(tmp_path)
    (model / "notes.txt").write_bytes(b"caf\xe9\n")
    with pytest.raises(BootstrapError, match=r"model file 'notes\.txt' .*not UTF-8"):
        build_settings(sandbox_model.ecosystem, model)
