import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial

from odoo import SUPERUSER_ID, api
from odoo.exceptions import UserError
from odoo.modules.registry import DummyRLock, Registry
from odoo.service.model import retrying
from odoo.tests import BaseCase, get_db_name, tagged
from odoo.tools import mute_logger

TIMEOUT = 60
#: Concurrent clients of the many-clients tests (issue: 8 clients, 0 failed operations).
CLIENTS = 8


@contextmanager
def registry_lock_released():
    """Let worker threads build environments while the test runs.

    Post-install tests run inside the server's registry lock (held by the main
    thread), and every api.Environment() takes that lock to look the registry
    up: worker threads would wait for the main thread, which waits for them.
    Odoo's own test mode swaps the lock for a DummyRLock the same way
    (Registry.enter_test_mode); the registry is loaded and not changing here.
    """
    saved = Registry._lock
    Registry._lock = DummyRLock()
    try:
        yield
    finally:
        Registry._lock = saved


@tagged("post_install", "-at_install")
class TestWalletConcurrency(BaseCase):
    """Real races: two threads, each with its own database cursor and
    transaction, operate on one wallet at the same time.

    The fixture must be committed for both transactions to see it, so it lives
    in a dedicated company (archived afterwards) that no other test reads.
    Posted, hash-protected entries cannot be deleted: they stay in the
    throwaway test database.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry = Registry(get_db_name())
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            company = env["res.company"].create({"name": "Race Mobile %s" % uuid.uuid4().hex[:8]})
            partner = env["res.partner"].create({"name": "Race subscriber", "company_id": company.id})
            wallet = env["telecom.wallet"].create(
                {"partner_id": partner.id, "company_id": company.id, "currency_id": company.currency_id.id}
            )
            wallet.top_up(100.0, "RACE-TOP-UP")
            partner_2 = env["res.partner"].create({"name": "Race subscriber 2", "company_id": company.id})
            wallet_2 = env["telecom.wallet"].create(
                {"partner_id": partner_2.id, "company_id": company.id, "currency_id": company.currency_id.id}
            )
            clients = env["res.partner"].create(
                [{"name": "Client subscriber %s" % n, "company_id": company.id} for n in range(CLIENTS)]
            )
            cls.client_wallet_ids = (
                env["telecom.wallet"]
                .create(
                    [
                        {"partner_id": p.id, "company_id": company.id, "currency_id": company.currency_id.id}
                        for p in clients
                    ]
                )
                .ids
            )
            cls.company_id = company.id
            cls.wallet_id = wallet.id
            cls.wallet_2_id = wallet_2.id
        cls.addClassCleanup(cls._archive_fixture)

    @classmethod
    def _archive_fixture(cls):
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["res.company"].browse(cls.company_id).write({"active": False})

    def _race(self, *calls, fresh=False):
        """Run each call(env) in its own thread and transaction, all starting
        together; return what each returned or the message of its UserError.

        By default each transaction reads the balances first (its snapshot is
        taken: the operation serialises from its start). ``fresh``: the
        operation is the transaction's first statement, as over XML-RPC (READ
        COMMITTED, the entry built before the posting lock)."""
        barrier = threading.Barrier(len(calls))

        def run(call):
            with self.registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                wallets = env["telecom.wallet"].browse([self.wallet_id, self.wallet_2_id])
                if not fresh:
                    # Both transactions take their snapshot before either writes:
                    # each has seen the same balances when it operates.
                    wallets.mapped("balance")
                barrier.wait(timeout=TIMEOUT)
                try:
                    # retrying(): what Odoo's RPC/HTTP layer does around a call.
                    return retrying(partial(call, wallets[0], wallets[1]), env)
                except UserError as error:
                    return str(error)

        with (
            registry_lock_released(),
            mute_logger("odoo.service.model"),
            ThreadPoolExecutor(max_workers=len(calls)) as executor,
        ):
            futures = [executor.submit(run, call) for call in calls]
            return [future.result(timeout=TIMEOUT) for future in futures]

    def _ledger(self, wallet_id=None):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            wallet = env["telecom.wallet"].browse(wallet_id or self.wallet_id)
            lines = env["account.move.line"].search(
                [("telecom_wallet_id", "=", wallet.id), ("parent_state", "=", "posted")]
            )
            return (
                wallet.balance,
                -sum(lines.mapped("amount_currency")),
                wallet.operation_ids.mapped("reference"),
            )

    def test_concurrent_debits_cannot_overdraw(self):
        self._overdraw_race("RACE", fresh=False)

    def test_concurrent_debits_in_fresh_transactions_cannot_overdraw(self):
        """The same race when each debit is its transaction's first statement: both build their
        entry at once, only the affordable one posts."""
        self._overdraw_race("FRESH", fresh=True)

    def _overdraw_race(self, prefix, fresh):
        self._top_up(20.0, "%s-SEED" % prefix)
        with self.registry.cursor() as cr:
            # A debit posted before (committed): the racing debits' entries are written in SQL as
            # copies of it (telecom.wallet._telecom_operate), whichever test runs first.
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["telecom.wallet"].browse(self.wallet_id).debit(0.01, "%s-SEED-DEBIT" % prefix)
        balance_before = self._ledger()[0]
        amount = balance_before * 0.6  # each fits alone, both together do not

        def debit(reference, wallet, _other):
            return wallet.debit(round(amount, 2), reference).id

        results = self._race(partial(debit, "%s-A" % prefix), partial(debit, "%s-B" % prefix), fresh=fresh)
        succeeded = [result for result in results if isinstance(result, int)]
        refused = [result for result in results if isinstance(result, str)]
        self.assertEqual(len(succeeded), 1, results)
        self.assertEqual(len(refused), 1, results)
        self.assertIn("Insufficient funds", refused[0])
        balance, ledger, references = self._ledger()
        self.assertAlmostEqual(balance, balance_before - round(amount, 2), places=2)
        self.assertAlmostEqual(balance, ledger, places=2)
        self.assertGreaterEqual(balance, 0.0)
        self.assertEqual(len({"%s-A" % prefix, "%s-B" % prefix} & set(references)), 1)
        self.assertEqual(self._drafts(), 0, "the refused debit left no draft entry")

    def test_concurrent_retries_of_one_reference_post_once(self):
        self._same_reference_race("RACE-SAME", fresh=False)

    def test_concurrent_retries_in_fresh_transactions_post_once(self):
        """Both build an entry; the second to hold the lock finds the first's operation, returns
        its entry and leaves no draft behind."""
        self._same_reference_race("FRESH-SAME", fresh=True)

    def _same_reference_race(self, reference, fresh):
        def top_up(wallet, _other):
            return wallet.top_up(5.0, reference).id

        balance_before = self._ledger()[0]
        first, second = self._race(top_up, top_up, fresh=fresh)
        self.assertIsInstance(first, int)
        self.assertEqual(first, second, "both callers get the one entry")
        balance, ledger, references = self._ledger()
        self.assertAlmostEqual(balance, balance_before + 5.0, places=2)
        self.assertAlmostEqual(balance, ledger, places=2)
        self.assertEqual(references.count(reference), 1)
        self.assertEqual(self._drafts(), 0)

    def _drafts(self):
        """Draft entries in the fixture's wallet journal (committed ones: what a refused or
        repeated operation could leave behind)."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            journal = env["res.company"].browse(self.company_id).sudo().telecom_wallet_journal_id
            return env["account.move"].search_count(
                [("journal_id", "=", journal.id), ("state", "=", "draft")]
            )

    def test_only_a_first_statement_switches_to_read_committed(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            self.assertTrue(env["telecom.wallet"]._telecom_read_committed())
            cr.execute("SHOW transaction_isolation")
            self.assertEqual(cr.fetchone()[0], "read committed")
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["telecom.wallet"].browse(self.wallet_id).mapped("balance")
            self.assertFalse(env["telecom.wallet"]._telecom_read_committed())
            cr.execute("SHOW transaction_isolation")
            self.assertEqual(cr.fetchone()[0], "repeatable read")
        with self.registry.cursor() as cr:
            # The next transaction of a cursor is back to Odoo's level.
            env = api.Environment(cr, SUPERUSER_ID, {})
            self.assertTrue(env["telecom.wallet"]._telecom_read_committed())
            cr.rollback()
            cr.execute("SHOW transaction_isolation")
            self.assertEqual(cr.fetchone()[0], "repeatable read")

    def test_a_fresh_operation_builds_its_entry_before_it_waits_for_the_lock(self):
        """While another transaction posts (holds the posting lock), a client's operation has
        already written its entry when it starts waiting (its transaction has an id): built by
        Odoo's ORM (the company's first adjustment) or written as a copy of an earlier one (a
        top-up after the company's first). One whose transaction queried first waits before
        writing anything. All then post."""
        self._top_up(10.0, "WAIT-SEED")
        before = self._ledger(self.wallet_2_id)[0]
        for fresh, kind, builds_first in (
            (True, "adjust", True),
            (True, "top_up", True),
            (False, "top_up", False),
        ):
            reference = "WAIT-%s-%s" % ("FRESH" if fresh else "QUERIED", kind)
            with self.registry.cursor() as holder, self.registry.cursor() as observer:
                holder.execute("LOCK TABLE telecom_wallet_posting_lock IN EXCLUSIVE MODE")
                holder.execute("SELECT pg_backend_pid()")
                holder_pid = holder.fetchone()[0]
                outcome = {}

                def client(fresh, kind, reference, outcome):
                    with self.registry.cursor() as cr:
                        env = api.Environment(cr, SUPERUSER_ID, {})
                        wallet = env["telecom.wallet"].browse(self.wallet_2_id)
                        if not fresh:
                            wallet.mapped("balance")
                        if kind == "adjust":
                            call = partial(wallet.adjust, 1.5, reference, "goodwill")
                        else:
                            call = partial(wallet.top_up, 1.5, reference)
                        outcome["move"] = retrying(call, env).id

                with registry_lock_released(), mute_logger("odoo.service.model"):
                    thread = threading.Thread(target=client, args=(fresh, kind, reference, outcome))
                    thread.start()
                    waiting = None
                    for _attempt in range(600):
                        observer.execute(
                            "SELECT a.backend_xid IS NOT NULL FROM pg_locks l"
                            " JOIN pg_stat_activity a ON a.pid = l.pid"
                            " WHERE l.relation = 'telecom_wallet_posting_lock'::regclass"
                            " AND NOT l.granted AND l.pid != %s",
                            [holder_pid],
                        )
                        row = observer.fetchone()
                        observer.rollback()
                        if row:
                            waiting = row[0]
                            break
                        thread.join(0.05)
                    holder.rollback()
                    thread.join(TIMEOUT)
                self.assertFalse(thread.is_alive())
                self.assertIsNotNone(waiting, "the client never waited for the posting lock")
                self.assertEqual(waiting, builds_first, "wrote before waiting: %s %s" % (fresh, kind))
                self.assertTrue(outcome.get("move"))
        balance, ledger, references = self._ledger(self.wallet_2_id)
        self.assertAlmostEqual(balance, before + 4.5, places=2)
        self.assertAlmostEqual(balance, ledger, places=2)
        self.assertEqual(self._drafts(), 0)

    def test_concurrent_postings_on_different_wallets_both_succeed(self):
        """The hash-chained journal takes one posting at a time: the second
        waits and is retried, it does not fail."""
        before_1, before_2 = self._ledger()[0], self._ledger(self.wallet_2_id)[0]

        def top_up_first(wallet, _other):
            return wallet.top_up(7.0, "RACE-PAR-1").id

        def top_up_second(_wallet, other):
            return other.top_up(3.0, "RACE-PAR-2").id

        results = self._race(top_up_first, top_up_second)
        self.assertTrue(all(isinstance(result, int) for result in results), results)
        self.assertAlmostEqual(self._ledger()[0], before_1 + 7.0, places=2)
        self.assertAlmostEqual(self._ledger(self.wallet_2_id)[0], before_2 + 3.0, places=2)
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            moves = env["account.move"].browse(results)
            self.assertTrue(all(moves.mapped("inalterable_hash")))
            journal = moves.journal_id
            self.assertEqual(len(journal), 1)
            # The journal's hash chain is intact: recomputing each hash from
            # its predecessor gives the stored value (Odoo's integrity check).
            chain = env["account.move"].search(
                [("journal_id", "=", journal.id), ("inalterable_hash", "!=", False)],
                order="sequence_prefix, sequence_number",
            )
            self.assertEqual(chain._calculate_hashes(False), {move: move.inalterable_hash for move in chain})

    def _top_up(self, amount, reference):
        """Take the wallet's balance up to at least ``amount`` (committed)."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            wallet = env["telecom.wallet"].browse(self.wallet_id)
            if wallet.balance < amount:
                wallet.top_up(round(amount - wallet.balance, 2), reference)

    def test_eight_clients_on_distinct_wallets_never_fail(self):
        """Each client posts operations one after another, each in its own transaction through
        Odoo's retry, as XML-RPC clients do: none fails, every balance is its ledger."""
        per_client = 4
        failures = []
        barrier = threading.Barrier(CLIENTS)

        def client(number):
            wallet_id = self.client_wallet_ids[number]
            barrier.wait(timeout=TIMEOUT)
            for k in range(per_client):
                with self.registry.cursor() as cr:
                    env = api.Environment(cr, SUPERUSER_ID, {})
                    wallet = env["telecom.wallet"].browse(wallet_id)
                    try:
                        retrying(partial(wallet.top_up, 1.25, "CLIENT-%s-%s" % (number, k)), env)
                    except Exception as error:  # noqa: BLE001 - what the client would see
                        failures.append("%s: %s" % (type(error).__name__, error))

        with (
            registry_lock_released(),
            mute_logger("odoo.service.model"),
            ThreadPoolExecutor(max_workers=CLIENTS) as executor,
        ):
            for future in [executor.submit(client, n) for n in range(CLIENTS)]:
                future.result(timeout=TIMEOUT * 4)
        self.assertEqual(failures, [])
        for wallet_id in self.client_wallet_ids:
            balance, ledger, references = self._ledger(wallet_id)
            self.assertEqual(len([ref for ref in references if ref.startswith("CLIENT-")]), per_client)
            self.assertAlmostEqual(balance, ledger, places=2)
            self.assertAlmostEqual(balance, 1.25 * per_client, places=2)
        # Numbered one after another and chained, though each client wrote its entry while the
        # others posted theirs.
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            journal = env["res.company"].browse(self.company_id).sudo().telecom_wallet_journal_id
            entries = env["account.move"].search(
                [("journal_id", "=", journal.id), ("state", "=", "posted")],
                order="sequence_prefix, sequence_number",
            )
            self.assertTrue(all(entries.mapped("inalterable_hash")))
            for _prefix, chain in entries.grouped("sequence_prefix").items():
                numbers = chain.mapped("sequence_number")
                self.assertEqual(numbers, list(range(numbers[0], numbers[0] + len(chain))))
                self.assertEqual(
                    chain._calculate_hashes(False), {move: move.inalterable_hash for move in chain}
                )

    def test_same_wallet_race_of_batches_and_single_operations(self):
        """A batch and a single debit race for one wallet: exactly the affordable debits win,
        whichever goes first, and the rest are refused cleanly."""
        self._top_up(10.0, "RACE-MIX-SEED")
        balance_before = self._ledger()[0]
        amount = round(balance_before * 0.4, 2)  # two fit, three do not

        def batch(wallet, _other):
            return wallet.env["telecom.wallet.batch"].apply(
                "RACE-MIX-BATCH",
                [
                    {"wallet_id": wallet.id, "type": "debit", "amount": amount, "reference": "RACE-MIX-B1"},
                    {"wallet_id": wallet.id, "type": "debit", "amount": amount, "reference": "RACE-MIX-B2"},
                ],
                company_id=wallet.company_id.id,
            )

        def single(wallet, _other):
            return wallet.debit(amount, "RACE-MIX-S").id

        batch_result, single_result = self._race(batch, single)
        statuses = [result["status"] for result in batch_result["results"]]
        single_posted = isinstance(single_result, int)
        if single_posted:
            self.assertEqual(statuses, ["posted", "refused"], batch_result)
        else:
            self.assertIn("Insufficient funds", single_result)
            self.assertEqual(statuses, ["posted", "posted"], batch_result)
        balance, ledger, references = self._ledger()
        self.assertAlmostEqual(balance, balance_before - 2 * amount, places=2)
        self.assertAlmostEqual(balance, ledger, places=2)
        self.assertEqual(len({"RACE-MIX-B1", "RACE-MIX-B2", "RACE-MIX-S"} & set(references)), 2)

    def test_two_batches_on_the_same_wallets_in_opposite_orders_do_not_deadlock(self):
        wallet_ids = self.client_wallet_ids
        before = {wallet_id: self._ledger(wallet_id)[0] for wallet_id in wallet_ids}

        def batch(name, ids):
            def call(wallet, _other):
                return wallet.env["telecom.wallet.batch"].apply(
                    name,
                    [
                        {
                            "wallet_id": wallet_id,
                            "type": "top_up",
                            "amount": 1.0,
                            "reference": f"{name}-{wallet_id}",
                        }
                        for wallet_id in ids
                    ],
                    company_id=wallet.company_id.id,
                )

            return call

        forward, backward = self._race(
            batch("RACE-ORDER-F", wallet_ids), batch("RACE-ORDER-B", list(reversed(wallet_ids)))
        )
        self.assertEqual(forward["posted"], len(wallet_ids), forward)
        self.assertEqual(backward["posted"], len(wallet_ids), backward)
        for wallet_id in wallet_ids:
            balance, ledger, _references = self._ledger(wallet_id)
            self.assertAlmostEqual(balance, before[wallet_id] + 2.0, places=2)
            self.assertAlmostEqual(balance, ledger, places=2)

    def test_the_same_batch_sent_twice_at_once_posts_once(self):
        before = self._ledger(self.wallet_2_id)[0]

        def batch(_wallet, other):
            return other.env["telecom.wallet.batch"].apply(
                "RACE-SAME-BATCH",
                [{"wallet_id": other.id, "type": "top_up", "amount": 2.5, "reference": "RACE-SAME-BATCH-1"}],
                company_id=other.company_id.id,
            )

        first, second = self._race(batch, batch)
        self.assertEqual(first["batch_id"], second["batch_id"])
        self.assertEqual(sorted([first["batch_repeated"], second["batch_repeated"]]), [False, True])
        balance, ledger, references = self._ledger(self.wallet_2_id)
        self.assertAlmostEqual(balance, before + 2.5, places=2)
        self.assertAlmostEqual(balance, ledger, places=2)
        self.assertEqual(references.count("RACE-SAME-BATCH-1"), 1)
