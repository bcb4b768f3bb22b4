from odoo import fields, models


class TelecomWalletBucketConsumption(models.Model):
    """What one consumption operation took from one bucket."""

    _name = "telecom.wallet.bucket.consumption"
    _description = "Prepaid Allowance Consumption"
    _order = "id desc"

    operation_id = fields.Many2one("telecom.wallet.operation", required=True, index=True, ondelete="restrict")
    bucket_id = fields.Many2one("telecom.wallet.bucket", required=True, index=True, ondelete="restrict")
    company_id = fields.Many2one(related="bucket_id.company_id", store=True)
    reference = fields.Char(related="operation_id.reference")
    quantity = fields.Float(digits=(16, 3), required=True)
    unit = fields.Selection(related="bucket_id.unit")
