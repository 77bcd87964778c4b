#!/usr/bin/env bash
# `make status`: the sandbox cluster, its pods, jobs, services and volumes.
# shellcheck source=sandbox/scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

check_prereqs kind kubectl || exit 1
load_env
if ! is_dry_run && ! kind get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME"; then
    say "no kind cluster named $CLUSTER_NAME: run 'make up'"
    exit 1
fi
run kubectl --context "kind-$CLUSTER_NAME" -n "$NAMESPACE" get pods,jobs,deployments,statefulsets,services,pvc
say "Airflow: $AIRFLOW_URL"
