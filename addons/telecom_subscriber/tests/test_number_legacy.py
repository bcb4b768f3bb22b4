from datetime import date, timedelta

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.service.model import get_public_method
from odoo.tests import tagged

from ..models.telecom_number import LEGACY_LOAD_CONTEXT
from .test_number import A1, A2, A3, TestNumberCase


@tagged("post_install", "-at_install")
class TestNumberLegacyLoad(TestNumberCase):
    """The entry points a data migration loads numbers and ports through, in their legacy state."""

    def legacy(self, msisdn=A1, since=None, **values):
        return self.Number.sudo()._legacy_create([{"msisdn": msisdn, **values}], [since])

    def test_numbers_created_in_their_legacy_status_with_their_dates(self):
        porting_in = self.legacy(A2, status="porting_in")
        porting_out = self.legacy(A1, date(2019, 5, 5), status="porting_out", partner_id=self.alice.id)
        aging = self.legacy(A3, status="aging", aging_date=self.today - timedelta(days=10))
        self.assertEqual(
            (porting_in.status, porting_out.status, aging.status), ("porting_in", "porting_out", "aging")
        )
        self.assertRecordValues(
            porting_out.assignment_ids,
            [{"partner_id": self.alice.id, "date_from": date(2019, 5, 5), "date_to": False}],
        )
        self.assertFalse(porting_in.assignment_ids | aging.assignment_ids)
        self.assertEqual(aging.reassign_date, self.today + timedelta(days=80))
        # The legacy status loaded, the interactive guards hold again.
        with self.assertRaisesRegex(UserError, "aging until"):
            aging.action_assign(self.bob)
        with self.assertRaisesRegex(ValidationError, "cannot go from Porting In to Reserved"):
            porting_in.write({"status": "reserved"})

    def test_an_assigned_number_without_date_starts_today(self):
        number = self.legacy(status="assigned", partner_id=self.alice.id)
        self.assertEqual(number.assignment_ids.date_from, self.today)

    def test_the_invariants_hold(self):
        with self.assertRaisesRegex(ValidationError, "is Assigned but has no subscriber"):
            self.legacy(status="assigned")
        with self.assertRaisesRegex(ValidationError, "is Porting Out but has no subscriber"):
            self.legacy(status="porting_out")
        with self.assertRaisesRegex(ValidationError, "the MSISDN of Alice is 447700900001, not this number"):
            self.legacy(A2, status="assigned", partner_id=self.alice.id)
        with self.assertRaisesRegex(ValidationError, "is aging but has no aging date"):
            self.legacy(status="aging")
        with self.assertRaisesRegex(ValidationError, "cannot have a subscriber"):
            self.legacy(status="available", partner_id=self.alice.id)
        self.alice.x_subscriber_status = "terminated"
        with self.assertRaisesRegex(ValidationError, "archived or terminated"):
            self.legacy(status="assigned", partner_id=self.alice.id)

    def test_legacy_write_moves_the_status_and_keeps_the_history_with_legacy_dates(self):
        number = self.legacy(A1, date(2020, 1, 1), status="assigned", partner_id=self.alice.id)
        # Same subscriber, another legacy start: the open assignment starts then.
        number._legacy_write({}, assigned_date=date(2020, 2, 1))
        self.assertEqual(number.assignment_ids.date_from, date(2020, 2, 1))
        # Released into aging by the legacy system: the assignment ends on the aging date.
        aged = self.today - timedelta(days=5)
        number.sudo()._legacy_write({"status": "aging", "partner_id": False, "aging_date": aged})
        self.assertRecordValues(number, [{"status": "aging", "partner_id": False, "aging_date": aged}])
        self.assertRecordValues(
            number.assignment_ids,
            [{"partner_id": self.alice.id, "date_from": date(2020, 2, 1), "date_to": aged}],
        )
        # The legacy system reassigned it (its own aging period): written, with the new start.
        self.alice.x_subscriber_status = "terminated"
        self.bob.x_msisdn = A1
        number.sudo()._legacy_write(
            {"status": "assigned", "partner_id": self.bob.id, "aging_date": False}, assigned_date=self.today
        )
        self.assertRecordValues(
            number.assignment_ids,
            [
                {"partner_id": self.bob.id, "date_from": self.today, "date_to": False},
                {"partner_id": self.alice.id, "date_from": date(2020, 2, 1), "date_to": aged},
            ],
        )
        # Invariants still hold on a legacy write.
        with self.assertRaisesRegex(ValidationError, "is Assigned but has no subscriber"):
            number.sudo()._legacy_write({"partner_id": False})

    def test_legacy_ports_keep_their_state_and_dates_and_leave_the_number(self):
        out = self.legacy(A1, status="porting_out", partner_id=self.alice.id)
        free = self.legacy(A2)
        Port = self.Port.sudo()
        ports = Port._legacy_create(
            [
                {
                    "number_id": out.id,
                    "direction": "out",
                    "state": "confirmed",
                    "partner_id": self.alice.id,
                    "request_date": date(2024, 5, 1),
                    "transaction_id": "TX-1",
                },
                {
                    "number_id": free.id,
                    "direction": "in",
                    "state": "rejected",
                    "rejection_code": "NACK-7",
                    "request_date": date(2022, 6, 1),
                    "transaction_id": "TX-2",
                },
                {
                    "number_id": free.id,
                    "direction": "out",
                    "state": "completed",
                    "request_date": date(2018, 1, 1),
                    "completion_date": date(2018, 1, 5),
                },
            ]
        )
        self.assertRecordValues(
            ports,
            [
                {
                    "state": "confirmed",
                    "partner_id": self.alice.id,
                    "request_date": date(2024, 5, 1),
                    "completion_date": False,
                    "transaction_id": "TX-1",
                    "rejection_code": False,
                },
                {
                    "state": "rejected",
                    "partner_id": False,
                    "request_date": date(2022, 6, 1),
                    "completion_date": False,
                    "transaction_id": "TX-2",
                    "rejection_code": "NACK-7",
                },
                {
                    "state": "completed",
                    "partner_id": False,
                    "request_date": date(2018, 1, 1),
                    "completion_date": date(2018, 1, 5),
                    "transaction_id": False,
                    "rejection_code": False,
                },
            ],
        )
        # The numbers keep the status the inventory gave them.
        self.assertEqual((out.status, free.status), ("porting_out", "available"))
        # A legacy update writes the locked fields, still without touching the number.
        ports[0]._legacy_write({"state": "completed", "completion_date": date(2024, 5, 9)})
        self.assertEqual((ports[0].state, out.status), ("completed", "porting_out"))
        # The port's invariants hold.
        with self.assertRaisesRegex(ValidationError, "give its rejection code"):
            Port._legacy_create(
                [{"number_id": free.id, "direction": "in", "state": "rejected", "request_date": self.today}]
            )
        with self.assertRaisesRegex(
            ValidationError, "its number 447700900002 must be Porting In, it is Available"
        ):
            Port._legacy_create(
                [{"number_id": free.id, "direction": "in", "state": "submitted", "request_date": self.today}]
            )
        with self.assertRaisesRegex(ValidationError, "cannot complete"):
            ports[1]._legacy_write({"completion_date": date(2022, 5, 1)})

    def test_not_reachable_by_an_ordinary_user(self):
        number = self.legacy(A2, status="porting_in")
        port = self.Port.sudo()._legacy_create(
            [{"number_id": number.id, "direction": "in", "state": "submitted", "request_date": self.today}]
        )
        for user in (self.user_manager, self.user_telecom):
            Number = self.Number.with_user(user)
            with self.assertRaisesRegex(AccessError, "Only a data migration"):
                Number._legacy_create([{"msisdn": A3, "status": "porting_in"}])
            with self.assertRaisesRegex(AccessError, "Only a data migration"):
                number.with_user(user)._legacy_write({"status": "available"})
            with self.assertRaisesRegex(AccessError, "Only a data migration"):
                self.Port.with_user(user)._legacy_create(
                    [{"number_id": number.id, "direction": "in", "state": "completed"}]
                )
            with self.assertRaisesRegex(AccessError, "Only a data migration"):
                port.with_user(user)._legacy_write({"state": "cancelled"})
        # The context key alone (it travels over RPC) opens nothing: the interactive rules apply.
        legacy = {LEGACY_LOAD_CONTEXT: True}
        Number = self.Number.with_user(self.user_manager).with_context(**legacy)
        with self.assertRaisesRegex(ValidationError, "enters porting through a port request"):
            Number.create({"msisdn": A3, "status": "porting_in"})
        with self.assertRaisesRegex(ValidationError, "cannot go from Porting In to Available"):
            number.with_user(self.user_manager).with_context(**legacy).write({"status": "available"})
        with self.assertRaisesRegex(UserError, "cannot be edited"):
            port.with_user(self.user_manager).with_context(**legacy).write({"state": "cancelled"})
        # Over RPC (JSON-RPC and XML-RPC go through the same gate), the entry points do not exist.
        for model in (number.with_user(self.user_manager), port.with_user(self.user_manager)):
            for name in ("_legacy_create", "_legacy_write"):
                with self.assertRaisesRegex(AccessError, "cannot be called remotely"):
                    get_public_method(model, name)
