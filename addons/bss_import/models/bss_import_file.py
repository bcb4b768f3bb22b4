import json

from odoo import _, api, fields, models
from odoo.addons.telecom_subscriber.tools import identifiers
from odoo.exceptions import AccessError, UserError

from ..lib import detect, mapping, schema, secret_columns, sources
from ..lib.copy_stream import keep_indexes
from ..lib.errors import ExportError
from ..services import stage_tables
from .bss_import_run import CONFIRMED_STATES, check_server_fields

TABLE_SELECTION = [(t, t.replace("_", " ").title()) for t in schema.TABLES]
OBJECT_SELECTION = [(o, o.replace("_", " ").title()) for o in schema.OBJECTS]
DELIMITERS = [(",", "Comma (,)"), (";", "Semicolon (;)"), ("|", "Pipe (|)"), ("\t", "Tab")]
# What the operator decides about a file; every other field is what the steps learnt or did.
OPERATOR_FIELDS = frozenset({"include", "table", "encoding", "delimiter"})


class BssImportFile(models.Model):
    """One data file (or XLSX sheet) of an export: what detection learned, and its staging table."""

    _name = "bss.import.file"
    _description = "Import run file"
    _order = "run_id, sequence, id"

    run_id = fields.Many2one("bss.import.run", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="run_id.company_id", store=True, index=True)
    sequence = fields.Integer(compute="_compute_sequence", store=True)
    name = fields.Char("File", required=True, readonly=True, help="Path inside the export (#sheet for XLSX).")
    member_name = fields.Char(readonly=True)
    sheet = fields.Char(readonly=True)
    kind = fields.Selection([("text", "CSV/text"), ("xlsx", "XLSX")], readonly=True)
    size = fields.Integer("Size (bytes)", readonly=True)
    include = fields.Boolean(default=True, help="Excluded files are neither staged nor profiled.")
    state = fields.Selection(
        [("detected", "Detected"), ("error", "Unreadable"), ("staged", "Staged")],
        default="detected",
        required=True,
        readonly=True,
    )
    error_message = fields.Text(readonly=True)
    table = fields.Selection(TABLE_SELECTION, string="Holds", help="The export table this file holds.")
    object = fields.Selection(OBJECT_SELECTION, compute="_compute_object", store=True)
    table_candidates = fields.Char("Other candidates", readonly=True)
    encoding = fields.Char(help="Python codec name, e.g. utf-8, cp1252. Change it and re-detect to override.")
    bom_length = fields.Integer(readonly=True)
    delimiter = fields.Selection(DELIMITERS)
    header_row = fields.Integer(readonly=True, help="0-based position of the header among non-blank rows.")
    headers_json = fields.Text(readonly=True)
    columns_json = fields.Text(readonly=True)
    dropped_json = fields.Text(readonly=True)
    dropped_columns = fields.Char("Secret columns dropped", compute="_compute_display", readonly=True)
    column_count = fields.Integer(compute="_compute_display")
    date_format = fields.Char(readonly=True)
    decimal_separator = fields.Char(readonly=True)
    warnings = fields.Text(readonly=True)
    rows = fields.Integer("Rows staged", readonly=True)
    staging_table = fields.Char(readonly=True)
    mapping_line_ids = fields.One2many("bss.import.mapping.line", "file_id", string="Mapping")

    # ------------------------------------------------------------------ ORM
    # Files are created, reset and deleted by the run's steps only (through sudo, after the
    # steps' own checks). What detection found (secret columns, headers) and where the rows
    # were staged are never an operator's input: a tampered secret list would stage secrets,
    # a tampered staging table would read another run's rows.
    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            raise AccessError(_("Import files are created by the run's detection step only."))
        return super().create(vals_list)

    @api.ondelete(at_uninstall=False)
    def _unlink_only_by_steps(self):
        if not self.env.su:
            raise AccessError(_("Import files are deleted by the run's steps only (or with their run)."))

    @api.depends("object")
    def _compute_sequence(self):
        for rec in self:
            rec.sequence = schema.OBJECTS.index(rec.object) if rec.object else 99

    @api.depends("table")
    def _compute_object(self):
        for rec in self:
            rec.object = schema.object_of(rec.table) if rec.table else False

    @api.depends("dropped_json", "headers_json")
    def _compute_display(self):
        for rec in self:
            rec.dropped_columns = ", ".join(rec._dropped_headers()) or False
            rec.column_count = len(json.loads(rec.headers_json or "[]"))

    def _headers(self):
        return json.loads(self.headers_json or "[]")

    def _dropped(self):
        return json.loads(self.dropped_json or "[]")

    def _dropped_headers(self):
        return [d["header"] for d in self._dropped()]

    def _fail(self, exc):
        # sudo: detection results are written by the steps only (see write()).
        self.sudo().write({"state": "error", "error_message": str(exc)})

    def _member(self, export):
        for member in export.members:
            if member.name == self.member_name and (member.sheet or False) == (self.sheet or False):
                return member
        raise ExportError("the file is no longer in the export", file=self.name)

    # ------------------------------------------------------------ detection
    def _detect(self, member, table=None, encoding=None, delimiter=None):
        """Sniff the member; store detection, secret columns and mapping suggestions."""
        self.ensure_one()
        # A manager's "marked safe" survives re-detection while the column stays where it was.
        safe = {
            (ln.column_index, ln.header): ln._safe_mark() for ln in self.mapping_line_ids if ln.safe_marked_by
        }
        # sudo: the detection's records are written by the steps only (caller checked by the step).
        rec = self.sudo()
        rec.mapping_line_ids.unlink()
        try:
            det = sources.detect_member(member, table=table, encoding=encoding, delimiter=delimiter)
        except ExportError as exc:
            rec.write({"state": "error", "error_message": str(exc), "table": table or False})
            return False
        secret_cols = secret_columns.detect_secret_columns(det.headers, det.sample_rows)
        dates = [c.date_format.name for c in det.columns if c.date_format]
        rec.write(
            {
                "state": "detected",
                "error_message": False,
                "table": det.table,
                "table_candidates": ", ".join(f"{t} ({s:.2f})" for t, s, _e in det.table_candidates[1:4]),
                "encoding": det.encoding or False,
                "bom_length": det.bom_length,
                "delimiter": det.delimiter or False,
                "header_row": det.header_row,
                "headers_json": json.dumps(det.headers),
                "columns_json": json.dumps(
                    [
                        {
                            "index": c.index,
                            "kind": c.kind,
                            "date_format": c.date_format.name if c.date_format else None,
                            "decimal": c.decimal_format.decimal if c.decimal_format else None,
                        }
                        for c in det.columns
                    ]
                ),
                # Headers and reasons only: a secret's values never leave the sample.
                "dropped_json": json.dumps([_dropped_entry(s) for s in secret_cols]),
                # Most used first: "dmy_slash" or "dmy_slash, iso" when columns differ.
                "date_format": ", ".join(sorted(set(dates), key=lambda d: (-dates.count(d), d))) or False,
                "decimal_separator": det.decimal_format.decimal
                if any(c.kind == "number" for c in det.columns)
                else False,
                "warnings": "\n".join(det.warnings) or False,
            }
        )
        rec._suggest_mapping(det, {s.index: s for s in secret_cols})
        for line in rec.mapping_line_ids:
            mark = safe.get((line.column_index, line.header))
            if mark and line.secret_kind and not line.secret_certain:
                line._apply_safe_mark(*mark)
        return True

    def _suggest_mapping(self, det, secrets):
        suggestion = mapping.suggest_mapping(
            det.table,
            det.headers,
            det.sample_rows,
            mapping.identifier_validators(identifiers),
            secret_columns=list(secrets.values()),
        )
        lines = []
        for col in suggestion.columns:
            secret = secrets.get(col.index)
            action = "drop" if secret else col.action
            vals = {
                "file_id": self.id,
                "column_index": col.index,
                "header": col.header,
                "action": action,
                "canonical": col.canonical or False,
                "target_field": col.target or False,
                "target_type": col.target_type or False,
                "confidence": col.confidence,
                "evidence": "\n".join(col.evidence) or False,
                "value_map_json": json.dumps(col.value_map) if col.value_map else False,
                "combine_json": json.dumps(col.combine) if col.combine else False,
                "date_format": col.date_format.name if col.date_format else False,
                "decimal_separator": col.decimal_format.decimal if col.decimal_format else False,
                "secret_kind": secret.kind if secret else False,
                "secret_certain": bool(secret) and _certain(secret),
                "secret_reason": secret.reason if secret else False,
            }
            vals.update(
                {
                    "suggested_action": vals["action"],
                    "suggested_canonical": vals["canonical"],
                    "suggested_field": vals["target_field"],
                    "suggested_confidence": vals["confidence"],
                    "suggested_type": vals["target_type"],
                    "suggested_value_map_json": vals["value_map_json"],
                }
            )
            lines.append(vals)
        self.env["bss.import.mapping.line"].create(lines)

    def action_redetect(self):
        """Detect the file again with the operator's choices (object, encoding, delimiter)."""
        for rec in self:
            run = rec.run_id
            run._check_operator()
            run._lock()
            current = run.error_state if run.state == "error" else run.state
            if current not in ("draft", "detected", "staged", "profiled"):
                raise UserError(_("Files of a run with a confirmed mapping cannot be re-detected."))
            if current in ("staged", "profiled"):
                run._check_source_kept()
            if rec.encoding:
                try:
                    "".encode(rec.encoding)
                except LookupError:
                    raise UserError(
                        _("File %(file)s: unknown encoding %(enc)r.", file=rec.name, enc=rec.encoding)
                    )
            with run._open_export() as export:
                member = rec._member(export)
                rec._detect(
                    member,
                    table=rec.table or None,
                    encoding=rec.encoding or None,
                    delimiter=rec.delimiter or None,
                )
            run._reset_after("stage")
            broken = run._settle_detection()
            if broken:
                run._server_write(
                    {
                        "state": "error",
                        "error_state": "detected",
                        "error_message": "; ".join(broken.mapped("error_message")),
                    }
                )
        return True

    def write(self, vals):
        check_server_fields(self, vals, frozenset(self._fields) - OPERATOR_FIELDS)
        if not self.env.su:
            for run in self.run_id:
                if run.state in CONFIRMED_STATES:
                    raise UserError(
                        _(
                            "Run %(run)s: the mapping is confirmed; reopen it to change its files.",
                            run=run.name,
                        )
                    )
        res = super().write(vals)
        if "include" in vals:
            for run in self.run_id:
                if run.state == "error" and run.error_state == "detected":
                    run._settle_detection()
        return res

    # -------------------------------------------------------------- staging
    def _detection(self):
        """The stored detection as the reader needs it."""
        return detect.FileDetection(
            file=self.name,
            encoding=self.encoding or "utf-8",
            bom_length=self.bom_length,
            delimiter=self.delimiter or ",",
            header_row=self.header_row,
            headers=self._headers(),
            table=self.table,
            object=self.object,
            table_candidates=[],
            columns=[],
            sample_rows=[],
        )

    def _secret_columns_now(self, member, det):
        """The columns to drop, decided again from the file being staged.

        Whatever the record says: the member's header and sample are read
        again and :func:`secret_columns.detect_secret_columns` decides. A
        certain secret is always dropped; an ambiguous one unless a Migration
        Manager marked it safe. Columns the stored detection listed are
        dropped too (a stricter record never stages more).
        """
        now = sources.detect_member(
            member, table=self.table or None, encoding=self.encoding or None, delimiter=self.delimiter or None
        )
        if now.headers != det.headers:
            raise ExportError("its columns are not the ones detected; detect the file again", file=self.name)
        safe = {ln.column_index for ln in self.mapping_line_ids if ln.safe_marked_by}
        found = {}
        for col in secret_columns.detect_secret_columns(now.headers, now.sample_rows):
            found[col.index] = _dropped_entry(col)
        for entry in self._dropped():
            index = entry.get("index") if isinstance(entry, dict) else None
            if isinstance(index, int) and 0 <= index < len(det.headers):
                known = found.setdefault(index, {**entry, "header": det.headers[index]})
                known["certain"] = known.get("certain", True) or entry.get("certain", True)
        return [e for i, e in sorted(found.items()) if e.get("certain", True) or i not in safe]

    def _stage(self, member, bytes_before=0, bytes_total=0):
        """COPY the member's rows, without its secret columns, into the run's staging table."""
        self.ensure_one()
        det = self._detection()
        dropped = self._secret_columns_now(member, det)
        drop = {d["index"] for d in dropped}
        # sudo: mapping lines of secret columns stay "drop" (the profiler relies on it); the step decides.
        self.mapping_line_ids.filtered(
            lambda ln: ln.column_index in drop and ln.action != "drop"
        ).sudo().write({"action": "drop", "target_field": False})
        keep = keep_indexes(len(det.headers), sorted(drop))
        table = stage_tables.table_name(self.run_id.id, self.id)
        progress = self.env["bss.import.progress"]
        run_id = self.run_id.id
        progress._report(run_id, "stage", bytes_before, bytes_total, f"{self.name}: starting")

        def on_rows(n):
            progress._report(run_id, "stage", bytes_before, bytes_total, f"{self.name}: {n} rows")

        rows = stage_tables.create_and_copy(
            self.env.cr, table, keep, sources.iter_rows(member, det, ragged="error"), on_rows=on_rows
        )
        # sudo: the staging results are written by the step only (see write()).
        self.sudo().write(
            {"rows": rows, "staging_table": table, "state": "staged", "dropped_json": json.dumps(dropped)}
        )


def _certain(secret):
    """A secret column is certain unless the detection says it is ambiguous."""
    return bool(getattr(secret, "certain", True))


def _dropped_entry(secret):
    return {
        "index": secret.index,
        "header": secret.header,
        "kind": secret.kind,
        "certain": _certain(secret),
        "reason": secret.reason,
    }
