"""Create a chunk of contacts with the result of ``create()``, at a fraction of its cost.

Profiling the subscribers phase (README, *Performance*) shows that most of
``res.partner.create()`` on 2,000 value lists is not the INSERT but two
per-record steps: ``default_get`` (its default callables, e.g. the invoice
PDF template search, run once per record) and ``_fields_sync`` (the commercial
fields of the parent account written on each new child one ``write()`` at a
time, each with its inverses and recomputations).

:func:`create_partners` does the same work once per chunk instead:

* the defaults are computed once (same user, company and context for the
  whole chunk, so the same values) and merged under each value list exactly
  as ``BaseModel._add_missing_default_values`` merges them;
* ``create()`` runs with ``_partners_skip_fields_sync`` (the flag Odoo's own
  ``_load_records_create`` uses), then the sync runs batched: the children
  whose commercial partner has the same commercial values get them in one
  ``write()``, per company as ``_company_dependent_commercial_sync`` does;
  the language and first-contact steps run per record as in ``create()``.

A contact whose address follows its parent (``type`` *contact* with a
parent) or that has children is left to the plain per-record sync: the
migration creates neither (lines are ``other``, accounts have no parent).
``tests/test_migrate_bulk.py`` creates the same contacts both ways and
compares every stored column.
"""

from odoo import Command

#: Keys whose presence in the value list steers create() itself: never filled from defaults.
_STEERING = frozenset(("lang", "type", "parent_id", "is_company", "company_type"))


def with_defaults(Model, vals_list):
    """``vals_list`` with the model's defaults merged under each value list (one ``default_get``)."""
    names = [name for name in Model._fields if name not in _STEERING]
    defaults = Model.default_get(names)
    for name, value in defaults.items():
        field = Model._fields[name]
        if field.type == "many2many" and value and isinstance(value[0], int):
            defaults[name] = [Command.set(value)]
        elif field.type == "one2many" and value and isinstance(value[0], dict):
            defaults[name] = [Command.create(x) for x in value]
    return [{**defaults, **vals} for vals in vals_list]


def create_partners(Model, vals_list):
    """Create contacts like ``Model.create(vals_list)`` does, batching the per-record steps."""
    if Model._name != "res.partner":
        return Model.create(vals_list)
    vals_list = with_defaults(Model, vals_list)
    partners = Model.with_context(_partners_skip_fields_sync=True).create(vals_list).with_env(Model.env)
    _sync(partners, vals_list)
    return partners


def _sync(partners, vals_list):
    """What ``res.partner.create()`` does per record after the INSERT, batched where it is safe."""
    commercial_fields = partners._commercial_fields()
    dependent = partners._company_dependent_commercial_fields()
    groups = {}
    for partner, vals in zip(partners, vals_list, strict=True):
        if (partner.parent_id and partner.type == "contact") or partner.child_ids:
            # Address sync with the parent or to children: Odoo's own per-record path.
            partner._fields_sync(vals)
            continue
        if not vals.get("parent_id"):
            continue
        commercial = partner.sudo().commercial_partner_id
        if commercial == partner:
            continue
        sync_vals = commercial._update_fields_values(commercial_fields)
        groups.setdefault(_frozen(sync_vals), [sync_vals, partners.browse()])[1] |= partner
    others = partners.env["res.company"].sudo().search([])
    for sync_vals, children in groups.values():
        children = children.sudo()
        children.write(sync_vals)
        if dependent:
            for company in others:
                if company == partners.env.company:
                    continue
                by_values = {}
                for child in children.with_company(company):
                    values_ = child.commercial_partner_id._update_fields_values(dependent)
                    by_values.setdefault(_frozen(values_), [values_, child.browse()])[1] |= child
                for values_, same in by_values.values():
                    same.write(values_)
    for partner, vals in zip(partners, vals_list, strict=True):
        if "lang" not in vals and partner.parent_id:
            partner._onchange_parent_id_for_lang()
        partner._handle_first_contact_creation()


def _frozen(values_):
    """A hashable form of write() values (many2many commands as tuples)."""
    return tuple(
        sorted(
            (name, tuple(tuple(c) if isinstance(c, list | tuple) else c for c in value))
            if isinstance(value, list)
            else (name, value)
            for name, value in values_.items()
        )
    )
