from . import bss_import_reconciliation_report
