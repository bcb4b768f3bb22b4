#!/usr/bin/env python3
"""Operator command line for Digital BSS migrations into Odoo (addon ``bss_import``).

It talks to Odoo over XML-RPC only, so it runs from any machine with Python 3.10+
and no other package::

    export ODOO_PASSWORD=...
    scripts/bss_migrate.py --url https://odoo.example.com --db staging profile export.zip
    scripts/bss_migrate.py --db staging profile export/ --json > profile.json
    scripts/bss_migrate.py --db staging run export.zip --template "Operator X" --json
    scripts/bss_migrate.py --db staging delta 42 later-export.zip --changes changes.csv --json
    scripts/bss_migrate.py --db staging run export.zip --accept-suggestions --cohort percent:5:42 --json
    scripts/bss_migrate.py --db staging cohort 42 --cohort region:city=Springfield --cohort-name wave-2
    scripts/bss_migrate.py --db staging cohorts 42
    scripts/bss_migrate.py --db staging rollback 42 --cohort wave-2 --json
    scripts/bss_migrate.py --db staging rollback 42 --json
    scripts/bss_migrate.py --db staging status 42
    scripts/bss_migrate.py --db staging report 42 --format pdf --output run-42.pdf
    scripts/bss_migrate.py --db staging quarantine 42 --json
    scripts/bss_migrate.py --db staging wallet-batch settlement-2026-12-01.csv --report result.csv --json

Exit codes: 0 success (``run`` and ``status``: every phase reconciles); 1 the
server refused the export, a step or the run id (unknown run, no access), or
``run``/``status`` found mismatches that no Migration Manager acknowledged; 2
usage, connection or authentication errors. Progress goes to stderr, results
to stdout.
"""

import argparse
import base64
import contextlib
import csv
import getpass
import http.client
import json
import os
import re
import socket
import sys
import threading
import time
import xml.parsers.expat
import xmlrpc.client

DEFAULT_URL = "http://127.0.0.1:8069"
RUN_MODEL = "bss.import.run"
PHASE_MODEL = "bss.import.phase"
TEMPLATE_MODEL = "bss.import.mapping.template"
CHANGE_MODEL = "bss.import.change"
BATCH_MODEL = "telecom.wallet.batch"
CUTOVER_MODEL = "bss.import.cutover"
#: The cutover's steps, in the order an operator runs them (status only reads).
CUTOVER_STEPS = ("shadow", "verify", "freeze", "delta", "finalize", "rollback", "status")
#: Totals of a cutover (decimal text in the buckets' currency).
CUTOVER_TOTALS = ("source_total", "odoo_total", "quarantined_total")
#: Operations per wallet batch the CLI sends (one server transaction each).
BATCH_CHUNK = 10000
BATCH_REPORT_COLUMNS = (
    "row",
    "reference",
    "subscriber",
    "status",
    "wallet_id",
    "operation_id",
    "entry",
    "reason",
)
#: What a delta pass reports per object (the server's get_delta_report).
DELTA_COUNTS = ("new", "changed", "unchanged", "quarantined", "vanished", "archived", "fields_changed")
REPORT_FORMATS = ("pdf", "csv", "json")
COUNTS = ("source_rows", "duplicates_collapsed", "quarantined", "created", "updated", "unchanged")
MIB = 1024 * 1024
# Odoo refuses requests above 128 MiB and base64 adds a third: keep chunks well below.
MAX_CHUNK_MIB = 64
# One chunk should never take long; a stalled transfer is retried (the server
# tells the offset it expects, so a chunk that did arrive is not sent twice).
UPLOAD_TIMEOUT = 300
UPLOAD_ATTEMPTS = 4
# How the server words the offset it expects ("... resume at byte 8388608.", "expected offset 8388608").
EXPECTED_OFFSET_RE = re.compile(r"\b(?:resume|expect)\w*\D{0,20}?(\d+)", re.IGNORECASE)

# The export steps, in order: (method, what the progress line says).
STEPS = (
    ("action_detect", "detecting files"),
    ("action_stage", "staging rows"),
    ("action_profile", "profiling"),
)


class CliError(Exception):
    """An error reported as one line on stderr, with the process exit code."""

    exit_code = 1


class UsageError(CliError):
    exit_code = 2


class ConnectionFailed(CliError):
    """The server could not be reached or did not accept the credentials."""

    exit_code = 2


class RunFailed(CliError):
    """The server refused the export or a step of the run."""

    exit_code = 1


# Errors of the transport itself (socket, HTTP, a reply that is not XML-RPC).
TRANSPORT_ERRORS = (
    OSError,
    http.client.HTTPException,
    xmlrpc.client.ProtocolError,
    xml.parsers.expat.ExpatError,
)


def fault_message(fault):
    """One line out of an XML-RPC fault: Odoo sends user errors as text and
    anything else as a full server traceback, whose last line is the exception."""
    text = str(fault.faultString or fault.faultCode).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return "server error"
    if lines[0].startswith("Traceback"):
        return lines[-1]
    return " ".join(lines)


def transport_message(url, exc):
    if isinstance(exc, xmlrpc.client.ProtocolError):
        return f"{url}: HTTP {exc.errcode} {exc.errmsg}"
    if isinstance(exc, socket.gaierror):
        return f"{url}: cannot resolve host ({exc.strerror or exc})"
    if isinstance(exc, TimeoutError | socket.timeout):
        return f"{url}: no answer from the server in time"
    if isinstance(exc, ConnectionRefusedError):
        return f"{url}: connection refused (is Odoo running there?)"
    if isinstance(exc, xml.parsers.expat.ExpatError):
        return f"{url}: the answer is not XML-RPC (is this an Odoo server?)"
    detail = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return f"{url}: {detail}"


class _TimeoutMixin:
    """xmlrpc.client's transports with a socket timeout that can change per call."""

    def __init__(self, timeout, **kwargs):
        super().__init__(**kwargs)
        self.timeout = timeout

    def make_connection(self, host):
        conn = super().make_connection(host)
        conn.timeout = self.timeout
        if conn.sock is not None:  # a kept-alive connection
            conn.sock.settimeout(self.timeout)
        return conn


class _TimeoutTransport(_TimeoutMixin, xmlrpc.client.Transport):
    pass


class _SafeTimeoutTransport(_TimeoutMixin, xmlrpc.client.SafeTransport):
    pass


class OdooClient:
    """The few XML-RPC calls the CLI needs: log in, then ``execute_kw`` on a model."""

    def __init__(self, url, db, user, password, timeout):
        self.url = url.rstrip("/")
        self.db = db
        self.user = user
        self.password = password
        self.timeout = timeout
        self.uid = None
        self._common = self._proxy("common")
        self._object = self._proxy("object")

    def _proxy(self, service):
        transport_class = _SafeTimeoutTransport if self.url.startswith("https:") else _TimeoutTransport
        return xmlrpc.client.ServerProxy(
            f"{self.url}/xmlrpc/2/{service}", transport=transport_class(self.timeout), allow_none=True
        )

    def login(self):
        try:
            uid = self._common.authenticate(self.db, self.user, self.password, {})
        except xmlrpc.client.Fault as exc:
            # An unknown database (or one outside the server's db filter) is a fault here.
            raise ConnectionFailed(f"cannot log in to database {self.db!r}: {fault_message(exc)}")
        except TRANSPORT_ERRORS as exc:
            raise ConnectionFailed(transport_message(self.url, exc))
        if not uid:
            raise ConnectionFailed(f"login failed for user {self.user!r} on database {self.db!r}")
        self.uid = uid
        return uid

    def call(self, model, method, args, kwargs=None, timeout=None):
        """``execute_kw``; faults propagate as :class:`xmlrpc.client.Fault`,
        transport errors as :class:`ConnectionFailed`."""
        transport = self._object("transport")
        transport.timeout = timeout or self.timeout
        try:
            return self._object.execute_kw(
                self.db, self.uid, self.password, model, method, args, kwargs or {}
            )
        except xmlrpc.client.Fault:
            raise
        except TRANSPORT_ERRORS as exc:
            raise ConnectionFailed(transport_message(self.url, exc)) from exc
        finally:
            transport.timeout = self.timeout


class Progress:
    def __init__(self, quiet=False, interval=5.0):
        self.quiet = quiet
        self.interval = interval

    def __call__(self, message):
        if not self.quiet:
            print(message, file=sys.stderr, flush=True)


def human_size(size):
    for unit in ("B", "KiB", "MiB"):
        if size < 1024 or unit == "MiB":
            return f"{size} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def export_files(path):
    """The files to upload for EXPORT: [(upload name, local path)].

    A single file is sent under its base name; a folder is walked recursively,
    each regular file named by its path relative to the folder with ``/``;
    hidden files and folders (a leading dot) are left out.
    """
    if os.path.isfile(path):
        return [(os.path.basename(path), path)]
    if not os.path.isdir(path):
        raise UsageError(f"EXPORT {path!r}: no such file or folder")
    files = []

    def unreadable(exc):
        raise UsageError(f"EXPORT: cannot read {exc.filename}: {exc.strerror or exc}")

    for dirpath, dirnames, filenames in os.walk(path, onerror=unreadable):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for filename in sorted(filenames):
            full = os.path.join(dirpath, filename)
            if filename.startswith(".") or not os.path.isfile(full):
                continue
            files.append((os.path.relpath(full, path).replace(os.sep, "/"), full))
    if not files:
        raise UsageError(f"EXPORT {path!r}: the folder holds no file to upload")
    return files


class Run:
    """One import run on the server (``bss.import.run``)."""

    def __init__(self, client, run_id, progress):
        self.client = client
        self.id = run_id
        self.progress = progress
        self.name = f"run {run_id}"
        self.state = None
        self.error_message = None

    @classmethod
    def create(cls, client, progress, values):
        try:
            run_id = client.call(RUN_MODEL, "create", [values])
        except xmlrpc.client.Fault as exc:
            raise RunFailed(f"cannot create an import run: {fault_message(exc)}")
        if isinstance(run_id, list):  # create may answer [id] for a list of values
            run_id = run_id[0]
        run = cls(client, run_id, progress)
        run.refresh()
        progress(f"run {run.name} created (id {run.id})")
        return run

    def call(self, method, *args, timeout=None):
        return self.client.call(RUN_MODEL, method, [[self.id], *args], timeout=timeout)

    def refresh(self):
        rows = self.client.call(RUN_MODEL, "read", [[self.id], ["name", "state", "error_message"]])
        if not rows:
            raise RunFailed(f"run {self.id} is gone from the server")
        self.name = rows[0].get("name") or self.name
        self.state = rows[0].get("state")
        self.error_message = rows[0].get("error_message") or None

    def fail(self, fallback):
        """Raise the run's error, as the server words it when it recorded one."""
        with contextlib.suppress(CliError, xmlrpc.client.Fault):
            self.refresh()
        raise RunFailed(f"{self.name}: {self.error_message or fallback}")

    def upload(self, name, path, chunk_size):
        """Send one file in chunks of ``chunk_size`` bytes, at least one call even when empty."""
        offset = 0
        try:
            with open(path, "rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                self.progress(f"uploading {name} ({human_size(size)})")
                while True:
                    fh.seek(offset)
                    data = fh.read(chunk_size)
                    offset = self._send_chunk(name, offset, data, size)
                    if offset >= size:
                        break
                    if size > chunk_size:
                        self.progress(f"  {name}: {human_size(offset)} of {human_size(size)}")
        except OSError as exc:
            # Server calls turn their socket errors into ConnectionFailed: this one is local.
            raise UsageError(f"cannot read {path}: {exc.strerror or exc}")
        return offset

    def _send_chunk(self, name, offset, data, size):
        """Send one chunk; returns the offset of the next one. A call that timed out
        may have arrived: its retry is refused with the offset the server expects,
        and the upload resumes from there."""
        payload = base64.b64encode(data).decode("ascii")
        timeout = min(self.client.timeout, UPLOAD_TIMEOUT)
        last_error = None
        for attempt in range(UPLOAD_ATTEMPTS):
            try:
                new_size = self.call("upload_chunk", name, offset, payload, timeout=timeout)
            except ConnectionFailed as exc:
                last_error = exc
                if attempt + 1 < UPLOAD_ATTEMPTS:
                    self.progress(f"  {name}: offset {offset}: {exc}; retrying")
                    time.sleep(min(2**attempt, 10))
                continue
            except xmlrpc.client.Fault as exc:
                message = fault_message(exc)
                # The last number so worded: a file name may contain the words too.
                resume = [int(n) for n in EXPECTED_OFFSET_RE.findall(message)]
                if attempt and resume and 0 <= resume[-1] <= size:
                    self.progress(f"  {name}: the server holds {resume[-1]} bytes; resuming there")
                    return resume[-1]
                raise RunFailed(f"{self.name}: upload of {name} refused: {message}")
            expected = offset + len(data)
            if not isinstance(new_size, int) or isinstance(new_size, bool) or new_size != expected:
                raise RunFailed(
                    f"{self.name}: upload of {name}: the server holds {new_size!r} bytes, expected {expected}"
                )
            return new_size
        raise last_error

    def step(self, method, label):
        self.progress(f"{label}...")
        try:
            with StepPoller(self, label):
                ok = self.call(method)
        except xmlrpc.client.Fault as exc:
            self.fail(fault_message(exc))
        except ConnectionFailed as exc:
            raise ConnectionFailed(f"{self.name}: {label}: {exc}")
        self.refresh()
        if ok is False or self.state == "error":
            self.fail(f"{method} failed")


class StepPoller:
    """While a long step runs (staging a million rows), print the progress the server commits
    on the side (``get_progress``: done / total and a message) every ``progress.interval`` seconds.

    It polls on its own connection (an XML-RPC proxy is not shared between threads) and
    never fails the step: the progress is informative.
    """

    def __init__(self, run, label):
        self.run = run
        self.label = label
        self.stop = threading.Event()
        self.thread = None

    def __enter__(self):
        if not self.run.progress.quiet and self.run.progress.interval > 0:
            self.thread = threading.Thread(target=self._poll, daemon=True)
            self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout=5)

    def _poll(self):
        main = self.run.client
        client = OdooClient(main.url, main.db, main.user, main.password, timeout=main.timeout)
        client.uid = main.uid
        started, last = time.monotonic(), None
        while not self.stop.wait(self.run.progress.interval):
            try:
                info = client.call(RUN_MODEL, "get_progress", [[self.run.id]])
            except (CliError, xmlrpc.client.Fault):
                continue
            if self.stop.is_set():
                return
            done, total = _int(info.get("done")), _int(info.get("total"))
            seen = (info.get("step"), done, total, info.get("message"))
            if not info.get("step") or seen == last:
                continue
            last = seen
            parts = [f"  {self.label}:"]
            if total:
                parts.append(f"{100 * done // total}%")
            if info.get("message"):
                parts.append(_text(info.get("message")))
            parts.append(f"({time.monotonic() - started:.0f} s)")
            self.run.progress(" ".join(parts))


# --- output -------------------------------------------------------------------------------------------------


def _text(value):
    """A server value as a display string: XML-RPC's False placeholder is empty."""
    if value is False or value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value)
    # One line per cell: a multi-line text (evidence, a description) keeps its lines apart with "; ".
    return "; ".join(" ".join(line.split()) for line in str(value).splitlines() if line.strip())


def _str_or_none(value):
    return None if value is False or value is None else str(value)


def _int(value):
    return 0 if value is False or value is None else int(value)


def _float(value):
    return 0.0 if value is False or value is None else float(value)


def summary_json(summary):
    """``get_profile_summary`` with XML-RPC's False turned back into null, in the documented shape."""
    files = summary.get("files") or {}
    objects = summary.get("objects") or {}
    findings = summary.get("findings") or {}
    mapping = summary.get("mapping") or {}
    return {
        "run_id": _int(summary.get("run_id")),
        "files": {
            name: {
                "object": _str_or_none(info.get("object")),
                "encoding": _str_or_none(info.get("encoding")),
                "rows": _int(info.get("rows")),
            }
            for name, info in files.items()
        },
        "objects": {obj: {"source_rows": _int(info.get("source_rows"))} for obj, info in objects.items()},
        "findings": {kind: _int(count) for kind, count in findings.items()},
        "mapping": {
            obj: {
                column: {
                    "field": _str_or_none(target.get("field")),
                    "confidence": _float(target.get("confidence")),
                }
                for column, target in (columns or {}).items()
            }
            for obj, columns in mapping.items()
        },
    }


def migration_json(summary):
    """``get_migration_summary`` in the documented shape (counts as integers, totals as strings)."""
    return {
        "run_id": _int(summary.get("run_id")),
        "state": _text(summary.get("state")),
        "objects": {
            obj: {name: _int(counts.get(name)) for name in COUNTS}
            for obj, counts in (summary.get("objects") or {}).items()
        },
        "findings": {kind: _int(count) for kind, count in (summary.get("findings") or {}).items()},
        "owner_mapping": {name: _int(count) for name, count in (summary.get("owner_mapping") or {}).items()},
        "control_totals": {
            name: {"source": _text(pair.get("source")), "odoo": _text(pair.get("odoo"))}
            for name, pair in (summary.get("control_totals") or {}).items()
        },
        "mismatches": _int(summary.get("mismatches")),
    }


def quarantine_json(summary):
    """``get_quarantine_summary`` in the documented shape."""
    return {
        "run_id": _int(summary.get("run_id")),
        "open": _int(summary.get("open")),
        "by_object": {
            obj: {_text(reason): _int(count) for reason, count in (reasons or {}).items()}
            for obj, reasons in (summary.get("by_object") or {}).items()
        },
    }


def status_text(summary, phases):
    """The phases as a table, then the control totals that differ and the verdict."""
    headers = ["Object", "State", "Source rows", "Collapsed", "Quarantined", "Created", "Updated"]
    headers += ["Unchanged", "Balanced", "Chunks"]
    rows, stopped = [], []
    for obj, counts in summary["objects"].items():
        phase = phases.get(obj) or {}
        balanced = phase.get("balanced")
        if balanced is None:
            balanced = counts["source_rows"] == sum(counts[name] for name in COUNTS[1:])
        total = _int(phase.get("chunks_total"))
        chunks = f"{_int(phase.get('chunks_done'))}/{total}" if total else "-"
        state = _text(phase.get("state"))
        rows.append([obj, state, *(counts[name] for name in COUNTS), "yes" if balanced else "NO", chunks])
        if state in ("running", "error"):
            pending = total - _int(phase.get("chunks_done")) - _int(phase.get("chunks_failed"))
            error = _text(phase.get("error_message")) or "-"
            stopped.append([obj, state, pending, _int(phase.get("chunks_failed")), error])
    out = [f"Run {summary['run_id']} ({summary['state']})"]
    out += table_section(None, headers, rows, numeric=range(2, 8), empty="No phase has run yet.")
    out += table_section(
        "Phases not finished (`resume` goes on from their chunks done):",
        ["Object", "State", "Chunks pending", "Chunks failed", "Last error"],
        stopped,
    )
    differ = [
        [name, pair["source"], pair["odoo"]]
        for name, pair in summary["control_totals"].items()
        if pair["source"] != pair["odoo"]
    ]
    out += table_section("Control totals that differ:", ["Total", "Source", "Odoo"], differ)
    mismatches = summary["mismatches"]
    out += ["", f"{mismatches} mismatch(es) not acknowledged" if mismatches else "Reconciled: no mismatch."]
    return "\n".join(out) + "\n"


def quarantine_text(summary):
    rows = [
        [obj, count, reason or "(no reason)"]
        for obj, reasons in summary["by_object"].items()
        for reason, count in sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
    ]
    out = [f"Run {summary['run_id']}: {summary['open']} open quarantined row(s)"]
    out += table_section(None, ["Object", "Rows", "Reason"], rows, numeric=(1,))
    return "\n".join(out) + "\n"


def table_section(title, headers, rows, numeric=(), empty=None):
    """The lines of one block of a readable output: a blank line, the title (if any), then
    the table; without rows, ``empty`` in place of the table, or nothing when ``empty`` is None."""
    if not rows and empty is None:
        return []
    out = [""] if title is None else ["", title]
    out.append(format_table(headers, rows, numeric) if rows else empty)
    return out


def format_table(headers, rows, numeric=()):
    """Aligned text table; columns whose index is in ``numeric`` are right-aligned."""
    cells = [[_text(c) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(row):
        parts = (
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i]) for i, cell in enumerate(row)
        )
        return "  ".join(parts).rstrip()

    # The last column is free text as long as it needs: underline its title only.
    rule = ["-" * w for w in widths[:-1]] + ["-" * len(headers[-1])]
    return "\n".join([line(headers), line(rule), *(line(r) for r in cells)])


def _delimiter(value):
    return {"\t": "TAB", " ": "SPACE", "": ""}.get(value, value) if isinstance(value, str) else _text(value)


def report_text(report):
    """The readable profile report (``get_profile_report``)."""
    out = [f"Run {_text(report.get('name'))}: {_text(report.get('state'))}"]
    files = report.get("files") or []
    out += table_section(
        f"Detected files ({len(files)})",
        ["FILE", "OBJECT", "TABLE", "ENCODING", "DELIM", "HEADER", "DATES", "DECIMAL", "ROWS", "DROPPED"],
        [
            [
                f.get("name"),
                f.get("object"),
                f.get("table"),
                f.get("encoding"),
                _delimiter(f.get("delimiter")),
                f.get("header_row"),
                f.get("date_format"),
                f.get("decimal_format"),
                _int(f.get("rows")),
                f.get("dropped_columns") or "",
            ]
            for f in files
        ],
        numeric={5, 8},
        empty="none",
    )
    objects = report.get("objects") or {}
    out += table_section(
        "Rows per object",
        ["OBJECT", "SOURCE ROWS"],
        [[obj, _int(info.get("source_rows"))] for obj, info in objects.items()],
        numeric={1},
        empty="none",
    )
    findings = report.get("findings") or []
    out += table_section(
        f"Findings ({len(findings)})",
        ["OBJECT", "TABLE", "KIND", "COUNT", "DESCRIPTION"],
        [
            [f.get(k) for k in ("object", "table", "kind")] + [_int(f.get("count")), f.get("description")]
            for f in findings
        ],
        numeric={3},
        empty="none",
    )
    mapping = report.get("mapping") or []
    out += table_section(
        f"Proposed mapping ({len(mapping)} columns)",
        ["OBJECT", "TABLE", "FILE", "COLUMN", "ACTION", "FIELD", "TYPE", "CONFIDENCE", "EVIDENCE"],
        [
            [
                m.get("object"),
                m.get("table"),
                m.get("file"),
                m.get("column"),
                m.get("action"),
                m.get("field") or "-",
                m.get("type"),
                f"{_float(m.get('confidence')):.2f}",
                m.get("evidence"),
            ]
            for m in mapping
        ],
        numeric={7},
        empty="none",
    )
    return "\n".join(out) + "\n"


# --- sub-commands -------------------------------------------------------------------------------------------


def _profiled_run(args, client, progress, values=None):
    """Create a run for EXPORT (uploaded, or read in place with --server-path) with ``values``,
    then detect, stage and profile it."""
    chunk_size = max(1, int(args.chunk_size * MIB))
    values = dict(values or {})
    if args.server_path:
        run = Run.create(client, progress, {**values, "server_path": args.export})
    else:
        files = export_files(args.export)
        run = Run.create(client, progress, values)
        for name, path in files:
            run.upload(name, path, chunk_size)
    for method, label in STEPS:
        run.step(method, label)
    return run


def cmd_profile(args, client, progress):
    run = _profiled_run(args, client, progress)
    try:
        if args.json:
            _print_json(summary_json(run.call("get_profile_summary")))
        else:
            sys.stdout.write(report_text(run.call("get_profile_report")))
    except xmlrpc.client.Fault as exc:
        run.fail(fault_message(exc))
    progress(f"run {run.name}: {run.state}")
    return 0


def _template_id(client, name):
    """The id of the mapping template named ``name`` (of the user's companies)."""
    try:
        rows = client.call(TEMPLATE_MODEL, "search_read", [[("name", "=", name)]], {"fields": ["id"]})
    except xmlrpc.client.Fault as exc:
        raise RunFailed(f"cannot read the mapping templates: {fault_message(exc)}")
    if not rows:
        raise UsageError(f"no mapping template named {name!r}")
    if len(rows) > 1:
        raise UsageError(f"{len(rows)} mapping templates are named {name!r} (one per company): log in to one")
    return rows[0]["id"]


def _rate(rows, seconds):
    return f"{rows / seconds:.0f} rows/s" if seconds > 0 else "- rows/s"


#: Seconds a worker call writes chunks before it returns: well within a web worker's time limits
#: (odoo-bin --limit-time-cpu, 60 s by default; a chunk takes a few seconds).
WORK_SECONDS = 20


def _worker_client(client):
    """A client on a connection of its own (an XML-RPC proxy is not shared between threads)."""
    other = OdooClient(client.url, client.db, client.user, client.password, timeout=client.timeout)
    other.uid = client.uid
    return other


def _work(run, obj, workers):
    """Write the pending chunks of phase ``obj`` with ``workers`` concurrent calls; return the first
    error met (None when every call ended because nothing was left to write)."""
    errors = []

    def worker(client):
        while not errors:
            try:
                result = client.call(RUN_MODEL, "action_migrate_work", [[run.id], obj, WORK_SECONDS])
            except (xmlrpc.client.Fault, CliError) as exc:
                errors.append(exc)
                return
            # Nothing written: no chunk is left that this worker could take (or another holds the phase).
            if not _int(result.get("written")) or not _int(result.get("chunks_pending")):
                return

    threads = [
        threading.Thread(target=worker, args=(_worker_client(run.client),), daemon=True)
        for _n in range(workers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors[0] if errors else None


def _migrate_phase(run, obj, workers, chunk_size):
    """Start (or resume) one phase, write its chunks with ``workers`` concurrent calls, settle it."""
    args = [obj, chunk_size] if chunk_size else [obj]
    started = run.call("action_migrate_start", *args)
    if not started:
        return {}
    if started.get("state") != "running":
        return started
    for _attempt in range(3):
        error = _work(run, obj, workers)
        if error is not None:
            raise error
        summary = run.call("action_migrate_settle", obj)
        if summary.get("state") != "running":
            return summary
    # Still chunks pending after three rounds of workers that found nothing to take: another
    # client is writing them. The phase stays running; resume it once that client is done.
    return summary


def _migrate_phases(run, progress, workers=1, chunk_size=None, resume=False):
    """Migrate the run phase by phase (progress shows between them), each phase's chunks written by
    ``workers`` concurrent calls; with ``resume``, phases already done are left as they are.
    Returns the phase records' problems {object: message} of phases that did not finish."""
    try:
        plan = run.call("get_migration_plan")
        done_before = {}
        if resume:
            done_before = {
                o: p for o, p in _phase_rows(run.client, run.id).items() if p.get("state") == "done"
            }
    except xmlrpc.client.Fault as exc:
        run.fail(fault_message(exc))
    total_rows = sum(_int(p.get("rows")) for p in plan)
    done_rows, started, problems = 0, time.monotonic(), {}
    for number, item in enumerate(plan, start=1):
        obj, rows = item["object"], _int(item.get("rows"))
        prefix = f"[{number}/{len(plan)}] {obj}"
        if obj in done_before:
            done_rows += rows
            progress(f"{prefix}: done before, left as it is")
            continue
        progress(f"{prefix}: migrating {rows} rows with {workers} worker(s)...")
        begin = time.monotonic()
        try:
            with StepPoller(run, obj):
                counts = _migrate_phase(run, obj, workers, chunk_size)
        except xmlrpc.client.Fault as exc:
            run.fail(f"migrating {obj}: {fault_message(exc)}")
        except ConnectionFailed as exc:
            raise ConnectionFailed(f"{run.name}: migrating {obj}: {exc}")
        elapsed = time.monotonic() - begin
        processed = _int(counts.get("source_rows"))
        done_rows += rows
        chunks = f"{_int(counts.get('chunks_done'))}/{_int(counts.get('chunks_total'))} chunks"
        progress(
            f"{prefix}: {processed}/{rows} rows in {elapsed:.1f} s ({_rate(processed, elapsed)}), {chunks}: "
            + ", ".join(f"{_int(counts.get(name))} {name.replace('_', ' ')}" for name in COUNTS[1:])
            + f"; {_text(counts.get('state'))}"
            + f" | run {done_rows}/{total_rows} rows, {_rate(done_rows, time.monotonic() - started)}"
        )
        if counts.get("state") != "done":
            message = _text(counts.get("error_message"))
            problems[obj] = (
                f"{_text(counts.get('state'))}: {message}" if message else _text(counts.get("state"))
            )
    for obj, message in problems.items():
        progress(f"phase {obj} {message}")
    try:
        run.call("action_migrate_finish")
    except xmlrpc.client.Fault as exc:
        run.fail(fault_message(exc))
    return problems


def _migrate(args, run, progress):
    """Migrate the confirmed run: in this client's calls (--workers), or with --queue by the server's
    queue jobs."""
    if getattr(args, "queue", False):
        if args.workers > 1:
            raise UsageError(
                "--queue and --workers: the job runner's workers write the chunks, not this client"
            )
        return _migrate_queued(run, progress, args.keys_per_chunk)
    return _migrate_phases(run, progress, args.workers, args.keys_per_chunk)


#: Seconds a queued migration may wait with every job pending before the client says why it may be.
QUEUE_IDLE_HINT = 60


def _migrate_queued(run, progress, chunk_size=None):
    """Queue the run's migration (addon bss_import_queue: one job per chunk, written by the job runner's
    workers) and wait until the run is migrated, printing its progress; a failed job stops the wait
    with the job's error."""
    kwargs = {"chunk_size": chunk_size} if chunk_size else {}
    try:
        queued = run.client.call(RUN_MODEL, "action_migrate_queued", [[run.id]], kwargs)
    except xmlrpc.client.Fault as exc:
        run.fail(fault_message(exc))
    progress(
        f"migration of {run.name} queued on the job channel {_text(queued.get('channel'))} "
        f"({_int(queued.get('chunk_size'))} keys per chunk); the job runner's workers write it..."
    )
    started, last, hinted = time.monotonic(), None, False
    interval = max(1.0, run.progress.interval or 5.0)
    while True:
        try:
            run.refresh()
            if run.state == "migrated":
                return {}
            jobs = run.call("get_queued_jobs")
            info = run.call("get_progress")
        except xmlrpc.client.Fault as exc:
            run.fail(fault_message(exc))
        failed = jobs.get("failed") or []
        if failed:
            errors = "; ".join(f"{_text(j.get('name'))}: {_text(j.get('error'))}" for j in failed)
            raise RunFailed(
                f"{run.name}: {len(failed)} queue job(s) failed ({errors}); the run stays migrating: "
                "requeue the jobs (Job Queue → Jobs) or resume the run"
            )
        states = jobs.get("states") or {}
        elapsed = time.monotonic() - started
        if not hinted and elapsed > QUEUE_IDLE_HINT and set(states) <= {"pending", "wait_dependencies"}:
            hinted = True
            progress(
                "  no job has started yet: is queue_job loaded server-wide (odoo --load base,web,queue_job) "
                "on a server with workers, and the channel root.bss_import given a capacity?"
            )
        message = _text(info.get("message")) if info.get("step") == "migrate" else ""
        if message and message != last:
            last = message
            progress(f"  {message} ({elapsed:.0f} s)")
        time.sleep(interval)


#: Header spellings of the owner mapping file's columns (lower case).
OWNER_MAP_COLUMNS = {
    "legacy_id": ("legacy_id", "owner_id", "legacy_owner", "owner"),
    "user": ("user", "login", "email", "odoo_user"),
    "team": ("team", "sales_team", "odoo_team"),
}


def read_owner_map(path):
    """[(row number, legacy id, user login or e-mail, team name)] of the owner mapping CSV ``path``.

    The header names the columns (``legacy_id``, ``user``, ``team``; ``owner_id``, ``login``,
    ``sales_team``... also read); a row maps one legacy owner id to a user, a team or both. Raises
    UsageError naming the file, the row and the field of the first defect.
    """
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            sample = fh.read(65536)
            fh.seek(0)
            try:
                dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
            except csv.Error:
                dialect = csv.excel
            rows = list(csv.reader(fh, dialect))
    except OSError as exc:
        raise UsageError(f"--owner-map {path}: cannot read it: {exc.strerror or exc}")
    except UnicodeDecodeError as exc:
        raise UsageError(f"--owner-map {path}: not UTF-8 text ({exc.reason} at byte {exc.start})")
    if not rows:
        raise UsageError(f"--owner-map {path}: the file is empty (a header legacy_id,user,team is expected)")
    header = [cell.strip().lower() for cell in rows[0]]
    index = {}
    for name, spellings in OWNER_MAP_COLUMNS.items():
        found = [n for n, cell in enumerate(header) if cell in spellings]
        if found:
            index[name] = found[0]
    if "legacy_id" not in index or not ({"user", "team"} & set(index)):
        raise UsageError(
            f"--owner-map {path}, row 1: the header must name legacy_id and user and/or team "
            f"(found: {', '.join(header) or 'nothing'})"
        )
    entries, seen = [], {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue

        def cell(name, row=row):
            pos = index.get(name)
            return row[pos].strip() if pos is not None and pos < len(row) else ""

        key = cell("legacy_id")
        if not key:
            raise UsageError(f"--owner-map {path}, row {number}, field legacy_id: empty")
        if key.upper() in seen:
            raise UsageError(
                f"--owner-map {path}, row {number}, field legacy_id: {key!r} is already mapped on row "
                f"{seen[key.upper()]}"
            )
        seen[key.upper()] = number
        entries.append((number, key, cell("user"), cell("team")))
    return entries


def cmd_run(args, client, progress):
    # Before anything is created: a cohort or an owner mapping that cannot be read is a usage error.
    cohort = parse_cohort(args.cohort) if args.cohort else None
    owner_map = read_owner_map(args.owner_map) if args.owner_map else None
    template_id = _template_id(client, args.template) if args.template else None
    run = _profiled_run(args, client, progress)
    if owner_map is not None:
        progress(f"applying the owner mapping {args.owner_map}...")
        try:
            changed = run.call("action_set_owner_mapping", owner_map, os.path.basename(args.owner_map))
        except xmlrpc.client.Fault as exc:
            run.fail(fault_message(exc))
        progress(f"  {_int(changed)} owner mapping line(s) set")
    if template_id:
        progress(f"applying the mapping template {args.template!r}...")
        try:
            changed = run.call("action_apply_template", template_id)
        except xmlrpc.client.Fault as exc:
            run.fail(fault_message(exc))
        progress(f"  {_int(changed)} mapping line(s) changed by the template")
    else:
        progress("accepting the suggested mapping")
    run.step("action_confirm_mapping", "confirming the mapping")
    if cohort:
        return _migrate_cohort(args, client, run, progress, cohort)
    _migrate(args, run, progress)
    return _migration_result(args, client, run, progress)


# --- cohorts ------------------------------------------------------------------------------------------------

#: Cohort kinds as the command line spells them: the server's kind.
COHORT_KINDS = {
    "accounts": "accounts",
    "region": "region",
    "service-type": "service_type",
    "plan": "plan",
    "percent": "percent",
    "rest": "rest",
}


def parse_cohort(spec):
    """(kind, value, seed) of a cohort SPEC: ``accounts:BAN1,BAN2`` or ``accounts:@FILE`` (one account
    number per line), ``region:COLUMN=VALUE``, ``service-type:VALUE``, ``plan:CODE``,
    ``percent:P[:SEED]`` or ``rest``. Raises UsageError naming what is wrong."""
    name, _sep, value = spec.partition(":")
    kind = COHORT_KINDS.get(name.strip().lower())
    if kind is None:
        raise UsageError(f"--cohort {spec!r}: unknown kind {name!r} (kinds: {', '.join(COHORT_KINDS)})")
    value, seed = value.strip(), 0
    if kind == "rest":
        if value:
            raise UsageError(f"--cohort {spec!r}: rest takes no value")
        return kind, None, 0
    if not value:
        raise UsageError(f"--cohort {spec!r}: {name} needs a value ({name}:VALUE)")
    if kind == "accounts" and value.startswith("@"):
        path = value[1:]
        try:
            with open(path, encoding="utf-8-sig") as fh:
                numbers = [part.strip() for line in fh for part in line.split(",") if part.strip()]
        except OSError as exc:
            raise UsageError(f"--cohort {spec!r}: cannot read {path}: {exc.strerror or exc}")
        if not numbers:
            raise UsageError(f"--cohort {spec!r}: {path} lists no billing account")
        value = ",".join(numbers)
    if kind == "percent":
        share, _sep, seed_text = value.partition(":")
        try:
            number = float(share)
            seed = int(seed_text) if seed_text else 0
        except ValueError:
            raise UsageError(f"--cohort {spec!r}: percent:P[:SEED] takes numbers (e.g. percent:10:42)")
        if not 0 < number <= 100:
            raise UsageError(f"--cohort {spec!r}: the percentage must be more than 0 and at most 100")
        value = share
    return kind, value, seed


def _migrate_cohort(args, client, run, progress, spec):
    """Create the next cohort of ``run`` from ``spec`` (:func:`parse_cohort`) and migrate it; print its
    reconciliation with the cohort report (JSON key "cohort")."""
    kind, value, seed = spec
    try:
        cohort_id = run.call("action_new_cohort", kind, value or False, seed, args.cohort_name or False)
    except xmlrpc.client.Fault as exc:
        run.fail(fault_message(exc))
    cohort = Run(client, cohort_id, progress)
    cohort.refresh()
    progress(f"cohort {cohort.name} (id {cohort.id}) of run {run.name} created")
    _migrate(args, cohort, progress)
    report = cohorts_json(_run_call(client, run.id, "get_cohort_report"))
    entry = next((c for c in report["cohorts"] if c["id"] == cohort.id), {})
    info = {
        **{k: v for k, v in entry.items() if k != "phases"},
        "run_id": report["run_id"],
        "legacy_owned": report["legacy_owned"],
    }
    return _migration_result(args, client, cohort, progress, cohort=info)


def cmd_cohort(args, client, progress):
    """The next cohort of run RUN_ID, created from --cohort and migrated."""
    spec = parse_cohort(args.cohort)
    run = Run(client, args.run_id, progress)
    try:
        run.refresh()
    except xmlrpc.client.Fault as exc:
        raise RunFailed(f"run {args.run_id}: {fault_message(exc)}")
    return _migrate_cohort(args, client, run, progress, spec)


def cmd_cohorts(args, client, progress):
    """Counts per cohort and for the run overall, and the customers the legacy system still owns."""
    report = cohorts_json(_run_call(client, args.run_id, "get_cohort_report"))
    if args.json:
        _print_json(report)
    else:
        sys.stdout.write(cohorts_text(report))
    return 0


def cohorts_json(report):
    """``get_cohort_report`` in the documented shape."""
    members = ("billing_accounts", "subscribers", "orders", "invoices")
    return {
        "run_id": _int(report.get("run_id")),
        "cohorts": [
            {
                "id": _int(c.get("id")),
                "name": _text(c.get("name")),
                "kind": _text(c.get("kind")),
                "value": _text(c.get("value")),
                "seed": _int(c.get("seed")),
                "state": _text(c.get("state")),
                "date_migrated": _str_or_none(c.get("date_migrated")),
                "members": {obj: _int((c.get("members") or {}).get(obj)) for obj in members},
                "phases": {
                    _text(p.get("object")): {name: _int(p.get(name)) for name in COUNTS}
                    for p in c.get("phases") or []
                },
            }
            for c in report.get("cohorts") or []
        ],
        "overall": {
            obj: {
                **{name: _int(counts.get(name)) for name in COUNTS[:1] + COUNTS[2:]},
                "balanced": bool(counts.get("balanced")),
            }
            for obj, counts in (report.get("overall") or {}).items()
        },
        "legacy_owned": {
            obj: _int((report.get("legacy_owned") or {}).get(obj))
            for obj in ("billing_accounts", "subscribers")
        },
    }


def cohorts_text(report):
    rows = [
        [
            c["name"],
            c["kind"]
            + (f" {c['value']}" if c["value"] else "")
            + (f" (seed {c['seed']})" if c["seed"] else ""),
            c["state"],
            str(c["members"]["billing_accounts"]),
            str(c["members"]["subscribers"]),
            c["date_migrated"] or "-",
        ]
        for c in report["cohorts"]
    ]
    lines = table_section(
        f"Cohorts of run {report['run_id']}",
        ["cohort", "selection", "state", "accounts", "subscribers", "migrated on"],
        rows,
        numeric={3, 4},
        empty="no cohort",
    )
    overall = [
        [
            obj,
            *(
                str(counts[name])
                for name in ("source_rows", "created", "updated", "unchanged", "quarantined")
            ),
        ]
        + ["yes" if counts["balanced"] else "NO"]
        for obj, counts in report["overall"].items()
    ]
    lines += table_section(
        "Migrated cohorts, overall",
        ["object", "source rows", "created", "updated", "unchanged", "quarantined", "balanced"],
        overall,
        numeric=range(1, 6),
        empty="no cohort migrated",
    )
    legacy = report["legacy_owned"]
    lines.append(
        f"\nStill on the legacy system: {legacy['billing_accounts']} billing account(s), "
        f"{legacy['subscribers']} subscriber(s)"
    )
    return "\n".join(lines) + "\n"


def _migration_result(args, client, run, progress, delta=None, cohort=None):
    """Print the run's reconciliation (and ``delta``: a delta pass's report; ``cohort``: the cohort
    migrated); exit 1 on mismatches."""
    summary = migration_json(_run_call(client, run.id, "get_migration_summary"))
    if delta is not None:
        summary["delta"] = delta
    if cohort is not None:
        summary["cohort"] = cohort
    if args.json:
        _print_json(summary)
    else:
        sys.stdout.write(status_text(summary, _phase_rows(client, run.id)))
        if delta is not None:
            sys.stdout.write(delta_text(delta))
        if cohort is not None:
            legacy = cohort["legacy_owned"]
            sys.stdout.write(
                f"\nCohort {cohort.get('name')} of run {cohort['run_id']}: "
                f"{cohort.get('members', {}).get('billing_accounts', 0)} billing account(s), "
                f"{cohort.get('members', {}).get('subscribers', 0)} subscriber(s); "
                f"still on the legacy system: {legacy['billing_accounts']} billing account(s), "
                f"{legacy['subscribers']} subscriber(s)\n"
            )
    progress(f"run {run.name} (id {run.id}): {summary['state']}; stopped before the OCS cutover")
    return 1 if summary["mismatches"] else 0


def cmd_delta(args, client, progress):
    """A delta pass of run RUN_ID: a later export of the same source, applied to what the run
    migrated with the mapping of its last pass."""
    if args.changes and args.changes != "-":
        # Before anything is created: a delta pass applied whose change list cannot be written is not
        # what the operator asked for.
        with _output(args.changes, "w"):
            pass
    values = {"delta_of_id": args.run_id, "archive_vanished": bool(args.archive_vanished)}
    run = _profiled_run(args, client, progress, values)
    progress("taking the mapping of the previous pass")
    run.step("action_confirm_mapping", "confirming the mapping")
    _migrate(args, run, progress)
    delta = delta_json(_run_call(client, run.id, "get_delta_report"))
    if args.changes:
        count = write_changes(client, run.id, args.changes)
        progress(f"{count} change(s) written to {args.changes}")
    return _migration_result(args, client, run, progress, delta)


#: What a rollback reports per object (the server's get_rollback_report).
ROLLBACK_COUNTS = ("deleted", "reversed", "archived", "kept", "restored")


def cmd_rollback(args, client, progress):
    """Roll run RUN_ID back (Migration Manager): what its passes wrote, undone; resumes a rollback
    that stopped, and changes nothing on a run already rolled back. With --cohort, only that cohort."""
    run_id = _cohort_id(client, args.run_id, args.cohort) if args.cohort else args.run_id
    run = Run(client, run_id, progress)
    try:
        run.refresh()
    except xmlrpc.client.Fault as exc:
        raise RunFailed(f"run {args.run_id}: {fault_message(exc)}")
    progress(f"rolling back run {run.name} (state {run.state})...")
    try:
        report = rollback_json(run.call("action_rollback"))
    except xmlrpc.client.Fault as exc:
        raise RunFailed(f"{run.name}: {fault_message(exc)}")
    if args.json:
        _print_json(report)
    else:
        sys.stdout.write(rollback_text(report))
    progress(f"run {run.name} (id {run.id}): {report['state']}")
    return 0 if report["state"] == "rolled_back" else 1


def _cohort_id(client, run_id, name):
    """The id of run ``run_id``'s cohort ``name``; the refusal names the run's cohorts."""
    try:
        rows = client.call(
            RUN_MODEL,
            "search_read",
            [[("cohort_of_id", "=", run_id)]],
            {"fields": ["cohort_name"], "order": "id"},
        )
    except xmlrpc.client.Fault as exc:
        raise RunFailed(f"run {run_id}: {fault_message(exc)}")
    for row in rows:
        if row.get("cohort_name") == name:
            return row["id"]
    names = ", ".join(_text(row.get("cohort_name")) for row in rows) or "none"
    raise RunFailed(f"run {run_id} has no cohort {name!r} (cohorts: {names})")


def rollback_json(report):
    """``get_rollback_report`` in the documented shape."""
    return {
        "run_id": _int(report.get("run_id")),
        "state": _text(report.get("state")),
        "passes": [_int(p) for p in report.get("passes") or []],
        "rollback_date": _str_or_none(report.get("rollback_date")),
        "objects": {
            obj: {name: _int(counts.get(name)) for name in ROLLBACK_COUNTS}
            for obj, counts in (report.get("objects") or {}).items()
        },
    }


def rollback_text(report):
    rows = [
        [obj, *(str(counts[name]) for name in ROLLBACK_COUNTS)] for obj, counts in report["objects"].items()
    ]
    passes = ", ".join(map(str, report["passes"]))
    lines = table_section(
        f"Rollback of run {report['run_id']} (passes {passes}): {report['state']}",
        ["object", *ROLLBACK_COUNTS],
        rows,
        numeric=range(1, len(ROLLBACK_COUNTS) + 1),
        empty="nothing to undo",
    )
    return "\n".join(lines) + "\n"


#: The columns of the change list (``delta --changes``): (heading, field of bss.import.change).
CHANGE_COLUMNS = (
    ("object", "object"),
    ("kind", "kind"),
    ("key", "source_key"),
    ("field", "field_name"),
    ("before", "old_text"),
    ("after", "new_text"),
    ("archived", "archived"),
    ("model", "res_model"),
    ("record_id", "res_id"),
)
#: Change rows read per call.
CHANGE_PAGE = 5000


def write_changes(client, run_id, path):
    """Write the change list of a delta pass as CSV to ``path`` (- for stdout); return its rows."""
    fields_ = [name for _heading, name in CHANGE_COLUMNS]
    count = 0
    with _output(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow([heading for heading, _name in CHANGE_COLUMNS])
        while True:
            try:
                rows = client.call(
                    CHANGE_MODEL,
                    "search_read",
                    [[("run_id", "=", run_id)]],
                    {"fields": fields_, "offset": count, "limit": CHANGE_PAGE, "order": "id"},
                )
            except xmlrpc.client.Fault as exc:
                raise RunFailed(f"run {run_id}: cannot read its changes: {fault_message(exc)}")
            for row in rows:
                writer.writerow([csv_cell(row.get(name)) for name in fields_])
            count += len(rows)
            if len(rows) < CHANGE_PAGE:
                return count


def csv_cell(value):
    """A value as a CSV cell a spreadsheet shows as text: a formula-like value is quoted with '."""
    if value is False or value is None:
        return ""
    if value is True:
        return "yes"
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@contextlib.contextmanager
def _output(path, mode, **kwargs):
    if path == "-":
        yield sys.stdout
        return
    try:
        with open(path, mode, **kwargs) as fh:
            yield fh
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}")


def delta_json(report):
    """``get_delta_report`` in the documented shape."""
    return {
        "delta_of": _int(report.get("delta_of")),
        "archive_vanished": bool(report.get("archive_vanished")),
        "objects": {
            obj: {name: _int(counts.get(name)) for name in DELTA_COUNTS}
            for obj, counts in (report.get("objects") or {}).items()
        },
        "changes": _int(report.get("changes")),
    }


def delta_text(delta):
    """The delta report as the readable output shows it: one row per object."""
    rows = [[obj, *(str(counts[name]) for name in DELTA_COUNTS)] for obj, counts in delta["objects"].items()]
    lines = table_section(
        f"Delta pass of run {delta['delta_of']} ({delta['changes']} changes"
        + (", vanished records archived)" if delta["archive_vanished"] else ", vanished records reported)"),
        ["object", *(name.replace("_", " ") for name in DELTA_COUNTS)],
        rows,
        numeric=range(1, len(DELTA_COUNTS) + 1),
        empty="no phase ran",
    )
    return "\n".join(lines) + "\n"


def cmd_resume(args, client, progress):
    """Go on with a run's migration where it stopped: phases done are left, the others resume from
    their chunks committed (a killed worker, a failed chunk) or start."""
    run = Run(client, args.run_id, progress)
    try:
        run.refresh()
    except xmlrpc.client.Fault as exc:
        raise RunFailed(f"run {args.run_id}: {fault_message(exc)}")
    _migrate_phases(run, progress, args.workers, resume=True)
    return _migration_result(args, client, run, progress)


def cmd_report(args, client, progress):
    answer = _run_call(client, args.run_id, "get_reconciliation_report", args.format)
    try:
        body = base64.b64decode(answer["data"], validate=True)
    except (KeyError, TypeError, ValueError):
        raise RunFailed(f"run {args.run_id}: the server's report is not a base64 file")
    output = args.output
    if output == "-":
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
        return 0
    partial = f"{output}.part"
    try:
        with open(partial, "wb") as fh:
            fh.write(body)
        os.replace(partial, output)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}")
    size = human_size(len(body))
    progress(f"run {args.run_id}: {args.format} reconciliation report written to {output} ({size})")
    return 0


def _run_call(client, run_id, method, *args):
    """A summary method of an existing run; a refusal (unknown run, no access) is one line, exit 1."""
    try:
        return client.call(RUN_MODEL, method, [[run_id], *args])
    except xmlrpc.client.Fault as exc:
        raise RunFailed(f"run {run_id}: {fault_message(exc)}")


def _print_json(data):
    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")


def _phase_rows(client, run_id):
    """{object: phase row} with the state and balance the status table shows."""
    try:
        rows = client.call(
            PHASE_MODEL,
            "search_read",
            [[("run_id", "=", run_id)]],
            {
                "fields": [
                    "object",
                    "state",
                    "balanced",
                    "chunks_total",
                    "chunks_done",
                    "chunks_failed",
                    "error_message",
                ]
            },
        )
    except xmlrpc.client.Fault as exc:
        raise RunFailed(f"run {run_id}: {fault_message(exc)}")
    return {row["object"]: row for row in rows}


def cmd_status(args, client, progress):
    summary = migration_json(_run_call(client, args.run_id, "get_migration_summary"))
    if args.json:
        _print_json(summary)
    else:
        sys.stdout.write(status_text(summary, _phase_rows(client, args.run_id)))
    return 1 if summary["mismatches"] else 0


def cmd_quarantine(args, client, progress):
    summary = quarantine_json(_run_call(client, args.run_id, "get_quarantine_summary"))
    if args.json:
        _print_json(summary)
    else:
        sys.stdout.write(quarantine_text(summary))
    return 0


def cmd_cutover(args, client, progress):
    """One step of run RUN_ID's OCS cutover; ``delta`` first stages EXPORT (the final OCS snapshot)
    as a delta pass of the run."""
    options = {}
    if args.step == "delta":
        if not args.export:
            raise UsageError("cutover delta needs EXPORT: the OCS snapshot taken at the freeze")
        run = _profiled_run(args, client, progress, {"delta_of_id": args.run_id})
        run.step("action_confirm_mapping", "confirming the mapping")
        options["delta_run_id"] = run.id
    elif args.export:
        raise UsageError(f"cutover {args.step} takes no EXPORT (only delta does)")
    if args.step == "freeze" and args.snapshot:
        options["snapshot"] = args.snapshot
    progress(f"cutover of run {args.run_id}: {args.step}...")
    try:
        summary = client.call(
            CUTOVER_MODEL, "run_step", [args.run_id, args.step], options, timeout=max(args.timeout, 3600)
        )
    except xmlrpc.client.Fault as exc:
        raise RunFailed(f"cutover of run {args.run_id}: {fault_message(exc)}")
    summary = cutover_json(summary)
    if args.json:
        _print_json(summary)
    else:
        sys.stdout.write(cutover_text(summary))
    progress(f"cutover of run {args.run_id}: {summary['state']}")
    return 1 if summary["mismatches"] else 0


def cmd_inventory(args, client, progress):
    """Build the inventories of run RUN_ID on the server and write their files into DIR."""
    output = args.output
    try:
        os.makedirs(output, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {output}: {exc.strerror or exc}")
    progress(f"run {args.run_id}: building the inventories...")
    try:
        built = client.call(
            RUN_MODEL, "action_build_inventories", [[args.run_id]], timeout=max(args.timeout, 3600)
        )
    except xmlrpc.client.Fault as exc:
        raise RunFailed(f"run {args.run_id}: {fault_message(exc)}")
    rows = {item["name"]: item.get("rows") for item in built}
    written = []
    for item in _run_call(client, args.run_id, "get_inventories"):
        name = os.path.basename(item["name"])
        path = os.path.join(output, name)
        partial = f"{path}.part"
        size = 0
        try:
            with open(partial, "wb") as fh:
                offset = 0
                while True:
                    piece = _run_call(client, args.run_id, "read_inventory", item["id"], offset)
                    try:
                        data = base64.b64decode(piece["data"], validate=True)
                    except (KeyError, TypeError, ValueError):
                        raise RunFailed(f"run {args.run_id}: the server's {name} is not a base64 file")
                    fh.write(data)
                    offset += len(data)
                    if piece.get("eof") or not data:
                        break
                size = offset
            os.replace(partial, path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(partial)
            raise UsageError(f"cannot write {path}: {exc.strerror or exc}")
        finally:
            with contextlib.suppress(OSError):
                os.unlink(partial)
        written.append({"file": path, "size": size, "rows": rows.get(item["name"])})
        progress(f"run {args.run_id}: {name} ({human_size(size)})")
    if args.json:
        _print_json({"run_id": args.run_id, "files": written})
    else:
        for entry in written:
            count = (
                "" if entry["rows"] is None or entry["file"].endswith(".html") else f", {entry['rows']} rows"
            )
            sys.stdout.write(f"{entry['file']} ({human_size(entry['size'])}{count})\n")
    return 0


def cutover_json(summary):
    """``run_step``'s summary in the documented shape (``by_currency`` only with several currencies)."""
    out = {
        "run_id": _int(summary.get("run_id")),
        "state": _text(summary.get("state")),
        "currency": _str_or_none(summary.get("currency")),
        "wallets": _int(summary.get("wallets")),
        "buckets": _int(summary.get("buckets")),
        **{name: _text(summary.get(name)) or "0" for name in CUTOVER_TOTALS},
        "mismatches": _int(summary.get("mismatches")),
    }
    by_currency = summary.get("by_currency")
    if by_currency:
        out["by_currency"] = {
            code: {name: _text(totals.get(name)) or "0" for name in CUTOVER_TOTALS}
            for code, totals in sorted(by_currency.items())
        }
    return out


def cutover_text(summary):
    lines = [
        f"run {summary['run_id']}: cutover {summary['state']}; {summary['wallets']} wallets, "
        f"{summary['buckets']} allowance buckets, {summary['mismatches']} open mismatches"
    ]
    currencies = summary.get("by_currency") or {summary["currency"] or "": summary}
    for code, totals in currencies.items():
        lines.append(
            f"  {code or '(no currency)'}: OCS {totals['source_total']} = Odoo {totals['odoo_total']} "
            f"+ quarantined {totals['quarantined_total']}"
        )
    return "\n".join(lines) + "\n"


def cmd_wallet_batch(args, client, progress):
    """Apply a CSV file of wallet operations: checked whole first (a malformed file posts nothing),
    then sent in batches of --chunk operations, each its own transaction, with progress."""
    filename = os.path.basename(args.file)
    try:
        with open(args.file, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise UsageError(f"{args.file}: {exc.strerror}")
    content = base64.b64encode(raw).decode()
    try:
        checked = client.call(BATCH_MODEL, "check_file", [content, filename])
    except xmlrpc.client.Fault as exc:
        text = str(exc.faultString or "").strip()
        lines = [line for line in text.splitlines() if line.strip()]
        if lines and lines[0].startswith("Traceback"):
            lines = lines[-1:]
        raise RunFailed("\n".join(lines) or "the server refused the file")
    items = checked["items"]
    reference = args.reference or checked["reference"]
    chunks = [items[start : start + args.chunk] for start in range(0, len(items), args.chunk)]
    progress(f"{filename}: {len(items)} operations, {len(chunks)} batch(es) of at most {args.chunk}")
    totals = {"items": 0, "posted": 0, "repeated": 0, "refused": 0}
    results, batches, entries = [], [], []
    started = time.monotonic()
    for number, chunk in enumerate(chunks, 1):
        batch_reference = reference if len(chunks) == 1 else f"{reference}#{number}/{len(chunks)}"
        kwargs = {"company_id": args.company_id} if args.company_id else {}
        kwargs["source"] = filename
        answer = client.call(BATCH_MODEL, "apply", [batch_reference, chunk], kwargs)
        batches.append(answer["batch_id"])
        entries.extend(answer["entries"])
        results.extend(answer["results"])
        totals["items"] += answer["items"]
        totals["refused"] += answer["refused"]
        if answer["batch_repeated"]:
            # Applied before: what it posted then is already there.
            totals["repeated"] += answer["posted"] + answer["repeated"]
        else:
            totals["posted"] += answer["posted"]
            totals["repeated"] += answer["repeated"]
        done = sum(len(part) for part in chunks[:number])
        rate = done / max(time.monotonic() - started, 1e-6)
        progress(
            f"batch {number}/{len(chunks)} {batch_reference}: {answer['posted']} posted, "
            f"{answer['repeated']} repeated, {answer['refused']} refused"
            f"{' (already applied)' if answer['batch_repeated'] else ''}; "
            f"{done}/{len(items)} ({rate:.0f} operations/s)"
        )
    if args.report:
        with _output(args.report, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, BATCH_REPORT_COLUMNS, lineterminator="\n", extrasaction="ignore")
            writer.writeheader()
            for result in results:
                writer.writerow(
                    {
                        key: "" if result.get(key) in (None, False) else result[key]
                        for key in BATCH_REPORT_COLUMNS
                    }
                )
    summary = {"reference": reference, "batches": batches, **totals, "entries": len(entries)}
    if args.json:
        _print_json(summary)
    else:
        print(
            f"{reference}: {totals['items']} operations, {totals['posted']} posted, "
            f"{totals['repeated']} repeated (already posted), {totals['refused']} refused, "
            f"in {len(entries)} journal entries"
        )
        for result in results:
            if result.get("status") == "refused":
                print(f"  refused: row {result['row']} {result['reference']}: {result['reason']}")
    return 1 if totals["refused"] else 0


# --- argument parsing ---------------------------------------------------------------------------------------


def _chunk_size(value):
    try:
        size = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}")
    if not 0 < size <= MAX_CHUNK_MIB:
        raise argparse.ArgumentTypeError(f"must be more than 0 and at most {MAX_CHUNK_MIB} MiB")
    return size


def _positive(value):
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}")
    if number <= 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return number


def _whole(value):
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}")
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def _add_migration_json_argument(parser):
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object: run_id, state, objects, findings, control_totals, mismatches",
    )


def _add_worker_arguments(parser, chunks=False):
    """--workers (and with ``chunks``, --keys-per-chunk: the commands that start phases)."""
    parser.add_argument(
        "--workers",
        type=_whole,
        default=1,
        metavar="N",
        help="concurrent calls writing a phase's chunks (default 1); the server needs as many web "
        "workers (odoo --workers N): billing accounts and subscribers spread over them",
    )
    if chunks:
        parser.add_argument(
            "--queue",
            action="store_true",
            help="have the server's queue jobs migrate the run (addon bss_import_queue, queue_job loaded "
            "server-wide): one job per chunk on the channel root.bss_import; this client waits and prints "
            "the progress",
        )
        parser.add_argument(
            "--keys-per-chunk",
            type=_whole,
            default=None,
            metavar="N",
            help="source keys written and committed per chunk (default: the server's, 2000)",
        )


def _add_cohort_arguments(parser, required):
    parser.add_argument(
        "--cohort",
        required=required,
        metavar="SPEC",
        help="migrate one cohort: accounts:BAN1,BAN2 | accounts:@FILE | region:COLUMN=VALUE (e.g. "
        "country=US, zip=90*) | service-type:VALUE | plan:CODE | percent:P[:SEED] | rest (everything left)",
    )
    parser.add_argument("--cohort-name", metavar="NAME", help="the cohort's name (default C1, C2, ...)")


def _run_id(value):
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a run id: {value!r}")
    if number <= 0:
        raise argparse.ArgumentTypeError(f"not a run id: {value!r}")
    return number


def _add_global_options(parser, defaults):
    """The connection options, accepted before and after the sub-command. On the
    sub-command parsers their default is SUPPRESS, so they only override when given."""

    def default(value):
        return value if defaults else argparse.SUPPRESS

    group = parser.add_argument_group("connection")
    group.add_argument("--url", default=default(DEFAULT_URL), help=f"Odoo server URL (default {DEFAULT_URL})")
    group.add_argument(
        "--db", default=default(os.environ.get("ODOO_DB")), help="database name (default: $ODOO_DB)"
    )
    group.add_argument("--user", default=default("admin"), help="login (default admin)")
    group.add_argument(
        "--password-env",
        default=default("ODOO_PASSWORD"),
        metavar="NAME",
        help="environment variable holding the password (default ODOO_PASSWORD); "
        "without it the password is asked on the terminal",
    )
    group.add_argument(
        "--timeout",
        type=_positive,
        default=default(3600.0),
        metavar="SECONDS",
        help="longest wait for one server call (default 3600; uploads of one chunk wait at most "
        f"{UPLOAD_TIMEOUT})",
    )
    group.add_argument(
        "-q", "--quiet", action="store_true", default=default(False), help="no progress messages on stderr"
    )
    group.add_argument(
        "--progress-interval",
        type=float,
        default=default(5.0),
        metavar="SECONDS",
        help="how often the progress of a long step (staging, profiling) is asked and printed "
        "(default 5; 0: never)",
    )


def _add_export_arguments(parser):
    parser.add_argument(
        "export",
        metavar="EXPORT",
        help="a ZIP file, a single CSV/TXT/XLSX file, or a folder "
        "(uploaded recursively, hidden files skipped)",
    )
    parser.add_argument(
        "--server-path",
        action="store_true",
        help="EXPORT is a path on the Odoo server's filesystem: nothing is uploaded (administrators only)",
    )
    parser.add_argument(
        "--chunk-size",
        type=_chunk_size,
        default=8.0,
        metavar="MiB",
        help="upload chunk size in MiB (default 8)",
    )


def build_parser():
    parser = argparse.ArgumentParser(
        prog="bss_migrate.py",
        description="Migrate a Digital BSS export into Odoo (addon bss_import) over XML-RPC.",
        epilog="Exit codes: 0 success (run, status: reconciled), 1 the server refused the export, a step or "
        "the run id, or run/status found unacknowledged mismatches, 2 usage, connection or login error.",
    )
    _add_global_options(parser, defaults=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    profile = commands.add_parser(
        "profile",
        help="upload an export, detect, stage and profile it; print the findings and proposed mapping",
        description="Create an import run, upload EXPORT, detect its files, stage and profile the rows, "
        "then print the detection, the rows per object, the findings and the proposed mapping.",
    )
    _add_export_arguments(profile)
    profile.add_argument("--json", action="store_true", help="print one JSON object (the profile summary)")
    _add_global_options(profile, defaults=False)
    profile.set_defaults(handler=cmd_profile)

    run = commands.add_parser(
        "run",
        help="upload, profile, map, confirm and migrate an export, then reconcile; "
        "exit 1 while mismatches remain",
        description="Create an import run for EXPORT, upload, detect, stage and profile it, apply the "
        "mapping (a saved template, or the suggested mapping as proposed), confirm it, migrate every phase "
        "in dependency order and print the reconciliation (as `status` does). Progress (phase, rows done / "
        "total, rows/s) goes to stderr. Stops before the OCS cutover. Exit 0 when reconciled, 1 when "
        "mismatches remain or the server refused a step, 2 on usage or connection errors.",
    )
    _add_export_arguments(run)
    mapping = run.add_mutually_exclusive_group(required=True)
    mapping.add_argument("--template", metavar="NAME", help="apply the saved mapping template NAME")
    mapping.add_argument(
        "--accept-suggestions", action="store_true", help="confirm the suggested mapping as proposed"
    )
    run.add_argument(
        "--owner-map",
        metavar="FILE",
        help="CSV mapping legacy owner ids to Odoo users and sales teams (header legacy_id,user,team; user "
        "a login or e-mail): applied over the proposed owner mapping before it is confirmed",
    )
    _add_cohort_arguments(run, required=False)
    _add_migration_json_argument(run)
    _add_worker_arguments(run, chunks=True)
    _add_global_options(run, defaults=False)
    run.set_defaults(handler=cmd_run)

    cohort = commands.add_parser(
        "cohort",
        help="migrate the next cohort (pilot wave) of a confirmed run",
        description="Create the next cohort of run RUN_ID (its mapping confirmed, not migrated as a whole) "
        "from --cohort and migrate it: the billing accounts it selects that no earlier cohort holds, each "
        "with all of its subscribers, orders and invoices. Prints the cohort's reconciliation as `run` "
        'does plus the cohort (JSON key "cohort": members, customers still on the legacy system); same '
        "exit codes.",
    )
    cohort.add_argument("run_id", metavar="RUN_ID", type=_run_id, help="id of the import run")
    _add_cohort_arguments(cohort, required=True)
    _add_migration_json_argument(cohort)
    _add_worker_arguments(cohort, chunks=True)
    _add_global_options(cohort, defaults=False)
    cohort.set_defaults(handler=cmd_cohort)

    cohorts = commands.add_parser(
        "cohorts",
        help="print a run's cohorts, their counts, the overall counts and who still owns what",
        description="Print the cohorts of run RUN_ID (selection, state, billing accounts and subscribers, "
        "migration date), the counts of the migrated cohorts per object, and the billing accounts and "
        "subscribers the legacy system still owns. Exit 1 when the run is unknown.",
    )
    cohorts.add_argument("run_id", metavar="RUN_ID", type=_run_id, help="id of the import run")
    cohorts.add_argument(
        "--json", action="store_true", help="print one JSON object: run_id, cohorts, overall, legacy_owned"
    )
    _add_global_options(cohorts, defaults=False)
    cohorts.set_defaults(handler=cmd_cohorts)

    resume = commands.add_parser(
        "resume",
        help="go on with a run's migration where it stopped (a killed worker, failed chunks)",
        description="Resume the migration of run RUN_ID: phases done are left as they are; a phase that "
        "stopped resumes from its chunks committed (chunks never written twice), the phases after it "
        "run. Prints the reconciliation as `run` does; same exit codes.",
    )
    resume.add_argument("run_id", metavar="RUN_ID", type=_run_id, help="id of the import run")
    _add_migration_json_argument(resume)
    _add_worker_arguments(resume)
    _add_global_options(resume, defaults=False)
    resume.set_defaults(handler=cmd_resume)

    delta = commands.add_parser(
        "delta",
        help="apply a later export of the same source to a migrated run (a delta pass)",
        description="Create a delta pass of the migrated run RUN_ID for EXPORT (a later export of the same "
        "source): upload, detect, stage and profile it, take the mapping of the run's last pass, confirm "
        "it and migrate every phase: new rows are created, changed rows write only their changed fields "
        "(each change listed with its previous value), unchanged rows are not written, and the records the "
        "export no longer has are reported as vanished (archived with --archive-vanished). Prints the "
        'reconciliation as `run` does plus the delta report (JSON key "delta"); same exit codes.',
    )
    delta.add_argument("run_id", metavar="RUN_ID", type=_run_id, help="id of the migrated import run")
    _add_export_arguments(delta)
    delta.add_argument(
        "--archive-vanished",
        action="store_true",
        help="archive the contacts and products whose key the export no longer has (default: report them)",
    )
    delta.add_argument(
        "--changes",
        metavar="FILE",
        help="write the change list (object, kind, key, field, before, after, ...) as CSV (- for stdout)",
    )
    _add_migration_json_argument(delta)
    _add_worker_arguments(delta, chunks=True)
    _add_global_options(delta, defaults=False)
    delta.set_defaults(handler=cmd_delta)

    rollback = commands.add_parser(
        "rollback",
        help="roll a run back: what it wrote undone, posted invoices reversed (Migration Manager)",
        description="Roll run RUN_ID back (with its delta passes when it is a first run): fields its passes "
        "changed get their previous values back, then the records they created are removed in reverse "
        "dependency order (invoices and their settlements reversed, never deleted; a contact still referred "
        "to archived; custom fields removed when nothing uses them). Prints per object the records deleted, "
        "reversed, archived, kept and the fields restored. A rollback that stopped resumes; a run already "
        "rolled back is left as it is. Exit 0 when the run is rolled back, 1 when the server refused.",
    )
    rollback.add_argument("run_id", metavar="RUN_ID", type=_run_id, help="id of the import run")
    rollback.add_argument(
        "--cohort",
        metavar="NAME",
        help="roll back only the cohort NAME of the run (its accounts, subscribers, orders and invoices; "
        "the catalogue goes with the last cohort still migrated)",
    )
    rollback.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object: run_id, state, passes, rollback_date, objects",
    )
    _add_global_options(rollback, defaults=False)
    rollback.set_defaults(handler=cmd_rollback)

    status = commands.add_parser(
        "status",
        help="print the reconciliation of a run's phases; exit 1 while mismatches remain",
        description="Print each migration phase of run RUN_ID (state, source rows, duplicates collapsed, "
        "quarantined, created, updated, unchanged, balanced), the control totals that differ and the "
        "number of mismatches no Migration Manager acknowledged. Exit 0 when reconciled, 1 when "
        "mismatches remain or the run is unknown.",
    )
    status.add_argument("run_id", metavar="RUN_ID", type=_run_id, help="id of the import run")
    _add_migration_json_argument(status)
    _add_global_options(status, defaults=False)
    status.set_defaults(handler=cmd_status)

    quarantine = commands.add_parser(
        "quarantine",
        help="count a run's open quarantined rows by object and reason",
        description="Count the open quarantined rows of run RUN_ID by object and first reason. "
        "Exit 1 when the run is unknown.",
    )
    quarantine.add_argument("run_id", metavar="RUN_ID", type=_run_id, help="id of the import run")
    quarantine.add_argument(
        "--json", action="store_true", help="print one JSON object: run_id, open, by_object"
    )
    _add_global_options(quarantine, defaults=False)
    quarantine.set_defaults(handler=cmd_quarantine)

    report = commands.add_parser(
        "report",
        help="download a run's reconciliation report (PDF, CSV or JSON)",
        description="Write the reconciliation report of run RUN_ID to FILE: per phase its counts, "
        "checksums, control totals, side-by-side sample, mismatches and acknowledgements, then the "
        "quarantine by object and reason and the flagged records by kind. Exit 1 when the run is unknown.",
    )
    report.add_argument("run_id", metavar="RUN_ID", type=_run_id, help="id of the import run")
    report.add_argument("--format", required=True, choices=REPORT_FORMATS, help="pdf, csv or json")
    report.add_argument("--output", required=True, metavar="FILE", help="file to write (- for stdout)")
    _add_global_options(report, defaults=False)
    report.set_defaults(handler=cmd_report)

    cutover = commands.add_parser(
        "cutover",
        help="one step of the OCS prepaid cutover of a migrated run (shadow ... finalize, rollback)",
        description="Run one step of the OCS cutover of the migrated run RUN_ID. shadow: the OCS buckets "
        "become draft wallets with their opening balances prepared (not posted) and suspended allowances; "
        "verify: Odoo vs the OCS snapshot per wallet, per currency and per usage type, in minor units; "
        "freeze (Migration Manager): records the start of the read-only window on the OCS (--snapshot names "
        "the snapshot); delta EXPORT: stages EXPORT, the OCS snapshot taken at the freeze, as a delta pass "
        "and applies it to the shadow (then verify again); finalize (Migration Manager and Wallet Manager): "
        "posts every opening balance and makes the wallets live, resumable, a second finalize does nothing; "
        "rollback: discards the shadow, or after the finalize reverses the openings and closes the wallets; "
        "status: prints the figures. Prints the state, the wallets and buckets, and the OCS total = Odoo "
        "total + quarantined total, exactly. Exit 0 on success with no open mismatch, 1 when mismatches "
        "remain or the server refused the step, 2 on usage or connection errors.",
    )
    cutover.add_argument("run_id", metavar="RUN_ID", type=_run_id, help="id of the migrated import run")
    cutover.add_argument("step", choices=CUTOVER_STEPS, metavar="STEP", help=", ".join(CUTOVER_STEPS))
    cutover.add_argument(
        "export",
        nargs="?",
        metavar="EXPORT",
        help="delta only: the final OCS snapshot (a ZIP file, a CSV/TXT/XLSX file or a folder)",
    )
    cutover.add_argument(
        "--server-path",
        action="store_true",
        help="EXPORT is a path on the Odoo server's filesystem: nothing is uploaded (administrators only)",
    )
    cutover.add_argument(
        "--chunk-size",
        type=_chunk_size,
        default=8.0,
        metavar="MiB",
        help="upload chunk size in MiB (default 8)",
    )
    cutover.add_argument(
        "--snapshot", metavar="TEXT", help="freeze only: the OCS snapshot the freeze refers to"
    )
    cutover.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object: run_id, state, currency, wallets, buckets, source_total, odoo_total, "
        "quarantined_total, mismatches (and by_currency with several currencies)",
    )
    _add_global_options(cutover, defaults=False)
    cutover.set_defaults(handler=cmd_cutover)

    inventory = commands.add_parser(
        "inventory",
        help="write the inventories of what a run does not migrate (CSV and HTML each) into a folder",
        description="Build the inventories of run RUN_ID on the server (attached to the run) and write "
        "them into DIR: the PCRF policy translation manifest, the AAA/HSS identifiers (no secret: the "
        "dropped secret columns are listed by name), the network elements, the usage summary with each "
        "line's rating cutover point, the bundle and tariff definitions and the manual-rebuild items; "
        "each as a CSV file and a readable HTML page. The run's mapping must be confirmed. Exit 0 when "
        "written, 1 when the server refused, 2 on usage or connection errors.",
    )
    inventory.add_argument("run_id", metavar="RUN_ID", type=_run_id, help="id of the import run")
    inventory.add_argument(
        "--output", required=True, metavar="DIR", help="folder to write (created if missing)"
    )
    inventory.add_argument(
        "--json", action="store_true", help="print one JSON object: run_id, files (file, size, rows)"
    )
    _add_global_options(inventory, defaults=False)
    inventory.set_defaults(handler=cmd_inventory)

    wallet_batch = commands.add_parser(
        "wallet-batch",
        help="apply a CSV file of wallet operations (OCS usage, payment settlement, opening balances)",
        description="Apply FILE, a CSV of prepaid wallet operations (columns subscriber_id or msisdn, type "
        "top_up|debit|adjust|opening, amount, currency, reference, date, reason), through the wallet batch "
        "path of telecom_wallet. The file is checked whole first: a malformed file posts nothing and every "
        "bad row is named. Then batches of --chunk operations are applied, each in its own transaction, "
        "with progress on stderr. Each operation's reference is its idempotency key on its wallet and each "
        "batch's reference too, so applying the same file again posts nothing twice. Exit 0 when every "
        "operation is posted or was already, 1 when the server refused the file or any operation (listed, "
        "and in --report), 2 on usage or connection errors.",
    )
    wallet_batch.add_argument("file", metavar="FILE", help="the CSV file")
    wallet_batch.add_argument(
        "--reference",
        metavar="REF",
        help="the batch reference (default: the file name and a digest of its content); with several "
        "batches, REF#n/N",
    )
    wallet_batch.add_argument(
        "--company-id", type=_run_id, metavar="ID", help="the company (default: the user's)"
    )
    wallet_batch.add_argument(
        "--chunk",
        type=_whole,
        default=BATCH_CHUNK,
        metavar="N",
        help=f"operations per batch (default {BATCH_CHUNK})",
    )
    wallet_batch.add_argument(
        "--report", metavar="FILE", help="write the result of every operation as CSV (- for stdout)"
    )
    wallet_batch.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object: reference, batches, items, posted, repeated, refused, entries",
    )
    _add_global_options(wallet_batch, defaults=False)
    wallet_batch.set_defaults(handler=cmd_wallet_batch)
    return parser


def read_password(parser, env_name):
    password = os.environ.get(env_name)
    if password:
        return password
    if sys.stdin is not None and sys.stdin.isatty():
        try:
            return getpass.getpass("Odoo password: ")
        except EOFError:
            pass
    parser.error(f"no password: set the environment variable {env_name} or run from a terminal")


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.db:
        parser.error("--db is required (or set ODOO_DB)")
    if getattr(args, "queue", False) and args.workers > 1:
        parser.error("--queue and --workers: the job runner's workers write the chunks, not this client")
    progress = Progress(args.quiet, args.progress_interval)
    try:
        password = read_password(parser, args.password_env)
        client = OdooClient(args.url, args.db, args.user, password, timeout=args.timeout)
        client.login()
        return args.handler(args, client, progress)
    except BrokenPipeError:
        # The reader of stdout went away (`| head`): stop quietly, without a second error on flush.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except xmlrpc.client.Fault as exc:
        print(f"error: {fault_message(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
