"""Billing accounts: paying accounts become company contacts with the billing-account fields.

The legacy open receivable is kept in ``x_legacy_ar_balance`` (the invoices
phase brings the open items themselves).

Resolution rules shared with the subscribers phase (which extends this one):

* a missing value gets the run's configured safe default (the home country,
  the home currency, a bill cycle day): :func:`..lib.resolution.fill_defaults`;
  a mandatory value still missing sends the row to the enrichment queue
  (quarantine), unless the operator opted in to migrating such rows flagged
  *requires enrichment* - never for the columns of :attr:`never_enrich`;
* a legacy code of a closed set that the built-in dictionaries do not know
  (a status spelled ``ZZ``) is looked up in the run's legacy-code table.
"""

from decimal import Decimal

from odoo.tools import SQL

from ...lib import resolution, values
from .base import Phase, Rejected, Resolved


def team_field(env):
    """The contact's sales team field: CRM's ``team_id`` when CRM is installed, else the suite's."""
    return "team_id" if "team_id" in env["res.partner"]._fields else "x_sales_team_id"


class BillingAccountsPhase(Phase):
    object = "billing_accounts"
    table = "billing_accounts"
    model = "res.partner"
    sample_size = 25
    #: Chunks share the countries and the run's settings only (read, never created).
    parallel = True
    #: Columns a row is never migrated without, even flagged: the key, and values a constraint
    #: or a rule needs (a company contact needs a name; the status decides the lines' states).
    never_enrich = ("account_number", "account_name", "status")

    def __init__(self, ctx):
        super().__init__(ctx)
        self._countries = {}
        self._codes = None
        self._settings = None

    # ------------------------------------------------------------ resolution
    def resolve(self, row):
        """Defaults, then the enrichment decision, then the mapped values and the phase's checks."""
        if self._settings is None:
            # Read once per pass: the run's settings do not change while its phase runs.
            self._settings = (self.defaults(), self.ctx.source.migrate_unenriched)
        defaults, migrate_flagged = self._settings
        row_values, missing, _filled = resolution.fill_defaults(row.values, self.spec.mandatory, defaults)
        migrate, text = resolution.enrichment(missing, self.never_enrich, migrate_flagged)
        if not migrate:
            return Rejected(row, [text])
        vals, reasons = self.map_values(row_values)
        if reasons:
            return Rejected(row, reasons)
        item = self.complete(row, row_values, vals)
        if text and isinstance(item, Resolved):
            item.flag = "\n".join(f for f in (item.flag, text) if f)
        return item

    def defaults(self):
        """The run's configured defaults of the columns this table has (text, as a source cell)."""
        run = self.ctx.source
        out = {
            "country": run.default_country_id.code,
            "currency": run.default_currency_id.name,
            "bill_cycle_day": str(run.default_bill_cycle_day) if run.default_bill_cycle_day else None,
        }
        return {name: value for name, value in out.items() if value and name in self.spec.by_name}

    def code_table(self, column):
        """{legacy code: target} of the run's legacy-code table for a column of this phase's table."""
        if self._codes is None:
            self._codes = {}
            for line in self.ctx.source.legacy_code_ids.filtered(lambda ln: ln.source_table == self.table):
                self._codes.setdefault(line.source_column, {})[line.code.strip()] = line._target()
        return self._codes.get(column, {})

    def convert(self, line, name, raw):
        """A closed-set code the dictionaries do not know resolves through the legacy-code table."""
        try:
            return super().convert(line, name, raw)
        except ValueError as exc:
            if line.target_type != "selection":
                raise
            target, _how = resolution.resolve_code(raw, self.code_table(name), lambda code: None)
            if target is None:
                raise ValueError(f"{exc} (map it in the run's legacy-code table)") from None
            return target

    def unknown_codes(self):
        """{(column, code): rows} of the staged codes the phase cannot resolve by itself.

        Closed code sets (statuses, service types...) mapped to a selection
        field: the distinct codes neither the mapping's value map nor the
        built-in dictionaries know. One grouped query per column.
        """
        out = {}
        for name, line in self.lines.items():
            if line.action != "map" or line.target_type != "selection" or name not in self.spec.by_name:
                continue
            for code, rows in self.code_counts(name):
                try:
                    Phase.convert(self, line, name, code)
                except ValueError:
                    out[(name, code.strip())] = out.get((name, code.strip()), 0) + rows
        return out

    def code_counts(self, column):
        """[(code, rows)] of the non-empty staged values of ``column``."""
        if not self.has_rows():
            return []
        col = SQL.identifier(column)
        self.env.cr.execute(
            SQL(
                "SELECT %s, count(*) FROM (%s) s WHERE %s IS NOT NULL AND btrim(%s) <> '' GROUP BY 1",
                col,
                self.source_sql(),
                col,
                col,
            )
        )
        return self.env.cr.fetchall()

    def handled(self, name):
        return name in ("country", "owner_id")

    def complete_owner(self, row_values, vals):
        """The salesperson and sales team of the legacy ``owner_id``, through the run's confirmed
        owner mapping (:mod:`.owners`).

        Only a mapped owner writes them: an empty or unmapped owner (a finding of
        the run) leaves the contact to Odoo's rules (a line takes its account's
        salesperson).
        """
        line = self.lines.get("owner_id")
        key = row_values.get("owner_id")
        if not line or line.action != "map" or not key:
            return vals
        user, team = self.ctx.owners.user_id(key), self.ctx.owners.team_id(key)
        if user:
            vals["user_id"] = user
        if team:
            vals[team_field(self.env)] = team
        return vals

    def country(self, code):
        code = (code or "").strip().upper()
        if code not in self._countries:
            self._countries[code] = self.env["res.country"].search([("code", "=", code)], limit=1).id or None
        return self._countries[code]

    def complete_address(self, row, row_values, vals):
        """Resolve the country code; (vals, reasons)."""
        line = self.lines.get("country")
        code = row_values.get("country")
        if line and line.action == "map" and code:
            country = self.country(code)
            if not country:
                return vals, ["country: unknown ISO 3166 code"]
            vals[line.target_field] = country
        return vals, []

    def complete(self, row, row_values, vals):
        vals, reasons = self.complete_address(row, row_values, vals)
        if reasons:
            return Rejected(row, reasons)
        self.complete_owner(row_values, vals)
        vals.setdefault("x_billing_account_number", row.key)
        vals["is_company"] = True
        return Resolved(row, vals)

    def create_vals(self, vals):
        return {**vals, "company_id": self.ctx.company.id}

    def control_totals(self):
        """Accounts by status; the legacy open receivable (Decimal, cents) summed and per account."""
        totals = self.count_totals("status", "x_account_status", "billing accounts")
        line = self.lines.get("ar_balance")
        dec = line.number_format if line else values.DecimalFormat()
        cent = Decimal("0.01")
        src_total = odoo_total = Decimal(0)
        differing = 0
        for _key, source, odoo in self.paired_rows(["ar_balance"], ["x_legacy_ar_balance"]):
            raw = source.get("ar_balance")
            src = (values.parse_decimal(raw, dec) if raw else Decimal(0)).quantize(cent)
            src_total += src
            if odoo is None:
                differing += 1
                continue
            ood = Decimal(str(odoo["x_legacy_ar_balance"] or 0)).quantize(cent)
            odoo_total += ood
            differing += src != ood
        totals.append(("open AR (x_legacy_ar_balance), all accounts", str(src_total), str(odoo_total)))
        totals.append(("open AR, accounts whose balance differs", "0", str(differing)))
        return totals
