from . import test_wallet_operations
