from . import (
    test_access,
    test_detection,
    test_malformed,
    test_mapping,
    test_profile,
    test_report,
    test_secrets,
    test_ui_tour,
)
