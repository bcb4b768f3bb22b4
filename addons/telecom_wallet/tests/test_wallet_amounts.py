from decimal import Decimal
from unittest.mock import patch

from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from .common import WalletCase


@tagged("post_install", "-at_install")
class TestWalletAmounts(WalletCase):
    def test_decimal_amounts_are_accepted_everywhere(self):
        self.wallet.post_opening_balance(Decimal("40.10"), "OPEN-D", self.today())
        self.wallet.top_up(Decimal("10.25"), "TOP-D")
        self.wallet.debit(Decimal("0.35"), "CDR-D")
        self.wallet.adjust(Decimal("-1.00"), "ADJ-D", "goodwill undone")
        self.wallet.transfer_to(self.wallet_bob, Decimal("5"), "TRF-D")
        self.assertEqual(self.wallet.balance, 44.0)
        self.assertEqual(self.wallet_bob.balance, 5.0)
        # A retry with the same amount as a float or as a Decimal is the same request.
        self.assertEqual(self.wallet.top_up(10.25, "TOP-D"), self.wallet.top_up(Decimal("10.250"), "TOP-D"))
        self.assertEqual(
            self.Wallet.search([("id", "=", self.wallet.id), ("balance", ">", Decimal("43.99"))]), self.wallet
        )
        self.assertInvariants()

    def test_inexact_amounts_are_refused(self):
        for amount, message in (
            (Decimal("10.001"), "more decimals"),
            (Decimal("0.005"), "more decimals"),
            (10.001, "more decimals"),
            (0.004, "more decimals"),
            (Decimal("NaN"), "not a number"),
            (Decimal("Infinity"), "not a number"),
            (float("nan"), "not a number"),
            (Decimal("0.00"), "zero"),
            (Decimal("-1"), "negative"),
        ):
            with self.subTest(amount=amount), self.assertRaisesRegex(ValidationError, message):
                self.wallet.top_up(amount, "BAD")
        with self.assertRaisesRegex(ValidationError, "more decimals"):
            self.wallet.post_opening_balance(Decimal("-3.333"), "OPEN-BAD", self.today())
        self.assertFalse(self.wallet_moves(self.wallet))

    def test_negative_opening_balance_is_the_legacy_truth(self):
        """An overdrawn legacy account keeps its debt: accepted, flagged and listed."""
        self.assertFalse(self.wallet.allow_negative)
        move = self.wallet.post_opening_balance(Decimal("-12.50"), "OPEN-NEG", self.today())
        self.assertEqual(move.state, "posted")
        self.assertEqual(self.wallet.balance, -12.5)
        operation = move.telecom_wallet_operation_ids
        self.assertEqual(operation.amount, -12.5, "the signed amount is kept")
        self.assertTrue(operation.is_negative_opening)
        self.assertIn("negative", self.wallet.message_ids[0].body)
        self.wallet_bob.post_opening_balance(3.0, "OPEN-POS", self.today())
        listed = self.env["telecom.wallet.operation"].with_user(self.user_viewer).get_negative_openings()
        self.assertEqual([(row["reference"], row["amount"]) for row in listed], [("OPEN-NEG", -12.5)])
        # The debt stands: debits are refused until top-ups cover it.
        with self.assertRaisesRegex(UserError, "Insufficient funds"):
            self.wallet.debit(1.0, "CDR-1")
        self.wallet.top_up(20.0, "TOP-1")
        self.wallet.debit(7.5, "CDR-2")
        self.assertTrue(self.currency.is_zero(self.wallet.balance))
        self.assertInvariants()

    def test_every_operation_runs_through_one_helper(self):
        Wallet = type(self.Wallet)
        original = Wallet._telecom_run_operation
        calls = []

        def spy(wallet, operation_type, reference, *args, **kwargs):
            calls.append(operation_type)
            return original(wallet, operation_type, reference, *args, **kwargs)

        self.env["telecom.wallet.bucket"].create(
            {"wallet_id": self.wallet.id, "usage_type": "sms", "unit": "messages", "initial_quantity": 10}
        )
        with patch.object(Wallet, "_telecom_run_operation", spy):
            self.wallet.top_up(10.0, "TOP-1")
            debit = self.wallet.debit(1.0, "CDR-1")
            self.wallet.adjust(1.0, "ADJ-1", "x")
            self.wallet.post_opening_balance(1.0, "OPEN-1", self.today())
            self.wallet.transfer_to(self.wallet_bob, 1.0, "TRF-1")
            debit.telecom_wallet_operation_ids.reverse(reason="x")
            self.wallet.consume_allowance("sms", 2, "SMS-1")
            self.wallet.top_up(10.0, "TOP-1")  # a retry goes the same way
        self.assertEqual(
            calls, ["top_up", "debit", "adjust", "opening", "transfer", "reversal", "consume", "top_up"]
        )
