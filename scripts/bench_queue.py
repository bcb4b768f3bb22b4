"""Benchmark of a migration on OCA queue_job (bss_import_queue): the same generated export migrated
with 1, 2, ... job runner workers; prints, per worker count, the seconds and rows/s of each phase
and of the whole migration, then one JSON line.

For each worker count, a fresh copy of the template database (bss_import and queue_job installed)
is served by ``odoo-bin --workers N --load base,web,queue_job`` with the channels
``root:N,root.bss_import:N``; a run is created, uploaded, detected, staged, profiled and its
suggested mapping confirmed over XML-RPC, then ``action_migrate_queued`` is called (custom fields, plans,
catalogue, billing accounts and subscribers, as scripts/bench_import.py) and the run polled until
it is migrated. The clock runs from that call to the run's state ``migrated``.
Run it through scripts/bench_queue.sh (the database and the addons path).
"""

import argparse
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import xmlrpc.client
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ODOO_PATH = Path(os.environ.get("ODOO_PATH", Path.home() / "src" / "odoo-18.0"))
UPLOAD = 8 << 20
#: The phases migrated (as scripts/bench_import.py): through the subscribers, whose chunks run at
#: once. Orders and invoices are written one chunk after another: more workers do not speed them up.
MIGRATED = ["custom_fields", "service_plans", "product_catalog", "billing_accounts", "subscribers"]


def psql(db, sql, *params):
    """The output of ``sql``, its ``%s`` placeholders filled with ``params`` (the run's id)."""
    sql = sql % params if params else sql
    return subprocess.run(
        ["psql", "-d", db, "-tAc", sql], capture_output=True, text=True, check=True
    ).stdout.strip()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(args, db, workers, log):
    port = args.port or free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ODOO_PATH),
        "ODOO_QUEUE_JOB_CHANNELS": f"root:{workers},root.bss_import:{workers}",
    }
    command = [
        sys.executable,
        str(ODOO_PATH / "odoo-bin"),
        "--addons-path",
        args.addons_path,
        "--data-dir",
        args.data_dir,
    ]
    command += ["-d", db, "--db-filter", f"^{db}$", "--http-interface", "127.0.0.1", "--http-port", str(port)]
    command += ["--workers", str(workers), "--load", "base,web,queue_job", "--max-cron-threads", "0"]
    # Chunks of a few seconds; the phase starts and settles of a large export take longer.
    command += ["--limit-time-real", "3600", "--limit-time-cpu", "3600", "--log-level", "warn"]
    command += ["--limit-memory-soft", str(4 << 30), "--limit-memory-hard", str(5 << 30)]
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    for _second in range(180):
        if proc.poll() is not None:
            raise SystemExit(f"Odoo exited with {proc.returncode}: see {log.name}")
        try:
            xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/common").version()
            return proc, url
        except OSError:
            time.sleep(1)
    raise SystemExit(f"Odoo did not answer: see {log.name}")


def bench(args, export, workers, log):
    db = f"{args.db}_{workers}w"
    subprocess.run(["dropdb", "--if-exists", db], check=True)
    subprocess.run(["createdb", "-T", args.template, db], check=True)
    proc, url = serve(args, db, workers, log)
    try:
        common = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/common")
        uid = common.authenticate(db, "admin", "admin", {})
        models = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/object", allow_none=True)

        def call(method, *params):
            return models.execute_kw(db, uid, "admin", "bss.import.run", method, [[run_id], *params])

        run_id = models.execute_kw(db, uid, "admin", "bss.import.run", "create", [{}])
        for path in sorted(p for p in export.rglob("*") if p.is_file() and p.name != "manifest.json"):
            data, offset = path.read_bytes(), 0
            name = path.relative_to(export).as_posix()
            while True:
                offset = call(
                    "upload_chunk", name, offset, base64.b64encode(data[offset : offset + UPLOAD]).decode()
                )
                if offset >= len(data):
                    break
        started = time.perf_counter()
        for method in ("action_detect", "action_stage", "action_profile", "action_confirm_mapping"):
            if not call(method):
                raise SystemExit(f"{method} refused: {call('read', ['error_message'])}")
        print(f"{workers} worker(s): staged and profiled in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        call("action_migrate_queued", MIGRATED, args.chunk_size)
        while (
            state := psql(db, "SELECT state FROM bss_import_run WHERE id = %s", int(run_id))
        ) != "migrated":
            if psql(db, "SELECT count(*) FROM queue_job WHERE state = 'failed'") != "0":
                raise SystemExit(f"a job failed: see {log.name}")
            if time.perf_counter() - started > args.timeout:
                raise SystemExit(f"still {state} after {args.timeout} s: see {log.name}")
            time.sleep(0.5)
        seconds = time.perf_counter() - started
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=120)
    figures = {"workers": workers, "migrate_seconds": round(seconds, 1)}
    rows = psql(
        db,
        "SELECT object, source_rows, extract(epoch FROM date_end - date_start), created, quarantined, "
        "coalesce(mismatch, '') FROM bss_import_phase WHERE run_id = %s ORDER BY sequence",
        int(run_id),
    )
    for line in rows.splitlines():
        obj, source_rows, phase_seconds, created, quarantined, mismatch = line.split("|")
        phase_seconds = float(phase_seconds)
        rate = int(source_rows) / max(phase_seconds, 0.001)
        print(
            f"  {obj[:16]:>16}: {phase_seconds:7.1f} s  {rate:10,.0f} rows/s  (created {int(created):,}, "
            f"quarantined {int(quarantined):,}){'  MISMATCH' if mismatch else ''}"
        )
        figures[f"{obj}_seconds"] = round(phase_seconds, 1)
        if obj == "subscribers":
            figures["subscribers_rows_s"] = round(int(source_rows) / phase_seconds)
    jobs = psql(
        db, "SELECT count(*), count(DISTINCT worker_pid) FROM queue_job WHERE method_name = '_queued_chunk'"
    )
    figures["chunk_jobs"], figures["job_worker_processes"] = map(int, jobs.split("|"))
    print(
        f"  migration: {seconds:.1f} s from the call to the run migrated; {figures['chunk_jobs']} chunk jobs "
        f"on {figures['job_worker_processes']} worker process(es)"
    )
    if not args.keep:
        subprocess.run(["dropdb", "--if-exists", db], check=True)
    return figures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, help="prefix of the databases (one per worker count)")
    parser.add_argument("--template", required=True, help="database with bss_import and queue_job installed")
    parser.add_argument("--addons-path", required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--subscribers", type=int, default=20000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts (default 1 2)")
    parser.add_argument("--chunk-size", type=int, default=None, help="keys per chunk (default: the run's)")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds a migration may take")
    parser.add_argument(
        "--port", type=int, default=None, help="HTTP port of the server (default: a free one)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bss_bench_queue_") as tmp:
        export = Path(tmp) / "export"
        subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "generate_bss_export.py"), "--out", str(export)]
            + ["--subscribers", str(args.subscribers), "--seed", "1"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        results = []
        with open(Path(tmp) / "odoo.log", "a") as log:
            for workers in args.workers:
                results.append(bench(args, export, workers, log))
        base = results[0]["migrate_seconds"]
        for figures in results:
            figures["speed_up"] = round(base / figures["migrate_seconds"], 2)
        print(json.dumps({"subscribers": args.subscribers, "runs": results}, sort_keys=True))


if __name__ == "__main__":
    main()
