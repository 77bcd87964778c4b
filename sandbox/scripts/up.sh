#!/usr/bin/env bash
# `make up`: the DataSurface sandbox on a local kind cluster.
#   prerequisites -> sandbox/.env -> cluster -> images -> ring 0 -> Secrets -> apply
#   -> Airflow metadata migration -> ring 1 (databases, tables, first merge handler)
#   -> simulator -> Airflow URL and login
# DRY_RUN=1 prints every command instead of running it.
# shellcheck source=sandbox/scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

check_prereqs docker kind kubectl || exit 1
if [ ! -x "$DATASURFACE" ] && ! is_dry_run; then
    say "missing: the datasurface CLI at $DATASURFACE - run 'make venv'" >&2
    exit 1
fi

bash "$SANDBOX/scripts/env.sh"
load_env

# kubectl with the sandbox's context and namespace.
kc() { run kubectl --context "kind-$CLUSTER_NAME" -n "$NAMESPACE" "$@"; }

# run_job NAME FILE: Jobs are immutable, so replace the previous run, then wait for it.
run_job() {
    kc delete job "$1" --ignore-not-found
    kc apply -f "$2"
    kc wait --for=condition=complete "job/$1" --timeout=900s
}

say "== cluster $CLUSTER_NAME"
if ! is_dry_run && kind get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME"; then
    say "cluster $CLUSTER_NAME exists: reusing it"
else
    run kind create cluster --name "$CLUSTER_NAME" --config "$SANDBOX/kind-config.yaml" --wait 120s
fi

say "== images"
run docker build -f "$REPO_ROOT/Dockerfile.datasurface" -t "$JOB_IMAGE" "$REPO_ROOT"
run docker build -f "$SANDBOX/Dockerfile.airflow" -t "$AIRFLOW_IMAGE" "$REPO_ROOT"
run kind load docker-image "$JOB_IMAGE" "$AIRFLOW_IMAGE" --name "$CLUSTER_NAME"

say "== ring 0: manifests"
run rm -rf "$RING0_DIR"
run "$DATASURFACE" bootstrap --ring 0 --model "$SANDBOX/model" --out "$RING0_DIR" \
    --env-file "$ENV_FILE" --airflow-image "$AIRFLOW_IMAGE" --simulator-rate "$SIM_RATE"
run kubectl --context "kind-$CLUSTER_NAME" apply -f "$RING0_DIR/00-namespace.yaml"
# The script reads the values from the environment (sandbox/.env, loaded above): neither
# this log nor kubectl's argv ever shows them.
run env CONTEXT="kind-$CLUSTER_NAME" NAMESPACE="$NAMESPACE" bash "$RING0_DIR/create-secrets.sh"
kc apply -f "$RING0_DIR/"
kc rollout status statefulset/postgres --timeout=300s

say "== Airflow metadata database"
run_job airflow-db-migrate "$RING0_DIR/jobs/airflow-db-migrate.yaml"

say "== ring 1: merge databases, tables, first merge handler"
run_job datasurface-ring1 "$RING0_DIR/jobs/ring1.yaml"

say "== simulator and Airflow"
kc apply -f "$RING0_DIR/apps/simulator.yaml"
kc rollout status deployment/airflow-api-server --timeout=600s

say ""
if is_dry_run; then
    say "DRY_RUN: nothing was run. A real run ends with:"
fi
say "DataSurface sandbox is up."
say "  Airflow:  $AIRFLOW_URL   login: admin, password: AIRFLOW_ADMIN_PASSWORD in $ENV_FILE"
say "  Postgres: localhost:15432 (user and password: POSTGRES_USER / POSTGRES_PASSWORD in $ENV_FILE)"
say "  make status | make logs | make down"
