#!/usr/bin/env bash
# Benchmark of an import run end to end on a generated export: detect, stage with COPY,
# profile, confirm the suggested mapping, migrate plans, catalogue, billing accounts and
# subscribers; prints rows/s per step, the peak memory of the process and, with --native,
# Odoo's own import of the same subscribers and the ratio. The last line is JSON.
#
#   scripts/bench_import.sh [--subscribers N] [--dialect D] [--zip] [--native [--native-rows N]]
#                           [--no-migrate] [--cprofile FILE] [--workers N] [--delta-percent P]
#                           [--cohort-percent P] [--cutover] [--inventory] [--prepaid-share P]
#                           [--customer-history]
#
# Uses the database bss_bench (BENCH_DB), a fresh copy of bss_bench_template (created on first
# use and updated to the current code). With --workers N, N processes write the chunks of the
# billing accounts and the subscribers at once (what `bss_migrate.py run --workers N` does
# against a server started with --workers N). With --delta-percent P, a later export with P % of
# the subscribers changed is then applied as a delta pass of the run, each step timed. With
# --cohort-percent P, the run migrates in two cohorts (P % of the billing accounts, then the rest).
# With --cutover, the OCS cutover of the migrated run is timed step by step; with --inventory, the
# building of its inventories. --prepaid-share 100 makes every generated line prepaid, with a
# money bucket: as many opening balances for the cutover as subscribers. --customer-history adds
# the numbers, ports, interactions and documents to the export and migrates them after the lines.
set -euo pipefail
# shellcheck source=scripts/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
setup_all
db="${BENCH_DB:-bss_bench}"
# The migration commits chunk by chunk: each benchmark starts from a fresh copy of a template
# database where bss_import is installed (an earlier run's records would make this one's unchanged).
bench_fresh_copy "$db" bss_import
exec "$VENV_PY" "$ROOT/scripts/bench_import.py" --db "$db" --addons-path "$ADDONS_PATH" \
    --data-dir "$ROOT/.local/data" "$@"
