from unittest.mock import patch

from odoo.addons.bss_import.services.migration.subscribers import SubscribersPhase
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import MigrationCase, subscriber
from .test_migrate_quarantine import small_export


@tagged("post_install", "-at_install")
class TestMigrateAccess(MigrationCase):
    def test_unconfirmed_mapping_and_users_without_the_group_are_refused(self):
        run = self.profiled_run(files=small_export([subscriber(1)]))
        with self.assertRaisesRegex(UserError, "nothing leaves staging"):
            run.action_migrate()
        run.action_confirm_mapping()
        with self.assertRaises(AccessError):
            run.with_user(self.user_plain).action_migrate()
        with self.assertRaises(AccessError):
            run.with_user(self.operator_b).action_migrate()
        with self.assertRaisesRegex(UserError, "No migration phase exists"):
            run.action_migrate(["network_elements"])
        self.assertFalse(run.phase_ids)
        self.assertEqual(run.state, "confirmed")
        run.action_migrate()
        self.assertEqual(run.state, "migrated")
        # The migration's records are the server's: no direct create or write, whatever the rights.
        self.grant_everything("bss.import.phase", "bss.import.link", "bss.import.quarantine")
        phase = self.phase(run, "subscribers").with_user(self.operator)
        with self.assertRaises(AccessError):
            phase.write({"created": 0})
        with self.assertRaises(AccessError):
            phase.unlink()
        with self.assertRaises(AccessError):
            self.env["bss.import.phase"].with_user(self.operator).create(
                {"run_id": run.id, "object": "orders"}
            )
        link = self.link("subscribers", "S000001").with_user(self.operator)
        with self.assertRaises(AccessError):
            link.write({"res_id": 1})
        with self.assertRaises(AccessError):
            link.unlink()
        with self.assertRaises(AccessError):
            self.env["bss.import.quarantine"].with_user(self.operator).create(
                {"run_id": run.id, "object": "subscribers"}
            )
        # Another company's operator sees none of it.
        self.assertFalse(
            self.env["bss.import.phase"].with_user(self.operator_b).search([("run_id", "=", run.id)])
        )
        self.assertFalse(self.env["bss.import.link"].with_user(self.operator_b).search([]))

    def test_mismatch_blocks_later_phases_until_a_manager_acknowledges_it(self):
        run = self.confirmed_run(files=small_export([subscriber(1)]))
        run.action_migrate(["custom_fields", "service_plans"])
        plans = self.phase(run, "service_plans")
        # sudo: stands for a reconciliation that found a difference.
        plans.sudo().write({"mismatch": "content checksum differs: list_price (1 rows)"})
        run.action_migrate(["billing_accounts", "subscribers"])
        blocked = self.phase(run, "billing_accounts") | self.phase(run, "subscribers")
        self.assertEqual(set(blocked.mapped("state")), {"blocked"})
        self.assertIn("service_plans", blocked[0].error_message)
        self.assertFalse(self.link("billing_accounts", "BA001"))
        with self.assertRaises(AccessError):
            run.action_acknowledge_mismatch(plans, "checked")
        manager_run = run.with_user(self.manager)
        with self.assertRaisesRegex(UserError, "reason"):
            manager_run.action_acknowledge_mismatch("service_plans", " ")
        with self.assertRaisesRegex(UserError, "no unacknowledged mismatch"):
            manager_run.action_acknowledge_mismatch("custom_fields", "fine")
        self.assertTrue(
            manager_run.action_acknowledge_mismatch(plans.id, "price rounding checked with finance")
        )
        self.assertEqual(plans.acknowledged_by, self.manager)
        self.assertIn("price rounding checked with finance", run.message_ids[0].body)
        run.action_migrate(["billing_accounts", "subscribers"])
        self.assertEqual(set(blocked.mapped("state")), {"done"})
        # Running the plans again reconciles them afresh: the acknowledged mismatch is gone with it.
        run.action_migrate(["service_plans"])
        self.assertEqual((plans.mismatch, plans.acknowledged_by.id), (False, False))
        self.assertTrue(self.link("subscribers", "S000001"))

    def test_a_failing_phase_is_reported_and_blocks_the_next(self):
        run = self.confirmed_run(files=small_export([subscriber(1)]))
        with (
            patch.object(SubscribersPhase, "resolve", side_effect=RuntimeError("disk on fire")),
            self.assertLogs("odoo.addons.bss_import.services.migration.runner", level="ERROR") as logs,
        ):
            run.action_migrate()
        self.assertIn("phase subscribers", logs.output[0])
        phase = self.phase(run, "subscribers")
        self.assertEqual(phase.state, "error")
        self.assertIn("disk on fire", phase.error_message)
        self.assertFalse(self.link("subscribers", "S000001"))
        self.assertEqual(self.phase(run, "billing_accounts").state, "done")
        run.action_migrate(["subscribers"])
        self.assertEqual(phase.state, "done")
        self.assertTrue(self.link("subscribers", "S000001"))
