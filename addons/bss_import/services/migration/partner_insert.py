"""Write a chunk of new contacts with one INSERT: what ``res.partner.create()`` stores, below it.

Profiling the subscribers phase (README, *Migration performance*) shows that
``create()`` spends most of its time in per-record Python around the INSERT:
the commercial values of the parent account written on each new contact one
``write()`` at a time (each with its inverses, e.g. the pricelist's search),
cache bookkeeping, and per-record steps of each override. :func:`insert_partners`
stores the same rows doing each of those steps once per chunk:

1. the value lists are completed as the ``create()`` overrides complete them
   (telecom_subscriber's normalisation and *pending* status, base's website
   and company name), then with the defaults (one ``default_get``), then with
   the parent's language and commercial values (read once per parent);
2. one ``COPY`` per 1,000 rows, every value converted by the field's own
   ``convert_to_column_insert`` (what ``BaseModel._create`` does), then written
   in COPY's text form (an ``INSERT ... VALUES`` of the same values when one
   has no plain text form, e.g. a binary column): COPY costs PostgreSQL half
   of what parsing and planning a VALUES list of a thousand rows does;
3. the company-dependent commercial values (receivable, payment terms,
   pricelist...) in every company, in the rows written: the parent's entries minus
   those equal to the company's fallback (the result of the jsonb expression
   Odoo's ``_write_multi`` applies to them), the current company's pricelist
   by the rule of product's ``_inverse_product_pricelist``;
4. the stored computed fields whose rule reads only the contact and its
   parent are in the rows written (:data:`DERIVED`, ids reserved first; the
   sanitised phone and the e-invoicing address through Odoo's own
   ``_phone_format_number`` and ``_build_error_peppol_endpoint``), so no new
   row is written a second time by an UPDATE; each only while the methods of
   its rule are defined by the expected modules alone. The others (another
   module's, a localisation's) are marked to compute exactly as ``_create``
   marks them (``modified(create=True)``, the values given to a row protected
   on that row): Odoo's own compute methods then run once for the chunk at
   the next flush;
5. the values written are put in the cache as ``_create`` puts them; the
   inverses of non-stored fields given (telecom_wallet's balance snapshot),
   base's first-contact address rule, the Python constraints, the company
   consistency check and the access check run on the records as in
   ``create()``.

The path is taken only where it reproduces ``create()``: contacts created
without tracking, whose ``create()`` is extended by no module other than
those of :data:`REPRODUCED` (checked at run time: another module's override
would be skipped), whose values are columns (or non-stored fields with an
inverse), and that are
accounts or lines (``type`` other than *contact* under a parent: a contact
of type *contact* follows its parent's address, left to ``create()``).
Anything else goes through :func:`.bulk.create_partners` (``create()`` with
its per-record steps batched). ``tests/test_migrate_bulk.py`` creates the
same contacts both ways, in two companies, and compares every stored column.
"""

import datetime
import decimal
import io
import json
import logging
import math

import psycopg2.extensions
import psycopg2.extras

from odoo import Command, models, tools
from odoo.addons.telecom_subscriber.models.res_partner import SUBSCRIBER_KEY_FIELDS
from odoo.addons.telecom_subscriber.tools import identifiers
from odoo.tools import SQL

from . import bulk

_logger = logging.getLogger(__name__)

#: Modules whose override of ``res.partner.create()`` the SQL path reproduces.
REPRODUCED = frozenset({"base", "mail", "account", "telecom_subscriber"})
#: The one non-stored field with an inverse the path reproduces (product's pricelist).
PRICELIST = "property_product_pricelist"
SPECIFIC_PRICELIST = "specific_property_product_pricelist"
#: Non-stored fields whose inverse only writes the value on a stored field: {field: (inverse, stored)}.
#: telecom_wallet shows the wallet balance in x_ocs_balance and keeps the legacy one in its snapshot;
#: its inverse, a write() per contact, is the stored value rounded as write() rounds it.
ALIASES = {"x_ocs_balance": ("_inverse_x_ocs_balance", "x_ocs_balance_snapshot")}
#: account_edi_ubl_cii's list of the fields its e-invoicing address reads (localisations extend it).
PEPPOL_DEPENDS = "_peppol_eas_endpoint_depends"
#: Stored computed fields whose value the INSERT already holds: {field: the methods computing it and
#: the modules that must be the only ones defining them}. Their computations read the contact's own
#: values and its parent's; :func:`_derive` applies them to the value lists (the contact's id is
#: reserved first: an account is its own commercial partner), so these columns are not written a
#: second time by a recomputation. A field whose methods another module overrides is left to Odoo.
DERIVED = {
    "commercial_partner_id": (("_compute_commercial_partner",), {"base"}),
    "commercial_company_name": (("_compute_commercial_company_name",), {"base"}),
    "complete_name": (("_compute_complete_name", "_get_complete_name"), {"base"}),
    "email_normalized": (("_compute_email_normalized",), {"mail"}),
    "partner_share": (("_compute_partner_share",), {"base"}),
    "user_id": (("_compute_user_id",), {"base"}),
    "x_is_subscriber": (("_compute_x_is_subscriber",), {"telecom_subscriber"}),
    "x_iccid_check_failed": (("_compute_x_iccid_check_failed",), {"telecom_subscriber"}),
    # base's computation keeps the value given (it exists to be overridden by localisations).
    "company_registry": (("_compute_company_registry",), {"base"}),
    # The first of the mobile and the phone that formats, in the contact's country (else the
    # company's): the formatting itself is Odoo's own _phone_format_number, called per row.
    "phone_sanitized": (
        (
            "_compute_phone_sanitized",
            "_phone_format",
            "_phone_get_country",
            "_phone_get_number_fields",
            "_phone_get_country_field",
            "_assert_phone_field",
        ),
        {"phone_validation"},
    ),
    # The e-invoicing address from the country deduced from the VAT or the country; the endpoint
    # validation itself is Odoo's own _build_error_peppol_endpoint, called per row.
    "peppol_eas": (("_compute_peppol_eas", PEPPOL_DEPENDS), {"account_edi_ubl_cii"}),
    "peppol_endpoint": (("_compute_peppol_endpoint", PEPPOL_DEPENDS), {"account_edi_ubl_cii"}),
}
#: Methods the derivations above also reproduce, with the one module that may define each.
DERIVED_HELPERS = {
    "peppol_eas": {"_deduce_country_code": {"account"}},
    "peppol_endpoint": {"_deduce_country_code": {"account"}},
    "phone_sanitized": {"_mail_get_partner_fields": {"mail"}},
}
#: A column left to its SQL default (BaseModel._create's marker).
_DEFAULT = psycopg2.extensions.AsIs("DEFAULT")
#: Values whose column form _insert converts once per chunk (ids, codes, flags, dates...).
_HASHABLE = (str, int, float, bool, type(None), datetime.date)
#: Columns the INSERT fills besides the value lists (the id, the log columns, base's parent_path).
_SET_BY_INSERT = frozenset(("id", "parent_path", *models.LOG_ACCESS_COLUMNS))
#: Field types whose conversion costs less than looking the value up among the ones already
#: converted (texts, numbers, ids, flags): converted value by value. Others (dates, selections,
#: HTML...) are converted once per distinct value of a chunk's column.
_DIRECT = frozenset(("char", "text", "integer", "float", "boolean", "many2one"))
#: Rows per INSERT statement (BaseModel._create's batch size).
INSERT_BATCH = 1000


def blocker(Model, vals_list):
    """Why the SQL path cannot create these value lists as ``create()`` would (None when it can)."""
    if Model._name != "res.partner":
        return f"{Model._name} is not res.partner"
    ctx = Model.env.context
    if not ctx.get("tracking_disable"):
        return "tracking is enabled (create() would log and track)"
    if ctx.get("import_file") or ctx.get("res_partner_search_mode"):
        return "an import or partner search mode context changes create()"
    if Model._inherits or Model._parent_store:
        return "res.partner inherits or keeps a parent path"
    overriding = _modules_defining(Model, ("create",))
    if overriding - REPRODUCED:
        return f"res.partner.create() is extended by {', '.join(sorted(overriding - REPRODUCED))}"
    for name in Model._commercial_fields():
        field = Model._fields[name]
        if name != PRICELIST and (not field.store or field.type in ("one2many", "many2many")):
            return f"commercial field {name} is not a plain stored field"
    default_type = None
    for vals in vals_list:
        for name in vals:
            field = Model._fields.get(name)
            if field is None:
                return f"unknown field {name}"
            if not _is_column(field) and not (field.inverse and not field.store and name != PRICELIST):
                return f"{name} is not a column"
        if vals.get("parent_id") and not vals.get("is_company"):
            if default_type is None:
                default_type = Model.default_get(["type"]).get("type")
            if vals.get("type", default_type) == "contact":
                return "a contact of type contact follows its parent's address"
    return None


def _modules_defining(Model, methods):
    """The modules whose classes of ``Model`` define one of ``methods`` (override or original)."""
    return {
        cls._module
        for cls in type(Model).__mro__
        for method in methods
        if method in vars(cls) and getattr(cls, "_module", None)
    }


def _is_column(field):
    return bool(field.store and field.column_type)


def _alias(Model, name):
    """The stored field the inverse of ``name`` writes its value on (None if not an alias)."""
    known = ALIASES.get(name)
    field = Model._fields.get(name)
    if known and field and not field.store and field.inverse == known[0] and known[1] in Model._fields:
        return known[1]
    return None


def _dummy(Model, vals, dummies):
    """A new record with the company of ``vals`` (the currency a monetary value is rounded with)."""
    company = vals.get("company_id") or False
    if company not in dummies:
        dummies[company] = Model.new({"company_id": company})
    return dummies[company]


def _nothing(value):
    """True for a value that gives a new record nothing (empty, or x2many commands setting no ids)."""
    if not value:
        return True
    return isinstance(value, list) and all(
        isinstance(cmd, list | tuple) and (cmd[0] == Command.CLEAR or (cmd[0] == Command.SET and not cmd[2]))
        for cmd in value
    )


def create_contacts(Model, vals_list):
    """The records of ``vals_list``: :func:`insert_partners` where it reproduces create(), else create()."""
    why = blocker(Model, vals_list)
    if why:
        if Model._name == "res.partner":
            _logger.info("contacts created by create(), not by one INSERT: %s", why)
        return bulk.create_partners(Model, vals_list)
    return insert_partners(Model, vals_list)


def insert_partners(Model, vals_list):
    """Create contacts as ``Model.create(vals_list)`` does (see the module docstring); the caller
    checked :func:`blocker`. A default that is not a column (a tag from the context...) sends
    the chunk to ``create()``."""
    env = Model.env
    Model = Model.browse()
    Model.check_access("create")
    Model.flush_model()
    completed, synced, parents = _complete(Model, vals_list)
    _company_dependent_values(Model, completed, synced)
    inversed = _split_non_columns(Model, completed)
    if inversed is None:
        return bulk.create_partners(Model, vals_list)
    ids = _reserve_ids(Model, len(completed))
    derived = _derive(Model, completed, ids, parents)
    defaulted = _defaulted_columns(env.cr, Model._table)
    records = Model.browse(_insert(Model, completed, ids, defaulted))
    given = {name for vals in completed for name in vals}
    # Caches of the other side of the new rows' many2ones (the parents' child_ids...).
    for name in given:
        field = Model._fields[name]
        if field.type == "many2one":
            for inverse in Model.pool.field_inverses[field]:
                env[inverse.model_name].invalidate_model([inverse.name])
    copies = _prime_cache(Model, records, given, completed, defaulted)
    # Stored computed fields: marked as _create marks them (the ones given to a row protected on
    # that row, as _create protects each record's own), computed for the whole chunk by Odoo's
    # own methods at the next flush.
    computed = [
        name
        for name in given
        if Model._fields[name].compute
        and (not Model._fields[name].readonly or Model._fields[name].precompute)
    ]
    by_given = {}
    for record_id, vals in zip(records._ids, completed, strict=True):
        by_given.setdefault(tuple(name for name in computed if name in vals), []).append(record_id)
    protected = []
    for names, record_ids in by_given.items():
        fields_ = {Model._fields[name] for name in derived}
        for name in names:
            fields_.update(Model.pool.field_computed.get(Model._fields[name], [Model._fields[name]]))
        protected.append((fields_, Model.browse(record_ids)))
    with env.protecting(protected):
        records.modified(Model._fields, create=True)
        for field in copies:
            env.remove_to_compute(field, records)
        _inverse(Model, records, inversed, given)
    # The first-contact rule and the constraints read the cache (_prime_cache); what it does not
    # hold (a monetary or company-dependent value, an SQL default's column) is fetched one field
    # at a time for the chunk, not with every column of the new rows.
    unprefetched = records.with_context(prefetch_fields=False)
    for record in unprefetched.filtered("parent_id"):
        record._handle_first_contact_creation()
    unprefetched._validate_fields(given)
    if Model._check_company_auto:
        records._check_company()
    records.check_access("create")
    return records


def _split_non_columns(Model, completed):
    """Take the values that are no column out of the value lists; [{name: value}] of those an
    inverse sets after the INSERT (None when one would need create() itself)."""
    inversed = [{} for _vals in completed]
    dummies = {}
    given = {name for vals in completed for name in vals}
    non_columns = [name for name in given if not _is_column(Model._fields[name])]
    for vals, inverse_vals in zip(completed, inversed, strict=True):
        for name in [name for name in non_columns if name in vals]:
            field = Model._fields[name]
            value = vals.pop(name)
            if alias := _alias(Model, name):
                target = Model._fields[alias]
                # What the inverse's write() stores: the value as the new contact's cache holds it.
                vals[target.name] = target.convert_to_write(
                    target.convert_to_cache(value, _dummy(Model, vals, dummies)), Model
                )
            elif field.inverse and not field.store and name != PRICELIST:
                inverse_vals[name] = value  # set after the INSERT by its inverse, as create() does
            elif (field.store or field.inverse) and not _nothing(value):
                # create() stores nothing for a non-stored field without inverse (a default of a
                # UI flag...), nor for x2many commands that set no record.
                _logger.info("contacts created by create(), not by one INSERT: %s has a default", name)
                return None
    return inversed


def _prime_cache(Model, records, given, completed, defaulted):
    """Put in the cache what _create puts there: no lines (x2many), no file (attachment fields),
    the values each row was given and no value for the columns it was not (its NULL). The
    first-contact rule, the constraints and the recomputations then read the chunk from the
    cache, as after create(), instead of fetching every column of the new rows.

    Left to a fetch: the columns an SQL default fills, the monetary values (the cache rounds
    them in each row's currency), the translated and company-dependent ones (the cache keeps
    them per language or company) and the values given in their column form. Returns the
    stored copies of an empty file (the image sizes of image_1920): computing them copies
    nothing and writes no attachment, they stay empty as create() leaves them."""
    cache = Model.env.cache
    empty = set()
    for field in Model._fields.values():
        if field.type in ("one2many", "many2many"):
            cache.update(records, field, [()] * len(records))
        elif field.store and getattr(field, "attachment", False) and field.name not in given:
            cache.update(records, field, [None] * len(records))
            empty.add(field.name)
        elif _cacheable(field, given, defaulted):
            values_ = (
                _cache_values(field, records, completed)
                if field.name in given
                else [field.convert_to_cache(None, records)] * len(records)
            )
            if values_ is not None:
                cache.update(records, field, values_)
    return [
        field
        for field in Model._fields.values()
        if field.name in empty and field.related and field.related.split(".")[0] in empty
    ]


def _cacheable(field, given, defaulted):
    """True for a column whose cache value the value lists tell (given, or NULL when not)."""
    if not field.column_type or field.name in defaulted or field.name in _SET_BY_INSERT:
        return False
    if field.translate or field.company_dependent or field.type in ("monetary", "binary", "properties"):
        return False
    # A computed column no row was given is computed at the next flush: not cached.
    return field.name in given or not field.compute


def _cache_values(field, records, completed):
    """The cache value of ``field`` for each row (None when a value is not in a plain form)."""
    name = field.name
    values_ = [vals.get(name) for vals in completed]
    if any(type(value) is _Column for value in values_):
        return None
    convert = field.convert_to_cache
    if field.type in _DIRECT:
        return [convert(value, records) for value in values_]
    known = {}
    out = []
    for value in values_:
        if isinstance(value, _HASHABLE):
            key = (type(value), value)
            if key not in known:
                known[key] = convert(value, records)
            out.append(known[key])
        else:
            out.append(convert(value, records))
    return out


def _inverse(Model, records, inversed, stored):
    """create()'s inverse step: the inverse of each non-stored field given (telecom_wallet's balance
    snapshot...), record by record as create() runs the inverses of non-stored fields."""
    groups = {}
    for vals in inversed:
        for name in vals:
            groups.setdefault(Model._fields[name].inverse, set()).add(name)
    for names in groups.values():
        for record, vals in zip(records, inversed, strict=True):
            given = {name: vals[name] for name in names if name in vals}
            if given:
                record._update_cache(given)
                Model._fields[next(iter(given))].determine_inverse(record)
    for record, vals in zip(records, inversed, strict=True):
        if vals:
            record._validate_fields(vals, stored)


def _complete(Model, vals_list):
    """The value lists completed as create() completes them; and {position: commercial parent id}
    of the lines whose commercial values come from their parent."""
    out = []
    for given in vals_list:
        vals = Model._telecom_create_vals(dict(given))  # telecom_subscriber's create()
        if vals.get("website"):  # base's create()
            vals["website"] = Model._clean_website(vals["website"])
        if vals.get("parent_id"):
            vals["company_name"] = False
        out.append(vals)
    completed = bulk.with_defaults(Model, out, steering=True)
    for vals in completed:
        if "company_type" in vals:  # its inverse sets is_company after the INSERT
            vals["is_company"] = vals.pop("company_type") == "company"
    parent_ids = {vals["parent_id"] for vals in completed if vals.get("parent_id")}
    parents = Model.browse(parent_ids).sudo()
    commercial = [
        name
        for name in Model._commercial_fields()
        if name != PRICELIST and not Model._fields[name].company_dependent
    ]
    # Iterating keeps the parents one prefetch set: read once for the chunk, not per parent.
    parent_of = {}
    default_lang = Model.env.context.get("default_lang") or Model.env.lang
    for parent in parents:
        commercial_partner = parent.commercial_partner_id
        parent_of[parent.id] = {
            "name": parent.name,
            "lang": parent.lang or default_lang,
            "user": parent.user_id.id,
            "commercial": commercial_partner.id,
            "commercial_company": commercial_partner.is_company and commercial_partner.name,
            "values": commercial_partner._update_fields_values(commercial),
        }
    synced = {}
    for n, (given, vals) in enumerate(zip(vals_list, completed, strict=True)):
        parent_id = vals.get("parent_id")
        if not parent_id:
            continue
        if "lang" not in given:  # base's _onchange_parent_id_for_lang
            vals["lang"] = parent_of[parent_id]["lang"]
        if vals.get("is_company"):  # its own commercial partner
            continue
        synced[n] = parent_of[parent_id]["commercial"]
        # _commercial_sync_from_company's write(): a value equal to the new record's is not written.
        for name, value in parent_of[parent_id]["values"].items():
            field = Model._fields[name]
            if field.convert_to_cache(value, Model) != field.convert_to_cache(vals.get(name), Model):
                vals[name] = value
    return completed, synced, parent_of


def _reserve_ids(Model, count):
    """``count`` ids of the model's sequence, in order (what the INSERT would have given)."""
    Model.env.cr.execute(
        SQL(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            Model._table,
            count,
        )
    )
    return [row[0] for row in Model.env.cr.fetchall()]


def _derivable(Model):
    """The fields of :data:`DERIVED` this database computes with the expected methods only."""
    out = []
    for name, (methods, modules) in DERIVED.items():
        field = Model._fields.get(name)
        if not field or not field.store or field.compute != methods[0]:
            continue
        if name == "email_normalized" and getattr(Model, "_primary_email", None) != "email":
            continue
        if _modules_defining(Model, methods) != modules:
            continue
        helpers = DERIVED_HELPERS.get(name, {})
        if any(_modules_defining(Model, (method,)) != owners for method, owners in helpers.items()):
            continue
        if name == "phone_sanitized" and (
            Model._mail_get_partner_fields() or Model._phone_get_country_field() not in ("country_id", False)
        ):
            continue  # the country would come from a related contact
        if name.startswith("peppol_") and _eas_mapping(Model) is None:
            continue
        out.append(name)
    return out


def _eas_mapping(Model):
    """account_edi_ubl_cii's EAS_MAPPING when every field it names is one :func:`_derive` knows the
    value of on a new row (a plain column, or the derived company registry); else None."""
    try:
        from odoo.addons.account_edi_ubl_cii.models.account_edi_common import EAS_MAPPING
    except ImportError:
        return None
    for fields_by_eas in EAS_MAPPING.values():
        for name in fields_by_eas.values():
            field = Model._fields.get(name) if name else None
            if field and name != "company_registry" and (not _is_column(field) or field.compute):
                return None
    return EAS_MAPPING


def _derive(Model, completed, ids, parents):
    """Add the values of the derivable computed fields to the value lists (a given value wins).

    Each rule is the named method's, applied to the row's values and its
    parent's (``parents``: what :func:`_complete` read of them);
    ``tests/test_migrate_bulk.py`` compares the columns with create()'s.
    Returns the names derived.
    """
    names = _derivable(Model)
    if not names:
        return []
    # The labels as _get_complete_name reads them (with_context({}): no language, untranslated).
    plain = Model.with_context(lang=None)
    type_labels = dict(plain._fields["type"]._description_selection(plain.env))
    displayed_types = Model._complete_name_displayed_types
    number_fields = Model._phone_get_number_fields() if "phone_sanitized" in names else []
    countries = {}
    eas_mapping = _eas_mapping(Model) if {"peppol_eas", "peppol_endpoint"} & set(names) else None
    for id_, vals in zip(ids, completed, strict=True):
        parent = parents.get(vals.get("parent_id") or 0)
        is_company = bool(vals.get("is_company"))
        own = is_company or not parent
        derived = {
            # _compute_commercial_partner
            "commercial_partner_id": id_ if own else parent["commercial"],
            # _compute_commercial_company_name: the commercial partner's name if a company
            "commercial_company_name": (
                (is_company and vals.get("name")) if own else parent["commercial_company"]
            )
            or vals.get("company_name")
            or False,
            # mail's _compute_email_normalized
            "email_normalized": tools.email_normalize(vals.get("email") or False, strict=False) or False,
            # _compute_partner_share: no user yet
            "partner_share": True,
            # _compute_user_id: a person takes its parent's salesperson
            "user_id": vals.get("user_id") or (not is_company and parent and parent["user"]) or False,
            # telecom_subscriber's computations
            "x_is_subscriber": not is_company
            and bool(vals.get("x_subscriber_status") or any(map(vals.get, SUBSCRIBER_KEY_FIELDS))),
            "x_iccid_check_failed": bool(vals.get("x_iccid")) and not identifiers.luhn_valid(vals["x_iccid"]),
            # base's _compute_company_registry: the value given
            "company_registry": vals.get("company_registry") or False,
        }
        # _get_complete_name
        name = vals.get("name") or ""
        if vals.get("company_name") or parent:
            if not name and vals.get("type") in displayed_types:
                name = type_labels[vals["type"]]
            if not is_company:
                name = f"{derived['commercial_company_name'] or parent['name']}, {name}"
        derived["complete_name"] = name.strip()
        for name_ in names:
            if name_ in derived:
                vals.setdefault(name_, derived[name_])
        if "phone_sanitized" in names and "phone_sanitized" not in vals:
            vals["phone_sanitized"] = _phone_sanitized(Model, vals, number_fields, countries)
        if "peppol_eas" in names or "peppol_endpoint" in names:
            _peppol(Model, vals, names, eas_mapping, countries)
    return names


def _country(Model, vals, countries):
    """The row's country record (read once per chunk and country)."""
    country_id = vals.get("country_id") or False
    if country_id not in countries:
        countries[country_id] = Model.env["res.country"].browse(country_id)
    return countries[country_id]


def _phone_sanitized(Model, vals, number_fields, countries):
    """mail.thread.phone's _compute_phone_sanitized on a new row: the first number field whose
    value Odoo's own _phone_format_number formats, in the row's country, else the company's."""
    for fname in number_fields:
        number = vals.get(fname)
        if not number:
            continue
        country = _country(Model, vals, countries) or Model.env.company.country_id
        sanitized = Model._phone_format_number(number, country, force_format="E164")
        if sanitized:
            return sanitized
    return False


def _peppol(Model, vals, names, eas_mapping, countries):
    """account_edi_ubl_cii's _compute_peppol_eas then _compute_peppol_endpoint on a new row: a
    value given is kept (create() protects it), the other computed from it as those methods do."""
    eas = vals.get("peppol_eas") or False
    endpoint = vals.get("peppol_endpoint") or False
    # account's _deduce_country_code: the VAT's prefix, else the country's code
    vat = vals.get("vat") or False
    country_code = _country(Model, vals, countries).code or False
    if vat and vat[:2].isalpha():
        country_code = vat[:2].upper()
    eas_to_field = eas_mapping.get(country_code)
    if eas_to_field is not None:
        if "peppol_eas" in names and "peppol_eas" not in vals and eas not in eas_to_field:
            new_eas = next(iter(eas_to_field))
            for candidate, fname in eas_to_field.items():
                value = fname and fname in Model._fields and vals.get(fname)
                if value and not Model._build_error_peppol_endpoint(candidate, value):
                    new_eas = candidate
                    break
            eas = new_eas
        fname = eas_to_field.get(eas)
        value = fname and fname in Model._fields and vals.get(fname)
        if value and not Model._build_error_peppol_endpoint(eas, value):
            endpoint = value
    if "peppol_eas" in names:
        vals.setdefault("peppol_eas", eas)
    if "peppol_endpoint" in names:
        vals.setdefault("peppol_endpoint", endpoint)


def _insert(Model, vals_list, ids, defaulted):
    """INSERT the rows with their reserved ids (BaseModel._create's conversion of each value)."""
    env = Model.env
    now = env.cr.now()
    log = {"create_uid": env.uid, "create_date": now, "write_uid": env.uid, "write_date": now}
    log = {
        name: Model._fields[name].convert_to_column_insert(value, Model, log) for name, value in log.items()
    }
    # Most columns hold a handful of distinct values over a chunk (defaults, statuses, the
    # account's commercial values): each is converted once. A monetary value is converted with
    # its row (the row's currency rounds it). Built column by column, then zipped into rows.
    converted = {}

    def column(name, batch):
        field = Model._fields[name]
        convert = field.convert_to_column_insert
        if field.type == "monetary":
            return [convert(vals[name], Model, vals) if name in vals else _DEFAULT for vals in batch]
        if field.type in _DIRECT:
            return [
                _DEFAULT
                if (value := vals.get(name, _DEFAULT)) is _DEFAULT
                else value.value
                if type(value) is _Column
                else convert(value, Model, vals)
                for vals in batch
            ]
        known = converted.setdefault(name, {})
        out = []
        for vals in batch:
            if name not in vals:
                out.append(_DEFAULT)
                continue
            value = vals[name]
            if isinstance(value, _Column):
                out.append(value.value)
            elif isinstance(value, _HASHABLE):
                key = (type(value), value)
                if key not in known:
                    known[key] = convert(value, Model, vals)
                out.append(known[key])
            else:
                out.append(convert(value, Model, vals))
        return out

    for start in range(0, len(vals_list), INSERT_BATCH):
        batch = vals_list[start : start + INSERT_BATCH]
        batch_ids = ids[start : start + INSERT_BATCH]
        names = ["id", *log, *sorted({name for vals in batch for name in vals} - set(log) - {"id"})]
        columns = [
            batch_ids,
            *([log[name]] * len(batch) for name in log),
            *(column(name, batch) for name in names[len(log) + 1 :]),
        ]
        if _copy(env.cr, Model._table, names, columns, defaulted):
            continue
        env.cr.execute(
            SQL(
                "INSERT INTO %s (%s) VALUES %s",
                SQL.identifier(Model._table),
                SQL(", ").join(map(SQL.identifier, names)),
                SQL(", ").join(zip(*columns, strict=True)),
            )
        )
    return ids


def _defaulted_columns(cr, table):
    """The columns of ``table`` with an SQL default (a row that leaves one out takes it)."""
    cr.execute(
        SQL(
            """SELECT a.attname FROM pg_attrdef d
                 JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
                WHERE d.adrelid = %s::regclass""",
            table,
        )
    )
    return {name for (name,) in cr.fetchall()}


def _copy(cr, table, names, columns, defaulted):
    """COPY the rows of ``columns`` (one list of column values per name) into ``table``; False,
    writing nothing, when a value has no plain COPY text form (the caller INSERTs them)."""
    texts = []
    for name, values_ in zip(names, columns, strict=True):
        column = _copy_texts(values_, name in defaulted)
        if column is None:
            return False
        texts.append(column)
    data = io.StringIO("".join("\t".join(row) + "\n" for row in zip(*texts, strict=True)))
    statement = SQL(
        "COPY %s (%s) FROM STDIN", SQL.identifier(table), SQL(", ").join(map(SQL.identifier, names))
    )
    # Odoo's cursor wraps psycopg2's: COPY needs the raw cursor (as the staging's COPY does).
    cr._obj.copy_expert(statement.code, data)
    return True


#: COPY's text format: these four characters are written escaped.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_texts(values_, defaulted):
    """The COPY text of each of a column's values, as psycopg2 would have sent it in an INSERT
    (None when one value has no plain text form: a binary, an SQL expression, a default the
    column defines)."""
    out = []
    append = out.append
    jsons = {}
    for value in values_:
        kind = type(value)
        if kind is str:
            # Most values hold none of the four: looking for them costs a tenth of translating.
            escaped = "\\" in value or "\t" in value or "\n" in value or "\r" in value
            append(value.translate(_COPY_ESCAPES) if escaped else value)
        elif value is None:
            append("\\N")
        elif kind is int:
            append(str(value))
        elif kind is bool:
            append("t" if value else "f")
        elif kind is float and math.isfinite(value):
            append(repr(value))
        elif value is _DEFAULT:
            if defaulted:
                return None
            append("\\N")
        elif kind is psycopg2.extras.Json:
            text = jsons.get(id(value))
            if text is None:
                text = jsons[id(value)] = value.dumps(value.adapted).translate(_COPY_ESCAPES)
            append(text)
        elif isinstance(value, str):  # Markup...
            append(str.translate(value, _COPY_ESCAPES))
        elif kind is datetime.datetime and value.tzinfo is None:
            append(value.isoformat(" "))
        elif kind is datetime.date:
            append(value.isoformat())
        elif kind is decimal.Decimal and value.is_finite():
            append(str(value))
        else:
            return None
    return out


class _Column:
    """A value already in its column form (COPY or the INSERT writes it as it is)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


def _company_dependent_values(Model, vals_list, synced):
    """Put the company-dependent commercial values of the lines, in every company, in their INSERT.

    create() writes the parent's value of each such field in each company
    (``_commercial_sync_from_company``, ``_company_dependent_commercial_sync``),
    and ``_write_multi`` keeps the entries that differ from the company's
    fallback (its jsonb expression): the line holds its commercial parent's
    entries minus those. The current company's pricelist is the inverse's:
    none when the parent's pricelist is the default one of the line's
    country; without a pricelist to write, the line's own entry stays.
    """
    names = Model._company_dependent_commercial_fields()
    if not synced or not names:
        return
    env = Model.env
    company = str(env.company.id)
    current = _pricelist_values(Model, vals_list, synced)
    fallbacks = {
        name: json.loads(env["ir.default"]._get_field_column_fallbacks(Model._name, name)) for name in names
    }
    Model.flush_model(names)
    env.cr.execute(
        SQL(
            "SELECT id, %s FROM %s WHERE id = ANY(%s)",
            SQL(", ").join(SQL.identifier(name) for name in names),
            SQL.identifier(Model._table),
            list(set(synced.values())),
        )
    )
    entries_of = {row[0]: dict(zip(names, row[1:], strict=True)) for row in env.cr.fetchall()}
    shared = {}
    columns = {}  # the lines of an account share their values: (account, field, own entry) -> column
    for n, parent in synced.items():
        vals = vals_list[n]
        for name in names:
            own = None
            if name == SPECIFIC_PRICELIST:
                if n in current:
                    own = ("set", current[n])
                elif name in vals:
                    own = ("set", Model._fields[name].convert_to_column(vals[name], Model))
                else:
                    own = ("reset",)
            key = (parent, name, own)
            if key not in columns:
                entries = dict(entries_of[parent][name] or {})
                if own is not None:
                    entries.pop(company, None)
                    if own[0] == "set":
                        entries[company] = own[1]
                kept = tuple(
                    (company_key, value)
                    for company_key, value in entries.items()
                    if company_key in fallbacks[name] and value != fallbacks[name][company_key]
                )
                columns[key] = _jsonb_column(kept, shared)
            vals[name] = columns[key]


def _jsonb_column(kept, shared):
    """The column form of the company entries ``kept`` ((company, value) pairs): NULL when none,
    else their jsonb value, one per chunk and distinct entries in ``shared`` (the lines of an
    account share theirs: serialised once)."""
    if not kept:
        return _Column(None)
    try:
        known = shared.get(kept)
    except TypeError:  # an unhashable value: serialised with its row
        return _Column(psycopg2.extras.Json(dict(kept)))
    if known is None:
        known = shared[kept] = _Column(psycopg2.extras.Json(dict(kept)))
    return known


def _pricelist_values(Model, vals_list, synced):
    """{position: pricelist id or None} of the lines whose current-company pricelist the inverse writes.

    product's ``_inverse_product_pricelist`` on the value create() writes (the
    commercial parent's pricelist): none when it is the
    default pricelist of the line's country, else that pricelist; nothing
    written when there is no pricelist and no specific one to reset.
    """
    if PRICELIST not in Model._fields or SPECIFIC_PRICELIST not in Model._fields:
        return {}
    env = Model.env
    # Only what the pricelist's computation reads is fetched (its specific pricelist, its country),
    # not the prefetch group of every company-dependent field of the accounts.
    parents = Model.browse(set(synced.values())).sudo().with_context(prefetch_fields=False)
    parent_pricelist = {parent.id: parent.property_product_pricelist.id for parent in parents}
    countries = {}
    Pricelist = env["product.pricelist"]
    specific = Model._fields[SPECIFIC_PRICELIST]
    # The line's own specific pricelist as the inverse reads it: its entry, else the fallback.
    fallback = specific.get_company_dependent_fallback(Model).id or None
    out = {}
    for n, parent in synced.items():
        vals = vals_list[n]
        pricelist = parent_pricelist[parent] or False
        code = env["res.country"].browse(vals.get("country_id") or []).code or False
        if code not in countries:
            domain = [("country_group_ids.country_ids.code", "=", code)]
            countries[code] = Pricelist.search(domain, limit=1).id
        default_for_country = countries[code]
        actual = specific.convert_to_cache(vals.get(SPECIFIC_PRICELIST), Model) or fallback
        if pricelist or (actual and default_for_country and default_for_country != actual):
            out[n] = None if pricelist == default_for_country else pricelist
    return out
