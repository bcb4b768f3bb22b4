from odoo import _, api, fields, models

from ..services.migration import resolution_codes
from .bss_import_legacy_code import TABLES


class BssImportRunResolution(models.Model):
    """The data-quality resolution settings and reports of a run.

    A separate file from ``bss_import_run.py`` (the state machine and the
    steps): what the operator configures for the resolution rules (safe
    defaults, the enrichment opt-in, the legacy-code table) and what the
    migration reports back (state conflicts, records pending merge).
    """

    # A separate file on purpose (see the docstring), as bss_import_run_ui.py is.
    _inherit = "bss.import.run"  # pylint: disable=consider-merging-classes-inherited

    legacy_code_ids = fields.One2many("bss.import.legacy.code", "run_id", string="Legacy codes")
    legacy_code_unmapped = fields.Integer(compute="_compute_resolution_counts", string="Codes to map")
    state_conflict_ids = fields.One2many(
        "bss.import.state.conflict", "run_id", string="State conflict report"
    )
    state_conflict_count = fields.Integer(compute="_compute_resolution_counts", string="State conflicts")
    pending_merge_count = fields.Integer(compute="_compute_resolution_counts", string="Pending merge")
    default_country_id = fields.Many2one(
        "res.country",
        string="Default country",
        default=lambda self: self.env.company.country_id,
        help="Safe default of an empty country: the operator's home country (the company's by default).",
    )
    default_currency_id = fields.Many2one(
        "res.currency",
        string="Default currency",
        help="Safe default of an empty billing-account currency (e.g. the home currency); empty: none.",
    )
    default_bill_cycle_day = fields.Integer(
        "Default bill cycle day", help="Safe default of an empty bill cycle day (1-28); 0: none."
    )
    migrate_unenriched = fields.Boolean(
        "Migrate rows needing enrichment",
        help="Rows still missing a mandatory value after the defaults are migrated flagged "
        "'requires enrichment' instead of waiting in the enrichment queue (quarantine). Never for "
        "a key, a reference or a value a constraint requires: those rows stay quarantined.",
    )

    _sql_constraints = [
        (
            "default_bill_cycle_day_range",
            "CHECK(default_bill_cycle_day BETWEEN 0 AND 28)",
            "The default bill cycle day is between 1 and 28 (0: no default).",
        )
    ]

    @api.depends("legacy_code_ids.is_mapped", "state_conflict_ids")
    def _compute_resolution_counts(self):
        Link = self.env["bss.import.link"]
        for run in self:
            run.legacy_code_unmapped = len(run.legacy_code_ids.filtered(lambda ln: not ln.is_mapped))
            run.state_conflict_count = len(run.state_conflict_ids)
            run.pending_merge_count = (
                Link.search_count(run._pending_merge_domain()) if isinstance(run.id, int) else 0
            )

    def _pending_merge_domain(self):
        """The company's migrated records flagged pending merge (by this run or an earlier one:
        a record unchanged by a re-run keeps the flag it was written with)."""
        return [("company_id", "=", self.company_id.id), ("flag", "ilike", "pending merge")]

    # ------------------------------------------------------------ legacy codes
    def action_confirm_mapping(self):
        """Confirm, then list the codes the migration will not resolve by itself."""
        result = super().action_confirm_mapping()
        self._find_unknown_codes()
        return result

    def action_find_unknown_codes(self):
        """List the staged legacy codes the migration cannot resolve (Migration Operator).

        Each code gets a line in the legacy-code table with its row count; a
        line already there keeps the target the operator picked.
        """
        self.ensure_one()
        self._check_operator()
        self._check_mapping_confirmed()
        return self._find_unknown_codes()

    def _find_unknown_codes(self):
        found = resolution_codes.unknown_codes(self)
        # sudo: the row counts are written by the run only (bss.import.legacy.code refuses users).
        Code = self.env["bss.import.legacy.code"].sudo()
        existing = {(ln.source_table, ln.source_column, ln.code): ln for ln in self.sudo().legacy_code_ids}
        new = []
        for (table, column, code), rows in sorted(found.items()):
            line = existing.get((table, column, code))
            if line:
                if line.row_count != rows:
                    line.write({"row_count": rows})
            elif table in TABLES:
                new.append(
                    {
                        "run_id": self.id,
                        "source_table": table,
                        "source_column": column,
                        "code": code,
                        "row_count": rows,
                    }
                )
        Code.create(new)
        return len(found)

    # ------------------------------------------------------------ reports
    def action_view_state_conflicts(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("State conflicts of %(run)s", run=self.name),
            "res_model": "bss.import.state.conflict",
            "view_mode": "list",
            "domain": [("run_id", "=", self.id)],
        }

    def action_view_pending_merge(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Pending merge (%(run)s)", run=self.name),
            "res_model": "bss.import.link",
            "view_mode": "list",
            "domain": self._pending_merge_domain(),
        }
