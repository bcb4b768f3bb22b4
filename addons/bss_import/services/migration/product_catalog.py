"""Product catalogue: devices, SIM cards, add-ons and accessories become products.

Each product (internal reference = the legacy product code) sits in a
category per product type under *Legacy catalogue*, has a fixed-price entry on
the pricelist of its currency (the plans' pricelists), and is archived when no
longer sold. An add-on's plan is not stored on the add-on (``x_plan_code``
identifies service plans and is unique): the add-on is offered as an optional
product of its plan instead; an unknown plan code is flagged.
"""

from .base import Rejected, Resolved
from .service_plans import ServicePlansPhase

#: Odoo product type of each legacy product type: add-ons are services, the rest goods.
PRODUCT_TYPES = {"sim": "consu", "device": "consu", "accessory": "consu", "addon": "service"}


class ProductCatalogPhase(ServicePlansPhase):
    object = "product_catalog"
    table = "product_catalog"
    model = "product.template"
    root_category = "Legacy catalogue"

    def handled(self, name):
        return name == "plan_code"

    def complete(self, row, row_values, vals):
        currency = self.currency(row_values.get("currency"))
        if not currency:
            return Rejected(row, ["currency: unknown ISO 4217 code"])
        kind = self.convert_code("product_type", row_values.get("product_type"))
        vals.setdefault("default_code", row.key)
        vals["type"] = PRODUCT_TYPES.get(kind, "consu")
        vals["categ_id"] = self.category(kind)
        if not row_values.get("active"):
            vals["active"] = True
        flag = None
        code = row_values.get("plan_code")
        if code and not self.plan_template(code):
            flag = "unknown plan code: the add-on is not offered with any plan"
        return Resolved(row, vals, flag)

    def convert_code(self, name, raw):
        line = self.lines.get(name)
        if not raw or not line:
            return None
        try:
            return self.convert(line, name, raw) if line.target_type == "selection" else raw.lower()
        except ValueError:
            return None

    def plan_template(self, code):
        return self.env["product.product"]._telecom_plan_for_code(code).product_tmpl_id

    def category(self, kind):
        """The catalogue category of a product type: Legacy catalogue / <Type>."""
        key = kind or "other"
        if key not in self._categories:
            Category = self.env["product.category"]
            root = Category.search([("name", "=", self.root_category), ("parent_id", "=", False)], limit=1)
            root = root or Category.create({"name": self.root_category})
            label = key.replace("_", " ").title()
            category = Category.search([("name", "=", label), ("parent_id", "=", root.id)], limit=1)
            self._categories[key] = (category or Category.create({"name": label, "parent_id": root.id})).id
        return self._categories[key]

    def after_create(self, records, items):
        result = super().after_create(records, items)
        for record, item in zip(records, items, strict=True):
            plan = self.plan_template(item.row.values.get("plan_code"))
            if plan:
                # The plan offers its add-on: written on the plan, not on the add-on.
                plan.optional_product_ids = [(4, record.id)]
        return result
