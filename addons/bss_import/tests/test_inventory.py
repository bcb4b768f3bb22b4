import base64
import csv
import datetime
import io

from odoo.exceptions import AccessError, MissingError, UserError
from odoo.tests import tagged

from .common import MigrationCase, subscriber
from .test_migrate_quarantine import small_export

OBJECTS = ["custom_fields", "service_plans", "product_catalog", "billing_accounts", "subscribers", "invoices"]
INVENTORIES = (
    "aaa_hss_identifiers",
    "bundle_definitions",
    "dropped_secret_columns",
    "manual_rebuild",
    "network_elements",
    "pcrf_policies",
    "usage_summary",
)
HOSTILE_HOST = "<script>alert(1)</script>"
FORMULA_SITE = '=HYPERLINK("http://x")'


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@tagged("post_install", "-at_install")
class TestInventories(MigrationCase):
    def setUp(self):
        super().setUp()
        self.folder, self.manifest = self.generate(
            "--defects", "secret_columns_dropped=6", subscribers=40, seed=41
        )
        # A network element whose text is markup and a formula; a file of automations no table holds.
        with open(self.folder / "network_elements.csv", "a", encoding="utf-8", newline="") as fh:
            csv.writer(fh, lineterminator="\n").writerow(
                ["NE99999", "PGW", HOSTILE_HOST, "10.9.9.9", FORMULA_SITE, "Acme", "1.0", "in_service"]
            )
        (self.folder / "automation_rules.csv").write_text(
            "automation,when,then\nwelcome_sms,activation,send welcome SMS\n", encoding="utf-8"
        )

    def profiled(self):
        """The export profiled, its file of automations (no table of the export) excluded by the operator."""
        run = self.new_run()
        self.upload_folder(run, self.folder)
        self.assertFalse(run.action_detect())
        run.file_ids.filtered(lambda f: f.name == "automation_rules.csv").include = False
        self.assertEqual(run.state, "detected")
        for step in (run.action_stage, run.action_profile):
            self.assertTrue(step(), run.error_message)
        return run

    def built_run(self):
        run = self.profiled()
        self.assertTrue(run.action_confirm_mapping(), run.error_message)
        run.action_migrate(OBJECTS)
        self.assertEqual(run.state, "migrated", run.error_message)
        files = run.with_user(self.operator).action_build_inventories()
        return run, files

    def contents(self, run):
        """{inventory file name (without the run's prefix): bytes}, read back piece by piece."""
        out = {}
        for info in run.get_inventories():
            data, offset = b"", 0
            while True:
                piece = run.with_user(self.operator).read_inventory(info["id"], offset, size=4096)
                data += base64.b64decode(piece["data"])
                offset += 4096
                if piece["eof"]:
                    break
            self.assertEqual(len(data), info["size"], info["name"])
            out[info["name"].split("-", 2)[-1]] = data
        return out

    def table(self, contents, name):
        return list(csv.DictReader(io.StringIO(contents[f"{name}.csv"].decode("utf-8-sig"))))

    def migrated_keys(self):
        links = (
            self.env["bss.import.link"]
            .sudo()
            .search([("company_id", "=", self.company.id), ("object", "=", "subscribers")])
        )
        return {link.source_key: link.res_id for link in links}

    # ------------------------------------------------------------------ tests
    def test_every_inventory_is_a_csv_and_a_page_attached_to_the_run(self):
        run, files = self.built_run()
        contents = self.contents(run)
        expected = {f"{name}.{ext}" for name in INVENTORIES for ext in ("csv", "html")}
        self.assertEqual(set(contents), expected)
        self.assertEqual(run.inventory_count, 14)
        self.assertEqual(sorted(f["name"] for f in files), sorted(a["name"] for a in run.get_inventories()))
        # Pages are served as HTML (though an operator built them), the rows are not copied into an index.
        attachments = self.env["ir.attachment"].sudo().browse([f["id"] for f in files])
        self.assertEqual(
            {a.name.rsplit(".", 1)[1]: a.mimetype for a in attachments},
            {"csv": "text/csv", "html": "text/html"},
        )
        self.assertEqual(set(attachments.mapped("index_content")), {"text"})
        # Building again replaces them (no second set).
        run.with_user(self.operator).action_build_inventories()
        run.invalidate_recordset(["inventory_count"])
        self.assertEqual(run.inventory_count, 14)

    def test_pcrf_manifest_counts_the_migrated_lines_of_each_rule_plan(self):
        run, _files = self.built_run()
        rules = self.table(self.contents(run), "pcrf_policies")
        source = read_csv(self.folder / "pcrf_rules.csv")
        self.assertEqual([r["rule_id"] for r in rules], sorted(r["rule_id"] for r in source))
        partners = self.env["res.partner"].sudo().browse(list(self.migrated_keys().values()))
        by_rule = {r["rule_id"]: r for r in source}
        for rule in rules:
            src = by_rule[rule["rule_id"]]
            self.assertEqual(rule["plan_code"], src["plan_code"])
            self.assertEqual(rule["action"], src["action"])
            self.assertIn(f"QCI {src['qci']}", rule["condition"])
            if src["fup_threshold_mb"]:
                self.assertIn(f"{src['fup_threshold_mb']} MB", rule["trigger"])
            on_plan = partners.filtered(lambda p, code=src["plan_code"]: p.x_plan_code == code)
            self.assertEqual(int(rule["affected_subscribers"]), len(on_plan), rule["rule_id"])
        self.assertTrue(any(int(r["affected_subscribers"]) for r in rules))

    def test_no_inventory_holds_a_secret_and_the_dropped_columns_are_named(self):
        run, _files = self.built_run()
        contents = self.contents(run)
        items = [
            item
            for entry in self.manifest["defects"]["secret_columns_dropped"]["objects"].values()
            for item in entry["items"]
        ]
        self.assertEqual(len(items), 6)
        everything = b"\n".join(contents.values()).decode("utf-8-sig")
        cells = {
            value
            for name in contents
            if name.endswith(".csv")
            for row in csv.reader(io.StringIO(contents[name].decode("utf-8-sig")))
            for value in row
        }
        for item in items:
            self.assertTrue(item["values"], item)
            for value in item["values"]:
                where = f"{item['table']}.{item['column']}"
                self.assertNotIn(value, cells, where)
                self.assertNotIn(value.lstrip("'="), cells, where)
                if len(value) >= 8:
                    # Keys, card numbers, passwords: not even inside a text (a 4-digit PIN is inside dates).
                    self.assertNotIn(value, everything, where)
        dropped = {(r["file"], r["column"]) for r in self.table(contents, "dropped_secret_columns")}
        self.assertEqual(dropped, {(item["file"], item["column"]) for item in items})
        page = contents["aaa_hss_identifiers.html"].decode()
        for item in items:
            self.assertIn(f"<td>{item['column']}</td>", page)

    def test_aaa_hss_lists_identifiers_and_says_which_lines_are_in_odoo(self):
        run, _files = self.built_run()
        rows = self.table(self.contents(run), "aaa_hss_identifiers")
        source = read_csv(self.folder / "aaa_hss.csv")
        self.assertEqual(len(rows), len(source))
        self.assertNotIn("ki", rows[0])
        self.assertNotIn("opc", rows[0])
        keys = self.migrated_keys()
        by_imsi = {r["imsi"]: r for r in rows}
        for src in source:
            row = by_imsi[src["imsi"]]
            self.assertEqual((row["subscriber_id"], row["msisdn"]), (src["subscriber_id"], src["msisdn"]))
            self.assertEqual(row["migrated"], "yes" if src["subscriber_id"] in keys else "no")
        self.assertIn("yes", {r["migrated"] for r in rows})

    def test_usage_summary_gives_each_line_its_rating_cutover_point(self):
        run, _files = self.built_run()
        rows = {r["subscriber_id"]: r for r in self.table(self.contents(run), "usage_summary")}
        keys = self.migrated_keys()
        self.assertEqual(set(rows), set(keys))
        usage = {}
        for u in read_csv(self.folder / "usage.csv"):
            usage.setdefault(u["subscriber_id"], []).append(u)
        Partner = self.env["res.partner"].sudo()
        Move = self.env["account.move"].sudo()
        bases = set()
        for key, res_id in keys.items():
            partner, row = Partner.browse(res_id), rows[key]
            self.assertEqual(row["msisdn"], partner.x_msisdn)
            self.assertEqual(row["last_usage_date"], str(partner.x_last_usage_date or ""))
            months = usage.get(key, [])
            self.assertEqual(int(row["usage_months"]), len({u["usage_month"] for u in months}))
            invoices = Move.search(
                [
                    ("partner_id", "=", partner.parent_id.id),
                    ("move_type", "=", "out_invoice"),
                    ("state", "=", "posted"),
                ]
            )
            charged = [u["last_event"] for u in months if u["charged_amount"] and float(u["charged_amount"])]
            if partner.x_service_type == "mobile_prepaid":
                expected = ("ocs", max(charged)) if charged else ("", "")
            elif invoices:
                last_invoice = max(invoices.mapped("invoice_date"))
                # Monthly in arrears: the end of the month before the invoice's, or its own month end.
                following = last_invoice + datetime.timedelta(days=1)
                through = (
                    last_invoice
                    if following.day == 1
                    else last_invoice.replace(day=1) - datetime.timedelta(days=1)
                )
                expected = ("invoice", str(through))
            else:
                expected = ("", "")
            self.assertEqual((row["basis"], row["rating_cutover_point"]), expected, key)
            bases.add(row["basis"])
        self.assertEqual(bases, {"invoice", "ocs"})

    def test_network_elements_bundles_and_rebuild_items(self):
        run, _files = self.built_run()
        contents = self.contents(run)
        elements = self.table(contents, "network_elements")
        self.assertEqual(len(elements), len(read_csv(self.folder / "network_elements.csv")))
        hostile = next(e for e in elements if e["element_id"] == "NE99999")
        self.assertEqual((hostile["hostname"], hostile["site"]), (HOSTILE_HOST, "'" + FORMULA_SITE))
        page = contents["network_elements.html"].decode()
        self.assertNotIn(HOSTILE_HOST, page)
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;", page)

        plans = self.table(contents, "bundle_definitions")
        source_plans = read_csv(self.folder / "service_plans.csv")
        self.assertEqual(sorted(p["plan_code"] for p in plans), sorted(p["plan_code"] for p in source_plans))
        addons = [p for p in read_csv(self.folder / "product_catalog.csv") if p["plan_code"]]
        for addon in addons:
            plan = next(p for p in plans if p["plan_code"] == addon["plan_code"])
            self.assertIn(addon["product_code"], plan["add_ons"])
        rules = read_csv(self.folder / "pcrf_rules.csv")
        for rule in rules:
            plan = next(p for p in plans if p["plan_code"] == rule["plan_code"])
            self.assertIn(rule["rule_id"], plan["pcrf_rules"].split())

        items = self.table(contents, "manual_rebuild")
        self.assertEqual(sum(i["kind"] == "policy rule" for i in items), len(rules))
        automation = [i for i in items if i["name"] == "automation_rules.csv"]
        self.assertEqual(
            [(i["kind"], i["source"]) for i in automation], [("workflow or automation", "export")]
        )

    def test_a_vendor_dialect_is_read_through_its_mapping(self):
        """Pipe and tab files, camel-case headers, compact dates, 1/0 booleans, and a column of the
        vendor's own in the network elements: each inventory reads them through the mapping."""
        folder, _manifest = self.generate("--dialect", "legacy-pipe", subscribers=40, seed=42)
        [export] = [p for p in folder.iterdir() if p.is_dir()]
        nodes = export / "dbss_nodes.tsv"
        text = nodes.read_text(encoding="utf-8-sig").splitlines()
        nodes.write_text(
            "\n".join(
                [text[0] + "\tPoolGroup"] + [f"{line}\tPOOL-{n % 3}" for n, line in enumerate(text[1:])]
            )
            + "\n",
            encoding="utf-8",
        )
        run = self.confirmed_run(folder=folder)
        run.action_migrate(OBJECTS)
        self.assertEqual(run.state, "migrated", run.error_message)
        run.with_user(self.operator).action_build_inventories()
        contents = self.contents(run)

        def source(name, delimiter):
            with open(export / name, newline="", encoding="utf-8-sig") as fh:
                return list(csv.DictReader(fh, delimiter=delimiter))

        rules = self.table(contents, "pcrf_policies")
        policy = source("dbss_policy.txt", "|")
        self.assertEqual(
            sorted((r["rule_id"], r["plan_code"]) for r in rules),
            sorted((p["RuleId"], p["Tariff"]) for p in policy),
        )
        elements = self.table(contents, "network_elements")
        self.assertEqual(
            {e["element_id"]: e["PoolGroup"] for e in elements},
            {n["ElementId"]: n["PoolGroup"] for n in source("dbss_nodes.tsv", "\t")},
        )
        usage = {}
        for u in source("dbss_cdr_summary.tsv", "\t"):
            usage.setdefault(u["SubscriberId"], []).append(u)
        rows = {r["subscriber_id"]: r for r in self.table(contents, "usage_summary")}
        Partner = self.env["res.partner"].sudo()
        prepaid = 0
        for key, res_id in self.migrated_keys().items():
            months = usage.get(key, [])
            self.assertEqual(int(rows[key]["usage_months"]), len({u["UsageMonth"] for u in months}), key)
            if Partner.browse(res_id).x_service_type != "mobile_prepaid":
                continue
            charged = [
                datetime.datetime.strptime(u["LastEvent"], "%Y%m%d%H%M%S")
                for u in months
                if u["ChargedAmount"] and float(u["ChargedAmount"])
            ]
            expected = ("ocs", str(max(charged))) if charged else ("", "")
            self.assertEqual((rows[key]["basis"], rows[key]["rating_cutover_point"]), expected, key)
            prepaid += bool(charged)
        self.assertTrue(prepaid)

    def test_an_export_without_inventory_tables_gives_empty_inventories(self):
        run = self.confirmed_run(files=small_export([subscriber(1), subscriber(2)]))
        run.action_migrate(["custom_fields", "service_plans", "billing_accounts", "subscribers"])
        self.assertEqual(run.state, "migrated", run.error_message)
        files = run.with_user(self.operator).action_build_inventories()
        self.assertEqual(len(files), 14)
        contents = self.contents(run)
        for name in ("pcrf_policies", "aaa_hss_identifiers", "network_elements", "dropped_secret_columns"):
            self.assertEqual(self.table(contents, name), [], name)
            self.assertIn('<p class="muted">None.</p>', contents[f"{name}.html"].decode())
        lines = self.table(contents, "usage_summary")
        self.assertEqual(sorted(r["subscriber_id"] for r in lines), ["S000001", "S000002"])
        self.assertEqual(
            {(r["usage_months"], r["basis"], r["rating_cutover_point"]) for r in lines}, {("0", "", "")}
        )
        plans = self.table(contents, "bundle_definitions")
        self.assertEqual(sorted(p["plan_code"] for p in plans), ["OLD5", "PRE10"])
        self.assertEqual(sum(int(p["migrated_lines"]) for p in plans), 2)

    def test_who_and_when(self):
        run = self.profiled()
        with self.assertRaises(UserError):
            run.with_user(self.operator).action_build_inventories()
        run.action_confirm_mapping()
        with self.assertRaises(AccessError):
            run.with_user(self.user_plain).action_build_inventories()
        files = run.with_user(self.operator).action_build_inventories()
        self.assertEqual(len(files), 14)
        # Before any subscriber migrated: the rules are listed, no line is on their plans yet.
        rules = self.table(self.contents(run), "pcrf_policies")
        self.assertTrue(rules)
        self.assertEqual({r["affected_subscribers"] for r in rules}, {"0"})
        with self.assertRaises(AccessError):
            run.with_user(self.user_plain).read_inventory(files[0]["id"])
        with self.assertRaises(MissingError):
            run.with_user(self.operator).read_inventory(files[0]["id"] + 10_000)
