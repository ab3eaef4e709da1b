#!/usr/bin/env bash
# Build (once) a separate virtualenv holding upstream OpenStack CloudKitty
# 25.0.0 from PyPI, used by the adoption tests (they create a database with
# upstream's own cloudkitty-dbsync / cloudkitty-storage-init, then run ours)
# and by the side-by-side benchmarks (benchmarks/*_vs_upstream.py run its
# processor and API on MariaDB + InfluxDB 1.x; its API is served by
# benchmarks/_sidebyside_wsgi.py with the standard library's WSGI server,
# so no uwsgi is needed).
#
# Location: $CLOUDKITTY_UPSTREAM_VENV, default
#   ${XDG_CACHE_HOME:-$HOME/.cache}/cloudkitty/upstream-25.0.0
# (outside the work tree, so a fresh clone reuses it). The script is
# idempotent: a complete venv is left alone; a half-built one is rebuilt.
# Prints the venv path on its last line.
set -euo pipefail

UPSTREAM_VERSION=25.0.0
VENV=${CLOUDKITTY_UPSTREAM_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/cloudkitty/upstream-${UPSTREAM_VERSION}}
PYTHON=${PYTHON:-python3}
MARKER="$VENV/.cloudkitty-upstream-${UPSTREAM_VERSION}-complete"

if [[ -f "$MARKER" && -x "$VENV/bin/cloudkitty-dbsync" ]]; then
    echo "$VENV"
    exit 0
fi

echo "building upstream CloudKitty ${UPSTREAM_VERSION} venv in $VENV" >&2
rm -rf "$VENV"
mkdir -p "$(dirname "$VENV")"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install --quiet --upgrade pip
# Upstream 25.0 was released against SQLAlchemy 2.0; keep it there.
# PyMySQL / psycopg2: its SQL databases; influxdb (also one of its own
# requirements): its default v2 storage driver, used by the benchmarks.
"$VENV/bin/pip" install --quiet \
    "cloudkitty==${UPSTREAM_VERSION}" \
    "SQLAlchemy>=2.0,<2.1" \
    psycopg2-binary PyMySQL influxdb
"$VENV/bin/cloudkitty-dbsync" --help >/dev/null
"$VENV/bin/python" -c "import influxdb, keystonemiddleware.auth_token"
touch "$MARKER"
echo "$VENV"
