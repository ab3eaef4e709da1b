#!/usr/bin/env bash
# Build (once) a separate virtualenv holding Horizon and the CloudKitty
# Horizon plugin (cloudkitty-dashboard) from PyPI, for the Horizon panel
# check (cloudkitty/tests/functional/test_horizon_dashboard.py).
#
# Versions are those of one OpenStack cycle, 2026.2 (the cycle of upstream
# CloudKitty 25.0.0): Horizon 27.0.0 with cloudkitty-dashboard 23.0.0, every
# dependency pinned by tools/horizon-constraints.txt.
#
# Besides the packages, the script
#   - copies the plugin's "enabled" files into Horizon's
#     openstack_dashboard/local/enabled (how the plugin is switched on);
#   - writes openstack_dashboard/local/local_settings.py, which reads the
#     Keystone URL and the secret key from the environment when Horizon
#     starts (CLOUDKITTY_HORIZON_KEYSTONE_URL, CLOUDKITTY_HORIZON_SECRET_KEY),
#     so one build serves any Keystone;
#   - collects and compresses the static files once, so that Horizon can
#     run with DEBUG off (``manage.py runserver --insecure`` serves them)
#     and pages do not wait for SCSS compilation.
#
# Location: $CLOUDKITTY_HORIZON_VENV, default
#   ${XDG_CACHE_HOME:-$HOME/.cache}/cloudkitty/horizon-27.0.0
# (outside the work tree). Idempotent: a complete venv built by this
# version of the script is left alone; a half-built or older one is
# rebuilt. Prints the venv path on its last line.
set -euo pipefail

HORIZON_VERSION=27.0.0
DASHBOARD_VERSION=23.0.0
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CONSTRAINTS="$HERE/horizon-constraints.txt"
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/cloudkitty
VENV=${CLOUDKITTY_HORIZON_VENV:-$CACHE/horizon-${HORIZON_VERSION}}
PYTHON=${PYTHON:-python3}
# The marker holds a digest of this script and the constraints: a change
# to either (settings, pins) rebuilds the venv.
MARKER="$VENV/.cloudkitty-horizon-complete"
STAMP=$(cat "${BASH_SOURCE[0]}" "$CONSTRAINTS" | sha256sum | cut -c1-16)

BUILT=$(cat "$MARKER" 2>/dev/null || true)
if [[ "$BUILT" == "$STAMP" && -x "$VENV/bin/python" ]]; then
    echo "$VENV"
    exit 0
fi

echo "building Horizon ${HORIZON_VERSION} + cloudkitty-dashboard" \
     "${DASHBOARD_VERSION} venv in $VENV" >&2
rm -rf "$VENV"
mkdir -p "$(dirname "$VENV")"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install --quiet --upgrade pip
"$VENV/bin/pip" install --quiet -c "$CONSTRAINTS" \
    "horizon==${HORIZON_VERSION}" \
    "cloudkitty-dashboard==${DASHBOARD_VERSION}"

site_dir() {
    "$VENV/bin/python" -c "import os, $1; print(os.path.dirname($1.__file__))"
}
DASHBOARD_DIR=$(site_dir openstack_dashboard)
PLUGIN_DIR=$(site_dir cloudkittydashboard)

# Switch the plugin's panels on, as its install guide says.
cp "$PLUGIN_DIR"/enabled/_[0-9]*.py "$DASHBOARD_DIR/local/enabled/"

cat > "$DASHBOARD_DIR/local/local_settings.py" <<'EOF'
# Written by cloudkitty's tools/horizon-venv.sh for the Horizon panel
# check; read from the environment when Horizon starts.
import os
import sys

DEBUG = False
ALLOWED_HOSTS = ["*"]
SECRET_KEY = os.environ.get("CLOUDKITTY_HORIZON_SECRET_KEY",
                            "cloudkitty-horizon-check-only")
OPENSTACK_KEYSTONE_URL = os.environ.get(
    "CLOUDKITTY_HORIZON_KEYSTONE_URL", "http://127.0.0.1:5000/v3")
OPENSTACK_KEYSTONE_DEFAULT_ROLE = "member"
OPENSTACK_KEYSTONE_MULTIDOMAIN_SUPPORT = False
OPENSTACK_ENDPOINT_TYPE = "publicURL"
OPENSTACK_SSL_NO_VERIFY = True
# Sessions in the (one) server process's memory: a signed cookie would
# carry the token's whole catalog, which grows with every rating endpoint
# tests register in the shared Keystone.
SESSION_ENGINE = "django.contrib.sessions.backends.cache"
CACHES = {"default": {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Static files and their compressed bundles live in the venv.
STATIC_ROOT = os.path.join(sys.prefix, "horizon-static")
COMPRESS_OFFLINE = True
TIME_ZONE = "UTC"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
EOF

export DJANGO_SETTINGS_MODULE=openstack_dashboard.settings
"$VENV/bin/django-admin" collectstatic --noinput --verbosity 0
"$VENV/bin/django-admin" compress --force --verbosity 0
echo "$STAMP" > "$MARKER"
echo "$VENV"
