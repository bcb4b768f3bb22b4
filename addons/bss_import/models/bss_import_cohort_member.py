from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..services.migration import cohorts

OWNERS = [("legacy", "Legacy BSS"), ("odoo", "Odoo")]


class BssImportCohortMember(models.Model):
    """A customer of a run's export (billing account, subscriber, order or invoice key) and the cohort
    that moves it: who owns it during coexistence.

    Listed once for the whole export when the run's first cohort is created
    (:func:`..services.migration.cohorts.list_members`), then given to
    cohorts as they are created. Until its cohort is migrated the legacy
    system owns it; once migrated Odoo is its system of record, from the
    cohort's migration date. Written by the server only, in bulk SQL: no
    audit columns.
    """

    _name = "bss.import.cohort.member"
    _description = "Import run customer and its cohort"
    _log_access = False
    _order = "object, source_key"
    _rec_name = "source_key"

    run_id = fields.Many2one("bss.import.run", required=True, ondelete="cascade", index=True, readonly=True)
    company_id = fields.Many2one(related="run_id.company_id")
    object = fields.Selection(
        [(o, o.replace("_", " ").title()) for o in cohorts.KEYED], required=True, readonly=True
    )
    source_key = fields.Char("Key", required=True, readonly=True)
    account_number = fields.Char("Billing account", readonly=True)
    cohort_id = fields.Many2one("bss.import.run", readonly=True, index=True, ondelete="set null")
    owner = fields.Selection(OWNERS, compute="_compute_owner", search="_search_owner")
    owner_since = fields.Datetime("Odoo owns it since", compute="_compute_owner")

    _sql_constraints = [
        ("key_uniq", "unique(run_id, object, source_key)", "A key is listed once per run and object.")
    ]

    def init(self):
        self.env.cr.execute(
            """CREATE INDEX IF NOT EXISTS bss_import_cohort_member_cohort_key
                   ON bss_import_cohort_member (cohort_id, object, source_key)"""
        )

    @api.depends("cohort_id.state", "cohort_id.date_migrated")
    def _compute_owner(self):
        for member in self:
            cohort = member.cohort_id
            migrated = cohort.state == "migrated"
            member.owner = "odoo" if migrated else "legacy"
            member.owner_since = cohort.date_migrated if migrated else False

    def _search_owner(self, operator, value):
        if operator not in ("=", "!=") or value not in ("odoo", "legacy"):
            raise UserError(_("Search the owner with = or != and odoo or legacy."))
        odoo = (value == "odoo") == (operator == "=")
        if odoo:
            return [("cohort_id.state", "=", "migrated")]
        return ["|", ("cohort_id", "=", False), ("cohort_id.state", "!=", "migrated")]
