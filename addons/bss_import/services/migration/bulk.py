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
* the parent account's commercial values (VAT, registry, payment terms,
  pricelist...) are given in the value list of each new contact, and
  ``create()`` runs with ``_partners_skip_fields_sync`` (the flag Odoo's own
  ``_load_records_create`` uses) instead of writing them on each contact
  after the INSERT; the company-dependent and the empty ones are written
  after it, in this company and then in the others (as
  ``_company_dependent_commercial_sync`` does), one ``write()`` per set of
  equal values; the language and first-contact steps run per record as in
  ``create()``.

A contact whose address follows its parent (``type`` *contact* with a
parent) or that has children is left to the plain per-record sync: the
migration creates neither (lines are ``other``, accounts have no parent).
``tests/test_migrate_bulk.py`` creates the same contacts both ways and
compares every stored column.
"""

from odoo import Command

#: Keys whose presence in the value list steers create() itself: never filled from defaults.
_STEERING = frozenset(("lang", "type", "parent_id", "is_company", "company_type"))


def with_defaults(Model, vals_list, steering=False):
    """``vals_list`` with the model's defaults merged under each value list (one ``default_get``).

    The defaults of the keys that steer create() itself (:data:`_STEERING`) are
    left to create(), unless ``steering`` (a caller that writes below create()).
    """
    names = [name for name in Model._fields if steering or name not in _STEERING]
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
    synced = _with_commercial_values(Model, vals_list)
    partners = Model.with_context(_partners_skip_fields_sync=True).create(vals_list).with_env(Model.env)
    _sync(partners, vals_list, synced)
    return partners


def _synced_by_parent(Model, vals):
    """True when create() would copy the parent's commercial values onto this new contact.

    A contact whose address follows its parent (type *contact*) or that
    brings children is left to Odoo's per-record sync (see the module docstring).
    """
    if not vals.get("parent_id") or vals.get("child_ids"):
        return False
    if vals.get("is_company") or vals.get("company_type") == "company":
        return False  # its own commercial partner
    return vals.get("type", Model.default_get(["type"]).get("type")) != "contact"


def _with_commercial_values(Model, vals_list):
    """Put the parent's commercial values into the value lists of the contacts it syncs to.

    create() writes them right after the INSERT (``_commercial_sync_from_company``,
    one ``write()`` per contact): given at creation, they are stored, their
    inverses run and the fields that depend on them are computed once.
    Returns {position of the contact: the names given}.
    """
    # Company-dependent ones are written after the INSERT (see _sync), in each company.
    commercial_fields = [f for f in Model._commercial_fields() if not Model._fields[f].company_dependent]
    parents = Model.browse({vals["parent_id"] for vals in vals_list if vals.get("parent_id")}).sudo()
    values_of = {}
    # Iterating the parents keeps them one prefetch set: their values (and computed ones such
    # as the pricelist) are read for the whole chunk at once, not parent by parent.
    for parent in parents:
        values = parent.commercial_partner_id._update_fields_values(commercial_fields)
        # An empty value is left to the write after the INSERT: write() skips a value
        # equal to the new record's (a 0.0 stays NULL), create() would store it.
        values_of[parent.id] = {k: v for k, v in values.items() if v and not isinstance(v, list)}
    synced = {}
    for n, vals in enumerate(vals_list):
        if not _synced_by_parent(Model, vals):
            continue
        vals.update(values_of[vals["parent_id"]])
        synced[n] = set(values_of[vals["parent_id"]])
    return synced


def _sync(partners, vals_list, synced):
    """What ``res.partner.create()`` does per record after the INSERT, batched where it is safe."""
    commercial = partners._commercial_fields()
    dependent = partners._company_dependent_commercial_fields()
    children, rest = partners.browse(), {}
    for n, (partner, vals) in enumerate(zip(partners, vals_list, strict=True)):
        if n in synced:
            children |= partner
            # Every other commercial field, a default in ``vals`` or not: create() writes them all.
            rest[partner.id] = [f for f in commercial if f not in synced[n]]
        else:
            # Odoo's own per-record path (a no-op for a contact without parent or children).
            partner._fields_sync(vals)
    if children:
        # The company-dependent commercial values in the current company (the rest of
        # _commercial_sync_from_company's write), then in the others as
        # _company_dependent_commercial_sync does: one write() per set of equal values.
        _write_grouped(children.sudo(), rest.get)
        for company in partners.env["res.company"].sudo().search([]):
            if company != partners.env.company and dependent:
                _write_grouped(children.sudo().with_company(company), lambda _id: dependent)
    for partner, vals in zip(partners, vals_list, strict=True):
        if "lang" not in vals and partner.parent_id:
            partner._onchange_parent_id_for_lang()
        partner._handle_first_contact_creation()


def _write_grouped(children, names_of):
    """Write on each child its commercial partner's values of ``names_of(child id)``, once per equal set."""
    by_values = {}
    for child in children:
        names = names_of(child.id)
        if not names:
            continue
        values_ = child.commercial_partner_id._update_fields_values(names)
        by_values.setdefault(_frozen(values_), [values_, child.browse()])[1] |= child
    for values_, same in by_values.values():
        same.write(values_)


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
