import csv
import io
from collections import defaultdict

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from ..services.migration import cohorts
from ..services.migration.context import MigrationContext
from ..services.migration.runner import PHASE_OF
from . import test_migrate_rollback
from .common import MigrationCase, read_csv

#: The objects a cohort splits, their file and key column.
SPLIT = {
    "billing_accounts": ("billing_accounts.csv", "account_number"),
    "subscribers": ("subscribers.csv", "subscriber_id"),
    "orders": ("orders.csv", "order_id"),
    "invoices": ("invoices.csv", "invoice_number"),
}


def half_up(share):
    """A share of accounts rounded as the database rounds it (half away from zero), at least one."""
    return max(1, int(share + 0.5))


def fingerprint(case):
    """Record counts and content checksums of what a migration touches (the rollback tests')."""
    return test_migrate_rollback.TestMigrateRollback.fingerprint(case)


@tagged("post_install", "-at_install")
class TestMigrateCohorts(MigrationCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cohort_folder = None

    def export(self):
        folder, _manifest = self.generate(subscribers=40, seed=17)
        rows = {obj: read_csv(folder / name) for obj, (name, _key) in SPLIT.items()}
        return folder, rows

    def keys_of(self, rows, accounts):
        """{object: keys} of the export's rows of the billing accounts ``accounts``."""
        out = {}
        for obj, (_name, key) in SPLIT.items():
            out[obj] = {r[key] for r in rows[obj] if r["account_number"] in accounts}
        return out

    def linked(self, run):
        """{object: keys} of the records the run (a cohort) created."""
        out = defaultdict(set)
        for link in self.env["bss.import.link"].sudo().search([("created_run_id", "=", run.id)]):
            out[link.object].add(link.source_key)
        return out

    def open_quarantine(self, run):
        return {
            (q.object, q.source_key)
            for q in self.env["bss.import.quarantine"]
            .sudo()
            .search([("run_id", "=", run.id), ("state", "=", "open")])
        }

    def assert_cohort_moved(self, cohort, expected):
        """The cohort created exactly the expected keys of each split object, but those it quarantined,
        and its phases read exactly its members' rows."""
        linked, held = self.linked(cohort), self.open_quarantine(cohort)
        for obj, keys in expected.items():
            self.assertEqual(linked[obj], {k for k in keys if (obj, k) not in held}, obj)
            phase = self.phase(cohort, obj)
            if keys:
                self.assertEqual(phase.source_rows, len(keys), obj)
                self.assertTrue(phase.balanced, (obj, phase.mismatch))

    def test_a_cohort_moves_its_billing_accounts_with_all_their_subscribers_orders_and_invoices(self):
        folder, rows = self.export()
        run = self.confirmed_run(folder=folder)
        accounts = sorted({r["account_number"] for r in rows["billing_accounts"]})
        chosen = accounts[:3]
        cohort = self.Run.browse(run.action_new_cohort("accounts", ", ".join(chosen), name="pilot"))
        self.assertEqual((cohort.cohort_of_id, cohort.cohort_name, cohort.state), (run, "pilot", "confirmed"))
        self.assertEqual(cohort.display_name, f"{run.name} / pilot")
        expected = self.keys_of(rows, set(chosen))
        self.assertEqual(cohort.cohort_accounts, 3)
        self.assertEqual(cohort.cohort_subscribers, len(expected["subscribers"]))

        result = cohort.action_migrate()
        cohort.invalidate_recordset()
        self.assertEqual(cohort.state, "migrated")
        self.assertTrue(cohort.date_migrated)
        self.assert_cohort_moved(cohort, expected)
        # The catalogue is read whole: every plan migrates with the first cohort.
        plans = {r["plan_code"] for r in read_csv(folder / "service_plans.csv")}
        self.assertEqual(self.linked(cohort)["service_plans"], plans)
        self.assertEqual(result["subscribers"]["source_rows"], len(expected["subscribers"]))
        # Nothing of the other accounts reached Odoo.
        others = self.keys_of(rows, set(accounts[3:]))
        for obj, keys in others.items():
            self.assertFalse({k for k in keys if self.link(obj, k)}, obj)

        # Who owns what: the cohort's customers are Odoo's from its migration date, the rest legacy.
        run.invalidate_recordset()
        self.assertEqual(run.legacy_accounts, len(accounts) - 3)
        self.assertEqual(run.legacy_subscribers, len(rows["subscribers"]) - len(expected["subscribers"]))
        Member = self.env["bss.import.cohort.member"].with_user(self.operator)
        legacy = Member.search(
            [("run_id", "=", run.id), ("owner", "=", "legacy"), ("object", "=", "billing_accounts")]
        )
        self.assertEqual(set(legacy.mapped("source_key")), set(accounts[3:]))
        owned = Member.search([("run_id", "=", run.id), ("owner", "=", "odoo")])
        self.assertEqual(owned.cohort_id, cohort)
        self.assertEqual(set(owned.mapped("owner_since")), {cohort.date_migrated})
        action = run.action_view_legacy_owned()
        self.assertEqual(Member.search_count(action["domain"]), run.legacy_accounts + run.legacy_subscribers)
        sub = next(iter(expected["subscribers"] - {k for _o, k in self.open_quarantine(cohort)}))
        for key, obj in ((chosen[0], "billing_accounts"), (sub, "subscribers")):
            partner = self.record(obj, key).with_user(self.operator)
            self.assertEqual(
                (partner.bss_import_run_id, partner.bss_import_cohort, partner.bss_import_since),
                (run, "pilot", cohort.date_migrated),
            )
        # A user without the migration groups reads the contact as before (the fields are not his).
        partner = self.record("billing_accounts", chosen[0]).with_user(self.user_plain)
        self.assertEqual(partner.read(["name"])[0]["name"], partner.sudo().name)
        with self.assertRaises(AccessError):
            partner.read(["bss_import_since"])

        # The report: per cohort and for the run overall.
        report = run.get_cohort_report()
        self.assertEqual([c["name"] for c in report["cohorts"]], ["pilot"])
        self.assertEqual(report["cohorts"][0]["members"]["billing_accounts"], 3)
        self.assertEqual(report["overall"]["subscribers"]["source_rows"], len(expected["subscribers"]))
        self.assertEqual(report["legacy_owned"]["billing_accounts"], len(accounts) - 3)

        # A run split into cohorts migrates only through them; its mapping is theirs.
        with self.assertRaisesRegex(UserError, "migrates in cohorts"):
            run.action_migrate()
        with self.assertRaisesRegex(UserError, "shared by its cohorts"):
            run.with_user(self.manager).action_reopen_mapping()

    def test_later_cohorts_take_only_what_earlier_ones_did_not_and_the_rest_takes_everything_left(self):
        folder, rows = self.export()
        run = self.confirmed_run(folder=folder)
        accounts = sorted({r["account_number"] for r in rows["billing_accounts"]})
        first = self.Run.browse(run.action_new_cohort("accounts", "\n".join(accounts[:2])))
        second = self.Run.browse(run.action_new_cohort("percent", "25", seed=7))
        self.assertEqual((first.cohort_name, second.cohort_name), ("C1", "C2"))
        members = self.env["bss.import.cohort.member"].sudo()
        taken = set(
            members.search([("cohort_id", "=", second.id), ("object", "=", "billing_accounts")]).mapped(
                "source_key"
            )
        )
        self.assertEqual(len(taken), half_up((len(accounts) - 2) * 25 / 100))
        self.assertFalse(taken & set(accounts[:2]))
        rest = self.Run.browse(run.action_new_cohort("rest"))
        for cohort in (first, second, rest):
            cohort.action_migrate()
        leftover = set(accounts) - set(accounts[:2]) - taken
        self.assert_cohort_moved(first, self.keys_of(rows, set(accounts[:2])))
        self.assert_cohort_moved(second, self.keys_of(rows, taken))
        self.assert_cohort_moved(rest, self.keys_of(rows, leftover))
        # Later cohorts find the catalogue migrated: unchanged.
        plans = self.phase(rest, "service_plans")
        self.assertEqual((plans.created, plans.unchanged), (0, plans.source_rows))

        report = run.get_cohort_report()
        for obj, (_name, _key) in SPLIT.items():
            self.assertEqual(report["overall"][obj]["source_rows"], len(rows[obj]), obj)
            self.assertTrue(report["overall"][obj]["balanced"], obj)
        self.assertEqual(report["legacy_owned"], {"billing_accounts": 0, "subscribers": 0})
        with self.assertRaisesRegex(UserError, "already in a cohort"):
            run.action_new_cohort("rest")

    def test_selection_by_region_service_type_plan_and_seeded_share(self):
        folder, rows = self.export()
        run = self.confirmed_run(folder=folder)
        ctx = MigrationContext(run)
        cohorts.list_members(ctx, PHASE_OF)

        def selected(kind, value, seed=0):
            ctx.env.cr.execute(cohorts.selected_accounts(ctx, PHASE_OF, kind, value, seed))
            return {row[0] for row in ctx.env.cr.fetchall()}

        city = rows["billing_accounts"][0]["city"]
        self.assertEqual(
            selected("region", f" City = {city.upper()} "),
            {r["account_number"] for r in rows["billing_accounts"] if r["city"].lower() == city.lower()},
        )
        prefix = rows["billing_accounts"][0]["zip"][:2]
        self.assertEqual(
            selected("region", f"zip={prefix}*"),
            {r["account_number"] for r in rows["billing_accounts"] if r["zip"].startswith(prefix)},
        )
        kind = rows["subscribers"][0]["service_type"]
        self.assertEqual(
            selected("service_type", kind),
            {r["account_number"] for r in rows["subscribers"] if r["service_type"] == kind},
        )
        plan = rows["subscribers"][-1]["plan_code"]
        self.assertEqual(
            selected("plan", plan),
            {r["account_number"] for r in rows["subscribers"] if r["plan_code"] == plan},
        )
        share = selected("percent", "30", seed=3)
        self.assertEqual(share, selected("percent", "30", seed=3))
        self.assertNotEqual(share, selected("percent", "30", seed=4))
        self.assertEqual(len(share), half_up(len(rows["billing_accounts"]) * 30 / 100))

    def test_a_cohort_that_cannot_be_read_or_selects_nothing_is_refused_and_nothing_is_kept(self):
        folder, rows = self.export()
        run = self.confirmed_run(folder=folder)
        account = rows["billing_accounts"][0]["account_number"]
        cases = [
            (("accounts", f"{account}, NOPE-1"), "not in the export.*NOPE-1"),
            (("region", "planet=Mars"), "no column 'planet'"),
            (("region", "Springfield"), "COLUMN=VALUE"),
            (("service_type", "teleportation"), "selects no billing account"),
            (("percent", "0"), "between 0 and 100"),
            (("percent", "many"), "between 0 and 100"),
            (("galaxy", "x"), "Unknown cohort kind"),
        ]
        for args, message in cases:
            with self.subTest(args=args), self.assertRaisesRegex(UserError, message):
                run.action_new_cohort(*args)
        self.assertFalse(run.with_context(active_test=False).cohort_ids)
        self.assertFalse(
            self.env["bss.import.cohort.member"].sudo().search_count([("cohort_id", "!=", False)])
        )
        with self.assertRaises(AccessError):
            run.with_user(self.user_plain).action_new_cohort("rest")
        cohort = self.Run.browse(run.action_new_cohort("accounts", account, name="one"))
        with self.assertRaisesRegex(UserError, "already has a cohort named one"):
            run.action_new_cohort("rest", name="one")
        with self.assertRaisesRegex(UserError, "cohorts are created on the first run"):
            cohort.action_new_cohort("rest")
        with self.assertRaisesRegex(UserError, "has no migrated cohort"):
            self.Run.create({"delta_of_id": run.id})
        with self.assertRaises(AccessError):
            cohort.write({"cohort_value": "everything"})
        with self.assertRaises(AccessError):
            self.Run.create({"cohort_of_id": run.id, "cohort_kind": "rest"})
        unconfirmed = self.profiled_run(folder=folder)
        with self.assertRaisesRegex(UserError, "cohorts split a run whose mapping is confirmed"):
            unconfirmed.action_new_cohort("rest")

    def test_rolling_back_a_cohort_restores_the_state_before_it_and_frees_its_customers(self):
        folder, rows = self.export()
        run = self.confirmed_run(folder=folder)
        accounts = sorted({r["account_number"] for r in rows["billing_accounts"]})
        before = fingerprint(self)
        first = self.Run.browse(run.action_new_cohort("accounts", ",".join(accounts[:4])))
        first.action_migrate()
        after_first = fingerprint(self)
        second = self.Run.browse(run.action_new_cohort("accounts", ",".join(accounts[4:9])))
        second.action_migrate()
        self.assertNotEqual(fingerprint(self), after_first)

        with self.assertRaises(AccessError):
            second.action_rollback()
        report = second.with_user(self.manager).action_rollback()
        self.assertEqual(report["passes"], second.ids)
        self.assertEqual(fingerprint(self), after_first)
        second.invalidate_recordset()
        self.assertEqual(second.state, "rolled_back")
        # Its customers are the legacy system's again; a later cohort may take them.
        run.invalidate_recordset()
        self.assertEqual(run.legacy_accounts, len(accounts) - 4)
        third = self.Run.browse(run.action_new_cohort("accounts", accounts[5]))
        self.assertEqual(third.cohort_accounts, 1)
        self.assertEqual(second.with_user(self.manager).action_rollback()["state"], "rolled_back")

        # The whole run: every live cohort, then the catalogue the first one created.
        run.with_user(self.manager).action_rollback()
        self.assertEqual(fingerprint(self), before)
        run.invalidate_recordset()
        self.assertEqual((run.state, set(run.cohort_ids.mapped("state"))), ("rolled_back", {"rolled_back"}))
        self.assertFalse(
            self.env["bss.import.link"].sudo().search_count([("created_run_id", "in", run.cohort_ids.ids)])
        )

    def later_export(self, folder, edit):
        """The export's files, subscribers.csv rewritten by ``edit(rows) -> rows``."""
        files = {p.name: p.read_bytes() for p in folder.iterdir() if p.suffix == ".csv"}
        rows = read_csv(folder / "subscribers.csv")
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(edit(rows))
        files["subscribers.csv"] = out.getvalue().encode()
        return files

    def test_a_delta_pass_of_a_run_in_cohorts_updates_only_what_its_migrated_cohorts_moved(self):
        folder, rows = self.export()
        run = self.confirmed_run(folder=folder)
        before = fingerprint(self)
        accounts = sorted({r["account_number"] for r in rows["billing_accounts"]})
        pilot = accounts[:3]
        cohort = self.Run.browse(run.action_new_cohort("accounts", ",".join(pilot)))
        cohort.action_migrate()
        held = {k for _o, k in self.open_quarantine(cohort)}
        moved = [
            r for r in rows["subscribers"] if r["account_number"] in pilot and r["subscriber_id"] not in held
        ]
        legacy = next(r for r in rows["subscribers"] if r["account_number"] == accounts[-1])
        changed, gone = moved[0], moved[1]
        new = {**changed, "subscriber_id": "S900000001", "imsi": "", "iccid": ""}
        new["msisdn"] = changed["msisdn"][:-4] + "9999"

        def edit(subscribers):
            out = []
            for r in subscribers:
                if r["subscriber_id"] == gone["subscriber_id"]:
                    continue
                if r["subscriber_id"] in (changed["subscriber_id"], legacy["subscriber_id"]):
                    r = {**r, "city": "Deltaville"}
                out.append(r)
            return [*out, new]

        # A pass of the run, or of its cohort: the same run's pass, with the run's mapping.
        delta = self.delta_run(cohort, self.later_export(folder, edit))
        self.assertEqual(delta.delta_of_id, run)
        delta.action_migrate()
        delta.invalidate_recordset()
        self.assertEqual(delta.state, "migrated")
        changes = {(c.object, c.kind, c.source_key, c.field_name or "") for c in delta.change_ids}
        self.assertIn(("subscribers", "changed", changed["subscriber_id"], "city"), changes)
        self.assertIn(("subscribers", "vanished", gone["subscriber_id"], ""), changes)
        # The legacy system's customers are not the pass's: not created, not listed.
        self.assertFalse([c for c in changes if c[2] in (legacy["subscriber_id"], legacy["account_number"])])
        self.assertFalse(self.link("subscribers", legacy["subscriber_id"]))
        self.assertEqual(self.link("subscribers", new["subscriber_id"]).created_run_id, delta)
        report = delta.get_delta_report()["objects"]["subscribers"]
        self.assertEqual((report["new"], report["changed"], report["vanished"]), (1, 1, 1))
        self.assertEqual(self.record("subscribers", changed["subscriber_id"]).city, "Deltaville")

        # The run's rollback undoes the pass, then the cohort, then the catalogue.
        run.with_user(self.manager).action_rollback()
        self.assertEqual(fingerprint(self), before)
        self.assertEqual(set((run | run.cohort_ids | run.delta_ids).mapped("state")), {"rolled_back"})

    def test_a_new_run_of_the_same_source_leaves_customers_another_run_migrated_to_odoo(self):
        folder, rows = self.export()
        first = self.confirmed_run(folder=folder)
        accounts = sorted({r["account_number"] for r in rows["billing_accounts"]})
        pilot = self.Run.browse(first.action_new_cohort("accounts", ",".join(accounts[:2])))
        pilot.action_migrate()
        second = self.confirmed_run(folder=folder)
        with self.assertRaisesRegex(UserError, "already in a cohort.*" + accounts[0]):
            second.action_new_cohort("accounts", accounts[0])
        rest = self.Run.browse(second.action_new_cohort("rest"))
        self.assertEqual(rest.cohort_accounts, len(accounts) - 2)
        Member = self.env["bss.import.cohort.member"].sudo()
        owned = Member.search(
            [("run_id", "=", second.id), ("object", "=", "billing_accounts"), ("owner", "=", "odoo")]
        )
        self.assertEqual(set(owned.mapped("source_key")), set(accounts[:2]))
        self.assertEqual(owned.cohort_id, pilot)
        rest.action_migrate()
        self.assertEqual(
            self.linked(rest)["billing_accounts"],
            set(accounts[2:]) - {k for _o, k in self.open_quarantine(rest)},
        )
        self.assertEqual(self.phase(rest, "billing_accounts").source_rows, len(accounts) - 2)

    def test_the_customer_history_moves_with_its_lines_and_accounts(self):
        """A cohort takes the held numbers, ports, interactions and documents of its lines (else of its
        accounts); the spare numbers go with the first cohort; the rest takes everything left, and
        nothing waits in quarantine for a line another cohort moves."""
        folder, _manifest = self.generate("--customer-history", subscribers=40, seed=17)
        rows = {obj: read_csv(folder / name) for obj, (name, _key) in SPLIT.items()}
        history = {obj: read_csv(folder / f"{obj}.csv") for obj in cohorts.HISTORY_FILTER}
        run = self.confirmed_run(folder=folder)
        accounts = sorted({r["account_number"] for r in rows["billing_accounts"]})
        chosen = set(accounts[:3])
        lines = self.keys_of(rows, chosen)["subscribers"]
        key_of = {
            "numbers": "msisdn",
            "number_ports": "port_id",
            "interactions": "interaction_id",
            "documents": "document_id",
        }

        def expected(pick):
            return {obj: {r[key_of[obj]] for r in source if pick(r)} for obj, source in history.items()}

        def of_pilot(row):
            if row.get("subscriber_id"):
                return row["subscriber_id"] in lines
            if "account_number" in row:
                return row["account_number"] in chosen
            return True  # a spare number, a port of no line: with the first cohort

        pilot = self.Run.browse(run.action_new_cohort("accounts", ",".join(sorted(chosen)), name="pilot"))
        pilot.action_migrate()
        rest = self.Run.browse(run.action_new_cohort("rest"))
        rest.action_migrate()
        for cohort, pick in ((pilot, of_pilot), (rest, lambda row: not of_pilot(row))):
            linked = self.linked(cohort)
            for obj, keys in expected(pick).items():
                self.assertEqual(linked[obj], keys, (cohort.cohort_name, obj))
            self.assertFalse(
                {q for q in self.open_quarantine(cohort) if q[0] in cohorts.HISTORY_FILTER},
                cohort.cohort_name,
            )
        # The spare numbers were read by the rest too: found migrated, unchanged.
        spare = sum(1 for r in history["numbers"] if not r["subscriber_id"])
        self.assertEqual(self.phase(rest, "numbers").unchanged, spare)
