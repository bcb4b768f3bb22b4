"""Mapping suggestions: which Odoo field each source column should feed.

For one detected file (table known), :func:`suggest_mapping` scores every
source column against the canonical columns of the table (:mod:`.schema`)
by *name* (synonyms, abbreviations, fuzzy similarity) and by *values*
(E.164 numbers, IMSIs with a known MCC+MNC, ICCIDs passing Luhn, e-mails,
dates, amounts, closed sets), then assigns columns greedily, best score first.
Each suggestion carries a confidence (0..1) and human-readable evidence; the
operator confirms or corrects it and the result is saved as a template.

Columns nobody claims become proposed custom fields (``x_<header>``) with an
inferred type; secret columns are marked ``drop``. Everything is deterministic:
same input, same suggestion.

Identifier checks are passed in (``validators``: the Odoo side hands over
``odoo.addons.telecom_subscriber.tools.identifiers``), and the secret columns
come from detection (:func:`.secret_columns.detect_secret_columns`, run once
per file): this module neither imports another addon nor detects secrets again.
"""

import difflib
import re
from dataclasses import dataclass, field

from . import detect, legacy_codes, schema, values
from . import headers as _headers

__all__ = [
    "ROUTED_CODES",
    "SELECTION_TRANSLATION",
    "TARGETS",
    "ColumnSuggestion",
    "MappingSuggestion",
    "ValueProfile",
    "identifier_validators",
    "infer_field_type",
    "profile_values",
    "suggest_mapping",
]


def _f(name, type_, string, *, selection=(), mandatory=False, relation=None, lookup=None):
    return {
        "name": name,
        "type": type_,
        "string": string,
        "selection": tuple(selection),
        "mandatory": mandatory,
        "relation": relation,
        "lookup": lookup,
    }


def _sel(values_):
    return tuple((v, v.replace("_", " ").title()) for v in values_)


_PARTNER_ADDRESS = {
    "street": _f("street", "char", "Street"),
    "city": _f("city", "char", "City"),
    "zip": _f("zip", "char", "Zip"),
    "country": _f("country_id", "many2one", "Country", relation="res.country", lookup="code"),
}

# table -> {"model": Odoo model or None (inventory), "fields": {canonical column: target field spec}}.
# A canonical column absent from "fields" has no standard target; it is
# proposed as a new x_ field like any unknown column. A column mapped to
# None is recognised but deliberately not stored (control totals, etc.).
TARGETS = {
    "billing_accounts": {
        "model": "res.partner",
        "fields": {
            "account_number": _f(
                "x_billing_account_number", "char", "Billing Account Number", mandatory=True
            ),
            "account_name": _f("name", "char", "Name", mandatory=True),
            "status": _f(
                "x_account_status", "selection", "Account Status", selection=_sel(schema.ACCOUNT_STATUSES)
            ),
            "bill_cycle_day": _f("x_bill_cycle_day", "integer", "Bill Cycle Day"),
            "invoicing_preference": _f(
                "x_invoicing_preference",
                "selection",
                "Invoicing Preference",
                selection=_sel(schema.INVOICING_PREFERENCES),
            ),
            "payment_method": _f("x_payment_method", "char", "Payment Method"),
            "ar_balance": _f("x_legacy_ar_balance", "monetary", "Legacy AR Balance"),
            "credit_limit": _f("credit_limit", "float", "Credit Limit"),
            "email": _f("email", "char", "Email"),
            "phone": _f("phone", "char", "Phone"),
            "vat": _f("vat", "char", "Tax ID"),
            # Resolved through the run's owner mapping (bss.import.owner.map): a user or a sales team.
            "owner_id": _f("user_id", "many2one", "Salesperson", relation="res.users", lookup="login"),
            **_PARTNER_ADDRESS,
        },
    },
    "subscribers": {
        "model": "res.partner",
        "fields": {
            "subscriber_id": _f("x_subscriber_id", "char", "Subscriber ID", mandatory=True),
            "account_number": _f(
                "parent_id",
                "many2one",
                "Billing Account",
                relation="res.partner",
                lookup="x_billing_account_number",
            ),
            "first_name": _f("name", "char", "Name", mandatory=True),
            "last_name": _f("name", "char", "Name", mandatory=True),
            "email": _f("email", "char", "Email"),
            "contact_phone": _f("phone", "char", "Phone"),
            # No module field holds a birth date (personal data the suite does not
            # need): proposed as a new custom field, the operator decides.
            "msisdn": _f("x_msisdn", "char", "MSISDN", mandatory=True),
            "imsi": _f("x_imsi", "char", "IMSI"),
            "iccid": _f("x_iccid", "char", "ICCID"),
            "service_type": _f(
                "x_service_type", "selection", "Service Type", selection=_sel(schema.SERVICE_TYPES)
            ),
            "plan_code": _f("x_plan_code", "char", "Plan Code"),
            "status": _f(
                "x_subscriber_status",
                "selection",
                "Subscriber Status",
                selection=_sel(schema.SUBSCRIBER_STATUSES),
            ),
            "ocs_balance": _f("x_ocs_balance", "monetary", "OCS Balance"),
            "last_usage_date": _f("x_last_usage_date", "date", "Last Usage"),
            "total_voice_minutes": _f("x_total_voice_minutes", "float", "Total Voice Minutes"),
            "total_data_mb": _f("x_total_data_mb", "float", "Total Data (MB)"),
            "total_sms_count": _f("x_total_sms_count", "integer", "Total SMS"),
            "cpni_opt_out": _f("x_cpni_opt_out", "boolean", "CPNI Opt-out"),
            # Resolved through the run's owner mapping (bss.import.owner.map): a user or a sales team.
            "owner_id": _f("user_id", "many2one", "Salesperson", relation="res.users", lookup="login"),
            **_PARTNER_ADDRESS,
        },
    },
    "service_plans": {
        "model": "product.template",
        "fields": {
            "plan_code": _f("x_plan_code", "char", "Plan Code", mandatory=True),
            "plan_name": _f("name", "char", "Name", mandatory=True),
            "service_type": _f(
                "x_service_type", "selection", "Service Type", selection=_sel(schema.SERVICE_TYPES)
            ),
            "price": _f("list_price", "float", "Sales Price"),
            "currency": None,
            "validity_days": _f("x_validity_days", "integer", "Validity (days)"),
            "voice_minutes": _f("x_voice_minutes", "integer", "Voice Minutes"),
            "voice_unlimited": _f("x_voice_unlimited", "boolean", "Unlimited Voice"),
            "data_mb": _f("x_data_mb", "integer", "Data (MB)"),
            "data_unlimited": _f("x_data_unlimited", "boolean", "Unlimited Data"),
            "sms_count": _f("x_sms_count", "integer", "SMS"),
            "sms_unlimited": _f("x_sms_unlimited", "boolean", "Unlimited SMS"),
            "active": _f("active", "boolean", "Active"),
        },
    },
    "product_catalog": {
        "model": "product.template",
        "fields": {
            "product_code": _f("default_code", "char", "Internal Reference", mandatory=True),
            "product_name": _f("name", "char", "Name", mandatory=True),
            "price": _f("list_price", "float", "Sales Price"),
            "currency": None,
            "plan_code": _f("x_plan_code", "char", "Plan Code"),
            "active": _f("active", "boolean", "Active"),
        },
    },
    "orders": {
        "model": "sale.order",
        "fields": {
            "order_id": _f("client_order_ref", "char", "Customer Reference", mandatory=True),
            "subscriber_id": _f(
                "partner_id",
                "many2one",
                "Customer",
                relation="res.partner",
                lookup="x_subscriber_id",
                mandatory=True,
            ),
            "account_number": _f(
                "partner_invoice_id",
                "many2one",
                "Invoice Address",
                relation="res.partner",
                lookup="x_billing_account_number",
            ),
            "order_date": _f("date_order", "datetime", "Order Date"),
            "status": _f(
                "state",
                "selection",
                "Status",
                selection=(("draft", "Quotation"), ("sale", "Sales Order"), ("cancel", "Cancelled")),
            ),
            "total_amount": None,
            "currency": None,
        },
    },
    "order_lines": {
        "model": "sale.order.line",
        "fields": {
            "order_id": _f(
                "order_id",
                "many2one",
                "Order",
                relation="sale.order",
                lookup="client_order_ref",
                mandatory=True,
            ),
            "line_no": _f("sequence", "integer", "Sequence"),
            "plan_code": _f(
                "product_id", "many2one", "Product", relation="product.product", lookup="x_plan_code"
            ),
            "product_code": _f(
                "product_id", "many2one", "Product", relation="product.product", lookup="default_code"
            ),
            "quantity": _f("product_uom_qty", "float", "Quantity"),
            "unit_price": _f("price_unit", "float", "Unit Price"),
            "line_amount": None,
        },
    },
    "invoices": {
        "model": "account.move",
        "fields": {
            "invoice_number": _f("ref", "char", "Reference", mandatory=True),
            "account_number": _f(
                "partner_id",
                "many2one",
                "Customer",
                relation="res.partner",
                lookup="x_billing_account_number",
                mandatory=True,
            ),
            "invoice_date": _f("invoice_date", "date", "Invoice Date"),
            "due_date": _f("invoice_date_due", "date", "Due Date"),
            "amount_untaxed": None,
            "amount_tax": None,
            "amount_total": None,
            "amount_residual": None,
            "currency": None,
            # The file itself is attached to the invoice (ir.attachment), not stored in a field.
            "pdf_file": None,
        },
    },
    "invoice_lines": {
        "model": "account.move.line",
        "fields": {
            "invoice_number": _f(
                "move_id", "many2one", "Invoice", relation="account.move", lookup="ref", mandatory=True
            ),
            "line_no": _f("sequence", "integer", "Sequence"),
            "description": _f("name", "char", "Label"),
            "quantity": _f("quantity", "float", "Quantity"),
            "unit_price": _f("price_unit", "float", "Unit Price"),
            "tax_rate": _f("tax_ids", "many2many", "Taxes", relation="account.tax", lookup="amount"),
            "line_amount": None,
        },
    },
    # Allowance buckets of the wallet addon, owned by the subscriber's wallet. A
    # monetary OCS bucket is no allowance but the wallet's balance (ROUTED_CODES).
    "ocs_buckets": {
        "model": "telecom.wallet.bucket",
        "fields": {
            "bucket_id": _f("legacy_bucket_id", "char", "Legacy Bucket ID", mandatory=True),
            "subscriber_id": _f(
                "wallet_id",
                "many2one",
                "Wallet",
                relation="telecom.wallet",
                lookup="partner_id.x_subscriber_id",
                mandatory=True,
            ),
            "bucket_type": _f(
                "usage_type",
                "selection",
                "Usage Type",
                selection=(
                    ("monetary", "Monetary (wallet balance)"),
                    ("data", "Data"),
                    ("voice", "Voice"),
                    ("sms", "SMS"),
                ),
            ),
            # The export's units (MB, SEC, SMS) in the wallet's base units.
            "unit": _f(
                "unit",
                "selection",
                "Unit",
                selection=(("mb", "MB"), ("seconds", "Seconds"), ("messages", "Messages")),
            ),
            "initial_amount": _f("initial_quantity", "float", "Initial Quantity"),
            "remaining_amount": _f("remaining_quantity", "float", "Remaining Quantity", mandatory=True),
            "valid_from": _f("valid_from", "datetime", "Valid From"),
            "valid_to": _f("valid_to", "datetime", "Valid To"),
            "priority": _f("priority", "integer", "Priority"),
        },
    },
    # The number inventory of telecom_subscriber.
    "numbers": {
        "model": "telecom.number",
        "fields": {
            "msisdn": _f("msisdn", "char", "MSISDN", mandatory=True),
            "status": _f(
                "status", "selection", "Status", selection=_sel(schema.NUMBER_STATUSES), mandatory=True
            ),
            "subscriber_id": _f(
                "partner_id", "many2one", "Subscriber", relation="res.partner", lookup="x_subscriber_id"
            ),
            "region": _f("region", "char", "Region"),
            "rate_centre": _f("rate_center", "char", "Rate Center"),
            # The start of the number's open assignment (telecom.number.assignment), not a field.
            "assigned_date": None,
            "aging_date": _f("aging_date", "date", "Aging Since"),
        },
    },
    "number_ports": {
        "model": "telecom.number.port",
        "fields": {
            # The source key stays on the import link: a port has no legacy id field.
            "port_id": None,
            "msisdn": _f(
                "number_id", "many2one", "Number", relation="telecom.number", lookup="msisdn", mandatory=True
            ),
            "direction": _f("direction", "selection", "Direction", selection=_sel(schema.PORT_DIRECTIONS)),
            "subscriber_id": _f(
                "partner_id", "many2one", "Subscriber", relation="res.partner", lookup="x_subscriber_id"
            ),
            "donor_operator": _f("donor_operator", "char", "Donor Operator"),
            "recipient_operator": _f("recipient_operator", "char", "Recipient Operator"),
            "request_date": _f("request_date", "date", "Requested On"),
            "completion_date": _f("completion_date", "date", "Completed On"),
            "transaction_id": _f("transaction_id", "char", "Transaction ID"),
            "state": _f("state", "selection", "State", selection=_sel(schema.PORT_STATES)),
            "rejection_code": _f("rejection_code", "char", "Rejection Code"),
        },
    },
    # A done interaction is a message in the chatter of its subscriber (or account); a scheduled one
    # an activity (mail.activity) of the same record. The key stays on the import link.
    "interactions": {
        "model": "mail.message",
        "fields": {
            "interaction_id": None,
            "subscriber_id": None,
            "account_number": None,
            "channel": None,
            "status": None,
            "occurred_at": _f("date", "datetime", "Date"),
            "due_date": None,
            # Resolved through the run's owner mapping: the mapped user's partner, else "Legacy BSS".
            "author_id": _f("author_id", "many2one", "Author", relation="res.partner", lookup="email"),
            "assigned_to": None,
            "subject": _f("subject", "char", "Subject"),
            "body": None,
        },
    },
    # A document is an attachment of its subscriber (or account), the file copied from the export.
    "documents": {
        "model": "ir.attachment",
        "fields": {
            "document_id": None,
            "subscriber_id": None,
            "account_number": None,
            "document_type": None,
            "file_path": None,
            "file_name": _f("name", "char", "Name"),
            "document_date": None,
            "uploaded_by": None,
        },
    },
}

_TYPE_OF = {
    "str": "char",
    "code": "char",
    "int": "integer",
    "decimal": "float",
    "date": "date",
    "datetime": "datetime",
    "bool": "boolean",
    "msisdn": "char",
    "imsi": "char",
    "iccid": "char",
    "email": "char",
}
# Inventory tables are not migrated into business models: their canonical
# columns are their targets (the inventory record keeps them as they are).
for _table in ("custom_fields", "owners", "pcrf_rules", "aaa_hss", "network_elements", "usage"):
    TARGETS[_table] = {
        "model": None,
        "fields": {
            c.name: _f(
                c.name,
                "selection" if c.choices else _TYPE_OF[c.type],
                c.meaning,
                selection=_sel(c.choices),
                mandatory=c.mandatory,
            )
            for c in schema.TABLES[_table].columns
        },
    }

# Canonical values -> Odoo selection keys where they differ.
SELECTION_TRANSLATION = {
    ("orders", "status"): {"draft": "draft", "confirmed": "sale", "done": "sale", "cancelled": "cancel"},
}

# Codes of a selection target that send the row elsewhere instead of being stored in
# the field: a monetary OCS bucket is the wallet's balance, which the OCS cutover posts
# as journal entries; only allowance buckets become telecom.wallet.bucket records.
ROUTED_CODES = {("ocs_buckets", "bucket_type"): {"monetary": "the wallet balance (OCS cutover)"}}

# Several source columns feeding one field: the rule says how.
_COMBINE = {
    ("subscribers", "name"): {"rule": "join", "separator": " ", "order": ("first_name", "last_name")},
    ("order_lines", "product_id"): {"rule": "first_non_empty", "order": ("plan_code", "product_code")},
}


def identifier_validators(identifiers):
    """Return ``{"msisdn": fn, "imsi": fn, "iccid": fn}`` from telecom_subscriber's identifiers module.

    The caller imports it (``odoo.addons.telecom_subscriber.tools.identifiers``)
    and passes it in: this module imports no other addon. Each function raises
    ``ValueError`` on an invalid value.
    """
    return {
        "msisdn": identifiers.normalize_msisdn,
        "imsi": identifiers.validate_imsi,
        "iccid": identifiers.validate_iccid,
    }


_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[A-Za-z]{2,}$")
_INT = re.compile(r"^[+-]?\d+$")
_HEX32 = re.compile(r"^[0-9a-fA-F]{32}$")
_BOOLS = {"0", "1", "y", "n", "yes", "no", "true", "false", "t", "f", "x", ""}
_MONEY_WORDS = {"amount", "balance", "price", "fee", "charge", "cost", "limit", "total", "credit", "debit"}


@dataclass
class ValueProfile:
    """Shares (0..1) of non-empty sampled values of each recognised kind, plus distinct values."""

    count: int
    shares: dict
    distinct: list
    date_format: object = None
    has_time: bool = False
    decimal_format: object = None

    def share(self, kind):
        return self.shares.get(kind, 0.0)


def _ok(fn, value):
    try:
        fn(value)
    except (ValueError, TypeError):
        return False
    return True


def profile_values(samples, validators, max_distinct=25):
    """Classify sampled cell values; returns a :class:`ValueProfile`.

    Kinds are exclusive and tested in this order: ``iccid`` (18-22 digits
    starting 89, Luhn), ``imsi`` (15 digits, known MCC+MNC), ``e164`` (a valid
    MSISDN written with ``+``/``00`` or of 10+ digits), ``email``, ``hex32``,
    ``integer``, ``decimal``; ``date`` and ``bool`` are measured separately
    because they overlap with integers (``20240131``, ``0``/``1``).

    ``validators`` is ``{"msisdn": fn, "imsi": fn, "iccid": fn}`` (each ``fn``
    raises ``ValueError`` on an invalid value); a kind without a function is
    not recognised.
    """
    vals = [v.strip() for v in samples if v and v.strip()]
    n = len(vals)
    if not n:
        return ValueProfile(0, {}, [])
    counts = {}

    def bump(kind):
        counts[kind] = counts.get(kind, 0) + 1

    iccid_fn, imsi_fn, msisdn_fn = validators.get("iccid"), validators.get("imsi"), validators.get("msisdn")
    for v in vals:
        digits = re.sub(r"[\s\-.]", "", v)
        if (
            iccid_fn
            and digits.startswith("89")
            and digits.isdigit()
            and 18 <= len(digits) <= 22
            and _ok(iccid_fn, v)
        ):
            bump("iccid")
        elif imsi_fn and len(digits) == 15 and digits.isdigit() and _ok(imsi_fn, v):
            bump("imsi")
        elif (
            msisdn_fn
            and (v.startswith(("+", "00")) or (digits.isdigit() and len(digits) >= 10))
            and re.fullmatch(r"[+\d\s\-().]+", v)
            and _ok(msisdn_fn, v)
        ):
            bump("e164")
        elif _EMAIL.match(v):
            bump("email")
        elif _HEX32.match(v):
            bump("hex32")
        elif _INT.match(v):
            bump("integer")
        if v.lower() in _BOOLS:
            bump("bool")
    dec = detect.detect_decimal_format(vals)
    decimal_format = None
    if dec:
        decimal_format = dec[0]
        ok = sum(1 for v in vals if _ok(lambda x: values.parse_decimal(x, dec[0]), v))
        counts["number"] = ok
    date = detect.detect_date_format(vals)
    date_format, has_time = date if date else (None, False)
    if date_format:
        counts["date"] = sum(1 for v in vals if _ok(lambda x: values.parse_datetime(x, date_format), v))
    distinct = sorted(set(vals))
    return ValueProfile(
        n,
        {k: round(c / n, 4) for k, c in sorted(counts.items())},
        distinct[:max_distinct] if len(distinct) <= max_distinct else [],
        date_format,
        has_time,
        decimal_format,
    )


def _is_closed_set(profile):
    return (
        bool(profile.distinct) and len(profile.distinct) <= 12 and profile.count >= 3 * len(profile.distinct)
    )


def infer_field_type(header, profile):
    """Return the Odoo field type for a new custom field (char, integer, float, monetary,
    date, datetime, boolean or selection) from its header and value profile."""
    if not profile.count:
        return "char"
    if profile.share("date") >= 0.9 and profile.share("integer") < 0.9:
        return "datetime" if profile.has_time else "date"
    if profile.share("bool") >= 0.95 and len(profile.distinct) <= 2:
        return "boolean"
    if profile.share("integer") >= 0.95 and profile.share("date") < 0.9:
        return "integer"
    if profile.share("number") >= 0.95:
        return "monetary" if set(_headers.expand_tokens(header)) & _MONEY_WORDS else "float"
    if _is_closed_set(profile):
        return "selection"
    return "char"


# How well a value profile fits a canonical column type (0..1); None = no opinion.
def _value_fit(col, profile):
    if not profile.count:
        return None, None
    t = col.type
    if t == "msisdn":
        s = profile.share("e164")
        return s, f"{s:.0%} of {profile.count} sampled values are E.164 numbers"
    if t == "imsi":
        s = profile.share("imsi")
        return s, f"{s:.0%} of {profile.count} sampled values are IMSIs with a known MCC+MNC"
    if t == "iccid":
        s = profile.share("iccid")
        return s, f"{s:.0%} of {profile.count} sampled values are ICCIDs passing Luhn"
    if t == "email":
        s = profile.share("email")
        return s, f"{s:.0%} of {profile.count} sampled values are e-mail addresses"
    if t in ("date", "datetime"):
        s = profile.share("date")
        fmt = f" ({profile.date_format.name})" if profile.date_format else ""
        return s, f"{s:.0%} of {profile.count} sampled values are dates{fmt}"
    if t == "int":
        s = profile.share("integer")
        return s, f"{s:.0%} of {profile.count} sampled values are whole numbers"
    if t == "decimal":
        s = profile.share("number")
        return s, f"{s:.0%} of {profile.count} sampled values are numbers"
    if t == "bool":
        s = profile.share("bool") if len(profile.distinct) <= 2 and profile.distinct else 0.0
        return s, f"{s:.0%} of {profile.count} sampled values are yes/no flags"
    if t == "code" and col.choices:
        return None, None
    # Free text (names, codes, zip codes, contact numbers) accepts any value:
    # the values neither support nor contradict the name evidence.
    return None, None


def _choice_fit(table, col, profile):
    """Share of distinct values mappable to the column's choices, and the proposed value map."""
    if not profile.distinct:
        return 0.0, {}
    mapping = {}
    # Choices compare without regard to case and map to the exact canonical code ("msc" -> "MSC").
    by_upper = {c.upper(): c for c in col.choices}
    for raw in profile.distinct:
        value = legacy_codes.map_code(table, col.name, raw)
        if value is None:
            value = by_upper.get(values.normalize_code(raw))
        mapping[raw] = value
    known = sum(1 for v in mapping.values() if v)
    return known / len(mapping), mapping


def _name_fit(header, col):
    """Score a header against a canonical column by name; returns (score, evidence)."""
    if col.name in _headers.canonical_candidates(header):
        return 1.0, f"header {header!r} is a synonym of {col.name}"
    expanded = "_".join(_headers.expand_tokens(header))
    synonyms = sorted(_headers.SYNONYMS.get(col.name, {col.name}))
    if expanded in synonyms:
        return (
            0.9,
            f"header {header!r} reads as {expanded!r} (abbreviations expanded), a synonym of {col.name}",
        )
    best, best_syn = 0.0, None
    for syn in synonyms:
        ratio = difflib.SequenceMatcher(None, expanded, syn).ratio()
        if ratio > best:
            best, best_syn = ratio, syn
    if best >= 0.75:
        return round(best * 0.85, 4), f"header {header!r} resembles {best_syn!r} ({best:.0%} similar)"
    col_toks = set(col.name.split("_"))
    toks = set(_headers.expand_tokens(header))
    overlap = len(col_toks & toks) / len(col_toks | toks) if toks else 0.0
    if overlap >= 0.5:
        return round(0.6 * overlap, 4), f"header {header!r} shares words with {col.name}"
    return 0.0, None


_DISTINCTIVE = {"msisdn", "imsi", "iccid", "email"}


@dataclass
class ColumnSuggestion:
    """The proposal for one source column.

    ``action`` is ``"map"`` (to ``target`` on the table's model),
    ``"new_field"`` (create ``target`` as a custom field of ``target_type``),
    ``"skip"`` (recognised, not stored: e.g. control totals), or ``"drop"``
    (a secret: removed at staging). ``value_map`` proposes source value ->
    target selection key (None = operator must decide); ``combine`` tells how
    several columns make one field.
    """

    index: int
    header: str
    action: str
    canonical: str | None
    target: str | None
    target_type: str | None
    confidence: float
    evidence: list = field(default_factory=list)
    value_map: dict | None = None
    combine: dict | None = None
    date_format: object = None
    decimal_format: object = None


@dataclass
class MappingSuggestion:
    """All column proposals of one file, plus canonical mandatory columns nobody matched."""

    table: str
    model: str | None
    columns: list
    missing_mandatory: list

    def by_canonical(self):
        """Return ``{canonical column: ColumnSuggestion}`` for mapped/skipped columns."""
        return {c.canonical: c for c in self.columns if c.canonical}

    def by_header(self):
        return {c.header: c for c in self.columns}


def _custom_name(header, taken):
    base = "x_" + (_headers.normalize_header(header) or "column")
    base = base[:55]
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def suggest_mapping(table, header_list, sample_rows, validators, secret_columns=(), min_confidence=0.35):
    """Suggest a target for every column of a file holding ``table``.

    ``sample_rows`` are data rows (lists of str); a few hundred are enough.
    ``validators`` are the identifier checks (see :func:`profile_values`);
    ``secret_columns`` are the file's :class:`.secret_columns.SecretColumn`
    found at detection: they are proposed as ``drop`` (an ambiguous one too:
    nothing is staged from it until the operator marks it safe) and their
    values are not looked at. Returns a :class:`MappingSuggestion`. Evidence
    strings never quote cell values except the distinct codes of closed sets
    (statuses, types).
    """
    spec = schema.TABLES[table]
    target_spec = TARGETS.get(table, {"model": None, "fields": {}})
    secret_cols = {s.index: s for s in secret_columns}
    profiles = {}
    for j, _h in enumerate(header_list):
        if j in secret_cols:
            continue
        profiles[j] = profile_values([r[j] for r in sample_rows if j < len(r)], validators)

    candidates = []
    choice_maps = {}
    for j, header in enumerate(header_list):
        if j in secret_cols:
            continue
        prof = profiles[j]
        for order, col in enumerate(spec.columns):
            name_score, name_ev = _name_fit(header, col)
            if col.choices:
                fit, value_map = _choice_fit(table, col, prof)
                choice_maps[(j, col.name)] = value_map
                val_score = fit if prof.count else None
                val_ev = (
                    f"{fit:.0%} of {len(value_map)} distinct values are known {col.name} codes"
                    if value_map
                    else None
                )
            else:
                val_score, val_ev = _value_fit(col, prof)
            evidence = [e for e in (name_ev, val_ev) if e]
            if name_score > 0:
                conf = name_score if val_score is None else 0.65 * name_score + 0.35 * val_score
                if val_score is not None and val_score < 0.2 and col.type not in ("str", "code"):
                    conf *= 0.5
                    evidence.append("the values do not fit, confidence halved")
            elif val_score is not None and (col.type in _DISTINCTIVE or col.choices) and val_score >= 0.8:
                conf = 0.55 * val_score
            else:
                continue
            candidates.append((round(conf, 4), j, order, col, evidence))

    candidates.sort(key=lambda c: (-c[0], c[1], c[2]))
    assigned_cols, assigned_canon, chosen = set(), set(), {}
    for conf, j, _order, col, evidence in candidates:
        if conf < min_confidence or j in assigned_cols or col.name in assigned_canon:
            continue
        assigned_cols.add(j)
        assigned_canon.add(col.name)
        chosen[j] = (conf, col, evidence)

    taken = set()
    result = []
    for j, header in enumerate(header_list):
        if j in secret_cols:
            s = secret_cols[j]
            evidence = [s.reason]
            if not s.certain:
                evidence.append("ambiguous: nothing is staged from it until the operator marks it safe")
            result.append(ColumnSuggestion(j, header, "drop", None, None, None, 1.0, evidence))
            continue
        prof = profiles[j]
        if j in chosen:
            conf, col, evidence = chosen[j]
            evidence = list(evidence)
            if col.name in target_spec["fields"] and target_spec["fields"][col.name] is None:
                evidence.append(f"{col.name} is a control value: checked by reconciliation, not stored")
                result.append(ColumnSuggestion(j, header, "skip", col.name, None, None, conf, evidence))
                continue
            tfield = target_spec["fields"].get(col.name)
            if tfield is None:
                ftype = "selection" if col.choices else _TYPE_OF[col.type]
                name = _custom_name(col.name, taken)
                evidence.append(f"no standard field holds {col.name}: proposed as new field {name}")
                sug = ColumnSuggestion(j, header, "new_field", col.name, name, ftype, conf, evidence)
            else:
                sug = ColumnSuggestion(
                    j, header, "map", col.name, tfield["name"], tfield["type"], conf, evidence
                )
                taken.add(tfield["name"])
            if col.choices:
                translation = SELECTION_TRANSLATION.get((table, col.name), {})
                sug.value_map = {
                    raw: (translation.get(v, v) if v else None)
                    for raw, v in choice_maps.get((j, col.name), {}).items()
                }
                unknown = sorted(raw for raw, v in sug.value_map.items() if v is None)
                if unknown:
                    sug.evidence.append(f"codes without a proposal (operator decides): {unknown}")
            combine = _COMBINE.get((table, sug.target))
            if combine and sug.action == "map":
                sug.combine = dict(combine)
            sug.date_format, sug.decimal_format = prof.date_format, prof.decimal_format
            result.append(sug)
            continue
        ftype = infer_field_type(header, prof)
        name = _custom_name(header, taken)
        evidence = [f"no known column matches header {header!r}; proposed as new {ftype} field {name}"]
        sug = ColumnSuggestion(j, header, "new_field", None, name, ftype, 0.0, evidence)
        if ftype == "selection":
            sug.value_map = {raw: _headers.normalize_header(raw) or "empty" for raw in prof.distinct}
        sug.date_format, sug.decimal_format = prof.date_format, prof.decimal_format
        result.append(sug)

    # A combine rule only holds when its parts are all present.
    for sug in result:
        if sug.combine:
            parts = [s for s in result if s.target == sug.target and s.action == "map"]
            if len(parts) < 2:
                sug.combine = None
    found = {s.canonical for s in result if s.canonical}
    missing = [c for c in spec.mandatory if c not in found]
    return MappingSuggestion(table, target_spec["model"], result, missing)
