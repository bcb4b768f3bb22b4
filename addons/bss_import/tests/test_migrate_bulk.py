import contextlib
from unittest.mock import patch

from odoo.exceptions import ValidationError
from odoo.tests import tagged
from odoo.tools import SQL

from ..services.migration import base, bulk, partner_insert
from .common import BssImportCase, subscriber

#: Columns that differ between two creations of the same values by construction.
_ASIDE = {"id", "create_date", "write_date"}


@tagged("post_install", "-at_install")
class TestMigrateBulk(BssImportCase):
    """bulk.create_partners() and partner_insert.insert_partners() (one INSERT below the ORM)
    leave the database exactly as res.partner.create() does."""

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
        self.pricelist_b = self.env["product.pricelist"].sudo().create({"name": "Legacy CHF"})
        self.account.with_company(self.company_b).property_product_pricelist = self.pricelist_b
        # A pricelist that is the default one of a country: a line in that country under an
        # account with this pricelist keeps no pricelist of its own (the inverse's rule).
        group = (
            self.env["res.country.group"]
            .sudo()
            .create({"name": "Pricing zone", "country_ids": [(6, 0, [self.env.ref("base.fr").id])]})
        )
        self.zone_pricelist = (
            self.env["product.pricelist"]
            .sudo()
            .create({"name": "Zone", "country_group_ids": [(6, 0, group.ids)]})
        )
        self.zoned = self.Partner.create(
            {
                "name": "Zoned Accounts SA",
                "is_company": True,
                "x_billing_account_number": "BA004",
                "street": "9 Rue Haute",
                "country_id": self.env.ref("base.fr").id,
                "property_product_pricelist": self.zone_pricelist.id,
                "lang": "fr_FR",
            }
        )
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
                    "parent_id": {3: self.bare, 5: self.zoned}.get(n, self.account).id,
                    "type": "other",
                    "is_company": False,
                    "company_id": self.company.id,
                    "street": row["street"],
                    "city": row["city"],
                    "zip": row["zip"],
                    "country_id": self.env.ref("base.fr" if n in (5, 6) else "base.ch").id,
                    "phone": f"+41 44 668 18 0{n}",
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
                    "x_ocs_balance": 10.125 * n,
                }
            )
        vals_list[1]["lang"] = "fr_FR"
        vals_list[1]["mobile"] = "+41 79 123 45 67"  # the first number field sanitised
        vals_list[3]["website"] = "www.example.com"
        # What COPY's text format escapes (a tab, a line break, a backslash), an HTML note, a date.
        vals_list[0]["street2"] = "Building B\tFloor 2 \\ back door\r\nGate 4"
        vals_list[2]["comment"] = "<p>Line one</p>\n<p>Line \\N two</p>"
        vals_list[4]["x_last_usage_date"] = "2024-05-01"
        vals_list[3]["country_id"] = False  # its phone read in the company's country
        # A contact whose address follows its account, and a new account: both other paths.
        vals_list.append({"name": "Billing contact", "parent_id": self.account.id, "type": "contact"})
        # A person with a company name and no parent; an invoice address without a name.
        # (a French VAT number: its e-invoicing address deduced from the VAT's country)
        vals_list.append(
            {
                "name": "Bob Freelance",
                "company_name": "Freelance Ltd",
                "email": "BOB@Example.COM",
                "vat": "FR40303265045",
            }
        )
        vals_list.append({"parent_id": self.account.id, "type": "invoice"})
        vals_list.append(
            {
                "name": "Globex Mobile",
                "is_company": True,
                "company_id": self.company.id,
                "x_billing_account_number": "BA003",
                "x_account_status": "suspended",
                "street": "1 Main Road",
                "vat": "BE0477472701",
                "peppol_eas": "9925",  # given: its endpoint follows it
            }
        )
        return vals_list

    def columns(self, records):
        """Every stored column of ``records`` and of the two accounts, read with SQL after a flush.

        A reference to the record itself (commercial partner of an account) is
        written as "self": the two creations give the records different ids.
        """
        self.env.flush_all()
        ids = [*records.ids, self.account.id, self.bare.id, self.zoned.id]
        self.env.cr.execute(SQL("SELECT * FROM res_partner WHERE id = ANY(%s) ORDER BY id", ids))
        rows = self.env.cr.dictfetchall()
        # Files (images...) are attachments, not columns: compared by field and size.
        self.env.cr.execute(
            SQL(
                """SELECT res_id, array_agg(res_field || ':' || coalesce(file_size, 0) ORDER BY res_field)
                     FROM ir_attachment WHERE res_model = 'res.partner' AND res_id = ANY(%s)
                    GROUP BY res_id""",
                ids,
            )
        )
        files = dict(self.env.cr.fetchall())
        out = []
        for row in rows:
            own = row["id"]
            out.append(
                {
                    **{
                        k: ("self" if v == own and k != "id" else v)
                        for k, v in row.items()
                        if k not in _ASIDE
                    },
                    "attachments": files.get(own),
                }
            )
        return out

    def created(self, create, sample=None):
        """The columns after ``create`` wrote the sample; everything is rolled back afterwards."""
        sample = sample if sample is not None else self.sample()
        self.env.flush_all()
        with contextlib.closing(self.env.cr.savepoint()):
            records = create(self.Partner, sample)
            self.assertEqual(len(records), len(sample))
            self.env.invalidate_all()
            return self.columns(records)

    def assertSameColumns(self, expected, got):
        self.assertEqual(len(got), len(expected))
        for exp, row in zip(expected, got, strict=True):
            self.assertEqual(
                {k: v for k, v in row.items() if v != exp[k]},
                {},
                f"{exp['name']}: columns written otherwise than by create() (expected {exp})",
            )

    def assertInherited(self, got):
        """The checks are not vacuous: the lines got their account's commercial values in both
        companies, the account without an address took its first line's, the language rules held,
        the computed columns are filled. Returns the rows by name."""
        by_name = {row["name"]: row for row in got}
        line = by_name["Zoë Müller1"]
        self.assertEqual(
            (line["vat"], line["company_registry"], line["commercial_partner_id"], line["lang"]),
            ("BE0477472701", "0477472701", self.account.id, "en_US"),
        )
        self.assertEqual(by_name["Zoë Müller2"]["lang"], "fr_FR")
        self.assertEqual(
            line["specific_property_product_pricelist"],
            {
                str(self.company.id): self.account.property_product_pricelist.id,
                str(self.company_b.id): self.pricelist_b.id,
            },
        )
        self.assertEqual(by_name["Bare Accounts Inc"]["street"], "3 High Street")
        self.assertEqual(by_name["Globex Mobile"]["commercial_partner_id"], "self")
        self.assertTrue(line["x_is_subscriber"])
        self.assertEqual(line["complete_name"], "Acme Telecom Ltd, Zoë Müller1")
        return by_name

    def insert_only(self, Model, vals_list):
        """partner_insert.insert_partners(), failing if it handed the chunk to create() instead."""
        with patch.object(bulk, "create_partners", side_effect=AssertionError("handed over to create()")):
            return partner_insert.insert_partners(Model, vals_list)

    def insertable(self):
        """The sample minus the contact that follows its account's address (create()'s own path)."""
        return [vals for vals in self.sample() if vals.get("type") != "contact"]

    def test_insert_stores_what_create_stores(self):
        """Every stored column, computed ones and company-dependent ones in both companies included."""
        expected = self.created(lambda Model, vals_list: Model.create(vals_list), self.insertable())
        copied = []
        original = partner_insert._copy

        def spy(*args):
            copied.append(original(*args))
            return copied[-1]

        with patch.object(partner_insert, "_copy", spy):
            got = self.created(self.insert_only, self.insertable())
        self.assertEqual(copied, [True])  # the rows went by COPY
        self.assertSameColumns(expected, got)
        by_name = self.assertInherited(got)
        line = by_name["Zoë Müller1"]
        self.assertEqual(line["street2"], "Building B\tFloor 2 \\ back door\r\nGate 4")
        self.assertEqual(by_name["Zoë Müller3"]["comment"], "<p>Line one</p>\n<p>Line \\N two</p>")
        self.assertEqual(line["email_normalized"], "line1@example.com")
        self.assertTrue(line["phone_sanitized"])
        self.assertEqual(by_name["Zoë Müller5"]["lang"], "fr_FR")  # its account's
        self.assertEqual(float(line["x_ocs_balance_snapshot"]), 10.13)  # telecom_wallet's inverse
        self.assertEqual(by_name["Zoë Müller4"]["website"], "http://www.example.com")
        self.assertEqual(
            set(line["property_payment_term_id"]), {str(self.company.id), str(self.company_b.id)}
        )
        # The zone's default pricelist is not kept on a line of that zone.
        self.assertIsNone(by_name["Zoë Müller5"]["specific_property_product_pricelist"])
        bob = by_name["Bob Freelance"]
        self.assertEqual(
            (bob["complete_name"], bob["commercial_company_name"], bob["email_normalized"]),
            ("Freelance Ltd, Bob Freelance", "Freelance Ltd", "bob@example.com"),
        )
        self.assertEqual(by_name[None]["complete_name"], "Acme Telecom Ltd, Invoice Address")
        # E-invoicing addresses: the account's registry (Belgian VAT), a VAT's own country, a given EAS.
        self.assertEqual((line["peppol_eas"], line["peppol_endpoint"]), ("0208", "0477472701"))
        self.assertEqual((bob["peppol_eas"], bob["peppol_endpoint"]), ("9957", "FR40303265045"))
        globex = by_name["Globex Mobile"]
        self.assertEqual((globex["peppol_eas"], globex["peppol_endpoint"]), ("9925", "BE0477472701"))
        # the mobile, the first number field (formatted or, without the phonenumbers library, as it is)
        self.assertEqual(by_name["Zoë Müller2"]["phone_sanitized"].replace(" ", ""), "+41791234567")

    def test_insert_without_a_copy_text_inserts_the_values(self):
        """A value COPY cannot take as text (a binary column, an SQL expression, a default the
        column defines) sends the rows to one INSERT ... VALUES: the same columns."""
        self.assertIsNone(partner_insert._copy_texts([b"\x00\x01"], False))
        self.assertIsNone(partner_insert._copy_texts(["a", partner_insert._DEFAULT], True))
        self.assertEqual(partner_insert._copy_texts(["a", partner_insert._DEFAULT], False), ["a", "\\N"])
        self.assertIsNone(partner_insert._copy_texts([float("nan")], False))
        expected = self.created(lambda Model, vals_list: Model.create(vals_list), self.insertable())
        with patch.object(partner_insert, "_copy_texts", return_value=None):
            got = self.created(self.insert_only, self.insertable())
        self.assertSameColumns(expected, got)
        self.assertInherited(got)

    def test_insert_leaves_nothing_to_compute(self):
        """The stored computed fields are in the INSERT: no column of a new row is computed and
        written a second time (an UPDATE of every new row) at the next flush."""
        self.env.flush_all()
        with contextlib.closing(self.env.cr.savepoint()):
            names = partner_insert._derivable(self.Partner)
            self.assertLessEqual(
                {"phone_sanitized", "peppol_eas", "peppol_endpoint", "company_registry"}, set(names)
            )
            records = self.insert_only(self.Partner, self.insertable())
            pending = {
                field.name
                for field in self.Partner._fields.values()
                if field.store and self.env.records_to_compute(field) & records
            }
            self.assertEqual(pending, set())
            # (the first-contact rule writes an address on the account without one: not a new row)
            dirty = {
                field.name
                for field in self.env.cache.get_dirty_fields()
                if field.model_name == "res.partner"
                and self.env.cache.get_dirty_records(self.Partner, field) & records
            }
            self.assertEqual(dirty, set())

    def test_insert_leaves_overridden_computations_to_odoo(self):
        """A computation another module overrides (a localisation's country deduction, its own
        registry) is not derived: Odoo computes those columns after the INSERT, and the rows are
        still create()'s."""
        foreign = {
            "peppol_eas": {"_deduce_country_code": {"l10n_xx"}},
            "peppol_endpoint": {"_deduce_country_code": {"l10n_xx"}},
        }
        with (
            patch.dict(partner_insert.DERIVED_HELPERS, foreign),
            patch.dict(
                partner_insert.DERIVED, {"company_registry": (("_compute_company_registry",), {"l10n_xx"})}
            ),
        ):
            names = partner_insert._derivable(self.Partner)
            self.assertFalse({"peppol_eas", "peppol_endpoint", "company_registry"} & set(names))
            self.assertIn("phone_sanitized", names)
            expected = self.created(lambda Model, vals_list: Model.create(vals_list), self.insertable())
            got = self.created(self.insert_only, self.insertable())
        self.assertSameColumns(expected, got)
        line = {row["name"]: row for row in got}["Zoë Müller1"]
        self.assertEqual((line["peppol_eas"], line["peppol_endpoint"]), ("0208", "0477472701"))

    def test_insert_leaves_caches_as_create(self):
        """Read right after the INSERT (no invalidation): the ORM sees the new rows and their computed
        values, and the accounts see their new lines."""
        self.env.flush_all()
        with contextlib.closing(self.env.cr.savepoint()):
            self.assertFalse(self.account.child_ids)  # in cache before the insert
            records = self.insert_only(self.Partner, self.insertable())
            line = records.filtered(lambda r: r.name == "Zoë Müller1")
            self.assertEqual(line.complete_name, "Acme Telecom Ltd, Zoë Müller1")
            self.assertEqual(line.commercial_partner_id, self.account)
            self.assertIn(line, self.account.child_ids)
            self.assertEqual(line.property_product_pricelist, self.account.property_product_pricelist)

    def test_insert_caches_what_the_rows_hold(self):
        """The values the INSERT put in the cache (as _create does: the constraints and the
        recomputations then fetch nothing) are the ones a fetch reads back from the rows."""
        self.env.flush_all()
        with contextlib.closing(self.env.cr.savepoint()):
            records = self.insert_only(self.Partner, self.insertable())
            self.env.flush_all()
            cache = self.env.cache
            columns = [f for f in self.Partner._fields.values() if f.store and f.column_type]

            def value(record, field):
                # As a read() shows it: the cache's NULL and False of an unset flag read the same.
                return field.convert_to_read(
                    field.convert_to_record(cache.get(record, field), record), record
                )

            cached = {
                (record.id, field.name): value(record, field)
                for field in columns
                for record in records
                if cache.contains(record, field)
            }
            names = {name for _id, name in cached}
            # Not vacuous: the given values, the derived ones, the unset ones.
            self.assertLessEqual(
                {"name", "parent_id", "x_msisdn", "commercial_partner_id", "active", "vat", "street"}, names
            )
            self.assertTrue({"create_date", "parent_path"}.isdisjoint(names))  # the INSERT's own
            self.env.invalidate_all()
            records.fetch([field.name for field in columns if field.name in names])
            fetched = {
                key: value(self.Partner.browse(key[0]), self.Partner._fields[key[1]]) for key in cached
            }
            self.assertEqual({k: (v, fetched[k]) for k, v in cached.items() if fetched[k] != v}, {})

    def test_insert_path_taken_only_where_it_reproduces_create(self):
        self.assertIsNone(partner_insert.blocker(self.Partner, self.insertable()))
        self.assertIn("follows its parent's address", partner_insert.blocker(self.Partner, self.sample()))
        tracked = self.Partner.with_context(tracking_disable=False)
        self.assertIn("tracking", partner_insert.blocker(tracked, self.insertable()))
        self.assertIn(
            "not a column",
            partner_insert.blocker(self.Partner, [{"name": "x", "property_product_pricelist": 1}]),
        )
        self.assertIn("not res.partner", partner_insert.blocker(self.env["res.country"], [{}]))
        # The mixed chunk still gets create()'s result (through bulk.create_partners).
        expected = self.created(lambda Model, vals_list: Model.create(vals_list))
        self.assertSameColumns(expected, self.created(partner_insert.create_contacts))

    def test_insert_refuses_what_create_refuses(self):
        """The Python constraints run on the inserted rows: a second live line with one MSISDN fails."""
        vals_list = self.insertable()
        vals_list[1]["x_msisdn"] = vals_list[0]["x_msisdn"]
        self.env.flush_all()
        with contextlib.closing(self.env.cr.savepoint()), self.assertRaises(ValidationError):
            self.insert_only(self.Partner, vals_list)
            self.env.flush_all()

    def test_bulk_creation_stores_what_create_stores(self):
        expected = self.created(lambda Model, vals_list: Model.create(vals_list))
        got = self.created(bulk.create_partners)
        self.assertEqual(len(got), 13)
        self.assertSameColumns(expected, got)
        by_name = self.assertInherited(got)
        self.assertIsNone(by_name["Billing contact"]["street"])
