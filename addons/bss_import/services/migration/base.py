"""The phase interface and what every phase shares: reading staged rows, links, checksums.

A phase reads the staged rows of its table through the run's confirmed
mapping (the mapping line of a source column says which canonical column
it holds, as the profiler reads them), resolves each row into the values of
an Odoo record or into quarantine reasons, writes a chunk of resolved rows
with ``create()`` on value lists, and reconciles the source with Odoo.

Every record is identified by its source key through ``bss.import.link``
(company, object, key): a record whose mapped values have the checksum
stored on its link is not written at all (``unchanged``); a changed row
writes only the fields whose value differs and keeps the values it replaced.
"""

import datetime
import decimal
import json
from collections import Counter
from dataclasses import dataclass, field

from odoo.tools import SQL

from ...lib import legacy_codes, resolution, schema, values
from ...lib.copy_stream import column_name
from .. import stage_tables
from . import cohorts, partner_insert

#: Context of every write of the migration: no tracking messages, no followers, no mail.
MAIL_CONTEXT = {
    "tracking_disable": True,
    "mail_create_nolog": True,
    "mail_create_nosubscribe": True,
    "mail_notrack": True,
    "mail_auto_subscribe_no_notify": True,
    "active_test": False,
    # A changed billing account does not write its unchanged subscribers (models/res_partner.py).
    "bss_import_no_empty_commercial_sync": True,
}


@dataclass
class Row:
    """One staged source row: its file, line, key and values (canonical column or x_ field -> text)."""

    file_id: int | None
    line: int | None
    values: dict
    key: str | None = None
    table: str | None = None
    usage: dict = field(default_factory=dict)


@dataclass
class Resolved:
    """A row that passes: the values of its Odoo record."""

    row: Row
    vals: dict
    flag: str | None = None
    #: The checksum of ``vals`` once computed (the write stores it on the link, reconcile compares it).
    checksum: str | None = None


@dataclass
class Rejected:
    """A row that goes to quarantine."""

    row: Row
    reasons: list = field(default_factory=list)


@dataclass
class Counts:
    source_rows: int = 0
    duplicates_collapsed: int = 0
    quarantined: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    flagged: int = 0

    def as_dict(self):
        return dict(self.__dict__)


def code_totals(label, by_source, by_odoo):
    """[(name, source count, Odoo count)] per code: ``by_source`` and ``by_odoo`` {code: count}, "" empty."""
    return [
        (f"{label} {code or '(empty)'}", str(by_source.get(code, 0)), str(by_odoo.get(code, 0)))
        for code in sorted(set(by_source) | set(by_odoo))
    ]


def group_totals(prefix, names, pairs):
    """[(name, source text, Odoo text)] per group: its record count, then the sum of each amount.

    ``pairs`` is an iterable of (source, odoo): each side (group, amounts) or
    None (an Odoo side missing), the amounts Decimal in the order of ``names``
    (the labels of their sums). Read once: it can stream.
    """
    by_source, by_odoo = {}, {}
    for pair in pairs:
        for item, by in zip(pair, (by_source, by_odoo), strict=True):
            if item is None:
                continue
            group, amounts = item
            acc = by.setdefault(group, [0] + [decimal.Decimal(0)] * len(names))
            acc[0] += 1
            for n, amount in enumerate(amounts, start=1):
                acc[n] += amount
    empty = [0] + [decimal.Decimal(0)] * len(names)
    totals = []
    for group in sorted(set(by_source) | set(by_odoo)):
        src, ood = by_source.get(group, empty), by_odoo.get(group, empty)
        totals.append((f"{prefix} {group}: records", str(src[0]), str(ood[0])))
        totals += [(f"{prefix} {group}: {name}", str(src[n]), str(ood[n])) for n, name in enumerate(names, 1)]
    return totals


def comparable(value):
    """A field value in the form checksums and diffs compare (recordsets as ids, dates as text)."""
    if hasattr(value, "_name") and hasattr(value, "ids"):
        return value.id or False if len(value) <= 1 else sorted(value.ids)
    if isinstance(value, datetime.datetime):
        return value.replace(microsecond=0).isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 6)
    if value is None or value == "":
        return False
    return value


#: Types :func:`comparable` returns as they are ("" as False: the same canonical text).
_COMPARABLE_AS_IS = frozenset((str, bool, int, type(None)))


#: Types whose checksum text :func:`_checksum_text` remembers: hashable, and two equal values have
#: the same text (not so an aware datetime: equal instants, texts in their own offsets).
_REMEMBERED = frozenset((str, bool, int, float, type(None), decimal.Decimal, datetime.date))
#: {(type, value): checksum text}. A chunk's values repeat (statuses, plans, accounts, dates,
#: the empty ones): most are canonicalised once. Emptied when it reaches _TEXTS_MAX entries.
_TEXTS = {}
_TEXTS_MAX = 100_000


def _identical(source, odoo):
    """True when every value of ``odoo`` is of the same type as the ``source`` one and equal to it,
    of the types whose equal values have one checksum text (a float NaN is never identical)."""
    for name, value in source.items():
        other = odoo[name]
        if type(value) is not type(other) or type(value) not in _REMEMBERED or value != other:
            return False
    return True


def _checksum_text(value):
    """``canonical(comparable(value))``, without the comparable step for the types it keeps."""
    kind = type(value)
    if kind not in _REMEMBERED:
        return resolution.canonical(comparable(value))
    key = (kind, value)
    text = _TEXTS.get(key)
    if text is None:
        if len(_TEXTS) >= _TEXTS_MAX:
            _TEXTS.clear()
        text = _TEXTS[key] = resolution.canonical(value if kind in _COMPARABLE_AS_IS else comparable(value))
    return text


class Phase:
    """One migrated object. Subclasses set the class attributes and override the hooks.

    ``object``: the schema object; ``table``: the staging table read; ``model``:
    the Odoo model written; ``fixed_vals``: values every record gets.
    """

    object = None
    table = None
    model = None
    #: Other models whose tables a chunk fills (lines): their statistics are refreshed too.
    statistics_models = ()
    #: Every model the phase's links point to when it writes several (an interaction is a message
    #: or an activity); empty: its ``model`` only. Rollback and vanished records read them all.
    models = ()

    def __init__(self, ctx):
        self.ctx = ctx
        self.env = ctx.env
        self.spec = schema.TABLES[self.table] if self.table else None
        self.lines = ctx.mapping_lines(self.table) if self.table else {}
        self._mapped_lines = None

    # ------------------------------------------------------------ which rows
    def has_rows(self):
        return bool(self.table and self.ctx.staged.files.get(self.table))

    def source_sql(self):
        """SQL of the staged rows of the phase's table: _file, _line and one text column per mapped column.

        Columns are named by their canonical name, or by their new x_ field
        when the operator mapped an unknown column to a new field.
        """
        files = [
            (file.id, self.ctx.staged.tables[file.id], self._located(file))
            for file in self.ctx.staged.files[self.table]
        ]
        return cohorts.restrict(
            stage_tables.union_select(files, self.column_names()), self.table, self.ctx.cohort
        )

    @staticmethod
    def _located(file):
        """{canonical column or new x_ field: index of its column in the staged file}."""
        located = {}
        for line in file.mapping_line_ids.sorted("column_index"):
            name = line.canonical or (line.action == "new_field" and line.target_field)
            if name and line.action != "drop":
                located.setdefault(name, line.column_index)
        return located

    def index_range(self):
        """Index the column the phase's chunks are cut by, in every staged file of its table and of
        its child tables: each chunk then reads its key range, not the whole table."""
        column = self.range_key()
        if column and self.has_rows():
            for file in self.ctx.staged.files[self.table]:
                located = self._located(file)
                if column in located:
                    stage_tables.index_trimmed(self.env.cr, self.ctx.staged.tables[file.id], located[column])
        for reader in self.readers():
            reader.index_range()

    def column_names(self):
        names = list(self.spec.column_names)
        for line in self.lines.values():
            if line.action == "new_field" and not line.canonical and line.target_field not in names:
                names.append(line.target_field)
        return names

    #: The key range of the chunk being written: (after key, up to key), either None when open;
    #: None: every row (the phase settling, a sample, a retry).
    key_range = None
    #: The column the range applies to: the key (None), or a child table's reference to its parent.
    range_column = None

    def readers(self):
        """The child tables streamed with the phase's rows (order lines, usage): they read the same range."""
        return ()

    def range_key(self):
        """The column a phase is cut into chunks by (None: the phase is one chunk)."""
        if self.range_column:
            return self.range_column
        return self.spec.key[0] if self.spec and len(self.spec.key) == 1 else None

    def set_range(self, key_range):
        self.key_range = key_range
        for reader in self.readers():
            reader.set_range(key_range)

    def range_sql(self):
        """The WHERE condition of :attr:`key_range` over the rows of :meth:`source_sql`, in byte order.

        The ranges of a phase's chunks partition the keys: each row belongs to
        exactly one chunk; rows without a key go with the last chunk (the
        resolution rejects them for their missing key).
        """
        column = self.range_key()
        if self.key_range is None or not column:
            return SQL("TRUE")
        after, upto = self.key_range
        col = SQL('%s COLLATE "C"', SQL.identifier(column))
        parts = []
        if after is not None:
            parts.append(
                SQL("%s > %s", col, after)
                if upto is not None
                else SQL("(%s > %s OR %s IS NULL)", col, after, SQL.identifier(column))
            )
        if upto is not None:
            parts.append(SQL("%s <= %s", col, upto))
        return SQL(" AND ").join(parts) if parts else SQL("TRUE")

    def key_of(self, values_):
        parts = [values_.get(k) for k in self.spec.key]
        return "/".join(p for p in parts if p) if all(parts) else None

    def rows(self):
        """Yield the staged rows ordered by key, then file and line (duplicates are adjacent)."""
        if not self.has_rows():
            return
        names = self.column_names()
        # Byte order (COLLATE "C"), the order Python compares strings in: phases can merge two
        # streams by key (subscribers and their usage) without holding either in memory.
        keys = SQL(", ").join(SQL('%s COLLATE "C"', SQL.identifier(k)) for k in self.spec.key)
        query = SQL(
            "SELECT * FROM (%s) s WHERE %s ORDER BY %s, _file, _line",
            self.source_sql(),
            self.range_sql(),
            keys,
        )
        cr = self.env.cr
        # A server-side cursor streams the rows: memory stays flat on millions of rows.
        with cr._cnx.cursor(name=f"bss_migrate_{self.ctx.run.id}_{self.table}") as stream:
            stream.itersize = 2000
            stream.execute(query.code, query.params)
            for rec in stream:
                vals = dict(zip(names, rec[2:], strict=True))
                yield Row(rec[0], rec[1], vals, self.key_of(vals), self.table)

    #: True when a delta pass lists the records of this object its export no longer has: records
    #: read from the export's rows by their key (not the custom fields, which the mapping defines).
    reports_vanished = True

    #: True when several workers may write chunks of the phase at once: everything its chunks
    #: share (plans, accounts) exists before the phase starts. A phase that creates shared
    #: records as it goes (a journal, a tax, a pricelist) runs one worker at a time.
    parallel = False

    #: Keys of a chunk of this phase per key of the run's chunk size: a phase whose records cost
    #: ten times a contact's (an order with its lines, a posted invoice) takes a tenth of the keys,
    #: so that a chunk takes seconds, well within a web worker's time limits, whatever the object.
    chunk_scale = 1

    def keys_per_chunk(self, chunk_size):
        return max(1, int(chunk_size * self.chunk_scale))

    def close(self):
        """Release what the phase holds across chunks (temporary tables) when a worker is done."""

    #: A phase whose records cannot take their replaced values back one field at a time (a rollback
    #: of a delta pass) overrides ``restore(record, {field: value})``: the values as the change log
    #: keeps them, written at once. The base phase has none (:func:`.rollback.restore_batch`).
    restore = None

    # ---------------------------------------------------------- resolution
    def collapse(self, key, group, counts):
        """Yield the resolution of the rows sharing ``key``: exact copies collapse into one
        (counted in ``counts.duplicates_collapsed``); rows with this key and different values
        are all quarantined."""
        if len(group) == 1:  # most keys: nothing to compare
            yield self.resolve(group[0])
            return
        indexed = [{**row.values, "_line": n} for n, row in enumerate(group)]
        unique, collapsed, conflicts = resolution.collapse_duplicates(indexed, list(self.spec.key))
        counts.duplicates_collapsed += collapsed
        for _key, positions in conflicts:
            lines = ", ".join(str(group[p].line) for p in positions)
            for p in positions:
                yield Rejected(
                    group[p], [f"the key is on {len(positions)} rows with different values (lines {lines})"]
                )
        for values_ in unique:
            yield self.resolve(group[values_["_line"]])

    def resolve(self, row):
        """Return :class:`Resolved` or :class:`Rejected` for one row (no database write)."""
        row_values, missing = resolution.apply_defaults(
            dict(row.values), self.spec.mandatory, self.defaults()
        )
        if missing:
            return Rejected(row, [f"missing mandatory value: {name}" for name in missing])
        vals, reasons = self.map_values(row_values)
        if reasons:
            return Rejected(row, reasons)
        return self.complete(row, row_values, vals)

    def defaults(self):
        """Safe, deterministic defaults of missing mandatory values (none by default)."""
        return {}

    def complete(self, row, row_values, vals):
        """Phase-specific checks and values on top of the mapped ones."""
        return Resolved(row, vals)

    def mapped_lines(self):
        """([(column, line)] converted one by one, [(column, line)] combined into one field) of the
        columns :meth:`map_values` writes: the mapping's, less what the phase resolves itself.
        Sorted out once per pass (the mapping does not change while a phase runs)."""
        if self._mapped_lines is None:
            plain, combined = [], []
            for name, line in self.lines.items():
                if line.action not in ("map", "new_field") or not line.target_field:
                    continue
                if line.target_type == "many2one" or self.handled(name):
                    continue
                (combined if line.combine_json else plain).append((name, line))
            self._mapped_lines = (plain, combined)
        return self._mapped_lines

    def map_values(self, row_values):
        """The values of the mapped columns, converted to their target type; (vals, reasons)."""
        vals, reasons, joined = {}, [], {}
        plain, combined = self.mapped_lines()
        for name, line in plain:
            try:
                vals[line.target_field] = self.convert(line, name, row_values.get(name))
            except ValueError as exc:
                reasons.append(f"{name}: {exc}")
        for name, line in combined:
            joined.setdefault(line.target_field, []).append((line, row_values.get(name)))
        for target, parts in joined.items():
            rule = json.loads(parts[0][0].combine_json)
            order = rule.get("order") or [ln.canonical for ln, _r in parts]
            by_name = {ln.canonical: raw for ln, raw in parts}
            texts = [by_name.get(n) for n in order if by_name.get(n)]
            if rule.get("rule") == "first_non_empty":
                vals[target] = texts[0] if texts else False
            else:
                vals[target] = rule.get("separator", " ").join(texts) or False
        return vals, reasons

    def handled(self, name):
        """True for a column the phase resolves itself (references, identifiers)."""
        return False

    def convert(self, line, name, raw):
        """Convert a text cell to the target field type of the line (ValueError if it does not fit)."""
        ttype = line.target_type
        if raw is None:
            # Odoo reads an unset number as 0: the source's empty cell is the same value.
            return 0 if ttype in ("integer", "float", "monetary") else False
        if ttype in ("float", "monetary"):
            return float(values.parse_decimal(raw, line.number_format))
        if ttype in ("date", "datetime"):
            parsed = values.parse_datetime(raw, line.date_parts)
            return parsed.date() if ttype == "date" else parsed
        if ttype == "integer":
            return values.parse_int(raw, line.number_format)
        if ttype == "boolean":
            return values.parse_bool(raw)
        if ttype == "selection":
            value_map = line._value_map()
            code = value_map.get(raw)
            if code is None and self.table:
                code = legacy_codes.map_code(self.table, name, raw)
            if code is None and raw in value_map.values():
                code = raw
            if not code:
                raise ValueError(f"unknown code {raw!r}")
            return code
        return raw

    # ---------------------------------------------------------------- writes
    def create_vals(self, vals):
        """Values added when the record is created (company, kind of record...)."""
        return dict(vals)

    def checksum(self, vals):
        """The content checksum of ``vals``: :func:`~..lib.resolution.row_checksum` of their
        :func:`comparable` values (computed per value without the intermediate dict)."""
        return resolution.digest([(name, _checksum_text(vals[name])) for name in sorted(vals)])

    def write_chunk(self, items, counts):
        """Create the new records of a chunk in one ``create()``, update changed ones, skip unchanged.

        Contacts are created by :func:`.partner_insert.create_contacts` (what
        ``create()`` stores, one INSERT per chunk); links by one INSERT. A phase
        whose records are written otherwise (a model's own entry point) overrides
        the hooks :meth:`signature`, :meth:`odoo_signature`, :meth:`create_records`
        and :meth:`update_record`.
        """
        Model = self.env[self.model]
        links = self.ctx.links(self.object, [it.row.key for it in items])
        new, changes = [], []
        for item in items:
            signature = self.signature(item)
            checksum = item.checksum = self.checksum(signature)
            link = links.get(item.row.key)
            if item.flag:
                counts.flagged += 1
            if not link:
                new.append((item, checksum))
                continue
            if link.checksum == checksum:
                counts.unchanged += 1
                continue
            record = Model.browse(link.res_id)
            old = {f: comparable(v) for f, v in self.odoo_signature(record, signature).items()}
            changed = {f: v for f, v in signature.items() if comparable(v) != old[f]}
            if changed:
                self.update_record(record, item, changed)
                counts.updated += 1
                changes.append((item.row.key, record.id, old, changed))
            else:
                counts.unchanged += 1
            link.write(
                {
                    "checksum": checksum,
                    "last_run_id": self.ctx.run.id,
                    "flag": item.flag or False,
                    "previous_values_json": json.dumps({f: old[f] for f in changed}, default=str)
                    if changed
                    else link.previous_values_json,
                }
            )
        self.ctx.log_changes(self.object, self.model, changes)
        if new:
            records = self.create_records([item for item, _checksum in new])
            self.ctx.create_links(
                self.object,
                self.model,
                [
                    (item.row.key, rec.id, checksum, item.flag)
                    for (item, checksum), rec in zip(new, records, strict=True)
                ],
            )
            counts.created += len(records)

    def signature(self, item):
        """The values checksummed, compared and written for one resolved row (its mapped values)."""
        return item.vals

    def odoo_signature(self, record, names):
        """The Odoo record's values of the signature's ``names``."""
        return {name: record[name] for name in names}

    def create_records(self, items):
        """Create the records of new resolved rows, in order: contacts with one INSERT per chunk."""
        records = partner_insert.create_contacts(
            self.env[self.model], [self.create_vals(it.vals) for it in items]
        )
        self.after_create(records, items)
        return records

    def update_record(self, record, item, changed):
        """Write the ``changed`` values of an existing record."""
        record.write(changed)

    def after_create(self, records, items):
        """Hook run on the records a chunk created (e.g. their pricelist entries)."""

    # ------------------------------------------------------------- reconcile
    def reconcile(self, items):
        """[(source key, source checksum, Odoo checksum, differing fields)] of the migrated rows of a chunk.

        The Odoo side reads the linked record's mapped fields and checksums them
        the same way as the source's mapped values: a value lost or changed on
        the way shows as a mismatch, and the fields that differ are named.
        """
        res_ids = self.ctx.res_ids(self.object, [it.row.key for it in items])
        names = sorted({name for it in items for name in it.vals})
        stored = self.read_back(set(res_ids.values()), names)
        out = []
        for item in items:
            values_ = stored.get(res_ids.get(item.row.key))
            if values_ is None:
                out.append((item.row.key, self.checksum(item.vals), "missing", ["record missing"]))
                continue
            odoo = {f: values_[f] for f in item.vals}
            source = item.checksum or self.checksum(item.vals)
            # Values read back identical to the source's (same type, equal) have the same canonical
            # texts, hence the same digest: only the others are checksummed again.
            same = item.checksum and self.signature(item) is item.vals and _identical(item.vals, odoo)
            target = source if same else self.checksum(odoo)
            # Field by field only when the row differs: it costs one checksum per field.
            out.append(
                (item.row.key, source, target, self.differing(item.vals, odoo) if source != target else [])
            )
        return out

    def read_back(self, ids, names):
        """{id: {field: value}} of the existing records ``ids``, as Odoo reads them.

        Plain stored columns are read with one SELECT for the chunk (an empty
        number or flag read as Odoo reads it: 0, False); fields Odoo reads
        otherwise (non-stored, company-dependent, translated, relational lists,
        files) through the ORM, the chunk as one prefetch set.
        """
        Model = self.env[self.model]
        sql_names, orm_names = [], []
        for name in names:
            field = Model._fields[name]
            plain = field.store and field.column_type and not field.company_dependent and not field.translate
            (sql_names if plain and field.type not in ("binary", "properties") else orm_names).append(name)
        Model.flush_model(sql_names)
        self.env.cr.execute(
            SQL(
                "SELECT %s FROM %s WHERE id = ANY(%s)",
                SQL(", ").join(SQL.identifier(n) for n in ["id", *sql_names]),
                SQL.identifier(Model._table),
                list(ids),
            )
        )
        empty = {
            name: (0 if Model._fields[name].type in ("integer", "float", "monetary") else False)
            for name in sql_names
        }
        out = {}
        for row in self.env.cr.fetchall():
            out[row[0]] = {
                name: empty[name] if value is None else value
                for name, value in zip(sql_names, row[1:], strict=True)
            }
        if orm_names:
            # Iterating keeps the chunk as the records' prefetch set (browse(id) would not); each
            # field is fetched alone (a company-dependent one, not its whole prefetch group).
            for record in Model.browse(list(out)).with_context(prefetch_fields=False):
                out[record.id].update({name: record[name] for name in orm_names})
        return out

    def differing(self, source, odoo):
        """The fields whose values differ between the source's mapped values and the Odoo record's."""
        return [f for f in sorted(source) if self.checksum({f: source[f]}) != self.checksum({f: odoo.get(f)})]

    # ------------------------------------------------- control totals, sample
    #: Keys shown side by side on the phase (0: no sample); the run's id seeds which keys.
    sample_size = 0

    def control_totals(self):
        """[(name, source text, Odoo text)] the runner compares when the phase settles (none by default).

        The source side is the phase's clean rows, the Odoo side the records
        linked to their keys (:meth:`paired_rows`). Amounts are Decimal text.
        """
        return []

    def clean_sql(self, columns):
        """SQL of the clean rows: (key, *columns) of the staged rows of the phase minus the
        quarantined and collapsed ones.

        One row per key (the first by file and line: the copies collapsed into
        it), keys with an open quarantine row of this run left out. Read from
        the staging tables, never from what the phase wrote.
        """
        key = SQL("concat_ws('/', %s)", SQL(", ").join(SQL.identifier(k) for k in self.spec.key))
        present = SQL(" AND ").join(SQL("%s IS NOT NULL", SQL.identifier(k)) for k in self.spec.key)
        select = SQL(", ").join([SQL("%s AS _key", key), *(SQL.identifier(c) for c in columns)])
        return SQL(
            """SELECT DISTINCT ON (1) %s FROM (%s) s
                WHERE %s AND %s NOT IN (
                    SELECT source_key FROM bss_import_quarantine
                     WHERE run_id = %s AND object = %s AND state = 'open' AND source_key IS NOT NULL)
             ORDER BY 1, _file, _line""",
            select,
            self.source_sql(),
            present,
            key,
            self.ctx.run.id,
            self.object,
        )

    def clean_rows(self, columns):
        """{key: {column: text}} of the clean rows (:meth:`clean_sql`), for phases of a few rows
        (plans); the totals of a large phase stream them with :meth:`paired_rows`."""
        if not self.has_rows():
            return {}
        cols = [c for c in columns if c in self.column_names()]
        self.env.flush_all()
        self.env.cr.execute(self.clean_sql(cols))
        return {rec[0]: dict(zip(cols, rec[1:], strict=True)) for rec in self.env.cr.fetchall()}

    def paired_rows(self, columns, fields_):
        """Yield (key, {column: text}, {field: value} or None) per clean row: its source values and the
        Odoo record linked to its key (None when there is none), streamed in key order.

        One query joins the clean rows to ``bss.import.link`` and the model's
        table, read through a server-side cursor: memory holds a batch of rows,
        not the phase (the totals of a million lines are sums over this stream).
        """
        if not self.has_rows():
            return
        cols = [c for c in columns if c in self.column_names()]
        Model = self.env[self.model]
        self.env.flush_all()
        query = SQL(
            """SELECT c.*, %s
                 FROM (%s) c
                 LEFT JOIN bss_import_link l
                   ON l.company_id = %s AND l.object = %s AND l.res_model = %s AND l.source_key = c._key
                 LEFT JOIN %s t ON t.id = l.res_id""",
            SQL(", ").join([SQL("t.id IS NOT NULL"), *(SQL("t.%s", SQL.identifier(f)) for f in fields_)]),
            self.clean_sql(cols),
            self.ctx.company.id,
            self.object,
            self.model,
            SQL.identifier(Model._table),
        )
        width = 1 + len(cols)
        with self.env.cr._cnx.cursor(name=f"bss_pairs_{self.ctx.run.id}_{self.object}") as stream:
            stream.itersize = 5000
            stream.execute(query.code, query.params)
            for rec in stream:
                source = dict(zip(cols, rec[1:width], strict=True))
                odoo = dict(zip(fields_, rec[width + 1 :], strict=True)) if rec[width] else None
                yield rec[0], source, odoo

    def count_totals(self, column=None, target=None, label=None):
        """Record count (and count by ``column`` of the source vs ``target`` field of Odoo)."""
        line = self.lines.get(column) if column else None
        sources = odoos = 0
        by_source, by_odoo = Counter(), Counter()
        for _key, source, odoo in self.paired_rows([column] if column else [], [target] if target else []):
            sources += 1
            odoos += odoo is not None
            if column:
                raw = source.get(column)
                try:
                    code = self.convert(line, column, raw) if line else raw
                except ValueError:
                    code = raw
                by_source[code or ""] += 1
                if odoo is not None:
                    by_odoo[odoo[target] or ""] += 1
        name = label or self.object.replace("_", " ")
        totals = [
            (f"{name}: records (source rows minus quarantined and collapsed)", str(sources), str(odoos))
        ]
        if column:
            totals += code_totals(f"{name}: records with {column}", by_source, by_odoo)
        return totals

    def amount_totals(self, pairs):
        """Sums of source amount columns vs Odoo amount fields, Decimal text to the cent (all currencies).

        ``pairs``: (source column, Odoo field). Source cells are parsed with the
        mapping's decimal separator; an empty cell counts as 0.
        """
        cent = decimal.Decimal("0.01")
        formats = {
            column: (line.number_format if (line := self.lines.get(column)) else values.DecimalFormat())
            for column, _f in pairs
        }
        src = [decimal.Decimal(0)] * len(pairs)
        ood = [decimal.Decimal(0)] * len(pairs)
        for _key, source, odoo in self.paired_rows([c for c, _f in pairs], [f for _c, f in pairs]):
            for n, (column, target) in enumerate(pairs):
                if source.get(column):
                    src[n] += values.parse_decimal(source[column], formats[column]).quantize(cent)
                if odoo is not None:
                    ood[n] += decimal.Decimal(str(odoo[target] or 0)).quantize(cent)
        return [
            (f"{self.object}: sum of {column} (Odoo {target}), all currencies", str(src[n]), str(ood[n]))
            for n, (column, target) in enumerate(pairs)
        ]

    def sample_keys(self):
        """The seeded sample of the clean keys linked in Odoo (``resolution.sample``, the run's id as
        seed), the keys streamed through it."""
        if not self.sample_size:
            return []
        linked = (key for key, _source, odoo in self.paired_rows([], []) if odoo is not None)
        return resolution.sample(linked, self.ctx.run.id, self.sample_size)

    def sample_lines(self):
        """[(key, field, source text, Odoo text, differs)] of a seeded sample of the migrated keys.

        The sample is :meth:`sample_keys`; the source values are the staged row
        resolved again, the Odoo values the linked record's, compared as
        reconcile does.
        """
        keys = set(self.sample_keys())
        if not keys:
            return []
        resolved = {}
        for row in self.rows():
            if row.key in keys and row.key not in resolved:
                item = self.resolve(row)
                if isinstance(item, Resolved):
                    resolved[row.key] = item
        links = self.ctx.links(self.object, sorted(resolved))
        out = []
        for key in sorted(resolved):
            vals = self.sample_source(resolved[key])
            record = self.env[self.model].browse(links[key].res_id).exists() if key in links else None
            odoo_vals = self.sample_odoo(record, vals) if record else {}
            for name in sorted(vals):
                odoo = odoo_vals.get(name)
                differs = self.checksum({name: vals[name]}) != self.checksum({name: odoo})
                out.append((key, name, str(comparable(vals[name])), str(comparable(odoo)), differs))
        return out

    def sample_source(self, item):
        """The values of a resolved row shown in the sample (a phase with lines adds them)."""
        return item.vals

    def sample_odoo(self, record, vals):
        """The Odoo record's values of the fields of ``vals``, as :meth:`sample_source` names them."""
        return {name: record[name] for name in vals}

    # ------------------------------------------------------------- retries
    def restage(self, row):
        """Write the values of a corrected row (a quarantined row retried) over its staged row.

        The staged tables are the source the reconciliation reads: once the
        operator's correction is migrated, it is the source row (the
        quarantine row keeps the values and the reasons it was rejected for).
        """
        file = self.env["bss.import.file"].browse(row.file_id) if row.file_id else None
        table = file and self.ctx.staged.tables.get(file.id)
        if not table or not row.line:
            return
        located = self._located(file)
        sets = [
            SQL("%s = %s", SQL.identifier(column_name(located[name])), value)
            for name, value in row.values.items()
            if name in located
        ]
        if sets:
            self.env.cr.execute(
                SQL(
                    "UPDATE %s SET %s WHERE _line = %s",
                    stage_tables.ident(table),
                    SQL(", ").join(sets),
                    row.line,
                )
            )


def read_ahead(rows, size, prefetch):
    """``rows`` as they come, by batches of ``size``: ``prefetch(batch)`` runs before each batch
    is yielded (one batch in memory)."""
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            prefetch(batch)
            yield from batch
            batch = []
    prefetch(batch)
    yield from batch


class LinkedCustomers:
    """For a phase whose rows name a subscriber (``subscriber_id``) and/or a billing account
    (``account_number``): the migrated record of each, looked up per batch of rows in two
    queries (:meth:`prefetched`), one query for a key outside the batch."""

    #: Rows looked up at once.
    LINK_BATCH = 2000
    #: (object, column) of the keys rows name.
    LINK_COLUMNS = (("subscribers", "subscriber_id"), ("billing_accounts", "account_number"))

    def prefetched(self, rows):
        """``rows`` as they come, each batch's subscribers and accounts looked up before it is
        yielded."""
        return read_ahead(rows, self.LINK_BATCH, self.prefetch)

    def prefetch(self, rows):
        """Look up the migrated subscribers and accounts of ``rows`` in two queries."""
        self._linked = {}
        for obj, column in self.LINK_COLUMNS:
            keys = {(row.values.get(column) or "").strip() for row in rows} - {""}
            found = self.ctx.res_ids(obj, keys)
            self._linked.update({(obj, key): found.get(key) for key in keys})

    def linked(self, obj, key):
        """The id of the record migrated from ``key`` of ``obj`` (None when there is none)."""
        key = (key or "").strip()
        if not key:
            return None
        linked = getattr(self, "_linked", None)
        if linked is None:
            linked = self._linked = {}
        if (obj, key) not in linked:
            linked[(obj, key)] = self.ctx.res_ids(obj, [key]).get(key)
        return linked[(obj, key)]
