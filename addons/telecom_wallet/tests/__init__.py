from . import test_wallet_concurrency, test_wallet_operations
