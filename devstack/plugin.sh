#!/usr/bin/env bash
# DevStack plugin of CloudKitty.
#
# DevStack sources this file once per phase with the phase as arguments
# ("stack install", "stack post-config", "stack extra", "unstack",
# "clean"...), after devstack/settings. Services: ck-api (the API) and
# ck-proc (the processor). doc/source/install/devstack.rst describes the
# variables.

_XTRACE_CLOUDKITTY=$(set +o | grep xtrace)
set +o xtrace

CLOUDKITTY_BIN_DIR=$(get_python_exec_prefix)
CLOUDKITTY_UWSGI_NAME=cloudkitty-api
CLOUDKITTY_USE_UWSGI=$(trueorfalse True CLOUDKITTY_USE_UWSGI)
CLOUDKITTY_INSTALL_INFLUXDB=$(trueorfalse True CLOUDKITTY_INSTALL_INFLUXDB)

# The choices this CloudKitty provides (entry points of setup.cfg) that the
# plugin knows how to configure.
CLOUDKITTY_SUPPORTED_COLLECTORS="gnocchi prometheus"
CLOUDKITTY_SUPPORTED_FETCHERS="keystone gnocchi prometheus"
CLOUDKITTY_SUPPORTED_STORAGE_BACKENDS="influxdb sqlalchemy"

# _cloudkitty_one_of <value> <words>: whether value is one of the words.
function _cloudkitty_one_of {
    local value=$1
    local word
    for word in $2; do
        if [[ "$value" == "$word" ]]; then
            return 0
        fi
    done
    return 1
}

# Stop the stack early, with the variable named, when local.conf asks for
# something this CloudKitty cannot run.
function cloudkitty_check_settings {
    if ! _cloudkitty_one_of "$CLOUDKITTY_COLLECTOR" "$CLOUDKITTY_SUPPORTED_COLLECTORS"; then
        die "$LINENO" "CLOUDKITTY_COLLECTOR=$CLOUDKITTY_COLLECTOR is not supported (choose one of: $CLOUDKITTY_SUPPORTED_COLLECTORS)"
    fi
    if ! _cloudkitty_one_of "$CLOUDKITTY_FETCHER" "$CLOUDKITTY_SUPPORTED_FETCHERS"; then
        die "$LINENO" "CLOUDKITTY_FETCHER=$CLOUDKITTY_FETCHER is not supported (choose one of: $CLOUDKITTY_SUPPORTED_FETCHERS)"
    fi
    if ! _cloudkitty_one_of "$CLOUDKITTY_STORAGE_BACKEND" "$CLOUDKITTY_SUPPORTED_STORAGE_BACKENDS"; then
        die "$LINENO" "CLOUDKITTY_STORAGE_BACKEND=$CLOUDKITTY_STORAGE_BACKEND is not supported by this CloudKitty (choose one of: $CLOUDKITTY_SUPPORTED_STORAGE_BACKENDS)"
    fi
    if ! _cloudkitty_one_of "$CLOUDKITTY_AUTH_STRATEGY" "keystone noauth"; then
        die "$LINENO" "CLOUDKITTY_AUTH_STRATEGY=$CLOUDKITTY_AUTH_STRATEGY is not supported (choose keystone or noauth)"
    fi
    if [[ "$CLOUDKITTY_STORAGE_VERSION" != "2" ]]; then
        die "$LINENO" "CLOUDKITTY_STORAGE_VERSION=$CLOUDKITTY_STORAGE_VERSION is not supported (only storage version 2 is)"
    fi
    if [[ "$CLOUDKITTY_STORAGE_BACKEND" == "influxdb" && "$CLOUDKITTY_INFLUX_VERSION" != "1" ]]; then
        die "$LINENO" "CLOUDKITTY_INFLUX_VERSION=$CLOUDKITTY_INFLUX_VERSION is not supported (only InfluxDB 1.x is)"
    fi
}

# The URL registered in the Keystone catalog.
function cloudkitty_service_url {
    if [[ "$CLOUDKITTY_USE_UWSGI" == "True" ]]; then
        echo "$CLOUDKITTY_SERVICE_PROTOCOL://$CLOUDKITTY_SERVICE_HOST/rating"
    else
        echo "$CLOUDKITTY_SERVICE_PROTOCOL://$CLOUDKITTY_SERVICE_HOST:$CLOUDKITTY_SERVICE_PORT"
    fi
}

# The base URL of the InfluxDB HTTP API.
function _cloudkitty_influxdb_url {
    echo "http://$CLOUDKITTY_INFLUXDB_HOST:$CLOUDKITTY_INFLUXDB_PORT"
}

# _cloudkitty_influxdb_query <InfluxQL>: run a statement through the
# InfluxDB HTTP API (no influx CLI needed).
function _cloudkitty_influxdb_query {
    local auth=()
    if [[ -n "$CLOUDKITTY_INFLUXDB_USER" ]]; then
        auth=(-u "$CLOUDKITTY_INFLUXDB_USER:$CLOUDKITTY_INFLUXDB_PASSWORD")
    fi
    curl --silent --show-error --fail "${auth[@]}" -X POST \
        "$(_cloudkitty_influxdb_url)/query" --data-urlencode "q=$1"
}

function _cloudkitty_install_influxdb {
    if ! is_ubuntu; then
        die "$LINENO" "InfluxDB 1.x is installed from Debian/Ubuntu packages only: on this distribution set CLOUDKITTY_INSTALL_INFLUXDB=False and point CLOUDKITTY_INFLUXDB_HOST/PORT at a running InfluxDB 1.x"
    fi
    install_package influxdb
    start_service influxdb
}

function _cloudkitty_install_dashboard {
    git_clone "$CLOUDKITTY_DASHBOARD_REPO" "$CLOUDKITTY_DASHBOARD_DIR" "$CLOUDKITTY_DASHBOARD_BRANCH"
    setup_develop "$CLOUDKITTY_DASHBOARD_DIR"
    # Horizon loads the panels named by the files of its enabled directory.
    local enabled
    for enabled in "$CLOUDKITTY_DASHBOARD_DIR"/cloudkittydashboard/enabled/_[0-9]*.py; do
        [[ -e "$enabled" ]] || continue
        ln -sf "$enabled" "$HORIZON_DIR/openstack_dashboard/local/enabled/"
    done
}

function install_cloudkitty {
    setup_develop "$CLOUDKITTY_DIR"
    if use_library_from_git python-cloudkittyclient; then
        git_clone_by_name python-cloudkittyclient
        setup_dev_lib python-cloudkittyclient
    else
        pip_install_gr python-cloudkittyclient
    fi
    if is_service_enabled horizon; then
        _cloudkitty_install_dashboard
    fi
    if [[ "$CLOUDKITTY_USE_UWSGI" == "True" ]] && is_service_enabled ck-api; then
        install_apache_uwsgi
    fi
    if [[ "$CLOUDKITTY_STORAGE_BACKEND" == "influxdb" && "$CLOUDKITTY_INSTALL_INFLUXDB" == "True" ]]; then
        _cloudkitty_install_influxdb
    fi
}

# Keystone credentials the fetcher and collector use to reach Keystone and
# Gnocchi, in one section their groups point at with auth_section.
function _cloudkitty_configure_authinfos {
    iniset "$CLOUDKITTY_CONF" authinfos auth_type password
    iniset "$CLOUDKITTY_CONF" authinfos auth_url "$KEYSTONE_SERVICE_URI"
    iniset "$CLOUDKITTY_CONF" authinfos username "$CLOUDKITTY_USER"
    iniset "$CLOUDKITTY_CONF" authinfos password "$SERVICE_PASSWORD"
    iniset "$CLOUDKITTY_CONF" authinfos project_name "$SERVICE_PROJECT_NAME"
    iniset "$CLOUDKITTY_CONF" authinfos user_domain_name "$SERVICE_DOMAIN_NAME"
    iniset "$CLOUDKITTY_CONF" authinfos project_domain_name "$SERVICE_DOMAIN_NAME"
}

function _cloudkitty_configure_fetcher {
    iniset "$CLOUDKITTY_CONF" fetcher backend "$CLOUDKITTY_FETCHER"
    case "$CLOUDKITTY_FETCHER" in
        keystone)
            iniset "$CLOUDKITTY_CONF" fetcher_keystone auth_section authinfos
            iniset "$CLOUDKITTY_CONF" fetcher_keystone keystone_version 3
            ;;
        gnocchi)
            iniset "$CLOUDKITTY_CONF" fetcher_gnocchi auth_section authinfos
            iniset "$CLOUDKITTY_CONF" fetcher_gnocchi region_name "$REGION_NAME"
            # DevStack registers public endpoints only.
            iniset "$CLOUDKITTY_CONF" fetcher_gnocchi interface public
            ;;
        prometheus)
            iniset "$CLOUDKITTY_CONF" fetcher_prometheus prometheus_url "$CLOUDKITTY_PROMETHEUS_URL"
            iniset "$CLOUDKITTY_CONF" fetcher_prometheus metric "$CLOUDKITTY_FETCHER_METRIC"
            iniset "$CLOUDKITTY_CONF" fetcher_prometheus scope_attribute "$CLOUDKITTY_FETCHER_SCOPE_ATTRIBUTE"
            ;;
    esac
}

function _cloudkitty_configure_collector {
    local metrics_src=$CLOUDKITTY_METRICS_CONF
    if [[ "$metrics_src" != /* ]]; then
        metrics_src=$CLOUDKITTY_DIR/etc/cloudkitty/$metrics_src
    fi
    if [[ "$metrics_src" != "$CLOUDKITTY_CONF_DIR/metrics.yml" ]]; then
        cp "$metrics_src" "$CLOUDKITTY_CONF_DIR/metrics.yml"
    fi

    iniset "$CLOUDKITTY_CONF" collect collector "$CLOUDKITTY_COLLECTOR"
    iniset "$CLOUDKITTY_CONF" collect metrics_conf "$CLOUDKITTY_CONF_DIR/metrics.yml"
    iniset "$CLOUDKITTY_CONF" collect period "$CLOUDKITTY_PERIOD"
    iniset "$CLOUDKITTY_CONF" collect wait_periods "$CLOUDKITTY_WAIT_PERIODS"
    case "$CLOUDKITTY_COLLECTOR" in
        gnocchi)
            iniset "$CLOUDKITTY_CONF" collector_gnocchi auth_section authinfos
            iniset "$CLOUDKITTY_CONF" collector_gnocchi region_name "$REGION_NAME"
            iniset "$CLOUDKITTY_CONF" collector_gnocchi interface public
            ;;
        prometheus)
            iniset "$CLOUDKITTY_CONF" collector_prometheus prometheus_url "$CLOUDKITTY_PROMETHEUS_URL"
            iniset "$CLOUDKITTY_CONF" collect scope_key "$CLOUDKITTY_PROMETHEUS_SCOPE_KEY"
            ;;
    esac
}

function _cloudkitty_configure_storage {
    iniset "$CLOUDKITTY_CONF" storage backend "$CLOUDKITTY_STORAGE_BACKEND"
    iniset "$CLOUDKITTY_CONF" storage version "$CLOUDKITTY_STORAGE_VERSION"
    if [[ "$CLOUDKITTY_STORAGE_BACKEND" == "influxdb" ]]; then
        iniset "$CLOUDKITTY_CONF" storage_influxdb version "$CLOUDKITTY_INFLUX_VERSION"
        iniset "$CLOUDKITTY_CONF" storage_influxdb host "$CLOUDKITTY_INFLUXDB_HOST"
        iniset "$CLOUDKITTY_CONF" storage_influxdb port "$CLOUDKITTY_INFLUXDB_PORT"
        iniset "$CLOUDKITTY_CONF" storage_influxdb database "$CLOUDKITTY_INFLUXDB_DATABASE"
        if [[ -n "$CLOUDKITTY_INFLUXDB_USER" ]]; then
            iniset "$CLOUDKITTY_CONF" storage_influxdb username "$CLOUDKITTY_INFLUXDB_USER"
            iniset "$CLOUDKITTY_CONF" storage_influxdb password "$CLOUDKITTY_INFLUXDB_PASSWORD"
        fi
    fi
}

function _cloudkitty_configure_api {
    iniset "$CLOUDKITTY_CONF" DEFAULT auth_strategy "$CLOUDKITTY_AUTH_STRATEGY"
    iniset "$CLOUDKITTY_CONF" DEFAULT api_paste_config "$CLOUDKITTY_API_PASTE_INI"
    iniset "$CLOUDKITTY_CONF" api host_ip "${SERVICE_LISTEN_ADDRESS:-0.0.0.0}"
    iniset "$CLOUDKITTY_CONF" api port "$CLOUDKITTY_SERVICE_PORT"
    iniset "$CLOUDKITTY_CONF" oslo_policy policy_file "$CLOUDKITTY_POLICY_FILE"
    if [[ "$CLOUDKITTY_AUTH_STRATEGY" == "keystone" ]]; then
        configure_keystone_authtoken_middleware "$CLOUDKITTY_CONF" "$CLOUDKITTY_USER"
    fi
    if [[ "$CLOUDKITTY_USE_UWSGI" == "True" ]] && is_service_enabled ck-api; then
        # Apache forwards the client's scheme and host.
        iniset "$CLOUDKITTY_CONF" oslo_middleware enable_proxy_headers_parsing True
        write_uwsgi_config "$CLOUDKITTY_UWSGI_CONF" "$CLOUDKITTY_UWSGI_APP" "/rating" "" "$CLOUDKITTY_UWSGI_NAME"
        iniset "$CLOUDKITTY_UWSGI_CONF" uwsgi env "CLOUDKITTY_CONFIG_FILE=$CLOUDKITTY_CONF"
    fi
}

function configure_cloudkitty {
    sudo install -d -o "$STACK_USER" -m 755 "$CLOUDKITTY_CONF_DIR"
    rm -f "$CLOUDKITTY_CONF"

    cp "$CLOUDKITTY_DIR/etc/cloudkitty/api_paste.ini" "$CLOUDKITTY_API_PASTE_INI"
    # Every rule commented out at its default, ready to be overridden.
    "$CLOUDKITTY_BIN_DIR/oslopolicy-sample-generator" --namespace cloudkitty \
        --output-file "$CLOUDKITTY_POLICY_FILE"

    iniset "$CLOUDKITTY_CONF" DEFAULT debug "$ENABLE_DEBUG_LOG_LEVEL"
    iniset_rpc_backend cloudkitty "$CLOUDKITTY_CONF" DEFAULT
    iniset "$CLOUDKITTY_CONF" database connection "$(database_connection_url cloudkitty)"
    iniset "$CLOUDKITTY_CONF" orchestrator coordination_url "file://$CLOUDKITTY_LOCKS_DIR"

    _cloudkitty_configure_api
    _cloudkitty_configure_authinfos
    _cloudkitty_configure_fetcher
    _cloudkitty_configure_collector
    _cloudkitty_configure_storage
}

function create_cloudkitty_accounts {
    local user
    user=$(get_or_create_user "$CLOUDKITTY_USER" "$SERVICE_PASSWORD" "$SERVICE_DOMAIN_NAME")
    get_or_add_user_project_role admin "$user" "$SERVICE_PROJECT_NAME" "$SERVICE_DOMAIN_NAME" "$SERVICE_DOMAIN_NAME"

    get_or_create_service cloudkitty rating "OpenStack Rating"
    get_or_create_endpoint rating "$REGION_NAME" "$(cloudkitty_service_url)"

    # The keystone fetcher rates the projects where the CloudKitty user
    # holds this role.
    local role
    role=$(get_or_create_role "$CLOUDKITTY_RATING_ROLE")
    get_or_add_user_project_role "$role" "$user" "$CLOUDKITTY_RATED_PROJECT"
}

function init_cloudkitty {
    sudo install -d -o "$STACK_USER" -m 755 "$CLOUDKITTY_DATA_DIR" "$CLOUDKITTY_LOCKS_DIR"
    recreate_database cloudkitty
    if [[ "$CLOUDKITTY_STORAGE_BACKEND" == "influxdb" ]]; then
        if ! wait_for_service "$SERVICE_TIMEOUT" "$(_cloudkitty_influxdb_url)/ping"; then
            die "$LINENO" "InfluxDB does not answer at $(_cloudkitty_influxdb_url)"
        fi
        # Start from an empty database, as recreate_database does.
        _cloudkitty_influxdb_query "DROP DATABASE \"$CLOUDKITTY_INFLUXDB_DATABASE\""
        _cloudkitty_influxdb_query "CREATE DATABASE \"$CLOUDKITTY_INFLUXDB_DATABASE\""
    fi
    "$CLOUDKITTY_BIN_DIR/cloudkitty-dbsync" --config-file "$CLOUDKITTY_CONF" upgrade
    "$CLOUDKITTY_BIN_DIR/cloudkitty-storage-init" --config-file "$CLOUDKITTY_CONF"
}

function start_cloudkitty {
    if is_service_enabled ck-proc; then
        run_process ck-proc "$CLOUDKITTY_BIN_DIR/cloudkitty-processor --config-file=$CLOUDKITTY_CONF"
    fi
    if is_service_enabled ck-api; then
        if [[ "$CLOUDKITTY_USE_UWSGI" == "True" ]]; then
            run_process ck-api "$(command -v uwsgi) --procname-prefix $CLOUDKITTY_UWSGI_NAME --ini $CLOUDKITTY_UWSGI_CONF"
        else
            run_process ck-api "$CLOUDKITTY_BIN_DIR/cloudkitty-api --config-file=$CLOUDKITTY_CONF"
        fi
        echo "Waiting for ck-api to answer at $(cloudkitty_service_url)..."
        if ! wait_for_service "$SERVICE_TIMEOUT" "$(cloudkitty_service_url)"; then
            die "$LINENO" "ck-api did not start"
        fi
    fi
}

function stop_cloudkitty {
    local service
    for service in ck-api ck-proc; do
        stop_process "$service"
    done
}

function cleanup_cloudkitty {
    if [[ "$CLOUDKITTY_USE_UWSGI" == "True" ]]; then
        remove_uwsgi_config "$CLOUDKITTY_UWSGI_CONF" "$CLOUDKITTY_UWSGI_NAME"
    fi
    if is_service_enabled horizon; then
        local enabled
        for enabled in "$CLOUDKITTY_DASHBOARD_DIR"/cloudkittydashboard/enabled/_[0-9]*.py; do
            [[ -e "$enabled" ]] || continue
            rm -f "$HORIZON_DIR/openstack_dashboard/local/enabled/$(basename "$enabled")"
        done
    fi
    sudo rm -rf "$CLOUDKITTY_CONF_DIR" "$CLOUDKITTY_DATA_DIR"
}

if is_service_enabled ck-api ck-proc; then
    if [[ "$1" == "stack" ]]; then
        case "$2" in
            pre-install)
                cloudkitty_check_settings
                ;;
            install)
                cloudkitty_check_settings
                echo_summary "Installing CloudKitty"
                install_cloudkitty
                ;;
            post-config)
                echo_summary "Configuring CloudKitty"
                configure_cloudkitty
                if is_service_enabled key; then
                    create_cloudkitty_accounts
                fi
                echo_summary "Initializing CloudKitty"
                init_cloudkitty
                ;;
            extra)
                echo_summary "Starting CloudKitty"
                start_cloudkitty
                ;;
            test-config)
                if is_service_enabled tempest; then
                    iniset "$TEMPEST_CONFIG" service_available cloudkitty True
                fi
                ;;
        esac
    fi
    if [[ "$1" == "unstack" ]]; then
        echo_summary "Stopping CloudKitty"
        stop_cloudkitty
    fi
    if [[ "$1" == "clean" ]]; then
        echo_summary "Removing CloudKitty's configuration and data"
        cleanup_cloudkitty
    fi
fi

$_XTRACE_CLOUDKITTY
