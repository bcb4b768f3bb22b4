import json

from odoo.tests import tagged

from .common import SUBSCRIBER_HEADER, MigrationCase, csv_bytes, subscriber

PLAN_HEADER = [
    "plan_code",
    "plan_name",
    "service_type",
    "price",
    "currency",
    "validity_days",
    "data_mb",
    "data_unlimited",
    "active",
]
ACCOUNT_HEADER = [
    "account_number",
    "account_name",
    "status",
    "bill_cycle_day",
    "currency",
    "ar_balance",
    "country",
    "email",
    "street",
    "city",
    "zip",
]


#: The billing accounts of :func:`small_export` (columns of ACCOUNT_HEADER).
ACCOUNT_ROWS = [
    [
        "BA001",
        "Acme Ltd",
        "open",
        "5",
        "GBP",
        "123.45",
        "GB",
        "ap@acme.example",
        "9 Quai",
        "Genève",
        "1201",
    ],
    [
        "BA002",
        "Closed Co",
        "closed",
        "12",
        "GBP",
        "0",
        "GB",
        "ap@closed.example",
        "1 Rue",
        "Bern",
        "3000",
    ],
]


def small_export(subscribers, accounts=None):
    plans = [
        ["PRE10", "Prepaid 10", "mobile_prepaid", "10.00", "GBP", "30", "1024", "N", "Y"],
        ["OLD5", "Old plan 5", "mobile_prepaid", "5.00", "GBP", "30", "", "Y", "N"],
    ]
    accounts = accounts or ACCOUNT_ROWS
    return {
        "service_plans.csv": csv_bytes([PLAN_HEADER, *plans]),
        "billing_accounts.csv": csv_bytes([ACCOUNT_HEADER, *accounts]),
        "subscribers.csv": csv_bytes(
            [[*SUBSCRIBER_HEADER, "email"]]
            + [[r.get(h, "") for h in (*SUBSCRIBER_HEADER, "email")] for r in subscribers]
        ),
    }


def default_subscribers():
    return [
        subscriber(1),
        subscriber(2, plan_code="OLD5"),
        subscriber(3, msisdn="+4477009O0003"),
        subscriber(4, account_number="BA999"),
        subscriber(5, plan_code="LEGACY9"),
    ]


@tagged("post_install", "-at_install")
class TestMigrateQuarantine(MigrationCase):
    def test_quarantine_fix_and_rerun_then_corrected_export_updates_only_what_changed(self):
        run = self.confirmed_run(files=small_export(default_subscribers()))
        run.action_migrate()
        self.assertEqual(
            self.counts(run, "subscribers"),
            {
                "source_rows": 5,
                "duplicates_collapsed": 0,
                "quarantined": 2,
                "created": 3,
                "updated": 0,
                "unchanged": 0,
                "flagged": 1,
            },
        )
        self.assertEqual(self.counts(run, "service_plans")["created"], 2)
        # A plan no longer sold is archived with its terms; its grandfathered subscriber points at it.
        old = self.record("service_plans", "OLD5")
        self.assertFalse(old.active)
        self.assertTrue(old.x_data_unlimited)
        self.assertEqual(old.x_validity_days, 30)
        self.assertEqual(self.record("subscribers", "S000002").x_plan_id.product_tmpl_id, old)
        self.assertEqual(self.record("billing_accounts", "BA001").x_legacy_ar_balance, 123.45)

        by_key = {q.source_key: q for q in run.quarantine_ids.with_user(self.operator)}
        self.assertEqual(set(by_key), {"S000003", "S000004"})
        self.assertIn("invalid MSISDN", by_key["S000003"].reasons)
        self.assertIn("orphan", by_key["S000004"].reasons)

        # Corrected in place: the row passes, is migrated and leaves the queue.
        values = by_key["S000003"]._values()
        values["msisdn"] = subscriber(3)["msisdn"]
        by_key["S000003"].values_json = json.dumps(values)
        # Still wrong (the account is still missing): it stays, with the new reason.
        values = by_key["S000004"]._values()
        values["city"] = "Basel"
        by_key["S000004"].values_json = json.dumps(values)
        self.assertEqual((by_key["S000003"] | by_key["S000004"]).action_retry(), 1)
        self.assertEqual(by_key["S000003"].state, "resolved")
        self.assertEqual(by_key["S000003"].resolved_by, self.operator)
        self.assertEqual(self.record("subscribers", "S000003").x_msisdn, subscriber(3)["msisdn"].lstrip("+"))
        self.assertEqual(by_key["S000004"].state, "open")
        self.assertIn("orphan", by_key["S000004"].reasons)
        counts = self.counts(run, "subscribers")
        self.assertEqual((counts["quarantined"], counts["created"]), (1, 4))
        self.assertTrue(self.phase(run, "subscribers").balanced)
        # A resolved row is migrated: it is not edited any more.
        with self.assertRaisesRegex(Exception, "resolved row"):
            by_key["S000003"].values_json = "{}"
        with self.assertRaisesRegex(Exception, "valid JSON"):
            by_key["S000004"].values_json = "{not json"

        # A corrected export, on a new run: only the changed field is written; the replaced value kept.
        first = self.record("subscribers", "S000001")
        stamp = self.record("subscribers", "S000002").write_date
        subs = default_subscribers()
        subs[0]["city"] = "Genève"
        subs[2]["msisdn"] = subscriber(3)["msisdn"]
        later = self.confirmed_run(files=small_export(subs))
        later.action_migrate()
        self.assertEqual(
            self.counts(later, "subscribers"),
            {
                "source_rows": 5,
                "duplicates_collapsed": 0,
                "quarantined": 1,
                "created": 0,
                "updated": 1,
                "unchanged": 3,
                "flagged": 1,
            },
        )
        link = self.link("subscribers", "S000001")
        self.assertEqual(self.record("subscribers", "S000001"), first)
        self.assertEqual(first.city, "Genève")
        self.assertEqual(json.loads(link.previous_values_json), {"city": "Zürich"})
        self.assertEqual((link.created_run_id, link.last_run_id), (run, later))
        self.assertEqual(self.record("subscribers", "S000002").write_date, stamp)
        self.assertTrue(self.phase(later, "subscribers").checksum_match)

    def test_a_refused_chunk_is_written_row_by_row(self):
        # Two lines with the same live MSISDN: the model refuses the second; the first is migrated.
        subs = [subscriber(1), subscriber(2, msisdn=subscriber(1)["msisdn"]), subscriber(3)]
        run = self.confirmed_run(files=small_export(subs))
        run.action_migrate(["custom_fields", "service_plans", "billing_accounts", "subscribers"])
        counts = self.counts(run, "subscribers")
        self.assertEqual((counts["created"], counts["quarantined"]), (2, 1))
        refused = run.quarantine_ids
        self.assertEqual(refused.source_key, "S000002")
        self.assertIn("MSISDN", refused.reasons)
        self.assertTrue(self.link("subscribers", "S000003"))

    def test_duplicates_collapse_and_conflicting_rows_are_quarantined(self):
        subs = [subscriber(1), subscriber(1), subscriber(2), subscriber(2, city="Bern")]
        run = self.confirmed_run(files=small_export(subs))
        run.action_migrate()
        self.assertEqual(
            self.counts(run, "subscribers"),
            {
                "source_rows": 4,
                "duplicates_collapsed": 1,
                "quarantined": 2,
                "created": 1,
                "updated": 0,
                "unchanged": 0,
                "flagged": 0,
            },
        )
        self.assertEqual(run.quarantine_ids.mapped("source_key"), ["S000002", "S000002"])
        self.assertIn("different values", run.quarantine_ids[0].reasons)

    def test_an_orphan_is_reparented_only_on_one_clear_secondary_key_match(self):
        subs = [
            subscriber(1),
            # Its account is not in the export, but its e-mail and service address are BA001's.
            subscriber(
                6, account_number="BA777", email="AP@acme.example", street="9 Quai", city="Genève", zip="1201"
            ),
            # The e-mail is BA002's, the address is not: not enough to re-parent it.
            subscriber(7, account_number="BA778", email="ap@closed.example", status="terminated"),
        ]
        run = self.confirmed_run(files=small_export(subs))
        run.action_migrate()
        counts = self.counts(run, "subscribers")
        self.assertEqual(
            (counts["created"], counts["quarantined"], counts["flagged"]),
            (2, 1, 1),
            run.quarantine_ids.mapped("reasons"),
        )
        self.assertEqual(
            self.record("subscribers", "S000006").parent_id, self.record("billing_accounts", "BA001")
        )
        self.assertIn("re-parented by secondary key", self.link("subscribers", "S000006").flag)
        refused = run.quarantine_ids
        self.assertEqual(refused.source_key, "S000007")
        self.assertIn("orphan", refused.reasons)
        self.assertIn("< 90%", refused.reasons)

    def test_status_conflicts_follow_the_runs_policy_and_are_flagged(self):
        subs = [subscriber(1, account_number="BA002", status="active")]
        run = self.confirmed_run(files=small_export(subs))
        self.assertEqual(run.status_policy, "conservative")
        run.action_migrate()
        self.assertEqual(self.record("subscribers", "S000001").x_subscriber_status, "active")
        self.assertIn("kept active (policy conservative)", self.link("subscribers", "S000001").flag)
        # The account as system of record: the same row, migrated again, terminates the line.
        run.status_policy = "account"
        run.action_migrate(["subscribers"])
        self.assertEqual(self.counts(run, "subscribers")["updated"], 1)
        self.assertEqual(self.record("subscribers", "S000001").x_subscriber_status, "terminated")
        link = self.link("subscribers", "S000001")
        self.assertIn("set to terminated (policy account)", link.flag)
        self.assertEqual(json.loads(link.previous_values_json), {"x_subscriber_status": "active"})

    def test_a_fixed_row_retried_settles_the_phase_again(self):
        """The reconciliation after a retry counts the corrected row: its totals, checksums and sample."""
        accounts = [
            [
                "BA001",
                "Acme Ltd",
                "open",
                "5",
                "GBP",
                "123.45",
                "GB",
                "ap@acme.example",
                "9 Quai",
                "Bern",
                "1201",
            ],
            ACCOUNT_ROWS[1],
            # No name: quarantined as missing a mandatory value.
            ["BA003", "", "open", "7", "GBP", "50.10", "GB", "ap@new.example", "2 Way", "Leeds", "LS1"],
        ]
        run = self.confirmed_run(files=small_export([subscriber(1)], accounts))
        run.action_migrate(["custom_fields", "service_plans", "billing_accounts"])
        phase = self.phase(run, "billing_accounts")
        before = {t.name: (t.source, t.odoo) for t in phase.total_ids}
        checksum = phase.source_checksum
        self.assertEqual(
            phase._counts(),
            {
                "source_rows": 3,
                "duplicates_collapsed": 0,
                "quarantined": 1,
                "created": 2,
                "updated": 0,
                "unchanged": 0,
                "flagged": 0,
            },
        )
        records = "billing accounts: records (source rows minus quarantined and collapsed)"
        self.assertEqual(before[records], ("2", "2"))
        self.assertEqual(before["open AR (x_legacy_ar_balance), all accounts"], ("123.45", "123.45"))
        self.assertEqual(before["billing accounts: records with status open"], ("1", "1"))
        self.assertEqual({s.source_key for s in phase.sample_ids}, {"BA001", "BA002"})

        row = run.quarantine_ids.with_user(self.operator)
        self.assertEqual(row.source_key, "BA003")
        self.assertIn("missing mandatory value: account_name", row.reasons)
        values = row._values()
        values["account_name"] = "New Ltd"
        row.values_json = json.dumps(values)
        self.assertEqual(row.action_retry(), 1)

        after = {t.name: (t.source, t.odoo) for t in phase.total_ids}
        # Exactly the fixed row's value more, on both sides; everything else as it was.
        self.assertEqual(after[records], ("3", "3"))
        self.assertEqual(after["open AR (x_legacy_ar_balance), all accounts"], ("173.55", "173.55"))
        self.assertEqual(after["billing accounts: records with status open"], ("2", "2"))
        self.assertEqual(after["billing accounts: records with status closed"], ("1", "1"))
        self.assertEqual(after["open AR, accounts whose balance differs"], ("0", "0"))
        self.assertEqual(set(after), set(before))
        self.assertTrue(all(t.match for t in phase.total_ids))
        self.assertEqual(
            phase._counts(),
            {
                "source_rows": 3,
                "duplicates_collapsed": 0,
                "quarantined": 0,
                "created": 3,
                "updated": 0,
                "unchanged": 0,
                "flagged": 0,
            },
        )
        self.assertTrue(phase.balanced)
        self.assertTrue(phase.checksum_match)
        self.assertNotEqual(phase.source_checksum, checksum)
        self.assertFalse(phase.mismatch)
        self.assertEqual(phase.state, "done")
        self.assertEqual({s.source_key for s in phase.sample_ids}, {"BA001", "BA002", "BA003"})
        name = phase.sample_ids.filtered(lambda s: s.source_key == "BA003" and s.field_name == "name")
        self.assertEqual((name.source_value, name.odoo_value, name.differs), ("New Ltd", "New Ltd", False))
        self.assertEqual(self.record("billing_accounts", "BA003").x_legacy_ar_balance, 50.10)
        # The same run's phase run again finds the row (now the staged one) unchanged.
        run.action_migrate(["billing_accounts"])
        self.assertEqual(
            (phase.created, phase.unchanged, phase.quarantined, phase.checksum_match), (0, 3, 0, True)
        )
