"""The owner mapping: legacy owners, agents and dealers proposed from the export, confirmed by the
operator with the column mapping, unmapped ones listed as a finding, and applied to the migrated
accounts and lines (salesperson, sales team)."""

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .common import ACCOUNT_HEADER, SUBSCRIBER_HEADER, MigrationCase, csv_bytes, subscriber

OWNER_HEADER = ["owner_id", "owner_type", "owner_name", "email"]


@tagged("post_install", "-at_install")
class TestOwnerMap(MigrationCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        companies = {"company_id": cls.company.id, "company_ids": [Command.set([cls.company.id])]}
        cls.alice = new_test_user(
            cls.env, "alice.agent", groups="base.group_user", email="alice@operator.example", **companies
        )
        cls.bob = new_test_user(
            cls.env, "bob.agent", groups="base.group_user", name="Bob Keeper", **companies
        )
        cls.north = cls.env["crm.team"].create({"name": "North Dealers", "company_id": cls.company.id})

    def files(self, owners=True):
        """Two accounts and four lines: owners matched by e-mail (AG1), by name (AG2), a dealer matched
        to a sales team (DL1), an owner nobody matches (AG9) and an id the owners table lacks (XX7)."""
        files = {
            "billing_accounts.csv": csv_bytes(
                [
                    [*ACCOUNT_HEADER, "bill_cycle_day", "currency", "owner_id"],
                    ["BA001", "Acme Ltd", "open", "", "1", "GBP", "AG1"],
                    ["BA002", "Beta Ltd", "open", "", "1", "GBP", "DL1"],
                ]
            ),
            "subscribers.csv": csv_bytes(
                [
                    [*SUBSCRIBER_HEADER, "owner_id"],
                    *(
                        [*subscriber(n, account_number=account).values(), owner]
                        for n, account, owner in (
                            (1, "BA001", "AG2"),
                            (2, "BA001", ""),
                            (3, "BA002", "AG9"),
                            (4, "BA002", "XX7"),
                        )
                    ),
                ]
            ),
        }
        if owners:
            files["owners.csv"] = csv_bytes(
                [
                    OWNER_HEADER,
                    ["AG1", "agent", "Alice Agent", "Alice@Operator.example"],
                    ["AG2", "user", "bob keeper", ""],
                    ["DL1", "dealer", "North Dealers", "north@dealers.example"],
                    ["AG9", "agent", "Nobody Known", "nobody@elsewhere.example"],
                ]
            )
        return files

    def lines(self, run):
        return {line.owner_key: line for line in run.owner_map_ids}

    def test_profiling_proposes_a_line_per_legacy_id_with_its_evidence(self):
        run = self.profiled_run(self.files())
        lines = self.lines(run)
        self.assertEqual(set(lines), {"AG1", "AG2", "DL1", "AG9", "XX7"})
        self.assertEqual((lines["AG1"].user_id, lines["AG1"].team_id), (self.alice, self.env["crm.team"]))
        self.assertIn("e-mail", lines["AG1"].proposal)
        self.assertEqual(lines["AG2"].user_id, self.bob)
        self.assertEqual((lines["DL1"].user_id.id, lines["DL1"].team_id), (False, self.north))
        self.assertFalse(lines["AG9"].is_mapped)
        self.assertEqual(lines["AG9"].owner_type, "agent")
        self.assertFalse(lines["XX7"].is_mapped)
        self.assertFalse(lines["XX7"].owner_type)
        self.assertIn("not in the owners table", lines["XX7"].proposal)
        # Rows that name each id: the accounts and lines of the export.
        self.assertEqual(
            {k: line.references for k, line in lines.items()},
            {"AG1": 1, "AG2": 1, "DL1": 1, "AG9": 1, "XX7": 1},
        )

    def test_an_export_without_owners_table_still_lists_the_ids_it_names(self):
        run = self.profiled_run(self.files(owners=False))
        self.assertEqual(set(self.lines(run)), {"AG1", "AG2", "DL1", "AG9", "XX7"})
        self.assertFalse(any(run.owner_map_ids.mapped("is_mapped")))

    def test_no_owner_column_no_owner_mapping(self):
        files = self.files(owners=False)
        files["billing_accounts.csv"] = csv_bytes(
            [[*ACCOUNT_HEADER, "bill_cycle_day", "currency"], ["BA001", "Acme Ltd", "open", "", "1", "GBP"]]
        )
        files["subscribers.csv"] = csv_bytes([SUBSCRIBER_HEADER, list(subscriber(1).values())])
        run = self.profiled_run(files)
        self.assertFalse(run.owner_map_ids)
        self.assertTrue(run.action_confirm_mapping())
        self.assertFalse(run.finding_ids.filtered(lambda f: f.kind == "unmapped_owner"))

    def test_the_operator_maps_an_owner_until_the_mapping_is_confirmed(self):
        run = self.profiled_run(self.files())
        line = self.lines(run)["AG9"].with_user(self.operator)
        line.write({"user_id": self.alice.id})
        self.assertTrue(line.is_mapped)
        with self.assertRaisesRegex(AccessError, "Only the Odoo user and the sales team"):
            line.write({"owner_key": "AG10"})
        with self.assertRaises(AccessError):
            line.with_user(self.user_plain).write({"user_id": self.bob.id})
        self.assertTrue(run.action_confirm_mapping())
        with self.assertRaisesRegex(UserError, "reopen the mapping"):
            line.write({"user_id": self.bob.id})
        self.assertEqual(line.user_id, self.alice)

    def test_confirming_lists_the_rows_of_unmapped_owners_as_a_finding(self):
        run = self.profiled_run(self.files())
        self.assertTrue(run.action_confirm_mapping())
        findings = run.finding_ids.filtered(lambda f: f.kind == "unmapped_owner")
        self.assertEqual(findings.mapped("table"), ["subscribers"])
        self.assertEqual(findings.count, 2)
        rows = findings.row_ids.sorted("key")
        self.assertEqual(rows.mapped("key"), ["S000003", "S000004"])
        self.assertEqual(rows.mapped("column_name"), ["owner_id", "owner_id"])
        self.assertEqual(rows.mapped("detail"), ["owner AG9 is not mapped", "owner XX7 is not mapped"])
        self.assertIn("2 rows name a legacy owner", run.message_ids[0].body)
        # Reopened, mapped, confirmed again: the finding is gone.
        run.with_user(self.manager).action_reopen_mapping()
        self.lines(run)["AG9"].with_user(self.operator).write({"team_id": self.north.id})
        self.lines(run)["XX7"].with_user(self.operator).write({"user_id": self.bob.id})
        self.assertTrue(run.action_confirm_mapping())
        self.assertFalse(run.finding_ids.filtered(lambda f: f.kind == "unmapped_owner"))

    def test_the_migration_gives_accounts_and_lines_their_salesperson_and_sales_team(self):
        run = self.confirmed_run(self.files())
        run.action_migrate()
        for obj in ("billing_accounts", "subscribers"):
            reasons = (
                self.env["bss.import.quarantine"].sudo().search([("run_id", "=", run.id)]).mapped("reasons")
            )
            self.assertEqual(self.counts(run, obj)["quarantined"], 0, reasons)
            self.assertFalse(self.phase(run, obj).mismatch, obj)
        acme, beta = self.record("billing_accounts", "BA001"), self.record("billing_accounts", "BA002")
        self.assertEqual((acme.user_id, acme.x_sales_team_id), (self.alice, self.env["crm.team"]))
        self.assertEqual((beta.user_id.id, beta.x_sales_team_id), (False, self.north))
        line1, line2, line3, line4 = (self.record("subscribers", f"S{n:06d}") for n in (1, 2, 3, 4))
        self.assertEqual(line1.user_id, self.bob)
        # No owner, or an unmapped one: Odoo's rule, the account's salesperson (none for Beta).
        self.assertEqual(line2.user_id, self.alice)
        self.assertFalse(line3.user_id)
        self.assertFalse(line4.user_id)
        self.assertFalse(line3.x_sales_team_id)

    def test_a_later_run_proposes_the_company_s_confirmed_decisions(self):
        first = self.profiled_run(self.files())
        self.lines(first)["AG9"].with_user(self.operator).write({"user_id": self.bob.id})
        self.assertTrue(first.action_confirm_mapping())
        second = self.profiled_run(self.files())
        line = self.lines(second)["AG9"]
        self.assertEqual(line.user_id, self.bob)
        self.assertIn("earlier run", line.proposal)
        # Another company's run does not see them, and its operator does not see this company's lines.
        other = self.profiled_run(self.files(), user=self.operator_b)
        self.assertFalse(self.lines(other)["AG9"].user_id)
        Map = self.env["bss.import.owner.map"]
        self.assertEqual(Map.with_user(self.operator_b).search([]), other.owner_map_ids)
        with self.assertRaises(AccessError):
            self.lines(second)["AG9"].with_user(self.operator_b).write({"user_id": False})

    def test_an_owner_mapping_file_is_applied_all_or_nothing(self):
        run = self.profiled_run(self.files())
        run = run.with_user(self.operator)
        self.assertEqual(
            run.action_set_owner_mapping(
                [(2, "ag9", "bob.agent", ""), (3, "XX7", "", "north dealers"), (4, "AG1", "alice.agent", "")],
                "owners.csv",
            ),
            2,
        )
        lines = self.lines(run)
        self.assertEqual((lines["AG9"].user_id, lines["XX7"].team_id), (self.bob, self.north))
        self.assertIn("2 line(s) set from owners.csv", run.message_ids[0].body)
        self.assertEqual(
            {row["legacy_id"]: (row["user"], row["team"], row["mapped"]) for row in run.get_owner_mapping()}[
                "XX7"
            ],
            ("", "North Dealers", True),
        )
        cases = [
            ((5, "NOPE", "bob.agent", ""), "owners.csv, row 5, field legacy_id: 'NOPE' is not an owner id"),
            ((6, "AG9", "nobody", ""), "owners.csv, row 6, field user: 'nobody' is no internal user"),
            ((7, "AG9", "", "South"), "owners.csv, row 7, field team: 'South' is no sales team"),
        ]
        for entry, message in cases:
            with self.subTest(entry=entry), self.assertRaisesRegex(UserError, message):
                # The first entry is valid: nothing is written when a later one is refused.
                run.action_set_owner_mapping([(1, "AG9", "", "north dealers"), entry], "owners.csv")
            self.assertEqual(self.lines(run)["AG9"].user_id, self.bob)
        with self.assertRaises(AccessError):
            run.with_user(self.user_plain).action_set_owner_mapping([(2, "AG9", "", "")], "owners.csv")
        self.assertTrue(run.action_confirm_mapping())
        with self.assertRaisesRegex(UserError, "before the mapping is confirmed"):
            run.action_set_owner_mapping([(2, "AG9", "", "")], "owners.csv")
        summary = run.get_migration_summary()["owner_mapping"]
        # AG1, AG2, DL1 proposed; AG9 and XX7 mapped from the file: nothing left unmapped.
        self.assertEqual(summary, {"owners": 5, "mapped": 5, "unmapped": 0, "unmapped_rows": 0})
