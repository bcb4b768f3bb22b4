from odoo import api, models

#: Context key of the run's own generated files (inventories): their text is not indexed.
NO_INDEX = "bss_import_no_index"


class IrAttachment(models.Model):
    _inherit = "ir.attachment"

    @api.model
    def _index(self, bin_data, file_type, checksum=None):
        """No full-text index for the run's generated files that ask for none: Odoo would copy every
        printable word of a text file into ``index_content`` (an inventory of millions of lines,
        personal data among them, a second time in the database and in memory)."""
        if self.env.context.get(NO_INDEX):
            return file_type.split("/")[0] if file_type else False
        return super()._index(bin_data, file_type, checksum=checksum)
