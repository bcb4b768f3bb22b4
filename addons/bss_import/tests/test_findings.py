from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import SUBSCRIBER_HEADER, BssImportCase, csv_bytes, subscriber


@tagged("post_install", "-at_install")
class TestFindings(BssImportCase):
    """Findings are evidence: read-only to users, acknowledged by a manager with a reason."""

    def setUp(self):
        super().setUp()
        subs = [subscriber(1), subscriber(2, msisdn="44770090012A"), subscriber(2)]
        files = {
            "subscribers.csv": csv_bytes(
                [SUBSCRIBER_HEADER] + [[r[h] for h in SUBSCRIBER_HEADER] for r in subs]
            )
        }
        self.run_ = self.profiled_run(files=files)
        self.invalid = self.finding(self.run_, "subscribers", "invalid_msisdn")
        self.assertEqual(self.invalid.count, 1)

    def test_findings_cannot_be_edited_created_or_deleted(self):
        Finding = self.env["bss.import.finding"]
        Row = self.env["bss.import.finding.row"]
        for user in (self.operator, self.manager):
            finding = self.invalid.with_user(user)
            row = finding.row_ids
            self.assertTrue(row)
            with self.subTest(user=user.login):
                with self.assertRaises(AccessError):
                    finding.write({"count": 0})
                with self.assertRaises(AccessError):
                    finding.write({"acknowledged_by": user.id, "acknowledge_reason": "forged"})
                with self.assertRaises(AccessError):
                    finding.unlink()
                with self.assertRaises(AccessError):
                    row.write({"detail": "fine"})
                with self.assertRaises(AccessError):
                    row.unlink()
                with self.assertRaises(AccessError):
                    Finding.with_user(user).create(
                        {
                            "run_id": self.run_.id,
                            "object": "subscribers",
                            "table": "subscribers",
                            "kind": "orphans",
                            "count": 1,
                        }
                    )
                with self.assertRaises(AccessError):
                    Row.with_user(user).create({"finding_id": finding.id, "line": 9})
        # Should an access rule ever grant more, the models still refuse.
        self.grant_everything("bss.import.finding", "bss.import.finding.row")
        finding = self.invalid.with_user(self.operator)
        with self.assertRaisesRegex(AccessError, "evidence"):
            finding.write({"count": 0})
        with self.assertRaisesRegex(AccessError, "evidence"):
            finding.row_ids.write({"detail": "fine"})
        with self.assertRaisesRegex(AccessError, "evidence"):
            finding.row_ids.unlink()
        with self.assertRaisesRegex(AccessError, "evidence"):
            finding.unlink()
        self.invalid.invalidate_recordset()
        self.assertEqual((self.invalid.count, len(self.invalid.row_ids)), (1, 1))

    def test_only_a_manager_acknowledges_with_a_reason(self):
        with self.assertRaisesRegex(AccessError, "Migration Manager"):
            self.invalid.with_user(self.operator).action_acknowledge("known")
        finding = self.invalid.with_user(self.manager)
        with self.assertRaisesRegex(UserError, "give the reason"):
            finding.action_acknowledge("   ")
        self.assertFalse(self.invalid.acknowledged_by)
        # Through the reason dialog, as the finding's button opens it.
        action = finding.action_open_acknowledge()
        wizard = (
            self.env[action["res_model"]]
            .with_user(self.manager)
            .with_context(**action["context"])
            .create({"reason": "The legacy number is fixed by hand before cut-over"})
        )
        self.assertEqual(wizard.finding_ids, self.invalid)
        wizard.action_confirm()
        self.assertEqual(self.invalid.acknowledged_by, self.manager)
        self.assertTrue(self.invalid.acknowledged_date)
        self.assertEqual(
            self.invalid.acknowledge_reason, "The legacy number is fixed by hand before cut-over"
        )
        self.assertEqual(self.invalid.count, 1, "acknowledging changes nothing of the evidence")
        note = "".join(self.run_.message_ids.mapped("body"))
        for part in ("Invalid MSISDN", self.manager.name, "fixed by hand before cut-over"):
            self.assertIn(part, note)
        with self.assertRaisesRegex(UserError, "already acknowledged"):
            finding.action_acknowledge("again")

    def test_other_company_manager_cannot_acknowledge(self):
        manager_b = self.env["res.users"].create(
            {
                "name": "Manager B",
                "login": "bss_manager_b",
                "company_id": self.company_b.id,
                "company_ids": [(6, 0, [self.company_b.id])],
                "groups_id": [(6, 0, [self.env.ref("bss_import.bss_import_group_manager").id])],
            }
        )
        with self.assertRaises(AccessError):
            self.invalid.with_user(manager_b).action_acknowledge("not mine")
        self.assertFalse(self.invalid.acknowledged_by)
