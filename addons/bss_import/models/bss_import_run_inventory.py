import base64
import contextlib
import logging
import os
import tempfile
import time

from odoo import SUPERUSER_ID, _, api, fields, models
from odoo.exceptions import MissingError, UserError

from ..lib import inventory as doc
from ..services import inventory
from ..services.migration.context import MigrationContext
from .ir_attachment import NO_INDEX

_logger = logging.getLogger(__name__)

#: Description of the run's attachments that are inventories (rebuilt together, read by the CLI).
INVENTORY_TAG = "bss_import:inventory"
#: Largest piece of an inventory file one call returns (the CLI reads a file piece by piece).
MAX_PIECE = 8 << 20


class BssImportRunInventory(models.Model):
    """The inventories of what a run does not migrate, attached to it (:mod:`..services.inventory`)."""

    _inherit = "bss.import.run"  # pylint: disable=consider-merging-classes-inherited

    inventory_count = fields.Integer("Inventories", compute="_compute_inventory_count")

    @api.depends_context("uid")
    def _compute_inventory_count(self):
        Attachment = self.env["ir.attachment"].sudo()
        for run in self:
            run.inventory_count = Attachment.search_count(
                [("res_model", "=", self._name), ("res_id", "=", run.id), ("description", "=", INVENTORY_TAG)]
            )

    def _inventory_attachments(self):
        # sudo: the inventories are the run's; callers checked the operator group and the run's access.
        return (
            self.env["ir.attachment"]
            .sudo()
            .search(
                [
                    ("res_model", "=", self._name),
                    ("res_id", "=", self.id),
                    ("description", "=", INVENTORY_TAG),
                ],
                order="name, id",
            )
        )

    def action_build_inventories(self):
        """Write the inventories of what does not migrate, attached to the run: a CSV and an HTML page each.

        PCRF policy manifest, AAA/HSS identifiers, dropped secret columns,
        network elements, usage summary with the rating cutover point, bundle
        definitions, manual-rebuild items. The run's mapping must be confirmed
        (its staged rows are read through it); the figures of migrated lines
        count once the subscribers are migrated. Building again replaces them.
        Returns the files: ``[{"id", "name", "size", "rows"}]`` (Migration Operator).
        """
        self._check_summary_access()
        self._check_mapping_confirmed()
        if self.delta_of_id:
            raise UserError(
                _(
                    "Run %(run)s is a delta pass: build the inventories on %(first)s.",
                    run=self.name,
                    first=self.delta_of_id.name,
                )
            )
        started = time.monotonic()
        ctx = MigrationContext(self, members=False)
        builder = inventory.Builder(ctx)
        generated = fields.Datetime.to_string(fields.Datetime.now())
        stem = self.name.replace("/", "-")
        built = []
        with contextlib.ExitStack() as files_of:
            for name in builder.BUILDERS:
                stream = files_of.enter_context(tempfile.TemporaryFile())
                built.append((getattr(builder, name)(stream), stream))
            # Nothing is replaced until every inventory was built: a failure leaves the previous set.
            self._inventory_attachments().unlink()
            # As the superuser: an HTML page is stored as HTML (Odoo stores HTML an operator uploads as
            # plain text; every value of these pages is escaped). No full-text index of their rows.
            Attachment = self.env["ir.attachment"].with_user(SUPERUSER_ID).with_context(**{NO_INDEX: True})
            files = []
            for document, stream in built:
                stream.seek(0)
                page = doc.render_html(document, self.name, self.company_id.name, generated)
                for suffix, mimetype in (("csv", "text/csv"), ("html", "text/html")):
                    # One file in memory at a time (the largest CSV): the others wait on disk.
                    data = stream.read() if suffix == "csv" else page
                    attachment = Attachment.create(
                        {
                            "name": f"{stem}-{document.name}.{suffix}",
                            "res_model": self._name,
                            "res_id": self.id,
                            "description": INVENTORY_TAG,
                            "mimetype": mimetype,
                            "raw": data,
                        }
                    )
                    files.append(
                        {
                            "id": attachment.id,
                            "name": attachment.name,
                            "size": len(data),
                            "rows": document.csv_rows,
                        }
                    )
                    del data
                stream.close()
        self._message_log(
            body=_(
                "Inventories built: %(names)s.",
                names=", ".join(document.title for document, _stream in built),
            )
        )
        _logger.info(
            "run %s: %d inventories built in %.1f s", self.id, len(built), time.monotonic() - started
        )
        return files

    def get_inventories(self):
        """The run's inventory files: ``[{"id", "name", "size", "mimetype"}]`` (Migration Operator)."""
        self._check_summary_access()
        return [
            {"id": a.id, "name": a.name, "size": a.file_size, "mimetype": a.mimetype}
            for a in self._inventory_attachments()
        ]

    def read_inventory(self, attachment_id, offset=0, size=MAX_PIECE):
        """A piece of one inventory file: ``{"data": base64, "offset", "size", "eof"}``.

        Files of millions of lines are read piece by piece (the CLI does), never
        whole into one XML-RPC answer.
        """
        self._check_summary_access()
        attachment = self._inventory_attachments().filtered(lambda a: a.id == attachment_id)
        if not attachment:
            raise MissingError(
                _("Run %(run)s has no inventory file %(id)s.", run=self.name, id=attachment_id)
            )
        offset, size = max(0, int(offset)), max(1, min(int(size), MAX_PIECE))
        if attachment.store_fname:
            path = attachment._full_path(attachment.store_fname)
            with open(path, "rb") as fh:
                fh.seek(offset)
                data = fh.read(size)
            total = os.path.getsize(path)
        else:
            raw = attachment.raw or b""
            data, total = raw[offset : offset + size], len(raw)
        return {
            "data": base64.b64encode(data).decode("ascii"),
            "offset": offset,
            "size": total,
            "eof": offset + len(data) >= total,
        }

    def action_open_inventories(self):
        """Build the inventories and list them (the run form's button)."""
        self.ensure_one()
        self.action_build_inventories()
        return {
            "type": "ir.actions.act_window",
            "name": _("Inventories of %(run)s", run=self.name),
            "res_model": "ir.attachment",
            "view_mode": "list,form",
            "domain": [
                ("res_model", "=", self._name),
                ("res_id", "=", self.id),
                ("description", "=", INVENTORY_TAG),
            ],
            "context": {"create": False},
            "target": "current",
        }
