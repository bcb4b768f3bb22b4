from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import TelecomCase


@tagged("post_install", "-at_install")
class TestAccess(TelecomCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.line = cls.subscriber(
            x_subscriber_id="S1",
            x_msisdn="447700900123",
            x_total_voice_minutes=120.5,
            x_total_data_mb=2048,
            x_total_sms_count=12,
            x_cpni_opt_out=True,
        )

    def test_plain_employee_cannot_see_telecom_fields(self):
        partner = self.line.with_user(self.user_plain)
        self.assertEqual(partner.name, self.line.name)
        with self.assertRaises(AccessError):
            partner.read(["x_msisdn"])
        with self.assertRaises(AccessError):
            partner.write({"x_subscriber_status": "active"})

    def test_telecom_user_reads_and_writes_subscribers(self):
        partner = self.line.with_user(self.user_telecom)
        self.assertEqual(partner.read(["x_msisdn"])[0]["x_msisdn"], "447700900123")
        partner.write({"x_subscriber_status": "suspended", "x_msisdn": "+44 7700 900999"})
        self.assertEqual(self.line.x_subscriber_status, "suspended")
        created = (
            self.env["res.partner"]
            .with_user(self.user_telecom)
            .create({"name": "New line", "x_subscriber_id": "S2", "x_msisdn": "447700900124"})
        )
        self.assertEqual(created.x_subscriber_status, "pending")

    def test_usage_totals_need_cpni_group(self):
        partner = self.line.with_user(self.user_telecom)
        for field in ("x_total_voice_minutes", "x_total_data_mb", "x_total_sms_count", "x_cpni_opt_out"):
            with self.assertRaises(AccessError):
                partner.read([field])
        cpni = self.line.with_user(self.user_cpni).read(
            ["x_total_voice_minutes", "x_total_sms_count", "x_cpni_opt_out"]
        )[0]
        self.assertEqual(cpni["x_total_voice_minutes"], 120.5)
        self.assertEqual(cpni["x_total_sms_count"], 12)
        self.assertTrue(cpni["x_cpni_opt_out"])
        # The form view drops the usage section for users without the group.
        arch = (
            self.env["res.partner"]
            .with_user(self.user_telecom)
            .get_views([(False, "form")])["views"]["form"]["arch"]
        )
        self.assertIn("x_msisdn", arch)
        self.assertNotIn("x_total_voice_minutes", arch)

    def test_only_manager_manages_plans(self):
        Template = self.env["product.template"]
        with self.assertRaises(AccessError):
            Template.with_user(self.user_telecom).create(
                {"name": "X", "x_is_service_plan": True, "x_plan_code": "X1", "x_service_type": "iot"}
            )
        with self.assertRaises(AccessError):
            self.plan.with_user(self.user_telecom).write({"x_data_mb": 1})
        plan = Template.with_user(self.user_manager).create(
            {"name": "Manager plan", "x_is_service_plan": True, "x_plan_code": "M1", "x_service_type": "iot"}
        )
        plan.write({"x_data_mb": 512})
        self.assertEqual(plan.x_data_mb, 512)

    def test_product_manager_without_telecom_group_cannot_change_plan_terms(self):
        product_manager = self.env["res.users"].create(
            {
                "name": "Product manager",
                "login": "product_manager",
                "groups_id": [
                    (
                        6,
                        0,
                        [
                            self.env.ref("product.group_product_manager").id,
                            self.env.ref("base.group_user").id,
                        ],
                    )
                ],
            }
        )
        plan = self.plan.with_user(product_manager)
        plan.write({"description_sale": "Great value"})
        with self.assertRaisesRegex(AccessError, "Only a Telecom Manager"):
            plan.write({"x_data_mb": 1})

    def test_settings_wizard_manager_only(self):
        Settings = self.env["telecom.settings"]
        with self.assertRaises(AccessError):
            Settings.with_user(self.user_telecom).create({"x_iccid_check_mode": "warning"})
        wizard = Settings.with_user(self.user_manager).create({"x_iccid_check_mode": "warning"})
        wizard.action_save()
        self.assertEqual(self.company.x_iccid_check_mode, "warning")

    def test_multi_company_isolation(self):
        other = self.subscriber(x_subscriber_id="S-B", x_msisdn="447700900777", company_id=self.company_b.id)
        visible_a = (
            self.env["res.partner"].with_user(self.user_telecom).search([("x_is_subscriber", "=", True)])
        )
        self.assertIn(self.line, visible_a)
        self.assertNotIn(other, visible_a)
        visible_b = (
            self.env["res.partner"].with_user(self.user_company_b).search([("x_is_subscriber", "=", True)])
        )
        self.assertIn(other, visible_b)
        self.assertNotIn(self.line, visible_b)
        with self.assertRaises(AccessError):
            self.line.with_user(self.user_company_b).read(["x_msisdn"])
