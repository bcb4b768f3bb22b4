/** @odoo-module **/

import { registry } from "@web/core/registry";
import { CHUNK_SIZE, uploadSettings } from "@bss_import/import_wizard/chunked_upload";

/**
 * A Migration Operator imports an export through the wizard: upload (in
 * several chunks per file), detected files, stage and profile, open the rows
 * of a finding, change one mapping line, confirm, save a template.
 *
 * The export comes from the test (tests/test_ui_tour.py) as
 * window.bssImportTourFiles = {file name: base64 content}; the first step
 * puts it on the wizard's file input as if the operator had picked it.
 */
const TEST_CHUNK_SIZE = 1024;

function fail(message) {
    throw new Error(`bss_import tour: ${message}`);
}

const FILE = ".o_bss_step_files tr[data-file='subscribers.csv']";
const LINE =
    ".o_bss_mapping_file[data-file='network_elements.csv'] tr.o_bss_mapping_line[data-header='element_type']";

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
    ],
});
