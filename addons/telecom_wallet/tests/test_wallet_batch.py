import base64
import csv
import io
from datetime import timedelta
from unittest.mock import patch

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import freeze_time, new_test_user, tagged
from odoo.tools import SQL

from ..models import telecom_wallet_batch
from .common import GROUP, WalletCase

# Columns that differ between two wallet items by construction (identity, the entry they belong
# to, when they were written), not by how they were written.
IDENTITY_COLUMNS = {"id", "move_id", "move_name", "create_date", "write_date", "ref"}


@tagged("post_install", "-at_install")
class TestWalletBatch(WalletCase):
    """The batch path: many operations, one entry, one wallet item each."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Batch = cls.env["telecom.wallet.batch"]
        cls.carol = cls.subscriber(x_subscriber_id="W3", x_msisdn="447700900203")
        cls.wallet_carol = cls.Wallet.create({"partner_id": cls.carol.id})

    def op(self, wallet, kind, amount, reference, **values):
        return {"wallet_id": wallet.id, "type": kind, "amount": amount, "reference": reference, **values}

    def test_one_entry_with_one_wallet_item_per_operation(self):
        self.wallet.top_up(20.0, "SEED-A")
        result = self.Batch.apply(
            "B-1",
            [
                self.op(self.wallet, "debit", 7.5, "U-1"),
                {"subscriber_id": "W2", "type": "top_up", "amount": "12.25", "reference": "P-1"},
                {"msisdn": "+44 7700 900203", "type": "opening", "amount": -3, "reference": "O-1"},
                self.op(self.wallet, "adjust", -1.25, "A-1", reason="goodwill reversal"),
            ],
        )
        self.assertEqual((result["posted"], result["repeated"], result["refused"]), (4, 0, 0))
        self.assertFalse(result["batch_repeated"])
        batch = self.Batch.browse(result["batch_id"])
        self.assertEqual(len(batch.move_ids), 1)
        move = batch.move_ids
        self.assertEqual(move.state, "posted")
        self.assertTrue(move.inalterable_hash, "the batch entry is in the journal's hash chain")
        self.assertEqual(move.ref, "B-1")
        # A batch entry is a wallet entry: Odoo's own corrections are refused on it.
        with self.assertRaisesRegex(UserError, "wallet entry"):
            move.button_draft()
        with self.assertRaisesRegex(UserError, "wallet entries cannot be reversed"):
            move._reverse_moves()
        operations = batch.operation_ids
        self.assertEqual(len(operations), 4)
        self.assertEqual(len(move.line_ids.filtered("telecom_wallet_id")), 4, "one wallet item per operation")
        self.assertEqual(operations.move_line_id, move.line_ids.filtered("telecom_wallet_id"))
        self.assertEqual(self.wallet.balance, 20.0 - 7.5 - 1.25)
        self.assertEqual(self.wallet_bob.balance, 12.25)
        self.assertEqual(self.wallet_carol.balance, -3.0)
        opening = operations.filtered(lambda op: op.operation_type == "opening")
        self.assertTrue(opening.is_negative_opening)
        self.assertEqual(opening.amount, -3.0)
        self.assertEqual(operations.mapped("company_id"), self.company)
        self.assertEqual(
            {r["reference"]: (r["status"], r["entry"]) for r in result["results"]},
            dict.fromkeys(("U-1", "P-1", "O-1", "A-1"), ("posted", move.name)),
        )
        # Contra lines: one per account, each the sum of its operations.
        contra = move.line_ids - move.line_ids.filtered("telecom_wallet_id")
        config = self.company
        by_account = {line.account_id: line.balance for line in contra}
        # Adjustments go to the adjustment account, or to revenue when the company has none.
        adjustment = config.telecom_wallet_adjustment_account_id
        if adjustment:
            self.assertEqual(by_account[config.telecom_wallet_revenue_account_id], -7.5)
            self.assertEqual(by_account[adjustment], -1.25)
        else:
            self.assertEqual(by_account[config.telecom_wallet_revenue_account_id], -7.5 - 1.25)
        self.assertEqual(by_account[config.telecom_wallet_topup_account_id], 12.25)
        self.assertEqual(by_account[config.telecom_wallet_opening_account_id], -3.0)
        self.assertInvariants()

    def test_batch_items_are_the_rows_the_orm_writes(self):
        """Items written in SQL equal, column by column, the items the ORM writes for the same
        operations (everything but their identity and their entry)."""
        self.wallet.top_up(50.0, "SEED")
        self.wallet_bob.top_up(50.0, "SEED")
        batch = self.Batch.apply(
            "B-EQ",
            [
                self.op(self.wallet, "debit", 4.5, "EQ-1"),
                self.op(self.wallet_bob, "debit", 2.25, "EQ-2"),
                self.op(self.wallet_carol, "top_up", 3.0, "EQ-3"),
            ],
        )
        config = self.company._telecom_wallet_config()
        with self.Wallet._telecom_api_scope():
            orm_move = self.Move.create(
                self.wallet._telecom_move_vals(
                    {self.wallet: -4.5, self.wallet_bob: -2.25, self.wallet_carol: 3.0},
                    config.telecom_wallet_revenue_account_id,
                    "B-EQ",
                    "B-EQ",
                    self.today(),
                )
            )
            self.Wallet._telecom_post(orm_move)
        batch_move = self.Batch.browse(batch["batch_id"]).move_ids
        self.env.flush_all()

        def rows(move):
            self.env.cr.execute(
                SQL(
                    "SELECT * FROM account_move_line WHERE move_id = %s AND telecom_wallet_id IS NOT NULL"
                    " ORDER BY telecom_wallet_id",
                    move.id,
                )
            )
            names = [column.name for column in self.env.cr.description]
            return [
                {name: value for name, value in zip(names, row, strict=True) if name not in IDENTITY_COLUMNS}
                for row in self.env.cr.fetchall()
            ]

        batch_rows, orm_rows = rows(batch_move), rows(orm_move)
        self.assertEqual(len(batch_rows), 3)
        for batch_row, orm_row in zip(batch_rows, orm_rows, strict=True):
            # The labels are the operations' references in a batch.
            batch_row.pop("name")
            orm_row.pop("name")
            self.assertEqual(batch_row, orm_row)

    def test_an_unbalanced_batch_entry_is_refused_when_posted(self):
        """A batch's entry is created without Odoo's balance check (its items are written in
        SQL after it): posting checks it, whatever the context the entry was created in."""
        config = self.company._telecom_wallet_config()
        header = {
            "move_type": "entry",
            "journal_id": config.telecom_wallet_journal_id.id,
            "company_id": self.company.id,
            "currency_id": self.currency.id,
            "date": self.today(),
            "ref": "B-UNBALANCED",
        }
        items = [
            {
                "name": "B-UNBALANCED-%s" % n,
                "account_id": config.telecom_wallet_account_id.id,
                "partner_id": wallet.partner_id.id,
                "telecom_wallet_id": wallet.id,
                "currency_id": self.currency.id,
                "amount_currency": -2.0,
                "balance": -2.0,
            }
            for n, wallet in enumerate((self.wallet, self.wallet_bob))
        ]
        contra = [
            {
                "name": "B-UNBALANCED",
                "account_id": config.telecom_wallet_topup_account_id.id,
                "currency_id": self.currency.id,
                "amount_currency": 3.0,  # 4.00 of items
                "balance": 3.0,
            }
        ]
        with self.Wallet._telecom_api_scope():
            move, _line_ids = self.Move._telecom_create_bulk_entry(header, items, contra)
            self.assertEqual(move.state, "draft")
            with self.assertRaisesRegex(UserError, "not balanced"):
                self.Wallet._telecom_post(move.with_context(skip_invoice_sync=True))

    def test_entries_are_split_per_date_and_currency(self):
        yesterday = self.today() - timedelta(days=1)
        result = self.Batch.apply(
            "B-DATES",
            [
                self.op(self.wallet, "top_up", 1.0, "D-1"),
                self.op(self.wallet_bob, "top_up", 2.0, "D-2", date=yesterday.isoformat()),
                self.op(self.wallet_carol, "top_up", 3.0, "D-3"),
            ],
        )
        moves = self.Batch.browse(result["batch_id"]).move_ids
        self.assertEqual(len(moves), 2)
        self.assertEqual(sorted(moves.mapped("date")), [yesterday, self.today()])
        self.assertEqual(
            self.env["telecom.wallet.operation"].search([("reference", "=", "D-2")]).move_id.date, yesterday
        )
        # Each result names its own operation, whatever the order of the entries.
        for row in result["results"]:
            operation = self.env["telecom.wallet.operation"].browse(row["operation_id"])
            self.assertEqual((operation.reference, operation.move_id.name), (row["reference"], row["entry"]))

    def test_a_batch_in_a_foreign_currency_keeps_exact_wallet_amounts(self):
        eur, usd = self.env.ref("base.EUR"), self.env.ref("base.USD")
        foreign = eur if self.currency != eur else usd
        foreign.active = True
        self.env["res.currency.rate"].create(
            {"currency_id": foreign.id, "rate": 1.1734, "name": self.today(), "company_id": self.company.id}
        )
        alice_foreign = self.Wallet.create({"partner_id": self.alice.id, "currency_id": foreign.id})
        bob_foreign = self.Wallet.create({"partner_id": self.bob.id, "currency_id": foreign.id})
        result = self.Batch.apply(
            "B-FX",
            [
                {
                    "subscriber_id": "W1",
                    "type": "top_up",
                    "amount": "10.01",
                    "currency": foreign.name,
                    "reference": "FX-1",
                },
                {
                    "subscriber_id": "W2",
                    "type": "top_up",
                    "amount": "3.33",
                    "currency": foreign.name,
                    "reference": "FX-2",
                },
                {"subscriber_id": "W2", "type": "top_up", "amount": "1.00", "reference": "FX-3"},
            ],
        )
        self.assertEqual(result["posted"], 3)
        moves = self.Batch.browse(result["batch_id"]).move_ids
        self.assertEqual(len(moves), 2, "one entry per currency")
        self.assertEqual(alice_foreign.balance, 10.01)
        self.assertEqual(bob_foreign.balance, 3.33)
        self.assertEqual(self.wallet_bob.balance, 1.0)
        foreign_move = moves.filtered(lambda move: move.currency_id == foreign)
        self.assertTrue(self.currency.is_zero(sum(foreign_move.line_ids.mapped("balance"))))
        self.assertTrue(foreign.is_zero(sum(foreign_move.line_ids.mapped("amount_currency"))))
        item = foreign_move.line_ids.filtered(lambda line: line.telecom_wallet_id == alice_foreign)
        self.assertEqual(item.balance, -self.currency.round(10.01 / 1.1734))
        self.assertInvariants()

    def test_same_batch_twice_is_a_no_op_returning_the_first_result(self):
        operations = [
            self.op(self.wallet, "top_up", 5.0, "R-1"),
            self.op(self.wallet_bob, "top_up", 6.0, "R-2"),
        ]
        first = self.Batch.apply("B-TWICE", operations)
        moves_before = self.Move.search_count([])
        second = self.Batch.apply("B-TWICE", operations)
        self.assertTrue(second["batch_repeated"])
        self.assertEqual(second["batch_id"], first["batch_id"])
        self.assertEqual(second["results"], first["results"])
        self.assertEqual(self.Move.search_count([]), moves_before)
        self.assertEqual(self.wallet.balance, 5.0)
        with self.assertRaisesRegex(UserError, "already used for other operations"):
            self.Batch.apply("B-TWICE", [self.op(self.wallet, "top_up", 7.0, "R-1")])
        # Replayed another day, operations without a date are still the same batch.
        with freeze_time(self.today() + timedelta(days=1)):
            self.assertTrue(self.Batch.apply("B-TWICE", operations)["batch_repeated"])
        self.assertEqual(self.wallet.balance, 5.0)

    def test_same_item_in_two_batches_posts_once(self):
        self.Batch.apply("B-A", [self.op(self.wallet, "top_up", 5.0, "ITEM-1")])
        result = self.Batch.apply(
            "B-B",
            [
                self.op(self.wallet, "top_up", 5.0, "ITEM-1"),
                self.op(self.wallet, "top_up", 9.0, "ITEM-1"),
                self.op(self.wallet, "top_up", 1.0, "ITEM-2"),
                self.op(self.wallet, "top_up", 1.0, "ITEM-2"),
            ],
        )
        first = self.env["telecom.wallet.operation"].search([("reference", "=", "ITEM-1")])
        self.assertEqual(len(first), 1)
        statuses = [(r["reference"], r["status"]) for r in result["results"]]
        self.assertEqual(
            statuses,
            [("ITEM-1", "repeated"), ("ITEM-1", "refused"), ("ITEM-2", "posted"), ("ITEM-2", "repeated")],
        )
        self.assertEqual(result["results"][0]["operation_id"], first.id)
        self.assertIn("already used on this wallet for another operation", result["results"][1]["reason"])
        self.assertEqual(result["results"][3]["operation_id"], result["results"][2]["operation_id"])
        self.assertEqual(self.wallet.balance, 6.0)
        # A single operation with a batch item's reference is the same idempotency key.
        self.assertEqual(
            self.wallet.top_up(1.0, "ITEM-2"), first.browse(result["results"][2]["operation_id"]).move_id
        )
        self.assertEqual(self.wallet.balance, 6.0)

    def test_a_refused_item_does_not_block_the_others(self):
        self.wallet.top_up(10.0, "SEED")
        self.wallet_bob.action_freeze()
        other = (
            self.env["res.currency"]
            .with_context(active_test=False)
            .search([("name", "in", ("EUR", "USD")), ("id", "!=", self.currency.id)], limit=1)
        )
        other.active = True
        self.company.fiscalyear_lock_date = self.today() - timedelta(days=10)
        result = self.Batch.apply(
            "B-REFUSALS",
            [
                self.op(self.wallet, "debit", 6.0, "F-1"),
                self.op(self.wallet, "debit", 6.0, "F-2"),  # the balance is 4 now
                self.op(self.wallet_bob, "top_up", 1.0, "F-3"),  # frozen
                {"subscriber_id": "NOPE", "type": "top_up", "amount": 1, "reference": "F-4"},
                {"msisdn": "447700900999", "type": "top_up", "amount": 1, "reference": "F-5"},
                self.op(self.wallet, "adjust", 1.0, "F-6"),  # no reason
                self.op(
                    self.wallet, "top_up", 1.0, "F-7", date=(self.today() - timedelta(days=20)).isoformat()
                ),
                {
                    "subscriber_id": "W1",
                    "type": "top_up",
                    "amount": 1,
                    "reference": "F-8",
                    "currency": other.name,
                },
                self.op(self.wallet, "top_up", 0.001, "F-9"),
                self.op(self.wallet, "top_up", 2.0, "F-10"),
                self.op(self.wallet_bob, "opening", 4.0, "F-11"),  # frozen accepts an opening balance
            ],
        )
        by_reference = {r["reference"]: r for r in result["results"]}
        posted = sorted(ref for ref, r in by_reference.items() if r["status"] == "posted")
        self.assertEqual(posted, ["F-1", "F-10", "F-11"])
        reasons = {ref: r["reason"] for ref, r in by_reference.items() if r["status"] == "refused"}
        self.assertIn("insufficient funds: balance 4.0", reasons["F-2"])
        self.assertIn("frozen", reasons["F-3"])
        self.assertIn("no subscriber NOPE", reasons["F-4"])
        self.assertIn("no MSISDN 447700900999", reasons["F-5"])
        self.assertIn("needs a reason", reasons["F-6"])
        self.assertIn("locked period", reasons["F-7"])
        self.assertIn("subscriber W1 has no wallet in %s" % other.name, reasons["F-8"])
        self.assertIn("more decimals", reasons["F-9"])
        self.assertEqual(result["refused"], 8)
        batch = self.Batch.browse(result["batch_id"])
        self.assertEqual(batch.refused_count, 8)
        self.assertEqual(
            sorted(batch.refusal_ids.mapped("reference")),
            sorted(reasons),
            "every refusal is kept with its reason",
        )
        self.assertEqual(self.wallet.balance, 10.0 - 6.0 + 2.0)
        self.assertEqual(self.wallet_bob.balance, 4.0)
        report = list(csv.DictReader(io.StringIO(base64.b64decode(batch.report_file).decode())))
        self.assertEqual([row["reference"] for row in report], [f"F-{n}" for n in range(1, 12)])
        self.assertEqual(report[1]["status"], "refused")
        self.assertEqual(report[1]["reason"], reasons["F-2"])
        self.assertInvariants()

    def test_a_batch_where_everything_is_refused_posts_nothing(self):
        result = self.Batch.apply("B-NONE", [self.op(self.wallet, "debit", 1.0, "N-1")])
        self.assertEqual((result["posted"], result["refused"]), (0, 1))
        self.assertFalse(self.Batch.browse(result["batch_id"]).move_ids)

    def test_malformed_operations_post_nothing(self):
        moves_before = self.Move.search_count([])
        cases = [
            ([self.op(self.wallet, "top_up", 1.0, "M-1"), "not a dict"], "Operation 2, operation"),
            ([self.op(self.wallet, "refund", 1.0, "M-1")], "Operation 1, type"),
            ([self.op(self.wallet, "top_up", "ten", "M-1")], "Operation 1, amount"),
            ([self.op(self.wallet, "top_up", 1.0, " ")], "Operation 1, reference"),
            ([{"type": "top_up", "amount": 1, "reference": "M-1"}], "Operation 1, wallet"),
            ([{"msisdn": "12ab", "type": "top_up", "amount": 1, "reference": "M-1"}], "Operation 1, msisdn"),
            ([self.op(self.wallet, "top_up", 1.0, "M-1", date="01/12/2026")], "Operation 1, date"),
            ([], "non-empty list"),
            (
                [self.op(self.wallet, "top_up", 1.0, f"M-{n}") for n in range(4)],
                "4 operations; a batch takes at most 3",
            ),
        ]
        for operations, message in cases:
            with (
                self.subTest(message=message),
                patch.object(telecom_wallet_batch, "MAX_OPERATIONS", 3),
                self.assertRaisesRegex(ValidationError, message),
            ):
                self.Batch.apply("B-BAD", operations)
        self.assertEqual(self.Move.search_count([]), moves_before)
        self.assertFalse(self.Batch.search([("name", "=", "B-BAD")]))

    def test_reversing_one_operation_of_a_batch_reverses_its_item_only(self):
        result = self.Batch.apply(
            "B-REV",
            [self.op(self.wallet, "top_up", 8.0, "V-1"), self.op(self.wallet_bob, "top_up", 3.0, "V-2")],
        )
        operation = self.env["telecom.wallet.operation"].browse(result["results"][0]["operation_id"])
        reversal = operation.reverse(reason="paid twice")
        self.assertEqual(self.wallet.balance, 0.0)
        self.assertEqual(self.wallet_bob.balance, 3.0, "the other operation of the batch stands")
        self.assertEqual(len(reversal.line_ids), 2)
        self.assertFalse(reversal.reversed_entry_id, "the batch entry itself is not reversed")
        self.assertTrue(operation.move_line_id.reconciled)
        self.assertTrue(operation.is_reversed)
        with self.assertRaisesRegex(UserError, "already reversed"):
            operation.reverse(reference="REV-AGAIN")
        other = self.env["telecom.wallet.operation"].browse(result["results"][1]["operation_id"])
        other.reverse()
        self.assertEqual(self.wallet_bob.balance, 0.0)
        self.assertInvariants()

    def test_reversing_whole_batch_entries_at_once(self):
        self.wallet_bob.top_up(2.0, "SEED-BOB")
        result = self.Batch.apply(
            "B-BULK",
            [
                self.op(self.wallet, "opening", 8.0, "OB-1"),
                self.op(self.wallet_bob, "opening", 3.0, "OB-2"),
                self.op(self.wallet_carol, "opening", -1.5, "OB-3"),
            ],
        )
        Operation = self.env["telecom.wallet.operation"]
        operations = Operation.browse([r["operation_id"] for r in result["results"]])
        entry = operations.move_id
        # Only whole entries: a part of one is refused, and nothing is posted.
        with self.assertRaisesRegex(UserError, "holds other operations"):
            operations[:2]._telecom_reverse_entries(lambda op: f"RB/{op.reference}", "rolled back")
        self.assertEqual(self.wallet.balance, 8.0)
        reversals = operations._telecom_reverse_entries(lambda op: f"RB/{op.reference}", "rolled back")
        self.assertEqual(len(reversals), 3)
        self.assertEqual(
            (self.wallet.balance, self.wallet_bob.balance, self.wallet_carol.balance), (0.0, 2.0, 0.0)
        )
        reversal_entry = reversals.move_id
        self.assertEqual(len(reversal_entry), 1, "one reversal entry per reversed entry")
        self.assertEqual(reversal_entry.ref, f"Reversal of {entry.name}")
        self.assertEqual(reversal_entry.state, "posted")
        self.assertTrue(reversal_entry.inalterable_hash, "the reversal is in the journal's hash chain")
        self.assertEqual(
            sorted(
                (r.reference, r.operation_type, r.amount, r.reversed_operation_id.reference)
                for r in reversals
            ),
            [
                ("RB/OB-1", "reversal", 8.0, "OB-1"),
                ("RB/OB-2", "reversal", 3.0, "OB-2"),
                ("RB/OB-3", "reversal", 1.5, "OB-3"),
            ],
        )
        self.assertEqual(reversals.move_line_id, reversal_entry.line_ids.filtered("telecom_wallet_id"))
        self.assertTrue(all(operations.mapped("is_reversed")))
        # Nothing is reversed twice, in bulk or one by one.
        with self.assertRaisesRegex(UserError, "already reversed"):
            operations._telecom_reverse_entries(lambda op: f"RB2/{op.reference}", "again")
        with self.assertRaisesRegex(UserError, "already reversed"):
            operations[0].reverse(reference="RB3")
        # A reversal is not reversed in bulk either.
        with self.assertRaisesRegex(UserError, "already reversed"):
            reversals._telecom_reverse_entries(lambda op: f"RB4/{op.reference}", "again")
        self.assertInvariants()

    def test_reversing_entries_refuses_a_wallet_that_spent_the_money(self):
        result = self.Batch.apply(
            "B-SPENT",
            [self.op(self.wallet, "opening", 5.0, "OS-1"), self.op(self.wallet_bob, "opening", 4.0, "OS-2")],
        )
        self.wallet.debit(3.0, "SPEND-1")
        operations = self.env["telecom.wallet.operation"].browse(
            [r["operation_id"] for r in result["results"]]
        )
        with self.assertRaisesRegex(UserError, "Insufficient funds .* Nothing was reversed"):
            operations._telecom_reverse_entries(lambda op: f"RS/{op.reference}", "rolled back")
        self.assertEqual((self.wallet.balance, self.wallet_bob.balance), (2.0, 4.0))
        self.assertFalse(any(operations.mapped("is_reversed")))
        # A Wallet Manager only.
        with self.assertRaises(AccessError):
            operations.with_user(self.user_viewer)._telecom_reverse_entries(lambda op: op.reference, "x")

    def test_access(self):
        operations = [self.op(self.wallet, "top_up", 1.0, "ACC-1")]
        with self.assertRaises(AccessError):
            self.Batch.with_user(self.user_viewer).apply("B-ACC", operations)
        # A Wallet Manager without any accounting group applies batches.
        result = self.Batch.with_user(self.user_wallet_manager).apply("B-ACC", operations)
        self.assertEqual(result["posted"], 1)
        batch = self.Batch.with_user(self.user_viewer).browse(result["batch_id"])
        self.assertEqual(batch.posted_count, 1, "viewers read batches")
        with self.assertRaises(AccessError):
            self.Batch.with_user(self.user_wallet_manager).apply(
                "B-ACC-2", operations, company_id=self.company_b.id
            )

    def test_a_batch_for_another_of_the_users_companies(self):
        """A Wallet Manager of two companies, working in the first, applies a batch to the
        wallets of the second: entries and operations are the second company's."""
        manager = new_test_user(
            self.env,
            "wallet_manager_two",
            groups=GROUP + "manager",
            company_id=self.company.id,
            company_ids=[Command.set([self.company.id, self.company_b.id])],
        )
        partner_b = self.subscriber(x_subscriber_id="B1", company_id=self.company_b.id)
        wallet_b = self.Wallet.with_company(self.company_b).create(
            {"partner_id": partner_b.id, "company_id": self.company_b.id}
        )
        Batch = self.Batch.with_user(manager).with_context(allowed_company_ids=[self.company.id])
        result = Batch.apply(
            "B-OTHER",
            [{"subscriber_id": "B1", "type": "top_up", "amount": 4, "reference": "OTHER-1"}],
            company_id=self.company_b.id,
        )
        self.assertEqual(result["posted"], 1, result)
        batch = self.Batch.browse(result["batch_id"])
        self.assertEqual(batch.company_id, self.company_b)
        self.assertEqual(batch.move_ids.company_id, self.company_b)
        self.assertEqual(batch.move_ids.journal_id, self.company_b.telecom_wallet_journal_id)
        self.assertEqual(wallet_b.balance, 4.0)
        # The same subscriber id in the current company is another subscriber: not this wallet.
        refused = Batch.apply(
            "B-HERE", [{"subscriber_id": "B1", "type": "top_up", "amount": 1, "reference": "H-1"}]
        )
        self.assertEqual(refused["results"][0]["reason"], "no subscriber B1")
        self.assertInvariants(wallet_b)

    # --- files ---------------------------------------------------------------------------
    def csv_file(self, text):
        return base64.b64encode(text.encode()).decode()

    def test_a_csv_file_applies_once(self):
        content = self.csv_file(
            "MSISDN;Type;Amount;Currency;Transaction ID;Value Date;Comment\n"
            "447700900201;payment;10.00;%(cur)s;PAY-1;%(today)s;\n"
            "447700900202;TOP-UP;4.50;%(cur)s;PAY-2;;\n"
            "447700900201;usage;2.5;;USE-1;;\n"
            "447700900202;usage;9;;USE-2;;\n" % {"cur": self.currency.name, "today": self.today().isoformat()}
        )
        result = self.Batch.apply_csv(content, "settlement.csv")
        self.assertEqual((result["posted"], result["refused"]), (3, 1))
        self.assertTrue(result["reference"].startswith("settlement.csv/"))
        self.assertEqual([r["row"] for r in result["results"]], [2, 3, 4, 5])
        self.assertIn("insufficient funds", result["results"][3]["reason"])
        self.assertEqual(self.wallet.balance, 7.5)
        self.assertEqual(self.wallet_bob.balance, 4.5)
        again = self.Batch.apply_csv(content, "settlement.csv")
        self.assertTrue(again["batch_repeated"])
        self.assertEqual(self.wallet.balance, 7.5)
        self.assertEqual(self.Batch.browse(result["batch_id"]).source, "settlement.csv")

    def test_a_malformed_csv_file_names_its_rows_and_posts_nothing(self):
        content = self.csv_file(
            "subscriber_id,type,amount,reference,date\n"
            "W1,top_up,10,OK-1,\n"
            "W1,top_up,1O,BAD-1,\n"
            "W2,refund,1,BAD-2,\n"
            "W2,top_up,1,,\n"
            "W2,top_up,1,BAD-4,2026-13-01\n"
            "W2,top_up,1\n"
        )
        with self.assertRaises(UserError) as caught:
            self.Batch.apply_csv(content, "bad.csv")
        message = str(caught.exception)
        for expected in (
            "Nothing was posted",
            "bad.csv, row 3, column amount: '1O' is not a decimal number",
            "bad.csv, row 4, column type: 'refund'",
            "bad.csv, row 5, column reference: empty",
            "bad.csv, row 6, column date: '2026-13-01' is not a date",
            "bad.csv, row 7: 3 fields, the header has 5",
        ):
            self.assertIn(expected, message)
        self.assertEqual(self.wallet.balance, 0.0)
        self.assertFalse(self.Batch.search([]))
        with self.assertRaisesRegex(UserError, "no amount column"):
            self.Batch.apply_csv(self.csv_file("msisdn,type,value_x,reference\n1,top_up,1,R\n"), "cols.csv")
