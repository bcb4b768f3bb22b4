from odoo.tests import tagged

from .common import WalletCase


@tagged("post_install", "-at_install")
class TestPartnerBalance(WalletCase):
    def test_snapshot_until_a_live_wallet_exists(self):
        carol = self.subscriber(x_subscriber_id="C1", x_ocs_balance=42.5)
        self.assertEqual(carol.x_ocs_balance_snapshot, 42.5, "the importer's write lands in the snapshot")
        self.assertEqual(carol.x_ocs_balance, 42.5)
        shadow = self.Wallet.create({"partner_id": carol.id, "state": "draft"})
        shadow.post_opening_balance(42.5, "OPEN-C", self.today())
        shadow.adjust(-0.5, "DELTA-C", "usage during cutover")
        self.assertEqual(carol.x_ocs_balance, 42.5, "a shadow wallet is not authoritative yet")
        shadow.action_activate()
        carol.invalidate_recordset(["x_ocs_balance"])
        self.assertEqual(carol.x_ocs_balance, 42.0)
        shadow.debit(2.0, "CDR-C")
        carol.invalidate_recordset(["x_ocs_balance"])
        self.assertEqual(carol.x_ocs_balance, 40.0)
        # The snapshot stays what the legacy system said.
        self.assertEqual(carol.x_ocs_balance_snapshot, 42.5)
        carol.write({"x_ocs_balance": 41.0})
        self.assertEqual(carol.x_ocs_balance_snapshot, 41.0)
        carol.invalidate_recordset(["x_ocs_balance"])
        self.assertEqual(carol.x_ocs_balance, 40.0)

    def test_wallet_smart_button(self):
        self.assertEqual(self.alice.telecom_wallet_count, 1)
        action = self.alice.action_view_telecom_wallets()
        self.assertEqual(self.env["telecom.wallet"].search(action["domain"]), self.wallet)
