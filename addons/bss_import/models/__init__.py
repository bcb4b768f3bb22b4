# bss_import_phase_total first: its server-written mixin is inherited by models of the other files.
from . import bss_import_phase_total  # isort: skip
from . import (
    bss_import_change,
    bss_import_chunk,
    bss_import_cohort_member,
    bss_import_cutover,
    bss_import_cutover_line,
    bss_import_cutover_mismatch,
    bss_import_file,
    bss_import_finding,
    bss_import_legacy_code,
    bss_import_link,
    bss_import_mapping_line,
    bss_import_mapping_template,
    bss_import_owner_map,
    bss_import_phase,
    bss_import_progress,
    bss_import_quarantine,
    bss_import_run,
    bss_import_run_delta,
    bss_import_run_inventory,
    bss_import_run_owner,
    bss_import_run_report,
    bss_import_run_resolution,
    bss_import_run_rollback,
    bss_import_run_ui,
    bss_import_state_conflict,
    bss_import_writer_lock,
    ir_attachment,
    res_partner,
)

# Last: cohorts override methods of the run's other files (migration, delta passes, rollback).
from . import bss_import_run_cohort  # isort: skip
