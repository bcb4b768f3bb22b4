import datetime
import json

from odoo import Command
from odoo.tests import new_test_user, tagged

from .common import MigrationCase, csv_bytes, subscriber
from .test_migrate_quarantine import small_export

OBJECTS = ["custom_fields", "service_plans", "billing_accounts", "subscribers", "interactions"]
HEADER = [
    "interaction_id",
    "subscriber_id",
    "account_number",
    "channel",
    "status",
    "occurred_at",
    "due_date",
    "author_id",
    "assigned_to",
    "subject",
    "body",
]
ROWS = [
    # A call, done, by a mapped agent; its body holds markup that must stay text.
    [
        "I1",
        "S000001",
        "BA001",
        "call",
        "done",
        "2023-05-04 10:15:00",
        "",
        "U1",
        "",
        "Roaming question",
        "Asked about roaming.\nTold <b>EU</b> rates & fees.",
    ],
    # No status: done; its author maps to no user.
    ["I2", "S000002", "", "email", "", "2023-06-01 08:00:00", "", "U9", "", "Invoice copy", "Sent it again."],
    # About an account only, cancelled.
    ["I3", "", "BA002", "meeting", "cancelled", "2023-07-01 09:30:00", "", "U1", "", "Visit", ""],
    # Scheduled: activities (a future call for a mapped user; an overdue ticket for nobody mapped).
    [
        "I4",
        "S000001",
        "",
        "call",
        "scheduled",
        "2024-01-02 09:00:00",
        "2030-01-15",
        "U1",
        "U1",
        "Call back",
        "Offer",
    ],
    [
        "I5",
        "S000003",
        "",
        "ticket",
        "scheduled",
        "2020-02-01 09:00:00",
        "2020-03-01",
        "U1",
        "U9",
        "Fix SIM",
        "",
    ],
    # Quarantined: an unknown subscriber; a scheduled one without its due date.
    ["I6", "S999999", "", "note", "done", "2023-01-01 00:00:00", "", "U1", "", "Lost", ""],
    ["I7", "S000002", "", "call", "scheduled", "2023-01-01 00:00:00", "", "U1", "U1", "No date", ""],
    # Its line is not migrated, its account is: the account's, flagged.
    ["I9", "S999998", "BA001", "note", "done", "2023-02-02 10:00:00", "", "", "", "Account note", "On it"],
]


def export(rows=None):
    rows = ROWS if rows is None else rows
    files = small_export([subscriber(n) for n in range(1, 4)])
    files["interactions.csv"] = csv_bytes([HEADER, *rows])
    return files


@tagged("post_install", "-at_install")
class TestMigrateInteractions(MigrationCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.agent = new_test_user(
            cls.env,
            "bss_agent",
            groups="base.group_user",
            company_id=cls.company.id,
            company_ids=[Command.set([cls.company.id])],
        )
        cls.legacy = cls.env.ref("bss_import.partner_legacy_bss")

    def run_of(self, files):
        """A profiled run of ``files`` whose owner mapping maps U1 to the agent (U9 to no one), confirmed."""
        run = self.profiled_run(files=files)
        Map = self.env["bss.import.owner.map"].sudo()
        for key, user in (("U1", self.agent), ("U9", False)):
            line = Map.search([("run_id", "=", run.id), ("owner_key", "=", key)])
            if line:
                line.user_id = user
            else:
                Map.create({"run_id": run.id, "owner_key": key, "user_id": user and user.id})
        self.assertTrue(run.action_confirm_mapping(), run.error_message)
        return run

    def bus_types(self, after_id):
        return {
            json.loads(b.message).get("type")
            for b in self.env["bus.bus"].sudo().search([("id", ">", after_id)])
        }

    def last_bus(self):
        return self.env["bus.bus"].sudo().search([], order="id desc", limit=1).id or 0

    def test_messages_and_activities_keep_dates_authors_notify_no_one_and_roll_back(self):
        run = self.run_of(export())
        mails, bus = self.mail_counts(), self.last_bus()
        run.action_migrate(OBJECTS)
        counts = {
            "source_rows": 8,
            "duplicates_collapsed": 0,
            "quarantined": 2,
            "created": 6,
            "updated": 0,
            "unchanged": 0,
            "flagged": 2,
        }
        self.assertEqual(self.counts(run, "interactions"), counts, run.quarantine_ids.mapped("reasons"))
        phase = self.phase(run, "interactions")
        self.assertEqual((phase.balanced, phase.checksum_match, phase.mismatch), (True, True, False))

        # Three notes in the chatter, nothing else: no mail, no notification, no follower.
        self.assertEqual(
            self.mail_counts(), dict(mails, **{"mail.message": mails["mail.message"] + 4}), "no mail at all"
        )
        # Messages push nothing to the bus (an overdue activity refreshes its assignee's counter).
        self.assertLessEqual(self.bus_types(bus), {"mail.activity/updated"})

        s1, s2 = self.record("subscribers", "S000001"), self.record("subscribers", "S000002")
        ba2 = self.record("billing_accounts", "BA002")
        note = self.env.ref("mail.mt_note")
        m1 = self.record("interactions", "I1")
        self.assertEqual(m1._name, "mail.message")
        self.assertEqual(
            (m1.model, m1.res_id, m1.message_type, m1.subtype_id, m1.subject),
            ("res.partner", s1.id, "comment", note, "Roaming question"),
        )
        self.assertEqual(m1.date, datetime.datetime(2023, 5, 4, 10, 15))
        self.assertEqual(m1.author_id, self.agent.partner_id)
        self.assertTrue(m1.body.startswith("<p>Call</p>"), m1.body)
        self.assertIn("Told &lt;b&gt;EU&lt;/b&gt; rates &amp; fees.", m1.body)
        self.assertFalse(m1.notification_ids)
        self.assertFalse(m1.partner_ids)
        # The addresses and the record name given at creation are those mail.message computes itself.
        Message = self.env["mail.message"].sudo()
        for message in (m1, self.record("interactions", "I2")):
            values = {"model": message.model, "res_id": message.res_id, "message_type": "comment"}
            _author, email_from = self.env["mail.thread"]._message_compute_author(
                message.author_id.id, email_from=None, raise_on_email=False
            )
            self.assertEqual(
                (message.email_from, message.reply_to, message.record_name),
                (
                    email_from,
                    Message._get_reply_to({**values, "email_from": email_from}),
                    Message._get_record_name(values),
                ),
            )
        m2 = self.record("interactions", "I2")
        self.assertEqual(
            (m2.res_id, m2.author_id, m2.date), (s2.id, self.legacy, datetime.datetime(2023, 6, 1, 8))
        )
        self.assertTrue(m2.body.startswith("<p>E-mail</p>"), m2.body)
        m3 = self.record("interactions", "I3")
        self.assertEqual((m3.model, m3.res_id, m3.author_id), ("res.partner", ba2.id, self.agent.partner_id))
        self.assertEqual(str(m3.body), "<p>Meeting — cancelled</p>")

        a4 = self.record("interactions", "I4")
        self.assertEqual(a4._name, "mail.activity")
        self.assertEqual(
            (a4.res_model, a4.res_id, a4.activity_type_id, a4.date_deadline, a4.user_id, a4.summary),
            (
                "res.partner",
                s1.id,
                self.env.ref("mail.mail_activity_data_call"),
                datetime.date(2030, 1, 15),
                self.agent,
                "Call back",
            ),
        )
        self.assertIn("Offer", a4.note)
        # Overdue, kept; left to the run's operator, flagged so.
        a5 = self.record("interactions", "I5")
        self.assertEqual(
            (a5.activity_type_id, a5.date_deadline, a5.user_id, a5.state),
            (
                self.env.ref("mail.mail_activity_data_todo"),
                datetime.date(2020, 3, 1),
                self.operator,
                "overdue",
            ),
        )
        self.assertIn("'U9' is mapped to no user", self.link("interactions", "I5").flag)
        m9 = self.record("interactions", "I9")
        self.assertEqual(
            (m9.res_id, m9.author_id), (self.record("billing_accounts", "BA001").id, self.legacy)
        )
        self.assertIn("subscriber_id 'S999998' is not migrated", self.link("interactions", "I9").flag)
        self.assertEqual(self.link("interactions", "I4").res_model, "mail.activity")
        self.assertEqual(self.link("interactions", "I1").res_model, "mail.message")
        # The assignees follow nothing: the migration subscribes no one.
        self.assertFalse(s1.message_follower_ids)

        reasons = {q.source_key: q.reasons for q in run.quarantine_ids if q.object == "interactions"}
        self.assertEqual(set(reasons), {"I6", "I7"})
        self.assertIn("subscriber_id 'S999999': not migrated", reasons["I6"])
        self.assertIn("due_date: missing", reasons["I7"])

        totals = {t.name: (t.source, t.odoo) for t in phase.total_ids}
        self.assertTrue(all(t.match for t in phase.total_ids), totals)
        self.assertEqual(
            totals["interactions: records (source rows minus quarantined and collapsed)"], ("6", "6")
        )
        self.assertEqual(totals["interactions by kind: message"], ("4", "4"))
        self.assertEqual(totals["interactions by kind: activity"], ("2", "2"))
        self.assertEqual(totals["messages by channel: Meeting — cancelled"], ("1", "1"))
        self.assertEqual(totals["messages by channel: Call"], ("1", "1"))

        # A follower of a subscriber is not notified of a note migrated later; the rest is unchanged.
        s1.message_subscribe(partner_ids=self.user_plain.partner_id.ids)
        mails = self.mail_counts()
        stamps = {k: self.record("interactions", k).write_date for k in ("I1", "I2", "I3", "I4", "I5")}
        added = ["I8", "S000001", "", "note", "done", "2023-08-08 08:08:08", "", "U1", "", "Later", "Hello"]
        again = self.run_of(export([*ROWS, added]))
        again.action_migrate(OBJECTS)
        self.assertEqual(
            self.counts(again, "interactions"),
            dict(counts, source_rows=9, created=1, unchanged=6),
        )
        self.assertTrue(self.phase(again, "interactions").checksum_match)
        m8 = self.record("interactions", "I8")
        self.assertEqual((m8.res_id, m8.date), (s1.id, datetime.datetime(2023, 8, 8, 8, 8, 8)))
        self.assertFalse(m8.notification_ids)
        self.assertEqual(self.mail_counts(), dict(mails, **{"mail.message": mails["mail.message"] + 1}))
        self.env.invalidate_all()
        self.assertEqual({k: self.record("interactions", k).write_date for k in stamps}, stamps)

        # Rolled back: every message and activity the runs created is gone, and their links.
        created = [self.record("interactions", k) for k in ("I1", "I2", "I3", "I4", "I5", "I8", "I9")]
        again.with_user(self.manager).action_rollback()
        run.with_user(self.manager).action_rollback()
        for record in created:
            self.assertFalse(record.exists(), record)
        # Removed by the rollback of the interactions themselves (not only with their contacts).
        removed = (run.change_ids | again.change_ids).filtered(lambda c: c.object == "interactions")
        self.assertEqual(
            sorted((c.res_model, c.kind) for c in removed),
            [("mail.activity", "deleted")] * 2 + [("mail.message", "deleted")] * 5,
        )
        self.assertFalse(self.env["bss.import.link"].sudo().search_count([("object", "=", "interactions")]))
        self.assertEqual(self.env["mail.mail"].sudo().search_count([]), mails["mail.mail"])

    def test_a_changed_interaction_is_updated_and_a_kind_change_is_refused(self):
        run = self.run_of(export())
        run.action_migrate(OBJECTS)
        rows = [list(r) for r in ROWS]
        rows[0][9] = "Roaming question (EU)"
        rows[1][4] = "scheduled"
        rows[1][6] = "2031-01-01"
        again = self.run_of(export(rows))
        again.action_migrate(OBJECTS)
        self.assertEqual(
            self.counts(again, "interactions"),
            {
                "source_rows": 8,
                "duplicates_collapsed": 0,
                "quarantined": 3,
                "created": 0,
                "updated": 1,
                "unchanged": 4,
                "flagged": 2,
            },
        )
        self.assertEqual(self.record("interactions", "I1").subject, "Roaming question (EU)")
        refused = again.quarantine_ids.filtered(lambda q: q.source_key == "I2")
        self.assertIn("was migrated as a message", refused.reasons)
        self.assertEqual(self.record("interactions", "I2")._name, "mail.message")


@tagged("post_install", "-at_install")
class TestMigrateCustomerHistory(MigrationCase):
    def test_a_generated_customer_history_migrates_balanced_without_mail(self):
        folder, _manifest = self.generate("--customer-history", subscribers=40, seed=21)
        run = self.confirmed_run(folder=folder)
        mails = self.mail_counts()["mail.mail"], self.mail_counts()["mail.notification"]
        run.action_migrate()
        for obj in ("interactions", "documents"):
            phase = self.phase(run, obj)
            self.assertEqual(
                (phase.state, phase.balanced, phase.checksum_match, phase.mismatch),
                ("done", True, True, False),
                (obj, run.quarantine_ids.filtered(lambda q, o=obj: q.object == o).mapped("reasons")[:5]),
            )
            self.assertTrue(phase.created, obj)
        self.assertEqual((self.mail_counts()["mail.mail"], self.mail_counts()["mail.notification"]), mails)
