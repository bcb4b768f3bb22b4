import csv
import json
from collections import Counter

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged

from .common import MigrationCase, read_csv
from .test_migrate_phases import _count, _keys

#: The phases up to the subscribers: what the resolution rules of this file act on.
OBJECTS = ["custom_fields", "service_plans", "product_catalog", "billing_accounts", "subscribers"]
SUBSCRIBER_NEVER_ENRICH = {"subscriber_id", "account_number", "msisdn", "status"}
ACCOUNT_NEVER_ENRICH = {"account_number", "account_name", "status"}
DEFECT_KINDS = ("orphans", "missing_mandatory", "invalid_msisdn", "invalid_imsi", "invalid_iccid")


def _items(manifest, kind, obj):
    return manifest["defects"][kind]["objects"].get(obj, {}).get("items", [])


def _write_csv(path, rows):
    """Write rows back with the generator's header and line ends."""
    with open(path, newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, header, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)


@tagged("post_install", "-at_install")
class TestMigrateResolution(MigrationCase):
    def defect_keys(self, manifest):
        keys = set()
        for kind in manifest["defects"]:
            for obj in manifest["defects"][kind]["objects"]:
                keys |= {i["key"] for i in _items(manifest, kind, obj)}
        return keys

    def clean_keys(self, manifest, subs, bad_accounts, n):
        """``n`` subscriber keys no defect touches (one row each, account migrated, a birth date)."""
        defects = self.defect_keys(manifest)
        seen = Counter(r["subscriber_id"] for r in subs)
        return [
            r["subscriber_id"]
            for r in subs
            if r["subscriber_id"] not in defects
            and seen[r["subscriber_id"]] == 1
            and r["account_number"] not in bad_accounts
            and r["account_number"] not in defects
            and r["birth_date"]
        ][:n]

    def migrate(self, run):
        run.action_migrate(OBJECTS)
        problems = [(p.object, p.state, p.mismatch, p.error_message) for p in run.phase_ids]
        for phase in run.phase_ids:
            self.assertEqual((phase.state, phase.mismatch, phase.balanced), ("done", False, True), problems)

    # ------------------------------------------------------------------ defaults, enrichment, merge
    def test_defaults_enrichment_opt_in_and_pending_merge_with_exact_counts(self):
        defects = (
            "duplicate_rows=6,orphans=3,missing_mandatory=12,inconsistent_state=2,unknown_legacy_code=2,"
            "invalid_msisdn=2,invalid_imsi=1,invalid_iccid=1"
        )
        folder, manifest = self.generate("--defects", defects, subscribers=200, seed=21)
        subs = read_csv(folder / "subscribers.csv")
        accounts = read_csv(folder / "billing_accounts.csv")
        missing_accounts = {
            i["key"]: i["column"] for i in _items(manifest, "missing_mandatory", "billing_accounts")
        }
        missing_subs = {i["key"]: i["column"] for i in _items(manifest, "missing_mandatory", "subscribers")}
        # The generator empties these columns in rotation: every rule below is exercised.
        self.assertEqual(sorted(missing_accounts.values()), ["account_name", "bill_cycle_day", "currency"])
        self.assertEqual(sorted(missing_subs.values()), ["activation_date", "last_name", "msisdn"])
        bad_accounts = {k for k, c in missing_accounts.items() if c in ACCOUNT_NEVER_ENRICH}

        # Two persons entered twice (same name, address and birth date, spelled differently),
        # and a country left empty on two accounts and one line.
        a, b, lone = self.clean_keys(manifest, subs, bad_accounts | set(missing_accounts), 3)
        row_a = next(r for r in subs if r["subscriber_id"] == a)
        for row in subs:
            if row["subscriber_id"] == b:
                row.update(
                    first_name=row_a["first_name"].upper(),
                    last_name=row_a["last_name"],
                    street=row_a["street"].lower(),
                    city=row_a["city"],
                    zip=row_a["zip"],
                    birth_date=row_a["birth_date"],
                )
            if row["subscriber_id"] == lone:
                row["country"] = ""
        defects_all = self.defect_keys(manifest)
        blank_accounts = [
            r["account_number"]
            for r in accounts
            if r["account_number"] not in defects_all
            and r["account_number"] not in {x["account_number"] for x in subs if x["subscriber_id"] in (a, b)}
        ][:2]
        for row in accounts:
            if row["account_number"] in blank_accounts:
                row["country"] = ""
        _write_csv(folder / "subscribers.csv", subs)
        _write_csv(folder / "billing_accounts.csv", accounts)

        # The home country is the default of a new run; the operator sets the other defaults and opts in.
        swiss = self.env.ref("base.ch")
        self.company.country_id = swiss
        run = self.confirmed_run(folder=folder)
        self.assertEqual(run.default_country_id, swiss)
        run.write(
            {
                "default_currency_id": self.env.ref("base.GBP").id,
                "default_bill_cycle_day": 15,
                "migrate_unenriched": True,
            }
        )
        self.migrate(run)

        # Billing accounts: the currency and bill cycle day get their defaults, the nameless one waits.
        ba_dups = _count(manifest, "duplicate_rows", "billing_accounts")
        self.assertEqual(
            self.counts(run, "billing_accounts"),
            {
                "source_rows": len(accounts),
                "duplicates_collapsed": ba_dups,
                "quarantined": 1,
                "created": len(accounts) - ba_dups - 1,
                "updated": 0,
                "unchanged": 0,
                "flagged": 0,
            },
        )
        cycle = next(k for k, c in missing_accounts.items() if c == "bill_cycle_day")
        self.assertEqual(self.record("billing_accounts", cycle).x_bill_cycle_day, 15)
        self.assertFalse(self.link("billing_accounts", cycle).flag)
        currency = next(k for k, c in missing_accounts.items() if c == "currency")
        self.assertTrue(self.link("billing_accounts", currency))
        nameless = run.quarantine_ids.filtered(lambda q: q.source_key in bad_accounts)
        self.assertEqual(
            nameless.mapped("reasons"),
            [
                "missing mandatory value: account_name "
                "(enrichment queue; account_name is never migrated empty)"
            ],
        )
        for key in blank_accounts:
            self.assertEqual(self.record("billing_accounts", key).country_id, swiss)
        self.assertEqual(self.record("subscribers", lone).country_id, swiss)
        self.assertEqual(self.record("subscribers", a).country_id.code, row_a["country"])

        # Subscribers: the line without a number waits; the two others are migrated flagged.
        bad = set().union(
            *(_keys(manifest, k, "subscribers") for k in DEFECT_KINDS if k != "missing_mandatory")
        )
        bad |= {k for k, c in missing_subs.items() if c in SUBSCRIBER_NEVER_ENRICH}
        enriched = {k for k, c in missing_subs.items() if c not in SUBSCRIBER_NEVER_ENRICH}
        flagged_keys = (
            _keys(manifest, "inconsistent_state", "subscribers")
            | _keys(manifest, "unknown_legacy_code", "subscribers")
            | enriched
            | {a, b}
        )
        distinct = {}
        for row in subs:
            distinct.setdefault(row["subscriber_id"], row)
        quarantined = {k for k, r in distinct.items() if k in bad or r["account_number"] in bad_accounts}
        flagged = {k for k in distinct if k in flagged_keys and k not in quarantined}
        self.assertEqual(len(flagged), 2 + 2 + 2 + 2)
        dups = _count(manifest, "duplicate_rows", "subscribers")
        self.assertEqual(
            self.counts(run, "subscribers"),
            {
                "source_rows": len(subs),
                "duplicates_collapsed": dups,
                "quarantined": len(quarantined),
                "created": len(distinct) - len(quarantined),
                "updated": 0,
                "unchanged": 0,
                "flagged": len(flagged),
            },
        )
        for key, column in missing_subs.items():
            if column in SUBSCRIBER_NEVER_ENRICH:
                self.assertEqual(
                    run.quarantine_ids.filtered(lambda q, k=key: q.source_key == k).reasons,
                    f"missing mandatory value: {column} (enrichment queue; {column} is never migrated empty)",
                )
                self.assertFalse(self.link("subscribers", key))
            else:
                self.assertEqual(
                    self.link("subscribers", key).flag, f"requires enrichment: {column} (no default)"
                )
        last = next(k for k, c in missing_subs.items() if c == "last_name")
        self.assertEqual(self.record("subscribers", last).name, distinct[last]["first_name"])

        # Probable duplicates: flagged pending merge, listed, never merged.
        self.assertEqual(
            self.link("subscribers", a).flag,
            f"pending merge: probable duplicate person of {b} (same name, address, birth date)",
        )
        self.assertEqual(
            self.link("subscribers", b).flag,
            f"pending merge: probable duplicate person of {a} (same name, address, birth date)",
        )
        person_a, person_b = self.record("subscribers", a), self.record("subscribers", b)
        self.assertNotEqual(person_a, person_b)
        self.assertTrue(person_a.active and person_b.active)
        self.assertEqual(run.pending_merge_count, 2)
        listed = self.env["bss.import.link"].sudo().search(run.action_view_pending_merge()["domain"])
        self.assertEqual(sorted(listed.mapped("source_key")), sorted([a, b]))

        # The same run again changes nothing; without the opt-in, a new run sends the two lines back
        # to the enrichment queue (their records stay as migrated).
        run.action_migrate(OBJECTS)
        self.assertEqual(self.counts(run, "subscribers")["unchanged"], len(distinct) - len(quarantined))
        again = self.confirmed_run(folder=folder)
        again.write({"default_currency_id": self.env.ref("base.GBP").id, "default_bill_cycle_day": 15})
        self.migrate(again)
        self.assertEqual(again.pending_merge_count, 2)
        counts = self.counts(again, "subscribers")
        self.assertEqual(
            (counts["quarantined"], counts["created"], counts["updated"]),
            (len(quarantined) + len(enriched), 0, 0),
        )
        self.assertEqual(
            sorted(again.quarantine_ids.filtered(lambda q: q.source_key in enriched).mapped("reasons")),
            sorted(f"missing mandatory value: {missing_subs[k]} (enrichment queue)" for k in enriched),
        )

    # ------------------------------------------------------------------ legacy-code table
    def test_legacy_code_table_prefilled_then_mapped_codes_resolve_on_the_next_pass(self):
        folder, manifest = self.generate(
            "--defects", "duplicate_rows=2,unknown_legacy_code=4,invalid_msisdn=1", subscribers=120, seed=8
        )
        subs = read_csv(folder / "subscribers.csv")
        unknown = {
            r["subscriber_id"]: r["plan_code"]
            for r in subs
            if r["subscriber_id"] in _keys(manifest, "unknown_legacy_code", "subscribers")
        }
        self.assertEqual(len(set(unknown.values())), 4)

        # Confirming the mapping lists the codes no plan has, with their rows.
        run = self.confirmed_run(folder=folder)
        self.assertEqual(
            sorted(
                (c.source_table, c.source_column, c.code, c.row_count, c.is_mapped)
                for c in run.legacy_code_ids
            ),
            sorted(("subscribers", "plan_code", code, 1, False) for code in unknown.values()),
        )
        self.assertEqual(run.legacy_code_unmapped, 4)

        self.migrate(run)
        distinct = {r["subscriber_id"] for r in subs}
        first = self.counts(run, "subscribers")
        self.assertEqual(
            first,
            {
                "source_rows": len(subs),
                "duplicates_collapsed": _count(manifest, "duplicate_rows", "subscribers"),
                "quarantined": 1,
                "created": len(distinct) - 1,
                "updated": 0,
                "unchanged": 0,
                "flagged": 4,
            },
        )
        for key in unknown:
            self.assertFalse(self.record("subscribers", key).x_plan_id)

        # The operator picks the targets; a target that cannot be is refused, naming the code.
        plan = self.record("service_plans", "PRE_S").product_variant_id
        codes = run.legacy_code_ids.with_user(self.operator)
        not_a_plan = self.record(
            "product_catalog", read_csv(folder / "product_catalog.csv")[0]["product_code"]
        )
        code = codes[0].code
        with self.assertRaisesRegex(ValidationError, f"{code!r} of subscribers.plan_code: .* service plan"):
            codes[0].write({"target_ref": f"product.product,{not_a_plan.product_variant_id.id}"})
        with self.assertRaises(AccessError):
            codes[0].write({"row_count": 7})
        codes.write({"target_ref": f"product.product,{plan.id}"})
        self.assertEqual(run.legacy_code_unmapped, 0)
        # Finding the codes again keeps the operator's targets.
        self.assertEqual(run.action_find_unknown_codes(), 4)
        self.assertEqual(len(run.legacy_code_ids), 4)
        self.assertTrue(all(run.legacy_code_ids.mapped("is_mapped")))

        # The next pass links the plan; the lines are no longer flagged for re-association.
        self.migrate(run)
        self.assertEqual(
            self.counts(run, "subscribers"),
            {**first, "created": 0, "updated": 4, "unchanged": first["created"] - 4, "flagged": 0},
        )
        for key in unknown:
            line = self.record("subscribers", key)
            self.assertEqual((line.x_plan_id, line.x_plan_code), (plan, "PRE_S"))
            self.assertFalse(self.link("subscribers", key).flag)

        # A status code no dictionary knows (typed in while correcting a quarantined row) resolves
        # through a line the operator adds to the table.
        row = run.quarantine_ids.with_user(self.operator)
        self.assertEqual(len(row), 1)
        values = json.loads(row.values_json)
        row.values_json = json.dumps({**values, "msisdn": "+447009912345", "status": "DORMANT"})
        self.assertEqual(row.action_retry(), 0)
        self.assertEqual(
            row.reasons, "status: unknown code 'DORMANT' (map it in the run's legacy-code table)"
        )
        Code = self.env["bss.import.legacy.code"].with_user(self.operator)
        status = {
            "run_id": run.id,
            "source_table": "subscribers",
            "source_column": "status",
            "code": "DORMANT",
        }
        with self.assertRaisesRegex(
            ValidationError, "'DORMANT' of subscribers.status: 'dormant' is not one of"
        ):
            Code.create({**status, "target_value": "dormant"})
        with self.assertRaisesRegex(ValidationError, "looks up no code in this column"):
            Code.create({**status, "source_column": "city", "target_value": "terminated"})
        Code.create({**status, "target_value": "terminated", "note": "dormant lines"})
        self.assertEqual(row.action_retry(), 1)
        self.assertEqual(self.record("subscribers", row.source_key).x_subscriber_status, "terminated")

    # ------------------------------------------------------------------ state conflicts, totals, sample
    def test_state_conflict_report_and_subscriber_control_totals(self):
        folder, manifest = self.generate(
            "--defects", "duplicate_rows=4,inconsistent_state=4,invalid_msisdn=2", subscribers=200, seed=21
        )
        subs = read_csv(folder / "subscribers.csv")
        accounts = {r["account_number"]: r for r in read_csv(folder / "billing_accounts.csv")}
        conflicting = _keys(manifest, "inconsistent_state", "subscribers")
        self.assertEqual(len(conflicting), 4)
        run = self.confirmed_run(folder=folder)
        run.status_policy = "account"
        self.migrate(run)

        self.assertEqual(run.state_conflict_count, 4)
        by_key = {r["subscriber_id"]: r for r in subs}
        verdict = {"suspended": "suspended", "closed": "terminated"}
        self.assertEqual(
            sorted(
                (
                    c.object,
                    c.source_key,
                    c.account_key,
                    c.subscriber_status,
                    c.account_status,
                    c.rule,
                    c.result_status,
                )
                for c in run.state_conflict_ids
            ),
            sorted(
                (
                    "subscribers",
                    key,
                    by_key[key]["account_number"],
                    "active",
                    accounts[by_key[key]["account_number"]]["status"],
                    "system of record: billing account",
                    verdict[accounts[by_key[key]["account_number"]]["status"]],
                )
                for key in conflicting
            ),
        )
        for conflict in run.state_conflict_ids:
            self.assertEqual(conflict.partner_id, self.record("subscribers", conflict.source_key))
            self.assertEqual(conflict.partner_id.sudo().x_subscriber_status, conflict.result_status)
            self.assertTrue(conflict.changed)

        # Control totals: by status (the source's, after the policy) and by service type, from the CSV.
        invalid = _keys(manifest, "invalid_msisdn", "subscribers")
        clean = {k: r for k, r in by_key.items() if k not in invalid}
        statuses = Counter(
            verdict[accounts[r["account_number"]]["status"]] if k in conflicting else r["status"]
            for k, r in clean.items()
        )
        types = Counter(r["service_type"] for r in clean.values())
        totals = {t.name: (t.source, t.odoo, t.match) for t in self.phase(run, "subscribers").total_ids}
        expected = {"subscribers: records (source rows minus quarantined and collapsed)": len(clean)}
        expected.update(
            {
                f"subscribers: records with status (source after the status policy) {s}": n
                for s, n in statuses.items()
            }
        )
        expected.update({f"subscribers: records with service_type {t}": n for t, n in types.items()})
        self.assertEqual(totals, {name: (str(n), str(n), True) for name, n in expected.items()})

        # The side-by-side sample: 25 keys, seeded with the run, every field equal.
        phase = self.phase(run, "subscribers")
        keys = sorted(set(phase.sample_ids.mapped("source_key")))
        self.assertEqual(len(keys), 25)
        self.assertTrue(set(keys) <= set(clean))
        self.assertFalse(phase.sample_ids.filtered("differs"))
        self.assertIn("x_subscriber_status", phase.sample_ids.mapped("field_name"))

        # Conservative policy on the next pass: the lines keep their service, the report says so.
        run.status_policy = "conservative"
        self.migrate(run)
        self.assertEqual(self.counts(run, "subscribers")["updated"], 4)
        self.assertEqual(run.state_conflict_count, 4)
        self.assertEqual(set(run.state_conflict_ids.mapped("result_status")), {"active"})
        self.assertFalse(any(run.state_conflict_ids.mapped("changed")))
        self.assertEqual(
            set(run.state_conflict_ids.mapped("rule")),
            {"conservative: keep the paying line in service (review the account)"},
        )
        self.assertEqual(
            set(run.state_conflict_ids.partner_id.sudo().mapped("x_subscriber_status")), {"active"}
        )

        # A line's state changed in Odoo after the migration shows as a control-total mismatch.
        key = next(k for k in clean if k not in conflicting and clean[k]["status"] == "active")
        self.record("subscribers", key).sudo().x_subscriber_status = "barred"
        run.action_migrate(["subscribers"])
        totals = {t.name: (t.source, t.odoo, t.match) for t in self.phase(run, "subscribers").total_ids}
        active = statuses["active"] + 4
        self.assertEqual(
            totals["subscribers: records with status (source after the status policy) active"],
            (str(active), str(active - 1), False),
        )
