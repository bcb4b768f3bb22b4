"""Per-run staging tables: raw text rows loaded with PostgreSQL COPY.

Each staged file gets ``bss_stage.r<run>_f<file>``: ``_line`` (line of the
source file), ``_damaged`` (encoding damage seen in the row) and one text
column ``c<index>`` per kept source column. The schema is separate from
Odoo's tables and has no model: only the import run's methods (which check the
migration groups) read it.
"""

import psycopg2
from psycopg2 import sql as pgsql

from odoo.tools import SQL

from ..lib.copy_stream import CopyStream, column_name

SCHEMA = "bss_stage"


def table_name(run_id, file_id):
    return f"r{int(run_id)}_f{int(file_id)}"


def ensure_schema(cr):
    cr.execute(SQL("CREATE SCHEMA IF NOT EXISTS %s", SQL.identifier(SCHEMA)))
    # Staged rows are personal data: no access for other database roles.
    cr.execute(SQL("REVOKE ALL ON SCHEMA %s FROM PUBLIC", SQL.identifier(SCHEMA)))


def ident(table):
    """SQL identifier of a staging table."""
    return SQL.identifier(SCHEMA, table)


def run_tables(cr, run_id):
    """Names of the staging tables of a run (those staging created: ``r<run>_f<file>``)."""
    cr.execute(
        SQL(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename LIKE %s",
            SCHEMA,
            f"r{int(run_id)}\\_f%",
        )
    )
    return [table for (table,) in cr.fetchall()]


def drop_run_tables(cr, run_id):
    """Drop every staging table of a run."""
    for table in run_tables(cr, run_id):
        cr.execute(SQL("DROP TABLE IF EXISTS %s", ident(table)))


def create_and_copy(cr, table, keep, rows, on_rows=None):
    """Create ``table`` with the kept columns and COPY ``rows`` into it; return the row count."""
    columns = SQL(", ").join(SQL("%s text", SQL.identifier(column_name(i))) for i in keep)
    cr.execute(SQL("DROP TABLE IF EXISTS %s", ident(table)))
    cr.execute(
        SQL(
            "CREATE TABLE %s (_line integer NOT NULL, _damaged boolean NOT NULL%s%s)",
            ident(table),
            SQL(", ") if keep else SQL(""),
            columns,
        )
    )
    names = [pgsql.Identifier("_line"), pgsql.Identifier("_damaged")]
    names += [pgsql.Identifier(column_name(i)) for i in keep]
    copy = pgsql.SQL("COPY {}.{} ({}) FROM STDIN WITH (FORMAT csv)").format(
        pgsql.Identifier(SCHEMA), pgsql.Identifier(table), pgsql.SQL(", ").join(names)
    )
    stream = CopyStream(rows, keep, on_rows=on_rows)
    try:
        # Odoo's cursor wraps psycopg2's; COPY needs the raw cursor.
        cr._obj.copy_expert(copy, stream, size=1 << 20)
    except psycopg2.Error:
        if stream.error is not None:
            # The rows were refused (ragged row, damaged archive...): that is the error to report.
            raise stream.error from None
        raise
    cr.execute(SQL("ANALYZE %s", ident(table)))
    return stream.rows


def index_trimmed(cr, table, index):
    """Index a staging column as :func:`union_select` reads it (trimmed, empty as NULL), in byte
    order: the chunks of a phase read their key range by the index instead of scanning the table."""
    column = column_name(index)
    cr.execute(
        SQL(
            """CREATE INDEX IF NOT EXISTS %s ON %s ((NULLIF(btrim(%s), '') COLLATE "C"))""",
            SQL.identifier(f"{table}_{column}_range"),
            ident(table),
            SQL.identifier(column),
        )
    )
    cr.execute(SQL("ANALYZE %s", ident(table)))


def union_select(files, columns, extra=()):
    """SQL of the union of staged files, read as named columns.

    ``files``: ``(file id, staging table, {name: source column index})``
    triples. Each file gives ``_file``, ``_line``, the ``extra`` staging
    columns, then one text column per name of ``columns``: trimmed, an empty
    cell as NULL, NULL where the file has no such column.
    """
    parts = []
    for file_id, table, located in files:
        exprs = [SQL("%s::integer AS _file", file_id), SQL("_line"), *(SQL.identifier(c) for c in extra)]
        for name in columns:
            if name in located:
                exprs.append(
                    SQL(
                        "NULLIF(btrim(%s), '') AS %s",
                        SQL.identifier(column_name(located[name])),
                        SQL.identifier(name),
                    )
                )
            else:
                exprs.append(SQL("NULL::text AS %s", SQL.identifier(name)))
        parts.append(SQL("SELECT %s FROM %s", SQL(", ").join(exprs), ident(table)))
    return SQL(" UNION ALL ").join(parts)
