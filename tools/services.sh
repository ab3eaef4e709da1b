#!/usr/bin/env bash
# Start the real services CloudKitty's tests and quickstart talk to, when
# they are not already running; install them (Debian packages, PyPI) when
# they are missing. Idempotent: a running service is left alone.
#
#   tools/services.sh start [postgresql mariadb redis etcd rabbitmq influxdb
#                            prometheus gnocchi keystone ...]   (default: all)
#   tools/services.sh stop  [names...]   stops only what this script started
#   tools/services.sh env                prints the variables tests read
#
# State (data dirs, logs, pid files, service venvs) lives in
# $CLOUDKITTY_SERVICES_DIR (default /tmp/ck-services). Everything listens on
# 127.0.0.1 only.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TEMPLATES="$HERE/services"
S="${CLOUDKITTY_SERVICES_DIR:-/tmp/ck-services}"
PYTHON="${PYTHON:-python3}"
mkdir -p "$S"

log() { printf '[services] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

listening() { ss -ltn 2>/dev/null | awk '{print $4}' | grep -qE "(^|:|\])$1\$"; }

wait_for() {  # wait_for NAME SECONDS COMMAND...
    local name=$1 secs=$2; shift 2
    local deadline=$((SECONDS + secs))
    until "$@" >/dev/null 2>&1; do
        if (( SECONDS >= deadline )); then
            die "$name did not become ready within ${secs}s (logs under $S)"
        fi
        sleep 0.2
    done
}

APT_UPDATED=""
apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    (( ${#missing[@]} )) || return 0
    if [[ -z "$APT_UPDATED" ]]; then
        log "apt-get update"
        apt-get update -qq >/dev/null
        APT_UPDATED=1
    fi
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends "${missing[@]}" >/dev/null
}

render() {  # render TEMPLATE DEST
    sed "s#@STATE@#$S#g" "$TEMPLATES/$1" > "$2"
}

save_pid() { echo "$2" > "$S/$1.pid"; }

# --- PostgreSQL -----------------------------------------------------------
start_postgresql() {
    if listening 5432; then log "postgresql: already running"; return; fi
    apt_install postgresql
    local version
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
    wait_for postgresql 30 pg_isready -q -h 127.0.0.1
    touch "$S/postgresql.started"
    if ! psql -h 127.0.0.1 -U postgres -tAc 'SELECT 1' >/dev/null 2>&1; then
        # Tests log in as postgres over loopback without a password, as on
        # the developer machines; allow exactly that.
        local hba="/etc/postgresql/$version/main/pg_hba.conf"
        sed -i '1i host all postgres 127.0.0.1/32 trust' "$hba"
        pg_ctlcluster --skip-systemctl-redirect "$version" main reload
    fi
    log "postgresql: started"
}
stop_postgresql() {
    [[ -f "$S/postgresql.started" ]] || return 0
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main stop || true
    rm -f "$S/postgresql.started"
}

# --- MariaDB --------------------------------------------------------------
start_mariadb() {
    if listening 3306; then log "mariadb: already running"; return; fi
    apt_install mariadb-server
    mkdir -p "$S/mariadb"
    chown mysql:mysql "$S/mariadb"
    render mariadb.cnf "$S/mariadb/my.cnf"
    if [[ ! -d "$S/mariadb/data/mysql" ]]; then
        mariadb-install-db --defaults-file="$S/mariadb/my.cnf" \
            --auth-root-authentication-method=socket >/dev/null
    fi
    mariadbd --defaults-file="$S/mariadb/my.cnf" > "$S/mariadb/out.log" 2>&1 &
    save_pid mariadb $!
    wait_for mariadb 60 mariadb-admin --defaults-file="$S/mariadb/my.cnf" ping
    # Tests log in as root over loopback without a password, as on the
    # developer machines.
    mariadb --defaults-file="$S/mariadb/my.cnf" -e \
        "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
         GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;"
    log "mariadb: started"
}

# --- Redis ----------------------------------------------------------------
start_redis() {
    if listening 6379; then log "redis: already running"; return; fi
    apt_install redis-server
    mkdir -p "$S/redis"
    redis-server --bind 127.0.0.1 --port 6379 --save '' --appendonly no \
        --dir "$S/redis" > "$S/redis/log" 2>&1 &
    save_pid redis $!
    wait_for redis 20 sh -c 'redis-cli -h 127.0.0.1 ping | grep -q PONG'
    log "redis: started"
}

# --- etcd (a tooz lock backend: coordination_url = etcd3+http://...) -----
start_etcd() {
    if listening 2379; then log "etcd: already running"; return; fi
    apt_install etcd-server
    mkdir -p "$S/etcd"
    etcd --name ck-test --data-dir "$S/etcd/data" \
        --listen-client-urls http://127.0.0.1:2379 \
        --advertise-client-urls http://127.0.0.1:2379 \
        --listen-peer-urls http://127.0.0.1:2380 \
        --initial-advertise-peer-urls http://127.0.0.1:2380 \
        --initial-cluster ck-test=http://127.0.0.1:2380 \
        > "$S/etcd/log" 2>&1 &
    save_pid etcd $!
    wait_for etcd 30 curl -sf -m 2 -o /dev/null http://127.0.0.1:2379/health
    log "etcd: started"
}

# --- RabbitMQ -------------------------------------------------------------
start_rabbitmq() {
    if listening 5672; then log "rabbitmq: already running"; return; fi
    apt_install rabbitmq-server
    [[ -f /etc/rabbitmq/rabbitmq-env.conf ]] || \
        cp "$TEMPLATES/rabbitmq-env.conf" /etc/rabbitmq/rabbitmq-env.conf
    rabbitmq-server -detached
    wait_for rabbitmq 90 rabbitmqctl await_startup
    touch "$S/rabbitmq.started"
    log "rabbitmq: started"
}
stop_rabbitmq() {
    [[ -f "$S/rabbitmq.started" ]] || return 0
    rabbitmqctl stop >/dev/null 2>&1 || true
    rm -f "$S/rabbitmq.started"
}

# --- InfluxDB 1.x ---------------------------------------------------------
start_influxdb() {
    if listening 8086; then log "influxdb: already running"; return; fi
    apt_install influxdb
    mkdir -p "$S/influx"
    render influxdb.conf "$S/influx/influxdb.conf"
    influxd -config "$S/influx/influxdb.conf" > "$S/influx/log" 2>&1 &
    save_pid influxdb $!
    wait_for influxdb 30 curl -sf -m 2 -o /dev/null http://127.0.0.1:8086/ping
    log "influxdb: started"
}

# --- Prometheus (data is backfilled by the tests and the quickstart) ------
start_prometheus() {
    local port="${CLOUDKITTY_PROMETHEUS_PORT:-9090}"
    if listening "$port"; then log "prometheus: already running"; return; fi
    apt_install prometheus
    mkdir -p "$S/prom/data"
    render prometheus.yml "$S/prom/prometheus.yml"
    prometheus --config.file="$S/prom/prometheus.yml" \
        --storage.tsdb.path="$S/prom/data" \
        --storage.tsdb.retention.time=3650d \
        --web.enable-admin-api \
        --web.listen-address="127.0.0.1:$port" > "$S/prom/log" 2>&1 &
    save_pid prometheus $!
    wait_for prometheus 30 curl -sf -m 2 -o /dev/null "http://127.0.0.1:$port/-/ready"
    log "prometheus: started on $port"
}

# --- Gnocchi (PyPI, own venv; needs PostgreSQL and Redis) -----------------
# Two API processes share one indexer and storage: basic auth on 8041 (user
# admin) and Keystone auth on $GNOCCHI_KEYSTONE_PORT, registered in the
# Keystone below as the "metric" service.
GNOCCHI_KEYSTONE_PORT="${CLOUDKITTY_GNOCCHI_KEYSTONE_PORT:-8042}"
GNOCCHI_SERVICE_PASSWORD="${CLOUDKITTY_GNOCCHI_SERVICE_PASSWORD:-gnocchi-secret}"
KEYSTONE_URL=http://127.0.0.1:5000/v3
KEYSTONE_ADMIN_PASSWORD="${CLOUDKITTY_KEYSTONE_ADMIN_PASSWORD:-admin-secret}"

gnocchi_venv() {
    local venv="$S/venv-gnocchi"
    if [[ ! -x "$venv/bin/gnocchi-upgrade" ]]; then
        apt_install libpq-dev
        log "gnocchi: installing into $venv"
        "$PYTHON" -m venv "$venv"
        "$venv/bin/pip" install -q "gnocchi[postgresql,file,keystone]==4.7.1" uwsgi redis \
            > "$S/gnocchi-pip.log" 2>&1
    elif ! "$venv/bin/python" -c 'import keystonemiddleware' 2>/dev/null; then
        # A venv made before the Keystone-mode API existed.
        log "gnocchi: adding keystonemiddleware to $venv"
        "$venv/bin/pip" install -q "keystonemiddleware>=4.0.0,!=4.19.0" \
            >> "$S/gnocchi-pip.log" 2>&1
    fi
}

start_gnocchi() {
    gnocchi_venv
    local venv="$S/venv-gnocchi"
    if listening 8041; then
        log "gnocchi: already running"
    else
        start_postgresql
        start_redis
        mkdir -p "$S/gnocchi/storage"
        render gnocchi.conf "$S/gnocchi/gnocchi.conf"
        psql_admin "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='gnocchi')
                    THEN CREATE ROLE gnocchi LOGIN PASSWORD 'gnocchi'; END IF; END\$\$;"
        if ! psql_admin_q "SELECT 1 FROM pg_database WHERE datname='gnocchi'" | grep -q 1; then
            psql_admin "CREATE DATABASE gnocchi OWNER gnocchi"
        fi
        "$venv/bin/gnocchi-upgrade" --config-file "$S/gnocchi/gnocchi.conf" > "$S/gnocchi/upgrade.log" 2>&1
        "$venv/bin/uwsgi" --http 127.0.0.1:8041 --master --die-on-term --processes 1 \
            --threads 4 --enable-threads --lazy-apps --chdir / -H "$venv" \
            --wsgi gnocchi.rest.wsgi --pyargv "--config-file $S/gnocchi/gnocchi.conf" \
            > "$S/gnocchi/api.log" 2>&1 &
        save_pid gnocchi-api $!
        "$venv/bin/gnocchi-metricd" --config-file "$S/gnocchi/gnocchi.conf" \
            > "$S/gnocchi/metricd.log" 2>&1 &
        save_pid gnocchi-metricd $!
        wait_for gnocchi 60 http_is 200 http://127.0.0.1:8041/
        log "gnocchi: started (basic auth, user admin)"
    fi
    start_gnocchi_keystone
    if listening 5000; then register_gnocchi_in_keystone; fi
}

start_gnocchi_keystone() {  # the second API process, in Keystone mode
    local venv="$S/venv-gnocchi" port="$GNOCCHI_KEYSTONE_PORT"
    if listening "$port"; then log "gnocchi (keystone auth): already running on $port"; return; fi
    [[ -f "$S/gnocchi/gnocchi.conf" ]] || \
        die "gnocchi (keystone auth) shares the indexer of the basic-auth API, but $S/gnocchi/gnocchi.conf is missing (port 8041 is held by another process?)"
    render gnocchi-keystone.conf "$S/gnocchi/gnocchi-keystone.conf"
    sed -i -e "s#@KEYSTONE_URL@#$KEYSTONE_URL#g" \
        -e "s#@SERVICE_PASSWORD@#$GNOCCHI_SERVICE_PASSWORD#g" "$S/gnocchi/gnocchi-keystone.conf"
    # Gnocchi's paste file, its auth_token filter reading our file.
    local paste
    paste=$("$venv/bin/python" -c 'import gnocchi.rest, os; print(os.path.join(os.path.dirname(gnocchi.rest.__file__), "api-paste.ini"))')
    sed "/^\[filter:keystone_authtoken\]/a oslo_config_file = $S/gnocchi/gnocchi-keystone.conf" \
        "$paste" > "$S/gnocchi/api-paste-keystone.ini"
    "$venv/bin/uwsgi" --http "127.0.0.1:$port" --master --die-on-term --processes 1 \
        --threads 4 --enable-threads --lazy-apps --chdir / -H "$venv" \
        --wsgi gnocchi.rest.wsgi \
        --pyargv "--config-file $S/gnocchi/gnocchi.conf --config-file $S/gnocchi/gnocchi-keystone.conf" \
        > "$S/gnocchi/api-keystone.log" 2>&1 &
    save_pid gnocchi-api-keystone $!
    # "/" lists the versions without a token; /v1 must ask for one.
    wait_for "gnocchi (keystone auth)" 60 http_is 200 "http://127.0.0.1:$port/"
    wait_for "gnocchi (keystone auth)" 10 http_is 401 "http://127.0.0.1:$port/v1/resource/generic"
    log "gnocchi (keystone auth): started on $port"
}

register_gnocchi_in_keystone() {
    # Once per run of this script; every step is idempotent.
    [[ -z "${GNOCCHI_REGISTERED:-}" ]] || return 0
    local python="$S/venv-keystone/bin/python"   # both venvs have keystoneauth1
    [[ -x "$python" ]] || python="$S/venv-gnocchi/bin/python"
    if [[ ! -x "$python" ]]; then
        log "keystone: not ours and no venv with keystoneauth1; metric service not registered"
        return 0
    fi
    "$python" "$TEMPLATES/keystone_gnocchi.py" "$KEYSTONE_URL" "$KEYSTONE_ADMIN_PASSWORD" \
        "http://127.0.0.1:$GNOCCHI_KEYSTONE_PORT" "$GNOCCHI_SERVICE_PASSWORD" \
        > "$S/keystone-gnocchi.log" 2>&1 \
        || die "registering Gnocchi in Keystone failed (see $S/keystone-gnocchi.log)"
    GNOCCHI_REGISTERED=1
    log "keystone: metric service -> http://127.0.0.1:$GNOCCHI_KEYSTONE_PORT (user gnocchi)"
}
http_is() {  # http_is CODE URL: the URL answers with that status
    [ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$2")" = "$1" ]
}
psql_admin() { su postgres -c "psql -h 127.0.0.1 -qc \"$1\"" >/dev/null 2>&1 || psql -h 127.0.0.1 -U postgres -qc "$1" >/dev/null; }
psql_admin_q() { psql -h 127.0.0.1 -U postgres -tAc "$1" 2>/dev/null || su postgres -c "psql -tAc \"$1\""; }

# --- Keystone (PyPI, own venv, SQLite, gunicorn) ---------------------------
start_keystone() {
    if listening 5000; then
        log "keystone: already running"
    else
        run_keystone
    fi
    # The metric service is registered even when Gnocchi is not started:
    # catalog entries are just data.
    register_gnocchi_in_keystone
}
run_keystone() {
    local venv="$S/venv-keystone"
    if [[ ! -x "$venv/bin/keystone-manage" ]]; then
        log "keystone: installing into $venv"
        "$PYTHON" -m venv "$venv"
        "$venv/bin/pip" install -q "keystone==30.0.0" gunicorn > "$S/keystone-pip.log" 2>&1
    fi
    mkdir -p "$S/keystone"
    render keystone.conf "$S/keystone/keystone.conf"
    cp "$TEMPLATES/keystone-gunicorn.conf.py" "$S/keystone/gunicorn.conf.py"
    if [[ ! -f "$S/keystone/keystone.db" ]]; then
        local k="$venv/bin/keystone-manage --config-file $S/keystone/keystone.conf"
        $k db_sync
        $k fernet_setup --keystone-user root --keystone-group root
        $k credential_setup --keystone-user root --keystone-group root
        $k bootstrap --bootstrap-password "$KEYSTONE_ADMIN_PASSWORD" \
            --bootstrap-region-id RegionOne \
            --bootstrap-admin-url http://127.0.0.1:5000/v3 \
            --bootstrap-public-url http://127.0.0.1:5000/v3 \
            --bootstrap-internal-url http://127.0.0.1:5000/v3
    fi > "$S/keystone/setup.log" 2>&1
    (cd "$S/keystone" && OS_KEYSTONE_CONFIG_DIR="$S/keystone" exec "$venv/bin/gunicorn") \
        > "$S/keystone/log" 2>&1 &
    save_pid keystone $!
    wait_for keystone 60 http_is 200 "$KEYSTONE_URL"
    log "keystone: started (admin / $KEYSTONE_ADMIN_PASSWORD)"
}

ALL=(postgresql mariadb redis etcd rabbitmq influxdb prometheus gnocchi keystone)

stop_by_pid() {
    local name=$1 pidfile="$S/$1.pid"
    [[ -f "$pidfile" ]] || return 0
    local pid
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
    log "$name: stopped"
}

cmd=${1:-start}; shift || true
names=("$@"); (( ${#names[@]} )) || names=("${ALL[@]}")
case "$cmd" in
    start)
        for name in "${names[@]}"; do
            case " ${ALL[*]} " in *" $name "*) ;; *) die "unknown service '$name' (known: ${ALL[*]})";; esac
            "start_$name"
        done
        ;;
    stop)
        for name in "${names[@]}"; do
            case "$name" in
                postgresql) stop_postgresql ;;
                rabbitmq) stop_rabbitmq ;;
                gnocchi) stop_by_pid gnocchi-metricd; stop_by_pid gnocchi-api-keystone
                         stop_by_pid gnocchi-api ;;
                *) stop_by_pid "$name" ;;
            esac
        done
        ;;
    env)
        cat <<EOF
CLOUDKITTY_TEST_POSTGRESQL_URL=postgresql+psycopg2://postgres@127.0.0.1:5432/postgres
CLOUDKITTY_TEST_MYSQL_URL=mysql+pymysql://root@127.0.0.1:3306/?charset=utf8mb4
CLOUDKITTY_TEST_RABBIT_URL=rabbit://guest:guest@127.0.0.1:5672/
CLOUDKITTY_TEST_REDIS_URL=redis://127.0.0.1:6379
CLOUDKITTY_TEST_ETCD_URL=etcd3+http://127.0.0.1:2379
CLOUDKITTY_TEST_INFLUXDB_URL=http://127.0.0.1:8086
CLOUDKITTY_TEST_PROMETHEUS_URL=http://127.0.0.1:${CLOUDKITTY_PROMETHEUS_PORT:-9090}
CLOUDKITTY_TEST_GNOCCHI_URL=http://127.0.0.1:8041
CLOUDKITTY_TEST_GNOCCHI_KEYSTONE_URL=http://127.0.0.1:$GNOCCHI_KEYSTONE_PORT
CLOUDKITTY_TEST_KEYSTONE_URL=$KEYSTONE_URL
EOF
        ;;
    *) die "usage: $0 start|stop|env [service...]" ;;
esac
