"""The export documentation describes exactly the schema the importer uses."""

import re
from pathlib import Path

from odoo.addons.bss_import.lib import profile_rules, schema

DOC = Path(__file__).resolve().parents[2] / "docs" / "digital-bss-export.md"


def test_every_table_and_column_is_documented():
    text = DOC.read_text(encoding="utf-8")
    sections = re.split(r"^### `", text, flags=re.M)
    documented = {}
    for section in sections[1:]:
        section = section.split("\n## ", 1)[0]
        match = re.match(r"([a-z_]+\.csv)` — table `([a-z_]+)`", section)
        if match:
            documented[match.group(2)] = (
                match.group(1),
                set(re.findall(r"^\| `([a-z0-9_]+)` \|", section, re.M)),
            )
    assert set(documented) == set(schema.TABLES)
    for name, table in schema.TABLES.items():
        file_name, columns = documented[name]
        assert file_name == table.file_name
        assert columns == set(table.column_names), name
    for obj in schema.OBJECTS:
        assert f"`{obj}`" in text
    for finding in profile_rules.FINDINGS:
        assert f"`{finding}`" in text


def test_profile_rules_expose_keys_references_and_identifier_checks():
    assert profile_rules.keys("order_lines") == ("order_id", "line_no")
    assert ("account_number", "billing_accounts", "account_number", "orphans") in profile_rules.references(
        "subscribers"
    )
    assert ("plan_code", "service_plans", "plan_code", "unknown_legacy_code") in profile_rules.references(
        "subscribers"
    )
    assert profile_rules.IDENTIFIER_CHECKS[("aaa_hss", "imsi")] == "imsi"
    assert "msisdn" in profile_rules.mandatory("subscribers")
    rule = profile_rules.STATE_RULES[0]
    assert schema.column(rule["table"], rule["via"]).ref == (rule["parent_table"], "account_number")
