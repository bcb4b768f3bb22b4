import os
import shutil

from odoo.tools import SQL, config

from .models.bss_import_run import UPLOAD_FOLDER


def uninstall_hook(env):
    """Drop the staging schema and any upload left on disk: both hold personal data and belong to no model."""
    env.cr.execute(SQL("DROP SCHEMA IF EXISTS %s CASCADE", SQL.identifier("bss_stage")))
    shutil.rmtree(os.path.join(config.filestore(env.cr.dbname), UPLOAD_FOLDER), ignore_errors=True)
