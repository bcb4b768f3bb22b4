import json

from odoo import Command
from odoo.tests import HttpCase, new_test_user, tagged

URL = "/odoo/action-telecom_wallet.telecom_wallet_batch_action"


@tagged("post_install", "-at_install")
class TestWalletBatchTour(HttpCase):
    """A file of wallet operations applied from the screens, in a browser, by a Wallet Manager
    (no accounting group of their own): a malformed file refused, then the corrected one applied
    in two batches with progress."""

    def test_apply_a_file_from_the_batches_with_progress_and_read_the_result(self):
        company = self.env.company
        company._telecom_wallet_setup()
        manager = new_test_user(
            self.env,
            login="wallet_tour_manager",
            name="Wallet Tour Manager",
            groups="base.group_user,telecom_wallet.telecom_wallet_group_manager",
            company_id=company.id,
            company_ids=[Command.set([company.id])],
        )
        partners = self.env["res.partner"].create(
            [
                {"name": "Tour subscriber 1", "x_subscriber_id": "TOUR-S1", "company_id": company.id},
                {"name": "Tour subscriber 2", "x_subscriber_id": "TOUR-S2", "company_id": company.id},
            ]
        )
        wallets = self.env["telecom.wallet"].create([{"partner_id": partner.id} for partner in partners])
        header = "subscriber_id,type,amount,reference\n"
        files = [
            {"name": "broken.csv", "text": header + "TOUR-S1,top_up,5.00,TOUR-1\nTOUR-S1,top_up,x,TOUR-2\n"},
            {
                "name": "ocs-usage.csv",
                "text": header
                + "TOUR-S1,top_up,5.00,TOUR-1\nTOUR-S1,debit,2.00,TOUR-2\n"
                + "TOUR-S2,top_up,1.00,TOUR-3\nTOUR-S2,debit,3.00,TOUR-4\n",
            },
        ]
        options = {"stepDelay": 0, "keepWatchBrowser": False, "debug": False, "startUrl": URL}
        code = f"window.telecomWalletTourFiles = {json.dumps(files)}; window.telecomWalletTourBatchSize = 2; "
        code += f"odoo.startTour('telecom_wallet_batch_tour', {json.dumps(options)});"
        self.start_tour(URL, "telecom_wallet_batch_tour", login=manager.login, code=code, timeout=180)

        self.env.invalidate_all()
        batches = self.env["telecom.wallet.batch"].search([("source", "=", "ocs-usage.csv")], order="id")
        self.assertEqual(len(batches), 2)
        self.assertEqual(batches.mapped("posted_count"), [2, 1])
        self.assertEqual(batches.mapped("refused_count"), [0, 1])
        self.assertEqual(batches.create_uid, manager)
        self.assertFalse(self.env["telecom.wallet.batch"].search([("source", "=", "broken.csv")]))
        self.assertEqual(wallets.mapped("balance"), [3.0, 1.0])
