#!/usr/bin/env bash
# `make creds`: where the sandbox is and how to log in. The values come from sandbox/.env
# (created by `make up`); they are printed here, on request, and nowhere else.
# shellcheck source=sandbox/scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [ ! -f "$ENV_FILE" ]; then
    warn "no $ENV_FILE yet: run 'make up' first"
    exit 1
fi
load_env
say "Airflow:   $(airflow_url)"
say "  user:     admin"
say "  password: ${AIRFLOW_ADMIN_PASSWORD:?AIRFLOW_ADMIN_PASSWORD is not set in $ENV_FILE}"
say "Postgres:  localhost:15432 (databases: ${DATASURFACE_MERGE_DB:-datasurface_merge}, ${DATASURFACE_SOURCE_DB:-customer_db})"
say "  user:     ${POSTGRES_USER:-postgres}"
say "  password: ${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is not set in $ENV_FILE}"
say "kubectl:   $(kc_hint) get pods"
