from odoo import models

#: Context key of the migration's writes (``services/migration/base.MAIL_CONTEXT``).
NO_EMPTY_SYNC = "bss_import_no_empty_commercial_sync"


class ResPartner(models.Model):
    _inherit = "res.partner"

    def _commercial_sync_to_children(self, fields_to_sync=None):
        """Skip the empty write Odoo makes to every child contact when a field of a company that is
        not a commercial field changes, in the migration's writes only.

        ``_children_sync`` calls this with the commercial fields among the
        written ones, often none: the children are then written with no value,
        which changes nothing but their ``write_date`` (and costs one write per
        subscriber of a billing account). A delta pass that changes a billing
        account's e-mail must leave its unchanged subscribers unwritten.
        """
        if self.env.context.get(NO_EMPTY_SYNC) and fields_to_sync is not None and not fields_to_sync:
            return True
        return super()._commercial_sync_to_children(fields_to_sync)
