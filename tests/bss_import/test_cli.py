"""The operator CLI (scripts/bss_migrate.py) against a fake Odoo XML-RPC server.

The fake imitates the contract of ``bss.import.run`` in memory (create, read,
upload_chunk with its offset rule, the three steps, the profile summary and
report), so the CLI's own behaviour is tested here in seconds: options, exit
codes, chunked and folder uploads, output formats. tests/bss_import/test_cli_e2e.py
runs the same CLI against a real Odoo.
"""

import base64
import csv
import importlib.util
import json
import os
import pty
import select
import socket
import subprocess
import sys
import threading
import time
import xmlrpc.client
from pathlib import Path
from socketserver import ThreadingMixIn
from xmlrpc.server import MultiPathXMLRPCServer, SimpleXMLRPCDispatcher, SimpleXMLRPCRequestHandler

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "bss_migrate.py"
DB, USER, PASSWORD, UID = "testdb", "admin", "s3cret", 2
CHUNK = 64 * 1024  # --chunk-size 0.0625 MiB

SUMMARY_FINDINGS = {"duplicate_rows": 2, "orphans": 1}
REPORT_FINDINGS = [
    {
        "object": "subscribers",
        "table": "subscribers",
        "kind": "duplicate_rows",
        "count": 2,
        "description": "2 rows repeat the key subscriber_id",
    },
    {
        "object": "orders",
        "table": "order_lines",
        "kind": "orphans",
        "count": 1,
        "description": "1 row references a missing order",
    },
]


MIGRATION_COUNTS = ("source_rows", "duplicates_collapsed", "quarantined", "created", "updated", "unchanged")


def phase(obj, source_rows, collapsed, quarantined, created, updated, unchanged, checksum="c1", odoo=None):
    counts = (collapsed, quarantined, created, updated, unchanged)
    return {
        "object": obj,
        "state": "done",
        "balanced": source_rows == sum(counts),
        **dict(zip(MIGRATION_COUNTS, (source_rows, *counts), strict=True)),
        "source_checksum": checksum,
        "odoo_checksum": checksum if odoo is None else odoo,
    }


MIGRATED_PHASES = [
    phase("billing_accounts", 10, 1, 1, 8, 0, 0, checksum="ab12"),
    phase("subscribers", 200, 6, 9, 185, 0, 0, checksum="cd34"),
]
MIGRATED_QUARANTINE = {
    "subscribers": {"Invalid MSISDN: 12ab": 5, "Orphan: billing account B9 not found": 4},
    "billing_accounts": {"Missing mandatory value: name": 1},
}

#: What the fake's get_delta_report counts for the subscribers (archived: 4 with --archive-vanished).
DELTA_SUBSCRIBERS = {
    "new": 3,
    "changed": 2,
    "unchanged": 180,
    "quarantined": 9,
    "vanished": 4,
    "archived": 0,
    "fields_changed": 5,
}
#: What the fake's action_rollback reports besides the run, its state and its passes.
ROLLBACK_REPORT = {
    "rollback_date": "2026-12-02 06:30:00",
    "objects": {
        "invoices": {"deleted": 0, "reversed": 12, "archived": 0, "kept": 0, "restored": 0},
        "subscribers": {"deleted": 180, "reversed": 0, "archived": 5, "kept": 0, "restored": 2},
    },
}


#: The owner mapping's totals the fake server reports (bss_import_run_owner._owner_mapping_totals).
OWNER_MAPPING = {"owners": 3, "mapped": 2, "unmapped": 1, "unmapped_rows": 4}


class FakeOdoo:
    """In-memory imitation of Odoo's XML-RPC services for ``bss.import.run``."""

    def __init__(self):
        self.lock = threading.Lock()
        self.runs = {}
        self.calls = []  # (method, args) of every execute_kw, in order of arrival
        self.step_result = {}  # method -> ("false", message) or ("fault", message)
        self.stall = {}  # (file, offset) -> seconds to sleep once after storing that chunk
        self.templates = []  # (id, name) of the saved mapping templates
        self.step_progress = {}  # method -> (get_progress answer while it runs, seconds it takes)
        self.plan = [{"object": "billing_accounts", "rows": 10}, {"object": "subscribers", "rows": 200}]
        # What action_migrate makes of each object (phase dicts, see phase()).
        self.outcome = {p["object"]: p for p in MIGRATED_PHASES}
        self.quarantine = MIGRATED_QUARANTINE

    # /xmlrpc/2/common
    def authenticate(self, db, login, password, env):
        if db != DB:
            raise xmlrpc.client.Fault(
                1,
                'Traceback (most recent call last):\n  File "odoo/service/common.py", line 26\n'
                f'psycopg2.OperationalError: FATAL:  database "{db}" does not exist\n',
            )
        return UID if (login, password) == (USER, PASSWORD) else False

    # /xmlrpc/2/object
    def execute_kw(self, db, uid, password, model, method, args, kwargs):
        if (db, uid, password) != (DB, UID, PASSWORD):
            raise xmlrpc.client.Fault(3, "Access Denied")
        with self.lock:
            self.calls.append((method, args))
        if model == "bss.import.phase":
            assert method == "search_read", method
            return self.phase_search_read(*args, **kwargs)
        if model == "bss.import.change":
            assert method == "search_read", method
            return self.change_search_read(*args, **kwargs)
        if model == "bss.import.mapping.template":
            assert method == "search_read", method
            [[(field, op, name)]] = args
            assert (field, op) == ("name", "="), args
            return [{"id": i} for i, n in self.templates if n == name]
        assert model == "bss.import.run", model
        return getattr(self, "rpc_" + method)(*args, **kwargs)

    def _existing(self, ids):
        # The wording of the real server's check (bss_import_run_ui._check_summary_access).
        if ids[0] not in self.runs:
            raise xmlrpc.client.Fault(2, f"Import run {ids[0]} does not exist.")
        return self.runs[ids[0]]

    def rpc_get_migration_summary(self, ids):
        run = self._existing(ids)
        phases = run.get("phases", [])
        return {
            "run_id": ids[0],
            "state": run["state"],
            "objects": {p["object"]: {k: p[k] for k in MIGRATION_COUNTS} for p in phases},
            "findings": dict(SUMMARY_FINDINGS),
            "owner_mapping": dict(OWNER_MAPPING),
            "control_totals": {
                f"{p['object']}.checksum": {"source": p["source_checksum"], "odoo": p["odoo_checksum"]}
                for p in phases
            },
            "mismatches": sum(
                1 for p in phases if not p["balanced"] or p["source_checksum"] != p["odoo_checksum"]
            ),
        }

    def rpc_get_quarantine_summary(self, ids):
        run = self._existing(ids)
        by_object = run.get("quarantine", {})
        return {
            "run_id": ids[0],
            "open": sum(sum(r.values()) for r in by_object.values()),
            "by_object": by_object,
        }

    def phase_search_read(self, domain, fields):
        (field, op, run_id), *objects = domain
        assert (field, op) == ("run_id", "="), domain
        wanted = objects[0][2] if objects else None
        return [
            {"id": n, **{f: p.get(f, False) for f in fields}}
            for n, p in enumerate(self.runs[run_id].get("phases", []))
            if wanted is None or p["object"] in wanted
        ]

    def rpc_action_apply_template(self, ids, template_id):
        self.runs[ids[0]]["template_id"] = template_id
        return 3

    def rpc_action_confirm_mapping(self, ids):
        return self._step(ids, "action_confirm_mapping", "confirmed")

    def rpc_action_set_owner_mapping(self, ids, entries, source):
        # The real server's refusal of an id the export does not name (bss_import_run_owner).
        for row, key, _user, _team in entries:
            if key not in ("AG1", "DL1"):
                raise xmlrpc.client.Fault(
                    2, f"{source}, row {row}, field legacy_id: {key!r} is not an owner id of the export."
                )
        self.runs[ids[0]]["owner_map"] = [list(e) for e in entries]
        return len(entries)

    def rpc_get_progress(self, ids):
        return self.runs[ids[0]].get("progress") or {"state": "draft", "step": False, "done": 0, "total": 0}

    def rpc_get_migration_plan(self, ids):
        return self.plan

    # The chunk workers' contract (bss.import.run.action_migrate_start/work/settle/finish): a phase
    # is cut into self.chunks chunks; each work call takes one pending chunk (as the next chunk no
    # other worker holds), settle applies the outcome once none is pending.
    chunks = 4
    work_delay = 0.0
    work_fault = None

    def _summary(self, run, obj, state):
        outcome = self.outcome[obj]
        pending = run["pending"].get(obj, [])
        total = run["chunk_total"].get(obj, 0)
        return {
            **{k: outcome[k] for k in MIGRATION_COUNTS},
            "object": obj,
            "flagged": 0,
            "state": state,
            "balanced": outcome["balanced"],
            "chunks_total": total,
            "chunks_done": total - len(pending),
            "chunks_failed": 0,
            "chunks_pending": len(pending),
            "error_message": outcome.get("error_message", False),
        }

    def rpc_action_migrate_start(self, ids, obj, chunk_size=None):
        run = self.runs[ids[0]]
        run.setdefault("pending", {})
        run.setdefault("chunk_total", {})
        run.setdefault("chunk_size", {})[obj] = chunk_size
        if self.outcome[obj]["state"] == "blocked":
            return self._summary(run, obj, "blocked")
        if not run["pending"].get(obj):  # a new pass (a phase with chunks pending resumes)
            run["pending"][obj] = list(range(self.chunks))
            run["chunk_total"][obj] = self.chunks
        run["state"] = "migrating"
        return self._summary(run, obj, "running")

    def rpc_action_migrate_work(self, ids, obj, seconds):
        run = self.runs[ids[0]]
        if self.work_fault:
            raise xmlrpc.client.Fault(2, self.work_fault)
        with self.lock:
            self.active = getattr(self, "active", 0) + 1
            self.most_active = max(getattr(self, "most_active", 0), self.active)
            chunk = run["pending"][obj].pop(0) if run["pending"][obj] else None
        time.sleep(self.work_delay)
        with self.lock:
            self.active -= 1
            if chunk is not None:
                run.setdefault("written", []).append((obj, chunk))
        return {**self._summary(run, obj, "running"), "written": int(chunk is not None)}

    def rpc_action_migrate_settle(self, ids, obj):
        run = self.runs[ids[0]]
        if run["pending"].get(obj):
            return self._summary(run, obj, "running")
        phases = run.setdefault("phases", [])
        phases[:] = [p for p in phases if p["object"] != obj] + [self.outcome[obj]]
        return self._summary(run, obj, self.outcome[obj]["state"])

    def rpc_action_migrate_finish(self, ids):
        run = self.runs[ids[0]]
        run.update(state="migrated", quarantine=self.quarantine)
        return []

    def rpc_get_reconciliation_report(self, ids, fmt):
        run = self._existing(ids)
        body = {"pdf": b"%PDF-1.4 fake", "csv": b"section,object\r\n", "json": b"{}"}[fmt]
        return {
            "name": f"{run['name'].replace('/', '-')}-reconciliation.{fmt}",
            "mimetype": "x",
            "data": base64.b64encode(body + run["name"].encode()).decode(),
        }

    #: The inventory files the fake server builds: {name: bytes}; the first is larger than one piece.
    INVENTORY_PIECE = 1000
    inventory_files = {
        "pcrf_policies.csv": b"\xef\xbb\xbfrule_id\r\n" + b"".join(b"PCC%07d\r\n" % n for n in range(400)),
        "pcrf_policies.html": b"<!DOCTYPE html><h1>PCRF</h1>",
    }

    def rpc_action_build_inventories(self, ids):
        run = self._existing(ids)
        if run["state"] not in ("confirmed", "migrated"):
            raise xmlrpc.client.Fault(
                2, f"Run {run['name']}: nothing leaves staging until the mapping is confirmed."
            )
        run["inventories"] = {
            n: (f"{run['name'].replace('/', '-')}-{name}", data)
            for n, (name, data) in enumerate(self.inventory_files.items(), start=900)
        }
        return [
            {"id": n, "name": name, "size": len(data), "rows": 400}
            for n, (name, data) in run["inventories"].items()
        ]

    def rpc_get_inventories(self, ids):
        run = self._existing(ids)
        return [
            {"id": n, "name": name, "size": len(data), "mimetype": "x"}
            for n, (name, data) in run.get("inventories", {}).items()
        ]

    def rpc_read_inventory(self, ids, attachment_id, offset=0):
        _name, data = self._existing(ids)["inventories"][attachment_id]
        piece = data[offset : offset + self.INVENTORY_PIECE]
        return {
            "data": base64.b64encode(piece).decode(),
            "offset": offset,
            "size": len(data),
            "eof": offset + len(piece) >= len(data),
        }

    def migrated_run(self, phases=None, quarantine=None):
        """A run as the migration leaves it: its phases and open quarantined rows."""
        run_id = self.rpc_create({})
        self.runs[run_id].update(
            state="migrated",
            phases=MIGRATED_PHASES if phases is None else phases,
            quarantine=MIGRATED_QUARANTINE if quarantine is None else quarantine,
        )
        return run_id

    def change_search_read(self, domain, fields, offset=0, limit=None, order=None):
        [(field, op, run_id)] = domain
        assert (field, op, order) == ("run_id", "=", "id"), (domain, order)
        rows = self.runs[run_id].get("changes", [])
        return [{"id": n, **{f: row.get(f, False) for f in fields}} for n, row in enumerate(rows)][
            offset : offset + limit
        ]

    def rpc_action_rollback(self, ids):
        run = self._existing(ids)
        if run["state"] not in ("migrated", "migrating", "rolled_back"):
            # The wording of the real server (bss_import_run_rollback.action_rollback).
            raise xmlrpc.client.Fault(
                2,
                f"Run {run['name']} has not migrated anything (state {run['state']}): nothing to roll back.",
            )
        if run["state"] != "rolled_back":
            run["state"] = "rolled_back"
            run["rollbacks"] = run.get("rollbacks", 0) + 1
        return {"run_id": ids[0], "state": run["state"], "passes": [ids[0]], **ROLLBACK_REPORT}

    # The queued migration (bss_import_queue): the server's jobs write the phases; the client polls.
    queue_polls = 2  # get_queued_jobs calls before the jobs are done
    queue_failed = None  # a failed job's {"uuid", "name", "error"}

    def rpc_action_migrate_queued(self, ids, chunk_size=None):
        run = self._existing(ids)
        run.update(state="migrating", queued_chunk_size=chunk_size, queue_polls=0)
        return {"objects": [p["object"] for p in self.plan], "chunk_size": chunk_size or 2000,
                "channel": "root.bss_import", "job_uuid": "u-1"}  # fmt: skip

    def rpc_get_queued_jobs(self, ids):
        run = self._existing(ids)
        run["queue_polls"] += 1
        if self.queue_failed:
            return {"states": {"done": 3, "failed": 1}, "failed": [self.queue_failed]}
        if run["queue_polls"] >= self.queue_polls:
            run.update(state="migrated", phases=list(self.outcome.values()), quarantine=self.quarantine)
            return {"states": {"done": 5}, "failed": []}
        run["progress"] = {"state": "migrating", "step": "migrate", "done": 100, "total": 200,
                           "message": "subscribers: 100 of 200 rows"}  # fmt: skip
        return {"states": {"done": 2, "started": 2, "pending": 1}, "failed": []}

    # Cohorts (bss_import_run_cohort): a cohort is a run of its own, migrated like any run.
    cohort_members = {"billing_accounts": 3, "subscribers": 12, "orders": 12, "invoices": 6}

    def rpc_action_new_cohort(self, ids, kind, value, seed, name):
        run = self._existing(ids)
        if run["state"] != "confirmed":
            # The wording of the real server (bss_import_run_cohort.action_new_cohort).
            raise xmlrpc.client.Fault(
                2,
                f"Run {run['name']} is in state {run['state']}: cohorts split a run whose mapping is "
                "confirmed and that was not migrated as a whole.",
            )
        cohorts = run.setdefault("cohorts", [])
        cohort_id = self.rpc_create({})
        cohort = self.runs[cohort_id]
        cohort.update(
            state="confirmed",
            cohort_of_id=ids[0],
            cohort_name=name or f"C{len(cohorts) + 1}",
            cohort_spec=(kind, value, seed),
        )
        cohorts.append(cohort_id)
        return cohort_id

    def rpc_get_cohort_report(self, ids):
        run = self._existing(ids)
        cohorts = [self.runs[c] | {"id": c} for c in run.get("cohorts", [])]
        migrated = [c for c in cohorts if c["state"] == "migrated"]
        return {
            "run_id": ids[0],
            "run": run["name"],
            "cohorts": [
                {
                    "id": c["id"],
                    "name": c["cohort_name"],
                    "kind": c["cohort_spec"][0],
                    "value": c["cohort_spec"][1] or "",
                    "seed": c["cohort_spec"][2],
                    "state": c["state"],
                    "date_migrated": "2026-12-02 07:00:00" if c["state"] == "migrated" else False,
                    "members": self.cohort_members,
                    "phases": [{"balanced": True, **p} for p in c.get("phases", [])],
                }
                for c in cohorts
            ],
            "overall": {
                p["object"]: {
                    **{k: len(migrated) * p[k] for k in ("source_rows", "created", "updated", "unchanged")},
                    "quarantined": len(migrated) * p["quarantined"],
                    "balanced": True,
                }
                for p in (migrated[0].get("phases", []) if migrated else [])
            },
            "legacy_owned": {"billing_accounts": 7, "subscribers": 188},
        }

    def rpc_search_read(self, domain, fields, order=None):
        [(field, op, run_id)] = domain
        assert (field, op) == ("cohort_of_id", "="), domain
        return [
            {"id": c, **{f: self.runs[c].get(f, False) for f in fields}}
            for c in self.runs.get(run_id, {}).get("cohorts", [])
        ]

    def rpc_get_delta_report(self, ids):
        run = self._existing(ids)
        return {
            "run_id": ids[0],
            "delta_of": run["delta_of_id"],
            "delta_of_name": self.runs[run["delta_of_id"]]["name"],
            "archive_vanished": run["archive_vanished"],
            "objects": {
                "subscribers": {**DELTA_SUBSCRIBERS, "archived": 4 if run["archive_vanished"] else 0}
            },
            "changes": 9,
        }

    def rpc_create(self, vals):
        delta_of = vals.get("delta_of_id")
        if delta_of and self.runs.get(delta_of, {}).get("state") != "migrated":
            # The wording of the real server (bss_import_run_delta._delta_origin).
            raise xmlrpc.client.Fault(
                2,
                f"Run BSSI/{delta_of:05d} is not migrated (state draft): a delta pass applies a later "
                "export to what a run migrated.",
            )
        with self.lock:
            run_id = len(self.runs) + 1
            self.runs[run_id] = {
                "name": "BSSI/%05d" % run_id,
                "state": "draft",
                "error_message": False,
                "server_path": vals.get("server_path", False),
                "delta_of_id": delta_of or False,
                "archive_vanished": vals.get("archive_vanished", False),
                "files": {},
            }
        return run_id

    def rpc_read(self, ids, fields):
        return [{"id": i, **{f: self.runs[i][f] for f in fields}} for i in ids]

    def rpc_upload_chunk(self, ids, name, offset, data):
        run = self.runs[ids[0]]
        with self.lock:
            content = run["files"].setdefault(name, bytearray())
            if offset != len(content):
                # The wording of the real server (bss.import.run.upload_chunk).
                raise xmlrpc.client.Fault(
                    2,
                    f"Upload of {name}: chunk at byte {offset}, but {len(content)} bytes were received; "
                    f"resume at byte {len(content)}.",
                )
            content += base64.b64decode(data)
            size = len(content)
        delay = self.stall.pop((name, offset), 0)
        time.sleep(delay)
        return size

    def _step(self, ids, method, state):
        run = self.runs[ids[0]]
        if method in self.step_progress:
            # A long step: its progress is readable (get_progress) while it runs.
            run["progress"], delay = self.step_progress[method]
            time.sleep(delay)
        outcome, message = self.step_result.get(method, (None, None))
        if outcome == "fault":
            raise xmlrpc.client.Fault(2, message)
        if outcome == "false":
            run.update(state="error", error_message=message)
            return False
        run["state"] = state
        return True

    def rpc_action_detect(self, ids):
        return self._step(ids, "action_detect", "detected")

    def rpc_action_stage(self, ids):
        return self._step(ids, "action_stage", "staged")

    def rpc_action_profile(self, ids):
        return self._step(ids, "action_profile", "profiled")

    def rpc_get_profile_summary(self, ids):
        run = self.runs[ids[0]]
        files = {}
        for name, content in run["files"].items():
            stem = name.rsplit("/", 1)[-1].split(".")[0]
            known = name.endswith(".csv")
            files[name] = {
                "object": stem if known else False,
                "encoding": "utf-8" if known else False,
                "rows": max(content.count(b"\n") - 1, 0),
            }
        return {
            "run_id": ids[0],
            "files": files,
            "objects": {"subscribers": {"source_rows": 3}},
            "findings": dict(SUMMARY_FINDINGS),
            "mapping": {
                "subscribers": {
                    "subscriber_id": {"field": "x_subscriber_id", "confidence": 0.95},
                    "ki": {"field": False, "confidence": 0},
                }
            },
        }

    def rpc_get_profile_report(self, ids):
        run = self.runs[ids[0]]
        return {
            "name": run["name"],
            "state": run["state"],
            "files": [
                {
                    "name": "subscribers.csv",
                    "object": "subscribers",
                    "table": "subscribers",
                    "encoding": "utf-8",
                    "delimiter": "\t",
                    "header_row": 1,
                    "date_format": "%Y-%m-%d",
                    "decimal_format": False,
                    "rows": 3,
                    "dropped_columns": ["ki", "opc"],
                }
            ],
            "objects": {"subscribers": {"source_rows": 3}},
            "findings": REPORT_FINDINGS,
            "mapping": [
                {
                    "object": "subscribers",
                    "table": "subscribers",
                    "file": "subscribers.csv",
                    "column": "subscriber_id",
                    "action": "map",
                    "field": "x_subscriber_id",
                    "type": "char",
                    "confidence": 0.95,
                    "evidence": "header name",
                },
                {
                    "object": "subscribers",
                    "table": "subscribers",
                    "file": "subscribers.csv",
                    "column": "legacy_flag",
                    "action": "ignore",
                    "field": False,
                    "type": False,
                    "confidence": 0.0,
                    "evidence": False,
                },
            ],
        }

    def uploads(self, name=None):
        """(file, offset, size) of every upload_chunk call."""
        return [
            (args[1], args[2], len(base64.b64decode(args[3])))
            for method, args in self.calls
            if method == "upload_chunk" and (name is None or args[1] == name)
        ]


class _Handler(SimpleXMLRPCRequestHandler):
    rpc_paths = ("/xmlrpc/2/common", "/xmlrpc/2/object")

    def log_message(self, *args):
        pass


class _Server(ThreadingMixIn, MultiPathXMLRPCServer):
    daemon_threads = True


@pytest.fixture
def fake():
    odoo = FakeOdoo()
    server = _Server(("127.0.0.1", 0), requestHandler=_Handler, logRequests=False)
    for service, functions in (("common", [odoo.authenticate]), ("object", [odoo.execute_kw])):
        dispatcher = SimpleXMLRPCDispatcher()
        for function in functions:
            dispatcher.register_function(function)
        server.add_dispatcher(f"/xmlrpc/2/{service}", dispatcher)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    odoo.url = "http://127.0.0.1:%d" % server.server_address[1]
    yield odoo
    server.shutdown()
    server.server_close()


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("ODOO_DB", "ODOO_PASSWORD")}
    env["ODOO_PASSWORD"] = PASSWORD
    env.update(extra)
    return {k: v for k, v in env.items() if v is not None}


def cli(*args, env=None, timeout=60):
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)],
        env=_env() if env is None else env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def profile(fake, export, *options, env=None):
    return cli("--url", fake.url, "--db", DB, "profile", export, *options, env=env)


def _one_error_line(result):
    """The CLI's failures are one clear line on stderr, never a traceback."""
    assert "Traceback" not in result.stderr, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: "), result.stderr
    return last


@pytest.fixture
def csv_file(tmp_path):
    path = tmp_path / "subscribers.csv"
    path.write_text("subscriber_id,msisdn\nS1,+4917000001\nS2,+4917000002\nS3,+4917000003\n")
    return path


# --- usage, connection and login errors: exit 2 -------------------------------------------------------------


def test_missing_db_is_a_usage_error(fake, csv_file):
    result = cli("--url", fake.url, "profile", csv_file)
    assert result.returncode == 2, result.stderr
    assert "--db" in result.stderr
    assert fake.calls == []


def test_db_from_environment(fake, csv_file):
    result = cli("--url", fake.url, "profile", csv_file, "--json", env=_env(ODOO_DB=DB))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["run_id"] == 1


def test_missing_password_without_terminal_is_a_usage_error(fake, csv_file):
    result = profile(fake, csv_file, env=_env(ODOO_PASSWORD=None))
    assert result.returncode == 2, result.stderr
    assert "ODOO_PASSWORD" in result.stderr
    assert "Traceback" not in result.stderr
    assert fake.calls == []


def test_password_env_names_the_variable(fake, csv_file):
    env = _env(ODOO_PASSWORD=None, MY_ODOO_SECRET=PASSWORD)
    result = cli(
        "--url", fake.url, "--db", DB, "--password-env", "MY_ODOO_SECRET", "profile", csv_file, env=env
    )
    assert result.returncode == 0, result.stderr
    result = profile(fake, csv_file, "--password-env", "UNSET_VARIABLE_NAME", env=env)
    assert result.returncode == 2
    assert "UNSET_VARIABLE_NAME" in result.stderr


def test_password_is_prompted_on_a_terminal(fake, csv_file):
    master, slave = pty.openpty()
    # A new session has no controlling terminal, so getpass reads the pty given as stdin
    # (and never the terminal pytest itself runs in).
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--url", fake.url, "--db", DB, "profile", str(csv_file), "--json"],
        env=_env(ODOO_PASSWORD=None),
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    os.close(slave)
    try:
        seen = b""
        deadline = time.monotonic() + 30
        while b"password" not in seen.lower() and time.monotonic() < deadline:
            if select.select([proc.stderr], [], [], 1)[0]:
                chunk = os.read(proc.stderr.fileno(), 1024)
                if not chunk:
                    break
                seen += chunk
        assert b"password" in seen.lower(), seen
        os.write(master, PASSWORD.encode() + b"\n")
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert proc.returncode == 0, seen + err
    assert json.loads(out)["run_id"] == 1
    assert PASSWORD.encode() not in out + seen + err


def test_connection_refused(csv_file):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port once the socket is closed.
    result = cli("--url", f"http://127.0.0.1:{port}", "--db", DB, "profile", csv_file)
    assert result.returncode == 2
    assert _one_error_line(result) == result.stderr.strip()
    assert "refused" in result.stderr


def test_unknown_host(csv_file):
    result = cli("--url", "http://odoo.invalid:8069", "--db", DB, "profile", csv_file, timeout=120)
    assert result.returncode == 2
    assert "odoo.invalid" in _one_error_line(result)


def test_http_error(fake, csv_file):
    result = cli("--url", fake.url + "/not-odoo", "--db", DB, "profile", csv_file)
    assert result.returncode == 2
    assert "HTTP 404" in _one_error_line(result)


def test_unknown_database(fake, csv_file):
    result = cli("--url", fake.url, "--db", "nope", "profile", csv_file)
    assert result.returncode == 2
    line = _one_error_line(result)
    assert 'database "nope" does not exist' in line
    assert fake.calls == []


def test_bad_credentials(fake, csv_file):
    result = profile(fake, csv_file, env=_env(ODOO_PASSWORD="wrong"))
    assert result.returncode == 2
    assert "login failed" in _one_error_line(result)
    assert fake.calls == []


def test_missing_export_is_a_usage_error(fake, tmp_path):
    result = profile(fake, tmp_path / "nothing.zip")
    assert result.returncode == 2
    assert "nothing.zip" in _one_error_line(result)
    assert fake.calls == []


# --- refused exports: exit 1 --------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["action_detect", "action_stage", "action_profile"])
def test_step_returning_false_reports_the_runs_error(fake, csv_file, method):
    message = "subscribers.csv, row 3, column msisdn: unterminated quote"
    fake.step_result[method] = ("false", message)
    result = profile(fake, csv_file, "--json")
    assert result.returncode == 1, result.stderr
    assert _one_error_line(result) == f"error: BSSI/00001: {message}"
    assert result.stdout == ""
    called = [m for m, _args in fake.calls if m.startswith("action_")]
    assert called[-1] == method  # no step runs after the refused one


def test_step_fault_reports_the_servers_message(fake, csv_file):
    fake.step_result["action_stage"] = ("fault", "The export holds no file the importer knows.")
    result = profile(fake, csv_file)
    assert result.returncode == 1
    assert _one_error_line(result) == "error: BSSI/00001: The export holds no file the importer knows."


# --- uploads ------------------------------------------------------------------------------------------------


def test_file_larger_than_a_chunk_arrives_complete_and_in_order(fake, tmp_path):
    data = os.urandom(2 * CHUNK + 12345)
    path = tmp_path / "export.zip"
    path.write_bytes(data)
    result = profile(fake, path, "--chunk-size", "0.0625")
    assert result.returncode == 0, result.stderr
    assert fake.uploads() == [
        ("export.zip", 0, CHUNK),
        ("export.zip", CHUNK, CHUNK),
        ("export.zip", 2 * CHUNK, 12345),
    ]
    assert bytes(fake.runs[1]["files"]["export.zip"]) == data


def test_default_chunk_is_8_mib(fake, tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(b"x" * (8 * 1024 * 1024 + 1))
    result = profile(fake, path)
    assert result.returncode == 0, result.stderr
    assert [offset for _name, offset, _size in fake.uploads()] == [0, 8 * 1024 * 1024]


def test_upload_resumes_at_the_offset_the_server_expects_after_a_timeout(fake, tmp_path):
    data = os.urandom(3 * CHUNK)
    path = tmp_path / "export.zip"
    path.write_bytes(data)
    # The second chunk is stored, but its answer comes too late: the retry is refused
    # with the expected offset and the upload goes on from there, sending nothing twice.
    fake.stall[("export.zip", CHUNK)] = 3
    result = profile(fake, path, "--chunk-size", "0.0625", "--timeout", "1")
    assert result.returncode == 0, result.stderr
    assert "retrying" in result.stderr
    assert fake.uploads() == [
        ("export.zip", 0, CHUNK),
        ("export.zip", CHUNK, CHUNK),
        ("export.zip", CHUNK, CHUNK),
        ("export.zip", 2 * CHUNK, CHUNK),
    ]
    assert bytes(fake.runs[1]["files"]["export.zip"]) == data


def test_folder_upload_sends_relative_names_and_skips_hidden_files(fake, tmp_path):
    export = tmp_path / "export"
    (export / "sub" / "dir").mkdir(parents=True)
    (export / ".git").mkdir()
    (export / "subscribers.csv").write_text("a\n1\n")
    (export / "sub" / "dir" / "orders.csv").write_text("b\n2\n")
    (export / "empty.csv").write_bytes(b"")
    (export / ".hidden.csv").write_text("secret\n")
    (export / "sub" / ".DS_Store").write_bytes(b"\0")
    (export / ".git" / "config").write_text("[core]\n")
    result = profile(fake, export)
    assert result.returncode == 0, result.stderr
    assert sorted(fake.runs[1]["files"]) == ["empty.csv", "sub/dir/orders.csv", "subscribers.csv"]
    assert fake.runs[1]["files"]["sub/dir/orders.csv"] == b"b\n2\n"
    # An empty file is still announced, so that the server can report it.
    assert fake.uploads("empty.csv") == [("empty.csv", 0, 0)]


def test_empty_folder_is_a_usage_error(fake, tmp_path):
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / ".hidden").write_text("x")
    result = profile(fake, tmp_path / "export")
    assert result.returncode == 2
    _one_error_line(result)
    assert fake.calls == []


def test_server_path_uploads_nothing(fake):
    # Connection options are accepted after the sub-command too.
    result = cli("profile", "/srv/exports/bss.zip", "--server-path", "--json", "--url", fake.url, "--db", DB)
    assert result.returncode == 0, result.stderr
    assert fake.runs[1]["server_path"] == "/srv/exports/bss.zip"
    assert fake.uploads() == []
    assert [m for m, _a in fake.calls if m.startswith("action_")] == [
        "action_detect",
        "action_stage",
        "action_profile",
    ]


# --- output -------------------------------------------------------------------------------------------------


def test_json_is_one_object_on_stdout_with_nulls(fake, csv_file, tmp_path):
    notes = tmp_path / "export" / "notes.pdf"
    notes.parent.mkdir()
    notes.write_bytes(b"%PDF")
    (notes.parent / "subscribers.csv").write_bytes(csv_file.read_bytes())
    result = profile(fake, notes.parent, "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "run_id": 1,
        "files": {
            "notes.pdf": {"object": None, "encoding": None, "rows": 0},
            "subscribers.csv": {"object": "subscribers", "encoding": "utf-8", "rows": 3},
        },
        "objects": {"subscribers": {"source_rows": 3}},
        "findings": {"duplicate_rows": 2, "orphans": 1},
        "mapping": {
            "subscribers": {
                "subscriber_id": {"field": "x_subscriber_id", "confidence": 0.95},
                "ki": {"field": None, "confidence": 0.0},
            }
        },
    }
    assert isinstance(json.loads(result.stdout)["mapping"]["subscribers"]["ki"]["confidence"], float)
    # Progress goes to stderr only.
    assert "uploading" in result.stderr
    assert "BSSI/00001" in result.stderr


def test_quiet_prints_nothing_on_stderr(fake, csv_file):
    result = profile(fake, csv_file, "--json", "--quiet")
    assert result.returncode == 0
    assert result.stderr == ""


def test_readable_report_lists_detection_findings_and_mapping(fake, csv_file):
    result = profile(fake, csv_file)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("Run BSSI/00001: profiled\n")
    for finding in REPORT_FINDINGS:
        line = next(li for li in out.splitlines() if finding["description"] in li)
        assert line.split()[:4] == [
            finding["object"],
            finding["table"],
            finding["kind"],
            str(finding["count"]),
        ]
    detection = next(li for li in out.splitlines() if li.startswith("subscribers.csv "))
    assert detection.split() == ["subscribers.csv", "subscribers", "subscribers", "utf-8", "TAB", "1"] + [
        "%Y-%m-%d",
        "3",
        "ki,",
        "opc",
    ]
    mapped = next(li for li in out.splitlines() if " subscriber_id " in li and "x_subscriber_id" in li)
    assert mapped.split()[-3:] == ["0.95", "header", "name"]
    assert "False" not in out
    # Table columns are aligned: every row of the findings table starts its KIND at the same place.
    lines = out.splitlines()
    header = lines[lines.index("Findings (2)") + 1]
    rows = [li for li in lines if any(f["description"] in li for f in REPORT_FINDINGS)]
    assert {row.index(f["kind"]) for row, f in zip(rows, REPORT_FINDINGS, strict=True)} == {
        header.index("KIND")
    }


@pytest.mark.parametrize(("url", "connection"), [("http", "HTTPConnection"), ("https", "HTTPSConnection")])
def test_calls_carry_the_timeout_over_http_and_https(url, connection):
    spec = importlib.util.spec_from_file_location("bss_migrate", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    client = module.OdooClient(f"{url}://odoo.example.com", DB, USER, PASSWORD, timeout=7)
    # Nothing is sent: make_connection only builds the (unopened) connection object.
    conn = client._object("transport").make_connection("odoo.example.com")
    assert type(conn).__name__ == connection
    assert conn.timeout == 7


# --- status and quarantine ----------------------------------------------------------------------------------


def run_cli(fake, *args):
    return cli("--url", fake.url, "--db", DB, *args)


def test_status_json_is_the_documented_shape_and_exit_0_when_reconciled(fake):
    run_id = fake.migrated_run()
    result = run_cli(fake, "status", run_id, "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "run_id": run_id,
        "state": "migrated",
        "objects": {
            "billing_accounts": {
                "source_rows": 10,
                "duplicates_collapsed": 1,
                "quarantined": 1,
                "created": 8,
                "updated": 0,
                "unchanged": 0,
            },
            "subscribers": {
                "source_rows": 200,
                "duplicates_collapsed": 6,
                "quarantined": 9,
                "created": 185,
                "updated": 0,
                "unchanged": 0,
            },
        },
        "findings": {"duplicate_rows": 2, "orphans": 1},
        "owner_mapping": OWNER_MAPPING,
        "control_totals": {
            "billing_accounts.checksum": {"source": "ab12", "odoo": "ab12"},
            "subscribers.checksum": {"source": "cd34", "odoo": "cd34"},
        },
        "mismatches": 0,
    }
    assert [method for method, _args in fake.calls] == ["get_migration_summary"]


def test_status_table_lists_every_phase(fake):
    run_id = fake.migrated_run()
    result = run_cli(fake, "status", run_id)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"Run {run_id} (migrated)"
    header = next(line for line in lines if line.startswith("Object"))
    for title in ("State", "Source rows", "Collapsed", "Quarantined", "Created", "Updated", "Unchanged"):
        assert title in header
    assert header.rstrip().endswith("Balanced  Chunks")
    row = next(line for line in lines if line.startswith("subscribers"))
    assert row.split() == ["subscribers", "done", "200", "6", "9", "185", "0", "0", "yes", "-"]
    assert lines[-1] == "Reconciled: no mismatch."
    assert "Phases not finished" not in result.stdout


def test_status_of_a_stopped_phase_shows_its_chunks_and_last_error(fake):
    stopped = {
        **phase("subscribers", 120, 2, 3, 115, 0, 0),
        "state": "error",
        "chunks_total": 9,
        "chunks_done": 6,
        "chunks_failed": 1,
        "error_message": "1 of 9 chunks failed; last error: chunk 4: deadlock detected",
    }
    run_id = fake.migrated_run(phases=[{**MIGRATED_PHASES[0], "chunks_total": 1, "chunks_done": 1}, stopped])
    result = run_cli(fake, "status", run_id)
    lines = result.stdout.splitlines()
    assert next(line for line in lines if line.startswith("subscribers")).split()[-2:] == ["yes", "6/9"]
    assert next(line for line in lines if line.startswith("billing_accounts")).split()[-1] == "1/1"
    title = lines.index("Phases not finished (`resume` goes on from their chunks done):")
    assert lines[title + 1].split()[:6] == ["Object", "State", "Chunks", "pending", "Chunks", "failed"]
    assert lines[title + 3].split()[:4] == ["subscribers", "error", "2", "1"]
    assert lines[title + 3].endswith("1 of 9 chunks failed; last error: chunk 4: deadlock detected")


def test_status_exits_1_while_mismatches_remain(fake):
    run_id = fake.migrated_run(
        phases=[
            phase("billing_accounts", 10, 0, 0, 9, 0, 0),
            phase("subscribers", 5, 0, 0, 5, 0, 0, checksum="aa", odoo="bb"),
        ]
    )
    result = run_cli(fake, "status", run_id)
    assert result.returncode == 1, result.stderr
    row = next(line for line in result.stdout.splitlines() if line.startswith("billing_accounts"))
    assert row.split()[-2:] == ["NO", "-"]
    assert "Control totals that differ:" in result.stdout
    assert "subscribers.checksum  aa      bb" in result.stdout
    assert result.stdout.splitlines()[-1] == "2 mismatch(es) not acknowledged"
    as_json = run_cli(fake, "status", run_id, "--json")
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout)["mismatches"] == 2


def test_status_of_a_run_not_migrated_yet(fake):
    run_id = fake.migrated_run(phases=[], quarantine={})
    result = run_cli(fake, "status", run_id)
    assert result.returncode == 0, result.stderr
    assert "No phase has run yet." in result.stdout


def test_quarantine_counts_by_object_and_reason(fake):
    run_id = fake.migrated_run()
    result = run_cli(fake, "quarantine", run_id, "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"run_id": run_id, "open": 10, "by_object": MIGRATED_QUARANTINE}
    text = run_cli(fake, "quarantine", run_id)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0] == f"Run {run_id}: 10 open quarantined row(s)"
    assert lines[2].split() == ["Object", "Rows", "Reason"]
    assert lines[4].split() == ["subscribers", "5", "Invalid", "MSISDN:", "12ab"]
    assert lines[5].split()[:2] == ["subscribers", "4"]
    assert lines[6].split()[:2] == ["billing_accounts", "1"]


@pytest.mark.parametrize("command", ["status", "quarantine"])
def test_unknown_run_id_is_one_line_and_exit_1(fake, command):
    result = run_cli(fake, command, 99, "--json")
    assert result.returncode == 1
    assert result.stdout == ""
    assert _one_error_line(result) == "error: run 99: Import run 99 does not exist."


@pytest.mark.parametrize("command", ["status", "quarantine", "rollback"])
@pytest.mark.parametrize("run_id", ["abc", "0", "-3"])
def test_bad_run_id_is_a_usage_error(fake, command, run_id):
    result = (
        run_cli(fake, command, "--", run_id) if run_id.startswith("-") else run_cli(fake, command, run_id)
    )
    assert result.returncode == 2
    assert "not a run id" in result.stderr
    assert fake.calls == []


@pytest.mark.parametrize("command", ["status", "quarantine", "rollback"])
def test_summary_commands_need_a_run_id_and_report_connection_errors(fake, command):
    missing = run_cli(fake, command)
    assert missing.returncode == 2
    assert "RUN_ID" in missing.stderr
    refused = cli("--url", "http://127.0.0.1:9", "--db", DB, command, 1)
    assert refused.returncode == 2
    assert "connection refused" in _one_error_line(refused)


def test_help_describes_status_and_quarantine():
    result = cli("--help")
    assert result.returncode == 0
    assert "status" in result.stdout and "quarantine" in result.stdout
    status = cli("status", "--help")
    assert "mismatches" in status.stdout and "--json" in status.stdout


# --- run and report -----------------------------------------------------------------------------------------


def migrate(fake, export, *options):
    return cli("--url", fake.url, "--db", DB, "run", export, *options)


def test_run_json_migrates_phase_by_phase_and_exits_0_when_reconciled(fake, csv_file):
    result = migrate(fake, csv_file, "--accept-suggestions", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert set(summary) == {
        "run_id",
        "state",
        "objects",
        "findings",
        "owner_mapping",
        "control_totals",
        "mismatches",
    }
    assert summary["run_id"] == 1
    assert summary["state"] == "migrated"
    assert summary["mismatches"] == 0
    assert summary["objects"]["subscribers"] == {
        "source_rows": 200,
        "duplicates_collapsed": 6,
        "quarantined": 9,
        "created": 185,
        "updated": 0,
        "unchanged": 0,
    }
    for counts in summary["objects"].values():
        assert counts["source_rows"] == sum(v for k, v in counts.items() if k != "source_rows")
    assert summary["control_totals"]["subscribers.checksum"] == {"source": "cd34", "odoo": "cd34"}
    methods = [(m, tuple(a[1:])) for m, a in fake.calls if m not in ("read", "upload_chunk")]
    assert methods == [
        ("create", ()),
        ("action_detect", ()),
        ("action_stage", ()),
        ("action_profile", ()),
        ("action_confirm_mapping", ()),
        ("get_migration_plan", ()),
        ("action_migrate_start", ("billing_accounts",)),
        *[("action_migrate_work", ("billing_accounts", 20))] * 4,
        ("action_migrate_settle", ("billing_accounts",)),
        ("action_migrate_start", ("subscribers",)),
        *[("action_migrate_work", ("subscribers", 20))] * 4,
        ("action_migrate_settle", ("subscribers",)),
        ("action_migrate_finish", ()),
        ("get_migration_summary", ()),
    ]
    assert sorted(fake.runs[1]["written"]) == [
        (o, n) for o in ("billing_accounts", "subscribers") for n in range(4)
    ]
    lines = result.stderr.splitlines()
    assert "accepting the suggested mapping" in lines
    assert "[1/2] billing_accounts: migrating 10 rows with 1 worker(s)..." in lines
    done = next(line for line in lines if line.startswith("[2/2] subscribers: 200/200 rows in "))
    assert "rows/s" in done and "185 created" in done and "9 quarantined" in done and "6 duplicates" in done
    assert done.split(" | ")[1].startswith("run 210/210 rows, ")
    assert lines[-1] == "run BSSI/00001 (id 1): migrated; stopped before the OCS cutover"


def test_run_applies_the_owner_mapping_file_before_confirming(fake, csv_file, tmp_path):
    owners = tmp_path / "owners map.csv"
    owners.write_text("Owner_ID;Login;Sales_Team\nAG1;alice@operator.example;\n\nDL1;;North Dealers\n")
    result = migrate(fake, csv_file, "--accept-suggestions", "--owner-map", str(owners), "--json")
    assert result.returncode == 0, result.stderr
    assert fake.runs[1]["owner_map"] == [
        [2, "AG1", "alice@operator.example", ""],
        [4, "DL1", "", "North Dealers"],
    ]
    methods = [m for m, _a in fake.calls if m.startswith("action_")][:5]
    assert methods[-2:] == ["action_set_owner_mapping", "action_confirm_mapping"]
    assert "2 owner mapping line(s) set" in result.stderr


def test_run_refused_owner_mapping_stops_before_confirming(fake, csv_file, tmp_path):
    owners = tmp_path / "owners.csv"
    owners.write_text("legacy_id,user\nZZ9,bob\n")
    result = migrate(fake, csv_file, "--accept-suggestions", "--owner-map", str(owners))
    assert result.returncode == 1
    assert "owners.csv, row 2, field legacy_id: 'ZZ9' is not an owner id of the export" in result.stderr
    assert "action_confirm_mapping" not in [m for m, _a in fake.calls]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "the file is empty"),
        ("owner,colour\nAG1,red\n", "row 1: the header must name legacy_id and user and/or team"),
        ("legacy_id,user\n,bob\n", "row 2, field legacy_id: empty"),
        (
            "legacy_id,team\nAG1,North\nag1,South\n",
            "row 3, field legacy_id: 'ag1' is already mapped on row 2",
        ),
    ],
)
def test_a_bad_owner_mapping_file_is_a_usage_error_before_anything_is_created(
    fake, csv_file, tmp_path, content, message
):
    owners = tmp_path / "owners.csv"
    owners.write_text(content)
    result = migrate(fake, csv_file, "--accept-suggestions", "--owner-map", str(owners))
    assert result.returncode == 2
    assert f"--owner-map {owners}" in result.stderr and message in result.stderr
    assert fake.calls == []


def test_run_applies_the_named_template_before_confirming(fake, csv_file):
    fake.templates = [(7, "Operator X"), (8, "Other")]
    result = migrate(fake, csv_file, "--template", "Operator X")
    assert result.returncode == 0, result.stderr
    methods = [m for m, _a in fake.calls]
    assert methods.index("action_apply_template") < methods.index("action_confirm_mapping")
    assert fake.runs[1]["template_id"] == 7
    assert "3 mapping line(s) changed by the template" in result.stderr
    # Without --json: the status table.
    assert result.stdout.splitlines()[0] == "Run 1 (migrated)"
    assert result.stdout.splitlines()[-1] == "Reconciled: no mismatch."


def test_run_with_an_unknown_template_creates_no_run(fake, csv_file):
    fake.templates = [(7, "Operator X")]
    result = migrate(fake, csv_file, "--template", "Nope")
    assert result.returncode == 2
    assert _one_error_line(result) == "error: no mapping template named 'Nope'"
    assert fake.runs == {}


@pytest.mark.parametrize(
    "options", [(), ("--template", "X", "--accept-suggestions")], ids=["neither", "both"]
)
def test_run_needs_one_mapping_choice(fake, csv_file, options):
    result = migrate(fake, csv_file, *options)
    assert result.returncode == 2
    assert "--template" in result.stderr and "--accept-suggestions" in result.stderr
    assert fake.calls == []


def test_run_exits_1_while_mismatches_remain_and_names_the_blocked_phase(fake, csv_file):
    fake.outcome["billing_accounts"] = phase("billing_accounts", 10, 0, 0, 9, 0, 0)  # adds up to 9 of 10
    fake.outcome["subscribers"] = {**phase("subscribers", 0, 0, 0, 0, 0, 0), "state": "blocked"}
    fake.outcome["subscribers"]["error_message"] = "phase billing_accounts has an unacknowledged mismatch"
    result = migrate(fake, csv_file, "--accept-suggestions", "--json")
    assert result.returncode == 1, result.stderr
    assert json.loads(result.stdout)["mismatches"] == 1
    assert "phase subscribers blocked: phase billing_accounts has an unacknowledged mismatch" in result.stderr


def test_run_with_workers_writes_every_chunk_once_from_concurrent_calls(fake, csv_file):
    fake.chunks, fake.work_delay = 9, 0.2
    result = migrate(fake, csv_file, "--accept-suggestions", "--workers", "3", "--keys-per-chunk", "500")
    assert result.returncode == 0, result.stderr
    written = fake.runs[1]["written"]
    assert sorted(written) == [(o, n) for o in ("billing_accounts", "subscribers") for n in range(9)]
    # Three calls at once (each on its own connection), never more.
    assert fake.most_active == 3
    assert fake.runs[1]["chunk_size"] == {"billing_accounts": 500, "subscribers": 500}
    phases = [
        (m, a[1]) for m, a in fake.calls if m.startswith("action_migrate_") and m != "action_migrate_finish"
    ]
    # Each phase settles after its last chunk, and the next starts after that.
    assert [p for p in phases if p[0] != "action_migrate_work"] == [
        ("action_migrate_start", "billing_accounts"),
        ("action_migrate_settle", "billing_accounts"),
        ("action_migrate_start", "subscribers"),
        ("action_migrate_settle", "subscribers"),
    ]
    settled = phases.index(("action_migrate_settle", "billing_accounts"))
    assert {obj for _m, obj in phases[:settled]} == {"billing_accounts"}
    assert {obj for _m, obj in phases[settled + 1 :]} == {"subscribers"}
    assert "[2/2] subscribers: migrating 200 rows with 3 worker(s)..." in result.stderr.splitlines()
    assert "9/9 chunks" in result.stderr


def test_a_worker_fault_stops_the_run_with_the_servers_message(fake, csv_file):
    fake.work_fault = "chunk 3: refused by the database: deadlock detected"
    result = migrate(fake, csv_file, "--accept-suggestions", "--workers", "2")
    assert result.returncode == 1
    assert _one_error_line(result) == (
        "error: BSSI/00001: migrating billing_accounts: chunk 3: refused by the database: deadlock detected"
    )
    assert "action_migrate_settle" not in [m for m, _a in fake.calls]


def test_resume_leaves_phases_done_and_resumes_the_one_that_stopped(fake):
    run_id = fake.rpc_create({})
    run = fake.runs[run_id]
    run.update(state="migrating", phases=[fake.outcome["billing_accounts"]])
    # The subscribers phase stopped (a worker killed) with chunks 2 and 3 of 4 pending.
    run.update(pending={"subscribers": [2, 3]}, chunk_total={"subscribers": 4})
    result = cli("--url", fake.url, "--db", DB, "resume", str(run_id), "--json")
    assert result.returncode == 0, result.stderr
    methods = [(m, tuple(a[1:])) for m, a in fake.calls if m not in ("read", "search_read")]
    assert methods == [
        ("get_migration_plan", ()),
        ("action_migrate_start", ("subscribers",)),
        ("action_migrate_work", ("subscribers", 20)),
        ("action_migrate_work", ("subscribers", 20)),
        ("action_migrate_settle", ("subscribers",)),
        ("action_migrate_finish", ()),
        ("get_migration_summary", ()),
    ]
    assert run["written"] == [("subscribers", 2), ("subscribers", 3)]
    assert "[1/2] billing_accounts: done before, left as it is" in result.stderr.splitlines()
    assert json.loads(result.stdout)["state"] == "migrated"


@pytest.mark.parametrize("option", ["--workers", "--keys-per-chunk"])
@pytest.mark.parametrize("value", ["0", "-2", "two"])
def test_workers_and_keys_per_chunk_must_be_whole_numbers(fake, csv_file, option, value):
    result = migrate(fake, csv_file, "--accept-suggestions", option, value)
    assert result.returncode == 2
    assert option in result.stderr
    assert fake.calls == []


def test_run_stops_when_the_mapping_cannot_be_confirmed(fake, csv_file):
    fake.step_result["action_confirm_mapping"] = ("fault", "The mapping cannot be confirmed yet: msisdn")
    result = migrate(fake, csv_file, "--accept-suggestions")
    assert result.returncode == 1
    assert _one_error_line(result) == "error: BSSI/00001: The mapping cannot be confirmed yet: msisdn"
    assert not [m for m, _a in fake.calls if m.startswith("action_migrate")]
    assert result.stdout == ""


@pytest.mark.parametrize("fmt", ["pdf", "csv", "json"])
def test_report_writes_the_servers_file(fake, tmp_path, fmt):
    run_id = fake.migrated_run()
    out = tmp_path / f"report.{fmt}"
    result = run_cli(fake, "report", run_id, "--format", fmt, "--output", out)
    assert result.returncode == 0, result.stderr
    expected = {"pdf": b"%PDF-1.4 fake", "csv": b"section,object\r\n", "json": b"{}"}[fmt]
    assert out.read_bytes() == expected + b"BSSI/00001"
    assert result.stdout == ""
    assert f"written to {out}" in result.stderr
    assert not list(tmp_path.glob("*.part"))
    assert fake.calls == [("get_reconciliation_report", [[run_id], fmt])]


def test_report_usage_and_refusals(fake, tmp_path):
    run_id = fake.migrated_run()
    bad_format = run_cli(fake, "report", run_id, "--format", "xlsx", "--output", tmp_path / "r")
    assert bad_format.returncode == 2 and "invalid choice" in bad_format.stderr
    no_output = run_cli(fake, "report", run_id, "--format", "pdf")
    assert no_output.returncode == 2 and "--output" in no_output.stderr
    unknown = run_cli(fake, "report", 99, "--format", "pdf", "--output", tmp_path / "r.pdf")
    assert unknown.returncode == 1
    assert _one_error_line(unknown) == "error: run 99: Import run 99 does not exist."
    assert not (tmp_path / "r.pdf").exists()
    unwritable = run_cli(
        fake, "report", run_id, "--format", "pdf", "--output", tmp_path / "missing" / "r.pdf"
    )
    assert unwritable.returncode == 2
    assert _one_error_line(unwritable).startswith(f"error: cannot write {tmp_path / 'missing' / 'r.pdf'}: ")


def test_report_to_stdout(fake):
    run_id = fake.migrated_run()
    result = cli("--url", fake.url, "--db", DB, "-q", "report", run_id, "--format", "csv", "--output", "-")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "section,object\n" + "BSSI/00001"
    assert result.stderr == ""


def test_long_steps_print_the_servers_progress_while_they_run(fake, csv_file):
    answer = {
        "state": "detected",
        "step": "stage",
        "done": 50,
        "total": 200,
        "message": "subscribers.csv: 3 rows",
    }
    fake.step_progress["action_stage"] = (answer, 1.5)
    result = profile(fake, csv_file, "--progress-interval", "0.2", "--json")
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    polled = [line for line in lines if line.startswith("  staging rows: 25% subscribers.csv: 3 rows (")]
    assert len(polled) == 1, lines  # printed once: the progress did not change afterwards
    assert lines.index("staging rows...") < lines.index(polled[0]) < lines.index("profiling...")
    assert [m for m, _a in fake.calls].count("get_progress") >= 3
    polls = [m for m, _a in fake.calls].count("get_progress")
    quiet = profile(fake, csv_file, "--progress-interval", "0.2", "-q")
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert [m for m, _a in fake.calls].count("get_progress") == polls  # quiet: nobody asks


def delta(fake, run_id, export, *options):
    return cli("--url", fake.url, "--db", DB, "delta", str(run_id), export, *options)


def test_delta_json_migrates_the_later_export_and_adds_the_delta_report(fake, csv_file, tmp_path):
    origin = fake.migrated_run()
    changes = [
        {
            "object": "subscribers",
            "kind": "changed",
            "source_key": f"S{n:06d}",
            "field_name": "city",
            "old_text": "Zürich",
            "new_text": "Genève",
            "archived": False,
            "res_model": "res.partner",
            "res_id": n,
        }
        for n in range(5001)
    ]
    changes.append(
        {
            "object": "subscribers",
            "kind": "changed",
            "source_key": "S9",
            "field_name": "comment",
            "old_text": "=HYPERLINK(1)",
            "new_text": "+41",
            "archived": False,
            "res_model": "res.partner",
            "res_id": 9,
        }
    )
    changes.append(
        {
            "object": "subscribers",
            "kind": "vanished",
            "source_key": "S7",
            "field_name": "active",
            "old_text": "True",
            "new_text": "False",
            "archived": True,
            "res_model": "res.partner",
            "res_id": 7,
        }
    )
    out = tmp_path / "changes.csv"
    original_finish = fake.rpc_action_migrate_finish

    def finish(ids):
        fake.runs[ids[0]]["changes"] = changes
        return original_finish(ids)

    fake.rpc_action_migrate_finish = finish
    result = delta(fake, origin, csv_file, "--archive-vanished", "--changes", str(out), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert set(summary) == {
        "run_id",
        "state",
        "objects",
        "findings",
        "owner_mapping",
        "control_totals",
        "mismatches",
        "delta",
    }
    assert summary["run_id"] == 2
    assert summary["delta"] == {
        "delta_of": origin,
        "archive_vanished": True,
        "objects": {"subscribers": {**DELTA_SUBSCRIBERS, "archived": 4}},
        "changes": 9,
    }
    create = next(args for method, args in fake.calls if method == "create")
    assert create == [{"delta_of_id": origin, "archive_vanished": True}]
    methods = [m for m, _a in fake.calls if m not in ("read", "upload_chunk", "search_read")]
    assert methods[:5] == [
        "create",
        "action_detect",
        "action_stage",
        "action_profile",
        "action_confirm_mapping",
    ]
    assert methods[-2:] == ["get_delta_report", "get_migration_summary"]
    # The change list, read page by page, every row once; formulas neutralised.
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["object", "kind", "key", "field", "before", "after", "archived", "model", "record_id"]
    assert len(rows) == 1 + len(changes)
    assert rows[1] == [
        "subscribers",
        "changed",
        "S000000",
        "city",
        "Zürich",
        "Genève",
        "",
        "res.partner",
        "0",
    ]
    assert rows[-2][4:6] == ["'=HYPERLINK(1)", "'+41"]
    assert rows[-1][:7] == ["subscribers", "vanished", "S7", "active", "True", "False", "yes"]
    assert f"{len(changes)} change(s) written to {out}" in result.stderr.splitlines()


def test_delta_table_shows_the_report_after_the_reconciliation(fake, csv_file):
    origin = fake.migrated_run()
    result = delta(fake, origin, csv_file)
    assert result.returncode == 0, result.stderr
    assert "Reconciled: no mismatch." in result.stdout
    assert f"Delta pass of run {origin} (9 changes, vanished records reported)" in result.stdout
    line = next(row for row in result.stdout.splitlines() if row.startswith("subscribers") and "180" in row)
    assert line.split() == ["subscribers", "3", "2", "180", "9", "4", "0", "5"]
    assert fake.runs[2]["archive_vanished"] is False


def test_delta_of_a_run_not_migrated_is_refused_with_the_servers_message(fake, csv_file):
    run_id = fake.rpc_create({})
    result = delta(fake, run_id, csv_file, "--json")
    assert result.returncode == 1
    assert _one_error_line(result) == (
        f"error: cannot create an import run: Run BSSI/{run_id:05d} is not migrated (state draft): a delta "
        "pass applies a later export to what a run migrated."
    )
    assert [m for m, _a in fake.calls] == ["create"]
    assert result.stdout == ""


def test_delta_changes_to_an_unwritable_file_is_a_usage_error(fake, csv_file, tmp_path):
    origin = fake.migrated_run()
    result = delta(fake, origin, csv_file, "--changes", str(tmp_path / "missing" / "changes.csv"))
    assert result.returncode == 2
    assert _one_error_line(result).startswith(f"error: cannot write {tmp_path / 'missing' / 'changes.csv'}: ")
    # Refused before anything is created: no delta pass applied whose change list cannot be written.
    assert "create" not in [m for m, _a in fake.calls]


def test_rollback_json_is_the_report_and_a_second_rollback_changes_nothing(fake):
    run_id = fake.migrated_run()
    result = cli("--url", fake.url, "--db", DB, "rollback", str(run_id), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report == {"run_id": run_id, "state": "rolled_back", "passes": [run_id], **ROLLBACK_REPORT}
    assert [m for m, _a in fake.calls if m != "read"] == ["action_rollback"]
    again = cli("--url", fake.url, "--db", DB, "rollback", str(run_id))
    assert again.returncode == 0, again.stderr
    assert fake.runs[run_id]["rollbacks"] == 1
    assert f"Rollback of run {run_id} (passes {run_id}): rolled_back" in again.stdout
    row = next(line for line in again.stdout.splitlines() if line.startswith("subscribers"))
    assert row.split() == ["subscribers", "180", "0", "5", "0", "2"]


def test_rollback_of_a_run_not_migrated_is_refused_with_the_servers_message(fake):
    run_id = fake.rpc_create({})
    result = cli("--url", fake.url, "--db", DB, "rollback", str(run_id), "--json")
    assert result.returncode == 1
    assert _one_error_line(result) == (
        f"error: BSSI/{run_id:05d}: Run BSSI/{run_id:05d} has not migrated anything (state draft): "
        "nothing to roll back."
    )
    assert result.stdout == ""


# --- cohorts ------------------------------------------------------------------------------------------------


def test_run_with_a_cohort_migrates_only_the_cohort_and_reports_it(fake, csv_file):
    result = cli(
        "--url",
        fake.url,
        "--db",
        DB,
        "run",
        csv_file,
        "--accept-suggestions",
        "--cohort",
        "percent:10:42",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    run_id, cohort_id = 1, 2
    assert fake.runs[cohort_id]["cohort_spec"] == ("percent", "10", 42)
    # The phases are the cohort's: every chunk call names it, never the run.
    migrated_ids = {args[0][0] for method, args in fake.calls if method.startswith("action_migrate_")}
    assert migrated_ids == {cohort_id}
    summary = json.loads(result.stdout)
    assert summary["run_id"] == cohort_id
    assert summary["cohort"] == {
        "id": cohort_id,
        "name": "C1",
        "kind": "percent",
        "value": "10",
        "seed": 42,
        "state": "migrated",
        "date_migrated": "2026-12-02 07:00:00",
        "members": fake.cohort_members,
        "run_id": run_id,
        "legacy_owned": {"billing_accounts": 7, "subscribers": 188},
    }
    assert "cohort BSSI/00002 (id 2) of run BSSI/00001 created" in result.stderr


def test_cohort_of_an_existing_run_reads_account_numbers_from_a_file(fake, tmp_path):
    run_id = fake.rpc_create({})
    fake.runs[run_id]["state"] = "confirmed"
    accounts = tmp_path / "wave.txt"
    accounts.write_text("BA-1\nBA-2, BA-3\n\n", encoding="utf-8")
    result = cli(
        "--url",
        fake.url,
        "--db",
        DB,
        "cohort",
        run_id,
        "--cohort",
        f"accounts:@{accounts}",
        "--cohort-name",
        "w2",
    )
    assert result.returncode == 0, result.stderr
    cohort = fake.runs[fake.runs[run_id]["cohorts"][0]]
    assert (cohort["cohort_spec"], cohort["cohort_name"]) == (("accounts", "BA-1,BA-2,BA-3", 0), "w2")
    assert "Cohort w2 of run 1: 3 billing account(s), 12 subscriber(s); still on the legacy system: 7" in (
        result.stdout
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("galaxy:1", "unknown kind 'galaxy'"),
        ("plan", "plan needs a value"),
        ("rest:all", "rest takes no value"),
        ("percent:0", "more than 0 and at most 100"),
        ("percent:ten", "percent:P[:SEED] takes numbers"),
        ("accounts:@/nonexistent/wave.txt", "cannot read /nonexistent/wave.txt"),
    ],
)
def test_a_cohort_spec_that_cannot_be_read_is_a_usage_error_before_anything_is_created(
    fake, csv_file, spec, message
):
    result = cli("--url", fake.url, "--db", DB, "run", csv_file, "--accept-suggestions", "--cohort", spec)
    assert result.returncode == 2
    assert message in _one_error_line(result)
    assert fake.runs == {}


def test_a_cohort_the_server_refuses_is_one_line_and_exit_1(fake):
    run_id = fake.migrated_run()
    result = cli("--url", fake.url, "--db", DB, "cohort", run_id, "--cohort", "rest", "--json")
    assert result.returncode == 1
    assert "cohorts split a run whose mapping is confirmed" in _one_error_line(result)
    assert result.stdout == ""


def test_cohorts_lists_each_cohort_the_overall_counts_and_who_owns_what(fake):
    run_id = fake.rpc_create({})
    fake.runs[run_id]["state"] = "confirmed"
    first = fake.rpc_action_new_cohort([run_id], "accounts", "BA-1", 0, "pilot")
    fake.runs[first].update(state="migrated", phases=MIGRATED_PHASES)
    fake.rpc_action_new_cohort([run_id], "rest", False, 0, False)
    result = cli("--url", fake.url, "--db", DB, "cohorts", run_id, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [(c["name"], c["state"]) for c in report["cohorts"]] == [
        ("pilot", "migrated"),
        ("C2", "confirmed"),
    ]
    assert report["cohorts"][0]["phases"]["subscribers"]["created"] == 185
    assert report["overall"]["subscribers"] == {
        "source_rows": 200,
        "quarantined": 9,
        "created": 185,
        "updated": 0,
        "unchanged": 0,
        "balanced": True,
    }
    assert report["legacy_owned"] == {"billing_accounts": 7, "subscribers": 188}
    table = cli("--url", fake.url, "--db", DB, "cohorts", run_id).stdout
    assert "pilot   accounts BA-1" in table
    assert "Still on the legacy system: 7 billing account(s), 188 subscriber(s)" in table


def test_rollback_of_one_cohort_rolls_back_that_cohort_only(fake):
    run_id = fake.rpc_create({})
    fake.runs[run_id]["state"] = "confirmed"
    pilot = fake.rpc_action_new_cohort([run_id], "accounts", "BA-1", 0, "pilot")
    other = fake.rpc_action_new_cohort([run_id], "rest", False, 0, False)
    for cohort in (pilot, other):
        fake.runs[cohort]["state"] = "migrated"
    result = cli("--url", fake.url, "--db", DB, "rollback", run_id, "--cohort", "pilot", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["run_id"] == pilot
    assert (fake.runs[pilot]["state"], fake.runs[other]["state"]) == ("rolled_back", "migrated")
    unknown = cli("--url", fake.url, "--db", DB, "rollback", run_id, "--cohort", "wave-9")
    assert unknown.returncode == 1
    assert _one_error_line(unknown) == "error: run 1 has no cohort 'wave-9' (cohorts: pilot, C2)"


# --- a migration written by the server's queue jobs -------------------------------------------------------


def test_run_queue_lets_the_jobs_write_the_phases_and_waits_for_the_run(fake, csv_file):
    result = cli(
        "--url", fake.url, "--db", DB, "--progress-interval", "0.1", "run", csv_file, "--accept-suggestions",
        "--queue", "--keys-per-chunk", "500", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    methods = [m for m, _a in fake.calls]
    assert methods.count("action_migrate_queued") == 1
    assert not [m for m in methods if m.startswith("action_migrate_") and m != "action_migrate_queued"]
    assert fake.runs[1]["queued_chunk_size"] == 500
    summary = json.loads(result.stdout)
    assert (summary["state"], summary["mismatches"]) == ("migrated", 0)
    assert summary["objects"]["subscribers"]["created"] == 185
    assert "queued on the job channel root.bss_import (500 keys per chunk)" in result.stderr
    assert "subscribers: 100 of 200 rows" in result.stderr


def test_a_failed_queue_job_stops_the_wait_with_its_error(fake, csv_file):
    fake.queue_failed = {"uuid": "u-9", "name": "BSSI/00001: subscribers chunk 3", "error": "disk full"}
    result = cli("--url", fake.url, "--db", DB, "run", csv_file, "--accept-suggestions", "--queue")
    assert result.returncode == 1
    assert _one_error_line(result) == (
        "error: BSSI/00001: 1 queue job(s) failed (BSSI/00001: subscribers chunk 3: disk full); the run "
        "stays migrating: requeue the jobs (Job Queue → Jobs) or resume the run"
    )


def test_queue_and_workers_do_not_go_together(fake, csv_file):
    result = cli(
        "--url", fake.url, "--db", DB, "run", csv_file, "--accept-suggestions", "--queue", "--workers", "2"
    )
    assert result.returncode == 2
    assert "--queue and --workers" in result.stderr
    assert fake.runs == {}


def test_inventory_writes_every_file_piece_by_piece(fake, tmp_path):
    run_id = fake.migrated_run()
    out = tmp_path / "handover"
    result = run_cli(fake, "inventory", run_id, "--output", out, "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["run_id"] == run_id
    written = {Path(f["file"]).name: f for f in summary["files"]}
    assert sorted(written) == ["BSSI-00001-pcrf_policies.csv", "BSSI-00001-pcrf_policies.html"]
    for name, data in fake.inventory_files.items():
        path = out / f"BSSI-00001-{name}"
        assert path.read_bytes() == data
        assert written[path.name]["size"] == len(data)
    assert len(fake.inventory_files["pcrf_policies.csv"]) > 4 * fake.INVENTORY_PIECE
    reads = [args for method, args in fake.calls if method == "read_inventory"]
    assert len(reads) >= 5 and [a[2] for a in reads[:3]] == [0, 1000, 2000]
    assert not list(out.glob("*.part"))


def test_inventory_refusals_and_usage_errors(fake, tmp_path):
    run_id = fake.migrated_run()
    unknown = run_cli(fake, "inventory", 99, "--output", tmp_path / "a")
    assert unknown.returncode == 1
    assert _one_error_line(unknown) == "error: run 99: Import run 99 does not exist."
    no_output = run_cli(fake, "inventory", run_id)
    assert no_output.returncode == 2 and "--output" in no_output.stderr
    blocker = tmp_path / "file"
    blocker.write_text("x")
    unwritable = run_cli(fake, "inventory", run_id, "--output", blocker / "sub")
    assert unwritable.returncode == 2
    assert _one_error_line(unwritable).startswith(f"error: cannot create {blocker / 'sub'}: ")
