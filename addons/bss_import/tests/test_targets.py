"""The mapping's target fields (lib/mapping.TARGETS) hold to the Odoo models they name.

``mapping.TARGETS`` is plain Python written without the ORM: nothing but this test tells
when a model field is renamed, retyped or loses a selection key that the mapping proposes.
"""

from odoo.tests import TransactionCase, tagged

from ..lib import mapping, schema

# Target type in mapping.TARGETS -> Odoo field types that can hold such values.
COMPATIBLE = {
    "char": {"char", "text"},
    "integer": {"integer"},
    "float": {"float", "monetary"},
    "monetary": {"monetary", "float"},
    "boolean": {"boolean"},
    "date": {"date"},
    "datetime": {"datetime"},
    "selection": {"selection"},
    "many2one": {"many2one"},
    "many2many": {"many2many"},
}


def _targets():
    """(table, canonical column, model, target spec) of every stored target of a business model."""
    for table, spec in mapping.TARGETS.items():
        if spec["model"] is None:
            continue  # inventories keep their canonical columns as they are
        for column, target in spec["fields"].items():
            if target is not None:  # None: a control value, checked by reconciliation
                yield table, column, spec["model"], target


@tagged("post_install", "-at_install")
class TestMappingTargets(TransactionCase):
    def test_every_target_field_exists_with_a_compatible_type(self):
        checked = 0
        for table, column, model, target in _targets():
            with self.subTest(table=table, column=column, field=f"{model}.{target['name']}"):
                self.assertIn(model, self.env, "the target model is not installed")
                field = self.env[model]._fields.get(target["name"])
                self.assertIsNotNone(field, "no such field")
                self.assertIn(field.type, COMPATIBLE[target["type"]], "incompatible field type")
                # Imported values must stay: not a read-only related or computed field.
                writable = not field.compute or field.inverse or (field.store and not field.readonly)
                self.assertTrue(writable, "a computed or related field that does not keep a written value")
                if target["relation"]:
                    self.assertEqual(field.comodel_name, target["relation"])
                    self._assert_lookup(target["relation"], target["lookup"])
                checked += 1
        self.assertGreater(checked, 50)

    def _assert_lookup(self, model, path):
        """The lookup names a path of fields on the related model (``partner_id.x_subscriber_id``)."""
        self.assertTrue(path, "a relation needs a lookup field")
        for name in path.split("."):
            field = self.env[model]._fields.get(name)
            self.assertIsNotNone(field, f"lookup {path!r}: {model} has no field {name!r}")
            model = field.comodel_name
        self.assertIn(field.type, {"char", "float", "integer", "many2one"}, f"lookup {path!r}")

    def test_selection_choices_are_keys_of_the_odoo_field(self):
        checked = 0
        for table, column, model, target in _targets():
            if target["type"] != "selection":
                continue
            with self.subTest(table=table, column=column, field=f"{model}.{target['name']}"):
                keys = set(self.env[model]._fields[target["name"]].get_values(self.env))
                # Codes that send their row elsewhere (a monetary bucket is the wallet balance).
                keys |= set(mapping.ROUTED_CODES.get((table, column), {}))
                proposed = {key for key, _label in target["selection"]}
                self.assertTrue(proposed)
                self.assertLessEqual(proposed, keys, "the mapping proposes keys the field does not have")
                # The export's canonical codes, as suggest_mapping translates them.
                choices = schema.column(table, column).choices
                translation = mapping.SELECTION_TRANSLATION.get((table, column), {})
                translated = {translation.get(c, c) for c in choices}
                self.assertLessEqual(translated, keys, "canonical codes without a key of the field")
                self.assertLessEqual(translated, proposed)
                checked += 1
        self.assertGreaterEqual(checked, 7)
