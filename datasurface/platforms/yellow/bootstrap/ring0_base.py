"""Ring 0, the ground floor: namespace, settings ConfigMaps and the models volume."""

from __future__ import annotations

from datasurface.platforms.yellow.kube_names import ENV_CONFIGMAP, MODELS_PVC

from .configmap_limits import check_configmap
from .k8s import Manifest, configmap, metadata, pvc
from .settings import SandboxSettings

#: The model folder's files, for the in-cluster Jobs (ring 1, merge handler, simulator).
MODEL_SOURCE_CONFIGMAP = "datasurface-model-source"
MODEL_SOURCE_MOUNT = "/model-source"
MODELS_SIZE = "1Gi"


def namespace(s: SandboxSettings) -> list[Manifest]:
    return [{"apiVersion": "v1", "kind": "Namespace", "metadata": metadata(s.namespace, None, "namespace")}]


def model_file_key(rel_path: str) -> str:
    """A ConfigMap key for a model file: keys can't hold `/`, so the volume's `items` map each
    key back to its relative path (`transformers/masking.py` <- `transformers__masking.py`)."""
    return rel_path.replace("/", "__")


def config(s: SandboxSettings) -> list[Manifest]:
    return [configmap(ENV_CONFIGMAP, s.namespace, s.config_env)]


def model_source(s: SandboxSettings) -> list[Manifest]:
    """The model folder as a ConfigMap; Kubernetes' key and size rules checked first."""
    keys = {path: model_file_key(path) for path in s.model_files}
    check_configmap(MODEL_SOURCE_CONFIGMAP, s.model_files, keys, s.model_dir or "the model folder")
    return [configmap(MODEL_SOURCE_CONFIGMAP, s.namespace, {keys[k]: v for k, v in s.model_files.items()})]


def storage(s: SandboxSettings) -> list[Manifest]:
    return [pvc(MODELS_PVC, s.namespace, MODELS_SIZE, s.models_access_mode)]


def model_source_volume(s: SandboxSettings) -> dict[str, object]:
    items = [{"key": model_file_key(path), "path": path} for path in s.model_files]
    return {"name": "model-source", "configMap": {"name": MODEL_SOURCE_CONFIGMAP, "items": items}}


def model_source_mount() -> dict[str, object]:
    return {"name": "model-source", "mountPath": MODEL_SOURCE_MOUNT, "readOnly": True}
