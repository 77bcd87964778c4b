# shellcheck shell=bash
# shellcheck disable=SC2034  # the variables below are used by the scripts sourcing this file
# Shared by the sandbox scripts (sourced, not run). Conventions:
#   DRY_RUN=1   print every command (prefixed "+ ") instead of running it; nothing is
#               created, built, loaded or applied, and docker/kind/kubectl are never called.
#   Settings    CLUSTER_NAME, AIRFLOW_IMAGE, SIM_RATE, DATASURFACE (the CLI) may be overridden.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SANDBOX="$REPO_ROOT/sandbox"
ENV_FILE="${ENV_FILE:-$SANDBOX/.env}"
ENV_EXAMPLE="$SANDBOX/.env.example"
RING0_DIR="${RING0_DIR:-$SANDBOX/.ring0}"
CLUSTER_NAME="${CLUSTER_NAME:-datasurface}"
AIRFLOW_IMAGE="${AIRFLOW_IMAGE:-datasurface/airflow:sandbox}"
SIM_RATE="${SIM_RATE:-2}"
DATASURFACE="${DATASURFACE:-$REPO_ROOT/.venv/bin/datasurface}"
AIRFLOW_URL="http://localhost:8080"
DRY_RUN="${DRY_RUN:-}"

is_dry_run() { [ -n "$DRY_RUN" ] && [ "$DRY_RUN" != "0" ]; }

say() { printf '%s\n' "$*"; }

# run CMD ARGS...: show the command, then run it unless DRY_RUN.
run() {
    printf '+'
    printf ' %q' "$@"
    printf '\n'
    if ! is_dry_run; then
        "$@"
    fi
}

# One line per missing tool, with how to get it. Exit 1 if any is missing (a warning under
# DRY_RUN, so the plan can still be printed on a machine without them).
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
            say "DRY_RUN: continuing without the missing tools (a real run stops here)" >&2
            return 0
        fi
        return 1
    fi
    # Installed is not enough for docker: the daemon must answer.
    if ! is_dry_run && [[ " $* " == *" docker "* ]] && ! docker info >/dev/null 2>&1; then
        say "missing: a running Docker daemon - start Docker Desktop, or 'sudo systemctl start docker'" >&2
        return 1
    fi
}

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
    JOB_IMAGE="${DATASURFACE_JOB_IMAGE:-datasurface/datasurface:latest}"
}
