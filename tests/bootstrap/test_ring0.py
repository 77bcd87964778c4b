"""Ring 0 renders valid manifests that create every name the job pods refer to, and no secret."""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from click.testing import CliRunner

from datasurface.cli import cli
from datasurface.model.loader import LoadedModel
from datasurface.platforms.yellow import kube_names
from datasurface.platforms.yellow.bootstrap import BootstrapError, SandboxSettings, build_settings, render_ring0
from datasurface.platforms.yellow.bootstrap.ring0 import SECRETS_SCRIPT
from datasurface.platforms.yellow.bootstrap.secrets_script import secret_names
from datasurface.platforms.yellow.platform import YellowDataPlatform
from datasurface.platforms.yellow.stream_config import build_stream_configs

from .conftest import PASSWORD_VALUES, SANDBOX_MODEL

#: The newest schemas kubernetes-validate bundles, and an older release still in wide use.
K8S_VERSIONS = [kubernetes_validate.latest_version(), "1.31.0"]


def _all_docs(settings: SandboxSettings) -> list[dict[str, Any]]:
    return [doc for docs in render_ring0(settings).values() for doc in docs]


def _by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def _pod_specs(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    specs = []
    for d in docs:
        if d["kind"] in ("Deployment", "StatefulSet", "Job"):
            specs.append(d["spec"]["template"]["spec"])
    return specs


def _containers(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for spec in _pod_specs(docs) for c in spec.get("initContainers", []) + spec["containers"]]


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_every_manifest_validates_strictly(settings: SandboxSettings, version: str) -> None:
    docs = _all_docs(settings)
    assert len(docs) > 20
    for doc in docs:
        # Raises on a schema error, an unknown field (strict) or a kind/apiVersion the
        # release no longer serves (the CLI only WARNs on that: here it fails).
        kubernetes_validate.validate(doc, version, strict=True)


def test_written_files_parse_back_to_the_rendered_manifests(settings: SandboxSettings, tmp_path: Path) -> None:
    from datasurface.platforms.yellow.bootstrap import write_ring0

    write_ring0(settings, tmp_path)
    for name, docs in render_ring0(settings).items():
        assert list(yaml.safe_load_all((tmp_path / name).read_text())) == docs


def test_no_rendered_file_holds_a_secret_value(secret_env: dict[str, str], tmp_path: Path) -> None:
    env_file = tmp_path / "env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in secret_env.items()) + "DATASURFACE_SOURCE_HOST=postgres\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli, ["bootstrap", "--ring", "0", "--model", str(SANDBOX_MODEL), "--out", str(out), "--env-file", str(env_file)]
    )
    assert result.exit_code == 0, result.output
    files = [p for p in out.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"00-namespace.yaml", "50-airflow.yaml", "ring1.yaml", SECRETS_SCRIPT}
    for path in files:
        text = path.read_text()
        for value in PASSWORD_VALUES:
            assert value not in text, f"{path} holds a secret value"
            assert base64.b64encode(value.encode()).decode() not in text, f"{path} holds a base64 secret"
    for value in PASSWORD_VALUES:
        assert value not in result.output


def test_no_secret_objects_are_rendered(settings: SandboxSettings) -> None:
    assert not [d for d in _all_docs(settings) if d["kind"] == "Secret"]


def test_names_the_pod_operator_uses_exist(settings: SandboxSettings, sandbox_model: LoadedModel) -> None:
    docs = _all_docs(settings)
    assert kube_names.MODELS_PVC in _by_kind(docs, "PersistentVolumeClaim")
    assert kube_names.ENV_CONFIGMAP in _by_kind(docs, "ConfigMap")
    assert kube_names.JOB_LAUNCHER_SERVICE_ACCOUNT in _by_kind(docs, "ServiceAccount")
    namespaces = _by_kind(docs, "Namespace")
    binding = _by_kind(docs, "RoleBinding")
    assert [s["name"] for b in binding.values() for s in b["subjects"]] == [kube_names.JOB_LAUNCHER_SERVICE_ACCOUNT]
    role = next(iter(_by_kind(docs, "Role").values()))
    granted = {r for rule in role["rules"] for r in rule["resources"]}
    assert {"pods", "pods/log", "pods/exec"} <= granted

    created_secrets = set(secret_names(settings))
    for platform in sandbox_model.ecosystem.platforms:
        assert isinstance(platform, YellowDataPlatform)
        for config in build_stream_configs(
            sandbox_model.ecosystem, sandbox_model.assignments, platform, kube_names.MODELS_MOUNT
        ):
            assert config.namespace in namespaces
            assert all(d["metadata"].get("namespace", config.namespace) == config.namespace for d in docs)
            assert config.job_image == settings.job_image
            for ref in config.credentials:
                assert ref.secret in created_secrets
                assert set(ref.env.values()) <= set(kube_names.SECRET_KEYS.values())
                # The long-running pods read each credential exactly as the job pods do.
                for var, key in ref.env.items():
                    assert any(
                        e.get("name") == var and e["valueFrom"]["secretKeyRef"] == {"name": ref.secret, "key": key}
                        for c in _containers(docs)
                        for e in c.get("env", [])
                        if "valueFrom" in e
                    )
    job_images = {c["image"] for c in _containers(docs) if c["name"] in ("ring1", "merge-handler", "simulator")}
    assert job_images == {settings.job_image}


def test_every_referenced_object_is_rendered(settings: SandboxSettings) -> None:
    docs = _all_docs(settings)
    configmaps, pvcs = _by_kind(docs, "ConfigMap"), _by_kind(docs, "PersistentVolumeClaim")
    secrets = set(secret_names(settings))
    for spec in _pod_specs(docs):
        if "serviceAccountName" in spec:
            assert spec["serviceAccountName"] in _by_kind(docs, "ServiceAccount")
        for vol in spec.get("volumes", []):
            if "configMap" in vol:
                assert vol["configMap"]["name"] in configmaps
            if "persistentVolumeClaim" in vol:
                assert vol["persistentVolumeClaim"]["claimName"] in pvcs
        for c in spec.get("initContainers", []) + spec["containers"]:
            for e in c.get("env", []):
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["name"] in secrets, ref
            for src in c.get("envFrom", []):
                assert src["configMapRef"]["name"] in configmaps


def test_settings_configmap_points_pods_at_the_cluster(settings: SandboxSettings) -> None:
    env = _by_kind(_all_docs(settings), "ConfigMap")[kube_names.ENV_CONFIGMAP]["data"]
    host = kube_names.service_dns_name(kube_names.POSTGRES_SERVICE, settings.namespace)
    assert env["DATASURFACE_LAUNCHER"] == "kubernetes"
    assert env["DATASURFACE_MERGE_HOST"] == env["DATASURFACE_SOURCE_HOST"] == host
    assert env["DATASURFACE_PLATFORMS"] == "YellowLive,YellowForensic"
    assert env["DATASURFACE_MODELS_DIR"] == kube_names.MODELS_MOUNT
    assert not any(k.endswith(("_PASSWORD", "_USER", "_TOKEN")) for k in env)
    services = _by_kind(_all_docs(settings), "Service")
    assert kube_names.POSTGRES_SERVICE in services


def test_unknown_platform_is_named(sandbox_model: LoadedModel) -> None:
    with pytest.raises(BootstrapError, match="Platform 'Nope'"):
        build_settings(sandbox_model.ecosystem, SANDBOX_MODEL, ["Nope"])


def test_ring0_needs_out(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["bootstrap", "--ring", "0", "--model", str(SANDBOX_MODEL)])
    assert result.exit_code == 2
    assert "--out" in result.output


def test_secrets_script_passes_values_through_files_only(settings: SandboxSettings, tmp_path: Path) -> None:
    """Run the generated script with a kubectl stub: no value in any argv, every value in
    the Secret YAML handed to `kubectl apply`."""
    from datasurface.platforms.yellow.bootstrap import write_ring0

    write_ring0(settings, tmp_path / "out")
    log = tmp_path / "argv.log"
    applied = tmp_path / "applied.yaml"
    stub = tmp_path / "kubectl"
    stub.write_text(
        "#!/usr/bin/env bash\n"
        f'printf "%s\\n" "$*" >> {log}\n'
        'if [[ " $* " == *" apply "* ]]; then cat >> '
        + str(applied)
        + "; echo --- >> "
        + str(applied)
        + "; exit 0; fi\n"
        # `create secret generic NAME --from-file=DIR`: emit the Secret as kubectl would.
        'for a in "$@"; do case "$a" in --from-file=*) dir="${a#--from-file=}";; esac; done\n'
        'echo "kind: Secret"; echo "data:"\n'
        'for f in "$dir"/*; do printf "  %s: %s\\n" "$(basename "$f")" "$(base64 -w0 < "$f")"; done\n'
    )
    stub.chmod(0o755)
    env = {**os.environ, "KUBECTL": str(stub), "NAMESPACE": settings.namespace}
    done = subprocess.run(
        ["bash", str(tmp_path / "out" / SECRETS_SCRIPT)], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    argv = log.read_text()
    yaml_text = applied.read_text()
    for value in PASSWORD_VALUES:
        assert value not in argv and value not in done.stdout + done.stderr
        assert base64.b64encode(value.encode()).decode() in yaml_text
    assert argv.count("create secret generic") == len(secret_names(settings))


def test_secrets_script_names_a_missing_variable(settings: SandboxSettings, tmp_path: Path) -> None:
    from datasurface.platforms.yellow.bootstrap import write_ring0

    write_ring0(settings, tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "AIRFLOW_JWT_SECRET"}
    env["KUBECTL"] = "true"
    done = subprocess.run(["bash", str(tmp_path / SECRETS_SCRIPT)], env=env, capture_output=True, text=True)
    assert done.returncode == 1
    assert "AIRFLOW_JWT_SECRET is not set" in done.stderr
    env["KUBECTL"] = "false"
    env["AIRFLOW_JWT_SECRET"] = "x"
    done = subprocess.run(["bash", str(tmp_path / SECRETS_SCRIPT)], env=env, capture_output=True, text=True)
    assert done.returncode == 1
    assert "could not apply Secret postgres-credential" in done.stderr


def test_model_source_configmap_rebuilds_the_model_folder(settings: SandboxSettings) -> None:
    docs = _all_docs(settings)
    data = _by_kind(docs, "ConfigMap")["datasurface-model-source"]["data"]
    model_files = {p.relative_to(SANDBOX_MODEL).as_posix() for p in SANDBOX_MODEL.rglob("*.py")}
    model_files |= {"dsg_platform_mapping.json"}
    for spec in _pod_specs(docs):
        for vol in spec.get("volumes", []):
            if vol.get("configMap", {}).get("name") == "datasurface-model-source":
                items = {i["path"]: i["key"] for i in vol["configMap"]["items"]}
                assert set(items) == {f for f in model_files if "__pycache__" not in f}
                assert all(data[key] == (SANDBOX_MODEL / path).read_text() for path, key in items.items())


def test_seed_repo_follows_a_configmap_mount(tmp_path: Path) -> None:
    """A ConfigMap volume is symlinks into a hidden `..data` folder: the seeded repo must hold
    the files (sub-folders too) and nothing hidden; a second sync makes no new commit."""
    from datasurface.platforms.yellow.bootstrap.seed_repo import sync_seed_repo

    mount, data = tmp_path / "mount", tmp_path / "mount" / "..2026_01_01"
    (data / "pkg").mkdir(parents=True)
    (data / "eco.py").write_text("x = 1\n")
    (data / "pkg" / "helper.py").write_text("y = 2\n")
    (mount / "..data").symlink_to(data.name)
    (mount / "eco.py").symlink_to("..data/eco.py")
    (mount / "pkg").symlink_to("..data/pkg")
    repo = tmp_path / "repo"
    first = sync_seed_repo(mount, repo, "main")
    assert sync_seed_repo(mount, repo, "main") == first
    listed = subprocess.run(["git", "-C", str(repo), "ls-files"], capture_output=True, text=True, check=True)
    assert listed.stdout.split() == ["eco.py", "pkg/helper.py"]
    (data / "eco.py").write_text("x = 3\n")
    assert sync_seed_repo(mount, repo, "main") != first
