"""DataSurface DAGs: one per stream pack, dedicated stream and transformer, plus the
infrastructure DAG.

Copied into Airflow's dags folder (`python -m datasurface.platforms.yellow.airflow.install
DAGS_FOLDER`); the DAGs come from config rows in the merge database (see
datasurface.platforms.yellow.airflow.settings for the environment it reads). Keep this file
tiny: the code lives in the installed package, so upgrading the package upgrades the DAGs.
The words "airflow" and "DAG" in this file are required: Airflow's safe mode skips files
that contain neither.
"""

from datasurface.platforms.yellow.airflow.dag_factory import build_dags

globals().update(build_dags())
