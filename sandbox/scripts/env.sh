#!/usr/bin/env bash
# Create sandbox/.env from sandbox/.env.example with a random value for every empty
# *_PASSWORD, *_SECRET and *_SECRET_KEY. Credentials naming the same user get the same
# password (they log in as one Postgres role). Values are never printed. Keeps an existing .env.
# shellcheck source=sandbox/scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

random_value() {
    # 32 hex characters: URL- and shell-safe, so it can sit in a connection URL unquoted.
    od -An -tx1 -N16 /dev/urandom | tr -d ' \n'
}

make_env() {
    local out="$1" line key value prefix user
    declare -A by_user=() users=()
    # X_USER values first, so that X_PASSWORD can be matched to its user in one pass.
    mapfile -t lines <"$ENV_EXAMPLE"
    for line in "${lines[@]}"; do
        if [[ "$line" =~ ^([A-Z0-9_]+)_USER=(.+)$ ]]; then
            users[${BASH_REMATCH[1]}]="${BASH_REMATCH[2]}"
        fi
    done
    umask 077
    : >"$out.tmp"
    for line in "${lines[@]}"; do
        key="${line%%=*}"
        value="${line#*=}"
        if [[ "$line" =~ ^[A-Z0-9_]+=$ ]] && [[ "$key" =~ _(PASSWORD|SECRET|SECRET_KEY)$ ]]; then
            value="$(random_value)"
            if [[ "$key" == *_PASSWORD ]]; then
                prefix="${key%_PASSWORD}"
                user="${users[$prefix]:-}"
                if [ -n "$user" ]; then
                    if [ -n "${by_user[$user]:-}" ]; then
                        value="${by_user[$user]}"
                    else
                        by_user[$user]="$value"
                    fi
                fi
            fi
            line="$key=$value"
        fi
        printf '%s\n' "$line" >>"$out.tmp"
    done
    mv "$out.tmp" "$out"
}

if [ -f "$ENV_FILE" ]; then
    say "using $ENV_FILE"
elif is_dry_run; then
    say "+ create $ENV_FILE from $ENV_EXAMPLE with random passwords"
else
    make_env "$ENV_FILE"
    say "created $ENV_FILE from $ENV_EXAMPLE with random passwords (not printed; the file is yours only)"
fi
