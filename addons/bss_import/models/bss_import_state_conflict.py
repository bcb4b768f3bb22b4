from odoo import fields, models

from ..lib import resolution, schema


class BssImportStateConflict(models.Model):
    """One state conflict the migration resolved, for the post-migration review.

    An active line on a closed account, a line in service on a suspended one:
    the run's status policy decided which state is migrated
    (:func:`..lib.resolution.status_conflict`); this line keeps both source
    states, the rule applied and the result, so that the operator reviews
    what the migration could not know (was the account closed by mistake, or
    is the line to be cut?). Written by the migration only; one line per run
    and source key, refreshed by every pass of the run that writes the row.
    """

    _name = "bss.import.state.conflict"
    _inherit = "bss.import.phase.line.mixin"
    _description = "State conflict of an import run"
    _order = "run_id, object, source_key"
    _rec_name = "source_key"

    run_id = fields.Many2one("bss.import.run", required=True, ondelete="cascade", index=True, readonly=True)
    company_id = fields.Many2one(related="run_id.company_id", store=True, index=True)
    object = fields.Selection(
        [(o, o.replace("_", " ").title()) for o in schema.OBJECTS], required=True, readonly=True
    )
    source_key = fields.Char(required=True, readonly=True)
    partner_id = fields.Many2one("res.partner", "Record", readonly=True, ondelete="set null")
    account_key = fields.Char("Billing account", readonly=True)
    subscriber_status = fields.Char("Line state (source)", readonly=True)
    account_status = fields.Char("Account state", readonly=True)
    policy = fields.Selection([(p, p.title()) for p in resolution.POLICIES], readonly=True)
    rule = fields.Char("Rule applied", readonly=True)
    result_status = fields.Char("Migrated state", readonly=True)
    changed = fields.Boolean(
        "State changed", readonly=True, help="The migrated state differs from the line's source state."
    )

    _sql_constraints = [
        (
            "run_object_key_uniq",
            "unique(run_id, object, source_key)",
            "A source row has one state conflict per run.",
        )
    ]
