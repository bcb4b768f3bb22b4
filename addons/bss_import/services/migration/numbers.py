"""Numbers and their porting history: the number inventory of telecom_subscriber.

**Numbers** (``numbers`` → ``telecom.number``, one per MSISDN and company):

* the MSISDN is normalised and checked like the subscribers' (telecom_subscriber's
  identifier rules); an invalid one is quarantined;
* the legacy status (its value map, then :mod:`..lib.legacy_codes`: ``IN_USE``,
  ``FREE``, ``AGEING``, ``PORTED_OUT``...) is written as it is, porting and
  aging statuses included, through the number's legacy entry point
  (``telecom.number._legacy_create`` / ``_legacy_write``): no interactive
  transition, but every invariant of the model;
* a number held by a subscriber (assigned, porting out) is quarantined, the
  reason naming ``subscriber_id``, when its subscriber is empty, not migrated
  (not in the export, or quarantined), terminated or archived, or has another
  MSISDN; a number in another status with a subscriber is migrated without
  it, flagged;
* an aging number without ``aging_date`` is quarantined; a number not aging
  does not keep an aging date (flagged);
* the open assignment of a held number starts on ``assigned_date``, else on
  its subscriber's activation date (when the run mapped it to a date field of
  the contact), else on the migration date (flagged; that date is then not
  compared by the reconciliation, so that a later re-run stays unchanged).
  The start is compared by the reconciliation as ``assigned_date``.

**Ports** (``number_ports`` → ``telecom.number.port``): the number is the
migrated one of the same MSISDN (the numbers' link, else the number of the
normalised MSISDN in the company); a port whose number is not in Odoo is
quarantined. Ports keep their dates, operators, transaction id, state and
subscriber (a subscriber not migrated is left empty, flagged), and are created
through the port's legacy entry point, which **never changes the number**: its
status is the inventory's. A rejected port without a rejection code is
quarantined (the model requires it and inventing one would hide the gap: the
operator corrects the row and retries it); a code on a port that is not
rejected is not kept (flagged). An open port (submitted, confirmed) whose
number is not in the porting status of its direction is quarantined.

No chatter message, follower or mail (:data:`.base.MAIL_CONTEXT`); the link
of each record (and its flag) is the audit trail, a delta's changes are
logged field by field (the assignment start as ``assigned_date``).

Rollback: the records created are removed by :mod:`.rollback` as they are
(ports before numbers, reverse dependency order; a number's assignments go
with it). The changes of a delta pass cannot be restored field by field with
a plain ``write`` (a status change goes through the interactive transitions,
a status and its subscriber are one invariant): :meth:`_InventoryPhase.restore`
puts back one record's replaced values at once through the legacy entry point,
for ``rollback.restore_batch`` to call.
"""

from collections import Counter, namedtuple

from odoo import fields
from odoo.addons.telecom_subscriber.tools import identifiers
from odoo.addons.telecom_subscriber.tools.codes import (
    NUMBER_HELD_STATUSES,
    PORT_OPEN_STATES,
    RELEASED_STATUSES,
)
from odoo.tools import SQL

from ...lib import values
from .base import Phase, Rejected, Resolved, code_totals, read_ahead

#: A migrated subscriber as a number sees it.
_Subscriber = namedtuple("_Subscriber", "id msisdn active status activation")
#: A number as a port sees it.
_Number = namedtuple("_Number", "id msisdn status")

#: Rows read ahead: their subscribers (and numbers) are read in one query per batch.
_BATCH = 2000


class _InventoryPhase(Phase):
    """What the numbers and their ports share: subscribers read by batch, legacy entry points,
    a signature checksummed and reconciled, counts by code in one pass."""

    def __init__(self, ctx):
        super().__init__(ctx)
        self._subscribers = {}
        self._today = None

    # ------------------------------------------------------------ which rows
    def rows(self):
        """The staged rows, read ahead by batches whose references are read at once."""
        return read_ahead(super().rows(), _BATCH, self.prefetch)

    def prefetch(self, rows):
        """Read the migrated subscribers (and the phase's other references) of ``rows`` in one query
        each (memory: one batch's)."""
        self._subscribers = self._read_subscribers({row.values.get("subscriber_id") for row in rows} - {None})
        self.prefetch_references(rows)

    def prefetch_references(self, rows):
        """Read the phase's own references of ``rows`` (none by default)."""

    def subscriber(self, key):
        """The migrated subscriber of ``key`` (:class:`_Subscriber`), None when there is none."""
        if not key:
            return None
        if key not in self._subscribers:
            self._subscribers.update(self._read_subscribers({key}))
        return self._subscribers[key]

    def _read_subscribers(self, keys):
        found = dict.fromkeys(keys)
        if not keys:
            return found
        Partner = self.env["res.partner"]
        activation = self._activation_field()
        names = ["x_msisdn", "active", "x_subscriber_status", *([activation] if activation else [])]
        Partner.flush_model(names)
        self.env.cr.execute(
            SQL(
                """SELECT l.source_key, p.id, p.x_msisdn, p.active, p.x_subscriber_status, %s
                     FROM bss_import_link l JOIN res_partner p ON p.id = l.res_id
                    WHERE l.company_id = %s AND l.object = 'subscribers' AND l.res_model = 'res.partner'
                      AND l.source_key = ANY(%s)""",
                SQL("p.%s", SQL.identifier(activation)) if activation else SQL("NULL"),
                self.ctx.company.id,
                list(keys),
            )
        )
        for key, pid, msisdn, active, status, activated in self.env.cr.fetchall():
            if hasattr(activated, "date"):
                activated = activated.date()
            found[key] = _Subscriber(pid, msisdn, active, status, activated)
        return found

    def _activation_field(self):
        """The stored date field of the contact the run maps the subscribers' ``activation_date`` to
        (None when it maps it to none)."""
        line = self.ctx.mapping_lines("subscribers").get("activation_date")
        name = line and line.action in ("map", "new_field") and line.target_field
        field = name and self.env["res.partner"]._fields.get(name)
        if field is not None and field.store and field.type in ("date", "datetime"):
            return name
        return None

    def today(self):
        """The migration date (the company's day)."""
        if self._today is None:
            self._today = fields.Date.context_today(self.env[self.model])
        return self._today

    def mapped_field(self, column):
        line = self.lines.get(column)
        return line.target_field if line and line.action == "map" and line.target_field else None

    def date_of(self, column, raw):
        """The date of a cell of a column the phase reads itself (a skipped column has no detected
        format: the format of the table's mapped date columns is used, else ISO)."""
        if not raw:
            return None
        formats = [self.lines[column].date_format] if column in self.lines else []
        formats += [
            line.date_format
            for line in self.lines.values()
            if line.action == "map" and line.target_type in ("date", "datetime")
        ]
        name = next((f for f in formats if f), "iso")
        return values.parse_date(raw, values.DATE_FORMATS.get(name, values.DATE_FORMATS["iso"]))

    # ---------------------------------------------------------------- writes
    def signature(self, item):
        """The values checksummed, written and reconciled for one resolved row."""
        return dict(item.vals)

    def create_records(self, items):
        """Create the records of new resolved rows through the model's legacy entry point."""
        raise NotImplementedError

    def update_record(self, record, item, changed):
        """Write the ``changed`` signature values of an existing record through the entry point."""
        raise NotImplementedError

    def restore(self, record, replaced):
        """Put back the values a pass replaced on ``record`` ({name: value} as the change log keeps
        them), all at once through the model's legacy entry point: a plain write, field by field,
        would go through the interactive transitions and through states the invariants refuse.
        A rollback of a delta pass calls it (:func:`.rollback.restore_batch`)."""
        raise NotImplementedError

    # ------------------------------------------------------------- reconcile
    def reconcile(self, items):
        """Like :meth:`Phase.reconcile`, over the signature of each row."""
        res_ids = self.ctx.res_ids(self.object, [it.row.key for it in items])
        names = sorted({name for it in items for name in it.vals})
        stored = self.read_back(set(res_ids.values()), names)
        extra = self.read_extra(set(stored))
        out = []
        for item in items:
            signature = self.signature(item)
            source = item.checksum or self.checksum(signature)
            res_id = res_ids.get(item.row.key)
            values_ = stored.get(res_id)
            if values_ is None:
                out.append((item.row.key, source, "missing", ["record missing"]))
                continue
            odoo = {**values_, **extra.get(res_id, {})}
            odoo = {f: odoo.get(f, False) for f in signature}
            target = self.checksum(odoo)
            differing = self.differing(signature, odoo) if source != target else []
            out.append((item.row.key, source, target, differing))
        return out

    def read_extra(self, ids):
        """{id: {name: value}} of the signature's values that are not fields of the record."""
        return {}

    def sample_source(self, item):
        return self.signature(item)

    def sample_odoo(self, record, vals):
        return {**self.odoo_signature(record, vals), **self.read_extra({record.id}).get(record.id, {})}

    # ---------------------------------------------------------- control totals
    def totals_by(self, columns):
        """Records (source rows minus quarantined and collapsed vs Odoo records linked to them), then
        the count per code of each column (the source converted as the phase converts it, vs the
        mapped field): one pass over the clean rows."""
        columns = [c for c in columns if self.mapped_field(c)]
        targets = [self.mapped_field(c) for c in columns]
        sources = odoos = 0
        by_source = {c: Counter() for c in columns}
        by_odoo = {c: Counter() for c in columns}
        for _key, source, odoo in self.paired_rows(columns, targets):
            sources += 1
            odoos += odoo is not None
            for column, target in zip(columns, targets, strict=True):
                raw = source.get(column)
                try:
                    code = self.convert(self.lines[column], column, raw) or ""
                except ValueError:
                    code = raw or ""
                by_source[column][code] += 1
                if odoo is not None:
                    by_odoo[column][odoo[target] or ""] += 1
        name = self.object.replace("_", " ")
        totals = [
            (f"{name}: records (source rows minus quarantined and collapsed)", str(sources), str(odoos))
        ]
        for column in columns:
            totals += code_totals(f"{name}: records with {column}", by_source[column], by_odoo[column])
        return totals


class NumbersPhase(_InventoryPhase):
    object = "numbers"
    table = "numbers"
    model = "telecom.number"
    sample_size = 25

    def handled(self, name):
        return name in ("msisdn", "subscriber_id", "assigned_date")

    def control_totals(self):
        """Numbers migrated and their count by status, source vs Odoo."""
        return self.totals_by(["status"])

    # ---------------------------------------------------------- resolution
    def complete(self, row, row_values, vals):
        reasons, flags = [], []
        msisdn = None
        try:
            msisdn = identifiers.normalize_msisdn(row_values.get("msisdn"), field="msisdn")
        except identifiers.IdentifierError as exc:
            reasons.append(f"invalid MSISDN: {exc.reason}")
        status = vals.get("status")
        if not status:
            reasons.append("status: the column is not mapped to the number's status")
        held = status in NUMBER_HELD_STATUSES
        key = row_values.get("subscriber_id")
        subscriber = self.subscriber(key) if key else None
        if held:
            reasons += self._holder_reasons(status, key, subscriber, msisdn)
        elif key:
            flags.append(f"subscriber_id {key} not kept: a number {status} has no subscriber in Odoo")
        if status == "aging" and not vals.get("aging_date"):
            reasons.append("aging_date: empty; an aging number needs the date it entered aging")
        elif status != "aging" and vals.get("aging_date"):
            flags.append(f"aging_date {vals['aging_date']} not kept: the number is {status}, not aging")
            vals["aging_date"] = False
        assigned = None
        try:
            assigned = self.date_of("assigned_date", row_values.get("assigned_date"))
        except ValueError as exc:
            reasons.append(f"assigned_date: {exc}")
        if reasons:
            return Rejected(row, reasons)
        start = compared = False
        if held:
            start = compared = assigned or subscriber.activation
            if not start:
                start, compared = self.today(), None
                flags.append(
                    "assigned_date empty and no activation date: the assignment starts on the migration date"
                )
            elif not assigned:
                flags.append("assigned_date empty: the assignment starts on the subscriber's activation date")
        elif assigned:
            flags.append(f"assigned_date {assigned} not kept: a number {status} has no open assignment")
        vals.update({"msisdn": msisdn, "partner_id": subscriber.id if held else False})
        item = Resolved(row, vals, "\n".join(flags) or None)
        #: The start of the open assignment written, and the one compared (None: not compared).
        item.start, item.compared_start = start, compared
        return item

    @staticmethod
    def _holder_reasons(status, key, subscriber, msisdn):
        """Why a number ``status`` (assigned, porting out) cannot belong to the subscriber of ``key``."""
        if not key:
            return [f"subscriber_id: empty; a number {status} belongs to a subscriber"]
        if subscriber is None:
            return [
                f"subscriber_id: subscriber {key} is not migrated (not in the export, or quarantined); "
                f"a number {status} belongs to a migrated subscriber"
            ]
        reasons = []
        if not subscriber.active or subscriber.status in RELEASED_STATUSES:
            reasons.append(
                f"subscriber_id: subscriber {key} is terminated or archived; "
                f"a number {status} belongs to a live subscriber"
            )
        if msisdn and subscriber.msisdn != msisdn:
            reasons.append(
                f"subscriber_id: the MSISDN of subscriber {key} is {subscriber.msisdn or 'empty'}, "
                f"not {msisdn}"
            )
        return reasons

    # ---------------------------------------------------------------- writes
    def signature(self, item):
        """The mapped values and the start of the open assignment (``assigned_date``: False when the
        number has none; left out when it is the migration date, which a re-run would move)."""
        out = dict(item.vals)
        if item.compared_start is not None:
            out["assigned_date"] = item.compared_start
        return out

    def odoo_signature(self, record, names):
        out = {name: record[name] for name in names if name != "assigned_date"}
        if "assigned_date" in names:
            out.update(self.read_extra({record.id}).get(record.id, {"assigned_date": False}))
        return out

    def read_extra(self, ids):
        """{number id: {"assigned_date": start of its open assignment, or False}}."""
        if not ids:
            return {}
        self.env["telecom.number.assignment"].flush_model(["number_id", "date_from", "date_to"])
        self.env.cr.execute(
            SQL(
                "SELECT number_id, date_from FROM telecom_number_assignment"
                " WHERE number_id = ANY(%s) AND date_to IS NULL",
                list(ids),
            )
        )
        out = {number_id: {"assigned_date": False} for number_id in ids}
        out.update({number_id: {"assigned_date": start} for number_id, start in self.env.cr.fetchall()})
        return out

    def create_records(self, items):
        return self.env[self.model]._legacy_create(
            [{**item.vals, "company_id": self.ctx.company.id} for item in items],
            [item.start or None for item in items],
        )

    def update_record(self, record, item, changed):
        """The changed status, subscriber, aging date or assignment start, through the number's
        legacy entry point (its assignment history follows, with the legacy dates)."""
        vals = {f: v for f, v in changed.items() if f != "assigned_date"}
        record._legacy_write(vals, assigned_date=item.start or None)

    def restore(self, record, replaced):
        vals = {f: v for f, v in replaced.items() if f != "assigned_date"}
        record._legacy_write(vals, assigned_date=replaced.get("assigned_date") or None)


class NumberPortsPhase(_InventoryPhase):
    object = "number_ports"
    table = "number_ports"
    model = "telecom.number.port"
    sample_size = 25

    def __init__(self, ctx):
        super().__init__(ctx)
        self._numbers = {}

    def handled(self, name):
        return name in ("msisdn", "subscriber_id")

    def control_totals(self):
        """Ports migrated, by direction and by state, source vs Odoo."""
        return self.totals_by(["direction", "state"])

    # ------------------------------------------------------------ references
    def prefetch_references(self, rows):
        self._numbers = self._read_numbers({row.values.get("msisdn") for row in rows} - {None})

    def number(self, key):
        """The number of the MSISDN ``key`` (:class:`_Number`): the one migrated from that key, else
        the company's number of the normalised MSISDN; None when there is none."""
        if not key:
            return None
        if key not in self._numbers:
            self._numbers.update(self._read_numbers({key}))
        return self._numbers[key]

    def _read_numbers(self, keys):
        found = dict.fromkeys(keys)
        if not keys:
            return found
        linked = self.ctx.res_ids("numbers", keys)
        normal = {}
        for key in keys - set(linked):
            try:
                normal[key] = identifiers.normalize_msisdn(key, field="msisdn")
            except identifiers.IdentifierError:
                continue
        self.env["telecom.number"].flush_model(["msisdn", "status", "company_id"])
        self.env.cr.execute(
            SQL(
                """SELECT id, msisdn, status FROM telecom_number
                    WHERE id = ANY(%s) OR (company_id = %s AND msisdn = ANY(%s))""",
                list(linked.values()),
                self.ctx.company.id,
                list(set(normal.values())),
            )
        )
        by_id, by_msisdn = {}, {}
        for number_id, msisdn, status in self.env.cr.fetchall():
            by_id[number_id] = by_msisdn[msisdn] = _Number(number_id, msisdn, status)
        for key in keys:
            found[key] = by_id.get(linked.get(key)) or by_msisdn.get(normal.get(key))
        return found

    # ---------------------------------------------------------- resolution
    def complete(self, row, row_values, vals):
        reasons, flags = [], []
        key = row_values.get("msisdn")
        number = self.number(key)
        if number is None:
            reasons.append(
                f"msisdn: number {key} is not migrated (not in the numbers export, or quarantined)"
            )
        direction, state = vals.get("direction"), vals.get("state")
        if not direction:
            reasons.append("direction: the column is not mapped to the port's direction")
        if not state:
            reasons.append("state: the column is not mapped to the port's state")
        if state == "rejected" and not vals.get("rejection_code"):
            reasons.append(
                "rejection_code: empty; a rejected port needs the clearinghouse's rejection code "
                "(correct the row and retry it)"
            )
        elif state != "rejected" and vals.get("rejection_code"):
            flags.append(
                f"rejection_code {vals['rejection_code']} not kept: the port is {state}, not rejected"
            )
            vals["rejection_code"] = False
        requested, completed = vals.get("request_date"), vals.get("completion_date")
        if requested and completed and completed < requested:
            reasons.append(f"completion_date: {completed} is before the request_date {requested}")
        if number is not None and state in PORT_OPEN_STATES and direction:
            expected = "porting_in" if direction == "in" else "porting_out"
            if number.status != expected:
                reasons.append(
                    f"state: an open port-{direction} ({state}) needs its number {number.msisdn} "
                    f"in status {expected}; the number is {number.status}"
                )
        if reasons:
            return Rejected(row, reasons)
        subscriber_key = row_values.get("subscriber_id")
        subscriber = self.subscriber(subscriber_key)
        if subscriber_key and subscriber is None:
            flags.append(
                f"subscriber_id {subscriber_key} not kept: the subscriber is not migrated "
                "(not in the export, or quarantined)"
            )
        vals.update({"number_id": number.id, "partner_id": subscriber.id if subscriber else False})
        return Resolved(row, vals, "\n".join(flags) or None)

    # ---------------------------------------------------------------- writes
    def create_records(self, items):
        return self.env[self.model]._legacy_create([dict(item.vals) for item in items])

    def update_record(self, record, item, changed):
        """The changed values (state, rejection code, dates... locked fields included) through the
        port's legacy entry point: the number is left as the inventory says."""
        record._legacy_write(dict(changed))

    def restore(self, record, replaced):
        record._legacy_write(dict(replaced))
