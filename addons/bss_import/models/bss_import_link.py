from odoo import _, api, fields, models
from odoo.exceptions import AccessError

from ..lib import schema
from .bss_import_run import check_server_fields


class BssImportLink(models.Model):
    """The source key of every record the migration created.

    A record is identified by (company, object, source key), not by the run:
    a second run of the same export finds its records here and changes
    nothing. Own table rather than ``ir.model.data``: one indexed row per
    record with what the migration needs (the run that created it, the last
    run that wrote it, the checksum of the values written and the values an
    update replaced), without xml-id name mangling or the module/noupdate
    semantics that Odoo's upgrade machinery applies to ``ir.model.data``.
    """

    _name = "bss.import.link"
    _description = "Migrated record link (source key)"
    _order = "id"
    _rec_name = "source_key"

    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    object = fields.Selection(
        [(o, o.replace("_", " ").title()) for o in schema.OBJECTS], required=True, readonly=True
    )
    source_key = fields.Char(required=True, readonly=True)
    res_model = fields.Char("Model", required=True, readonly=True)
    res_id = fields.Many2oneReference("Record", model_field="res_model", required=True, readonly=True)
    created_run_id = fields.Many2one("bss.import.run", "Created by run", readonly=True, ondelete="set null")
    last_run_id = fields.Many2one("bss.import.run", "Last written by run", readonly=True, ondelete="set null")
    checksum = fields.Char(readonly=True, help="Checksum of the mapped values last written.")
    previous_values_json = fields.Text(
        "Replaced values", readonly=True, help="The values the last update replaced (JSON), for a rollback."
    )
    flag = fields.Char(readonly=True, help="Why the record needs a review (e.g. unknown plan code).")

    _sql_constraints = [
        (
            "company_object_key_uniq",
            "unique(company_id, object, source_key)",
            "A source key links to one record per company and object.",
        )
    ]

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            raise AccessError(_("Links are created by the run's migration only."))
        return super().create(vals_list)

    def write(self, vals):
        check_server_fields(self, vals, frozenset(self._fields))
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_only_by_migration(self):
        if not self.env.su:
            raise AccessError(_("Links are deleted by the migration's rollback only."))
