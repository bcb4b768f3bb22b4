from decimal import Decimal
from unittest.mock import patch

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import SQL

from odoo.addons.bss_import.models import bss_import_cutover

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


def export(currency, buckets=None, subscribers=None):
    subs = subscribers or [subscriber(1), subscriber(2), subscriber(3, msisdn="+4477009O0003"), subscriber(4)]
    files = small_export(subs)
    codes = {MAIN: currency, OTHER: "EUR" if currency != "EUR" else "GBP"}
    rows = [[codes.get(cell, cell) for cell in row] for row in (BUCKETS if buckets is None else buckets)]
    files["ocs_buckets.csv"] = csv_bytes([BUCKET_HEADER, *rows])
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
        lines = {line.bucket_key: line for line in cutover.line_ids}
        self.assertEqual(lines["B3M"].state, "quarantined")
        self.assertIn("S000003 is quarantined", lines["B3M"].reason)
        self.assertIn("S000009 is not in Odoo", lines["B9M"].reason)
        self.assertEqual(lines["B2X"].state, "expired")
        self.assertFalse(lines["B2X"].allowance_bucket_id)
        quarantine = (
            self.env["bss.import.quarantine"]
            .sudo()
            .search([("run_id", "=", run.id), ("object", "=", "ocs_buckets")])
        )
        self.assertEqual(sorted(quarantine.mapped("source_key")), ["B3M", "B9M"])
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
