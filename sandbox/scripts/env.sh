#!/usr/bin/env bash
# Create sandbox/.env from sandbox/.env.example with a random value for every empty
# *_PASSWORD, *_SECRET and *_SECRET_KEY. Credentials naming the same user get the same
# password (they log in as one Postgres role). Values are never printed. Keeps an existing .env.
# shellcheck source=sandbox/scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# JWT signing key: Airflow signs with HS512, for which PyJWT warns on every token below a
# 64-byte key. 64 random bytes, as 128 hex characters.
JWT_BYTES=64

# random_value [BYTES]: hex of BYTES random bytes (default 16: 32 characters). Hex is URL-
# and shell-safe, so it can sit in a connection URL unquoted.
random_value() {
    od -An -tx1 -N"${1:-16}" /dev/urandom | tr -d ' \n'
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
            if [[ "$key" == *_JWT_SECRET ]]; then
                value="$(random_value "$JWT_BYTES")"
            else
                value="$(random_value)"
            fi
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

# upgrade_jwt FILE: an .env from an older `make up` may hold a 32-character JWT key:
# replace any *_JWT_SECRET shorter than 64 bytes (every Airflow pod restarts with the new
# Secret; existing logins just sign in again).
upgrade_jwt() {
    local file="$1" line key value changed=0
    mapfile -t lines <"$file"
    umask 077
    : >"$file.tmp"
    for line in "${lines[@]}"; do
        key="${line%%=*}"
        value="${line#*=}"
        if [[ "$line" == *=* ]] && [[ "$key" =~ ^[A-Z0-9_]*_JWT_SECRET$ ]] && [ "${#value}" -lt 64 ]; then
            line="$key=$(random_value "$JWT_BYTES")"
            changed=1
            say "$key in $file was shorter than 64 bytes: replaced with a new random key"
        fi
        printf '%s\n' "$line" >>"$file.tmp"
    done
    if [ "$changed" -eq 1 ]; then
        chmod 600 "$file.tmp"
        mv "$file.tmp" "$file"
    else
        rm -f "$file.tmp"
    fi
}

if [ -f "$ENV_FILE" ]; then
    say "using $ENV_FILE"
    if ! is_dry_run; then
        upgrade_jwt "$ENV_FILE"
    fi
elif is_dry_run; then
    say "+ create $ENV_FILE from $ENV_EXAMPLE with random passwords"
else
    make_env "$ENV_FILE"
    say "created $ENV_FILE from $ENV_EXAMPLE with random passwords (not printed; the file is yours only)"
fi
