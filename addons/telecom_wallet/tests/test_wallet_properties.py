from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import WalletCase

# Amounts in cents, so that every generated amount is valid money.
cents = st.integers(min_value=1, max_value=50_000)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("top_up"), cents),
        st.tuples(st.just("debit"), cents),
        st.tuples(st.just("adjust"), st.integers(min_value=-20_000, max_value=20_000).filter(bool)),
        st.tuples(st.just("transfer"), cents),
        st.tuples(st.just("reverse"), st.integers(min_value=0, max_value=30)),
        st.tuples(st.just("repeat"), st.integers(min_value=0, max_value=30)),
    ),
    min_size=1,
    max_size=12,
)


@tagged("post_install", "-at_install")
class TestWalletProperties(WalletCase):
    @settings(
        max_examples=30,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(sequence=operations)
    def test_random_operation_sequences_keep_the_ledger_invariants(self, sequence):
        """Whatever the sequence, the balance is the ledger, no entry is
        unbalanced, nothing overdraws, a repeat posts nothing and a reversal
        restores the balance exactly."""
        # One savepoint per example: every example starts from empty wallets.
        with self.env.cr.savepoint(flush=False) as savepoint:
            try:
                self._apply(sequence)
            finally:
                self.env.invalidate_all()
                savepoint.rollback()
                self.env.invalidate_all()

    def _apply(self, sequence):
        wallet, other = self.wallet, self.wallet_bob
        expected = {wallet: 0, other: 0}  # in cents: the model the ledger must match
        done = []  # (operation, its effect in cents per wallet)
        for step, (kind, value) in enumerate(sequence):
            reference = "P-%s" % step
            effect = {}
            try:
                if kind == "top_up":
                    move = wallet.top_up(value / 100, reference)
                    effect = {wallet: value}
                elif kind == "debit":
                    move = wallet.debit(value / 100, reference)
                    effect = {wallet: -value}
                elif kind == "adjust":
                    move = wallet.adjust(value / 100, reference, "property test")
                    effect = {wallet: value}
                elif kind == "transfer":
                    move = wallet.transfer_to(other, value / 100, reference)
                    effect = {wallet: -value, other: value}
                elif kind == "reverse":
                    if not done:
                        continue
                    operation, original = done[value % len(done)]
                    move = operation.reverse(reference=reference)
                    effect = {w: -amount for w, amount in original.items()}
                else:  # repeat an earlier request: nothing new may be posted
                    if not done:
                        continue
                    operation, _original = done[value % len(done)]
                    count = self.Move.search_count([("journal_id", "=", self.journal.id)])
                    repeat = self._repeat(operation)
                    self.assertEqual(repeat, operation.move_id)
                    self.assertEqual(self.Move.search_count([("journal_id", "=", self.journal.id)]), count)
                    continue
            except UserError as error:
                # Refused: only for want of funds or an already reversed operation,
                # and only when the model agrees it had to be refused.
                message = str(error)
                if "Insufficient funds" in message:
                    debited = {
                        w: amount for w, amount in self._effect(kind, value, done).items() if amount < 0
                    }
                    self.assertTrue(any(expected[w] + amount < 0 for w, amount in debited.items()), message)
                else:
                    self.assertRegex(message, "already reversed|itself a reversal")
                continue
            self.assertTrue(move.inalterable_hash)
            for w, amount in effect.items():
                expected[w] += amount
            operation = move.telecom_wallet_operation_ids
            if kind != "reverse":
                done.append((operation, effect))
            for w in (wallet, other):
                w.invalidate_recordset(["balance"])
                self.assertEqual(round(w.balance * 100), expected[w], "after %s" % reference)
            self.assertInvariants(wallet | other)

    def _effect(self, kind, value, done):
        if kind == "debit":
            return {self.wallet: -value}
        if kind == "adjust":
            return {self.wallet: value}
        if kind == "transfer":
            return {self.wallet: -value, self.wallet_bob: value}
        if kind == "reverse":
            return {w: -amount for w, amount in done[value % len(done)][1].items()}
        return {}

    def _repeat(self, operation):
        wallet, amount, reference = operation.wallet_id, operation.amount, operation.reference
        if operation.operation_type == "top_up":
            return wallet.top_up(amount, reference)
        if operation.operation_type == "debit":
            return wallet.debit(amount, reference)
        if operation.operation_type == "adjust":
            return wallet.adjust(amount, reference, operation.reason)
        return wallet.transfer_to(operation.target_wallet_id, amount, reference)
