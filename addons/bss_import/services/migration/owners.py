"""The run's owner mapping, read by the phases: legacy owner ids -> Odoo users and sales teams.

The operator confirms the mapping table (``bss.import.owner.map``) before the
migration, as the column mapping; a phase asks this reader for the user or the
team of a legacy id. An id the table does not map gives nothing (the record
keeps no owner, the interaction is authored by the *Legacy BSS* contact) and is
listed as a finding of the run when the mapping is confirmed.
"""

LEGACY_AUTHOR_XMLID = "bss_import.partner_legacy_bss"


class Owners:
    """{legacy owner id: (user id, team id)} of a run's confirmed owner mapping, read once."""

    def __init__(self, ctx):
        self.env = ctx.env
        self._map = {}
        self._partners = {}
        self._legacy = None
        lines = self.env["bss.import.owner.map"].search_read(
            [("run_id", "=", ctx.source.id)], ["owner_key", "user_id", "team_id"]
        )
        for line in lines:
            self._map[line["owner_key"].strip().upper()] = (
                line["user_id"] and line["user_id"][0] or False,
                line["team_id"] and line["team_id"][0] or False,
            )

    @staticmethod
    def _key(key):
        return (key or "").strip().upper()

    def user_id(self, key):
        """The Odoo user the legacy id is mapped to (False: unmapped or mapped to a team only)."""
        return self._map.get(self._key(key), (False, False))[0]

    def team_id(self, key):
        """The sales team the legacy id is mapped to, or False."""
        return self._map.get(self._key(key), (False, False))[1]

    def is_mapped(self, key):
        return any(self._map.get(self._key(key), (False, False)))

    def author_partner_id(self, key):
        """The partner a message of the legacy user ``key`` is authored by: the mapped user's, else
        the *Legacy BSS* contact."""
        user = self.user_id(key)
        if not user:
            return self.legacy_partner_id()
        if user not in self._partners:
            self._partners[user] = self.env["res.users"].browse(user).partner_id.id
        return self._partners[user]

    def legacy_partner_id(self):
        """The *Legacy BSS* contact: the author of what no mapped user wrote."""
        if self._legacy is None:
            partner = self.env.ref(LEGACY_AUTHOR_XMLID, raise_if_not_found=False)
            if not partner:
                partner = self.env["res.partner"].search([("name", "=", "Legacy BSS")], limit=1) or self.env[
                    "res.partner"
                ].create({"name": "Legacy BSS", "is_company": True})
            self._legacy = partner.id
        return self._legacy
