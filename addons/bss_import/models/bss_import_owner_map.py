"""The owner mapping of a run: legacy owner, agent, dealer and user ids -> Odoo users or sales teams.

Like the column mapping, the table is proposed by the profiling step and
confirmed by the operator with the mapping: one line per legacy id the export
names (the ``owners`` table and every column that refers to it: the owner of
an account or a line, the author of an interaction, the assignee of a
scheduled one, the uploader of a document). The proposal reuses the company's
last confirmed decision for the id, else matches the owner's e-mail to a user's
login or e-mail, else a dealer's or team's name to a sales team, else a
person's name to exactly one user. A line left empty maps to nothing: at
confirmation, the rows that name an unmapped id are listed as a finding.
"""

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..lib import schema
from ..services import profiler

#: Finding kind of the rows that name an owner the mapping leaves unmapped.
UNMAPPED_OWNER = "unmapped_owner"
UNMAPPED_OWNER_LABEL = "Unmapped owner"
OWNER_TYPES = [(t, t.title()) for t in schema.OWNER_TYPES]
#: The run states in which the operator edits the owner mapping.
EDITABLE_STATES = ("staged", "profiled")


def owner_references():
    """(table, column) of every column that names a legacy owner (lib/schema.py), the owners table's
    own key first."""
    refs = [("owners", "owner_id")]
    for table in schema.TABLES.values():
        refs += [(table.name, c.name) for c in table.columns if c.ref == ("owners", "owner_id")]
    return refs


class BssImportOwnerMap(models.Model):
    _name = "bss.import.owner.map"
    _description = "Import owner mapping"
    _order = "run_id, owner_key"

    run_id = fields.Many2one("bss.import.run", required=True, ondelete="cascade", index=True, readonly=True)
    company_id = fields.Many2one(related="run_id.company_id", store=True, index=True)
    owner_key = fields.Char("Legacy ID", required=True, readonly=True)
    owner_type = fields.Selection(
        OWNER_TYPES, readonly=True, help="Empty: the id is not in the owners table."
    )
    owner_name = fields.Char("Legacy Name", readonly=True)
    email = fields.Char(readonly=True)
    references = fields.Integer(
        "Rows", readonly=True, help="Rows of the export that name this id (accounts, lines, interactions...)."
    )
    user_id = fields.Many2one(
        "res.users",
        string="Odoo User",
        domain="[('share', '=', False), ('company_ids', 'in', company_id)]",
        help="The user the legacy id becomes: salesperson of its accounts and lines, author of its notes.",
    )
    team_id = fields.Many2one(
        "crm.team",
        string="Sales Team",
        domain="[('company_id', 'in', (False, company_id))]",
        help="The sales team the legacy id becomes (a dealer, a team): sales team of its accounts and lines.",
    )
    proposal = fields.Char(readonly=True, help="Why the line was proposed as it is.")
    is_mapped = fields.Boolean("Mapped", compute="_compute_is_mapped", store=True)

    _sql_constraints = [
        ("run_owner_uniq", "UNIQUE (run_id, owner_key)", "A legacy owner id is mapped once per run."),
    ]

    @api.depends("user_id", "team_id")
    def _compute_is_mapped(self):
        for line in self:
            line.is_mapped = bool(line.user_id or line.team_id)

    def write(self, vals):
        if not self.env.su:
            if set(vals) - {"user_id", "team_id"}:
                raise AccessError(
                    self.env._("Only the Odoo user and the sales team of an owner mapping line are edited.")
                )
            if not self.env.user.has_group("bss_import.bss_import_group_user"):
                raise AccessError(self.env._("Only Migration Operators edit the owner mapping."))
            for run in self.run_id:
                if run.state not in EDITABLE_STATES:
                    raise UserError(
                        self.env._(
                            "Run %(run)s: the owner mapping is confirmed with the column mapping; "
                            "reopen the mapping to change it.",
                            run=run.name,
                        )
                    )
        return super().write(vals)

    # ------------------------------------------------------------ proposal
    @api.model
    def _propose(self, run):
        """Replace the run's owner mapping by a proposal for every legacy id its export names."""
        # sudo: the lines are written by the profiling step (the operator was checked by the step).
        Map = self.sudo()
        Map.search([("run_id", "=", run.id)]).unlink()
        found = self._legacy_ids(run)
        if not found:
            return Map
        previous = self._previous_decisions(run, list(found))
        users, teams = self._candidates(run)
        vals_list = []
        for key in sorted(found):
            info = found[key]
            user, team, why = self._match(key, info, previous, users, teams)
            vals_list.append(
                {
                    "run_id": run.id,
                    "owner_key": key,
                    "owner_type": info.get("type") if info.get("type") in schema.OWNER_TYPES else False,
                    "owner_name": info.get("name"),
                    "email": info.get("email"),
                    "references": info.get("references", 0),
                    "user_id": user,
                    "team_id": team,
                    "proposal": why,
                }
            )
        return Map.create(vals_list)

    @api.model
    def _legacy_ids(self, run):
        """{legacy id (trimmed, as written): {type, name, email, references}} of the run's staged rows."""
        staged = profiler.StagedRun(run)
        cr = self.env.cr
        found = {}
        by_upper = {}

        def entry(key):
            upper = key.upper()
            if upper not in by_upper:
                by_upper[upper] = key
                found[key] = {"references": 0}
            return found[by_upper[upper]]

        if staged.has("owners", "owner_id"):
            cols = [c for c in ("owner_id", "owner_type", "owner_name", "email") if staged.has("owners", c)]
            cr.execute(
                SQL(
                    """SELECT DISTINCT ON (owner_id) %s FROM %s s
                        WHERE owner_id IS NOT NULL ORDER BY owner_id, _file, _line""",
                    SQL(", ").join(SQL.identifier(c) for c in cols),
                    staged.source("owners", cols),
                )
            )
            for rec in cr.fetchall():
                row = dict(zip(cols, rec, strict=True))
                raw_type = row.get("owner_type")
                owner_type = (
                    raw_type and staged.canonical_values("owners", "owner_type", [raw_type])[raw_type]
                )
                entry(row["owner_id"]).update(
                    {
                        "type": owner_type or (raw_type or "").lower(),
                        "name": row.get("owner_name"),
                        "email": row.get("email"),
                    }
                )
        for table, column in owner_references()[1:]:
            if table not in staged.files or not staged.has(table, column):
                continue
            cr.execute(
                SQL(
                    "SELECT %s, COUNT(*) FROM %s s WHERE %s IS NOT NULL GROUP BY 1",
                    SQL.identifier(column),
                    staged.source(table, [column]),
                    SQL.identifier(column),
                )
            )
            for key, count in cr.fetchall():
                entry(key)["references"] += count
        return found

    @api.model
    def _previous_decisions(self, run, keys):
        """{upper key: (user id, team id)} of the company's most recent confirmed mapping of each key."""
        self.env.cr.execute(
            SQL(
                """SELECT DISTINCT ON (upper(m.owner_key)) upper(m.owner_key), m.user_id, m.team_id
                     FROM bss_import_owner_map m JOIN bss_import_run r ON r.id = m.run_id
                    WHERE r.company_id = %s AND r.id <> %s
                      AND r.state IN ('confirmed', 'migrating', 'migrated')
                      AND upper(m.owner_key) = ANY(%s)
                      AND (m.user_id IS NOT NULL OR m.team_id IS NOT NULL)
                 ORDER BY upper(m.owner_key), r.mapping_confirmed_date DESC NULLS LAST, r.id DESC""",
                run.company_id.id,
                run.id,
                [k.upper() for k in keys],
            )
        )
        return {key: (user, team) for key, user, team in self.env.cr.fetchall()}

    @api.model
    def _candidates(self, run):
        """The company's internal users and sales teams, by e-mail/login and by name (lower case)."""
        users = (
            self.env["res.users"]
            .sudo()
            .with_context(active_test=True)
            .search([("share", "=", False), ("company_ids", "in", run.company_id.id)])
        )
        by_email, by_name = {}, {}
        for user in users:
            for address in {(user.login or "").strip().lower(), (user.email or "").strip().lower()} - {""}:
                by_email.setdefault(address, set()).add(user.id)
            by_name.setdefault((user.name or "").strip().lower(), set()).add(user.id)
        teams = self.env["crm.team"].sudo().search([("company_id", "in", (False, run.company_id.id))])
        team_by_name = {}
        for team in teams:
            team_by_name.setdefault((team.name or "").strip().lower(), set()).add(team.id)
        return (by_email, by_name), team_by_name

    @api.model
    def _match(self, key, info, previous, users, teams):
        """(user id, team id, why) proposed for one legacy id."""
        if key.upper() in previous:
            user, team = previous[key.upper()]
            return user or False, team or False, self.env._("as confirmed in an earlier run of the company")
        by_email, by_name = users
        email = (info.get("email") or "").strip().lower()
        name = (info.get("name") or "").strip().lower()
        if info.get("type") in ("dealer", "team") and len(teams.get(name, ())) == 1:
            return False, next(iter(teams[name])), self.env._("the name is a sales team's")
        if email and len(by_email.get(email, ())) == 1:
            return next(iter(by_email[email])), False, self.env._("the e-mail is a user's login or e-mail")
        if name and len(by_name.get(name, ())) == 1:
            return next(iter(by_name[name])), False, self.env._("the name is one user's")
        if name and len(teams.get(name, ())) == 1:
            return False, next(iter(teams[name])), self.env._("the name is a sales team's")
        if not info.get("type"):
            return False, False, self.env._("not in the owners table: map it by hand")
        return False, False, self.env._("no user or sales team matches: map it by hand")

    # -------------------------------------------------------- confirmation
    @api.model
    def _unmapped_findings(self, run):
        """Replace the run's unmapped-owner findings: per column naming owners, the rows whose id the
        confirmed mapping leaves unmapped (one finding per table, its rows listed)."""
        Finding = self.env["bss.import.finding"].sudo()
        Finding.search([("run_id", "=", run.id), ("kind", "=", UNMAPPED_OWNER)]).unlink()
        unmapped = self.sudo().search([("run_id", "=", run.id), ("is_mapped", "=", False)])
        if not unmapped:
            return Finding
        keys = [k.upper() for k in unmapped.mapped("owner_key")]
        staged = profiler.StagedRun(run)
        cr = self.env.cr
        findings = Finding
        by_table = {}
        for table, column in owner_references()[1:]:
            if table in staged.files and staged.has(table, column):
                by_table.setdefault(table, []).append(column)
        for sequence, (table, columns) in enumerate(
            sorted(by_table.items(), key=lambda t: list(schema.TABLES).index(t[0]))
        ):
            key_cols = [c for c in schema.TABLES[table].key if staged.has(table, c)]
            src = staged.source(table, list(dict.fromkeys([*key_cols, *columns])))
            key = (
                SQL("concat_ws('/', %s)", SQL(", ").join(SQL.identifier("s", c) for c in key_cols))
                if key_cols
                else SQL("NULL::text")
            )
            parts = [
                SQL(
                    """SELECT s._file, s._line, %s AS key, %s::text AS col, %s AS value
                         FROM %s s WHERE upper(%s) = ANY(%s)""",
                    key,
                    column,
                    SQL.identifier("s", column),
                    src,
                    SQL.identifier("s", column),
                    keys,
                )
                for column in columns
            ]
            cr.execute(
                SQL(
                    """SELECT DISTINCT ON (_file, _line) _file, _line, key, col, value
                         FROM (%s) u ORDER BY _file, _line, col""",
                    SQL(" UNION ALL ").join(parts),
                )
            )
            rows = cr.fetchall()
            if not rows:
                continue
            finding = Finding.create(
                {
                    "run_id": run.id,
                    "sequence": 900 + sequence,
                    "object": schema.object_of(table),
                    "table": table,
                    "kind": UNMAPPED_OWNER,
                    "count": len(rows),
                    "description": self.env._(
                        "a row names a legacy owner that the owner mapping leaves unmapped"
                    ),
                }
            )
            cr.execute(
                SQL(
                    """INSERT INTO bss_import_finding_row
                              (finding_id, file_id, line, key, column_name, detail)
                       SELECT %s, f, l, k, c, 'owner ' || v || ' is not mapped'
                         FROM unnest(%s::int[], %s::int[], %s::varchar[], %s::varchar[], %s::varchar[])
                              AS r(f, l, k, c, v)""",
                    finding.id,
                    [r[0] for r in rows],
                    [r[1] for r in rows],
                    [r[2] for r in rows],
                    [r[3] for r in rows],
                    [r[4] for r in rows],
                )
            )
            findings |= finding
        # The rows were inserted below the ORM.
        findings.invalidate_recordset(["row_ids"])
        return findings
