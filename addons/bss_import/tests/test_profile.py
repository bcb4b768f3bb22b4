import xmlrpc.client

from odoo.tests import tagged

from .common import ACCOUNT_HEADER, SUBSCRIBER_HEADER, BssImportCase, csv_bytes, subscriber

DEFECTS = (
    "duplicate_rows=7,orphans=6,missing_mandatory=5,inconsistent_state=4,unknown_legacy_code=3,"
    "invalid_msisdn=3,invalid_imsi=2,invalid_iccid=2,encoding_damage=4,secret_columns_dropped=6"
)


@tagged("post_install", "-at_install")
class TestProfile(BssImportCase):
    def assert_matches_manifest(self, run, manifest):
        """Every injected defect is found: same count per object, and the same rows."""
        summary = run.get_profile_summary()
        for kind, injected in manifest["defects"].items():
            self.assertEqual(summary["findings"][kind], injected["total"], kind)
            for obj, detail in injected["objects"].items():
                findings = run.finding_ids.filtered(lambda f, k=kind, o=obj: f.kind == k and f.object == o)
                self.assertEqual(sum(findings.mapped("count")), detail["count"], f"{kind} in {obj}")
                if kind == "secret_columns_dropped":
                    found = {(r.file_id.name, r.column_name) for r in findings.row_ids}
                    expected = {(i["file"], i["column"]) for i in detail["items"]}
                else:
                    found = {(r.file_id.name, r.line) for r in findings.row_ids}
                    expected = {(i["file"], i["row"]) for i in detail["items"]}
                self.assertEqual(found, expected, f"rows of {kind} in {obj}")
        # Both answers travel over XML-RPC, which has no None.
        xmlrpc.client.dumps((summary, run.get_profile_report()), methodresponse=False, allow_none=False)
        # Nothing else is reported: a clean row is never flagged.
        self.assertEqual(summary["findings"]["probable_duplicate_persons"], 0)
        for fname, spec in manifest["files"].items():
            self.assertEqual(summary["files"][fname]["rows"], spec["rows"], fname)
            self.assertEqual(summary["files"][fname]["object"], spec["object"], fname)
        objects = {}
        for spec in manifest["files"].values():
            objects[spec["object"]] = objects.get(spec["object"], 0) + spec["rows"]
        self.assertEqual(summary["objects"], {o: {"source_rows": n} for o, n in objects.items()})

    def test_each_injected_defect_found_with_exact_count_in_every_dialect(self):
        for n, dialect in enumerate(("canonical", "legacy-upper", "legacy-pipe")):
            with self.subTest(dialect=dialect):
                folder, manifest = self.generate(
                    "--dialect", dialect, "--defects", DEFECTS, subscribers=250, seed=40 + n
                )
                run = self.profiled_run(folder=folder)
                self.assertEqual(run.state, "profiled")
                self.assert_matches_manifest(run, manifest)

    def test_xlsx_export(self):
        folder, manifest = self.generate("--format", "xlsx", "--defects", DEFECTS, subscribers=120, seed=3)
        run = self.profiled_run(folder=folder)
        self.assertEqual(run.file_ids.mapped("kind"), ["xlsx"] * len(run.file_ids))
        self.assert_matches_manifest(run, manifest)

    def test_clean_export_has_no_finding_but_secret_columns(self):
        folder, manifest = self.generate("--defects", "secret_columns_dropped=6", subscribers=80, seed=9)
        run = self.profiled_run(folder=folder)
        self.assertEqual(set(run.finding_ids.mapped("kind")), {"secret_columns_dropped"})
        self.assert_matches_manifest(run, manifest)

    def test_probable_duplicate_persons_reported_apart_from_duplicate_rows(self):
        subs = [
            subscriber(1),
            subscriber(2, first_name="Ana", last_name="Silva", street="5 Rua Nova", birth_date="1990-01-01"),
            # Same person (name, address, birth date; case and spaces differ) under another id.
            subscriber(3, first_name="ANA", last_name="silva ", street="5 rua nova", birth_date="1990-01-01"),
            # An exact copy of row 2: a duplicate row, not a second person.
            subscriber(2, first_name="Ana", last_name="Silva", street="5 Rua Nova", birth_date="1990-01-01"),
            # Same name and address, another birth date: a different person.
            subscriber(4, first_name="Ana", last_name="Silva", street="5 Rua Nova", birth_date="1992-01-01"),
        ]
        files = {
            "subscribers.csv": csv_bytes(
                [SUBSCRIBER_HEADER] + [[r[h] for h in SUBSCRIBER_HEADER] for r in subs]
            ),
            "billing_accounts.csv": csv_bytes(
                [
                    ACCOUNT_HEADER,
                    ["BA001", "Acme Ltd", "open", "GB123456789"],
                    ["BA002", "ACME Limited", "open", "gb 123 456 789"],
                    ["BA003", "Other Ltd", "open", "GB999999973"],
                ]
            ),
        }
        run = self.profiled_run(files=files)
        persons = self.finding(run, "subscribers", "probable_duplicate_persons")
        self.assertEqual(persons.count, 1)
        self.assertEqual(persons.row_ids.mapped("line"), [4])
        self.assertEqual(persons.row_ids.key, "S000003")
        self.assertIn("row 3", persons.row_ids.detail)
        dup = self.finding(run, "subscribers", "duplicate_rows")
        self.assertEqual((dup.count, dup.row_ids.line), (1, 5))
        companies = self.finding(run, "billing_accounts", "probable_duplicate_persons")
        self.assertEqual((companies.count, companies.row_ids.key), (1, "BA002"))

    def test_state_rule_follows_legacy_codes_and_operator_value_map(self):
        subs = [
            subscriber(1, account_number="BA001", status="ACT"),
            subscriber(2, account_number="BA002", status="A9"),
            subscriber(3, account_number="BA002", status="SUSP"),
        ]
        files = {
            "subscribers.csv": csv_bytes(
                [SUBSCRIBER_HEADER] + [[r[h] for h in SUBSCRIBER_HEADER] for r in subs]
            ),
            "billing_accounts.csv": csv_bytes(
                [ACCOUNT_HEADER, ["BA001", "Open Ltd", "O", ""], ["BA002", "Closed Ltd", "CLOSED", ""]]
            ),
        }
        run = self.profiled_run(files=files)
        # "A9" is no known code: nothing is assumed until the operator maps it.
        self.assertFalse(self.finding(run, "subscribers", "inconsistent_state"))
        status = run.mapping_line_ids.filtered(lambda ln: ln.table == "subscribers" and ln.header == "status")
        self.assertIsNone(status._value_map()["A9"])
        status.value_map_json = '{"ACT": "active", "A9": "active", "SUSP": "suspended"}'
        self.assertTrue(run.action_profile())
        found = self.finding(run, "subscribers", "inconsistent_state")
        self.assertEqual((found.count, found.row_ids.line, found.row_ids.key), (1, 3, "S000002"))

    def test_profile_again_follows_the_corrected_mapping(self):
        subs = [subscriber(1), subscriber(2, msisdn="44770090012A"), subscriber(3, msisdn="+44 7700 900 123")]
        files = {
            "subscribers.csv": csv_bytes(
                [SUBSCRIBER_HEADER] + [[r[h] for h in SUBSCRIBER_HEADER] for r in subs]
            )
        }
        run = self.profiled_run(files=files)
        bad = self.finding(run, "subscribers", "invalid_msisdn")
        self.assertEqual((bad.count, bad.row_ids.line, bad.row_ids.column_name), (1, 3, "msisdn"))
        self.assertEqual(run.get_profile_summary()["findings"]["invalid_msisdn"], 1)
        line = run.mapping_line_ids.filtered(lambda ln: ln.header == "msisdn")
        line.write({"action": "skip", "canonical": False, "target_field": False})
        self.assertTrue(run.action_profile())
        self.assertFalse(self.finding(run, "subscribers", "invalid_msisdn"))
        # A column the mapping no longer locates is not reported missing row by row either.
        self.assertFalse(self.finding(run, "subscribers", "missing_mandatory"))
