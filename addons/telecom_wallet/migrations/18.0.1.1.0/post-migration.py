from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    """Allowance quantities move to one base unit per usage type (MB, seconds)."""
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    env["telecom.wallet.bucket"]._telecom_migrate_units()
