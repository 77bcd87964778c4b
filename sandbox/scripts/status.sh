#!/usr/bin/env bash
# `make status`: the sandbox cluster, its pods, jobs, services and volumes.
# shellcheck source=sandbox/scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

check_prereqs docker kind kubectl || exit 1
load_env
if ! is_dry_run; then
    if ! cluster_exists; then
        say "no kind cluster named $CLUSTER_NAME: run 'make up'"
        exit 1
    fi
    if ! cluster_running; then
        say "cluster $CLUSTER_NAME is stopped ('make down' keeps its data): run 'make up' to start it"
        exit 1
    fi
fi
kc get pods,jobs,deployments,statefulsets,services,pvc
say "Airflow: $(airflow_url)   ('make creds' prints the logins)"
