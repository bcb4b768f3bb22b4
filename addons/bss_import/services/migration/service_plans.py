"""Service plans: rate plans become service products with telecom_subscriber's plan fields.

Each plan is a product template (``x_is_service_plan``, ``x_plan_code``,
service type, allowances, validity) in a category per service type under
*Service plans* (the catalogue tree), with a fixed-price entry on a pricelist
of the export's currency (*Legacy plans (GBP)*). A plan no longer sold is kept
archived with its terms: grandfathered subscribers still point at it.
"""

from .base import Phase, Rejected, Resolved


class ServicePlansPhase(Phase):
    object = "service_plans"
    table = "service_plans"
    model = "product.template"

    def control_totals(self):
        """Records migrated: the clean source rows against the records linked to them."""
        return self.count_totals()

    def __init__(self, ctx):
        super().__init__(ctx)
        self._categories = {}
        self._currencies = {}

    def complete(self, row, row_values, vals):
        currency = self.currency(row_values.get("currency"))
        if not currency:
            return Rejected(row, ["currency: unknown ISO 4217 code"])
        vals.setdefault("x_plan_code", row.key)
        vals["x_is_service_plan"] = True
        vals["type"] = "service"
        vals["categ_id"] = self.category(vals.get("x_service_type"))
        if not row_values.get("active"):
            # An empty "still sold" flag is a plan on sale; only an explicit "no" archives it.
            vals["active"] = True
        for flag in ("x_voice_unlimited", "x_data_unlimited", "x_sms_unlimited"):
            if flag in vals:
                vals[flag] = bool(vals[flag])
        return Resolved(row, vals)

    def create_vals(self, vals):
        return {**vals, "company_id": self.ctx.company.id}

    def currency(self, code):
        code = (code or "").strip().upper()
        if code not in self._currencies:
            currency = self.env["res.currency"].search([("name", "=", code)], limit=1) if code else None
            if currency and not currency.active:
                # A plan priced in a currency makes the currency used: activate it, as the
                # accounting settings would.
                currency.active = True
            self._currencies[code] = currency or None
        return self._currencies[code]

    def category(self, service_type):
        """The catalogue category of a service type: Service plans / <Service type>."""
        key = service_type or "other"
        if key not in self._categories:
            Category = self.env["product.category"]
            root = self.env.ref("telecom_subscriber.product_category_service_plans", raise_if_not_found=False)
            if not root:
                root = Category.search([("name", "=", "Service plans"), ("parent_id", "=", False)], limit=1)
                root = root or Category.create({"name": "Service plans"})
            label = dict(self.env["product.template"]._fields["x_service_type"].selection).get(key, key)
            category = Category.search([("name", "=", label), ("parent_id", "=", root.id)], limit=1)
            self._categories[key] = (category or Category.create({"name": label, "parent_id": root.id})).id
        return self._categories[key]

    def pricelist(self, currency):
        Pricelist = self.env["product.pricelist"]
        name = f"Legacy plans ({currency.name})"
        domain = [
            ("name", "=", name),
            ("currency_id", "=", currency.id),
            ("company_id", "=", self.ctx.company.id),
        ]
        return Pricelist.search(domain, limit=1) or Pricelist.create(
            {"name": name, "currency_id": currency.id, "company_id": self.ctx.company.id}
        )

    def after_create(self, records, items):
        """One fixed-price pricelist entry per plan, in the currency of the export."""
        entries = []
        for record, item in zip(records, items, strict=True):
            currency = self.currency(item.row.values.get("currency"))
            entries.append(
                {
                    "pricelist_id": self.pricelist(currency).id,
                    "applied_on": "1_product",
                    "product_tmpl_id": record.id,
                    "compute_price": "fixed",
                    "fixed_price": item.vals.get("list_price") or 0.0,
                }
            )
        self.env["product.pricelist.item"].create(entries)
