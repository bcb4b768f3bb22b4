"""Cohorts (pilot waves): which billing accounts, with their lines, orders and invoices, a wave moves.

A run's customers are listed once, when its first cohort is created: one
member row per billing account, subscriber, order and invoice key of its
export (``bss.import.cohort.member``), each with the billing account it
belongs to. A cohort takes the members of the billing accounts it selects
that no live cohort of the run holds yet: a billing account always moves
with all of its subscribers, orders and invoices. The ``rest`` cohort takes
every member left, orphans (rows whose billing account is not in the export)
included. A cohort's phases read only its members' rows (:func:`restrict`):
counts, checksums and control totals are the cohort's.

Members of no migrated cohort are the customers the legacy system still owns.
"""

from odoo.tools import SQL

#: How a cohort selects billing accounts.
KINDS = ("accounts", "region", "service_type", "plan", "percent", "rest")
#: The objects a cohort splits, and their key column.
KEYED = {
    "billing_accounts": "account_number",
    "subscribers": "subscriber_id",
    "orders": "order_id",
    "invoices": "invoice_number",
}
#: Staged table: (the object whose cohort members it belongs to, its column holding that key).
TABLE_FILTER = {
    "billing_accounts": ("billing_accounts", "account_number"),
    "subscribers": ("subscribers", "subscriber_id"),
    "usage": ("subscribers", "subscriber_id"),
    "ocs_buckets": ("subscribers", "subscriber_id"),
    "orders": ("orders", "order_id"),
    "order_lines": ("orders", "order_id"),
    "invoices": ("invoices", "invoice_number"),
    "invoice_lines": ("invoices", "invoice_number"),
}
#: Tables of the customer history: a row goes with the first of its references that is set
#: ((object, column) in order); ``shared``: rows with none (the inventory's spare numbers, ports of
#: numbers no line holds) are read by every cohort (the first migrates them, the others find them
#: unchanged), else only by the ``rest`` cohort.
HISTORY_FILTER = {
    "numbers": ((("subscribers", "subscriber_id"),), True),
    "number_ports": ((("subscribers", "subscriber_id"),), True),
    "interactions": ((("subscribers", "subscriber_id"), ("billing_accounts", "account_number")), False),
    "documents": ((("subscribers", "subscriber_id"), ("billing_accounts", "account_number")), False),
}


class CohortError(ValueError):
    """A cohort specification that selects nothing or cannot be read; the message names what."""


def restrict(sql, table, cohort):
    """``sql`` (a phase's staged rows of ``table``) limited to the rows of ``cohort``'s members.

    Tables a cohort does not split (the catalogue, custom fields) are read
    whole: every cohort needs them, and later cohorts find them migrated. The
    ``rest`` cohort also reads the rows without a key (the phase quarantines
    them for their missing key): no cohort would read them otherwise.
    """
    if not cohort:
        return sql
    if table in HISTORY_FILTER:
        return _restrict_history(sql, table, cohort)
    if table not in TABLE_FILTER:
        return sql
    obj, column = TABLE_FILTER[table]
    members = _members(cohort, obj)
    col = SQL("c.%s", SQL.identifier(column))
    if cohort.cohort_kind == "rest":
        return SQL("SELECT * FROM (%s) c WHERE %s IS NULL OR %s IN (%s)", sql, col, col, members)
    return SQL("SELECT * FROM (%s) c WHERE %s IN (%s)", sql, col, members)


def _members(cohort, obj):
    return SQL(
        "SELECT source_key FROM bss_import_cohort_member WHERE cohort_id = %s AND object = %s", cohort.id, obj
    )


def _restrict_history(sql, table, cohort):
    """:func:`restrict` for a table of the customer history (:data:`HISTORY_FILTER`)."""
    references, shared = HISTORY_FILTER[table]
    whens = [
        SQL(
            "WHEN c.%s IS NOT NULL THEN c.%s IN (%s)",
            SQL.identifier(column),
            SQL.identifier(column),
            _members(cohort, obj),
        )
        for obj, column in references
    ]
    orphan = SQL("TRUE") if shared or cohort.cohort_kind == "rest" else SQL("FALSE")
    return SQL("SELECT * FROM (%s) c WHERE CASE %s ELSE %s END", sql, SQL(" ").join(whens), orphan)


def list_members(ctx, phases, claim_linked=True):
    """List the customers of the run ``ctx`` migrates (once): one member row per key of the billing
    accounts, subscribers, orders and invoices of its export, with the billing account of each.

    ``phases``: {object: the phase class}, whose staged rows give the keys.
    With ``claim_linked``, a customer another run of the company migrated
    is listed as that run's (Odoo owns it). Returns the number of rows listed
    (0 when they were listed before).
    """
    cr = ctx.env.cr
    ctx.env["bss.import.cohort.member"].flush_model()
    cr.execute(SQL("SELECT 1 FROM bss_import_cohort_member WHERE run_id = %s LIMIT 1", ctx.run.id))
    if cr.fetchone():
        return 0
    listed = 0
    for obj, key in KEYED.items():
        phase = phases[obj](ctx)
        if not phase.has_rows():
            continue
        account = "account_number" if "account_number" in phase.column_names() else None
        cr.execute(
            SQL(
                """INSERT INTO bss_import_cohort_member (run_id, object, source_key, account_number)
                   SELECT DISTINCT ON (k) %s, %s, k, a
                     FROM (SELECT %s AS k, %s AS a, _file, _line FROM (%s) s) x
                    WHERE k IS NOT NULL
                 ORDER BY k, _file, _line""",
                ctx.run.id,
                obj,
                SQL.identifier(key),
                SQL.identifier(account) if account else SQL("NULL::text"),
                phase.source_sql(),
            )
        )
        listed += cr.rowcount
    if claim_linked:
        # A customer another run of the company already migrated (in a cohort or whole) is Odoo's:
        # it is that run's member, and no cohort of this run takes it (a later export of it is a
        # delta pass of that run).
        cr.execute(
            SQL(
                """UPDATE bss_import_cohort_member m SET cohort_id = l.created_run_id
                     FROM bss_import_link l JOIN bss_import_run r ON r.id = l.created_run_id
                    WHERE m.run_id = %s AND l.company_id = %s AND l.object = m.object
                      AND l.source_key = m.source_key AND r.state = 'migrated'""",
                ctx.run.id,
                ctx.company.id,
            )
        )
    # The cohorts' selections and assignments join the members: plan them on what is there.
    cr.execute(SQL("ANALYZE bss_import_cohort_member"))
    return listed


def _free(run_id, obj):
    """SQL condition on a member ``m`` of ``obj``: no live cohort holds it (none, or one rolled back)."""
    return SQL(
        """m.run_id = %s AND m.object = %s
           AND (m.cohort_id IS NULL OR m.cohort_id IN (
                SELECT id FROM bss_import_run WHERE cohort_of_id = %s AND state = 'rolled_back'))""",
        run_id,
        obj,
        run_id,
    )


def _free_keys(run_id, obj):
    """SQL of the keys of the free members of ``obj`` (:func:`_free`), as ``source_key``."""
    return SQL("SELECT m.source_key FROM bss_import_cohort_member m WHERE %s", _free(run_id, obj))


def selected_accounts(ctx, phases, kind, value, seed):
    """SQL of the billing account numbers ``kind``/``value`` selects among the free ones.

    - ``accounts``: a list of account numbers (each must be a free billing
      account of the export: a number the export does not have is an error);
    - ``region``: ``column=value`` on the billing accounts' staged column
      (country, city, zip or any mapped column); a value ending in ``*`` is
      a prefix; case and surrounding spaces are ignored;
    - ``service_type`` / ``plan``: accounts with at least one line of that
      service type / rate plan, as the export spells it;
    - ``percent``: a seeded random share of the free accounts (same seed, same
      accounts), at least one;
    - ``rest``: every free account.
    """
    free = _free_keys(ctx.run.id, "billing_accounts")
    if kind == "rest":
        return SQL("SELECT source_key FROM (%s) f", free)
    if kind == "accounts":
        wanted = sorted({v.strip() for v in (value or "").replace("\n", ",").split(",") if v.strip()})
        if not wanted:
            raise CohortError("the cohort lists no billing account")
        ctx.env.cr.execute(SQL("SELECT source_key FROM (%s) f WHERE source_key = ANY(%s)", free, wanted))
        found = {row[0] for row in ctx.env.cr.fetchall()}
        missing = [a for a in wanted if a not in found]
        if missing:
            raise CohortError(
                f"{len(missing)} billing account(s) are not in the export or already in a cohort: "
                + ", ".join(missing[:10])
                + (" ..." if len(missing) > 10 else "")
            )
        return SQL("SELECT unnest(%s::varchar[])", wanted)
    if kind == "region":
        column, sep, wanted = (value or "").partition("=")
        column, wanted = column.strip().lower(), wanted.strip().lower()
        accounts = phases["billing_accounts"](ctx)
        if not sep or not wanted:
            raise CohortError(
                f"a region is COLUMN=VALUE (e.g. country=US, city=Springfield, zip=90*), not {value!r}"
            )
        if column not in accounts.column_names() or not accounts.has_rows():
            raise CohortError(
                f"billing accounts have no column {column!r} (columns: {', '.join(accounts.column_names())})"
            )
        match = _match(SQL("lower(s.%s)", SQL.identifier(column)), wanted)
        return SQL(
            """SELECT s.account_number FROM (%s) s
                WHERE %s AND s.account_number IN (SELECT source_key FROM (%s) f)""",
            accounts.source_sql(),
            match,
            free,
        )
    if kind in ("service_type", "plan"):
        column = "service_type" if kind == "service_type" else "plan_code"
        wanted = (value or "").strip().lower()
        if not wanted:
            raise CohortError(f"a {kind.replace('_', ' ')} cohort needs a value")
        subscribers = phases["subscribers"](ctx)
        if not subscribers.has_rows():
            raise CohortError("the export has no subscribers to select billing accounts by")
        return SQL(
            """SELECT DISTINCT s.account_number FROM (%s) s
                WHERE lower(s.%s) = %s AND s.account_number IN (SELECT source_key FROM (%s) f)""",
            subscribers.source_sql(),
            SQL.identifier(column),
            wanted,
            free,
        )
    if kind == "percent":
        try:
            share = float(value)
        except (TypeError, ValueError):
            raise CohortError(f"a percentage is a number between 0 and 100, not {value!r}") from None
        if not 0 < share <= 100:
            raise CohortError(f"a percentage is a number between 0 and 100, not {value!r}")
        return SQL(
            """SELECT source_key FROM (%s) f
             ORDER BY md5(%s || ':' || source_key), source_key
                LIMIT greatest(1, round((SELECT count(*) FROM (%s) g) * %s / 100.0))""",
            free,
            str(seed or 0),
            free,
            share,
        )
    raise CohortError(f"unknown cohort kind {kind!r} (kinds: {', '.join(KINDS)})")


def _match(expr, wanted):
    if wanted.endswith("*"):
        prefix = wanted[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return SQL("%s LIKE %s", expr, prefix + "%")
    return SQL("%s = %s", expr, wanted)


def assign(ctx, phases, cohort):
    """Give ``cohort`` the free members of the billing accounts its specification selects, with their
    subscribers, orders and invoices (the ``rest``: every free member). Returns {object: members}.

    Raises :class:`CohortError` when the specification selects no billing account.
    """
    cr = ctx.env.cr
    accounts = selected_accounts(ctx, phases, cohort.cohort_kind, cohort.cohort_value, cohort.cohort_seed)
    cr.execute(SQL("CREATE TEMPORARY TABLE bss_cohort_accounts ON COMMIT DROP AS %s", accounts))
    cr.execute(SQL("SELECT count(*) FROM bss_cohort_accounts"))
    if not cr.fetchone()[0] and cohort.cohort_kind != "rest":
        raise CohortError("it selects no billing account of the export that no other cohort holds")
    cr.execute(SQL("ANALYZE bss_cohort_accounts"))
    counts = {}
    for obj in KEYED:
        if cohort.cohort_kind == "rest":
            where = SQL("TRUE")
        else:
            column = "source_key" if obj == "billing_accounts" else "account_number"
            where = SQL("m.%s IN (SELECT * FROM bss_cohort_accounts)", SQL.identifier(column))
        cr.execute(
            SQL(
                "UPDATE bss_import_cohort_member m SET cohort_id = %s WHERE %s AND %s",
                cohort.id,
                _free(ctx.run.id, obj),
                where,
            )
        )
        counts[obj] = cr.rowcount
    cr.execute(SQL("DROP TABLE bss_cohort_accounts"))
    if not any(counts.values()):
        raise CohortError("every customer of the export is already in a cohort")
    # Every chunk of the cohort's phases joins its rows to its members: plan it on what is there.
    cr.execute(SQL("ANALYZE bss_import_cohort_member"))
    return counts


def assign_owned(ctx, origin):
    """Give the delta pass ``ctx.run`` the members of its export (listed from its own rows) whose
    billing account a migrated cohort of ``origin`` moved: what Odoo owns, and a delta pass may
    update. Returns {object: members}."""
    cr = ctx.env.cr
    owned = SQL(
        """SELECT m.source_key FROM bss_import_cohort_member m JOIN bss_import_run c ON c.id = m.cohort_id
            WHERE m.run_id = %s AND m.object = 'billing_accounts' AND c.state = 'migrated'""",
        origin.id,
    )
    counts = {}
    for obj in KEYED:
        column = "source_key" if obj == "billing_accounts" else "account_number"
        cr.execute(
            SQL(
                """UPDATE bss_import_cohort_member m SET cohort_id = %s
                    WHERE m.run_id = %s AND m.object = %s AND m.cohort_id IS NULL AND m.%s IN (%s)""",
                ctx.run.id,
                ctx.run.id,
                obj,
                SQL.identifier(column),
                owned,
            )
        )
        counts[obj] = cr.rowcount
    cr.execute(SQL("ANALYZE bss_import_cohort_member"))
    return counts


def member_counts(cr, cohort_ids):
    """{cohort id: {object: members}}."""
    if not cohort_ids:
        return {}
    cr.execute(
        SQL(
            """SELECT cohort_id, object, count(*) FROM bss_import_cohort_member
                WHERE cohort_id = ANY(%s) GROUP BY 1, 2""",
            list(cohort_ids),
        )
    )
    out = {}
    for cohort_id, obj, count in cr.fetchall():
        out.setdefault(cohort_id, dict.fromkeys(KEYED, 0))[obj] = count
    return out
