"""The operator CLI end to end: a real Odoo 18 with bss_import, a generated export.

The module fixture installs bss_import into a throwaway database, serves it on a
free port of 127.0.0.1 and drops the database afterwards. Odoo runs from its
source tree (``ODOO_PATH``) with the Python running pytest (the project's
virtualenv); PostgreSQL comes from the PG* variables or the local cluster, as in
scripts/setup.sh. Every assertion message carries the end of the server log.
On a machine shared by several test runs, ``BSS_E2E_DB_PREFIX`` and
``BSS_E2E_HTTP_PORT`` choose the database name prefix and the HTTP port.
"""

import contextlib
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import xmlrpc.client
from decimal import Decimal
from pathlib import Path

import pytest
from expected_counts import QUARANTINED_SUBSCRIBER_DEFECTS, defect_keys, expected_counts, read_csv
from odoo_server import free_port, pg_args

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "bss_migrate.py"
GENERATOR = ROOT / "scripts" / "generate_bss_export.py"
ODOO_PATH = Path(os.environ.get("ODOO_PATH", Path.home() / "src" / "odoo-18.0"))
DEFECTS = (
    "duplicate_rows=5,orphans=4,missing_mandatory=3,inconsistent_state=2,unknown_legacy_code=3,"
    "invalid_msisdn=2,invalid_imsi=2,invalid_iccid=2,encoding_damage=3,secret_columns_dropped=2"
)
INSTALL_TIMEOUT = 1200
START_TIMEOUT = 180
CLI_TIMEOUT = 600


def _psql(db, sql):
    return subprocess.run(
        ["psql", "-d", db, "-tAc", sql], capture_output=True, text=True, timeout=60, check=False
    )


class OdooServer:
    def __init__(self, db, url, log_path):
        self.db = db
        self.url = url
        self.log_path = log_path

    def log_tail(self, lines=80):
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])

    def explain(self, result):
        """Assertion message: what the CLI said, then the end of the server log."""
        return (
            f"exit {result.returncode}\n--- stderr ---\n{result.stderr[-4000:]}\n"
            f"--- stdout ---\n{result.stdout[-2000:]}\n--- server log ---\n{self.log_tail()}"
        )


def _prerequisites():
    if not (ODOO_PATH / "odoo-bin").is_file():
        pytest.skip(f"no Odoo source tree at {ODOO_PATH} (set ODOO_PATH)")
    if not (ROOT / "addons" / "bss_import" / "__manifest__.py").is_file():
        pytest.skip("addons/bss_import is not an installable addon yet")
    for tool in ("psql", "dropdb"):
        if not shutil.which(tool):
            pytest.skip(f"PostgreSQL client {tool!r} not found")
    if _psql("postgres", "select 1").returncode:
        pytest.skip("cannot connect to PostgreSQL (start it, or set the PG* variables)")


def _odoo_base(data_dir):
    return [
        sys.executable,
        str(ODOO_PATH / "odoo-bin"),
        "--addons-path",
        f"{ODOO_PATH / 'odoo' / 'addons'},{ROOT / 'addons'}",
        "--data-dir",
        str(data_dir),
        *pg_args(),
    ]


def _install(server, base, env):
    with open(server.log_path, "ab") as log:
        install = subprocess.run(
            [
                *base,
                "-d",
                server.db,
                "-i",
                "bss_import",
                "--without-demo=all",
                "--stop-after-init",
                "--no-http",
            ]
            + ["--max-cron-threads", "0", "--log-level", "warn"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            timeout=INSTALL_TIMEOUT,
            check=False,
        )
    state = _psql(server.db, "SELECT state FROM ir_module_module WHERE name = 'bss_import'").stdout.strip()
    assert install.returncode == 0 and state == "installed", (
        f"installing bss_import failed (exit {install.returncode}, module state {state!r}):\n"
        + server.log_tail(150)
    )


def _serve(server, base, env, port, *options):
    """Start Odoo on ``port`` (its own process group: a kill reaches its workers too); wait for it."""
    with open(server.log_path, "ab") as log:
        proc = subprocess.Popen(
            [*base, "-d", server.db, "--db-filter", f"^{server.db}$", "--http-interface", "127.0.0.1"]
            + ["--http-port", str(port), "--max-cron-threads", "0", "--log-level", "info", *options],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        assert proc.poll() is None, f"Odoo exited with {proc.returncode}:\n{server.log_tail()}"
        try:
            with urllib.request.urlopen(f"{server.url}/web/login", timeout=10) as resp:
                if resp.status == 200:
                    return proc
        except (OSError, urllib.error.URLError):
            pass
        assert time.monotonic() < deadline, f"no answer in {START_TIMEOUT}s:\n{server.log_tail()}"
        time.sleep(1)


def _stop(proc):
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=30)


def _drop(db):
    for _attempt in range(5):
        dropped = subprocess.run(
            ["dropdb", "--if-exists", db], capture_output=True, text=True, timeout=120, check=False
        )
        if dropped.returncode == 0:
            break
        time.sleep(2)


@pytest.fixture(scope="module")
def odoo(tmp_path_factory):
    _prerequisites()
    tmp = tmp_path_factory.mktemp("odoo")
    # Machines shared by several test runs give each its own database prefix and port (both optional).
    db = f"{os.environ.get('BSS_E2E_DB_PREFIX', 'bss_cli_e2e')}_{int(time.time())}_{os.getpid()}"
    data_dir = tmp / "data"
    base = _odoo_base(data_dir)
    env = {**os.environ, "PYTHONPATH": str(ODOO_PATH)}
    port = int(os.environ.get("BSS_E2E_HTTP_PORT") or free_port())
    server = OdooServer(db, f"http://127.0.0.1:{port}", tmp / "odoo.log")
    proc = None
    try:
        _install(server, base, env)
        proc = _serve(server, base, env, port)
        yield server
    finally:
        _stop(proc)
        _drop(db)
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    """A small generated export (ZIP) and its manifest."""
    folder = tmp_path_factory.mktemp("export")
    path = folder / "export.zip"
    subprocess.run(
        [sys.executable, str(GENERATOR), "--subscribers", "300", "--seed", "7", "--out", str(path)]
        + ["--defects", DEFECTS, "--manifest", str(folder / "manifest.json"), "--jobs", "1"],
        check=True,
        capture_output=True,
        timeout=300,
    )
    manifest = json.loads((folder / "manifest.json").read_text())
    return path, manifest


def cli(odoo, *args, password="admin"):
    env = {k: v for k, v in os.environ.items() if k not in ("ODOO_DB", "ODOO_PASSWORD")}
    env["ODOO_PASSWORD"] = password
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--url", odoo.url, "--db", odoo.db, *map(str, args)],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
    )


def _check_summary(summary, manifest, explain):
    files = manifest["files"]
    assert sorted(summary["files"]) == sorted(files), explain
    for name, info in files.items():
        got = summary["files"][name]
        assert (got["object"], got["rows"]) == (info["object"], info["rows"]), f"{name}: {got}\n{explain}"
    rows_per_object = {}
    for info in files.values():
        rows_per_object[info["object"]] = rows_per_object.get(info["object"], 0) + info["rows"]
    assert {obj: v["source_rows"] for obj, v in summary["objects"].items()} == rows_per_object, explain
    injected = {kind: d["total"] for kind, d in manifest["defects"].items() if d["total"]}
    assert len(injected) == 10  # every kind of defect was injected
    assert {kind: summary["findings"].get(kind) for kind in injected} == injected, explain


def test_profile_json_matches_the_manifest(odoo, export):
    path, manifest = export
    result = cli(odoo, "profile", path, "--json")
    explain = odoo.explain(result)
    assert result.returncode == 0, explain
    summary = json.loads(result.stdout)  # exactly one JSON object, nothing else on stdout
    assert set(summary) == {"run_id", "files", "objects", "findings", "mapping"}, explain
    assert isinstance(summary["run_id"], int)
    _check_summary(summary, manifest, explain)
    for obj, columns in summary["mapping"].items():
        for column, target in columns.items():
            assert target["field"] is None or isinstance(target["field"], str), (obj, column, target)
            assert isinstance(target["confidence"], float) and 0 <= target["confidence"] <= 1, target
    assert "uploading export.zip" in result.stderr


def test_profile_readable_report(odoo, export):
    path, manifest = export
    result = cli(odoo, "profile", path)
    explain = odoo.explain(result)
    assert result.returncode == 0, explain
    out = result.stdout
    assert out.startswith("Run BSSI/") and ": profiled" in out.splitlines()[0], explain
    for name in manifest["files"]:
        assert any(line.startswith(name + " ") for line in out.splitlines()), f"{name}\n{explain}"
    findings = out.split("\nFindings (", 1)[1].split("\nProposed mapping", 1)[0]
    for kind, defect in manifest["defects"].items():
        if defect["total"]:
            assert f" {kind} " in findings, f"{kind}\n{explain}"
    assert "Proposed mapping" in out


def test_server_path_reads_the_export_in_place(odoo, export):
    path, manifest = export
    result = cli(odoo, "profile", path, "--server-path", "--json")
    explain = odoo.explain(result)
    assert result.returncode == 0, explain
    assert "uploading" not in result.stderr
    _check_summary(json.loads(result.stdout), manifest, explain)


def test_truncated_zip_is_refused_naming_the_file(odoo, export, tmp_path):
    path, _manifest = export
    data = path.read_bytes()
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(data[: len(data) // 2])
    result = cli(odoo, "profile", truncated, "--json")
    explain = odoo.explain(result)
    assert result.returncode == 1, explain
    assert result.stdout == "", explain
    assert "Traceback" not in result.stderr, explain
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: BSSI/") and "truncated.zip" in last, explain


def test_wrong_password_is_refused(odoo, export):
    path, _manifest = export
    result = cli(odoo, "profile", path, password="not-the-password")
    explain = odoo.explain(result)
    assert result.returncode == 2, explain
    assert result.stderr.strip() == f"error: login failed for user 'admin' on database '{odoo.db}'", explain


# --- run, status, quarantine, report: one migration of a generated export ----------------------------------

# The defects the migration resolves by quarantine, collapse or flag
# (as addons/bss_import/tests/test_migrate_phases.py).
MIGRATE_DEFECTS = (
    "duplicate_rows=6,orphans=3,missing_mandatory=4,inconsistent_state=2,unknown_legacy_code=2,"
    "invalid_msisdn=2,invalid_imsi=1,invalid_iccid=1,encoding_damage=2"
)
OBJECT_FILES = {
    "service_plans": "service_plans.csv",
    "product_catalog": "product_catalog.csv",
    "billing_accounts": "billing_accounts.csv",
    "subscribers": "subscribers.csv",
    "orders": "orders.csv",
    "invoices": "invoices.csv",
}


@pytest.fixture(scope="module")
def migrated(odoo, tmp_path_factory):
    """A generated export (a folder) migrated by ``run --accept-suggestions --json``."""
    base = tmp_path_factory.mktemp("migrate")
    folder = base / "export"
    subprocess.run(
        [sys.executable, str(GENERATOR), "--subscribers", "200", "--seed", "21", "--out", str(folder)]
        + ["--defects", MIGRATE_DEFECTS, "--manifest", str(base / "manifest.json"), "--jobs", "1"],
        check=True,
        capture_output=True,
        timeout=300,
    )
    manifest = json.loads((base / "manifest.json").read_text())
    result = cli(odoo, "run", folder, "--accept-suggestions", "--json")
    return folder, manifest, result


def test_run_migrates_every_phase_with_exact_counts(odoo, migrated):
    folder, manifest, result = migrated
    explain = odoo.explain(result)
    summary = json.loads(result.stdout)  # exactly one JSON object on stdout
    assert set(summary) == {
        "run_id",
        "state",
        "objects",
        "findings",
        "owner_mapping",
        "control_totals",
        "mismatches",
    }, explain
    assert summary["state"] == "migrated", explain
    assert result.returncode == (1 if summary["mismatches"] else 0), explain
    assert summary["mismatches"] == 0, explain
    assert result.returncode == 0, explain
    objects = summary["objects"]
    assert list(objects) == ["custom_fields", *OBJECT_FILES], explain
    for obj, counts in objects.items():
        assert set(counts) == {"source_rows", "duplicates_collapsed", "quarantined", "created", "updated"} | {
            "unchanged"
        }, explain
        assert counts["source_rows"] == sum(v for k, v in counts.items() if k != "source_rows"), (
            obj,
            explain,
        )
        if obj in OBJECT_FILES:
            assert counts["source_rows"] == len(read_csv(folder / OBJECT_FILES[obj])), (obj, explain)
    for obj, counts in expected_counts(folder, manifest).items():
        assert objects[obj] == counts, (obj, explain)
    for name, pair in summary["control_totals"].items():
        assert set(pair) == {"source", "odoo"} and pair["source"] == pair["odoo"], (name, explain)
    assert "billing_accounts.open AR (x_legacy_ar_balance), all accounts" in summary["control_totals"]
    # Progress, phase by phase, on stderr.
    lines = result.stderr.splitlines()
    subscribers = next(line for line in lines if "] subscribers: " in line and " rows in " in line)
    assert subscribers.split(": ", 1)[1].startswith(f"{objects['subscribers']['source_rows']}/"), explain
    assert "rows/s" in subscribers, explain
    assert lines[-1].endswith("migrated; stopped before the OCS cutover"), explain


def test_status_and_quarantine_of_the_migrated_run(odoo, migrated):
    _folder, _manifest, result = migrated
    summary = json.loads(result.stdout)
    status = cli(odoo, "status", summary["run_id"], "--json")
    assert status.returncode == 0, odoo.explain(status)
    assert json.loads(status.stdout) == summary
    quarantine = cli(odoo, "quarantine", summary["run_id"], "--json")
    assert quarantine.returncode == 0, odoo.explain(quarantine)
    by_object = json.loads(quarantine.stdout)["by_object"]
    for obj in ("billing_accounts", "subscribers"):
        assert sum(by_object[obj].values()) == summary["objects"][obj]["quarantined"], (obj, by_object)


def test_report_pdf_and_csv_of_the_migrated_run(odoo, migrated, tmp_path):
    _folder, _manifest, result = migrated
    summary = json.loads(result.stdout)
    run_id = summary["run_id"]
    pdf = tmp_path / "run.pdf"
    printed = cli(odoo, "report", run_id, "--format", "pdf", "--output", pdf)
    assert printed.returncode == 0, odoo.explain(printed)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and b"%%EOF" in data[-1024:], data[:100]

    out = tmp_path / "run.csv"
    exported = cli(odoo, "report", run_id, "--format", "csv", "--output", out)
    assert exported.returncode == 0, odoo.explain(exported)
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["section", "object", "key", "name", "source", "odoo", "match", "detail"]
    counts = {
        (r[1], r[3]): int(r[4]) for r in rows if r[0] == "count" and not r[3].startswith("source rows =")
    }
    for obj, figures in summary["objects"].items():
        for name, value in figures.items():
            assert counts[(obj, name)] == value, (obj, name)
    balance = [r for r in rows if r[0] == "count" and r[3].startswith("source rows =")]
    assert len(balance) == len(summary["objects"]) and all(r[6] == "match" for r in balance)
    totals = {f"{r[1]}.{r[3]}": {"source": r[4], "odoo": r[5]} for r in rows if r[0] == "control_total"}
    checksums = {f"{r[1]}.checksum": {"source": r[4], "odoo": r[5]} for r in rows if r[0] == "checksum"}
    assert {**checksums, **totals} == summary["control_totals"]
    quarantine = json.loads(cli(odoo, "quarantine", run_id, "--json").stdout)["by_object"]
    assert {(r[1], r[3]): int(r[4]) for r in rows if r[0] == "quarantine"} == {
        (obj, reason): n for obj, reasons in quarantine.items() for reason, n in reasons.items()
    }
    assert rows[-1] == ["run", "", "", "unacknowledged mismatches", "0", "", "", ""]


def test_a_new_run_of_the_same_export_changes_nothing(odoo, migrated):
    folder, _manifest, first = migrated
    result = cli(odoo, "run", folder, "--accept-suggestions", "--json")
    explain = odoo.explain(result)
    assert result.returncode == 0, explain
    again = json.loads(result.stdout)
    before = json.loads(first.stdout)
    assert again["run_id"] != before["run_id"]
    for obj, counts in again["objects"].items():
        assert counts["created"] == counts["updated"] == 0, (obj, explain)
        assert counts["unchanged"] == before["objects"][obj]["created"] + before["objects"][obj]["updated"], (
            obj,
            explain,
        )


def _write_csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)


def test_delta_pass_applies_a_later_export_with_an_exact_change_list(odoo, migrated, tmp_path):
    folder, manifest, first = migrated
    run_id = json.loads(first.stdout)["run_id"]
    later = tmp_path / "later"
    shutil.copytree(folder, later)
    with open(folder / "subscribers.csv", newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header, subs = reader.fieldnames, list(reader)
    # Clean keys (one row, no defect): the rows the pass changes. The one that vanishes has no order
    # (its usage rows go with it, as they would from the source).
    bad = set().union(*(defect_keys(manifest, k, "subscribers") for k in QUARANTINED_SUBSCRIBER_DEFECTS))
    bad |= defect_keys(manifest, "missing_mandatory", "billing_accounts")
    ordered = {r["subscriber_id"] for r in read_csv(folder / "orders.csv")}
    rows_of = {}
    for row in subs:
        rows_of.setdefault(row["subscriber_id"], []).append(row)
    clean = [
        rows[0]
        for key, rows in rows_of.items()
        if len(rows) == 1 and key not in bad and rows[0]["account_number"] not in bad
    ]
    gone = next(row for row in clean if row["subscriber_id"] not in ordered)
    moved = [row for row in clean if row is not gone and row["city"] != "Delta City"][:3]
    old_city = {row["subscriber_id"]: row["city"] for row in moved}
    for row in moved:
        row["city"] = "Delta City"
    new = dict(
        moved[0], subscriber_id="S900000001", msisdn="+442099999901", imsi="", iccid="", city="Newtown"
    )
    gone_keys = {gone["subscriber_id"]}
    _write_csv(
        later / "subscribers.csv", header, [r for r in subs if r["subscriber_id"] not in gone_keys] + [new]
    )
    usage = read_csv(folder / "usage.csv")
    _write_csv(later / "usage.csv", list(usage[0]), [r for r in usage if r["subscriber_id"] not in gone_keys])

    changes = tmp_path / "changes.csv"
    result = cli(odoo, "delta", run_id, later, "--changes", changes, "--json")
    explain = odoo.explain(result)
    assert result.returncode == 0, explain
    summary = json.loads(result.stdout)
    assert summary["mismatches"] == 0, explain
    delta = summary["delta"]
    assert delta["delta_of"] == run_id and not delta["archive_vanished"], explain
    assert {
        k: delta["objects"]["subscribers"][k] for k in ("new", "changed", "vanished", "fields_changed")
    } == {
        "new": 1,
        "changed": 3,
        "vanished": 1,
        "fields_changed": 3,
    }, explain
    for obj, counts in delta["objects"].items():
        if obj != "subscribers":
            assert (counts["new"], counts["changed"], counts["vanished"]) == (0, 0, 0), (obj, explain)
    assert delta["changes"] == 4
    rows = read_csv(changes)
    assert sorted((r["kind"], r["key"], r["field"], r["before"], r["after"]) for r in rows) == sorted(
        [("changed", key, "city", city, "Delta City") for key, city in old_city.items()]
        + [("vanished", key, "", "", "") for key in gone_keys]
    ), explain
    # The same later export again: nothing written, nothing listed.
    again = cli(odoo, "delta", run_id, later, "--json")
    assert again.returncode == 0, odoo.explain(again)
    counts = json.loads(again.stdout)["delta"]["objects"]["subscribers"]
    assert (counts["new"], counts["changed"], counts["fields_changed"]) == (0, 0, 0), odoo.explain(again)


def test_rollback_undoes_the_run_and_its_delta_passes_and_a_second_one_changes_nothing(odoo, migrated):
    _folder, _manifest, first = migrated
    summary = json.loads(first.stdout)
    run_id = summary["run_id"]
    result = cli(odoo, "rollback", run_id, "--json")
    explain = odoo.explain(result)
    assert result.returncode == 0, explain
    report = json.loads(result.stdout)
    assert report["state"] == "rolled_back" and report["run_id"] == run_id, explain
    assert len(report["passes"]) >= 2 and report["passes"][0] == run_id, explain  # the delta passes too
    objects = report["objects"]
    for obj in (
        "custom_fields",
        "service_plans",
        "product_catalog",
        "billing_accounts",
        "subscribers",
        "orders",
    ):
        counts = objects[obj]
        assert (
            counts["deleted"] + counts["archived"] + counts["kept"] >= summary["objects"][obj]["created"]
        ), (
            obj,
            explain,
        )
    assert objects["invoices"]["reversed"] == summary["objects"]["invoices"]["created"], explain

    def scalar(sql):
        out = _psql(odoo.db, sql)
        assert out.returncode == 0, out.stderr
        return int(out.stdout.strip())

    # What the run created is gone from what users see; the ledger nets to zero.
    assert scalar("SELECT count(*) FROM res_partner WHERE active AND x_subscriber_id IS NOT NULL") == 0
    assert scalar("SELECT count(*) FROM sale_order") == 0
    assert scalar("SELECT count(*) FROM ir_model_fields WHERE state = 'manual'") == 0
    assert (
        scalar(
            "SELECT count(*) FROM account_move WHERE move_type = 'out_invoice' AND state = 'posted' "
            "AND payment_state <> 'reversed'"
        )
        == 0
    )
    assert (
        scalar(
            "SELECT count(*) FROM (SELECT l.partner_id FROM account_move_line l JOIN account_account a "
            "ON a.id = l.account_id WHERE a.account_type = 'asset_receivable' AND l.parent_state = 'posted' "
            "GROUP BY 1 HAVING sum(l.balance) <> 0) s"
        )
        == 0
    )
    again = cli(odoo, "rollback", run_id, "--json")
    assert again.returncode == 0, odoo.explain(again)
    assert json.loads(again.stdout) == report


# --- the rest of the customer record: owners, numbers, ports, interactions, documents ----------------------

#: The objects of the customer history and their files.
HISTORY_FILES = {
    "numbers": "numbers.csv",
    "number_ports": "number_ports.csv",
    "interactions": "interactions.csv",
    "documents": "documents.csv",
}


def _query(db, sql, **params):
    """The one value ``sql`` selects, its ``:'name'`` / ``:name`` variables quoted by psql from ``params``."""
    args = ["psql", "-d", db, "-tA", "-v", "ON_ERROR_STOP=1"]
    for name, value in params.items():
        args += ["-v", f"{name}={value}"]
    out = subprocess.run(args, input=sql, capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_customer_history_migrates_exactly_notifies_no_one_and_rolls_back(odoo, tmp_path):
    folder = tmp_path / "export"
    subprocess.run(
        [sys.executable, str(GENERATOR), "--subscribers", "150", "--seed", "47", "--out", str(folder)]
        + ["--customer-history", "--defects", "missing_document=2", "--jobs", "1"]
        + ["--manifest", str(tmp_path / "manifest.json")],
        check=True,
        capture_output=True,
        timeout=300,
    )
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    # The history needs the lines, not their orders and invoices (quicker without).
    for name in ("orders.csv", "order_lines.csv", "invoices.csv", "invoice_lines.csv"):
        (folder / name).unlink()
    rows = {obj: read_csv(folder / name) for obj, name in HISTORY_FILES.items()}
    owners = read_csv(folder / "owners.csv")
    mapped = owners[0]["owner_id"]
    owner_map = tmp_path / "owner map.csv"
    owner_map.write_text(f"legacy_id,user,team\n{mapped},admin,\n")

    def query(sql, **params):
        return _query(odoo.db, sql, **params)

    mail = "SELECT (SELECT count(*) FROM mail_mail) || '/' || (SELECT count(*) FROM mail_notification)"
    partner_files = "SELECT count(*) FROM ir_attachment WHERE res_model = 'res.partner'"
    with _company_of_admin(odoo, "Customer History Mobile") as company:
        # After the company is created: its contact has its logo's attachments.
        mail_before, attachments_before = query(mail), query(partner_files)
        profile = cli(odoo, "profile", folder, "--json")
        assert profile.returncode == 0, odoo.explain(profile)
        findings = json.loads(profile.stdout)["findings"]
        assert findings["missing_document"] == manifest["defects"]["missing_document"]["total"] == 2

        result = cli(odoo, "run", folder, "--accept-suggestions", "--owner-map", owner_map, "--json")
        explain = odoo.explain(result)
        assert result.returncode == 0, explain
        summary = json.loads(result.stdout)
        assert summary["mismatches"] == 0, explain
        objects = summary["objects"]
        missing = {i["key"] for i in manifest["defects"]["missing_document"]["objects"]["documents"]["items"]}
        for obj, source in rows.items():
            quarantined = len(missing) if obj == "documents" else 0
            assert objects[obj] == {
                "source_rows": len(source),
                "duplicates_collapsed": 0,
                "quarantined": quarantined,
                "created": len(source) - quarantined,
                "updated": 0,
                "unchanged": 0,
            }, (obj, explain)
        for name, pair in summary["control_totals"].items():
            assert pair["source"] == pair["odoo"], (name, explain)

        # Owners: every id the export names is listed; the rows naming an unmapped one are the finding.
        named = [
            (n, row, column)
            for name, columns in (
                ("billing_accounts.csv", ("owner_id",)),
                ("subscribers.csv", ("owner_id",)),
                ("interactions.csv", ("author_id", "assigned_to")),
                ("documents.csv", ("uploaded_by",)),
            )
            for n, row in enumerate(read_csv(folder / name))
            for column in columns
            if row.get(column)
        ]
        unmapped_rows = {(id(row), n) for n, row, column in named if row[column] != mapped}
        ids = {row[column] for _n, row, column in named} | {o["owner_id"] for o in owners}
        assert summary["owner_mapping"] == {
            "owners": len(ids),
            "mapped": 1,
            "unmapped": len(ids) - 1,
            "unmapped_rows": len(unmapped_rows),
        }, explain
        assert summary["findings"]["unmapped_owner"] == len(unmapped_rows), explain

        # Numbers and ports as the export says, in the run's company.
        by_status = query(
            "SELECT string_agg(status || '=' || n, ',' ORDER BY status) FROM "
            "(SELECT status, count(*) n FROM telecom_number WHERE company_id = :company GROUP BY 1) s",
            company=company,
        )
        expected = {}
        for row in rows["numbers"]:
            expected[row["status"]] = expected.get(row["status"], 0) + 1
        assert by_status == ",".join(f"{k}={v}" for k, v in sorted(expected.items())), explain
        for port in rows["number_ports"]:
            assert query(
                "SELECT direction || '|' || state || '|' || request_date || '|'"
                " || coalesce(rejection_code, '') FROM telecom_number_port"
                " WHERE company_id = :company AND transaction_id = :'txn'",
                company=company,
                txn=port["transaction_id"],
            ) == "|".join([port["direction"], port["state"], port["request_date"], port["rejection_code"]])
        ports = "SELECT count(*) FROM telecom_number_port WHERE company_id = :company"
        assert int(query(ports, company=company)) == len(rows["number_ports"])

        # Interactions: original timestamps and authors, scheduled ones as activities, no mail at all.
        done = [r for r in rows["interactions"] if r["status"] != "scheduled"]
        scheduled = [r for r in rows["interactions"] if r["status"] == "scheduled"]
        assert scheduled and any(r["author_id"] == mapped for r in done), "the generator writes both"
        legacy = query("SELECT id FROM res_partner WHERE name = 'Legacy BSS' ORDER BY id LIMIT 1")
        admin = query("SELECT partner_id FROM res_users WHERE login = 'admin'")
        message = (
            "SELECT to_char(m.date, 'YYYY-MM-DD HH24:MI:SS') || '|' || m.author_id FROM mail_message m"
            " JOIN res_partner p ON p.id = m.res_id AND m.model = 'res.partner'"
            " WHERE p.company_id = :company AND m.date = :'date'"
            " AND (p.x_subscriber_id = :'key' OR p.x_billing_account_number = :'key')"
        )
        for row in done:
            key = row["subscriber_id"] or row["account_number"]
            got = query(message, company=company, date=row["occurred_at"], key=key)
            author = admin if row["author_id"] == mapped else legacy
            assert got == f"{row['occurred_at']}|{author}", (row, explain)
        activities = (
            "SELECT count(*) FROM mail_activity a JOIN res_partner p ON p.id = a.res_id"
            " AND a.res_model = 'res.partner' WHERE p.company_id = :company"
        )
        assert int(query(activities, company=company)) == len(scheduled)
        assert query(mail) == mail_before

        # Documents: on their record, with their original names and dates.
        document = (
            "SELECT to_char(a.create_date, 'YYYY-MM-DD HH24:MI:SS') FROM ir_attachment a"
            " JOIN res_partner p ON p.id = a.res_id AND a.res_model = 'res.partner'"
            " WHERE p.company_id = :company AND a.name = :'name'"
            " AND (p.x_subscriber_id = :'key' OR p.x_billing_account_number = :'key')"
        )
        for row in rows["documents"]:
            if row["document_id"] in missing:
                continue
            key = row["subscriber_id"] or row["account_number"]
            got = query(document, company=company, name=row["file_name"], key=key)
            assert got == row["document_date"], (row, explain)

        # The rollback removes all of it; the attachments, messages and activities with their records.
        rolled = cli(odoo, "rollback", summary["run_id"], "--json")
        assert rolled.returncode == 0, odoo.explain(rolled)
        numbers = "SELECT count(*) FROM telecom_number WHERE company_id = :company"
        assert (query(numbers, company=company), query(ports, company=company)) == ("0", "0")
        links = (
            "SELECT count(*) FROM bss_import_link WHERE company_id = :company"
            " AND object IN ('numbers', 'number_ports', 'interactions', 'documents')"
        )
        assert query(links, company=company) == "0"
        assert query("SELECT count(*) FROM mail_message WHERE author_id = :legacy", legacy=legacy) == "0"
        assert query(partner_files) == attachments_before
        orphans = (
            "SELECT count(*) FROM mail_activity a LEFT JOIN res_partner p ON p.id = a.res_id"
            " WHERE a.res_model = 'res.partner' AND (p.id IS NULL OR p.company_id = :company)"
        )
        assert query(orphans, company=company) == "0"


# --- cohorts: a run migrated in waves, one wave rolled back alone ---------------------------------------


@contextlib.contextmanager
def _company_of_admin(odoo, name):
    """Make a new company the admin's current one for the block (its runs and records go there)."""
    common = xmlrpc.client.ServerProxy(f"{odoo.url}/xmlrpc/2/common")
    uid = common.authenticate(odoo.db, "admin", "admin", {})
    models = xmlrpc.client.ServerProxy(f"{odoo.url}/xmlrpc/2/object")

    def call(model, method, *args):
        return models.execute_kw(odoo.db, uid, "admin", model, method, list(args))

    [user] = call("res.users", "read", [uid], ["company_id"])
    company = call("res.company", "create", {"name": name})
    call("res.users", "write", [uid], {"company_ids": [(4, company)], "company_id": company})
    try:
        yield company
    finally:
        call("res.users", "write", [uid], {"company_id": user["company_id"][0]})


def test_a_run_migrated_in_cohorts_moves_each_wave_whole_and_rolls_one_back_alone(odoo, tmp_path):
    folder = tmp_path / "export"
    subprocess.run(
        [sys.executable, str(GENERATOR), "--subscribers", "120", "--seed", "33", "--out", str(folder)]
        + ["--jobs", "1"],
        check=True,
        capture_output=True,
        timeout=300,
    )
    rows = {
        obj: read_csv(folder / f"{obj}.csv")
        for obj in ("billing_accounts", "subscribers", "orders", "invoices")
    }
    accounts = sorted(r["account_number"] for r in rows["billing_accounts"])
    pilot = set(accounts[:3])
    lines = sum(r["account_number"] in pilot for r in rows["subscribers"])
    with _company_of_admin(odoo, "Cohort Wave Mobile") as company:
        first = cli(
            odoo, "run", folder, "--accept-suggestions", "--cohort", "accounts:" + ",".join(sorted(pilot)),
            "--cohort-name", "pilot", "--json",
        )  # fmt: skip
        explain = odoo.explain(first)
        assert first.returncode == 0, explain
        summary = json.loads(first.stdout)
        cohort = summary["cohort"]
        run_id = cohort["run_id"]
        assert (cohort["name"], cohort["state"], summary["run_id"]) == ("pilot", "migrated", cohort["id"]), (
            explain
        )
        assert cohort["members"]["billing_accounts"] == 3 and cohort["members"]["subscribers"] == lines, (
            explain
        )
        assert summary["objects"]["subscribers"]["source_rows"] == lines, explain
        assert summary["objects"]["billing_accounts"]["created"] == 3, explain
        assert cohort["legacy_owned"] == {
            "billing_accounts": len(accounts) - 3,
            "subscribers": len(rows["subscribers"]) - lines,
        }, explain
        second = cli(odoo, "cohort", run_id, "--cohort", "percent:50:7", "--json")
        third = cli(odoo, "cohort", run_id, "--cohort", "rest", "--json")
        for result in (second, third):
            assert result.returncode == 0, odoo.explain(result)
        report = cli(odoo, "cohorts", run_id, "--json")
        explain = odoo.explain(report)
        waves = json.loads(report.stdout)
        assert [c["name"] for c in waves["cohorts"]] == ["pilot", "C2", "C3"], explain
        for obj, objects in rows.items():
            assert waves["overall"][obj]["source_rows"] == len(objects), (obj, explain)
            assert waves["overall"][obj]["balanced"], (obj, explain)
        assert waves["legacy_owned"] == {"billing_accounts": 0, "subscribers": 0}, explain

        def scalar(sql):
            out = _psql(odoo.db, sql)
            assert out.returncode == 0, out.stderr
            return int(out.stdout.strip())

        live = (
            "SELECT count(*) FROM res_partner WHERE active AND x_subscriber_id IS NOT NULL AND company_id = "
        )
        live += str(int(company))
        assert scalar(live) == len(rows["subscribers"]), explain
        c2 = waves["cohorts"][1]
        rollback = cli(odoo, "rollback", run_id, "--cohort", "C2", "--json")
        explain = odoo.explain(rollback)
        assert rollback.returncode == 0, explain
        assert json.loads(rollback.stdout)["passes"] == [c2["id"]], explain
        after = json.loads(cli(odoo, "cohorts", run_id, "--json").stdout)
        assert [c["state"] for c in after["cohorts"]] == ["migrated", "rolled_back", "migrated"], explain
        assert after["legacy_owned"] == {
            "billing_accounts": c2["members"]["billing_accounts"],
            "subscribers": c2["members"]["subscribers"],
        }, explain
        assert scalar(live) == len(rows["subscribers"]) - c2["members"]["subscribers"], explain


# --- kill -9 in the middle of a chunk, then resume; chunks written by two web workers ---------------------


@pytest.fixture(scope="module")
def prefork(tmp_path_factory):
    """A database of its own served by Odoo with two web workers (prefork), killed and restarted by
    the test: ``start()`` and ``kill9()``."""
    _prerequisites()
    tmp = tmp_path_factory.mktemp("prefork")
    db = f"{os.environ.get('BSS_E2E_DB_PREFIX', 'bss_cli_e2e')}_kill_{int(time.time())}_{os.getpid()}"
    data_dir = tmp / "data"
    base = _odoo_base(data_dir)
    env = {**os.environ, "PYTHONPATH": str(ODOO_PATH)}
    port = free_port()
    server = OdooServer(db, f"http://127.0.0.1:{port}", tmp / "odoo.log")
    procs = []

    def start():
        procs.append(_serve(server, base, env, port, "--workers", "3"))

    def kill9():
        # The master and its web workers: as an operating system's OOM killer or a power cut would.
        os.killpg(procs[-1].pid, 9)
        procs[-1].wait(timeout=30)

    server.start, server.kill9 = start, kill9
    try:
        _install(server, base, env)
        start()
        yield server
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, 15)
                proc.wait(timeout=60)
        _drop(db)
        shutil.rmtree(data_dir, ignore_errors=True)


def test_kill_9_mid_chunk_then_resume_with_two_workers_gives_exact_counts(prefork, tmp_path):
    folder = tmp_path / "export"
    subprocess.run(
        [sys.executable, str(GENERATOR), "--subscribers", "1500", "--seed", "41", "--out", str(folder)]
        + ["--defects", MIGRATE_DEFECTS, "--manifest", str(tmp_path / "manifest.json"), "--jobs", "1"],
        check=True,
        capture_output=True,
        timeout=300,
    )
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    env = {k: v for k, v in os.environ.items() if k not in ("ODOO_DB", "ODOO_PASSWORD")}
    env["ODOO_PASSWORD"] = "admin"
    command = [sys.executable, str(SCRIPT), "--url", prefork.url, "--db", prefork.db]
    client = subprocess.Popen(
        [*command, "run", str(folder), "--accept-suggestions", "--workers", "2", "--keys-per-chunk", "50"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def chunks(state):
        query = (
            "SELECT count(*) FROM bss_import_chunk c JOIN bss_import_phase p ON p.id = c.phase_id "
            "WHERE p.object = 'subscribers' AND c.state = '%s'"
        )
        return int(_psql(prefork.db, query % state).stdout.strip() or 0)

    deadline = time.monotonic() + CLI_TIMEOUT
    while chunks("done") < 4:
        assert client.poll() is None, f"the run ended before the kill:\n{client.communicate()}"
        assert time.monotonic() < deadline, prefork.log_tail()
        time.sleep(0.05)
    prefork.kill9()
    _out, err = client.communicate(timeout=120)
    assert client.returncode == 2, err  # the server is gone: a connection error
    # What is left: chunks done and committed, the others pending, nothing of the chunks in flight.
    done, pending = chunks("done"), chunks("pending")
    assert done >= 4 and pending > 0, (done, pending)
    state = _psql(prefork.db, "SELECT state FROM bss_import_phase WHERE object = 'subscribers'").stdout
    assert state.strip() == "running"
    created_by_chunks = _psql(
        prefork.db,
        "SELECT sum(c.created) FROM bss_import_chunk c JOIN bss_import_phase p ON p.id = c.phase_id "
        "WHERE p.object = 'subscribers' AND c.state = 'done'",
    ).stdout.strip()
    lines = _psql(prefork.db, "SELECT count(*) FROM res_partner WHERE x_subscriber_id IS NOT NULL").stdout
    assert int(lines) == int(created_by_chunks)
    run_id = int(_psql(prefork.db, "SELECT max(id) FROM bss_import_run").stdout)

    prefork.start()
    resumed = subprocess.run(
        [*command, "resume", str(run_id), "--workers", "2", "--json"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
    )
    explain = prefork.explain(resumed)
    assert resumed.returncode == 0, explain
    summary = json.loads(resumed.stdout)
    assert summary["state"] == "migrated" and summary["mismatches"] == 0, explain
    # Zero duplicates, zero lost rows: the counts of a run that never stopped (from the files and the
    # manifest), one contact per line, and the content checksums of every phase equal.
    for obj, counts in expected_counts(folder, manifest).items():
        assert summary["objects"][obj] == counts, (obj, explain)
    duplicates = _psql(
        prefork.db,
        "SELECT count(*) FROM (SELECT x_subscriber_id FROM res_partner WHERE x_subscriber_id IS NOT NULL "
        "GROUP BY 1 HAVING count(*) > 1) d",
    ).stdout
    assert int(duplicates) == 0
    lines = _psql(prefork.db, "SELECT count(*) FROM res_partner WHERE x_subscriber_id IS NOT NULL").stdout
    assert int(lines) == summary["objects"]["subscribers"]["created"]
    for name, pair in summary["control_totals"].items():
        assert pair["source"] == pair["odoo"], (name, explain)
    assert chunks("pending") == 0 and chunks("failed") == 0
    # The chunks done before the kill were not written again.
    assert "done before, left as it is" in resumed.stderr
    assert not _psql(prefork.db, "SELECT 1 FROM bss_import_chunk WHERE attempts > 1").stdout.strip()
    # Two workers report the run's progress at once: neither report is refused by the database.
    refused = [
        line
        for line in prefork.log_path.read_text(errors="replace").splitlines()
        if "bad query" in line and "bss_import_progress" in line
    ]
    assert not refused, refused[:3]


# --- wallet batches ---------------------------------------------------------------------------------


def _rpc(odoo, model, method, *args, **kwargs):
    proxy = xmlrpc.client.ServerProxy(f"{odoo.url}/xmlrpc/2/object", allow_none=True)
    common = xmlrpc.client.ServerProxy(f"{odoo.url}/xmlrpc/2/common")
    uid = common.authenticate(odoo.db, "admin", "admin", {})
    return proxy.execute_kw(odoo.db, uid, "admin", model, method, list(args), kwargs)


@pytest.fixture(scope="module")
def wallets(odoo):
    """Three subscribers of the admin's company with a wallet each: {subscriber id: wallet id}."""
    result = {}
    for n in range(3):
        partner = _rpc(
            odoo,
            "res.partner",
            "create",
            {"name": f"Wallet subscriber {n}", "x_subscriber_id": f"WB-{n}", "x_msisdn": f"44770090030{n}"},
        )
        result[f"WB-{n}"] = _rpc(odoo, "telecom.wallet", "create", {"partner_id": partner})
    return result


def _balances(odoo, wallets):
    rows = _rpc(odoo, "telecom.wallet", "read", list(wallets.values()), ["balance"])
    by_id = {row["id"]: row["balance"] for row in rows}
    return {key: by_id[wallet_id] for key, wallet_id in wallets.items()}


def test_wallet_batch_applies_a_settlement_file_once_with_progress_and_a_report(odoo, wallets, tmp_path):
    path = tmp_path / "settlement-2026-12-01.csv"
    path.write_text(
        "MSISDN;Type;Amount;Transaction ID;Comment\n"
        "447700900300;payment;20.00;PAY-1;\n"
        "447700900301;payment;5.50;PAY-2;\n"
        "447700900302;payment;1.00;PAY-3;\n"
        "447700900300;usage;2.25;CDR-1;\n"
        "447700900301;usage;9.99;CDR-2;\n"
        "447700900399;payment;1.00;PAY-4;\n"
    )
    report = tmp_path / "result.csv"
    result = cli(odoo, "wallet-batch", path, "--chunk", "4", "--report", report, "--json")
    explain = odoo.explain(result)
    assert result.returncode == 1, explain  # two operations refused
    summary = json.loads(result.stdout)
    assert {key: summary[key] for key in ("items", "posted", "repeated", "refused")} == {
        "items": 6,
        "posted": 4,
        "repeated": 0,
        "refused": 2,
    }, explain
    assert len(summary["batches"]) == 2, explain
    assert summary["reference"].startswith("settlement-2026-12-01.csv/"), explain
    assert "batch 1/2" in result.stderr and "batch 2/2" in result.stderr, explain
    assert _balances(odoo, wallets) == {"WB-0": 17.75, "WB-1": 5.5, "WB-2": 1.0}, explain
    rows = list(csv.DictReader(io.StringIO(report.read_text())))
    assert [(row["row"], row["status"]) for row in rows] == [
        ("2", "posted"),
        ("3", "posted"),
        ("4", "posted"),
        ("5", "posted"),
        ("6", "refused"),
        ("7", "refused"),
    ], rows
    assert "insufficient funds" in rows[4]["reason"], rows
    assert "no MSISDN 447700900399" in rows[5]["reason"], rows

    # The same file again: nothing posted twice.
    again = cli(odoo, "wallet-batch", path, "--chunk", "4", "--json")
    summary = json.loads(again.stdout)
    assert (summary["posted"], summary["repeated"]) == (0, 4), odoo.explain(again)
    assert "(already applied)" in again.stderr, odoo.explain(again)
    assert _balances(odoo, wallets) == {"WB-0": 17.75, "WB-1": 5.5, "WB-2": 1.0}

    # Another file repeating an operation already posted: repeated, not posted again.
    other = tmp_path / "late.csv"
    other.write_text("subscriber_id,type,amount,reference\nWB-2,top_up,1.00,PAY-3\nWB-2,top_up,2,PAY-9\n")
    result = cli(odoo, "wallet-batch", other)
    assert result.returncode == 0, odoo.explain(result)
    assert "2 operations, 1 posted, 1 repeated" in result.stdout, odoo.explain(result)
    assert _balances(odoo, wallets)["WB-2"] == 3.0


def test_wallet_batch_refuses_a_malformed_file_naming_its_rows_and_posts_nothing(odoo, wallets, tmp_path):
    before = _balances(odoo, wallets)
    batches = _rpc(odoo, "telecom.wallet.batch", "search_count", [])
    path = tmp_path / "broken.csv"
    path.write_text(
        "subscriber_id,type,amount,reference\nWB-0,top_up,10,OK-1\nWB-0,top_up,ten,BAD-1\nWB-1,gift,1,BAD-2\n"
    )
    result = cli(odoo, "wallet-batch", path, "--json")
    explain = odoo.explain(result)
    assert result.returncode == 1, explain
    assert result.stdout == "", explain
    assert "broken.csv, row 3, column amount: 'ten' is not a decimal number" in result.stderr, explain
    assert "broken.csv, row 4, column type: 'gift'" in result.stderr, explain
    assert _balances(odoo, wallets) == before
    assert _rpc(odoo, "telecom.wallet.batch", "search_count", []) == batches
    missing = cli(odoo, "wallet-batch", tmp_path / "nope.csv")
    assert missing.returncode == 2 and "nope.csv" in missing.stderr, odoo.explain(missing)


def _monetary_total(path):
    """The export's monetary buckets summed from the CSV itself (each distinct row once)."""
    rows = {tuple(row.items()) for row in read_csv(path)}
    return sum(
        (Decimal(dict(row)["remaining_amount"]) for row in rows if dict(row)["bucket_type"] == "monetary"),
        Decimal(0),
    )


def test_cutover_moves_the_ocs_balances_to_the_cent_and_finalizes_once(odoo, tmp_path):
    # A company of its own: the module's earlier runs used the same subscriber ids in the first one.
    with _company_of_admin(odoo, "Cutover Mobile"):
        _cutover_flow(odoo, tmp_path)


def _check_inventories(odoo, run_id, folder, out):
    """The inventories of the run, written by the CLI: a CSV and an HTML page each, rows as the export's."""
    result = cli(odoo, "inventory", run_id, "--output", out, "--json")
    assert result.returncode == 0, odoo.explain(result)
    files = json.loads(result.stdout)["files"]
    names = sorted(os.path.basename(f["file"]).split("-", 2)[-1] for f in files)
    kinds = ["aaa_hss_identifiers", "bundle_definitions", "dropped_secret_columns", "manual_rebuild"]
    kinds += ["network_elements", "pcrf_policies", "usage_summary"]
    assert names == sorted(f"{k}.{ext}" for k in kinds for ext in ("csv", "html")), names
    by_name = {os.path.basename(f["file"]).split("-", 2)[-1]: f for f in files}
    for name, entry in by_name.items():
        assert os.path.getsize(entry["file"]) == entry["size"] > 0, name
    assert not list(out.glob("*.part"))

    def rows(name):
        with open(by_name[name]["file"], newline="", encoding="utf-8-sig") as fh:
            return list(csv.DictReader(fh))

    for inventory, table, key in (
        ("pcrf_policies", "pcrf_rules", "rule_id"),
        ("network_elements", "network_elements", "element_id"),
        ("aaa_hss_identifiers", "aaa_hss", "imsi"),
    ):
        assert sorted(r[key] for r in rows(f"{inventory}.csv")) == sorted(
            r[key] for r in read_csv(folder / f"{table}.csv")
        ), inventory
    # A formula-like text is neutralised with a leading apostrophe (an E.164 number is not).
    aaa = {r["imsi"]: r["msisdn"].removeprefix("'") for r in rows("aaa_hss_identifiers.csv")}
    assert aaa == {r["imsi"]: r["msisdn"] for r in read_csv(folder / "aaa_hss.csv")}
    usage = rows("usage_summary.csv")
    migrated = _rpc(odoo, "bss.import.link", "search_count", [("object", "=", "subscribers")])
    assert 0 < len(usage) <= migrated
    assert {r["basis"] for r in usage} <= {"invoice", "ocs", ""}
    assert "<h1>PCRF policy translation manifest</h1>" in (
        out / os.path.basename(by_name["pcrf_policies.html"]["file"])
    ).read_text(encoding="utf-8")


def test_cutover_totals_to_the_cent_over_100k_buckets(odoo, tmp_path):
    """A larger export: 45,000 subscribers, about 100,000 buckets, each step timed (printed)."""
    with _company_of_admin(odoo, "Cutover Scale Mobile"):
        times = _cutover_flow(
            odoo, tmp_path, subscribers=45000, market="DE", seed=47, inventories=False, money_only=True
        )
    assert times["buckets"] >= 100000, times
    print("cutover over %(buckets)s buckets, %(openings)s openings: %(steps)s" % times)


def _cutover_flow(odoo, tmp_path, subscribers=80, market="FR", seed=41, inventories=True, money_only=False):
    """The cutover of a migrated export through the CLI, every total checked against the export's own
    CSV; returns the number of buckets and openings and the seconds of each step. ``money_only``: the
    export without its orders and invoices (the cutover needs the subscribers only; 45,000
    subscribers' invoices would take most of the test)."""
    folder = tmp_path / "export"
    subprocess.run(
        # Another market than the module's other exports: its numbers and SIMs are its own in this
        # database (earlier tests' subscribers keep theirs), its buckets in euros.
        [sys.executable, str(GENERATOR), "--subscribers", str(subscribers), "--seed", str(seed)]
        + ["--out", str(folder), "--market", market]
        + ["--defects", "orphans=2,duplicate_rows=2,invalid_msisdn=3", "--jobs", "1"],
        check=True,
        capture_output=True,
        timeout=300,
    )
    if money_only:
        for table in ("orders", "order_lines", "invoices", "invoice_lines"):
            (folder / f"{table}.csv").unlink()
    migrated = cli(odoo, "run", folder, "--accept-suggestions", "--json")
    assert migrated.returncode == 0, odoo.explain(migrated)
    run_id = json.loads(migrated.stdout)["run_id"]
    # The buckets' currency must be active in Odoo, as an administrator sets it up.
    currencies = _rpc(odoo, "res.currency", "search", [("name", "=", "EUR"), ("active", "in", (True, False))])
    _rpc(odoo, "res.currency", "write", currencies, {"active": True})
    seconds = {}

    def step(*args):
        started = time.perf_counter()
        result = cli(odoo, "cutover", run_id, *args, "--json")
        seconds[args[0]] = round(seconds.get(args[0], 0) + time.perf_counter() - started, 1)
        explain = odoo.explain(result)
        summary = json.loads(result.stdout)
        assert result.returncode == (1 if summary["mismatches"] else 0), explain
        assert set(summary) >= {
            "run_id",
            "state",
            "wallets",
            "buckets",
            "source_total",
            "odoo_total",
            "mismatches",
            "quarantined_total",
        }, explain
        source, odoo_total, quarantined = (
            Decimal(summary[k]) for k in ("source_total", "odoo_total", "quarantined_total")
        )
        assert source == odoo_total + quarantined, explain
        assert summary["mismatches"] == 0, explain
        return summary

    shadow = step("shadow")
    assert shadow["state"] == "shadow" and shadow["currency"] == "EUR"
    assert Decimal(shadow["source_total"]) == _monetary_total(folder / "ocs_buckets.csv")
    # Quarantined: the export's own amounts of the refused buckets, and every orphan's bucket among them.
    refused = _rpc(
        odoo,
        "bss.import.cutover.line",
        "search_read",
        [("cutover_id.run_id", "=", run_id), ("state", "=", "quarantined"), ("kind", "=", "monetary")],
        fields=["bucket_key", "reason"],
    )
    refused_keys = {line["bucket_key"] for line in refused}
    monetary = [dict(row) for row in {tuple(r.items()) for r in read_csv(folder / "ocs_buckets.csv")}]
    monetary = [row for row in monetary if row["bucket_type"] == "monetary"]
    assert Decimal(shadow["quarantined_total"]) == sum(
        (Decimal(row["remaining_amount"]) for row in monetary if row["bucket_id"] in refused_keys), Decimal(0)
    )
    exported = {row["subscriber_id"] for row in read_csv(folder / "subscribers.csv")}
    orphans = {row["bucket_id"] for row in monetary if row["subscriber_id"] not in exported}
    assert orphans <= refused_keys
    # The generated allowances ended before today: reported as expired, not migrated.
    assert shadow["wallets"] > 0, sorted({line["reason"] for line in refused})[:5]
    assert step("verify")["state"] == "verified"
    # Out of order: refused with the reason, exit 1; a usage error exits 2.
    early = cli(odoo, "cutover", run_id, "finalize", "--json")
    assert early.returncode == 1 and "finalize cannot run" in early.stderr, odoo.explain(early)
    usage = cli(odoo, "cutover", run_id, "delta")
    assert usage.returncode == 2 and "needs EXPORT" in usage.stderr, odoo.explain(usage)
    assert step("freeze", "--snapshot", "OCS dump 23:00")["state"] == "frozen"

    # The final snapshot: one subscriber spent 1.25 of a monetary bucket.
    final = tmp_path / "final"
    shutil.copytree(folder, final)
    with open(final / "ocs_buckets.csv", newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header, buckets = reader.fieldnames, list(reader)
    spent = next(b for b in buckets if b["bucket_type"] == "monetary" and Decimal(b["remaining_amount"]) > 2)
    spent["remaining_amount"] = str(Decimal(spent["remaining_amount"]) - Decimal("1.25"))
    _write_csv(final / "ocs_buckets.csv", header, buckets)
    delta = step("delta", final)
    assert delta["state"] == "delta"
    assert Decimal(delta["source_total"]) == Decimal(shadow["source_total"]) - Decimal("1.25")
    assert Decimal(delta["odoo_total"]) == Decimal(shadow["odoo_total"]) - Decimal("1.25")
    assert step("verify")["state"] == "reverified"

    finalized = step("finalize")
    assert finalized["state"] == "finalized"
    if inventories:
        _check_inventories(odoo, run_id, folder, tmp_path / "inventories")
    assert (finalized["source_total"], finalized["odoo_total"]) == (
        delta["source_total"],
        delta["odoo_total"],
    )
    openings = _rpc(
        odoo,
        "telecom.wallet.operation",
        "search_read",
        [("reference", "=like", f"OCS-CUTOVER/{run_id}/%"), ("operation_type", "=", "opening")],
        fields=["amount", "wallet_id"],
    )
    assert sum(Decimal(str(o["amount"])) for o in openings) == Decimal(finalized["odoo_total"])
    wallet_ids = sorted({o["wallet_id"][0] for o in openings})
    states = {w["state"] for w in _rpc(odoo, "telecom.wallet", "read", wallet_ids, ["state"])}
    assert states == {"active"}
    # A second finalize posts nothing.
    assert step("finalize") == finalized
    again = _rpc(
        odoo, "telecom.wallet.operation", "search_count", [("reference", "=like", f"OCS-CUTOVER/{run_id}/%")]
    )
    assert again == len(openings)
    return {"buckets": len(read_csv(folder / "ocs_buckets.csv")), "openings": len(openings), "steps": seconds}


# --- kill -9 in the middle of a cutover's finalize, then finalize again -------------------------------------

_CUTOVER_LINES = """FROM bss_import_cutover_line l JOIN bss_import_cutover c ON c.id = l.cutover_id
                     WHERE c.run_id = %s AND l.kind = 'monetary' AND l.state IN ('prepared', 'posted')
                       AND l.amount <> 0"""


def test_kill_9_mid_finalize_then_finalize_again_posts_every_balance_exactly_once(prefork, tmp_path):
    import psycopg2  # noqa: PLC0415 - the test's own connections to the server's database

    folder = tmp_path / "export"
    subprocess.run(
        [sys.executable, str(GENERATOR), "--subscribers", "300", "--seed", "43", "--out", str(folder)]
        + ["--market", "FR", "--jobs", "1"],
        check=True,
        capture_output=True,
        timeout=300,
    )
    watcher = psycopg2.connect(dbname=prefork.db)
    watcher.autocommit = True

    def one(sql, *params):
        with watcher.cursor() as cr:
            cr.execute(sql, params)
            return cr.fetchone()[0]

    # A company of its own (the other kill test's subscribers are in the first one), in euros.
    with _company_of_admin(prefork, "Finalize Crash Mobile"), contextlib.closing(watcher):
        migrated = cli(prefork, "run", folder, "--accept-suggestions", "--json")
        assert migrated.returncode == 0, prefork.explain(migrated)
        run_id = json.loads(migrated.stdout)["run_id"]
        eur = _rpc(prefork, "res.currency", "search", [("name", "=", "EUR"), ("active", "in", (True, False))])
        _rpc(prefork, "res.currency", "write", eur, {"active": True})
        # Small batches: the finalize commits several before the one the test holds back.
        _rpc(prefork, "ir.config_parameter", "set_param", "bss_import.cutover_finalize_chunk", "10")

        def step(*args):
            result = cli(prefork, "cutover", run_id, *args, "--json")
            assert result.returncode == 0, prefork.explain(result)
            return json.loads(result.stdout)

        step("shadow")
        step("verify")
        step("freeze", "--snapshot", "OCS dump")
        step("delta", folder)
        before = step("verify")
        assert before["state"] == "reverified" and before["wallets"] > 30, before
        prepared = one(f"SELECT count(*) {_CUTOVER_LINES}", run_id)
        # The test holds the wallet of the run's last opening balance: the finalize commits the batches
        # before it, then waits for that wallet, and is killed there.
        last_wallet = one(f"SELECT l.wallet_id {_CUTOVER_LINES} ORDER BY l.id DESC LIMIT 1", run_id)
        openings = """SELECT count(*) FROM telecom_wallet_operation
                       WHERE reference LIKE %s AND operation_type = 'opening'"""
        pattern = f"OCS-CUTOVER/{run_id}/%"
        holder = psycopg2.connect(dbname=prefork.db)
        try:
            with holder.cursor() as cr:
                cr.execute("SELECT id FROM telecom_wallet WHERE id = %s FOR UPDATE", (last_wallet,))
            env = {k: v for k, v in os.environ.items() if k not in ("ODOO_DB", "ODOO_PASSWORD")}
            env["ODOO_PASSWORD"] = "admin"
            client = subprocess.Popen(
                [sys.executable, str(SCRIPT), "--url", prefork.url, "--db", prefork.db]
                + ["cutover", str(run_id), "finalize", "--json"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            waiting = """SELECT count(*) FROM pg_stat_activity
                          WHERE datname = %s AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"""
            deadline = time.monotonic() + CLI_TIMEOUT
            while not (one(waiting, prefork.db) and one(openings, pattern)):
                assert client.poll() is None, f"the finalize ended before the kill:\n{client.communicate()}"
                assert time.monotonic() < deadline, prefork.log_tail()
                time.sleep(0.1)
            prefork.kill9()
            _out, err = client.communicate(timeout=120)
            assert client.returncode == 2, err  # the server is gone: a connection error
        finally:
            holder.rollback()
            holder.close()

        # Killed mid-finalize: the batches before the held one are posted, nothing is spendable.
        posted = one(openings, pattern)
        assert 0 < posted < prepared, (posted, prepared)
        assert one("SELECT state FROM bss_import_cutover WHERE run_id = %s", run_id) == "finalizing"
        states = """SELECT array_agg(DISTINCT w.state ORDER BY w.state) FROM telecom_wallet w
                     WHERE w.id IN (SELECT l.wallet_id FROM bss_import_cutover_line l
                                      JOIN bss_import_cutover c ON c.id = l.cutover_id WHERE c.run_id = %s)"""
        assert one(states, run_id) == ["draft"]

        prefork.start()
        final = step("finalize")
        assert final["state"] == "finalized" and final["mismatches"] == 0, final
        totals = (Decimal(final[k]) for k in ("source_total", "odoo_total", "quarantined_total"))
        source, odoo_total, quarantined = totals
        assert source == odoo_total + quarantined
        assert (final["odoo_total"], final["wallets"]) == (before["odoo_total"], before["wallets"])
        # Every balance exactly once: one opening per prepared line, no reference twice, all live.
        assert one(openings, pattern) == prepared
        twice = """SELECT count(*) FROM (SELECT reference FROM telecom_wallet_operation
                    WHERE reference LIKE %s GROUP BY 1 HAVING count(*) > 1) d"""
        assert one(twice, pattern) == 0
        assert one(states, run_id) == ["active"]
        assert step("finalize") == final
