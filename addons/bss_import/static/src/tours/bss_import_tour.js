/** @odoo-module **/

import { registry } from "@web/core/registry";
import { CHUNK_SIZE, uploadSettings } from "@bss_import/import_wizard/chunked_upload";

/**
 * A Migration Operator imports an export through the wizard: upload (in
 * several chunks per file), detected files, stage and profile, open the rows
 * of a finding, change one mapping line, confirm, save a template, migrate,
 * open a phase's reconciliation, open a quarantined row, correct it in place,
 * re-run it and see it leave the queue.
 *
 * The export comes from the test (tests/test_ui_tour.py) as
 * window.bssImportTourFiles = {file name: base64 content}; the first step
 * puts it on the wizard's file input as if the operator had picked it. The
 * correction comes as window.bssImportTourFix = {key, column, value}: the
 * quarantined row's source key, the column to correct, its right value.
 */
const TEST_CHUNK_SIZE = 1024;

function fail(message) {
    throw new Error(`bss_import tour: ${message}`);
}

const FILE = ".o_bss_step_files tr[data-file='subscribers.csv']";
const LINE =
    ".o_bss_mapping_file[data-file='network_elements.csv'] tr.o_bss_mapping_line[data-header='element_type']";

const PHASE = (object) => `.o_bss_phases tr.o_bss_phase[data-object='${object}']`;

// The steps are built before the test's code sets the window variables: read them lazily.
function fix() {
    return window.bssImportTourFix || { key: "", column: "", value: "" };
}

// The subscribers phase's counts before the correction, to compare after it.
const counts = {};

registry.category("web_tour.tours").add("bss_import_wizard_tour", {
    steps: () => [
        {
            content: "Pick the export's files",
            trigger: ".o_bss_step_upload .o_bss_dropzone",
            run() {
                const files = window.bssImportTourFiles;
                if (!files || !Object.keys(files).length) {
                    fail("the test did not pass the export (window.bssImportTourFiles)");
                }
                if (!fix().key) {
                    fail("the test did not pass the correction (window.bssImportTourFix)");
                }
                // Small chunks: every file of the export is sent in several requests.
                uploadSettings.chunkSize = TEST_CHUNK_SIZE;
                const transfer = new DataTransfer();
                for (const [name, b64] of Object.entries(files)) {
                    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
                    transfer.items.add(new File([bytes], name, { type: "text/csv" }));
                }
                const input = document.querySelector(".o_bss_step_upload input.o_bss_file_input");
                input.files = transfer.files;
                input.dispatchEvent(new Event("change", { bubbles: true }));
            },
        },
        {
            content: "The picked files are listed",
            trigger: ".o_bss_picked tr[data-name='subscribers.csv']",
        },
        {
            content: "Upload and detect",
            trigger: ".o_bss_upload_detect",
            run: "click",
        },
        {
            content: "Files are detected",
            trigger: `${FILE} .badge.text-bg-info`,
        },
        {
            content: "The subscribers file holds subscribers",
            trigger: `${FILE} select.o_bss_table`,
            run() {
                if (this.anchor.value !== "subscribers") {
                    fail(`subscribers.csv detected as ${this.anchor.value}`);
                }
                uploadSettings.chunkSize = CHUNK_SIZE;
            },
        },
        {
            content: "Go to the profile step",
            trigger: ".o_bss_to_profile",
            run: "click",
        },
        {
            content: "Stage and profile",
            trigger: ".o_bss_stage_profile",
            run: "click",
        },
        {
            content: "The findings are listed per object",
            trigger: ".o_bss_findings tr.o_bss_object[data-object='subscribers']",
        },
        {
            content: "Open the rows of the duplicate rows",
            trigger: ".o_bss_findings tr.o_bss_finding[data-kind='duplicate_rows'] .o_bss_open_finding",
            run: "click",
        },
        {
            content: "The affected rows are shown",
            trigger: ".modal .o_form_view .o_field_one2many .o_data_row",
        },
        {
            content: "Close the rows",
            trigger: ".modal .modal-header .btn-close",
            run: "click",
        },
        {
            content: "Go to the mapping",
            trigger: ".o_bss_to_mapping:not(:disabled)",
            run: "click",
        },
        {
            content: "Do not import the network element type",
            trigger: `${LINE} select.o_bss_line_action`,
            run: "select skip",
        },
        {
            content: "The line shows it was changed",
            trigger: `${LINE} .o_bss_edited`,
        },
        {
            content: "Go to the confirm step",
            trigger: ".o_bss_to_confirm",
            run: "click",
        },
        {
            content: "Confirm the mapping",
            trigger: ".o_bss_confirm",
            run: "click",
        },
        {
            content: "The mapping is confirmed",
            trigger: ".o_bss_confirmed",
        },
        {
            content: "Back to the mapping",
            trigger: ".o_bss_steps button[data-step='mapping']",
            run: "click",
        },
        {
            content: "The confirmed mapping is read-only",
            trigger: `${LINE} select.o_bss_line_action:disabled`,
        },
        {
            content: "Back to the confirm step",
            trigger: ".o_bss_steps button[data-step='confirm']",
            run: "click",
        },
        {
            content: "Name the template",
            trigger: "input.o_bss_template_name",
            run: "edit Tour nightly export",
        },
        {
            content: "Save the template",
            trigger: ".o_bss_save_template:not(:disabled)",
            run: "click",
        },
        {
            content: "The template is saved",
            trigger: ".o_bss_template_saved:contains(Tour nightly export)",
        },
        {
            content: "Go to the Migrate step",
            trigger: ".o_bss_to_migrate",
            run: "click",
        },
        {
            content: "Migrate",
            trigger: ".o_bss_step_migrate .o_bss_migrate:not(:disabled)",
            run: "click",
        },
        {
            content: "The subscribers phase is done",
            trigger: `${PHASE("subscribers")} .o_bss_phase_state[data-state='done']`,
            // Every phase of the export runs in this one request (about 20 s on a busy 2-core machine).
            timeout: 60000,
        },
        {
            content: "Some subscribers are quarantined",
            trigger: `${PHASE("subscribers")}:has(.o_bss_open_phase_quarantine)`,
            run() {
                counts.quarantined = parseInt(this.anchor.dataset.quarantined);
                counts.created = parseInt(this.anchor.dataset.created);
            },
        },
        {
            content: "The quarantine is counted by object and reason",
            trigger: ".o_bss_quarantine_summary tr.o_bss_quarantine_group[data-object='subscribers']",
        },
        {
            content: "Open the reconciliation of the billing accounts",
            trigger: `${PHASE("billing_accounts")} .o_bss_open_reconciliation`,
            run: "click",
        },
        {
            content: "Its control totals are listed",
            trigger: ".modal .o_bss_phase_totals .o_data_row",
        },
        {
            content: "Show the side-by-side sample",
            trigger: ".modal .o_notebook .nav-link:contains(Side-by-side sample)",
            run: "click",
        },
        {
            content: "The sample shows source and Odoo values field by field",
            trigger: ".modal .o_bss_phase_sample .o_data_row td[name='odoo_value']",
        },
        {
            content: "Close the reconciliation",
            trigger: ".modal .modal-header .btn-close",
            run: "click",
        },
        {
            content: "Open the quarantined subscribers",
            trigger: `body:not(:has(.modal)) ${PHASE("subscribers")} .o_bss_open_phase_quarantine`,
            run: "click",
        },
        {
            content: "Open the row to correct",
            trigger: `.o_list_view .o_data_row td[name='source_key']:contains(${fix().key})`,
            run: "click",
        },
        {
            content: "The form says why the row was refused",
            trigger: ".o_form_view .o_bss_quarantine_reasons",
        },
        {
            content: "Correct the value in place",
            trigger: `.o_bss_quarantine_values tr[data-column='${fix().column}'] input.o_bss_value_input`,
            run: `edit ${fix().value}`,
        },
        {
            content: "The correction is pending save",
            trigger: ".o_form_view .o_form_status_indicator .o_form_button_save",
        },
        {
            content: "Save and re-run the row",
            trigger: ".o_form_view .o_bss_retry_row",
            run: "click",
        },
        {
            content: "The row is migrated and left the queue",
            trigger: ".o_form_view .o_bss_quarantine_resolved",
        },
        {
            content: "Its state is Resolved",
            trigger: ".o_statusbar_status button.o_arrow_button_current[data-value='resolved']",
        },
        {
            content: "The corrected value is kept, read-only",
            trigger: `.o_bss_quarantine_values tr[data-column='${fix().column}'] .o_bss_value_readonly:contains(${fix().value})`,
        },
        {
            content: "Back to the wizard",
            trigger: ".o_breadcrumb .breadcrumb-item:first-child a",
            run: "click",
        },
        {
            content: "The subscribers phase counts the row as created, not quarantined",
            trigger: PHASE("subscribers"),
            run() {
                const now = {
                    quarantined: parseInt(this.anchor.dataset.quarantined),
                    created: parseInt(this.anchor.dataset.created),
                };
                if (now.quarantined !== counts.quarantined - 1 || now.created !== counts.created + 1) {
                    fail(`counts before ${JSON.stringify(counts)}, after ${JSON.stringify(now)}`);
                }
            },
        },
    ],
});
