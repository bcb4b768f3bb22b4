from odoo import _, api, fields, models
from odoo.exceptions import AccessError, ValidationError

from ..tools.codes import SERVICE_TYPES

GROUP_MANAGER = "telecom_subscriber.telecom_subscriber_group_manager"

# Allowances: (quantity field, unlimited flag, label)
ALLOWANCES = (
    ("x_voice_minutes", "x_voice_unlimited", "Voice minutes"),
    ("x_data_mb", "x_data_unlimited", "Data (MB)"),
    ("x_sms_count", "x_sms_unlimited", "SMS"),
)
PLAN_FIELDS = frozenset(
    {
        "x_is_service_plan",
        "x_plan_code",
        "x_service_type",
        "x_validity_days",
        *(name for allowance in ALLOWANCES for name in allowance[:2]),
    }
)


class ProductTemplate(models.Model):
    _inherit = "product.template"

    x_is_service_plan = fields.Boolean(string="Is a Service Plan", index=True, copy=True)
    x_plan_code = fields.Char(
        string="Plan Code",
        copy=False,
        index=True,
        help="Tariff plan code of the legacy BSS; subscribers are linked to the plan through it.",
    )
    x_service_type = fields.Selection(SERVICE_TYPES, string="Service Type")
    x_voice_minutes = fields.Integer(string="Voice Minutes")
    x_voice_unlimited = fields.Boolean(string="Unlimited Voice")
    x_data_mb = fields.Integer(string="Data (MB)")
    x_data_unlimited = fields.Boolean(string="Unlimited Data")
    x_sms_count = fields.Integer(string="SMS")
    x_sms_unlimited = fields.Boolean(string="Unlimited SMS")
    x_validity_days = fields.Integer(
        string="Validity (days)",
        help="How long the plan's allowances last once granted; 0 = no fixed validity.",
    )

    _sql_constraints = [
        # Deferred so that _check_x_plan_identity names the clashing plan first.
        (
            "x_plan_code_uniq",
            "unique(x_plan_code) DEFERRABLE INITIALLY DEFERRED",
            "A plan code can be used by one service plan only.",
        ),
    ]

    # --- access --------------------------------------------------------------------
    def _telecom_check_plan_access(self, vals):
        """Plan terms are the Telecom Manager's: a product manager without that
        group can edit the product but not the plan fields.

        Only values that set or change plan terms are refused: Odoo's own flows
        (duplicating a product, saving a form) send the plan fields with their
        empty or unchanged values, and must keep working for product managers.
        """
        names = PLAN_FIELDS.intersection(vals)
        if self.env.su or not names or self.env.user.has_group(GROUP_MANAGER):
            return
        if self:
            changed = any(
                self._telecom_plan_value(name, vals[name]) != self._telecom_plan_value(name, template[name])
                for template in self
                for name in names
            )
        else:
            changed = any(self._telecom_plan_value(name, vals[name]) for name in names)
        if changed:
            raise AccessError(_("Only a Telecom Manager can change service plan fields."))

    @api.model
    def _telecom_plan_value(self, name, value):
        """A plan field's value in a comparable form (empty values are equal)."""
        if self._fields[name].type == "char" and isinstance(value, str):
            value = value.strip()
        return value or False

    @api.model
    def _telecom_plan_defaults(self, vals):
        if vals.get("x_is_service_plan"):
            vals.setdefault("type", "service")
            if not vals.get("categ_id"):
                category = self.env.ref(
                    "telecom_subscriber.product_category_service_plans", raise_if_not_found=False
                )
                if category:
                    vals["categ_id"] = category.id
        if "x_plan_code" in vals:
            code = vals["x_plan_code"]
            vals["x_plan_code"] = code.strip() if isinstance(code, str) and code.strip() else False

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            # browse(): create() may be called on records (copy() does), but
            # the values are those of new templates.
            self.browse()._telecom_check_plan_access(vals)
            self._telecom_plan_defaults(vals)
        templates = super().create(vals_list)
        templates.filtered("x_plan_code")._telecom_link_subscribers()
        return templates

    def write(self, vals):
        self._telecom_check_plan_access(vals)
        self._telecom_plan_defaults(vals)
        result = super().write(vals)
        if vals.get("x_plan_code"):
            self._telecom_link_subscribers()
        return result

    @api.onchange("x_is_service_plan")
    def _onchange_x_is_service_plan(self):
        if self.x_is_service_plan:
            self.type = "service"
            category = self.env.ref(
                "telecom_subscriber.product_category_service_plans", raise_if_not_found=False
            )
            if category:
                self.categ_id = category

    def _telecom_link_subscribers(self):
        """Attach subscribers that carry this plan's legacy code.

        Subscribers imported before their plan existed keep the code as text;
        once the plan is created (or recoded) they are linked to it, and those
        already linked follow a code change. sudo(): the plan manager need not
        be a Telecom User, and only the plan link of subscribers that carry this
        exact code (in the plan's company) is written.
        """
        Partner = self.env["res.partner"].sudo().with_context(active_test=False)
        for template in self.filtered("x_plan_code"):
            variant = template.product_variant_id
            domain = [
                "|",
                ("x_plan_id", "in", template.product_variant_ids.ids),
                "&",
                ("x_plan_code", "=", template.x_plan_code),
                ("x_plan_id", "=", False),
            ]
            if template.company_id:
                domain += [("company_id", "in", [False, template.company_id.id])]
            partners = Partner.search(domain)
            if partners:
                partners.write({"x_plan_id": variant.id})

    # --- constraints ---------------------------------------------------------
    @api.constrains("x_is_service_plan", "x_plan_code", "x_service_type")
    def _check_x_plan_identity(self):
        for template in self.filtered("x_is_service_plan"):
            if not template.x_plan_code:
                raise ValidationError(
                    _("Plan Code: the service plan %s needs a plan code.", template.display_name)
                )
            if not template.x_service_type:
                raise ValidationError(
                    _("Service Type: the service plan %s needs a service type.", template.display_name)
                )
        codes = [code for code in self.mapped("x_plan_code") if code]
        if codes:
            clash = (
                self.sudo()
                .with_context(active_test=False)
                .search([("x_plan_code", "in", codes), ("id", "not in", self.ids)], limit=1)
            )
            if clash:
                raise ValidationError(
                    _(
                        "Plan Code: %(code)r is already used by the service plan %(plan)s.",
                        code=clash.x_plan_code,
                        plan=clash.display_name,
                    )
                )

    @api.constrains(*PLAN_FIELDS)
    def _check_x_allowances(self):
        for template in self:
            for quantity_field, unlimited_field, label in ALLOWANCES:
                quantity = template[quantity_field]
                if quantity < 0:
                    raise ValidationError(_("%(label)s: %(value)s is negative.", label=label, value=quantity))
                if template[unlimited_field] and quantity:
                    raise ValidationError(
                        _(
                            "%(label)s: the allowance is unlimited, "
                            "so the quantity must be empty (got %(value)s).",
                            label=label,
                            value=quantity,
                        )
                    )
            if template.x_validity_days < 0:
                raise ValidationError(_("Validity (days): %s is negative.", template.x_validity_days))


class ProductProduct(models.Model):
    _inherit = "product.product"

    @api.model
    def _telecom_plan_for_code(self, code):
        """The service plan variant for a legacy plan code (empty if unknown)."""
        if not code:
            return self.browse()
        return self.search([("x_is_service_plan", "=", True), ("x_plan_code", "=", code)], limit=1)
