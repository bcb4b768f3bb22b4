import base64
import csv
import io
import json
import re

from odoo import _, fields, models
from odoo.exceptions import UserError

from ..lib import report as spreadsheet
from ..services.migration import runner
from ..services.migration.context import MigrationContext

#: Columns of the reconciliation CSV: one flat table finance can filter in a spreadsheet.
CSV_COLUMNS = ("section", "object", "key", "name", "source", "odoo", "match", "detail")
COUNT_NAMES = ("source_rows", "duplicates_collapsed", "quarantined", "created", "updated", "unchanged")
OUTCOMES = COUNT_NAMES[1:]
FORMATS = {
    "pdf": "application/pdf",
    "csv": "text/csv",
    "json": "application/json",
}
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_PLAIN_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")


def flag_kind(line):
    """The kind of one flag line: its text before the first colon, figures replaced by ``#``.

    Flags read ``"<kind>: <detail>"`` (``"unknown plan code: kept in
    x_plan_code, no plan linked"``); some name an amount in the kind itself
    (``"status paid but 12.50 still due: ..."``), which would make one group
    per amount.

    >>> flag_kind("status paid but 12.50 still due: the amounts are kept")
    'status paid but # still due'
    """
    head = line.split(":", 1)[0].strip()
    return _NUMBER.sub("#", head)


def _cell(value):
    """A CSV cell: numbers stay numbers (a negative amount is not a formula), text is neutralised."""
    if isinstance(value, str) and _PLAIN_NUMBER.match(value):
        return value
    return spreadsheet.neutralize(value)


class BssImportRunReport(models.Model):
    """The reconciliation report of a run: what operators and finance sign off on.

    One dict (:meth:`_reconciliation_data`) feeds the three formats, so the
    PDF (QWeb report ``bss_import.bss_import_run_report_reconciliation``), the
    CSV and the JSON can never disagree: per phase its state, counts and
    whether they add up, the content checksums, the control totals, the
    side-by-side sample, the mismatch and who acknowledged it; then the open
    quarantine by object and reason and the flags of the records the run
    last wrote, by kind.
    """

    # The run is split by concern (rules in bss_import_run.py, screens in
    # bss_import_run_ui.py, this report here). Naming the model as well as
    # inheriting it is the same in-place extension for Odoo; pylint-odoo's
    # consider-merging-classes-inherited skips such a class instead of asking
    # for one file of everything.
    _name = "bss.import.run"
    _inherit = "bss.import.run"

    reconciliation_csv = fields.Binary(
        compute="_compute_reconciliation_csv",
        string="Reconciliation (CSV)",
        help="Computed on download only: never stored, always the current figures.",
    )

    def _compute_reconciliation_csv(self):
        for run in self:
            run.reconciliation_csv = base64.b64encode(run._reconciliation_csv())

    # ------------------------------------------------------------ data
    def _reconciliation_data(self):
        """Everything the report shows, JSON-ready (amounts and checksums as text, dates as ISO text)."""
        self._check_summary_access()
        phases, mismatches = [], 0
        for phase in self.phase_ids:
            counted = sum(phase[name] for name in OUTCOMES)
            off = not phase.balanced or not phase.checksum_match or bool(phase.mismatch)
            mismatches += bool(off and not phase.acknowledged_date)
            phases.append(
                {
                    "object": phase.object,
                    "state": phase.state,
                    "date_start": phase.date_start.isoformat(sep=" ") if phase.date_start else None,
                    "date_end": phase.date_end.isoformat(sep=" ") if phase.date_end else None,
                    "counts": {name: phase[name] for name in COUNT_NAMES},
                    "counted": counted,
                    "balanced": phase.balanced,
                    "flagged": phase.flagged,
                    "checksum": {
                        "source": phase.source_checksum or "",
                        "odoo": phase.odoo_checksum or "",
                        "match": phase.checksum_match,
                    },
                    "control_totals": [
                        {"name": t.name, "source": t.source or "", "odoo": t.odoo or "", "match": t.match}
                        for t in phase.total_ids
                    ],
                    "sample": [
                        {
                            "key": s.source_key or "",
                            "field": s.field_name or "",
                            "source": s.source_value or "",
                            "odoo": s.odoo_value or "",
                            "differs": s.differs,
                        }
                        for s in phase.sample_ids
                    ],
                    "mismatch": phase.mismatch or None,
                    "acknowledged": {
                        "by": phase.acknowledged_by.name,
                        "date": phase.acknowledged_date.isoformat(sep=" "),
                        "reason": phase.acknowledge_reason or "",
                    }
                    if phase.acknowledged_date
                    else None,
                    "error": phase.error_message or None,
                }
            )
        quarantine = self.get_quarantine_summary()
        return {
            "run_id": self.id,
            "name": self.name,
            "company": self.company_id.name,
            "state": self.state,
            "phases": phases,
            "quarantine": {
                "open": quarantine["open"],
                "by_object": {
                    obj: dict(sorted(reasons.items(), key=lambda item: (-item[1], item[0])))
                    for obj, reasons in quarantine["by_object"].items()
                },
            },
            "flags": self._flag_counts(),
            "mismatches": mismatches,
            "reconciled": not mismatches,
        }

    def _flag_counts(self):
        """{object: {flag kind: records}} of the records this run wrote last (a record counts once
        per kind it carries)."""
        groups = self.env["bss.import.link"]._read_group(
            [("company_id", "=", self.company_id.id), ("last_run_id", "=", self.id), ("flag", "!=", False)],
            ["object", "flag"],
            ["__count"],
        )
        counts = {}
        for obj, flag, count in groups:
            kinds = {flag_kind(line) for line in flag.splitlines() if line.strip()}
            for kind in kinds:
                by_kind = counts.setdefault(obj, {})
                by_kind[kind] = by_kind.get(kind, 0) + count
        return {obj: dict(sorted(counts[obj].items())) for obj in sorted(counts, key=runner_order)}

    def _reconciliation_rows(self, data=None):
        """The report as rows of :data:`CSV_COLUMNS`."""
        data = data or self._reconciliation_data()
        rows = []
        for phase in data["phases"]:
            obj = phase["object"]
            rows.append(("phase", obj, "", "state", phase["state"], "", "", phase["error"] or ""))
            for name, value in phase["counts"].items():
                rows.append(("count", obj, "", name, value, "", "", ""))
            rows.append(
                (
                    "count",
                    obj,
                    "",
                    "source rows = duplicates + quarantined + created + updated + unchanged",
                    phase["counts"]["source_rows"],
                    phase["counted"],
                    "match" if phase["balanced"] else "differs",
                    "",
                )
            )
            checksum = phase["checksum"]
            rows.append(
                (
                    "checksum",
                    obj,
                    "",
                    "content checksum",
                    checksum["source"],
                    checksum["odoo"],
                    "match" if checksum["match"] else "differs",
                    "",
                )
            )
            for total in phase["control_totals"]:
                rows.append(
                    (
                        "control_total",
                        obj,
                        "",
                        total["name"],
                        total["source"],
                        total["odoo"],
                        "match" if total["match"] else "differs",
                        "",
                    )
                )
            for sample in phase["sample"]:
                rows.append(
                    (
                        "sample",
                        obj,
                        sample["key"],
                        sample["field"],
                        sample["source"],
                        sample["odoo"],
                        "differs" if sample["differs"] else "match",
                        "",
                    )
                )
            if phase["mismatch"]:
                ack = phase["acknowledged"]
                detail = (
                    f"acknowledged by {ack['by']} on {ack['date']}: {ack['reason']}"
                    if ack
                    else "not acknowledged"
                )
                rows.append(("mismatch", obj, "", phase["mismatch"], "", "", "differs", detail))
        for obj, reasons in data["quarantine"]["by_object"].items():
            for reason, count in reasons.items():
                rows.append(("quarantine", obj, "", reason, count, "", "", ""))
        for obj, kinds in data["flags"].items():
            for kind, count in kinds.items():
                rows.append(("flag", obj, "", kind, count, "", "", ""))
        rows.append(("run", "", "", "unacknowledged mismatches", data["mismatches"], "", "", ""))
        return rows

    def _reconciliation_csv(self):
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        for row in self._reconciliation_rows():
            writer.writerow([_cell(v) for v in row])
        # A BOM, so spreadsheet programs read UTF-8 (names with accents).
        return ("\ufeff" + buf.getvalue()).encode("utf-8")

    def _reconciliation_pdf(self):
        report = self.env.ref("bss_import.bss_import_run_report_reconciliation")
        pdf, _kind = self.env["ir.actions.report"]._render_qweb_pdf(report, self.ids)
        return pdf

    # ------------------------------------------------------------ public
    def get_reconciliation_report(self, fmt="pdf"):
        """The reconciliation report as a file: ``{"name", "mimetype", "data"}`` (data in base64).

        ``fmt`` is ``pdf`` (the QWeb report), ``csv`` (one flat table) or
        ``json`` (the dict the other two are made from). For the CLI's
        ``report`` command; Migration Operators and Managers of the run's company.
        """
        self.ensure_one()
        if fmt not in FORMATS:
            raise UserError(_("Unknown report format %(fmt)r: use pdf, csv or json.", fmt=fmt))
        self._check_summary_access()
        if fmt == "pdf":
            body = self._reconciliation_pdf()
        elif fmt == "csv":
            body = self._reconciliation_csv()
        else:
            body = json.dumps(self._reconciliation_data(), indent=2).encode()
        return {
            "name": f"{self.name.replace('/', '-')}-reconciliation.{fmt}",
            "mimetype": FORMATS[fmt],
            "data": base64.b64encode(body).decode("ascii"),
        }

    def get_migration_plan(self):
        """The phases a migration of this run would run, in order: ``[{"object", "rows"}]``.

        ``rows`` are the staged rows the phase reads (for the custom fields,
        the fields it would create). The CLI migrates phase by phase in this
        order to print its progress between phases.
        """
        self._check_summary_access()
        self._check_mapping_confirmed()
        ctx = MigrationContext(self)
        plan = []
        for cls in runner.PHASES:
            phase = cls(ctx)
            if not phase.has_rows():
                continue
            if cls.object == "custom_fields":
                # Its rows are the new fields of the mapping and the legacy definitions: a short list.
                total = len(list(phase.rows()))
            else:
                total = runner.staged_rows(ctx, phase)
            plan.append({"object": cls.object, "rows": total})
        return plan

    def action_print_reconciliation(self):
        """Download the reconciliation report as PDF."""
        self._check_summary_access()
        return self.env.ref("bss_import.bss_import_run_report_reconciliation").report_action(self)

    def action_download_reconciliation_csv(self):
        """Download the reconciliation report as CSV."""
        self._check_summary_access()
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/bss.import.run/{self.id}/reconciliation_csv/"
            f"{self.name.replace('/', '-')}-reconciliation.csv?download=true",
            "target": "download",
        }


def runner_order(obj):
    """Dependency order of an object (objects without a phase last)."""
    order = list(runner.PHASE_OF)
    return (order.index(obj) if obj in order else len(order), obj)
