from odoo.exceptions import ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import TelecomCase


@tagged("post_install", "-at_install")
class TestBillingAccount(TelecomCase):
    def account(self, **values):
        values.setdefault("name", "Account %s" % values.get("x_billing_account_number", ""))
        values.setdefault("company_id", self.company.id)
        values["is_company"] = True
        return self.Partner.create(values)

    def test_billing_account_with_subscribers(self):
        account = self.account(
            x_billing_account_number="BA-1",
            x_account_status="open",
            x_bill_cycle_day=15,
            x_invoicing_preference="email",
            x_payment_method="Direct debit",
            x_legacy_ar_balance=42.5,
            credit_limit=500,
        )
        line = self.subscriber(x_subscriber_id="S1", parent_id=account.id)
        self.assertEqual(line.parent_id, account)
        self.assertIn(line, account.child_ids)
        self.assertEqual(account.x_legacy_ar_balance, 42.5)

    def test_bill_cycle_day_bounds(self):
        for day in (1, 28):
            self.assertEqual(
                self.account(x_billing_account_number=f"BA-{day}", x_bill_cycle_day=day).x_bill_cycle_day, day
            )
        for day in (29, 31, -1):
            with self.assertRaisesRegex(ValidationError, f"Bill Cycle Day: {day} is out of range"):
                self.account(x_billing_account_number=f"BA-X{day}", x_bill_cycle_day=day)
        account = self.account(x_billing_account_number="BA-W")
        with self.assertRaisesRegex(ValidationError, "between 1 and 28"):
            account.x_bill_cycle_day = 30

    def test_card_number_refused_without_echo(self):
        for value in ("4111111111111111", "VISA 4111 1111 1111 1111", "5500-0000-0000-0004"):
            with self.assertRaises(ValidationError) as caught:
                self.account(x_billing_account_number="BA-CARD", x_payment_method=value)
            message = str(caught.exception)
            self.assertIn("Payment Method", message)
            self.assertNotIn("1111", message)
            self.assertNotIn("0004", message)
        account = self.account(x_billing_account_number="BA-TOKEN", x_payment_method="tok_1N3xYz2eZvKYlo2C")
        self.assertEqual(account.x_payment_method, "tok_1N3xYz2eZvKYlo2C")
        with self.assertRaises(ValidationError):
            account.x_payment_method = "4222222222222"

    def test_account_number_unique_per_company(self):
        self.account(x_billing_account_number="BA-1")
        with self.assertRaisesRegex(ValidationError, "Billing Account Number: 'BA-1' is already used"):
            self.account(x_billing_account_number="BA-1")
        other = self.account(x_billing_account_number="BA-1", company_id=self.company_b.id)
        self.assertEqual(other.company_id, self.company_b)

    def test_account_number_refused_on_individual(self):
        with self.assertRaisesRegex(ValidationError, "billing accounts are company contacts"):
            self.Partner.create({"name": "Bob", "x_billing_account_number": "BA-P"})

    def test_database_index_guards_concurrent_duplicates(self):
        """Even bypassing the ORM check, the database refuses a duplicate."""
        self.account(x_billing_account_number="BA-1")
        self.env.flush_all()
        with (
            self.assertRaises(Exception) as caught,
            self.env.cr.savepoint(),
            mute_logger("odoo.sql_db"),
        ):
            # Deferred constraints are checked at commit; force the check now.
            self.env.cr.execute("SET CONSTRAINTS ALL IMMEDIATE")
            self.env.cr.execute(
                "INSERT INTO res_partner"
                " (name, is_company, company_id, x_billing_account_number, active, type, autopost_bills)"
                " VALUES ('dup', true, %s, 'BA-1', true, 'contact', 'ask')",
                [self.company.id],
            )
        self.assertIn("res_partner_x_billing_account_company_excl", str(caught.exception))
