"""Pure-Python tests: the ORM-free helpers of the addons, run without a database.

The helpers live inside the addons (``addons/<module>/tools``, ``addons/<module>/lib``)
and are imported the way Odoo imports them, as ``odoo.addons.<module>...``, with
Odoo's source on ``PYTHONPATH`` (scripts/setup.sh sets it). Importing ``odoo``
needs no database and no configuration.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ODOO_PATH = os.environ.get("ODOO_PATH", str(Path.home() / "src" / "odoo-18.0"))
if ODOO_PATH not in sys.path:
    sys.path.insert(0, ODOO_PATH)

import odoo.addons  # noqa: E402

if str(ROOT / "addons") not in odoo.addons.__path__:
    odoo.addons.__path__.append(str(ROOT / "addons"))
