from datetime import timedelta

import psycopg2

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from .common import TelecomCase

A1 = "447700900001"
A2 = "447700900002"
A3 = "447700900003"


@tagged("post_install", "-at_install")
class TestNumberCase(TelecomCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Number = cls.env["telecom.number"]
        cls.Port = cls.env["telecom.number.port"]
        cls.Assignment = cls.env["telecom.number.assignment"]
        cls.today = fields.Date.context_today(cls.Number)
        cls.alice = cls.subscriber(
            name="Alice", x_subscriber_id="A", x_msisdn=A1, x_subscriber_status="active"
        )
        # A subscriber without a number yet.
        cls.bob = cls.subscriber(name="Bob", x_subscriber_id="B", x_subscriber_status="active")
        cls.contact = cls.Partner.create({"name": "Plain contact", "company_id": cls.company.id})

    def number(self, msisdn=A1, **values):
        return self.Number.create({"msisdn": msisdn, **values})

    def assigned(self, msisdn=A1, partner=None):
        number = self.number(msisdn)
        number.action_assign(partner or self.alice)
        return number

    def port(self, number, direction, **values):
        return self.Port.create({"number_id": number.id, "direction": direction, **values})

    def age(self, number, days_ago):
        """Pretend the number was released ``days_ago`` days ago."""
        number.write({"aging_date": self.today - timedelta(days=days_ago)})

    def flush_tracking(self):
        self.env.flush_all()
        self.env.cr.precommit.run()


@tagged("post_install", "-at_install")
class TestNumberRecord(TestNumberCase):
    def test_msisdn_normalised_like_subscribers(self):
        number = self.number("+44 7700 900001")
        self.assertEqual(number.msisdn, A1)
        self.assertEqual(number.msisdn, self.alice.x_msisdn)
        number.msisdn = "0044 7700 900002"
        self.assertEqual(number.msisdn, A2)
        self.assertEqual(number.status, "available")
        self.assertEqual(number.company_id, self.company)

    def test_invalid_msisdn_refused(self):
        with self.assertRaisesRegex(
            ValidationError, r"MSISDN: '07700900001' is not a valid MSISDN.*country code"
        ):
            self.number("07700900001")
        with self.assertRaisesRegex(
            ValidationError, r"MSISDN: '4477OO900001' is not a valid MSISDN.*only digits"
        ):
            self.number("4477OO900001")
        number = self.number()
        with self.assertRaisesRegex(ValidationError, r"MSISDN: '1234567890123456'.*at most 15"):
            number.msisdn = "1234567890123456"
        with self.assertRaisesRegex(ValidationError, r"MSISDN: '' is not a valid MSISDN: it is empty"):
            self.number("")

    def test_msisdn_unique_per_company(self):
        self.number(A1)
        with self.assertRaisesRegex(ValidationError, rf"MSISDN: '{A1}' is already in the number inventory"):
            self.number("+44 7700 900001")
        other = self.number(A2)
        with self.assertRaisesRegex(ValidationError, "already in the number inventory"):
            other.msisdn = A1
        # Another company (brand) has its own inventory.
        self.assertEqual(self.number(A1, company_id=self.company_b.id).company_id, self.company_b)

    def test_msisdn_unique_in_database(self):
        """The database refuses a duplicate written around the ORM, at commit at the latest."""
        self.number(A1)
        self.env.cr.execute(
            "INSERT INTO telecom_number (msisdn, company_id, status) VALUES (%s, %s, 'available')",
            (A1, self.company.id),
        )
        with self.assertRaises(psycopg2.errors.UniqueViolation), mute_logger("odoo.sql_db"):
            self.env.cr.execute("SET CONSTRAINTS telecom_number_msisdn_company_uniq IMMEDIATE")

    def test_reassign_date_from_company_aging_period(self):
        number = self.assigned()
        number.action_release()
        self.assertEqual(number.aging_date, self.today)
        self.assertEqual(self.company.x_number_aging_days, 90)
        self.assertEqual(number.reassign_date, self.today + timedelta(days=90))
        self.company.x_number_aging_days = 30
        self.assertEqual(number.reassign_date, self.today + timedelta(days=30))
        other = self.number(A1, company_id=self.company_b.id, status="aging", aging_date=self.today)
        self.assertEqual(other.reassign_date, self.today + timedelta(days=90))

    def test_negative_aging_period_refused(self):
        with self.assertRaisesRegex(ValidationError, "Number Aging Period: -1 days is negative"):
            self.company.x_number_aging_days = -1


@tagged("post_install", "-at_install")
class TestNumberConstraints(TestNumberCase):
    def test_assigned_needs_subscriber(self):
        with self.assertRaisesRegex(ValidationError, rf"Number {A1} is Assigned but has no subscriber"):
            self.number(status="assigned")
        number = self.assigned()
        with self.assertRaisesRegex(ValidationError, "has no subscriber"):
            number.partner_id = False

    def test_subscriber_only_on_assigned_number(self):
        with self.assertRaisesRegex(
            ValidationError, rf"Number {A1} is Available: it cannot have a subscriber"
        ):
            self.number(partner_id=self.alice.id)
        with self.assertRaisesRegex(ValidationError, "Reserved: it cannot have a subscriber"):
            self.number(status="reserved", partner_id=self.alice.id)

    def test_subscriber_must_be_active(self):
        archived = self.subscriber(name="Gone", x_subscriber_id="G", x_msisdn=A2, active=False)
        with self.assertRaisesRegex(ValidationError, rf"Number {A2}: Gone is archived or terminated"):
            self.number(A2, status="assigned", partner_id=archived.id)
        terminated = self.subscriber(
            name="Ended", x_subscriber_id="E", x_msisdn=A3, x_subscriber_status="terminated"
        )
        with self.assertRaisesRegex(ValidationError, "Ended is archived or terminated"):
            self.number(A3, status="assigned", partner_id=terminated.id)

    def test_subscriber_must_be_a_subscriber(self):
        with self.assertRaisesRegex(ValidationError, rf"Number {A1}: Plain contact is not a subscriber"):
            self.number(status="assigned", partner_id=self.contact.id)

    def test_number_equals_subscriber_msisdn(self):
        with self.assertRaisesRegex(ValidationError, rf"Number {A2}: the MSISDN of Alice is {A1}"):
            self.number(A2, status="assigned", partner_id=self.alice.id)
        number = self.assigned()
        with self.assertRaisesRegex(ValidationError, "the MSISDN of Alice"):
            number.msisdn = A2

    def test_one_assigned_number_per_subscriber_and_company(self):
        self.number(A1, status="assigned", partner_id=self.alice.id)
        with self.assertRaisesRegex(ValidationError, rf"Number {A2}: Alice already holds number {A1}"):
            self.number(A2, status="assigned", partner_id=self.alice.id)

    def test_aging_needs_aging_date(self):
        with self.assertRaisesRegex(ValidationError, rf"Number {A1} is aging but has no aging date"):
            self.number(status="aging")

    def test_porting_statuses_only_through_ports(self):
        with self.assertRaisesRegex(ValidationError, "cannot be created in status Porting In"):
            self.number(status="porting_in")
        number = self.number()
        with self.assertRaisesRegex(ValidationError, rf"Number {A1} cannot go from Available to Porting In"):
            number.status = "porting_in"
        with self.assertRaisesRegex(ValidationError, "cannot go from Available to Aging"):
            number.write({"status": "aging", "aging_date": self.today})

    def test_porting_out_or_released_number_cannot_be_assigned(self):
        number = self.assigned()
        port = self.port(number, "out")
        self.assertEqual(number.status, "porting_out")
        with self.assertRaisesRegex(ValidationError, rf"Number {A1} is Porting Out: it cannot be assigned"):
            number.status = "assigned"
        with self.assertRaisesRegex(UserError, rf"Cannot assign number {A1}: it is Porting Out"):
            number.action_assign(self.alice)
        port.action_confirm()
        port.action_complete()
        self.assertEqual(number.status, "quarantined_released")
        with self.assertRaisesRegex(ValidationError, "is Quarantined / Released: it cannot be assigned"):
            number.write({"status": "assigned", "partner_id": self.alice.id})
        with self.assertRaisesRegex(UserError, "it is Quarantined / Released"):
            number.action_assign(self.alice)
        with self.assertRaisesRegex(UserError, "Cannot make available number .*Quarantined / Released"):
            number.action_make_available()

    def test_assignment_dates_and_single_open_assignment(self):
        number = self.assigned()
        with self.assertRaisesRegex(ValidationError, rf"Number {A1} already has an open assignment"):
            self.Assignment.create({"number_id": number.id, "partner_id": self.bob.id})
        with self.assertRaisesRegex(ValidationError, "ends .* before it starts"):
            number.assignment_ids.date_to = self.today - timedelta(days=1)


@tagged("post_install", "-at_install")
class TestNumberActions(TestNumberCase):
    def test_reserve_and_make_available(self):
        number = self.number()
        number.action_reserve()
        self.assertEqual(number.status, "reserved")
        with self.assertRaisesRegex(UserError, rf"Cannot reserve number {A1}: it is Reserved"):
            number.action_reserve()
        number.action_make_available()
        self.assertEqual(number.status, "available")
        with self.assertRaisesRegex(UserError, rf"Cannot make available number {A1}: it is Available"):
            number.action_make_available()

    def test_assign_sets_an_empty_subscriber_msisdn(self):
        number = self.number(A2)
        number.action_reserve()
        number.action_assign(self.bob)
        self.assertEqual(number.status, "assigned")
        self.assertEqual(number.partner_id, self.bob)
        self.assertEqual(self.bob.x_msisdn, A2)
        self.assertRecordValues(
            number.assignment_ids, [{"partner_id": self.bob.id, "date_from": self.today, "date_to": False}]
        )
        self.assertEqual(self.bob.x_number_ids, number)
        self.assertEqual(self.bob.x_number_count, 1)
        action = self.bob.action_view_x_numbers()
        self.assertEqual(self.Number.search(action["domain"]), number)

    def test_assign_keeps_the_same_msisdn(self):
        number = self.assigned(A1, self.alice)
        self.assertEqual(number.partner_id, self.alice)
        self.assertEqual(self.alice.x_msisdn, A1)

    def test_assign_refuses_a_subscriber_with_another_msisdn(self):
        number = self.number(A2)
        with self.assertRaisesRegex(UserError, rf"Cannot assign number {A2} to Alice: .*MSISDN is {A1}"):
            number.action_assign(self.alice)
        self.assertEqual(self.alice.x_msisdn, A1)
        self.assertEqual(number.status, "available")
        self.assertFalse(number.assignment_ids)

    def test_assign_refuses_non_subscribers_and_inactive_subscribers(self):
        number = self.number(A2)
        with self.assertRaisesRegex(UserError, "to Plain contact: the contact is not a subscriber"):
            number.action_assign(self.contact)
        self.assertFalse(self.contact.x_msisdn)
        self.bob.x_subscriber_status = "terminated"
        with self.assertRaisesRegex(UserError, "to Bob: the subscriber is archived or terminated"):
            number.action_assign(self.bob)
        self.bob.write({"x_subscriber_status": "active", "active": False})
        with self.assertRaisesRegex(UserError, "archived or terminated"):
            number.action_assign(self.bob)

    def test_assign_refuses_wrong_status(self):
        number = self.assigned()
        with self.assertRaisesRegex(UserError, rf"Cannot assign number {A1}: it is Assigned"):
            number.action_assign(self.alice)

    def test_release_ages_the_number_and_closes_the_assignment(self):
        number = self.assigned()
        number.action_release()
        self.assertRecordValues(number, [{"status": "aging", "partner_id": False, "aging_date": self.today}])
        self.assertRecordValues(number.assignment_ids, [{"partner_id": self.alice.id, "date_to": self.today}])
        # The subscriber keeps its contact and its MSISDN field.
        self.assertEqual(self.alice.x_msisdn, A1)
        with self.assertRaisesRegex(UserError, rf"Cannot release number {A1}: it is Aging"):
            number.action_release()
        with self.assertRaisesRegex(UserError, "Cannot release number .*: it is Available"):
            self.number(A2).action_release()

    def test_aging_number_not_reassigned_before_reassign_date(self):
        number = self.assigned()
        number.action_release()
        self.alice.x_subscriber_status = "terminated"
        reassign = fmt = str(self.today + timedelta(days=90))
        with self.assertRaisesRegex(UserError, rf"Number {A1} is aging until {reassign}"):
            number.action_assign(self.bob)
        with self.assertRaisesRegex(UserError, f"aging until {fmt}"):
            number.action_make_available()
        with self.assertRaisesRegex(ValidationError, f"aging until {fmt}"):
            number.write({"status": "available", "aging_date": False})
        with self.assertRaisesRegex(ValidationError, "aging until"):
            number.write({"status": "assigned", "partner_id": self.alice.id})
        self.age(number, 89)
        self.assertEqual(number.reassign_date, self.today + timedelta(days=1))
        with self.assertRaisesRegex(UserError, "aging until"):
            number.action_assign(self.bob)
        self.assertFalse(self.bob.x_msisdn)
        # From the reassign date on, the number goes to another subscriber.
        self.age(number, 90)
        self.assertEqual(number.reassign_date, self.today)
        number.action_assign(self.bob)
        self.assertRecordValues(
            number, [{"status": "assigned", "partner_id": self.bob.id, "aging_date": False}]
        )
        self.assertEqual(self.bob.x_msisdn, A1)
        self.assertRecordValues(
            number.assignment_ids,
            [
                {"partner_id": self.bob.id, "date_from": self.today, "date_to": False},
                {"partner_id": self.alice.id, "date_from": self.today, "date_to": self.today},
            ],
        )

    def test_aging_number_made_available_after_reassign_date(self):
        number = self.assigned()
        number.action_release()
        self.age(number, 200)
        number.action_make_available()
        self.assertRecordValues(
            number, [{"status": "available", "aging_date": False, "reassign_date": False}]
        )

    def test_reassign_refused_while_the_old_subscriber_is_live(self):
        """The contact keeps its MSISDN: the number goes to somebody else once it is terminated."""
        number = self.assigned()
        number.action_release()
        self.age(number, 90)
        with self.assertRaisesRegex(ValidationError, "already the number of another active subscriber"):
            number.action_assign(self.bob)
        self.assertEqual(number.status, "aging")

    def test_tracking_logs_who_and_when(self):
        number = self.number()
        self.flush_tracking()
        start = fields.Datetime.now().replace(microsecond=0)
        number.with_user(self.user_telecom).action_assign(self.alice)
        self.flush_tracking()
        message = number.message_ids[0]
        self.assertEqual(message.author_id, self.user_telecom.partner_id)
        self.assertTrue(start <= message.date <= fields.Datetime.now())
        values = {value.field_id.name: value for value in message.sudo().tracking_value_ids}
        self.assertEqual(set(values), {"status", "partner_id"})
        self.assertEqual(
            (values["status"].old_value_char, values["status"].new_value_char), ("Available", "Assigned")
        )
        self.assertEqual(values["partner_id"].new_value_integer, self.alice.id)
        self.assertEqual(values["partner_id"].new_value_char, "Alice")

        number.with_user(self.user_manager).action_release()
        self.flush_tracking()
        message = number.message_ids[0]
        self.assertEqual(message.author_id, self.user_manager.partner_id)
        values = {value.field_id.name: value for value in message.sudo().tracking_value_ids}
        self.assertEqual(
            (values["status"].old_value_char, values["status"].new_value_char), ("Assigned", "Aging")
        )
        self.assertEqual(values["partner_id"].old_value_integer, self.alice.id)
        self.assertFalse(values["partner_id"].new_value_integer)
        self.assertIn("aging_date", values)


@tagged("post_install", "-at_install")
class TestNumberPort(TestNumberCase):
    def test_port_in_completed(self):
        number = self.number(A2, status="quarantined_released")
        port = self.port(
            number, "in", donor_operator="Other Mobile", recipient_operator="Us", transaction_id="TX1"
        )
        self.assertRecordValues(port, [{"state": "submitted", "previous_status": "quarantined_released"}])
        self.assertEqual(number.status, "porting_in")
        with self.assertRaisesRegex(
            UserError, rf"Cannot complete port request Port In {A2} \(TX1\): it is Submitted"
        ):
            port.action_complete()
        port.action_confirm()
        self.assertEqual((port.state, number.status), ("confirmed", "porting_in"))
        port.action_complete()
        self.assertRecordValues(port, [{"state": "completed", "completion_date": self.today}])
        self.assertEqual(number.status, "available")
        # Final: nothing moves a completed request any more.
        for action in ("action_confirm", "action_complete", "action_cancel"):
            with self.assertRaisesRegex(UserError, "it is Completed"):
                getattr(port, action)()
        with self.assertRaisesRegex(UserError, "Cannot reject .*it is Completed"):
            port.action_reject("X1")

    def test_port_in_rejected_restores_the_previous_status(self):
        number = self.number(A2)
        number.action_reserve()
        port = self.port(number, "in")
        self.assertEqual((number.status, port.previous_status), ("porting_in", "reserved"))
        with self.assertRaisesRegex(UserError, "Give the rejection code"):
            port.action_reject("  ")
        port.action_confirm()
        port.action_reject("E-NOT-OWNER")
        self.assertRecordValues(port, [{"state": "rejected", "rejection_code": "E-NOT-OWNER"}])
        self.assertEqual(number.status, "reserved")
        with self.assertRaisesRegex(UserError, "it is Rejected"):
            port.action_cancel()

    def test_port_in_cancelled_restores_the_previous_status(self):
        number = self.number(A2, status="quarantined_released")
        port = self.port(number, "in")
        port.action_cancel()
        self.assertEqual((port.state, number.status), ("cancelled", "quarantined_released"))
        with self.assertRaisesRegex(UserError, "Cannot confirm .*it is Cancelled"):
            port.action_confirm()

    def test_port_in_refused_for_a_number_in_use(self):
        number = self.assigned()
        with self.assertRaisesRegex(UserError, rf"Cannot port in number {A1}: it is Assigned"):
            self.port(number, "in")
        number.action_release()
        with self.assertRaisesRegex(UserError, "Cannot port in number .*: it is Aging"):
            self.port(number, "in")

    def test_port_out_completed_releases_the_number(self):
        number = self.assigned()
        port = self.port(number, "out", donor_operator="Us", recipient_operator="Other Mobile")
        self.assertRecordValues(
            port, [{"state": "submitted", "previous_status": "assigned", "partner_id": self.alice.id}]
        )
        self.assertRecordValues(number, [{"status": "porting_out", "partner_id": self.alice.id}])
        # The subscriber still holds the number while it is porting out.
        self.assertFalse(number.assignment_ids.date_to)
        port.action_confirm()
        self.assertEqual(number.status, "porting_out")
        port.action_complete()
        self.assertEqual(port.state, "completed")
        self.assertRecordValues(number, [{"status": "quarantined_released", "partner_id": False}])
        self.assertRecordValues(number.assignment_ids, [{"partner_id": self.alice.id, "date_to": self.today}])
        self.assertTrue(self.alice.exists() and self.alice.active)
        self.assertFalse(self.alice.x_number_ids)

    def test_port_out_rejected_or_cancelled_gives_the_number_back(self):
        number = self.assigned()
        port = self.port(number, "out")
        port.action_reject("E-CONTRACT")
        self.assertRecordValues(number, [{"status": "assigned", "partner_id": self.alice.id}])
        self.assertEqual(len(number.assignment_ids), 1)
        self.assertFalse(number.assignment_ids.date_to)
        port = self.port(number, "out")
        port.action_confirm()
        port.action_cancel()
        self.assertRecordValues(number, [{"status": "assigned", "partner_id": self.alice.id}])
        self.assertEqual(
            self.Port.search([("number_id", "=", number.id)]).mapped("state"), ["cancelled", "rejected"]
        )

    def test_port_out_refused_for_a_number_not_assigned(self):
        for status in ("available", "reserved", "quarantined_released"):
            number = self.number(A3, status=status)
            with self.assertRaisesRegex(UserError, rf"Cannot port out number {A3}: it is "):
                self.port(number, "out")
            number.unlink()

    def test_one_open_port_per_number(self):
        number = self.number(A2)
        self.port(number, "in")
        with self.assertRaisesRegex(UserError, rf"Cannot port in number {A2}: it is Porting In"):
            self.port(number, "in")
        other = self.number(A3)
        with self.assertRaisesRegex(ValidationError, rf"Number {A3} already has an open port request"):
            self.Port.create([{"number_id": other.id, "direction": "in"}] * 2)

    def test_rejection_code_required_when_rejected_and_refused_otherwise(self):
        number = self.number(A2)
        with self.assertRaisesRegex(
            ValidationError, rf"Port request Port In {A2} is rejected: give its rejection"
        ):
            self.port(number, "in", state="rejected")
        with self.assertRaisesRegex(
            ValidationError, r"is not rejected: it cannot have a rejection code \(E1\)"
        ):
            self.port(number, "in", rejection_code="E1")
        port = self.port(number, "in", state="rejected", rejection_code="E1")
        self.assertEqual(number.status, "available", "a request created final is history only")
        self.assertFalse(port.previous_status)

    def test_transaction_id_unique_per_company_and_direction(self):
        number = self.number(A2)
        history = {"state": "completed", "transaction_id": "TX-1"}
        self.port(number, "in", **history)
        with self.assertRaisesRegex(ValidationError, r"Transaction ID: 'TX-1' is already used"):
            self.port(number, "in", **history)
        self.port(number, "out", **history)
        self.port(self.number(A2, company_id=self.company_b.id), "in", **history)
        # Without a transaction id, any number of requests.
        self.port(number, "in", state="completed", transaction_id=" ")
        self.port(number, "in", state="cancelled")
        self.assertEqual(len(number.port_ids.filtered(lambda port: not port.transaction_id)), 2)

    def test_port_transitions_only_through_buttons(self):
        number = self.number(A2)
        port = self.port(number, "in")
        with self.assertRaisesRegex(UserError, "Status of a port request cannot be edited"):
            port.state = "completed"
        with self.assertRaisesRegex(UserError, "Number of a port request cannot be edited"):
            port.number_id = self.number(A3)
        port.write({"donor_operator": "Other Mobile", "transaction_id": "TX-9"})
        self.assertEqual(port.display_name, f"Port In {A2} (TX-9)")
        with self.assertRaisesRegex(ValidationError, "cannot complete .* before it was requested"):
            port.completion_date = port.request_date - timedelta(days=1)


@tagged("post_install", "-at_install")
class TestNumberAccess(TestNumberCase):
    def test_plain_employee_has_no_access(self):
        number = self.assigned()
        port = self.port(number, "out")
        for record in (number, number.assignment_ids, port):
            with self.assertRaises(AccessError):
                record.with_user(self.user_plain).read(["company_id"])
        with self.assertRaises(AccessError):
            self.Number.with_user(self.user_plain).search([])
        with self.assertRaises(AccessError):
            self.number(A2).with_user(self.user_plain).action_reserve()
        with self.assertRaises(AccessError):
            port.with_user(self.user_plain).action_cancel()
        # The contact stays readable and editable in Odoo's own flows.
        self.assertTrue(Form(self.alice.with_user(self.user_plain)))
        with self.assertRaises(AccessError):
            self.alice.with_user(self.user_plain).read(["x_number_count"])

    def test_telecom_user_reads_and_runs_actions(self):
        number = self.number(A2).with_user(self.user_telecom)
        self.assertEqual(number.read(["msisdn"])[0]["msisdn"], A2)
        with self.assertRaises(AccessError):
            number.write({"region": "London"})
        with self.assertRaises(AccessError):
            self.Number.with_user(self.user_telecom).create({"msisdn": A3})
        with self.assertRaises(AccessError):
            number.unlink()
        number.action_reserve()
        wizard = (
            self.env["telecom.number.assign"]
            .with_user(self.user_telecom)
            .create({"number_id": number.id, "partner_id": self.bob.id})
        )
        wizard.action_assign()
        self.assertRecordValues(number, [{"status": "assigned", "partner_id": self.bob.id}])
        self.assertEqual(number.assignment_ids.read(["date_from"])[0]["date_from"], self.today)
        self.assertEqual(self.bob.x_msisdn, A2)
        self.assertEqual(self.bob.with_user(self.user_telecom).x_number_count, 1)
        with self.assertRaises(AccessError):
            number.assignment_ids.write({"date_to": self.today})
        with self.assertRaises(AccessError):
            self.Port.with_user(self.user_telecom).create({"number_id": number.id, "direction": "out"})
        port = self.port(number, "out").with_user(self.user_telecom)
        self.assertEqual(port.read(["state"])[0]["state"], "submitted")
        with self.assertRaises(AccessError):
            port.write({"donor_operator": "X"})
        self.env["telecom.number.port.reject"].with_user(self.user_telecom).create(
            {"port_id": port.id, "rejection_code": "E-ID"}
        ).action_reject()
        self.assertEqual((port.state, port.rejection_code, number.status), ("rejected", "E-ID", "assigned"))
        port = self.port(number, "out").with_user(self.user_telecom)
        port.action_confirm()
        port.action_complete()
        self.assertEqual(number.status, "quarantined_released")

    def test_manager_creates_edits_and_deletes(self):
        Number = self.Number.with_user(self.user_manager)
        number = Number.create({"msisdn": "+44 7700 900003", "region": "London", "rate_center": "LDN"})
        self.assertEqual((number.msisdn, number.company_id), (A3, self.company))
        number.write({"region": "Manchester"})
        port = self.Port.with_user(self.user_manager).create(
            {"number_id": number.id, "direction": "in", "donor_operator": "Other Mobile"}
        )
        port.write({"transaction_id": "TX-M"})
        port.action_cancel()
        port.unlink()
        number.action_assign(self.bob)
        number.assignment_ids.unlink()
        number.action_release()
        number.unlink()
        self.assertFalse(number.exists())

    def test_the_port_transition_key_opens_nothing_over_rpc(self):
        """The transitions' context key counts only in their own sudo writes: a manager who sends
        it (an RPC call's context) still gets every rule of numbers and ports."""
        key = {"telecom_number_port_transition": True}
        number = self.number(A3)
        Number = self.Number.with_user(self.user_manager).with_context(**key)
        with self.assertRaisesRegex(ValidationError, "through a port request"):
            Number.create({"msisdn": "+44 7700 900009", "status": "porting_in"})
        with self.assertRaisesRegex(ValidationError, "cannot go from"):
            number.with_user(self.user_manager).with_context(**key).write({"status": "porting_in"})
        port = self.Port.with_user(self.user_manager).create({"number_id": number.id, "direction": "in"})
        with self.assertRaises(UserError):
            port.with_context(**key).write({"state": "completed"})
        # A port-in request put the number in porting (its own transition), nothing more.
        self.assertEqual((number.status, port.state), ("porting_in", "submitted"))
        # The transitions themselves still move both.
        port.action_confirm()
        port.action_complete()
        self.assertEqual(port.state, "completed")

    def test_multi_company_isolation(self):
        mine = self.assigned()
        theirs = self.number(A1, company_id=self.company_b.id)
        self.port(theirs, "in")
        Number = self.Number.with_user(self.user_company_b)
        self.assertEqual(Number.search([("msisdn", "=", A1)]), theirs)
        self.assertEqual(self.Port.with_user(self.user_company_b).search([]), theirs.port_ids)
        self.assertFalse(self.Assignment.with_user(self.user_company_b).search([]))
        with self.assertRaises(AccessError):
            mine.with_user(self.user_company_b).read(["msisdn"])
        with self.assertRaises(AccessError):
            mine.with_user(self.user_company_b).action_release()
        with self.assertRaises(AccessError):
            theirs.port_ids.with_user(self.user_telecom).read(["state"])
        self.assertEqual(self.Number.with_user(self.user_telecom).search([("msisdn", "=", A1)]), mine)

    def test_settings_wizard_sets_the_aging_period(self):
        Settings = self.env["telecom.settings"]
        with self.assertRaises(AccessError):
            Settings.with_user(self.user_telecom).create({"x_number_aging_days": 10})
        wizard = Settings.with_user(self.user_manager).create({})
        self.assertEqual(wizard.x_number_aging_days, 90)
        number = self.assigned()
        number.action_release()
        wizard.x_number_aging_days = 0
        wizard.action_save()
        self.assertEqual(self.company.x_number_aging_days, 0)
        self.assertEqual(self.company_b.x_number_aging_days, 90)
        self.assertEqual(number.reassign_date, self.today)
        number.action_make_available()
        self.assertEqual(number.status, "available")
        wizard = Settings.with_user(self.user_manager).create({"x_number_aging_days": -5})
        with self.assertRaisesRegex(ValidationError, "negative"):
            wizard.action_save()
        with Form(Settings.with_user(self.user_manager)) as form:
            form.x_number_aging_days = 45
        form.record.action_save()
        self.assertEqual(self.company.x_number_aging_days, 45)


@tagged("post_install", "-at_install")
class TestNumberViews(TestNumberCase):
    def test_views_load_for_a_telecom_user(self):
        Number = self.Number.with_user(self.user_telecom)
        views = Number.get_views(
            [(False, kind) for kind in ("list", "form", "kanban", "graph", "pivot", "search")]
        )["views"]
        self.assertIn('name="status"', views["graph"]["arch"])
        # Port requests are the manager's: the user's form has no button to request one.
        self.assertNotIn("action_new_port_in", views["form"]["arch"])
        self.assertIn(
            "action_new_port_in",
            self.Number.with_user(self.user_manager).get_views([(False, "form")])["views"]["form"]["arch"],
        )
        # One filter per status: the search view follows the status list.
        for status, _label in self.Number._fields["status"].selection:
            self.assertIn(f'name="status_{status}"', views["search"]["arch"])
        self.env["telecom.number.port"].with_user(self.user_telecom).get_views(
            [(False, "list"), (False, "form"), (False, "search")]
        )
        arch = self.Partner.with_user(self.user_telecom).get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertIn("action_view_x_numbers", arch)
        arch = self.Partner.with_user(self.user_plain).get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertNotIn("action_view_x_numbers", arch)

    def test_dashboard_counts_per_status(self):
        self.number(A1, status="reserved")
        self.number(A2)
        self.number(A3)
        groups = self.Number.with_user(self.user_telecom).read_group(
            [("msisdn", "in", [A1, A2, A3])], ["status"], ["status"]
        )
        self.assertEqual(
            {group["status"]: group["status_count"] for group in groups}, {"reserved": 1, "available": 2}
        )
