"""DAG factory parse time: a DagBag of the dags-folder shim over config rows in Postgres, side
by side with the floor: a plain Airflow file building the same DAGs (same operators, same
arguments) from an in-memory Python list.

Each parse runs in a process forked from one that has imported Airflow and the operators'
modules and nothing of DataSurface, as Airflow's dag-processor forks a child per file parse:
the shim's own imports (DataSurface, pydantic models...), its database read, validation and
cache write all count. Best of REPEATS (5) per figure, the two sides interleaved.

Stream packs: `dag_parse_packs_100000_s` parses the shim over 100,000 streams in packs of
100 (1,000 pack rows, one DAG each), and `dag_parse_packs_floor_100000_s` the same 1,000
pack DAGs written as plain Airflow code over an in-memory list; `dag_parse_packs_ratio`.

`dag_file_parse_s`: the sandbox model's own dags folder (both platforms, local launcher,
packed as the sandbox packs), parsed in a child of a server that has imported only
`airflow.sdk` and the DagBag: every import the file makes (DataSurface, the standard
provider's operators) counts, as it does for the dag-processor, whose pre-import step finds
no `airflow` import in the shim.

Postgres: DATASURFACE_BENCH_PG_URL, else DATASURFACE_TEST_PG_URL, else an embedded server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SIZES = (100, 1_000, 5_000)
PACKED_STREAMS = 100_000
PACK_SIZE = 100
#: What the dag-processor's child has for a file that imports no `airflow` module itself.
MINIMAL_PRE_IMPORTS = ("airflow.sdk", "airflow.dag_processing.dagbag")
REPEATS = 5
PLATFORM = "YellowBench"
REPO_ROOT = Path(__file__).resolve().parent.parent
# What the dag-processor has imported before it forks a parse (it pre-imports the `airflow`
# modules a DAG file imports); DataSurface is deliberately absent.
PRE_IMPORTS = (
    "airflow.sdk",
    "airflow.dag_processing.dagbag",
    "airflow.providers.cncf.kubernetes.operators.pod",
    "airflow.providers.cncf.kubernetes.secret",
    "airflow.providers.standard.operators.bash",
    "airflow.providers.standard.operators.python",
    "airflow.providers.standard.operators.empty",
    "airflow.providers.standard.operators.trigger_dagrun",
    "kubernetes.client",
)


def measure() -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="ds-bench-dags-") as tmp, _database() as url:
        work = Path(tmp)
        jobs: list[dict[str, Any]] = []
        for n in SIZES:
            platform = f"{PLATFORM}{n}"
            configs = _configs(platform, n)
            _write_rows(url, platform, configs)
            env = {
                "DATASURFACE_PLATFORMS": platform,
                "DATASURFACE_FACTORY_DB_URL": url,
                "DATASURFACE_DAG_CACHE_DIR": str(work / "cache"),
                "DATASURFACE_INFRA": "0",
            }
            jobs.append({"key": f"dag_parse_{n}_s", "file": str(_shim(work)), "env": env, "expect": n})
            if n == max(SIZES):
                floor = _write_floor(work / f"floor_{n}" / "floor_dags.py", configs)
                jobs.append({"key": f"dag_parse_floor_{n}_s", "file": str(floor), "env": {}, "expect": n})
        packed = f"{PLATFORM}Packs"
        pack_rows = _pack_configs(packed, PACKED_STREAMS, PACK_SIZE)
        _write_rows(url, packed, pack_rows)
        env = {
            "DATASURFACE_PLATFORMS": packed,
            "DATASURFACE_FACTORY_DB_URL": url,
            "DATASURFACE_DAG_CACHE_DIR": str(work / "cache"),
            "DATASURFACE_INFRA": "0",
        }
        n_packs = PACKED_STREAMS // PACK_SIZE
        jobs.append(
            {"key": f"dag_parse_packs_{PACKED_STREAMS}_s", "file": str(_shim(work)), "env": env, "expect": n_packs}
        )
        floor = _write_pack_floor(work / "floor_packs" / "floor_pack_dags.py", pack_rows)
        jobs.append(
            {"key": f"dag_parse_packs_floor_{PACKED_STREAMS}_s", "file": str(floor), "env": {}, "expect": n_packs}
        )
        times = _run_parse_server(work, jobs)
        sandbox = _sandbox_job(url, work)
        times.update(_run_parse_server(work, [sandbox], MINIMAL_PRE_IMPORTS))
        jobs.append(sandbox)
    n = max(SIZES)
    figures = {job["key"]: round(times[job["key"]], 3) for job in jobs}
    figures[f"dag_parse_ratio_{n}"] = round(times[f"dag_parse_{n}_s"] / times[f"dag_parse_floor_{n}_s"], 3)
    figures["dag_parse_packs_ratio"] = round(
        times[f"dag_parse_packs_{PACKED_STREAMS}_s"] / times[f"dag_parse_packs_floor_{PACKED_STREAMS}_s"], 3
    )
    return figures


def _pack_configs(platform: str, n: int, size: int) -> list[Any]:
    """`n` kubernetes-launched streams in packs of `size` (the rows' pack keys set directly:
    the assignment itself runs in the merge handler, not in the parse)."""
    from datasurface.platforms.yellow.stream_config import PackRef, dag_rows

    streams = _configs(platform, n)
    packs = n // size
    for i, config in enumerate(streams):
        config.pack = PackRef(key=f"pack{i % packs:04d}", pool="datasurface_merge__yellow_merge", pool_slots=4)
        config.team = f"team_{i % 7}"
        config.consumers = [f"Consumer{i % 11}/LiveDSG"]
    return list(dag_rows(streams))


def _sandbox_job(url: str, work: Path) -> dict[str, Any]:
    """The sandbox model's config rows (local launcher, packed) and a parse of its shim."""
    import datetime as dt

    from sqlalchemy import create_engine, text

    from datasurface.model.loader import load_model
    from datasurface.platforms.yellow.naming import config_table, quote_ident
    from datasurface.platforms.yellow.platform import YellowDataPlatform
    from datasurface.platforms.yellow.stream_config import build_stream_configs, sync_config_rows
    from datasurface.platforms.yellow.transformer_config import build_transformer_configs

    saved = os.environ.get("DATASURFACE_LAUNCHER")
    os.environ["DATASURFACE_LAUNCHER"] = "local"
    try:
        model = load_model(REPO_ROOT / "sandbox" / "model")
    finally:
        if saved is None:
            os.environ.pop("DATASURFACE_LAUNCHER", None)
        else:
            os.environ["DATASURFACE_LAUNCHER"] = saved
    engine = create_engine(url)
    expect = 0
    try:
        for platform in model.ecosystem.platforms:
            assert isinstance(platform, YellowDataPlatform)
            configs: list[Any] = [
                *build_stream_configs(model.ecosystem, model.assignments, platform, "/models"),
                *build_transformer_configs(model.ecosystem, model.assignments, platform, "/models"),
            ]
            with engine.begin() as conn:
                sync_config_rows(conn, platform.name, configs, dt.datetime.now(dt.UTC))
                table = quote_ident(config_table(platform.name))
                expect += conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    finally:
        engine.dispose()
    env = {
        "DATASURFACE_PLATFORMS": ",".join(p.name for p in model.ecosystem.platforms),
        "DATASURFACE_FACTORY_DB_URL": url,
        "DATASURFACE_DAG_CACHE_DIR": str(work / "cache"),
        "DATASURFACE_INFRA": "0",
    }
    return {"key": "dag_file_parse_s", "file": str(_shim(work)), "env": env, "expect": expect}


# -- rows ---------------------------------------------------------------------------------------


def _configs(platform: str, n: int) -> list[Any]:
    from datasurface.platforms.yellow.stream_config import CredentialRef, StreamConfig

    creds = [
        CredentialRef(
            name="postgres",
            secret="postgres-credential",
            env={"POSTGRES_USER": "USER", "POSTGRES_PASSWORD": "PASSWORD"},
        ),
        CredentialRef(
            name="crm_db", secret="crm-db-credential", env={"CRM_DB_USER": "USER", "CRM_DB_PASSWORD": "PASSWORD"}
        ),
    ]
    return [
        StreamConfig(
            platform=platform,
            stream=f"store_{i:05d}",
            store=f"store_{i:05d}",
            datasets=["customers", "addresses"],
            cron=None if i % 3 == 0 else f"{i % 60} * * * *",
            launcher="kubernetes",
            job_image="datasurface/datasurface:latest",
            namespace="datasurface",
            models_dir="/models",
            credentials=creds,
        )
        for i in range(n)
    ]


def _write_rows(url: str, platform: str, configs: list[Any]) -> None:
    import datetime as dt

    from sqlalchemy import create_engine

    from datasurface.platforms.yellow.stream_config import sync_config_rows

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            sync_config_rows(conn, platform, configs, dt.datetime.now(dt.UTC))
    finally:
        engine.dispose()


@contextmanager
def _database() -> Iterator[str]:
    """A fresh database on the configured (or an embedded) server, dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from datasurface import embedded_pg

    raw = os.environ.get("DATASURFACE_BENCH_PG_URL") or os.environ.get("DATASURFACE_TEST_PG_URL")
    data_dir = REPO_ROOT / ".pytest_pg" / f"bench-dags-{uuid.uuid4().hex[:6]}"
    if not raw:
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        raw = embedded_pg.start(data_dir, embedded_pg.free_port(), fast=True)
    server = make_url(raw).set(drivername="postgresql+psycopg")
    name = f"bench_dags_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
        if data_dir.exists():
            embedded_pg.stop(data_dir)
            import shutil

            shutil.rmtree(data_dir, ignore_errors=True)


# -- the DAG files --------------------------------------------------------------------------------


def _shim(work: Path) -> Path:
    from datasurface.platforms.yellow.airflow.install import install_shim

    return install_shim(work / "dags")


def _write_floor(path: Path, configs: list[Any]) -> Path:
    """The same DAGs as the factory builds for `configs`, as plain Airflow code over a literal list."""
    from datasurface.platforms.yellow.airflow.tasks import pod_name

    rows = [
        {
            "dag_id": c.dag_id,
            "cron": c.cron,
            "description": f"Ingest {c.store} ({', '.join(c.datasets)}) into Yellow platform {c.platform}",
            "tags": ["datasurface", f"platform:{c.platform}", f"launcher:{c.launcher}"],
            "pod_name": pod_name(c.dag_id),
            "image": c.job_image,
            "namespace": c.namespace,
            "args": c.job_args(),
            "labels": {"datasurface/platform": c.platform, "datasurface/stream": c.stream},
            "secrets": [(var, ref.secret, key) for ref in c.credentials for var, key in ref.env.items()],
        }
        for c in configs
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(FLOOR_TEMPLATE.replace("__ROWS__", repr(rows)).replace("__COMMON__", FLOOR_COMMON))
    return path


def _write_pack_floor(path: Path, configs: list[Any]) -> Path:
    """The same pack DAGs as the factory builds, as plain Airflow code over a literal list."""
    from datasurface.platforms.yellow.airflow.tasks import pod_name

    rows = [
        {
            "dag_id": c.dag_id,
            "cron": c.cron,
            "description": f"Ingest {len(c.members)} stream(s) of pack {c.pack} into Yellow platform {c.platform}",
            "doc_md": c.doc_md,
            "owner": c.owner,
            "tags": ["datasurface", "pack", f"platform:{c.platform}", f"launcher:{c.launcher}"],
            "pod_name": pod_name(c.dag_id),
            "image": c.job_image,
            "namespace": c.namespace,
            "args": [*c.job_args(), "--json", "--exit-zero", "--result-file", "/airflow/xcom/return.json"],
            "labels": {"datasurface/platform": c.platform, "datasurface/pack": c.pack},
            "secrets": [(var, ref.secret, key) for ref in c.credentials for var, key in ref.env.items()],
            "pool": c.pool,
            "alias": f"datasurface-pack://{c.platform.lower()}/{c.pack}",
        }
        for c in configs
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(PACK_FLOOR_TEMPLATE.replace("__ROWS__", repr(rows)).replace("__COMMON__", FLOOR_COMMON))
    return path


# What both floor files define alike: the pod's shared objects, as the factory has them.
FLOOR_COMMON = """
START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
ENV_FROM = k8s.V1EnvFromSource(config_map_ref=k8s.V1ConfigMapEnvSource(name="datasurface-env"))
VOLUME = k8s.V1Volume(
    name="models",
    persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(claim_name="datasurface-models", read_only=True),
)
MOUNT = k8s.V1VolumeMount(name="models", mount_path="/models", read_only=True)
SECURITY = k8s.V1PodSecurityContext(run_as_non_root=True, run_as_user=10001, fs_group=10001)
"""

PACK_FLOOR_TEMPLATE = """
import datetime as dt

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.cncf.kubernetes.secret import Secret
from airflow.providers.standard.operators.python import BranchPythonOperator, PythonOperator
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import DAG, AssetAlias
from kubernetes.client import models as k8s

ROWS = __ROWS__

__COMMON__
ENV_VARS = [k8s.V1EnvVar(name="DATASURFACE_PACK_MEMBERS", value="{{ dag_run.conf }}")]


def report(**context):
    return None


def route(**context):
    return []


for row in ROWS:
    with DAG(
        dag_id=row["dag_id"],
        schedule=row["cron"],
        start_date=START,
        catchup=False,
        max_active_runs=1,
        description=row["description"],
        doc_md=row["doc_md"],
        tags=row["tags"],
        default_args={"owner": row["owner"], "retries": 0},
    ) as dag:
        job = KubernetesPodOperator(
            task_id="job",
            name=row["pod_name"],
            namespace=row["namespace"],
            image=row["image"],
            image_pull_policy="IfNotPresent",
            cmds=["datasurface"],
            arguments=row["args"],
            labels=row["labels"],
            secrets=[Secret("env", var, secret, key) for var, secret, key in row["secrets"]],
            env_from=[ENV_FROM],
            env_vars=ENV_VARS,
            volumes=[VOLUME],
            volume_mounts=[MOUNT],
            service_account_name="datasurface-airflow",
            automount_service_account_token=False,
            security_context=SECURITY,
            get_logs=True,
            log_events_on_failure=True,
            on_finish_action="delete_pod",
            do_xcom_push=True,
            pool=row["pool"],
        )
        alias = AssetAlias(row["alias"])
        rep = PythonOperator(task_id="report", python_callable=report, op_kwargs={"alias": row["alias"]}, outlets=[alias])
        rt = BranchPythonOperator(task_id="route", python_callable=route)
        keep_working = TriggerDagRunOperator(
            task_id="keep_working",
            trigger_dag_id=row["dag_id"],
            conf={"datasurface": "KEEP_WORKING", "previous_run_id": "{{ run_id }}"},
        )
        job >> rep >> rt >> keep_working
    globals()[row["dag_id"]] = dag
"""


FLOOR_TEMPLATE = """
import datetime as dt

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.cncf.kubernetes.secret import Secret
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import DAG
from kubernetes.client import models as k8s

ROWS = __ROWS__

__COMMON__

for row in ROWS:
    with DAG(
        dag_id=row["dag_id"],
        schedule=row["cron"],
        start_date=START,
        catchup=False,
        max_active_runs=1,
        description=row["description"],
        tags=row["tags"],
        default_args={"owner": "datasurface", "retries": 0},
    ) as dag:
        job = KubernetesPodOperator(
            task_id="job",
            name=row["pod_name"],
            namespace=row["namespace"],
            image=row["image"],
            image_pull_policy="IfNotPresent",
            cmds=["datasurface"],
            arguments=row["args"],
            labels=row["labels"],
            secrets=[Secret("env", var, secret, key) for var, secret, key in row["secrets"]],
            env_from=[ENV_FROM],
            volumes=[VOLUME],
            volume_mounts=[MOUNT],
            service_account_name="datasurface-airflow",
            automount_service_account_token=False,
            security_context=SECURITY,
            skip_on_exit_code=75,
            get_logs=True,
            log_events_on_failure=True,
            on_finish_action="delete_pod",
            do_xcom_push=False,
        )
        keep_working = TriggerDagRunOperator(
            task_id="keep_working",
            trigger_dag_id=row["dag_id"],
            trigger_rule="all_skipped",
            conf={"datasurface": "KEEP_WORKING", "previous_run_id": "{{ run_id }}"},
        )
        done = EmptyOperator(task_id="done")
        job >> [keep_working, done]
    globals()[row["dag_id"]] = dag
"""


# -- the parse server: imports Airflow only, forks one child per parse -------------------------------


def _run_parse_server(
    work: Path, jobs: list[dict[str, Any]], pre_imports: tuple[str, ...] = PRE_IMPORTS
) -> dict[str, float]:
    home = work / "airflow_home"
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        # A benchmark measures however long a parse takes; Airflow's 30 s default would
        # turn a slow (loaded) machine's figure into an import error.
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "3600",
        # Bytecode as an installed package has it (this checkout's environment sets
        # PYTHONDONTWRITEBYTECODE, so every process would compile every module from source):
        # cached in a folder of the run's own; the first repeat warms it, best-of-REPEATS.
        "PYTHONDONTWRITEBYTECODE": "",
        "PYTHONPYCACHEPREFIX": str(work / "pycache"),
        "PYTHONPATH": str(REPO_ROOT),
        "DATASURFACE_BENCH_PRE_IMPORTS": ",".join(pre_imports),
    }
    order = [job for _ in range(REPEATS) for job in jobs]  # interleaved: drift hits both sides
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.dag_parse", "--serve"],
        input=json.dumps(order),
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"parse server failed ({out.returncode}):\n{out.stderr[-4000:]}")
    best: dict[str, float] = {}
    for line in out.stdout.splitlines():
        result = json.loads(line)
        best[result["key"]] = min(best.get(result["key"], float("inf")), result["seconds"])
    return best


def _serve() -> int:
    import importlib
    import time

    for module in os.environ.get("DATASURFACE_BENCH_PRE_IMPORTS", ",".join(PRE_IMPORTS)).split(","):
        importlib.import_module(module)
    assert not any(m.startswith("datasurface") for m in sys.modules), "the server must not import DataSurface"
    for job in json.loads(sys.stdin.read()):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: one parse, like the dag-processor's
            os.close(read)
            os.environ.update(job["env"])
            from airflow.dag_processing.dagbag import DagBag

            start = time.perf_counter()
            bag = DagBag(dag_folder=job["file"], safe_mode=True)
            seconds = time.perf_counter() - start
            ok = not bag.import_errors and len(bag.dag_ids) == job["expect"]
            detail = "" if ok else f"{len(bag.dag_ids)} DAGs, import errors {bag.import_errors}"
            os.write(write, json.dumps({"key": job["key"], "seconds": seconds, "error": detail}).encode())
            os._exit(0)
        os.close(write)
        with os.fdopen(read) as fh:
            result = json.loads(fh.read())
        os.waitpid(pid, 0)
        if result["error"]:
            print(f"{job['key']}: {result['error']}", file=sys.stderr)
            return 1
        print(json.dumps(result), flush=True)
        print(f"# {result['key']}={result['seconds']:.3f}", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        sys.exit(_serve())
    for key, value in measure().items():
        print(f"{key}={value}")
