import datetime
import json
from datetime import timedelta

from odoo import fields
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from .common import MigrationCase, csv_bytes, subscriber
from .test_migrate_quarantine import small_export

NUMBER_HEADER = ["msisdn", "status", "subscriber_id", "region", "rate_centre", "assigned_date", "aging_date"]
PORT_HEADER = [
    "port_id",
    "msisdn",
    "direction",
    "subscriber_id",
    "donor_operator",
    "recipient_operator",
    "request_date",
    "completion_date",
    "transaction_id",
    "state",
    "rejection_code",
]
#: The day the aging numbers entered aging: recent, so that they are still aging (90 days).
AGED = (datetime.date.today() - timedelta(days=10)).isoformat()


def number_rows():
    """{msisdn key: row} of a number inventory with every status and every quarantine reason."""
    rows = [
        # Migrated: every status of the inventory, legacy spellings.
        ["+447700900001", "ASSIGNED", "S000001", "London", "LDN-1", "2021-03-01", ""],
        ["+447700900002", "IN_USE", "S000002", "", "", "", ""],
        ["+447700900003", "PORTING_OUT", "S000003", "", "", "2019-05-05", ""],
        ["+447700900010", "FREE", "", "Leeds", "", "", ""],
        ["+447700900011", "SPARE", "", "", "", "", ""],
        ["+447700900012", "RESERVED", "", "", "", "", ""],
        ["+447700900013", "AGEING", "", "", "", "", AGED],
        ["+447700900015", "PORTED_OUT", "", "", "", "", ""],
        ["+447700900016", "PORTING_IN", "", "", "", "", ""],
        # An aging number whose last subscriber the export still names: migrated without it, flagged.
        ["+447700900019", "AGEING", "S000001", "", "", "", AGED],
        # Quarantined.
        ["+447700900014", "AGEING", "", "", "", "", ""],
        ["+447700900004", "ASSIGNED", "S000099", "", "", "2021-01-01", ""],
        ["+447700900005", "ASSIGNED", "S000006", "", "", "2021-01-01", ""],
        ["+447700900007", "ASSIGNED", "S000007", "", "", "2021-01-01", ""],
        ["+447700900017", "ASSIGNED", "", "", "", "", ""],
        ["+44770090ABC", "FREE", "", "", "", "", ""],
    ]
    return {row[0]: row for row in rows}


def port_rows():
    rows = [
        # Migrated.
        [
            "P1",
            "+447700900003",
            "OUT",
            "S000003",
            "OurTel",
            "OtherTel",
            "2024-05-01",
            "",
            "TX-1",
            "CONFIRMED",
            "",
        ],
        ["P2", "+447700900016", "IN", "", "OtherTel", "OurTel", "2024-05-02", "", "TX-2", "SUBMITTED", ""],
        [
            "P3",
            "+447700900015",
            "OUT",
            "S000099",
            "OurTel",
            "OtherTel",
            "2023-01-01",
            "2023-01-08",
            "TX-3",
            "COMPLETED",
            "",
        ],
        # The same number as the inventory's, spelt without '+': found by its normalised MSISDN.
        [
            "P4",
            "447700900001",
            "IN",
            "",
            "OtherTel",
            "OurTel",
            "2018-01-01",
            "2018-01-05",
            "TX-4",
            "COMPLETED",
            "",
        ],
        [
            "P5",
            "+447700900010",
            "IN",
            "",
            "OtherTel",
            "OurTel",
            "2022-06-01",
            "",
            "TX-5",
            "REJECTED",
            "NACK-7",
        ],
        # A code on a port that is not rejected is not kept (flagged).
        ["P7", "+447700900012", "OUT", "", "OurTel", "OtherTel", "2022-08-01", "", "TX-7", "CANCELLED", "R1"],
        # Quarantined.
        ["P6", "+447700900011", "IN", "", "OtherTel", "OurTel", "2022-07-01", "", "TX-6", "REJECTED", ""],
        [
            "P8",
            "+447700900014",
            "IN",
            "",
            "OtherTel",
            "OurTel",
            "2022-07-01",
            "2022-07-03",
            "TX-8",
            "COMPLETED",
            "",
        ],
        ["P9", "+447700900099", "IN", "", "OtherTel", "OurTel", "2022-07-01", "", "TX-9", "CANCELLED", ""],
        ["P10", "+447700900010", "OUT", "", "OurTel", "OtherTel", "2024-06-01", "", "TX-10", "SUBMITTED", ""],
        [
            "P11",
            "+447700900013",
            "OUT",
            "",
            "OurTel",
            "OtherTel",
            "2024-03-01",
            "2024-02-01",
            "TX-11",
            "COMPLETED",
            "",
        ],
    ]
    return {row[0]: row for row in rows}


NUMBERS_QUARANTINED = {
    "+447700900014": "aging_date: empty; an aging number needs the date it entered aging",
    "+447700900004": "subscriber_id: subscriber S000099 is not migrated",
    "+447700900005": "subscriber_id: the MSISDN of subscriber S000006 is 447700900006, not 447700900005",
    "+447700900007": "subscriber_id: subscriber S000007 is terminated or archived",
    "+447700900017": "subscriber_id: empty; a number assigned belongs to a subscriber",
    "+44770090ABC": "invalid MSISDN",
}
PORTS_QUARANTINED = {
    "P6": "rejection_code: empty; a rejected port needs the clearinghouse's rejection code",
    "P8": "msisdn: number +447700900014 is not migrated",
    "P9": "msisdn: number +447700900099 is not migrated",
    "P10": "state: an open port-out (submitted) needs its number 447700900010 in status porting_out",
    "P11": "completion_date: 2024-02-01 is before the request_date 2024-03-01",
}
#: The Odoo status of each migrated number.
STATUSES = {
    "+447700900001": "assigned",
    "+447700900002": "assigned",
    "+447700900003": "porting_out",
    "+447700900010": "available",
    "+447700900011": "available",
    "+447700900012": "reserved",
    "+447700900013": "aging",
    "+447700900015": "quarantined_released",
    "+447700900016": "porting_in",
    "+447700900019": "aging",
}


def export(numbers=None, ports=None):
    """Plans, accounts, seven subscribers (the seventh terminated), the numbers and their ports."""
    subs = [subscriber(n) for n in range(1, 7)] + [subscriber(7, status="terminated")]
    files = small_export(subs)
    files["numbers.csv"] = csv_bytes([NUMBER_HEADER, *(numbers or number_rows()).values()])
    files["number_ports.csv"] = csv_bytes([PORT_HEADER, *(ports or port_rows()).values()])
    return files


@tagged("post_install", "-at_install")
class TestMigrateNumbers(MigrationCase):
    def setUp(self):
        super().setUp()
        self.Number = self.env["telecom.number"].sudo()
        self.Port = self.env["telecom.number.port"].sudo()
        self.Assignment = self.env["telecom.number.assignment"].sudo()

    def migrated(self, files=None):
        run = self.confirmed_run(files=files or export())
        run.action_migrate()
        self.assertEqual(
            run.state, "migrated", [(p.object, p.mismatch, p.error_message) for p in run.phase_ids]
        )
        return run

    def number(self, key):
        return self.record("numbers", key)

    def partner(self, key):
        return self.record("subscribers", key)

    def totals(self, run, obj):
        return {t.name: (t.source, t.odoo) for t in self.phase(run, obj).total_ids}

    def test_numbers_and_ports_keep_their_legacy_status_dates_and_history(self):
        before = self.mail_counts()
        run = self.migrated()
        self.assertEqual(
            self.counts(run, "numbers"),
            {
                "source_rows": 16,
                "duplicates_collapsed": 0,
                "quarantined": 6,
                "created": 10,
                "updated": 0,
                "unchanged": 0,
                "flagged": 2,
            },
        )
        self.assertEqual(
            self.counts(run, "number_ports"),
            {
                "source_rows": 11,
                "duplicates_collapsed": 0,
                "quarantined": 5,
                "created": 6,
                "updated": 0,
                "unchanged": 0,
                "flagged": 2,
            },
        )
        # No mail, notification, follower or chatter message: the links are the audit trail.
        self.assertEqual(self.mail_counts(), before)
        self.assertFalse(
            self.env["mail.message"]
            .sudo()
            .search_count([("model", "in", ("telecom.number", "telecom.number.port"))])
        )

        # Quarantine: one row per rejected key, the reason naming the field.
        for obj, expected in (("numbers", NUMBERS_QUARANTINED), ("number_ports", PORTS_QUARANTINED)):
            quarantine = run.quarantine_ids.filtered(lambda q, o=obj: q.object == o)
            self.assertEqual(sorted(quarantine.mapped("source_key")), sorted(expected), obj)
            for key, reason in expected.items():
                self.assertIn(reason, quarantine.filtered(lambda q, k=key: q.source_key == k).reasons, key)
                self.assertFalse(self.link(obj, key), key)

        # Every status as the export says; only held numbers have a subscriber, whose MSISDN they are.
        numbers = self.Number.search([("company_id", "=", self.company.id)])
        self.assertEqual(len(numbers), 10)
        self.assertEqual({self.number(key).status for key in STATUSES}, set(STATUSES.values()))
        for key, status in STATUSES.items():
            number = self.number(key)
            self.assertEqual((number.msisdn, number.status), (key.lstrip("+"), status), key)
            self.assertEqual(bool(number.partner_id), status in ("assigned", "porting_out"), key)
            if number.partner_id:
                self.assertEqual(number.partner_id.x_msisdn, number.msisdn)
                self.assertEqual(number.partner_id.x_subscriber_status, "active")
        self.assertEqual(self.number("+447700900001").partner_id, self.partner("S000001"))
        self.assertEqual(self.number("+447700900003").partner_id, self.partner("S000003"))
        self.assertRecordValues(
            self.number("+447700900001"), [{"region": "London", "rate_center": "LDN-1", "aging_date": False}]
        )

        # The open assignment starts on the legacy assigned date (else the line's activation date).
        aged = fields.Date.to_date(AGED)
        self.assertRecordValues(
            self.number("+447700900001").assignment_ids,
            [
                {
                    "partner_id": self.partner("S000001").id,
                    "date_from": datetime.date(2021, 3, 1),
                    "date_to": False,
                }
            ],
        )
        self.assertRecordValues(
            self.number("+447700900003").assignment_ids,
            [{"date_from": datetime.date(2019, 5, 5), "date_to": False}],
        )
        second = self.number("+447700900002").assignment_ids
        self.assertEqual((len(second), second.date_to), (1, False))
        self.assertEqual(second.date_from, self.activation_or_today())
        self.assertIn("assigned_date empty", self.link("numbers", "+447700900002").flag)
        self.assertFalse(
            (
                numbers
                - self.number("+447700900001")
                - self.number("+447700900002")
                - self.number("+447700900003")
            ).assignment_ids
        )
        # An aging number keeps its aging date (and its reassign date); its old subscriber is flagged.
        self.assertRecordValues(
            self.number("+447700900019"),
            [{"aging_date": aged, "reassign_date": aged + timedelta(days=90), "partner_id": False}],
        )
        self.assertIn("subscriber_id S000001 not kept", self.link("numbers", "+447700900019").flag)

        # Ports: dates, operators, transaction ids, states, codes; the numbers' statuses untouched.
        ports = {key: self.record("number_ports", key) for key in ("P1", "P2", "P3", "P4", "P5", "P7")}
        self.assertRecordValues(
            ports["P1"],
            [
                {
                    "number_id": self.number("+447700900003").id,
                    "direction": "out",
                    "state": "confirmed",
                    "partner_id": self.partner("S000003").id,
                    "donor_operator": "OurTel",
                    "recipient_operator": "OtherTel",
                    "request_date": datetime.date(2024, 5, 1),
                    "completion_date": False,
                    "transaction_id": "TX-1",
                    "rejection_code": False,
                }
            ],
        )
        self.assertRecordValues(
            ports["P3"],
            [
                {
                    "number_id": self.number("+447700900015").id,
                    "state": "completed",
                    "partner_id": False,
                    "request_date": datetime.date(2023, 1, 1),
                    "completion_date": datetime.date(2023, 1, 8),
                }
            ],
        )
        self.assertIn("subscriber_id S000099 not kept", self.link("number_ports", "P3").flag)
        self.assertEqual(ports["P4"].number_id, self.number("+447700900001"))
        self.assertRecordValues(ports["P5"], [{"state": "rejected", "rejection_code": "NACK-7"}])
        self.assertRecordValues(ports["P7"], [{"state": "cancelled", "rejection_code": False}])
        self.assertIn("rejection_code R1 not kept", self.link("number_ports", "P7").flag)
        self.assertEqual({self.number(key).status for key in STATUSES}, set(STATUSES.values()))
        for key, status in STATUSES.items():
            self.assertEqual(self.number(key).status, status, key)

        # Control totals: records and counts by status, by direction and by state, all matching.
        self.assertEqual(
            self.totals(run, "numbers"),
            {
                "numbers: records (source rows minus quarantined and collapsed)": ("10", "10"),
                "numbers: records with status assigned": ("2", "2"),
                "numbers: records with status available": ("2", "2"),
                "numbers: records with status aging": ("2", "2"),
                "numbers: records with status porting_in": ("1", "1"),
                "numbers: records with status porting_out": ("1", "1"),
                "numbers: records with status quarantined_released": ("1", "1"),
                "numbers: records with status reserved": ("1", "1"),
            },
        )
        self.assertEqual(
            self.totals(run, "number_ports"),
            {
                "number ports: records (source rows minus quarantined and collapsed)": ("6", "6"),
                "number ports: records with direction in": ("3", "3"),
                "number ports: records with direction out": ("3", "3"),
                "number ports: records with state cancelled": ("1", "1"),
                "number ports: records with state completed": ("2", "2"),
                "number ports: records with state confirmed": ("1", "1"),
                "number ports: records with state rejected": ("1", "1"),
                "number ports: records with state submitted": ("1", "1"),
            },
        )
        for obj in ("numbers", "number_ports"):
            phase = self.phase(run, obj)
            self.assertEqual((phase.state, phase.mismatch), ("done", False), obj)
            self.assertTrue(phase.checksum_match, obj)
            self.assertFalse(phase.sample_ids.filtered("differs"), obj)

    def activation_or_today(self):
        """The activation date of the subscribers' export when the run keeps it on the contact."""
        return datetime.date(2020, 1, 15)

    def test_guards_hold_after_the_migration(self):
        self.migrated()
        aging = self.number("+447700900013")
        self.assertEqual(aging.reassign_date, fields.Date.to_date(AGED) + timedelta(days=90))
        with self.assertRaisesRegex(UserError, "is aging until"):
            aging.action_assign(self.partner("S000004"))
        with self.assertRaisesRegex(ValidationError, "is aging until"):
            aging.write({"status": "available", "aging_date": False})
        released = self.number("+447700900015")
        with self.assertRaisesRegex(UserError, "it is Quarantined / Released"):
            released.action_assign(self.partner("S000004"))
        with self.assertRaisesRegex(ValidationError, "it cannot be assigned, it is leaving or has left"):
            released.write({"status": "assigned", "partner_id": self.partner("S000004").id})
        # The migrated open ports go on through their buttons: the port-out completes.
        port = self.record("number_ports", "P1")
        port.action_complete()
        number = self.number("+447700900003")
        self.assertRecordValues(number, [{"status": "quarantined_released", "partner_id": False}])
        self.assertEqual(number.assignment_ids.date_to, fields.Date.context_today(number))

    def test_rerun_changes_nothing_and_a_corrected_export_updates_through_the_entry_point(self):
        self.migrated()
        stamps = {n.id: n.write_date for n in self.Number.search([])}
        before = self.mail_counts()
        again = self.migrated()
        for obj, created, quarantined in (("numbers", 10, 6), ("number_ports", 6, 5)):
            counts = self.counts(again, obj)
            self.assertEqual(
                (counts["created"], counts["updated"], counts["unchanged"], counts["quarantined"]),
                (0, 0, created, quarantined),
                obj,
            )
        self.env.invalidate_all()
        self.assertEqual({n.id: n.write_date for n in self.Number.search([])}, stamps)
        self.assertEqual(self.mail_counts(), before)

        # The legacy system released one number into aging, reserved another and completed the
        # port-out: the statuses and the port are written as the export says, the history follows.
        released_on = (datetime.date.today() - timedelta(days=3)).isoformat()
        numbers = number_rows()
        numbers["+447700900001"] = ["+447700900001", "AGEING", "", "London", "LDN-1", "", released_on]
        numbers["+447700900010"][1] = "RESERVED"
        numbers["+447700900003"] = ["+447700900003", "PORTED_OUT", "", "", "", "", ""]
        ports = port_rows()
        ports["P1"][7], ports["P1"][9] = "2024-05-09", "COMPLETED"
        third = self.migrated(export(numbers, ports))
        self.assertEqual(
            [
                self.counts(third, obj)[name]
                for obj in ("numbers", "number_ports")
                for name in ("updated", "unchanged")
            ],
            [3, 7, 1, 5],
        )
        first = self.number("+447700900001")
        self.assertRecordValues(
            first, [{"status": "aging", "partner_id": False, "aging_date": fields.Date.to_date(released_on)}]
        )
        self.assertRecordValues(
            first.assignment_ids,
            [
                {
                    "partner_id": self.partner("S000001").id,
                    "date_from": datetime.date(2021, 3, 1),
                    "date_to": fields.Date.to_date(released_on),
                }
            ],
        )
        self.assertEqual(self.number("+447700900010").status, "reserved")
        ported = self.number("+447700900003")
        self.assertRecordValues(ported, [{"status": "quarantined_released", "partner_id": False}])
        self.assertTrue(ported.assignment_ids.date_to)
        self.assertRecordValues(
            self.record("number_ports", "P1"),
            [{"state": "completed", "completion_date": datetime.date(2024, 5, 9)}],
        )
        changes = {
            (c.object, c.source_key, c.field_name)
            for c in third.change_ids.filtered(lambda c: c.kind == "changed")
        }
        self.assertTrue(
            {
                ("numbers", "+447700900001", "status"),
                ("numbers", "+447700900001", "partner_id"),
                ("numbers", "+447700900010", "status"),
                ("number_ports", "P1", "state"),
            }
            <= changes,
            changes,
        )
        for obj in ("numbers", "number_ports"):
            phase = self.phase(third, obj)
            self.assertEqual((phase.state, phase.mismatch), ("done", False), obj)
        self.assertEqual(self.mail_counts(), before)

        # Rolled back, the pass puts back the values it replaced, each record's at once through the
        # entry point: the number assigned again from its first day, the port as it was.
        replaced = {
            c.field_name: json.loads(c.old_value)
            for c in third.change_ids
            if c.kind == "changed" and c.source_key == "+447700900001"
        }
        self.assertEqual(replaced["assigned_date"], "2021-03-01")
        port_before = self.record("number_ports", "P1").read(["state", "completion_date"])[0]
        third.with_user(self.manager).action_rollback()
        self.assertEqual(third.state, "rolled_back")
        self.assertRecordValues(
            first, [{"status": "assigned", "partner_id": self.partner("S000001").id, "aging_date": False}]
        )
        current = first.assignment_ids.filtered(lambda a: not a.date_to)
        self.assertEqual(current.date_from, datetime.date(2021, 3, 1))
        self.assertEqual(self.number("+447700900010").status, "available")
        self.assertRecordValues(
            self.record("number_ports", "P1"), [{"state": "confirmed", "completion_date": False}]
        )
        self.assertNotEqual(port_before["state"], "confirmed")
        notes = third.change_ids.filtered(lambda c: c.kind == "changed").mapped("rollback_note")
        self.assertFalse(any(notes), notes)

    def test_rollback_removes_numbers_assignments_and_ports(self):
        before = {
            model: self.env[model].sudo().search_count([])
            for model in ("telecom.number", "telecom.number.assignment", "telecom.number.port", "res.partner")
        }
        run = self.migrated()
        self.assertTrue(self.Assignment.search_count([]) > before["telecom.number.assignment"])
        mails = self.env["mail.mail"].sudo().search_count([])
        report = run.with_user(self.manager).action_rollback()
        self.assertEqual(run.state, "rolled_back")
        self.assertEqual(report["objects"]["numbers"]["deleted"], 10)
        self.assertEqual(report["objects"]["number_ports"]["deleted"], 6)
        after = {model: self.env[model].sudo().search_count([]) for model in before}
        self.assertEqual(after, before)
        self.assertFalse(self.env["bss.import.link"].sudo().search_count([("created_run_id", "=", run.id)]))
        self.assertEqual(self.env["mail.mail"].sudo().search_count([]), mails)
