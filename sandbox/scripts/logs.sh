#!/usr/bin/env bash
# `make logs`: recent logs of each sandbox component; `make logs C=airflow-scheduler` follows one.
# shellcheck source=sandbox/scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

check_prereqs kubectl || exit 1
load_env

if [ -n "${C:-}" ]; then
    kc logs -f --all-containers --tail=200 "deployment/$C"
    exit 0
fi
for target in statefulset/postgres deployment/airflow-api-server deployment/airflow-scheduler \
    deployment/airflow-dag-processor deployment/airflow-triggerer deployment/datasurface-simulator \
    job/datasurface-ring1; do
    say "== $target"
    # A component that isn't there (yet) is reported, not fatal.
    kc logs --all-containers --tail=50 "$target" || say "(no logs for $target)"
done
