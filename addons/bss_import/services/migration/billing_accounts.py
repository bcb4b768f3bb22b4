"""Billing accounts: paying accounts become company contacts with the billing-account fields.

The legacy open receivable is kept in ``x_legacy_ar_balance`` (the invoices
phase brings the open items themselves).
"""

from decimal import Decimal

from ...lib import values
from .base import Phase, Rejected, Resolved


class BillingAccountsPhase(Phase):
    object = "billing_accounts"
    table = "billing_accounts"
    model = "res.partner"
    sample_size = 25

    def __init__(self, ctx):
        super().__init__(ctx)
        self._countries = {}

    def handled(self, name):
        return name == "country"

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
        vals.setdefault("x_billing_account_number", row.key)
        vals["is_company"] = True
        return Resolved(row, vals)

    def create_vals(self, vals):
        return {**vals, "company_id": self.ctx.company.id}

    def control_totals(self):
        """Accounts by status; the legacy open receivable (Decimal, cents) summed and per account."""
        totals = self.count_totals("status", "x_account_status", "billing accounts")
        source = self.clean_rows(["ar_balance"])
        odoo = self.linked_rows(source, ["x_legacy_ar_balance"])
        line = self.lines.get("ar_balance")
        dec = values.DecimalFormat((line and line.decimal_separator) or ".")
        cent = Decimal("0.01")

        def src(key):
            raw = source[key].get("ar_balance")
            return (values.parse_decimal(raw, dec) if raw else Decimal(0)).quantize(cent)

        def ood(key):
            return Decimal(str(odoo[key]["x_legacy_ar_balance"] or 0)).quantize(cent)

        totals.append(
            (
                "open AR (x_legacy_ar_balance), all accounts",
                str(sum((src(k) for k in source), Decimal(0))),
                str(sum((ood(k) for k in odoo), Decimal(0))),
            )
        )
        differing = sum(1 for k in source if k not in odoo or src(k) != ood(k))
        totals.append(("open AR, accounts whose balance differs", "0", str(differing)))
        return totals
