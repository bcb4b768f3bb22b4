from odoo import _, models
from odoo.exceptions import MissingError

from ..lib import mapping, schema


class BssImportRunUi(models.Model):
    """What the web client of an import run needs beyond the steps themselves.

    A separate file because it holds no rule of a run: ``bss_import_run.py``
    owns the state machine, the checks and the steps; this file only shapes
    their results for the screens, so reading the rules never means wading
    through presentation code.

    The step-by-step wizard (client action ``bss_import.import_wizard``) reads
    the whole run in one call so that each screen shows a consistent state
    after a step, and the form view opens the wizard and the report downloads.
    """

    _inherit = "bss.import.run"

    # ------------------------------------------------------------ actions
    def action_open_wizard(self):
        """Open the step-by-step import wizard on this run."""
        self.ensure_one()
        return {
            "type": "ir.actions.client",
            "tag": "bss_import.import_wizard",
            "name": _("Import %(run)s", run=self.name),
            "params": {"active_id": self.id},
            "context": {"active_id": self.id},
        }

    def _report_url_action(self, fmt):
        self.ensure_one()
        return {
            "type": "ir.actions.act_url",
            "url": f"/bss_import/report/{self.id}/{fmt}",
            "target": "download",
        }

    def action_download_report_csv(self):
        """Download the findings report as CSV."""
        return self._report_url_action("csv")

    def action_download_report_xlsx(self):
        """Download the findings report as XLSX."""
        return self._report_url_action("xlsx")

    # ------------------------------------------------------------ wizard
    def get_uploads(self):
        """The files received so far for this run: ``[{"name", "size"}]``.

        The wizard compares them with the files the operator picks: a file
        received in part resumes where it stopped instead of starting again.
        """
        self.ensure_one()
        self._check_operator()
        return [{"name": name, "size": size} for name, size in self._uploads(self._upload_dir())]

    def get_wizard_options(self):
        """Static choices of the wizard: selections, and per table its columns and standard targets."""
        self._check_operator()
        files = self.env["bss.import.file"].fields_get(["table", "object", "delimiter"], ["selection"])
        lines = self.env["bss.import.mapping.line"].fields_get(["action", "target_type"], ["selection"])
        tables = {}
        for name, table in schema.TABLES.items():
            targets = (mapping.TARGETS.get(name) or {}).get("fields") or {}
            tables[name] = {
                "object": table.object,
                "model": (mapping.TARGETS.get(name) or {}).get("model") or False,
                "columns": [
                    {"name": c.name, "meaning": c.meaning, "mandatory": c.mandatory} for c in table.columns
                ],
                "targets": {
                    canonical: {"field": spec["name"], "type": spec["type"], "string": spec["string"]}
                    for canonical, spec in targets.items()
                    if spec
                },
            }
        return {
            "tables": files["table"]["selection"],
            "objects": files["object"]["selection"],
            "delimiters": files["delimiter"]["selection"],
            "actions": lines["action"]["selection"],
            "field_types": lines["target_type"]["selection"],
            "table_info": tables,
        }

    def get_wizard_data(self):
        """The whole run as the wizard shows it, read with the caller's access rights."""
        self.ensure_one()
        self._check_operator()
        run = self.read(
            [
                "name",
                "state",
                "error_message",
                "error_state",
                "skipped_files",
                "template_id",
                "mapping_confirmed_by",
                "mapping_confirmed_date",
                "source_rows",
                "finding_count",
            ]
        )[0]
        files = self.file_ids.read(
            [
                "name",
                "include",
                "state",
                "error_message",
                "table",
                "object",
                "table_candidates",
                "encoding",
                "delimiter",
                "header_row",
                "date_format",
                "decimal_separator",
                "dropped_columns",
                "warnings",
                "rows",
                "size",
            ]
        )
        findings = self.finding_ids.read(["object", "table", "kind", "unit", "count", "description"])
        lines = self.mapping_line_ids.read(
            [
                "file_id",
                "table",
                "object",
                "model_name",
                "column_index",
                "header",
                "action",
                "canonical",
                "target_field",
                "target_type",
                "confidence",
                "evidence",
                "value_map_json",
                "suggested_action",
                "suggested_canonical",
                "suggested_field",
                "suggested_confidence",
                "suggested_type",
                "suggested_value_map_json",
                "is_edited",
            ]
        )
        templates = self.env["bss.import.mapping.template"].search_read(
            [("company_id", "=", self.company_id.id)], ["name", "line_count"]
        )
        return {
            "run": run,
            "uploads": self.get_uploads(),
            "files": files,
            "objects": [{"object": obj, "rows": n} for obj, n in self._object_rows().items()],
            "findings": findings,
            "finding_totals": self._finding_totals(),
            "lines": lines,
            "templates": templates,
            "progress": self.get_progress(),
            "migration": self._wizard_migration(),
        }

    def _wizard_migration(self):
        """The Migrate step: each phase's outcome, and the open quarantine by object and reason.

        ``blocking`` tells the screen which phase stops the next ones (a
        mismatch no Migration Manager acknowledged); ``can_acknowledge`` shows
        the acknowledge button only to those who may use it.
        """
        phases = self.phase_ids.read(
            [
                "object",
                "state",
                "date_start",
                "date_end",
                "source_rows",
                "duplicates_collapsed",
                "quarantined",
                "created",
                "updated",
                "unchanged",
                "flagged",
                "balanced",
                "checksum_match",
                "mismatch",
                "acknowledged_by",
                "acknowledged_date",
                "acknowledge_reason",
                "error_message",
            ]
        )
        for values, phase in zip(phases, self.phase_ids, strict=True):
            values["blocking"] = phase._blocking()
        quarantine = self.get_quarantine_summary() if self.phase_ids else {"open": 0, "by_object": {}}
        return {
            "phases": phases,
            "quarantine_open": quarantine["open"],
            "quarantine": [
                {"object": obj, "reason": reason, "count": count}
                for obj, reasons in quarantine["by_object"].items()
                for reason, count in sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
            ],
            "can_acknowledge": self.env.user.has_group("bss_import.bss_import_group_manager"),
        }

    def action_open_quarantine(self, object_name=None, reason=None):
        """The run's open quarantined rows, optionally of one object and first reason (removable filters)."""
        action = self.action_view_quarantine()
        context = dict(action["context"])
        if object_name:
            context["search_default_object"] = object_name
            context.pop("search_default_group_object", None)
        if reason:
            context["search_default_reason"] = reason
        action["context"] = context
        # Called through the ORM (not a button): the web client needs the views spelled out.
        action["views"] = [(False, "list"), (False, "form")]
        return action

    # ------------------------------------------------------------ CLI
    def _check_summary_access(self):
        self.ensure_one()
        self._check_operator()
        if not self.exists():
            raise MissingError(_("Import run %(id)s does not exist.", id=self.id))
        self.check_access("read")

    def get_migration_summary(self):
        """The migration's reconciliation as one JSON-ready dict (the CLI's ``status`` output).

        ``objects`` holds each phase's counts; ``control_totals`` the figures
        compared source vs Odoo (the content checksum of each phase, ``""``
        while none was computed, and the control totals the phase records);
        ``mismatches`` the phases whose counts do
        not add up, whose checksums differ or that recorded a mismatch, unless a
        Migration Manager acknowledged it.
        """
        self._check_summary_access()
        objects, control_totals = {}, {}
        mismatches = 0
        for phase in self.phase_ids:
            objects[phase.object] = {
                "source_rows": phase.source_rows,
                "duplicates_collapsed": phase.duplicates_collapsed,
                "quarantined": phase.quarantined,
                "created": phase.created,
                "updated": phase.updated,
                "unchanged": phase.unchanged,
            }
            control_totals[f"{phase.object}.checksum"] = {
                "source": phase.source_checksum or "",
                "odoo": phase.odoo_checksum or "",
            }
            # The control totals a phase records, once the migration writes them.
            for total in phase["total_ids"] if "total_ids" in phase._fields else ():
                control_totals[f"{phase.object}.{total.name}"] = {
                    "source": total.source or "",
                    "odoo": total.odoo or "",
                }
            off = not phase.balanced or not phase.checksum_match or bool(phase.mismatch)
            if off and not phase.acknowledged_date:
                mismatches += 1
        return {
            "run_id": self.id,
            "state": self.state,
            "objects": objects,
            "findings": self._finding_totals(),
            "owner_mapping": self._owner_mapping_totals(),
            "control_totals": control_totals,
            "mismatches": mismatches,
        }

    def get_quarantine_summary(self):
        """Open quarantined rows counted by object and first reason (the CLI's ``quarantine`` output)."""
        self._check_summary_access()
        groups = self.env["bss.import.quarantine"]._read_group(
            [("run_id", "=", self.id), ("state", "=", "open")], ["object", "reason"], ["__count"]
        )
        by_object = {}
        for obj, reason, count in groups:
            by_object.setdefault(obj, {})[reason or ""] = count
        return {
            "run_id": self.id,
            "open": sum(sum(reasons.values()) for reasons in by_object.values()),
            "by_object": by_object,
        }

    def action_open_cutover(self):
        """The run's OCS cutover (created on first use), in its form."""
        self.ensure_one()
        cutover = self.env["bss.import.cutover"]._for_run(self)
        return {
            "type": "ir.actions.act_window",
            "name": _("OCS cutover of %(run)s", run=self.name),
            "res_model": "bss.import.cutover",
            "res_id": cutover.id,
            "view_mode": "form",
            "target": "current",
        }
