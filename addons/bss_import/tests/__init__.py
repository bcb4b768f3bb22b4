from . import (
    test_access,
    test_detection,
    test_findings,
    test_malformed,
    test_mapping,
    test_profile,
    test_report,
    test_secrets,
    test_state_machine,
    test_targets,
    test_ui_tour,
    test_uploads,
)
