/** @odoo-module **/

import { registry } from "@web/core/registry";

/**
 * A Wallet Manager applies a file of operations from Prepaid Wallets → Batches: Apply a File,
 * pick the CSV, Apply, then reads the batch: posted, refused with its reason.
 *
 * The test (tests/test_wallet_batch_tour.py) passes window.telecomWalletTourFile: the file's
 * name and text.
 */
registry.category("web_tour.tours").add("telecom_wallet_batch_tour", {
    steps: () => [
        {
            content: "Apply a file of operations from the batches",
            trigger: ".o_control_panel button:contains(Apply a File)",
            run: "click",
        },
        {
            // The file input itself is hidden: the step waits for the visible button.
            content: "Pick the file",
            trigger: ".modal .o_field_widget[name='file'] .o_select_file_button",
            run: () => {
                const { name, text } = window.telecomWalletTourFile;
                const input = document.querySelector(".modal .o_field_widget[name='file'] input.o_input_file");
                const transfer = new DataTransfer();
                transfer.items.add(new File([text], name, { type: "text/csv" }));
                input.files = transfer.files;
                input.dispatchEvent(new Event("change", { bubbles: true }));
            },
        },
        {
            content: "The file is picked",
            trigger: ".modal .o_field_widget[name='file'] .o_clear_file_button",
        },
        {
            content: "Apply it",
            trigger: ".modal-footer button[name='action_apply']",
            run: "click",
        },
        {
            content: "The batch: operations posted",
            trigger: ".o_form_view .oe_stat_button:contains(Posted):contains(2)",
        },
        {
            content: "The batch: one operation refused",
            trigger: ".o_form_view .o_field_widget[name='refused_count']:contains(1)",
        },
        {
            content: "The refused operation and its reason",
            trigger: ".o_form_view .o_field_widget[name='refusal_ids'] .o_data_row:contains(TOUR-3):contains(insufficient funds)",
        },
        {
            content: "The result report can be downloaded",
            trigger: ".o_form_view .o_field_widget[name='report_file'] .o_download_file_button, .o_form_view .o_field_widget[name='report_file'] a",
        },
    ],
});
