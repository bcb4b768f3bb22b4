"""The inventories of a run: what its export holds that Odoo does not take over, for those who rebuild it.

Each builder reads the run's staged tables (through the confirmed mapping:
canonical columns, and every other kept column under its source header) and
the records the migration wrote, and returns a :class:`~..lib.inventory.Document`
while it streams the CSV rows into a file: memory stays flat on millions of
lines. Secret columns were dropped at staging: they are in no staging table,
so no inventory can hold their values; the *dropped secret columns* inventory
names them (header, file, kind), never a value.

Inventories: PCRF policy manifest, AAA/HSS identifiers, dropped secret
columns, network elements, usage summary with the rating cutover point,
bundle definitions, manual-rebuild items.
"""

import datetime
import re
from collections import Counter

from odoo.tools import SQL

from ..lib import inventory as doc
from ..lib import schema
from . import stage_tables
from .migration.base import Phase

#: Rows read at a time from a server-side cursor.
ITERSIZE = 5000
#: Distinct values shown for a column no Odoo field took (bundle definitions).
SAMPLE_VALUES = 5
_REBUILD_WORDS = (
    ("rating rule", re.compile(r"rat(e|ing)|tariff|charg|discount|promo|bundle|rollover|price", re.I)),
    (
        "workflow or automation",
        re.compile(r"workflow|automat|trigger|job|campaign|script|process|rule|event", re.I),
    ),
)


def _subscriber_keys(ctx):
    """SQL of the subscriber ids of the run's export (its staged subscribers)."""
    if not ctx.staged.files.get("subscribers"):
        return SQL("SELECT NULL::text AS subscriber_id WHERE false")
    return SQL("SELECT DISTINCT subscriber_id FROM %s s", ctx.staged.source("subscribers", ["subscriber_id"]))


class Staged(Phase):
    """A staged table read with every kept column: its canonical columns, then the others under
    their source header (a vendor's column no Odoo field takes is handed over as it is)."""

    def __init__(self, ctx, table):
        self.object = schema.object_of(table)
        self.table = table
        super().__init__(ctx)
        self.extras = []
        canonical = {name.lower() for name in self.spec.column_names}
        for file in ctx.staged.files.get(table, ()):
            for line in file.mapping_line_ids.sorted("column_index"):
                if line.action == "drop" or line.canonical:
                    continue
                name = line.header.strip() or f"column {line.column_index + 1}"
                if name.lower() not in canonical and name not in self.extras:
                    self.extras.append(name)

    def _located(self, file):
        located = super()._located(file)
        for line in file.mapping_line_ids.sorted("column_index"):
            if line.action != "drop" and not line.canonical:
                located.setdefault(
                    line.header.strip() or f"column {line.column_index + 1}", line.column_index
                )
        return located

    def column_names(self):
        return [*self.spec.column_names, *self.extras]

    def source_sql(self):
        files = [
            (file.id, self.ctx.staged.tables[file.id], self._located(file))
            for file in self.ctx.staged.files[self.table]
        ]
        return stage_tables.union_select(files, self.column_names())


def _stream(cr, name, query):
    """Yield the rows of ``query`` from a server-side cursor (flat memory)."""
    with cr._cnx.cursor(name=name) as stream:
        stream.itersize = ITERSIZE
        stream.execute(query.code, query.params)
        yield from stream


class Builder:
    """Builds the inventories of one run (``ctx``: its :class:`MigrationContext`, every member)."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.env = ctx.env
        self.cr = ctx.env.cr
        self.company = ctx.company
        self.run = ctx.run
        self.env["res.partner"].flush_model()
        self.env["bss.import.link"].flush_model()
        self.env["product.template"].flush_model()
        self.env["account.move"].flush_model()

    # ------------------------------------------------------------ shared reads
    def _has(self, table):
        return bool(self.ctx.staged.files.get(table))

    def _extras(self, table):
        """The columns of ``table`` beyond its canonical ones, under their source header."""
        return Staged(self.ctx, table).extras if self._has(table) else []

    def _lines_by_plan(self):
        """{plan code: migrated lines of the run's export on that plan}."""
        self.cr.execute(
            SQL(
                """SELECT p.x_plan_code, count(*) FROM bss_import_link l
                     JOIN res_partner p ON p.id = l.res_id
                    WHERE l.company_id = %s AND l.object = 'subscribers'
                      AND l.source_key IN (%s) AND p.x_plan_code IS NOT NULL
                    GROUP BY 1""",
                self.company.id,
                _subscriber_keys(self.ctx),
            )
        )
        return dict(self.cr.fetchall())

    def _lines_by_group(self):
        """[(service type, plan code, migrated lines)] of the run's export."""
        self.cr.execute(
            SQL(
                """SELECT coalesce(p.x_service_type, ''), coalesce(p.x_plan_code, ''), count(*)
                     FROM bss_import_link l JOIN res_partner p ON p.id = l.res_id
                    WHERE l.company_id = %s AND l.object = 'subscribers' AND l.source_key IN (%s)
                    GROUP BY 1, 2 ORDER BY 1, 2""",
                self.company.id,
                _subscriber_keys(self.ctx),
            )
        )
        return self.cr.fetchall()

    def _plan_names(self):
        """{plan code: product name} of the company's plans (archived ones too)."""
        self.cr.execute(
            SQL(
                """SELECT x_plan_code, name->>'en_US' FROM product_template
                    WHERE x_plan_code IS NOT NULL AND (company_id = %s OR company_id IS NULL)""",
                self.company.id,
            )
        )
        return dict(self.cr.fetchall())

    def _rows(self, table, extra_select=None, order=None):
        """Yield ({column: text}, *extra values) of a staged table's rows, in key order."""
        staged = Staged(self.ctx, table)
        names = staged.column_names()
        key = SQL(", ").join(SQL('s.%s COLLATE "C"', SQL.identifier(k)) for k in staged.spec.key)
        query = SQL(
            "SELECT s.*%s FROM (%s) s ORDER BY %s, s._file, s._line",
            SQL(", %s", extra_select) if extra_select else SQL(""),
            staged.source_sql(),
            order or key,
        )
        width = 2 + len(names)
        for rec in _stream(self.cr, f"bss_inventory_{self.run.id}_{table}", query):
            yield (dict(zip(names, rec[2:width], strict=True)), *rec[width:])

    @staticmethod
    def _write(stream, columns, rows):
        return doc.write_csv(stream, columns, rows)

    # ------------------------------------------------------------ inventories
    def pcrf_policies(self, stream):
        """The PCRF policy translation manifest: each rule in words, the lines of its plan."""
        has = self._has("pcrf_rules")
        extras = self._extras("pcrf_rules")
        columns = (
            "rule_id",
            "rule_name",
            "plan_code",
            "plan_name",
            "trigger",
            "condition",
            "action",
            "priority",
            "affected_subscribers",
            "qci",
            "max_bitrate_ul_kbps",
            "max_bitrate_dl_kbps",
            "fup_threshold_mb",
            *extras,
        )
        lines, names = self._lines_by_plan(), self._plan_names()
        by_action, rows = Counter(), []

        def rows_():
            for (values,) in self._rows("pcrf_rules") if has else ():
                plan = values.get("plan_code")
                row = (
                    values.get("rule_id"),
                    values.get("rule_name"),
                    plan,
                    names.get(plan, ""),
                    doc.pcrf_trigger(values),
                    doc.pcrf_condition(values),
                    values.get("action"),
                    values.get("priority"),
                    lines.get(plan, 0),
                    values.get("qci"),
                    values.get("max_bitrate_ul_kbps"),
                    values.get("max_bitrate_dl_kbps"),
                    values.get("fup_threshold_mb"),
                    *(values.get(x) for x in extras),
                )
                by_action[values.get("action") or ""] += 1
                rows.append(row[:9])
                yield row

        count = self._write(stream, columns, rows_())
        return doc.Document(
            name="pcrf_policies",
            title="PCRF policy translation manifest",
            audience="the network team, to rebuild the policies on the new PCRF",
            intro=[
                "Each policy rule of the legacy PCRF: what triggers it, the QoS it sets, what it does, the "
                "subscriber group it applies to (its rate plan) and how many migrated lines of this run are "
                "on that plan today. Odoo does not enforce policies: nothing here was migrated.",
            ],
            sections=[
                doc.Section("Rules by action", columns=("action", "rules"), rows=sorted(by_action.items())),
                doc.Section("Rules", columns=columns[:9], rows=rows, total_rows=count),
            ],
            csv_columns=columns,
            csv_rows=count,
        )

    def aaa_hss_identifiers(self, stream):
        """The AAA/HSS identifiers per line (no secret: the secret columns were dropped at staging)."""
        has, extras = self._has("aaa_hss"), self._extras("aaa_hss")
        canonical = [c.name for c in schema.TABLES["aaa_hss"].columns]
        columns = ("subscriber_id", *[c for c in canonical if c != "subscriber_id"], *extras, "migrated")
        migrated = SQL(
            """EXISTS (SELECT 1 FROM bss_import_link l WHERE l.company_id = %s AND l.object = 'subscribers'
                       AND l.source_key = s.subscriber_id)""",
            self.company.id,
        )
        profiles, statuses, shown = Counter(), Counter(), []
        order = SQL('s.subscriber_id COLLATE "C", s.imsi COLLATE "C"')

        def rows_():
            for values, in_odoo in self._rows("aaa_hss", migrated, order) if has else ():
                row = (
                    values.get("subscriber_id"),
                    *(values.get(c) for c in canonical if c != "subscriber_id"),
                    *(values.get(x) for x in extras),
                    "yes" if in_odoo else "no",
                )
                profiles[values.get("auth_profile") or ""] += 1
                statuses[values.get("hss_status") or ""] += 1
                if len(shown) < doc.HTML_ROWS:
                    shown.append(row)
                yield row

        count = self._write(stream, columns, rows_())
        return doc.Document(
            name="aaa_hss_identifiers",
            title="AAA/HSS identifier inventory",
            audience="the network team, to provision the lines on the new HSS/AAA",
            intro=[
                "The identifiers each line is provisioned with: IMSI, MSISDN, access point, authentication "
                "profile, status, and any other identifier column of the export (device ids) as it is. "
                "migrated says whether the line is in Odoo.",
                "No secret is in it: SIM keys, PIN/PUK codes and passwords were dropped when the export was "
                "staged and never stored. The dropped columns are listed below and in the dropped secret "
                "columns inventory (header and kind only, never a value).",
            ],
            sections=[
                doc.Section("Dropped secret columns", columns=DROPPED_COLUMNS, rows=self._dropped()),
                doc.Section(
                    "Lines by authentication profile",
                    columns=("auth_profile", "lines"),
                    rows=sorted(profiles.items()),
                ),
                doc.Section(
                    "Lines by HSS status", columns=("hss_status", "lines"), rows=sorted(statuses.items())
                ),
                doc.Section("Identifiers", columns=columns, rows=shown, total_rows=count),
            ],
            csv_columns=columns,
            csv_rows=count,
        )

    def _dropped(self):
        rows = []
        for file in self.run.file_ids.sorted("name"):
            for line in file.mapping_line_ids.sorted("column_index"):
                if line.action == "drop":
                    rows.append((file.name, file.table or "", line.header, line.secret_kind or "secret"))
        return rows

    def dropped_secret_columns(self, stream):
        """The columns dropped at staging as secrets: where and why, never a value."""
        rows = self._dropped()
        count = self._write(stream, DROPPED_COLUMNS, rows)
        return doc.Document(
            name="dropped_secret_columns",
            title="Secret columns dropped at staging",
            audience="security and the network team (SIM keys come again from the SIM vendor, not the BSS)",
            intro=[
                "Columns the export held that are secrets (SIM keys Ki/OPc, PIN/PUK codes, passwords, card "
                "numbers). They were dropped when the export was staged: no value was stored, logged or "
                "shown."
            ],
            sections=[doc.Section("Columns", columns=DROPPED_COLUMNS, rows=rows)],
            csv_columns=DROPPED_COLUMNS,
            csv_rows=count,
        )

    def network_elements(self, stream):
        """The network elements, with the subscriber groups of the run they serve."""
        has, extras = self._has("network_elements"), self._extras("network_elements")
        canonical = [c.name for c in schema.TABLES["network_elements"].columns]
        columns = (*canonical, *extras)
        by_type, rows = Counter(), []

        def rows_():
            for (values,) in self._rows("network_elements") if has else ():
                row = (*(values.get(c) for c in canonical), *(values.get(x) for x in extras))
                by_type[(values.get("element_type") or "", values.get("site") or "")] += 1
                if len(rows) < doc.HTML_ROWS:
                    rows.append(row)
                yield row

        count = self._write(stream, columns, rows_())
        groups = self._lines_by_group()
        return doc.Document(
            name="network_elements",
            title="Network element mapping list",
            audience="the network team, to point the new BSS/OCS at the network",
            intro=[
                "The network nodes (MSC, GGSN/PGW, HSS, SMSC...) the legacy BSS talks to, with their host, "
                "address, site, vendor and release, and every other column of the export as it is. A node's "
                "subscriber group is named by the export only where it has a column for it (kept in the "
                "list); "
                "the subscriber groups of the run (service type and plan of the migrated lines) are listed "
                "below for the network team to assign."
            ],
            sections=[
                doc.Section(
                    "Elements by type and site",
                    columns=("element_type", "site", "elements"),
                    rows=[(t, s, n) for (t, s), n in sorted(by_type.items())],
                ),
                doc.Section(
                    "Subscriber groups of the run",
                    columns=("service_type", "plan_code", "lines"),
                    rows=groups,
                ),
                doc.Section("Elements", columns=columns, rows=rows, total_rows=count),
            ],
            csv_columns=columns,
            csv_rows=count,
        )

    def usage_summary(self, stream):
        """Per migrated line: its last usage and totals (as on the contact) and the rating cutover point."""
        columns = USAGE_COLUMNS
        contacts = SQL(
            """SELECT l.source_key, p.x_msisdn, p.x_service_type, p.x_last_usage_date,
                      p.x_total_voice_minutes::text, p.x_total_data_mb::text, p.x_total_sms_count,
                      (SELECT max(m.invoice_date) FROM account_move m
                        WHERE m.partner_id = p.parent_id AND m.move_type = 'out_invoice'
                          AND m.state = 'posted')
                 FROM bss_import_link l JOIN res_partner p ON p.id = l.res_id
                WHERE l.company_id = %s AND l.object = 'subscribers' AND l.source_key IN (%s)
                ORDER BY l.source_key COLLATE "C" """,
            self.company.id,
            _subscriber_keys(self.ctx),
        )
        usage = iter(self._usage_summaries())
        pending = next(usage, None)
        stats = Counter()
        bounds = {}
        shown = []

        def rows_():
            nonlocal pending
            for key, msisdn, service, last_usage, voice, data, sms, invoiced in _stream(
                self.cr, f"bss_inventory_{self.run.id}_lines", contacts
            ):
                while pending is not None and pending[0] < key:
                    pending = next(usage, None)
                months = {}
                if pending is not None and pending[0] == key:
                    months = pending[1]
                point, basis = doc.rating_cutover(
                    service == "mobile_prepaid", invoiced, months.get("last_charged")
                )
                stats[basis or "none"] += 1
                if point is not None:
                    day = point.date() if isinstance(point, datetime.datetime) else point
                    bounds["first"] = min(bounds.get("first", day), day)
                    bounds["last"] = max(bounds.get("last", day), day)
                month_list = sorted(months.get("months", ()))
                row = (
                    key,
                    msisdn,
                    service,
                    last_usage,
                    voice,
                    data,
                    sms,
                    len(month_list),
                    month_list[0] if month_list else None,
                    month_list[-1] if month_list else None,
                    months.get("last_event"),
                    invoiced,
                    point,
                    basis,
                )
                if len(shown) < doc.HTML_ROWS:
                    shown.append(row)
                yield row

        count = self._write(stream, columns, rows_())
        return doc.Document(
            name="usage_summary",
            title="Usage and CDR summary, with the rating cutover point",
            audience="the billing and OCS teams: where rating resumes on the new system",
            intro=[
                "Per migrated line of the run: its last usage date and lifetime totals as the contact shows "
                "them (the subscribers phase wrote them), the usage months the export summarises, and the "
                "rating cutover point: the new OCS rates every event after it.",
                "A prepaid line was charged in real time by the OCS: its usage is settled up to its last "
                "charged event, and rating resumes after it (basis ocs). Any other line is billed monthly in "
                "arrears: its usage is settled up to the end of the last month its billing account's last "
                "invoice billed (basis invoice). basis none: no charged event or invoice, so the new system "
                "rates the line's usage from its start.",
            ],
            sections=[
                doc.Section(
                    "Lines by basis of the cutover point",
                    columns=("basis", "lines"),
                    rows=sorted(stats.items()),
                ),
                doc.Section(
                    "Range of the cutover points",
                    columns=("earliest", "latest"),
                    rows=[(bounds["first"], bounds["last"])] if bounds else [],
                ),
                doc.Section("Lines", columns=columns, rows=shown, total_rows=count),
            ],
            csv_columns=columns,
            csv_rows=count,
        )

    def _usage_summaries(self):
        """Yield (subscriber id, {months, last_event, last_charged}) in byte order of the id."""
        if not self._has("usage"):
            return
        usage = Staged(self.ctx, "usage")
        lines = usage.lines
        current, acc = None, None
        for row in usage.rows():
            sub = row.values.get("subscriber_id")
            if sub is None:
                continue
            if sub != current:
                if current is not None:
                    yield current, acc
                current, acc = sub, {"months": set()}
            parsed = {}
            for name in ("usage_month", "last_event", "charged_amount"):
                raw = row.values.get(name)
                if raw is None or name not in lines:
                    continue
                try:
                    parsed[name] = usage.convert(lines[name], name, raw)
                except ValueError:
                    continue
            month = parsed.get("usage_month")
            if not month:
                continue
            if isinstance(month, datetime.datetime):
                month = month.date()
            acc["months"].add(month.replace(day=1))
            event = parsed.get("last_event")
            if event:
                acc["last_event"] = max(acc.get("last_event", event), event)
                if parsed.get("charged_amount"):
                    acc["last_charged"] = max(acc.get("last_charged", event), event)
        if current is not None:
            yield current, acc

    def bundle_definitions(self, stream):
        """The tariff logic of the export, plan by plan: allowances, add-ons, columns Odoo did not take."""
        has_plans, has_catalog = self._has("service_plans"), self._has("product_catalog")
        catalog_extras = self._extras("product_catalog")
        addons_of, addon_rows = {}, []
        for (values,) in self._rows("product_catalog") if has_catalog else ():
            if values.get("plan_code") or (values.get("product_type") or "").lower() == "addon":
                text = f"{values.get('product_code')} {values.get('product_name') or ''} " + (
                    f"({values.get('price')} {values.get('currency') or ''})".strip()
                )
                addons_of.setdefault(values.get("plan_code") or "", []).append(text.strip())
                addon_rows.append(
                    (
                        values.get("product_code"),
                        values.get("product_name"),
                        values.get("product_type"),
                        values.get("plan_code") or "(any plan)",
                        values.get("price"),
                        values.get("currency"),
                        values.get("active"),
                        *(values.get(x) for x in catalog_extras),
                    )
                )
        lines = self._lines_by_plan()
        pcrf = {}
        for (values,) in self._rows("pcrf_rules") if self._has("pcrf_rules") else ():
            pcrf.setdefault(values.get("plan_code"), []).append(values.get("rule_id") or "")
        extras = self._extras("service_plans")
        samples = {x: [] for x in extras}
        columns = (*BUNDLE_COLUMNS, *extras)
        shown = []

        def allowance(values, name, unit):
            if (values.get(f"{name}_unlimited") or "").lower() in ("true", "1", "yes", "y", "t"):
                return "unlimited"
            amount = values.get(f"{name}_minutes" if name == "voice" else f"{name}_{unit}")
            return f"{amount} {unit}" if amount else ""

        def rows_():
            for (values,) in self._rows("service_plans") if has_plans else ():
                code = values.get("plan_code")
                for x in extras:
                    value = values.get(x)
                    if value and value not in samples[x] and len(samples[x]) < SAMPLE_VALUES:
                        samples[x].append(value)
                row = (
                    code,
                    values.get("plan_name"),
                    values.get("service_type"),
                    values.get("price"),
                    values.get("currency"),
                    values.get("validity_days"),
                    allowance(values, "voice", "minutes"),
                    allowance(values, "data", "mb"),
                    allowance(values, "sms", "count"),
                    values.get("active"),
                    lines.get(code, 0),
                    "; ".join(addons_of.get(code, ())),
                    " ".join(pcrf.get(code, ())),
                    *(values.get(x) for x in extras),
                )
                if len(shown) < doc.HTML_ROWS:
                    shown.append(row)
                yield row

        count = self._write(stream, columns, rows_())
        custom = self._custom_fields(("service_plans", "product_catalog", "plan", "product", "tariff"))
        return doc.Document(
            name="bundle_definitions",
            title="Bundle and tariff definitions",
            audience="the product manager, to rebuild the tariff logic in pricelists and products",
            intro=[
                "The plans became products with their allowances; the logic around them did not: "
                "cross-service add-ons and discounts, rollover of unused allowances, fair-use policies, "
                "and any tariff column of the export no Odoo field takes. This document lists them, plan by "
                "plan.",
            ],
            sections=[
                doc.Section("Plans", columns=columns, rows=shown, total_rows=count),
                doc.Section(
                    "Add-ons and cross-service products",
                    columns=ADDON_COLUMNS + tuple(catalog_extras),
                    rows=addon_rows,
                ),
                doc.Section(
                    "Tariff columns no Odoo field takes",
                    paragraphs=[
                        "Kept as text in the CSV; a few of their values, to judge the rule they hold."
                    ],
                    columns=("column", "values"),
                    rows=[(x, " | ".join(samples[x])) for x in extras],
                ),
                doc.Section(
                    "Legacy custom fields of plans and products",
                    columns=("object", "field_code", "field_label", "field_type", "selection_values"),
                    rows=custom,
                ),
            ],
            csv_columns=columns,
            csv_rows=count,
        )

    def _custom_fields(self, objects):
        rows = []
        for (values,) in self._rows("custom_fields") if self._has("custom_fields") else ():
            obj = (values.get("object_name") or "").lower()
            if any(word in obj for word in objects):
                rows.append(
                    (
                        values.get("object_name"),
                        values.get("field_code"),
                        values.get("field_label"),
                        values.get("field_type"),
                        values.get("selection_values"),
                    )
                )
        return rows

    def manual_rebuild(self, stream):
        """Workflows, automations and rating rules named in the export: rebuilt by hand, not migrated."""
        items = []
        for (values,) in self._rows("pcrf_rules") if self._has("pcrf_rules") else ():
            items.append(
                (
                    "policy rule",
                    f"{values.get('rule_id')} {values.get('rule_name') or ''}".strip(),
                    "pcrf_rules",
                    f"{doc.pcrf_trigger(values)}: {values.get('action')}",
                    "network team",
                )
            )
        for file in self.run.file_ids.sorted("name"):
            if not file.table or not file.include:
                items.append(
                    (
                        self._kind(file.name, "file not migrated"),
                        file.name,
                        "export",
                        "excluded by the operator" if file.table else "holds no table of the export",
                        "migration lead",
                    )
                )
            for line in file.mapping_line_ids.sorted("column_index"):
                if line.action == "skip":
                    items.append(
                        (
                            self._kind(line.header, "column not migrated"),
                            line.header,
                            file.name,
                            "not imported (mapping: do not import)",
                            "migration lead",
                        )
                    )
        for entry in (self.run.skipped_files or "").splitlines():
            name, _sep, reason = entry.partition(": ")
            items.append((self._kind(name, "file not read"), name, "export", reason, "migration lead"))
        count = self._write(stream, REBUILD_COLUMNS, items)
        kinds = Counter(item[0] for item in items)
        return doc.Document(
            name="manual_rebuild",
            title="Manual-rebuild items",
            audience="the migration lead, to assign each item to the team that rebuilds it",
            intro=[
                "What the export names but no phase migrates: policy and rating rules, files of workflows or "
                "automations, and columns the mapping did not import. Each item is rebuilt by hand in Odoo "
                "(automated actions, pricelists) or on the network, or signed off as not needed.",
            ],
            sections=[
                doc.Section("Items by kind", columns=("kind", "items"), rows=sorted(kinds.items())),
                doc.Section("Items", columns=REBUILD_COLUMNS, rows=items),
            ],
            csv_columns=REBUILD_COLUMNS,
            csv_rows=count,
        )

    @staticmethod
    def _kind(name, default):
        for kind, words in _REBUILD_WORDS:
            if words.search(name or ""):
                return kind
        return default

    #: The inventories, in the order they are written.
    BUILDERS = (
        "pcrf_policies",
        "aaa_hss_identifiers",
        "dropped_secret_columns",
        "network_elements",
        "usage_summary",
        "bundle_definitions",
        "manual_rebuild",
    )


DROPPED_COLUMNS = ("file", "table", "column", "kind")
USAGE_COLUMNS = (
    "subscriber_id",
    "msisdn",
    "service_type",
    "last_usage_date",
    "total_voice_minutes",
    "total_data_mb",
    "total_sms_count",
    "usage_months",
    "first_usage_month",
    "last_usage_month",
    "last_event",
    "last_invoice_date",
    "rating_cutover_point",
    "basis",
)
BUNDLE_COLUMNS = (
    "plan_code",
    "plan_name",
    "service_type",
    "price",
    "currency",
    "validity_days",
    "voice",
    "data",
    "sms",
    "active",
    "migrated_lines",
    "add_ons",
    "pcrf_rules",
)
ADDON_COLUMNS = ("product_code", "product_name", "product_type", "plan_code", "price", "currency", "active")
REBUILD_COLUMNS = ("kind", "name", "source", "detail", "owner")
