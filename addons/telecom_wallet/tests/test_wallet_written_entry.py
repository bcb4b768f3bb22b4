from datetime import timedelta
from unittest.mock import patch

from markupsafe import Markup

from odoo import Command
from odoo.tests import new_test_user, tagged
from odoo.tools import SQL

from .common import GROUP, WalletCase

#: What tells two entries (or two items) apart whatever wrote them: their identity, their
#: number in the journal and its chained hash, when they were written.
MOVE_IDENTITY = {"id", "name", "sequence_number", "inalterable_hash", "create_date", "write_date"}
LINE_IDENTITY = {"id", "move_id", "move_name", "create_date", "write_date"}


@tagged("post_install", "-at_install")
class TestWalletWrittenEntry(WalletCase):
    """A single operation's entry, once the company has one like it, is written in SQL as a
    copy of it (account.move._telecom_write_entry) instead of Odoo's create() and _post():
    what it writes must be what those write."""

    maxDiff = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # A company contact with a person under it (their display name is "Company, Person"),
        # in a country with an automatic fiscal position: values that depend on the partner.
        country = cls.env.ref("base.be")
        cls.env["account.fiscal.position"].create(
            {
                "name": "Belgian subscribers",
                "auto_apply": True,
                "country_id": country.id,
                "company_id": cls.company.id,
            }
        )
        business = cls.Partner.create({"name": "Carol Trading", "is_company": True, "country_id": country.id})
        cls.carol = cls.subscriber(
            x_subscriber_id="W3", x_msisdn="447700900203", parent_id=business.id, country_id=country.id
        )
        cls.wallet_carol = cls.Wallet.create({"partner_id": cls.carol.id})
        # An active user posting (the creator follows the entries they create).
        companies = {"company_id": cls.company.id, "company_ids": [Command.set([cls.company.id])]}
        cls.manager = new_test_user(
            cls.env,
            "wallet_written_manager",
            groups=GROUP + "manager,account.group_account_invoice",
            **companies,
        )

    def entry_vals(self, wallet, operation_type, amount, reference, date):
        config = self.company._telecom_wallet_config()
        contra = {
            "top_up": config.telecom_wallet_topup_account_id,
            "debit": config.telecom_wallet_revenue_account_id,
            "adjust": config.telecom_wallet_adjustment_account_id or config.telecom_wallet_revenue_account_id,
            "opening": config.telecom_wallet_opening_account_id,
        }[operation_type]
        change = -amount if operation_type == "debit" else amount
        return wallet._telecom_move_vals({wallet: change}, contra, reference, reference, date)

    def write_both_ways(self, wallet, operation_type, amount, date):
        """The same entry posted by Odoo's create() and _post(), then written in SQL."""
        wallet = wallet.with_user(self.manager)
        Move = self.Move.with_user(self.manager)
        vals = self.entry_vals(wallet, operation_type, amount, "SAME-REF", date)
        template = Move._telecom_entry_template(self.company, operation_type, vals)
        self.assertTrue(template, "the company's first %s is the template" % operation_type)
        with wallet._telecom_api_scope():
            orm = Move.with_context(skip_invoice_sync=True).create(vals)
            wallet._telecom_post(orm)
            written = Move._telecom_write_entry(template, vals)
            self.assertTrue(written, "written in SQL")
            Move._telecom_number_written_entry(written)
        self.env.flush_all()
        self.env.invalidate_all()
        return orm, written

    def rows(self, table, column, value, identity):
        self.env.cr.execute(
            SQL(
                "SELECT * FROM %s WHERE %s = %s ORDER BY id",
                SQL.identifier(table),
                SQL.identifier(column),
                value,
            )
        )
        names = [description.name for description in self.env.cr.description]
        return [
            {name: value for name, value in zip(names, row, strict=True) if name not in identity}
            for row in self.env.cr.fetchall()
        ]

    def chatter(self, move):
        messages = self.env["mail.message"].search(
            [("model", "=", "account.move"), ("res_id", "=", move.id)], order="id"
        )
        return (
            [(m.body, m.message_type, m.subtype_id, m.author_id, m.tracking_value_ids) for m in messages],
            move.message_partner_ids,
        )

    def test_a_written_entry_is_the_entry_odoo_posts(self):
        """Every stored column of the entry and of its items, its chatter and followers: the
        same as Odoo's, for each kind of operation, partners of every shape, another month."""
        last_month = (self.today().replace(day=1) - timedelta(days=1)).replace(day=1)
        # The company's first operation of each kind: Odoo's, the template of the next ones.
        self.wallet_carol.with_user(self.manager).top_up(60.0, "FIRST-TOP-UP")
        self.wallet_carol.with_user(self.manager).debit(1.0, "FIRST-DEBIT")
        self.wallet_carol.with_user(self.manager).adjust(-1.5, "FIRST-ADJUST", "correction")
        self.wallet_bob.with_user(self.manager).post_opening_balance(7.0, "FIRST-OPENING", self.today())
        # The debits' template reversed since (its items reconciled with the reversal's): what
        # the reversal changed on it is not copied.
        first_debit = self.wallet_carol.operation_ids.filtered(
            lambda operation: operation.reference == "FIRST-DEBIT"
        )
        first_debit.with_user(self.manager).reverse()
        self.assertTrue(first_debit.move_id.line_ids.filtered("reconciled"))
        cases = [
            (self.wallet, "top_up", 12.5, self.today()),
            (self.wallet_carol, "top_up", 0.01, self.today()),
            (self.wallet_carol, "debit", 4.75, self.today()),
            (self.wallet_carol, "adjust", -2.0, self.today()),
            (self.wallet_bob, "adjust", 3.0, self.today()),
            # An opening balance dated last month: the first of its period, then the next.
            (self.wallet_bob, "opening", 9.99, last_month),
            (self.wallet_carol, "opening", -4.0, last_month),
        ]
        for wallet, operation_type, amount, date in cases:
            with self.subTest(operation=operation_type, partner=wallet.partner_id.display_name, date=date):
                orm, written = self.write_both_ways(wallet, operation_type, amount, date)
                self.assertEqual(
                    self.rows("account_move", "id", written.id, MOVE_IDENTITY),
                    self.rows("account_move", "id", orm.id, MOVE_IDENTITY),
                )
                self.assertEqual(
                    self.rows("account_move_line", "move_id", written.id, LINE_IDENTITY),
                    self.rows("account_move_line", "move_id", orm.id, LINE_IDENTITY),
                )
                self.assertEqual(self.chatter(written), self.chatter(orm))
                # Numbered next in the journal's sequence, chained to the entry before it.
                self.assertEqual(written.sequence_prefix, orm.sequence_prefix)
                self.assertEqual(written.sequence_number, orm.sequence_number + 1)
                self.assertEqual(
                    written._calculate_hashes(orm.inalterable_hash)[written], written.inalterable_hash
                )
        self.assertTrue(self.wallet_carol.partner_id.parent_id)
        self.assertTrue(self.Move.search([("partner_id", "=", self.carol.id)], limit=1).fiscal_position_id)
        self.assertChainsIntact()

    def assertChainsIntact(self):
        """Every hash of the wallet journal recomputed from its predecessor (by prefix, as Odoo's
        integrity report) gives the stored value."""
        hashed = self.Move.search(
            [("journal_id", "=", self.journal.id), ("inalterable_hash", "!=", False)],
            order="sequence_prefix, sequence_number",
        )
        self.assertTrue(hashed)
        for _prefix, chain in hashed.grouped("sequence_prefix").items():
            self.assertEqual(chain._calculate_hashes(False), {move: move.inalterable_hash for move in chain})
            numbers = chain.mapped("sequence_number")
            self.assertEqual(numbers, list(range(numbers[0], numbers[0] + len(chain))))

    def test_operations_after_the_first_of_their_kind_are_written(self):
        """The company's first top-up (and first debit) is Odoo's; the next ones are written,
        numbered in turn and hash-chained; a transfer (no single item to copy) stays with Odoo."""
        calls = []
        original = type(self.Move)._telecom_write_entry

        def spy(moves, template, vals):
            entry = original(moves, template, vals)
            calls.append(bool(entry))
            return entry

        with patch.object(type(self.Move), "_telecom_write_entry", spy):
            first = self.wallet.top_up(10.0, "SEQ-1")
            second = self.wallet.top_up(5.0, "SEQ-2")
            third = self.wallet.debit(2.0, "SEQ-3")
            fourth = self.wallet.debit(1.0, "SEQ-4")
            self.wallet.transfer_to(self.wallet_bob, 1.0, "SEQ-5")
        self.assertEqual(calls, [False, True, False, True, False])
        moves = first | second | third | fourth
        self.assertEqual(moves.mapped("state"), ["posted"] * 4)
        self.assertEqual(len(set(moves.mapped("sequence_prefix"))), 1)
        numbers = moves.mapped("sequence_number")
        self.assertEqual(numbers, list(range(numbers[0], numbers[0] + 4)))
        self.assertEqual(self.wallet.balance, 11.0)
        self.assertInvariants()
        self.assertEqual(moves.mapped("name"), ["%s%04d" % (moves[0].sequence_prefix, n) for n in numbers])

    def test_what_only_odoo_posts_is_left_to_odoo_with_nothing_written(self):
        """An analytic distribution model (analytic items), a journal no longer hash-protected,
        an item field computed from the partner, a chain whose last entry is not hashed: the
        operation is posted by Odoo's create() and _post(), nothing of the attempt is left (no
        entry, no number taken: the numbers follow each other, the chain is intact)."""
        self.wallet.top_up(30.0, "ODOO-1")
        vals = self.entry_vals(self.wallet, "top_up", 1.0, "ODOO-X", self.today())
        template = self.Move._telecom_entry_template(self.company, "top_up", vals)
        before = self.Move.search_count([])
        self.env["account.analytic.distribution.model"].create(
            {"analytic_distribution": {}, "company_id": self.company.id}
        )
        with self.Wallet._telecom_api_scope():
            self.assertFalse(self.Move._telecom_write_entry(template, vals))
        self.env["account.analytic.distribution.model"].search([]).unlink()
        # Odoo refuses to turn the protection off once entries are hashed: only in the database.
        self.env.flush_all()
        self.env.cr.execute(
            SQL("UPDATE account_journal SET restrict_mode_hash_table = FALSE WHERE id = %s", self.journal.id)
        )
        self.journal.invalidate_recordset()
        with self.Wallet._telecom_api_scope():
            self.assertFalse(self.Move._telecom_write_entry(template, vals))
        self.env.cr.execute(
            SQL("UPDATE account_journal SET restrict_mode_hash_table = TRUE WHERE id = %s", self.journal.id)
        )
        self.journal.invalidate_recordset()
        # An item field computed from the partner (as another module may add one).
        item_field = self.MoveLine._fields["name"]
        with (
            patch.object(
                type(self.Move), "_telecom_partner_fields", lambda _moves, model, _written: [item_field]
            ),
            self.Wallet._telecom_api_scope(),
        ):
            self.assertFalse(self.Move._telecom_write_entry(template, vals))
        self.assertEqual(self.Move.search_count([]), before)
        # The chain's last entry without its hash (as one posted before the journal was
        # protected; here the company's first debit): only Odoo's _post hashes the entries
        # left behind. The next top-up is written, found not to follow the last hash, rolled
        # back and posted by Odoo.
        unhashed = self.wallet.debit(1.0, "ODOO-D")
        self.env.flush_all()
        self.env.cr.execute(SQL("UPDATE account_move SET inalterable_hash = NULL WHERE id = %s", unhashed.id))
        self.env.invalidate_all()
        refused = []
        original = type(self.Move)._telecom_number_written_entry

        def spy(moves, move, numbering=None):
            try:
                return original(moves, move, numbering)
            except Exception as error:
                refused.append(type(error).__name__)
                raise

        with patch.object(type(self.Move), "_telecom_number_written_entry", spy):
            following = self.wallet.top_up(2.0, "ODOO-2")
        self.assertEqual(refused, ["_NoWrittenEntry"])
        self.assertEqual(self.Move.search_count([]), before + 2)
        self.assertEqual(following.sequence_number, unhashed.sequence_number + 1)
        self.assertTrue(unhashed.inalterable_hash and following.inalterable_hash)
        self.assertEqual(
            following.message_ids.mapped("body").count(Markup("<p>This journal entry has been secured.</p>")),
            1,
        )
        self.assertEqual(self.wallet.balance, 31.0)
        self.assertInvariants()
        self.assertChainsIntact()

    def test_a_wallet_in_another_currency_is_left_to_odoo(self):
        """Its amounts are converted at the day's rate: Odoo's create() computes the entry's."""
        euro = self.env.ref("base.EUR")
        euro.active = True
        self.assertNotEqual(euro, self.currency)
        wallet = self.Wallet.create({"partner_id": self.carol.id, "currency_id": euro.id})
        wallet.top_up(10.0, "EUR-1")
        vals = self.entry_vals(wallet, "top_up", 1.0, "EUR-2", self.today())
        template = self.Move._telecom_entry_template(self.company, "top_up", vals)
        self.assertTrue(template)
        with self.Wallet._telecom_api_scope():
            self.assertFalse(self.Move._telecom_write_entry(template, vals))
        second = wallet.top_up(1.0, "EUR-2")
        self.assertEqual(second.state, "posted")
        self.assertEqual(wallet.balance, 11.0)

    def test_the_last_operation_of_a_kind_is_found_in_an_index(self):
        """Every single operation looks up the last one of its kind in the company: through an
        index, not by reading back through the batch operations posted since (a day's usage file
        is 100,000 of them)."""
        self.wallet.top_up(5.0, "INDEX-1")
        # A test database's few rows make any plan cheap: sequential scans and sorts (what the
        # lookup costs without the index, on a table of millions) are set aside.
        self.addCleanup(self.env.cr.execute, "RESET enable_seqscan; RESET enable_sort")
        self.env.cr.execute("SET enable_seqscan = off; SET enable_sort = off")
        self.env.cr.execute(
            SQL(
                "EXPLAIN SELECT move_id FROM telecom_wallet_operation WHERE company_id = %s"
                " AND operation_type = %s AND batch_id IS NULL AND move_id IS NOT NULL"
                " ORDER BY id DESC LIMIT 1",
                self.company.id,
                "top_up",
            )
        )
        plan = "\n".join(row[0] for row in self.env.cr.fetchall())
        self.assertIn("telecom_wallet_operation_single_kind_index", plan)
        self.assertNotIn("Sort", plan)
