#!/usr/bin/env bash
# Benchmark of telecom_wallet operations as a new user would post them: each operation in its own
# transaction through Odoo's retry, one client then N concurrent clients on distinct wallets of one
# company, then one batch of operations; prints operations/s, failures, where one operation's time goes,
# and a JSON line.
#
#   scripts/bench_wallet.sh [--wallets N] [--operations N] [--clients N] [--per-client N] [--batch-size N]
#                           [--batch-wallets N]
#
# Uses the database bss_wallet_bench (BENCH_DB), a fresh copy of <db>_template (created on first use
# and updated to the current code): posted entries are hash-protected and cannot be deleted.
set -euo pipefail
# shellcheck source=scripts/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
setup_all
db="${BENCH_DB:-bss_wallet_bench}"
bench_fresh_copy "$db" telecom_wallet
exec "$VENV_PY" "$ROOT/scripts/bench_wallet.py" --db "$db" --addons-path "$ADDONS_PATH" \
    --data-dir "$ROOT/.local/data" "$@"
