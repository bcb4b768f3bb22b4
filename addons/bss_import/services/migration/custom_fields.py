"""Custom fields: the new x_ fields of the confirmed mapping and the legacy custom_fields.csv.

Both become manual fields (``ir.model.fields``, state ``manual``) with their
type and selection values, before any later phase writes data into them. A
definition is keyed ``<model>.<field>``: a custom_fields.csv row and a mapping
line naming the same field of the same type collapse into one field (the
mapping line, the operator's decision, wins on the type; the file brings the
label and its selection values). An existing field of another type is refused
(quarantined), never changed.
"""

import re

from odoo.exceptions import ValidationError

from ...lib import headers, mapping, schema
from .base import Phase, Rejected, Resolved, Row

_NAME = re.compile(r"^x_[a-z][a-z0-9_]{0,60}$")
_TYPES = frozenset(
    {"char", "text", "integer", "float", "monetary", "date", "datetime", "boolean", "selection"}
)


def _selection(text):
    """[(key, label)] of a selection written ``A|B`` (keys are the normalised labels) or ``a=A|b=B``."""
    out = []
    for item in (text or "").split("|"):
        item = item.strip()
        if not item:
            continue
        key, _sep, label = item.partition("=") if "=" in item else (headers.normalize_header(item), "", item)
        key = key.strip() or "empty"
        if key not in dict(out):
            out.append((key, label.strip() or key))
    return out


class CustomFieldsPhase(Phase):
    object = "custom_fields"
    table = "custom_fields"
    model = "ir.model.fields"
    #: A field the later export no longer defines stays: its removal is a rollback's decision.
    reports_vanished = False

    def has_rows(self):
        return True

    def key_of(self, values_):
        model = (mapping.TARGETS.get(values_.get("object_name") or "") or {}).get("model")
        name = values_.get("field_name") or (
            "x_" + headers.normalize_header(values_["field_code"]) if values_.get("field_code") else None
        )
        return f"{model or values_.get('object_name')}.{name}" if name else None

    def rows(self):
        rows = []
        for table in schema.TABLES:
            for name, line in self.ctx.mapping_lines(table).items():
                if line.action != "new_field" or not line.target_field:
                    continue
                selection = "|".join(f"{key}={raw}" for raw, key in sorted(line._value_map().items()) if key)
                values_ = {
                    "object_name": schema.object_of(table),
                    "field_name": line.target_field,
                    "field_code": name,
                    "field_label": line.header,
                    "field_type": line.target_type,
                    "selection_values": selection or None,
                    "source": "mapping",
                }
                rows.append(Row(line.file_id.id, None, values_, self.key_of(values_), table))
        if Phase.has_rows(self):
            rows += list(super().rows())
        rows.sort(
            key=lambda r: (r.key or "", r.values.get("source") != "mapping", r.file_id or 0, r.line or 0)
        )
        return rows

    def collapse(self, key, group, counts):
        """One field per key: later definitions of the same type are duplicates, another type is refused."""
        first = self.resolve(group[0])
        if isinstance(first, Rejected):
            yield first
            for row in group[1:]:
                yield Rejected(row, first.reasons)
            return
        for row in group[1:]:
            other = self.resolve(row)
            if isinstance(other, Rejected):
                yield other
            elif other.vals["ttype"] != first.vals["ttype"]:
                yield Rejected(
                    row,
                    [f"{key} is also defined as {first.vals['ttype']} (by the mapping or an earlier row)"],
                )
            else:
                counts.duplicates_collapsed += 1
                # The file's label beats the column header; selections add up.
                if row.values.get("source") != "mapping" and row.values.get("field_label"):
                    first.vals["field_description"] = row.values["field_label"]
                keys = dict(first.vals["selection"])
                first.vals["selection"] = tuple(
                    list(first.vals["selection"])
                    + [kv for kv in other.vals["selection"] if kv[0] not in keys]
                )
        yield first

    def resolve(self, row):
        v = row.values
        reasons = []
        model = (mapping.TARGETS.get(v.get("object_name") or "") or {}).get("model")
        if not model:
            reasons.append(f"object {v.get('object_name')!r} is not migrated into an Odoo model")
        name = (row.key or "").rpartition(".")[2]
        if not _NAME.match(name):
            reasons.append(f"field name {name!r}: expected x_ followed by lower case letters, digits or _")
        ttype = (v.get("field_type") or "").strip().lower()
        if ttype not in _TYPES:
            reasons.append(f"field type {ttype!r} is not one of {', '.join(sorted(_TYPES))}")
        selection = tuple(_selection(v.get("selection_values")))
        if ttype == "selection" and not selection:
            reasons.append("a selection field needs its values (selection_values A|B|C)")
        if reasons:
            return Rejected(row, reasons)
        if ttype == "monetary" and "currency_id" not in self.env[model]._fields:
            ttype = "float"
        vals = {
            "model": model,
            "name": name,
            "ttype": ttype,
            "field_description": v.get("field_label") or name,
            "selection": selection if ttype == "selection" else (),
        }
        return Resolved(row, vals)

    def checksum(self, vals):
        if "selection" in vals:
            vals = {**vals, "selection": ",".join(k for k, _l in vals["selection"])}
        return super().checksum(vals)

    def write_chunk(self, items, counts):
        Fields = self.env["ir.model.fields"]
        links = self.ctx.links(self.object, [it.row.key for it in items])
        for item in items:
            vals = item.vals
            existing = Fields.search([("model", "=", vals["model"]), ("name", "=", vals["name"])])
            checksum = self.checksum(vals)
            link = links.get(item.row.key)
            if existing and existing.ttype != vals["ttype"]:
                raise ValidationError(
                    self.env._(
                        "%(model)s.%(name)s already exists as a %(type)s field",
                        model=vals["model"],
                        name=vals["name"],
                        type=existing.ttype,
                    )
                )
            if existing:
                known = set(existing.selection_ids.mapped("value"))
                missing = [(k, label) for k, label in vals["selection"] if k not in known]
                if missing:
                    # Selection values are only ever added: records may hold the others.
                    self.add_selection(existing, missing, start=100)
                    counts.updated += 1
                else:
                    counts.unchanged += 1
                if link and link.checksum != checksum:
                    link.write({"checksum": checksum, "last_run_id": self.ctx.run.id})
                continue
            field = Fields.create(
                {
                    "model_id": self.env["ir.model"]._get_id(vals["model"]),
                    "name": vals["name"],
                    "field_description": vals["field_description"],
                    "ttype": vals["ttype"],
                    "state": "manual",
                }
            )
            self.add_selection(field, vals["selection"])
            if link:
                # The field was removed since a previous run created it: link the new one.
                link.write({"res_id": field.id, "checksum": checksum, "last_run_id": self.ctx.run.id})
            else:
                self.ctx.create_links(self.object, self.model, [(item.row.key, field.id, checksum, None)])
            counts.created += 1

    def add_selection(self, field, pairs, start=0):
        # Created directly: ir.model.fields.selection refuses x2many commands under sudo.
        self.env["ir.model.fields.selection"].create(
            [
                {"field_id": field.id, "value": k, "name": label, "sequence": start + n}
                for n, (k, label) in enumerate(pairs)
            ]
        )

    def reconcile(self, items):
        Fields = self.env["ir.model.fields"]
        out = []
        for item in items:
            vals = item.vals
            field = Fields.search([("model", "=", vals["model"]), ("name", "=", vals["name"])])
            odoo = {
                "model": field.model,
                "name": field.name,
                "ttype": field.ttype,
                "field_description": vals["field_description"],
                "selection": tuple(
                    (s.value, s.name) for s in field.selection_ids if s.value in dict(vals["selection"])
                ),
            }
            out.append(
                (
                    item.row.key,
                    self.checksum(vals),
                    self.checksum(odoo) if field else "missing",
                    self.differing(vals, odoo) if field else ["field missing"],
                )
            )
        return out
