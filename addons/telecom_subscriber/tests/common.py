import re
from contextlib import contextmanager

from odoo import Command
from odoo.tests import TransactionCase, new_test_user

from ..tools.identifiers import luhn_check_digit


def make_iccid(serial, length=20):
    """An ICCID of ``length`` digits with a correct Luhn check digit."""
    body = ("8944" + str(serial).rjust(length, "0"))[: length - 1]
    return body + luhn_check_digit(body)


class SavepointRegexMixin:
    """For Odoo test cases: ``assertRaisesRegex`` that rolls back like Odoo's ``assertRaises``."""

    @contextmanager
    def assertRaisesRegex(self, expected_exception, expected_regex, msg=None):
        """Like Odoo's assertRaises: roll back to a savepoint when the expected
        error is raised, so the refused write does not linger in the
        transaction; and check the message like unittest's version."""
        with self.assertRaises(expected_exception, msg=msg) as caught:
            yield caught
        if not re.search(expected_regex, str(caught.exception)):
            self.fail(f"{expected_regex!r} not found in {str(caught.exception)!r}")


class TelecomCase(SavepointRegexMixin, TransactionCase):
    """Companies, plans and users shared by the telecom_subscriber tests."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.company_b = cls.env["res.company"].create({"name": "Second Brand Mobile"})
        cls.Partner = cls.env["res.partner"]
        cls.plan = cls.env["product.template"].create(
            {
                "name": "Prepaid 10",
                "x_is_service_plan": True,
                "x_plan_code": "PRE10",
                "x_service_type": "mobile_prepaid",
                "x_voice_minutes": 100,
                "x_data_mb": 10240,
                "x_sms_unlimited": True,
                "x_validity_days": 30,
                "list_price": 10.0,
            }
        )
        group = "telecom_subscriber.telecom_subscriber_group_"
        companies = {"company_id": cls.company.id, "company_ids": [Command.set([cls.company.id])]}
        cls.user_plain = new_test_user(cls.env, "plain_employee", groups="base.group_user", **companies)
        cls.user_telecom = new_test_user(cls.env, "telecom_user", groups=group + "user", **companies)
        cls.user_manager = new_test_user(cls.env, "telecom_manager", groups=group + "manager", **companies)
        cls.user_cpni = new_test_user(cls.env, "telecom_cpni", groups=group + "cpni", **companies)
        cls.user_company_b = new_test_user(
            cls.env,
            "telecom_user_b",
            groups=group + "user",
            company_id=cls.company_b.id,
            company_ids=[Command.set([cls.company_b.id])],
        )

    @classmethod
    def subscriber(cls, **values):
        values.setdefault("name", "Subscriber %s" % values.get("x_subscriber_id", ""))
        values.setdefault("company_id", cls.company.id)
        return cls.env["res.partner"].create(values)
