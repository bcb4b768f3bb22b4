import json

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import MigrationCase, subscriber
from .test_migrate_quarantine import ACCOUNT_ROWS, small_export

SUBSCRIBER_OBJECTS = ["custom_fields", "service_plans", "billing_accounts", "subscribers"]


def accounts(**changes):
    """The billing accounts of :func:`small_export`, with ``changes`` {account number: {column
    index: value}}; an account number mapped to None is left out."""
    out = []
    for row in ACCOUNT_ROWS:
        change = changes.get(row[0], {})
        if change is not None:
            out.append([change.get(n, value) for n, value in enumerate(row)])
    return out


@tagged("post_install", "-at_install")
class TestMigrateDelta(MigrationCase):
    def migrated_run(self, subscribers=None):
        run = self.confirmed_run(files=small_export(subscribers or [subscriber(n) for n in range(1, 6)]))
        run.action_migrate(SUBSCRIBER_OBJECTS)
        self.assertEqual(run.state, "migrated")
        return run

    def changes(self, run, kind="changed"):
        return {
            (c.object, c.source_key, c.field_name): (
                json.loads(c.old_value or "false"),
                json.loads(c.new_value or "false"),
            )
            for c in run.change_ids
            if c.kind == kind
        }

    def test_delta_pass_creates_new_rows_writes_changed_fields_only_and_reports_vanished_ones(self):
        run = self.migrated_run()
        # A subscriber's plan is the plan's product (variant).
        plan_new = self.record("service_plans", "PRE10").product_variant_id
        plan_old = self.record("service_plans", "OLD5").product_variant_id
        s1, s2, s3, s4 = (self.record("subscribers", f"S00000{n}") for n in range(1, 5))
        account = self.record("billing_accounts", "BA001")
        stamps = {key: self.record("subscribers", key).write_date for key in ("S000002", "S000005")}
        stamp_ba2 = self.record("billing_accounts", "BA002").write_date
        mail_before = self.mail_counts()

        # The later export: S1 moved, S4 changed plan, S3 is gone, S6 is new; BA001 changed its e-mail.
        subs = [
            subscriber(1, city="Genève", street="2 Lake Road"),
            subscriber(2),
            subscriber(4, plan_code="OLD5"),
            subscriber(5),
            subscriber(6),
        ]
        files = small_export(subs, accounts=accounts(BA001={7: "billing@acme.example"}))
        delta = self.delta_run(run, files)
        self.assertEqual(delta.delta_of_id, run)
        self.assertEqual(run.delta_ids, delta)
        delta.action_migrate(SUBSCRIBER_OBJECTS)
        self.assertEqual(delta.state, "migrated")

        self.assertEqual(
            self.changes(delta),
            {
                ("billing_accounts", "BA001", "email"): ("ap@acme.example", "billing@acme.example"),
                ("subscribers", "S000001", "city"): ("Zürich", "Genève"),
                ("subscribers", "S000001", "street"): ("1 High Street", "2 Lake Road"),
                ("subscribers", "S000004", "x_plan_code"): ("PRE10", "OLD5"),
                ("subscribers", "S000004", "x_plan_id"): (plan_new.id, plan_old.id),
            },
        )
        self.assertEqual(self.changes(delta, "vanished"), {("subscribers", "S000003", False): (False, False)})
        changed = delta.change_ids.filtered(lambda c: c.field_name == "x_plan_id")
        self.assertEqual(
            (changed.old_text, changed.new_text, changed.res_id),
            (plan_new.display_name, plan_old.display_name, s4.id),
        )
        vanished = delta.change_ids.filtered(lambda c: c.kind == "vanished")
        self.assertEqual(
            (vanished.res_model, vanished.res_id, vanished.archived), ("res.partner", s3.id, False)
        )

        # Written: the changed fields; the same records, nothing else.
        self.assertEqual(
            (s1.city, s1.street, s4.x_plan_id, account.email),
            ("Genève", "2 Lake Road", plan_old, "billing@acme.example"),
        )
        self.assertTrue(s3.active, "a vanished record is only reported unless the operator chose to archive")
        self.assertEqual(self.record("subscribers", "S000001"), s1)
        self.assertEqual(self.record("subscribers", "S000006").city, "Zürich")
        self.assertEqual(self.link("subscribers", "S000006").created_run_id, delta)
        # Not written at all: no write, no write_date change.
        self.env.invalidate_all()
        for key, stamp in stamps.items():
            self.assertEqual(self.record("subscribers", key).write_date, stamp, key)
        self.assertEqual(self.record("billing_accounts", "BA002").write_date, stamp_ba2)
        self.assertEqual(self.mail_counts(), mail_before)

        report = delta.get_delta_report()
        self.assertEqual(
            (report["delta_of"], report["archive_vanished"], report["changes"]), (run.id, False, 6)
        )
        self.assertEqual(
            report["objects"]["subscribers"],
            {
                "new": 1,
                "changed": 2,
                "unchanged": 2,
                "quarantined": 0,
                "vanished": 1,
                "archived": 0,
                "fields_changed": 4,
            },
        )
        self.assertEqual(
            {
                k: report["objects"]["billing_accounts"][k]
                for k in ("new", "changed", "unchanged", "vanished")
            },
            {"new": 0, "changed": 1, "unchanged": 1, "vanished": 0},
        )
        for obj in ("billing_accounts", "subscribers"):
            self.assertTrue(self.phase(delta, obj).checksum_match, obj)
        self.assertEqual(delta.change_count, 6)
        with self.assertRaisesRegex(UserError, "not a delta pass"):
            run.get_delta_report()
        self.assertEqual(delta.action_view_changes()["domain"], [("run_id", "=", delta.id)])

    def test_vanished_records_are_archived_when_chosen_once_and_a_later_pass_follows_the_last_one(self):
        run = self.migrated_run()
        s3 = self.record("subscribers", "S000003")
        ba2 = self.record("billing_accounts", "BA002")
        subs = [subscriber(n) for n in (1, 2, 4, 5)]
        delta = self.delta_run(run, small_export(subs, accounts=accounts(BA002=None)), archive_vanished=True)
        delta.action_migrate(SUBSCRIBER_OBJECTS)
        self.assertFalse(s3.active)
        self.assertFalse(ba2.active)
        vanished = delta.change_ids.filtered(lambda c: c.kind == "vanished")
        self.assertEqual(
            sorted(
                (c.object, c.source_key, c.field_name, c.old_value, c.new_value, c.archived) for c in vanished
            ),
            [
                ("billing_accounts", "BA002", "active", "true", "false", True),
                ("subscribers", "S000003", "active", "true", "false", True),
            ],
        )
        self.assertEqual(self.changes(delta), {})
        self.assertEqual(delta.get_delta_report()["objects"]["subscribers"]["archived"], 1)

        # The same pass again: nothing written, nothing listed twice.
        delta.action_migrate(SUBSCRIBER_OBJECTS)
        self.assertEqual(len(delta.change_ids), 2)
        self.assertEqual(self.counts(delta, "subscribers")["unchanged"], 4)

        # A pass of the pass belongs to the first run; S3 comes back, changed.
        again = self.delta_run(delta, small_export([*subs, subscriber(3, city="Basel")], accounts=accounts()))
        self.assertEqual(again.delta_of_id, run)
        again.action_migrate(SUBSCRIBER_OBJECTS)
        self.assertEqual(
            again.change_ids.filtered(lambda c: c.kind == "vanished"), self.env["bss.import.change"]
        )
        self.assertEqual(self.changes(again), {("subscribers", "S000003", "city"): ("Zürich", "Basel")})
        self.assertEqual(self.record("subscribers", "S000003"), s3)
        self.assertEqual(s3.city, "Basel")
        self.assertEqual(run.delta_count, 2)

    def test_the_delta_pass_takes_the_mapping_of_the_previous_pass(self):
        files = small_export([subscriber(n) for n in range(1, 4)])
        run = self.profiled_run(files=files)
        email = run.mapping_line_ids.filtered(lambda ln: ln.table == "subscribers" and ln.header == "email")
        email.action = "skip"
        self.assertTrue(run.action_confirm_mapping())
        run.action_migrate(SUBSCRIBER_OBJECTS)
        delta = self.delta_run(run, files)
        line = delta.mapping_line_ids.filtered(lambda ln: ln.table == "subscribers" and ln.header == "email")
        self.assertEqual(line.action, "skip")
        delta.action_migrate(SUBSCRIBER_OBJECTS)
        self.assertEqual(self.counts(delta, "subscribers")["unchanged"], 3)
        self.assertFalse(delta.change_ids)

    def test_a_delta_pass_applies_to_a_migrated_run_of_its_company_only(self):
        files = small_export([subscriber(1)])
        confirmed = self.confirmed_run(files=files)
        with self.assertRaisesRegex(UserError, "is not migrated"):
            self.Run.create({"delta_of_id": confirmed.id})
        with self.assertRaisesRegex(UserError, "No import run"):
            self.Run.create({"delta_of_id": confirmed.id + 100000})
        confirmed.action_migrate(SUBSCRIBER_OBJECTS)
        other = self.env["bss.import.run"].with_user(self.operator_b)
        with self.assertRaises(AccessError):
            other.create({"delta_of_id": confirmed.id})
        with self.assertRaisesRegex(UserError, "must be a run of that company"):
            self.Run.with_user(self.manager).sudo().create(
                {"delta_of_id": confirmed.id, "company_id": self.company_b.id}
            )
        delta = self.Run.create({"delta_of_id": confirmed.id})
        with self.assertRaisesRegex(AccessError, "set when the pass is created"):
            delta.write({"delta_of_id": False})
        with self.assertRaisesRegex(AccessError, "Migration Operators"):
            confirmed.with_user(self.user_plain).action_new_delta_pass()
        action = confirmed.action_new_delta_pass()
        self.assertEqual(self.Run.browse(action["res_id"]).delta_of_id, confirmed)
