#!/usr/bin/env bash
# `make down`: stop the sandbox, keeping its data. The kind node's container is stopped, not
# removed: every volume (Postgres, the models folder) stays, and the next `make up` starts it
# again and finds everything as it was.
# `make down PURGE=1`: delete the cluster with all its data, and the sandbox's kubeconfig.
# sandbox/.env is kept either way, so passwords stay the same (delete it by hand for new ones).
# shellcheck source=sandbox/scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PURGE="${PURGE:-}"
check_prereqs docker kind || exit 1

if [ -n "$PURGE" ] && [ "$PURGE" != "0" ]; then
    run kind delete cluster --name "$CLUSTER_NAME" --kubeconfig "$KUBECONFIG_FILE"
    run rm -f "$KUBECONFIG_FILE"
    say "deleted cluster $CLUSTER_NAME and all its data (Postgres, models volume); kept $ENV_FILE"
    exit 0
fi

if ! is_dry_run && ! cluster_exists; then
    say "no kind cluster named $CLUSTER_NAME: nothing to stop"
    exit 0
fi
if is_dry_run; then
    run docker stop "$CLUSTER_NAME-control-plane"
else
    # shellcheck disable=SC2046  # one word per node name
    run docker stop $(cluster_nodes)
fi
say "stopped cluster $CLUSTER_NAME; its data is kept. 'make up' starts it again; 'make down PURGE=1' deletes it and its data"
