#!/usr/bin/env bash
# Benchmark of an import run end to end on a generated export: detect, stage with COPY,
# profile, confirm the suggested mapping, migrate plans, catalogue, billing accounts and
# subscribers; prints rows/s per step, the peak memory of the process and, with --native,
# Odoo's own import of the same subscribers and the ratio. The last line is JSON.
#
#   scripts/bench_import.sh [--subscribers N] [--dialect D] [--zip] [--native [--native-rows N]]
#                           [--no-migrate] [--cprofile FILE]
#
# Uses the database bss_bench (BENCH_DB), created on first use and updated to the current code.
set -euo pipefail
# shellcheck source=scripts/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
setup_all
db="${BENCH_DB:-bss_bench}"
if ! psql -lqt | cut -d'|' -f1 | grep -qw "$db"; then
    echo "creating database $db with bss_import..." >&2
    "${ODOO_BIN[@]}" -d "$db" -i bss_import --without-demo=all --stop-after-init --log-level=warn >&2
else
    echo "updating bss_import in database $db..." >&2
    "${ODOO_BIN[@]}" -d "$db" -u bss_import --stop-after-init --log-level=warn >&2
fi
exec "$VENV_PY" "$ROOT/scripts/bench_import.py" --db "$db" --addons-path "$ADDONS_PATH" \
    --data-dir "$ROOT/.local/data" "$@"
