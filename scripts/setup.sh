#!/usr/bin/env bash
# Shared set-up for scripts/demo.sh and scripts/test.sh: idempotent, safe to re-run.
#
# Sourced (not executed) by the two commands. It provides, after running:
#   ROOT        repository root
#   ODOO_PATH   Odoo 18.0 source tree (odoo-bin inside)
#   VENV_PY     python of the project's virtualenv (.venv)
#   ODOO_BIN    array: the command that runs odoo-bin with the project's addons path
#   PG_ARGS     array: database connection options for odoo-bin
#
# Steps: Odoo source, virtualenv + requirements, OCA queue_job (bss_import_queue's
# dependency), PostgreSQL (PG* variables or the local cluster), wkhtmltopdf for PDF
# reports, Chromium for browser tours (only when SETUP_BROWSER=1).

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ODOO_PATH="${ODOO_PATH:-$HOME/src/odoo-18.0}"
ODOO_GIT_URL="${ODOO_GIT_URL:-https://github.com/odoo/odoo}"
PYTHON="${PYTHON:-}"
export ODOO_PATH

log() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        die "need root to run: $* (install it yourself or run as root)"; fi
}

apt_install() {
    command -v apt-get >/dev/null || die "apt-get not found: install $* with your package manager"
    if [ -z "${_APT_UPDATED:-}" ]; then as_root apt-get update -qq >&2; _APT_UPDATED=1; fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

setup_odoo_source() {
    if [ -f "$ODOO_PATH/odoo-bin" ]; then return; fi
    log "no Odoo source at $ODOO_PATH: cloning $ODOO_GIT_URL (branch 18.0)"
    mkdir -p "$(dirname "$ODOO_PATH")"
    if ! git clone --quiet --depth 1 --branch 18.0 "$ODOO_GIT_URL" "$ODOO_PATH"; then
        die "could not get Odoo 18.0. Provide its source tree yourself and point ODOO_PATH at it
        (the folder that contains odoo-bin, odoo/ and requirements.txt), e.g.
          git clone --depth 1 --branch 18.0 https://github.com/odoo/odoo ~/src/odoo-18.0"
    fi
    grep -q "version_info = (18, 0" "$ODOO_PATH/odoo/release.py" \
        || die "$ODOO_PATH is not an Odoo 18.0 tree (odoo/release.py)"
}

pick_python() {
    if [ -n "$PYTHON" ]; then echo "$PYTHON"; return; fi
    for candidate in python3.11 python3.12 python3.10 python3; do
        if command -v "$candidate" >/dev/null \
            && "$candidate" -c 'import sys; sys.exit(not (3, 10) <= sys.version_info[:2] <= (3, 12))'; then
            echo "$candidate"; return
        fi
    done
    die "Odoo 18 needs Python 3.10 to 3.12 (3.11 recommended); set PYTHON=/path/to/python3.11"
}

setup_venv() {
    local venv="$ROOT/.venv" stamp want py
    py="$(pick_python)"
    if [ ! -x "$venv/bin/python" ]; then
        log "creating virtualenv .venv with $py"
        "$py" -m venv "$venv" || { apt_install python3-venv && "$py" -m venv "$venv"; }
    fi
    VENV_PY="$venv/bin/python"
    # Re-install only when a requirements file changed.
    want="$(cat "$ODOO_PATH/requirements.txt" "$ROOT/requirements.txt" | sha256sum | cut -c1-16)"
    stamp="$venv/.requirements-$want"
    if [ -f "$stamp" ]; then return; fi
    log "installing Odoo's and the project's Python requirements (first run takes a few minutes)"
    # python-ldap is needed only by the auth_ldap addon and builds only against
    # libldap headers, so it is left out; the suite does not use LDAP.
    local odoo_req constraints
    odoo_req="$(mktemp)"; constraints="$(mktemp)"
    grep -v '^python-ldap' "$ODOO_PATH/requirements.txt" > "$odoo_req"
    # Some pinned sdists (e.g. vobject, pyusb) do not build with setuptools>=70.
    echo 'setuptools<70' > "$constraints"
    "$VENV_PY" -m pip install --quiet --upgrade "pip<25" >&2
    PIP_CONSTRAINT="$constraints" "$VENV_PY" -m pip install --quiet -r "$odoo_req" -r "$ROOT/requirements.txt" >&2 \
        || die "pip install failed (see above). If psycopg2 fails to build: apt-get install libpq-dev"
    rm -f "$odoo_req" "$constraints" "$venv"/.requirements-*
    touch "$stamp"
}

# OCA's queue_job, the one addon the suite takes from outside Odoo's tree (bss_import_queue runs
# migration chunks as its jobs). Released as a wheel that installs the addon under the venv's
# site-packages (odoo/addons/queue_job); --no-deps since its dependency on odoo is the source tree
# here, and its one Python dependency (requests) comes with Odoo's requirements.
QUEUE_JOB_WHEEL="odoo-addon-queue-job==18.0.4.1.2.2"

setup_queue_job() {
    local stamp="$ROOT/.venv/.queue-job-${QUEUE_JOB_WHEEL##*==}" site
    site="$("$VENV_PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    QUEUE_JOB_ADDONS="$site/odoo/addons"
    if [ -f "$stamp" ] && [ -f "$QUEUE_JOB_ADDONS/queue_job/__manifest__.py" ]; then return; fi
    log "installing OCA queue_job ($QUEUE_JOB_WHEEL)"
    "$VENV_PY" -c 'import requests' 2>/dev/null \
        || die "queue_job needs the Python package requests (part of Odoo's requirements.txt)"
    "$VENV_PY" -m pip install --quiet --no-deps "$QUEUE_JOB_WHEEL" >&2 \
        || die "pip could not install $QUEUE_JOB_WHEEL (see above)"
    rm -f "$ROOT/.venv"/.queue-job-*
    touch "$stamp"
}

setup_postgres() {
    PG_ARGS=()
    if [ -n "${PGHOST:-}" ]; then
        log "using PostgreSQL from PG* variables (host $PGHOST)"
        PG_ARGS+=(--db_host "$PGHOST")
        [ -n "${PGPORT:-}" ] && PG_ARGS+=(--db_port "$PGPORT")
        [ -n "${PGUSER:-}" ] && PG_ARGS+=(--db_user "$PGUSER")
        [ -n "${PGPASSWORD:-}" ] && PG_ARGS+=(--db_password "$PGPASSWORD")
        psql -d postgres -tAc 'select 1' >/dev/null 2>&1 \
            || die "cannot connect to PostgreSQL at $PGHOST with the PG* variables given"
        return
    fi
    if ! command -v pg_lsclusters >/dev/null; then
        log "PostgreSQL server not found: installing it with apt-get"
        apt_install postgresql
    fi
    local version port status
    read -r version port status < <(pg_lsclusters --no-header | awk '{print $1, $3, $4; exit}') || true
    if [ -z "${version:-}" ]; then
        version="$(ls /usr/lib/postgresql | sort -V | tail -1)"
        log "creating PostgreSQL $version cluster 'main'"
        as_root pg_createcluster "$version" main >&2
        read -r version port status < <(pg_lsclusters --no-header | awk '{print $1, $3, $4; exit}')
    fi
    if [ "$status" != online ]; then
        log "starting PostgreSQL $version cluster on port $port"
        as_root pg_ctlcluster "$version" main start >&2
    fi
    export PGPORT="$port"
    PG_ARGS+=(--db_port "$port")
    # Odoo refuses to connect as 'postgres': give the current OS user its own role
    # (peer authentication over the local socket, no password stored anywhere).
    local user; user="$(id -un)"
    [ "$user" = postgres ] && die "run as a user other than 'postgres': Odoo refuses that role"
    if ! as_root runuser -u postgres -- psql -p "$port" -tAc \
        "SELECT 1 FROM pg_roles WHERE rolname = '$user'" | grep -q 1; then
        log "creating PostgreSQL role '$user' (login, createdb)"
        as_root runuser -u postgres -- psql -p "$port" -qc "CREATE ROLE \"$user\" LOGIN CREATEDB" >&2
    fi
}

setup_browser() {
    if command -v chromium >/dev/null || command -v google-chrome >/dev/null; then return; fi
    log "installing Chromium for the browser tours"
    apt_install chromium
}

setup_report_renderer() {
    # Odoo turns its QWeb reports (the reconciliation report) into PDF with wkhtmltopdf.
    if command -v wkhtmltopdf >/dev/null; then return; fi
    log "installing wkhtmltopdf for PDF reports"
    apt_install wkhtmltopdf
}

# The template database of a benchmark: created with the modules MODULES on first use, else brought
# to the current code by updating UPDATE (default: MODULES). Benchmarks copy it (createdb -T): what
# a run commits (posted entries, migrated records) stays out of the next one.
bench_template() {
    local template="$1" modules="$2" update="${3:-$2}"
    if ! psql -lqt | cut -d'|' -f1 | grep -qw "$template"; then
        echo "creating database $template with $modules..." >&2
        "${ODOO_BIN[@]}" -d "$template" -i "$modules" --without-demo=all --stop-after-init --log-level=warn >&2
    else
        echo "updating $update in database $template..." >&2
        "${ODOO_BIN[@]}" -d "$template" -u "$update" --stop-after-init --log-level=warn >&2
    fi
}

# A fresh copy of the benchmark template database <db>_template (see bench_template) as <db>.
bench_fresh_copy() {
    local db="$1" modules="$2"
    bench_template "${db}_template" "$modules"
    dropdb --if-exists "$db"
    createdb -T "${db}_template" "$db"
}

setup_all() {
    setup_odoo_source
    setup_venv
    setup_queue_job
    setup_postgres
    setup_report_renderer
    if [ "${SETUP_BROWSER:-0}" = 1 ]; then setup_browser; fi
    # queue_job after Odoo's own addons, before the suite's.
    ADDONS_PATH="$ODOO_PATH/odoo/addons,$QUEUE_JOB_ADDONS,$ROOT/addons"
    ODOO_BIN=("$VENV_PY" "$ODOO_PATH/odoo-bin" --addons-path "$ADDONS_PATH"
              --data-dir "$ROOT/.local/data" "${PG_ARGS[@]}")
    export PYTHONPATH="$ODOO_PATH${PYTHONPATH:+:$PYTHONPATH}"
}

# Allow `bash scripts/setup.sh` to just prepare the machine.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    SETUP_BROWSER=1 setup_all
    log "ready: Odoo at $ODOO_PATH, python $VENV_PY"
fi
