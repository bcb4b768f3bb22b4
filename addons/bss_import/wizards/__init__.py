from . import bss_import_cohort_wizard, bss_import_reason_wizard
