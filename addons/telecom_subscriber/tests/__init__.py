from . import (
    test_access,
    test_billing_account,
    test_number,
    test_number_legacy,
    test_odoo_flows_access,
    test_service_plan,
    test_subscriber,
)
