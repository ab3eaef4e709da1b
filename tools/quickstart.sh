#!/usr/bin/env bash
# Run CloudKitty on this machine with the embedded default and sample data:
#
#   * installs CloudKitty and python-cloudkittyclient into a virtualenv;
#   * starts a Prometheus of its own (port 19090, data under .quickstart/)
#     backfilled with a day of OpenStack-like history for a few projects;
#   * starts the API (port 8889) and the processor: SQLite storage, file
#     locks, in-process messaging (transport_url = fake://);
#   * loads the price list etc/cloudkitty/quickstart-prices.txt with the
#     cloudkitty client, waits until the processor has rated the history
#     and prints the costs per project and per service.
#
#   tools/quickstart.sh          # set up, start and report (idempotent)
#   tools/quickstart.sh stop     # stop the API, processor and Prometheus
#
# A second run reuses the installation, the data and the running services.
# Environment: CLOUDKITTY_VENV (virtualenv, default .venv),
# CLOUDKITTY_QUICKSTART_DIR (state, default .quickstart),
# CLOUDKITTY_API_PORT (8889), CLOUDKITTY_PROMETHEUS_PORT (19090),
# CLOUDKITTY_QUICKSTART_PROJECTS (4), CLOUDKITTY_QUICKSTART_HISTORY (26h),
# CLOUDKITTY_QUICKSTART_TIMEOUT (seconds to wait for the processor, 600).
# See doc/source/install/quickstart.rst.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${CLOUDKITTY_VENV:-$ROOT/.venv}"
STATE="$(realpath -m "${CLOUDKITTY_QUICKSTART_DIR:-$ROOT/.quickstart}")"
PORT="${CLOUDKITTY_API_PORT:-8889}"
PROM_PORT="${CLOUDKITTY_PROMETHEUS_PORT:-19090}"
PROJECTS="${CLOUDKITTY_QUICKSTART_PROJECTS:-4}"
HISTORY="${CLOUDKITTY_QUICKSTART_HISTORY:-26h}"
TIMEOUT="${CLOUDKITTY_QUICKSTART_TIMEOUT:-600}"
PYTHON="${PYTHON:-python3}"
PRICES="$ROOT/etc/cloudkitty/quickstart-prices.txt"
CONF="$STATE/cloudkitty.conf"
API="http://127.0.0.1:$PORT"
PROM="http://127.0.0.1:$PROM_PORT"
PERIOD=3600
WAIT_PERIODS=2

log() { printf '[quickstart] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# -- processes: pid files, health, start, stop --------------------------------

# The pid in $STATE/NAME.pid when that process still runs this state's
# configuration (a recycled pid of another program does not count).
running_pid() {
    local file="$STATE/$1.pid" pid
    [[ -f "$file" ]] || return 1
    pid="$(cat "$file")"
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF "$STATE/" \
        || return 1
    printf '%s\n' "$pid"
}

# start NAME COMMAND...: in a session of its own (so stop ends its children
# too), detached from this shell, output in $STATE/NAME.log.
start() {
    local name="$1"
    shift
    setsid "$@" >> "$STATE/$name.log" 2>&1 < /dev/null &
    echo $! > "$STATE/$name.pid"
}

stop_one() {
    local name="$1" pid
    if pid="$(running_pid "$name")"; then
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 150); do
            kill -0 -- "-$pid" 2>/dev/null || break
            sleep 0.2
        done
        if kill -0 -- "-$pid" 2>/dev/null; then
            kill -KILL -- "-$pid" 2>/dev/null || true
        fi
        log "$name stopped (pid $pid)"
    fi
    rm -f "$STATE/$name.pid"
}

# wait_http NAME URL: until URL answers, or fail if NAME exited.
wait_http() {
    local name="$1" url="$2"
    for _ in $(seq 300); do
        curl -sf -m 2 -o /dev/null "$url" && return 0
        running_pid "$name" > /dev/null || {
            tail -n 30 "$STATE/$name.log" >&2
            die "$name exited; log: $STATE/$name.log"
        }
        sleep 0.2
    done
    die "$name did not answer on $url; log: $STATE/$name.log"
}

if [[ "${1:-}" == "stop" ]]; then
    stop_one processor
    stop_one api
    stop_one prometheus
    log "stopped; the data stays in $STATE (delete it to start afresh)"
    exit 0
elif [[ $# -gt 0 ]]; then
    die "usage: $0 [stop]"
fi

mkdir -p "$STATE"

# apt_install PACKAGE...: Debian packages the quickstart needs (as root).
apt_install() {
    log "installing the Debian package(s) $* (log: $STATE/apt.log)"
    if ! { apt-get update &&
           DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"; } \
        >> "$STATE/apt.log" 2>&1; then
        tail -n 20 "$STATE/apt.log" >&2
        die "apt-get install $* failed (run as root?); log: $STATE/apt.log"
    fi
}

# -- 1. install ---------------------------------------------------------------

command -v curl > /dev/null || apt_install curl
# The package's own service (port 9090, when an init system starts it) is
# left as the package set it up: the quickstart runs its own instance.
if ! command -v prometheus > /dev/null || ! command -v promtool > /dev/null
then
    apt_install prometheus
fi

if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating $VENV"
    if ! "$PYTHON" -m venv "$VENV" > "$STATE/venv.log" 2>&1; then
        rm -rf "$VENV"
        apt_install python3-venv
        "$PYTHON" -m venv "$VENV" || die "cannot create $VENV"
    fi
fi
# The stamp names the requirements last found satisfied in $VENV: while
# they are unchanged (and the commands are there), nothing is checked again.
STAMP="$STATE/install.stamp"
WANT="$(cat requirements.txt setup.cfg pyproject.toml | sha256sum | cut -c1-16) $VENV"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" &&
      -x "$VENV/bin/cloudkitty-api" && -x "$VENV/bin/cloudkitty" ]] ||
    "$VENV/bin/python" tools/quickstart_helper.py installed \
        requirements.txt "$ROOT" 2> /dev/null
then
    log "CloudKitty and the cloudkitty client already installed in $VENV"
else
    log "installing CloudKitty and the cloudkitty client into $VENV" \
        "(log: $STATE/install.log)"
    if ! {
        "$VENV/bin/pip" install -U pip packaging &&
        "$VENV/bin/pip" install -r requirements.txt python-cloudkittyclient &&
        "$VENV/bin/pip" install -e .
    } > "$STATE/install.log" 2>&1; then
        tail -n 20 "$STATE/install.log" >&2
        die "installation failed; see $STATE/install.log"
    fi
fi
echo "$WANT" > "$STAMP"
helper() { "$VENV/bin/python" "$ROOT/tools/quickstart_helper.py" "$@"; }

# -- 2. Prometheus with sample history ---------------------------------------

MANIFEST="$STATE/sample/manifest.json"
if [[ ! -f "$MANIFEST" ]]; then
    log "generating $HISTORY of sample history for $PROJECTS projects"
    rm -rf "$STATE/sample" "$STATE/prometheus"
    mkdir -p "$STATE/sample" "$STATE/prometheus/data"
    "$VENV/bin/python" tools/sample-data/gen_openmetrics.py \
        --projects "$PROJECTS" --duration "$HISTORY" --step 60 \
        --out "$STATE/sample/history.om" --manifest "$MANIFEST.tmp"
    log "backfilling the Prometheus data directory (promtool)"
    promtool tsdb create-blocks-from openmetrics \
        "$STATE/sample/history.om" "$STATE/prometheus/data" \
        > "$STATE/sample/promtool.log" 2>&1 ||
        { tail -n 20 "$STATE/sample/promtool.log" >&2; die "promtool failed"; }
    rm -f "$STATE/sample/history.om"
    mv "$MANIFEST.tmp" "$MANIFEST"
fi
read -r -a SAMPLE <<< "$(helper sample "$MANIFEST" "$PERIOD")"
FIRST="${SAMPLE[-1]}"
unset 'SAMPLE[-1]'
SOURCES="$(IFS=,; echo "${SAMPLE[*]}")"

if running_pid prometheus > /dev/null &&
    curl -sf -m 2 -o /dev/null "$PROM/-/ready"; then
    log "Prometheus already running on $PROM"
else
    stop_one prometheus
    cat > "$STATE/prometheus/prometheus.yml" <<YML
# The quickstart's Prometheus only serves the backfilled sample history.
global:
  scrape_interval: 1h
scrape_configs: []
YML
    log "starting Prometheus on $PROM (data: $STATE/prometheus/data)"
    start prometheus prometheus \
        "--config.file=$STATE/prometheus/prometheus.yml" \
        "--storage.tsdb.path=$STATE/prometheus/data" \
        --storage.tsdb.retention.time=3650d \
        "--web.listen-address=127.0.0.1:$PROM_PORT"
    wait_http prometheus "$PROM/-/ready"
fi

# -- 3. configuration and database --------------------------------------------

mkdir -p "$STATE/locks"
cat > "$CONF.new" <<CONF
# Written by tools/quickstart.sh: everything on this machine, no other
# service than the quickstart's own Prometheus.
[DEFAULT]
auth_strategy = noauth
api_paste_config = $ROOT/etc/cloudkitty/api_paste.ini
transport_url = fake://

[api]
host_ip = 127.0.0.1
port = $PORT

[database]
connection = sqlite:///$STATE/cloudkitty.sqlite

[storage]
backend = sqlalchemy

[collect]
collector = prometheus
metrics_conf = $ROOT/etc/cloudkitty/metrics-prometheus.yml
period = $PERIOD
wait_periods = $WAIT_PERIODS

[collector_prometheus]
prometheus_url = $PROM/api/v1

[fetcher]
backend = source

[fetcher_source]
sources = $SOURCES

[orchestrator]
coordination_url = file://$STATE/locks
CONF
CHANGED=1
if [[ -f "$CONF" ]] && cmp -s "$CONF" "$CONF.new"; then
    CHANGED=0
    rm -f "$CONF.new"
else
    mv "$CONF.new" "$CONF"
fi
log "configuration: $CONF"

"$VENV/bin/cloudkitty-dbsync" --config-file "$CONF" upgrade \
    > "$STATE/dbsync.log" 2>&1 ||
    { cat "$STATE/dbsync.log" >&2; die "cloudkitty-dbsync upgrade failed"; }
"$VENV/bin/cloudkitty-storage-init" --config-file "$CONF" \
    >> "$STATE/dbsync.log" 2>&1 ||
    { cat "$STATE/dbsync.log" >&2; die "cloudkitty-storage-init failed"; }
log "database: $STATE/cloudkitty.sqlite (schema up to date)"

# -- 4. the API ----------------------------------------------------------------

if [[ "$CHANGED" == 0 ]] && running_pid api > /dev/null &&
    curl -sf -m 2 -o /dev/null "$API/"; then
    log "API already running on $API"
else
    stop_one api
    log "starting the API on $API"
    start api "$VENV/bin/cloudkitty-api" --config-file "$CONF"
    wait_http api "$API/"
fi

# -- 5. price list and scopes -------------------------------------------------

PRICE_STAMP="$STATE/prices.stamp"
PRICE_SUM="$(sha256sum < "$PRICES" | cut -c1-16)"
if [[ -f "$PRICE_STAMP" && "$(cat "$PRICE_STAMP")" == "$PRICE_SUM" ]]; then
    log "price list already loaded ($PRICES)"
else
    log "loading the price list $PRICES with the cloudkitty client"
    helper prices "$PRICES" "$API" "$STATE/cloudkitty.sqlite" \
        "$MANIFEST" "$PERIOD" || die "loading the price list failed"
    echo "$PRICE_SUM" > "$PRICE_STAMP"
fi
helper register "$API" "$MANIFEST" "$PERIOD" || die "registering the scopes failed"

# -- 6. the processor ------------------------------------------------------------

if [[ "$CHANGED" == 0 ]] && running_pid processor > /dev/null; then
    log "processor already running"
else
    stop_one processor
    log "starting the processor"
    start processor "$VENV/bin/cloudkitty-processor" --config-file "$CONF"
fi
log "waiting for the processor to rate the sample history" \
    "(log: $STATE/processor.log)"
if ! helper progress "$API" "$MANIFEST" "$PERIOD" "$WAIT_PERIODS" "$TIMEOUT" \
    --pid-file "$STATE/processor.pid"
then
    running_pid processor > /dev/null ||
        { tail -n 30 "$STATE/processor.log" >&2; die "the processor exited"; }
    die "the processor has not caught up; log: $STATE/processor.log"
fi

# -- 7. the costs -----------------------------------------------------------------

END="$(date -u +%Y-%m-%dT%H:00:00Z)"
ck() {
    "$VENV/bin/cloudkitty" --os-auth-type cloudkitty-noauth \
        --os-endpoint "$API" "$@"
}
show() {
    printf '\n%s\n$ cloudkitty %s\n' "$1" "${*:2}"
    ck "${@:2}"
}
show "Cost per project (rated from $FIRST to $END):" \
    summary get -g project_id -b "$FIRST" -e "$END"
show "Cost per service:" summary get -g type -b "$FIRST" -e "$END"
show "Total:" summary get -b "$FIRST" -e "$END"

cat <<EOF

CloudKitty is running:
  API         $API  (pid $(running_pid api), log $STATE/api.log)
  processor   pid $(running_pid processor), log $STATE/processor.log
  Prometheus  $PROM  (pid $(running_pid prometheus), data $STATE/prometheus)
  config      $CONF
Try:  $VENV/bin/cloudkitty --os-auth-type cloudkitty-noauth --os-endpoint $API hashmap service list
Stop everything with:  ${CLOUDKITTY_QUICKSTART_DIR:+CLOUDKITTY_QUICKSTART_DIR=$STATE }tools/quickstart.sh stop
EOF
