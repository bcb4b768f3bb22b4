#!/usr/bin/env bash
# All checks of the suite: lint (ruff, pylint-odoo mandatory checks), pure-Python
# tests (pytest), the Odoo tests of every addon and a selection of Odoo's own tests
# of the models the suite extends (the regression gate), on a fresh throwaway
# database where the whole suite is installed.
# Exits non-zero on any failure and on any skipped test not listed with a reason in
# tests/allowed_skips.txt; prints a closing "N passed, N failed, N skipped" line
# over everything that ran.
#
#   scripts/test.sh                 everything
#   scripts/test.sh --no-odoo       lint + pytest only (fast loop while developing)
#   TEST_TAGS=/telecom_wallet scripts/test.sh   restrict the Odoo tests (Odoo --test-tags
#                                   syntax); the regression gate then runs only if named
set -uo pipefail

run_odoo=1
for arg in "$@"; do
    case "$arg" in
        --no-odoo) run_odoo=0 ;;
        -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
        *) echo "unknown option: $arg" >&2; exit 2 ;;
    esac
done

# shellcheck source=scripts/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
SETUP_BROWSER=1 setup_all
set +e
cd "$ROOT" || exit 1
BIN="$(dirname "$VENV_PY")"
mapfile -t MODULES < <(for m in addons/*/__manifest__.py; do basename "$(dirname "$m")"; done)

# Odoo's own test classes for the models the suite extends (journal entries and
# invoices, partners, products, sale orders). They run post-install, so with the
# whole suite installed, and must pass exactly as on pristine Odoo.
REGRESSION_TAGS=(
    /account:TestAccountMove
    /account:TestAccountMoveOutInvoiceOnchanges
    /account:TestAccountMoveOutRefundOnchanges
    /account:TestAccountMoveDuplicate
    /account:TestAccountMoveReconcile
    /account:TestAccountPartner
    /account:TestMergePartner
    /account:TestProduct
    /base:TestPartnerForm
    /product:TestProduct
    /product:TestVariants
    /product:TestPricelist
    /product:TestName
    /sale:TestSaleOrder
    /sale:TestSaleToInvoice
    # Needs the Enterprise module account_accountant: it would only skip itself.
    -/sale:TestSaleToInvoice.test_partial_invoicing_interaction_with_invoicing_switch_threshold
)

failed_steps=()
passed=0
failed=0
skipped=0
allow_list="$ROOT/tests/allowed_skips.txt"
# Counts the skips of one report; a skip missing from the allow-list fails the run.
check_skips() {
    local out n u
    out="$("$VENV_PY" "$ROOT/scripts/check_skips.py" --allow "$allow_list" "$@")"
    read -r _ n _ u <<<"$(tail -1 <<<"$out")"
    skipped=$((skipped + ${n:-0}))
    if [ "${u:-1}" -ne 0 ]; then failed_steps+=(unlisted-skips); failed=$((failed + ${u:-1})); fi
}
step() { printf '\n==== %s ====\n' "$*"; }

step "ruff"
if ! "$BIN/ruff" check . || ! "$BIN/ruff" format --check .; then failed_steps+=(ruff); fi

step "pylint-odoo (mandatory checks)"
if ! "$BIN/pylint" --rcfile=.pylintrc-mandatory "${MODULES[@]/#/addons/}"; then failed_steps+=(pylint-odoo); fi

step "pytest (pure Python)"
pytest_log="$(mktemp)"; pytest_xml="$(mktemp --suffix .xml)"
"$BIN/python" -m pytest tests -rs --junitxml="$pytest_xml" 2>&1 | tee "$pytest_log"
rc=${PIPESTATUS[0]}
summary="$(grep -E '^=*.*(passed|failed|error|no tests ran).* in [0-9.]+s' "$pytest_log" | tail -1)"
p="$(grep -oE '[0-9]+ passed' <<<"$summary" | grep -oE '[0-9]+')"
f=0
for n in $(grep -oE '[0-9]+ (failed|errors?)' <<<"$summary" | grep -oE '^[0-9]+'); do f=$((f + n)); done
passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
if [ "$rc" -ne 0 ]; then failed_steps+=(pytest); fi
if [ -s "$pytest_xml" ]; then check_skips --junit "$pytest_xml"; fi
rm -f "$pytest_log" "$pytest_xml"

if [ "$run_odoo" = 1 ]; then
    tags="${TEST_TAGS:-$(IFS=,; echo "${MODULES[*]/#//},${REGRESSION_TAGS[*]}")}"
    step "Odoo tests: ${MODULES[*]}; regression gate: ${TEST_TAGS:-${REGRESSION_TAGS[*]}}"
    db="telecom_test_$(date +%s)_$$"
    port="$("$VENV_PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    odoo_log="$(mktemp)"
    drop_db() { dropdb --if-exists "$db" 2>/dev/null; rm -rf "$ROOT/.local/data/filestore/$db"; }
    trap drop_db EXIT
    "${ODOO_BIN[@]}" -d "$db" -i "$(IFS=,; echo "${MODULES[*]}")" --without-demo=all \
        --test-enable --test-tags "$tags" --stop-after-init \
        --http-interface 127.0.0.1 --http-port "$port" --log-level test \
        --max-cron-threads 0 2>&1 | tee "$odoo_log"
    rc=${PIPESTATUS[0]}
    result="$(grep -oE '[0-9]+ failed, [0-9]+ error\(s\) of [0-9]+ tests' "$odoo_log" | tail -1)"
    if [ -z "$result" ]; then
        echo "Odoo did not report a test result (install failed?): see the log above"
        failed_steps+=(odoo-tests); failed=$((failed + 1))
    else
        read -r of _ oe _ _ ot _ <<<"$result"
        before=$skipped
        check_skips --odoo-log "$odoo_log"
        # Odoo counts skipped tests among those run.
        passed=$((passed + ot - of - oe - (skipped - before))); failed=$((failed + of + oe))
        echo "Odoo: $result, $((skipped - before)) skipped"
        if [ "$rc" -ne 0 ] || [ $((of + oe)) -ne 0 ]; then failed_steps+=(odoo-tests); fi
    fi
    # An ERROR logged outside a test (a broken view, a failed data file) is a failure too.
    if grep -E '^[0-9-]+ [0-9:,]+ [0-9]+ (ERROR|CRITICAL) ' "$odoo_log" | grep -vq 'odoo.tests.result\|at least one error occurred'; then
        if [[ ! " ${failed_steps[*]} " =~ " odoo-tests " ]]; then
            echo "Odoo logged errors outside the test results:"
            grep -E '^[0-9-]+ [0-9:,]+ [0-9]+ (ERROR|CRITICAL) ' "$odoo_log" | head -20
            failed_steps+=(odoo-log-errors)
        fi
    fi
    rm -f "$odoo_log"
fi

echo
if [ ${#failed_steps[@]} -ne 0 ]; then
    echo "FAILED steps: ${failed_steps[*]}"
    [ "$failed" -eq 0 ] && failed=${#failed_steps[@]}
    echo "$passed passed, $failed failed, $skipped skipped"
    exit 1
fi
echo "all checks passed"
echo "$passed passed, $failed failed, $skipped skipped"
