# shellcheck shell=bash
# shellcheck disable=SC2034  # the variables below are used by the scripts sourcing this file
# Shared by the sandbox scripts (sourced, not run). Conventions:
#   DRY_RUN=1   print every command (prefixed "+ ") instead of running it; nothing is
#               created, built, loaded or applied, and docker/kind/kubectl are never called.
#   Settings    CLUSTER_NAME, SIM_RATE, DATASURFACE (the CLI), LOW_RESOURCES, timeouts and
#               the files below may be overridden from the environment.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SANDBOX="$REPO_ROOT/sandbox"
ENV_FILE="${ENV_FILE:-$SANDBOX/.env}"
ENV_EXAMPLE="$SANDBOX/.env.example"
RING0_DIR="${RING0_DIR:-$SANDBOX/.ring0}"
KIND_CONFIG="${KIND_CONFIG:-$SANDBOX/kind-config.yaml}"
MODEL_DIR="${MODEL_DIR:-$SANDBOX/model}"
# The sandbox's own kubeconfig: kind writes the cluster's credentials here, never into
# ~/.kube/config, so the user's current kubectl context is never switched.
KUBECONFIG_FILE="${KUBECONFIG_FILE:-$SANDBOX/.kubeconfig}"
CLUSTER_NAME="${CLUSTER_NAME:-datasurface}"
AIRFLOW_IMAGE_REPO="${AIRFLOW_IMAGE_REPO:-datasurface/airflow}"
DATASURFACE="${DATASURFACE:-$REPO_ROOT/.venv/bin/datasurface}"
DRY_RUN="${DRY_RUN:-}"
LOW_RESOURCES="${LOW_RESOURCES:-}"
# Seconds between status polls, and the longest each wait may take.
POLL_SECONDS="${POLL_SECONDS:-2}"
TIMEOUT_CLUSTER="${TIMEOUT_CLUSTER:-180}"
TIMEOUT_POSTGRES="${TIMEOUT_POSTGRES:-300}"
TIMEOUT_JOB="${TIMEOUT_JOB:-900}"
TIMEOUT_AIRFLOW="${TIMEOUT_AIRFLOW:-600}"
# Log lines shown of a failing pod.
LOG_LINES="${LOG_LINES:-40}"
# Files that go into both images: the `!` entries of the root .dockerignore (a test keeps
# the two lists equal). Their content is the images' tag, so a changed source is a new tag.
IMAGE_SOURCES=(pyproject.toml README.md datasurface simulator)

is_dry_run() { [ -n "$DRY_RUN" ] && [ "$DRY_RUN" != "0" ]; }
is_low_resources() { [ -n "$LOW_RESOURCES" ] && [ "$LOW_RESOURCES" != "0" ]; }

if is_low_resources; then
    SIM_RATE="${SIM_RATE:-0.5}"
    RESOURCE_PROFILE=low
else
    SIM_RATE="${SIM_RATE:-2}"
    RESOURCE_PROFILE=standard
fi

say() { printf '%s\n' "$*"; }
warn() { printf '%s\n' "$*" >&2; }

# run CMD ARGS...: show the command, then run it unless DRY_RUN.
run() {
    printf '+'
    printf ' %q' "$@"
    printf '\n'
    if ! is_dry_run; then
        "$@"
    fi
}

# fmt_secs N: 75 -> 1m15s
fmt_secs() {
    local s="$1"
    if [ "$s" -ge 60 ]; then
        printf '%dm%02ds' $((s / 60)) $((s % 60))
    else
        printf '%ds' "$s"
    fi
}

# kubectl for the sandbox: its own kubeconfig and context, its namespace. `kc` shows the
# command (and honours DRY_RUN); `kq` runs quietly (status polls); `kc_hint` is the command
# prefix to print for the user.
kubectl_args() {
    printf '%s\n' --kubeconfig "$KUBECONFIG_FILE" --context "kind-$CLUSTER_NAME" -n "${NAMESPACE:-datasurface}"
}
kc() {
    local args
    mapfile -t args < <(kubectl_args)
    run kubectl "${args[@]}" "$@"
}
kq() {
    local args
    mapfile -t args < <(kubectl_args)
    kubectl "${args[@]}" "$@"
}
kc_hint() {
    printf 'kubectl --kubeconfig %q --context kind-%s -n %s' "$KUBECONFIG_FILE" "$CLUSTER_NAME" "${NAMESPACE:-datasurface}"
}

# Progress: `step TITLE` closes the previous step with its elapsed time and opens the next;
# `steps_done` closes the last. A failure exit names the step it stopped in (trap below).
UP_T0=$SECONDS
STEP_NO=0
STEP_T0=""
STEP_TITLE=""
STEPS_TOTAL="${STEPS_TOTAL:-?}"

step_close() {
    if [ -n "$STEP_T0" ]; then
        say "    ok: $STEP_TITLE ($(fmt_secs $((SECONDS - STEP_T0))), total $(fmt_secs $((SECONDS - UP_T0))))"
        STEP_T0=""
    fi
}
step() {
    step_close
    STEP_NO=$((STEP_NO + 1))
    STEP_T0=$SECONDS
    STEP_TITLE="$*"
    say ""
    say "==> [$STEP_NO/$STEPS_TOTAL] $*"
}
steps_done() { step_close; STEP_TITLE=""; }

# on_exit RC: the EXIT trap. RC is passed in: `$?` can't be re-created inside a trap
# under `set -e` (a failing `(exit RC)` would end the trap early).
on_exit() {
    local rc="$1"
    if [ "$rc" -ne 0 ] && [ -n "$STEP_TITLE" ]; then
        warn ""
        warn "STOPPED at step [$STEP_NO/$STEPS_TOTAL] $STEP_TITLE after $(fmt_secs $((SECONDS - STEP_T0))) (total $(fmt_secs $((SECONDS - UP_T0)))); exit $rc"
        warn "Fix the cause above, then run the same command again: finished steps are not redone."
    fi
}
trap 'on_exit $?' EXIT

# Export the settings of sandbox/.env (or of .env.example when it doesn't exist yet, under
# DRY_RUN: the names are all the plan needs). Never prints a value.
load_env() {
    local file="$ENV_FILE"
    if [ ! -f "$file" ]; then
        file="$ENV_EXAMPLE"
    fi
    set -a
    # shellcheck disable=SC1090
    . "$file"
    set +a
    NAMESPACE="${DATASURFACE_NAMESPACE:-datasurface}"
    # The job image's repository: the .env setting without its tag (a registry host may
    # carry a :port, so only a last ':' after the last '/' starts a tag).
    local image="${DATASURFACE_JOB_IMAGE:-datasurface/datasurface:latest}"
    if [[ "${image##*/}" == *:* ]]; then
        JOB_IMAGE_REPO="${image%:*}"
    else
        JOB_IMAGE_REPO="$image"
    fi
}

# The host ports kind maps (kind-config.yaml's hostPort entries): one source of truth.
host_ports() {
    sed -n 's/^[[:space:]]*hostPort:[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$KIND_CONFIG"
}

# The Airflow URL: the host port mapped to the api-server's node port (30080).
airflow_url() {
    local port
    port="$(awk '/containerPort: 30080/{getline; gsub(/[^0-9]/, ""); print; exit}' "$KIND_CONFIG")"
    printf 'http://localhost:%s' "${port:-8080}"
}

cluster_exists() { kind get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME"; }
cluster_nodes() { kind get nodes --name "$CLUSTER_NAME" 2>/dev/null; }
# cluster_running: every node container of the cluster is running (`make down` stops them).
cluster_running() {
    local node state any=1
    for node in $(cluster_nodes); do
        any=0
        state="$(docker inspect -f '{{.State.Running}}' "$node" 2>/dev/null || echo false)"
        [ "$state" = true ] || return 1
    done
    return "$any"
}

# check_prereqs TOOL...: one line per missing tool, with how to get it. Exit 1 if any is
# missing (a warning under DRY_RUN, so the plan can still be printed on a machine without them).
check_prereqs() {
    local missing=0 tool
    for tool in "$@"; do
        if command -v "$tool" >/dev/null 2>&1; then
            continue
        fi
        missing=1
        case "$tool" in
            docker) say "missing: docker - install Docker Engine (Linux) or Docker Desktop (macOS, Windows): https://docs.docker.com/get-docker/" ;;
            kind) say "missing: kind - install kind 0.20 or newer: 'brew install kind', or 'go install sigs.k8s.io/kind@latest', or a binary from https://kind.sigs.k8s.io/docs/user/quick-start/#installation" ;;
            kubectl) say "missing: kubectl - install it: 'brew install kubectl', or see https://kubernetes.io/docs/tasks/tools/" ;;
            *) say "missing: $tool - install it and put it on PATH" ;;
        esac
    done >&2
    if [ "$missing" -eq 1 ]; then
        if is_dry_run; then
            warn "DRY_RUN: continuing without the missing tools (a real run stops here)"
            return 0
        fi
        return 1
    fi
}
