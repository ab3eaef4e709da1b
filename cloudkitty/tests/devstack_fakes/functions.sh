# shellcheck shell=bash
# A stand-in for the DevStack helpers devstack/plugin.sh calls, so its
# phases can run on a machine without DevStack.
#
# Every helper appends one line to $FAKE_DEVSTACK_LOG: its name and its
# arguments, separated by the ASCII unit separator (0x1f). Helpers that
# write configuration (iniset, write_uwsgi_config...) write real ini files;
# helpers that talk to services (Keystone, databases, packages) only record
# and print made-up ids. Commands the plugin runs from the Python bin
# directory are stub scripts that record the same way (see fake_make_bin).
#
# Test knobs (environment):
#   FAKE_DEVSTACK_LOG   the call log (required)
#   FAKE_BIN_DIR        what get_python_exec_prefix prints
#   FAKE_BIN_STUBS      1: create recording stubs in FAKE_BIN_DIR
#   FAKE_DATABASE_URL   what database_connection_url prints
#   FAKE_IS_UBUNTU      0: is_ubuntu fails
#   FAKE_REAL_CURL      1: curl also runs for real after recording
#   FAKE_WAIT_FAIL      wait_for_service fails for URLs containing it
#   ENABLED_SERVICES    comma-separated, as in DevStack
#   LIBS_FROM_GIT       comma-separated, as in DevStack

: "${FAKE_DEVSTACK_LOG:?FAKE_DEVSTACK_LOG must name the call log}"

# DevStack's globals, with values a test may override.
: "${DEST:=/opt/stack}"
: "${DATA_DIR:=$DEST/data}"
: "${GIT_BASE:=https://opendev.org}"
: "${SERVICE_HOST:=192.0.2.10}"
: "${SERVICE_PROTOCOL:=http}"
: "${SERVICE_LISTEN_ADDRESS:=0.0.0.0}"
: "${SERVICE_PASSWORD:=secretservice}"
: "${SERVICE_PROJECT_NAME:=service}"
: "${SERVICE_DOMAIN_NAME:=Default}"
: "${SERVICE_TIMEOUT:=60}"
: "${REGION_NAME:=RegionOne}"
: "${KEYSTONE_SERVICE_URI:=$SERVICE_PROTOCOL://$SERVICE_HOST/identity}"
: "${STACK_USER:=$(id -un)}"
: "${ENABLE_DEBUG_LOG_LEVEL:=True}"
: "${HORIZON_DIR:=$DEST/horizon}"
: "${TEMPEST_CONFIG:=$DEST/tempest/etc/tempest.conf}"
: "${RABBIT_USERID:=stackrabbit}"
: "${RABBIT_PASSWORD:=secretrabbit}"
: "${ENABLED_SERVICES:=key,mysql,rabbit,horizon}"
: "${LIBS_FROM_GIT:=}"
# shellcheck disable=SC2034  # filled by the plugin's settings
declare -A GITREPO GITBRANCH GITDIR

# enable_service refuses what local.conf disabled, as DevStack's does.
function enable_service {
    local service
    for service in "$@"; do
        if [[ ",${DISABLED_SERVICES:-}," == *",$service,"* ]]; then
            continue
        fi
        if ! is_service_enabled "$service"; then
            ENABLED_SERVICES+=",$service"
        fi
    done
}

function fake_record {
    local IFS=$'\x1f'
    printf '%s\n' "$*" >> "$FAKE_DEVSTACK_LOG"
}

# fake_make_bin: recording stubs for the commands of the Python bin
# directory the plugin runs.
function fake_make_bin {
    local name
    mkdir -p "$FAKE_BIN_DIR"
    for name in cloudkitty-api cloudkitty-dbsync cloudkitty-processor \
            cloudkitty-storage-init oslopolicy-sample-generator uwsgi; do
        cat > "$FAKE_BIN_DIR/$name" <<'EOF'
#!/usr/bin/env bash
# Recording stub written by devstack_fakes/functions.sh.
line=${0##*/}
for arg in "$@"; do
    line+=$'\x1f'$arg
done
printf '%s\n' "$line" >> "$FAKE_DEVSTACK_LOG"
EOF
        chmod +x "$FAKE_BIN_DIR/$name"
    done
}

# _fake_ini_set <file> <section> <option> <value>: set one option, adding
# the section or the option where missing.
function _fake_ini_set {
    local file=$1
    [[ -e "$file" ]] || : > "$file"
    S="$2" O="$3" V="$4" awk '
        function emit() { if (here && !done) { print ENVIRON["O"] " = " ENVIRON["V"]; done = 1 } }
        /^\[.*\][ \t]*$/ {
            emit()
            here = ($0 == "[" ENVIRON["S"] "]")
            if (here) seen = 1
            print
            next
        }
        here && !done {
            line = $0
            sub(/[ \t]*=.*/, "", line)
            if (line == ENVIRON["O"] && $0 ~ /=/) {
                print ENVIRON["O"] " = " ENVIRON["V"]
                done = 1
                next
            }
        }
        { print }
        END {
            emit()
            if (!seen) { print "[" ENVIRON["S"] "]"; print ENVIRON["O"] " = " ENVIRON["V"] }
        }' "$file" > "$file.fake-tmp"
    mv "$file.fake-tmp" "$file"
}

function iniset {
    fake_record iniset "$@"
    if [[ "$1" == "-sudo" ]]; then
        shift
    fi
    _fake_ini_set "$@"
}

function die {
    fake_record die "$@"
    echo "[ERROR] ${*:2}" >&2
    exit 1
}

function echo_summary {
    fake_record echo_summary "$@"
    echo "$@"
}

function trueorfalse {
    local default=$1
    local value=${!2:-$default}
    case "$value" in
        1|[Yy]es|YES|[Tt]rue|TRUE|[Oo]n|ON) echo True ;;
        0|[Nn]o|NO|[Ff]alse|FALSE|[Oo]ff|OFF) echo False ;;
        *) echo "$default" ;;
    esac
}

function get_python_exec_prefix {
    echo "${FAKE_BIN_DIR:-/usr/local/bin}"
}

function is_service_enabled {
    local service
    for service in "$@"; do
        if [[ ",$ENABLED_SERVICES," == *",$service,"* ]]; then
            return 0
        fi
    done
    return 1
}

function is_ubuntu {
    [[ "${FAKE_IS_UBUNTU:-1}" == "1" ]]
}

function use_library_from_git {
    [[ ",$LIBS_FROM_GIT," == *",$1,"* ]]
}

function database_connection_url {
    fake_record database_connection_url "$@"
    echo "${FAKE_DATABASE_URL:-mysql+pymysql://root:secretdb@127.0.0.1/$1?charset=utf8}"
}

function iniset_rpc_backend {
    fake_record iniset_rpc_backend "$@"
    _fake_ini_set "$2" "${3:-DEFAULT}" transport_url \
        "rabbit://$RABBIT_USERID:$RABBIT_PASSWORD@$SERVICE_HOST:5672/"
}

function configure_keystone_authtoken_middleware {
    fake_record configure_keystone_authtoken_middleware "$@"
    local conf=$1 user=$2 section=${3:-keystone_authtoken}
    _fake_ini_set "$conf" "$section" auth_type password
    _fake_ini_set "$conf" "$section" interface public
    _fake_ini_set "$conf" "$section" auth_url "$KEYSTONE_SERVICE_URI"
    _fake_ini_set "$conf" "$section" www_authenticate_uri "$KEYSTONE_SERVICE_URI"
    _fake_ini_set "$conf" "$section" username "$user"
    _fake_ini_set "$conf" "$section" password "$SERVICE_PASSWORD"
    _fake_ini_set "$conf" "$section" user_domain_name "$SERVICE_DOMAIN_NAME"
    _fake_ini_set "$conf" "$section" project_name "$SERVICE_PROJECT_NAME"
    _fake_ini_set "$conf" "$section" project_domain_name "$SERVICE_DOMAIN_NAME"
}

# write_uwsgi_config <file> <wsgi> <url> [<http>] [<name>], as DevStack
# 2024.2+: <wsgi> is a script path or a module path.
function write_uwsgi_config {
    fake_record write_uwsgi_config "$@"
    local file=$1 wsgi=$2 http=${4:-} name=${5:-}
    rm -f "$file"
    if [[ "$wsgi" == /* ]]; then
        _fake_ini_set "$file" uwsgi wsgi-file "$wsgi"
    else
        _fake_ini_set "$file" uwsgi module "$wsgi"
    fi
    _fake_ini_set "$file" uwsgi master true
    if [[ -n "$http" ]]; then
        _fake_ini_set "$file" uwsgi http "$http"
    else
        _fake_ini_set "$file" uwsgi socket "/var/run/uwsgi/${name:-$(basename "$wsgi")}.socket"
    fi
}

function remove_uwsgi_config {
    fake_record remove_uwsgi_config "$@"
    rm -f "$1"
}

function sudo {
    fake_record sudo "$@"
    "$@"
}

function curl {
    fake_record curl "$@"
    if [[ "${FAKE_REAL_CURL:-0}" == "1" ]]; then
        command curl "$@"
    fi
}

function get_or_create_user {
    fake_record get_or_create_user "$@"
    echo "user-id-$1"
}

function get_or_create_role {
    fake_record get_or_create_role "$@"
    echo "role-id-$1"
}

function get_or_create_service {
    fake_record get_or_create_service "$@"
    echo "service-id-$1"
}

function get_or_create_endpoint {
    fake_record get_or_create_endpoint "$@"
    echo "endpoint-id-$1"
}

function get_or_add_user_project_role {
    fake_record get_or_add_user_project_role "$@"
    echo "assignment-id-$1-$2-$3"
}

function wait_for_service {
    fake_record wait_for_service "$@"
    [[ -z "${FAKE_WAIT_FAIL:-}" || "$2" != *"$FAKE_WAIT_FAIL"* ]]
}

# Helpers that only need recording.
for _fake_name in setup_develop setup_dev_lib pip_install pip_install_gr \
        git_clone git_clone_by_name install_package start_service \
        stop_service install_apache_uwsgi run_process stop_process \
        recreate_database; do
    eval "function $_fake_name { fake_record $_fake_name \"\$@\"; }"
done
unset _fake_name

if [[ "${FAKE_BIN_STUBS:-0}" == "1" ]]; then
    fake_make_bin
fi
