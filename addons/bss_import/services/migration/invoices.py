"""Invoices: legacy invoices become posted customer invoices, open items stay open to the cent.

* numbering: the legacy number is kept in ``ref`` (and ``payment_reference``,
  so a customer paying with the old number is matched); the move's ``name``
  comes from the *Legacy Invoices* journal's own sequence (``LEGI/2024/00001``),
  so Odoo's sequences of the company are never fed foreign numbers;
* every invoice goes to the sale journal *Legacy Invoices* (code ``LEGI``),
  created per company on first use, with its lines (``invoice_lines``, the
  child table), and posted on its own invoice date;
* taxes: a line's ``tax_rate`` is the company's sale tax of that rate
  (percent, price excluded; the first by sequence). When the company has
  none (a fresh database's default chart has no 20 % sale tax), the phase
  creates *Legacy sales tax <rate> %*, a copy of the company's default sale
  tax (so its tax lines go to the chart's tax accounts) with that rate, once
  per company, and says so in the run's log: the legacy invoices carry the
  tax they were issued with, whatever the chart offers for new sales. A
  company with no sale tax at all to copy quarantines the invoice with a
  reason naming the rate and the line. An operator who wants another tax
  creates it (same rate) before migrating: an existing tax always wins;
* a date inside a lock date is refused and reported before anything is
  written (Odoo's ``_post`` would silently re-date it);
* the total Odoo computes must equal the legacy ``amount_total`` to the cent,
  else the invoice is quarantined with both amounts;
* what the customer already paid (``amount_total - amount_residual``) is
  settled by one entry in the same journal on the invoice date: debit
  *Legacy invoices migration clearing* (not reconcilable, one per company),
  credit the receivable, reconciled with the invoice. The residual is then
  the legacy open amount exactly, and revenue is booked once (by the invoice;
  the settlement touches no income account);
* a cancelled legacy invoice is kept as a cancelled invoice (no accounting effect);
* the invoice's PDF (``pdf_file``, a path inside the export) is attached to
  the invoice under its original file name: staging kept the export's PDFs
  with the run (:mod:`..documents`); a ``pdf_file`` naming no file of the
  export, or a file that is not a PDF, quarantines the invoice with a reason
  naming the file and the row.

A migrated invoice is posted: a later export that changes it is refused
(quarantined), never written over; corrections are credit notes in Odoo.
"""

import posixpath
from collections import defaultdict
from decimal import Decimal

from odoo import Command
from odoo.exceptions import UserError
from odoo.tools import SQL

from ...lib import legacy_codes, schema, values
from .. import documents
from .base import Phase, Rejected, Resolved, group_totals

LEGACY_JOURNAL_CODE = "LEGI"
CLEARING_START_CODE = "1250"
#: ir.model.data module of the per-company accounts the phase creates (not a module: never
#: touched by module updates).
XMLID_MODULE = "__bss_import__"
_AMOUNTS = ("amount_untaxed", "amount_tax", "amount_total", "amount_residual")
#: Values a resolved invoice carries for the write only (not fields of the move, not checksummed).
_WRITE_ONLY = ("_lines", "_pdf")
#: Name of the sale tax the phase creates for a rate the company has no tax of.
LEGACY_TAX_NAME = "Legacy sales tax %s %%"


class _InvoiceLines(Phase):
    """The child table ``invoice_lines``, read through the run's mapping (no records of its own)."""

    object = "invoices"
    table = "invoice_lines"
    range_column = "invoice_number"
    model = "account.move.line"

    def lines_of(self, invoice_numbers):
        """{invoice number: [row values ordered by line_no]} of the staged lines of ``invoice_numbers``."""
        found = defaultdict(list)
        if not self.has_rows() or not invoice_numbers:
            return found
        names = self.column_names()
        query = SQL(
            "SELECT * FROM (%s) s WHERE invoice_number = ANY(%s) ORDER BY invoice_number, _file, _line",
            self.source_sql(),
            list(invoice_numbers),
        )
        self.env.cr.execute(query)
        for rec in self.env.cr.fetchall():
            row_values = dict(zip(names, rec[2:], strict=True))
            found[row_values["invoice_number"]].append(row_values)
        return found


class InvoicesPhase(Phase):
    object = "invoices"
    table = "invoices"
    model = "account.move"
    #: Their lines grow with them (see runner._refresh_statistics).
    statistics_models = ("account.move.line",)

    sample_size = 25
    #: About 30 records/s (lines, confirmation or posting): 200 keys per chunk of 2,000.
    chunk_scale = 0.1

    def control_totals(self):
        """Records migrated and their amounts, overall and by state: the clean source rows against the
        records linked to them."""
        return (
            self.count_totals()
            + self.amount_totals([("amount_total", "amount_total"), ("amount_residual", "amount_residual")])
            + self.state_totals()
        )

    def state_totals(self):
        """Count, total and residual per state, the source's status converted as the phase converts it.

        Source: a cancelled status is ``cancelled``; otherwise the invoice is
        posted and its legacy residual says how much is paid. Odoo: the move's
        ``state`` and ``payment_state``. Amounts are Decimal text to the cent.
        """
        cent = Decimal("0.01")

        def amount(raw):
            return self.decimal(self.lines, "amount_total", raw).quantize(cent) if raw else Decimal(0)

        def source_state(row):
            if self.status(row.get("status")) == "cancelled":
                return "cancelled"
            total, residual = amount(row.get("amount_total")), amount(row.get("amount_residual"))
            return (
                "posted, paid"
                if not residual
                else "posted, not paid"
                if residual == total
                else ("posted, partially paid")
            )

        def odoo_state(row):
            if row["state"] != "posted":
                return "cancelled" if row["state"] == "cancel" else row["state"]
            return {
                "paid": "posted, paid",
                "in_payment": "posted, paid",
                "not_paid": "posted, not paid",
                "partial": "posted, partially paid",
            }.get(row["payment_state"], f"posted, {row['payment_state']}")

        def odoo_amount(raw):
            return Decimal(str(raw or 0)).quantize(cent)

        return group_totals(
            "invoices",
            ["sum of amount_total, all currencies", "sum of amount_residual, all currencies"],
            (
                (
                    (
                        source_state(src),
                        (amount(src.get("amount_total")), amount(src.get("amount_residual"))),
                    ),
                    None
                    if ood is None
                    else (
                        odoo_state(ood),
                        (odoo_amount(ood["amount_total"]), odoo_amount(ood["amount_residual"])),
                    ),
                )
                for _key, src, ood in self.paired_rows(
                    ["status", "amount_total", "amount_residual"],
                    ["state", "payment_state", "amount_total", "amount_residual"],
                )
            ),
        )

    def __init__(self, ctx):
        super().__init__(ctx)
        self.line_reader = _InvoiceLines(ctx)
        self._lines = {}
        self._accounts = None
        self._currencies = {}
        self._taxes = {}
        self._journal = None
        self._clearing = None
        self._documents = None

    def readers(self):
        return (self.line_reader,)

    def handled(self, name):
        return name in ("account_number", "currency", "status", "pdf_file", *_AMOUNTS)

    # ------------------------------------------------------------ which rows
    def rows(self):
        """The invoices, each with its staged lines: both streams come in key order and merge,
        so neither is held in memory."""
        groups = self._line_groups()
        pending = next(groups, None)
        for row in super().rows():
            while pending is not None and row.key is not None and pending[0] < row.key:
                pending = next(groups, None)
            if row.key is not None and row.key not in self._lines:
                # Resolution trails the stream by one key (rows are grouped by key before they are
                # resolved), and a sample resolves a few keys only: hold two keys' lines, not all.
                while len(self._lines) > 1:
                    self._lines.pop(next(iter(self._lines)))
                self._lines[row.key] = pending[1] if pending is not None and pending[0] == row.key else []
            yield row

    def _line_groups(self):
        """Yield (invoice number, [line values]) from the staged invoice lines, in invoice number order."""
        if not self.line_reader.has_rows():
            return
        current, group = None, []
        for line in self.line_reader.rows():
            number = line.values.get("invoice_number")
            if group and number != current:
                yield current, group
                group = []
            current = number
            group.append(line.values)
        if group:
            yield current, group

    def invoice_lines(self, key):
        """The staged lines of invoice ``key`` (read alone for a quarantined row retried)."""
        if key in self._lines:
            return self._lines.pop(key)
        return self.line_reader.lines_of({key}).get(key, [])

    # ---------------------------------------------------- company set-up
    def journal(self):
        """The company's *Legacy Invoices* sale journal, created on first use."""
        if self._journal is None:
            company = self.ctx.company
            Journal = self.env["account.journal"].with_company(company)
            journal = Journal.search(
                [*Journal._check_company_domain(company), ("code", "=", LEGACY_JOURNAL_CODE)], limit=1
            )
            if not journal:
                journal = Journal.create(
                    {
                        "name": self.env._("Legacy Invoices"),
                        "code": LEGACY_JOURNAL_CODE,
                        "type": "sale",
                        "company_id": company.id,
                        "default_account_id": self._income_account().id,
                        "show_on_dashboard": False,
                        # No inbound e-mail alias: nothing is ever billed into this journal again.
                        "alias_name": False,
                    }
                )
            self._journal = journal
        return self._journal

    def _income_account(self):
        company = self.ctx.company
        Journal = self.env["account.journal"].with_company(company)
        sale = Journal.search(
            [
                *Journal._check_company_domain(company),
                ("type", "=", "sale"),
                ("default_account_id", "!=", False),
            ],
            limit=1,
        )
        if sale:
            return sale.default_account_id
        Account = self.env["account.account"].with_company(company)
        account = Account.search(
            [*Account._check_company_domain(company), ("account_type", "=", "income")], limit=1
        )
        if not account:
            raise UserError(
                self.env._(
                    "%(company)s has no income account: load a chart of accounts.", company=company.name
                )
            )
        return account

    def clearing_account(self):
        """*Legacy invoices migration clearing* of the company's root (branches share its chart)."""
        if self._clearing is None:
            root = self.ctx.company.root_id
            name = f"legacy_invoices_clearing_account_{root.id}"
            account = self.env.ref(f"{XMLID_MODULE}.{name}", raise_if_not_found=False)
            if not account:
                Account = self.env["account.account"].with_company(root)
                account = Account.create(
                    {
                        "name": self.env._("Legacy invoices migration clearing"),
                        "code": Account._search_new_account_code(CLEARING_START_CODE, cache=set()),
                        "account_type": "asset_current",
                        "reconcile": False,
                        "company_ids": [root.id],
                    }
                )
                self.env["ir.model.data"].create(
                    {
                        "module": XMLID_MODULE,
                        "name": name,
                        "model": "account.account",
                        "res_id": account.id,
                        "noupdate": True,
                    }
                )
            self._clearing = account
        return self._clearing

    # ---------------------------------------------------------- resolution
    def accounts(self):
        """{account number: partner id} of the migrated billing accounts of the company."""
        if self._accounts is None:
            self.env.cr.execute(
                SQL(
                    """SELECT source_key, res_id FROM bss_import_link
                        WHERE company_id = %s AND object = 'billing_accounts'""",
                    self.ctx.company.id,
                )
            )
            self._accounts = dict(self.env.cr.fetchall())
        return self._accounts

    def currency(self, code):
        code = (code or "").strip().upper()
        if code not in self._currencies:
            currency = self.env["res.currency"].search([("name", "=", code)], limit=1)
            self._currencies[code] = currency or None
        return self._currencies[code]

    def tax(self, rate):
        """The company's percent sale tax of ``rate`` (Decimal), tax excluded from the price.

        None exists: *Legacy sales tax <rate> %* is created from the company's
        default sale tax (logged on the run). None when there is nothing to copy.
        """
        if rate not in self._taxes:
            company = self.ctx.company
            Tax = self.env["account.tax"].with_company(company)
            # The migration's context reads archived records too: an archived tax is not the company's.
            domain = [
                *Tax._check_company_domain(company),
                ("active", "=", True),
                ("type_tax_use", "=", "sale"),
                ("amount_type", "=", "percent"),
            ]
            taxes = Tax.search([*domain, ("amount", "=", float(rate))], order="sequence, id")
            tax = taxes.filtered(lambda t: not t.price_include)[:1]
            if not tax:
                template = Tax.browse(company.account_sale_tax_id.id).filtered(
                    lambda t: t.active and t.type_tax_use == "sale" and t.amount_type == "percent"
                ) or Tax.search(domain, order="sequence, id", limit=1)
                if template:
                    name = LEGACY_TAX_NAME % f"{rate.normalize():f}"
                    tax = template.copy(
                        {
                            "name": name,
                            "amount": float(rate),
                            "price_include_override": "tax_excluded",
                            "description": name,
                            "invoice_label": name,
                        }
                    )
                    self.ctx.run._message_log(
                        body=self.env._(
                            "Invoices: the company had no sale tax of %(rate)s %%; created %(tax)s "
                            "(a copy of %(template)s, same tax accounts) for the legacy invoices.",
                            rate=f"{rate.normalize():f}",
                            tax=name,
                            template=template.name,
                        )
                    )
            self._taxes[rate] = tax or None
        return self._taxes[rate]

    def document(self, row, row_values):
        """(attachment id or None, reasons) of the invoice's ``pdf_file`` among the export's documents."""
        path = (row_values.get("pdf_file") or "").strip().replace("\\", "/")
        if not path:
            return None, []
        if self._documents is None:
            self._documents = documents.index(self.ctx.source)
        where = self.where(row)
        attachment = self._documents.get(path) or self._documents.get(path.lstrip("./"))
        if not attachment:
            return None, [f"pdf_file: the file {path!r} ({where}) is not in the export"]
        # sudo: the run's staged documents are server-managed attachments.
        head = self.env["ir.attachment"].sudo().browse(attachment).raw[:5]
        self.env["ir.attachment"].invalidate_model(["raw", "datas"])
        if head != b"%PDF-":
            return None, [f"pdf_file: the file {path!r} ({where}) is not a readable PDF"]
        return attachment, []

    def where(self, row):
        """The file and line of a source row, as reasons name them."""
        name = self.env["bss.import.file"].browse(row.file_id).name if row.file_id else self.spec.file_name
        return f"{name} line {row.line}" if row.line else name

    def decimal(self, lines, name, raw):
        line = lines.get(name)
        return values.parse_decimal(raw, line.number_format if line else values.DecimalFormat())

    def status(self, raw):
        """The canonical invoice status: the operator's value map, the known legacy codes, or as is."""
        line = self.lines.get("status")
        value_map = line._value_map() if line else {}
        return (
            value_map.get(raw)
            or legacy_codes.map_code(self.table, "status", raw or "")
            or (raw or "").strip().lower()
        )

    def complete(self, row, row_values, vals):
        reasons = []
        partner = self.accounts().get(row_values.get("account_number"))
        if not partner:
            reasons.append("its billing account is not migrated (not in the export, or quarantined)")
        currency = self.currency(row_values.get("currency"))
        if not currency:
            reasons.append(f"currency: unknown ISO 4217 code {row_values.get('currency')!r}")
        amounts = {}
        for name in _AMOUNTS:
            try:
                amounts[name] = self.decimal(self.lines, name, row_values.get(name))
            except ValueError as exc:
                reasons.append(f"{name}: {exc}")
        status = self.status(row_values.get("status"))
        if status not in schema.INVOICE_STATUSES:
            reasons.append(f"status: unknown invoice status {row_values.get('status')!r}")
        lines, line_reasons = self.resolve_lines(row.key)
        reasons += line_reasons
        pdf, pdf_reasons = self.document(row, row_values)
        reasons += pdf_reasons
        if reasons:
            return Rejected(row, reasons)
        total, residual = amounts["amount_total"], amounts["amount_residual"]
        if residual < 0 or residual > total:
            return Rejected(row, [f"amount_residual {residual} is not between 0 and amount_total {total}"])
        computed = self.computed_total(lines, currency)
        if currency.compare_amounts(computed, float(total)):
            return Rejected(row, [self.total_differs(row.key, currency, computed, total)])
        vals.update(
            {
                "ref": row.key,
                "partner_id": partner,
                "currency_id": currency.id,
                "amount_untaxed": float(amounts["amount_untaxed"]),
                "amount_tax": float(amounts["amount_tax"]),
                "amount_total": float(total),
            }
        )
        vals.setdefault("invoice_date_due", vals.get("invoice_date"))
        # Set-up happens here, before any write: a chunk's savepoint rolled back must not take it along.
        if not currency.active:
            currency.active = True
        journal = self.journal()
        if residual < total:
            self.clearing_account()
        if status == "cancelled":
            vals["state"] = "cancel"
        else:
            vals["state"] = "posted"
            vals["amount_residual"] = float(residual)
            locked = self.ctx.company._get_violated_lock_dates(vals["invoice_date"], True, journal)
            if locked:
                return Rejected(
                    row,
                    [
                        f"invoice date {vals['invoice_date']} is inside a lock date "
                        f"({self.ctx.company._format_lock_dates(locked)}): refused, never re-dated; "
                        "lift the lock date or post it by hand in an open period"
                    ],
                )
        flag = None
        if status == "paid" and residual:
            flag = f"status paid but {residual} still due: the amounts are kept"
        elif status in ("open", "overdue") and not residual:
            flag = f"status {status} but nothing due: settled as paid"
        pdf_name = pdf and posixpath.basename((row_values.get("pdf_file") or "").strip().replace("\\", "/"))
        return Resolved(row, {**vals, "_lines": lines, "_pdf": pdf and (pdf, pdf_name)}, flag)

    def computed_total(self, lines, currency):
        """The total Odoo will compute for ``lines`` (its own tax engine, the company's rounding method)."""
        Tax = self.env["account.tax"]
        company = self.ctx.company
        base_lines = [
            Tax._prepare_base_line_for_taxes_computation(
                None,
                price_unit=line["price_unit"],
                quantity=line["quantity"],
                tax_ids=Tax.browse(line["tax_ids"][0][2]),
                currency_id=currency,
            )
            for line in lines
        ]
        Tax._add_tax_details_in_base_lines(base_lines, company)
        Tax._round_base_lines_tax_details(base_lines, company)
        return Tax._get_tax_totals_summary(base_lines, currency, company)["total_amount_currency"]

    def total_differs(self, number, currency, computed, total):
        digits = currency.decimal_places
        return self.env._(
            "Invoice %(number)s: the total Odoo computes from its lines and taxes is %(odoo)s, "
            "the legacy total is %(legacy)s.",
            number=number,
            odoo=f"{computed:.{digits}f}",
            legacy=f"{total:.{digits}f}",
        )

    def resolve_lines(self, key):
        """(invoice line commands, reasons) of the staged lines of invoice ``key``."""
        rows = self.invoice_lines(key)
        if not rows:
            return [], ["the invoice has no lines in invoice_lines"]
        lines = self.line_reader.lines
        commands, reasons, seen = [], [], {}
        for values_ in rows:
            number = values_.get("line_no")
            if number in seen:
                # An exact copy of a line collapses; the same line number with other values is a conflict.
                if seen[number] != values_:
                    reasons.append(f"line {number} is twice in invoice_lines with different values")
                continue
            seen[number] = values_
            label = f"line {values_.get('line_no')}"
            try:
                quantity = self.decimal(lines, "quantity", values_.get("quantity"))
                price = self.decimal(lines, "unit_price", values_.get("unit_price"))
                rate = self.decimal(lines, "tax_rate", values_.get("tax_rate"))
                sequence = values.parse_int(values_.get("line_no")) or 0
            except ValueError as exc:
                reasons.append(f"{label}: {exc}")
                continue
            if quantity is None or price is None:
                reasons.append(f"{label}: missing quantity or unit price")
                continue
            taxes = []
            if rate:
                tax = self.tax(rate)
                if not tax:
                    reasons.append(
                        f"{label} (invoice_lines, invoice {key}): tax_rate {rate.normalize():f} %: the "
                        "company has no sale tax of that rate (percent, price excluded) and no sale tax "
                        "to copy: create one"
                    )
                    continue
                taxes = tax.ids
            commands.append(
                {
                    "sequence": sequence,
                    "name": values_.get("description") or "/",
                    "quantity": float(quantity),
                    "price_unit": float(price),
                    "tax_ids": [Command.set(taxes)],
                }
            )
        return commands, reasons

    # ---------------------------------------------------------------- writes
    def checksum(self, vals):
        return super().checksum({k: v for k, v in vals.items() if k not in _WRITE_ONLY})

    def reconcile(self, items):
        return super().reconcile(
            [
                Resolved(it.row, {k: v for k, v in it.vals.items() if k not in _WRITE_ONLY}, it.flag)
                for it in items
            ]
        )

    def sample_source(self, item):
        """The header values, the lines as text and the PDF's file name (what an operator compares)."""
        vals = {k: v for k, v in item.vals.items() if k not in _WRITE_ONLY}
        vals["invoice_line_ids"] = _lines_text(
            (ln["sequence"], ln["name"], ln["quantity"], ln["price_unit"], sorted(ln["tax_ids"][0][2]))
            for ln in item.vals["_lines"]
        )
        vals["attachment"] = item.vals["_pdf"] and item.vals["_pdf"][1]
        return vals

    def sample_odoo(self, record, vals):
        odoo = {f: record[f] for f in vals if f not in ("invoice_line_ids", "attachment")}
        odoo["invoice_line_ids"] = _lines_text(
            (ln.sequence, ln.name, ln.quantity, ln.price_unit, sorted(ln.tax_ids.ids))
            for ln in record.invoice_line_ids.sorted(lambda ln: (ln.sequence, ln.id))
        )
        # sudo: the sample lists the names of the invoice's attachments only.
        names = (
            self.env["ir.attachment"]
            .sudo()
            .search([("res_model", "=", self.model), ("res_id", "=", record.id)], order="name")
            .mapped("name")
        )
        odoo["attachment"] = ", ".join(names) or False
        return odoo

    def write_chunk(self, items, counts):
        """Create, post and settle each new invoice; a migrated invoice changed in the export is refused."""
        links = self.ctx.links(self.object, [it.row.key for it in items])
        entries = []
        for item in items:
            checksum = self.checksum(item.vals)
            link = links.get(item.row.key)
            if item.flag:
                counts.flagged += 1
            if link:
                if link.checksum != checksum:
                    raise UserError(
                        self.env._(
                            "Invoice %(number)s is already migrated and posted (%(move)s); the export "
                            "changed it: correct it in Odoo with a credit note.",
                            number=item.row.key,
                            move=self.env[self.model].browse(link.res_id).name,
                        )
                    )
                counts.unchanged += 1
                continue
            move = self.create_invoice(item)
            entries.append((item.row.key, move.id, checksum, item.flag))
        if entries:
            self.ctx.create_links(self.object, self.model, entries)
            counts.created += len(entries)

    def create_invoice(self, item):
        vals = item.vals
        currency = self.env["res.currency"].browse(vals["currency_id"])
        move = self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "journal_id": self.journal().id,
                "company_id": self.ctx.company.id,
                "partner_id": vals["partner_id"],
                "ref": vals["ref"],
                "payment_reference": vals["ref"],
                "invoice_date": vals["invoice_date"],
                "date": vals["invoice_date"],
                "invoice_date_due": vals["invoice_date_due"],
                "invoice_payment_term_id": False,
                "invoice_user_id": False,
                "currency_id": currency.id,
                "invoice_line_ids": [Command.create(line) for line in vals["_lines"]],
                **{k: v for k, v in vals.items() if k.startswith("x_")},
            }
        )
        total = Decimal(str(vals["amount_total"]))
        if currency.compare_amounts(move.amount_total, float(total)):
            # Resolution compared the same engine's total: a guard, the chunk is written again row by row.
            raise UserError(self.total_differs(vals["ref"], currency, move.amount_total, total))
        if vals["state"] == "cancel":
            move.button_cancel()
            return move
        self.post(move)
        paid = float(total - Decimal(str(vals["amount_residual"])))
        if not currency.is_zero(paid):
            self.settle(move, paid)
        if currency.compare_amounts(move.amount_residual, vals["amount_residual"]):
            raise UserError(
                self.env._(
                    "Invoice %(number)s: residual %(odoo)s after settlement, legacy %(legacy)s.",
                    number=vals["ref"],
                    odoo=move.amount_residual,
                    legacy=vals["amount_residual"],
                )
            )
        if vals.get("_pdf"):
            self.attach(move, *vals["_pdf"])
        # Posting subscribes the customer to the invoice: the migration notifies and subscribes no one.
        self.env["mail.followers"].search(
            [("res_model", "=", "account.move"), ("res_id", "in", move.ids)]
        ).unlink()
        return move

    def attach(self, move, attachment, name):
        """A copy of the staged PDF on ``move`` under its original file name (same filestore file)."""
        # sudo: the run's staged documents are server-managed; the copy belongs to the invoice.
        self.env["ir.attachment"].sudo().browse(attachment).copy(
            {"name": name, "res_model": self.model, "res_id": move.id, "description": False}
        )
        self.env["ir.attachment"].invalidate_model(["raw", "datas"])

    def post(self, move):
        """Post ``move`` on its own date (lock dates were checked before it was created) or refuse."""
        date = move.date
        move._post(soft=False)
        if move.state != "posted" or move.date != date:
            raise UserError(self.env._("%s could not be posted on its own date.", move.display_name))

    def settle(self, invoice, paid):
        """Settle ``paid`` (invoice currency) of ``invoice`` against the clearing account, reconciled."""
        receivable = invoice.line_ids.filtered(lambda ln: ln.account_id.account_type == "asset_receivable")
        currency = invoice.currency_id
        if currency.compare_amounts(paid, invoice.amount_total) == 0:
            # Fully paid: the receivable's own company amount, so no exchange difference is left.
            balance = sum(receivable.mapped("balance"))
        else:
            balance = currency._convert(paid, invoice.company_currency_id, invoice.company_id, invoice.date)
        partner = invoice.commercial_partner_id.id
        common = {"partner_id": partner, "currency_id": currency.id}
        entry = self.env["account.move"].create(
            {
                "move_type": "entry",
                "journal_id": invoice.journal_id.id,
                "company_id": invoice.company_id.id,
                "date": invoice.date,
                "ref": self.env._("%s: paid before the migration", invoice.ref),
                "currency_id": currency.id,
                "line_ids": [
                    Command.create(
                        {
                            **common,
                            "name": self.env._("Legacy settlement of %s", invoice.ref),
                            "account_id": self.clearing_account().id,
                            "amount_currency": paid,
                            "balance": balance,
                        }
                    ),
                    Command.create(
                        {
                            **common,
                            "name": self.env._("Legacy settlement of %s", invoice.ref),
                            "account_id": receivable[0].account_id.id,
                            "amount_currency": -paid,
                            "balance": -balance,
                        }
                    ),
                ],
            }
        )
        self.post(entry)
        (
            receivable | entry.line_ids.filtered(lambda ln: ln.account_id == receivable[0].account_id)
        ).reconcile()
        return entry


def _lines_text(lines):
    """Invoice lines as one comparable text: sequence, label, quantity, unit price and tax ids."""
    return ";".join(
        f"{seq}|{name}|{round(qty, 6):g}|{round(price, 6):g}|{','.join(map(str, taxes))}"
        for seq, name, qty, price, taxes in lines
    )
