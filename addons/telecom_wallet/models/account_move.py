import re

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

GROUP_VIEWER = "telecom_wallet.telecom_wallet_group_viewer"
# The fields of a single operation's entry and of its items that _telecom_write_entry sets itself;
# any other stored field is the template's, or (the entry's) computed by the ORM when it depends
# on the partner.
WRITTEN_MOVE_FIELDS = (
    "id", "name", "sequence_prefix", "sequence_number", "inalterable_hash", "state", "posted_before",
    "ref", "date", "partner_id", "invoice_date_due", "checked", "amount_total", "amount_total_signed",
    "amount_total_in_currency_signed", "payment_state", "access_token", "message_main_attachment_id",
    "is_manually_modified", "create_uid", "create_date", "write_uid", "write_date",
)  # fmt: skip
WRITTEN_LINE_FIELDS = (
    "id", "move_id", "move_name", "parent_state", "ref", "date", "name", "partner_id", "telecom_wallet_id",
    "amount_currency", "balance", "debit", "credit", "amount_residual", "amount_residual_currency",
    "reconciled", "full_reconcile_id", "matching_number", "price_subtotal", "price_total",
    "create_uid", "create_date", "write_uid", "write_date",
)  # fmt: skip


class _NoWrittenEntry(Exception):
    """The entry being written in SQL must be left to the ORM (see _telecom_write_entry):
    raised inside a savepoint, which rolls back what was written."""


class AccountMove(models.Model):
    _inherit = "account.move"

    # Wallet rights only: an accountant's read() of an entry must not touch the
    # operations (see _telecom_wallet_entries for the checks that need them).
    telecom_wallet_operation_ids = fields.One2many(
        "telecom.wallet.operation",
        "move_id",
        string="Wallet Operations",
        readonly=True,
        groups=GROUP_VIEWER,
    )

    def _telecom_wallet_entries(self):
        """The wallet entries among these moves, in the caller's environment.

        sudo(): these checks guard Odoo's own flows (reset to draft, delete,
        line edits) for every accountant; whether an entry belongs to a wallet
        must not depend on the caller's wallet rights, or accountants without
        them could not touch any entry at all.
        """
        moves = self.sudo()
        return moves.filtered(
            lambda move: move.telecom_wallet_operation_ids or move.line_ids.telecom_wallet_id
        ).with_env(self.env)

    def _telecom_is_wallet_entry(self):
        return bool(self._telecom_wallet_entries())

    def _telecom_raise_use_wallet_reverse(self, action):
        """Refuse an Odoo correction of a wallet entry, naming the one way."""
        raise UserError(
            _(
                "%(entries)s: wallet entries cannot be %(action)s. A wallet's balance changes only "
                "through its operations: open the wallet operation (Prepaid Wallets → Operations, or the "
                "wallet's Operations tab) and use its Reverse action, then post the correct operation.",
                entries=", ".join(self.mapped("display_name")),
                action=action,
            )
        )

    def _reverse_moves(self, default_values_list=None, cancel=False):
        # Reverse Entry, credit notes and Odoo's reversal wizard all end here.
        # The wallet's own reversal builds its entry itself (_telecom_reversal_vals),
        # so this path is closed to wallet entries for everybody.
        wallet_entries = self._telecom_wallet_entries()
        if wallet_entries:
            wallet_entries._telecom_raise_use_wallet_reverse(
                _("reversed with Reverse Entry or a credit note")
            )
        return super()._reverse_moves(default_values_list=default_values_list, cancel=cancel)

    def action_reverse(self):
        wallet_entries = self._telecom_wallet_entries()
        if wallet_entries:
            wallet_entries._telecom_raise_use_wallet_reverse(
                _("reversed with Reverse Entry or a credit note")
            )
        return super().action_reverse()

    def copy_data(self, default=None):
        wallet_entries = self._telecom_wallet_entries()
        if wallet_entries:
            wallet_entries._telecom_raise_use_wallet_reverse(_("duplicated"))
        return super().copy_data(default=default)

    def _telecom_reversal_header(self, date, ref, partner):
        """The values of a reversal of this wallet entry but its lines."""
        return {
            "move_type": "entry",
            "journal_id": self.journal_id.id,
            "company_id": self.company_id.id,
            "currency_id": self.currency_id.id,
            "date": date,
            "ref": ref,
            "partner_id": partner.id,
        }

    def _telecom_reversal_vals(self, date, ref):
        """Values of the exact opposite of this wallet entry, for the wallet's
        own reversal (telecom.wallet.operation.reverse), which runs in the
        wallet API scope; Odoo's _reverse_moves is refused on wallet entries."""
        self.ensure_one()
        return {
            **self._telecom_reversal_header(date, ref, self.partner_id),
            "reversed_entry_id": self.id,
            "line_ids": [
                Command.create(
                    {
                        "name": line.name,
                        "account_id": line.account_id.id,
                        "partner_id": line.partner_id.id,
                        "telecom_wallet_id": line.telecom_wallet_id.id,
                        "currency_id": line.currency_id.id,
                        "amount_currency": -line.amount_currency,
                        "balance": -line.balance,
                    }
                )
                for line in self.line_ids
            ],
        }

    @api.model
    def _telecom_create_bulk_entry(self, header, items, contra_lines):
        """Create a draft wallet entry with many wallet items, fast.

        The ORM creates the entry with its contra lines and its first wallet
        item; every other wallet item is a copy of that item's row written in
        one SQL statement, with its own wallet, subscriber, label and amounts:
        the wallet items of one entry share their account, currency, journal,
        date and every other stored value (the equivalence with items created
        by the ORM is tested column by column). Then the entry's own computed
        amounts are recomputed from all its items. Posting the entry (_post)
        checks that it balances and chains its hash over all its items.

        Only the wallet API calls this, inside _telecom_api_scope.

        :param header: account.move values without line_ids
        :param items: dicts with telecom_wallet_id, partner_id, name,
            account_id, currency_id, amount_currency, balance
        :param contra_lines: account.move.line values of the other lines
        :return: (the draft move, the ids of the wallet items in the order of
            ``items``)
        """
        first, rest = items[0], items[1:]
        move = self.with_context(check_move_validity=False).create(
            {**header, "line_ids": [Command.create(first)] + [Command.create(vals) for vals in contra_lines]}
        )
        template = move.line_ids.filtered("telecom_wallet_id")
        template.ensure_one()
        self.env.flush_all()
        if not rest:
            return move, template.ids
        cr = self.env.cr
        cr.execute(
            SQL(
                "SELECT nextval(pg_get_serial_sequence('account_move_line', 'id'))"
                " FROM generate_series(1, %s)",
                len(rest),
            )
        )
        ids = [row[0] for row in cr.fetchall()]
        cr.execute(
            SQL(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND table_name = 'account_move_line'"
                " ORDER BY ordinal_position"
            )
        )
        columns = [row[0] for row in cr.fetchall()]
        own = {
            "id": SQL("v.id"),
            "telecom_wallet_id": SQL("v.wallet_id"),
            "partner_id": SQL("v.partner_id"),
            "name": SQL("v.name"),
            "amount_currency": SQL("v.amount_currency"),
            "balance": SQL("v.balance"),
            "debit": SQL("GREATEST(v.balance, 0)"),
            "credit": SQL("GREATEST(-v.balance, 0)"),
            # Residuals exist on reconcilable accounts only (the wallet
            # account is one): the template says which.
            "amount_residual": SQL("CASE WHEN t.amount_residual <> 0 THEN v.balance ELSE 0 END"),
            "amount_residual_currency": SQL(
                "CASE WHEN t.amount_residual_currency <> 0 THEN v.amount_currency ELSE 0 END"
            ),
            # An entry's item (quantity 1, no price, no tax) totals its amount.
            "price_subtotal": SQL("v.amount_currency"),
            "price_total": SQL("v.amount_currency"),
        }
        cr.execute(
            SQL(
                "INSERT INTO account_move_line (%s) SELECT %s FROM account_move_line t,"
                " unnest(%s::int[], %s::int[], %s::int[], %s::varchar[], %s::numeric[], %s::numeric[])"
                " AS v(id, wallet_id, partner_id, name, amount_currency, balance) WHERE t.id = %s",
                SQL(", ").join(SQL.identifier(column) for column in columns),
                SQL(", ").join(own.get(column, SQL("t.%s", SQL.identifier(column))) for column in columns),
                ids,
                [item["telecom_wallet_id"] for item in rest],
                [item["partner_id"] for item in rest],
                [item["name"] for item in rest],
                [item["amount_currency"] for item in rest],
                [item["balance"] for item in rest],
                template.id,
            )
        )
        # The entry's own totals, residual and payment state depend on its
        # items; the items' stored values are final (the copies of the
        # template's).
        move.invalidate_recordset(["line_ids"])
        for field in move._fields.values():
            if field.store and field.compute:
                depends = field.get_depends(move)[0]
                if any(path == "line_ids" or path.startswith("line_ids.") for path in depends):
                    self.env.add_to_compute(field, move)
        # Not flushed here: posting the entry recomputes most of them again.
        return move, template.ids + ids

    @api.model
    def _telecom_entry_template(self, company, operation_type, vals):
        """The entry of the last single operation of ``operation_type`` in ``company`` when it has
        the shape of the entry ``vals`` describes (same journal, currency and accounts, one wallet
        item then one contra line; posted, hashed, not reversed): the row that
        _telecom_write_entry copies. Empty when there is none (a company's first operation of a
        kind, a changed configuration): the ORM then creates the entry, which becomes the next
        template."""
        lines = [command[2] for command in vals["line_ids"]]
        if len(lines) != 2 or not lines[0].get("telecom_wallet_id") or lines[1].get("telecom_wallet_id"):
            return self.browse()
        cr = self.env.cr
        self.env.flush_all()
        cr.execute(
            SQL(
                "SELECT move_id FROM telecom_wallet_operation WHERE company_id = %s AND operation_type = %s"
                " AND batch_id IS NULL AND move_id IS NOT NULL ORDER BY id DESC LIMIT 1",
                company.id,
                operation_type,
            )
        )
        row = cr.fetchone()
        if not row:
            return self.browse()
        cr.execute(
            SQL(
                "SELECT l.account_id, l.currency_id, l.telecom_wallet_id IS NOT NULL, l.display_type"
                " FROM account_move m JOIN account_move_line l ON l.move_id = m.id"
                " WHERE m.id = %s AND m.state = 'posted' AND m.move_type = 'entry' AND m.journal_id = %s"
                " AND m.currency_id = %s AND m.reversed_entry_id IS NULL AND m.inalterable_hash IS NOT NULL"
                " ORDER BY l.id",
                row[0],
                vals["journal_id"],
                vals["currency_id"],
            )
        )
        shape = [
            (line["account_id"], line["currency_id"], bool(line.get("telecom_wallet_id"))) for line in lines
        ]
        found = cr.fetchall()
        if [(account, currency, wallet) for account, currency, wallet, _kind in found] != shape:
            return self.browse()
        if any(kind != "product" for *_rest, kind in found):
            return self.browse()
        return self.browse(row[0])

    @api.model
    def _telecom_write_entry(self, template, vals):
        """Write the rows of the two-line entry ``vals`` (a single wallet operation's: one wallet
        item, one contra line; see telecom.wallet._telecom_move_vals) in SQL, as a copy of
        ``template`` (_telecom_entry_template), without Odoo's create() and _post(); then
        _telecom_number_written_entry numbers and hashes it, with the posting lock held.

        Those two are most of a single operation's time (building the draft through the
        accounting ORM, then posting it). What they produce is written here as they would: the
        values of this operation (partner, date, reference, amounts, residuals, today's due
        date), the fields that depend on the partner recomputed by the ORM, the followers and
        the creation and "secured" notes of the entry. Every other stored column is the
        template's: an entry of the same journal, currency and accounts. An Odoo test compares
        entries written both ways column by column.

        Nothing here needs the posting lock: the rows are this transaction's until it commits,
        so a single operation in READ COMMITTED writes them before it waits (as the ORM's draft,
        see telecom.wallet._telecom_run_operation).

        Returns the entry, a draft until it is numbered, or an empty recordset (nothing
        written) when the ORM must post this one: the configuration (analytic distribution, a
        receivable or payable account, a foreign currency, an archived journal, currency or
        account, a journal not hash-protected, an item field another module computes from the
        partner) asks for something only Odoo's create() and _post() do.
        """
        env = self.env
        if not template:
            return self.browse()
        company = env["res.company"].browse(vals["company_id"])
        journal = env["account.journal"].browse(vals["journal_id"])
        currency = env["res.currency"].browse(vals["currency_id"])
        lines = [command[2] for command in vals["line_ids"]]
        accounts = env["account.account"].browse([line["account_id"] for line in lines])
        if not (env.su or env.user.has_group("account.group_account_invoice")):
            return self.browse()  # Odoo's _post refuses it, with its message
        self.check_access("create")
        env["account.move.line"].check_access("create")
        if (
            currency != company.currency_id
            or not currency.active
            or not journal.active
            or not journal.restrict_mode_hash_table
            or any(account.deprecated for account in accounts)
            or any(account.account_type in ("asset_receivable", "liability_payable") for account in accounts)
        ):
            return self.browse()
        cr = env.cr
        # Everything pending first: the queries below read the database.
        env.flush_all()
        cr.execute(
            SQL(
                "SELECT 1 FROM account_analytic_distribution_model"
                " WHERE company_id = %s OR company_id IS NULL LIMIT 1",
                company.id,
            )
        )
        if cr.fetchone():
            return self.browse()
        if self._telecom_partner_fields(env["account.move.line"], WRITTEN_LINE_FIELDS):
            # An item field that depends on the partner (another module's): only the ORM
            # computes it, item by item.
            return self.browse()
        partner = env["res.partner"].browse(vals["partner_id"])
        now, uid = cr.now(), env.uid
        debit_total = sum(line["balance"] for line in lines if line["balance"] > 0)
        reconcilable = {
            account.id: account.reconcile or account.account_type in ("asset_cash", "liability_credit_card")
            for account in accounts
        }
        # What depends on the partner (fiscal position, payment method, commercial partner,
        # display name, and whatever other modules add), as the ORM computes it for a new entry.
        header = {
            key: vals[key]
            for key in ("move_type", "journal_id", "company_id", "currency_id", "date", "ref", "partner_id")
        }
        by_partner = self._telecom_partner_values(self.new(header), WRITTEN_MOVE_FIELDS)
        if by_partner is None:
            return self.browse()
        cr.execute(SQL("SELECT nextval(pg_get_serial_sequence('account_move', 'id'))"))
        move_id = cr.fetchone()[0]
        self._telecom_copy_rows(
            "account_move",
            template.ids,
            {
                "id": [move_id],
                # A draft until _telecom_number_written_entry posts it (numbered and
                # hashed): no balance counts it before.
                "name": ["/"],
                "sequence_prefix": [None],
                "sequence_number": [None],
                "inalterable_hash": [None],
                "state": ["draft"],
                "posted_before": [True],
                "ref": [vals["ref"]],
                "date": [vals["date"]],
                "partner_id": [partner.id],
                "invoice_date_due": [fields.Date.context_today(self)],
                "checked": [journal.autocheck_on_post],
                "amount_total": [debit_total],
                "amount_total_signed": [debit_total],
                "amount_total_in_currency_signed": [debit_total],
                "payment_state": ["not_paid"],
                "access_token": [None],
                "message_main_attachment_id": [None],
                # A new entry: nobody changed it by hand (what the template may say).
                "is_manually_modified": [False],
                **{column: [value] for column, value in by_partner.items()},
                **dict.fromkeys(("create_uid", "write_uid"), [uid]),
                **dict.fromkeys(("create_date", "write_date"), [now]),
            },
        )
        move = self.browse(move_id)
        # No tracking of a new record's values (as create()).
        move._track_discard()
        cr.execute(
            SQL(
                "SELECT nextval(pg_get_serial_sequence('account_move_line', 'id'))"
                " FROM generate_series(1, %s)",
                len(lines),
            )
        )
        line_ids = sorted(row[0] for row in cr.fetchall())
        cr.execute(SQL("SELECT id FROM account_move_line WHERE move_id = %s ORDER BY id", template.id))
        template_lines = [row[0] for row in cr.fetchall()]
        self._telecom_copy_rows(
            "account_move_line",
            template_lines,
            {
                "id": line_ids,
                "move_id": [move_id] * len(lines),
                "move_name": ["/"] * len(lines),
                "parent_state": ["draft"] * len(lines),
                "ref": [vals["ref"]] * len(lines),
                "date": [vals["date"]] * len(lines),
                "name": [line["name"] for line in lines],
                "partner_id": [line["partner_id"] for line in lines],
                "telecom_wallet_id": [line.get("telecom_wallet_id") for line in lines],
                "amount_currency": [line["amount_currency"] for line in lines],
                "balance": [line["balance"] for line in lines],
                "debit": [max(line["balance"], 0.0) for line in lines],
                "credit": [max(-line["balance"], 0.0) for line in lines],
                "amount_residual": [
                    line["balance"] if reconcilable[line["account_id"]] else 0.0 for line in lines
                ],
                "amount_residual_currency": [
                    line["amount_currency"] if reconcilable[line["account_id"]] else 0.0 for line in lines
                ],
                "reconciled": [False] * len(lines),
                "full_reconcile_id": [None] * len(lines),
                "matching_number": [None] * len(lines),
                # An entry's item (quantity 1, no price, no tax) totals its amount.
                "price_subtotal": [line["amount_currency"] for line in lines],
                "price_total": [line["amount_currency"] for line in lines],
                **dict.fromkeys(("create_uid", "write_uid"), [uid] * len(lines)),
                **dict.fromkeys(("create_date", "write_date"), [now] * len(lines)),
            },
        )
        items = env["account.move.line"].browse(line_ids)
        self._telecom_write_entry_notes(move, partner)
        env.flush_all()
        move.invalidate_recordset()
        items.invalidate_recordset()
        return move

    @api.model
    def _telecom_partner_fields(self, model, written):
        """The stored computed fields of ``model`` (account.move or account.move.line) that depend
        on the partner, but those in ``written`` and the items' analytic distribution:
        _telecom_write_entry is only used where no distribution model exists, and the ORM then
        leaves it empty."""
        # Which fields those are changes only with the modules, which load a new registry.
        known = self.pool.__dict__.setdefault("_telecom_partner_fields", {})
        if (model._name, written) not in known:
            known[(model._name, written)] = [
                field
                for field in model._fields.values()
                if field.store
                and field.compute
                and field.name not in written
                and field.name != "analytic_distribution"
                and any(
                    path == "partner_id" or path.startswith("partner_id.")
                    for path in field.get_depends(model)[0]
                )
            ]
        return known[(model._name, written)]

    @api.model
    def _telecom_partner_values(self, record, written):
        """{column: value} of the fields of ``record`` (a new, in-memory entry) that depend on
        its partner (_telecom_partner_fields), as the ORM computes them; None when one of them
        cannot be written as a plain column (translated or company-dependent values)."""
        values = {}
        for field in self._telecom_partner_fields(record, written):
            value = field.convert_to_column_insert(field.convert_to_write(record[field.name], record), record)
            if (
                field.translate
                or field.company_dependent
                or not isinstance(value, (str, int, float, type(None)))
            ):
                return None
            values[field.name] = value
        return values

    @api.model
    def _telecom_entry_numbering(self, move):
        """The format of the next number of the sequence of ``move`` (an entry written by
        _telecom_write_entry) and its values, by Odoo's own _get_next_sequence_format: which
        sequence (prefix, period) the entry takes its number from. Needs no lock: the number
        itself is the next free one once the posting lock is held
        (_telecom_number_written_entry)."""
        format_string, format_values = move._get_next_sequence_format()
        return format_string, dict(format_values)

    @api.model
    def _telecom_sequence_split(self, move, name):
        """(prefix, number) of the entry name ``name``, as Odoo's _compute_split_sequence."""
        matching = re.match(
            move._make_regex_non_capturing(move._sequence_fixed_regex.replace(r"?P<seq>", "")), name
        )
        return name[: matching.start(1)], int(matching.group(1) or 0)

    @api.model
    def _telecom_number_written_entry(self, move, numbering=None):
        """Post the entry written by _telecom_write_entry with its number and its hash, as
        _post: the next number of its sequence (``numbering``, see _telecom_entry_numbering)
        taken by Odoo's own _locked_increment (under the journal's unique index on posted
        names), and the inalterability hash by Odoo's own _calculate_hashes, chained to the
        previous entry of the sequence. Needs the posting lock.

        Raises _NoWrittenEntry when the entry would not be the next link of its chain (the last
        entry of its sequence not hashed, as one posted before the journal was protected, which
        only Odoo's _post hashes): the caller rolls the entry back and lets the ORM post the
        operation.
        """
        env, cr = self.env, self.env.cr
        # Everything pending first (an entry posted earlier in this transaction).
        env.flush_all()
        format_string, format_values = numbering or self._telecom_entry_numbering(move)
        format_values = dict(format_values)
        prefix = self._telecom_sequence_split(move, format_string.format(**{**format_values, "seq": 0}))[0]
        cr.execute(
            SQL(
                # Posted first: the number is taken under the unique index on posted names.
                "UPDATE account_move SET state = 'posted' WHERE id = %s;"
                " UPDATE account_move_line SET parent_state = 'posted' WHERE move_id = %s;"
                # The last entry of the sequence, as it is now that no other wallet entry is posted.
                " SELECT sequence_number, inalterable_hash FROM account_move WHERE journal_id = %s"
                " AND sequence_prefix = %s AND name != '/' AND id != %s"
                " ORDER BY sequence_number DESC LIMIT 1",
                move.id,
                move.id,
                move.journal_id.id,
                prefix,
                move.id,
            )
        )
        last = cr.fetchone()
        if last and not last[1]:
            raise _NoWrittenEntry()
        format_values["seq"] = max(format_values["seq"], last[0] if last else 0)
        move.invalidate_recordset()
        # _locked_increment writes the number itself only when the transaction has not numbered
        # yet (its cache): written here in any case, with the sequence's split.
        name = move._locked_increment(format_string, format_values)
        prefix, number = self._telecom_sequence_split(move, name)
        if number != (last[0] if last else 0) + 1:
            raise _NoWrittenEntry()
        cr.execute(
            SQL(
                "UPDATE account_move SET name = %s, sequence_prefix = %s, sequence_number = %s WHERE id = %s;"
                " UPDATE account_move_line SET move_name = %s WHERE move_id = %s",
                name,
                prefix,
                number,
                move.id,
                name,
                move.id,
            )
        )
        move.invalidate_recordset()
        move.line_ids.invalidate_recordset(["move_name", "parent_state"])
        digest = move._calculate_hashes(last[1] if last else False)[move]
        cr.execute(SQL("UPDATE account_move SET inalterable_hash = %s WHERE id = %s", digest, move.id))
        move.invalidate_recordset()
        return move

    @api.model
    def _telecom_copy_rows(self, table, template_ids, values):
        """Insert one row of ``table`` per element of ``template_ids`` (the ids of rows to copy),
        its columns the template row's but those in ``values`` ({column: [value per row]})."""
        cr = self.env.cr
        # The columns of a table change only with the modules, which load a new registry.
        known = self.pool.__dict__.setdefault("_telecom_table_columns", {})
        if table not in known:
            cr.execute(
                SQL(
                    "SELECT column_name, data_type, udt_name FROM information_schema.columns"
                    " WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position",
                    table,
                )
            )
            known[table] = cr.fetchall()
        columns = known[table]
        own = tuple(column for column, _kind, _udt in columns if column in values)
        statements = self.pool.__dict__.setdefault("_telecom_copy_statements", {})
        code = statements.get((table, own))
        if code is None:
            types = {name: ("%s[]" % udt[1:]) if kind == "ARRAY" else udt for name, kind, udt in columns}
            # Composed once per registry: the names are this table's own columns and types
            # (information_schema), every value a query parameter.
            code = (  # noqa: S608
                'INSERT INTO "{table}" ({columns}) SELECT {select}'
                " FROM unnest(%s::int[]) WITH ORDINALITY AS k(template_id, n)"
                ' JOIN "{table}" t ON t.id = k.template_id'
                " JOIN (SELECT generate_series(1, %s) AS n, {unnest}) v ON v.n = k.n"
            ).format(
                table=table,
                columns=", ".join('"%s"' % column for column, _kind, _udt in columns),
                select=", ".join(
                    ('v."%s"' if column in values else 't."%s"') % column for column, _kind, _udt in columns
                ),
                unnest=", ".join('unnest(%%s::%s[]) AS "%s"' % (types[column], column) for column in own),
            )
            statements[(table, own)] = code
        cr.execute(SQL(code, list(template_ids), len(template_ids), *(values[column] for column in own)))

    @api.model
    def _telecom_write_entry_notes(self, move, partner):
        """What Odoo's create() and _post() add to a new posted entry's chatter: its creator
        (an active user) and its partner as followers, the creation note, the "secured" note."""
        env = self.env
        if not env.context.get("mail_create_nosubscribe") and env.user.active:
            env["mail.followers"]._insert_followers(
                move._name,
                move.ids,
                env.user.partner_id.ids,
                subtypes=None,
                customer_ids=[],
                check_existing=False,
            )
        if not env.context.get("mail_create_nolog"):
            move._message_log_batch(bodies={move.id: move._creation_message()})
        if partner not in move.sudo().message_partner_ids:
            move.message_subscribe(partner.ids)
        move._message_log_batch(bodies={move.id: env._("This journal entry has been secured.")})

    def _telecom_item_reversal_vals(self, item, contra_account, date, ref):
        """Values of the exact opposite of one wallet item of a batch entry
        (``item``) and of its share of the batch's contra line
        (``contra_account``): the reversal of one operation of a batch. It
        does not point at the batch entry (reversed_entry_id), which the other
        operations of the batch still make."""
        self.ensure_one()
        return {
            **self._telecom_reversal_header(date, ref, item.partner_id),
            "line_ids": [
                Command.create(
                    {
                        "name": ref,
                        "account_id": account.id,
                        "partner_id": item.partner_id.id,
                        "telecom_wallet_id": wallet.id,
                        "currency_id": item.currency_id.id,
                        "amount_currency": sign * item.amount_currency,
                        "balance": sign * item.balance,
                    }
                )
                for account, wallet, sign in (
                    (item.account_id, item.telecom_wallet_id, -1),
                    (contra_account, self.env["telecom.wallet"], 1),
                )
            ],
        }

    def _telecom_reversed_by(self):
        """The entries that already reverse this one, by any means: Odoo's
        reversal link, or a reconciliation of its items with a reversal."""
        self.ensure_one()
        # sudo(): the answer must not depend on which entries the caller sees.
        move = self.sudo()
        lines = move.line_ids
        matched = (lines.matched_debit_ids.debit_move_id | lines.matched_credit_ids.credit_move_id).move_id
        reversals = move.reversal_move_ids | matched.filtered(lambda other: other.reversed_entry_id == move)
        return reversals.filtered(lambda other: other.state != "cancel").with_env(self.env)

    def button_draft(self):
        # A posted wallet entry is part of a wallet balance: resetting it to
        # draft would silently change that balance.
        for move in self.filtered(lambda move: move.state == "posted")._telecom_wallet_entries():
            raise UserError(
                _("%s is a wallet entry: it cannot be reset to draft; reverse it instead.", move.name)
            )
        return super().button_draft()

    def button_cancel(self):
        for move in self.filtered(lambda move: move.state == "posted")._telecom_wallet_entries():
            raise UserError(_("%s is a wallet entry: it cannot be cancelled; reverse it instead.", move.name))
        return super().button_cancel()

    @api.ondelete(at_uninstall=False)
    def _unlink_except_telecom_wallet_entry(self):
        for move in self.filtered("posted_before")._telecom_wallet_entries():
            raise UserError(_("%s is a wallet entry: it cannot be deleted; reverse it instead.", move.name))
