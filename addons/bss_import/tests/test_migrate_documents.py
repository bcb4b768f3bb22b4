import datetime
from unittest.mock import patch

from odoo import Command
from odoo.tests import new_test_user, tagged

from ..lib import sources
from ..services.migration import attachments
from .common import MigrationCase, csv_bytes, subscriber
from .test_migrate_quarantine import small_export

OBJECTS = ["custom_fields", "service_plans", "billing_accounts", "subscribers", "documents"]
HEADER = [
    "document_id",
    "subscriber_id",
    "account_number",
    "document_type",
    "file_path",
    "file_name",
    "document_date",
    "uploaded_by",
]
CONTRACT = b"%PDF-1.4\n% contract of line 1\n" + b"x" * 300 + b"\n%%EOF\n"
ID_SCAN = b"%PDF-1.7\n% id scan\n%%EOF\n"
ROWS = [
    [
        "D1",
        "S000001",
        "BA001",
        "contract",
        "docs/contract_1.pdf",
        "Contract Müller.pdf",
        "2021-03-04 12:30:00",
        "U1",
    ],
    # On the account only; no name (the path's), no date, an uploader mapped to no one.
    ["D2", "", "BA001", "id_scan", "docs/id_2.pdf", "", "", "U9"],
    # Quarantined: a file not in the export, one that is no PDF, an empty one, an unknown subscriber.
    ["D3", "S000002", "", "other", "docs/missing.pdf", "", "", ""],
    ["D4", "S000003", "", "contract", "docs/broken.pdf", "", "", ""],
    ["D5", "S000003", "", "other", "docs/empty.pdf", "", "", ""],
    ["D6", "S999999", "", "contract", "docs/contract_1.pdf", "", "", ""],
]
FILES = {
    "docs/contract_1.pdf": CONTRACT,
    "docs/id_2.pdf": ID_SCAN,
    "docs/broken.pdf": b"this is no PDF",
    "docs/empty.pdf": b"",
}


def export_files(rows=None):
    rows = ROWS if rows is None else rows
    files = small_export([subscriber(n) for n in range(1, 4)])
    files["documents.csv"] = csv_bytes([HEADER, *rows])
    files.update(FILES)
    files["docs/scan_3.png"] = b"\x89PNG\r\n\x1a\n" + b"\0" * 40
    files["docs/fake.jpg"] = b"GIF89a, not a JPEG"
    return files


def image_rows():
    return [
        ["D7", "S000003", "", "id_scan", "docs/scan_3.png", "", "", ""],
        ["D8", "S000003", "", "id_scan", "docs/fake.jpg", "", "", ""],
    ]


@tagged("post_install", "-at_install")
class TestMigrateDocuments(MigrationCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.agent = new_test_user(
            cls.env,
            "bss_doc_agent",
            groups="base.group_user",
            company_id=cls.company.id,
            company_ids=[Command.set([cls.company.id])],
        )

    def run_of(self, rows):
        """A run of the export zipped (its documents in a folder), U1 mapped to the agent, confirmed."""
        run = self.new_run()
        self.upload(run, "export.zip", self.zip_bytes(export_files(rows)))
        for step in (run.action_detect, run.action_stage, run.action_profile):
            self.assertTrue(step(), run.error_message)
        Map = self.env["bss.import.owner.map"].sudo()
        for key, user in (("U1", self.agent), ("U9", False)):
            line = Map.search([("run_id", "=", run.id), ("owner_key", "=", key)])
            if line:
                line.user_id = user
            else:
                Map.create({"run_id": run.id, "owner_key": key, "user_id": user and user.id})
        self.assertTrue(run.action_confirm_mapping(), run.error_message)
        return run

    def attachments(self):
        return (
            self.env["ir.attachment"]
            .sudo()
            .search([("res_model", "=", "res.partner")], order="id")
            .filtered(
                lambda a: (
                    self.env["bss.import.link"]
                    .sudo()
                    .search_count([("res_id", "=", a.id), ("object", "=", "documents")])
                )
            )
        )

    def test_documents_attach_with_names_dates_uploaders_bad_files_quarantined_rerun_rollback(self):
        rows = ROWS + image_rows()
        run = self.run_of(rows)
        # Profiling found the rows whose file is missing or unreadable, each with its reason.
        finding = self.finding(run, "documents", "missing_document")
        self.assertEqual(
            {(r.key, r.detail) for r in finding.row_ids},
            {
                ("D3", "no such file in the export"),
                ("D4", "the file is not a readable PDF"),
                ("D5", "the file is empty"),
                ("D8", "the file is not a readable JPEG image"),
            },
        )
        self.assertEqual(finding.count, 4)
        self.assertTrue(".png" in sources.DOCUMENT_EXTENSIONS and ".tiff" in sources.DOCUMENT_EXTENSIONS)
        mails = self.mail_counts()
        run.action_migrate(OBJECTS)
        created = 3
        counts = {
            "source_rows": len(rows),
            "duplicates_collapsed": 0,
            "quarantined": len(rows) - created,
            "created": created,
            "updated": 0,
            "unchanged": 0,
            "flagged": 0,
        }
        self.assertEqual(self.counts(run, "documents"), counts, run.quarantine_ids.mapped("reasons"))
        phase = self.phase(run, "documents")
        self.assertEqual((phase.balanced, phase.checksum_match, phase.mismatch), (True, True, False))
        self.assertEqual(self.mail_counts(), mails)

        d1 = self.record("documents", "D1")
        self.assertEqual(d1._name, "ir.attachment")
        self.assertEqual(
            (d1.res_model, d1.res_id, d1.name, d1.description, d1.mimetype, d1.raw),
            (
                "res.partner",
                self.record("subscribers", "S000001").id,
                "Contract Müller.pdf",
                "Contract",
                "application/pdf",
                CONTRACT,
            ),
        )
        self.assertEqual((d1.create_date, d1.create_uid), (datetime.datetime(2021, 3, 4, 12, 30), self.agent))
        d2 = self.record("documents", "D2")
        self.assertEqual(
            (d2.res_id, d2.name, d2.description, d2.raw),
            (self.record("billing_accounts", "BA001").id, "id_2.pdf", "ID scan", ID_SCAN),
        )
        # No uploader mapped, no date: the migration's own.
        self.assertEqual(d2.create_uid, self.operator)
        self.assertGreater(d2.create_date, datetime.datetime(2024, 1, 1))

        reasons = {q.source_key: (q.reasons, q.line) for q in run.quarantine_ids if q.object == "documents"}
        self.assertEqual(
            reasons["D3"],
            ("file_path: the file 'docs/missing.pdf' (documents.csv line 4) is not in the export", 4),
        )
        self.assertEqual(
            reasons["D4"],
            ("file_path: the file 'docs/broken.pdf' (documents.csv line 5) is not a readable PDF", 5),
        )
        self.assertEqual(
            reasons["D5"], ("file_path: the file 'docs/empty.pdf' (documents.csv line 6) is empty", 6)
        )
        self.assertIn("subscriber_id 'S999999': not migrated", reasons["D6"][0])
        self.assertEqual(self.record("documents", "D7").mimetype, "image/png")
        self.assertEqual(
            reasons["D8"][0],
            "file_path: the file 'docs/fake.jpg' (documents.csv line 9) is not a readable JPEG image",
        )

        totals = {t.name: (t.source, t.odoo) for t in phase.total_ids}
        self.assertTrue(all(t.match for t in phase.total_ids), totals)
        size = len(CONTRACT) + len(ID_SCAN) + 48
        self.assertEqual(totals["documents: total bytes"], (str(size), str(size)))
        self.assertEqual(
            totals["documents: records (source rows minus quarantined and collapsed)"], (str(created),) * 2
        )

        # A new run of the same export: nothing created, nothing written.
        linked = self.attachments()
        self.assertEqual(len(linked), created)
        stamps = {a.id: (a.write_date, a.create_date) for a in linked}
        again = self.run_of(rows)
        again.action_migrate(OBJECTS)
        self.assertEqual(self.counts(again, "documents"), dict(counts, created=0, unchanged=created))
        self.env.invalidate_all()
        self.assertEqual(self.attachments(), linked)
        self.assertEqual({a.id: (a.write_date, a.create_date) for a in linked}, stamps)

        # The export renames a document: its attachment is renamed, nothing else created.
        renamed = [list(r) for r in rows]
        renamed[0][5] = "Contract Müller (signed).pdf"
        third = self.run_of(renamed)
        third.action_migrate(OBJECTS)
        self.assertEqual(
            self.counts(third, "documents"), dict(counts, created=0, updated=1, unchanged=created - 1)
        )
        self.assertEqual(d1.name, "Contract Müller (signed).pdf")
        self.assertEqual((d1.create_date, d1.raw), (datetime.datetime(2021, 3, 4, 12, 30), CONTRACT))
        self.assertEqual(self.attachments(), linked)

        # Rolled back: the attachments the run created are gone, the staged documents are not touched.
        run.with_user(self.manager).action_rollback()
        self.assertFalse(linked.exists())
        self.assertFalse(self.env["bss.import.link"].sudo().search_count([("object", "=", "documents")]))

    def test_copies_in_groups_of_bounded_size_are_the_same_copies(self):
        """The attachments of a chunk are created together, at most COPY_BYTES of file contents at a
        time: with a bound below one file, each copy is its own create(), and the copies are the
        same (content, record, name, date, uploader)."""
        run = self.run_of(ROWS + image_rows())
        Attachment = type(self.env["ir.attachment"])
        original_create = Attachment.create
        creates = []

        def create(model, vals_list):
            vals_list = vals_list if isinstance(vals_list, list) else [vals_list]
            if any(vals.get("raw") for vals in vals_list):
                creates.append(len(vals_list))
            return original_create(model, vals_list)

        with (
            patch.object(attachments, "COPY_BYTES", 1),
            patch.object(Attachment, "create", create),
        ):
            run.action_migrate(OBJECTS)
        self.assertEqual(self.counts(run, "documents")["created"], 3)
        self.assertEqual(creates, [1, 1, 1])
        d1, d2 = self.record("documents", "D1"), self.record("documents", "D2")
        self.assertEqual(
            (d1.res_id, d1.name, d1.raw, d1.create_date, d1.create_uid),
            (
                self.record("subscribers", "S000001").id,
                "Contract Müller.pdf",
                CONTRACT,
                datetime.datetime(2021, 3, 4, 12, 30),
                self.agent,
            ),
        )
        self.assertEqual((d2.res_id, d2.raw), (self.record("billing_accounts", "BA001").id, ID_SCAN))
        self.assertNotEqual(d1.store_fname, False)
