from . import (
    test_bucket,
    test_odoo_flows_access,
    test_partner_balance,
    test_wallet_access,
    test_wallet_amounts,
    test_wallet_back_doors,
    test_wallet_batch,
    test_wallet_batch_tour,
    test_wallet_concurrency,
    test_wallet_operations,
    test_wallet_properties,
    test_wallet_setup,
)
