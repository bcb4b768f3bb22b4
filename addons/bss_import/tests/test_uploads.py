import base64
import builtins
import hashlib
import json
import os
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from unittest.mock import patch

from odoo import SUPERUSER_ID, api
from odoo.exceptions import AccessError, UserError
from odoo.modules.registry import DummyRLock, Registry
from odoo.service.model import retrying
from odoo.tests import BaseCase, get_db_name, tagged
from odoo.tools import mute_logger

from ..models import bss_import_run
from .common import SUBSCRIBER_HEADER, BssImportCase, csv_bytes, subscriber

TIMEOUT = 60


def b64(data):
    return base64.b64encode(data).decode()


@tagged("post_install", "-at_install")
class TestUploads(BssImportCase):
    """The raw upload (secrets included) leaves the disk once staged; purge and delete leave nothing."""

    def export(self):
        rows = [[subscriber(n)[h] for h in SUBSCRIBER_HEADER] for n in range(1, 4)]
        return {
            "subscribers.csv": csv_bytes([SUBSCRIBER_HEADER, *rows]),
            "more/billing_accounts.csv": csv_bytes(
                [["account_number", "account_name", "status"], ["BA001", "A", "open"]]
            ),
        }

    def attach(self, record, name):
        return self.env["ir.attachment"].create(
            {"name": name, "res_model": record._name, "res_id": record.id, "raw": b"ki,0123456789abcdef"}
        )

    def test_staging_deletes_the_uploads_and_keeps_their_fingerprint(self):
        files = self.export()
        run = self.new_run()
        self.upload_files(run, files)
        self.assertTrue(run.action_detect(), run.error_message)
        folder = run._upload_dir()
        self.assertEqual(len(os.listdir(folder)), 2)
        self.assertTrue(run.action_stage(), run.error_message)
        self.assertFalse(os.path.exists(folder), "the staged tables are the only copy")
        self.assertTrue(run.uploads_deleted_date)
        self.assertEqual(
            {f["name"]: (f["size"], f["sha256"]) for f in json.loads(run.upload_manifest)},
            {name: (len(data), hashlib.sha256(data).hexdigest()) for name, data in files.items()},
        )
        self.assertIn("subscribers.csv (", run.uploaded_files)
        self.assertIn("deleted after staging", run.uploaded_files)
        self.assertIn("Uploaded files deleted after staging", "".join(run.message_ids.mapped("body")))
        self.assertEqual(run.get_uploads(), [])
        # The export cannot be read again: the run says so instead of "nothing was uploaded".
        for step in (run.action_detect, run.action_stage, run.file_ids[:1].action_redetect):
            with (
                self.subTest(step=step.__name__),
                self.assertRaisesRegex(UserError, "uploaded files were deleted"),
            ):
                step()
        with self.assertRaisesRegex(UserError, "before staging"):
            run.upload_chunk("subscribers.csv", 0, b64(b"again"))
        self.assertFalse(os.path.exists(folder))
        # Profiling needs only the staged tables.
        self.assertTrue(run.action_profile(), run.error_message)

    def test_refused_staging_keeps_the_uploads_for_a_retry(self):
        run = self.new_run()
        self.upload_files(run, self.export())
        self.assertTrue(run.action_detect(), run.error_message)
        run.file_ids[0].table = False
        self.assertFalse(run.action_stage())
        self.assertIn("choose its object", run.error_message)
        self.assertTrue(os.path.isdir(run._upload_dir()))
        self.assertFalse(run.uploads_deleted_date)

    def test_staging_refused_when_the_uploads_cannot_be_deleted(self):
        run = self.new_run()
        self.upload_files(run, self.export())
        self.assertTrue(run.action_detect(), run.error_message)
        with patch.object(bss_import_run.shutil, "rmtree", lambda *args, **kwargs: None):
            self.assertFalse(run.action_stage())
        self.assertIn("could not be deleted", run.error_message)
        self.assertNotIn("/filestore/", run.error_message)
        self.assertEqual((run.error_state, self.staged_tables(run)), ("detected", []), "nothing half-staged")
        self.assertFalse(run.uploads_deleted_date)

    def test_staging_refused_when_the_file_no_longer_matches_its_detection(self):
        run = self.new_run()
        self.upload_files(run, self.export())
        self.assertTrue(run.action_detect(), run.error_message)
        # A stored header list shifted by one would move the secret indexes: staging compares.
        file = run.file_ids.filtered(lambda f: f.name == "subscribers.csv")
        file.sudo().headers_json = json.dumps(SUBSCRIBER_HEADER[1:] + ["extra"])
        self.assertFalse(run.action_stage())
        self.assertIn("subscribers.csv", run.error_message)
        self.assertIn("detect the file again", run.error_message)
        self.assertEqual(self.staged_tables(run), [])

    def test_purge_removes_staged_rows_uploads_and_attachments(self):
        run = self.profiled_run(files=self.export())
        on_run = self.attach(run, "export-copy.csv")
        on_file = self.attach(run.file_ids[0], "notes.csv")
        # A folder left behind (e.g. a server stopped mid-step) goes too.
        os.makedirs(run._upload_dir())
        with open(os.path.join(run._upload_dir(), "left.csv"), "wb") as fh:
            fh.write(b"ki\n00112233445566778899aabbccddeeff\n")
        with self.assertRaises(AccessError):
            run.action_purge_staging()
        self.assertTrue(self.staged_tables(run))
        run.with_user(self.manager).action_purge_staging()
        self.assertEqual(self.staged_tables(run), [])
        self.assertFalse(os.path.exists(run._upload_dir()))
        self.assertFalse((on_run | on_file).exists())
        self.assertFalse(any(run.file_ids.mapped("staging_table")))
        self.assertIn("export-copy.csv", "".join(run.message_ids.mapped("body")))
        self.assertTrue(run.mapping_line_ids, "the mapping stays as the record of the run")

    def test_unlink_removes_everything(self):
        run = self.profiled_run(files=self.export())
        attachments = self.attach(run, "a.csv") | self.attach(run.file_ids[0], "b.csv")
        os.makedirs(run._upload_dir())
        run.with_user(self.manager).unlink()
        self.assertEqual(self.staged_tables(run), [])
        self.assertFalse(os.path.exists(run._upload_dir()))
        self.assertFalse(attachments.exists())

    def test_clear_uploads_refused_once_staged_even_after_a_refused_step(self):
        run = self.profiled_run(files=self.export())
        run._server_write({"state": "error", "error_state": "profiled", "error_message": "x"})
        with self.assertRaisesRegex(UserError, "start a new run"):
            run.action_clear_uploads()
        self.assertTrue(self.staged_tables(run))

    def test_wrong_offset_refused_with_where_to_resume(self):
        run = self.new_run()
        self.assertEqual(run.upload_chunk("a.csv", 0, b64(b"abcdef")), 6)
        for offset in (0, 3, 7, "x", None):
            with self.subTest(offset=offset), self.assertRaisesRegex(UserError, "a.csv.*resume at byte 6"):
                run.upload_chunk("a.csv", offset, b64(b"ghi"))
        self.assertEqual(run.upload_chunk("a.csv", 6, b64(b"ghi")), 9)


@tagged("post_install", "-at_install")
class TestConcurrentUploads(BaseCase):
    """Two transactions send the same chunk of one file at the same time: one is appended.

    The run must be committed for both transactions to see it: it is deleted
    (with its upload folder) afterwards.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry = Registry(get_db_name())
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            run = env["bss.import.run"].create({})
            cls.run_id = run.id
            cls.folder = run._upload_dir()
        cls.addClassCleanup(cls._delete_run)

    @classmethod
    def _delete_run(cls):
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["bss.import.run"].browse(cls.run_id).unlink()
        shutil.rmtree(cls.folder, ignore_errors=True)

    def _race(self, *chunks):
        """Send each (name, offset, data) from its own thread and transaction, all at once.

        A caller about to append (its offset accepted) waits up to a few
        seconds for the others to get as far: without a lock, every caller
        passes the offset check before any appends; with it, the others wait
        for the first to commit and then see the new size. Returns each new
        size or refusal message.
        """
        arrived = []
        everyone = threading.Event()

        def open_to_append(path, mode="r", *args, **kwargs):
            if "a" in mode:
                arrived.append(path)
                if len(arrived) == len(chunks):
                    everyone.set()
                everyone.wait(timeout=3)
            return builtins.open(path, mode, *args, **kwargs)

        def send(chunk):
            with self.registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                run = env["bss.import.run"].browse(self.run_id)
                # Both transactions read the run before either sends.
                run.read(["state"])
                try:
                    # retrying(): what Odoo's RPC layer does around a call.
                    return retrying(partial(run.upload_chunk, *chunk), env)
                except UserError as error:
                    return str(error)

        saved = Registry._lock
        # Worker threads build environments while the test holds the registry lock
        # (see telecom_wallet's concurrency tests).
        Registry._lock = DummyRLock()
        try:
            with (
                # The upload's own module only: its "open" is the hook.
                patch.object(bss_import_run, "open", open_to_append, create=True),
                mute_logger("odoo.service.model"),
                ThreadPoolExecutor(max_workers=len(chunks)) as executor,
            ):
                futures = [executor.submit(send, chunk) for chunk in chunks]
                return [future.result(timeout=TIMEOUT) for future in futures]
        finally:
            Registry._lock = saved

    def test_same_chunk_twice_is_appended_once(self):
        results = self._race(("race.csv", 0, b64(b"abc")), ("race.csv", 0, b64(b"abc")))
        self.assertEqual(sorted(r for r in results if isinstance(r, int)), [3], results)
        refused = [r for r in results if isinstance(r, str)]
        self.assertEqual(len(refused), 1, results)
        self.assertIn("resume at byte 3", refused[0])
        with open(os.path.join(self.folder, "race.csv"), "rb") as fh:
            self.assertEqual(fh.read(), b"abc")
