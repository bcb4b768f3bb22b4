"""bss_import_queue end to end: a real Odoo 18 with two web workers and OCA queue_job's job runner
(``--workers 2 --load base,web,queue_job``, channels ``root:2,root.bss_import:2``) migrates generated
exports as queue jobs.

Two throwaway databases (the second a copy of the first once bss_import and queue_job are installed)
are served by one server on a free port of 127.0.0.1 and dropped afterwards. On a machine shared by
several test runs, ``BSS_E2E_DB_PREFIX`` and ``BSS_E2E_HTTP_PORT`` choose the database name prefix
and the HTTP port. Every assertion message carries the end of the server log.
"""

import base64
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import xmlrpc.client
import zipfile
from pathlib import Path

import pytest
from expected_counts import expected_counts
from odoo_server import free_port, pg_args

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = ROOT / "scripts" / "generate_bss_export.py"
ODOO_PATH = Path(os.environ.get("ODOO_PATH", Path.home() / "src" / "odoo-18.0"))
#: Where the queue_job wheel (scripts/setup.sh) put the addon: the venv running the tests.
QUEUE_JOB_ADDONS = Path(sysconfig.get_paths()["purelib"]) / "odoo" / "addons"
# The defects the migration resolves by quarantine or collapse (as tests/bss_import/test_cli_e2e.py).
DEFECTS = "duplicate_rows=6,orphans=3,missing_mandatory=4,invalid_msisdn=2,invalid_imsi=1,invalid_iccid=1"
#: The phases migrated: through the subscribers, whose chunks run at once; the plans' run one after
#: the other. Orders and invoices (one after the other too) would take a minute more here.
OBJECTS = ["custom_fields", "service_plans", "product_catalog", "billing_accounts", "subscribers"]
CHUNKS = "SELECT count(*) FROM bss_import_chunk c JOIN bss_import_phase p ON p.id = c.phase_id "
INSTALL_TIMEOUT = 1200
START_TIMEOUT = 180
RUN_TIMEOUT = 300


def _psql(db, sql, *args):
    """The output of ``sql`` (``%s`` placeholders filled with ``args``: ids and the test's own words)."""
    sql = sql % args if args else sql
    result = subprocess.run(
        ["psql", "-d", db, "-tAc", sql], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


class QueueServer:
    """Odoo serving two databases with two web workers and the job runner; ``start()``, ``kill9()``."""

    def __init__(self, tmp, dbs):
        self.dbs = dbs
        self.port = int(os.environ.get("BSS_E2E_HTTP_PORT") or free_port())
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / "odoo.log"
        self.base = [
            sys.executable,
            str(ODOO_PATH / "odoo-bin"),
            "--addons-path",
            f"{ODOO_PATH / 'odoo' / 'addons'},{QUEUE_JOB_ADDONS},{ROOT / 'addons'}",
            "--data-dir",
            str(tmp / "data"),
            *pg_args(),
        ]
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ODOO_PATH),
            # Server-wide channels: two jobs at once, both may be the migration's.
            "ODOO_QUEUE_JOB_CHANNELS": "root:2,root.bss_import:2",
        }
        self.proc = None

    def log_tail(self, lines=80):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def install(self):
        with open(self.log_path, "ab") as log:
            install = subprocess.run(
                [*self.base, "-d", self.dbs[0], "-i", "bss_import,queue_job", "--without-demo=all"]
                + ["--stop-after-init", "--no-http", "--max-cron-threads", "0", "--log-level", "warn"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                timeout=INSTALL_TIMEOUT,
                check=False,
            )
        assert install.returncode == 0, self.log_tail(150)
        for db in self.dbs[1:]:
            subprocess.run(["createdb", "-T", self.dbs[0], db], check=True, timeout=300)

    def start(self):
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [*self.base, "-d", ",".join(self.dbs), "--db-filter", f"^({'|'.join(self.dbs)})$"]
                + ["--http-interface", "127.0.0.1", "--http-port", str(self.port), "--workers", "2"]
                + ["--load", "base,web,queue_job", "--max-cron-threads", "0", "--log-level", "info"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                # Its own process group: a kill reaches the web workers and the job runner too.
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert self.proc.poll() is None, f"Odoo exited with {self.proc.returncode}:\n{self.log_tail()}"
            try:
                xmlrpc.client.ServerProxy(f"{self.url}/xmlrpc/2/common").version()
                return
            except OSError:
                pass
            assert time.monotonic() < deadline, f"no answer in {START_TIMEOUT}s:\n{self.log_tail()}"
            time.sleep(1)

    def kill9(self):
        """The master, its web workers and the job runner, at once: as an OOM killer or a power cut."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not (ODOO_PATH / "odoo-bin").is_file():
        pytest.fail(f"no Odoo source tree at {ODOO_PATH} (set ODOO_PATH)")
    assert (QUEUE_JOB_ADDONS / "queue_job" / "__manifest__.py").is_file(), "run scripts/setup.sh first"
    tmp = tmp_path_factory.mktemp("queue")
    stamp = f"{os.environ.get('BSS_E2E_DB_PREFIX', 'bss_queue_e2e')}_{int(time.time())}_{os.getpid()}"
    srv = QueueServer(tmp, [f"{stamp}_a", f"{stamp}_b"])
    try:
        srv.install()
        srv.start()
        yield srv
    finally:
        srv.stop()
        for db in srv.dbs:
            subprocess.run(["dropdb", "--if-exists", db], capture_output=True, timeout=120, check=False)
        shutil.rmtree(tmp / "data", ignore_errors=True)


class Rpc:
    def __init__(self, srv, db):
        self.srv, self.db = srv, db
        self.uid = xmlrpc.client.ServerProxy(f"{srv.url}/xmlrpc/2/common").authenticate(
            db, "admin", "admin", {}
        )
        assert self.uid, f"login failed on {db}"
        self.models = xmlrpc.client.ServerProxy(f"{srv.url}/xmlrpc/2/object", allow_none=True)

    def __call__(self, model, method, *args, **kwargs):
        return self.models.execute_kw(self.db, self.uid, "admin", model, method, list(args), kwargs)

    def run(self, run_id, method, *args):
        return self("bss.import.run", method, [run_id], *args)


def _export(tmp, subscribers, seed):
    """A generated export: its folder, its manifest, and the folder zipped."""
    folder = tmp / f"export_{seed}"
    subprocess.run(
        [sys.executable, str(GENERATOR), "--subscribers", str(subscribers), "--seed", str(seed)]
        + ["--out", str(folder), "--defects", DEFECTS, "--manifest", str(tmp / f"manifest_{seed}.json")]
        + ["--jobs", "1"],
        check=True,
        capture_output=True,
        timeout=300,
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.writestr(path.relative_to(folder).as_posix(), path.read_bytes())
    return folder, json.loads((tmp / f"manifest_{seed}.json").read_text()), buf.getvalue()


def _confirmed_run(rpc, data):
    """A run of the zipped export, detected, staged, profiled and its suggested mapping confirmed."""
    run_id = rpc("bss.import.run", "create", {})
    offset, step = 0, 1 << 20
    while offset < len(data):
        offset = rpc.run(
            run_id,
            "upload_chunk",
            "export.zip",
            offset,
            base64.b64encode(data[offset : offset + step]).decode(),
        )
    for method in ("action_detect", "action_stage", "action_profile", "action_confirm_mapping"):
        assert rpc.run(run_id, method), rpc("bss.import.run", "read", [run_id], ["error_message"])
    return run_id


def _wait_migrated(srv, db, run_id):
    deadline = time.monotonic() + RUN_TIMEOUT
    while (state := _psql(db, "SELECT state FROM bss_import_run WHERE id = %s", int(run_id))) != "migrated":
        failed = _psql(
            db,
            "SELECT string_agg(method_name || ': ' || coalesce(exc_info, ''), E'\\n') FROM queue_job "
            "WHERE state = 'failed'",
        )
        assert not failed, f"failed jobs:\n{failed}\n{srv.log_tail()}"
        assert time.monotonic() < deadline, (
            f"run {run_id} still {state} after {RUN_TIMEOUT}s:\n{srv.log_tail()}"
        )
        time.sleep(0.5)


def _check_reconciled(srv, rpc, run_id, folder, manifest):
    """The run's summary, once checked: migrated, the counts the export predicts, every control total
    equal on both sides."""
    summary = rpc.run(run_id, "get_migration_summary")
    explain = f"{json.dumps(summary, indent=1)}\n{srv.log_tail()}"
    assert summary["state"] == "migrated" and summary["mismatches"] == 0, explain
    for obj, counts in expected_counts(folder, manifest).items():
        assert summary["objects"][obj] == counts, (obj, explain)
    for name, pair in summary["control_totals"].items():
        assert pair["source"] == pair["odoo"], (name, explain)
    return summary


def _phases(db, run_id):
    """{object: (state, source checksum, odoo checksum, mismatch)} of the run's phases."""
    rows = _psql(
        db,
        "SELECT object, state, source_checksum, odoo_checksum, coalesce(mismatch, '') FROM bss_import_phase "
        "WHERE run_id = %s ORDER BY sequence",
        int(run_id),
    )
    return {line.split("|")[0]: tuple(line.split("|")[1:]) for line in rows.splitlines()}


def _duplicates(db):
    return int(
        _psql(
            db,
            "SELECT count(*) FROM (SELECT x_subscriber_id FROM res_partner WHERE x_subscriber_id IS NOT NULL "
            "GROUP BY 1 HAVING count(*) > 1) d",
        )
    )


def test_queued_migration_gives_the_in_process_counts_checksums_and_reconciliation(server, tmp_path):
    db = server.dbs[0]
    rpc = Rpc(server, db)
    # Installed by itself with bss_import and queue_job: auto_install.
    assert _psql(db, "SELECT state FROM ir_module_module WHERE name = 'bss_import_queue'") == "installed"
    folder, manifest, data = _export(tmp_path, 300, 11)
    run_id = _confirmed_run(rpc, data)
    queued = rpc.run(run_id, "action_migrate_queued", OBJECTS, 20)
    assert queued["objects"] == OBJECTS and queued["chunk_size"] == 20, queued
    assert queued["channel"] == "root.bss_import" and queued["job_uuid"], queued
    _wait_migrated(server, db, run_id)
    summary = _check_reconciled(server, rpc, run_id, folder, manifest)
    queued_phases = _phases(db, run_id)
    assert all(
        state == "done" and source == odoo and not mismatch
        for state, source, odoo, mismatch in queued_phases.values()
    ), queued_phases
    # One job per chunk, every job on the migration's channel, and the chunks spread over both workers.
    chunks = int(_psql(db, CHUNKS + "WHERE p.run_id = %s", run_id))
    chunk_jobs = int(
        _psql(db, "SELECT count(*) FROM queue_job WHERE method_name = '_queued_chunk' AND state = 'done'")
    )
    assert chunks == chunk_jobs > 10, (chunks, chunk_jobs)
    assert _psql(db, "SELECT string_agg(DISTINCT channel, ',') FROM queue_job") == "root.bss_import"
    # What a client polling the run reads of its jobs: all done, none failed.
    assert rpc.run(run_id, "get_queued_jobs") == {
        "states": {"done": int(_psql(db, "SELECT count(*) FROM queue_job"))},
        "failed": [],
    }
    workers = _psql(
        db, "SELECT count(DISTINCT worker_pid) FROM queue_job WHERE method_name = '_queued_chunk'"
    )
    assert int(workers) == 2, workers
    assert _duplicates(db) == 0

    # The same export migrated in-process by a new run over what the jobs wrote: nothing to change, and
    # the same content checksums and reconciliation, phase by phase.
    again = _confirmed_run(rpc, data)
    in_process = rpc.run(again, "action_migrate", OBJECTS)
    for obj, counts in summary["objects"].items():
        assert in_process[obj]["created"] == 0 and in_process[obj]["updated"] == 0, (obj, in_process[obj])
        assert in_process[obj]["unchanged"] == counts["created"] + counts["unchanged"], (
            obj,
            in_process[obj],
            counts,
        )
        assert in_process[obj]["quarantined"] == counts["quarantined"], (obj, in_process[obj], counts)
    assert _phases(db, again) == queued_phases


def test_the_cli_queues_a_run_and_waits_for_the_job_runner(server, tmp_path):
    """``bss_migrate.py run --queue``: the server's jobs write every phase, the client only waits."""
    db = server.dbs[0]
    folder, manifest, _data = _export(tmp_path, 120, 17)
    env = {k: v for k, v in os.environ.items() if k not in ("ODOO_DB", "ODOO_PASSWORD")}
    env["ODOO_PASSWORD"] = "admin"
    jobs_before = int(_psql(db, "SELECT count(*) FROM queue_job WHERE method_name = '_queued_chunk'"))
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bss_migrate.py"), "--url", server.url, "--db", db]
        + ["--progress-interval", "1", "run", str(folder), "--accept-suggestions", "--queue"]
        + ["--keys-per-chunk", "40", "--json"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT + 120,
    )
    explain = f"{result.stderr}\n{server.log_tail()}"
    assert result.returncode == 0, explain
    summary = json.loads(result.stdout)
    assert summary["state"] == "migrated" and summary["mismatches"] == 0, explain
    assert "queued on the job channel root.bss_import (40 keys per chunk)" in result.stderr, explain
    # Every phase of the export, written by chunk jobs (none by the client).
    assert {"orders", "invoices", "subscribers"} <= set(summary["objects"]), explain
    for obj, counts in summary["objects"].items():
        total = sum(
            counts[k] for k in ("duplicates_collapsed", "quarantined", "created", "updated", "unchanged")
        )
        assert total == counts["source_rows"], (obj, explain)
    chunk_jobs = int(_psql(db, "SELECT count(*) FROM queue_job WHERE method_name = '_queued_chunk'"))
    chunks = int(_psql(db, CHUNKS + "WHERE p.run_id = %s", summary["run_id"]))
    assert chunk_jobs - jobs_before == chunks, (chunk_jobs, jobs_before, chunks)
    assert _duplicates(db) == 0


def test_a_chunk_job_killed_with_its_worker_is_requeued_and_the_result_is_exact(server, tmp_path):
    db = server.dbs[1]
    rpc = Rpc(server, db)
    folder, manifest, data = _export(tmp_path, 600, 43)
    run_id = _confirmed_run(rpc, data)
    rpc.run(run_id, "action_migrate_queued", OBJECTS, 20)

    def subscriber_chunks(state):
        return int(_psql(db, CHUNKS + "WHERE p.object = 'subscribers' AND c.state = '%s'", state))

    started_jobs = (
        "SELECT uuid FROM queue_job WHERE method_name = '_queued_chunk' AND state = 'started' "
        "AND args::text LIKE '%subscribers%'"
    )
    deadline = time.monotonic() + RUN_TIMEOUT
    while not (subscriber_chunks("done") >= 3 and _psql(db, started_jobs)):
        assert time.monotonic() < deadline, server.log_tail()
        time.sleep(0.05)
    server.kill9()
    # What the kill left: the jobs it interrupted started for good, their chunks not done twice.
    killed = _psql(db, started_jobs).split()
    assert killed
    assert _psql(db, "SELECT state FROM bss_import_phase WHERE object = 'subscribers'") == "running"
    created = _psql(
        db,
        CHUNKS.replace("count(*)", "coalesce(sum(c.created), 0)")
        + "WHERE p.object = 'subscribers' AND c.state = 'done'",
    )
    lines = _psql(db, "SELECT count(*) FROM res_partner WHERE x_subscriber_id IS NOT NULL")
    assert int(lines) == int(created), "a chunk in flight kept some of its records"

    # The job runner re-queues a started job whose worker died once it was handed out 10 s before
    # (the server's start and the runner's own start delay add another 10 s).
    time.sleep(5)
    server.start()
    _wait_migrated(server, db, run_id)
    uuids = ",".join(f"'{uuid}'" for uuid in killed)
    retried = _psql(
        db, "SELECT string_agg(state || ':' || retry, ',') FROM queue_job WHERE uuid IN (%s)", uuids
    )
    # Each try counts: the one its worker died in, and the one after it was re-queued.
    assert set(retried.split(",")) == {"done:2"}, retried
    assert "Re-queued dead job with uuid" in server.log_path.read_text(errors="replace")
    assert set(rpc.run(run_id, "get_queued_jobs")["states"]) == {"done"}
    summary = _check_reconciled(server, rpc, run_id, folder, manifest)
    assert _duplicates(db) == 0
    lines = _psql(db, "SELECT count(*) FROM res_partner WHERE x_subscriber_id IS NOT NULL")
    assert int(lines) == summary["objects"]["subscribers"]["created"]
    assert subscriber_chunks("pending") == 0 and subscriber_chunks("failed") == 0
    # No chunk was written twice: the one in flight was rolled back with its worker.
    assert not _psql(db, "SELECT 1 FROM bss_import_chunk WHERE attempts > 1")
