"""Subscribers: lines become individual contacts under their billing account.

* the billing account (``parent_id``) is the migrated account of the same key.
  A line whose account is not migrated (orphan, or its account quarantined)
  is re-parented by a secondary key (e-mail, phone, service address) only when
  exactly one migrated account matches with a confidence of 90 % or more
  (:func:`..lib.resolution.match_by_secondary_key`), and flagged; otherwise it
  is quarantined with the reason;
* MSISDN, IMSI and ICCID are checked by telecom_subscriber's identifier rules
  (the profiler's, strict ICCID check digit); an invalid one is quarantined
  with the reason;
* the plan code resolves the service plan (``x_plan_id``): first through the
  run's legacy-code table (the operator mapped a retired code to a plan: the
  line gets that plan and its code, no flag), then by the plans' own codes;
  a code still unknown is migrated as it is in ``x_plan_code``, without a
  plan, and flagged for re-association;
* the monthly usage summaries (``usage.csv``) feed the last usage date (the
  latest of the line's own date and the last event of its months) and, when
  the line has none, its lifetime totals (the sum of its months);
* the line's status is resolved against its account's status
  (:func:`..lib.resolution.resolve_status`, with the run's policy; by default
  conservative: a paying customer's service is never cut); every conflict is flagged
  and listed in the run's state-conflict report (``bss.import.state.conflict``);
* lines with the same name, address and birth date as another line are
  flagged *pending merge* (:func:`..lib.resolution.pending_merge_flags`),
  never merged;
* missing values and legacy codes of closed sets: see :mod:`.billing_accounts`.
"""

from collections import Counter

from odoo.addons.telecom_subscriber.tools import identifiers
from odoo.tools import SQL

from ...lib import resolution
from .base import Phase, Rejected, Resolved, code_totals
from .billing_accounts import BillingAccountsPhase
from .service_plans import ServicePlansPhase

_IDENTIFIERS = {
    "msisdn": identifiers.normalize_msisdn,
    "imsi": identifiers.validate_imsi,
    "iccid": lambda value: identifiers.validate_iccid(value, strict=True)[0],
}


#: usage.csv column -> the subscriber's total it feeds when the line has none.
_TOTALS = {
    "voice_minutes": "total_voice_minutes",
    "data_mb": "total_data_mb",
    "sms_count": "total_sms_count",
}


class _UsageSource(Phase):
    """The staged monthly usage summaries, read like a phase's rows (ordered by subscriber)."""

    object = "usage"
    table = "usage"
    range_column = "subscriber_id"
    #: Subscriber ids to read (None: all): the side-by-side sample reads back its lines only.
    only_subscribers = None

    def source_sql(self):
        sql = super().source_sql()
        if self.only_subscribers is None:
            return sql
        return SQL("SELECT * FROM (%s) o WHERE o.subscriber_id = ANY(%s)", sql, list(self.only_subscribers))

    def summaries(self):
        """Yield (subscriber id, {last_event, voice_minutes, data_mb, sms_count}) per subscriber.

        A month repeated (an exact duplicate row) counts once; a value that does
        not parse is left out of the sums (the profile reports such rows).
        """
        current, total, months = None, {}, set()
        summed = [(name, self.lines[name]) for name in ("last_event", *_TOTALS) if self.lines.get(name)]
        for row in self.rows():
            sub = row.values.get("subscriber_id")
            if sub != current:
                if current is not None:
                    yield current, total
                current, total, months = sub, {}, set()
            month = row.values.get("usage_month")
            if month in months:
                continue
            months.add(month)
            for name, line in summed:
                raw = row.values.get(name)
                if not raw:
                    continue
                try:
                    value = self.convert(line, name, raw)
                except ValueError:
                    continue
                if name == "last_event":
                    total[name] = max(total.get(name, value), value)
                else:
                    total[name] = total.get(name, 0) + value
        if current is not None:
            yield current, total


def _address(street, city, zip_):
    return " ".join(part for part in (street, city, zip_) if part)


class SubscribersPhase(BillingAccountsPhase):
    object = "subscribers"
    table = "subscribers"
    model = "res.partner"
    sample_size = 25
    #: The key, the account reference (orphans are resolved, not enriched), the line's number
    #: (its identity on the network, unique among live lines) and its status (state rules).
    never_enrich = ("subscriber_id", "account_number", "msisdn", "status")
    #: While the sample is read back: its clean and linked keys and the sampled keys (else None).
    _sampling = None

    def __init__(self, ctx):
        super().__init__(ctx)
        self._accounts = {}
        self._plans = None
        self._plan_codes = {}
        self._pending_merge = None
        self._secondary_keys = None
        self.usage = _UsageSource(ctx)
        self.status_policy = ctx.source.status_policy or "conservative"

    def readers(self):
        return (self.usage,)

    # ------------------------------------------------------------ reconcile
    def control_totals(self):
        """Lines migrated, by status and by service type: converted source values vs the Odoo fields.

        The source statuses are counted after the status policy: each state
        conflict of the run's report moves one line from its source status to
        the status migrated (a conflict the report does not hold, or a status
        not written as the report says, shows as a mismatch).
        """
        columns = [c for c in ("status", "service_type") if self.mapped_field(c)]
        targets = [self.mapped_field(c) for c in columns]
        # Conflicts are few: read the run's, keep those of the clean keys (no million-key domain).
        conflicts = {}
        if "status" in columns:
            for c in self.env["bss.import.state.conflict"].search_read(
                [("run_id", "=", self.ctx.run.id), ("object", "=", self.object)],
                ["source_key", "subscriber_status", "result_status"],
            ):
                conflicts.setdefault(c["source_key"], []).append((c["subscriber_status"], c["result_status"]))
        sources = odoos = 0
        by_source = {column: Counter() for column in columns}
        by_odoo = {column: Counter() for column in columns}
        clean_conflicts = []
        for key, source, odoo in self.paired_rows(columns, targets):
            sources += 1
            clean_conflicts += conflicts.get(key, ())
            for column, target in zip(columns, targets, strict=True):
                by_source[column][self.source_code(column, source.get(column))] += 1
                if odoo is not None:
                    by_odoo[column][odoo[target] or ""] += 1
            odoos += odoo is not None
        totals = [
            ("subscribers: records (source rows minus quarantined and collapsed)", str(sources), str(odoos))
        ]
        for column in columns:
            label = column
            if column == "status":
                try:
                    by_source[column] = resolution.status_after_conflicts(by_source[column], clean_conflicts)
                except ValueError as exc:
                    totals.append(
                        ("subscribers: state-conflict report matches the source statuses", "yes", str(exc))
                    )
                label = "status (source after the status policy)"
            totals += code_totals(f"subscribers: records with {label}", by_source[column], by_odoo[column])
        return totals

    def mapped_field(self, column):
        line = self.lines.get(column)
        return line.target_field if line and line.action == "map" and line.target_field else None

    def source_code(self, column, raw):
        """The canonical value of a source cell as the phase converts it ("" when empty or unknown)."""
        try:
            return self.convert(self.lines[column], column, raw) or ""
        except ValueError:
            return raw or ""

    def write_chunk(self, items, counts):
        """Write the chunk, then refresh the run's state-conflict report for its rows."""
        result = super().write_chunk(items, counts)
        self.record_conflicts(items)
        return result

    def record_conflicts(self, items):
        """Replace the state-conflict lines of this run for the written rows by their current conflicts."""
        Conflict = self.env["bss.import.state.conflict"]
        keys = [it.row.key for it in items]
        Conflict.search(
            [("run_id", "=", self.ctx.run.id), ("object", "=", self.object), ("source_key", "in", keys)]
        ).unlink()
        found = [it for it in items if getattr(it, "conflict", None)]
        if not found:
            return
        records = self.ctx.res_ids(self.object, [it.row.key for it in found])
        Conflict.create(
            [
                {
                    "run_id": self.ctx.run.id,
                    "object": self.object,
                    "source_key": it.row.key,
                    "partner_id": records.get(it.row.key) or False,
                    "account_key": it.conflict["account_key"],
                    "subscriber_status": it.conflict["subscriber_status"],
                    "account_status": it.conflict["account_status"],
                    "policy": it.conflict["policy"],
                    "rule": it.conflict["rule"],
                    "result_status": it.conflict["result"],
                    "changed": it.conflict["result"] != it.conflict["subscriber_status"],
                }
                for it in found
            ]
        )

    # ------------------------------------------------------------ legacy codes
    def unknown_codes(self):
        """Closed-set codes (see the billing accounts) and plan codes no plan has: {(column, code): rows}.

        A plan code is known when a service plan of Odoo or a staged service
        plan row of the run has it (plans are migrated before subscribers).
        """
        out = super().unknown_codes()
        if "plan_code" not in self.column_names():
            return out
        plans = ServicePlansPhase(self.ctx)
        known = set(plans.clean_rows([])) if plans.has_rows() else set()
        for code, rows in self.code_counts("plan_code"):
            code = code.strip()
            if code not in known and not self.plan(code):
                out[("plan_code", code)] = out.get(("plan_code", code), 0) + rows
        return out

    def plan_code_of(self, plan_id):
        """The plan code of a plan variant (the code a line linked to it must carry)."""
        if plan_id not in self._plan_codes:
            plan = self.env["product.product"].browse(plan_id)
            self._plan_codes[plan_id] = plan.product_tmpl_id.x_plan_code or False
        return self._plan_codes[plan_id]

    # ------------------------------------------------------------ pending merge
    def pending_merge(self):
        """{key: flag} of the lines that probably are the same person as another line.

        Candidates are blocked in SQL by birth date and postal code (two
        records of one person share both), then compared by the lib's rule
        (name and address word-order- and accent-insensitive): memory holds
        the candidate rows only, not the export.
        """
        if self._pending_merge is not None:
            return self._pending_merge
        self._pending_merge = {}
        needed = ("birth_date", "first_name", "last_name", "street", "city", "zip")
        line = self.lines.get("birth_date")
        if not self.has_rows() or not line or not all(c in self.column_names() for c in needed):
            return self._pending_merge
        key = SQL("concat_ws('/', %s)", SQL(", ").join(SQL.identifier(k) for k in self.spec.key))
        self.env.cr.execute(
            SQL(
                """WITH s AS (%s)
                   SELECT DISTINCT ON (1) %s, s.first_name, s.last_name, s.street, s.city, s.zip, s.birth_date
                     FROM s JOIN (SELECT btrim(birth_date) AS b, coalesce(btrim(zip), '') AS z
                                    FROM s WHERE btrim(birth_date) <> ''
                                   GROUP BY 1, 2 HAVING count(DISTINCT %s) > 1) g
                       ON btrim(s.birth_date) = g.b AND coalesce(btrim(s.zip), '') = g.z
                    ORDER BY 1, s._file, s._line""",
                self.source_sql(),
                key,
                key,
            )
        )
        rows = []
        for key_, first, last, street, city, zip_, born in self.env.cr.fetchall():
            try:
                born = self.convert(line, "birth_date", born)
            except ValueError:
                continue
            name = " ".join(p for p in (first, last) if p)
            rows.append(
                {"key": key_, "name": name, "address": _address(street, city, zip_), "birth_date": born}
            )
        self._pending_merge = resolution.pending_merge_flags(rows, "key")
        return self._pending_merge

    # ------------------------------------------------------------ sample
    def sample_lines(self):
        """The base's sample, reading back only the sampled lines and their usage months.

        The base resolves the sampled keys again from :meth:`rows`; on a large
        export, streaming every line and every usage month a second time to
        find 25 of them would cost as much as the pass itself. The sampled keys
        are the base's (same clean keys, same seed), computed once here.
        """
        keys = self.sample_keys()
        self._sampling = {"keys": keys}
        self.usage.only_subscribers = keys
        try:
            return super().sample_lines()
        finally:
            self._sampling = None
            self.usage.only_subscribers = None

    def sample_keys(self):
        if self._sampling is not None:
            return self._sampling["keys"]
        return super().sample_keys()

    def source_sql(self):
        sql = super().source_sql()
        if self._sampling is None:
            return sql
        return SQL("SELECT * FROM (%s) o WHERE o.subscriber_id = ANY(%s)", sql, list(self._sampling["keys"]))

    #: Lines read ahead: their billing accounts are read in one query before they are resolved.
    batch_size = 2000

    def rows(self):
        """The staged lines, each with the summary of its usage months (both streams in key order),
        read ahead by batches whose billing accounts are read at once."""
        summaries = self.usage.summaries() if self.usage.has_rows() else iter(())
        pending = next(summaries, None)
        batch = []
        for row in super().rows():
            while pending is not None and row.key is not None and pending[0] < row.key:
                pending = next(summaries, None)
            row.usage = pending[1] if pending is not None and pending[0] == row.key else {}
            batch.append(row)
            if len(batch) >= self.batch_size:
                yield from self._with_accounts(batch)
                batch = []
        yield from self._with_accounts(batch)

    def _with_accounts(self, batch):
        """Yield the batch's lines once their billing accounts are read: memory holds one batch's
        accounts, not every account of the export (:meth:`account` reads a number missed)."""
        if batch:
            self._accounts = self._read_accounts([row.values.get("account_number") for row in batch])
        yield from batch

    def add_usage(self, row, row_values, vals):
        """The last usage date and, where the line has none, its totals from its usage months."""
        usage = row.usage
        line = self.lines.get("last_usage_date")
        if usage.get("last_event") and line and line.action == "map":
            last = usage["last_event"].date()
            if not vals.get(line.target_field) or vals[line.target_field] < last:
                vals[line.target_field] = last
        for name, total in _TOTALS.items():
            line = self.lines.get(total)
            if name in usage and line and line.action == "map" and not row_values.get(total):
                vals[line.target_field] = usage[name]

    def handled(self, name):
        return name in ("country", "owner_id", "account_number", "plan_code", *_IDENTIFIERS)

    def account(self, number):
        """(partner id, account status) of the migrated billing account ``number`` (None if none)."""
        if not number:
            return None
        if number not in self._accounts:
            self._accounts.update(self._read_accounts([number]))
        return self._accounts[number]

    def _read_accounts(self, numbers):
        numbers = list({n for n in numbers if n})
        found = dict.fromkeys(numbers)
        if not numbers:
            return found
        self.env["res.partner"].flush_model(["x_account_status"])
        self.env.cr.execute(
            SQL(
                """SELECT l.source_key, p.id, p.x_account_status
                     FROM bss_import_link l JOIN res_partner p ON p.id = l.res_id
                    WHERE l.company_id = %s AND l.object = 'billing_accounts' AND l.source_key = ANY(%s)""",
                self.ctx.company.id,
                numbers,
            )
        )
        found.update({key: (pid, status) for key, pid, status in self.env.cr.fetchall()})
        return found

    def plan(self, code):
        """The plan variant id of a legacy plan code (None when no plan has it).

        The codes of every plan are read once per pass (a catalogue holds hundreds, an export
        can carry thousands of distinct unknown codes): the first variant of each code in the
        order of ``_telecom_plan_for_code``'s search, the one it finds.
        """
        if self._plans is None:
            Product = self.env["product.product"]
            plans = Product.search([("x_is_service_plan", "=", True), ("x_plan_code", "!=", False)])
            self._plans = {}
            for plan in plans:
                self._plans.setdefault(plan.x_plan_code, plan.id)
        return self._plans.get(code) if code else None

    def reparent(self, row_values):
        """((account id, status), reason) of the one migrated account the orphan matches, or (None, reason).

        Candidates share the e-mail, the phone digits or the street and postal
        code; the lib's rule decides among them.
        """
        email = resolution.normalize_email(row_values.get("email"))
        phone = resolution.normalize_phone(row_values.get("contact_phone"))
        street, zip_ = row_values.get("street"), row_values.get("zip")
        matches = []
        if email:
            matches.append(SQL("k.email = %s", email))
        if len(phone) >= 7:
            matches.append(SQL("k.phone7 = %s", phone[-7:]))
        if street and zip_:
            matches.append(SQL("(k.street = lower(%s) AND k.zip = %s)", street, zip_))
        if not matches:
            return None, "no secondary key (e-mail, phone, street and postal code) to re-parent it by"
        table = self.secondary_keys()
        self.env.cr.execute(
            SQL(
                """SELECT p.id, p.x_account_status, p.email, p.phone, p.street, p.city, p.zip
                     FROM res_partner p
                    WHERE p.id IN (SELECT k.id FROM %s k WHERE %s)
                    ORDER BY p.id LIMIT 50""",
                SQL.identifier(table),
                SQL(" OR ").join(matches),
            )
        )
        candidates = [
            {"id": pid, "status": status, "email": mail, "phone": tel, "address": _address(st, city, z)}
            for pid, status, mail, tel, st, city, z in self.env.cr.fetchall()
        ]
        orphan = {
            "email": row_values.get("email"),
            "phone": row_values.get("contact_phone"),
            "address": _address(street, row_values.get("city"), zip_),
        }
        found, _confidence, reason = resolution.match_by_secondary_key(
            orphan, candidates, fields=("email", "phone", "address")
        )
        return ((found["id"], found["status"]) if found else None), reason

    def secondary_keys(self):
        """Name of a temporary table of the migrated accounts' secondary keys, indexed.

        Built on the worker's first orphan from the accounts migrated (the
        accounts phase has settled before) and kept across the worker's chunks
        (each commits; :meth:`close` drops it): each orphan is then matched by index
        lookups, not by a scan of every contact (a scan per orphan grows with
        the database). The keys are those the matching compares: e-mail
        without spaces in lower case, the phone's last 7 digits, street in
        lower case and postal code.
        """
        if self._secondary_keys:
            return self._secondary_keys
        name = f"bss_import_account_keys_{self.ctx.run.id}"
        cr = self.env.cr
        self.env["res.partner"].flush_model()
        cr.execute(SQL("DROP TABLE IF EXISTS %s", SQL.identifier(name)))
        cr.execute(
            SQL(
                """CREATE TEMPORARY TABLE %s AS
                   SELECT p.id,
                          lower(regexp_replace(p.email, '\\s', '', 'g')) AS email,
                          CASE WHEN length(regexp_replace(p.phone, '\\D', '', 'g')) >= 7
                               THEN right(regexp_replace(p.phone, '\\D', '', 'g'), 7) END AS phone7,
                          lower(p.street) AS street,
                          p.zip
                     FROM bss_import_link l JOIN res_partner p ON p.id = l.res_id
                    WHERE l.company_id = %s AND l.object = 'billing_accounts'""",
                SQL.identifier(name),
                self.ctx.company.id,
            )
        )
        for columns in ("email", "phone7", "street, zip"):
            cr.execute(SQL(f"CREATE INDEX ON %s ({columns})", SQL.identifier(name)))  # noqa: S608
        cr.execute(SQL("ANALYZE %s", SQL.identifier(name)))
        self._secondary_keys = name
        return name

    def close(self):
        if self._secondary_keys:
            self.env.cr.execute(SQL("DROP TABLE IF EXISTS %s", SQL.identifier(self._secondary_keys)))
            self._secondary_keys = None

    def complete(self, row, row_values, vals):
        reasons, flags = [], []
        vals, address_reasons = self.complete_address(row, row_values, vals)
        reasons += address_reasons
        for name, check in _IDENTIFIERS.items():
            line = self.lines.get(name)
            raw = row_values.get(name)
            if not line or line.action != "map" or not raw:
                continue
            try:
                vals[line.target_field] = check(raw)
            except identifiers.IdentifierError as exc:
                reasons.append(f"invalid {name.upper()}: {exc.reason}")
        account = self.account(row_values.get("account_number"))
        if not account:
            account, why = self.reparent(row_values)
            if account:
                flags.append(f"orphan re-parented by secondary key: {why}")
            else:
                reasons.append(
                    f"orphan: its billing account is not migrated (not in the export, or quarantined); {why}"
                )
        if reasons:
            return Rejected(row, reasons)
        self.add_usage(row, row_values, vals)
        self.complete_owner(row_values, vals)
        vals["parent_id"] = account[0]
        vals.setdefault("x_subscriber_id", row.key)
        vals["is_company"] = False
        # "other": a contact of type "contact" takes its parent's address (Odoo syncs it both ways);
        # a line keeps its own service address.
        vals["type"] = "other"
        code = row_values.get("plan_code")
        if code:
            plan, how = resolution.resolve_code(code, self.code_table("plan_code"), self.plan)
            # A plan mapped in the legacy-code table: the line carries that plan's own code
            # (Odoo refuses a plan with a contradicting code); the legacy code stays in the table.
            vals["x_plan_code"] = self.plan_code_of(plan) if how == "table" else code
            vals["x_plan_id"] = plan or False
            if not plan:
                flags.append("unknown plan code: kept in x_plan_code, no plan linked")
        conflict = None
        if vals.get("x_subscriber_status"):
            try:
                conflict = resolution.status_conflict(
                    vals["x_subscriber_status"], account[1], self.status_policy
                )
            except ValueError as exc:
                return Rejected(row, [str(exc)])
            if conflict:
                vals["x_subscriber_status"] = conflict["result"]
                flags.append(conflict["reason"])
                conflict["account_key"] = row_values.get("account_number")
        if row.key in self.pending_merge():
            flags.append(self.pending_merge()[row.key])
        item = Resolved(row, vals, "\n".join(flags) or None)
        item.conflict = conflict
        return item
