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
import json
import logging
import os
import random
import socket
import time
from collections import Counter

import psycopg2

from odoo import api, fields
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

from ...lib import checksums, schema
from . import cohorts, delta
from . import rollback as undo
from .attachments import DocumentsPhase
from .base import Counts, Phase, Rejected, Resolved, Row
from .billing_accounts import BillingAccountsPhase
from .context import MigrationContext
from .custom_fields import CustomFieldsPhase
from .interactions import InteractionsPhase
from .invoices import InvoicesPhase
from .numbers import NumberPortsPhase, NumbersPhase
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
        NumbersPhase,
        NumberPortsPhase,
        InteractionsPhase,
        DocumentsPhase,
    ),
    key=lambda cls: schema.OBJECTS.index(cls.object),
)
PHASE_OF = {cls.object: cls for cls in PHASES}
#: What a refused write raises: the row goes to quarantine with the message.
_ROW_ERRORS = (ValidationError, UserError, ValueError, psycopg2.IntegrityError)


#: Source keys per chunk when nothing else is said: the measured sweet spot (README, "Migration
#: performance"): larger chunks gain nothing, smaller ones pay the per-chunk queries more often.
CHUNK_SIZE = 2000
#: Attempts of a chunk that fails for an infrastructure reason (serialization failure, deadlock,
#: lost connection) before it is reported failed; the wait doubles from BACKOFF seconds.
ATTEMPTS = 4
BACKOFF = 0.5
#: What an attempt of a chunk may fail with and succeed on the next: the database's, not the data's.
_INFRA_ERRORS = (psycopg2.OperationalError, psycopg2.InterfaceError)


def migrate(run, objects=None, chunk_size=CHUNK_SIZE):
    """Migrate the run's objects (all the phases that exist, or ``objects``) in this process.

    Each phase is started (cut into chunks, or resumed where it stopped),
    its chunks written and committed one by one, then settled. Returns the
    summary of each phase that has rows (:func:`phase_summary`), read on the
    migration's own cursor: the caller's transaction may predate the chunks.
    """
    # The migration's cursors see what the caller wrote only once it is in the database.
    run.env.flush_all()
    summaries = []
    for cls in PHASES:
        if objects and cls.object not in objects:
            continue
        state = start_phase(run, cls.object, chunk_size)
        if state is None:
            # The export has no file of this object: nothing to migrate, nothing to report.
            continue
        if state == "running":
            work_phase(run, cls.object, chunk_size)
        summaries.append(settle_phase(run, cls.object))
    # What the caller's environment read of the phases before is stale.
    run.env.invalidate_all()
    return summaries


def report_vanished(run, pass_ids, archive):
    """List the records the passes ``pass_ids`` migrated that the run's export no longer has, per
    object whose phase ran in the run (archived when ``archive``); committed with the run's cursor.

    Returns {object: (vanished, archived)}. Running it again lists nothing twice.
    """
    run.env.flush_all()
    found = {}
    with _migration_cursor(run) as ctx:
        ran = set(ctx.run.phase_ids.mapped("object"))
        for cls in PHASES:
            if cls.object not in ran or not cls.reports_vanished:
                continue
            phase = cls(ctx)
            try:
                if phase.has_rows():
                    found[cls.object] = delta.report_vanished(phase, pass_ids, archive)
            finally:
                phase.close()
    run.env.invalidate_all()
    _logger.info("delta pass %s: vanished records %s", run.name, found)
    return found


def rollback(run, pass_ids, objects=None):
    """Undo what the passes ``pass_ids`` wrote (:mod:`.rollback`): their changes restored, newest
    first, then the records they created removed, object by object in reverse dependency order
    (the objects ``objects``, else all).

    Each batch is committed with its bookkeeping and refreshes the run's writer
    lock: a rollback that stopped resumes with the next batch; one that is done
    finds nothing left to do.
    """
    run.env.flush_all()
    while True:
        with _migration_cursor(run) as ctx:
            restorers = {cls.object: cls(ctx) for cls in PHASES if cls.restore is not Phase.restore}
            done = undo.restore_batch(ctx, pass_ids, restorers)
            _heartbeat(ctx)
        if not done:
            break
    for cls in reversed(PHASES):
        if objects is not None and cls.object not in objects:
            continue
        while True:
            with _migration_cursor(run) as ctx:
                done = undo.remove_batch(ctx, cls, pass_ids)
                _heartbeat(ctx)
            if not done:
                break
    run.env.invalidate_all()


def _heartbeat(ctx):
    """Refresh the run's writer lock: a committed batch says its worker is alive."""
    ctx.env.cr.execute(
        SQL(
            "UPDATE bss_import_writer_lock SET heartbeat = %s WHERE run_id = %s",
            fields.Datetime.now(),
            ctx.run.id,
        )
    )


@contextlib.contextmanager
def _migration_cursor(run, chunk_size=CHUNK_SIZE):
    """A :class:`MigrationContext` on a cursor of its own, committed chunk by chunk.

    The caller's transaction (a web or RPC request) must never hold what a
    chunk wrote: a worker killed after a chunk keeps it, and other workers
    (other processes, other hosts) see it. The cursor commits on a normal
    exit and rolls back what is pending on an error.
    """
    registry = run.env.registry
    with read_committed_cursor(registry) as cr:
        env = api.Environment(cr, run.env.uid, dict(run.env.context))
        yield MigrationContext(env["bss.import.run"].browse(run.id), chunk_size)
    if registry.registry_invalidated and not registry.in_test_mode():
        # The custom fields phase added fields, now committed: the workers of other processes
        # (chunk workers of the next phases) reload the registry before their next chunk. Signalled
        # once: a reload also empties every cache.
        registry.signal_changes()
        # This process's registry already holds the fields (reset_changes would set it up again).
        registry.registry_invalidated = False


@contextlib.contextmanager
def read_committed_cursor(registry):
    """A cursor of its own, READ COMMITTED rather than Odoo's REPEATABLE READ.

    Chunk workers update shared rows (the writer lock's heartbeat, the chunks
    they take with SKIP LOCKED) that another worker committed a moment before;
    under a snapshot each such write is a serialization failure and a chunk
    written again. A chunk reads nothing another worker writes (key ranges do
    not overlap; constraints hold across workers either way). Odoo sets
    REPEATABLE READ again on the connection's next cursor; in test mode the
    cursor is the test's, left as it is.
    """
    with registry.cursor() as cr:
        if not registry.in_test_mode():
            cr._cnx.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_READ_COMMITTED)
        yield cr


def phase_summary(record):
    """{object, state, the counts, balanced, chunks} of a phase record, what the CLI and the wizard show."""
    return {
        "object": record.object,
        "state": record.state,
        **record._counts(),
        "balanced": record.balanced,
        "chunks_total": record.chunks_total,
        "chunks_done": record.chunks_done,
        "chunks_failed": record.chunks_failed,
        "chunks_pending": record.chunks_total - record.chunks_done - record.chunks_failed,
        "error_message": record.error_message or "",
    }


def start_phase(run, obj, chunk_size=CHUNK_SIZE):
    """Start the phase of ``obj``, or resume it; return its state (None when the export has no rows of it).

    A phase that stopped before it settled (a worker killed, a chunk
    failed) resumes: its chunks done stay done, the failed ones are pending
    again. Any other phase starts a new pass: its open quarantine rows are
    replaced by this pass's, and its keys are cut into chunks of
    ``chunk_size`` keys. A phase whose earlier phase has an unacknowledged
    mismatch is blocked.
    """
    with _migration_cursor(run, chunk_size) as ctx:
        cls = PHASE_OF[obj]
        phase = cls(ctx)
        if not phase.has_rows():
            return None
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
            return record.state
        if record.state in ("running", "error") and record.chunk_ids:
            record.chunk_ids.filtered(lambda c: c.state == "failed").write({"state": "pending"})
            record.write({"state": "running", "error_message": False, "date_end": False})
            _logger.info(
                "migration phase %s of run %s resumes: %s of %s chunks done",
                obj,
                ctx.run.name,
                record.chunks_done,
                record.chunks_total,
            )
        else:
            _new_pass(ctx, phase, record)
        _progress(ctx, phase, record)
        return record.state


def _new_pass(ctx, phase, record):
    # sudo env: open quarantine rows of a previous pass are replaced by this pass's.
    ctx.env["bss.import.quarantine"].search(
        [("run_id", "=", ctx.run.id), ("object", "=", phase.object), ("state", "=", "open")]
    ).unlink()
    record.chunk_ids.unlink()
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
            "analyzed_rows": 0,
            **dict.fromkeys(("source_rows", *Counts().as_dict()), 0),
        }
    )
    phase.index_range()
    edges = [None, *_boundaries(ctx, phase), None]
    ctx.env["bss.import.chunk"].create(
        [
            {"phase_id": record.id, "sequence": n, "key_from": edges[n], "key_to": edges[n + 1]}
            for n in range(len(edges) - 1)
        ]
    )


def _boundaries(ctx, phase):
    """The last key of each full chunk of the phase's keys (:meth:`~.base.Phase.keys_per_chunk`), in
    byte order (the chunks' edges).

    A phase of at least :data:`TAIL_FROM` chunks of at least
    :data:`TAIL_MIN_KEYS` keys ends with chunks of a quarter of the size (the
    last two to three chunks' keys): the workers take the
    chunks in order, and the one that takes the last chunk works alone while
    the others have nothing left; with small last chunks they finish together.
    A phase keyed by several columns (custom fields: a few rows) is one chunk.
    """
    column = phase.range_key()
    if not column or not phase.table:
        return []
    ctx.env.flush_all()
    col = SQL.identifier(column)
    size = phase.keys_per_chunk(ctx.chunk_size)
    ctx.env.cr.execute(
        SQL(
            """SELECT k FROM (SELECT k, n, CASE WHEN total >= %(tail_from)s * %(size)s AND %(tailed)s
                                               THEN (total - 2 * %(size)s) / %(size)s * %(size)s
                                          END AS tail
                                FROM (SELECT k, row_number() OVER (ORDER BY k) AS n, count(*) OVER () AS total
                                        FROM (SELECT DISTINCT %(col)s COLLATE "C" AS k FROM (%(source)s) s
                                               WHERE %(col)s IS NOT NULL AND %(col)s <> '') d) c) x
                WHERE CASE WHEN n > tail THEN mod(n - tail, %(quarter)s) = 0 ELSE mod(n, %(size)s) = 0 END
             ORDER BY k""",
            col=col,
            source=phase.source_sql(),
            size=size,
            quarter=max(1, size // 4),
            tail_from=TAIL_FROM,
            tailed=size >= TAIL_MIN_KEYS,
        )
    )
    return [row[0] for row in ctx.env.cr.fetchall()]


#: Chunks a phase has at least when its last ones are cut in quarters (:func:`_boundaries`).
TAIL_FROM = 4
#: Keys per chunk from which the last ones are cut in quarters (smaller chunks are not worth cutting).
TAIL_MIN_KEYS = 100


def work_phase(run, obj, chunk_size=CHUNK_SIZE, seconds=None):
    """Write the pending chunks of a running phase, one transaction each, until none is left (or,
    with ``seconds``, the first chunk that ends after that time); return the phase's summary.

    Several workers may call this at once on a :attr:`~.base.Phase.parallel`
    phase: each takes the next pending chunk no other holds. On any other
    phase a second worker returns at once while the first writes.
    """
    started = time.monotonic()
    with _migration_cursor(run, chunk_size) as ctx:
        cls = PHASE_OF[obj]
        record = _phase_record(ctx, cls)
        if record.state != "running":
            return {**phase_summary(record), "written": 0}
        cr = ctx.env.cr
        if not cls.parallel:
            cr.execute(SQL("SELECT pg_try_advisory_lock(%s, %s)", _LOCK_SPACE, record.id))
            if not cr.fetchone()[0]:
                return {**phase_summary(record), "written": 0}
        phase, tally, written = cls(ctx), _Tally(), 0
        try:
            while True:
                chunk = _claim(ctx, record)
                if not chunk:
                    break
                ok, phase = _write_chunk_and_commit(ctx, phase, record, chunk, tally)
                if not ok:
                    continue
                written += 1
                with tally.step("statistics"):
                    _refresh_statistics(ctx, phase, record, _done(ctx, record, "created"))
                # The migration's own cursor (_migration_cursor), never the caller's.
                cr.commit()  # pylint: disable=invalid-commit
                if seconds is not None and time.monotonic() - started >= seconds:
                    break
        except Exception:
            # What follows (dropping the phase's temporary table) runs in a transaction that works.
            cr.rollback()
            raise
        finally:
            phase.close()
            if not cls.parallel:
                cr.execute(SQL("SELECT pg_advisory_unlock(%s, %s)", _LOCK_SPACE, record.id))
        _logger.info(
            "migration phase %s of run %s: this worker wrote %s source rows; %s",
            obj,
            ctx.run.name,
            tally.counts.source_rows,
            tally.timings(),
        )
        return {**phase_summary(record), "written": written}


#: First key of the advisory locks of the phases that run one worker at a time (with the phase id).
_LOCK_SPACE = 0x6253


def _claim(ctx, record):
    """The next pending chunk of the phase that no other worker holds, locked until this transaction ends."""
    ctx.env["bss.import.chunk"].flush_model()
    ctx.env.cr.execute(
        SQL(
            """SELECT id FROM bss_import_chunk WHERE phase_id = %s AND state = 'pending'
                ORDER BY sequence LIMIT 1 FOR UPDATE SKIP LOCKED""",
            record.id,
        )
    )
    row = ctx.env.cr.fetchone()
    return ctx.env["bss.import.chunk"].browse(row[0]) if row else None


def _write_chunk_and_commit(ctx, phase, record, chunk, tally):
    """Write one chunk and commit it; retry an infrastructure failure with backoff. Returns (written,
    the phase to go on with): after a rollback the phase is built again, since what it read or
    created in the chunk's transaction (a temporary table, a journal's id) is gone with it.

    A failure that is not the database's (a defect, not a row: rows that a
    constraint refuses go to quarantine inside the chunk) marks the chunk
    failed with the error at once; the phase goes on with its other chunks
    and ends in error, and the next pass retries it.
    """
    cr = ctx.env.cr
    sequence = chunk.sequence
    for attempt in range(1, ATTEMPTS + 1):
        try:
            _write_chunk(ctx, phase, record, chunk, tally, attempt)
            # A chunk is the unit of work that survives a crash: committed on the migration's own cursor.
            cr.commit()  # pylint: disable=invalid-commit
            return True, phase
        except _INFRA_ERRORS as exc:
            cr.rollback()
            phase = type(phase)(ctx)
            error = exc
            _logger.warning(
                "migration phase %s of run %s: chunk %s, attempt %s of %s: %s",
                phase.object,
                ctx.run.name,
                sequence,
                attempt,
                ATTEMPTS,
                _message(exc),
            )
            if attempt == ATTEMPTS:
                break
            time.sleep(BACKOFF * 2 ** (attempt - 1) * (1 + random.random()))  # noqa: S311 - jitter only
            try:
                chunk = _reclaim(ctx, chunk.id)
            except _INFRA_ERRORS:
                cr.rollback()
                chunk = None
            if chunk is None:
                return False, phase  # another worker took it meanwhile (it stays pending otherwise)
        except Exception as exc:  # noqa: BLE001 - reported on the chunk and the phase, the others go on
            cr.rollback()
            phase = type(phase)(ctx)
            _logger.exception(
                "migration phase %s of run %s: chunk %s failed", phase.object, ctx.run.name, sequence
            )
            error = exc
            break
    message = f"chunk {sequence}: {_message(error)}"
    ctx.env["bss.import.chunk"].browse(chunk.id).write(
        {
            "state": "failed",
            "error_message": message,
            "attempts": chunk.attempts + attempt,
            "worker": _worker(),
        }
    )
    record.write({"error_message": message})
    cr.commit()  # pylint: disable=invalid-commit
    return False, phase


def _reclaim(ctx, chunk_id):
    ctx.env.cr.execute(
        SQL(
            "SELECT id FROM bss_import_chunk WHERE id = %s AND state = 'pending' FOR UPDATE SKIP LOCKED",
            chunk_id,
        )
    )
    row = ctx.env.cr.fetchone()
    return ctx.env["bss.import.chunk"].browse(row[0]) if row else None


def _worker():
    """Who writes the chunk: host and process, read when the chunk is written (a prefork server's
    workers are forked after this module is imported: each has its own pid)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _write_chunk(ctx, phase, record, chunk, tally, attempt=1):
    """Resolve, write, quarantine and reconcile the rows of one chunk's key range; record its outcome
    (``attempt``: the how-manieth try of this pass)."""
    begin = time.perf_counter()
    part = _Tally()
    phase.set_range((chunk.key_from or None, chunk.key_to or None))
    try:
        items = []
        for item in part.timed("read and resolve", _resolved_rows(phase, part.counts)):
            items.append(item)
            if len(items) >= ctx.chunk_size:
                _flush(ctx, phase, items, part)
                items = []
        _flush(ctx, phase, items, part)
    finally:
        phase.set_range(None)
    chunk.write(
        {
            **part.counts.as_dict(),
            "state": "done",
            "attempts": chunk.attempts + attempt,
            "source_sum": part.source.hexdigest(),
            "odoo_sum": part.odoo.hexdigest(),
            "differing_json": json.dumps(dict(part.differing), sort_keys=True) if part.differing else False,
            "worker": _worker(),
            "seconds": time.perf_counter() - begin,
            "date_done": fields.Datetime.now(),
            "error_message": False,
        }
    )
    tally.merge(part)
    _progress(ctx, phase, record)
    _release(ctx)
    _heartbeat(ctx)


def settle_phase(run, obj):
    """Settle a running phase whose chunks are all done: its counts and checksums from its chunks,
    its control totals and its sample; return its summary.

    A phase with chunks still pending stays running (a worker resumes it); one
    with failed chunks ends in error, naming them.
    """
    with _migration_cursor(run) as ctx:
        cls = PHASE_OF[obj]
        record = _phase_record(ctx, cls)
        # One settles: the others wait for it here and find the phase settled.
        ctx.env.cr.execute(SQL("SELECT id FROM bss_import_phase WHERE id = %s FOR NO KEY UPDATE", record.id))
        record.invalidate_recordset()
        if record.state != "running":
            return phase_summary(record)
        chunks = record.chunk_ids
        failed = chunks.filtered(lambda c: c.state == "failed")
        if failed:
            record.write(
                {
                    "state": "error",
                    "date_end": fields.Datetime.now(),
                    "error_message": f"{len(failed)} of {len(chunks)} chunks failed "
                    f"(the next pass retries them); last error: {failed[-1].error_message}",
                }
            )
            return phase_summary(record)
        if chunks.filtered(lambda c: c.state == "pending"):
            return phase_summary(record)
        phase = cls(ctx)
        tally = _Tally.of_chunks(chunks)
        try:
            with tally.step("statistics"):
                _refresh_statistics(ctx, phase, record, tally.counts.created, settling=True)
            with tally.step("control totals and sample"):
                _settle(record, tally, phase)
        finally:
            phase.close()
        _logger.info(
            "migration phase %s of run %s: %s source rows in %s chunks; %s",
            obj,
            ctx.run.name,
            tally.counts.source_rows,
            len(chunks),
            tally.timings(),
        )
        return phase_summary(record)


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
    """Counts and the two content checksums of a phase or a chunk (sums of row digests)."""

    def __init__(self):
        self.counts = Counts()
        self.source = checksums.SetChecksum()
        self.odoo = checksums.SetChecksum()
        self.differing = Counter()
        #: Seconds spent per step (resolve, write, quarantine, reconcile, settle), logged at the end.
        self.seconds = Counter()

    @classmethod
    def of_chunks(cls, chunks):
        """The tally of a phase from its chunks' counts, checksums and differing fields."""
        tally = cls()
        for chunk in chunks:
            _add(tally.counts, Counts(**{name: chunk[name] for name in Counts().as_dict()}))
            tally.source.total += checksums.SetChecksum.from_hex(chunk.source_sum).total
            tally.odoo.total += checksums.SetChecksum.from_hex(chunk.odoo_sum).total
            tally.differing.update(json.loads(chunk.differing_json or "{}"))
        tally.source.total %= checksums.MODULUS
        tally.odoo.total %= checksums.MODULUS
        return tally

    def merge(self, other):
        _add(self.counts, other.counts)
        self.seconds.update(other.seconds)

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
            self.source.add(key, source)
            self.odoo.add(key, odoo)
            self.differing.update(fields_)


#: Rows a phase creates before the planner's statistics of its tables are first refreshed.
ANALYZE_FIRST = 10000


def _refresh_statistics(ctx, phase, record, created, settling=False):
    """ANALYZE the phase's tables (its model's, its lines', the link table) when the phase has
    doubled what they held (``created``: the records of the phase's chunks done); when
    ``settling``, also when it created rows and never refreshed them. Returns True when it did.

    The count the statistics reflect is the phase's (``analyzed_rows``): of the
    workers that pass a doubling, the first refreshes them and the others go
    on writing (the phase's row, locked by that worker, is skipped).

    Autovacuum analyzes a table once a tenth of it changed, checked once a
    minute: while a phase runs, the planner keeps the statistics of the
    table before the run (a few rows) and plans the constraints' and
    lookups' queries (the parent cycle check, the links) for a tiny table,
    scanning a growing one once per chunk. The control totals join the clean
    rows to the links and the records in one query: with the statistics of
    before the phase (no link of its object yet) it loops over the phase's
    rows (10k accounts: 24 s instead of 0.6 s), so the settle refreshes
    statistics the phase never refreshed. Once refreshed, statistics at most
    half the table's size are refreshed at the next doubling only: the
    planner scales their row counts to the table's current size, and the
    values (the objects of the links, the keys' distribution) are known.

    Of the records' tables, only the columns the planner weighs for those
    queries are sampled (:func:`_planner_columns`): on a wide table such as the
    contacts' (over a hundred columns) that is half of a full ANALYZE. A partial ANALYZE does
    not reset autovacuum's count of changed rows, so autovacuum still analyzes
    every column once the phase's rows are committed.
    """
    if not phase.model:
        return False
    ctx.env.flush_all()
    cr = ctx.env.cr
    cr.execute(
        SQL(
            """UPDATE bss_import_phase SET analyzed_rows = %(created)s
                WHERE id = (SELECT id FROM bss_import_phase
                             WHERE id = %(id)s AND %(created)s >= %(threshold)s
                               FOR NO KEY UPDATE SKIP LOCKED)
            RETURNING id""",
            created=created,
            id=record.id,
            # (An integer field Odoo never wrote is NULL, read as 0.)
            threshold=SQL("CASE WHEN coalesce(analyzed_rows, 0) = 0 THEN 1 ELSE 2 * analyzed_rows END")
            if settling
            else SQL("greatest(%s, 2 * coalesce(analyzed_rows, 0))", ANALYZE_FIRST),
        )
    )
    record.invalidate_recordset(["analyzed_rows"])
    if not cr.fetchone():
        return False
    models = (phase.model, *phase.statistics_models)
    for table in (ctx.env[name]._table for name in models):
        columns = SQL(", ").join(map(SQL.identifier, _planner_columns(cr, table)))
        cr.execute(SQL("ANALYZE %s (%s)", SQL.identifier(table), columns))
    # The links are narrow and every column of theirs is joined on: all of it.
    cr.execute(SQL("ANALYZE bss_import_link"))
    return True


def _planner_columns(cr, table):
    """The columns of ``table`` its queries' plans depend on: those of its indexes (the lookups,
    the constraints' checks) and its foreign keys (the joins)."""
    cr.execute(
        SQL(
            """SELECT DISTINCT a.attname
                 FROM (SELECT indrelid AS rel, unnest(indkey) AS num FROM pg_index
                        WHERE indrelid = %s::regclass
                       UNION SELECT conrelid, unnest(conkey) FROM pg_constraint
                              WHERE conrelid = %s::regclass AND contype = 'f') c
                 JOIN pg_attribute a ON a.attrelid = c.rel AND a.attnum = c.num AND NOT a.attisdropped
                ORDER BY a.attname""",
            table,
            table,
        )
    )
    return [name for (name,) in cr.fetchall()]


def _done(ctx, record, column):
    """The sum of ``column`` over the chunks of the phase done (one query: a phase has hundreds)."""
    ctx.env["bss.import.chunk"].flush_model()
    ctx.env.cr.execute(
        SQL(
            "SELECT coalesce(sum(%s), 0) FROM bss_import_chunk WHERE phase_id = %s AND state = 'done'",
            SQL.identifier(column),
            record.id,
        )
    )
    return ctx.env.cr.fetchone()[0]


def _progress(ctx, phase, record):
    """Commit the phase's rows done so far on the side (the wizard and the CLI poll it)."""
    done = _done(ctx, record, "source_rows")
    total = staged_rows(ctx, phase)
    ctx.env["bss.import.progress"]._report(
        ctx.run.id, "migrate", done, total, f"{phase.object}: {done} of {total} rows"
    )


def staged_rows(ctx, phase):
    """The staged rows the phase reads: its table's (a cohort's: its members' keys of the object)."""
    if not phase.table:
        return 0
    if ctx.cohort and phase.object in cohorts.KEYED:
        if ctx.cohort_members is None:
            # Read once per worker: a cohort's members are fixed when it is created.
            ctx.cohort_members = cohorts.member_counts(ctx.env.cr, ctx.cohort.ids).get(ctx.cohort.id, {})
        return ctx.cohort_members.get(phase.object, 0)
    return sum(f.rows for f in ctx.staged.files.get(phase.table, ()))


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
        quarantine(ctx, phase, rejected)
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


def quarantine(ctx, phase, rejected, run=None):
    """Put the :class:`Rejected` rows of ``phase`` (an instance or its class) in the quarantine of
    ``run`` (default: the run being migrated)."""
    if not rejected:
        return
    ctx.env["bss.import.quarantine"].create(
        [
            {
                "run_id": (run or ctx.run).id,
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
        if obj == "ocs_buckets":
            raise UserError(
                ctx.env._(
                    "OCS buckets move with the run's cutover: correct the subscriber or the export, then "
                    "write the cutover's shadow again (or apply its final snapshot)."
                )
            )
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


def work_chunk(run, obj, chunk_id, chunk_size=CHUNK_SIZE):
    """Write the one chunk ``chunk_id`` of the running phase ``obj`` and commit it, as
    :func:`work_phase` writes each of its chunks (a queue job's unit of work); return True when
    this call wrote it.

    Idempotent: a chunk done already (its job run again after the worker died
    past the commit), failed, held by another worker, or of a phase no longer
    running is left as it is and False returned. A chunk whose worker died
    before the commit is pending again (its transaction rolled back): written
    here. On a phase that is not :attr:`~.base.Phase.parallel`, returns None
    without writing while another worker writes the phase (its advisory lock).
    """
    with _migration_cursor(run, chunk_size) as ctx:
        cls = PHASE_OF[obj]
        record = _phase_record(ctx, cls)
        if record.state != "running":
            return False
        cr = ctx.env.cr
        if not cls.parallel:
            cr.execute(SQL("SELECT pg_try_advisory_lock(%s, %s)", _LOCK_SPACE, record.id))
            if not cr.fetchone()[0]:
                return None
        phase = None
        try:
            chunk = _reclaim(ctx, chunk_id)
            if chunk is None or chunk.phase_id != record:
                return False
            phase, tally = cls(ctx), _Tally()
            ok, phase = _write_chunk_and_commit(ctx, phase, record, chunk, tally)
            if ok:
                # The statistics are refreshed as work_phase does (whenever the phase doubled what
                # they reflect).
                _refresh_statistics(ctx, phase, record, _done(ctx, record, "created"))
                # The migration's own cursor (_migration_cursor), never the caller's.
                cr.commit()  # pylint: disable=invalid-commit
            return ok
        except Exception:
            cr.rollback()
            raise
        finally:
            if phase is not None:
                phase.close()
            if not cls.parallel:
                cr.execute(SQL("SELECT pg_advisory_unlock(%s, %s)", _LOCK_SPACE, record.id))
