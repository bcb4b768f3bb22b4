import csv
from decimal import Decimal

from odoo.addons.bss_import.lib.schema import OBJECTS
from odoo.addons.bss_import.services.migration.runner import PHASE_OF
from odoo.tests import tagged

from .common import MigrationCase, read_csv

DEFECTS = "duplicate_rows=8,orphans=6,missing_mandatory=8,invalid_msisdn=2"
#: Subscriber defects that quarantine the subscriber (and so the subscriber's orders).
QUARANTINED_SUBSCRIBER_DEFECTS = ("orphans", "missing_mandatory", "invalid_msisdn")
#: Legacy order status -> (Odoo state, locked).
STATES = {
    "draft": ("draft", False),
    "confirmed": ("sale", False),
    "done": ("sale", True),
    "cancelled": ("cancel", False),
}
UNKNOWN_PRODUCT = "NO_SUCH_PRODUCT"
#: The phases up to the orders: later ones (invoices) create account moves of their own.
UP_TO_ORDERS = [o for o in OBJECTS[: OBJECTS.index("orders") + 1] if o in PHASE_OF]


def _keys(manifest, kind, obj):
    return {i["key"] for i in manifest["defects"][kind]["objects"].get(obj, {}).get("items", [])}


def _count(manifest, kind, obj):
    return manifest["defects"][kind]["objects"].get(obj, {}).get("count", 0)


def _write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)


def _cents(text):
    return int(Decimal(text) * 100)


@tagged("post_install", "-at_install")
class TestMigrateOrders(MigrationCase):
    def export(self):
        """A generated export whose orders carry every status, an unknown product code on one
        line and a legacy total that disagrees with its lines on one order.

        Returns (folder, manifest, edits): the generator writes done and confirmed orders only,
        so the other cases are written into clean orders (no defect on the order, its
        subscriber or its account) and ``edits`` says which.
        """
        folder, manifest = self.generate("--defects", DEFECTS, subscribers=60, seed=9)
        orders = read_csv(folder / "orders.csv")
        lines = read_csv(folder / "order_lines.csv")
        touched = set().union(*(_keys(manifest, kind, "orders") for kind in manifest["defects"]))
        bad_subs = self.quarantined_subscribers(folder, manifest)
        clean = [
            o["order_id"]
            for o in orders
            if o["order_id"] not in touched and o["subscriber_id"] not in bad_subs and o["status"] == "done"
        ]
        edits = {
            "cancelled": clean[0],
            "draft": clean[1],
            "confirmed": clean[2],
            "unknown_product": clean[3],
            "wrong_total": clean[4],
        }
        for order in orders:
            for status in ("cancelled", "draft", "confirmed"):
                if order["order_id"] == edits[status]:
                    order["status"] = status
            if order["order_id"] == edits["wrong_total"]:
                order["total_amount"] = str(Decimal(order["total_amount"]) + 1)
        for line in lines:
            if line["order_id"] == edits["unknown_product"] and line["line_no"] == "1":
                line["plan_code"], line["product_code"] = "", UNKNOWN_PRODUCT
        _write_csv(folder / "orders.csv", orders)
        _write_csv(folder / "order_lines.csv", lines)
        return folder, manifest, edits

    def quarantined_subscribers(self, folder, manifest):
        """Subscribers the migration quarantines: their own defects, or their account's."""
        bad_accounts = _keys(manifest, "missing_mandatory", "billing_accounts")
        bad = set().union(*(_keys(manifest, k, "subscribers") for k in QUARANTINED_SUBSCRIBER_DEFECTS))
        subs = read_csv(folder / "subscribers.csv")
        return bad | {s["subscriber_id"] for s in subs if s["account_number"] in bad_accounts}

    def expected(self, folder, manifest, edits):
        orders = read_csv(folder / "orders.csv")
        bad_subs = self.quarantined_subscribers(folder, manifest)
        rejected = (
            _keys(manifest, "orphans", "orders")
            | _keys(manifest, "missing_mandatory", "orders")
            | {o["order_id"] for o in orders if o["subscriber_id"] in bad_subs}
            | {edits["unknown_product"]}
        )
        keys = {o["order_id"] for o in orders}
        dups = _count(manifest, "duplicate_rows", "orders")
        self.assertEqual(len(orders) - dups, len(keys))
        return {
            "source_rows": len(orders),
            "duplicates_collapsed": dups,
            "quarantined": len(keys & rejected),
            "created": len(keys - rejected),
            "updated": 0,
            "unchanged": 0,
            "flagged": 0,
        }, keys - rejected

    def snapshot(self):
        counts = self.mail_counts()
        counts["account.move"] = self.env["account.move"].sudo().search_count([])
        if "stock.move" in self.env:
            counts["stock.move"] = self.env["stock.move"].sudo().search_count([])
        if "procurement.group" in self.env:
            counts["procurement.group"] = self.env["procurement.group"].sudo().search_count([])
        return counts

    def test_orders_with_lines_dates_and_states_then_rerun_changes_nothing(self):
        folder, manifest, edits = self.export()
        run = self.confirmed_run(folder=folder)
        expected, migrated = self.expected(folder, manifest, edits)
        self.assertGreater(len(migrated), 10)
        before = self.snapshot()
        run.action_migrate(UP_TO_ORDERS)
        phase = self.phase(run, "orders")
        quarantine = run.quarantine_ids.filtered(lambda q: q.object == "orders")
        self.assertEqual(
            self.counts(run, "orders"), expected, (phase.error_message, quarantine.mapped("reasons"))
        )
        # No mail, chatter, follower, invoice or procurement comes from the migration.
        self.assertEqual(self.snapshot(), before)

        # Quarantine: orphans name their subscriber, the unknown product names its line.
        self.assertEqual(len(quarantine), expected["quarantined"])
        for key in _keys(manifest, "orphans", "orders"):
            self.assertIn(
                "orphan: its subscriber", quarantine.filtered(lambda q, k=key: q.source_key == k).reasons
            )
        unknown = quarantine.filtered(lambda q: q.source_key == edits["unknown_product"])
        self.assertIn("order line 1 (order_lines line", unknown.reasons)
        self.assertIn(f"unknown product code '{UNKNOWN_PRODUCT}'", unknown.reasons)
        self.assertFalse(self.link("orders", edits["unknown_product"]))

        # The legacy total that disagrees with the lines is a reported mismatch, not hidden.
        self.assertEqual(phase.state, "done")
        self.assertFalse(phase.checksum_match)
        self.assertIn("total_amount (1 rows)", phase.mismatch)
        self.assertTrue(phase.balanced)

        # Control totals by state (the legacy status converted as the phase converts it): counts and
        # amounts match, but for the one order whose legacy total is 1.00 above its lines.
        rows = {o["order_id"]: o for o in read_csv(folder / "orders.csv")}
        by_state = {}
        for key in migrated:
            state, locked = STATES[rows[key]["status"]]
            name = f"{state}, locked" if locked else state
            count, amount = by_state.get(name, (0, Decimal(0)))
            by_state[name] = (count + 1, amount + Decimal(rows[key]["total_amount"]))
        totals = {t.name: (t.source, t.odoo) for t in phase.total_ids}
        self.assertEqual(set(by_state), {"draft", "sale", "sale, locked", "cancel"})
        for name, (count, amount) in by_state.items():
            self.assertEqual(totals[f"orders {name}: records"], (str(count), str(count)))
            odoo = amount - 1 if name == "sale, locked" else amount
            self.assertEqual(
                totals[f"orders {name}: sum of total_amount (Odoo amount_untaxed), all currencies"],
                (str(amount), str(odoo)),
            )
        self.assertEqual(
            [t.name for t in phase.total_ids if not t.match],
            [
                "orders: sum of total_amount (Odoo amount_untaxed), all currencies",
                "orders sale, locked: sum of total_amount (Odoo amount_untaxed), all currencies",
            ],
        )
        # A side-by-side sample of 25 orders: header, lines and legacy total; only the wrong
        # total differs.
        sample = phase.sample_ids
        self.assertEqual(len(set(sample.mapped("source_key"))), 25)
        self.assertTrue(
            {"order_line", "total_amount", "partner_id", "date_order", "state"}
            <= set(sample.mapped("field_name"))
        )
        self.assertEqual(
            {(s.source_key, s.field_name) for s in sample.filtered("differs")},
            {(edits["wrong_total"], "total_amount")}
            & {(k, "total_amount") for k in sample.mapped("source_key")},
        )
        line = sample.filtered(lambda s: s.field_name == "order_line")[:1]
        self.assertEqual(line.source_value, line.odoo_value)
        self.assertIn("|", line.source_value)

        # Every migrated order: its customer, invoice address, original date, state and lines.
        rows = {o["order_id"]: o for o in read_csv(folder / "orders.csv")}
        lines = {}
        for line in read_csv(folder / "order_lines.csv"):
            lines.setdefault(line["order_id"], []).append(line)
        states = {}
        for key in sorted(migrated):
            row, order = rows[key], self.record("orders", key)
            with self.subTest(order=key):
                self.assertEqual(order.client_order_ref, key)
                self.assertEqual(order.partner_id, self.record("subscribers", row["subscriber_id"]))
                self.assertEqual(
                    order.partner_invoice_id, self.record("billing_accounts", row["account_number"])
                )
                self.assertEqual(order.company_id, self.company)
                self.assertEqual(str(order.date_order), row["order_date"])
                self.assertEqual((order.state, order.locked), STATES[row["status"]])
                self.assertFalse(order.invoice_ids)
                self.assertFalse(order.message_follower_ids)
                self.assertEqual(order.currency_id.name, row["currency"])
                self.assertEqual(
                    [
                        (ln.sequence, ln.product_uom_qty, round(ln.price_unit * 100))
                        for ln in order.order_line
                    ],
                    [
                        (int(ln["line_no"]), float(ln["quantity"]), _cents(ln["unit_price"]))
                        for ln in sorted(lines[key], key=lambda ln: int(ln["line_no"]))
                    ],
                )
                for ln, src in zip(order.order_line, lines[key], strict=True):
                    if src["plan_code"]:
                        self.assertEqual(ln.product_id.x_plan_code, src["plan_code"])
                    else:
                        self.assertEqual(ln.product_id.default_code, src["product_code"])
                total = round(order.amount_untaxed * 100)
                if key == edits["wrong_total"]:
                    self.assertEqual(total + 100, _cents(row["total_amount"]))
                else:
                    self.assertEqual(total, _cents(row["total_amount"]))
            states[row["status"]] = states.get(row["status"], 0) + 1
        self.assertEqual(set(states), set(STATES))

        # The same run again and a new run of the same export: nothing created, nothing written.
        orders = self.env["sale.order"].sudo().search([("client_order_ref", "in", sorted(migrated))])
        self.assertEqual(len(orders), len(migrated))
        stamps = {o.id: (o.write_date, o.order_line.mapped("write_date")) for o in orders}
        again = dict(expected, created=0, unchanged=expected["created"])
        run.action_migrate(UP_TO_ORDERS)
        self.assertEqual(self.counts(run, "orders"), again)
        other = self.confirmed_run(folder=folder)
        other.action_migrate(UP_TO_ORDERS)
        self.assertEqual(self.counts(other, "orders"), again)
        self.env.invalidate_all()
        self.assertEqual({o.id: (o.write_date, o.order_line.mapped("write_date")) for o in orders}, stamps)
        self.assertEqual(self.env["sale.order"].sudo().search_count([]), len(migrated))
        self.assertEqual(self.snapshot(), before)

        # Fix and re-run: once the product exists, the quarantined order migrates.
        before = self.snapshot()
        self.env["product.product"].with_context(tracking_disable=True, mail_create_nolog=True).create(
            {"name": "Legacy gadget", "default_code": UNKNOWN_PRODUCT}
        )
        unknown = other.quarantine_ids.filtered(lambda q: q.source_key == edits["unknown_product"])
        self.assertEqual(unknown.with_user(self.operator).action_retry(), 1)
        order = self.record("orders", edits["unknown_product"])
        self.assertEqual(order.order_line[0].product_id.default_code, UNKNOWN_PRODUCT)
        self.assertEqual((order.state, order.locked), ("sale", True))
        self.assertEqual(str(order.date_order), rows[edits["unknown_product"]]["order_date"])
        self.assertEqual(self.snapshot(), before)

        # A corrected export: a quotation's new date is written (the old one kept on the link);
        # new lines on a confirmed order are refused with the reason, never rewritten.
        fixed = read_csv(folder / "orders.csv")
        for row in fixed:
            if row["order_id"] == edits["draft"]:
                row["order_date"] = "2019-06-30 08:15:00"
        _write_csv(folder / "orders.csv", fixed)
        changed = read_csv(folder / "order_lines.csv")
        for line in changed:
            if line["order_id"] == edits["confirmed"]:
                line["unit_price"] = str(Decimal(line["unit_price"]) + 2)
        _write_csv(folder / "order_lines.csv", changed)
        third = self.confirmed_run(folder=folder)
        third.action_migrate(UP_TO_ORDERS)
        self.assertEqual(
            self.counts(third, "orders"),
            dict(
                expected,
                created=0,
                updated=1,
                quarantined=expected["quarantined"],
                unchanged=expected["created"] - 1,
            ),
        )
        draft = self.record("orders", edits["draft"])
        self.assertEqual((str(draft.date_order), draft.state), ("2019-06-30 08:15:00", "draft"))
        self.assertIn(
            rows[edits["draft"]]["order_date"], self.link("orders", edits["draft"]).previous_values_json
        )
        refused = third.quarantine_ids.filtered(lambda q: q.source_key == edits["confirmed"])
        self.assertIn("no longer a quotation", refused.reasons)
        self.assertEqual(self.snapshot(), before)
