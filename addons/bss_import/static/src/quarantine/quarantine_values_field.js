/** @odoo-module **/

import { Component, useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { standardFieldProps } from "@web/views/fields/standard_field_props";

/**
 * The values of a quarantined row (values_json: {column: text or null}) as
 * an editable table, one line per export column, so an operator corrects a
 * value without editing JSON by hand. The columns the rejection reasons name
 * come first and are highlighted: that is what usually needs the fix.
 *
 * "Edit as JSON" stays available (e.g. to paste a whole row); the text is
 * checked before it is kept, and the server checks it again on save.
 */
export class QuarantineValuesField extends Component {
    static template = "bss_import.QuarantineValuesField";
    static props = { ...standardFieldProps };

    setup() {
        this.state = useState({ raw: false, rawText: "", rawError: false });
    }

    get text() {
        return this.props.record.data[this.props.name] || "";
    }

    /** The parsed values, or null when the stored text is not a JSON object. */
    get values() {
        try {
            const values = JSON.parse(this.text || "{}");
            return values && typeof values === "object" && !Array.isArray(values) ? values : null;
        } catch {
            return null;
        }
    }

    /**
     * The columns the reasons name, lower-cased. A reason reads "what: detail"
     * ("invalid MSISDN: …", "missing mandatory value: last_name"): a column is
     * named by a word of the "what" part, by a detail that is only a list of
     * names, or anywhere as a snake_case name (account_number). Words of the
     * prose ("country code") do not count.
     */
    get namedColumns() {
        const named = new Set();
        const words = (text) => (text.toLowerCase().match(/[a-z0-9_]+/g) || []);
        for (const line of (this.props.record.data.reasons || "").split("\n")) {
            const at = line.indexOf(":");
            const head = at >= 0 ? line.slice(0, at) : line;
            const tail = at >= 0 ? line.slice(at + 1) : "";
            words(head).forEach((w) => named.add(w));
            if (/^\s*\w+(\s*,\s*\w+)*\s*$/.test(tail)) {
                words(tail).forEach((w) => named.add(w));
            }
            words(line).filter((w) => w.includes("_")).forEach((w) => named.add(w));
        }
        return named;
    }

    get entries() {
        const values = this.values || {};
        const named = this.namedColumns;
        const entries = Object.entries(values).map(([column, value]) => ({
            column,
            value,
            named: named.has(column.toLowerCase()),
        }));
        // Named columns first, each group in column order.
        return [...entries.filter((e) => e.named), ...entries.filter((e) => !e.named)];
    }

    async update(values) {
        await this.props.record.update({ [this.props.name]: JSON.stringify(values, null, 1) });
    }

    onValueInput(entry, ev) {
        const values = { ...(this.values || {}) };
        const text = ev.target.value;
        // An untouched empty value stays "no value" (null) rather than becoming "".
        values[entry.column] = text === "" && entry.value === null ? null : text;
        return this.update(values);
    }

    toggleRaw() {
        this.state.raw = !this.state.raw;
        this.state.rawText = this.text;
        this.state.rawError = false;
    }

    onRawChange(ev) {
        const text = ev.target.value;
        this.state.rawText = text;
        let values;
        try {
            values = JSON.parse(text);
        } catch (error) {
            this.state.rawError = _t("Not valid JSON: %s", error.message);
            return;
        }
        if (!values || typeof values !== "object" || Array.isArray(values)) {
            this.state.rawError = _t("The values must be a JSON object: {\"column\": \"value\", …}.");
            return;
        }
        const bad = Object.entries(values).find(([, v]) => v !== null && typeof v !== "string");
        if (bad) {
            this.state.rawError = _t("Column %s: every value must be a text in quotes, or null.", bad[0]);
            return;
        }
        this.state.rawError = false;
        return this.update(values);
    }
}

registry.category("fields").add("bss_quarantine_values", {
    component: QuarantineValuesField,
    displayName: _t("Quarantined row values"),
    supportedTypes: ["text"],
    fieldDependencies: [{ name: "reasons", type: "text" }],
});
