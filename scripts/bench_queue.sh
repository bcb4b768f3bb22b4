#!/usr/bin/env bash
# Benchmark of a migration on OCA queue_job (bss_import_queue): the same generated export migrated
# by queue jobs with 1, then 2 job runner workers (odoo-bin --workers N --load base,web,queue_job,
# channels root:N,root.bss_import:N); prints the seconds and rows/s of each phase and the speed-up.
# The last line is JSON.
#
#   scripts/bench_queue.sh [--subscribers N] [--workers 1 2 ...] [--chunk-size K] [--keep]
#
# Uses the databases bss_benchq_<N>w (BENCH_DB prefix), fresh copies of bss_benchq_template
# (created on first use with bss_import and queue_job, and updated to the current code).
set -euo pipefail
# shellcheck source=scripts/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
setup_all
db="${BENCH_DB:-bss_benchq}"
template="${db}_template"
bench_template "$template" bss_import,queue_job bss_import_queue
exec "$VENV_PY" "$ROOT/scripts/bench_queue.py" --db "$db" --template "$template" --addons-path "$ADDONS_PATH" \
    --data-dir "$ROOT/.local/data" "$@"
