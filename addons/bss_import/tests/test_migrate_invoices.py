import csv
import datetime
import json
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from odoo.tests import tagged

from .common import MigrationCase, read_csv

# Billing accounts lose a mandatory value (their invoices cannot be migrated); some invoice rows repeat.
DEFECTS = "duplicate_rows=12,missing_mandatory=8"
# Every phase the invoices depend on, and the invoices.
OBJECTS = ["custom_fields", "service_plans", "product_catalog", "billing_accounts", "subscribers", "invoices"]
CENT = Decimal("0.01")


def _keys(manifest, kind, obj):
    return {i["key"] for i in manifest["defects"][kind]["objects"].get(obj, {}).get("items", [])}


def _count(manifest, kind, obj):
    return manifest["defects"][kind]["objects"].get(obj, {}).get("count", 0)


@tagged("post_install", "-at_install")
class TestMigrateInvoices(MigrationCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # The rule the expected totals below follow: each line's tax is rounded to the cent.
        cls.company.tax_calculation_rounding_method = "round_per_line"

    def export(self):
        # The first 10 billing accounts' invoices come with their PDF.
        folder, manifest = self.generate("--defects", DEFECTS, "--invoice-pdfs", "10", subscribers=60, seed=8)
        invoices = read_csv(folder / "invoices.csv")
        lines = defaultdict(list)
        for line in read_csv(folder / "invoice_lines.csv"):
            lines[line["invoice_number"]].append(line)
        return folder, manifest, invoices, lines

    def sale_taxes(self, lines):
        """The company's sale taxes of the rates the export uses (operator's configuration)."""
        rates = {Decimal(line["tax_rate"]) for rows in lines.values() for line in rows if line["tax_rate"]}
        # A copy of the company's default sale tax: its tax lines go to the chart's tax account.
        default = self.company.account_sale_tax_id
        self.assertTrue(default.invoice_repartition_line_ids.account_id)
        for rate in rates:
            default.copy({"name": f"Sales {rate} %", "amount": float(rate), "amount_type": "percent"})
        return rates

    def expected(self, manifest, invoices, lines):
        """(counts, {key: invoice row} migrated, {key: reason word} quarantined) from the export alone."""
        bad_accounts = _keys(manifest, "missing_mandatory", "billing_accounts")
        unique = {}
        for row in invoices:
            unique.setdefault(row["invoice_number"], row)
        migrated, quarantined = {}, {}
        for key, row in unique.items():
            if row["account_number"] in bad_accounts:
                quarantined[key] = "billing account is not migrated"
                continue
            # Odoo's total: lines (quantity x unit price) plus each line's tax rounded half up to the cent.
            total = Decimal(0)
            for line in lines[key]:
                base = (Decimal(line["quantity"]) * Decimal(line["unit_price"])).quantize(CENT, ROUND_HALF_UP)
                tax = (base * Decimal(line["tax_rate"] or 0) / 100).quantize(CENT, ROUND_HALF_UP)
                total += base + tax
            if total != Decimal(row["amount_total"]):
                quarantined[key] = "the total Odoo computes"
            else:
                migrated[key] = row
        dups = _count(manifest, "duplicate_rows", "invoices")
        self.assertEqual(len(invoices) - dups, len(unique))
        counts = {
            "source_rows": len(invoices),
            "duplicates_collapsed": dups,
            "quarantined": len(quarantined),
            "created": len(migrated),
            "updated": 0,
            "unchanged": 0,
            "flagged": 0,
        }
        return counts, migrated, quarantined

    def cents(self, amount):
        return int((Decimal(str(amount)) * 100).quantize(Decimal(1), ROUND_HALF_UP))

    def test_open_and_paid_invoices_exact_residuals_revenue_once_rerun_nothing(self):
        folder, manifest, invoices, lines = self.export()
        self.sale_taxes(lines)
        counts, migrated, quarantined = self.expected(manifest, invoices, lines)
        paid = {k: r for k, r in migrated.items() if Decimal(r["amount_residual"]) == 0}
        still_open = {k: r for k, r in migrated.items() if Decimal(r["amount_residual"]) != 0}
        # The generator's taxes are Odoo's (half up, per line): no total is a cent off.
        self.assertNotIn("the total Odoo computes", quarantined.values())
        # The export exercises both kinds and the quarantine (else this test proves less than it says).
        self.assertTrue(paid and still_open and quarantined, (len(paid), len(still_open), len(quarantined)))
        run = self.confirmed_run(folder=folder)
        mail_before = self.mail_counts()
        run.action_migrate(OBJECTS)
        phase = self.phase(run, "invoices")
        self.assertEqual(self.counts(run, "invoices"), counts, run.quarantine_ids.mapped("reasons"))
        self.assertEqual(
            (phase.state, phase.balanced, phase.checksum_match, phase.mismatch), ("done", True, True, False)
        )
        self.assertEqual(self.mail_counts(), mail_before)

        rejected = run.quarantine_ids.filtered(lambda q: q.object == "invoices")
        self.assertEqual({q.source_key: q.reasons for q in rejected}.keys(), quarantined.keys())
        for q in rejected:
            self.assertIn(quarantined[q.source_key], q.reasons)
            self.assertFalse(self.link("invoices", q.source_key))

        journal = self.env["account.journal"].search(
            [("code", "=", "LEGI"), ("company_id", "=", self.company.id)]
        )
        self.assertEqual((journal.type, journal.name), ("sale", "Legacy Invoices"))
        moves = self.env["account.move"]
        for key, row in migrated.items():
            move = self.record("invoices", key)
            moves |= move
            self.assertEqual(
                (move.move_type, move.state, move.journal_id), ("out_invoice", "posted", journal)
            )
            self.assertEqual((move.ref, move.payment_reference), (key, key))
            self.assertEqual(str(move.invoice_date), row["invoice_date"])
            self.assertEqual(str(move.date), row["invoice_date"])
            self.assertEqual(str(move.invoice_date_due), row["due_date"])
            self.assertEqual(move.currency_id.name, row["currency"])
            self.assertEqual(move.partner_id, self.record("billing_accounts", row["account_number"]))
            self.assertEqual(len(move.invoice_line_ids), len(lines[key]))
            self.assertEqual(self.cents(move.amount_total), self.cents(row["amount_total"]))
            self.assertEqual(self.cents(move.amount_tax), self.cents(row["amount_tax"]))
            # Open items keep exactly their legacy open amount; paid ones are settled.
            self.assertEqual(self.cents(move.amount_residual), self.cents(row["amount_residual"]), key)
            self.assertEqual(move.payment_state, "paid" if key in paid else "not_paid")
            self.assertFalse(move.message_follower_ids)

        # The PDFs of the export are attached to their invoices, and to no other record.
        with_pdf = {k: r["pdf_file"] for k, r in migrated.items() if r["pdf_file"]}
        self.assertTrue(with_pdf)
        self.assertEqual(
            self.invoice_attachments(moves),
            {
                self.record("invoices", k).id: [(path.rsplit("/", 1)[1], (folder / path).read_bytes())]
                for k, path in with_pdf.items()
            },
        )
        # Control totals by state: the legacy status and residual against the move's state and payment.
        totals = {t.name: (t.source, t.odoo) for t in phase.total_ids}
        self.assertTrue(all(t.match for t in phase.total_ids), totals)
        self.assertEqual(totals["invoices posted, paid: records"], (str(len(paid)),) * 2)
        self.assertEqual(totals["invoices posted, not paid: records"], (str(len(still_open)),) * 2)
        self.assertEqual(
            totals["invoices posted, not paid: sum of amount_residual, all currencies"],
            (str(sum(Decimal(r["amount_residual"]) for r in still_open.values())),) * 2,
        )
        self.assertEqual(
            totals["invoices posted, paid: sum of amount_total, all currencies"],
            (str(sum(Decimal(r["amount_total"]) for r in paid.values())),) * 2,
        )
        # A side-by-side sample of 25 invoices: header, lines and attachment, all equal.
        sample = phase.sample_ids
        self.assertEqual(len(set(sample.mapped("source_key"))), 25)
        self.assertFalse(sample.filtered("differs"))
        self.assertEqual(
            set(sample.mapped("field_name")),
            {
                "amount_residual",
                "amount_tax",
                "amount_total",
                "amount_untaxed",
                "attachment",
                "currency_id",
                "invoice_date",
                "invoice_date_due",
                "invoice_line_ids",
                "partner_id",
                "ref",
                "state",
            },
        )
        sampled = sample.filtered(lambda s: s.field_name == "attachment" and s.source_key in with_pdf)
        for line in sampled:
            self.assertEqual(line.odoo_value, f"{line.source_key}.pdf")

        # Revenue is booked once, by the invoices: the settlements touch no income account.
        income = self.env["account.move.line"].search(
            [
                ("company_id", "=", self.company.id),
                ("account_id.account_type", "=", "income"),
                ("parent_state", "=", "posted"),
            ]
        )
        self.assertEqual(
            -sum(self.cents(a) for a in income.mapped("amount_currency")),
            sum(self.cents(r["amount_untaxed"]) for r in migrated.values()),
        )
        settlements = self.env["account.move"].search(
            [("journal_id", "=", journal.id), ("move_type", "=", "entry")]
        )
        self.assertEqual(len(settlements), len(paid))
        clearing = settlements.line_ids.account_id.filtered(lambda a: a.account_type == "asset_current")
        self.assertEqual((clearing.name, clearing.reconcile), ("Legacy invoices migration clearing", False))
        self.assertEqual(
            sum(
                self.cents(a)
                for a in settlements.line_ids.filtered(lambda ln: ln.account_id == clearing).mapped(
                    "amount_currency"
                )
            ),
            sum(self.cents(r["amount_total"]) for r in paid.values()),
        )
        # The open receivable of the migrated invoices is the legacy open amount, overall.
        receivable = moves.line_ids.filtered(lambda ln: ln.account_id.account_type == "asset_receivable")
        self.assertEqual(
            sum(self.cents(a) for a in receivable.mapped("amount_residual_currency")),
            sum(self.cents(r["amount_residual"]) for r in migrated.values()),
        )

        # The same run and a new run of the export: nothing created, nothing written.
        stamps = {m.id: m.write_date for m in moves | settlements}
        move_count = self.env["account.move"].search_count([])
        run.action_migrate(OBJECTS)
        again = self.confirmed_run(folder=folder)
        again.action_migrate(OBJECTS)
        same = dict(counts, created=0, unchanged=counts["created"])
        self.assertEqual(self.counts(run, "invoices"), same)
        self.assertEqual(self.counts(again, "invoices"), same)
        self.assertTrue(self.phase(again, "invoices").checksum_match)
        self.env.invalidate_all()
        self.assertEqual({m.id: m.write_date for m in moves | settlements}, stamps)
        self.assertEqual(self.env["account.move"].search_count([]), move_count)
        self.assertEqual(self.mail_counts(), mail_before)
        self.assertEqual(len(self.invoice_attachments(moves)), len(with_pdf))
        self.assertEqual(sum(len(v) for v in self.invoice_attachments(moves).values()), len(with_pdf))

    def invoice_attachments(self, moves):
        """{move id: [(file name, bytes)]} of the attachments of ``moves``."""
        found = {}
        attachments = (
            self.env["ir.attachment"]
            .sudo()
            .search([("res_model", "=", "account.move"), ("res_id", "in", moves.ids)], order="res_id, name")
        )
        for att in attachments:
            found.setdefault(att.res_id, []).append((att.name, att.raw))
        return found

    def test_plain_run_without_a_tax_of_the_rate_creates_the_legacy_tax_once(self):
        # The default chart of a fresh database has no 20 % sale tax: the invoices still migrate.
        folder, manifest, invoices, lines = self.export()
        Tax = self.env["account.tax"].with_context(active_test=False)
        self.assertFalse(Tax.search([("company_id", "=", self.company.id), ("amount", "=", 20)]))
        counts, migrated, quarantined = self.expected(manifest, invoices, lines)
        run = self.confirmed_run(folder=folder)
        mail_before = self.mail_counts()
        run.action_migrate(OBJECTS)
        self.assertEqual(self.counts(run, "invoices"), counts)
        tax = Tax.search([("company_id", "=", self.company.id), ("amount", "=", 20)])
        default = self.company.account_sale_tax_id
        self.assertEqual(
            (tax.name, tax.type_tax_use, tax.amount_type, tax.price_include, tax.active),
            ("Legacy sales tax 20 %", "sale", "percent", False, True),
        )
        self.assertEqual(
            tax.invoice_repartition_line_ids.account_id, default.invoice_repartition_line_ids.account_id
        )
        for key, row in migrated.items():
            move = self.record("invoices", key)
            self.assertEqual(move.invoice_line_ids.tax_ids, tax)
            self.assertEqual(self.cents(move.amount_tax), self.cents(row["amount_tax"]))
        # Said in the run's log, and created once: a new run of the export finds it.
        self.assertEqual(
            len(run.message_ids.filtered(lambda m: "created Legacy sales tax 20 %" in (m.body or ""))), 1
        )
        self.assertEqual(self.mail_counts(), mail_before)
        again = self.confirmed_run(folder=folder)
        again.action_migrate(OBJECTS)
        self.assertEqual(self.counts(again, "invoices"), dict(counts, created=0, unchanged=counts["created"]))
        self.assertEqual(Tax.search_count([("company_id", "=", self.company.id), ("amount", "=", 20)]), 1)

    def test_no_sale_tax_to_copy_is_quarantined_naming_the_rate_and_line(self):
        folder, manifest, invoices, lines = self.export()
        taxes = self.env["account.tax"].search(
            [("company_id", "=", self.company.id), ("type_tax_use", "=", "sale")]
        )
        self.company.account_sale_tax_id = False
        taxes.active = False
        run = self.confirmed_run(folder=folder)
        run.action_migrate(OBJECTS)
        counts, migrated, quarantined = self.expected(manifest, invoices, lines)
        rejected = run.quarantine_ids.filtered(lambda q: q.object == "invoices")
        self.assertEqual(len(rejected), len(migrated) + len(quarantined))
        for q in rejected.filtered(lambda q: q.source_key in migrated):
            self.assertIn(f"line 1 (invoice_lines, invoice {q.source_key}): tax_rate 20 %", q.reasons)
            self.assertIn("no sale tax of that rate", q.reasons)
        self.assertFalse(self.env["account.move"].search([("journal_id.code", "=", "LEGI")]))

    def test_a_missing_or_unreadable_pdf_quarantines_its_invoice_naming_file_and_row(self):
        folder, manifest, invoices, lines = self.export()
        self.sale_taxes(lines)
        counts, migrated, quarantined = self.expected(manifest, invoices, lines)
        with_pdf = [k for k, r in migrated.items() if r["pdf_file"]]
        missing, broken = with_pdf[0], with_pdf[1]
        (folder / migrated[missing]["pdf_file"]).unlink()
        (folder / migrated[broken]["pdf_file"]).write_bytes(b"this is no PDF")
        line_of = {}
        for n, row in enumerate(invoices, start=2):
            line_of.setdefault(row["invoice_number"], n)
        run = self.confirmed_run(folder=folder)
        run.action_migrate(OBJECTS)
        self.assertEqual(
            self.counts(run, "invoices"),
            dict(counts, created=counts["created"] - 2, quarantined=counts["quarantined"] + 2),
        )
        rows = {q.source_key: q for q in run.quarantine_ids if q.source_key in (missing, broken)}
        self.assertEqual(
            rows[missing].reasons,
            f"pdf_file: the file 'invoice_pdfs/{missing}.pdf' (invoices.csv line {line_of[missing]}) "
            "is not in the export",
        )
        self.assertEqual(
            rows[broken].reasons,
            f"pdf_file: the file 'invoice_pdfs/{broken}.pdf' (invoices.csv line {line_of[broken]}) "
            "is not a readable PDF",
        )
        self.assertEqual(rows[missing].line, line_of[missing])
        moves = self.env["account.move"].search(
            [("journal_id.code", "=", "LEGI"), ("move_type", "=", "out_invoice")]
        )
        self.assertEqual(len(self.invoice_attachments(moves)), len(with_pdf) - 2)
        # The operator empties pdf_file: the invoice migrates, without an attachment, and the
        # phase's totals count it.
        row = rows[missing].with_user(self.operator)
        values = row._values()
        values["pdf_file"] = None
        row.values_json = json.dumps(values)
        self.assertEqual(row.action_retry(), 1)
        move = self.record("invoices", missing)
        self.assertEqual((move.state, self.invoice_attachments(move)), ("posted", {}))
        phase = self.phase(run, "invoices")
        totals = {t.name: (t.source, t.odoo) for t in phase.total_ids}
        records = "invoices: records (source rows minus quarantined and collapsed)"
        self.assertEqual(totals[records], (str(counts["created"] - 1),) * 2)
        self.assertEqual((phase.balanced, phase.checksum_match, phase.mismatch), (True, True, False))

    def test_invoice_inside_a_lock_date_is_refused_never_redated(self):
        folder, manifest, invoices, lines = self.export()
        self.sale_taxes(lines)
        counts, migrated, quarantined = self.expected(manifest, invoices, lines)
        dates = {row["invoice_date"] for row in migrated.values()}
        lock = max(datetime.date.fromisoformat(d) for d in dates)
        self.company.sale_lock_date = lock
        run = self.confirmed_run(folder=folder)
        mail_before = self.mail_counts()
        run.action_migrate(OBJECTS)
        self.assertEqual(
            self.counts(run, "invoices"),
            dict(counts, created=0, quarantined=counts["quarantined"] + counts["created"]),
        )
        locked = run.quarantine_ids.filtered(lambda q: q.object == "invoices" and q.source_key in migrated)
        self.assertEqual(len(locked), len(migrated))
        for q in locked:
            self.assertIn("inside a lock date", q.reasons)
            self.assertIn("never re-dated", q.reasons)
        # Nothing half-written: no invoice, no settlement, no link.
        self.assertFalse(self.env["account.move"].search([("journal_id.code", "=", "LEGI")]))
        self.assertFalse(self.env["bss.import.link"].sudo().search([("object", "=", "invoices")]))
        self.assertEqual(self.mail_counts(), mail_before)

        # The lock lifted, the refused invoices re-run and keep their own date.
        self.company.sale_lock_date = False
        self.assertEqual(locked.with_user(self.operator).action_retry(), len(migrated))
        for key, row in migrated.items():
            move = self.record("invoices", key)
            self.assertEqual((str(move.date), move.state), (row["invoice_date"], "posted"))
            self.assertEqual(self.cents(move.amount_residual), self.cents(row["amount_residual"]))

    def test_partly_paid_keeps_its_open_amount_and_cancelled_has_no_accounting_effect(self):
        folder, manifest, invoices, lines = self.export()
        self.sale_taxes(lines)
        _counts, migrated, _quarantined = self.expected(manifest, invoices, lines)
        unpaid = [k for k, r in migrated.items() if r["amount_residual"] == r["amount_total"]]
        partly, cancelled = unpaid[0], unpaid[1]
        # The legacy system recorded a payment of 10.00 on one invoice; another was voided.
        residual = str(Decimal(migrated[partly]["amount_total"]) - 10)
        with open(folder / "invoices.csv", newline="", encoding="utf-8") as fh:
            header = next(csv.reader(fh))
        for row in invoices:
            if row["invoice_number"] == partly:
                row["amount_residual"] = residual
            if row["invoice_number"] == cancelled:
                row["status"] = "cancelled"
        with open(folder / "invoices.csv", "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, header, lineterminator="\r\n")
            writer.writeheader()
            writer.writerows(invoices)
        # A line exported twice, word for word, counts once.
        with open(folder / "invoice_lines.csv", "a", newline="", encoding="utf-8") as fh:
            csv.writer(fh, lineterminator="\r\n").writerow(lines[partly][0].values())
        run = self.confirmed_run(folder=folder)
        run.action_migrate(OBJECTS)
        phase = self.phase(run, "invoices")
        self.assertEqual((phase.state, phase.checksum_match, phase.mismatch), ("done", True, False))
        move = self.record("invoices", partly)
        self.assertEqual(len(move.invoice_line_ids), len(lines[partly]))
        self.assertEqual(self.cents(move.amount_total), self.cents(migrated[partly]["amount_total"]))
        self.assertEqual(self.cents(move.amount_residual), self.cents(residual))
        self.assertEqual(move.payment_state, "partial")
        settlement = move.line_ids.matched_credit_ids.credit_move_id.move_id
        self.assertEqual(settlement.journal_id.code, "LEGI")
        self.assertEqual(
            self.cents(-sum(settlement.line_ids.filtered("reconciled").mapped("amount_currency"))), 1000
        )
        voided = self.record("invoices", cancelled)
        self.assertEqual((voided.state, voided.ref), ("cancel", cancelled))
        self.assertFalse(
            self.env["account.move.line"].search_count(
                [("move_id", "=", voided.id), ("parent_state", "=", "posted")]
            )
        )

    def test_a_migrated_invoice_changed_in_the_export_is_refused_not_written_over(self):
        folder, manifest, invoices, lines = self.export()
        self.sale_taxes(lines)
        counts, migrated, _quarantined = self.expected(manifest, invoices, lines)
        self.confirmed_run(folder=folder).action_migrate(OBJECTS)
        changed = next(iter(migrated))
        move = self.record("invoices", changed)
        stamp, due = move.write_date, move.invoice_date_due
        # The corrected export moves one posted invoice's due date.
        with open(folder / "invoices.csv", newline="", encoding="utf-8") as fh:
            header = next(csv.reader(fh))
        for row in invoices:
            if row["invoice_number"] == changed:
                row["due_date"] = str(due + datetime.timedelta(days=10))
        with open(folder / "invoices.csv", "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, header, lineterminator="\r\n")
            writer.writeheader()
            writer.writerows(invoices)
        again = self.confirmed_run(folder=folder)
        again.action_migrate(OBJECTS)
        self.assertEqual(
            self.counts(again, "invoices"),
            dict(
                counts,
                created=0,
                unchanged=counts["created"] - 1,
                quarantined=counts["quarantined"] + 1,
            ),
        )
        refused = again.quarantine_ids.filtered(lambda q: q.source_key == changed)
        self.assertIn("already migrated and posted", refused.reasons)
        self.assertIn("credit note", refused.reasons)
        self.env.invalidate_all()
        self.assertEqual((move.write_date, move.invoice_date_due), (stamp, due))
