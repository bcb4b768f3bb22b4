"""Documents of subscribers and accounts: attachments copied from the export.

* a document belongs to its subscriber (``subscriber_id``, a migrated line),
  else its billing account (``account_number``); neither migrated:
  quarantined, naming both fields;
* the file (``file_path``, a path inside the export) was kept with the run at
  staging (:mod:`..documents`); the attachment is a copy of that staged one
  (the same filestore file: equal contents are stored once), named by
  ``file_name`` or else the path's last part, its mimetype guessed from the
  name (a PDF, an image) and its description the document type;
* a path naming no file of the export, an empty file, or a file whose first
  bytes are not those of its kind (``%PDF-`` for a PDF, the PNG, JPEG or TIFF
  signature for an image; only these magic bytes are checked, the file is not
  parsed) quarantines the row with a reason naming the file, the row and
  ``file_path``;
* the original dates and hands are kept: ``document_date`` becomes the
  attachment's ``create_date`` and the uploader's mapped user its
  ``create_uid`` (else the migrating user's, as the ORM sets it). The ORM
  drops both from the values of a create or write (they are its log-access
  columns), so they are written by SQL right after;
* a later export changes what it says: the name, type, record, date,
  uploader, and the file itself (a new content is written over the copy).
"""

import mimetypes
import posixpath

from odoo.exceptions import UserError
from odoo.tools import SQL

from ...lib import schema
from .. import documents
from .base import Phase, Rejected, Resolved, comparable
from .interactions import PARTNER, PartnerRows

#: What a document type reads as on the attachment (its description).
DOCUMENT_TYPE_LABELS = {"contract": "Contract", "id_scan": "ID scan", "invoice": "Invoice", "other": "Other"}
#: Values a resolved document carries for the write only (not fields of the attachment).
_WRITE_ONLY = ("_staged",)
#: File contents held in memory at most while copies are created together (see copy_staged).
COPY_BYTES = 32 * 1024 * 1024
#: Log-access columns the ORM will not write: set by SQL after the create or write.
_SQL_FIELDS = ("create_date", "create_uid")


class DocumentsPhase(PartnerRows, Phase):
    object = "documents"
    table = "documents"
    model = "ir.attachment"
    #: A copy reads and writes a file: a tenth of a contact's keys per chunk.
    chunk_scale = 0.1

    def __init__(self, ctx):
        super().__init__(ctx)
        self._documents = None
        self._staged = {}

    def handled(self, name):
        return name in (
            "subscriber_id",
            "account_number",
            "document_type",
            "file_path",
            "document_date",
            "uploaded_by",
        )

    # ------------------------------------------------------ staged documents
    def index(self):
        """{path in the export (and unique bare name): staged attachment id}, read once."""
        if self._documents is None:
            self._documents = documents.index(self.ctx.source)
            self.staged_info(self._documents.values())
        return self._documents

    def staged_info(self, ids):
        """{staged attachment id: (file size, content checksum, store_fname, mimetype)}, read once."""
        missing = [i for i in set(ids) if i not in self._staged]
        if missing:
            self._staged.update(documents.staged_info(self.ctx.source, missing))
        return self._staged

    def document(self, row, path):
        """(staged attachment id or None, reasons) of the row's ``file_path``."""
        where = self.where(row)
        found = self.index()
        attachment = found.get(path) or found.get(path.lstrip("./"))
        if not attachment:
            return None, [f"file_path: the file {path!r} ({where}) is not in the export"]
        size, _checksum, fname, _mimetype = self._staged[attachment]
        problem = documents.unreadable(path, size, lambda: documents.head(self.env, attachment, fname))
        if problem:
            return None, [f"file_path: the file {path!r} ({where}) is {problem}"]
        return attachment, []

    # ---------------------------------------------------------- resolution
    def complete(self, row, row_values, vals):
        reasons = []
        partner, reason, fallback = self.partner_of(row_values)
        if reason:
            reasons.append(reason)
        raw_type = row_values.get("document_type")
        kind = self.code("document_type", raw_type) if raw_type else None
        if kind and kind not in schema.DOCUMENT_TYPES:
            reasons.append(f"document_type: unknown document type {raw_type!r}")
        try:
            date = self.parse_date("document_date", row_values.get("document_date"), time=True)
        except ValueError as exc:
            reasons.append(f"document_date: {exc}")
            date = None
        path = (row_values.get("file_path") or "").strip().replace("\\", "/")
        attachment, file_reasons = self.document(row, path)
        reasons += file_reasons
        if reasons:
            return Rejected(row, reasons)
        name = (row_values.get("file_name") or "").strip() or posixpath.basename(path)
        _size, checksum, _fname, staged_type = self._staged[attachment]
        out = {
            **{k: v for k, v in vals.items() if k.startswith("x_")},
            "_staged": attachment,
            "name": name,
            "res_model": PARTNER,
            "res_id": partner,
            "description": DOCUMENT_TYPE_LABELS.get(kind, False),
            # The name's type, else what Odoo found in the file when it was staged.
            "mimetype": mimetypes.guess_type(name)[0] or staged_type or "application/octet-stream",
            "checksum": checksum,
        }
        if date:
            out["create_date"] = date
        uploader = self.ctx.owners.user_id(row_values.get("uploaded_by"))
        if uploader:
            out["create_uid"] = uploader
        return Resolved(row, out, fallback)

    # ---------------------------------------------------------------- writes
    def checksum(self, vals):
        return super().checksum({k: v for k, v in vals.items() if k not in _WRITE_ONLY})

    def reconcile(self, items):
        return super().reconcile(
            [Resolved(it.row, self.fields_of(it.vals), it.flag, it.checksum) for it in items]
        )

    @staticmethod
    def fields_of(vals):
        return {k: v for k, v in vals.items() if k not in _WRITE_ONLY}

    def write_chunk(self, items, counts):
        """Copy the staged file of each new document onto its record; update changed ones."""
        Attachment = self.env["ir.attachment"]
        links = self.ctx.links(self.object, [it.row.key for it in items])
        entries, changes, copies = [], [], []
        for item in items:
            checksum = item.checksum = self.checksum(item.vals)
            link = links.get(item.row.key)
            if item.flag:
                counts.flagged += 1
            if link and link.checksum == checksum:
                counts.unchanged += 1
                continue
            target = self.fields_of(item.vals)
            orm = {k: v for k, v in target.items() if k not in (*_SQL_FIELDS, "checksum")}
            if not link:
                copies.append((item, target, orm, checksum))
                continue
            record = Attachment.browse(link.res_id).exists()
            if not record:
                raise UserError(
                    self.env._(
                        "Document %(key)s changed in the export, but its attachment is no longer in Odoo "
                        "(deleted there).",
                        key=item.row.key,
                    )
                )
            old = {f: comparable(record[f]) for f in target}
            changed = {f: v for f, v in target.items() if comparable(v) != old[f]}
            write = {f: v for f, v in changed.items() if f in orm}
            if "checksum" in changed:
                # A new content in the export: the staged file's bytes replace the copy's.
                write["raw"] = Attachment.browse(item.vals["_staged"]).raw
            if write:
                record.write(write)
            self.stamp(record, {f: v for f, v in changed.items() if f in _SQL_FIELDS})
            Attachment.invalidate_model(["raw", "datas"])
            if changed:
                counts.updated += 1
                logged = {f: v for f, v in changed.items() if f in orm}
                if logged:
                    changes.append((item.row.key, record.id, old, logged))
            else:
                counts.unchanged += 1
            link.write({"checksum": checksum, "last_run_id": self.ctx.run.id, "flag": item.flag or False})
        if copies:
            entries += self.copy_staged(copies, counts)
        self.ctx.log_changes(self.object, self.model, changes)
        self.ctx.create_links(self.object, self.model, entries)

    def copy_staged(self, copies, counts):
        """Copy the staged attachment of each new document: what ``copy()`` does (its values, the
        file's content, its translations), with one ``create()`` per group of copies holding at
        most :data:`COPY_BYTES` of file contents in memory. Returns the link entries."""
        Attachment = self.env["ir.attachment"].with_context(active_test=False)
        entries, group, held = [], [], 0
        for position, copy in enumerate(copies):
            item, _target, orm, _checksum = copy
            original = Attachment.browse(item.vals["_staged"])
            (vals,) = original.copy_data(orm)
            group.append((original, vals, copy))
            held += len(vals.get("raw") or b"")
            Attachment.invalidate_model(["raw", "datas"])
            if held >= COPY_BYTES or position == len(copies) - 1:
                records = self.env["ir.attachment"].create([vals for _original, vals, _copy in group])
                for (original, _vals, copied), record in zip(group, records, strict=True):
                    item, target, orm, checksum = copied
                    original.copy_translations(record, excluded=orm)
                    self.stamp(record, target)
                    entries.append((item.row.key, record.id, checksum, item.flag))
                    counts.created += 1
                Attachment.invalidate_model(["raw", "datas"])
                group, held = [], 0
        return entries

    def stamp(self, record, vals):
        """Write the log-access columns of ``vals`` (original date, uploader) by SQL: the ORM drops them."""
        sets = [SQL("%s = %s", SQL.identifier(f), vals[f]) for f in _SQL_FIELDS if f in vals]
        if not sets:
            return
        record.flush_recordset()
        self.env.cr.execute(SQL("UPDATE ir_attachment SET %s WHERE id = %s", SQL(", ").join(sets), record.id))
        record.invalidate_recordset(list(_SQL_FIELDS))

    # ------------------------------------------------- control totals
    def control_totals(self):
        """Records and total bytes (the staged documents' sizes against the linked attachments'),
        and records by document type (against the attachments' descriptions)."""
        if not self.has_rows():
            return []
        found = self.index()
        sources = odoos = src_bytes = odoo_bytes = 0
        by_source, by_odoo = {}, {}
        for _key, source, odoo in self.paired_rows(
            ["file_path", "document_type"], ["file_size", "description"]
        ):
            sources += 1
            path = (source.get("file_path") or "").strip().replace("\\", "/")
            attachment = found.get(path) or found.get(path.lstrip("./"))
            src_bytes += self._staged[attachment][0] if attachment else 0
            raw = source.get("document_type")
            label = DOCUMENT_TYPE_LABELS.get(self.code("document_type", raw) if raw else None) or ""
            by_source[label] = by_source.get(label, 0) + 1
            if odoo is not None:
                odoos += 1
                odoo_bytes += odoo["file_size"] or 0
                by_odoo[odoo["description"] or ""] = by_odoo.get(odoo["description"] or "", 0) + 1
        totals = [
            ("documents: records (source rows minus quarantined and collapsed)", str(sources), str(odoos)),
            ("documents: total bytes", str(src_bytes), str(odoo_bytes)),
        ]
        totals += [
            (
                f"documents by type: {label or '(empty)'}",
                str(by_source.get(label, 0)),
                str(by_odoo.get(label, 0)),
            )
            for label in sorted(set(by_source) | set(by_odoo))
        ]
        return totals
