"""One meaning, one list: lib/schema.py keeps its own copy of the code lists that
telecom_subscriber's fields use, because the export generator loads schema.py by path
without Odoo; this test holds the copy to telecom_subscriber/tools/codes.py."""

import pytest

from odoo.addons.bss_import.lib import schema
from odoo.addons.telecom_subscriber.tools import codes


@pytest.mark.parametrize(
    "name",
    [
        "SERVICE_TYPES",
        "SUBSCRIBER_STATUSES",
        "ACCOUNT_STATUSES",
        "INVOICING_PREFERENCES",
        "NUMBER_STATUSES",
        "PORT_DIRECTIONS",
        "PORT_STATES",
    ],
)
def test_schema_code_lists_are_the_selection_keys_of_telecom_subscriber(name):
    assert getattr(schema, name) == tuple(key for key, _label in getattr(codes, name))
