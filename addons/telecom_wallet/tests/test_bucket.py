from datetime import timedelta

from odoo import fields
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from .common import WalletCase


@tagged("post_install", "-at_install")
class TestBuckets(WalletCase):
    def bucket(self, quantity, **values):
        values.setdefault("usage_type", "data")
        values.setdefault("unit", "mb")
        return self.env["telecom.wallet.bucket"].create(
            {
                "wallet_id": self.wallet.id,
                "initial_quantity": quantity,
                "remaining_quantity": quantity,
                **values,
            }
        )

    def test_consumption_order_priority_then_earliest_expiry(self):
        now = fields.Datetime.now()
        late = self.bucket(100, priority=10, valid_to=now + timedelta(days=20))
        soon = self.bucket(100, priority=10, valid_to=now + timedelta(days=2))
        bonus = self.bucket(50, priority=20, valid_to=now + timedelta(days=30))
        no_expiry = self.bucket(100, priority=10)
        voice = self.bucket(100, usage_type="voice", unit="seconds", priority=99)
        operation = self.wallet.consume_allowance("data", 180, "SESSION-1")
        self.assertEqual(bonus.remaining_quantity, 0)
        self.assertEqual(soon.remaining_quantity, 0)
        self.assertEqual(late.remaining_quantity, 70)
        self.assertEqual(no_expiry.remaining_quantity, 100)
        self.assertEqual(voice.remaining_quantity, 100)
        self.assertEqual(
            [(c.bucket_id, c.quantity) for c in operation.consumption_ids.sorted("id")],
            [(bonus, 50), (soon, 100), (late, 30)],
        )
        self.wallet.consume_allowance("data", 170, "SESSION-2")
        self.assertEqual((late.remaining_quantity, no_expiry.remaining_quantity), (0, 0))

    def test_expired_and_suspended_buckets_are_never_consumed(self):
        now = fields.Datetime.now()
        expired = self.bucket(
            100, priority=50, valid_from=now - timedelta(days=10), valid_to=now - timedelta(days=1)
        )
        suspended = self.bucket(100, priority=40)
        suspended.action_suspend()
        future = self.bucket(100, priority=30, valid_from=now + timedelta(days=1))
        usable = self.bucket(30, priority=1)
        with self.assertRaisesRegex(UserError, "(?i)insufficient data allowance.*30.0 available"):
            self.wallet.consume_allowance("data", 31, "S-1")
        self.assertEqual(usable.remaining_quantity, 30, "all or nothing")
        self.wallet.consume_allowance("data", 30, "S-2")
        for bucket in (expired, suspended, future):
            self.assertEqual(bucket.remaining_quantity, 100)
        # The scheduled action marks what ended; nothing else.
        self.assertEqual(self.env["telecom.wallet.bucket"]._cron_expire_buckets(), 1)
        self.assertEqual(expired.state, "expired")
        self.assertEqual(suspended.state, "suspended")
        self.assertEqual(future.state, "active")

    def test_consumption_is_idempotent_and_validated(self):
        bucket = self.bucket(100)
        first = self.wallet.consume_allowance("data", 10, "S-1")
        self.assertEqual(self.wallet.consume_allowance("data", 10, "S-1"), first)
        self.assertEqual(bucket.remaining_quantity, 90)
        with self.assertRaisesRegex(UserError, "already used"):
            self.wallet.consume_allowance("data", 11, "S-1")
        with self.assertRaisesRegex(UserError, "already used"):
            self.wallet.top_up(1.0, "S-1")
        for quantity in (0, -1, "5"):
            with self.subTest(quantity=quantity), self.assertRaises(ValidationError):
                bucket.consume(quantity, "S-BAD")
        self.wallet.action_freeze()
        with self.assertRaisesRegex(UserError, "is frozen"):
            bucket.consume(1, "S-F")

    def test_bucket_constraints(self):
        with self.assertRaisesRegex(ValidationError, "exceeds the initial"):
            self.bucket(10, remaining_quantity=11)
        now = fields.Datetime.now()
        with self.assertRaisesRegex(ValidationError, "after valid from"):
            self.bucket(10, valid_from=now, valid_to=now - timedelta(hours=1))
