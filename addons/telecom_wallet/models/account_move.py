from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

GROUP_VIEWER = "telecom_wallet.telecom_wallet_group_viewer"


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
