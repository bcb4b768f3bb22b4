import json

from odoo import api, fields, models

from ..lib import schema

CHANGE_KINDS = [
    ("changed", "Changed"),
    ("vanished", "Vanished"),
    # What a rollback did with a record the run created.
    ("deleted", "Deleted by rollback"),
    ("reversed", "Reversed by rollback"),
    ("archived", "Archived by rollback"),
    ("kept", "Kept by rollback"),
]
#: The kinds a rollback records (the others are what a pass did).
ROLLBACK_KINDS = ("deleted", "reversed", "archived", "kept")


class BssImportChange(models.Model):
    """One change a pass of a run made to a migrated record, or one record its export no longer has.

    *Changed*: a field of a record migrated earlier, written by this pass
    because the export changed it; ``old_value`` is what the record held
    (kept for a rollback), ``new_value`` what the pass wrote (JSON, relations
    as ids). *Vanished*: a record an earlier pass of the run migrated whose
    key is not in this pass's export; ``archived`` when the operator chose to
    archive vanished records. New records are the links the pass created
    (``bss.import.link.created_run_id``), unchanged ones are not written at
    all: neither is listed here.
    """

    _name = "bss.import.change"
    _inherit = "bss.import.phase.line.mixin"
    _description = "Import run change (delta pass)"
    _server_written = "Changes"
    _order = "run_id, sequence, source_key, field_name, id"

    run_id = fields.Many2one("bss.import.run", required=True, ondelete="cascade", index=True, readonly=True)
    company_id = fields.Many2one(related="run_id.company_id", store=True)
    object = fields.Selection(
        [(o, o.replace("_", " ").title()) for o in schema.OBJECTS], required=True, readonly=True
    )
    sequence = fields.Integer(readonly=True, help="The object's place in the dependency order.")
    kind = fields.Selection(CHANGE_KINDS, required=True, readonly=True)
    source_key = fields.Char("Key", required=True, readonly=True, index=True)
    res_model = fields.Char("Model", required=True, readonly=True)
    res_id = fields.Many2oneReference("Record", model_field="res_model", readonly=True)
    field_name = fields.Char("Field", readonly=True)
    old_value = fields.Text("Previous value", readonly=True, help="JSON; relations as record ids.")
    new_value = fields.Text("New value", readonly=True, help="JSON; relations as record ids.")
    old_text = fields.Char("Before", compute="_compute_texts")
    new_text = fields.Char("After", compute="_compute_texts")
    archived = fields.Boolean(readonly=True, help="The vanished record was archived by the pass.")
    rolled_back = fields.Boolean(
        readonly=True, index=True, help="A rollback of the run gave the record its previous value back."
    )
    rollback_note = fields.Char(
        readonly=True,
        help="What a rollback could not do as asked, or what it did instead (reversal, archive).",
    )

    @api.depends("old_value", "new_value", "res_model", "field_name")
    def _compute_texts(self):
        """The values as an operator reads them: a relation by its name, a list by its names."""
        names = {}
        for rec in self:
            for value, target in ((rec.old_value, "old_text"), (rec.new_value, "new_text")):
                rec[target] = rec._text(value, names)

    def _text(self, value, names):
        if value in (None, False, ""):
            return ""
        decoded = json.loads(value)
        field = self.res_model in self.env and self.env[self.res_model]._fields.get(self.field_name or "")
        ids = decoded if isinstance(decoded, list) else [decoded]
        if field and field.relational and decoded and all(type(i) is int for i in ids):
            # sudo: a name of a record the migration wrote, shown to the operator who reads its change.
            records = self.env[field.comodel_name].sudo().with_context(active_test=False).browse(ids).exists()
            for record in records:
                names.setdefault((record._name, record.id), record.display_name)
            return ", ".join(names.get((field.comodel_name, i), f"#{i}") for i in ids)
        if decoded is False:
            return ""
        return str(decoded)
