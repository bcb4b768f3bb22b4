"""The canonical Digital BSS export: tables, columns, keys and references.

This module is the single source of truth shared by the export documentation
(docs/digital-bss-export.md), the synthetic export generator
(scripts/generate_bss_export.py, which loads this file by path, so it must stay
free of relative imports and of any Odoo import), file detection, mapping and the
profiling rules.

Vocabulary:

* an **object** is one of the things the operator reports on
  (``billing_accounts`` ... ``network_elements``);
* a **table** is one file kind of the export. Every object has one table of
  the same name; ``orders`` and ``invoices`` own a second table each
  (``order_lines``, ``invoice_lines``) whose rows are reported under the
  parent object.
"""

import functools
from dataclasses import dataclass, field

__all__ = [
    "OBJECTS",
    "TABLES",
    "Column",
    "Table",
    "column",
    "object_of",
    "tables_of",
]

#: The top-level objects, in migration dependency order.
OBJECTS = (
    "custom_fields",
    "service_plans",
    "product_catalog",
    "owners",
    "billing_accounts",
    "subscribers",
    "ocs_buckets",
    "orders",
    "invoices",
    "numbers",
    "number_ports",
    "interactions",
    "documents",
    "usage",
    "pcrf_rules",
    "aaa_hss",
    "network_elements",
)

# Column types (Column.type): str, code, int, decimal, date, datetime, bool,
# msisdn, imsi, iccid, email. "code" is a short legacy code (status, plan
# code...): text compared case-insensitively after trimming.


@dataclass(frozen=True)
class Column:
    """One canonical column of a table.

    ``ref`` names the referenced ``(table, column)``; ``ref_kind`` says what a
    dangling reference is: ``"entity"`` (an *orphan*: the row points to a
    missing account, subscriber, order...) or ``"code"`` (an *unknown legacy
    code*: the value is not in a catalogue such as the service plans).
    ``choices`` lists the canonical values of a closed set.
    """

    name: str
    type: str
    mandatory: bool
    meaning: str
    ref: tuple | None = None
    ref_kind: str | None = None
    choices: tuple = ()


@dataclass(frozen=True)
class Table:
    """One file kind of the export."""

    name: str
    object: str
    file_name: str
    key: tuple
    columns: tuple
    meaning: str
    parent: str | None = None
    by_name: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        self.by_name.update({c.name: c for c in self.columns})

    # Cached: phases read them for every row (the table is frozen, they never change).
    @functools.cached_property
    def column_names(self):
        return tuple(c.name for c in self.columns)

    @functools.cached_property
    def mandatory(self):
        return tuple(c.name for c in self.columns if c.mandatory)

    @functools.cached_property
    def references(self):
        return tuple(c for c in self.columns if c.ref)


def _c(name, type_, mandatory, meaning, ref=None, ref_kind=None, choices=()):
    return Column(name, type_, mandatory, meaning, ref, ref_kind, tuple(choices))


# The first four lists are the selection keys of telecom_subscriber's fields
# (telecom_subscriber/tools/codes.py). They are copied, not imported, because the
# export generator loads this file by path without Odoo;
# tests/bss_import/test_code_lists.py holds the copies to codes.py.
SERVICE_TYPES = ("mobile_prepaid", "mobile_postpaid", "fixed_broadband", "fixed_wireless", "iot", "other")
SUBSCRIBER_STATUSES = ("pending", "active", "suspended", "barred", "terminated")
ACCOUNT_STATUSES = ("open", "suspended", "closed")
INVOICING_PREFERENCES = ("email", "paper", "portal")
BUCKET_TYPES = ("monetary", "data", "voice", "sms")
ORDER_TYPES = ("new", "change", "addon", "terminate")
ORDER_STATUSES = ("draft", "confirmed", "done", "cancelled")
INVOICE_STATUSES = ("open", "paid", "overdue", "cancelled")
PRODUCT_TYPES = ("sim", "device", "addon", "accessory")
CUSTOM_FIELD_TYPES = ("char", "integer", "float", "monetary", "date", "datetime", "boolean", "selection")
PCRF_ACTIONS = ("throttle", "block", "redirect", "allow")
# The next three are the selection keys of telecom_subscriber's number inventory
# (tools/codes.py), copied for the same reason.
NUMBER_STATUSES = (
    "available",
    "reserved",
    "assigned",
    "porting_in",
    "porting_out",
    "aging",
    "quarantined_released",
)
PORT_DIRECTIONS = ("in", "out")
PORT_STATES = ("submitted", "confirmed", "completed", "rejected", "cancelled")
OWNER_TYPES = ("user", "agent", "dealer", "team")
INTERACTION_CHANNELS = ("call", "email", "meeting", "note", "ticket")
INTERACTION_STATUSES = ("done", "scheduled", "cancelled")
DOCUMENT_TYPES = ("contract", "id_scan", "invoice", "other")
NETWORK_ELEMENT_TYPES = (
    "MSC",
    "SGSN",
    "GGSN",
    "PGW",
    "SGW",
    "MME",
    "HSS",
    "PCRF",
    "OCS",
    "ENB",
    "OLT",
    "BRAS",
)

_ACCOUNT = ("billing_accounts", "account_number")
_SUBSCRIBER = ("subscribers", "subscriber_id")
_PLAN = ("service_plans", "plan_code")
_PRODUCT = ("product_catalog", "product_code")
_ORDER = ("orders", "order_id")
_INVOICE = ("invoices", "invoice_number")
_OWNER = ("owners", "owner_id")
_NUMBER = ("numbers", "msisdn")

_ADDRESS = (
    _c("street", "str", False, "street and house number"),
    _c("city", "str", False, "city"),
    _c("zip", "str", False, "postal code"),
    _c("country", "code", False, "ISO 3166-1 alpha-2 country code"),
)

_TABLES = (
    Table(
        "custom_fields",
        "custom_fields",
        "custom_fields.csv",
        ("object_name", "field_code"),
        (
            _c("object_name", "code", True, "object the legacy custom field belongs to", choices=OBJECTS),
            _c("field_code", "code", True, "technical name of the legacy field"),
            _c("field_label", "str", True, "label shown to users"),
            _c("field_type", "code", True, "data type", choices=CUSTOM_FIELD_TYPES),
            _c("selection_values", "str", False, "allowed values of a selection, separated by '|'"),
            _c("mandatory", "bool", False, "the legacy UI required a value"),
        ),
        "definitions of operator-specific fields added to the legacy objects",
    ),
    Table(
        "service_plans",
        "service_plans",
        "service_plans.csv",
        ("plan_code",),
        (
            _c("plan_code", "code", True, "legacy rate plan code"),
            _c("plan_name", "str", True, "commercial name"),
            _c("service_type", "code", True, "line type", choices=SERVICE_TYPES),
            _c("price", "decimal", True, "recurring price per validity period, tax excluded"),
            _c("currency", "code", True, "ISO 4217 currency code"),
            _c("validity_days", "int", True, "length of one period in days"),
            _c("voice_minutes", "int", False, "included voice minutes (empty when unlimited or none)"),
            _c("voice_unlimited", "bool", False, "voice is unlimited"),
            _c("data_mb", "int", False, "included data in MB"),
            _c("data_unlimited", "bool", False, "data is unlimited"),
            _c("sms_count", "int", False, "included SMS"),
            _c("sms_unlimited", "bool", False, "SMS are unlimited"),
            _c("active", "bool", False, "plan still sold"),
        ),
        "rate plans (tariffs) with their allowances",
    ),
    Table(
        "product_catalog",
        "product_catalog",
        "product_catalog.csv",
        ("product_code",),
        (
            _c("product_code", "code", True, "legacy product code"),
            _c("product_name", "str", True, "commercial name"),
            _c("product_type", "code", True, "kind of product", choices=PRODUCT_TYPES),
            _c("price", "decimal", True, "unit price, tax excluded"),
            _c("currency", "code", True, "ISO 4217 currency code"),
            _c("plan_code", "code", False, "plan an add-on applies to", _PLAN, "code"),
            _c("active", "bool", False, "product still sold"),
        ),
        "devices, SIM cards, add-ons and accessories",
    ),
    Table(
        "owners",
        "owners",
        "owners.csv",
        ("owner_id",),
        (
            _c("owner_id", "code", True, "legacy user, agent, dealer or team id"),
            _c("owner_type", "code", True, "kind of owner", choices=OWNER_TYPES),
            _c("owner_name", "str", True, "name of the person, dealer or team"),
            _c("email", "email", False, "e-mail (a person's login in Odoo is often the same)"),
            _c("active", "bool", False, "still working for the operator"),
        ),
        "legacy users, agents, dealers and teams that own accounts and lines or wrote interactions "
        "(mapped to Odoo users or sales teams by the operator, not migrated as records)",
    ),
    Table(
        "billing_accounts",
        "billing_accounts",
        "billing_accounts.csv",
        ("account_number",),
        (
            _c("account_number", "code", True, "billing account number (BAN)"),
            _c("account_name", "str", True, "name of the paying customer or company"),
            _c("status", "code", True, "account status", choices=ACCOUNT_STATUSES),
            _c("bill_cycle_day", "int", True, "day of month the bill is cut (1-28)"),
            _c("invoicing_preference", "code", False, "how bills are sent", choices=INVOICING_PREFERENCES),
            _c(
                "payment_method",
                "str",
                False,
                "payment method label or token reference (never a card number)",
            ),
            _c("currency", "code", True, "ISO 4217 currency code"),
            _c("credit_limit", "decimal", False, "credit limit"),
            _c("ar_balance", "decimal", False, "open receivable balance in the legacy ledger"),
            _c("email", "email", False, "billing e-mail"),
            _c("phone", "str", False, "contact phone"),
            *_ADDRESS,
            _c("vat", "str", False, "tax identification number"),
            _c("created_date", "date", False, "date the account was opened"),
            _c(
                "owner_id",
                "code",
                False,
                "legacy account manager, agent or dealer owning the account",
                _OWNER,
                "entity",
            ),
        ),
        "paying accounts (become company contacts)",
    ),
    Table(
        "subscribers",
        "subscribers",
        "subscribers.csv",
        ("subscriber_id",),
        (
            _c("subscriber_id", "code", True, "legacy subscriber number"),
            _c("account_number", "code", True, "billing account paying for the line", _ACCOUNT, "entity"),
            _c("first_name", "str", False, "first name"),
            _c("last_name", "str", True, "last name"),
            _c("email", "email", False, "e-mail"),
            _c("contact_phone", "str", False, "contact number (may differ from the MSISDN)"),
            _c("birth_date", "date", False, "date of birth"),
            *_ADDRESS,
            _c("msisdn", "msisdn", True, "line number, E.164"),
            _c("imsi", "imsi", False, "SIM identity, 15 digits (MCC+MNC+MSIN)"),
            _c("iccid", "iccid", False, "SIM serial, 18-22 digits with Luhn check digit"),
            _c("service_type", "code", True, "line type", choices=SERVICE_TYPES),
            _c("plan_code", "code", True, "current rate plan", _PLAN, "code"),
            _c("status", "code", True, "line status", choices=SUBSCRIBER_STATUSES),
            _c("activation_date", "date", True, "date the line was activated"),
            _c("ocs_balance", "decimal", False, "main prepaid balance reported by the OCS"),
            _c("last_usage_date", "datetime", False, "last chargeable event"),
            _c("total_voice_minutes", "int", False, "lifetime voice minutes"),
            _c("total_data_mb", "decimal", False, "lifetime data in MB"),
            _c("total_sms_count", "int", False, "lifetime SMS"),
            _c("cpni_opt_out", "bool", False, "customer opted out of CPNI use"),
            _c("owner_id", "code", False, "legacy agent or dealer who owns the line", _OWNER, "entity"),
        ),
        "lines (become individual contacts under their billing account)",
    ),
    Table(
        "ocs_buckets",
        "ocs_buckets",
        "ocs_buckets.csv",
        ("bucket_id",),
        (
            _c("bucket_id", "code", True, "legacy bucket id"),
            _c("subscriber_id", "code", True, "owner of the bucket", _SUBSCRIBER, "entity"),
            _c("bucket_type", "code", True, "monetary or allowance kind", choices=BUCKET_TYPES),
            _c("unit", "code", True, "currency code, MB, SEC or SMS"),
            _c("initial_amount", "decimal", False, "amount granted"),
            _c("remaining_amount", "decimal", True, "amount left at export time"),
            _c("valid_from", "datetime", True, "start of validity"),
            _c("valid_to", "datetime", False, "end of validity (empty: no expiry)"),
            _c("priority", "int", False, "consumption order, lower first"),
        ),
        "online charging balances: money and data/voice/SMS allowances",
    ),
    Table(
        "orders",
        "orders",
        "orders.csv",
        ("order_id",),
        (
            _c("order_id", "code", True, "legacy order number"),
            _c("subscriber_id", "code", True, "line the order is for", _SUBSCRIBER, "entity"),
            _c("account_number", "code", True, "billing account", _ACCOUNT, "entity"),
            _c("order_date", "datetime", True, "date the order was placed"),
            _c("order_type", "code", True, "kind of order", choices=ORDER_TYPES),
            _c("status", "code", True, "order status", choices=ORDER_STATUSES),
            _c("total_amount", "decimal", False, "total, tax excluded"),
            _c("currency", "code", False, "ISO 4217 currency code"),
        ),
        "sales orders (activations, plan changes, add-ons)",
    ),
    Table(
        "order_lines",
        "orders",
        "order_lines.csv",
        ("order_id", "line_no"),
        (
            _c("order_id", "code", True, "order", _ORDER, "entity"),
            _c("line_no", "int", True, "line number inside the order"),
            _c("plan_code", "code", False, "plan ordered", _PLAN, "code"),
            _c("product_code", "code", False, "product ordered", _PRODUCT, "code"),
            _c("quantity", "decimal", True, "quantity"),
            _c("unit_price", "decimal", True, "unit price, tax excluded"),
            _c("line_amount", "decimal", False, "quantity x unit price"),
        ),
        "lines of the sales orders",
        parent="orders",
    ),
    Table(
        "invoices",
        "invoices",
        "invoices.csv",
        ("invoice_number",),
        (
            _c("invoice_number", "code", True, "legacy invoice number"),
            _c("account_number", "code", True, "billing account invoiced", _ACCOUNT, "entity"),
            _c("invoice_date", "date", True, "invoice date"),
            _c("due_date", "date", True, "due date"),
            _c("amount_untaxed", "decimal", True, "total tax excluded"),
            _c("amount_tax", "decimal", True, "tax"),
            _c("amount_total", "decimal", True, "total tax included"),
            _c("amount_residual", "decimal", True, "amount still due"),
            _c("currency", "code", True, "ISO 4217 currency code"),
            _c("status", "code", True, "invoice status", choices=INVOICE_STATUSES),
            _c("pdf_file", "str", False, "the invoice's PDF: its path inside the export"),
        ),
        "customer invoices (open items become receivables)",
    ),
    Table(
        "invoice_lines",
        "invoices",
        "invoice_lines.csv",
        ("invoice_number", "line_no"),
        (
            _c("invoice_number", "code", True, "invoice", _INVOICE, "entity"),
            _c("line_no", "int", True, "line number inside the invoice"),
            _c("subscriber_id", "code", False, "line charged", _SUBSCRIBER, "entity"),
            _c("description", "str", True, "label"),
            _c("quantity", "decimal", True, "quantity"),
            _c("unit_price", "decimal", True, "unit price, tax excluded"),
            _c("tax_rate", "decimal", False, "tax rate in percent"),
            _c("line_amount", "decimal", True, "amount tax excluded"),
        ),
        "lines of the invoices",
        parent="invoices",
    ),
    Table(
        "numbers",
        "numbers",
        "numbers.csv",
        ("msisdn",),
        (
            _c("msisdn", "msisdn", True, "the number, E.164"),
            _c("status", "code", True, "inventory status", choices=NUMBER_STATUSES),
            _c(
                "subscriber_id",
                "code",
                False,
                "line holding the number (assigned, porting out)",
                _SUBSCRIBER,
                "entity",
            ),
            _c("region", "str", False, "geographic designation (region, area code)"),
            _c("rate_centre", "str", False, "rate centre"),
            _c("assigned_date", "date", False, "date the number was assigned to its current line"),
            _c("aging_date", "date", False, "date the number entered aging"),
        ),
        "the operator's number inventory: every MSISDN and its status",
    ),
    Table(
        "number_ports",
        "number_ports",
        "number_ports.csv",
        ("port_id",),
        (
            _c("port_id", "code", True, "legacy port request id"),
            _c("msisdn", "msisdn", True, "number ported", _NUMBER, "entity"),
            _c("direction", "code", True, "in: to the operator; out: away from it", choices=PORT_DIRECTIONS),
            _c("subscriber_id", "code", False, "line the port is for", _SUBSCRIBER, "entity"),
            _c("donor_operator", "str", False, "operator the number leaves"),
            _c("recipient_operator", "str", False, "operator the number goes to"),
            _c("request_date", "date", True, "date the port was requested"),
            _c("completion_date", "date", False, "date the port completed"),
            _c("transaction_id", "str", False, "number portability clearinghouse transaction id"),
            _c("state", "code", True, "port request state", choices=PORT_STATES),
            _c("rejection_code", "code", False, "reason code of a rejected port"),
        ),
        "number portability history: every port in and out",
    ),
    Table(
        "interactions",
        "interactions",
        "interactions.csv",
        ("interaction_id",),
        (
            _c("interaction_id", "code", True, "legacy interaction id"),
            _c("subscriber_id", "code", False, "line the interaction is about", _SUBSCRIBER, "entity"),
            _c(
                "account_number",
                "code",
                False,
                "account the interaction is about (no line)",
                _ACCOUNT,
                "entity",
            ),
            _c("channel", "code", True, "kind of interaction", choices=INTERACTION_CHANNELS),
            _c(
                "status",
                "code",
                False,
                "done, scheduled (a future activity) or cancelled",
                choices=INTERACTION_STATUSES,
            ),
            _c("occurred_at", "datetime", True, "when it happened (or was logged, for a scheduled one)"),
            _c("due_date", "date", False, "date a scheduled interaction is due"),
            _c("author_id", "code", False, "legacy user who logged it", _OWNER, "entity"),
            _c(
                "assigned_to",
                "code",
                False,
                "legacy user a scheduled interaction is assigned to",
                _OWNER,
                "entity",
            ),
            _c("subject", "str", False, "subject or summary"),
            _c("body", "str", False, "notes, e-mail text or call summary"),
        ),
        "customer-care history: calls, e-mails, meetings, notes and tickets",
    ),
    Table(
        "documents",
        "documents",
        "documents.csv",
        ("document_id",),
        (
            _c("document_id", "code", True, "legacy document id"),
            _c("subscriber_id", "code", False, "line the document belongs to", _SUBSCRIBER, "entity"),
            _c(
                "account_number",
                "code",
                False,
                "account the document belongs to (no line)",
                _ACCOUNT,
                "entity",
            ),
            _c("document_type", "code", False, "kind of document", choices=DOCUMENT_TYPES),
            _c("file_path", "str", True, "the file: its path inside the export"),
            _c("file_name", "str", False, "original file name (default: the path's last part)"),
            _c("document_date", "datetime", False, "date the document was filed"),
            _c("uploaded_by", "code", False, "legacy user who filed it", _OWNER, "entity"),
        ),
        "documents filed on accounts and lines: contracts, ID scans, invoice copies",
    ),
    Table(
        "usage",
        "usage",
        "usage.csv",
        ("subscriber_id", "usage_month"),
        (
            _c("subscriber_id", "code", True, "line", _SUBSCRIBER, "entity"),
            _c("usage_month", "date", True, "first day of the summarised month"),
            _c("voice_minutes", "int", True, "voice minutes in the month"),
            _c("data_mb", "decimal", True, "data in MB in the month"),
            _c("sms_count", "int", True, "SMS in the month"),
            _c("roaming", "bool", False, "some usage was roaming"),
            _c("charged_amount", "decimal", False, "amount charged for the usage"),
            _c("last_event", "datetime", False, "last chargeable event of the month"),
        ),
        "monthly CDR summaries per line",
    ),
    Table(
        "pcrf_rules",
        "pcrf_rules",
        "pcrf_rules.csv",
        ("rule_id",),
        (
            _c("rule_id", "code", True, "PCRF rule identifier"),
            _c("plan_code", "code", True, "plan the rule applies to", _PLAN, "code"),
            _c("rule_name", "str", True, "name"),
            _c("qci", "int", True, "QoS class identifier (1-9)"),
            _c("max_bitrate_ul_kbps", "int", False, "uplink cap"),
            _c("max_bitrate_dl_kbps", "int", False, "downlink cap"),
            _c("fup_threshold_mb", "int", False, "fair-use threshold triggering the action"),
            _c("action", "code", True, "what happens past the threshold", choices=PCRF_ACTIONS),
            _c("priority", "int", False, "evaluation order"),
        ),
        "policy rules (inventory: re-provisioned on the new policy server, not migrated into Odoo)",
    ),
    Table(
        "aaa_hss",
        "aaa_hss",
        "aaa_hss.csv",
        ("imsi",),
        (
            _c("imsi", "imsi", True, "SIM identity"),
            _c("subscriber_id", "code", True, "line", _SUBSCRIBER, "entity"),
            _c("msisdn", "msisdn", True, "line number"),
            _c("apn", "str", False, "default access point name"),
            _c("auth_profile", "code", False, "authentication profile"),
            _c("roaming_allowed", "bool", False, "roaming allowed"),
            _c("hss_status", "code", False, "provisioning status in the HSS"),
        ),
        "AAA/HSS provisioning identifiers (inventory; SIM secrets are never part of it)",
    ),
    Table(
        "network_elements",
        "network_elements",
        "network_elements.csv",
        ("element_id",),
        (
            _c("element_id", "code", True, "element identifier"),
            _c("element_type", "code", True, "node type", choices=NETWORK_ELEMENT_TYPES),
            _c("hostname", "str", True, "host name"),
            _c("ip_address", "str", False, "management IP address"),
            _c("site", "str", False, "site or data centre"),
            _c("vendor", "str", False, "vendor"),
            _c("software_version", "str", False, "software release"),
            _c("status", "code", False, "in_service or out_of_service"),
        ),
        "network nodes the BSS talks to (inventory)",
    ),
)

#: table name -> :class:`Table`, in migration dependency order.
TABLES = {t.name: t for t in _TABLES}


def object_of(table):
    """Return the reporting object of a table name (``order_lines`` -> ``orders``)."""
    return TABLES[table].object


def tables_of(obj):
    """Return the table names reported under object ``obj``."""
    return tuple(t.name for t in _TABLES if t.object == obj)


def column(table, name):
    """Return the :class:`Column` ``name`` of ``table``."""
    return TABLES[table].by_name[name]
