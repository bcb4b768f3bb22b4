/** @odoo-module **/

import { Component, useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { RPCError } from "@web/core/network/rpc";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { Layout } from "@web/search/layout";
import { standardActionServiceProps } from "@web/webclient/actions/action_service";

const BATCH = "telecom.wallet.batch";

/** Operations per batch: one server transaction each, as the command line sends them. */
export const batchSettings = { size: 10000 };

/** How many refused operations the screen lists (the batches keep them all). */
const REFUSALS_SHOWN = 200;

function readAsBase64(file) {
    return new Promise((resolve, reject) => {
        const reader = new FileReader();
        reader.onload = () => resolve(reader.result.slice(reader.result.indexOf(",") + 1));
        reader.onerror = () => reject(reader.error);
        reader.readAsDataURL(file);
    });
}

/**
 * Apply a CSV of wallet operations (OCS usage, payment settlement, opening balances): the
 * server checks the whole file first (a malformed file posts nothing and every bad row is
 * named), then the operations go in batches of batchSettings.size, each its own transaction,
 * with progress. A batch applied before (the same file again, or a rerun after an interruption)
 * posts nothing twice.
 */
export class WalletBatchFile extends Component {
    static template = "telecom_wallet.WalletBatchFile";
    static components = { Layout };
    static props = { ...standardActionServiceProps };

    setup() {
        this.orm = useService("orm");
        this.actionService = useService("action");
        this.state = useState(this.initialState());
    }

    initialState() {
        return {
            file: null,
            reference: "",
            running: false,
            finished: false,
            error: false,
            total: 0,
            done: 0,
            posted: 0,
            repeated: 0,
            refused: 0,
            batches: [],
            refusals: [],
            rate: 0,
        };
    }

    get percent() {
        return this.state.total ? Math.round((100 * this.state.done) / this.state.total) : 0;
    }

    onFileChange(ev) {
        const reference = this.state.reference;
        Object.assign(this.state, this.initialState(), { reference, file: ev.target.files[0] || null });
    }

    async apply() {
        const file = this.state.file;
        if (!file || this.state.running) {
            return;
        }
        Object.assign(this.state, this.initialState(), { file, reference: this.state.reference, running: true });
        try {
            const content = await readAsBase64(file);
            const checked = await this.orm.call(BATCH, "check_file", [content, file.name]);
            const items = checked.items;
            const reference = this.state.reference.trim() || checked.reference;
            const size = batchSettings.size;
            const count = Math.ceil(items.length / size);
            this.state.total = items.length;
            const started = Date.now();
            for (let number = 1; number <= count; number++) {
                const chunk = items.slice((number - 1) * size, number * size);
                const batchReference = count === 1 ? reference : `${reference}#${number}/${count}`;
                const answer = await this.orm.call(BATCH, "apply", [batchReference, chunk], {
                    source: file.name,
                });
                this.state.batches.push(answer.batch_id);
                this.state.refused += answer.refused;
                if (answer.batch_repeated) {
                    this.state.repeated += answer.posted + answer.repeated;
                } else {
                    this.state.posted += answer.posted;
                    this.state.repeated += answer.repeated;
                }
                for (const result of answer.results) {
                    if (result.status === "refused" && this.state.refusals.length < REFUSALS_SHOWN) {
                        this.state.refusals.push(result);
                    }
                }
                this.state.done += chunk.length;
                this.state.rate = Math.round(this.state.done / Math.max((Date.now() - started) / 1000, 0.001));
            }
            this.state.finished = true;
        } catch (error) {
            if (error instanceof RPCError && error.data?.message) {
                this.state.error = error.data.message;
            } else {
                throw error;
            }
        } finally {
            this.state.running = false;
        }
    }

    openBatches() {
        return this.actionService.doAction({
            type: "ir.actions.act_window",
            name: _t("Wallet Batches"),
            res_model: BATCH,
            views: [
                [false, "list"],
                [false, "form"],
            ],
            domain: [["id", "in", this.state.batches]],
        });
    }
}

registry.category("actions").add("telecom_wallet.batch_file", WalletBatchFile);
