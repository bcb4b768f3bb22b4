"""Roll back what the passes of a run wrote, in batches each committed with its own bookkeeping.

Two steps, each resumable and idempotent because a batch's bookkeeping is
written in the same transaction as its work:

1. **Restore** — the changes the passes recorded (``bss.import.change``), newest
   first: a changed field gets its previous value back, an archived vanished
   record is active again; the change is marked ``rolled_back``.
2. **Remove** — the records the passes created (``bss.import.link.created_run_id``),
   object by object in reverse dependency order: invoices and their settlement
   entries are reversed (never deleted), orders cancelled then deleted,
   contacts and products deleted (archived when something outside the run
   still refers to them), custom fields removed only when nothing holds a
   value in them nor shows them in a view. The link goes in the same
   transaction, and what was done is recorded as a change of kind
   ``deleted``, ``reversed``, ``archived`` or ``kept``.
"""

import json

import psycopg2

from odoo import fields
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

from ...lib import schema

#: Changes restored, or links removed, per committed batch.
BATCH = 500
#: Invoices reversed per committed batch (each is two or three posted entries).
INVOICE_BATCH = 50
#: What refuses a deletion: the record is archived (or kept) instead, with the reason.
_REFUSALS = (UserError, ValidationError, psycopg2.IntegrityError)


def restore_batch(ctx, pass_ids, restorers=None):
    """Restore the newest changes not rolled back yet of the passes ``pass_ids``; return how many.

    ``restorers`` {object: phase}: the phases that put a record's replaced values back all at once
    (their ``restore(record, {field: value})``: a number's status and subscriber are one invariant,
    and its legacy status is no transition a field-by-field write may take); the other objects'
    fields are written back one by one.
    """
    restorers = restorers or {}
    Change = ctx.env["bss.import.change"]
    changes = Change.search(
        [
            ("run_id", "in", list(pass_ids)),
            ("rolled_back", "=", False),
            "|",
            ("kind", "=", "changed"),
            "&",
            ("kind", "=", "vanished"),
            ("archived", "=", True),
        ],
        order="id desc",
        limit=BATCH,
    )
    grouped = {}
    for change in changes:
        record = ctx.env[change.res_model].browse(change.res_id).exists()
        field = record._fields.get(change.field_name) if record else None
        note = False
        if not record:
            note = "the record no longer exists"
        elif change.kind == "changed" and change.object in restorers:
            # Newest first: the oldest change of a field gives the value it had before the passes.
            values = grouped.setdefault((change.object, record), {})
            values[change.field_name] = json.loads(change.old_value or "false")
        elif field is None:
            note = f"the field {change.field_name} no longer exists"
        elif field.type == "one2many":
            # Order lines are compared as text: a confirmed order's lines are never rewritten.
            note = "lines are not restored: correct them in Odoo"
        else:
            record.write({change.field_name: _value(field, json.loads(change.old_value or "false"))})
        change.write({"rolled_back": True, "rollback_note": note})
    # In dependency order: a port goes back to an open state once its number is porting again.
    for (obj, record), values in sorted(grouped.items(), key=lambda item: schema.OBJECTS.index(item[0][0])):
        restorers[obj].restore(record, values)
    # The links' checksums are those of the values just taken back: forgotten, so that the next pass
    # compares the restored records field by field (the same later export applied again writes
    # its changes again instead of finding its own checksum).
    changed = changes.filtered(lambda c: c.kind == "changed")
    if changed:
        ctx.env.cr.execute(
            SQL(
                """UPDATE bss_import_link l SET checksum = NULL
                     FROM unnest(%s::varchar[], %s::varchar[]) AS c(object, source_key)
                    WHERE l.company_id = %s AND l.object = c.object AND l.source_key = c.source_key""",
                changed.mapped("object"),
                changed.mapped("source_key"),
                ctx.company.id,
            )
        )
    return len(changes)


def _value(field, value):
    if field.type == "many2many":
        return [fields.Command.set(value or [])]
    return value


def remove_batch(ctx, phase, pass_ids):
    """Remove a batch of the records the passes created for the phase's object (newest first), one
    model at a time (a phase may write several, its ``models``); return how many links it settled."""
    ctx.env.flush_all()
    for model in phase.models or (phase.model,):
        ctx.env.cr.execute(
            SQL(
                """SELECT id, source_key, res_id FROM bss_import_link
                    WHERE company_id = %s AND object = %s AND res_model = %s AND created_run_id = ANY(%s)
                 ORDER BY id DESC LIMIT %s""",
                ctx.company.id,
                phase.object,
                model,
                list(pass_ids),
                INVOICE_BATCH if phase.object == "invoices" else BATCH,
            )
        )
        rows = ctx.env.cr.fetchall()
        if rows:
            break
    else:
        return 0
    Model = ctx.env[model]
    records = Model.browse([res_id for _id, _key, res_id in rows]).exists()
    remover = _REMOVERS.get(phase.object, _remove_records)
    outcome = remover(ctx, records, pass_ids)
    entries = []
    for _id, key, res_id in rows:
        kind, note = outcome.get(res_id, ("deleted", "the record was already gone"))
        entries.append((key, res_id, kind, note))
    _log(ctx, phase, entries, model)
    ctx.env.cr.execute(SQL("DELETE FROM bss_import_link WHERE id = ANY(%s)", [r[0] for r in rows]))
    return len(rows)


def _log(ctx, phase, entries, model=None):
    ctx.env["bss.import.change"].create(
        [
            {
                "run_id": ctx.run.id,
                "object": phase.object,
                "sequence": schema.OBJECTS.index(phase.object),
                "kind": kind,
                "source_key": key,
                "res_model": model or phase.model,
                "res_id": res_id,
                "rollback_note": note or False,
            }
            for key, res_id, kind, note in entries
        ]
    )


def _remove_records(ctx, records, pass_ids=()):
    """Delete ``records``; one another record still refers to is archived (or kept) with the reason."""
    try:
        with ctx.env.cr.savepoint():
            ids = records.ids
            records.unlink()
        return dict.fromkeys(ids, ("deleted", False))
    except _REFUSALS:
        ctx.env.invalidate_all()
    outcome = {}
    for record in records:
        try:
            with ctx.env.cr.savepoint():
                record.unlink()
            outcome[record.id] = ("deleted", False)
        except _REFUSALS as exc:
            ctx.env.invalidate_all()
            reason = _reason(exc)
            if "active" in record._fields and record.active:
                record.write({"active": False})
                outcome[record.id] = ("archived", f"still referred to, archived: {reason}")
            else:
                outcome[record.id] = ("kept", f"still referred to: {reason}")
    return outcome


def _reason(exc):
    return (getattr(exc, "pgerror", None) or str(exc)).strip().splitlines()[0][:200]


def _remove_accounts(ctx, partners, pass_ids):
    """Delete the billing accounts; one whose contacts are still there (archived subscribers an
    invoice refers to, contacts added in Odoo) is archived with them kept under it."""
    parents = partners.filtered(lambda p: p.with_context(active_test=False).child_ids)
    outcome = {}
    for partner in parents:
        children = len(partner.with_context(active_test=False).child_ids)
        if partner.active:
            partner.write({"active": False})
        outcome[partner.id] = ("archived", f"{children} contact(s) still under it, archived")
    outcome.update(_remove_records(ctx, partners - parents, pass_ids))
    return outcome


def _remove_orders(ctx, orders, pass_ids):
    """Cancel the migrated orders (no mail: a plain write, as they were given their state), then
    delete them."""
    orders.filtered(lambda o: o.state != "cancel" or o.locked).write({"state": "cancel", "locked": False})
    return _remove_records(ctx, orders, pass_ids)


def _remove_invoices(ctx, moves, pass_ids):
    """Reverse the posted invoices and the entries that settled them (never deleted: the ledger
    keeps both sides); a cancelled invoice, never posted, is deleted."""
    outcome = {}
    posted = moves.filtered(lambda m: m.state == "posted")
    unposted = moves - posted
    if unposted:
        outcome.update(_remove_records(ctx, unposted.with_context(force_delete=True), pass_ids))
    if not posted:
        return outcome
    # The entries that settled each invoice before the cut-over, read before anything is unreconciled.
    settled_by = {}
    for move in posted:
        receivable = move.line_ids.filtered(lambda ln: ln.account_id.account_type == "asset_receivable")
        partials = receivable.matched_credit_ids | receivable.matched_debit_ids
        others = (partials.credit_move_id.move_id | partials.debit_move_id.move_id) - posted
        settled_by[move.id] = others.filtered(
            lambda m: m.state == "posted" and m.move_type == "entry" and not m.reversal_move_ids
        )
    settlements = ctx.env["account.move"].union(*settled_by.values())
    to_reverse = posted.filtered(lambda m: not m.reversal_move_ids) | settlements
    today = fields.Date.context_today(posted)
    reversals = to_reverse._reverse_moves(
        [
            {
                "date": today,
                "ref": ctx.env._("Rollback of run %(run)s: %(ref)s", run=ctx.run.name, ref=m.ref or m.name),
            }
            for m in to_reverse
        ],
        cancel=True,
    )
    by_origin = {rev.reversed_entry_id.id: rev for rev in reversals}
    for move in posted:
        reversal = by_origin.get(move.id) or move.reversal_move_ids[:1]
        note = f"reversed by {reversal.name}"
        for entry in settled_by[move.id]:
            note += f"; its settlement {entry.name} reversed by {by_origin[entry.id].name}"
        outcome[move.id] = ("reversed", note)
    return outcome


def _remove_custom_fields(ctx, fields_, pass_ids):
    """Remove the custom fields nothing holds a value in nor shows in a view; keep the others.

    The values held by records of the run that the rollback archived (a contact an invoice still
    refers to) are the run's own: they do not keep a field."""
    outcome = {}
    removable = ctx.env["ir.model.fields"]
    for field in fields_:
        used = _field_use(ctx, field, pass_ids)
        if used:
            outcome[field.id] = ("kept", used)
        else:
            removable |= field
            outcome[field.id] = ("deleted", False)
    if removable:
        removable.unlink()
    return outcome


def _field_use(ctx, field, pass_ids):
    """Why the custom field ``field`` is still in use (False when nothing uses it)."""
    if field.state != "manual":
        return "not a custom field"
    Model = ctx.env.get(field.model)
    if Model is None:
        return False
    column = Model._fields.get(field.name)
    if column is not None and column.store and column.column_type:
        ctx.env.cr.execute(
            SQL(
                """SELECT 1 FROM %s t
                    WHERE t.%s IS NOT NULL AND t.%s::text NOT IN ('', 'false', '0')
                      AND NOT EXISTS (SELECT 1 FROM bss_import_change c
                                       WHERE c.run_id = ANY(%s) AND c.kind = 'archived'
                                         AND c.res_model = %s AND c.res_id = t.id)
                    LIMIT 1""",
                SQL.identifier(Model._table),
                SQL.identifier(field.name),
                SQL.identifier(field.name),
                list(pass_ids),
                field.model,
            )
        )
        if ctx.env.cr.fetchone():
            return "records hold values in it"
    views = ctx.env["ir.ui.view"].search_count(
        [("model", "=", field.model), ("arch_db", "ilike", field.name)]
    )
    if views:
        return f"{views} view(s) show it"
    return False


_REMOVERS = {
    "billing_accounts": _remove_accounts,
    "invoices": _remove_invoices,
    "orders": _remove_orders,
    "custom_fields": _remove_custom_fields,
}
