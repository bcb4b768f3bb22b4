"""What the phases of one run share: the sudo environment, the staged tables, the mapping, the links."""

import json

from odoo.tools import SQL

from ...lib import schema, values
from .. import profiler
from .base import MAIL_CONTEXT, comparable
from .owners import Owners


class MigrationContext:
    """The run being migrated, seen by its phases.

    ``env`` is the superuser's, in the run's company and without mail: the
    migration writes records an operator may not (telecom fields, plan terms,
    manual fields); the run's action checked the operator's group, the run's
    company and the confirmed mapping before building this context.
    """

    def __init__(self, run, chunk_size=2000, members=True):
        self.run = run
        self.company = run.company_id
        # sudo: see the class docstring; the records are written in the run's company.
        self.env = run.sudo().with_company(run.company_id).with_context(**MAIL_CONTEXT).env
        self.run = run.with_env(self.env)
        #: The run whose export, mapping and settings the phases read: a cohort's run (a cohort
        #: migrates a part of it, :mod:`.cohorts`), else the run itself.
        self.source = self.run.cohort_of_id or self.run
        #: The run whose members limit every phase's rows (a cohort, or a delta pass of a run migrated
        #: in cohorts: :mod:`.cohorts`), else None; ``members=False`` reads every row (to list them).
        self.cohort = self.run if members and self.run._reads_members() else None
        #: {object: members} of the cohort, read when first needed.
        self.cohort_members = None
        self.staged = profiler.StagedRun(self.source)
        self.chunk_size = chunk_size
        self._lines = {}
        self._owners = None

    @property
    def owners(self):
        """The run's confirmed owner mapping (:class:`.owners.Owners`), read when first needed."""
        if self._owners is None:
            self._owners = Owners(self)
        return self._owners

    def mapping_lines(self, table):
        """{canonical column or new x_ field: :class:`MappedColumn`} of the included files of ``table``."""
        if table not in self._lines:
            lines = {}
            for file in self.staged.files.get(table, ()):
                for line in file.mapping_line_ids.sorted("column_index"):
                    name = line.canonical or (line.action == "new_field" and line.target_field)
                    if name and line.action != "drop":
                        lines.setdefault(name, MappedColumn(line))
            self._lines[table] = lines
        return self._lines[table]

    def links(self, obj, keys):
        """{source key: bss.import.link} of the run's company for ``obj``."""
        keys = [k for k in keys if k]
        if not keys:
            return {}
        links = self.env["bss.import.link"].search(
            [("company_id", "=", self.company.id), ("object", "=", obj), ("source_key", "in", keys)]
        )
        return {link.source_key: link for link in links}

    def res_ids(self, obj, keys):
        """{source key: record id} of migrated records of ``obj`` (one SQL query, no link records cached)."""
        keys = [k for k in keys if k]
        if not keys:
            return {}
        self.env["bss.import.link"].flush_model(["company_id", "object", "source_key", "res_id"])
        self.env.cr.execute(
            SQL(
                """SELECT source_key, res_id FROM bss_import_link
                    WHERE company_id = %s AND object = %s AND source_key = ANY(%s)""",
                self.company.id,
                obj,
                keys,
            )
        )
        return dict(self.env.cr.fetchall())

    def create_links(self, obj, model, entries):
        """Link created records: ``entries`` are (source key, record id, checksum, flag).

        One INSERT of the whole chunk from arrays, the columns ``create()`` would
        write (its audit columns included): a chunk of 2,000 links through the ORM
        costs more than the records themselves, and a link has no computed field,
        no constraint but its unique key and no side effect to run.
        """
        if not entries:
            return
        keys, res_ids, checksums, flags = (list(column) for column in zip(*entries, strict=True))
        self.env.cr.execute(
            SQL(
                """INSERT INTO bss_import_link
                       (company_id, object, source_key, res_model, res_id, created_run_id, last_run_id,
                        checksum, flag, create_uid, write_uid, create_date, write_date)
                   SELECT %(company)s, %(object)s, k, %(model)s, r, %(run)s, %(run)s, c, NULLIF(f, ''),
                          %(uid)s, %(uid)s, %(now)s, %(now)s
                     FROM unnest(%(keys)s::varchar[], %(res_ids)s::int[], %(checksums)s::varchar[],
                                 %(flags)s::varchar[]) AS e(k, r, c, f)""",
                company=self.company.id,
                object=obj,
                model=model,
                run=self.run.id,
                uid=self.env.uid,
                now=self.env.cr.now(),
                keys=keys,
                res_ids=res_ids,
                checksums=checksums,
                flags=[flag or "" for flag in flags],
            )
        )

    def log_changes(self, obj, model, entries):
        """Record the fields a pass changed on migrated records: ``entries`` are (source key, record id,
        {field: previous value}, {field: new value}), values as :func:`.base.comparable` gives them.

        The change list is the delta report an operator reads (object, key,
        field, old → new) and what a rollback puts back.
        """
        rows = [
            {
                "run_id": self.run.id,
                "object": obj,
                "sequence": schema.OBJECTS.index(obj),
                "kind": "changed",
                "source_key": key,
                "res_model": model,
                "res_id": res_id,
                "field_name": name,
                "old_value": _json(old.get(name)),
                "new_value": _json(new[name]),
            }
            for key, res_id, old, new in entries
            for name in sorted(new)
        ]
        if rows:
            self.env["bss.import.change"].create(rows)


class MappedColumn:
    """A mapping line's settings read once: phases consult them for every cell of every row.

    Reading them through the ORM record cost a field access per cell (most
    of a phase's resolution time on large exports); the mapping is confirmed
    and does not change while a phase runs. Anything else is read from the line.
    """

    _COPIED = (
        "canonical",
        "action",
        "target_field",
        "target_type",
        "decimal_separator",
        "date_format",
        "combine_json",
    )

    def __init__(self, line):
        self.line = line
        for name in self._COPIED:
            setattr(self, name, line[name])
        self._values = None
        #: How the column writes numbers and dates (what converting each cell reads).
        self.number_format = values.DecimalFormat(self.decimal_separator or ".")
        self.date_parts = values.DATE_FORMATS.get(self.date_format or "iso", values.DATE_FORMATS["iso"])

    def _value_map(self):
        if self._values is None:
            self._values = self.line._value_map()
        return self._values

    def __getattr__(self, name):
        return getattr(self.line, name)


def _json(value):
    return json.dumps(comparable(value), default=str, sort_keys=True)
