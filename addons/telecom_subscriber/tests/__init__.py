from . import test_access, test_billing_account, test_service_plan, test_subscriber
