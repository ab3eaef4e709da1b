#!/usr/bin/env bash
# Run CloudKitty's whole test suite on this machine: install the project in
# a virtualenv, start the real services the functional tests talk to, build
# the upstream CloudKitty virtualenv the adoption tests use, then run the
# unit and functional tests. Arguments are passed to pytest.
#
#   tools/run-tests.sh                  # everything
#   tools/run-tests.sh -k storage      # a subset
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${CLOUDKITTY_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"

log() { printf '[run-tests] %s\n' "$*" >&2; }

if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
log "installing CloudKitty and test requirements into $VENV" \
    "(log: $VENV/install.log)"
if ! {
    "$VENV/bin/pip" install -U pip &&
    "$VENV/bin/pip" install -r requirements.txt -r test-requirements.txt &&
    "$VENV/bin/pip" install -e .
} > "$VENV/install.log" 2>&1; then
    tail -n 20 "$VENV/install.log" >&2
    log "installation failed; see $VENV/install.log"
    exit 1
fi

# Debian packages some tests drive: shellcheck (devstack plugin lint),
# Chromium and its driver (Horizon panel check).
need_packages() {
    local missing=()
    command -v shellcheck >/dev/null || missing+=(shellcheck)
    command -v chromium >/dev/null || missing+=(chromium)
    command -v chromedriver >/dev/null || missing+=(chromium-driver)
    (( ${#missing[@]} )) || return 0
    log "installing ${missing[*]} (log: $VENV/apt.log)"
    if ! { apt-get update -qq &&
           apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
            > "$VENV/apt.log" 2>&1; then
        tail -n 20 "$VENV/apt.log" >&2
        log "could not install ${missing[*]}; see $VENV/apt.log"
        exit 1
    fi
}
need_packages

log "starting services"
tools/services.sh start postgresql mariadb redis etcd rabbitmq influxdb prometheus gnocchi keystone
set -a
eval "$(tools/services.sh env)"
set +a

log "preparing the upstream CloudKitty 25.0 virtualenv (adoption tests)"
tools/upstream-venv.sh
export CLOUDKITTY_REQUIRE_UPSTREAM=1

log "preparing the Horizon + cloudkitty-dashboard virtualenv (Horizon panel check)"
tools/horizon-venv.sh > /dev/null
# Every service is started above: a test must not skip for want of one.
export CLOUDKITTY_REQUIRE_SERVICES=1

export PATH="$VENV/bin:$PATH"
log "running the tests"
exec "$VENV/bin/python" -m pytest -n 2 -p no:cacheprovider \
    cloudkitty/tests "$@"
