from odoo.tools import SQL


def post_init_hook(env):
    """Keep the legacy OCS snapshot and set up the wallet ledger.

    telecom_subscriber stores ``x_ocs_balance`` as a plain column; this module
    turns the field into a live figure read from the wallet ledger and keeps the
    snapshot in ``x_ocs_balance_snapshot``. The old column is still in the table
    (Odoo never drops columns), so the snapshot is copied from it here.
    """
    env.cr.execute(
        SQL(
            "UPDATE res_partner SET x_ocs_balance_snapshot = x_ocs_balance"
            " WHERE x_ocs_balance IS NOT NULL AND x_ocs_balance_snapshot IS NULL"
        )
    )
    # Companies without a chart of accounts get their wallet ledger when a chart
    # is loaded (see account.chart.template._post_load_data) or on first use.
    env["res.company"].search([("chart_template", "!=", False)])._telecom_wallet_setup()


def uninstall_hook(env):
    """Give telecom_subscriber its stored snapshot back, current as of now."""
    env.cr.execute(SQL("UPDATE res_partner SET x_ocs_balance = x_ocs_balance_snapshot"))
    env.cr.execute(SQL("DROP TABLE IF EXISTS telecom_wallet_posting_lock"))
