/** @odoo-module **/

import { Component, onWillStart, onWillUnmount, useRef, useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { RPCError } from "@web/core/network/rpc";
import { registry } from "@web/core/registry";
import { humanSize } from "@web/core/utils/binary";
import { useService } from "@web/core/utils/hooks";
import { Layout } from "@web/search/layout";
import { standardActionServiceProps } from "@web/webclient/actions/action_service";
import { uploadInChunks } from "./chunked_upload";

const RUN = "bss.import.run";
const FILE = "bss.import.file";
const LINE = "bss.import.mapping.line";
const LINE_FIELDS = [
    "action",
    "canonical",
    "target_field",
    "target_type",
    "confidence",
    "evidence",
    "value_map_json",
    "is_edited",
];
// Order of the run's states; "error" counts as the state the refused step started from.
const RANK = {
    draft: 0,
    detected: 1,
    staged: 2,
    profiled: 3,
    confirmed: 4,
    migrating: 4,
    migrated: 5,
    rolled_back: 5,
};
const CONFIRMED_STATES = ["confirmed", "migrating", "migrated"];
const STEP_OF_STATE = {
    draft: "upload",
    detected: "files",
    staged: "profile",
    profiled: "mapping",
    confirmed: "migrate",
    migrating: "migrate",
    migrated: "migrate",
    // A rolled-back run shows what its phases did; nothing more can be started from it.
    rolled_back: "migrate",
};
const PHASE = "bss.import.phase";
const POLL_INTERVAL = 1000;

/**
 * The step-by-step screens of an import run: upload → detected files →
 * profile → mapping → confirm → migrate. Every step is a method of bss.import.run; the
 * wizard only calls them and re-reads the whole run after each one
 * (get_wizard_data), so what it shows is always what the server holds.
 */
export class ImportWizard extends Component {
    static template = "bss_import.ImportWizard";
    static components = { Layout };
    static props = { ...standardActionServiceProps };

    setup() {
        this.orm = useService("orm");
        this.actionService = useService("action");
        this.notification = useService("notification");
        this.fileInput = useRef("fileInput");
        const params = this.props.action.params || {};
        const context = this.props.action.context || {};
        const runId = parseInt(params.active_id || context.active_id || 0) || false;
        this.state = useState({
            runId,
            data: null,
            options: null,
            step: "upload",
            picked: [],
            busy: false,
            running: false,
            progress: null,
            error: false,
            confirmError: false,
            dirtyFiles: {},
            expanded: {},
            touched: {},
            collapsedFiles: {},
            templateId: "",
            templateName: "",
            savedTemplate: false,
            attentionOnly: false,
            dragging: false,
        });
        this.pollTimer = null;
        onWillStart(async () => {
            this.state.options = await this.orm.call(RUN, "get_wizard_options", [[]]);
            if (this.state.runId) {
                await this.load();
                this.state.step = this.data ? STEP_OF_STATE[this.currentState] : "upload";
            }
        });
        onWillUnmount(() => this.stopPolling());
    }

    // ------------------------------------------------------------ helpers
    get data() {
        return this.state.data;
    }

    get run() {
        return this.state.data?.run;
    }

    /** The run's state, or for a refused step the state it returns to. */
    get currentState() {
        if (!this.run) {
            return "draft";
        }
        return this.run.state === "error" ? this.run.error_state || "draft" : this.run.state;
    }

    get rank() {
        return RANK[this.currentState] ?? 0;
    }

    get display() {
        return { controlPanel: {} };
    }

    get steps() {
        const rank = this.rank;
        const hasFiles = Boolean(this.data?.files.length);
        return [
            { key: "upload", label: _t("Upload"), available: true, done: rank >= 1 },
            { key: "files", label: _t("Detected files"), available: hasFiles, done: rank >= 2 },
            { key: "profile", label: _t("Profile"), available: rank >= 1, done: rank >= 3 },
            { key: "mapping", label: _t("Mapping"), available: rank >= 3, done: rank >= 4 },
            { key: "confirm", label: _t("Confirm"), available: rank >= 3, done: rank >= 4 },
            { key: "migrate", label: _t("Migrate"), available: rank >= 4, done: this.migrationDone },
        ];
    }

    get canUpload() {
        return !this.run || ["draft", "detected"].includes(this.currentState);
    }

    get isConfirmed() {
        return CONFIRMED_STATES.includes(this.run?.state);
    }

    selectionLabel(selection, value) {
        const found = (selection || []).find((item) => item[0] === value);
        return found ? found[1] : value || "";
    }

    objectLabel(object) {
        return this.selectionLabel(this.state.options.objects, object);
    }

    kindLabel(kind) {
        const label = (kind || "").replace(/_/g, " ");
        return label.charAt(0).toUpperCase() + label.slice(1);
    }

    humanSize(size) {
        return humanSize(size || 0);
    }

    formatNumber(value) {
        return (value || 0).toLocaleString();
    }

    percent(done, total) {
        if (!total) {
            return 0;
        }
        return Math.min(100, Math.round((100 * done) / total));
    }

    goTo(step) {
        const found = this.steps.find((s) => s.key === step);
        if (found && found.available && !this.state.busy) {
            this.state.error = false;
            this.state.step = step;
        }
    }

    /**
     * Run a server call, showing a refused call (UserError, ValidationError,
     * AccessError) in the wizard's alert instead of the error dialog, so the
     * operator reads it next to what must be corrected.
     *
     * @returns {Promise<{ok: boolean, result?: any, message?: string}>}
     */
    async call(func, { busy = true } = {}) {
        this.state.error = false;
        if (busy) {
            this.state.busy = true;
        }
        try {
            return { ok: true, result: await func() };
        } catch (error) {
            if (error instanceof RPCError && error.data?.message) {
                this.state.error = error.data.message;
                return { ok: false, message: error.data.message };
            }
            throw error;
        } finally {
            if (busy) {
                this.state.busy = false;
            }
        }
    }

    async load() {
        const { ok } = await this.call(
            async () => {
                this.state.data = await this.orm.call(RUN, "get_wizard_data", [[this.state.runId]]);
            },
            { busy: false }
        );
        if (ok) {
            this.env.config.setDisplayName(this.run.name);
        } else {
            // The run is gone or not readable: start over.
            this.state.runId = false;
            this.state.data = null;
        }
    }

    /**
     * Keep the run in the URL and on the action itself: coming back to the
     * wizard through the breadcrumbs (e.g. from a quarantined row) mounts it
     * again from the same action, which must then reopen this run.
     */
    rememberRun(runId) {
        this.props.updateActionState?.({ active_id: runId });
        this.props.action.params = { ...(this.props.action.params || {}), active_id: runId };
        this.props.action.context = { ...(this.props.action.context || {}), active_id: runId };
    }

    openRun() {
        return this.actionService.doAction({
            type: "ir.actions.act_window",
            res_model: RUN,
            res_id: this.state.runId,
            views: [[false, "form"]],
        });
    }

    newRun() {
        Object.assign(this.state, {
            runId: false,
            data: null,
            step: "upload",
            picked: [],
            error: false,
            confirmError: false,
            savedTemplate: false,
            templateName: "",
            dirtyFiles: {},
        });
        this.rememberRun(false);
        this.env.config.setDisplayName(this.props.action.name || _t("New import"));
    }

    // ------------------------------------------------------------- upload
    onFilesPicked(ev) {
        this.addFiles(ev.target.files);
        ev.target.value = "";
    }

    onDragOver(ev) {
        if (this.canUpload && !this.state.busy) {
            ev.preventDefault();
            this.state.dragging = true;
        }
    }

    onDrop(ev) {
        ev.preventDefault();
        this.state.dragging = false;
        if (this.canUpload && !this.state.busy) {
            this.addFiles(ev.dataTransfer.files);
        }
    }

    addFiles(fileList) {
        for (const file of fileList) {
            const existing = this.state.picked.findIndex((item) => item.name === file.name);
            const item = { file, name: file.name, size: file.size, sent: 0, status: "pending", error: false };
            if (existing >= 0) {
                this.state.picked.splice(existing, 1, item);
            } else {
                this.state.picked.push(item);
            }
        }
    }

    removePicked(item) {
        const index = this.state.picked.indexOf(item);
        if (index >= 0) {
            this.state.picked.splice(index, 1);
        }
    }

    async ensureRun() {
        if (this.state.runId) {
            return true;
        }
        const { ok, result } = await this.call(() => this.orm.create(RUN, [{}]));
        if (!ok) {
            return false;
        }
        this.state.runId = result[0];
        this.rememberRun(this.state.runId);
        await this.load();
        return true;
    }

    /** Send the picked files in chunks (resuming any partial upload), then detect. */
    async uploadAndDetect() {
        if (!(await this.ensureRun())) {
            return;
        }
        this.state.busy = true;
        this.state.error = false;
        try {
            const uploads = await this.orm.call(RUN, "get_uploads", [[this.state.runId]]);
            const held = Object.fromEntries(uploads.map((u) => [u.name, u.size]));
            for (const item of this.state.picked) {
                if (item.status === "done") {
                    continue;
                }
                const have = held[item.name] || 0;
                if (have > item.size) {
                    item.status = "error";
                    item.error = _t(
                        "A different file named %s was already uploaded to this run: clear the uploads first.",
                        item.name
                    );
                    this.state.error = item.error;
                    return;
                }
                item.sent = have;
                if (item.name in held && have === item.size) {
                    item.status = "done";
                    continue;
                }
                item.status = "uploading";
                try {
                    await uploadInChunks(this.orm, this.state.runId, item.file, {
                        offset: have,
                        onProgress: (sent) => {
                            item.sent = sent;
                        },
                    });
                    item.status = "done";
                } catch (error) {
                    if (error instanceof RPCError && error.data?.message) {
                        item.status = "error";
                        item.error = error.data.message;
                        this.state.error = error.data.message;
                        return;
                    }
                    throw error;
                }
            }
        } finally {
            this.state.busy = false;
        }
        await this.detect();
    }

    async detect() {
        const { ok } = await this.runLongStep("detect", "action_detect");
        await this.load();
        if (ok && this.data.files.length) {
            this.state.picked = [];
            this.state.dirtyFiles = {};
            this.state.step = "files";
        }
    }

    async clearUploads() {
        const { ok } = await this.call(() => this.orm.call(RUN, "action_clear_uploads", [[this.state.runId]]));
        if (ok) {
            this.state.picked = [];
            await this.load();
        }
    }

    // ---------------------------------------------------- detected files
    async writeFile(file, field, value, ev) {
        const previous = file[field];
        const { ok } = await this.call(() => this.orm.write(FILE, [file.id], { [field]: value }), {
            busy: false,
        });
        if (!ok) {
            if (ev) {
                ev.target[ev.target.type === "checkbox" ? "checked" : "value"] = previous || "";
            }
            return;
        }
        file[field] = value;
        if (field === "include") {
            // Excluding an unreadable file may clear the run's refusal.
            await this.load();
        } else {
            this.state.dirtyFiles[file.id] = true;
        }
    }

    async redetect(file) {
        await this.call(() => this.orm.call(FILE, "action_redetect", [[file.id]]));
        delete this.state.dirtyFiles[file.id];
        await this.load();
    }

    get skippedFiles() {
        return (this.run?.skipped_files || "").split("\n").filter(Boolean);
    }

    // ------------------------------------------------------------ profile
    startPolling(step) {
        this.stopPolling();
        this.state.progress = { step, done: 0, total: 0, message: false };
        let inFlight = false;
        this.pollTimer = setInterval(async () => {
            if (inFlight) {
                return;
            }
            inFlight = true;
            try {
                // Its own request: the step's request stays busy until the step ends.
                const progress = await this.orm.silent.call(RUN, "get_progress", [[this.state.runId]]);
                if (this.state.running && progress.step === this.state.running) {
                    this.state.progress = progress;
                }
            } catch {
                // Progress is informative: a failed poll is retried at the next tick.
            } finally {
                inFlight = false;
            }
        }, POLL_INTERVAL);
    }

    stopPolling() {
        if (this.pollTimer) {
            clearInterval(this.pollTimer);
            this.pollTimer = null;
        }
    }

    async runLongStep(step, method) {
        this.state.running = step;
        this.startPolling(step);
        try {
            return await this.call(() => this.orm.call(RUN, method, [[this.state.runId]]));
        } finally {
            this.stopPolling();
            this.state.running = false;
            this.state.progress = null;
        }
    }

    /** Stage then profile, each in its own request and transaction, with progress. */
    async stageAndProfile() {
        let res = await this.runLongStep("stage", "action_stage");
        if (res.ok && res.result) {
            res = await this.runLongStep("profile", "action_profile");
        }
        await this.load();
    }

    async profileOnly() {
        await this.runLongStep("profile", "action_profile");
        await this.load();
    }

    get runningLabel() {
        return {
            detect: _t("Detecting the files"),
            stage: _t("Staging the rows"),
            profile: _t("Profiling the data"),
            migrate: _t("Migrating the phases in dependency order"),
        }[this.state.running];
    }

    get findingsByObject() {
        const groups = new Map();
        const rows = Object.fromEntries((this.data?.objects || []).map((o) => [o.object, o.rows]));
        for (const item of this.data?.objects || []) {
            groups.set(item.object, { object: item.object, rows: item.rows, affected: 0, findings: [] });
        }
        for (const finding of this.data?.findings || []) {
            if (!groups.has(finding.object)) {
                groups.set(finding.object, {
                    object: finding.object,
                    rows: rows[finding.object] || 0,
                    affected: 0,
                    findings: [],
                });
            }
            const group = groups.get(finding.object);
            group.findings.push(finding);
            if (finding.unit === "row") {
                group.affected += finding.count;
            }
        }
        return [...groups.values()];
    }

    get findingTotals() {
        return Object.entries(this.data?.finding_totals || {}).map(([kind, count]) => ({ kind, count }));
    }

    openFinding(finding) {
        return this.actionService.doAction({
            type: "ir.actions.act_window",
            name: _t("Rows: %s", this.kindLabel(finding.kind)),
            res_model: "bss.import.finding",
            res_id: finding.id,
            views: [[false, "form"]],
            target: "new",
        });
    }

    reportUrl(fmt) {
        return `/bss_import/report/${this.state.runId}/${fmt}`;
    }

    // ------------------------------------------------------------ mapping
    get mappingFiles() {
        const byFile = new Map();
        for (const file of this.data?.files || []) {
            if (file.include) {
                byFile.set(file.id, { file, lines: [], attention: 0, edited: 0 });
            }
        }
        for (const line of this.data?.lines || []) {
            const group = byFile.get(line.file_id[0]);
            if (!group) {
                continue;
            }
            const attention = this.needsAttention(line);
            group.attention += attention ? 1 : 0;
            group.edited += line.is_edited ? 1 : 0;
            if (!this.state.attentionOnly || attention || line.is_edited || this.state.touched[line.id]) {
                group.lines.push(line);
            }
        }
        const groups = [...byFile.values()];
        return this.state.attentionOnly ? groups.filter((g) => g.lines.length) : groups;
    }

    needsAttention(line) {
        if (line.action === "drop" || line.action === "skip") {
            return false;
        }
        return line.confidence < 0.5 || !line.target_field || this.undecidedCodes(line) > 0;
    }

    /** How many source codes of a selection column still have no target value. */
    undecidedCodes(line) {
        if (line.target_type !== "selection" || !line.value_map_json) {
            return 0;
        }
        try {
            const map = JSON.parse(line.value_map_json);
            return Object.values(map).filter((v) => v === null || v === "").length;
        } catch {
            return 0;
        }
    }

    confidenceClass(confidence) {
        if (confidence >= 0.8) {
            return "text-bg-success";
        }
        return confidence >= 0.5 ? "text-bg-warning" : "text-bg-danger";
    }

    columnsOf(table) {
        return this.state.options.table_info[table]?.columns || [];
    }

    targetsOf(table) {
        const targets = this.state.options.table_info[table]?.targets || {};
        const seen = new Set();
        return Object.values(targets).filter((t) => !seen.has(t.field) && seen.add(t.field));
    }

    toggleExpanded(line) {
        this.state.expanded[line.id] = !this.state.expanded[line.id];
    }

    toggleFile(fileId) {
        this.state.collapsedFiles[fileId] = !this.state.collapsedFiles[fileId];
    }

    async writeLine(line, vals, ev) {
        // Keep a line the operator works on visible in "Only columns to check".
        this.state.touched[line.id] = true;
        const { ok } = await this.call(() => this.orm.write(LINE, [line.id], vals), { busy: false });
        // Read back in any case: is_edited is computed, and a refused edit must show the old value.
        const [fresh] = await this.orm.read(LINE, [line.id], LINE_FIELDS);
        Object.assign(line, fresh);
        if (!ok && ev) {
            ev.target.value = line[Object.keys(vals)[0]] || "";
        }
        return ok;
    }

    onLineAction(line, ev) {
        return this.writeLine(line, { action: ev.target.value }, ev);
    }

    /** Choosing what a column means also proposes that meaning's standard field, when it has one. */
    onLineCanonical(line, ev) {
        const canonical = ev.target.value || false;
        const targets = this.state.options.table_info[line.table]?.targets || {};
        const vals = { canonical };
        const previous = targets[line.canonical];
        const proposed = targets[canonical];
        if (proposed && (!line.target_field || line.target_field === previous?.field)) {
            vals.target_field = proposed.field;
            vals.target_type = proposed.type;
        }
        return this.writeLine(line, vals, ev);
    }

    onLineField(line, field, ev) {
        return this.writeLine(line, { [field]: ev.target.value.trim() || false }, ev);
    }

    onLineValueMap(line, ev) {
        const text = ev.target.value.trim();
        if (text) {
            try {
                JSON.parse(text);
            } catch {
                this.state.error = _t("Column %s: the value map is not valid JSON.", line.header);
                ev.target.value = line.value_map_json || "";
                return;
            }
        }
        return this.writeLine(line, { value_map_json: text || false }, ev);
    }

    /** Back to the proposal: the line is no longer counted as changed by the operator. */
    resetLine(line) {
        return this.writeLine(line, {
            action: line.suggested_action,
            canonical: line.suggested_canonical || false,
            target_field: line.suggested_field || false,
            target_type: line.suggested_type || false,
            value_map_json: line.suggested_value_map_json || false,
        });
    }

    onTemplatePicked(ev) {
        this.state.templateId = parseInt(ev.target.value) || "";
    }

    async applyTemplate() {
        const templateId = this.state.templateId;
        if (!templateId) {
            return;
        }
        const { ok, result } = await this.call(() =>
            this.orm.call(RUN, "action_apply_template", [[this.state.runId], templateId])
        );
        if (ok) {
            this.notification.add(_t("Template applied: %s column(s) changed.", result), { type: "success" });
            await this.load();
        }
    }

    // ------------------------------------------------------------ confirm
    get mappingSummary() {
        const included = new Set((this.data?.files || []).filter((f) => f.include).map((f) => f.id));
        const summary = { map: 0, new_field: 0, skip: 0, drop: 0, edited: 0, total: 0 };
        for (const line of this.data?.lines || []) {
            if (!included.has(line.file_id[0])) {
                continue;
            }
            summary.total++;
            summary[line.action]++;
            summary.edited += line.is_edited ? 1 : 0;
        }
        return summary;
    }

    async confirmMapping() {
        this.state.confirmError = false;
        const { ok, message } = await this.call(() =>
            this.orm.call(RUN, "action_confirm_mapping", [[this.state.runId]])
        );
        if (!ok) {
            // Shown on the confirm step with the list of what is missing.
            this.state.error = false;
            this.state.confirmError = message;
        }
        await this.load();
    }

    async saveTemplate() {
        const name = this.state.templateName.trim();
        if (!name) {
            this.state.error = _t("Give the mapping template a name.");
            return;
        }
        const { ok } = await this.call(() => this.orm.call(RUN, "action_save_template", [[this.state.runId], name]));
        if (ok) {
            this.state.savedTemplate = name;
            this.state.templateName = "";
            await this.load();
        }
    }

    openTemplate() {
        return this.actionService.doAction({
            type: "ir.actions.act_window",
            res_model: "bss.import.mapping.template",
            res_id: this.run.template_id[0],
            views: [[false, "form"]],
        });
    }

    // ------------------------------------------------------------ migrate
    get migration() {
        return this.state.data?.migration || { phases: [], quarantine: [], quarantine_open: 0 };
    }

    /** Migrated, every phase done and nothing blocking: the run is ready for sign-off. */
    get migrationDone() {
        const phases = this.migration.phases;
        return (
            this.run?.state === "migrated" &&
            phases.length > 0 &&
            phases.every((p) => p.state === "done" && p.balanced && (!p.mismatch || p.acknowledged_date))
        );
    }

    get canMigrate() {
        return ["confirmed", "migrated"].includes(this.run?.state);
    }

    get migrationTotals() {
        const totals = { source_rows: 0, duplicates_collapsed: 0, quarantined: 0, created: 0, updated: 0, unchanged: 0 };
        for (const phase of this.migration.phases) {
            for (const name of Object.keys(totals)) {
                totals[name] += phase[name];
            }
        }
        return totals;
    }

    phaseStateClass(phase) {
        return (
            {
                done: "text-bg-success",
                running: "text-bg-info",
                blocked: "text-bg-danger",
                error: "text-bg-danger",
            }[phase.state] || "text-bg-secondary"
        );
    }

    phaseStateLabel(phase) {
        return (
            {
                pending: _t("Pending"),
                running: _t("Running"),
                done: _t("Done"),
                blocked: _t("Blocked"),
                error: _t("Error"),
            }[phase.state] || phase.state
        );
    }

    async migrate() {
        const { ok } = await this.runLongStep("migrate", "action_migrate");
        await this.load();
        if (ok) {
            const off = this.migration.phases.filter((p) => p.blocking || ["blocked", "error"].includes(p.state));
            this.notification.add(
                off.length
                    ? _t("Migration finished: %s phase(s) need attention.", off.length)
                    : _t("Migration finished: every phase reconciles."),
                { type: off.length ? "warning" : "success" }
            );
        }
    }

    openReconciliation(phase) {
        return this.actionService.doAction(
            {
                type: "ir.actions.act_window",
                name: _t("Reconciliation: %s", this.objectLabel(phase.object)),
                res_model: PHASE,
                res_id: phase.id,
                views: [[false, "form"]],
                target: "new",
            },
            { onClose: () => this.load() }
        );
    }

    async acknowledge(phase) {
        const action = await this.orm.call(PHASE, "action_open_acknowledge", [[phase.id]]);
        // Called through the ORM (not a button): the web client needs the view spelled out.
        return this.actionService.doAction({ ...action, views: [[false, "form"]] }, { onClose: () => this.load() });
    }

    async openQuarantine(object = false, reason = false) {
        const { ok, result } = await this.call(
            () => this.orm.call(RUN, "action_open_quarantine", [[this.state.runId], object, reason]),
            { busy: false }
        );
        if (ok) {
            return this.actionService.doAction(result);
        }
    }
}

registry.category("actions").add("bss_import.import_wizard", ImportWizard);
