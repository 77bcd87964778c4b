from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from datasurface.model.loader import LoadedModel, load_model
from datasurface.platforms.yellow.bootstrap import SandboxSettings, build_settings
from datasurface.platforms.yellow.bootstrap.settings import read_env_file

REPO_ROOT = Path(__file__).resolve().parents[2]
SANDBOX_MODEL = REPO_ROOT / "sandbox" / "model"
ENV_EXAMPLE = REPO_ROOT / "sandbox" / ".env.example"

#: Distinctive secret values set while rendering: none may appear in any rendered file.
SECRET_VALUES = {
    "POSTGRES_USER": "postgres",
    "POSTGRES_PASSWORD": "Pg-Secret-7f3a9c",
    "CUSTOMER_DB_USER": "postgres",
    "CUSTOMER_DB_PASSWORD": "Src-Secret-2b8e41",
    "AIRFLOW_JWT_SECRET": "Jwt-Secret-c0ffee",
    "AIRFLOW_API_SECRET_KEY": "Api-Secret-d00d5e",
    "AIRFLOW_ADMIN_PASSWORD": "Admin-Secret-5eed42",
}
PASSWORD_VALUES = [v for k, v in SECRET_VALUES.items() if not k.endswith("_USER")]


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    for name, value in SECRET_VALUES.items():
        monkeypatch.setenv(name, value)
    yield SECRET_VALUES


@pytest.fixture
def sandbox_model() -> LoadedModel:
    return load_model(SANDBOX_MODEL)


@pytest.fixture
def settings(sandbox_model: LoadedModel, secret_env: dict[str, str], tmp_path: Path) -> SandboxSettings:
    # An env file as `make up` writes it: the example plus filled-in secrets.
    env_file = tmp_path / "sandbox.env"
    lines = [f"{k}={v}" for k, v in read_env_file(ENV_EXAMPLE).items()]
    lines += [f"{k}={v}" for k, v in secret_env.items()]
    env_file.write_text("\n".join(lines) + "\n")
    return build_settings(sandbox_model.ecosystem, SANDBOX_MODEL, (), read_env_file(env_file))
