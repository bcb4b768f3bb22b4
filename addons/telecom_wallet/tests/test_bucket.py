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
        with self.assertRaisesRegex(UserError, "(?i)insufficient data allowance.*30.0 MB available"):
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


@tagged("post_install", "-at_install")
class TestBucketUnits(WalletCase):
    """Quantities live in one base unit per usage type: MB (1 GB = 1024 MB),
    seconds, messages, units."""

    bucket = TestBuckets.bucket

    def test_quantities_are_stored_in_the_base_unit(self):
        data = self.bucket(2, unit="gb")
        self.assertEqual((data.initial_quantity, data.remaining_quantity, data.unit), (2048, 2048, "mb"))
        voice = self.bucket(1.5, usage_type="voice", unit="minutes")
        self.assertEqual((voice.initial_quantity, voice.unit), (90, "seconds"))
        sms = self.bucket(5, usage_type="sms", unit="messages")
        self.assertEqual(sms.unit, "messages")
        other = self.env["telecom.wallet.bucket"].create(
            {"wallet_id": self.wallet.id, "usage_type": "other", "initial_quantity": 3}
        )
        self.assertEqual((other.unit, other.remaining_quantity), ("units", 3))
        legacy = self.env["telecom.wallet.bucket"].create(
            {"wallet_id": self.wallet.id, "usage_type": "voice", "unit": "minutes", "remaining_quantity": 2}
        )
        self.assertEqual((legacy.initial_quantity, legacy.remaining_quantity), (120, 120))
        data.write({"initial_quantity": 3, "unit": "gb"})
        self.assertEqual((data.initial_quantity, data.unit), (3072, "mb"))
        for values in (
            {"usage_type": "data", "unit": "minutes"},
            {"usage_type": "voice", "unit": "mb"},
            {"usage_type": "sms", "unit": "gb"},
        ):
            with self.subTest(**values), self.assertRaisesRegex(ValidationError, "does not measure"):
                self.bucket(1, **values)
        with self.assertRaisesRegex(ValidationError, "does not measure"):
            voice.write({"initial_quantity": 1, "unit": "gb"})

    def test_consumption_converts_or_refuses_units(self):
        gigabyte = self.bucket(1, unit="gb", priority=20)
        megabytes = self.bucket(500, unit="mb", priority=10)
        # 1.25 GB = 1280 MB: the whole GB bucket, then 256 MB.
        operation = self.wallet.consume_allowance("data", 1.25, "S-GB", unit="gb")
        self.assertEqual(operation.quantity, 1280)
        self.assertEqual((gigabyte.remaining_quantity, megabytes.remaining_quantity), (0, 244))
        # The default unit is the base unit; a retry in another unit is the same request.
        self.assertEqual(self.wallet.consume_allowance("data", 1280, "S-GB"), operation)
        self.wallet.consume_allowance("data", 44, "S-MB")
        self.assertEqual(megabytes.remaining_quantity, 200)
        with self.assertRaisesRegex(ValidationError, "does not measure"):
            self.wallet.consume_allowance("data", 1, "S-MIN", unit="minutes")
        with self.assertRaisesRegex(UserError, "(?i)insufficient data allowance.*200.0 MB available"):
            self.wallet.consume_allowance("data", 0.25, "S-BIG", unit="gb")
        voice = self.bucket(10, usage_type="voice", unit="minutes")
        voice.consume(2, "V-1", unit="minutes")
        voice.consume(30, "V-2")
        self.assertEqual(voice.remaining_quantity, 450)
        self.assertEqual(megabytes.remaining_quantity, 200, "refusals took nothing")

    def test_remaining_quantity_is_not_writable_by_hand(self):
        bucket = self.bucket(100)
        for env in (self.env, self.env(user=self.user_wallet_manager)):
            with self.subTest(user=env.user.login):
                with self.assertRaisesRegex(UserError, "changes only by consumption"):
                    bucket.with_env(env).write({"remaining_quantity": 1000})
                with self.assertRaisesRegex(UserError, "changes only by consumption"):
                    bucket.with_env(env).remaining_quantity = 50
        self.assertEqual(bucket.remaining_quantity, 100)
        self.wallet.with_user(self.user_wallet_manager).consume_allowance("data", 40, "S-1")
        self.assertEqual(bucket.remaining_quantity, 60)

    def test_buckets_kept_in_gb_or_minutes_are_migrated(self):
        data = self.bucket(3000)
        voice = self.bucket(600, usage_type="voice", unit="seconds")
        operation = self.wallet.consume_allowance("data", 1000, "S-OLD")
        self.env.flush_all()
        # As the module stored them before quantities had a base unit.
        self.env.cr.execute(
            "UPDATE telecom_wallet_bucket SET unit = 'gb', initial_quantity = 3, remaining_quantity = 2"
            " WHERE id = %s",
            (data.id,),
        )
        self.env.cr.execute(
            "UPDATE telecom_wallet_bucket SET unit = 'minutes', initial_quantity = 10,"
            " remaining_quantity = 10 WHERE id = %s",
            (voice.id,),
        )
        self.env.cr.execute(
            "UPDATE telecom_wallet_bucket_consumption SET quantity = 1 WHERE operation_id = %s",
            (operation.id,),
        )
        self.env.cr.execute("UPDATE telecom_wallet_operation SET quantity = 1 WHERE id = %s", (operation.id,))
        self.env.invalidate_all()
        self.assertEqual(self.env["telecom.wallet.bucket"]._telecom_migrate_units(), 2)
        self.assertEqual((data.unit, data.initial_quantity, data.remaining_quantity), ("mb", 3072, 2048))
        self.assertEqual((voice.unit, voice.initial_quantity), ("seconds", 600))
        self.assertEqual(operation.quantity, 1024)
        self.assertEqual(operation.consumption_ids.quantity, 1024)
        self.assertEqual(self.env["telecom.wallet.bucket"]._telecom_migrate_units(), 0, "idempotent")
