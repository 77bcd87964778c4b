#!/usr/bin/env bash
# `make preflight` (and the first step of `make up`): everything the sandbox needs, checked
# before anything is created. Each problem is one line: what is wrong, then the fix.
#
#   tools        bash >= 4, docker, kind >= 0.20, kubectl >= 1.27
#   docker       the daemon answers; buildx (BuildKit) present, else the classic builder
#                is used (both Dockerfiles build either way) and a note says how to add it
#   ports        kind-config.yaml's host ports (Airflow 8080, Postgres 15432) are free,
#                unless the sandbox cluster already holds them
#   memory       what Docker may use: 6 GiB, or 3.5 GiB with LOW_RESOURCES=1
#   disk         free space where Docker keeps images: 12 GiB
#
# Sourced by up.sh (preflight sets BUILDKIT for the image builds); run directly, it only checks.
# shellcheck source=sandbox/scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KIND_MIN="0.20.0"
KUBECTL_MIN="1.27.0"
NEED_MEM_GIB="${NEED_MEM_GIB:-$(is_low_resources && echo 3.5 || echo 6)}"
NEED_DISK_GIB="${NEED_DISK_GIB:-12}"
# 1 when `docker buildx` is there; up.sh builds with DOCKER_BUILDKIT=$BUILDKIT.
export BUILDKIT=1

# version_ge A B: A >= B for dotted versions (leading 'v' and suffixes like -beta ignored).
version_ge() {
    local a="${1#v}" b="${2#v}" i x y
    a="${a%%[-+ ]*}"
    b="${b%%[-+ ]*}"
    IFS=. read -r -a av <<<"$a"
    IFS=. read -r -a bv <<<"$b"
    for i in 0 1 2; do
        x="${av[$i]:-0}"
        y="${bv[$i]:-0}"
        x="${x//[^0-9]/}"
        y="${y//[^0-9]/}"
        if [ "${x:-0}" -gt "${y:-0}" ]; then return 0; fi
        if [ "${x:-0}" -lt "${y:-0}" ]; then return 1; fi
    done
    return 0
}

# gib BYTES -> "3.8" (one decimal)
gib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1073741824 }'; }
# below BYTES GIB: BYTES < GIB GiB
below() { awk -v b="$1" -v g="$2" 'BEGIN { exit !(b < g * 1073741824) }'; }

# port_in_use PORT: something accepts connections on 127.0.0.1:PORT.
port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

port_owner() {
    if command -v lsof >/dev/null 2>&1; then
        lsof -nP -iTCP:"$1" -sTCP:LISTEN 2>/dev/null | awk 'NR == 2 { print $1 " (pid " $2 ")" }'
    fi
}

# preflight: print one line per problem to stderr; return 1 if any would stop `make up`.
preflight() {
    local failed=0 out version mem root avail port owner hint cluster_up=0
    # The scripts use bash 4 (associative arrays, mapfile); macOS ships bash 3.2.
    if [ "${BASH_VERSINFO[0]}" -lt 4 ]; then
        warn "bash: version $BASH_VERSION is older than 4 - install a newer bash ('brew install bash') and run 'make up' again"
        return 1
    fi
    if ! check_prereqs docker kind kubectl; then
        return 1
    fi
    if is_dry_run; then
        say "+ preflight: docker daemon and buildx, kind >= $KIND_MIN, kubectl >= $KUBECTL_MIN, ports $(host_ports | tr '\n' ' ')free, ${NEED_MEM_GIB} GiB memory, ${NEED_DISK_GIB} GiB disk"
        return 0
    fi

    # One call for the daemon's version, memory and image folder.
    if ! out="$(docker info --format '{{.ServerVersion}}|{{.MemTotal}}|{{.DockerRootDir}}' 2>&1)"; then
        warn "docker: the daemon does not answer ($(printf '%s' "$out" | head -n 1)) - start Docker Desktop, or 'sudo systemctl start docker' (Linux; add yourself to the 'docker' group to run it without sudo)"
        return 1
    fi
    IFS='|' read -r _ mem root <<<"$out"
    if ! docker buildx version >/dev/null 2>&1; then
        BUILDKIT=0
        warn "note: docker buildx is missing: the images build with Docker's classic builder (slower, still works). To use BuildKit install buildx: 'sudo apt-get install docker-buildx-plugin' (Docker's apt repository), 'brew install docker-buildx', or update Docker Desktop"
    fi

    version="$(kind version 2>/dev/null | awk '{ print $2 }')"
    if ! version_ge "${version:-0}" "$KIND_MIN"; then
        warn "kind: version ${version:-unknown} is older than $KIND_MIN - update it: 'brew upgrade kind', or 'go install sigs.k8s.io/kind@latest'"
        failed=1
    fi
    version="$(kubectl version --client 2>/dev/null | awk '/Client Version/ { print $3 }')"
    if ! version_ge "${version:-0}" "$KUBECTL_MIN"; then
        warn "kubectl: version ${version:-unknown} is older than $KUBECTL_MIN - update it: 'brew upgrade kubectl', or https://kubernetes.io/docs/tasks/tools/"
        failed=1
    fi

    if cluster_exists && cluster_running; then
        cluster_up=1
    fi
    if [ "$cluster_up" -eq 0 ]; then
        # A running sandbox cluster holds its own ports; a new or stopped one needs them free.
        for port in $(host_ports); do
            if port_in_use "$port"; then
                owner="$(port_owner "$port")"
                warn "port $port: in use${owner:+ by $owner} - the kind sandbox maps it (see $KIND_CONFIG); stop what holds it ('make down-local' if it is the local sandbox) and run 'make up' again"
                failed=1
            fi
        done
    fi

    if below "${mem:-0}" "$NEED_MEM_GIB"; then
        if is_low_resources; then
            warn "memory: Docker may use $(gib "$mem") GiB, the sandbox needs ${NEED_MEM_GIB} GiB even with LOW_RESOURCES=1 - give Docker more memory (Docker Desktop: Settings > Resources > Memory) or close other containers"
        else
            warn "memory: Docker may use $(gib "$mem") GiB, the sandbox needs ${NEED_MEM_GIB} GiB - run 'make up LOW_RESOURCES=1' (3.5 GiB, for 8 GB laptops), or give Docker more memory (Docker Desktop: Settings > Resources > Memory)"
        fi
        failed=1
    elif [ "$cluster_up" -eq 0 ] && [ -r /proc/meminfo ] && [ "$(uname -s)" = Linux ]; then
        # Linux: Docker shares the host's memory, so what is free now is what the cluster gets.
        avail="$(awk '/^MemAvailable:/ { print $2 * 1024 }' /proc/meminfo)"
        if [ -n "$avail" ] && below "$avail" "$NEED_MEM_GIB"; then
            hint=""
            is_low_resources || hint=", or run 'make up LOW_RESOURCES=1' (3.5 GiB)"
            warn "memory: $(gib "$avail") GiB free, the sandbox needs ${NEED_MEM_GIB} GiB - close programs$hint"
            failed=1
        fi
    fi

    # Docker Desktop keeps images inside its VM: the host path doesn't exist, so skip.
    if [ -n "$root" ] && [ -d "$root" ]; then
        avail="$(df -Pk "$root" 2>/dev/null | awk 'NR == 2 { print $4 * 1024 }')"
        if [ -n "$avail" ] && below "$avail" "$NEED_DISK_GIB"; then
            warn "disk: $(gib "$avail") GiB free under $root, the sandbox needs ${NEED_DISK_GIB} GiB (images twice: in Docker and on the kind node) - free space ('docker system prune' removes unused images)"
            failed=1
        fi
    fi
    return "$failed"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    if preflight; then
        say "preflight: ok"
    else
        warn "preflight: fix the lines above, then run 'make up'"
        exit 1
    fi
fi
