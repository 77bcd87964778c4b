"""Yellow's Airflow integration: the DAG factory, the infrastructure DAG and the dags-folder shim.

Only the modules of this package that build operators import Airflow (`tasks`,
`dag_factory`, `infra_dag`); `settings`, `config_source` and `install` don't, so that reading
config rows, caching them and installing the shim work (and are tested) without Airflow, and
nothing outside this package ever imports Airflow.
"""
