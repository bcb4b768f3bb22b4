from odoo import models
from odoo.exceptions import UserError

from .bss_import_owner_map import EDITABLE_STATES, UNMAPPED_OWNER


class BssImportRunOwners(models.Model):
    """The owner mapping seen from its run: applied from the operator's file (the CLI) and summed up."""

    # A separate class on purpose: the run's owner mapping, next to the lines it manages.
    _inherit = "bss.import.run"  # pylint: disable=consider-merging-classes-inherited

    def action_set_owner_mapping(self, entries, source="owner mapping"):
        """Map legacy owner ids from ``entries``: [(row number, legacy id, user, team)] where ``user``
        is a login or e-mail of an internal user and ``team`` a sales team's name (either may be
        empty: the id stays unmapped). Returns how many lines changed.

        All or nothing: the first entry naming an id the export does not name, a user or a team
        that does not exist (or is ambiguous) raises an error naming ``source``, the row and the
        field, and no line is changed.
        """
        self.ensure_one()
        self._check_operator()
        self._lock()
        if self.state not in EDITABLE_STATES:
            raise UserError(
                self.env._(
                    "Run %(run)s: the owner mapping is edited before the mapping is confirmed.", run=self.name
                )
            )
        lines = {line.owner_key.upper(): line for line in self.owner_map_ids}
        Users = self.env["res.users"].with_context(active_test=True)
        Teams = self.env["crm.team"]
        changes = []
        for row, key, user_ref, team_ref in entries:
            where = self.env._("%(file)s, row %(row)s", file=source, row=row)
            line = lines.get((key or "").strip().upper())
            if not line:
                raise UserError(
                    self.env._(
                        "%(where)s, field legacy_id: %(key)r is not an owner id of the export.",
                        where=where,
                        key=key,
                    )
                )
            vals = {"user_id": False, "team_id": False}
            user_ref, team_ref = (user_ref or "").strip(), (team_ref or "").strip()
            if user_ref:
                users = Users.search(
                    [
                        ("share", "=", False),
                        ("company_ids", "in", self.company_id.id),
                        "|",
                        ("login", "=ilike", user_ref),
                        ("email", "=ilike", user_ref),
                    ]
                )
                if len(users) != 1:
                    raise UserError(
                        self.env._(
                            "%(where)s, field user: %(ref)r is %(what)s internal user of company "
                            "%(company)s.",
                            where=where,
                            ref=user_ref,
                            what=self.env._("no") if not users else self.env._("more than one"),
                            company=self.company_id.name,
                        )
                    )
                vals["user_id"] = users.id
            if team_ref:
                teams = Teams.search(
                    [("name", "=ilike", team_ref), ("company_id", "in", (False, self.company_id.id))]
                )
                if len(teams) != 1:
                    raise UserError(
                        self.env._(
                            "%(where)s, field team: %(ref)r is %(what)s sales team of company %(company)s.",
                            where=where,
                            ref=team_ref,
                            what=self.env._("no") if not teams else self.env._("more than one"),
                            company=self.company_id.name,
                        )
                    )
                vals["team_id"] = teams.id
            if (line.user_id.id, line.team_id.id) != (vals["user_id"], vals["team_id"]):
                changes.append((line, vals))
        for line, vals in changes:
            line.write(vals)
        if changes:
            self._message_log(
                body=self.env._(
                    "Owner mapping: %(count)s line(s) set from %(file)s by %(user)s.",
                    count=len(changes),
                    file=source,
                    user=self.env.user.name,
                )
            )
        return len(changes)

    def get_owner_mapping(self):
        """The owner mapping as JSON-ready rows (the CLI's output): id, type, name, rows, user, team."""
        self.ensure_one()
        self.check_access("read")
        return [
            {
                "legacy_id": line.owner_key,
                "type": line.owner_type or "",
                "name": line.owner_name or "",
                "rows": line.references,
                "user": line.user_id.login or "",
                "team": line.team_id.name or "",
                "mapped": line.is_mapped,
            }
            for line in self.owner_map_ids
        ]

    def _owner_mapping_totals(self):
        """{owners, mapped, unmapped, unmapped_rows} of the run's owner mapping."""
        lines = self.owner_map_ids
        mapped = lines.filtered("is_mapped")
        return {
            "owners": len(lines),
            "mapped": len(mapped),
            "unmapped": len(lines) - len(mapped),
            "unmapped_rows": sum(
                self.finding_ids.filtered(lambda f: f.kind == UNMAPPED_OWNER).mapped("count")
            ),
        }
