"""What the phases of one run share: the sudo environment, the staged tables, the mapping, the links."""

from .. import profiler
from .base import MAIL_CONTEXT


class MigrationContext:
    """The run being migrated, seen by its phases.

    ``env`` is the superuser's, in the run's company and without mail: the
    migration writes records an operator may not (telecom fields, plan terms,
    manual fields); the run's action checked the operator's group, the run's
    company and the confirmed mapping before building this context.
    """

    def __init__(self, run, chunk_size=2000):
        self.run = run
        self.company = run.company_id
        # sudo: see the class docstring; the records are written in the run's company.
        self.env = run.sudo().with_company(run.company_id).with_context(**MAIL_CONTEXT).env
        self.run = run.with_env(self.env)
        self.staged = profiler.StagedRun(self.run)
        self.chunk_size = chunk_size
        self._lines = {}

    def mapping_lines(self, table):
        """{canonical column or new x_ field: mapping line} of the run's included files of ``table``."""
        if table not in self._lines:
            lines = {}
            for file in self.staged.files.get(table, ()):
                for line in file.mapping_line_ids.sorted("column_index"):
                    name = line.canonical or (line.action == "new_field" and line.target_field)
                    if name and line.action != "drop":
                        lines.setdefault(name, line)
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
        """{source key: record id} of migrated records of ``obj``."""
        return {key: link.res_id for key, link in self.links(obj, keys).items()}

    def create_links(self, obj, model, entries):
        """Link created records: ``entries`` are (source key, record id, checksum, flag)."""
        self.env["bss.import.link"].create(
            [
                {
                    "company_id": self.company.id,
                    "object": obj,
                    "source_key": key,
                    "res_model": model,
                    "res_id": res_id,
                    "created_run_id": self.run.id,
                    "last_run_id": self.run.id,
                    "checksum": checksum,
                    "flag": flag or False,
                }
                for key, res_id, checksum, flag in entries
            ]
        )
