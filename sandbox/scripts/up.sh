#!/usr/bin/env bash
# `make up`: the DataSurface sandbox on a local kind cluster.
#
#   preflight -> sandbox/.env -> cluster -> images -> ring 0 manifests -> Secrets and apply
#   -> Postgres -> Airflow metadata migration -> ring 1 (databases, tables, first merge
#   handler) -> simulator and Airflow -> URL and login
#
# Idempotent: a re-run with nothing changed builds, loads, runs and restarts nothing (images
# are tagged by their sources, manifests carry config hashes, a Job whose spec already ran to
# completion is not run again); a change reaches exactly the pods it concerns. Each step
# prints its elapsed time; each wait stops at the first sign of failure and shows why.
# DRY_RUN=1 prints every command instead of running it. LOW_RESOURCES=1: 8 GB laptops.
# shellcheck source=sandbox/scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=sandbox/scripts/preflight.sh
. "$SANDBOX/scripts/preflight.sh"
# shellcheck source=sandbox/scripts/wait.sh
. "$SANDBOX/scripts/wait.sh"
# shellcheck source=sandbox/scripts/images.sh
. "$SANDBOX/scripts/images.sh"

STEPS_TOTAL=9

step "preflight"
if ! preflight; then
    warn "preflight: fix the lines above, then run 'make up' again (nothing was created)"
    exit 1
fi
if [ ! -x "$DATASURFACE" ] && ! is_dry_run; then
    warn "missing: the datasurface CLI at $DATASURFACE - run 'make venv'"
    exit 1
fi
say "    resources: $RESOURCE_PROFILE$(is_low_resources && echo ' (LOW_RESOURCES=1)')"

bash "$SANDBOX/scripts/env.sh"
load_env

step "cluster $CLUSTER_NAME"
if is_dry_run || ! cluster_exists; then
    # --kubeconfig: kind writes the credentials to the sandbox's own file and leaves the
    # user's ~/.kube/config and current context alone.
    run kind create cluster --name "$CLUSTER_NAME" --config "$KIND_CONFIG" \
        --kubeconfig "$KUBECONFIG_FILE" --wait "${TIMEOUT_CLUSTER}s"
else
    if ! cluster_running; then
        say "    cluster $CLUSTER_NAME is stopped ('make down'): starting it, with its data"
        # shellcheck disable=SC2046  # one word per node name
        run docker start $(cluster_nodes)
    else
        say "    cluster $CLUSTER_NAME exists: reusing it"
    fi
    # Refresh the sandbox's kubeconfig (the API server's port can change on a restart).
    run kind export kubeconfig --name "$CLUSTER_NAME" --kubeconfig "$KUBECONFIG_FILE"
fi
if ! is_dry_run; then
    chmod 600 "$KUBECONFIG_FILE"
    t0=$SECONDS
    until kq get --raw /readyz >/dev/null 2>&1; do
        if [ $((SECONDS - t0)) -ge "$TIMEOUT_CLUSTER" ]; then
            warn "ERROR: the cluster's API server did not answer within ${TIMEOUT_CLUSTER}s - see 'docker logs $CLUSTER_NAME-control-plane'; 'make down PURGE=1' then 'make up' starts afresh"
            exit 1
        fi
        sleep "$POLL_SECONDS"
    done
fi

step "images (tagged by their sources)"
JOB_IMAGE="$JOB_IMAGE_REPO:$(source_tag "$REPO_ROOT/Dockerfile.datasurface")"
AIRFLOW_IMAGE="$AIRFLOW_IMAGE_REPO:$(source_tag "$SANDBOX/Dockerfile.airflow")"
say "    job image $JOB_IMAGE, Airflow image $AIRFLOW_IMAGE"
build_image "$REPO_ROOT/Dockerfile.datasurface" "$JOB_IMAGE"
build_image "$SANDBOX/Dockerfile.airflow" "$AIRFLOW_IMAGE"
load_images "$JOB_IMAGE" "$AIRFLOW_IMAGE"

step "ring 0: render the manifests"
# The model reads its job image from DATASURFACE_JOB_IMAGE: the content tag, so job pods run
# the code just built.
export DATASURFACE_JOB_IMAGE="$JOB_IMAGE"
run rm -rf "$RING0_DIR"
run "$DATASURFACE" bootstrap --ring 0 --model "$MODEL_DIR" --out "$RING0_DIR" \
    --env-file "$ENV_FILE" --airflow-image "$AIRFLOW_IMAGE" --simulator-rate "$SIM_RATE" \
    --resources "$RESOURCE_PROFILE"

step "Secrets and manifests"
APPLY_LOG="$(mktemp)"
trap 'rc=$?; rm -f "$APPLY_LOG"; on_exit "$rc"' EXIT
# apply_logged ARGS...: kubectl apply, its output shown and kept (created/configured/unchanged).
apply_logged() {
    kc apply "$@" | tee -a "$APPLY_LOG" | sed '/^+ /!s/^/    /'
}
apply_logged -f "$RING0_DIR/00-namespace.yaml"
# The script reads the values from the environment (sandbox/.env, loaded above): neither
# this log nor kubectl's argv ever shows them.
run env KUBECONFIG="$KUBECONFIG_FILE" CONTEXT="kind-$CLUSTER_NAME" NAMESPACE="$NAMESPACE" \
    bash "$RING0_DIR/create-secrets.sh" | tee -a "$APPLY_LOG" | sed '/^+ /!s/^/    /'
# Server-side: the model's files may exceed client-side apply's 256 KiB annotation.
apply_logged --server-side --force-conflicts -f "$RING0_DIR/server-side/"
apply_logged -f "$RING0_DIR/"

step "Postgres"
wait_rollout statefulset/postgres "app.kubernetes.io/name=postgres" "$TIMEOUT_POSTGRES"

# run_job NAME FILE: run the Job unless one with the same spec already completed (its
# spec-hash annotation, written by ring 0, says which spec ran); Jobs are immutable, so a
# changed one is deleted (with its pods) and created again.
run_job() {
    local name="$1" file="$2" want have
    want="$(sed -n 's/^[[:space:]]*datasurface\.io\/spec-hash:[[:space:]]*\([0-9a-f]*\).*/\1/p' "$file" 2>/dev/null | head -n 1 || true)"
    if ! is_dry_run; then
        have="$(kq get job "$name" -o jsonpath='{.metadata.annotations.datasurface\.io/spec-hash} {.status.succeeded}' 2>/dev/null || true)"
        if [ -n "$want" ] && [ "$have" = "$want 1" ]; then
            say "    job/$name: this spec already completed: not run again"
            return 0
        fi
    fi
    kc delete job "$name" --ignore-not-found --cascade=foreground
    kc apply -f "$file"
    wait_job "$name" "$TIMEOUT_JOB"
}

step "Airflow metadata database"
run_job airflow-db-migrate "$RING0_DIR/jobs/airflow-db-migrate.yaml"

step "ring 1: merge databases, tables, first merge handler"
run_job datasurface-ring1 "$RING0_DIR/jobs/ring1.yaml"

step "simulator and Airflow"
apply_logged -f "$RING0_DIR/apps/simulator.yaml"
if grep -q '^secret/.* configured$' "$APPLY_LOG"; then
    # A changed Secret changes no pod template: restart the Deployments (they all read
    # credentials); those whose template changed are rolling already.
    while read -r deployment; do
        kc rollout restart "deployment/$deployment"
    done < <(sed -n 's#^deployment.apps/\(.*\) unchanged$#\1#p' "$APPLY_LOG")
fi
if ! is_dry_run; then
    changed="$(grep -cE ' (created|configured)$' "$APPLY_LOG" || true)"
    say "    $changed object(s) created or changed"
fi
for deployment in airflow-api-server airflow-scheduler airflow-dag-processor airflow-triggerer datasurface-simulator; do
    wait_rollout "deployment/$deployment" "app.kubernetes.io/name=$deployment" "$TIMEOUT_AIRFLOW"
done
# A task in a missing pool is never scheduled: create (or resize) the pack DAGs' pools, one
# per merge database, from the config rows ring 1 wrote. Idempotent.
kc exec deployment/airflow-scheduler -- python -m datasurface.platforms.yellow.airflow.pools
prune_old_images "$JOB_IMAGE" "$AIRFLOW_IMAGE"
steps_done

say ""
if is_dry_run; then
    say "DRY_RUN: nothing was run. A real run ends with:"
fi
say "DataSurface sandbox is up ($(fmt_secs $((SECONDS - UP_T0)))). 'make creds' prints the logins."
say "  Airflow:    $(airflow_url)   login: admin"
say "  Postgres:   localhost:15432"
say "  kubectl:    $(kc_hint) get pods"
say "  make status | make logs | make creds | make down (keeps data) | make down PURGE=1 (deletes it)"
