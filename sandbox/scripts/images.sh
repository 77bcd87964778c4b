# shellcheck shell=bash
# The sandbox's two images, tagged by content (sourced after lib.sh).
#
# The tag is `src-` + 12 hex digits of SHA-256 over the Dockerfile and every file Docker
# sends as the build context (IMAGE_SOURCES, which the root .dockerignore lets through).
# Same sources, same tag: a re-run finds the image built and loaded, the manifests don't
# change, and nothing restarts. A changed source is a new tag: the pod templates change and
# Kubernetes rolls the pods, so a re-run never leaves Airflow on old code.

# GNU coreutils, or macOS's shasum: both print "<hex>  <path>".
if command -v sha256sum >/dev/null 2>&1; then
    SHA256=(sha256sum)
else
    SHA256=(shasum -a 256)
fi

# source_tag DOCKERFILE: the content tag of the image built from it.
source_tag() {
    local dockerfile="$1" digest
    digest="$(
        cd "$REPO_ROOT" || exit 1
        {
            "${SHA256[@]}" "${dockerfile#"$REPO_ROOT"/}"
            find "${IMAGE_SOURCES[@]}" -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 |
                LC_ALL=C sort -z | xargs -0 "${SHA256[@]}"
        } | "${SHA256[@]}" | cut -c1-12
    )"
    printf 'src-%s' "$digest"
}

# build_image DOCKERFILE IMAGE: build unless Docker has it already (same tag = same sources).
# BUILDKIT (from preflight) picks BuildKit or the classic builder; both build these files.
build_image() {
    local dockerfile="$1" image="$2"
    if ! is_dry_run && docker image inspect "$image" >/dev/null 2>&1; then
        say "    $image: already built from these sources"
        return 0
    fi
    run env DOCKER_BUILDKIT="${BUILDKIT:-1}" docker build -f "$dockerfile" -t "$image" "$REPO_ROOT"
}

# load_images IMAGE...: onto the kind node. kind compares image IDs and skips what the node
# already has, so a re-run copies nothing.
load_images() {
    run kind load docker-image "$@" --name "$CLUSTER_NAME"
}

# prune_old_images REPO...: remove the previous src-* tags of these repositories from the
# node and from Docker, keeping the current ones (the node's disk fills with a 1 GB Airflow
# image per change otherwise). An image still used by a running pod stays (crictl refuses).
prune_old_images() {
    local keep=" $* " node ref repo image
    if is_dry_run; then
        say "+ remove older src-* tags of $(printf '%s ' "${@%:*}")from the kind node and Docker"
        return 0
    fi
    for node in $(cluster_nodes); do
        while read -r repo ref; do
            [ -n "$ref" ] || continue
            # The node lists docker.io/<repo>; compare without the registry prefix.
            if [[ "$keep" != *" ${repo#docker.io/}:$ref "* ]]; then
                docker exec "$node" crictl rmi "$repo:$ref" >/dev/null 2>&1 || true
            fi
        done < <(docker exec "$node" crictl images 2>/dev/null | awk -v repos=" ${*%:*} " '
            NR > 1 && $2 ~ /^src-/ { r = $1; sub(/^docker\.io\//, "", r); if (index(repos, " " r " ")) print $1, $2 }')
    done
    for image in "$@"; do
        repo="${image%:*}"
        while read -r ref; do
            if [ -n "$ref" ] && [[ "$keep" != *" $ref "* ]]; then
                docker image rm "$ref" >/dev/null 2>&1 || true
            fi
        done < <(docker image ls "$repo" --format '{{.Repository}}:{{.Tag}}' 2>/dev/null | grep ':src-' || true)
    done
}
