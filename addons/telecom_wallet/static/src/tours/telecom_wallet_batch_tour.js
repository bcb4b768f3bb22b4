/** @odoo-module **/

import { registry } from "@web/core/registry";

/**
 * A Wallet Manager applies a file of operations from Prepaid Wallets → Batches: Apply a File,
 * pick the CSV, Apply; the progress ends with the operations posted and the one refused listed
 * with its reason; Open the batches, then the batch's refused operation. A malformed file first:
 * refused, naming its row, nothing posted.
 *
 * The test (tests/test_wallet_batch_tour.py) passes window.telecomWalletTourFiles: the names and
 * texts of a malformed file and of a good one, and sets the batch size to 2 operations
 * (window.telecomWalletTourBatchSize) so that the good file goes in two batches.
 */
function pick(index) {
    const { name, text } = window.telecomWalletTourFiles[index];
    const input = document.querySelector(".o_telecom_wallet_batch_file .o_batch_file_input");
    const transfer = new DataTransfer();
    transfer.items.add(new File([text], name, { type: "text/csv" }));
    input.files = transfer.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
}

registry.category("web_tour.tours").add("telecom_wallet_batch_tour", {
    steps: () => [
        {
            content: "Apply a file of operations from the batches",
            trigger: ".o_control_panel button:contains(Apply a File)",
            run: "click",
        },
        {
            content: "Pick a malformed file",
            trigger: ".o_telecom_wallet_batch_file .o_batch_file_input",
            run: async () => {
                const { batchSettings } = await odoo.loader.modules.get(
                    "@telecom_wallet/batch_file/batch_file"
                );
                batchSettings.size = window.telecomWalletTourBatchSize;
                pick(0);
            },
        },
        {
            content: "Apply it",
            trigger: ".o_telecom_wallet_batch_file .o_batch_apply:enabled",
            run: "click",
        },
        {
            content: "Refused whole, its row named",
            trigger: ".o_batch_error:contains(Nothing was posted):contains(row 3, column amount)",
        },
        {
            content: "Pick the corrected file",
            trigger: ".o_telecom_wallet_batch_file .o_batch_file_input",
            run: () => pick(1),
        },
        {
            content: "Apply it",
            trigger: ".o_telecom_wallet_batch_file .o_batch_apply:enabled",
            run: "click",
        },
        {
            content: "Done: every operation went through, in two batches",
            trigger: ".o_batch_finished",
        },
        {
            content: "Three posted, one refused",
            trigger: ".o_batch_counts:contains(4 of 4 operations):contains(3 posted):contains(1 refused)",
        },
        {
            content: "The refused operation and its reason",
            trigger: ".o_batch_refusals tr:contains(TOUR-4):contains(insufficient funds)",
        },
        {
            content: "Open the batches",
            trigger: ".o_batch_open",
            run: "click",
        },
        {
            content: "Open the batch with the refusal",
            trigger: ".o_list_view .o_data_row:contains(#2/2) td[name='name']",
            run: "click",
        },
        {
            content: "The refused operation is kept on the batch with its reason",
            trigger: ".o_form_view .o_field_widget[name='refusal_ids'] .o_data_row:contains(TOUR-4):contains(insufficient funds)",
        },
        {
            content: "The batch's result report can be downloaded",
            trigger: ".o_form_view .o_field_widget[name='report_file'] .o_download_file_button, .o_form_view .o_field_widget[name='report_file'] a",
        },
    ],
});
