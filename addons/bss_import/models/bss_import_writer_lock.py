from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

#: Minutes without a committed chunk after which the run holding a company's lock counts as dead.
DEFAULT_STALE_MINUTES = 10


class BssImportWriterLock(models.Model):
    """The run that writes into a company: one at a time.

    A migration (and, later, a delta or a rollback) takes its company's lock
    when it starts and gives it back when it finishes. Its workers, in any
    process or host, write under it: each chunk they commit refreshes the
    lock's ``heartbeat``. A second run of the company is refused, naming the
    run that holds the lock. A lock whose heartbeat stopped (the workers were
    killed) is shown as left by a dead worker; a Migration Manager can take it
    over for another run, and the run that held it can resume and take it
    back while no other run has.
    """

    _name = "bss.import.writer.lock"
    _inherit = "bss.import.phase.line.mixin"
    _description = "Import writer lock of a company"
    _server_written = "Writer locks"
    _rec_name = "company_id"

    company_id = fields.Many2one("res.company", required=True, readonly=True, ondelete="cascade")
    run_id = fields.Many2one("bss.import.run", required=True, readonly=True, ondelete="cascade")
    user_id = fields.Many2one("res.users", "Taken by", readonly=True)
    date_acquired = fields.Datetime("Taken on", readonly=True)
    heartbeat = fields.Datetime(readonly=True, help="The last chunk its workers committed.")

    _sql_constraints = [("company_uniq", "unique(company_id)", "One writer per company.")]

    def _stale_after(self):
        # sudo: a system parameter; only its number is used.
        value = self.env["ir.config_parameter"].sudo().get_param("bss_import.writer_lock_stale_minutes")
        try:
            return timedelta(minutes=max(1, int(value or DEFAULT_STALE_MINUTES)))
        except ValueError:
            return timedelta(minutes=DEFAULT_STALE_MINUTES)

    def _is_stale(self):
        self.ensure_one()
        return (self.heartbeat or self.date_acquired) < fields.Datetime.now() - self._stale_after()

    @api.model
    def _acquire(self, run, take_over=False):
        """Take ``run``'s company lock for ``run`` (kept if it holds it); raise naming the holder otherwise.

        ``take_over``: a Migration Manager takes a lock its dead holder left
        (no chunk committed for the stale period); a live one is never taken.
        """
        Lock = self.sudo()
        self.env.cr.execute(
            SQL(
                """INSERT INTO bss_import_writer_lock
                       (company_id, run_id, user_id, date_acquired, heartbeat,
                        create_uid, write_uid, create_date, write_date)
                   VALUES (%(company)s, %(run)s, %(uid)s, %(now)s, %(now)s,
                           %(uid)s, %(uid)s, %(now)s, %(now)s)
                   ON CONFLICT (company_id) DO NOTHING""",
                company=run.company_id.id,
                run=run.id,
                uid=self.env.uid,
                now=fields.Datetime.now(),
            )
        )
        # The row is locked until this transaction ends: two runs starting at once are ordered here.
        self.env.cr.execute(
            SQL("SELECT id FROM bss_import_writer_lock WHERE company_id = %s FOR UPDATE", run.company_id.id)
        )
        lock = Lock.browse(self.env.cr.fetchone()[0])
        lock.invalidate_recordset()
        if lock.run_id == run:
            lock.write({"heartbeat": fields.Datetime.now()})
            return lock
        holder = lock.run_id
        if not lock._is_stale():
            raise UserError(
                _(
                    "Run %(holder)s is writing into %(company)s (since %(since)s, last chunk at %(beat)s): "
                    "one run at a time may migrate into a company. Wait for it to finish.",
                    holder=holder.name,
                    company=run.company_id.name,
                    since=lock.date_acquired,
                    beat=lock.heartbeat,
                )
            )
        if not take_over:
            raise UserError(
                _(
                    "Run %(holder)s holds the writer lock of %(company)s but its workers look dead (no chunk "
                    "committed since %(beat)s). Resume run %(holder)s, or have a Migration Manager take the "
                    "lock over for run %(run)s.",
                    holder=holder.name,
                    company=run.company_id.name,
                    beat=lock.heartbeat,
                    run=run.name,
                )
            )
        lock.write(
            {
                "run_id": run.id,
                "user_id": self.env.uid,
                "date_acquired": fields.Datetime.now(),
                "heartbeat": fields.Datetime.now(),
            }
        )
        return lock

    @api.model
    def _release(self, run):
        """Give ``run``'s company lock back (nothing when another run holds it)."""
        self.sudo().search([("company_id", "=", run.company_id.id), ("run_id", "=", run.id)]).unlink()
