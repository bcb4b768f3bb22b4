from odoo.exceptions import ValidationError
from odoo.tests import Form, tagged

from .common import TelecomCase


@tagged("post_install", "-at_install")
class TestServicePlan(TelecomCase):
    def make_plan(self, **values):
        values.setdefault("name", "Plan %s" % values.get("x_plan_code"))
        values.setdefault("x_is_service_plan", True)
        values.setdefault("x_service_type", "mobile_prepaid")
        return self.env["product.template"].create(values)

    def test_plan_defaults(self):
        plan = self.make_plan(x_plan_code="DATA5", x_data_mb=5120, x_validity_days=7)
        self.assertEqual(plan.type, "service")
        self.assertEqual(plan.categ_id, self.env.ref("telecom_subscriber.product_category_service_plans"))
        self.assertEqual(plan.categ_id.name, "Service Plans")

    def test_plan_code_unique(self):
        with self.assertRaisesRegex(ValidationError, "Plan Code: 'PRE10' is already used"):
            self.make_plan(x_plan_code="PRE10")

    def test_plan_needs_code_and_type(self):
        with self.assertRaisesRegex(ValidationError, "needs a plan code"):
            self.make_plan(x_plan_code=False)
        with self.assertRaisesRegex(ValidationError, "needs a service type"):
            self.make_plan(x_plan_code="NOTYPE", x_service_type=False)

    def test_unlimited_means_no_quantity(self):
        plan = self.make_plan(x_plan_code="UNL", x_data_unlimited=True, x_voice_unlimited=True)
        self.assertEqual(plan.x_data_mb, 0)
        with self.assertRaisesRegex(ValidationError, r"Data \(MB\): the allowance is unlimited.*99999"):
            self.make_plan(x_plan_code="SENTINEL", x_data_unlimited=True, x_data_mb=99999)

    def test_negative_allowances_refused(self):
        for field in ("x_voice_minutes", "x_data_mb", "x_sms_count"):
            with self.assertRaisesRegex(ValidationError, "-5 is negative"):
                self.make_plan(x_plan_code=f"NEG-{field}", **{field: -5})
        with self.assertRaisesRegex(ValidationError, "Validity"):
            self.make_plan(x_plan_code="NEG-VAL", x_validity_days=-1)

    def test_plan_form(self):
        with Form(self.env["product.template"].with_user(self.user_manager)) as form:
            form.name = "IoT 1GB"
            form.x_is_service_plan = True
            form.x_plan_code = "IOT1"
            form.x_service_type = "iot"
            form.x_data_mb = 1024
        plan = form.record
        self.assertEqual(plan.type, "service")
        self.assertEqual(plan.categ_id.name, "Service Plans")
