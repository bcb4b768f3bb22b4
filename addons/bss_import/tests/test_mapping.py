import json

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from .common import SUBSCRIBER_HEADER, BssImportCase, csv_bytes, subscriber


@tagged("post_install", "-at_install")
class TestMapping(BssImportCase):
    def simple_run(self, extra_header=(), extra_values=()):
        header = [*SUBSCRIBER_HEADER, *extra_header]
        rows = [[subscriber(n)[h] for h in SUBSCRIBER_HEADER] + list(extra_values) for n in range(1, 21)]
        return self.profiled_run(files={"subscribers.csv": csv_bytes([header, *rows])})

    def line(self, run, header):
        return run.mapping_line_ids.filtered(lambda ln: ln.header == header)

    def test_two_spellings_map_to_the_same_fields(self):
        canonical, _m1 = self.generate(subscribers=60, seed=31)
        legacy, _m2 = self.generate("--dialect", "legacy-upper", subscribers=60, seed=31)
        targets = {}
        for label, folder in (("canonical", canonical), ("legacy", legacy)):
            run = self.profiled_run(folder=folder)
            lines = run.mapping_line_ids.filtered(lambda ln: ln.table == "subscribers")
            targets[label] = {
                ln.canonical: (ln.target_field, ln.header, ln.confidence) for ln in lines if ln.canonical
            }
        legacy_headers = {canon: header for canon, (_f, header, _c) in targets["legacy"].items()}
        self.assertNotEqual(
            legacy_headers["msisdn"], "msisdn", "the legacy export spells headers differently"
        )
        for canon in ("subscriber_id", "msisdn", "imsi", "iccid", "account_number", "plan_code", "status"):
            with self.subTest(column=canon):
                self.assertEqual(targets["canonical"][canon][0], targets["legacy"][canon][0])
                self.assertGreaterEqual(targets["legacy"][canon][2], 0.5)
        self.assertEqual(targets["legacy"]["msisdn"][0], "x_msisdn")
        self.assertEqual(targets["legacy"]["iccid"][0], "x_iccid")

    def test_unknown_column_proposed_as_custom_field_and_evidence_given(self):
        run = self.simple_run(["LOYALTY_TIER"], ["gold"])
        line = self.line(run, "LOYALTY_TIER")
        self.assertEqual((line.action, line.target_field), ("new_field", "x_loyalty_tier"))
        self.assertEqual(line.target_type, "selection")
        msisdn = self.line(run, "msisdn")
        self.assertIn("msisdn", msisdn.evidence.lower())
        self.assertGreater(msisdn.confidence, 0.9)
        # First and last name combine into the partner name.
        self.assertEqual(json.loads(self.line(run, "first_name").combine_json)["rule"], "join")
        summary = run.get_profile_summary()["mapping"]["subscribers"]
        self.assertEqual(summary["msisdn"]["field"], "x_msisdn")
        self.assertEqual(summary["LOYALTY_TIER"], {"field": "x_loyalty_tier", "confidence": 0.0})

    def test_confirm_gate(self):
        run = self.new_run()
        with self.assertRaisesRegex(UserError, "Profile the run"):
            run.action_confirm_mapping()
        # The run's notes need no sender address: an operator without e-mail confirms too.
        self.operator.partner_id.email = False
        run = self.simple_run(["LOYALTY_TIER"], ["gold"])
        with self.assertRaisesRegex(UserError, "nothing leaves staging"):
            run._check_mapping_confirmed()
        tier = self.line(run, "LOYALTY_TIER")
        tier.write({"target_field": "Loyalty Tier"})
        with self.assertRaisesRegex(ValidationError, "x_something"):
            run.action_confirm_mapping()
        tier.write({"target_field": "x_loyalty_tier", "value_map_json": '{"gold": null}'})
        with self.assertRaisesRegex(ValidationError, "decide the target of the codes"):
            run.action_confirm_mapping()
        tier.value_map_json = '{"gold": "gold"}'
        msisdn = self.line(run, "msisdn")
        msisdn.write({"action": "skip", "canonical": False, "target_field": False})
        with self.assertRaisesRegex(ValidationError, "mandatory msisdn"):
            run.action_confirm_mapping()
        msisdn.write({"action": "map", "canonical": "msisdn", "target_field": "x_imsi"})
        with self.assertRaisesRegex(ValidationError, "all feed x_imsi"):
            run.action_confirm_mapping()
        msisdn.target_field = "x_msisdn"
        self.assertTrue(run.action_confirm_mapping())
        self.assertEqual((run.state, run.mapping_confirmed_by), ("confirmed", self.operator))
        run._check_mapping_confirmed()
        with self.assertRaisesRegex(UserError, "reopen it"):
            msisdn.target_field = "x_imsi"
        with self.assertRaises(AccessError):
            run.action_reopen_mapping()
        run.with_user(self.manager).action_reopen_mapping()
        self.assertEqual(run.state, "profiled")
        msisdn.target_field = "x_msisdn"

    def test_invalid_edits_refused(self):
        run = self.simple_run(["pin1"], ["1234"])
        pin = self.line(run, "pin1")
        self.assertEqual(pin.action, "drop")
        with self.assertRaisesRegex(UserError, "holds secrets"):
            pin.action = "map"
        with self.assertRaisesRegex(UserError, "only secret columns"):
            self.line(run, "city").action = "drop"
        with self.assertRaisesRegex(ValidationError, "not valid JSON"):
            self.line(run, "status").value_map_json = "{oops"
        with self.assertRaisesRegex(ValidationError, "not a column of subscribers"):
            self.line(run, "city").canonical = "price"
        line = self.line(run, "city")
        self.assertFalse(line.is_edited)
        line.target_field = "x_town"
        self.assertTrue(line.is_edited)
        status = self.line(run, "status")
        self.assertFalse(status.is_edited)
        status.value_map_json = '{"active": "suspended"}'
        self.assertTrue(status.is_edited)

    def test_template_saved_and_applied_to_a_later_run(self):
        run = self.simple_run(["LOYALTY_TIER"], ["gold"])
        self.line(run, "LOYALTY_TIER").write({"target_field": "x_tier", "value_map_json": '{"gold": "g"}'})
        self.line(run, "city").write({"action": "skip", "target_field": False})
        with self.assertRaisesRegex(UserError, "confirmed mapping"):
            run.action_save_template("Acme BSS")
        run.action_confirm_mapping()
        template = self.env["bss.import.mapping.template"].browse(run.action_save_template("Acme BSS"))
        self.assertEqual(template.name, "Acme BSS")
        self.assertEqual(template.line_count, len(SUBSCRIBER_HEADER) + 1)
        with self.assertRaisesRegex(UserError, "already exists"):
            run.action_save_template("Acme BSS")
        # A later export spells the header differently (upper case): the template still matches.
        header = [("STATUS" if h == "status" else h) for h in SUBSCRIBER_HEADER] + ["loyalty_tier"]
        rows = [[subscriber(n)[h] for h in SUBSCRIBER_HEADER] + ["gold"] for n in range(1, 6)]
        later = self.profiled_run(files={"subscribers.csv": csv_bytes([header, *rows])})
        self.assertEqual(self.line(later, "loyalty_tier").target_field, "x_loyalty_tier")
        changed = later.action_apply_template(template.id)
        self.assertEqual(changed, 2)
        tier = self.line(later, "loyalty_tier")
        self.assertEqual((tier.target_field, tier._value_map()), ("x_tier", {"gold": "g"}))
        self.assertEqual(self.line(later, "city").action, "skip")
        self.assertTrue(later.action_confirm_mapping())
