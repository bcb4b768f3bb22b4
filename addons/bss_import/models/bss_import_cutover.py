import json
import logging
from decimal import Decimal

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..lib import cutover as rules
from ..services import cutover as cutover_sql
from ..services.migration.base import MAIL_CONTEXT
from ..services.migration.context import MigrationContext
from ..services.migration.runner import read_committed_cursor

_logger = logging.getLogger(__name__)

GROUP_USER = "bss_import.bss_import_group_user"
GROUP_MANAGER = "bss_import.bss_import_group_manager"
#: Opening balances posted per wallet batch (one transaction each) by the finalize.
FINALIZE_CHUNK = 10000
#: Steps only a Migration Manager runs: they commit the source's read-only window or the money.
MANAGER_STEPS = ("freeze", "finalize", "rollback")
#: Steps that post or reverse journal entries: the Migration Manager must be a Wallet Manager too.
MONEY_STEPS = ("finalize", "rollback")
GROUP_WALLET_MANAGER = "telecom_wallet.telecom_wallet_group_manager"
REFERENCE = "OCS-CUTOVER/%(run)s"


class BssImportCutover(models.Model):
    """The prepaid balance cutover of a migrated run: OCS buckets into ``telecom_wallet``.

    ``shadow → verified → frozen → delta applied → re-verified → finalized``
    (or rolled back), one step at a time (:mod:`..lib.cutover` says which step
    runs from which state). Until the finalize nothing is in the general
    ledger: monetary buckets are prepared lines of draft wallets, allowances
    are suspended buckets. The finalize posts every opening balance through
    the wallet batch path (batch and item references make a resumed finalize
    post nothing twice), then activates the wallets and buckets; no wallet of
    the run is spendable before every balance is posted.
    """

    _name = "bss.import.cutover"
    _inherit = ["mail.thread"]
    _description = "OCS prepaid cutover"
    _order = "id desc"
    _rec_name = "run_id"

    run_id = fields.Many2one("bss.import.run", required=True, readonly=True, ondelete="restrict", index=True)
    company_id = fields.Many2one(related="run_id.company_id", store=True, index=True)
    state = fields.Selection(list(rules.STATES), required=True, default="none", readonly=True, tracking=True)
    line_ids = fields.One2many("bss.import.cutover.line", "cutover_id", string="Buckets", readonly=True)
    mismatch_ids = fields.One2many(
        "bss.import.cutover.mismatch", "cutover_id", string="Mismatches", readonly=True
    )
    wallet_ids = fields.Many2many(
        "telecom.wallet",
        "bss_import_cutover_telecom_wallet_rel",
        "cutover_id",
        "wallet_id",
        string="Wallets created",
        readonly=True,
        help="The draft wallets the shadow created (a rollback before the finalize deletes them).",
    )
    shadow_date = fields.Datetime(readonly=True)
    shadow_uid = fields.Many2one("res.users", "Shadow written by", readonly=True)
    verify_date = fields.Datetime("Last verified", readonly=True)
    freeze_date = fields.Datetime(
        "Source frozen at", readonly=True, help="Start of the read-only window on the source OCS."
    )
    frozen_by = fields.Many2one("res.users", readonly=True)
    freeze_snapshot = fields.Char(readonly=True, help="The OCS snapshot the freeze refers to.")
    delta_run_id = fields.Many2one(
        "bss.import.run",
        "Final snapshot",
        readonly=True,
        help="The delta pass holding the final OCS snapshot.",
    )
    delta_date = fields.Datetime(readonly=True)
    delta_counts_json = fields.Text(readonly=True)
    finalize_date = fields.Datetime(readonly=True)
    finalized_by = fields.Many2one("res.users", readonly=True)
    rollback_date = fields.Datetime(readonly=True)
    rolled_back_by = fields.Many2one("res.users", readonly=True)
    totals_json = fields.Text(readonly=True, help="Totals of the last step, by currency (decimal text).")
    counts_json = fields.Text(readonly=True)
    wallet_count = fields.Integer(compute="_compute_counts")
    bucket_count = fields.Integer(compute="_compute_counts")
    quarantined_count = fields.Integer(compute="_compute_counts")
    mismatch_count = fields.Integer(compute="_compute_counts", string="Open mismatches")
    summary_text = fields.Text(compute="_compute_counts", string="Totals")

    _sql_constraints = [("run_uniq", "unique(run_id)", "A run has one cutover.")]

    # ------------------------------------------------------------------ ORM
    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            raise AccessError(_("A cutover is started from its run."))
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su:
            raise AccessError(_("A cutover changes by its steps only."))
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        if not self.env.su:
            raise AccessError(_("A cutover is kept: roll it back instead."))

    def _compute_counts(self):
        for cutover in self:
            summary = cutover._summary()
            cutover.wallet_count = summary["wallets"]
            cutover.bucket_count = summary["buckets"]
            cutover.quarantined_count = summary["quarantined"]
            cutover.mismatch_count = summary["mismatches"]
            cutover.summary_text = "\n".join(
                _(
                    "%(currency)s: OCS %(ocs)s = Odoo %(odoo)s + quarantined %(quarantined)s",
                    currency=code,
                    ocs=t["source_total"],
                    odoo=t["odoo_total"],
                    quarantined=t["quarantined_total"],
                )
                for code, t in sorted(json.loads(cutover.totals_json or "{}").items())
            )

    # ------------------------------------------------------------ entry point
    @api.model
    def run_step(self, run_id, step, snapshot=None, delta_run_id=None):
        """Run one cutover ``step`` of run ``run_id``; return :meth:`get_summary`.

        ``step``: shadow, verify, freeze (``snapshot``: what the read-only
        window refers to), delta (``delta_run_id``: the staged delta pass
        holding the final OCS snapshot), finalize or rollback.
        """
        run = self.env["bss.import.run"].browse(run_id).exists()
        if not run:
            raise UserError(_("No import run %(id)s.", id=run_id))
        cutover = self._for_run(run)
        method = {
            "shadow": cutover.action_shadow,
            "verify": cutover.action_verify,
            "freeze": lambda: cutover.action_freeze(snapshot),
            "delta": lambda: cutover.action_delta(delta_run_id),
            "finalize": cutover._finalize,
            "rollback": cutover.action_rollback,
            "status": lambda: None,
        }.get(step)
        if method is None:
            raise UserError(_("Unknown cutover step %(step)r.", step=step))
        result = method()
        return result if isinstance(result, dict) else cutover.get_summary()

    @api.model
    def _for_run(self, run):
        self._check_group(GROUP_USER)
        run.check_access("read")
        # sudo: the cutover record is the steps' (create refuses other callers); rights checked above.
        cutover = self.sudo().search([("run_id", "=", run.id)], limit=1)
        if not cutover:
            cutover = self.sudo().create({"run_id": run.id})
        return cutover.with_env(self.env)

    # ------------------------------------------------------------------ checks
    def _check_group(self, group):
        if not self.env.user.has_group(group):
            messages = {
                GROUP_MANAGER: _("Only a Migration Manager can do this cutover step."),
                GROUP_WALLET_MANAGER: _(
                    "This cutover step posts or reverses the opening balances: it needs a Migration "
                    "Manager who is also a Wallet Manager."
                ),
            }
            raise AccessError(messages.get(group, _("Only Migration Operators can run the cutover.")))

    def _begin(self, step):
        """Check rights and state; lock the run. Returns the sudo cutover the step writes with."""
        self.ensure_one()
        self._check_group(GROUP_MANAGER if step in MANAGER_STEPS else GROUP_USER)
        if step in MONEY_STEPS and self.state in ("reverified", "finalizing", "finalized"):
            self._check_group(GROUP_WALLET_MANAGER)
        run = self.run_id
        run.check_access("write")
        run._lock()
        self.env.cr.execute(SQL("SELECT id FROM bss_import_cutover WHERE id = %s FOR NO KEY UPDATE", self.id))
        self.invalidate_recordset()
        try:
            rules.check_step(step, self.state)
        except rules.CutoverError as error:
            raise UserError(_("Cutover of run %(run)s: %(error)s", run=run.name, error=error)) from None
        if step == "shadow" and run.state != "migrated":
            raise UserError(
                _(
                    "Run %(run)s is not migrated: its subscribers must be in Odoo before their balances.",
                    run=run.name,
                )
            )
        # sudo: lines, wallets, buckets and quarantine rows are the migration's to write (checked above).
        return self.sudo().with_company(run.company_id).with_context(**MAIL_CONTEXT)

    def _migration_context(self, run):
        return MigrationContext(run.sudo())

    def _log(self, message):
        self.sudo()._message_log(body=message)
        _logger.info("OCS cutover of run %s: %s", self.run_id.name, message)

    # ------------------------------------------------------------------ steps
    def action_shadow(self):
        """Write the shadow: draft wallets with prepared opening balances, suspended allowances.

        A shadow written again (before the freeze) replaces the previous one.
        """
        cutover = self._begin("shadow")
        if cutover.state != "none":
            cutover._discard()
        counts = cutover_sql.apply_snapshot(self._migration_context(cutover.run_id), cutover)
        cutover.write(
            {
                "state": "shadow",
                "shadow_date": fields.Datetime.now(),
                "shadow_uid": self.env.uid,
                "counts_json": json.dumps(counts),
                "freeze_date": False,
                "frozen_by": False,
                "freeze_snapshot": False,
                "delta_run_id": False,
                "rollback_date": False,
                "rolled_back_by": False,
            }
        )
        cutover._measure()
        self._log(
            _(
                "%(user)s wrote the shadow: %(new)s buckets prepared, %(quarantined)s quarantined, "
                "%(expired)s expired.",
                user=self.env.user.name,
                new=counts["new"] - counts["quarantined"] - counts["expired"],
                quarantined=counts["quarantined"],
                expired=counts["expired"],
            )
        )
        return True

    def action_verify(self):
        """Compare Odoo with the OCS snapshot per wallet, per currency and per usage type."""
        cutover = self._begin("verify")
        cutover._measure()
        cutover.write(
            {"state": rules.next_state("verify", cutover.state), "verify_date": fields.Datetime.now()}
        )
        self._log(
            _(
                "%(user)s verified: %(count)s open mismatches.",
                user=self.env.user.name,
                count=cutover._open_mismatches(),
            )
        )
        return True

    def action_freeze(self, snapshot=None, freeze_date=None):
        """Record the start of the source OCS's read-only window (Migration Manager)."""
        cutover = self._begin("freeze")
        if cutover._open_mismatches():
            raise UserError(
                _(
                    "Cutover of run %(run)s: acknowledge or resolve the open mismatches before the freeze.",
                    run=cutover.run_id.name,
                )
            )
        cutover.write(
            {
                "state": "frozen",
                "freeze_date": freeze_date or fields.Datetime.now(),
                "frozen_by": self.env.uid,
                "freeze_snapshot": (snapshot or "").strip() or False,
            }
        )
        self._log(
            _(
                "%(user)s froze the source OCS (snapshot %(snapshot)s).",
                user=self.env.user.name,
                snapshot=snapshot or "-",
            )
        )
        return True

    def action_delta(self, delta_run_id):
        """Apply the final snapshot, staged as a delta pass of the run: changed balances adjust the
        shadow, new buckets are added, vanished ones closed."""
        cutover = self._begin("delta")
        run = cutover.run_id
        delta_run = self.env["bss.import.run"].browse(delta_run_id or 0).exists()
        origin = run.delta_of_id or run
        if not delta_run or (delta_run.delta_of_id or delta_run) != origin or delta_run == run:
            raise UserError(
                _(
                    "Cutover of run %(run)s: give a delta pass of the run holding the final OCS snapshot.",
                    run=run.name,
                )
            )
        delta_run.check_access("read")
        delta_run._check_mapping_confirmed()
        counts = cutover_sql.apply_snapshot(self._migration_context(delta_run), cutover, delta=True)
        cutover.write(
            {
                "state": "delta",
                "delta_run_id": delta_run.id,
                "delta_date": fields.Datetime.now(),
                "delta_counts_json": json.dumps(counts),
            }
        )
        cutover._measure()
        self._log(
            _(
                "%(user)s applied the final snapshot %(delta)s: %(new)s new, %(changed)s changed, "
                "%(closed)s closed.",
                user=self.env.user.name,
                delta=delta_run.name,
                new=counts["new"],
                changed=counts["changed"],
                closed=counts["closed"],
            )
        )
        return True

    def action_delta_latest(self):
        """Apply the latest delta pass of the run whose mapping is confirmed (the screen's button)."""
        self.ensure_one()
        origin = self.run_id.delta_of_id or self.run_id
        passes = self.env["bss.import.run"].search(
            [("delta_of_id", "=", origin.id), ("state", "in", ("confirmed", "migrating", "migrated"))],
            order="id desc",
            limit=1,
        )
        if not passes:
            raise UserError(
                _(
                    "Run %(run)s has no delta pass with a confirmed mapping: stage the final OCS snapshot "
                    "as a delta pass of the run first.",
                    run=origin.name,
                )
            )
        return self.action_delta(passes.id)

    def action_finalize(self):
        """Post every opening balance, then make the wallets and buckets live (Migration Manager).

        Each batch of opening balances is committed on its own: a finalize
        that stops (a crash, a refused balance) is run again and posts what
        is left; a batch already posted is found by its reference and not
        posted again. A second finalize of a finalized cutover does nothing.
        """
        self._finalize()
        return True

    def _finalize(self):
        """:meth:`action_finalize`; returns :meth:`get_summary` as the last committed part reads it
        (the caller's snapshot predates what the finalize's own cursors committed)."""
        self.ensure_one()
        self.env.flush_all()
        # Every part runs on a cursor of its own, committed: the caller's transaction holds no lock
        # the batches wait for, and what a part did survives a crash of the next.
        with read_committed_cursor(self.env.registry) as cr:
            cutover = self.with_env(self.env(cr=cr))._begin("finalize")
            if cutover.state == "finalized":
                return self.with_env(cutover.env(su=False)).get_summary()
            cutover._measure()
            if cutover._open_mismatches():
                raise UserError(
                    _(
                        "Cutover of run %(run)s: %(count)s mismatches between the OCS and Odoo are not "
                        "acknowledged: nothing is posted.",
                        run=cutover.run_id.name,
                        count=cutover._open_mismatches(),
                    )
                )
            if cutover.state == "reverified":
                # Which batch posts which balance is decided once: a resumed finalize sends the same batches.
                cr.execute(
                    SQL(
                        """UPDATE bss_import_cutover_line l SET finalize_chunk = n.chunk
                             FROM (SELECT id, (ROW_NUMBER() OVER (ORDER BY id) - 1) / %s AS chunk
                                     FROM bss_import_cutover_line
                                    WHERE cutover_id = %s AND kind = 'monetary' AND state = 'prepared') n
                            WHERE l.id = n.id""",
                        cutover._finalize_chunk(),
                        cutover.id,
                    )
                )
                cutover.write({"state": "finalizing"})
        self._post_openings()
        with read_committed_cursor(self.env.registry) as cr:
            cutover = self.with_env(self.env(cr=cr))._begin("finalize")
            if cutover.state == "finalizing":
                cutover._activate()
                cutover.write(
                    {
                        "state": "finalized",
                        "finalize_date": fields.Datetime.now(),
                        "finalized_by": self.env.uid,
                    }
                )
                cutover._measure()
                cutover._log(
                    _(
                        "%(user)s finalized the cutover: Odoo is the system of record for balances.",
                        user=self.env.user.name,
                    )
                )
            summary = self.with_env(cutover.env(su=False)).get_summary()
        self.env.invalidate_all()
        return summary

    def _finalize_chunk(self):
        """Opening balances per wallet batch: the ``bss_import.cutover_finalize_chunk`` system
        parameter, else :data:`FINALIZE_CHUNK`."""
        # sudo: a system parameter the manager may not read; only its number is used.
        value = self.env["ir.config_parameter"].sudo().get_param("bss_import.cutover_finalize_chunk")
        if not value:
            return FINALIZE_CHUNK
        try:
            size = int(value)
        except ValueError:
            size = 0
        if size < 1:
            raise UserError(
                _(
                    "The system parameter bss_import.cutover_finalize_chunk must be a whole number of "
                    "opening balances of at least 1, not %r.",
                    value,
                )
            )
        return size

    def _post_openings(self):
        """Post the prepared opening balances, one committed wallet batch per chunk."""
        run = self.run_id
        reference = REFERENCE % {"run": run.id}
        chunk = None
        while True:
            with read_committed_cursor(self.env.registry) as cr:
                # As the caller, a Wallet Manager (checked by _begin): Odoo hashes posted entries with
                # the user's own rights, never the superuser's.
                env = self.env(cr=cr, su=False)
                cutover = self.with_env(env).with_company(run.company_id)
                cr.execute(
                    SQL("SELECT state FROM bss_import_cutover WHERE id = %s FOR NO KEY UPDATE", self.id)
                )
                if cr.fetchone()[0] != "finalizing":
                    return
                rows = []
                if chunk is not None:
                    # The chunks are numbered in a row: the next one, found by its number.
                    cr.execute(
                        SQL(
                            """SELECT id, bucket_key, wallet_id, amount, currency_code, finalize_chunk
                                 FROM bss_import_cutover_line
                                WHERE finalize_chunk = %s AND cutover_id = %s AND kind = 'monetary'
                                  AND state = 'prepared'
                                ORDER BY id""",
                            chunk,
                            self.id,
                        )
                    )
                    rows = cr.fetchall()
                if not rows:
                    # The first chunk left (a resumed finalize starts where the last one stopped).
                    cr.execute(
                        SQL(
                            """SELECT id, bucket_key, wallet_id, amount, currency_code, finalize_chunk
                                 FROM bss_import_cutover_line
                                WHERE cutover_id = %(c)s AND kind = 'monetary' AND state = 'prepared'
                                  AND finalize_chunk = (
                                      SELECT MIN(finalize_chunk) FROM bss_import_cutover_line
                                       WHERE cutover_id = %(c)s AND kind = 'monetary' AND state = 'prepared')
                                ORDER BY id""",
                            c=self.id,
                        )
                    )
                    rows = cr.fetchall()
                if not rows:
                    return
                chunk = rows[0][5]
                postable = [row for row in rows if row[3]]
                operation_of = {}
                if postable:
                    result = cutover.env["telecom.wallet.batch"].apply(
                        f"{reference}/{chunk:05d}",
                        [
                            {
                                "type": "opening",
                                "wallet_id": wallet_id,
                                "amount": str(amount),
                                "currency": currency,
                                "reference": f"{reference}/{key}",
                            }
                            for _id, key, wallet_id, amount, currency, _chunk in postable
                        ],
                        company_id=run.company_id.id,
                        source=_("OCS cutover of run %s", run.name),
                    )
                    refused = [r for r in result["results"] if r["status"] == "refused"]
                    if refused:
                        raise UserError(
                            _(
                                "Cutover of run %(run)s: the opening balance %(reference)s was refused "
                                "(%(reason)s); %(count)s refused in its batch. Nothing of that batch is "
                                "posted; correct the cause and finalize again.",
                                run=run.name,
                                reference=refused[0]["reference"],
                                reason=refused[0]["reason"],
                                count=len(refused),
                            )
                        )
                    operation_of = {r["reference"]: r["operation_id"] for r in result["results"]}
                cr.execute(
                    SQL(
                        "UPDATE bss_import_cutover_line l SET state = 'posted', operation_id = v.operation"
                        " FROM unnest(%s::int[], %s::int[]) AS v(line, operation) WHERE l.id = v.line",
                        [row[0] for row in rows],
                        [operation_of.get(f"{reference}/{row[1]}") or None for row in rows],
                    )
                )
                cutover.env["bss.import.cutover.line"].invalidate_model()
                _logger.info(
                    "OCS cutover of run %s: batch %s posted (%s balances)", run.name, chunk, len(postable)
                )
                chunk += 1

    def _activate(self):
        """Make the run's wallets and allowances live: after every opening balance is posted.

        The records are found in SQL: a cutover holds a line per bucket (millions), which the
        ORM would load with their one2many fields to filter them.
        """
        cr = self.env.cr
        self.env.flush_all()
        cr.execute(
            SQL(
                "SELECT DISTINCT l.wallet_id FROM bss_import_cutover_line l"
                " JOIN telecom_wallet w ON w.id = l.wallet_id"
                " WHERE l.cutover_id = %s AND l.state IN ('posted', 'prepared')"
                " AND w.state IN ('draft', 'frozen')",
                self.id,
            )
        )
        wallets = self.env["telecom.wallet"].browse([row[0] for row in cr.fetchall()])
        # One statement for all of them, no message on each: this run's log says who made them live.
        wallets.with_context(tracking_disable=True)._telecom_set_state("active", ("draft", "frozen"))
        # Wallets the shadow created for buckets the final snapshot no longer has: nothing to keep.
        self._empty_shadow_wallets().unlink()
        # The suspended allowances become active (a state nothing stored depends on): in one statement.
        cr.execute(
            SQL(
                "UPDATE telecom_wallet_bucket b SET state = 'active', write_uid = %s,"
                " write_date = NOW() AT TIME ZONE 'UTC'"
                " FROM bss_import_cutover_line l"
                " WHERE b.id = l.allowance_bucket_id AND l.cutover_id = %s AND l.state = 'prepared'"
                " AND l.kind = 'allowance' AND b.state = 'suspended'",
                self.env.uid,
                self.id,
            )
        )
        self.env["telecom.wallet.bucket"].invalidate_model(["state", "write_uid", "write_date"])
        cr.execute(
            SQL(
                "UPDATE bss_import_cutover_line SET state = 'posted'"
                " WHERE cutover_id = %s AND kind = 'allowance' AND state = 'prepared'",
                self.id,
            )
        )
        self.env["bss.import.cutover.line"].invalidate_model()

    def action_rollback(self):
        """Undo the cutover (Migration Manager). Before the finalize the shadow is discarded; after
        it, every posted opening balance is reversed (never deleted) and the wallets closed."""
        cutover = self._begin("rollback")
        if cutover.state in ("finalizing", "finalized"):
            cutover._reverse_openings()
        cutover._discard()
        cutover.write(
            {"state": "rolled_back", "rollback_date": fields.Datetime.now(), "rolled_back_by": self.env.uid}
        )
        cutover._measure()
        self._log(_("%(user)s rolled the cutover back.", user=self.env.user.name))
        return True

    def _reverse_openings(self):
        """Reverse the posted opening balances and close their wallets.

        Refused when a wallet moved since the cutover (its balance is no longer
        the sum of its openings): that money is the subscriber's, settle it first.
        """
        Line = self.env["bss.import.cutover.line"]
        Line.flush_model()
        cr = self.env.cr
        # Every wallet the finalize made live, those holding only allowances too (their opening is 0).
        cr.execute(
            SQL(
                "SELECT DISTINCT wallet_id FROM bss_import_cutover_line"
                " WHERE cutover_id = %s AND state = 'posted' AND wallet_id IS NOT NULL ORDER BY 1",
                self.id,
            )
        )
        wallets = self.env["telecom.wallet"].browse([row[0] for row in cr.fetchall()])
        # A wallet moved when its ledger is no longer the sum of its openings: compared in the
        # database, exact decimals on both sides; only the wallets that differ come back.
        self.env["account.move.line"].flush_model(["telecom_wallet_id", "amount_currency", "parent_state"])
        cr.execute(
            SQL(
                """WITH opened AS (
                        SELECT wallet_id, SUM(CASE WHEN kind = 'monetary' THEN amount ELSE 0 END) AS amount
                          FROM bss_import_cutover_line
                         WHERE cutover_id = %s AND state = 'posted' AND wallet_id IS NOT NULL
                         GROUP BY wallet_id),
                     ledger AS (
                        SELECT a.telecom_wallet_id AS wallet_id, -SUM(a.amount_currency) AS amount
                          FROM account_move_line a JOIN opened o ON o.wallet_id = a.telecom_wallet_id
                         WHERE a.parent_state = 'posted'
                         GROUP BY a.telecom_wallet_id)
                   SELECT o.wallet_id FROM opened o LEFT JOIN ledger l ON l.wallet_id = o.wallet_id
                     JOIN telecom_wallet w ON w.id = o.wallet_id JOIN res_currency c ON c.id = w.currency_id
                    WHERE ROUND(COALESCE(l.amount, 0) - COALESCE(o.amount, 0), c.decimal_places) <> 0
                    ORDER BY o.wallet_id""",
                self.id,
            )
        )
        moved = self.env["telecom.wallet"].browse([row[0] for row in cr.fetchall()])
        if moved:
            raise UserError(
                _(
                    "Cutover of run %(run)s: %(count)s wallets changed since the finalize (e.g. "
                    "%(wallets)s): their balances are no longer the OCS's. Settle them before rolling back.",
                    run=self.run_id.name,
                    count=len(moved),
                    wallets=", ".join(moved[:5].mapped("display_name")),
                )
            )
        cr.execute(
            SQL(
                "SELECT l.operation_id, l.bucket_key FROM bss_import_cutover_line l"
                " WHERE l.cutover_id = %s AND l.state = 'posted' AND l.kind = 'monetary'"
                " AND l.operation_id IS NOT NULL",
                self.id,
            )
        )
        bucket_of = dict(cr.fetchall())
        reference = REFERENCE % {"run": self.run_id.id}
        # Many wallets at once: no message on each, this run's log says who (see _activate).
        untracked = wallets.with_context(tracking_disable=True)
        cr.execute(SQL("SELECT id FROM telecom_wallet WHERE id = ANY(%s) AND state = 'active'", wallets.ids))
        untracked.browse([row[0] for row in cr.fetchall()])._telecom_set_state("frozen", ("active",))
        # One reversal entry per entry of the finalize (its batches hold the cutover's openings only),
        # not one per balance: a million openings are taken back in minutes, not hours.
        self.env["telecom.wallet.operation"].browse(sorted(bucket_of))._telecom_reverse_entries(
            lambda operation: f"{reference}/ROLLBACK/{bucket_of[operation.id]}", _("cutover rolled back")
        )
        cr.execute(
            SQL(
                "UPDATE telecom_wallet_bucket b SET state = 'suspended', write_uid = %s,"
                " write_date = NOW() AT TIME ZONE 'UTC'"
                " FROM bss_import_cutover_line l"
                " WHERE b.id = l.allowance_bucket_id AND l.cutover_id = %s AND l.state = 'posted'"
                " AND l.kind = 'allowance' AND b.state = 'active'",
                self.env.uid,
                self.id,
            )
        )
        self.env["telecom.wallet.bucket"].invalidate_model(["state", "write_uid", "write_date"])
        untracked.action_close()
        self.env.cr.execute(
            SQL(
                "UPDATE bss_import_cutover_line SET state = 'closed'"
                " WHERE cutover_id = %s AND state = 'posted'",
                self.id,
            )
        )
        self.line_ids.invalidate_recordset()

    def _empty_shadow_wallets(self):
        """The draft wallets the shadow created that hold nothing: no item, operation or bucket."""
        self.env.cr.execute(
            SQL(
                """SELECT w.id FROM bss_import_cutover_telecom_wallet_rel r
                     JOIN telecom_wallet w ON w.id = r.wallet_id
                    WHERE r.cutover_id = %s AND w.state = 'draft'
                      AND NOT EXISTS (SELECT 1 FROM account_move_line a WHERE a.telecom_wallet_id = w.id)
                      AND NOT EXISTS (SELECT 1 FROM telecom_wallet_operation o WHERE o.wallet_id = w.id)
                      AND NOT EXISTS (SELECT 1 FROM telecom_wallet_bucket b WHERE b.wallet_id = w.id)""",
                self.id,
            )
        )
        return self.env["telecom.wallet"].browse([row[0] for row in self.env.cr.fetchall()])

    def _discard(self):
        """Remove the shadow: its lines, suspended allowances, quarantine rows and the empty draft
        wallets it created. Posted lines (reversed by the caller) are kept as the audit trail."""
        cr = self.env.cr
        self.env.flush_all()
        # In SQL: a cutover holds a line per bucket (millions), which the ORM would load to filter.
        dropped = SQL("cutover_id = %s AND NOT (state = 'closed' AND operation_id IS NOT NULL)", self.id)
        cr.execute(
            SQL(
                "SELECT DISTINCT l.allowance_bucket_id FROM bss_import_cutover_line l"
                " WHERE %s AND l.allowance_bucket_id IS NOT NULL"
                " AND NOT EXISTS (SELECT 1 FROM telecom_wallet_bucket_consumption c"
                "                  WHERE c.bucket_id = l.allowance_bucket_id)",
                dropped,
            )
        )
        buckets = self.env["telecom.wallet.bucket"].browse([row[0] for row in cr.fetchall()])
        cr.execute(SQL("DELETE FROM bss_import_cutover_line WHERE %s", dropped))
        self.env["bss.import.cutover.line"].invalidate_model()
        self.invalidate_recordset(["line_ids"])
        self.mismatch_ids.unlink()
        buckets.unlink()
        self.env["bss.import.quarantine"].search(
            [("run_id", "=", self.run_id.id), ("object", "=", "ocs_buckets"), ("state", "=", "open")]
        ).unlink()
        empty = self._empty_shadow_wallets()
        cr.execute(SQL("DELETE FROM bss_import_cutover_telecom_wallet_rel WHERE cutover_id = %s", self.id))
        self.invalidate_recordset(["wallet_ids"])
        empty.unlink()

    # ------------------------------------------------------------------ figures
    def _measure(self):
        """Sum both sides again (independently: staging in SQL vs Odoo's wallets) and list the mismatches."""
        self.ensure_one()
        self.env.flush_all()
        run = self.delta_run_id or self.run_id
        source_wallets, source_totals, source_allowances = cutover_sql.source_sums(
            self._migration_context(run), self
        )
        odoo_wallets, odoo_totals, quarantined, odoo_allowances = cutover_sql.odoo_sums(self.env, self)
        digits = cutover_sql.currency_digits(self.env)
        found = []
        if self.state not in ("none", "rolled_back") or self.line_ids:
            for sub, cur, source, odoo in cutover_sql.wallet_mismatches(
                self.env, source_wallets, odoo_wallets
            ):
                found.append(
                    (
                        "wallet",
                        f"{sub or None} {cur}",
                        _text(source, digits.get(cur)),
                        _text(odoo, digits.get(cur)),
                    )
                )
            currencies = set(source_totals) | set(odoo_totals) | set(quarantined)
            for code in sorted(currencies, key=str):
                source = source_totals.get(code, Decimal(0))
                accounted = odoo_totals.get(code, Decimal(0)) + quarantined.get(code, Decimal(0))
                if source != accounted:
                    found.append(
                        (
                            "total",
                            str(code),
                            _text(source, digits.get(code)),
                            _text(accounted, digits.get(code)),
                        )
                    )
            for usage in sorted(set(source_allowances) | set(odoo_allowances)):
                source = source_allowances.get(usage, (0, Decimal(0)))
                odoo = odoo_allowances.get(usage, (0, Decimal(0)))
                if source[0] != odoo[0] or Decimal(source[1]) != Decimal(odoo[1]):
                    found.append(
                        (
                            "allowance",
                            usage,
                            f"{source[0]} buckets, {source[1]}",
                            f"{odoo[0]} buckets, {odoo[1]}",
                        )
                    )
        totals = {}
        for code in set(source_totals) | set(odoo_totals) | set(quarantined):
            d = digits.get(code)
            totals[str(code) if code else ""] = {
                "source_total": _text(source_totals.get(code, Decimal(0)), d),
                "odoo_total": _text(odoo_totals.get(code, Decimal(0)), d),
                "quarantined_total": _text(quarantined.get(code, Decimal(0)), d),
            }
        acknowledged = {(m.kind, m.name, m.source, m.odoo): m for m in self.mismatch_ids if m.acknowledged}
        keep = self.env["bss.import.cutover.mismatch"]
        new = []
        for kind, name, source, odoo in found:
            if (kind, name, source, odoo) in acknowledged:
                keep |= acknowledged[(kind, name, source, odoo)]
            else:
                new.append(
                    {"cutover_id": self.id, "kind": kind, "name": name, "source": source, "odoo": odoo}
                )
        (self.mismatch_ids - keep).unlink()
        self.env["bss.import.cutover.mismatch"].create(new)
        self.write({"totals_json": json.dumps(totals, sort_keys=True)})

    def _open_mismatches(self):
        return len(self.mismatch_ids.filtered(lambda m: not m.acknowledged))

    def acknowledge_mismatches(self, reason, mismatch_ids=None):
        """Acknowledge open mismatches (all, or ``mismatch_ids``) with a reason (Migration Manager)."""
        self.ensure_one()
        self._check_group(GROUP_MANAGER)
        self.run_id.check_access("write")
        reason = (reason or "").strip()
        if not reason:
            raise UserError(_("Give the reason for acknowledging the mismatches."))
        mismatches = self.sudo().mismatch_ids.filtered(lambda m: not m.acknowledged)
        if mismatch_ids:
            mismatches = mismatches.filtered(lambda m: m.id in mismatch_ids)
        if not mismatches:
            raise UserError(_("No open mismatch to acknowledge."))
        mismatches.write(
            {
                "acknowledged": True,
                "acknowledged_by": self.env.uid,
                "acknowledged_date": fields.Datetime.now(),
                "acknowledge_reason": reason,
            }
        )
        self._log(
            _(
                "%(user)s acknowledged %(count)s mismatches: %(reason)s",
                user=self.env.user.name,
                count=len(mismatches),
                reason=reason,
            )
        )
        return len(mismatches)

    def _summary(self):
        self.ensure_one()
        cr = self.env.cr
        self.env["bss.import.cutover.line"].flush_model()
        cr.execute(
            SQL(
                """SELECT COUNT(DISTINCT wallet_id) FILTER (WHERE state IN ('prepared', 'posted')),
                          COUNT(*) FILTER (WHERE kind = 'allowance' AND state IN ('prepared', 'posted')),
                          COUNT(*) FILTER (WHERE state = 'quarantined')
                     FROM bss_import_cutover_line WHERE cutover_id = %s""",
                self.id,
            )
        )
        wallets, buckets, quarantined = cr.fetchone()
        return {
            "wallets": wallets,
            "buckets": buckets,
            "quarantined": quarantined,
            "mismatches": self._open_mismatches(),
        }

    def get_summary(self):
        """What the CLI prints: state, counts, and the totals of the main currency (and per currency)."""
        self.ensure_one()
        self.check_access("read")
        cutover = self.sudo()
        summary = cutover._summary()
        totals = json.loads(cutover.totals_json or "{}")
        cutover.env.cr.execute(
            SQL(
                "SELECT currency_code FROM bss_import_cutover_line"
                " WHERE cutover_id = %s AND kind = 'monetary' GROUP BY 1 ORDER BY COUNT(*) DESC, 1 LIMIT 1",
                self.id,
            )
        )
        row = cutover.env.cr.fetchone()
        main = row[0] if row and row[0] in totals else (sorted(totals)[0] if totals else None)
        empty = {"source_total": "0", "odoo_total": "0", "quarantined_total": "0"}
        result = {
            "run_id": self.run_id.id,
            "state": cutover.state,
            "wallets": summary["wallets"],
            "buckets": summary["buckets"],
            "currency": main or False,
            **totals.get(main, empty),
            "mismatches": summary["mismatches"],
            "quarantined": summary["quarantined"],
        }
        if len(totals) > 1:
            result["by_currency"] = totals
        return result


def _text(value, digits):
    """A sum as decimal text with its currency's decimals (exact: more decimals are shown, not rounded)."""
    value = Decimal(value)
    if digits is None:
        return str(value)
    try:
        return rules.format_minor(rules.to_minor(value, digits), digits)
    except rules.CutoverError:
        return str(value)
