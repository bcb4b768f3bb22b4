from unittest.mock import patch

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import SQL

from .common import MigrationCase, csv_bytes, subscriber
from .test_migrate_quarantine import small_export

SUBSCRIBER_OBJECTS = ["custom_fields", "service_plans", "billing_accounts", "subscribers"]
BUCKET_HEADER = [
    "bucket_id",
    "subscriber_id",
    "bucket_type",
    "unit",
    "initial_amount",
    "remaining_amount",
    "valid_from",
    "valid_to",
    "priority",
]
FUTURE = "2099-12-31 23:59:59"
#: The buckets' main currency is the company's (the contact shows a wallet in its own currency);
#: written as this placeholder and replaced by :func:`export`.
MAIN = "XXX"
OTHER = "YYY"
PAST = "2020-01-31 23:59:59"


def bucket(key, sub, kind, unit, remaining, initial=None, valid_to="", priority="1"):
    return [key, sub, kind, unit, initial or remaining, remaining, "2020-01-01 00:00:00", valid_to, priority]


#: S1: money and data; S2: money in two currencies and voice (one expired); S3 is quarantined
#: (invalid MSISDN): its bucket is quarantined too; S9 is not in the export (orphan).
BUCKETS = [
    bucket("B1M", "S000001", "MAIN", MAIN, "12.50"),
    bucket("B1D", "S000001", "DATA", "MB", "512.5", initial="1024", valid_to=FUTURE),
    bucket("B2M", "S000002", "MAIN", MAIN, "0.99"),
    bucket("B2E", "S000002", "MAIN", OTHER, "5.00"),
    bucket("B2V", "S000002", "VOICE", "MIN", "10", initial="60", valid_to=FUTURE, priority="2"),
    bucket("B2X", "S000002", "VOICE", "SEC", "30", valid_to=PAST),
    bucket("B3M", "S000003", "MAIN", MAIN, "7.00"),
    bucket("B9M", "S000009", "MAIN", MAIN, "3.00"),
    bucket("B4M", "S000004", "MAIN", MAIN, "-1.25"),
]


def export(currency, buckets=None, subscribers=None, delimiter=","):
    subs = subscribers or [subscriber(1), subscriber(2), subscriber(3, msisdn="+4477009O0003"), subscriber(4)]
    files = small_export(subs)
    codes = {MAIN: currency, OTHER: "EUR" if currency != "EUR" else "GBP"}
    rows = [[codes.get(cell, cell) for cell in row] for row in (BUCKETS if buckets is None else buckets)]
    files["ocs_buckets.csv"] = csv_bytes([BUCKET_HEADER, *rows], delimiter=delimiter)
    return files


@tagged("post_install", "-at_install")
class TestCutover(MigrationCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cur = cls.company.currency_id.name
        cls.other = "EUR" if cls.cur != "EUR" else "GBP"
        cls.env.ref(f"base.{cls.other}").active = True
        # The finalize posts entries: its Migration Manager is a Wallet Manager too.
        cls.manager.groups_id |= cls.env.ref("telecom_wallet.telecom_wallet_group_manager")

    def migrated_run(self, files=None):
        run = self.confirmed_run(files=files or export(self.cur))
        run.action_migrate(SUBSCRIBER_OBJECTS)
        self.assertEqual(run.state, "migrated", run.error_message)
        return run

    def step(self, run, step, user=None, **options):
        return (
            self.env["bss.import.cutover"].with_user(user or self.manager).run_step(run.id, step, **options)
        )

    def cutover(self, run):
        return self.env["bss.import.cutover"].sudo().search([("run_id", "=", run.id)])

    def wallet(self, key, currency=None):
        partner = self.record("subscribers", key)
        return (
            self.env["telecom.wallet"]
            .sudo()
            .search([("partner_id", "=", partner.id), ("currency_id.name", "=", currency or self.cur)])
        )

    def posted_openings(self, run):
        return (
            self.env["telecom.wallet.operation"]
            .sudo()
            .search([("reference", "=like", f"OCS-CUTOVER/{run.id}/%"), ("operation_type", "=", "opening")])
        )

    def to_reverified(self, run, final_files=None):
        self.step(run, "verify")
        self.step(run, "freeze", snapshot="OCS dump 2026-12-01 23:00")
        delta = self.delta_run(run, final_files or export(self.cur))
        self.step(run, "delta", delta_run_id=delta.id)
        return self.step(run, "verify")

    # ------------------------------------------------------------------ the whole way
    def test_shadow_to_finalize_keeps_every_cent_and_posts_nothing_before_the_finalize(self):
        run = self.migrated_run()
        moves_before = self.env["account.move"].sudo().search_count([])
        mail_before = self.mail_counts()
        summary = self.step(run, "shadow", user=self.operator)
        self.assertEqual(summary["state"], "shadow")
        # Money of S1, S2 (two currencies) and S4; allowances of S1 and S2 (the expired one reported).
        self.assertEqual(summary["wallets"], 4)
        self.assertEqual(summary["buckets"], 2)
        self.assertEqual(summary["mismatches"], 0)
        self.assertEqual(summary["currency"], self.cur)
        self.assertEqual(
            summary["by_currency"],
            {
                self.cur: {"source_total": "22.24", "odoo_total": "12.24", "quarantined_total": "10.00"},
                self.other: {"source_total": "5.00", "odoo_total": "5.00", "quarantined_total": "0.00"},
            },
        )
        self.assertEqual(
            (summary["source_total"], summary["odoo_total"], summary["quarantined_total"]),
            ("22.24", "12.24", "10.00"),
        )
        cutover = self.cutover(run)
        self.assertIn(f"{self.cur}: OCS 22.24 = Odoo 12.24 + quarantined 10.00", cutover.summary_text)
        self.assertEqual((cutover.wallet_count, cutover.bucket_count, cutover.quarantined_count), (4, 2, 2))
        lines = {line.bucket_key: line for line in cutover.line_ids}
        self.assertEqual(lines["B3M"].state, "quarantined")
        self.assertIn("S000003 is quarantined", lines["B3M"].reason)
        self.assertIn("S000009 is not in Odoo", lines["B9M"].reason)
        self.assertEqual(lines["B2X"].state, "expired")
        self.assertFalse(lines["B2X"].allowance_bucket_id)
        self.assertFalse(lines["B2X"].wallet_id, "an expired allowance needs no wallet")
        quarantine = (
            self.env["bss.import.quarantine"]
            .sudo()
            .search([("run_id", "=", run.id), ("object", "=", "ocs_buckets")])
        )
        self.assertEqual(sorted(quarantine.mapped("source_key")), ["B3M", "B9M"])
        with self.assertRaisesRegex(UserError, "OCS buckets move with the run's cutover"):
            quarantine.with_user(self.operator).action_retry()
        # Nothing in the ledger: draft wallets, suspended allowances in base units.
        self.assertEqual(self.env["account.move"].sudo().search_count([]), moves_before)
        wallet = self.wallet("S000001")
        self.assertEqual(wallet.state, "draft")
        data = lines["B1D"].allowance_bucket_id
        self.assertEqual(
            (data.state, data.usage_type, data.remaining_quantity, data.initial_quantity),
            ("suspended", "data", 512.5, 1024),
        )
        voice = lines["B2V"].allowance_bucket_id
        self.assertEqual((voice.remaining_quantity, voice.initial_quantity, voice.priority), (600, 3600, -2))
        # The allowance goes to the subscriber's wallet in the company's currency.
        self.assertEqual(voice.wallet_id, self.wallet("S000002"))
        # The contact keeps the OCS snapshot until the finalize.
        self.assertFalse(self.record("subscribers", "S000001").x_ocs_balance)
        with self.assertRaises(UserError):
            wallet.with_user(self.env.ref("base.user_admin")).sudo().debit(1, "SPEND-EARLY")

        self.assertEqual(self.step(run, "verify")["state"], "verified")
        summary = self.step(run, "freeze", snapshot="OCS dump 2026-12-01 23:00")
        self.assertEqual(summary["state"], "frozen")
        self.assertEqual(cutover.freeze_snapshot, "OCS dump 2026-12-01 23:00")
        self.assertEqual(cutover.frozen_by, self.manager)
        with self.assertRaisesRegex(UserError, r"draft \(shadow\): debit is refused"):
            wallet.sudo().debit(1, "SPEND-FROZEN")

        # The final snapshot: S1 spent 2.50, S4 got a new bucket, S2's bucket in the main currency vanished.
        final = [b for b in BUCKETS if b[0] != "B2M"]
        final[0] = bucket("B1M", "S000001", "MAIN", MAIN, "10.00")
        final.append(bucket("B4N", "S000004", "MAIN", MAIN, "2.00"))
        delta = self.delta_run(run, export(self.cur, final))
        summary = self.step(run, "delta", delta_run_id=delta.id)
        self.assertEqual(summary["state"], "delta")
        self.assertEqual(summary["mismatches"], 0)
        self.assertEqual((summary["source_total"], summary["odoo_total"]), ("20.75", "10.75"))
        lines = {line.bucket_key: line for line in cutover.line_ids if line.state != "quarantined"}
        self.assertEqual(
            (lines["B1M"].amount, lines["B1M"].previous_amount, lines["B1M"].delta_change),
            (10.0, 12.5, "changed"),
        )
        self.assertEqual((lines["B2M"].state, lines["B2M"].delta_change), ("closed", "vanished"))
        self.assertEqual(lines["B4N"].state, "prepared")
        self.assertEqual(self.step(run, "verify")["state"], "reverified")

        summary = self.step(run, "finalize")
        self.assertEqual(summary["state"], "finalized")
        self.assertEqual(
            (summary["source_total"], summary["odoo_total"], summary["quarantined_total"]),
            ("20.75", "10.75", "10.00"),
        )
        self.assertEqual(summary["mismatches"], 0)
        self.assertEqual(cutover.finalized_by, self.manager)
        balances = {
            (key, cur): self.wallet(key, cur).balance
            for key, cur in (("S000001", self.cur), ("S000002", self.other), ("S000004", self.cur))
        }
        self.assertEqual(
            balances, {("S000001", self.cur): 10.0, ("S000002", self.other): 5.0, ("S000004", self.cur): 0.75}
        )
        # S2's bucket in the company's currency vanished; its wallet stays for the voice allowance.
        self.assertEqual((self.wallet("S000002").balance, self.wallet("S000002").state), (0.0, "active"))
        self.assertEqual(voice.wallet_id, self.wallet("S000002"))
        self.assertEqual({self.wallet(k, c).state for k, c in balances}, {"active"})
        self.assertEqual(data.state, "active")
        self.assertEqual(self.record("subscribers", "S000001").x_ocs_balance, 10.0)
        self.assertEqual(len(self.posted_openings(run)), 4)  # B1M, B2E, B4M, B4N
        check = self.env["telecom.wallet.ledger.check"].sudo().search([("company_id", "=", self.company.id)])
        self.assertTrue(check.is_balanced, "the wallets and the liability account agree")
        # No mail, no followers beyond the cutover's own chatter.
        after = self.mail_counts()
        self.assertEqual(after["mail.mail"], mail_before["mail.mail"])
        self.assertEqual(after["mail.notification"], mail_before["mail.notification"])

        # A second finalize changes nothing.
        moves = self.env["account.move"].sudo().search_count([])
        self.assertEqual(self.step(run, "finalize")["state"], "finalized")
        self.assertEqual(self.env["account.move"].sudo().search_count([]), moves)
        self.assertEqual(len(self.posted_openings(run)), 4)

    # ------------------------------------------------------------------ verify and finalize guards
    def test_an_injected_mismatch_blocks_the_finalize_until_a_manager_acknowledges_it(self):
        run = self.migrated_run()
        self.step(run, "shadow")
        self.to_reverified(run)
        cutover = self.cutover(run)
        line = cutover.line_ids.filtered(lambda line: line.bucket_key == "B1M")
        # Odoo's prepared balance no longer matches the OCS (a write outside the cutover).
        self.env.cr.execute(SQL("UPDATE bss_import_cutover_line SET amount = 12.51 WHERE id = %s", line.id))
        summary = self.step(run, "verify")
        self.assertEqual(summary["mismatches"], 2)  # the wallet and its currency's total
        wallet = cutover.mismatch_ids.filtered(lambda m: m.kind == "wallet")
        self.assertEqual((wallet.name, wallet.source, wallet.odoo), (f"S000001 {self.cur}", "12.50", "12.51"))
        moves = self.env["account.move"].sudo().search_count([])
        with self.assertRaisesRegex(UserError, "2 mismatches .* not acknowledged: nothing is posted"):
            self.step(run, "finalize")
        self.assertEqual(self.env["account.move"].sudo().search_count([]), moves)
        self.assertEqual(cutover.state, "reverified")
        with self.assertRaises(AccessError):
            cutover.with_user(self.operator).acknowledge_mismatches("checked with finance")
        with self.assertRaisesRegex(UserError, "reason"):
            cutover.with_user(self.manager).acknowledge_mismatches("  ")
        self.assertEqual(
            cutover.with_user(self.manager).acknowledge_mismatches("1 cent goodwill, ticket 42"), 2
        )
        self.assertEqual(self.step(run, "finalize")["state"], "finalized")
        self.assertEqual(self.wallet("S000001").balance, 12.51)
        self.assertEqual(cutover.mismatch_ids.mapped("acknowledged_by"), self.manager)

    def test_a_finalize_that_stops_resumes_and_posts_every_balance_exactly_once(self):
        run = self.migrated_run()
        self.step(run, "shadow")
        self.to_reverified(run)
        Batch = type(self.env["telecom.wallet.batch"])
        apply = Batch.apply
        calls = []

        def crash_on_second_batch(batch, reference, operations, **kwargs):
            calls.append(reference)
            if len(calls) == 2:
                raise RuntimeError("worker killed")
            return apply(batch, reference, operations, **kwargs)

        # The batch size is a system parameter: one that is no whole number posts nothing.
        params = self.env["ir.config_parameter"].sudo()
        for bad in ("ten", "0"):
            params.set_param("bss_import.cutover_finalize_chunk", bad)
            with self.assertRaisesRegex(
                UserError, "bss_import.cutover_finalize_chunk must be a whole number"
            ):
                self.step(run, "finalize")
            self.assertFalse(self.posted_openings(run))
            self.assertEqual(self.cutover(run).state, "reverified")
        params.set_param("bss_import.cutover_finalize_chunk", "1")
        # Not assertRaises: its savepoint would undo the batch the finalize committed before the crash.
        with patch.object(Batch, "apply", crash_on_second_batch):
            try:
                self.step(run, "finalize")
            except RuntimeError as error:
                self.assertEqual(str(error), "worker killed")
            else:
                self.fail("the finalize did not stop")
        cutover = self.cutover(run)
        cutover.invalidate_recordset()
        self.assertEqual(cutover.state, "finalizing")
        self.assertEqual(len(self.posted_openings(run)), 1, "the first batch is committed")
        # Nothing is spendable while balances are missing.
        self.assertEqual(self.wallet("S000001").state, "draft")
        self.assertEqual(self.step(run, "finalize")["state"], "finalized")
        openings = self.posted_openings(run)
        self.assertEqual(len(openings), 4)
        self.assertEqual(len(set(openings.mapped("reference"))), 4)
        self.assertEqual(self.wallet("S000001").balance, 12.5)
        self.assertEqual(self.wallet("S000004").balance, -1.25)
        self.assertEqual(self.step(run, "status")["mismatches"], 0)

    def test_steps_run_in_order_on_a_migrated_run_only(self):
        run = self.confirmed_run(files=export(self.cur))
        with self.assertRaisesRegex(UserError, "not migrated"):
            self.step(run, "shadow")
        run.action_migrate(SUBSCRIBER_OBJECTS)
        for step in ("verify", "freeze", "finalize", "rollback"):
            with self.assertRaisesRegex(UserError, f"{step} cannot run on a cutover that is not started"):
                self.step(run, step)
        self.step(run, "shadow")
        with self.assertRaisesRegex(UserError, "finalize cannot run on a cutover that is shadow written"):
            self.step(run, "finalize")
        with self.assertRaisesRegex(UserError, "freeze cannot run"):
            self.step(run, "freeze")

    def test_rights(self):
        run = self.migrated_run()
        with self.assertRaises(AccessError):
            self.step(run, "shadow", user=self.user_plain)
        self.step(run, "shadow", user=self.operator)
        self.step(run, "verify", user=self.operator)
        with self.assertRaises(AccessError):
            self.step(run, "freeze", user=self.operator)
        self.step(run, "freeze")
        delta = self.delta_run(run, export(self.cur))
        self.step(run, "delta", user=self.operator, delta_run_id=delta.id)
        self.step(run, "verify", user=self.operator)
        with self.assertRaises(AccessError):
            self.step(run, "finalize", user=self.operator)
        # A Migration Manager who may not post wallet entries cannot finalize.
        manager = self.manager.copy({"login": "bss_manager_no_wallet"})
        manager.groups_id -= self.env.ref("telecom_wallet.telecom_wallet_group_manager")
        with self.assertRaisesRegex(AccessError, "Wallet Manager"):
            self.step(run, "finalize", user=manager)
        self.assertEqual(self.cutover(run).state, "reverified")
        # Operators read the cutover; nobody writes it but its steps.
        cutover = self.env["bss.import.cutover"].with_user(self.operator).browse(self.cutover(run).id)
        self.assertEqual(cutover.state, "reverified")
        with self.assertRaises(AccessError):
            cutover.write({"state": "finalized"})
        with self.assertRaises(AccessError):
            cutover.line_ids[:1].write({"amount": 1})

    # ------------------------------------------------------------------ rollback
    def test_rollback_before_the_finalize_discards_the_shadow(self):
        run = self.migrated_run()
        self.step(run, "shadow")
        cutover = self.cutover(run)
        wallets = cutover.wallet_ids
        buckets = cutover.line_ids.allowance_bucket_id
        self.assertTrue(wallets and buckets)
        summary = self.step(run, "rollback")
        self.assertEqual((summary["state"], summary["wallets"], summary["buckets"]), ("rolled_back", 0, 0))
        self.assertFalse(wallets.exists())
        self.assertFalse(buckets.exists())
        self.assertFalse(cutover.line_ids)
        self.assertFalse(
            self.env["bss.import.quarantine"]
            .sudo()
            .search([("run_id", "=", run.id), ("object", "=", "ocs_buckets")])
        )
        # The cutover can start again.
        self.assertEqual(self.step(run, "shadow")["odoo_total"], "12.24")

    def test_rollback_after_the_finalize_reverses_the_openings_and_closes_the_wallets(self):
        run = self.migrated_run()
        self.step(run, "shadow")
        self.to_reverified(run)
        self.step(run, "finalize")
        openings = self.posted_openings(run)
        moves = openings.move_id
        voice = self.cutover(run).line_ids.filtered(lambda line: line.bucket_key == "B2V").allowance_bucket_id
        self.assertEqual(voice.state, "active")
        summary = self.step(run, "rollback")
        self.assertEqual(summary["state"], "rolled_back")
        self.assertTrue(moves.exists(), "entries are reversed, never deleted")
        self.assertTrue(all(op.reversal_operation_ids for op in openings))
        # Reversed entry by entry: one reversal entry per entry of the finalize, one item per opening.
        reversals = openings.reversal_operation_ids
        self.assertEqual(
            sorted(reversals.move_id.mapped("ref")), sorted(f"Reversal of {m.name}" for m in moves)
        )
        self.assertEqual(
            sorted(reversals.mapped("reference")),
            sorted(f"OCS-CUTOVER/{run.id}/ROLLBACK/{key}" for key in ("B1M", "B2M", "B2E", "B4M")),
        )
        for key, cur in (("S000001", self.cur), ("S000002", self.other), ("S000004", self.cur)):
            wallet = self.wallet(key, cur)
            self.assertEqual((wallet.balance, wallet.state), (0.0, "closed"), key)
        data = self.cutover(run).line_ids.filtered(lambda line: line.bucket_key == "B1D")
        self.assertFalse(data, "the shadow's lines are gone, the posted ones stay as the trail")
        self.assertEqual(self.cutover(run).rolled_back_by, self.manager)
        # S2's wallet in the main currency held only its voice allowance: closed too, the allowance
        # (never consumed) removed with the shadow; no message on any of the wallets (the run's log
        # says who rolled back).
        self.assertEqual(self.wallet("S000002").state, "closed")
        self.assertFalse(voice.exists())
        for key in ("S000001", "S000002", "S000004"):
            tracked = self.wallet(key).message_ids.tracking_value_ids
            self.assertFalse(tracked.filtered(lambda value: value.field_id.name == "state"), key)

    def test_rollback_after_the_finalize_is_refused_when_a_wallet_moved(self):
        run = self.migrated_run()
        self.step(run, "shadow")
        self.to_reverified(run)
        self.step(run, "finalize")
        self.wallet("S000001").with_user(self.manager).debit(2.0, "CALL-1")
        with self.assertRaisesRegex(UserError, "1 wallets changed since the finalize"):
            self.step(run, "rollback")
        self.assertEqual(self.cutover(run).state, "finalized")
        self.assertEqual(self.wallet("S000001").balance, 10.5)

    # ------------------------------------------------------------------ source formats
    def test_amounts_with_decimal_commas_and_thousands_groups_verify_to_the_cent(self):
        rows = [
            bucket("B1M", "S000001", "MAIN", MAIN, "1.234,56"),
            bucket("B2M", "S000002", "MAIN", MAIN, "-0,99"),
            bucket("B3M", "S000003", "MAIN", MAIN, "7,5"),
            bucket("B4M", "S000004", "MAIN", MAIN, "1,005"),  # three decimals: refused
        ]
        files = export(self.cur, rows, delimiter=";")
        run = self.migrated_run(files)
        summary = self.step(run, "shadow")
        lines = {line.bucket_key: line for line in self.cutover(run).line_ids}
        self.assertEqual(lines["B1M"].amount, 1234.56)
        self.assertEqual(lines["B2M"].amount, -0.99)
        self.assertIn("more than 2 decimals", lines["B4M"].reason)
        # B3M (quarantined subscriber) and B4M are quarantined with their amounts.
        self.assertEqual(
            (
                summary["source_total"],
                summary["odoo_total"],
                summary["quarantined_total"],
                summary["mismatches"],
            ),
            ("1242.075", "1233.57", "8.505", 0),
        )

    def test_the_run_is_not_rolled_back_under_a_live_cutover(self):
        run = self.migrated_run()
        self.step(run, "shadow")
        with self.assertRaisesRegex(UserError, "roll the cutover back first"):
            run.with_user(self.manager).action_rollback()
        self.step(run, "rollback")
        self.assertEqual(run.with_user(self.manager).action_rollback()["state"], "rolled_back")
