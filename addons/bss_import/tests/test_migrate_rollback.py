import hashlib
import json
from unittest.mock import patch

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from ..services.migration import rollback as undo
from .common import MigrationCase, subscriber
from .test_migrate_delta import SUBSCRIBER_OBJECTS, accounts
from .test_migrate_quarantine import small_export

#: Fields of a contact the migration writes (the content the checksums compare).
PARTNER_FIELDS = [
    "name",
    "email",
    "phone",
    "street",
    "city",
    "zip",
    "country_id",
    "parent_id",
    "is_company",
    "active",
    "x_subscriber_id",
    "x_msisdn",
    "x_plan_id",
    "x_billing_account_number",
    "x_legacy_ar_balance",
]
PRODUCT_FIELDS = ["name", "default_code", "list_price", "active", "categ_id"]


@tagged("post_install", "-at_install")
class TestMigrateRollback(MigrationCase):
    def fingerprint(self):
        """Per object, the record count and a checksum of the fields the migration touches, as a user
        sees them (active records); the ledger as the receivable balance per partner."""
        env = self.env(su=True)
        env.flush_all()
        env.invalidate_all()

        def digest(model, names, domain=()):
            records = env[model].search(list(domain), order="id")
            rows = records.read(names)
            text = json.dumps(rows, sort_keys=True, default=str)
            return len(records), hashlib.sha256(text.encode()).hexdigest()

        env.cr.execute(
            """SELECT l.partner_id, sum(l.balance) FROM account_move_line l
                 JOIN account_account a ON a.id = l.account_id
                WHERE a.account_type = 'asset_receivable' AND l.parent_state = 'posted'
             GROUP BY 1 HAVING sum(l.balance) <> 0 ORDER BY 1"""
        )
        return {
            "res.partner": digest("res.partner", PARTNER_FIELDS),
            "product.template": digest("product.template", PRODUCT_FIELDS),
            "sale.order": digest("sale.order", ["name", "partner_id", "state", "amount_untaxed"]),
            "open customer invoices": digest(
                "account.move",
                ["name", "ref", "amount_total", "amount_residual"],
                [
                    ("move_type", "=", "out_invoice"),
                    ("state", "=", "posted"),
                    ("payment_state", "!=", "reversed"),
                ],
            ),
            "custom fields": digest(
                "ir.model.fields", ["model", "name", "ttype"], [("state", "=", "manual")]
            ),
            "receivable balance per partner": env.cr.fetchall(),
        }

    def test_rollback_removes_records_reverses_posted_invoices_and_is_a_no_op_the_second_time(self):
        folder, _manifest = self.generate(
            "--defects", "duplicate_rows=4,missing_mandatory=2", subscribers=30, seed=12
        )
        run = self.confirmed_run(folder=folder)
        before = self.fingerprint()
        run.action_migrate()
        self.assertEqual(run.state, "migrated")
        created = {p.object: p.created for p in run.phase_ids}
        self.assertTrue(
            all(created[o] for o in ("custom_fields", "subscribers", "orders", "invoices")), created
        )
        invoices = self.env["account.move"].browse(
            self.env["bss.import.link"].sudo().search([("object", "=", "invoices")]).mapped("res_id")
        )
        posted = invoices.filtered(lambda m: m.state == "posted")
        paid = posted.filtered(lambda m: m.payment_state in ("paid", "in_payment", "partial"))
        self.assertTrue(posted and paid, "the export must have posted and settled invoices")
        self.assertNotEqual(self.fingerprint(), before)
        mails = self.env["mail.mail"].sudo().search_count([])

        with self.assertRaisesRegex(AccessError, "Migration Manager"):
            run.action_rollback()
        report = run.with_user(self.manager).action_rollback()
        self.assertEqual(run.state, "rolled_back")
        self.assertEqual((run.rollback_user_id, bool(run.rollback_date)), (self.manager, True))

        # Counts and checksums of the fields the migration touches: the pre-run state.
        self.assertEqual(self.fingerprint(), before)
        self.assertFalse(self.env["bss.import.link"].sudo().search_count([("created_run_id", "=", run.id)]))
        self.assertEqual(self.env["mail.mail"].sudo().search_count([]), mails)

        # Posted entries reversed, never deleted; the reversal reported.
        self.assertTrue(posted.exists() == posted)
        for move in posted:
            self.assertEqual(move.payment_state, "reversed", move.name)
            self.assertTrue(move.reversal_move_ids.filtered(lambda r: r.state == "posted"), move.name)
        reversed_ = run.change_ids.filtered(lambda c: c.kind == "reversed")
        self.assertEqual(sorted(reversed_.mapped("res_id")), sorted(posted.ids))
        for change in reversed_.filtered(lambda c: c.res_id in paid.ids):
            self.assertIn("settlement", change.rollback_note)
        objects = report["objects"]
        self.assertEqual(objects["invoices"]["reversed"], len(posted))
        self.assertEqual(objects["orders"]["deleted"], created["orders"])
        for obj in ("subscribers", "billing_accounts", "service_plans", "product_catalog", "custom_fields"):
            counts = objects[obj]
            self.assertEqual(counts["deleted"] + counts["archived"] + counts["kept"], created[obj], obj)
        # A contact an invoice refers to stays, archived (the fingerprint counts active contacts).
        archived = run.change_ids.filtered(lambda c: c.kind == "archived")
        for change in archived:
            self.assertFalse(
                self.env[change.res_model].with_context(active_test=False).browse(change.res_id).active
            )

        # A second rollback: nothing to undo, nothing written.
        changes = len(run.change_ids)
        self.assertEqual(run.with_user(self.manager).action_rollback(), report)
        self.assertEqual(len(run.change_ids), changes)
        self.assertEqual(self.fingerprint(), before)
        with self.assertRaisesRegex(UserError, "mapping is confirmed|nothing leaves staging|state"):
            run.action_migrate()

    def test_rollback_of_a_delta_pass_restores_previous_values_then_the_run_goes_back_to_before(self):
        before_run = self.fingerprint()
        run = self.confirmed_run(files=small_export([subscriber(n) for n in range(1, 6)]))
        run.action_migrate(SUBSCRIBER_OBJECTS)
        before_delta = self.fingerprint()
        subs = [
            subscriber(1, city="Genève"),
            subscriber(2),
            subscriber(4, plan_code="OLD5"),
            subscriber(5),
            subscriber(6),
        ]
        files = small_export(subs, accounts=accounts(BA001={7: "billing@acme.example"}))
        delta = self.delta_run(run, files, archive_vanished=True)
        delta.action_migrate(SUBSCRIBER_OBJECTS)
        self.assertEqual(len(delta.change_ids.filtered(lambda c: c.kind == "changed")), 4)
        self.assertFalse(self.record("subscribers", "S000003").active)
        self.assertNotEqual(self.fingerprint(), before_delta)

        # The first run cannot go back alone past a later pass; the pass can.
        later = self.Run.create({"delta_of_id": run.id})
        later._server_write({"state": "migrated"})
        with self.assertRaisesRegex(UserError, "followed by"):
            delta.with_user(self.manager).action_rollback()
        later._server_write({"state": "rolled_back"})
        report = delta.with_user(self.manager).action_rollback()
        self.assertEqual(self.fingerprint(), before_delta)
        self.assertEqual(
            report["objects"]["subscribers"],
            {"deleted": 1, "reversed": 0, "archived": 0, "kept": 0, "restored": 4},
        )
        self.assertEqual(report["objects"]["billing_accounts"]["restored"], 1)
        self.assertTrue(all(c.rolled_back for c in delta.change_ids if c.kind in ("changed", "vanished")))
        self.assertEqual(self.record("subscribers", "S000001").city, "Zürich")
        self.assertTrue(self.record("subscribers", "S000003").active)
        self.assertFalse(self.link("subscribers", "S000006"))

        # The same later export applied again after the rollback writes its changes again.
        again = self.delta_run(run, files)
        again.action_migrate(SUBSCRIBER_OBJECTS)
        self.assertEqual(self.record("subscribers", "S000001").city, "Genève")
        self.assertEqual(len(again.change_ids.filtered(lambda c: c.kind == "changed")), 4)
        again.with_user(self.manager).action_rollback()
        self.assertEqual(self.fingerprint(), before_delta)

        # The whole run (its passes already rolled back): the state before the first run.
        run.with_user(self.manager).action_rollback()
        self.assertEqual(self.fingerprint(), before_run)
        self.assertEqual((run.state, delta.state), ("rolled_back", "rolled_back"))

    def test_a_run_not_migrated_has_nothing_to_roll_back(self):
        run = self.confirmed_run(files=small_export([subscriber(1)]))
        with self.assertRaisesRegex(UserError, "nothing to roll back"):
            run.with_user(self.manager).action_rollback()

    def test_a_rollback_that_stopped_resumes_and_undoes_each_record_once(self):
        before = self.fingerprint()
        run = self.confirmed_run(files=small_export([subscriber(n) for n in range(1, 8)]))
        run.action_migrate(SUBSCRIBER_OBJECTS)
        removed = undo.remove_batch
        calls = []

        def dies_on_the_third_subscribers_batch(ctx, phase, pass_ids):
            if phase.object == "subscribers":
                calls.append(1)
                if len(calls) == 3:
                    raise ConnectionError("the server died")
            return removed(ctx, phase, pass_ids)

        # Not assertRaises: Odoo's rolls back what its block wrote, the batches committed included.
        died = None
        with (
            patch.object(undo, "BATCH", 2),
            patch.object(undo, "remove_batch", dies_on_the_third_subscribers_batch),
        ):
            try:
                run.with_user(self.manager).action_rollback()
            except ConnectionError as exc:
                died = exc
        self.assertEqual(str(died), "the server died")
        # Two batches committed: 4 subscribers gone, the rest still there, the run not rolled back.
        run.invalidate_recordset()
        self.assertEqual((run.state, run.rollback_user_id), ("migrated", self.manager))
        self.assertTrue(run.rollback_date)
        done = run.change_ids.filtered(lambda c: c.object == "subscribers")
        self.assertEqual(len(done), 4)
        self.assertEqual(
            self.env["bss.import.link"]
            .sudo()
            .search_count([("created_run_id", "=", run.id), ("object", "=", "subscribers")]),
            3,
        )
        with patch.object(undo, "BATCH", 2):
            report = run.with_user(self.manager).action_rollback()
        self.assertEqual(run.state, "rolled_back")
        self.assertEqual(self.fingerprint(), before)
        keys = run.change_ids.filtered(lambda c: c.object == "subscribers").mapped("source_key")
        self.assertEqual(sorted(keys), [f"S{n:06d}" for n in range(1, 8)])
        self.assertEqual(report["objects"]["subscribers"]["deleted"], 7)
