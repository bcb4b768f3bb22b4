from odoo.exceptions import ValidationError
from odoo.tests import Form, tagged

from .common import TelecomCase, make_iccid


@tagged("post_install", "-at_install")
class TestSubscriberFields(TelecomCase):
    # --- MSISDN -----------------------------------------------------------------
    def test_msisdn_normalised_on_create_and_write(self):
        partner = self.subscriber(x_subscriber_id="S1", x_msisdn="+44 7700 900123")
        self.assertEqual(partner.x_msisdn, "447700900123")
        partner.x_msisdn = "0033 6 12 34 56 78"
        self.assertEqual(partner.x_msisdn, "33612345678")
        partner.x_msisdn = "+1 (202) 555-0143"
        self.assertEqual(partner.x_msisdn, "12025550143")

    def test_msisdn_edge_lengths(self):
        self.assertEqual(self.subscriber(x_subscriber_id="S1", x_msisdn="1").x_msisdn, "1")
        fifteen = "123456789012345"
        self.assertEqual(self.subscriber(x_subscriber_id="S2", x_msisdn=fifteen).x_msisdn, fifteen)
        with self.assertRaisesRegex(ValidationError, r"MSISDN.*'1234567890123456'.*at most 15 digits"):
            self.subscriber(x_subscriber_id="S3", x_msisdn="1234567890123456")

    def test_msisdn_letters_refused(self):
        with self.assertRaisesRegex(ValidationError, r"MSISDN.*'44770090O123'.*only digits"):
            self.subscriber(x_subscriber_id="S1", x_msisdn="44770090O123")

    def test_msisdn_national_format_refused(self):
        with self.assertRaisesRegex(ValidationError, "country code"):
            self.subscriber(x_subscriber_id="S1", x_msisdn="07700900123")

    def test_msisdn_unique_among_live_subscribers(self):
        self.subscriber(x_subscriber_id="S1", x_msisdn="447700900123", x_subscriber_status="active")
        with self.assertRaisesRegex(ValidationError, r"MSISDN: '447700900123' is already"):
            # Same number written differently is the same number.
            self.subscriber(x_subscriber_id="S2", x_msisdn="+44 7700 900123")

    def test_msisdn_unique_across_companies(self):
        self.subscriber(x_subscriber_id="S1", x_msisdn="447700900123")
        with self.assertRaisesRegex(ValidationError, "already the number"):
            self.subscriber(x_subscriber_id="S1", x_msisdn="447700900123", company_id=self.company_b.id)

    def test_msisdn_recycled_after_termination_or_archive(self):
        old = self.subscriber(x_subscriber_id="S1", x_msisdn="447700900123", x_subscriber_status="active")
        old.x_subscriber_status = "terminated"
        new = self.subscriber(x_subscriber_id="S2", x_msisdn="447700900123", x_subscriber_status="active")
        self.assertEqual(new.x_msisdn, old.x_msisdn)
        # Reviving the terminated subscriber would give the number to two people.
        with self.assertRaisesRegex(ValidationError, "already the number"):
            old.x_subscriber_status = "active"
        new.active = False
        old.x_subscriber_status = "active"
        with self.assertRaisesRegex(ValidationError, "already the number"):
            new.active = True

    # --- IMSI -----------------------------------------------------------------------
    def test_imsi_valid(self):
        partner = self.subscriber(x_subscriber_id="S1", x_imsi="310150123456789")
        self.assertEqual(partner.x_imsi, "310150123456789")
        partner.x_imsi = "23415 0123456789"
        self.assertEqual(partner.x_imsi, "234150123456789")

    def test_imsi_wrong_length(self):
        with self.assertRaisesRegex(ValidationError, r"IMSI.*'31015012345678'.*got 14"):
            self.subscriber(x_subscriber_id="S1", x_imsi="31015012345678")
        with self.assertRaisesRegex(ValidationError, "got 16"):
            self.subscriber(x_subscriber_id="S2", x_imsi="3101501234567890")

    def test_imsi_letters_refused(self):
        with self.assertRaisesRegex(ValidationError, "only digits"):
            self.subscriber(x_subscriber_id="S1", x_imsi="31015012345678X")

    def test_imsi_wrong_mcc_refused(self):
        with self.assertRaisesRegex(ValidationError, r"'123451234567890'.*MCC 123.*not a known network"):
            self.subscriber(x_subscriber_id="S1", x_imsi="123451234567890")

    # --- ICCID ------------------------------------------------------------------------
    def test_iccid_edge_lengths(self):
        for length in (18, 22):
            iccid = make_iccid(length, length)
            partner = self.subscriber(x_subscriber_id=f"S{length}", x_iccid=iccid)
            self.assertEqual(partner.x_iccid, iccid)
            self.assertFalse(partner.x_iccid_check_failed)
        for length in (17, 23):
            with self.assertRaisesRegex(ValidationError, f"18 to 22 digits, got {length}"):
                self.subscriber(x_subscriber_id=f"S{length}", x_iccid=make_iccid(length, length))

    def test_iccid_letters_refused(self):
        with self.assertRaisesRegex(ValidationError, "ICCID.*only digits"):
            self.subscriber(x_subscriber_id="S1", x_iccid="8944100030164131300F")

    def _bad_luhn_iccid(self):
        iccid = make_iccid(42)
        return iccid[:-1] + str((int(iccid[-1]) + 1) % 10)

    def test_iccid_bad_luhn_strict_mode(self):
        self.assertEqual(self.company.x_iccid_check_mode, "strict")
        bad = self._bad_luhn_iccid()
        with self.assertRaisesRegex(ValidationError, f"ICCID.*'{bad}'.*check digit"):
            self.subscriber(x_subscriber_id="S1", x_iccid=bad)

    def test_iccid_bad_luhn_warning_mode(self):
        self.company.x_iccid_check_mode = "warning"
        bad = self._bad_luhn_iccid()
        partner = self.subscriber(x_subscriber_id="S1", x_iccid=bad)
        self.assertEqual(partner.x_iccid, bad)
        self.assertTrue(partner.x_iccid_check_failed)
        flagged = self.Partner.search([("x_iccid_check_failed", "=", True)])
        self.assertIn(partner, flagged)
        # The mode is per company: the second brand stays strict.
        with self.assertRaisesRegex(ValidationError, "check digit"):
            self.subscriber(x_subscriber_id="S2", x_iccid=bad, company_id=self.company_b.id)
        partner.x_iccid = make_iccid(43)
        self.assertFalse(partner.x_iccid_check_failed)

    # --- subscriber id -----------------------------------------------------------------
    def test_subscriber_id_unique_per_company(self):
        self.subscriber(x_subscriber_id="SUB-001")
        with self.assertRaisesRegex(ValidationError, "Subscriber ID: 'SUB-001' is already used"):
            self.subscriber(x_subscriber_id="SUB-001")

    def test_subscriber_id_same_value_in_other_company(self):
        first = self.subscriber(x_subscriber_id="SUB-001")
        second = self.subscriber(x_subscriber_id="SUB-001", company_id=self.company_b.id)
        self.assertNotEqual(first.company_id, second.company_id)

    def test_subscriber_id_archived_still_counts(self):
        self.subscriber(x_subscriber_id="SUB-001").active = False
        with self.assertRaisesRegex(ValidationError, "already used"):
            self.subscriber(x_subscriber_id="SUB-001")

    def test_subscriber_id_duplicate_within_one_batch(self):
        with self.assertRaisesRegex(ValidationError, "already used"):
            self.Partner.create(
                [
                    {"name": "A", "x_subscriber_id": "SUB-9", "company_id": self.company.id},
                    {"name": "B", "x_subscriber_id": "SUB-9", "company_id": self.company.id},
                ]
            )

    def test_subscriber_fields_refused_on_company(self):
        with self.assertRaisesRegex(ValidationError, "is a company"):
            self.Partner.create({"name": "Acme", "is_company": True, "x_msisdn": "447700900123"})

    def test_default_status_and_subscriber_flag(self):
        partner = self.subscriber(x_subscriber_id="S1")
        self.assertEqual(partner.x_subscriber_status, "pending")
        self.assertTrue(partner.x_is_subscriber)
        plain = self.Partner.create({"name": "Just a contact"})
        self.assertFalse(plain.x_subscriber_status)
        self.assertFalse(plain.x_is_subscriber)

    def test_copy_does_not_duplicate_identity(self):
        partner = self.subscriber(x_subscriber_id="S1", x_msisdn="447700900123", x_imsi="310150123456789")
        copy = partner.copy()
        self.assertFalse(copy.x_subscriber_id)
        self.assertFalse(copy.x_msisdn)
        self.assertFalse(copy.x_imsi)

    # --- plan resolution -------------------------------------------------------------
    def test_plan_resolved_from_code(self):
        partner = self.subscriber(x_subscriber_id="S1", x_plan_code=" PRE10 ")
        self.assertEqual(partner.x_plan_code, "PRE10")
        self.assertEqual(partner.x_plan_id, self.plan.product_variant_id)

    def test_plan_code_unknown_kept_as_text(self):
        partner = self.subscriber(x_subscriber_id="S1", x_plan_code="LEGACY99")
        self.assertEqual(partner.x_plan_code, "LEGACY99")
        self.assertFalse(partner.x_plan_id)
        unresolved = self.Partner.search([("x_plan_code", "!=", False), ("x_plan_id", "=", False)])
        self.assertIn(partner, unresolved)

    def test_plan_linked_when_plan_created_later(self):
        partner = self.subscriber(x_subscriber_id="S1", x_plan_code="POST30")
        plan = self.env["product.template"].create(
            {
                "name": "Postpaid 30",
                "x_is_service_plan": True,
                "x_plan_code": "POST30",
                "x_service_type": "mobile_postpaid",
            }
        )
        self.assertEqual(partner.x_plan_id, plan.product_variant_id)

    def test_plan_code_follows_plan_and_recode(self):
        partner = self.subscriber(x_subscriber_id="S1")
        partner.x_plan_id = self.plan.product_variant_id
        self.assertEqual(partner.x_plan_code, "PRE10")
        self.plan.x_plan_code = "PRE10-2025"
        self.assertEqual(partner.x_plan_code, "PRE10-2025")
        partner.x_plan_code = False
        self.assertFalse(partner.x_plan_id)

    def test_plan_and_code_conflict_refused(self):
        with self.assertRaisesRegex(ValidationError, "'OTHER' does not match"):
            self.subscriber(
                x_subscriber_id="S1", x_plan_code="OTHER", x_plan_id=self.plan.product_variant_id.id
            )

    # --- form --------------------------------------------------------------------------
    def test_form_creates_subscriber(self):
        with Form(self.Partner.with_user(self.user_telecom)) as form:
            form.name = "Ada Subscriber"
            form.x_subscriber_id = "SUB-FORM"
            form.x_msisdn = "+44 7700 900555"
            form.x_service_type = "mobile_prepaid"
            form.x_plan_code = "PRE10"
        partner = form.record
        self.assertEqual(partner.x_msisdn, "447700900555")
        self.assertEqual(partner.x_plan_id, self.plan.product_variant_id)
        self.assertEqual(partner.x_subscriber_status, "pending")
