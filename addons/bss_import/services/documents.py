"""Documents of an export (invoice PDFs): kept with the run at staging, found by path at migration.

Staging deletes the uploaded export once its tables are staged (the uploads
hold secrets), so the PDFs the tables refer to are copied first, one at a
time, into attachments of the run: the migration phases never read the
export again. The attachments are the run's (purged with its staged rows);
a phase copies one onto the record it belongs to.
"""

import posixpath

from odoo.tools import SQL

#: ``description`` of the run's attachments that are documents of its export.
DESCRIPTION = "bss_import: document of the export"
#: A document larger than this is not kept (listed as refused, so the row naming it is quarantined).
MAX_SIZE = 64 << 20
#: The first bytes a file of each extension starts with (several forms: any of them); only these
#: magic bytes are checked, the file is not parsed.
MAGIC = {
    ".pdf": ("PDF", (b"%PDF-",)),
    ".png": ("PNG image", (b"\x89PNG\r\n\x1a\n",)),
    ".jpg": ("JPEG image", (b"\xff\xd8\xff",)),
    ".jpeg": ("JPEG image", (b"\xff\xd8\xff",)),
    ".tif": ("TIFF image", (b"II*\x00", b"MM\x00*")),
    ".tiff": ("TIFF image", (b"II*\x00", b"MM\x00*")),
}
#: Bytes read of a document to check its kind.
HEAD = 16


def stage_documents(run, export):
    """Replace the run's staged documents by ``export.documents``; return how many were kept.

    Each document is read and stored on its own, so memory holds one file at a time.
    """
    # sudo: the staged documents are server-managed records of the run; _begin checked the operator.
    Attachment = run.env["ir.attachment"].sudo()
    documents(run).unlink()
    kept = 0
    for member in export.documents:
        if member.size > MAX_SIZE:
            continue
        with member.open() as fh:
            raw = fh.read(MAX_SIZE + 1)
        if len(raw) > MAX_SIZE:
            continue
        Attachment.create(
            {
                "name": member.name,
                "res_model": run._name,
                "res_id": run.id,
                "description": DESCRIPTION,
                "raw": raw,
            }
        )
        # The attachment's bytes stay in the filestore, not in the cache.
        Attachment.invalidate_model()
        kept += 1
    return kept


def documents(run):
    """The run's staged documents (attachments)."""
    # sudo: server-managed attachments of the run, read by its steps only.
    return (
        run.env["ir.attachment"]
        .sudo()
        .search([("res_model", "=", run._name), ("res_id", "=", run.id), ("description", "=", DESCRIPTION)])
    )


def index(run):
    """{path in the export: attachment id} of the run's documents, plus each unique bare file name."""
    run.env["ir.attachment"].flush_model()
    run.env.cr.execute(
        SQL(
            "SELECT name, id FROM ir_attachment WHERE res_model = %s AND res_id = %s AND description = %s",
            run._name,
            run.id,
            DESCRIPTION,
        )
    )
    by_path = dict(run.env.cr.fetchall())
    by_base = {}
    for path, att in by_path.items():
        by_base.setdefault(posixpath.basename(path), []).append(att)
    found = {base: ids[0] for base, ids in by_base.items() if len(ids) == 1}
    found.update(by_path)
    return found


def staged_info(run, ids):
    """{staged attachment id: (file size, content checksum, store_fname, mimetype)} of ``ids``, one SQL."""
    run.env["ir.attachment"].flush_model()
    run.env.cr.execute(
        SQL(
            "SELECT id, file_size, checksum, store_fname, mimetype FROM ir_attachment WHERE id = ANY(%s)",
            list(ids),
        )
    )
    return {
        att: (size or 0, checksum, fname, mimetype)
        for att, size, checksum, fname, mimetype in run.env.cr.fetchall()
    }


def head(env, attachment, store_fname):
    """The first :data:`HEAD` bytes of a staged document, read from its file (not the whole file)."""
    # sudo: the run's staged documents are server-managed attachments.
    Attachment = env["ir.attachment"].sudo()
    if store_fname:
        try:
            with open(Attachment._full_path(store_fname), "rb") as fh:
                return fh.read(HEAD)
        except OSError:
            return b""
    data = Attachment.browse(attachment).raw[:HEAD]
    Attachment.invalidate_model(["raw", "datas"])
    return data


def unreadable(path, size, first_bytes):
    """Why the staged document of ``path`` cannot be read (``"empty"``, ``"not a readable PDF"``...),
    from its size and its first bytes (a callable, called only when its kind is checked); None if
    it can."""
    if not size:
        return "empty"
    kind = MAGIC.get(posixpath.splitext(path)[1].lower())
    if kind and not first_bytes().startswith(kind[1]):
        return f"not a readable {kind[0]}"
    return None
