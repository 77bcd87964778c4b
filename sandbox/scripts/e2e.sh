#!/usr/bin/env bash
# The kind sandbox end to end, as .github/workflows/kind-e2e.yml runs it (and anyone with
# Docker and internet access can): `bash sandbox/scripts/e2e.sh`.
#
#   1. make up
#   2. wait until a stream's batch is COMMITTED in the merge database
#   3. query a consumer view
#   4. make up again: nothing may change (no object created or changed, no Job re-run, no
#      Deployment/StatefulSet generation bumped, no pod replaced or restarted)
#   5. make down (keeps the data), make up: the committed batches are still there
#   6. make down PURGE=1 (unless E2E_KEEP=1)
#
# Settings (defaults fit sandbox/model): E2E_MERGE_DB, E2E_BATCH_TABLE, E2E_VIEW,
# E2E_TIMEOUT_BATCH (seconds), E2E_KEEP=1 (leave the cluster up), E2E_MAKE (the make command).
# shellcheck source=sandbox/scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The make command, split into words (tests add options): run from the repository root.
read -r -a MAKE_CMD <<<"${E2E_MAKE:-make}"
cd "$REPO_ROOT"
E2E_MERGE_DB="${E2E_MERGE_DB:-datasurface_merge}"
E2E_BATCH_TABLE="${E2E_BATCH_TABLE:-yellowforensic__batch_metrics}"
E2E_VIEW="${E2E_VIEW:-yellowforensic__consumer1__views.forensicdsg__store1__customers__vh}"
E2E_TIMEOUT_BATCH="${E2E_TIMEOUT_BATCH:-900}"
E2E_KEEP="${E2E_KEEP:-}"
COMPONENTS="postgres,airflow-api-server,airflow-scheduler,airflow-dag-processor,airflow-triggerer,datasurface-simulator"
STEPS_TOTAL=6

# sql QUERY: run it in the merge database with psql inside the Postgres pod (local socket).
sql() {
    kq exec statefulset/postgres -c postgres -- \
        sh -c "psql -v ON_ERROR_STOP=1 -U \"\$POSTGRES_USER\" -d '$E2E_MERGE_DB' -tAc \"\$0\"" "$1"
}

committed_batches() {
    sql "SELECT count(*) FROM $E2E_BATCH_TABLE WHERE state = 'COMMITTED'" 2>/dev/null | tr -d '[:space:]'
}

# What must not change on a re-run: the long-running pods (name and restart counts) and the
# generation of every Deployment and StatefulSet (bumped by any template change or restart).
snapshot() {
    kq get pods -l "app.kubernetes.io/name in ($COMPONENTS)" \
        -o jsonpath='{range .items[*]}{.metadata.name}{" restarts="}{range .status.containerStatuses[*]}{.restartCount}{","}{end}{"\n"}{end}' |
        LC_ALL=C sort
    kq get deployments,statefulsets \
        -o jsonpath='{range .items[*]}{.kind}/{.metadata.name}{" generation="}{.metadata.generation}{"\n"}{end}' |
        LC_ALL=C sort
}

up_log="$(mktemp)"
trap 'rc=$?; rm -f "$up_log"; on_exit "$rc"' EXIT
load_env

step "make up"
"${MAKE_CMD[@]}" up

step "a stream's batch committed in $E2E_MERGE_DB"
t0=$SECONDS
until [ "$(committed_batches)" -ge 1 ] 2>/dev/null; do
    if [ $((SECONDS - t0)) -ge "$E2E_TIMEOUT_BATCH" ]; then
        warn "ERROR: no COMMITTED batch in $E2E_MERGE_DB.$E2E_BATCH_TABLE after ${E2E_TIMEOUT_BATCH}s"
        "${MAKE_CMD[@]}" status >&2 || true
        exit 1
    fi
    sleep "$POLL_SECONDS"
done
batches="$(committed_batches)"
say "    $batches committed batch(es) after $(fmt_secs $((SECONDS - t0)))"

step "query the consumer view $E2E_VIEW"
rows="$(sql "SELECT count(*) FROM $E2E_VIEW" | tr -d '[:space:]')"
say "    $E2E_VIEW: $rows row(s)"

step "make up again changes nothing"
before="$(snapshot)"
"${MAKE_CMD[@]}" up | tee "$up_log"
after="$(snapshot)"
if [ "$before" != "$after" ]; then
    warn "ERROR: the re-run changed the cluster:"
    diff <(printf '%s\n' "$before") <(printf '%s\n' "$after") >&2 || true
    exit 1
fi
if ! grep -q ' 0 object(s) created or changed' "$up_log"; then
    warn "ERROR: the re-run created or changed objects: $(grep -E ' (created|configured)$' "$up_log" | tr '\n' ' ')"
    exit 1
fi
if [ "$(grep -c 'already completed: not run again' "$up_log")" -ne 2 ]; then
    warn "ERROR: the re-run ran a Job again"
    exit 1
fi
say "    nothing restarted, re-created or re-run"

step "make down keeps the data"
"${MAKE_CMD[@]}" down
"${MAKE_CMD[@]}" up
kept="$(committed_batches)"
if [ "${kept:-0}" -lt "$batches" ]; then
    warn "ERROR: $batches committed batch(es) before 'make down', ${kept:-none} after 'make up'"
    exit 1
fi
say "    $kept committed batch(es) after down and up (had $batches)"

step "make down PURGE=1"
if [ -n "$E2E_KEEP" ]; then
    say "    E2E_KEEP set: the cluster stays up"
else
    "${MAKE_CMD[@]}" down PURGE=1
fi
steps_done
say ""
say "e2e: ok ($(fmt_secs $((SECONDS - UP_T0))))"
