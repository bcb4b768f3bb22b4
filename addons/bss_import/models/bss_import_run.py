import base64
import binascii
import hashlib
import json
import logging
import os
import shutil
from contextlib import contextmanager

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL, config

from ..lib import schema, sources
from ..lib.errors import ExportError
from ..services import documents, profiler, stage_tables
from ..services.migration import runner

_logger = logging.getLogger(__name__)

STATES = [
    ("draft", "Upload"),
    ("detected", "Files detected"),
    ("staged", "Staged"),
    ("profiled", "Profiled"),
    ("confirmed", "Mapping confirmed"),
    ("migrating", "Migrating"),
    ("migrated", "Migrated"),
    ("rolled_back", "Rolled back"),
    ("error", "Refused"),
]
#: States in which the mapping is confirmed (and frozen): migration may run.
CONFIRMED_STATES = ("confirmed", "migrating", "migrated")
# Which step may run from which state; "error" goes back to the state the failed step started from.
_STEP_FROM = {
    "detect": ("draft", "detected", "staged", "profiled"),
    "stage": ("detected", "staged", "profiled"),
    "profile": ("staged", "profiled"),
}
UPLOAD_FOLDER = "bss_import"
# Fields only the run's own steps set (state machine, confirmation, what the
# server learnt): a caller writing them directly, even with write access to
# the run, would skip the mapping checks and the manager-only reopen.
PROTECTED_FIELDS = frozenset(
    {
        "name",
        "company_id",
        "state",
        "error_message",
        "error_state",
        "skipped_files",
        "mapping_confirmed_by",
        "mapping_confirmed_date",
        "upload_manifest",
        "uploads_deleted_date",
        "rollback_date",
        "rollback_user_id",
    }
)


def check_server_fields(records, vals, protected, action="write"):
    """Refuse ``vals`` naming a field of ``protected`` unless the environment is the superuser's.

    The steps of a run check the caller's group and the record rules, then
    write these fields through ``sudo()``: a direct create/write over RPC
    (whatever context the caller sends) never carries ``env.su``.
    """
    if records.env.su:
        return
    forbidden = sorted(protected & set(vals))
    if forbidden:
        raise AccessError(
            records.env._(
                "%(model)s: %(fields)s can only be set by the import steps, not by a direct %(action)s.",
                model=records._description,
                fields=", ".join(forbidden),
                action=action,
            )
        )


class BssImportRun(models.Model):
    """One migration run of a Digital BSS export.

    Steps: upload → detect (file → object, encoding, delimiter, formats) →
    stage (COPY into per-run staging tables, secrets dropped) → profile
    (set-based SQL findings) → mapping review → confirm. Each step runs in one
    transaction: when the export is refused (malformed input) the step's work
    is rolled back, the run shows the error naming file, row and column, and
    the step can be retried after a correction.
    """

    _name = "bss.import.run"
    _description = "Digital BSS import run"
    _inherit = ["mail.thread"]
    _order = "id desc"

    name = fields.Char(required=True, readonly=True, copy=False, default=lambda self: _("New"))
    company_id = fields.Many2one(
        "res.company", required=True, readonly=True, default=lambda self: self.env.company, index=True
    )
    user_id = fields.Many2one(
        "res.users", string="Owner", required=True, default=lambda self: self.env.user, tracking=True
    )
    state = fields.Selection(STATES, required=True, default="draft", readonly=True, tracking=True, copy=False)
    error_message = fields.Text(readonly=True, copy=False)
    error_state = fields.Char(
        readonly=True, copy=False, help="State the run returns to when a step is retried."
    )
    server_path = fields.Char(
        groups="base.group_system",
        copy=False,
        help="A ZIP, a folder or a data file on the Odoo server, read in place instead of an upload. "
        "For exports too large to upload; administrators only.",
    )
    uploaded_files = fields.Text(compute="_compute_uploaded_files")
    skipped_files = fields.Text(
        readonly=True, copy=False, help="Files of the export that are not data files."
    )
    file_ids = fields.One2many("bss.import.file", "run_id", string="Files")
    finding_ids = fields.One2many("bss.import.finding", "run_id", string="Findings")
    mapping_line_ids = fields.One2many("bss.import.mapping.line", "run_id", string="Mapping")
    owner_map_ids = fields.One2many("bss.import.owner.map", "run_id", string="Owner Mapping")
    status_policy = fields.Selection(
        [
            ("conservative", "Conservative: never cut a paying customer's service"),
            ("account", "Billing account is the system of record"),
            ("subscriber", "Subscriber is the system of record"),
        ],
        string="Status conflicts",
        required=True,
        default="conservative",
        tracking=True,
        help="How a line whose status contradicts its billing account's is migrated "
        "(e.g. an active line on a closed account). Every conflict is flagged for review.",
    )
    phase_ids = fields.One2many("bss.import.phase", "run_id", string="Migration phases")
    quarantine_ids = fields.One2many("bss.import.quarantine", "run_id", string="Quarantined rows")
    quarantine_count = fields.Integer(compute="_compute_quarantine_count", string="Open quarantined rows")
    template_id = fields.Many2one(
        "bss.import.mapping.template",
        string="Mapping template",
        domain="[('company_id', '=', company_id)]",
        copy=False,
    )
    mapping_confirmed_by = fields.Many2one("res.users", readonly=True, copy=False)
    mapping_confirmed_date = fields.Datetime(readonly=True, copy=False)
    upload_manifest = fields.Text(
        readonly=True,
        copy=False,
        help="The uploaded files (name, size, SHA-256) as they were when staging deleted them.",
    )
    uploads_deleted_date = fields.Datetime(
        "Uploads deleted on",
        readonly=True,
        copy=False,
        help="Staging deletes the uploaded files: the staged tables (secrets dropped) are the only copy.",
    )
    source_rows = fields.Integer(compute="_compute_counts", string="Source rows")
    finding_count = fields.Integer(compute="_compute_counts", string="Affected rows")
    file_count = fields.Integer(compute="_compute_counts")
    progress_step = fields.Char(compute="_compute_progress")
    progress_done = fields.Integer(compute="_compute_progress")
    progress_total = fields.Integer(compute="_compute_progress")
    progress_message = fields.Char(compute="_compute_progress")

    # ------------------------------------------------------------------ ORM
    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            check_server_fields(self, vals, PROTECTED_FIELDS - {"company_id"}, "create")
            if vals.get("server_path"):
                self._check_server_path_allowed()
            vals["name"] = self.env["ir.sequence"].next_by_code("bss.import.run") or _("New")
        return super().create(vals_list)

    def write(self, vals):
        check_server_fields(self, vals, PROTECTED_FIELDS)
        if vals.get("server_path"):
            self._check_server_path_allowed()
        return super().write(vals)

    def _server_write(self, vals):
        """Write fields of :data:`PROTECTED_FIELDS`: the steps' only way to change them.

        Callers have checked the group and the record rules first (``_begin``,
        ``_check_operator`` or a manager check).
        """
        # sudo: the protected fields refuse every non-superuser write (see write()).
        return self.sudo().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_only_manager(self):
        self._check_manager(_("Only a Migration Manager can delete import runs."))

    def unlink(self):
        # Rights first: nothing is dropped or deleted for a caller who may not delete the run.
        self._check_manager(_("Only a Migration Manager can delete import runs."))
        self.check_access("unlink")
        folders = [run._upload_dir() for run in self]
        for run in self:
            stage_tables.drop_run_tables(self.env.cr, run.id)
        # The run's own attachments go with it (BaseModel.unlink); its files' go here, as the
        # files are deleted by the database's cascade.
        self._attachments().unlink()
        if self.ids:
            self.env.cr.execute(SQL("DELETE FROM bss_import_progress WHERE run_id IN %s", tuple(self.ids)))
        res = super().unlink()
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
        return res

    def _check_manager(self, message):
        if not self.env.user.has_group("bss_import.bss_import_group_manager"):
            raise AccessError(message)

    def _check_server_path_allowed(self):
        if not self.env.user.has_group("base.group_system"):
            raise AccessError(_("Only administrators may read an export from a path on the server."))

    # -------------------------------------------------------------- computes
    @api.depends("file_ids.rows", "finding_ids.count", "file_ids.include")
    def _compute_counts(self):
        for run in self:
            files = run.file_ids.filtered("include")
            run.file_count = len(run.file_ids)
            run.source_rows = sum(files.mapped("rows"))
            run.finding_count = sum(run.finding_ids.filtered(lambda f: f.unit == "row").mapped("count"))

    @api.depends("quarantine_ids.state")
    def _compute_quarantine_count(self):
        for run in self:
            run.quarantine_count = len(run.quarantine_ids.filtered(lambda q: q.state == "open"))

    def _compute_progress(self):
        rows = {}
        if self.ids:
            self.env.cr.execute(
                SQL(
                    "SELECT run_id, step, done, total, message FROM bss_import_progress WHERE run_id IN %s",
                    tuple(self.ids),
                )
            )
            rows = {r[0]: r[1:] for r in self.env.cr.fetchall()}
        for run in self:
            step, done, total, message = rows.get(run.id, (False, 0, 0, False))
            run.progress_step, run.progress_done = step, done
            run.progress_total, run.progress_message = total, message

    def _compute_uploaded_files(self):
        for run in self:
            folder = run._upload_dir()
            lines = []
            for name, size in run._uploads(folder):
                lines.append(f"{name} ({size} bytes)")
            if not lines and run.uploads_deleted_date:
                lines = [f"{f['name']} ({f['size']} bytes, deleted after staging)" for f in run._manifest()]
            run.uploaded_files = "\n".join(lines) or False

    def _manifest(self):
        return json.loads(self.upload_manifest or "[]")

    # --------------------------------------------------------------- upload
    def _upload_dir(self):
        self.ensure_one()
        return os.path.join(config.filestore(self.env.cr.dbname), UPLOAD_FOLDER, f"run_{self.id}")

    @staticmethod
    def _uploads(folder):
        found = []
        if not os.path.isdir(folder):
            return found
        for root, dirs, files in os.walk(folder):
            dirs.sort()
            for fname in sorted(files):
                if fname.endswith(".part"):
                    continue
                full = os.path.join(root, fname)
                found.append((os.path.relpath(full, folder).replace(os.sep, "/"), os.path.getsize(full)))
        return found

    def _safe_upload_name(self, file_name):
        name = (file_name or "").replace("\\", "/").strip()
        parts = [p for p in name.split("/") if p not in ("", ".")]
        if not parts or ".." in parts or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
            raise UserError(_("Invalid upload file name %(name)r: use a relative name.", name=file_name))
        if any(len(p) > 200 for p in parts) or len(parts) > 8:
            raise UserError(_("Upload file name %(name)r is too long.", name=file_name))
        return "/".join(parts)

    def _lock(self):
        """Lock the run's row until the transaction ends.

        Chunks of one run are appended one at a time (two requests with the
        same offset cannot both pass the offset check), and a step waits for
        the chunk being written: staging never misses, nor leaves behind, a
        chunk that arrives while it runs. Odoo 18 has no ORM lock helper.
        """
        self.env.cr.execute(
            SQL("SELECT id FROM bss_import_run WHERE id IN %s FOR NO KEY UPDATE", tuple(self.ids))
        )
        # What was read before the lock may be stale.
        self.invalidate_recordset()

    def upload_chunk(self, file_name, offset, data_b64):
        """Append a chunk of an uploaded export file; return the file's new size in bytes.

        Large exports arrive in chunks (web client and CLI), so no single
        request comes near the web server's request size limit. ``offset``
        must equal the bytes already received: a retried chunk is refused
        with the expected offset instead of being written twice.
        """
        self.ensure_one()
        self._check_operator()
        self._lock()
        if self.state not in ("draft", "detected", "error") or self.error_state not in (
            False,
            "draft",
            "detected",
        ):
            raise UserError(_("Files can only be added before staging (run %(run)s).", run=self.name))
        name = self._safe_upload_name(file_name)
        try:
            data = base64.b64decode(data_b64 or b"", validate=True)
        except (binascii.Error, ValueError):
            raise UserError(_("Upload of %(name)s: the chunk is not valid base64.", name=name))
        try:
            start = int(offset)
        except (TypeError, ValueError):
            start = None
        folder = self._upload_dir()
        path = os.path.join(folder, *name.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        size = os.path.getsize(path) if os.path.exists(path) else 0
        if start != size:
            raise UserError(
                _(
                    "Upload of %(name)s: chunk at byte %(offset)s, but %(size)s bytes were received; "
                    "resume at byte %(size)s.",
                    name=name,
                    offset=offset,
                    size=size,
                )
            )
        with open(path, "ab") as fh:
            fh.write(data)
        return size + len(data)

    def action_clear_uploads(self):
        """Forget the uploaded files (before staging), e.g. after uploading the wrong export."""
        self._check_operator()
        for run in self:
            current = run.error_state if run.state == "error" else run.state
            if current not in ("draft", "detected"):
                raise UserError(_("The files of a staged run cannot be replaced; start a new run."))
            run._lock()
            shutil.rmtree(run._upload_dir(), ignore_errors=True)
            # sudo: files are the detection's records, which only the steps create and delete.
            run.file_ids.sudo().unlink()
            run._server_write({"state": "draft", "error_message": False, "error_state": False})
        return True

    def _delete_uploads(self):
        """Delete the uploaded files from disk, keeping their names, sizes and SHA-256 in the run.

        Called once the run is staged: the uploads hold the secret columns
        that staging dropped, and the staged tables are now the only copy the
        run needs. An export read from a server path is the administrator's
        file and stays where it is.
        """
        self.ensure_one()
        folder = self._upload_dir()
        manifest = []
        for name, size in self._uploads(folder):
            digest = hashlib.sha256()
            with open(os.path.join(folder, *name.split("/")), "rb") as fh:
                for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                    digest.update(block)
            manifest.append({"name": name, "size": size, "sha256": digest.hexdigest()})
        shutil.rmtree(folder, ignore_errors=True)
        if os.path.exists(folder):
            raise ExportError(f"the uploaded files could not be deleted from {UPLOAD_FOLDER}/run_{self.id}")
        if manifest:
            self._server_write(
                {"upload_manifest": json.dumps(manifest), "uploads_deleted_date": fields.Datetime.now()}
            )
            self._message_log(
                body=_(
                    "Uploaded files deleted after staging (the staged tables are the only copy): %(files)s",
                    files=", ".join(f"{f['name']} ({f['size']} bytes)" for f in manifest),
                )
            )

    @contextmanager
    def _open_export(self):
        """Open the run's export (server path or uploads) as a :class:`sources.Export`."""
        self.ensure_one()
        server_path = self.sudo().server_path  # sudo: read the admin-only field; set only by admins
        if server_path:
            source = server_path
        else:
            folder = self._upload_dir()
            uploads = self._uploads(folder)
            if not uploads:
                raise ExportError("nothing was uploaded")
            if len(uploads) == 1 and uploads[0][0].lower().endswith(".zip"):
                source = os.path.join(folder, uploads[0][0])
            else:
                source = folder
        try:
            export = sources.open_export(source)
        except ExportError as exc:
            # The server folder is not the operator's business: name the upload instead.
            if exc.file and not server_path:
                rel = os.path.relpath(exc.file, self._upload_dir()) if os.path.isabs(exc.file) else exc.file
                exc = ExportError(
                    exc.reason, file=rel if rel != "." else "upload", row=exc.row, column=exc.column
                )
            raise exc from None
        try:
            yield export
        finally:
            export.close()

    # ------------------------------------------------------------ the steps
    def _check_operator(self):
        if not self.env.user.has_group("bss_import.bss_import_group_user"):
            raise AccessError(_("Only Migration Operators can run imports."))
        self.check_access("write")

    def _begin(self, step):
        self.ensure_one()
        self._check_operator()
        self._lock()
        current = self.error_state if self.state == "error" else self.state
        if step in ("detect", "stage") and current in ("staged", "profiled"):
            self._check_source_kept()
        if current not in _STEP_FROM[step]:
            raise UserError(
                _(
                    "Run %(run)s is in state %(state)s: %(step)s is not possible now.",
                    run=self.name,
                    state=dict(STATES).get(current, current),
                    step=step,
                )
            )
        return current

    def _check_source_kept(self):
        """Refuse to read the export again once staging deleted the uploads."""
        if self.uploads_deleted_date and not self.sudo().server_path:  # sudo: admin-only field, read only
            raise UserError(
                _(
                    "Run %(run)s is staged and its uploaded files were deleted (they held secrets): "
                    "detecting or staging again needs a new run.",
                    run=self.name,
                )
            )

    # Notes go through _message_log: an internal trace that needs no sender e-mail address.
    def _refuse(self, from_state, message):
        self._server_write({"state": "error", "error_state": from_state, "error_message": message})
        self._message_log(body=_("Step refused: %(msg)s", msg=message))
        _logger.info("import run %s refused: %s", self.name, message)

    def _run_step(self, step, func):
        from_state = self._begin(step)
        refused = None
        try:
            with self.env.cr.savepoint():
                try:
                    func()
                except _PartialDetection as partial:
                    # Keep the detected files: the operator corrects the broken ones.
                    refused = ("detected", str(partial))
        except ExportError as exc:
            self.env.invalidate_all()
            refused = (from_state, str(exc))
        finally:
            self.env["bss.import.progress"]._report(self.id, step, 1, 1, "finished")
        if refused:
            self._refuse(*refused)
            return False
        return True

    def action_detect(self):
        """Detect every file of the export: its object, encoding, delimiter, header and formats.

        Returns True when every file was recognised; otherwise the run is
        refused, the files that could be read are listed, and each unreadable
        one carries its error so the operator can correct it (object,
        encoding, delimiter) or exclude it before retrying.
        """
        return self._run_step("detect", self._do_detect)

    def _do_detect(self):
        self._reset_after("detect")
        # sudo: files are the detection's records; only the steps create them (after _begin's checks).
        File = self.env["bss.import.file"].sudo()
        with self._open_export() as export:
            skipped = []
            for name, reason in export.skipped:
                if reason == "empty file":
                    File.create({"run_id": self.id, "name": name, "member_name": name, "kind": "text"})._fail(
                        ExportError("the file is empty (0 bytes)", file=name)
                    )
                else:
                    skipped.append(f"{name}: {reason}")
            self._server_write({"skipped_files": "\n".join(skipped) or False})
            total = len(export.members)
            sheets = {}
            for member in export.members:
                sheets[member.name] = sheets.get(member.name, 0) + 1
            for n, member in enumerate(export.members, start=1):
                self.env["bss.import.progress"]._report(self.id, "detect", n - 1, total, member.label)
                record = File.create(
                    {
                        "run_id": self.id,
                        # A one-sheet workbook is named like its file; several sheets add "#sheet".
                        "name": member.label if sheets[member.name] > 1 else member.name,
                        "member_name": member.name,
                        "sheet": member.sheet,
                        "kind": member.kind,
                        "size": member.size,
                    }
                )
                record._detect(member)
        failed = self.file_ids.filtered(lambda f: f.state == "error")
        if failed:
            raise _PartialDetection("; ".join(failed.mapped("error_message")))
        self._server_write({"state": "detected"})

    def _settle_detection(self):
        """Back to "detected" once no included file is unreadable; return the unreadable ones."""
        broken = self.file_ids.filtered(lambda f: f.include and f.state == "error")
        if not broken:
            self._server_write({"state": "detected", "error_message": False, "error_state": False})
        return broken

    def action_stage(self):
        """COPY every included file into this run's staging tables; secrets are dropped first."""
        return self._run_step("stage", self._do_stage)

    def _do_stage(self):
        files = self.file_ids.filtered("include")
        if not files:
            raise ExportError("no file is included in the run")
        broken = files.filtered(lambda f: f.state == "error" or not f.table)
        if broken:
            raise ExportError(
                "; ".join(f.error_message or f"file {f.name!r}: choose its object" for f in broken)
            )
        self._reset_after("stage")
        stage_tables.ensure_schema(self.env.cr)
        total = sum(files.mapped("size"))
        done = 0
        with self._open_export() as export:
            for file in files:
                member = file._member(export)
                file._stage(member, bytes_before=done, bytes_total=total)
                done += file.size
            # The PDFs the tables refer to: kept with the run before the uploads are deleted.
            documents.stage_documents(self, export)
        self._server_write({"state": "staged"})
        if not self.sudo().server_path:  # sudo: admin-only field, read only
            self._delete_uploads()

    def action_profile(self):
        """Run the data-quality findings over the staged rows (set-based SQL)."""
        return self._run_step("profile", self._do_profile)

    def _do_profile(self):
        # sudo: findings are evidence that only the profiling step deletes and creates.
        self.finding_ids.sudo().unlink()
        profiler.profile_run(self)
        # The owner mapping is proposed from the staged rows, as the column mapping from the files.
        self.env["bss.import.owner.map"]._propose(self)
        self._server_write({"state": "profiled"})

    def action_stage_and_profile(self):
        """Stage then profile (the wizard's "Stage and profile" button)."""
        return self.action_stage() and self.action_profile()

    def _reset_after(self, step):
        """Discard what later steps produced from an earlier state of the run."""
        # sudo: files and findings are what the steps produced; only the steps delete or reset them.
        files = self.file_ids.sudo()
        if step == "detect":
            files.unlink()
        if step in ("detect", "stage"):
            stage_tables.drop_run_tables(self.env.cr, self.id)
            files.write({"rows": 0, "staging_table": False})
            files.filtered(lambda f: f.state == "staged").write({"state": "detected"})
            self.owner_map_ids.sudo().unlink()
        self.finding_ids.sudo().unlink()
        self._server_write(
            {
                "error_message": False,
                "error_state": False,
                "mapping_confirmed_by": False,
                "mapping_confirmed_date": False,
            }
        )

    # -------------------------------------------------------------- mapping
    def action_confirm_mapping(self):
        """Confirm the reviewed mapping: the gate before anything leaves staging."""
        self.ensure_one()
        self._check_operator()
        self._lock()
        if self.state != "profiled":
            raise UserError(_("Profile the run before confirming its mapping (run %(run)s).", run=self.name))
        problems = self.mapping_line_ids.filtered(lambda ln: ln.file_id.include)._mapping_problems()
        if problems:
            raise ValidationError(
                _("The mapping cannot be confirmed yet:\n%(problems)s", problems="\n".join(problems))
            )
        self._server_write(
            {
                "state": "confirmed",
                "mapping_confirmed_by": self.env.user.id,
                "mapping_confirmed_date": fields.Datetime.now(),
            }
        )
        self._message_log(body=_("Mapping confirmed by %(user)s.", user=self.env.user.name))
        unmapped = self.env["bss.import.owner.map"]._unmapped_findings(self)
        if unmapped:
            self._message_log(
                body=_(
                    "Owner mapping: %(rows)s rows name a legacy owner mapped to no user or sales team "
                    "(finding Unmapped owner).",
                    rows=sum(unmapped.mapped("count")),
                )
            )
        return True

    def action_reopen_mapping(self):
        """Reopen a confirmed mapping for edits (Migration Manager)."""
        self.ensure_one()
        self._check_manager(_("Only a Migration Manager can reopen a confirmed mapping."))
        self.check_access("write")
        self._lock()
        if self.state != "confirmed":
            raise UserError(_("Only a confirmed mapping can be reopened."))
        self._server_write(
            {"state": "profiled", "mapping_confirmed_by": False, "mapping_confirmed_date": False}
        )
        self._message_log(body=_("Mapping reopened by %(user)s.", user=self.env.user.name))
        return True

    def _check_mapping_confirmed(self):
        """Raise unless the mapping is confirmed: later steps (migration) call this first."""
        for run in self:
            if run.state not in CONFIRMED_STATES:
                raise UserError(
                    _("Run %(run)s: nothing leaves staging until the mapping is confirmed.", run=run.name)
                )

    # ------------------------------------------------------------ migration
    def action_migrate(self, objects=None):
        """Migrate the confirmed run into Odoo, phase by phase in dependency order (Migration Operator).

        ``objects`` limits the run to those objects (e.g. ``["service_plans"]``);
        a phase whose earlier phase has an unacknowledged mismatch is blocked.
        Running it again, or a new run of the same export, creates nothing and
        changes nothing (the records are found by their source key). Returns
        the phases' counts, by object.
        """
        self.ensure_one()
        self._check_operator()
        self._lock()
        self._check_mapping_confirmed()
        self._check_can_migrate()
        self._check_phase_objects(objects or ())
        chunk_size = self._chunk_size()
        self._take_writer_lock()
        self._server_write({"state": "migrating"})
        self._prepare_phases()
        try:
            phases = runner.migrate(self, objects, chunk_size)
            self._after_phases()
        finally:
            self._release_writer_lock()
        self._migrated(phases)
        return {p["object"]: {k: v for k, v in p.items() if k != "object"} for p in phases}

    def _check_can_migrate(self):
        """Raise when the run's phases may not be started now by this process or a client (the run
        migrates through its cohorts, or queue jobs write it); nothing by default."""

    def _prepare_phases(self):
        """What the run needs before its phases start, once it holds the writer lock (a delta pass of
        a run migrated in cohorts lists the customers it may update); nothing by default. Called again
        on every start: it does nothing the second time."""

    def _take_writer_lock(self, take_over=False):
        """Take the company's writer lock for this run, committed at once on a cursor of its own:
        another run's request sees it (and is refused) while this one's transaction runs."""
        with self._lock_cursor() as lock_cr:
            env = self.env(cr=lock_cr)
            env["bss.import.writer.lock"]._acquire(self.with_env(env), take_over=take_over)

    def _release_writer_lock(self):
        with self._lock_cursor() as lock_cr:
            env = self.env(cr=lock_cr)
            env["bss.import.writer.lock"]._release(self.with_env(env))

    def _lock_cursor(self):
        """The writer lock's row is refreshed by every chunk of every worker of the run: read and
        written READ COMMITTED (:func:`runner.read_committed_cursor`)."""
        return runner.read_committed_cursor(self.env.registry)

    def action_take_over_writer_lock(self):
        """Take over the company's writer lock that a dead run left, for this run (Migration Manager)."""
        self.ensure_one()
        self._check_manager(_("Only a Migration Manager can take over a writer lock."))
        self.check_access("write")
        with self._lock_cursor() as lock_cr:
            env = self.env(cr=lock_cr)
            Lock = env["bss.import.writer.lock"]
            held = Lock.sudo().search([("company_id", "=", self.company_id.id)])
            previous = held.run_id.name
            Lock._acquire(self.with_env(env), take_over=True)
        self._message_log(
            body=_(
                "Writer lock of %(company)s taken over from run %(previous)s by %(user)s.",
                company=self.company_id.name,
                previous=previous or "-",
                user=self.env.user.name,
            )
        )
        return True

    def _after_phases(self):
        """What follows the phases while the run still holds its company's writer lock (a delta pass
        lists the records its export no longer has); nothing for a first run."""

    def _migrated(self, phases):
        """Mark the run migrated and log the phases' outcome (``phases``: their summaries)."""
        self._server_write({"state": "migrated"})
        self._message_log(
            body=_(
                "Migration by %(user)s: %(phases)s",
                user=self.env.user.name,
                phases="; ".join(
                    f"{p['object']} {p['state']} ({p['created']} created, {p['updated']} updated, "
                    f"{p['unchanged']} unchanged, {p['quarantined']} quarantined)"
                    for p in phases
                ),
            )
        )

    def action_migrate_finish(self):
        """Mark the run migrated once its phases were written by chunk workers (Migration Operator);
        returns the summaries of its phases."""
        self.ensure_one()
        self._check_operator()
        self._lock()
        self._check_mapping_confirmed()
        self._after_phases()
        phases = self._phase_summaries()
        self._release_writer_lock()
        self._migrated(phases)
        return phases

    def _chunk_size(self, value=None):
        """Source keys per chunk: ``value``, else the ``bss_import.chunk_size`` system parameter,
        else the measured default (:data:`runner.CHUNK_SIZE`)."""
        if value is None or value is False:
            # sudo: a system parameter the operator may not read; only its number is used.
            value = self.env["ir.config_parameter"].sudo().get_param("bss_import.chunk_size")
            if not value:
                return runner.CHUNK_SIZE
        try:
            size = int(value)
        except (TypeError, ValueError) as exc:
            raise UserError(
                _("The chunk size must be a whole number of source keys, not %r.", value)
            ) from exc
        if size < 1:
            raise UserError(_("The chunk size must be at least 1 source key, not %s.", size))
        return size

    def _check_phase_object(self, obj):
        self._check_phase_objects([obj])

    def _check_phase_objects(self, objects):
        """Raise naming the objects of ``objects`` no migration phase exists for."""
        unknown = sorted(set(objects) - set(runner.PHASE_OF))
        if unknown:
            raise UserError(
                _(
                    "No migration phase exists for %(objects)s (phases: %(phases)s).",
                    objects=", ".join(unknown),
                    phases=", ".join(runner.PHASE_OF),
                )
            )

    def action_migrate_start(self, obj, chunk_size=None):
        """Start (or resume) the migration phase of ``obj`` for chunk workers (Migration Operator).

        The phase's keys are cut into chunks of ``chunk_size`` keys; a phase
        that stopped before it settled resumes from its chunks done. Then any
        number of :meth:`action_migrate_work` calls, from several clients at
        once, write its chunks, and :meth:`action_migrate_settle` reconciles it.
        Returns the phase's summary (``{}`` when the export has no such rows).
        """
        self.ensure_one()
        self._check_operator()
        self._check_mapping_confirmed()
        self._check_phase_object(obj)
        self._check_can_migrate()
        self._take_writer_lock()
        if self.state != "migrating":
            self._lock()
            self._server_write({"state": "migrating"})
        self._prepare_phases()
        self.env.flush_all()
        if runner.start_phase(self, obj, self._chunk_size(chunk_size)) is None:
            return {}
        return next(iter(self._phase_summaries([obj])), {})

    def action_migrate_work(self, obj, seconds=60):
        """Write pending chunks of the running phase ``obj`` for about ``seconds`` (Migration Operator);
        returns the phase's summary, with ``written``: the chunks this call wrote.

        Each call is a worker: it takes the next chunk no other worker holds.
        Calls end after the chunk that passes ``seconds``, well within a web
        worker's time limit; the client calls again while chunks are pending.
        """
        self.ensure_one()
        self._check_operator()
        self._check_mapping_confirmed()
        self._check_phase_object(obj)
        self._take_writer_lock()
        # 0 is a time limit (one chunk per call); None or False (XML-RPC's nil): none.
        limit = None if seconds is None or seconds is False else float(seconds)
        return runner.work_phase(self, obj, seconds=limit)

    def action_migrate_settle(self, obj):
        """Settle the phase ``obj`` once its chunks are written: counts, checksums, control totals and
        sample (Migration Operator); returns the phase's summary."""
        self.ensure_one()
        self._check_operator()
        self._check_mapping_confirmed()
        self._check_phase_object(obj)
        return runner.settle_phase(self, obj)

    def _phase_summaries(self, objects=None):
        """The summaries of the run's phases (of ``objects``, else all), in dependency order."""
        with self.env.registry.cursor() as own_cr:
            # A cursor of its own: this request's transaction predates what the migration committed.
            phases = self.with_env(self.env(cr=own_cr)).sudo().phase_ids
            return [runner.phase_summary(p) for p in phases if not objects or p.object in objects]

    def action_acknowledge_mismatch(self, phase, reason):
        """Acknowledge a phase's reconciliation mismatch (Migration Manager), so later phases may run.

        ``phase`` is a ``bss.import.phase`` record or id, or an object name.
        Who, when and why are stored on the phase and logged on the run.
        """
        self.ensure_one()
        self._check_manager(_("Only a Migration Manager can acknowledge a reconciliation mismatch."))
        self.check_access("write")
        self._lock()
        Phase = self.env["bss.import.phase"]
        if isinstance(phase, str):
            record = self.phase_ids.filtered(lambda p: p.object == phase)
        else:
            record = Phase.browse(phase.id if isinstance(phase, models.BaseModel) else phase)
        reason = (reason or "").strip()
        if not record or record.run_id != self:
            raise UserError(_("Run %(run)s has no such migration phase.", run=self.name))
        if not reason:
            raise UserError(
                _("Phase %(phase)s: give the reason for acknowledging the mismatch.", phase=record.object)
            )
        if not record._blocking():
            raise UserError(_("Phase %(phase)s has no unacknowledged mismatch.", phase=record.object))
        # sudo: phases refuse every non-superuser write; the manager was checked above.
        record.sudo().write(
            {
                "acknowledged_by": self.env.user.id,
                "acknowledged_date": fields.Datetime.now(),
                "acknowledge_reason": reason,
            }
        )
        self._message_log(
            body=_(
                "Mismatch of phase %(phase)s acknowledged by %(user)s: %(reason)s (mismatch: %(mismatch)s)",
                phase=record.object,
                user=self.env.user.name,
                reason=reason,
                mismatch=record.mismatch,
            )
        )
        return True

    def _retry_quarantine(self, rows):
        """Re-run open quarantined ``rows`` of this run through their phase; returns how many passed."""
        self.ensure_one()
        self._check_operator()
        self._lock()
        self._check_mapping_confirmed()
        rows.check_access("read")
        migrated = runner.retry(self, rows)
        self._message_log(
            body=_(
                "%(user)s re-ran %(count)s quarantined rows: %(migrated)s migrated.",
                user=self.env.user.name,
                count=len(rows),
                migrated=migrated,
            )
        )
        return migrated

    def action_view_quarantine(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Quarantine of %(run)s", run=self.name),
            "res_model": "bss.import.quarantine",
            "view_mode": "list,form",
            "domain": [("run_id", "=", self.id)],
            "context": {"search_default_open": 1, "search_default_group_object": 1},
        }

    def action_apply_template(self, template_id=None):
        """Apply a saved mapping template to this run's mapping lines; returns how many lines changed."""
        self.ensure_one()
        self._check_operator()
        if self.state not in ("staged", "profiled", "detected") and not (
            self.state == "error" and self.error_state in ("detected", "staged", "profiled")
        ):
            raise UserError(_("A template applies to a run whose mapping is not confirmed yet."))
        template = (
            self.env["bss.import.mapping.template"].browse(template_id) if template_id else self.template_id
        )
        if not template:
            raise UserError(_("Choose a mapping template first."))
        self.template_id = template
        return template._apply_to(self.mapping_line_ids)

    def action_save_template(self, name):
        """Save the confirmed mapping as a named template reusable on later runs; returns its id."""
        self.ensure_one()
        self._check_operator()
        if self.state not in CONFIRMED_STATES:
            raise UserError(_("Only a confirmed mapping can be saved as a template."))
        template = self.env["bss.import.mapping.template"]._create_from_lines(
            name, self.mapping_line_ids, self.company_id
        )
        self.template_id = template
        return template.id

    def action_purge_staging(self):
        """Remove the run's personal data: staged rows, any upload left on disk, attached files.

        Findings, mapping and the chatter stay as the record of the run.
        """
        self._check_manager(_("Only a Migration Manager can purge staged rows."))
        self.check_access("write")
        for run in self:
            run._lock()
            stage_tables.drop_run_tables(self.env.cr, run.id)
            shutil.rmtree(run._upload_dir(), ignore_errors=True)
            # sudo: staging_table is set by the steps only; the purge is one of them (manager checked).
            run.file_ids.sudo().write({"staging_table": False})
            attachments = run._attachments()
            names = attachments.mapped("name")
            # sudo: the manager may not see every attachment of the run (e.g. another user's upload).
            attachments.sudo().unlink()
            run._message_log(
                body=_("Staged rows purged.")
                if not names
                else _("Staged rows purged; attached files deleted: %(names)s", names=", ".join(names))
            )
        return True

    def _attachments(self):
        """Files attached to the run (its chatter) or to its files."""
        # sudo: search every attachment of the run, whoever attached it; callers checked the manager group.
        return (
            self.env["ir.attachment"]
            .sudo()
            .search(
                [
                    "|",
                    "&",
                    ("res_model", "=", self._name),
                    ("res_id", "in", self.ids),
                    "&",
                    ("res_model", "=", "bss.import.file"),
                    ("res_id", "in", self.file_ids.ids),
                ]
            )
        )

    # ------------------------------------------------------------ reporting
    def get_progress(self):
        """Progress of the running or last step, for the web client and the CLI."""
        self.ensure_one()
        self._check_operator()
        return {
            "state": self.state,
            "step": self.progress_step or False,
            "done": self.progress_done,
            "total": self.progress_total,
            "message": self.progress_message or False,
        }

    def _object_rows(self):
        rows = {}
        for file in self.file_ids.filtered(lambda f: f.include and f.object):
            rows[file.object] = rows.get(file.object, 0) + file.rows
        return {obj: rows[obj] for obj in schema.OBJECTS if obj in rows}

    def _finding_totals(self):
        totals = dict.fromkeys(profiler.FINDING_KINDS, 0)
        for finding in self.finding_ids:
            # Profiling's kinds always, the confirmation's (unmapped owners) when it found some.
            totals[finding.kind] = totals.get(finding.kind, 0) + finding.count
        return totals

    def _mapping_key(self, line):
        # Child tables (order lines, invoice lines) share their object with the main table.
        return line.header if line.table == line.object else f"{line.table}.{line.header}"

    def get_profile_summary(self):
        """The profile as one JSON-ready dict (the CLI's ``profile --json`` output).

        XML-RPC has no null: ``False`` stands for "none" (the CLI prints null).
        """
        self.ensure_one()
        self._check_operator()
        files = {
            f.name: {"object": f.object or False, "encoding": f.encoding or False, "rows": f.rows}
            for f in self.file_ids
            if f.include
        }
        mapping = {}
        for line in self.mapping_line_ids.filtered(lambda ln: ln.file_id.include).sorted(
            lambda ln: (schema.OBJECTS.index(ln.object), ln.file_id.id, ln.column_index)
        ):
            mapping.setdefault(line.object, {})[self._mapping_key(line)] = {
                "field": line.target_field if line.action in ("map", "new_field") else False,
                "confidence": round(line.confidence, 4),
            }
        return {
            "run_id": self.id,
            "files": files,
            "objects": {obj: {"source_rows": n} for obj, n in self._object_rows().items()},
            "findings": self._finding_totals(),
            "mapping": mapping,
        }

    def get_profile_report(self):
        """The profile with its details (detection, findings, mapping evidence) for readable output."""
        self.ensure_one()
        self._check_operator()
        return {
            "name": self.name,
            "state": self.state,
            "error_message": self.error_message or False,
            "files": [
                {
                    "name": f.name,
                    "object": f.object or False,
                    "table": f.table or False,
                    "encoding": f.encoding or False,
                    "delimiter": f.delimiter or False,
                    "header_row": f.header_row + 1,
                    "date_format": f.date_format or False,
                    "decimal_format": f.decimal_separator or False,
                    "rows": f.rows,
                    "dropped_columns": f._dropped_headers(),
                }
                for f in self.file_ids
                if f.include
            ],
            "objects": {obj: {"source_rows": n} for obj, n in self._object_rows().items()},
            "findings": [
                {
                    "object": f.object,
                    "table": f.table,
                    "kind": f.kind,
                    "count": f.count,
                    "description": f.description,
                }
                for f in self.finding_ids
            ],
            "mapping": [
                {
                    "object": line.object,
                    "table": line.table,
                    "file": line.file_id.name,
                    "column": line.header,
                    "action": line.action,
                    "field": line.target_field or False,
                    "type": line.target_type or False,
                    "confidence": round(line.confidence, 4),
                    "evidence": line.evidence or False,
                }
                for line in self.mapping_line_ids.filtered(lambda ln: ln.file_id.include)
            ],
        }

    def _report_rows(self):
        """Rows of the downloadable findings report (see :mod:`..lib.report`)."""
        self.ensure_one()
        self._check_operator()
        out = []
        for finding in self.finding_ids:
            out.append(
                (
                    finding.object,
                    finding.table,
                    finding.kind,
                    finding.count,
                    "",
                    "",
                    "",
                    "",
                    finding.description,
                )
            )
            self.env.cr.execute(
                SQL(
                    """SELECT f.name, r.line, r.key, r.column_name, r.detail
                         FROM bss_import_finding_row r LEFT JOIN bss_import_file f ON f.id = r.file_id
                        WHERE r.finding_id = %s ORDER BY r.file_id, r.line, r.id""",
                    finding.id,
                )
            )
            for name, line, key, column, detail in self.env.cr.fetchall():
                out.append(
                    (finding.object, finding.table, finding.kind, "", name, line or "", key, column, detail)
                )
        return out

    def action_view_findings(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Findings of %(run)s", run=self.name),
            "res_model": "bss.import.finding",
            "view_mode": "list,form",
            "domain": [("run_id", "=", self.id)],
            "context": {"search_default_group_object": 1},
        }


class _PartialDetection(ExportError):
    """Detection found unreadable files: refuse the step but keep the files it could detect."""
