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
