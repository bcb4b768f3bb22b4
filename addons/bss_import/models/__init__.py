from . import (
    bss_import_file,
    bss_import_finding,
    bss_import_link,
    bss_import_mapping_line,
    bss_import_mapping_template,
    bss_import_phase,
    bss_import_phase_total,
    bss_import_progress,
    bss_import_quarantine,
    bss_import_run,
    bss_import_run_report,
    bss_import_run_ui,
)
