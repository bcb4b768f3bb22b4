#!/usr/bin/env bash
# The demo: set everything up, create (or update) a staging database with the
# suite installed (no Odoo demo data), load a small realistic sample through the
# ORM, and serve the Odoo web client on 127.0.0.1.
#
#   DEMO_DB=telecom_staging  database name
#   DEMO_PORT=8069           HTTP port (127.0.0.1 only)
#   DEMO_NO_SERVE=1          stop after loading (no web server)
set -euo pipefail

# shellcheck source=scripts/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
setup_all
cd "$ROOT"

DB="${DEMO_DB:-telecom_staging}"
PORT="${DEMO_PORT:-8069}"
mapfile -t MODULES < <(for m in addons/*/__manifest__.py; do basename "$(dirname "$m")"; done)
modules="$(IFS=,; echo "${MODULES[*]}")"

if psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
    log "database $DB exists: updating the suite's modules ($modules)"
    "${ODOO_BIN[@]}" -d "$DB" -i "$modules" -u "$modules" --without-demo=all --stop-after-init \
        --log-level warn --http-port "$PORT" --max-cron-threads 0
else
    log "creating database $DB with $modules (no demo data; first run takes a few minutes)"
    "${ODOO_BIN[@]}" -d "$DB" -i "$modules" --without-demo=all --stop-after-init \
        --log-level warn --http-port "$PORT" --max-cron-threads 0
fi

log "loading the sample subscribers, billing accounts and service plans"
"$VENV_PY" "$ROOT/scripts/demo_sample.py" -d "$DB" --addons-path "$ADDONS_PATH" \
    --data-dir "$ROOT/.local/data" --log-level warn "${PG_ARGS[@]}"

if [ "${DEMO_NO_SERVE:-0}" = 1 ]; then
    log "DEMO_NO_SERVE=1: not starting the web server"
    exit 0
fi
cat <<MSG

  Odoo web client:  http://127.0.0.1:$PORT/odoo?db=$DB
  Login:            admin
  Password:         admin   (staging database; change it before sharing)
  Menu:             Telecom → Subscribers / Billing Accounts / Service Plans

  Stop with Ctrl+C.
MSG
exec "${ODOO_BIN[@]}" -d "$DB" --db-filter "^${DB}\$" --http-interface 127.0.0.1 --http-port "$PORT" \
    --log-level warn
