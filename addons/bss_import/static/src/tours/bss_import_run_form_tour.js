/** @odoo-module **/

import { registry } from "@web/core/registry";

/**
 * A Migration Manager on the form of a migrated run: starts a delta pass (a new
 * run that belongs to this one), comes back, rolls the run back (confirming
 * the dialog), sees it rolled back and opens what the rollback did.
 *
 * The test (tests/test_ui_tour.py) passes the run's name as window.bssImportTourRun.
 */
function runName() {
    return window.bssImportTourRun || "(the test did not pass the run's name)";
}

registry.category("web_tour.tours").add("bss_import_run_form_tour", {
    steps: () => [
        {
            // Not the status bar: with many header buttons it folds its states into a menu.
            content: "The run is migrated: it offers a delta pass",
            trigger: ".o_form_view .o_statusbar_buttons button[name='action_new_delta_pass']",
        },
        {
            content: "Start a delta pass of the run",
            trigger: ".o_form_view .o_statusbar_buttons button[name='action_new_delta_pass']",
            run: "click",
        },
        {
            content: "The new run is a delta pass of the migrated one",
            trigger: `.o_form_view .o_field_widget[name='delta_of_id']:contains(${runName()})`,
        },
        {
            content: "Back to the migrated run",
            trigger: `.o_breadcrumb a:contains(${runName()})`,
            run: "click",
        },
        {
            content: "Roll the run back",
            trigger: ".o_form_view .o_statusbar_buttons button[name='action_rollback']",
            run: "click",
        },
        {
            content: "Confirm the rollback",
            trigger: ".modal-footer .btn-primary",
            run: "click",
        },
        {
            content: "The run is rolled back, by whom is shown",
            trigger: ".o_form_view .o_field_widget[name='rollback_user_id']:contains(Tour Manager)",
        },
        {
            content: "Open what the rollback did",
            trigger: ".o_form_view button[name='action_view_changes']",
            run: "click",
        },
        {
            content: "The changes are grouped by object: open the subscribers",
            trigger: ".o_list_view .o_group_header:contains(Subscribers)",
            run: "click",
        },
        {
            content: "The removed records are listed",
            trigger: ".o_list_view .o_data_row td:contains(Deleted by rollback)",
        },
    ],
});
