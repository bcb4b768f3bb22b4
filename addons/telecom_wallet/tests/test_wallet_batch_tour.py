import json

from odoo import Command
from odoo.tests import HttpCase, new_test_user, tagged

URL = "/odoo/action-telecom_wallet.telecom_wallet_batch_action"


@tagged("post_install", "-at_install")
class TestWalletBatchTour(HttpCase):
    """A file of wallet operations applied from the screens, in a browser, by a Wallet Manager
    (no accounting group of their own)."""

    def test_apply_a_file_from_the_batches_and_read_the_result(self):
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
        text = (
            "subscriber_id,type,amount,reference\n"
            "TOUR-S1,top_up,5.00,TOUR-1\n"
            "TOUR-S1,debit,2.00,TOUR-2\n"
            "TOUR-S2,debit,1.00,TOUR-3\n"
        )
        options = {"stepDelay": 0, "keepWatchBrowser": False, "debug": False, "startUrl": URL}
        code = f"window.telecomWalletTourFile = {json.dumps({'name': 'ocs-usage.csv', 'text': text})}; "
        code += f"odoo.startTour('telecom_wallet_batch_tour', {json.dumps(options)});"
        self.start_tour(URL, "telecom_wallet_batch_tour", login=manager.login, code=code, timeout=180)

        self.env.invalidate_all()
        batch = self.env["telecom.wallet.batch"].search([("source", "=", "ocs-usage.csv")])
        self.assertEqual((batch.posted_count, batch.refused_count, batch.create_uid), (2, 1, manager))
        self.assertEqual(wallets.mapped("balance"), [3.0, 0.0])
