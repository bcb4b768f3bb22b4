"""Customer-care interactions: chatter notes and activities of the migrated subscribers and accounts.

* an interaction is about its subscriber (``subscriber_id``, a migrated
  line), else its billing account (``account_number``); neither migrated:
  quarantined with a reason naming both fields;
* a ``done`` (or empty status) or ``cancelled`` interaction is history: a
  ``mail.message`` on the record, an internal note (``comment``,
  ``mail.mt_note``) dated when it happened (``occurred_at``, read as UTC as
  every date-time of the export), authored by the legacy author's mapped user
  (its partner) or the *Legacy BSS* contact (:mod:`.owners`). Its body is the
  plain text made HTML (``plaintext2html``: escaped, never interpreted) under
  a short first line naming the channel, and the status of a cancelled one
  ("Call — cancelled"). Messages are created with ``mail.message.create``, not
  ``message_post``: nothing is notified, mailed nor pushed on the bus;
* a ``scheduled`` interaction is work still to do: a ``mail.activity`` on the
  record (its type by channel: call, meeting, e-mail, else to-do), due on
  ``due_date`` (one already past stays, overdue: the legacy system says it is
  not done; dropping it would lose the task), summary the subject, note the
  body. The assignee is the legacy ``assigned_to``'s mapped user; an unmapped
  (or empty) assignee leaves the activity to the run's operator, and the row
  is flagged (the link and the phase's *flagged* count say so). Created with
  ``mail_activity_quick_update``, which is how Odoo itself creates activities
  without the *assigned to you* mail; the assignee's subscription to the
  record that ``mail.activity.create`` adds is removed (the migration
  subscribes no one). A scheduled interaction without ``due_date`` is
  quarantined: an activity needs a deadline;
* one source key is one link (``bss.import.link``) whose ``res_model`` says
  which of the two models holds it: reconcile and control totals read both.
  A later export that turns a migrated message into an activity or back is
  refused (quarantined): the record is handled in Odoo (mark the activity
  done), never replaced behind the user's back.
"""

import json

from markupsafe import Markup

from odoo.exceptions import UserError
from odoo.tools import SQL, plaintext2html

from ...lib import legacy_codes, schema, values
from .base import LinkedCustomers, Phase, Rejected, Resolved, comparable

MESSAGE = "mail.message"
ACTIVITY = "mail.activity"
#: The record an interaction or a document is attached to.
PARTNER = "res.partner"
#: What the first line of a migrated message calls each channel (control totals read it back).
CHANNEL_LABELS = {"call": "Call", "email": "E-mail", "meeting": "Meeting", "note": "Note", "ticket": "Ticket"}
CANCELLED = "cancelled"
#: The activity type of a scheduled interaction, by channel (others: to-do).
ACTIVITY_TYPES = {
    "call": "mail.mail_activity_data_call",
    "meeting": "mail.mail_activity_data_meeting",
    "email": "mail.mail_activity_data_email",
}
TODO_TYPE = "mail.mail_activity_data_todo"
#: Values a resolved interaction carries for the write only (not fields, not checksummed).
_WRITE_ONLY = ("_model", "_user")
#: Activities created without the "assigned to you" mail (mail.activity.create).
_QUIET_ACTIVITY = {"mail_activity_quick_update": True}


class PartnerRows(LinkedCustomers):
    """Rows about a subscriber (``subscriber_id``) or, failing that, an account (``account_number``):
    the migrated contact of each, looked up per batch of rows (:class:`.base.LinkedCustomers`)."""

    def rows(self):
        yield from self.prefetched(super().rows())

    def partner_of(self, row_values):
        """(contact id, None, flag) of the row's subscriber, else account (flagged when the row names
        a subscriber that is not migrated); (None, reason, None) when neither is migrated."""
        subscriber, account = row_values.get("subscriber_id"), row_values.get("account_number")
        partner = self.linked("subscribers", subscriber)
        if partner:
            return partner, None, None
        partner = self.linked("billing_accounts", account)
        if partner:
            flag = subscriber and (
                f"subscriber_id {subscriber!r} is not migrated: attached to its account {account!r}"
            )
            return partner, None, flag or None
        if not (subscriber or account):
            return None, "subscriber_id, account_number: neither is given", None
        named = [
            f"{column} {value!r}"
            for column, value in (("subscriber_id", subscriber), ("account_number", account))
            if value
        ]
        return (
            None,
            f"{' and '.join(named)}: not migrated (not in the export, or quarantined): "
            f"no record to attach the {self.object[:-1]} to",
            None,
        )

    def code(self, column, raw):
        """The canonical code of a cell: the operator's value map, the known legacy codes, or as is."""
        line = self.lines.get(column)
        value_map = line._value_map() if line else {}
        return (
            value_map.get(raw)
            or legacy_codes.map_code(self.table, column, raw or "")
            or (raw or "").strip().lower()
        )

    def parse_date(self, column, raw, time=False):
        """The cell ``raw`` of ``column`` as a date (a datetime when ``time``), in the mapping's date
        format; None when empty (ValueError when it does not parse)."""
        line = self.lines.get(column)
        fmt = line.date_parts if line else values.DATE_FORMATS["iso"]
        parsed = values.parse_datetime(raw, fmt)
        if parsed is None:
            return None
        return parsed if time else parsed.date()

    def where(self, row):
        """The file and line of a source row, as reasons name them."""
        name = self.env["bss.import.file"].browse(row.file_id).name if row.file_id else self.spec.file_name
        return f"{name} line {row.line}" if row.line else name


def message_label(channel, status):
    """The first line of the message of an interaction: its channel, and a cancelled one's status."""
    label = CHANNEL_LABELS.get(channel, channel)
    return f"{label} — {CANCELLED}" if status == CANCELLED else label


class InteractionsPhase(PartnerRows, Phase):
    object = "interactions"
    table = "interactions"
    model = MESSAGE
    #: Every model the phase writes: its links name one of them (the rollback removes both).
    models = (MESSAGE, ACTIVITY)
    statistics_models = (ACTIVITY,)

    def __init__(self, ctx):
        super().__init__(ctx)
        self._refs = {}
        self._partner_model = None

    def handled(self, name):
        return name in (
            "subscriber_id",
            "account_number",
            "channel",
            "status",
            "due_date",
            "author_id",
            "assigned_to",
            "body",
        )

    def ref(self, xmlid):
        if xmlid not in self._refs:
            self._refs[xmlid] = self.env.ref(xmlid).id
        return self._refs[xmlid]

    def partner_model(self):
        if self._partner_model is None:
            self._partner_model = self.env["ir.model"]._get_id(PARTNER)
        return self._partner_model

    # ---------------------------------------------------------- resolution
    def complete(self, row, row_values, vals):
        reasons = []
        partner, reason, fallback = self.partner_of(row_values)
        if reason:
            reasons.append(reason)
        channel = self.code("channel", row_values.get("channel"))
        if channel not in schema.INTERACTION_CHANNELS:
            reasons.append(f"channel: unknown interaction channel {row_values.get('channel')!r}")
        status = self.code("status", row_values.get("status")) if row_values.get("status") else "done"
        if status not in schema.INTERACTION_STATUSES:
            reasons.append(f"status: unknown interaction status {row_values.get('status')!r}")
        try:
            due = self.parse_date("due_date", row_values.get("due_date"))
        except ValueError as exc:
            reasons.append(f"due_date: {exc}")
            due = None
        if status == "scheduled" and due is None and not any(r.startswith("due_date") for r in reasons):
            reasons.append("due_date: missing: a scheduled interaction becomes an activity, which needs one")
        if reasons:
            return Rejected(row, reasons)
        body = (row_values.get("body") or "").strip()
        subject = vals.get("subject") or False
        custom = {k: v for k, v in vals.items() if k.startswith("x_")}
        if status == "scheduled":
            item = self.activity(row, row_values, partner, channel, due, subject, body)
            item.flag = "\n".join(f for f in (fallback, item.flag) if f) or None
            return item
        html = plaintext2html(message_label(channel, status))
        if body:
            html = Markup("%s%s") % (html, plaintext2html(body))
        html = self.stored_html(MESSAGE, "body", html)
        return Resolved(
            row,
            {
                **custom,
                "_model": MESSAGE,
                "model": PARTNER,
                "res_id": partner,
                "message_type": "comment",
                "subtype_id": self.ref("mail.mt_note"),
                "date": vals.get("date"),
                "author_id": self.ctx.owners.author_partner_id(row_values.get("author_id")),
                "subject": subject,
                "body": html,
            },
            fallback,
        )

    def activity(self, row, row_values, partner, channel, due, subject, body):
        assignee = (row_values.get("assigned_to") or "").strip()
        user = self.ctx.owners.user_id(assignee)
        flag = None
        vals = {
            "_model": ACTIVITY,
            "res_model_id": self.partner_model(),
            "res_id": partner,
            "activity_type_id": self.ref(ACTIVITY_TYPES.get(channel, TODO_TYPE)),
            "date_deadline": due,
            "summary": subject,
            "note": self.stored_html(ACTIVITY, "note", plaintext2html(body)) if body else False,
        }
        if user:
            vals["user_id"] = user
        else:
            # The run's operator takes it over; not checksummed, so a later pass by someone else
            # neither reassigns it nor counts it changed.
            vals["_user"] = self.ctx.run.create_uid.id
            flag = (
                f"assigned_to {assignee!r} is mapped to no user: assigned to the run's operator"
                if assignee
                else "no assigned_to: assigned to the run's operator"
            )
        return Resolved(row, vals, flag)

    def stored_html(self, model, name, html):
        """``html`` as the field stores it (sanitized): what reconcile reads back compares equal."""
        Model = self.env[model]
        return Markup(Model._fields[name].convert_to_cache(html, Model))

    # ---------------------------------------------------------------- writes
    def checksum(self, vals):
        return super().checksum({k: v for k, v in vals.items() if k not in _WRITE_ONLY})

    @staticmethod
    def fields_of(vals):
        return {k: v for k, v in vals.items() if k not in _WRITE_ONLY}

    def write_chunk(self, items, counts):
        """Create the new messages and activities, update changed ones, skip unchanged ones."""
        links = self.ctx.links(self.object, [it.row.key for it in items])
        new = {MESSAGE: [], ACTIVITY: []}
        changes = {MESSAGE: [], ACTIVITY: []}
        for item in items:
            model = item.vals["_model"]
            checksum = item.checksum = self.checksum(item.vals)
            if item.flag:
                counts.flagged += 1
            link = links.get(item.row.key)
            if not link:
                new[model].append((item, checksum))
                continue
            if link.res_model != model:
                raise UserError(
                    self.env._(
                        "Interaction %(key)s was migrated as %(was)s; the export now makes it %(now)s: "
                        "handle it in Odoo (mark the activity done, or schedule one).",
                        key=item.row.key,
                        was=self._kind(link.res_model),
                        now=self._kind(model),
                    )
                )
            if link.checksum == checksum:
                counts.unchanged += 1
                continue
            record = self.env[model].browse(link.res_id).exists()
            if not record:
                raise UserError(
                    self.env._(
                        "Interaction %(key)s changed in the export, but its %(kind)s is no longer in "
                        "Odoo (done or deleted there).",
                        key=item.row.key,
                        kind=self._kind(model),
                    )
                )
            target = self.fields_of(item.vals)
            old = {f: comparable(record[f]) for f in target}
            changed = {f: v for f, v in target.items() if comparable(v) != old[f]}
            if changed:
                record.with_context(**_QUIET_ACTIVITY).write(changed)
                counts.updated += 1
                changes[model].append((item.row.key, record.id, old, changed))
            else:
                counts.unchanged += 1
            link.write(
                {
                    "checksum": checksum,
                    "last_run_id": self.ctx.run.id,
                    "flag": item.flag or False,
                    "previous_values_json": self._previous(old, changed, link),
                }
            )
        for model in (MESSAGE, ACTIVITY):
            self.ctx.log_changes(self.object, model, changes[model])
            if not new[model]:
                continue
            created = (
                self.create_messages(new[model]) if model == MESSAGE else self.create_activities(new[model])
            )
            self.ctx.create_links(
                self.object,
                model,
                [
                    (it.row.key, rec.id, checksum, it.flag)
                    for (it, checksum), rec in zip(new[model], created, strict=True)
                ],
            )
            counts.created += len(created)

    @staticmethod
    def _previous(old, changed, link):
        return json.dumps({f: old[f] for f in changed}, default=str) if changed else link.previous_values_json

    def _kind(self, model):
        return self.env._("an activity") if model == ACTIVITY else self.env._("a message")

    def create_messages(self, new):
        """Internal notes created as records: ``message_post`` would notify the record's followers.

        What ``mail.message.create`` completes one message at a time (the author's address, the
        record's reply-to and name: a query or more per message, most of a chunk's time) is given
        here, computed once per author and per chunk as Odoo computes it.
        """
        vals_list = [self.fields_of(item.vals) for item, _checksum in new]
        Thread = self.env["mail.thread"]
        senders = {}
        for vals in vals_list:
            author = vals.get("author_id")
            if author not in senders:
                senders[author] = Thread._message_compute_author(
                    author, email_from=None, raise_on_email=False
                )[1]
            vals["email_from"] = senders[author]
        records = self.env[PARTNER].browse({vals["res_id"] for vals in vals_list})
        names = {record.id: record.display_name for record in records}
        replies = {}
        for sender in set(senders.values()):
            # As mail.message._get_reply_to: the records' reply-to, the author's address by default.
            replies[sender] = records._notify_get_reply_to(default=sender)
        for vals in vals_list:
            vals["record_name"] = names[vals["res_id"]]
            vals["reply_to"] = replies[vals["email_from"]][vals["res_id"]]
        return self.env[MESSAGE].create(vals_list)

    def create_activities(self, new):
        """Activities created as Odoo creates them without the *assigned* mail; the subscriptions
        their creation adds are removed (the migration subscribes no one)."""
        Followers = self.env["mail.followers"]
        records = {item.vals["res_id"] for item, _checksum in new}
        domain = [("res_model", "=", PARTNER), ("res_id", "in", list(records))]
        before = Followers.search(domain)
        activities = (
            self.env[ACTIVITY]
            .with_context(**_QUIET_ACTIVITY)
            .create(
                [
                    {
                        **self.fields_of(item.vals),
                        **({"user_id": item.vals["_user"]} if "_user" in item.vals else {}),
                    }
                    for item, _checksum in new
                ]
            )
        )
        (Followers.search(domain) - before).unlink()
        return activities

    # ------------------------------------------------------------- reconcile
    def linked_records(self, keys):
        """{source key: (res_model, res_id)} of the links of ``keys``."""
        keys = [k for k in keys if k]
        if not keys:
            return {}
        self.env["bss.import.link"].flush_model()
        self.env.cr.execute(
            SQL(
                """SELECT source_key, res_model, res_id FROM bss_import_link
                    WHERE company_id = %s AND object = %s AND source_key = ANY(%s)""",
                self.ctx.company.id,
                self.object,
                keys,
            )
        )
        return {key: (model, res_id) for key, model, res_id in self.env.cr.fetchall()}

    def reconcile(self, items):
        """Like :meth:`Phase.reconcile`, each row read back from the model its link names."""
        linked = self.linked_records([it.row.key for it in items])
        ids = {MESSAGE: set(), ACTIVITY: set()}
        for model, res_id in linked.values():
            if model in ids:
                ids[model].add(res_id)
        records = {}
        for model, model_ids in ids.items():
            # Iterating keeps the chunk as the records' prefetch set.
            for record in self.env[model].browse(sorted(model_ids)).exists():
                records[(model, record.id)] = record
        out = []
        for item in items:
            target = self.fields_of(item.vals)
            source = item.checksum or self.checksum(item.vals)
            record = records.get(linked.get(item.row.key)) if linked.get(item.row.key) else None
            if record is None or record._name != item.vals["_model"]:
                out.append((item.row.key, source, "missing", ["record missing"]))
                continue
            odoo = {f: record[f] for f in target}
            odoo_sum = self.checksum(odoo)
            out.append(
                (item.row.key, source, odoo_sum, self.differing(target, odoo) if source != odoo_sum else [])
            )
        return out

    # ------------------------------------------------- control totals
    def control_totals(self):
        """Records, records by kind (message or activity), messages by channel (their first line:
        the channel, and a cancelled one's status) and activities by type (their channel): the
        clean source rows, converted as the phase converts them, against the linked records."""
        if not self.has_rows():
            return []
        by = {name: ({}, {}) for name in ("records", "kind", "message", "activity")}

        def add(name, side, group):
            counter = by[name][side]
            counter[group] = counter.get(group, 0) + 1

        for channel, status, _due, model, first_line, activity_type in self._paired():
            code = self.code("channel", channel)
            state = self.code("status", status) if status else "done"
            add("records", 0, "")
            if state == "scheduled":
                add("kind", 0, "activity")
                add("activity", 0, self.ref(ACTIVITY_TYPES.get(code, TODO_TYPE)))
            else:
                add("kind", 0, "message")
                add("message", 0, message_label(code, state))
            if model is None:
                continue
            add("records", 1, "")
            if model == ACTIVITY:
                add("kind", 1, "activity")
                add("activity", 1, activity_type)
            else:
                add("kind", 1, "message")
                add("message", 1, first_line or "")
        totals = [
            (
                "interactions: records (source rows minus quarantined and collapsed)",
                str(by["records"][0].get("", 0)),
                str(by["records"][1].get("", 0)),
            )
        ]
        for name, label in (("kind", "interactions by kind"), ("message", "messages by channel")):
            src, ood = by[name]
            totals += [
                (f"{label}: {g}", str(src.get(g, 0)), str(ood.get(g, 0))) for g in sorted(set(src) | set(ood))
            ]
        # An activity's channel is its type (notes and tickets are both to-dos).
        src, ood = by["activity"]
        types = self.env["mail.activity.type"].browse(sorted(set(src) | set(ood)))
        totals += [
            (f"activities by type (channel): {t.name}", str(src.get(t.id, 0)), str(ood.get(t.id, 0)))
            for t in types
        ]
        return totals

    def _paired(self):
        """Yield (channel, status, due_date, linked model or None, message's first line, activity
        type id) per clean row, streamed."""
        self.env.flush_all()
        query = SQL(
            """SELECT c.channel, c.status, c.due_date,
                      CASE WHEN m.id IS NOT NULL THEN 'mail.message'
                           WHEN a.id IS NOT NULL THEN 'mail.activity' END,
                      substring(m.body from '^<p>(.*?)</p>'), a.activity_type_id
                 FROM (%s) c
                 LEFT JOIN bss_import_link l
                   ON l.company_id = %s AND l.object = %s AND l.source_key = c._key
                 LEFT JOIN mail_message m ON l.res_model = 'mail.message' AND m.id = l.res_id
                 LEFT JOIN mail_activity a ON l.res_model = 'mail.activity' AND a.id = l.res_id""",
            self.clean_sql(["channel", "status", "due_date"]),
            self.ctx.company.id,
            self.object,
        )
        with self.env.cr._cnx.cursor(name=f"bss_pairs_{self.ctx.run.id}_{self.object}") as stream:
            stream.itersize = 5000
            stream.execute(query.code, query.params)
            yield from stream
