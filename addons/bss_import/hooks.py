from odoo.tools import SQL


def uninstall_hook(env):
    """Drop the staging schema: staged rows hold personal data and belong to no model."""
    env.cr.execute(SQL("DROP SCHEMA IF EXISTS %s CASCADE", SQL.identifier("bss_stage")))
