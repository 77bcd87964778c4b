#!/usr/bin/env bash
# `make down`: delete the sandbox's kind cluster (and with it every pod and volume).
# sandbox/.env is kept, so the next `make up` reuses the same passwords.
# shellcheck source=sandbox/scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

check_prereqs kind || exit 1
run kind delete cluster --name "$CLUSTER_NAME"
say "kept $ENV_FILE (delete it to get new passwords on the next 'make up')"
