#!/usr/bin/env bash
# Run CloudKitty on this machine with the embedded default: SQLite for the
# rules, state and rated data, one process, no other service needed. Installs
# the project into a virtualenv, writes a configuration under .quickstart/,
# creates the database, starts the API and shows what it serves.
#
#   tools/quickstart.sh          # set up and start (idempotent)
#   tools/quickstart.sh stop     # stop the API started here
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${CLOUDKITTY_VENV:-$ROOT/.venv}"
STATE="${CLOUDKITTY_QUICKSTART_DIR:-$ROOT/.quickstart}"
PORT="${CLOUDKITTY_API_PORT:-8889}"
PYTHON="${PYTHON:-python3}"
CONF="$STATE/cloudkitty.conf"
API="http://127.0.0.1:$PORT"

log() { printf '[quickstart] %s\n' "$*" >&2; }

stop_api() {
    if [[ -f "$STATE/api.pid" ]] && kill -0 "$(cat "$STATE/api.pid")" 2>/dev/null; then
        kill "$(cat "$STATE/api.pid")"
        log "API stopped"
    fi
    rm -f "$STATE/api.pid"
}

if [[ "${1:-}" == "stop" ]]; then
    stop_api
    exit 0
fi

if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
mkdir -p "$STATE"
log "installing CloudKitty and the cloudkitty client into $VENV" \
    "(log: $STATE/install.log)"
if ! {
    "$VENV/bin/pip" install -U pip &&
    "$VENV/bin/pip" install -r requirements.txt python-cloudkittyclient &&
    "$VENV/bin/pip" install -e .
} > "$STATE/install.log" 2>&1; then
    tail -n 20 "$STATE/install.log" >&2
    log "installation failed; see $STATE/install.log"
    exit 1
fi

cat > "$CONF" <<CONF
[DEFAULT]
auth_strategy = noauth
api_paste_config = $ROOT/etc/cloudkitty/api_paste.ini
log_file = $STATE/cloudkitty.log

[api]
host_ip = 127.0.0.1
port = $PORT

[database]
connection = sqlite:///$STATE/cloudkitty.sqlite

[collect]
collector = prometheus
metrics_conf = $ROOT/etc/cloudkitty/metrics-prometheus.yml

[collector_prometheus]
prometheus_url = http://127.0.0.1:9090/api/v1

[fetcher]
backend = prometheus

[storage]
backend = sqlalchemy
CONF
log "configuration: $CONF"

log "creating the database schema"
"$VENV/bin/cloudkitty-dbsync" --config-file "$CONF" upgrade
"$VENV/bin/cloudkitty-storage-init" --config-file "$CONF"
printf 'schema revision: %s\n' \
    "$("$VENV/bin/cloudkitty-dbsync" --config-file "$CONF" version)"

stop_api
log "starting the API on $API"
"$VENV/bin/cloudkitty-api" --config-file "$CONF" > "$STATE/api.out" 2>&1 &
echo $! > "$STATE/api.pid"
for _ in $(seq 100); do
    curl -sf -m 2 -o /dev/null "$API/" && break
    kill -0 "$(cat "$STATE/api.pid")" 2>/dev/null \
        || { log "the API exited:"; cat "$STATE/api.out" >&2; exit 1; }
    sleep 0.2
done

show() {
    printf '\n$ %s\n' "$*"
    "$@"
    printf '\n'
}
show curl -s -m 5 "$API/"
show curl -s -m 5 "$API/v1/info/metrics"
show "$VENV/bin/cloudkitty" --os-auth-type none --os-endpoint "$API" \
    info metric list
show "$VENV/bin/cloudkitty" --os-auth-type none --os-endpoint "$API" \
    module list
log "the API keeps running at $API (pid $(cat "$STATE/api.pid"));" \
    "stop it with: tools/quickstart.sh stop"
