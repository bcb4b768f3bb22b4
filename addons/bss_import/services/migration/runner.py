"""Run the phases of a confirmed run in dependency order, chunk by chunk, and count everything.

Each chunk of resolved rows is written under a savepoint; when the chunk is
refused (a constraint of the target model), it is written again row by row,
each under its own savepoint, and the rows still refused go to quarantine
with the model's message. Counts add up by construction: every source row is
counted once as a collapsed duplicate, quarantined, created, updated or
unchanged. No phase starts while an earlier phase of the run has a mismatch
that no Migration Manager has acknowledged.
"""

import contextlib
import hashlib
import json
import logging
import time
from collections import Counter

import psycopg2

from odoo import fields
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

from ...lib import schema
from .base import Counts, Rejected, Resolved, Row
from .billing_accounts import BillingAccountsPhase
from .context import MigrationContext
from .custom_fields import CustomFieldsPhase
from .invoices import InvoicesPhase
from .orders import OrdersPhase
from .product_catalog import ProductCatalogPhase
from .service_plans import ServicePlansPhase
from .subscribers import SubscribersPhase

_logger = logging.getLogger(__name__)

#: The phases that exist, in dependency order (lib/schema.OBJECTS).
PHASES = sorted(
    (
        CustomFieldsPhase,
        ServicePlansPhase,
        ProductCatalogPhase,
        BillingAccountsPhase,
        SubscribersPhase,
        OrdersPhase,
        InvoicesPhase,
    ),
    key=lambda cls: schema.OBJECTS.index(cls.object),
)
PHASE_OF = {cls.object: cls for cls in PHASES}
#: What a refused write raises: the row goes to quarantine with the message.
_ROW_ERRORS = (ValidationError, UserError, ValueError, psycopg2.IntegrityError)


def migrate(run, objects=None, chunk_size=2000):
    """Migrate the run's objects (all the phases that exist, or ``objects``); return the phase records."""
    ctx = MigrationContext(run, chunk_size)
    done = ctx.env["bss.import.phase"]
    for cls in PHASES:
        if objects and cls.object not in objects:
            continue
        phase = cls(ctx)
        if not phase.has_rows():
            # The export has no file of this object: nothing to migrate, nothing to report.
            continue
        record = _phase_record(ctx, cls)
        blocker = _blocker(ctx, record)
        if blocker:
            record.write(
                {
                    "state": "blocked",
                    "error_message": f"phase {blocker.object} has an unacknowledged mismatch: "
                    f"{blocker.mismatch}",
                }
            )
            done |= record
            continue
        run_phase(ctx, phase, record)
        done |= record
    return done


def _phase_record(ctx, cls):
    Phase = ctx.env["bss.import.phase"]
    record = Phase.search([("run_id", "=", ctx.run.id), ("object", "=", cls.object)])
    if not record:
        record = Phase.create(
            {"run_id": ctx.run.id, "object": cls.object, "sequence": schema.OBJECTS.index(cls.object)}
        )
    return record


def _blocker(ctx, record):
    earlier = ctx.env["bss.import.phase"].search(
        [("run_id", "=", ctx.run.id), ("sequence", "<", record.sequence)], order="sequence"
    )
    return next((p for p in earlier if p._blocking() or p.state in ("blocked", "error")), None)


class _Tally:
    """Counts and the two content checksums of a phase, updated chunk by chunk."""

    def __init__(self):
        self.counts = Counts()
        self.source = hashlib.sha256()
        self.odoo = hashlib.sha256()
        self.differing = Counter()
        #: Rows created when the tables' statistics were last refreshed (see _refresh_statistics).
        self.analyzed = 0
        #: Seconds spent per step (resolve, write, quarantine, reconcile, settle), logged at the end.
        self.seconds = Counter()

    def timed(self, step, rows):
        """Yield from ``rows``, counting the time spent producing them under ``step``."""
        rows = iter(rows)
        while True:
            start = time.perf_counter()
            try:
                item = next(rows)
            except StopIteration:
                self.seconds[step] += time.perf_counter() - start
                return
            self.seconds[step] += time.perf_counter() - start
            yield item

    @contextlib.contextmanager
    def step(self, name):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - start

    def timings(self):
        return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.seconds.most_common())

    def add_checksums(self, results):
        for key, source, odoo, fields_ in results:
            self.source.update(f"{key}\t{source}\n".encode())
            self.odoo.update(f"{key}\t{odoo}\n".encode())
            self.differing.update(fields_)


def run_phase(ctx, phase, record):
    """Run one phase over its staged rows; the phase record holds the outcome."""
    # sudo env: open quarantine rows of a previous pass are replaced by this pass's.
    ctx.env["bss.import.quarantine"].search(
        [("run_id", "=", ctx.run.id), ("object", "=", phase.object), ("state", "=", "open")]
    ).unlink()
    record.write(
        {
            "state": "running",
            "date_start": fields.Datetime.now(),
            "date_end": False,
            "error_message": False,
            "mismatch": False,
            "acknowledged_by": False,
            "acknowledged_date": False,
            "acknowledge_reason": False,
            **dict.fromkeys(("source_rows", *Counts().as_dict()), 0),
        }
    )
    tally = _Tally()
    total = sum(f.rows for f in ctx.staged.files.get(phase.table, ())) if phase.table else 0
    _progress(ctx, phase, 0, total)
    try:
        with ctx.env.cr.savepoint():
            chunk = []
            for item in tally.timed("read and resolve", _resolved_rows(phase, tally.counts)):
                chunk.append(item)
                if len(chunk) >= ctx.chunk_size:
                    _flush(ctx, phase, chunk, tally)
                    chunk = []
                    _release(ctx)
                    with tally.step("statistics"):
                        tally.analyzed = _refresh_statistics(ctx, phase, tally.counts.created, tally.analyzed)
                    _progress(ctx, phase, tally.counts.source_rows, total)
            _flush(ctx, phase, chunk, tally)
            _progress(ctx, phase, tally.counts.source_rows, total)
    except Exception as exc:
        _logger.exception("migration phase %s of run %s failed", phase.object, ctx.run.name)
        record.write({"state": "error", "error_message": str(exc), "date_end": fields.Datetime.now()})
        return record
    with tally.step("statistics"):
        tally.analyzed = _refresh_statistics(ctx, phase, tally.counts.created, tally.analyzed, settling=True)
    with tally.step("control totals and sample"):
        _settle(record, tally, phase)
    _logger.info(
        "migration phase %s of run %s: %s source rows; %s",
        phase.object,
        ctx.run.name,
        tally.counts.source_rows,
        tally.timings(),
    )
    return record


#: Rows a phase creates before the planner's statistics of its tables are first refreshed.
ANALYZE_FIRST = 10000


def _refresh_statistics(ctx, phase, created, analyzed, settling=False):
    """ANALYZE the phase's tables (its model's, its lines', the link table) when the phase has
    doubled what they held; when ``settling``, as soon as it created rows since the last time.

    A phase runs in one transaction: autovacuum cannot see its rows, so the
    planner keeps the statistics of the table before the run (a few rows) and
    plans the constraints' and lookups' queries (the parent cycle check, the
    links) for a tiny table, scanning a growing one once per chunk. The control
    totals join the clean rows to the links and the records in one query: with
    stale statistics it loops over the phase's rows (10k accounts: 24 s instead
    of 0.6 s). ANALYZE in the transaction samples its own new rows. Returns the
    created count the statistics now reflect.
    """
    threshold = analyzed + 1 if settling else max(ANALYZE_FIRST, 2 * analyzed)
    if not phase.model or created < threshold:
        return analyzed
    ctx.env.flush_all()
    models = (phase.model, *phase.statistics_models)
    for table in (*(ctx.env[name]._table for name in models), "bss_import_link"):
        ctx.env.cr.execute(SQL("ANALYZE %s", SQL.identifier(table)))
    return created


def _progress(ctx, phase, done, total):
    """Commit the phase's rows done so far on the side (the wizard and the CLI poll it).

    The phase runs in one transaction: its own records are invisible to
    others until it ends, the progress line is not.
    """
    ctx.env["bss.import.progress"]._report(
        ctx.run.id, "migrate", done, total, f"{phase.object}: {done} of {total} rows"
    )


def _resolved_rows(phase, counts):
    """Resolve every staged row of the phase: collapse exact duplicates, then resolve each key once."""
    key_fields = list(phase.spec.key)
    for key, group in _adjacent(phase.rows()):
        counts.source_rows += len(group)
        if key is None:
            for row in group:
                yield Rejected(row, [f"missing key: {', '.join(key_fields)}"])
            continue
        yield from phase.collapse(key, group, counts)


def _adjacent(rows):
    """Yield (key, [rows]) of consecutive rows sharing a key, streaming (rows come ordered by key)."""
    group, current = [], None
    for row in rows:
        if group and row.key != current:
            yield current, group
            group = []
        current = row.key
        group.append(row)
    if group:
        yield current, group


def _release(ctx):
    """Write what the chunk left pending and empty the ORM cache.

    The records a chunk wrote stay in the environment's cache (their values,
    prefetch sets, the inverse of their many2ones): without this, the memory
    of a phase grows with its rows. What the
    next chunk needs (plans, accounts, mapping lines) is read again in a few
    queries.
    """
    ctx.env.invalidate_all()


def _flush(ctx, phase, chunk, tally):
    if not chunk:
        return
    resolved = [it for it in chunk if isinstance(it, Resolved)]
    rejected = [it for it in chunk if isinstance(it, Rejected)]
    with tally.step("write"):
        written, refused = write_resolved(ctx, phase, resolved, tally.counts)
    rejected += refused
    with tally.step("quarantine"):
        _quarantine(ctx, phase, rejected)
    tally.counts.quarantined += len(rejected)
    with tally.step("reconcile"):
        tally.add_checksums(phase.reconcile(written))


def write_resolved(ctx, phase, resolved, counts):
    """Write resolved rows: the chunk at once, else row by row. Returns (written, refused)."""
    if not resolved:
        return [], []
    chunk_counts = Counts()
    try:
        with ctx.env.cr.savepoint():
            phase.write_chunk(resolved, chunk_counts)
    except _ROW_ERRORS:
        written, refused = [], []
        for item in resolved:
            row_counts = Counts()
            try:
                with ctx.env.cr.savepoint():
                    phase.write_chunk([item], row_counts)
            except _ROW_ERRORS as exc:
                refused.append(Rejected(item.row, [_message(exc)]))
                continue
            _add(counts, row_counts)
            written.append(item)
        return written, refused
    _add(counts, chunk_counts)
    return resolved, []


def _message(exc):
    if isinstance(exc, psycopg2.Error):
        return f"refused by the database: {exc.diag.message_primary or exc.pgcode}"
    return str(exc.args[0] if exc.args else exc)


def _add(total, part):
    for name, value in part.as_dict().items():
        setattr(total, name, getattr(total, name) + value)


def _quarantine(ctx, phase, rejected):
    if not rejected:
        return
    ctx.env["bss.import.quarantine"].create(
        [
            {
                "run_id": ctx.run.id,
                "sequence": schema.OBJECTS.index(phase.object),
                "object": phase.object,
                "table": it.row.table or phase.table,
                "file_id": it.row.file_id,
                "line": it.row.line,
                "source_key": it.row.key,
                "reasons": "\n".join(it.reasons),
                "values_json": json.dumps(it.row.values, ensure_ascii=False, sort_keys=True),
            }
            for it in rejected
        ]
    )


def _settle(record, tally, phase):
    counts = tally.counts.as_dict()
    totals = [(name, str(source), str(odoo)) for name, source, odoo in phase.control_totals()]
    samples = phase.sample_lines()
    source, odoo = tally.source.hexdigest(), tally.odoo.hexdigest()
    problems = []
    total = sum(v for k, v in counts.items() if k not in ("source_rows", "flagged"))
    if total != counts["source_rows"]:
        problems.append(
            f"counts do not add up: {total} rows accounted for, {counts['source_rows']} source rows"
        )
    if source != odoo:
        fields_ = ", ".join(f"{name} ({n} rows)" for name, n in sorted(tally.differing.items()))
        problems.append(f"content checksum of the Odoo records differs from the source rows: {fields_}")
    problems += [f"control total differs: {n}: source {s}, Odoo {o}" for n, s, o in totals if s != o]
    record.total_ids.unlink()
    record.sample_ids.unlink()
    record.env["bss.import.phase.total"].create(
        [
            {"phase_id": record.id, "sequence": n, "name": name, "source": s, "odoo": o, "match": s == o}
            for n, (name, s, o) in enumerate(totals)
        ]
    )
    record.env["bss.import.phase.sample"].create(
        [
            {
                "phase_id": record.id,
                "source_key": k,
                "field_name": f,
                "source_value": s,
                "odoo_value": o,
                "differs": d,
            }
            for k, f, s, o, d in samples
        ]
    )
    record.write(
        {
            **counts,
            "state": "done",
            "date_end": fields.Datetime.now(),
            "source_checksum": source,
            "odoo_checksum": odoo,
            "mismatch": "\n".join(problems) or False,
        }
    )


def retry(run, rows):
    """Re-run open quarantined ``rows`` of ``run`` through their phase; return how many were migrated.

    A corrected row that passes becomes the staged row (:meth:`Phase.restage`):
    the reconciliation reads the source from staging, so the phase is then
    settled again (:func:`_resettle`) over the corrected source, and its
    control totals, checksums and sample include the row.
    """
    ctx = MigrationContext(run)
    migrated = 0
    for obj in schema.OBJECTS:
        batch = rows.filtered(lambda q, o=obj: q.object == o)
        if not batch:
            continue
        if obj not in PHASE_OF:
            raise UserError(ctx.env._("No migration phase exists yet for %(object)s.", object=obj))
        phase = PHASE_OF[obj](ctx)
        record = _phase_record(ctx, PHASE_OF[obj])
        counts = Counts()
        passed = 0
        for q in batch.with_env(ctx.env):
            values = q._values()
            row = Row(
                q.file_id.id or None,
                q.line,
                values,
                phase.key_of(values) if phase.spec else q.source_key,
                q.table,
            )
            item = phase.resolve(row) if row.key or not phase.spec else Rejected(row, ["missing key"])
            refused = [item] if isinstance(item, Rejected) else write_resolved(ctx, phase, [item], counts)[1]
            if refused:
                q.write({"reasons": "\n".join(refused[0].reasons)})
                continue
            phase.restage(row)
            q.write(
                {
                    "state": "resolved",
                    "resolved_by": run.env.uid,
                    "resolved_date": fields.Datetime.now(),
                    "source_key": row.key,
                }
            )
            passed += 1
        migrated += passed
        if passed:
            update = {
                name: record[name] + value
                for name, value in counts.as_dict().items()
                if name != "source_rows"
            }
            update["quarantined"] = record.quarantined - passed
            record.write(update)
            if record.state == "done":
                _resettle(ctx, phase, record)
    return migrated


def _resettle(ctx, phase, record):
    """Settle a phase again after a retry: checksums over its staged rows now, its counts as they stand.

    The content checksums are recomputed the way :func:`run_phase` builds
    them (rows in key order, the migrated ones reconciled chunk by chunk),
    leaving out the rows still in quarantine; control totals and the sample
    are read again by :func:`_settle`.
    """
    still_open = set(
        ctx.env["bss.import.quarantine"]
        .search([("run_id", "=", ctx.run.id), ("object", "=", phase.object), ("state", "=", "open")])
        .mapped("source_key")
    )
    tally = _Tally()
    chunk = []
    for item in _resolved_rows(phase, Counts()):
        if isinstance(item, Resolved) and item.row.key not in still_open:
            chunk.append(item)
        if len(chunk) >= ctx.chunk_size:
            tally.add_checksums(phase.reconcile(chunk))
            chunk = []
    if chunk:
        tally.add_checksums(phase.reconcile(chunk))
    tally.counts = Counts(**{name: record[name] for name in Counts().as_dict()})
    _settle(record, tally, phase)
