/** @odoo-module **/

import { registry } from "@web/core/registry";

/**
 * A Migration Operator on a confirmed run migrates a pilot cohort: New cohort,
 * one billing account listed, Create cohort, Migrate on the cohort, then the
 * customers still on the legacy system (the other billing account).
 *
 * The test (tests/test_ui_tour.py) passes window.bssImportTourRun (the run's
 * name), window.bssImportTourAccount (the account of the cohort) and
 * window.bssImportTourLegacy (an account left on the legacy system).
 */
function tourValue(name) {
    return window[name] || `(the test did not pass ${name})`;
}

registry.category("web_tour.tours").add("bss_import_cohort_tour", {
    steps: () => [
        {
            content: "Migrate in waves: a new cohort",
            trigger: ".o_form_view .o_statusbar_buttons button[name='action_new_cohort_wizard']",
            run: "click",
        },
        {
            content: "Name the pilot",
            trigger: ".modal .o_field_widget[name='name'] input",
            run: "edit pilot",
        },
        {
            content: "List its billing account",
            trigger: ".modal .o_field_widget[name='value'] textarea",
            run: () => {
                const area = document.querySelector(".modal .o_field_widget[name='value'] textarea");
                area.value = tourValue("bssImportTourAccount");
                area.dispatchEvent(new Event("input", { bubbles: true }));
                area.dispatchEvent(new Event("change", { bubbles: true }));
            },
        },
        {
            content: "Create the cohort",
            trigger: ".modal-footer button[name='action_create']",
            run: "click",
        },
        {
            content: "The cohort belongs to the run",
            trigger: `.o_form_view .o_field_widget[name='cohort_of_id']:contains(${tourValue("bssImportTourRun")})`,
        },
        {
            content: "Migrate the cohort",
            trigger: ".o_form_view .o_statusbar_buttons button[name='action_migrate']",
            run: "click",
        },
        {
            // Not the status bar: with many header buttons it folds its states into a menu.
            content: "The cohort is migrated: the date Odoo owns its customers from is shown",
            trigger: ".o_form_view .o_field_widget[name='date_migrated']",
        },
        {
            content: "Open the customers still on the legacy system",
            trigger: ".o_form_view button[name='action_view_legacy_owned']",
            run: "click",
        },
        {
            content: "They are grouped by object: open the billing accounts",
            trigger: ".o_list_view .o_group_header:contains(Billing Accounts)",
            run: "click",
        },
        {
            content: "The account left out of the pilot is on the legacy system",
            trigger: `.o_list_view .o_data_row td:contains(${tourValue("bssImportTourLegacy")})`,
        },
    ],
});
