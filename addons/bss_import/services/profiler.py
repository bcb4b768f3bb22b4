"""Data-quality profiling of a staged run: set-based SQL over the staging tables.

The rules are :mod:`..lib.profile_rules` (shared with the export generator,
whose manifest the tests compare against). Each finding is one
``bss.import.finding`` per table and kind, counting affected source rows and
listing them (file, line, key, column) in ``bss.import.finding.row``; a row is
listed once per kind even when several of its columns are at fault.

Columns are located through the run's mapping: the line of a source column
says which canonical column it holds (``canonical``). Profiling again after
the operator corrects the mapping uses the correction.

Only the tables staging created for this run are read: a file's table name is
derived from the run and file ids (:func:`.stage_tables.table_name`), never
taken from the stored record. Findings are evidence that only this step
writes: they are created and settled through ``sudo()`` (the run's step
checked the caller's group and record rules first).
"""

from collections import defaultdict

from odoo.addons.telecom_subscriber.tools import identifiers
from odoo.tools import SQL

from ..lib import legacy_codes, profile_rules, schema
from ..lib.errors import ExportError
from . import documents, stage_tables

PERSON_DUPLICATES = "probable_duplicate_persons"
FINDING_KINDS = (*profile_rules.FINDINGS, PERSON_DUPLICATES)
DESCRIPTIONS = {kind: text for kind, (_unit, text) in profile_rules.FINDINGS.items()}
DESCRIPTIONS[PERSON_DUPLICATES] = (
    "another row with a different key has the same person: name + address + birth date "
    "(subscribers) or company registration number (billing accounts)"
)
#: Readable names of the finding kinds.
LABELS = {
    "duplicate_rows": "Duplicate rows",
    "orphans": "Orphans",
    "missing_mandatory": "Missing mandatory value",
    "inconsistent_state": "Inconsistent state",
    "unknown_legacy_code": "Unknown legacy code",
    "invalid_msisdn": "Invalid MSISDN",
    "invalid_imsi": "Invalid IMSI",
    "invalid_iccid": "Invalid ICCID",
    "encoding_damage": "Encoding damage",
    "secret_columns_dropped": "Secret columns dropped",
    "missing_document": "Missing or unreadable document",
    PERSON_DUPLICATES: "Probable duplicate persons",
}
_VALIDATORS = {
    "msisdn": identifiers.normalize_msisdn,
    "imsi": identifiers.validate_imsi,
    "iccid": lambda value: identifiers.validate_iccid(value, strict=True),
}
_BATCH = 10000


class StagedRun:
    """The staged tables of a run and where each canonical column lives."""

    def __init__(self, run):
        self.run = run
        self.cr = run.env.cr
        self.files = defaultdict(list)
        self.columns = {}
        self.tables = {}
        staged = set(stage_tables.run_tables(self.cr, run.id))
        for file in run.file_ids.filtered(lambda f: f.include and f.staging_table and f.table):
            table = stage_tables.table_name(run.id, file.id)
            if file.staging_table != table or table not in staged:
                raise ExportError(
                    f"its staged rows are not in this run's staging table {table}: they cannot be profiled",
                    file=file.name,
                )
            self.tables[file.id] = table
            self.files[file.table].append(file)
            located = {}
            # Secret columns are "drop" lines (and stay so): they are not in the staging table.
            for line in file.mapping_line_ids.sorted("column_index"):
                if line.canonical and line.action != "drop":
                    located.setdefault(line.canonical, line.column_index)
            self.columns[file.id] = located
        self.value_maps = {}
        for line in run.mapping_line_ids:
            if line.canonical and line.value_map_json:
                self.value_maps.setdefault((line.table, line.canonical), {}).update(line._value_map())

    def has(self, table, column):
        return any(column in self.columns[f.id] for f in self.files.get(table, ()))

    def source(self, table, columns):
        """SQL of the union of a table's staged files: _file, _line, _damaged and the canonical columns.

        Values are trimmed; empty cells are NULL.
        """
        files = [(f.id, self.tables[f.id], self.columns[f.id]) for f in self.files[table]]
        return SQL("(%s)", stage_tables.union_select(files, columns, extra=("_damaged",)))

    def key_expr(self, table, alias="s"):
        cols = [c for c in profile_rules.keys(table) if self.has(table, c)]
        if not cols:
            return SQL("NULL::text")
        return SQL("concat_ws('/', %s)", SQL(", ").join(SQL.identifier(alias, c) for c in cols))

    def canonical_values(self, table, column, raw_values):
        """Map raw codes to canonical values: the operator's value map first, then the legacy codes."""
        value_map = self.value_maps.get((table, column), {})
        out = {}
        for raw in raw_values:
            mapped = value_map.get(raw)
            if mapped is None:
                mapped = legacy_codes.map_code(table, column, raw)
            out[raw] = mapped
        return out


def _row_query(src_cols, table, ctx, where, column=None, detail=None):
    """Rows of ``table`` matching ``where`` (SQL over alias ``s``) as finding-row tuples."""
    return SQL(
        "SELECT s._file, s._line, %s AS key, %s::text AS col, %s::text AS detail FROM %s s WHERE %s",
        ctx.key_expr(table),
        column,
        detail,
        ctx.source(table, src_cols),
        where,
    )


def _duplicates(ctx, table):
    keys = profile_rules.keys(table)
    if not all(ctx.has(table, k) for k in keys):
        return None
    ids = SQL(", ").join(SQL.identifier(k) for k in keys)
    return SQL(
        """SELECT _file, _line, key, NULL::text AS col, 'first seen on row ' || first_line AS detail
             FROM (SELECT _file, _line, concat_ws('/', %(ids)s) AS key,
                          row_number() OVER w AS rn, first_value(_line) OVER w AS first_line
                     FROM %(src)s s
                    WHERE %(notnull)s
                   WINDOW w AS (PARTITION BY %(ids)s ORDER BY _file, _line)) d
            WHERE rn > 1""",
        ids=ids,
        src=ctx.source(table, keys),
        notnull=SQL(" AND ").join(SQL("%s IS NOT NULL", SQL.identifier(k)) for k in keys),
    )


def _person_duplicates(ctx, table):
    if table == "subscribers":
        needed = ("subscriber_id", "first_name", "last_name", "street", "city", "zip", "birth_date")
        if not all(ctx.has(table, c) for c in ("subscriber_id", "last_name", "street", "birth_date")):
            return None
        person = SQL(
            "lower(concat_ws(' ', first_name, last_name)), lower(street), lower(coalesce(city, '')), "
            "lower(coalesce(zip, '')), birth_date"
        )
        notnull = SQL("last_name IS NOT NULL AND street IS NOT NULL AND birth_date IS NOT NULL")
        key, detail = "subscriber_id", "same name, address and birth date as row "
    elif table == "billing_accounts":
        needed = ("account_number", "vat")
        if not all(ctx.has(table, c) for c in needed):
            return None
        person = SQL("upper(regexp_replace(vat, '[^A-Za-z0-9]', '', 'g'))")
        notnull = SQL("vat IS NOT NULL")
        key, detail = "account_number", "same company registration number as row "
    else:
        return None
    return SQL(
        """SELECT _file, _line, key, NULL::text AS col, %(detail)s || first_line AS detail
             FROM (SELECT _file, _line, %(key)s AS key,
                          row_number() OVER w AS rn, first_value(_line) OVER w AS first_line,
                          first_value(%(key)s) OVER w AS first_key
                     FROM %(src)s s WHERE %(notnull)s AND %(key)s IS NOT NULL
                   WINDOW w AS (PARTITION BY %(person)s ORDER BY _file, _line)) d
            WHERE rn > 1 AND key <> first_key""",
        detail=detail,
        key=SQL.identifier(key),
        src=ctx.source(table, needed),
        notnull=notnull,
        person=person,
    )


def _missing(ctx, table):
    cols = [c for c in profile_rules.mandatory(table) if ctx.has(table, c)]
    if not cols:
        return None
    first_missing = SQL(
        "CASE %s END",
        SQL(" ").join(SQL("WHEN %s IS NULL THEN %s", SQL.identifier("s", c), c) for c in cols),
    )
    where = SQL(" OR ").join(SQL("%s IS NULL", SQL.identifier("s", c)) for c in cols)
    src_cols = list(dict.fromkeys([*profile_rules.keys(table), *cols]))
    return _row_query(src_cols, table, ctx, SQL("(%s)", where), column=first_missing, detail="empty")


def _references(ctx, table):
    out = defaultdict(list)
    for col, ptable, pcol, kind in profile_rules.references(table):
        if not ctx.has(table, col) or ptable not in ctx.files or not ctx.has(ptable, pcol):
            continue
        if kind == "orphans":
            match = SQL("p.%s = s.%s", SQL.identifier(pcol), SQL.identifier(col))
        else:
            match = SQL("upper(p.%s) = upper(s.%s)", SQL.identifier(pcol), SQL.identifier(col))
        where = SQL(
            "s.%s IS NOT NULL AND NOT EXISTS (SELECT 1 FROM %s p WHERE %s)",
            SQL.identifier(col),
            ctx.source(ptable, [pcol]),
            match,
        )
        src_cols = list(dict.fromkeys([*profile_rules.keys(table), col]))
        out[kind].append(
            _row_query(src_cols, table, ctx, where, column=col, detail=f"not in {ptable}.{pcol}")
        )
    return out


def _distinct(ctx, table, column):
    ctx.cr.execute(
        SQL(
            "SELECT DISTINCT %s FROM %s s WHERE %s IS NOT NULL",
            SQL.identifier(column),
            ctx.source(table, [column]),
            SQL.identifier(column),
        )
    )
    return [r[0] for r in ctx.cr.fetchall()]


def _inconsistent(ctx, table):
    queries = []
    for rule in profile_rules.STATE_RULES:
        if rule["table"] != table:
            continue
        col, via, ptable, pcol = rule["column"], rule["via"], rule["parent_table"], rule["parent_column"]
        pkey = profile_rules.keys(ptable)[0]
        if not (ctx.has(table, col) and ctx.has(table, via) and ptable in ctx.files):
            continue
        if not (ctx.has(ptable, pcol) and ctx.has(ptable, pkey)):
            continue
        child = [
            raw
            for raw, canon in ctx.canonical_values(table, col, _distinct(ctx, table, col)).items()
            if canon in rule["values"]
        ]
        parent = [
            raw
            for raw, canon in ctx.canonical_values(ptable, pcol, _distinct(ctx, ptable, pcol)).items()
            if canon in rule["parent_values"]
        ]
        if not child or not parent:
            continue
        where = SQL(
            "s.%s = ANY(%s) AND EXISTS (SELECT 1 FROM %s p WHERE p.%s = s.%s AND p.%s = ANY(%s))",
            SQL.identifier(col),
            child,
            ctx.source(ptable, [pkey, pcol]),
            SQL.identifier(pkey),
            SQL.identifier(via),
            SQL.identifier(pcol),
            parent,
        )
        src_cols = list(dict.fromkeys([*profile_rules.keys(table), col, via]))
        queries.append(_row_query(src_cols, table, ctx, where, column=col, detail=rule["name"]))
    return queries


def _damaged(ctx, table):
    return _row_query(list(profile_rules.keys(table)), table, ctx, SQL("s._damaged"), detail="encoding")


def _new_finding(ctx, table, kind, unit="row"):
    # sudo: findings are evidence only this step creates (the run's step checked the caller).
    return (
        ctx.run.env["bss.import.finding"]
        .sudo()
        .create(
            {
                "run_id": ctx.run.id,
                "sequence": schema.OBJECTS.index(schema.object_of(table)),
                "object": schema.object_of(table),
                "table": table,
                "kind": kind,
                "unit": unit,
                "count": 0,
                "description": DESCRIPTIONS[kind],
            }
        )
    )


def _insert_sql(ctx, table, kind, queries):
    if not queries:
        return
    finding = _new_finding(ctx, table, kind)
    ctx.cr.execute(
        SQL(
            """INSERT INTO bss_import_finding_row (finding_id, file_id, line, key, column_name, detail)
               SELECT DISTINCT ON (_file, _line) %s, _file, _line, key, col, detail
                 FROM (%s) q ORDER BY _file, _line""",
            finding.id,
            SQL(" UNION ALL ").join(queries),
        )
    )
    _settle(finding, ctx.cr.rowcount)


def _settle(finding, count):
    if count:
        finding.count = count
    else:
        finding.unlink()


def _insert_rows(ctx, finding, rows):
    if not rows:
        return
    files, lines, keys, cols, details = zip(*rows, strict=True)
    ctx.cr.execute(
        SQL(
            """INSERT INTO bss_import_finding_row (finding_id, file_id, line, key, column_name, detail)
               SELECT %s, * FROM unnest(%s::integer[], %s::integer[], %s::text[], %s::text[], %s::text[])""",
            finding.id,
            list(files),
            list(lines),
            list(keys),
            list(cols),
            list(details),
        )
    )


def _column_batches(ctx, table, col, cursor_name):
    """The rows of ``table`` where ``col`` is set, as (file, line, key, value), in batches.

    A server-side cursor streams the column: one batch in memory at a time, flat on millions of
    rows."""
    query = SQL(
        "SELECT s._file, s._line, %s, s.%s FROM %s s WHERE s.%s IS NOT NULL",
        ctx.key_expr(table),
        SQL.identifier(col),
        ctx.source(table, list(dict.fromkeys([*profile_rules.keys(table), col]))),
        SQL.identifier(col),
    )
    with ctx.cr._cnx.cursor(name=cursor_name) as stream:
        stream.itersize = _BATCH
        stream.execute(query.code, query.params)
        while True:
            batch = stream.fetchmany(_BATCH)
            if not batch:
                break
            yield batch


def _identifiers(ctx, table):
    for (tname, col), kind in profile_rules.IDENTIFIER_CHECKS.items():
        if tname != table or not ctx.has(table, col):
            continue
        validate = _VALIDATORS[kind]
        finding = _new_finding(ctx, table, f"invalid_{kind}")
        count = 0
        for batch in _column_batches(ctx, table, col, f"bss_profile_{finding.id}"):
            bad = []
            for file_id, line, key, value in batch:
                try:
                    validate(value)
                except identifiers.IdentifierError as exc:
                    # The reason only: the value itself stays in staging.
                    bad.append((file_id, line, key, col, exc.reason))
            _insert_rows(ctx, finding, bad)
            count += len(bad)
        _settle(finding, count)


def _secrets(ctx, table):
    rows = []
    for file in ctx.files[table]:
        for dropped in file._dropped():
            detail = dropped["kind"]
            if not dropped.get("certain", True):
                detail += " (possible secret: not staged unless a Migration Manager marks it safe)"
            rows.append((file.id, None, None, dropped["header"], detail))
    if rows:
        finding = _new_finding(ctx, table, "secret_columns_dropped", unit="column")
        _insert_rows(ctx, finding, rows)
        finding.count = len(rows)


def _missing_documents(ctx, table):
    """Rows naming a document (``documents.file_path``) that is not among the run's staged documents,
    or that cannot be read (empty, or not the kind its extension says: :func:`.documents.unreadable`).

    The match is the migration's: the path inside the export, or the bare name of exactly one
    document (:func:`.documents.index`), after :func:`..lib.profile_rules.document_path`. Each
    staged document is checked once, its first bytes read from its file.
    """
    columns = [col for tname, col in sorted(profile_rules.DOCUMENT_COLUMNS) if tname == table]
    columns = [col for col in columns if ctx.has(table, col)]
    if not columns:
        return
    known = documents.index(ctx.run)
    staged = documents.staged_info(ctx.run, set(known.values()))
    problems = {}

    def problem(path):
        """Why the row's file is missing or unreadable (None: it can be read)."""
        attachment = known.get(path) or known.get(path.lstrip("./"))
        if not attachment:
            return "no such file in the export"
        if attachment not in problems:
            size, _checksum, fname, _mimetype = staged[attachment]
            reason = documents.unreadable(path, size, lambda: documents.head(ctx.run.env, attachment, fname))
            problems[attachment] = reason and f"the file is {reason}"
        return problems[attachment]

    finding = _new_finding(ctx, table, "missing_document")
    count = 0
    for col in columns:
        for batch in _column_batches(ctx, table, col, f"bss_profile_{finding.id}_{col}"):
            bad = [
                (file_id, line, key, col, reason)
                for file_id, line, key, value in batch
                if (path := profile_rules.document_path(value))
                # As the documents phase looks a path up (services/migration/attachments.py).
                and (reason := problem(path))
            ]
            _insert_rows(ctx, finding, bad)
            count += len(bad)
    _settle(finding, count)


def profile_run(run):
    """Compute every finding of a staged run (its previous findings must be deleted first)."""
    ctx = StagedRun(run)
    progress = run.env["bss.import.progress"]
    tables = [t for t in schema.TABLES if t in ctx.files]
    for n, table in enumerate(tables):
        progress._report(run.id, "profile", n, len(tables), table)
        _secrets(ctx, table)
        _insert_sql(ctx, table, "duplicate_rows", [q for q in [_duplicates(ctx, table)] if q])
        _insert_sql(ctx, table, PERSON_DUPLICATES, [q for q in [_person_duplicates(ctx, table)] if q])
        for kind, queries in _references(ctx, table).items():
            _insert_sql(ctx, table, kind, queries)
        _insert_sql(ctx, table, "missing_mandatory", [q for q in [_missing(ctx, table)] if q])
        _insert_sql(ctx, table, "inconsistent_state", _inconsistent(ctx, table))
        _identifiers(ctx, table)
        _insert_sql(ctx, table, "encoding_damage", [_damaged(ctx, table)])
        _missing_documents(ctx, table)
    run.env["bss.import.finding.row"].invalidate_model()
