"""Orders: legacy sales orders become sale orders with their lines and original dates.

* the customer (``partner_id``) is the migrated subscriber of the order; an
  order whose subscriber is not migrated (not in the export, or quarantined)
  is quarantined. The invoice address is the migrated billing account of the
  order, else the subscriber's own account (flagged);
* the lines are the rows of ``order_lines`` (the child table, read in the same
  key order as the orders and merged with them): a line's product is the
  service plan of its ``plan_code`` (``x_plan_code``), else the product of its
  ``product_code`` (``default_code``); an unknown code quarantines the whole
  order, with a reason naming the line: half an order is not migrated;
* the legacy status decides the state: a draft stays a quotation, a confirmed
  (active) order is a sales order, a done one (history) a *locked* sales
  order, a cancelled one is cancelled. The original ``date_order`` is kept;
* the legacy total (tax excluded) is a control total: Odoo recomputes the
  untaxed amount from the lines, and the reconciliation compares the two in
  minor units, so a difference shows as a mismatch of ``total_amount``.

No mail, no follower, no procurement and no invoice: see :meth:`OrdersPhase.write_chunk`.
"""

import json
from decimal import Decimal

from odoo import Command
from odoo.exceptions import UserError
from odoo.tools import SQL

from ...lib import legacy_codes, values
from .base import LinkedCustomers, Phase, Rejected, Resolved, Row, comparable, group_totals

#: Header fields written after the lines exist (see write_chunk).
_STATE_FIELDS = ("state", "locked")


class _OrderLinesReader(Phase):
    """The staged ``order_lines`` rows, through the run's mapping (read only, never written)."""

    object = "orders"
    table = "order_lines"
    range_column = "order_id"
    model = "sale.order.line"

    def by_order(self):
        """Yield (order id, [line rows]) in the byte order of the order id, as the orders stream.

        A line without an order id belongs to no order (the profiler reports it).
        """
        current, group = None, []
        for row in self.rows():
            order = row.values.get("order_id")
            if order is None:
                continue
            if group and order != current:
                yield current, group
                group = []
            current = order
            group.append(row)
        if group:
            yield current, group

    def of_order(self, key):
        """The staged line rows of one order (a quarantined order re-run alone)."""
        if not self.has_rows():
            return []
        names = self.column_names()
        self.env.cr.execute(SQL("SELECT * FROM (%s) s WHERE order_id = %s", self.source_sql(), key))
        return [
            Row(rec[0], rec[1], dict(zip(names, rec[2:], strict=True)), None, self.table)
            for rec in self.env.cr.fetchall()
        ]


class OrdersPhase(LinkedCustomers, Phase):
    object = "orders"
    table = "orders"
    model = "sale.order"
    #: Their lines grow with them (see runner._refresh_statistics).
    statistics_models = ("sale.order.line",)

    sample_size = 25
    #: About 30 records/s (lines, confirmation or posting): 200 keys per chunk of 2,000.
    chunk_scale = 0.1

    def control_totals(self):
        """Records migrated and their amounts, overall, by state and by order type: the clean source
        rows against the records linked to them."""
        totals = self.count_totals() + self.amount_totals([("total_amount", "amount_untaxed")])
        totals += self.state_totals()
        line = self.lines.get("order_type")
        target = line and line.action in ("map", "new_field") and line.target_field
        if target and target in self.env[self.model]._fields:
            totals += self.count_totals("order_type", target, "orders")[1:]
        return totals

    def state_totals(self):
        """Count and amount (tax excluded) per state, the legacy status converted as the phase does.

        Source: the mapped ``status`` (its value map, then the legacy codes)
        and *locked* for a done order; Odoo: ``state`` and ``locked``. The
        source amount is ``total_amount``, Odoo's ``amount_untaxed``, Decimal
        text to the cent, all currencies.
        """
        cent = Decimal("0.01")
        line = self.lines.get("status")

        def source_state(row):
            raw = row.get("status")
            try:
                state = (self.convert(line, "status", raw) if line and line.target_field else raw) or "draft"
            except ValueError:
                state = raw or ""
            done = legacy_codes.map_code("orders", "status", raw or "") == "done"
            return f"{state}, locked" if done else state

        def source_amount(row):
            raw = row.get("total_amount")
            return self.decimal("orders", "total_amount", raw).quantize(cent) if raw else Decimal(0)

        def odoo_side(row):
            state = f"{row['state']}, locked" if row["locked"] else row["state"]
            return state, (Decimal(str(row["amount_untaxed"] or 0)).quantize(cent),)

        return group_totals(
            "orders",
            ["sum of total_amount (Odoo amount_untaxed), all currencies"],
            (
                ((source_state(src), (source_amount(src),)), None if ood is None else odoo_side(ood))
                for _key, src, ood in self.paired_rows(
                    ["status", "total_amount"], ["state", "locked", "amount_untaxed"]
                )
            ),
        )

    def __init__(self, ctx):
        super().__init__(ctx)
        self.line_reader = _OrderLinesReader(ctx)
        self._products = {}
        self._pricelists = {}
        self._parents = {}

    def readers(self):
        return (self.line_reader,)

    def handled(self, name):
        return name in ("subscriber_id", "account_number")

    # ------------------------------------------------------------ which rows
    def rows(self):
        """The orders in key order, each with its staged lines (``row.order_lines``).

        Both tables stream in the byte order of the order id (:meth:`Phase.rows`),
        so one pass over each merges them without holding either in memory; an
        exact copy of an order (collapsed later) gets the same lines.
        """
        groups = self.line_reader.by_order()
        pending = next(groups, None)

        def with_lines(rows):
            nonlocal pending
            for row in rows:
                while pending is not None and row.key is not None and pending[0] < row.key:
                    pending = next(groups, None)
                row.order_lines = pending[1] if pending is not None and pending[0] == row.key else []
                yield row

        # The customers of each batch looked up in two queries, not two per order.
        yield from self.prefetched(with_lines(super().rows()))

    # ---------------------------------------------------------- resolution
    def complete(self, row, row_values, vals):
        reasons, flags = [], []
        partner = self.linked("subscribers", row_values.get("subscriber_id"))
        if not partner:
            reasons.append(
                f"orphan: its subscriber {row_values.get('subscriber_id')} is not migrated "
                "(not in the export, or quarantined)"
            )
        currency = self.currency(row_values.get("currency"))
        if currency is None:
            reasons.append(f"currency: unknown ISO 4217 code {row_values.get('currency')!r}")
        try:
            total = self.decimal("orders", "total_amount", row_values.get("total_amount"))
        except ValueError as exc:
            reasons.append(f"total_amount: {exc}")
            total = None
        lines = getattr(row, "order_lines", None)
        if lines is None:
            lines = self.line_reader.of_order(row.key)
        order_lines, line_reasons = self.resolve_lines(lines)
        reasons += line_reasons
        if reasons:
            return Rejected(row, reasons)
        invoice = self.linked("billing_accounts", row_values.get("account_number"))
        if not invoice:
            invoice = self.parent_of(partner)
            flags.append("billing account not migrated: invoiced to the subscriber's account")
        status = legacy_codes.map_code("orders", "status", row_values.get("status") or "")
        vals.setdefault("client_order_ref", row.key)
        vals.update(
            {
                "partner_id": partner,
                "partner_invoice_id": invoice,
                "partner_shipping_id": partner,
                # The legacy order has no salesperson: not the operator who runs the migration.
                "user_id": False,
                "company_id": self.ctx.company.id,
                "state": vals.get("state") or "draft",
                # A done order is history: locked, as Odoo locks fulfilled orders.
                "locked": status == "done",
            }
        )
        if currency:
            vals["pricelist_id"] = self.pricelist(currency)
        item = Resolved(row, vals, "\n".join(flags) or None)
        item.order_lines = order_lines
        item.total = total
        return item

    def resolve_lines(self, lines):
        """([line values], reasons) of an order's staged lines; a reason names the line."""
        out, reasons, seen = [], [], {}
        mapping = self.line_reader.lines
        for line_row in lines:
            raw = line_row.values
            where = f"order line {raw.get('line_no')} (order_lines line {line_row.line})"
            signature = json.dumps(raw, sort_keys=True)
            if raw.get("line_no") in seen:
                if seen[raw.get("line_no")] != signature:
                    reasons.append(f"{where}: the line number is on several rows with different values")
                continue
            seen[raw.get("line_no")] = signature
            try:
                sequence = values.parse_int(raw.get("line_no") or "")
                qty = self.decimal("order_lines", "quantity", raw.get("quantity"), mapping)
                price = self.decimal("order_lines", "unit_price", raw.get("unit_price"), mapping)
            except ValueError as exc:
                reasons.append(f"{where}: {exc}")
                continue
            if qty is None or price is None:
                reasons.append(f"{where}: missing quantity or unit price")
                continue
            product, why = self.product(raw.get("plan_code"), raw.get("product_code"))
            if not product:
                reasons.append(f"{where}: {why}")
                continue
            out.append(
                {
                    "sequence": sequence,
                    "product_id": product,
                    "product_uom_qty": float(qty),
                    "price_unit": float(price),
                    "discount": 0.0,
                }
            )
        out.sort(key=lambda v: v["sequence"])
        return out, reasons

    def decimal(self, table, name, raw, mapping=None):
        """The Decimal of a number cell written with its mapping line's separators (None when empty)."""
        if raw is None:
            return None
        line = (mapping if mapping is not None else self.lines).get(name)
        return values.parse_decimal(raw, line.number_format if line else values.DecimalFormat())

    def product(self, plan_code, product_code):
        """(product.product id, reason): the plan of ``plan_code``, else the product of ``product_code``."""
        if plan_code:
            key = ("plan", plan_code)
            if key not in self._products:
                self._products[key] = self.env["product.product"]._telecom_plan_for_code(plan_code).id
            return self._products[key], f"unknown plan code {plan_code!r}"
        if product_code:
            key = ("product", product_code)
            if key not in self._products:
                self._products[key] = (
                    self.env["product.product"]
                    .search(
                        [
                            ("default_code", "=", product_code),
                            ("company_id", "in", (self.ctx.company.id, False)),
                        ],
                        limit=1,
                    )
                    .id
                )
            return self._products[key], f"unknown product code {product_code!r}"
        return None, "no plan code and no product code"

    def currency(self, code):
        """The active currency of an ISO code (the company's when empty); None when unknown."""
        code = (code or "").strip().upper()
        if not code:
            return self.ctx.company.currency_id
        currency = self.env["res.currency"].search([("name", "=", code)], limit=1)
        return currency or None

    def pricelist(self, currency):
        """A pricelist of the order's currency: the legacy plans' one when it exists."""
        if currency.id not in self._pricelists:
            Pricelist = self.env["product.pricelist"]
            company = [("company_id", "in", (self.ctx.company.id, False)), ("currency_id", "=", currency.id)]
            pricelist = Pricelist.search(
                [("name", "=", f"Legacy plans ({currency.name})"), *company], limit=1
            ) or Pricelist.search(company, order="id", limit=1)
            if not pricelist:
                pricelist = Pricelist.create(
                    {
                        "name": f"Legacy orders ({currency.name})",
                        "currency_id": currency.id,
                        "company_id": self.ctx.company.id,
                    }
                )
            self._pricelists[currency.id] = pricelist.id
        return self._pricelists[currency.id]

    def parent_of(self, partner_id):
        if partner_id not in self._parents:
            self._parents[partner_id] = self.env["res.partner"].browse(partner_id).commercial_partner_id.id
        return self._parents[partner_id]

    # ---------------------------------------------------------------- writes
    def signature(self, item):
        """The values checksummed and compared for one resolved order: header, lines and control total."""
        return {
            **item.vals,
            "order_line": _lines_text(
                (v["sequence"], v["product_id"], v["product_uom_qty"], v["price_unit"])
                for v in item.order_lines
            ),
            "total_amount": self.minor(item.total, item.vals.get("pricelist_id")),
        }

    def odoo_signature(self, record, names):
        out = {f: record[f] for f in names if f not in ("order_line", "total_amount")}
        out["order_line"] = _lines_text(
            (ln.sequence, ln.product_id.id, ln.product_uom_qty, ln.price_unit) for ln in record.order_line
        )
        out["total_amount"] = self.minor(record.amount_untaxed, record.pricelist_id.id)
        return out

    def minor(self, amount, pricelist_id):
        """An amount in integer minor units of the order's currency (None when there is none)."""
        if amount is None:
            return None
        currency = (
            self.env["product.pricelist"].browse(pricelist_id).currency_id or self.ctx.company.currency_id
        )
        return int(
            (Decimal(str(amount)) * 10**currency.decimal_places).quantize(
                Decimal(1), rounding="ROUND_HALF_UP"
            )
        )

    def write_chunk(self, items, counts):
        """Create new orders, update changed ones, skip unchanged ones.

        Orders are created as quotations with their lines, then given their
        state by a plain ``write``: ``action_confirm`` would re-date the order to
        today, subscribe the customer as a follower, run ``_action_confirm``
        (procurements when ``sale_stock`` is installed, analytic accounts) and
        may send the confirmation mail; ``action_cancel`` opens the cancel mail
        wizard. A line created on an order already confirmed posts a chatter
        message, hence the lines before the state. Nothing here creates an
        invoice: orders stay *to invoice* and the invoices phase brings the
        legacy invoices themselves.
        """
        Model = self.env[self.model]
        links = self.ctx.links(self.object, [it.row.key for it in items])
        new = []
        for item in items:
            signature = self.signature(item)
            checksum = self.checksum(signature)
            if item.flag:
                counts.flagged += 1
            link = links.get(item.row.key)
            if not link:
                new.append((item, checksum))
                continue
            if link.checksum == checksum:
                counts.unchanged += 1
                continue
            self.update(Model.browse(link.res_id), item, signature, checksum, link, counts)
        if not new:
            return
        records = Model.create(
            [
                {
                    **{f: v for f, v in item.vals.items() if f not in _STATE_FIELDS},
                    "order_line": [Command.create(v) for v in item.order_lines],
                }
                for item, _checksum in new
            ]
        )
        by_state = {}
        for record, (item, _checksum) in zip(records, new, strict=True):
            state = (item.vals["state"], item.vals["locked"])
            by_state[state] = by_state.get(state, Model) | record
        for (state, locked), orders in by_state.items():
            if state != "draft" or locked:
                orders.write({"state": state, "locked": locked})
        self.ctx.create_links(
            self.object,
            self.model,
            [
                (item.row.key, rec.id, checksum, item.flag)
                for (item, checksum), rec in zip(new, records, strict=True)
            ],
        )
        counts.created += len(records)

    def update(self, record, item, signature, checksum, link, counts):
        """Write what changed on an order already migrated; its lines only while it is a quotation."""
        old = {f: comparable(v) for f, v in self.odoo_signature(record, signature).items()}
        changed = {f: v for f, v in item.vals.items() if comparable(v) != old[f]}
        lines_changed = signature["order_line"] != old["order_line"]
        if lines_changed:
            if record.state != "draft":
                raise UserError(
                    self.env._(
                        "The lines of order %(key)s changed in the export, but %(order)s is no longer "
                        "a quotation: correct it in Odoo.",
                        key=item.row.key,
                        order=record.name,
                    )
                )
            record.write({"order_line": [Command.clear()] + [Command.create(v) for v in item.order_lines]})
        if changed:
            record.write(changed)
        if changed or lines_changed:
            counts.updated += 1
        else:
            counts.unchanged += 1
        replaced = {f: old[f] for f in changed}
        written = dict(changed)
        if lines_changed:
            replaced["order_line"] = old["order_line"]
            written["order_line"] = signature["order_line"]
        self.ctx.log_changes(self.object, self.model, [(item.row.key, record.id, replaced, written)])
        link.write(
            {
                "checksum": checksum,
                "last_run_id": self.ctx.run.id,
                "flag": item.flag or False,
                "previous_values_json": json.dumps(replaced, default=str)
                if replaced
                else link.previous_values_json,
            }
        )

    def sample_source(self, item):
        """The order side by side as the reconciliation compares it: header, lines and control total."""
        return self.signature(item)

    def sample_odoo(self, record, vals):
        return self.odoo_signature(record, vals)

    # ------------------------------------------------------------- reconcile
    def reconcile(self, items):
        """Like :meth:`Phase.reconcile`, over the header, the lines and the control total of each order."""
        links = self.ctx.links(self.object, [it.row.key for it in items])
        Model = self.env[self.model]
        out = []
        for item in items:
            signature = self.signature(item)
            link = links.get(item.row.key)
            record = Model.browse(link.res_id).exists() if link else Model
            if not record:
                out.append((item.row.key, self.checksum(signature), "missing", ["record missing"]))
                continue
            odoo = self.odoo_signature(record, signature)
            out.append(
                (item.row.key, self.checksum(signature), self.checksum(odoo), self.differing(signature, odoo))
            )
        return out


def _lines_text(lines):
    """The lines of an order as one comparable text: sequence, product, quantity and unit price."""
    return ";".join(
        f"{seq}|{product}|{round(qty, 6):g}|{round(price, 6):g}" for seq, product, qty, price in lines
    )
