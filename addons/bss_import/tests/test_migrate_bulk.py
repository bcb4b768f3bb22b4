import contextlib

from odoo.tests import tagged
from odoo.tools import SQL

from ..services.migration import base, bulk
from .common import BssImportCase, subscriber

#: Columns that differ between two creations of the same values by construction.
_ASIDE = {"id", "create_date", "write_date"}


@tagged("post_install", "-at_install")
class TestMigrateBulk(BssImportCase):
    """bulk.create_partners() leaves the database exactly as res.partner.create() does."""

    def setUp(self):
        super().setUp()
        self.Partner = (
            self.env["res.partner"].sudo().with_company(self.company).with_context(**base.MAIL_CONTEXT)
        )
        pricelist = self.env["product.pricelist"].sudo().create({"name": "Legacy EUR"})
        term = self.env.ref("account.account_payment_term_30days")
        # Accounts with commercial values of their own (VAT, registry, payment term, pricelist,
        # in this company and in the other one): their children inherit them.
        self.account = self.Partner.create(
            {
                "name": "Acme Telecom Ltd",
                "is_company": True,
                "company_id": self.company.id,
                "x_billing_account_number": "BA001",
                "x_account_status": "open",
                "vat": "BE0477472701",
                "company_registry": "0477472701",
                "property_payment_term_id": term.id,
                "property_product_pricelist": pricelist.id,
                "lang": "en_US",
            }
        )
        self.account.with_company(self.company_b).property_payment_term_id = term
        # An account without an address: its first contact gives it one (first-contact rule).
        self.bare = self.Partner.create(
            {"name": "Bare Accounts Inc", "is_company": True, "x_billing_account_number": "BA002"}
        )

    def sample(self):
        """Value lists as the migration writes them: lines under accounts, an account, odd cases."""
        vals_list = []
        for n in range(1, 7):
            row = subscriber(n)
            vals_list.append(
                {
                    "name": f"{row['first_name']} {row['last_name']}",
                    "parent_id": (self.bare if n == 3 else self.account).id,
                    "type": "other",
                    "is_company": False,
                    "company_id": self.company.id,
                    "street": row["street"],
                    "city": row["city"],
                    "zip": row["zip"],
                    "country_id": self.env.ref("base.ch").id,
                    "email": f"line{n}@example.com",
                    "x_subscriber_id": row["subscriber_id"],
                    "x_msisdn": row["msisdn"],
                    "x_imsi": row["imsi"],
                    "x_iccid": row["iccid"],
                    "x_plan_code": "UNKNOWN",
                    "x_plan_id": False,
                    "x_subscriber_status": "active",
                    "x_service_type": "mobile_prepaid",
                    "x_total_sms_count": n,
                }
            )
        vals_list[1]["lang"] = "fr_FR"
        # A contact whose address follows its account, and a new account: both other paths.
        vals_list.append({"name": "Billing contact", "parent_id": self.account.id, "type": "contact"})
        vals_list.append(
            {
                "name": "Globex Mobile",
                "is_company": True,
                "company_id": self.company.id,
                "x_billing_account_number": "BA003",
                "x_account_status": "suspended",
                "street": "1 Main Road",
            }
        )
        return vals_list

    def columns(self, records):
        """Every stored column of ``records`` and of the two accounts, read with SQL after a flush.

        A reference to the record itself (commercial partner of an account) is
        written as "self": the two creations give the records different ids.
        """
        self.env.flush_all()
        ids = [*records.ids, self.account.id, self.bare.id]
        self.env.cr.execute(SQL("SELECT * FROM res_partner WHERE id = ANY(%s) ORDER BY id", ids))
        out = []
        for row in self.env.cr.dictfetchall():
            own = row["id"]
            out.append(
                {k: ("self" if v == own and k != "id" else v) for k, v in row.items() if k not in _ASIDE}
            )
        return out

    def created(self, create):
        """The columns after ``create`` wrote the sample; everything is rolled back afterwards."""
        self.env.flush_all()
        with contextlib.closing(self.env.cr.savepoint()):
            records = create(self.Partner, self.sample())
            self.assertEqual(len(records), 8)
            self.env.invalidate_all()
            return self.columns(records)

    def test_bulk_creation_stores_what_create_stores(self):
        expected = self.created(lambda Model, vals_list: Model.create(vals_list))
        got = self.created(bulk.create_partners)
        self.assertEqual(len(got), 10)
        for exp, row in zip(expected, got, strict=True):
            self.assertEqual(
                {k: v for k, v in row.items() if v != exp[k]},
                {},
                f"{exp['name']}: columns written otherwise than by create() (expected {exp})",
            )
        # The checks are not vacuous: the lines got their account's commercial values, the
        # account without an address took its first line's, the language rules held.
        by_name = {row["name"]: row for row in got}
        line = by_name["Zoë Müller1"]
        self.assertEqual(
            (line["vat"], line["company_registry"], line["commercial_partner_id"], line["lang"]),
            ("BE0477472701", "0477472701", self.account.id, "en_US"),
        )
        self.assertEqual(by_name["Zoë Müller2"]["lang"], "fr_FR")
        self.assertEqual(
            line["specific_property_product_pricelist"],
            {str(self.company.id): self.account.property_product_pricelist.id},
        )
        self.assertEqual(by_name["Bare Accounts Inc"]["street"], "3 High Street")
        self.assertIsNone(by_name["Billing contact"]["street"])
        self.assertEqual(by_name["Globex Mobile"]["commercial_partner_id"], "self")
        self.assertTrue(line["x_is_subscriber"])
        self.assertEqual(line["complete_name"], "Acme Telecom Ltd, Zoë Müller1")
