from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import Form, new_test_user, tagged

from .common import TelecomCase


@tagged("post_install", "-at_install")
class TestOdooFlowsWithoutTelecomRights(TelecomCase):
    """Odoo's contact and product flows for users without any telecom group."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        companies = {"company_id": cls.company.id, "company_ids": [Command.set([cls.company.id])]}
        cls.contact_editor = new_test_user(
            cls.env, "contact_editor", groups="base.group_user,base.group_partner_manager", **companies
        )
        cls.product_manager = new_test_user(
            cls.env, "product_editor", groups="base.group_user,product.group_product_manager", **companies
        )
        cls.line = cls.subscriber(x_subscriber_id="F1", x_msisdn="447700900321")

    def test_plain_user_reads_contacts_and_products(self):
        partner = self.line.with_user(self.user_plain)
        self.assertEqual(partner.read(["name", "email"])[0]["name"], self.line.name)
        self.assertTrue(Form(partner))
        self.assertTrue(self.env["res.partner"].with_user(self.user_plain).name_search("Subscriber F1"))
        self.assertTrue(self.plan.with_user(self.user_plain).read(["name", "x_data_mb"]))
        self.assertTrue(Form(self.plan.product_variant_id.with_user(self.user_plain)))

    def test_contact_editor_creates_edits_copies_and_deletes_contacts(self):
        Partner = self.env["res.partner"].with_user(self.contact_editor)
        with Form(Partner) as form:
            form.name = "Plain contact"
            form.email = "plain@example.com"
        contact = form.save()
        contact.write({"phone": "+44 20 7946 0000"})
        copy = contact.copy()
        self.assertEqual(copy.email, "plain@example.com")
        self.assertTrue(Form(contact))
        (contact | copy).unlink()
        # A subscriber's ordinary fields stay editable; the telecom ones do not.
        subscriber = self.line.with_user(self.contact_editor)
        subscriber.write({"email": "line@example.com"})
        self.assertTrue(subscriber.copy().exists())
        with self.assertRaises(AccessError):
            subscriber.write({"x_msisdn": "447700900999"})
        # Fields the telecom constraints depend on: archiving, the company,
        # the company type.
        subscriber.action_archive()
        subscriber.action_unarchive()
        subscriber.write({"company_id": self.company.id})
        self.assertTrue(subscriber.active)
        contact = Partner.create({"name": "Becomes a company"})
        contact.write({"is_company": True, "company_id": self.company.id})
        contact.action_archive()

    def test_product_manager_creates_copies_and_saves_products(self):
        Template = self.env["product.template"].with_user(self.product_manager)
        product = Template.create({"name": "SIM card", "list_price": 5.0})
        # Duplication sends every copyable field, plan fields included, empty.
        duplicate = product.copy()
        self.assertFalse(duplicate.x_is_service_plan)
        with Form(duplicate) as form:
            form.list_price = 6.0
        # Unchanged plan values are not a change of plan terms.
        self.plan.with_user(self.product_manager).write(
            {"x_data_mb": self.plan.x_data_mb, "x_is_service_plan": True, "description_sale": "Best plan"}
        )
        self.assertEqual(self.plan.description_sale, "Best plan")
        product.product_variant_id.copy()
        with self.assertRaisesRegex(AccessError, "Only a Telecom Manager"):
            self.plan.with_user(self.product_manager).copy()
        with self.assertRaisesRegex(AccessError, "Only a Telecom Manager"):
            Template.create({"name": "Sneaky plan", "x_data_mb": 100})
