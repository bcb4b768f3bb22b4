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
* the plan code resolves the service plan (``x_plan_id``); an unknown code is
  migrated as it is in ``x_plan_code``, without a plan, and flagged;
* the monthly usage summaries (``usage.csv``) feed the last usage date (the
  latest of the line's own date and the last event of its months) and, when
  the line has none, its lifetime totals (the sum of its months);
* the line's status is resolved against its account's status
  (:func:`..lib.resolution.resolve_status`, with the run's policy; by default
  conservative: a paying customer's service is never cut); every conflict is flagged.
"""

from odoo.addons.telecom_subscriber.tools import identifiers
from odoo.tools import SQL

from ...lib import resolution
from .base import Phase, Rejected, Resolved
from .billing_accounts import BillingAccountsPhase

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

    def summaries(self):
        """Yield (subscriber id, {last_event, voice_minutes, data_mb, sms_count}) per subscriber.

        A month repeated (an exact duplicate row) counts once; a value that does
        not parse is left out of the sums (the profile reports such rows).
        """
        current, total, months = None, {}, set()
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
            for name in ("last_event", *_TOTALS):
                line = self.lines.get(name)
                if not line or not row.values.get(name):
                    continue
                try:
                    value = self.convert(line, name, row.values[name])
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
    sample_size = 0

    def control_totals(self):
        """Lines migrated (a status conflict follows the run's policy: flagged, not counted here)."""
        return self.count_totals(label="subscribers")

    def __init__(self, ctx):
        super().__init__(ctx)
        self._accounts = None
        self._plans = {}
        self.usage = _UsageSource(ctx)
        self.status_policy = ctx.run.status_policy or "conservative"

    def rows(self):
        """The staged lines, each with the summary of its usage months (both streams in key order)."""
        summaries = self.usage.summaries() if self.usage.has_rows() else iter(())
        pending = next(summaries, None)
        for row in super().rows():
            while pending is not None and row.key is not None and pending[0] < row.key:
                pending = next(summaries, None)
            row.usage = pending[1] if pending is not None and pending[0] == row.key else {}
            yield row

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
        return name in ("country", "account_number", "plan_code", *_IDENTIFIERS)

    def accounts(self):
        """{account number: (partner id, account status)} of the migrated billing accounts of the company."""
        if self._accounts is None:
            self.env["res.partner"].flush_model(["x_account_status"])
            self.env.cr.execute(
                SQL(
                    """SELECT l.source_key, p.id, p.x_account_status
                         FROM bss_import_link l JOIN res_partner p ON p.id = l.res_id
                        WHERE l.company_id = %s AND l.object = 'billing_accounts'""",
                    self.ctx.company.id,
                )
            )
            self._accounts = {key: (pid, status) for key, pid, status in self.env.cr.fetchall()}
        return self._accounts

    def plan(self, code):
        """The plan variant id of a legacy plan code (None when no plan has it)."""
        if code not in self._plans:
            plan = self.env["product.product"]._telecom_plan_for_code(code)
            self._plans[code] = plan.id or None
        return self._plans[code]

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
            matches.append(SQL("lower(regexp_replace(p.email, '\\s', '', 'g')) = %s", email))
        if len(phone) >= 7:
            matches.append(SQL("regexp_replace(p.phone, '\\D', '', 'g') LIKE %s", f"%{phone[-7:]}"))
        if street and zip_:
            matches.append(SQL("(lower(p.street) = lower(%s) AND p.zip = %s)", street, zip_))
        if not matches:
            return None, "no secondary key (e-mail, phone, street and postal code) to re-parent it by"
        self.env["res.partner"].flush_model()
        self.env.cr.execute(
            SQL(
                """SELECT p.id, p.x_account_status, p.email, p.phone, p.street, p.city, p.zip
                     FROM bss_import_link l JOIN res_partner p ON p.id = l.res_id
                    WHERE l.company_id = %s AND l.object = 'billing_accounts' AND (%s)
                    ORDER BY p.id LIMIT 50""",
                self.ctx.company.id,
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
        account = self.accounts().get(row_values.get("account_number"))
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
        vals["parent_id"] = account[0]
        vals.setdefault("x_subscriber_id", row.key)
        vals["is_company"] = False
        # "other": a contact of type "contact" takes its parent's address (Odoo syncs it both ways);
        # a line keeps its own service address.
        vals["type"] = "other"
        code = row_values.get("plan_code")
        if code:
            vals["x_plan_code"] = code
            vals["x_plan_id"] = self.plan(code) or False
            if not vals["x_plan_id"]:
                flags.append("unknown plan code: kept in x_plan_code, no plan linked")
        if vals.get("x_subscriber_status"):
            try:
                status, conflict = resolution.resolve_status(
                    vals["x_subscriber_status"], account[1], self.status_policy
                )
            except ValueError as exc:
                return Rejected(row, [str(exc)])
            vals["x_subscriber_status"] = status
            if conflict:
                flags.append(conflict)
        return Resolved(row, vals, "\n".join(flags) or None)
