from odoo import fields, models

#: Context key of the migration's writes (``services/migration/base.MAIL_CONTEXT``).
NO_EMPTY_SYNC = "bss_import_no_empty_commercial_sync"


class ResPartner(models.Model):
    _inherit = "res.partner"

    # Without CRM a contact has no sales team: the owner mapping of a migration (a dealer, a team)
    # lands here (services/migration/billing_accounts.team_field).
    x_sales_team_id = fields.Many2one(
        "crm.team",
        string="Sales Team",
        index="btree_not_null",
        ondelete="set null",
        help="The sales team that owns the customer, from the legacy owner (dealer, team) of the migration.",
    )

    def _commercial_sync_to_children(self, fields_to_sync=None):
        """Skip the empty write Odoo makes to every child contact when a field of a company that is
        not a commercial field changes, in the migration's writes only.

        ``_children_sync`` calls this with the commercial fields among the
        written ones, often none: the children are then written with no value,
        which changes nothing but their ``write_date`` (and costs one write per
        subscriber of a billing account). A delta pass that changes a billing
        account's e-mail must leave its unchanged subscribers unwritten.
        """
        if self.env.context.get(NO_EMPTY_SYNC) and fields_to_sync is not None and not fields_to_sync:
            return True
        return super()._commercial_sync_to_children(fields_to_sync)


class ResPartnerSystemOfRecord(models.Model):
    """Which system owns a migrated billing account or subscriber during coexistence: the run (and
    cohort) that migrated it and the date from which Odoo is its system of record."""

    # Separate from the class above on purpose: the migration's writes and what an operator reads.
    _inherit = "res.partner"  # pylint: disable=consider-merging-classes-inherited

    bss_import_run_id = fields.Many2one(
        "bss.import.run",
        "Migrated by run",
        compute="_compute_bss_system_of_record",
        compute_sudo=True,
        groups="bss_import.bss_import_group_user",
    )
    bss_import_cohort = fields.Char(
        "Migration cohort",
        compute="_compute_bss_system_of_record",
        compute_sudo=True,
        groups="bss_import.bss_import_group_user",
    )
    bss_import_since = fields.Datetime(
        "Odoo system of record since",
        compute="_compute_bss_system_of_record",
        compute_sudo=True,
        groups="bss_import.bss_import_group_user",
        help="When the run (or cohort) that migrated this contact finished: from then on Odoo, not the "
        "legacy BSS, is its system of record.",
    )

    def _compute_bss_system_of_record(self):
        self.env["bss.import.link"].flush_model()
        found = {}
        ids = [pid for pid in self.ids if isinstance(pid, int)]
        if ids:
            self.env.cr.execute(
                """SELECT DISTINCT ON (res_id) res_id, created_run_id FROM bss_import_link
                    WHERE res_model = 'res.partner' AND res_id = ANY(%s)
                      AND object IN ('billing_accounts', 'subscribers')
                 ORDER BY res_id, id""",
                (ids,),
            )
            found = dict(self.env.cr.fetchall())
        runs = self.env["bss.import.run"].sudo().browse(set(found.values()))
        for partner in self:
            run = runs.browse(found.get(partner.id)).with_env(runs.env)
            origin = run.cohort_of_id or run.delta_of_id or run
            partner.bss_import_run_id = origin
            partner.bss_import_cohort = run.cohort_name or False
            partner.bss_import_since = run.date_migrated if run.state == "migrated" else False
