from odoo import fields, models

from .bss_import_phase import COUNT_FIELDS

CHUNK_STATES = [("pending", "Pending"), ("done", "Done"), ("failed", "Failed")]


class BssImportChunk(models.Model):
    """A key range of a migration phase, written and committed as one transaction.

    A phase is cut into chunks of source keys when it starts (keys in byte
    order, ``key_from`` excluded, ``key_to`` included, empty bound: open).
    A worker takes a pending chunk under a row lock (``FOR UPDATE SKIP
    LOCKED``), writes its records and marks it done in the same transaction:
    a worker killed mid-chunk leaves the chunk pending and nothing of it
    written, and the next pass resumes with it. A chunk holds its counts and
    its share of the phase's content checksums (sums of row digests,
    :mod:`..lib.checksums`): the phase settles from its chunks whatever their
    order, their worker or their number of attempts.
    """

    _name = "bss.import.chunk"
    _inherit = "bss.import.phase.line.mixin"
    _description = "Import run migration chunk"
    _server_written = "Chunks"
    _order = "phase_id, sequence"

    phase_id = fields.Many2one(
        "bss.import.phase", required=True, ondelete="cascade", index=True, readonly=True
    )
    run_id = fields.Many2one(related="phase_id.run_id", store=True, index=True)
    sequence = fields.Integer(readonly=True)
    key_from = fields.Char("After key", readonly=True, help="Source keys after this one (byte order).")
    key_to = fields.Char("Up to key", readonly=True, help="Source keys up to this one, included.")
    state = fields.Selection(CHUNK_STATES, required=True, default="pending", readonly=True)
    attempts = fields.Integer(readonly=True, help="Passes that started this chunk.")
    source_rows = fields.Integer(readonly=True)
    duplicates_collapsed = fields.Integer(readonly=True)
    quarantined = fields.Integer(readonly=True)
    created = fields.Integer(readonly=True)
    updated = fields.Integer(readonly=True)
    unchanged = fields.Integer(readonly=True)
    flagged = fields.Integer(readonly=True)
    source_sum = fields.Char(readonly=True, help="Sum of the digests of the chunk's source rows.")
    odoo_sum = fields.Char(readonly=True, help="Sum of the digests of the chunk's Odoo records.")
    differing_json = fields.Char(
        readonly=True, help="{field: rows} whose Odoo value differs from the source."
    )
    worker = fields.Char(readonly=True, help="Host and process that wrote the chunk.")
    seconds = fields.Float(readonly=True, digits=(16, 2))
    date_done = fields.Datetime("Done", readonly=True)
    error_message = fields.Text("Last error", readonly=True)

    _sql_constraints = [("phase_sequence_uniq", "unique(phase_id, sequence)", "One chunk per position.")]

    def _counts(self):
        return {f: sum(self.mapped(f)) for f in ("source_rows", *COUNT_FIELDS, "flagged")}
