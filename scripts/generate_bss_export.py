#!/usr/bin/env python3
"""Generate a synthetic Digital BSS export, with exactly known defects.

Seeded and deterministic: the same options give byte-identical files, whatever
``--jobs``. Streamed: subscribers are produced in fixed chunks (each with its
own random stream, generated in parallel), written as part files, then
concatenated, so memory stays flat from 1 000 to 2 000 000 subscribers. For a ZIP the
workers also deflate their parts, and each member's stream is stitched from those pieces.

    scripts/generate_bss_export.py --subscribers 100000 --seed 7 --out /tmp/export.zip \\
        --dialect legacy-upper --defects duplicate_rows=20,orphans=15,secret_columns_dropped=6

``--customer-history`` also writes owners (with ``owner_id`` on accounts and lines), the number
inventory and its ports, interactions and documents (contract PDFs and ID scans inside the export),
and the defect kind ``missing_document``; without it the export is byte for byte the one before.

``--secret-spellings unseen`` writes the secret columns under headers the secret detector has
never seen (two of them with no hint at all), to prove that it reads words and values, not names.

The manifest (``manifest.json`` inside an output folder, ``<name>.manifest.json``
next to an output ZIP, or ``--manifest PATH``) lists per defect kind and object
the count and the affected file, row (line number, header = 1) and key, plus
the injected secret values, so tests can prove they never reach the database.

Counting rules (the same as ``addons/bss_import/lib/profile_rules.py``): one
injected defect per row, and a row carries at most one defect of any kind, so
every finding count of a profiler equals the manifest's count. Duplicates are
exact copies placed right after their original; only the copy is counted.
Only stdlib (openpyxl for ``--format xlsx``). Identifier helpers and the
canonical schema are loaded by file path: no Odoo import.
"""

import argparse
import csv
import datetime
import importlib.util
import io
import json
import multiprocessing
import os
import random
import resource
import shutil
import struct
import sys
import tempfile
import time
import zipfile
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _load(name, relpath):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, relpath))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


identifiers = _load("_gen_identifiers", "addons/telecom_subscriber/tools/identifiers.py")
schema = _load("_gen_schema", "addons/bss_import/lib/schema.py")

CHUNK = 20000  # subscribers per chunk; fixed so output does not depend on --jobs
EXPORT_DAY = datetime.date(2024, 6, 30)
PREPAID_SHARE = 55  # percent of the lines that are mobile prepaid (each with a monetary OCS bucket)
DAY0 = datetime.date(2015, 1, 1)
N_DAYS = (EXPORT_DAY - DAY0).days + 1
BIRTH0 = datetime.date(1940, 1, 1)
N_BIRTH = (datetime.date(2005, 12, 31) - BIRTH0).days + 1

DEFECT_KINDS = (
    "duplicate_rows",
    "orphans",
    "missing_mandatory",
    "inconsistent_state",
    "unknown_legacy_code",
    "invalid_msisdn",
    "invalid_imsi",
    "invalid_iccid",
    "encoding_damage",
    "secret_columns_dropped",
)
# --customer-history: the tables and columns written only with it (without it, the export is the
# one it always was, byte for byte).
HISTORY_TABLES = ("owners", "numbers", "number_ports", "interactions", "documents")
HISTORY_COLUMNS = {"billing_accounts": ("owner_id",), "subscribers": ("owner_id",)}
#: A defect kind that exists only with --customer-history: a documents row naming no file of the export.
MISSING_DOCUMENT = "missing_document"
# Which history tables receive each row-level defect, after the tables of KIND_TABLES.
HISTORY_KIND_TABLES = {
    "duplicate_rows": ("numbers", "number_ports", "interactions", "documents"),
    "orphans": ("interactions", "number_ports", "documents"),
    "missing_mandatory": ("numbers", "number_ports", "interactions", "documents"),
    "invalid_msisdn": ("numbers",),
    "encoding_damage": ("interactions",),
    MISSING_DOCUMENT: ("documents",),
}
# Which tables receive each row-level defect (round robin in this order).
KIND_TABLES = {
    "duplicate_rows": ("subscribers", "billing_accounts", "ocs_buckets", "orders", "invoices", "usage"),
    "orphans": ("subscribers", "orders", "ocs_buckets"),
    "missing_mandatory": ("subscribers", "billing_accounts", "ocs_buckets", "orders"),
    "inconsistent_state": ("subscribers",),
    "unknown_legacy_code": ("subscribers",),
    "invalid_msisdn": ("subscribers",),
    "invalid_imsi": ("subscribers",),
    "invalid_iccid": ("subscribers",),
    "encoding_damage": ("subscribers", "billing_accounts"),
}
# Mandatory, non-key, non-reference columns emptied by missing_mandatory, in rotation.
MISSING_COLUMNS = {
    "subscribers": ("last_name", "msisdn", "activation_date"),
    "billing_accounts": ("account_name", "bill_cycle_day", "currency"),
    "ocs_buckets": ("remaining_amount", "valid_from"),
    "orders": ("order_date", "order_type"),
    # History tables: never a key, so references to the row (ports to numbers) still resolve.
    "numbers": ("status",),
    "number_ports": ("request_date", "state"),
    "interactions": ("channel", "occurred_at"),
    "documents": ("file_path",),
}
# The entity a defect row is chosen by: subscriber index or account index.
TABLE_DOMAIN = {
    "subscribers": "sub",
    "ocs_buckets": "sub",
    "orders": "sub",
    "usage": "sub",
    "billing_accounts": "acct",
    "invoices": "acct",
    "numbers": "sub",
    "number_ports": "sub",
    "interactions": "sub",
    "documents": "sub",
}
SECRET_COLUMNS = (
    ("aaa_hss", "ki"),
    ("billing_accounts", "card_number"),
    ("subscribers", "pin1"),
    ("aaa_hss", "opc"),
    ("subscribers", "puk1"),
    ("subscribers", "portal_password"),
)
# --secret-spellings unseen: the secret columns under headers that appear nowhere in the
# detector's source (addons/bss_import/lib/secret_columns.py; a test holds it to that). Four
# read as words the detector knows in another order or glued differently; two say nothing
# at all, and only their values (32-hex keys; 8-digit codes beside the SIM identifiers) give
# them away.
UNSEEN_SECRET_HEADERS = {
    "ki": "Blob_A",
    "opc": "OPc-Key/Enc",
    "card_number": "Payment Card Nbr",
    "pin1": "HandsetPin#1",
    "puk1": "Attr 7",
    "portal_password": "SelfCarePassCode",
}

MARKETS = {
    "GB": {
        "cc": "44",
        "mccmnc": "23410",
        "mobile": "7",
        "fixed": "20",
        "nsn": 10,
        "cur": "GBP",
        "iccid": "44",
    },
    "FR": {"cc": "33", "mccmnc": "20801", "mobile": "6", "fixed": "1", "nsn": 9, "cur": "EUR", "iccid": "33"},
    "DE": {
        "cc": "49",
        "mccmnc": "26201",
        "mobile": "151",
        "fixed": "30",
        "nsn": 11,
        "cur": "EUR",
        "iccid": "49",
    },
    "AU": {"cc": "61", "mccmnc": "50501", "mobile": "4", "fixed": "2", "nsn": 9, "cur": "AUD", "iccid": "61"},
    "IN": {
        "cc": "91",
        "mccmnc": "40410",
        "mobile": "9",
        "fixed": "11",
        "nsn": 10,
        "cur": "INR",
        "iccid": "91",
    },
    "US": {
        "cc": "1",
        "mccmnc": "310150",
        "mobile": "415",
        "fixed": "212",
        "nsn": 10,
        "cur": "USD",
        "iccid": "01",
    },
}

FIRST = [
    "James",
    "Olivia",
    "Noah",
    "Emma",
    "Liam",
    "Sophie",
    "Lucas",
    "Chloe",
    "Thomas",
    "Anna",
    "Daniel",
    "Laura",
    "Peter",
    "Maria",
    "Paul",
    "Julia",
    "Mark",
    "Sarah",
    "David",
    "Claire",
    "José",
    "Zoë",
    "Hélène",
    "François",
    "Jürgen",
    "Björn",
    "Inès",
    "Noémie",
    "Renée",
    "Gaëlle",
    "Søren",
    "André",
    "Mónica",
    "Raúl",
    "Ángel",
    "Mélanie",
    "Jérôme",
    "Céline",
    "Léa",
    "Françoise",
]
LAST = [
    "Smith",
    "Jones",
    "Brown",
    "Taylor",
    "Wilson",
    "Evans",
    "Walker",
    "Martin",
    "Bernard",
    "Dubois",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Rossi",
    "Russo",
    "Garcia",
    "Lopez",
    "Murphy",
    "Kelly",
    "Müller",
    "Lefèvre",
    "García",
    "Núñez",
    "Gonçalves",
    "Jäger",
    "Böhm",
    "Lindqvist",
    "Sørensen",
    "Østergaard",
    "Peña",
    "Fernández",
    "Herrera",
    "Wöhler",
    "Brückner",
    "Gómez",
    "Martínez",
    "Côté",
]
ACCENTED_LAST = [n for n in LAST if not n.isascii()]
CITIES = [
    "London",
    "Manchester",
    "Paris",
    "Lyon",
    "Berlin",
    "München",
    "Köln",
    "Sydney",
    "Melbourne",
    "Mumbai",
    "Zürich",
    "Besançon",
    "Málaga",
]
STREETS = [
    "High Street",
    "Station Road",
    "Rue de la Paix",
    "Hauptstraße",
    "George Street",
    "Église Lane",
    "Calle Mayor",
]
APNS = ("internet", "ims", "wap", "m2m.iot")
VENDORS = ("Ericsson", "Nokia", "Huawei", "ZTE", "Cisco", "Juniper")


# ---------------------------------------------------------------- dialects ---
class Dialect:
    """How one legacy system writes its export."""

    def __init__(self, name, **kw):
        self.name = name
        self.encoding = kw.get("encoding", "utf-8")
        self.bom = kw.get("bom", False)
        self.delimiter = kw.get("delimiter", ",")
        self.tab_tables = kw.get("tab_tables", ())
        self.lineterminator = kw.get("lineterminator", "\n")
        self.date = kw.get("date", "iso")
        self.decimal = kw.get("decimal", ".")
        self.true, self.false = kw.get("bools", ("true", "false"))
        self.headers = kw.get("headers", {})
        self.header_case = kw.get("header_case", "lower")
        self.files = kw.get("files", {})
        self.folder = kw.get("folder", "")
        self.codes = kw.get("codes", {})
        self.msisdn_prefix = kw.get("msisdn_prefix", "+")
        self.extras = kw.get("extras", {})
        self.secret_headers = kw.get("secret_headers", {})
        self.path_style = kw.get("path_style", "posix")

    def header(self, table, col):
        if col in self.headers.get(table, {}):
            return self.headers[table][col]
        if col in self.headers.get("*", {}):
            return self.headers["*"][col]
        if self.header_case == "upper":
            return col.upper()
        if self.header_case == "camel":
            return "".join(w.capitalize() for w in col.split("_"))
        return col

    def file_name(self, table, fmt):
        name = self.files.get(table, schema.TABLES[table].file_name)
        if fmt == "xlsx":
            name = name.rsplit(".", 1)[0] + ".xlsx"
        return f"{self.folder}/{name}" if self.folder else name

    def delim(self, table):
        return "\t" if table in self.tab_tables else self.delimiter

    def code(self, kind, value):
        return self.codes.get(kind, {}).get(value, value)

    def path(self, name):
        """A path inside the export (``documents/x.pdf``) as the legacy system writes it in a table."""
        if self.path_style == "windows":
            return name.replace("/", "\\")
        if self.path_style == "dot":
            return "./" + name
        return name


_UPPER_HEADERS = {
    "*": {
        "subscriber_id": "SUB_NO",
        "account_number": "ACCOUNT_NUM",
        "plan_code": "RATE_PLAN",
        "currency": "CURRENCY",
    },
    "subscribers": {
        "email": "CUST_EMAIL_ADDR",
        "contact_phone": "CONTACT_NO",
        "birth_date": "DOB",
        "street": "ADDR_LINE1",
        "city": "TOWN",
        "zip": "POSTCODE",
        "country": "CTRY",
        "msisdn": "MOBILE_NUMBER",
        "iccid": "SIM_SERIAL",
        "service_type": "SVC_TYPE",
        "status": "SUB_STATUS",
        "activation_date": "ACT_DATE",
        "ocs_balance": "MAIN_BAL",
        "last_usage_date": "LAST_USAGE",
        "total_voice_minutes": "TOT_VOICE_MIN",
        "total_data_mb": "TOT_DATA_MB",
        "total_sms_count": "TOT_SMS",
        "cpni_opt_out": "CPNI_FLAG",
        "owner_id": "DEALER_CODE",
    },
    "billing_accounts": {
        "account_name": "ACCT_NAME",
        "status": "ACCT_STATUS",
        "bill_cycle_day": "BILL_CYCLE",
        "invoicing_preference": "BILL_MEDIA",
        "payment_method": "PAY_METHOD",
        "credit_limit": "CRED_LIMIT",
        "ar_balance": "ACCT_BAL",
        "phone": "TEL",
        "street": "ADDR_LINE1",
        "city": "TOWN",
        "zip": "POSTCODE",
        "country": "CTRY",
        "vat": "VAT_NO",
        "created_date": "OPEN_DATE",
        "owner_id": "ACCT_MANAGER",
    },
    "service_plans": {
        "plan_name": "RATE_PLAN_NAME",
        "service_type": "SVC_TYPE",
        "price": "MRC",
        "validity_days": "VALIDITY",
        "voice_minutes": "INCL_MINUTES",
        "voice_unlimited": "UNLIMITED_VOICE",
        "data_mb": "INCL_DATA_MB",
        "data_unlimited": "UNLIMITED_DATA",
        "sms_count": "INCL_SMS",
        "sms_unlimited": "UNLIMITED_SMS",
        "active": "IS_ACTIVE",
    },
    "orders": {
        "order_id": "ORD_NO",
        "order_date": "ORD_DATE",
        "order_type": "ORD_TYPE",
        "status": "ORD_STATUS",
    },
    "order_lines": {
        "order_id": "ORD_NO",
        "product_code": "PROD_CODE",
        "quantity": "QTY",
        "unit_price": "UNIT_PRC",
    },
    "invoices": {
        "invoice_number": "INV_NO",
        "invoice_date": "INV_DATE",
        "amount_untaxed": "NET_AMOUNT",
        "amount_tax": "TAX_AMOUNT",
        "amount_total": "GROSS_AMOUNT",
        "amount_residual": "OPEN_AMOUNT",
        "status": "INV_STATUS",
    },
    "invoice_lines": {
        "invoice_number": "INV_NO",
        "quantity": "QTY",
        "unit_price": "UNIT_PRC",
        "tax_rate": "VAT_RATE",
    },
    "ocs_buckets": {
        "bucket_id": "BUCKET_NO",
        "bucket_type": "BALANCE_TYPE",
        "unit": "UOM",
        "initial_amount": "INITIAL_VALUE",
        "remaining_amount": "REMAINING_VALUE",
        "valid_from": "EFF_DATE",
        "valid_to": "EXP_DATE",
        "priority": "PRIO",
    },
    "usage": {
        "usage_month": "BILL_PERIOD",
        "voice_minutes": "VOICE_MIN",
        "sms_count": "SMS",
        "charged_amount": "CHARGE",
    },
    "aaa_hss": {"apn": "APN_NAME", "auth_profile": "AUTH_PROF", "roaming_allowed": "ROAM_ALLOWED"},
    # --customer-history only (owner_id of accounts and lines, and the history tables).
    "owners": {
        "owner_id": "USER_ID",
        "owner_type": "ROLE",
        "owner_name": "FULL_NAME",
        "email": "EMAIL_ADDR",
        "active": "IS_ACTIVE",
    },
    "numbers": {
        "region": "AREA_CODE",
        "rate_centre": "RATE_CENTER",
        "assigned_date": "ASSIGNMENT_DATE",
        "aging_date": "AGEING_DATE",
    },
    "number_ports": {
        "port_id": "PORT_REQUEST_ID",
        "direction": "PORT_TYPE",
        "donor_operator": "DONOR_NETWORK",
        "recipient_operator": "RECIPIENT_NETWORK",
        "request_date": "SUBMITTED_DATE",
        "completion_date": "PORTED_DATE",
        "transaction_id": "TXN_ID",
        "state": "PORT_STATUS",
        "rejection_code": "REJECT_REASON",
    },
    "interactions": {
        "interaction_id": "CASE_ID",
        "channel": "CONTACT_TYPE",
        "occurred_at": "CONTACT_DATE",
        "author_id": "CREATED_BY",
        "assigned_to": "ASSIGNEE",
        "subject": "SUMMARY",
        "body": "NOTES",
    },
    "documents": {
        "document_id": "DOC_ID",
        "document_type": "DOC_TYPE",
        "file_path": "DOC_PATH",
        "file_name": "ORIGINAL_NAME",
        "document_date": "UPLOAD_DATE",
    },
}
_CAMEL_HEADERS = {
    "*": {"account_number": "AcctNo", "plan_code": "Tariff", "msisdn": "MSISDN", "imsi": "IMSI"},
    "subscribers": {
        "email": "EmailAddress",
        "contact_phone": "ContactNumber",
        "birth_date": "DateOfBirth",
        "street": "Address1",
        "zip": "PostalCode",
        "country": "CountryCode",
        "iccid": "SimNo",
        "service_type": "LineType",
        "status": "LineStatus",
        "ocs_balance": "Balance",
        "last_usage_date": "LastActivity",
        "total_voice_minutes": "TotalMinutes",
        "total_data_mb": "TotalData",
        "owner_id": "SalesAgent",
    },
    "billing_accounts": {
        "account_name": "CustomerName",
        "status": "AccountStatus",
        "bill_cycle_day": "BillCycle",
        "owner_id": "AccountManager",
    },
    # --customer-history only.
    "owners": {"owner_name": "StaffName", "owner_type": "AgentType"},
    "numbers": {"rate_centre": "RateCenter", "assigned_date": "AssignedOn", "aging_date": "AgeingSince"},
    "number_ports": {
        "port_id": "PortingId",
        "direction": "PortDirection",
        "donor_operator": "DonorCarrier",
        "recipient_operator": "RecipientNetwork",
        "request_date": "RequestedDate",
        "completion_date": "CompletedDate",
        "state": "PortState",
        "rejection_code": "RejectCode",
    },
    "interactions": {
        "interaction_id": "InteractionNo",
        "channel": "Channel",
        "occurred_at": "InteractionDate",
        "author_id": "LoggedBy",
        "assigned_to": "Assignee",
    },
    "documents": {"document_id": "DocId", "file_path": "DocPath", "file_name": "OriginalFileName"},
}
DIALECTS = {
    "canonical": Dialect("canonical"),
    "legacy-upper": Dialect(
        "legacy-upper",
        encoding="cp1252",
        delimiter=";",
        lineterminator="\r\n",
        date="dmy",
        decimal=",",
        bools=("Y", "N"),
        headers=_UPPER_HEADERS,
        header_case="upper",
        msisdn_prefix="",
        files={
            "billing_accounts": "BILLING_ACCOUNTS.CSV",
            "subscribers": "SUBSCRIBER_EXTRACT.CSV",
            "service_plans": "RATE_PLANS.CSV",
            "product_catalog": "PRODUCT_CATALOGUE.CSV",
            "orders": "ORDERS.CSV",
            "order_lines": "ORDER_LINES.CSV",
            "invoices": "INVOICES.CSV",
            "invoice_lines": "INVOICE_LINES.CSV",
            "ocs_buckets": "OCS_BALANCES.CSV",
            "custom_fields": "CUSTOM_FIELD_DEFS.CSV",
            "pcrf_rules": "PCRF_POLICIES.CSV",
            "aaa_hss": "HSS_PROVISIONING.CSV",
            "network_elements": "NETWORK_ELEMENTS.CSV",
            "usage": "USAGE_SUMMARY.CSV",
            "owners": "SALES_AGENTS.CSV",
            "numbers": "NUMBER_INVENTORY.CSV",
            "number_ports": "PORT_REQUESTS.CSV",
            "interactions": "CARE_NOTES.CSV",
            "documents": "DMS_DOCUMENTS.CSV",
        },
        # Windows paths in the documents' file_path column.
        path_style="windows",
        codes={
            "subscribers.status": {
                "active": "ACT",
                "suspended": "SUS",
                "barred": "BAR",
                "terminated": "TRM",
                "pending": "PND",
            },
            "billing_accounts.status": {"open": "O", "suspended": "S", "closed": "C"},
            "service_type": {
                "mobile_prepaid": "PRE",
                "mobile_postpaid": "POST",
                "fixed_broadband": "FBB",
                "fixed_wireless": "FWA",
                "iot": "M2M",
                "other": "OTH",
            },
            "bucket_type": {"monetary": "MAIN", "data": "DATA", "voice": "VOICE", "sms": "SMS"},
            "orders.status": {"done": "COMP", "cancelled": "CANC", "confirmed": "CONF", "draft": "NEW"},
            "invoices.status": {"open": "OPN", "paid": "PD", "overdue": "OD", "cancelled": "VOID"},
            "invoicing_preference": {"email": "EBILL", "paper": "PRINT", "portal": "WEB"},
        },
        extras={"subscribers": ("LOYALTY_TIER", "CREDIT_SCORE"), "billing_accounts": ("SEGMENT",)},
        secret_headers={"ki": "KI", "opc": "OPC", "card_number": "CC_NUMBER", "pin1": "PIN1", "puk1": "PUK1"}
        | {"portal_password": "PASSWD"},
    ),
    "legacy-pipe": Dialect(
        "legacy-pipe",
        bom=True,
        delimiter="|",
        tab_tables=("usage", "network_elements"),
        date="compact",
        bools=("1", "0"),
        headers=_CAMEL_HEADERS,
        header_case="camel",
        msisdn_prefix="00",
        folder="dbss_export_20240630",
        files={
            "billing_accounts": "dbss_account.txt",
            "subscribers": "dbss_subscriber.txt",
            "service_plans": "dbss_tariff.txt",
            "product_catalog": "dbss_product.txt",
            "orders": "dbss_order.txt",
            "order_lines": "dbss_order_items.txt",
            "invoices": "dbss_invoice.txt",
            "invoice_lines": "dbss_invoice_lines.txt",
            "ocs_buckets": "dbss_balance.txt",
            "custom_fields": "dbss_udf.txt",
            "pcrf_rules": "dbss_policy.txt",
            "aaa_hss": "dbss_hlr.txt",
            "network_elements": "dbss_nodes.tsv",
            "usage": "dbss_cdr_summary.tsv",
            "owners": "dbss_users.txt",
            "numbers": "dbss_numbers.txt",
            "number_ports": "dbss_porting.txt",
            "interactions": "dbss_interaction.txt",
            "documents": "dbss_document.txt",
        },
        # file_path relative to the export root, written as "./documents/...".
        path_style="dot",
        codes={
            "subscribers.status": {s: s.upper() for s in schema.SUBSCRIBER_STATUSES},
            "service_type": {
                "mobile_prepaid": "PREPAID",
                "mobile_postpaid": "POSTPAID",
                "fixed_broadband": "BROADBAND",
                "fixed_wireless": "FWA",
                "iot": "IOT",
                "other": "OTHER",
            },
        },
        extras={"subscribers": ("LoyaltyTier",)},
        secret_headers={"ki": "Ki", "opc": "OPc", "card_number": "CardNo", "pin1": "Pin1", "puk1": "Puk1"}
        | {"portal_password": "WebPassword"},
    ),
}


# ------------------------------------------------------------- formatting ---
class Fmt:
    """Precomputed value formatting for one dialect (the hot loop only indexes lists)."""

    def __init__(self, d):
        self.d = d

        def fmt_day(day):
            if d.date == "dmy":
                return day.strftime("%d/%m/%Y")
            if d.date == "compact":
                return day.strftime("%Y%m%d")
            return day.isoformat()

        self.days = [fmt_day(DAY0 + datetime.timedelta(days=i)) for i in range(N_DAYS + 400)]
        self.births = [fmt_day(BIRTH0 + datetime.timedelta(days=i)) for i in range(N_BIRTH)]
        self.two = [f"{i:02d}" for i in range(60)]
        self.months = [fmt_day(datetime.date(2024, m, 1)) for m in range(1, 7)]

    def dt(self, day, sec):
        h, rem = divmod(sec, 3600)
        m, s = divmod(rem, 60)
        two = self.two
        if self.d.date == "dmy":
            return f"{self.days[day]} {two[h]}:{two[m]}"
        if self.d.date == "compact":
            return f"{self.days[day]}{two[h]}{two[m]}{two[s]}"
        return f"{self.days[day]} {two[h]}:{two[m]}:{two[s]}"

    def amount(self, cents):
        if self.d.decimal == ",":
            sign = "-" if cents < 0 else ""
            units, minor = divmod(abs(cents), 100)
            return f"{sign}{units:,}".replace(",", ".") + f",{minor:02d}"
        if cents >= 0:
            return "%d.%02d" % divmod(cents, 100)
        return "-%d.%02d" % divmod(-cents, 100)

    def boolean(self, flag):
        return self.d.true if flag else self.d.false


# ---------------------------------------------------------------- helpers ---
def mix(*parts):
    """A cheap deterministic 64-bit hash of integers (splitmix64 finaliser)."""
    x = 0x9E3779B97F4A7C15
    for p in parts:
        x = (x ^ (p & 0xFFFFFFFFFFFFFFFF)) * 0xBF58476D1CE4E5B9 & 0xFFFFFFFFFFFFFFFF
        x ^= x >> 31
    x = (x ^ (x >> 27)) * 0x94D049BB133111EB & 0xFFFFFFFFFFFFFFFF
    return x ^ (x >> 31)


def account_status(seed, a):
    r = mix(seed, 1, a) % 100
    return "open" if r < 90 else "suspended" if r < 95 else "closed"


def service_type(seed, i, prepaid_share=PREPAID_SHARE):
    """The line's service type: ``prepaid_share`` percent prepaid, the others in fixed proportions."""
    r = mix(seed, 2, i) % 100
    if r < prepaid_share:
        return "mobile_prepaid"
    # The other types keep their proportions among the rest (as they are at the default share).
    r = PREPAID_SHARE + (r - prepaid_share) * (100 - PREPAID_SHARE) // (100 - prepaid_share)
    if r < 85:
        return "mobile_postpaid"
    if r < 93:
        return "fixed_broadband"
    if r < 96:
        return "fixed_wireless"
    if r < 99:
        return "iot"
    return "other"


def has_sim(stype):
    return stype in ("mobile_prepaid", "mobile_postpaid", "fixed_wireless", "iot")


def _identifier_ok(kind, value):
    check = {
        "msisdn": identifiers.normalize_msisdn,
        "imsi": identifiers.validate_imsi,
        "iccid": identifiers.validate_iccid,
    }[kind]
    try:
        check(value)
    except identifiers.IdentifierError:
        return False
    return True


def sub_key(i):
    return f"S{i + 1:09d}"


def acct_key(a):
    return f"BA{a + 1:08d}"


_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def luhn_complete(partial):
    """Append the Luhn check digit (identifiers.luhn_check_digit tries ten digits; this is one pass)."""
    total = 0
    for pos, char in enumerate(reversed(partial)):
        digit = ord(char) - 48
        total += _DOUBLED[digit] if pos % 2 == 0 else digit
    return partial + str(-total % 10)


def make_plans(rng, market):
    """The rate plan catalogue: a few plans per service type."""
    cur = market["cur"]
    specs = [
        ("PRE_S", "Prepaid Small", "mobile_prepaid", 500, 30, 100, 1024, 100),
        ("PRE_M", "Prepaid Medium", "mobile_prepaid", 1000, 30, 300, 5120, 0),
        ("PRE_L", "Prepaid Unlimited", "mobile_prepaid", 2000, 30, -1, -1, -1),
        ("PRE_DAY", "Prepaid Day Pass", "mobile_prepaid", 199, 1, 0, 1024, 0),
        ("POST_10", "Postpaid 10 GB", "mobile_postpaid", 1500, 30, -1, 10240, -1),
        ("POST_50", "Postpaid 50 GB", "mobile_postpaid", 2500, 30, -1, 51200, -1),
        ("POST_UNL", "Postpaid Unlimited", "mobile_postpaid", 4000, 30, -1, -1, -1),
        ("POST_BIZ", "Business Pro", "mobile_postpaid", 3500, 30, -1, 102400, -1),
        ("FBB_100", "Fibre 100", "fixed_broadband", 3000, 30, 0, -1, 0),
        ("FBB_1G", "Fibre 1 Gbit", "fixed_broadband", 5500, 30, -1, -1, 0),
        ("FWA_5G", "Home 5G", "fixed_wireless", 3500, 30, 0, 512000, 0),
        ("IOT_1", "IoT 1 MB", "iot", 50, 30, 0, 1, 50),
        ("IOT_100", "IoT 100 MB", "iot", 200, 30, 0, 100, 100),
        ("OTH_SAT", "Satellite backup", "other", 1200, 30, 0, 1024, 0),
    ]
    plans = []
    for code, name, stype, price, validity, voice, data, sms in specs:
        plans.append(
            {
                "plan_code": code,
                "plan_name": name,
                "service_type": stype,
                "price": price + rng.randrange(0, 50),
                "currency": cur,
                "validity_days": validity,
                "voice": voice,
                "data": data,
                "sms": sms,
            }
        )
    return plans


def make_products(market):
    cur = market["cur"]
    return [
        ("SIM_STD", "SIM card triple cut", "sim", 0, ""),
        ("SIM_ESIM", "eSIM profile", "sim", 0, ""),
        ("DEV_PHONE_A", "Smartphone A54", "device", 34900, ""),
        ("DEV_PHONE_I", "Smartphone i15", "device", 89900, ""),
        ("DEV_ROUTER", "Fibre router", "device", 9900, ""),
        ("DEV_CPE5G", "5G outdoor CPE", "device", 24900, ""),
        ("ADD_ROAM", "Roaming pack", "addon", 999, "POST_10"),
        ("ADD_DATA5", "5 GB data add-on", "addon", 500, "PRE_M"),
        ("ACC_CASE", "Phone case", "accessory", 1999, ""),
        ("ACC_CHARGER", "Fast charger", "accessory", 2499, ""),
    ], cur


# ------------------------------------------------------------ defect picks ---
def defect_kinds(history=False):
    """The defect kinds of an export (``missing_document`` only with --customer-history)."""
    return (*DEFECT_KINDS, MISSING_DOCUMENT) if history else DEFECT_KINDS


def parse_defects(text, rate, n_subscribers, history=False):
    kinds = defect_kinds(history)
    counts = dict.fromkeys(kinds, 0)
    if rate:
        for kind in kinds:
            counts[kind] = max(1, round(rate * n_subscribers)) if kind != "secret_columns_dropped" else 6
    for part in filter(None, (text or "").split(",")):
        if "=" not in part:
            raise SystemExit(f"--defects: expected kind=count, got {part!r}")
        kind, value = (s.strip() for s in part.split("=", 1))
        if kind == MISSING_DOCUMENT and not history:
            raise SystemExit(f"--defects: {kind} needs --customer-history (documents are part of it)")
        if kind not in counts:
            raise SystemExit(f"--defects: unknown kind {kind!r}; known: {', '.join(kinds)}")
        counts[kind] = int(value)
    if counts["secret_columns_dropped"] > len(SECRET_COLUMNS):
        raise SystemExit(f"--defects: at most {len(SECRET_COLUMNS)} secret columns can be injected")
    return counts


def kind_tables(history=False):
    """{kind: tables receiving it}: KIND_TABLES, then the history tables with --customer-history."""
    if not history:
        return KIND_TABLES
    return {
        kind: KIND_TABLES.get(kind, ()) + HISTORY_KIND_TABLES.get(kind, ())
        for kind in defect_kinds(True)
        if kind in KIND_TABLES or kind in HISTORY_KIND_TABLES
    }


def split_counts(counts, history=False):
    """Spread each kind's count over its tables, round robin: {(kind, table): n}."""
    out = {}
    for kind, tables in kind_tables(history).items():
        total = counts[kind]
        for pos, table in enumerate(tables):
            n = total // len(tables) + (1 if pos < total % len(tables) else 0)
            if n:
                out[(kind, table)] = n
    return out


def pick_defects(seed, n_subs, per_table_kind, prepaid_share=PREPAID_SHARE):
    """Choose the entities (subscriber or account indexes) hit by each defect, disjoint per table.

    A history table's defect hits the first row the line has in it (picked among lines that have one).
    Returns ``{table: {entity: (kind, ordinal)}}``.
    """
    n_accts = (n_subs + 1) // 2
    chosen = {}
    kinds = defect_kinds(True)
    for (kind, table), count in sorted(
        per_table_kind.items(), key=lambda kv: (kinds.index(kv[0][0]), kv[0][1])
    ):
        domain = n_subs if TABLE_DOMAIN[table] == "sub" else n_accts
        used = chosen.setdefault(table, {})

        def ok(e, kind=kind, table=table, used=used):
            if e in used:
                return False
            if table == "subscribers" and kind == "inconsistent_state":
                return account_status(seed, e // 2) == "closed"
            if table == "subscribers" and kind in ("invalid_imsi", "invalid_iccid"):
                return has_sim(service_type(seed, e, prepaid_share))
            if table == "billing_accounts" and kind == "duplicate_rows":
                # A duplicated closed account would make an inconsistent subscriber match twice.
                return account_status(seed, e) != "closed"
            if table == "numbers" and kind == "invalid_msisdn":
                # A port of the damaged number would become an orphan too.
                return not own_ports(seed, e)
            if table == "number_ports":
                return has_ports(seed, e)
            if table == "interactions":
                return n_interactions(seed, e) > 0
            if table == "documents":
                return has_document(seed, e)
            return True

        rng = random.Random(f"{seed}:defects:{table}:{kind}")
        picked = []
        attempts = 0
        while len(picked) < count and attempts < 50 * count + 1000:
            attempts += 1
            e = rng.randrange(domain)
            if ok(e):
                used[e] = (kind, len(picked))
                picked.append(e)
        if len(picked) < count:
            start = rng.randrange(domain)
            for off in range(domain):
                e = (start + off) % domain
                if len(picked) >= count:
                    break
                if ok(e):
                    used[e] = (kind, len(picked))
                    picked.append(e)
        if len(picked) < count:
            raise SystemExit(
                f"cannot inject {count} {kind} into {table}: only {len(picked)} eligible rows; "
                "use more subscribers or fewer defects"
            )
    return chosen


# --------------------------------------------------------------- the chunk ---
def table_columns(table, cfg):
    """The canonical columns the export writes for ``table`` (no owner_id without --customer-history)."""
    cols = schema.TABLES[table].column_names
    if not cfg.get("history"):
        cols = tuple(c for c in cols if c not in HISTORY_COLUMNS.get(table, ()))
    return cols


def columns_of(table, cfg):
    dialect = DIALECTS[cfg["dialect"]]
    cols = list(table_columns(table, cfg))
    extras = list(dialect.extras.get(table, ()))
    secrets = [col for t, col in cfg["secret_columns"] if t == table]
    return cols, extras, secrets


def header_row(table, cfg):
    dialect = DIALECTS[cfg["dialect"]]
    cols, extras, secrets = columns_of(table, cfg)
    default_secret = {"ki": "ki", "opc": "opc", "card_number": "card_number", "pin1": "pin1", "puk1": "puk1"}
    default_secret["portal_password"] = "portal_password"
    if cfg.get("secret_spellings") == "unseen":
        secret_headers = [UNSEEN_SECRET_HEADERS[s] for s in secrets]
    else:
        secret_headers = [dialect.secret_headers.get(s, default_secret[s]) for s in secrets]
    return [dialect.header(table, c) for c in cols] + list(extras) + secret_headers


def damage(text, variant, fmt_name, dialect):
    """Return ``text`` (which has a non-ASCII letter) with encoding damage of the given variant."""
    if variant % 2 == 0 or dialect.encoding != "utf-8" or fmt_name == "xlsx":
        # UTF-8 bytes read as cp1252: "Müller" -> "MÃ¼ller".
        return text.encode("utf-8").decode("cp1252")
    # A Latin-1 byte inside a UTF-8 file: written raw through surrogateescape.
    return "".join(ch if ord(ch) < 128 else chr(0xDC00 + ch.encode("latin-1")[0]) for ch in text)


def invalid_identifier(kind, value, ordinal, market):
    if kind == "invalid_msisdn":
        digits = value[1:] if value.startswith("+") else value[2:] if value.startswith("00") else value
        national = digits[len(market["cc"]) :]
        variants = ("0" + national, digits + "12345", digits[:4] + "O" + digits[5:])
        return variants[ordinal % 3]
    if kind == "invalid_imsi":
        variants = (value[:14], "000" + value[3:], value[:7] + "X" + value[8:])
        return variants[ordinal % 3]
    # invalid_iccid: a wrong check digit, or a truncated serial.
    last = int(value[-1])
    variants = (value[:-1] + str((last + 1) % 10), value[:17])
    return variants[ordinal % 2]


#: Folder of the invoice PDFs inside the export; ``pdf_file`` holds the path relative to the export root.
PDF_FOLDER = "invoice_pdfs"


def pdf_name(invoice_number):
    return f"{PDF_FOLDER}/{invoice_number}.pdf"


def invoice_pdf(number, account, total, currency):
    """A small valid one-page PDF of an invoice (xref offsets computed, so PDF readers accept it)."""
    return text_pdf(f"Invoice {number} - account {account} - total {total} {currency}")


def text_pdf(text):
    """A small valid one-page PDF showing one line of text."""
    text = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


#: Folder of the documents (contracts, ID scans) inside the export.
DOCUMENT_FOLDER = "documents"
# A tiny valid 8x8 grey baseline JPEG (made once with Pillow); each scan gets a comment segment.
_JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300100b0c0e0c0a100e0d0e1211101318281a181616183123"
    "251d283a333d3c3933383740485c4e404457453738506d51575f626768673e4d71797064785c656763ffc0000b0800080008"
    "01011100ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc400b51000020103030204"
    "03050504040000017d01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a"
    "161718191a25262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475767778"
    "797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4"
    "d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008010100003f00e92bffd9"
)


def scan_jpeg(label):
    """A small valid JPEG "scan" carrying ``label`` in a comment segment (after SOI and APP0)."""
    comment = label.encode("ascii", "replace")
    return _JPEG[:20] + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + _JPEG[20:]


def _png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def scan_png(label):
    """A small valid 16x16 greyscale PNG "scan" carrying ``label`` in a tEXt chunk."""
    shade = zlib.crc32(label.encode("ascii", "replace")) & 0x7F
    rows = b"".join(b"\x00" + bytes((shade + x * 8 + y) & 0xFF for x in range(16)) for y in range(16))
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 16, 8, 0, 0, 0, 0))
        + _png_chunk(b"tEXt", b"Comment\x00" + label.encode("ascii", "replace"))
        + _png_chunk(b"IDAT", zlib.compress(rows, 9))
        + _png_chunk(b"IEND", b"")
    )


# ------------------------------------------------------ customer history ---
# What a line has in the history tables depends on (seed, subscriber index) only, through mix():
# defect picking (main process) must know which rows exist without replaying a chunk.
OPERATOR = "Acme Mobile"
OTHER_OPERATORS = ("Northwind Mobile", "Bluewave Telecom", "Redline Wireless", "Skyfield Networks")
REJECTION_CODES = ("NAME_MISMATCH", "PAC_INVALID", "CONTRACT_LOCK", "NUMBER_INACTIVE")
REGIONS = ("North", "South", "East", "West", "Central")
#: (subject, body) of a done interaction per channel.
INTERACTION_TEXTS = {
    "call": ("Billing enquiry", "{name} called about the last invoice; the charges were explained."),
    "email": ("Plan change request", "E-mail from {name} asking to change plan; offered {plan}."),
    "meeting": ("Shop visit", "{name} visited the shop for a device upgrade."),
    "note": ("Account note", "Payment arrangement agreed with {name}."),
    "ticket": ("Coverage complaint", "Ticket opened: poor indoor coverage reported by {name}."),
}
OWNER_PREFIX = {"user": "USR", "agent": "AGT", "dealer": "DLR", "team": "TEAM"}
TEAMS = ("Care Team", "Retention Team", "Business Sales Team", "Collections Team")


def make_owners(seed, n_subs):
    """The legacy users, agents, dealers and teams: max(6, subscribers/250), the four types in turn.

    Returns ``[(owner_id, owner_type, owner_name, email, active)]``.
    """
    owners = []
    for k in range(max(6, n_subs // 250)):
        otype = schema.OWNER_TYPES[k % len(schema.OWNER_TYPES)]
        h = mix(seed, 30, k)
        if otype in ("user", "agent"):
            name = f"{FIRST[h % len(FIRST)]} {LAST[(h >> 8) % len(LAST)]}"
        elif otype == "dealer":
            name = f"{LAST[(h >> 8) % len(LAST)]} Mobile Shop"
        else:
            name = f"{TEAMS[(k // 4) % len(TEAMS)]} {REGIONS[(k // 16) % len(REGIONS)]} {k + 1}"
        email = f"{otype}{k + 1:03d}@legacy-bss.example"
        owners.append((f"{OWNER_PREFIX[otype]}{k + 1:04d}", otype, name, email, (h >> 16) % 10 != 0))
    return owners


def n_interactions(seed, i):
    """Interactions logged about line ``i`` (0-3, 1.5 on average)."""
    r = mix(seed, 40, i) % 20
    return 0 if r < 3 else 1 if r < 10 else 2 if r < 17 else 3


def has_document(seed, i):
    """Line ``i`` has one document filed (three lines in ten)."""
    return mix(seed, 41, i) % 10 < 3


def has_spare(seed, i):
    """Line ``i`` brings one spare number into the inventory (one in ten)."""
    return mix(seed, 42, i) % 10 == 0


def spare_status(seed, i):
    r = mix(seed, 43, i) % 20
    return "available" if r < 7 else "reserved" if r < 11 else "aging" if r < 16 else "quarantined_released"


def port_in(seed, i):
    """None, or the port-in of line ``i``'s number: "" (completed at once), or the state of a first
    attempt ("rejected" or "cancelled") before the completed one."""
    r = mix(seed, 44, i) % 1000
    if r >= 25:
        return None
    return "rejected" if r < 5 else "cancelled" if r < 8 else ""


def port_out_rejected(seed, i):
    """Line ``i``'s customer asked to port the number away, and the request was rejected."""
    return mix(seed, 45, i) % 1000 < 5 and port_in(seed, i) is None


def own_ports(seed, i):
    """Line ``i``'s own number has port rows."""
    return port_in(seed, i) is not None or port_out_rejected(seed, i)


def has_ports(seed, i):
    """Line ``i`` has port rows (its own number's, or its spare number's port-out)."""
    return own_ports(seed, i) or (has_spare(seed, i) and spare_status(seed, i) == "quarantined_released")


def generate_chunk(job):
    cfg, chunk, picks, tmpdir = job
    seed = cfg["seed"]
    n_subs = cfg["subscribers"]
    dialect = DIALECTS[cfg["dialect"]]
    F = Fmt(dialect)
    market = MARKETS[cfg["market"]]
    rng = random.Random(f"{seed}:chunk:{chunk}")
    srng = random.Random(f"{seed}:secrets:{chunk}")
    rnd = rng.random

    def rint(a, b=None):
        # random.randrange costs ~1 us; this is the generator's hottest call.
        if b is None:
            return int(rnd() * a)
        return a + int(rnd() * (b - a))

    first_sub = chunk * CHUNK
    last_sub = min(n_subs, first_sub + CHUNK)
    plans_by_type = cfg["plans_by_type"]
    plan_price = cfg["plan_price"]
    cur = market["cur"]
    out_dir = os.path.join(tmpdir, f"part{chunk:05d}")
    os.makedirs(out_dir)
    zip_level = cfg.get("zip_level")
    files, writers, counts, sinks = {}, {}, {}, {}
    for table in cfg["tables"]:
        if table in cfg["global_tables"]:
            continue
        path = os.path.join(out_dir, table)
        if zip_level is None:
            buffer = open(path, "wb")  # noqa: SIM115 - closed below, one per table
        else:
            # ZIP output: deflated here, in parallel, as one piece of the member's stream.
            sinks[table] = DeflatePiece(path, zip_level)
            buffer = io.BufferedWriter(sinks[table], 1 << 16)
        fh = io.TextIOWrapper(buffer, encoding=dialect.encoding, errors="surrogateescape", newline="")
        files[table] = fh
        writers[table] = csv.writer(fh, delimiter=dialect.delim(table), lineterminator=dialect.lineterminator)
        counts[table] = 0
    items = []
    pdfs = []
    secret_values = {}
    secret_limit = cfg["secret_values_limit"]
    secret_cols = cfg["secret_columns"]
    sub_secrets = [c for t, c in secret_cols if t == "subscribers"]
    aaa_secrets = [c for t, c in secret_cols if t == "aaa_hss"]
    acct_secrets = [c for t, c in secret_cols if t == "billing_accounts"]
    amount, dt, days, boolean = F.amount, F.dt, F.days, F.boolean
    code = dialect.code
    sub_picks = picks.get("subscribers", {})
    acct_picks = picks.get("billing_accounts", {})
    bucket_picks = picks.get("ocs_buckets", {})
    order_picks = picks.get("orders", {})
    inv_picks = picks.get("invoices", {})
    usage_picks = picks.get("usage", {})
    hdr = cfg["headers"]
    extras_sub = dialect.extras.get("subscribers", ())
    extras_acct = dialect.extras.get("billing_accounts", ())
    fmt_name = cfg["format"]

    def secret(table, col):
        if col == "ki" or col == "opc":
            value = f"{srng.getrandbits(128):032X}"
        elif col == "card_number":
            body = srng.choice(("4", "51", "52", "55"))
            body += "".join(str(srng.randrange(10)) for _ in range(15 - len(body)))
            value = luhn_complete(body)
        elif col == "pin1":
            value = f"{srng.randrange(10000):04d}"
        elif col == "puk1":
            value = f"{srng.randrange(10**8):08d}"
        else:
            alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789#!@%*"
            value = "".join(srng.choice(alphabet) for _ in range(12))
        bucket = secret_values.setdefault(f"{table}.{col}", [])
        if len(bucket) < secret_limit:
            bucket.append(value)
        return value

    def emit(table, row, defect=None, key=None, column=None, dup=False):
        writers[table].writerow(row)
        counts[table] += 1
        if defect:
            items.append((defect, table, counts[table], key, column))
        if dup:
            writers[table].writerow(row)
            counts[table] += 1
            items.append(("duplicate_rows", table, counts[table], key, None))

    def missing_orphan_sub(ordinal, table):
        return sub_key(n_subs + 1000 + ordinal * 7 + (1 if table == "orders" else 3))

    def inject_child_defect(table, row, pick):
        """Apply the defect picked for a row that references a subscriber
        (orders, OCS buckets), in place. Returns (defect, column, duplicate)."""
        if not pick:
            return None, None, False
        kind, ordinal = pick
        if kind == "duplicate_rows":
            return None, None, True
        if kind == "orphans":
            row[1] = missing_orphan_sub(ordinal, table)
            return kind, "subscriber_id", False
        if kind == "missing_mandatory":
            column = MISSING_COLUMNS[table][ordinal % 2]
            row[schema.TABLES[table].column_names.index(column)] = ""
            return kind, column, False
        return None, None, False

    mobile_len = market["nsn"] - len(market["mobile"])
    fixed_len = market["nsn"] - len(market["fixed"])

    # --- customer history (--customer-history): its own random stream, so the other tables'
    # values are the same with or without it.
    history = cfg["history"]
    doc_list = None
    doc_count = 0
    if history:
        owners_all, sellers, persons = (cfg["owner_ids"][k] for k in ("all", "sellers", "persons"))
        hrnd = random.Random(f"{seed}:history:{chunk}").random
        num_picks = picks.get("numbers", {})
        port_picks = picks.get("number_ports", {})
        interaction_picks = picks.get("interactions", {})
        doc_picks = picks.get("documents", {})
        doc_list = open(os.path.join(out_dir, "documents.list"), "w", encoding="utf-8")  # noqa: SIM115

    def hint(n):
        return int(hrnd() * n)

    def account_owner(a):
        h = mix(seed, 48, a)
        return owners_all[(h >> 8) % len(owners_all)] if h % 100 < 85 else ""

    def line_owner(i):
        h = mix(seed, 49, i)
        return sellers[(h >> 8) % len(sellers)] if h % 100 < 80 else ""

    def history_defect(table, row, pick):
        """Apply the defect picked for a line's first row in a history table, in place.
        Returns (defect, column, duplicate)."""
        if not pick:
            return None, None, False
        kind, ordinal = pick
        if kind == "duplicate_rows":
            return None, None, True
        cols = schema.TABLES[table].column_names
        if kind == "orphans":
            if table == "interactions":
                column, value = "author_id", f"XUSR{ordinal:04d}"
            else:
                column, value = "subscriber_id", missing_orphan_sub(ordinal, table)
        elif kind == "missing_mandatory":
            column, value = MISSING_COLUMNS[table][ordinal % len(MISSING_COLUMNS[table])], ""
        elif kind == "encoding_damage":
            name = ACCENTED_LAST[ordinal % len(ACCENTED_LAST)]
            column, value = "subject", f"Visit of {damage(name, ordinal, fmt_name, dialect)}"
        elif kind == "invalid_msisdn":
            column = "msisdn"
            value = invalid_identifier(kind, row[cols.index(column)], ordinal, market)
            if _identifier_ok(column, value):
                raise AssertionError(f"injected {kind} value still validates")
        elif kind == MISSING_DOCUMENT:
            # The path stays; the caller does not write the file.
            return kind, "file_path", False
        else:
            return None, None, False
        row[cols.index(column)] = value
        return kind, column, False

    def customer_history(i, akey, skey, sstatus, act_day, msisdn_text, stype, name, last_name, plan):
        """The numbers, ports, interactions and documents of line ``i``."""
        nonlocal doc_count
        # --- numbers: the line's own, then the spare number the line brings into the inventory
        assigned = sstatus != "terminated"
        fixed = stype in ("fixed_broadband", "other")
        nrow = [
            msisdn_text,
            "assigned" if assigned else "aging",
            skey if assigned else "",
            f"Area {market['fixed']}" if fixed else REGIONS[i % len(REGIONS)],
            f"RC{1 + hint(40):03d}",
            days[act_day] if assigned else "",
            "" if assigned else days[max(act_day, N_DAYS - 1 - hint(180))],
        ]
        defect, column, dup = history_defect("numbers", nrow, num_picks.get(i))
        emit("numbers", nrow, defect, nrow[0], column and hdr["numbers"][column], dup)
        spare = None
        if has_spare(seed, i):
            spare_state = spare_status(seed, i)
            j = n_subs + i  # past every line's index: never a line's number
            spare = (
                dialect.msisdn_prefix
                + market["cc"]
                + market["mobile"]
                + f"{(j * 104729 + 17) % 10**mobile_len:0{mobile_len}d}"
            )
            aging = days[N_DAYS - 1 - hint(180)] if spare_state == "aging" else ""
            emit(
                "numbers",
                [spare, spare_state, "", REGIONS[i % len(REGIONS)], f"RC{1 + hint(40):03d}", "", aging],
            )

        # --- number ports: port-ins (after a failed attempt for some), rejected port-outs, and the
        # completed port-out of a spare number released to another operator.
        ports = []
        other = OTHER_OPERATORS[mix(seed, 46, i) % len(OTHER_OPERATORS)]
        first_attempt = port_in(seed, i)
        if first_attempt is not None:
            if first_attempt:
                code_ = REJECTION_CODES[hint(len(REJECTION_CODES))] if first_attempt == "rejected" else ""
                req = max(0, act_day - 20 - hint(20))
                ports.append((0, msisdn_text, "in", skey, other, OPERATOR, req, None, first_attempt, code_))
            req = max(0, act_day - 1 - hint(7))
            ports.append((1, msisdn_text, "in", skey, other, OPERATOR, req, act_day, "completed", ""))
        if port_out_rejected(seed, i):
            req = act_day + hint(N_DAYS - act_day)
            code_ = REJECTION_CODES[hint(len(REJECTION_CODES))]
            ports.append((2, msisdn_text, "out", skey, OPERATOR, other, req, None, "rejected", code_))
        if spare and spare_state == "quarantined_released":
            done = N_DAYS - 1 - hint(700)
            ports.append(
                (3, spare, "out", "", OPERATOR, other, max(0, done - 1 - hint(5)), done, "completed", "")
            )
        pick = port_picks.get(i)
        for k, number, direction, sub, donor, recipient, req, done, state, reject in ports:
            pkey = f"NP{i + 1:09d}{k}"
            prow = [
                pkey,
                number,
                direction,
                sub,
                donor,
                recipient,
                days[req],
                days[done] if done is not None else "",
                f"NPC{seed % 100:02d}{i + 1:09d}{k}",
                state,
                reject,
            ]
            defect, column, dup = history_defect("number_ports", prow, pick)
            pick = None
            emit("number_ports", prow, defect, pkey, column and hdr["number_ports"][column], dup)

        # --- interactions: done (or cancelled) in the past; a few scheduled after the export day
        count = n_interactions(seed, i)
        on_account = mix(seed, 47, i) % 5 == 0
        scheduled = mix(seed, 50, i) % 25 == 0
        pick = interaction_picks.get(i)
        for k in range(count):
            account_level = on_account and k == 0
            if scheduled and k == count - 1:
                channel, status = "call", "scheduled"
                logged = max(act_day, N_DAYS - 1 - hint(30))
                due = days[N_DAYS + hint(30)]
                assignee = persons[hint(len(persons))]
                subject, body = "Follow-up call", f"Call {name} back about the {plan} renewal offer."
            else:
                channel = schema.INTERACTION_CHANNELS[hint(len(schema.INTERACTION_CHANNELS))]
                status = "cancelled" if hrnd() < 0.03 else "done"
                logged = act_day + hint(N_DAYS - act_day)
                due = assignee = ""
                subject, body = INTERACTION_TEXTS[channel]
                body = body.format(name=name, plan=plan)
            ikey = f"IA{i + 1:09d}{k}"
            irow = [
                ikey,
                "" if account_level else skey,
                akey if account_level else "",
                channel,
                status,
                dt(logged, hint(86400)),
                due,
                persons[hint(len(persons))] if hrnd() < 0.95 else "",
                assignee,
                subject,
                body,
            ]
            defect, column, dup = history_defect("interactions", irow, pick)
            pick = None
            emit("interactions", irow, defect, ikey, column and hdr["interactions"][column], dup)

        # --- documents: a signed contract (PDF) or an ID scan (PNG/JPEG), on the line or its account
        if has_document(seed, i):
            h = mix(seed, 51, i)
            dkey = f"DOC{i + 1:09d}"
            if (h >> 4) % 10 < 6:
                dtype, ext, original = "contract", "pdf", f"Signed contract {akey}.pdf"
            else:
                dtype, ext = "id_scan", "png" if (h >> 8) % 2 else "jpg"
                original = f"ID scan {last_name}.{'jpeg' if ext == 'jpg' else ext}"
            # One folder for all: a folder per account costs a mkdir per document, slow on some file systems.
            path = f"{DOCUMENT_FOLDER}/{dkey}.{ext}"
            drow = [
                dkey,
                skey if h % 4 else "",
                "" if h % 4 else akey,
                dtype,
                dialect.path(path),
                original,
                dt(min(N_DAYS - 1, act_day + hint(3)), hint(86400)),
                persons[hint(len(persons))] if hrnd() < 0.9 else "",
            ]
            defect, column, dup = history_defect("documents", drow, doc_picks.get(i))
            if defect not in (MISSING_DOCUMENT, "missing_mandatory"):
                if ext == "pdf":
                    data = text_pdf(f"Contract {dkey} - account {akey} - line {skey}")
                else:
                    data = scan_png(dkey) if ext == "png" else scan_jpeg(dkey)
                target = os.path.join(out_dir, "pdf", *path.split("/"))
                if not doc_count:
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                with open(target, "wb") as fh:
                    fh.write(data)
                doc_list.write(path + "\n")
                doc_count += 1
            emit("documents", drow, defect, dkey, column and hdr["documents"][column], dup)

    msin_len = 15 - len(market["mccmnc"])
    iccid_serial_len = 18 - 2 - len(market["iccid"]) - 2
    first_acct = first_sub // 2
    last_acct = (last_sub + 1) // 2
    for a in range(first_acct, last_acct):
        akey = acct_key(a)
        astatus = account_status(seed, a)
        subs = [i for i in (2 * a, 2 * a + 1) if i < n_subs]
        # --- billing account
        apick = acct_picks.get(a)
        company = rnd() < 0.15
        last = LAST[rint(len(LAST))]
        name = (
            f"{last} {'Holdings' if rnd() < 0.5 else 'Ltd'}"
            if company
            else f"{FIRST[rint(len(FIRST))]} {last}"
        )
        credit = rint(0, 200) * 5000
        ar = rint(-2000, 40000) if astatus != "closed" else 0
        arow = [
            akey,
            name,
            code("billing_accounts.status", astatus),
            str(1 + rint(28)),
            code("invoicing_preference", ("email", "paper", "portal")[rint(3)]),
            ("Direct debit", "Card token tok_" + f"{rint(10**10):010d}", "Bank transfer", "Cash")[rint(4)],
            cur,
            amount(credit),
            amount(ar),
            f"billing{a + 1}@example.{('com', 'net', 'org')[a % 3]}",
            "+" + market["cc"] + market["fixed"] + f"{rint(10**fixed_len):0{fixed_len}d}",
            f"{1 + rint(200)} {STREETS[rint(len(STREETS))]}",
            CITIES[rint(len(CITIES))],
            f"{rint(10000, 99999)}",
            cfg["market"],
            f"{cfg['market']}{rint(10**9):09d}" if company else "",
            days[rint(N_DAYS - 365)],
        ]
        if history:
            arow.append(account_owner(a))
        for extra in extras_acct:
            arow.append(("CONSUMER", "SME", "ENTERPRISE")[rint(3)] if extra else "")
        for col in acct_secrets:
            arow.append(secret("billing_accounts", col))
        defect = dup = column = None
        if apick:
            kind, ordinal = apick
            if kind == "duplicate_rows":
                dup = True
            elif kind == "missing_mandatory":
                column = MISSING_COLUMNS["billing_accounts"][ordinal % 3]
                arow[schema.TABLES["billing_accounts"].column_names.index(column)] = ""
                defect = kind
            elif kind == "encoding_damage":
                arow[1] = damage(
                    f"{ACCENTED_LAST[ordinal % len(ACCENTED_LAST)]} Ltd", ordinal, fmt_name, dialect
                )
                column, defect = "account_name", kind
        emit("billing_accounts", arow, defect, akey, column and hdr["billing_accounts"][column], dup)

        # --- invoice of last month
        ikey = f"INV{a + 1:09d}"
        inv_lines = []
        prices = []
        net = 0
        for line_no, i in enumerate(subs, start=1):
            stype = service_type(seed, i, cfg["prepaid_share"])
            price = plan_price[plans_by_type[stype][(i >> 3) % len(plans_by_type[stype])]]
            net += price
            prices.append(price)
            inv_lines.append(
                [
                    ikey,
                    str(line_no),
                    sub_key(i),
                    "Monthly charge",
                    amount(100),
                    amount(price),
                    amount(2000),
                    amount(price),
                ]
            )
        # 20 % per line, rounded half up to the cent as Odoo's default tax rounding (round_per_line)
        # does: a price of x cents has a tax of x/5, whose fraction is never exactly .5.
        tax = sum((line_price + 2) // 5 for line_price in prices)
        paid = astatus == "open" and rnd() < 0.7
        istatus = "paid" if paid else ("overdue" if astatus != "open" else "open")
        irow = [
            ikey,
            akey,
            days[N_DAYS - 30],
            days[N_DAYS - 1],
            amount(net),
            amount(tax),
            amount(net + tax),
            amount(0 if paid else net + tax),
            cur,
            code("invoices.status", istatus),
            pdf_name(ikey) if a < cfg["invoice_pdfs"] else "",
        ]
        if a < cfg["invoice_pdfs"]:
            pdf_path = os.path.join(out_dir, "pdf", pdf_name(ikey))
            os.makedirs(os.path.dirname(pdf_path), exist_ok=True)
            with open(pdf_path, "wb") as pdf:
                pdf.write(invoice_pdf(ikey, akey, amount(net + tax), cur))
            pdfs.append(pdf_name(ikey))
        # Amounts of line 'quantity' use amount(100) = 1.00 so quantities read as decimals.
        emit("invoices", irow, None, ikey, None, inv_picks.get(a, (None,))[0] == "duplicate_rows")
        for line in inv_lines:
            emit("invoice_lines", line)

        # --- subscribers of the account
        for i in subs:
            skey = sub_key(i)
            stype = service_type(seed, i, cfg["prepaid_share"])
            tplans = plans_by_type[stype]
            plan = tplans[(i >> 3) % len(tplans)]
            if astatus == "closed":
                sstatus = "terminated"
            elif astatus == "suspended":
                sstatus = ("suspended", "barred", "terminated")[rint(3)]
            else:
                r = rint(100)
                sstatus = (
                    "active"
                    if r < 88
                    else "suspended"
                    if r < 92
                    else "barred"
                    if r < 94
                    else "pending"
                    if r < 96
                    else "terminated"
                )
            sim = has_sim(stype)
            if stype in ("fixed_broadband", "other"):
                msisdn = market["cc"] + market["fixed"] + f"{(i * 7919 + 13) % 10**fixed_len:0{fixed_len}d}"
            else:
                msisdn = (
                    market["cc"] + market["mobile"] + f"{(i * 104729 + 17) % 10**mobile_len:0{mobile_len}d}"
                )
            msisdn_text = dialect.msisdn_prefix + msisdn
            imsi = market["mccmnc"] + f"{(i * 2654435761 + 12345) % 10**msin_len:0{msin_len}d}" if sim else ""
            iccid = (
                luhn_complete(
                    "89"
                    + market["iccid"]
                    + "10"
                    + f"{(i * 48271 + 11) % 10**iccid_serial_len:0{iccid_serial_len}d}"
                )
                if sim
                else ""
            )
            fn, ln = FIRST[rint(len(FIRST))], LAST[rint(len(LAST))]
            act_day = rint(N_DAYS - 1)
            last_day = min(N_DAYS - 1, act_day + rint(N_DAYS - act_day))
            prepaid = stype == "mobile_prepaid"
            srow = [
                skey,
                akey,
                fn,
                ln,
                f"{fn[0].lower()}.{i + 1}@mail.example" if rnd() < 0.8 else "",
                "+" + market["cc"] + market["fixed"] + f"{rint(10**fixed_len):0{fixed_len}d}"
                if rnd() < 0.3
                else "",
                F.births[rint(N_BIRTH)],
                f"{1 + rint(200)} {STREETS[rint(len(STREETS))]}",
                CITIES[rint(len(CITIES))],
                f"{rint(10000, 99999)}",
                cfg["market"],
                msisdn_text,
                imsi,
                iccid,
                code("service_type", stype),
                plan,
                code("subscribers.status", sstatus),
                days[act_day],
                amount(rint(0, 5000)) if prepaid else "",
                dt(last_day, rint(86400)),
                str(rint(0, 20000)),
                amount(rint(0, 10**7)),
                str(rint(0, 5000)),
                boolean(rnd() < 0.1),
            ]
            if history:
                srow.append(line_owner(i))
            for extra in extras_sub:
                srow.append(
                    ("GOLD", "SILVER", "BRONZE")[rint(3)] if "TIER" in extra.upper() else str(rint(300, 850))
                )
            for col in sub_secrets:
                srow.append(secret("subscribers", col))
            spick = sub_picks.get(i)
            defect = column = None
            dup = False
            if spick:
                kind, ordinal = spick
                cols = schema.TABLES["subscribers"].column_names
                if kind == "duplicate_rows":
                    dup = True
                elif kind == "orphans":
                    srow[1] = acct_key((n_subs + 1) // 2 + 1000 + ordinal)
                    column, defect = "account_number", kind
                elif kind == "missing_mandatory":
                    column = MISSING_COLUMNS["subscribers"][ordinal % 3]
                    srow[cols.index(column)] = ""
                    defect = kind
                elif kind == "inconsistent_state":
                    srow[cols.index("status")] = code("subscribers.status", "active")
                    column, defect = "status", kind
                elif kind == "unknown_legacy_code":
                    srow[cols.index("plan_code")] = f"LEGACY_{ordinal % 7}X{ordinal}"
                    column, defect = "plan_code", kind
                elif kind in ("invalid_msisdn", "invalid_imsi", "invalid_iccid"):
                    column = kind.split("_", 1)[1]
                    pos = cols.index(column)
                    srow[pos] = invalid_identifier(kind, srow[pos], ordinal, market)
                    if _identifier_ok(column, srow[pos]):
                        raise AssertionError(f"injected {kind} value still validates")
                    defect = kind
                elif kind == "encoding_damage":
                    srow[3] = damage(ACCENTED_LAST[ordinal % len(ACCENTED_LAST)], ordinal, fmt_name, dialect)
                    column, defect = "last_name", kind
            if i % 997 == 0 and not spick:
                # Spot-check clean identifiers against the product's own validators.
                for name, value in (("msisdn", msisdn_text), ("imsi", imsi), ("iccid", iccid)):
                    if value and not _identifier_ok(name, value):
                        raise AssertionError(f"generated {name} does not validate")
            emit("subscribers", srow, defect, skey, column and hdr["subscribers"][column], dup)

            # --- AAA/HSS
            if sim:
                hrow = [
                    imsi,
                    skey,
                    msisdn_text,
                    APNS[3 if stype == "iot" else rint(3)],
                    ("AKA", "EAP-AKA", "EAP-SIM")[rint(3)],
                    boolean(stype == "mobile_postpaid"),
                    "PROVISIONED" if sstatus != "terminated" else "DELETED",
                ]
                for col in aaa_secrets:
                    hrow.append(secret("aaa_hss", col))
                emit("aaa_hss", hrow)

            # --- OCS buckets: first bucket is monetary (prepaid) or the main allowance.
            bpick = bucket_picks.get(i)
            start_day = N_DAYS - 1 - rint(30)
            buckets = []
            if prepaid:
                bal = rint(0, 5000)
                buckets.append(("monetary", cur, rint(bal, bal + 5000), bal, -1))
            kinds = ("data",) if not prepaid else ()
            kinds += tuple(k for k in ("data", "voice", "sms") if rnd() < 0.5 and k not in kinds)
            for k in kinds:
                unit = {"data": "MB", "voice": "SEC", "sms": "SMS"}[k]
                init = {"data": 10240, "voice": 18000, "sms": 500}[k]
                buckets.append((k, unit, init * 100, rint(0, init) * 100, 30))
            for b_no, (btype, unit, init, rem, validity) in enumerate(buckets):
                bkey = f"B{i + 1:09d}{b_no}"
                brow = [
                    bkey,
                    skey,
                    code("bucket_type", btype),
                    unit,
                    amount(init),
                    amount(rem),
                    dt(start_day, rint(86400)),
                    dt(start_day + validity, 86399) if validity > 0 else "",
                    str(b_no + 1),
                ]
                defect, column, dup = inject_child_defect("ocs_buckets", brow, bpick if b_no == 0 else None)
                emit("ocs_buckets", brow, defect, bkey, column and hdr["ocs_buckets"][column], dup)

            # --- activation order and its lines
            okey = f"O{i + 1:09d}"
            lines = [(plan, "", plan_price[plan])]
            if sim:
                lines.append(("", "SIM_ESIM" if rnd() < 0.2 else "SIM_STD", 0))
            if rnd() < 0.15:
                dev = ("DEV_PHONE_A", "DEV_PHONE_I") if sim else ("DEV_ROUTER",)
                dev = dev[rint(len(dev))]
                lines.append(("", dev, cfg["product_price"][dev]))
            total = sum(p for _a, _b, p in lines)
            orow = [
                okey,
                skey,
                akey,
                dt(act_day, rint(86400)),
                code("order_type", "new"),
                code("orders.status", "done" if sstatus != "pending" else "confirmed"),
                amount(total),
                cur,
            ]
            opick = order_picks.get(i)
            defect, column, dup = inject_child_defect("orders", orow, opick)
            emit("orders", orow, defect, okey, column and hdr["orders"][column], dup)
            for line_no, (pcode, prod, price) in enumerate(lines, start=1):
                emit(
                    "order_lines",
                    [okey, str(line_no), pcode, prod, amount(100), amount(price), amount(price)],
                )

            # --- monthly usage summaries (most recent months)
            upick = usage_picks.get(i)
            months = 1 + rint(3) if sstatus != "pending" else 1
            for m in range(months):
                month = 5 - m
                voice = rint(0, 900) if stype != "fixed_broadband" else 0
                urow = [
                    skey,
                    F.months[month],
                    str(voice),
                    amount(rint(0, 2000000)),
                    str(rint(0, 300)),
                    boolean(rnd() < 0.05),
                    amount(rint(0, 3000)),
                    dt(min(N_DAYS - 1, N_DAYS - 1 - 30 * m), rint(86400)),
                ]
                emit("usage", urow, None, f"{skey}/{month + 1}", None, m == 0 and upick is not None)
            if history:
                customer_history(i, akey, skey, sstatus, act_day, msisdn_text, stype, f"{fn} {ln}", ln, plan)
    for fh in files.values():
        fh.close()
    if doc_list is not None:
        doc_list.close()
    pieces = {t: (sink.crc, sink.size, sink.csize) for t, sink in sinks.items()}
    return {
        "chunk": chunk,
        "rows": counts,
        "items": items,
        "secrets": secret_values,
        "pieces": pieces,
        "pdfs": pdfs,
        "documents": doc_count,
    }


# --------------------------------------------------------------- globals ---
def write_global_tables(cfg, rng, writers_for):
    """Small catalogue/inventory tables written in the main process."""
    dialect = DIALECTS[cfg["dialect"]]
    F = Fmt(dialect)
    code = dialect.code
    plans = cfg["plans"]
    w = writers_for("service_plans")
    for p in plans:
        voice, data, sms = p["voice"], p["data"], p["sms"]
        w.writerow(
            [
                p["plan_code"],
                p["plan_name"],
                code("service_type", p["service_type"]),
                F.amount(p["price"]),
                p["currency"],
                str(p["validity_days"]),
                "" if voice < 0 else str(voice),
                F.boolean(voice < 0),
                "" if data < 0 else str(data),
                F.boolean(data < 0),
                "" if sms < 0 else str(sms),
                F.boolean(sms < 0),
                F.boolean(True),
            ]
        )
    w = writers_for("product_catalog")
    for pcode, name, ptype, price, plan in cfg["products"]:
        w.writerow(
            [
                pcode,
                name,
                code("product_type", ptype),
                F.amount(price),
                cfg["currency"],
                plan,
                F.boolean(True),
            ]
        )
    w = writers_for("custom_fields")
    for row in (
        ("subscribers", "LOYALTY_TIER", "Loyalty tier", "selection", "GOLD|SILVER|BRONZE", False),
        ("subscribers", "CREDIT_SCORE", "Credit score", "integer", "", False),
        ("subscribers", "PORT_IN_DATE", "Ported in on", "date", "", False),
        ("billing_accounts", "SEGMENT", "Customer segment", "selection", "CONSUMER|SME|ENTERPRISE", True),
        ("billing_accounts", "KAM_NAME", "Key account manager", "char", "", False),
        ("orders", "SALES_CHANNEL", "Sales channel", "selection", "SHOP|WEB|TELESALES|DEALER", False),
        ("service_plans", "FUP_GB", "Fair use limit (GB)", "float", "", False),
    ):
        w.writerow([row[0], row[1], row[2], row[3], row[4], F.boolean(row[5])])
    w = writers_for("pcrf_rules")
    for n, p in enumerate(plans, start=1):
        if p["service_type"] == "other":
            continue
        unlimited = p["data"] < 0
        w.writerow(
            [
                f"PCC{n:04d}",
                p["plan_code"],
                f"{p['plan_name']} fair use",
                str(9 if p["service_type"] != "iot" else 8),
                str(51200 if unlimited else 20480),
                str(512000 if unlimited else 102400),
                str(512000 if unlimited else max(p["data"], 1)),
                ("throttle", "block", "redirect")[n % 3],
                str(n),
            ]
        )
    if cfg["history"]:
        w = writers_for("owners")
        for owner_id, otype, name, email, active in cfg["owners"]:
            w.writerow([owner_id, otype, name, email, F.boolean(active)])
    w = writers_for("network_elements")
    n_elements = 20 + cfg["subscribers"] // 5000
    types = schema.NETWORK_ELEMENT_TYPES
    for n in range(n_elements):
        etype = types[n % len(types)]
        w.writerow(
            [
                f"NE{n + 1:05d}",
                etype,
                f"{etype.lower()}{n + 1:03d}.core.example.net",
                f"10.{(n >> 8) & 255}.{n & 255}.{1 + rng.randrange(250)}",
                ("DC-NORTH", "DC-SOUTH", "POP-EAST", "POP-WEST")[n % 4],
                VENDORS[rng.randrange(len(VENDORS))],
                f"{rng.randrange(1, 25)}.{rng.randrange(10)}.{rng.randrange(100)}",
                "in_service" if rng.random() < 0.95 else "out_of_service",
            ]
        )


# ------------------------------------------------------------------- zip ---
# A ZIP member's deflate stream is built from independently compressed pieces (the header,
# then each chunk's part, deflated by the worker that generated it): every piece ends with a
# sync flush (byte aligned, not final, no reference to other pieces), so their concatenation
# followed by an empty final block is one valid deflate stream. The member's CRC-32 is
# combined from the pieces' CRCs, so no byte is read twice.
ZIP_LEVEL = 1  # deflate level: about 2.5 times faster than the default 6, ~20 % larger
ZIP64_LIMIT = 0xFFFFFFFF  # sizes and offsets from here on need ZIP64 records
ZIP_TIME = (2024, 6, 30, 23, 59, 0)
_FINAL_BLOCK = zlib.compressobj(ZIP_LEVEL, zlib.DEFLATED, -15).flush()  # b"\x03\x00"
_CRC_POLY = 0xEDB88320


class DeflatePiece(io.RawIOBase):
    """Binary sink deflating everything written to it into one piece file (CRC and sizes kept)."""

    def __init__(self, path, level):
        super().__init__()
        self._fh = open(path, "wb")  # noqa: SIM115 - closed in close()
        self._z = zlib.compressobj(level, zlib.DEFLATED, -15)
        self.crc = self.size = self.csize = 0

    def writable(self):
        return True

    def write(self, data):
        self.crc = zlib.crc32(data, self.crc)
        self.size += len(data)
        self._fh.write(self._z.compress(data))
        return len(data)

    def close(self):
        if not self.closed:
            self._fh.write(self._z.flush(zlib.Z_SYNC_FLUSH))
            self.csize = self._fh.tell()
            self._fh.close()
        super().close()


def deflate_file(src, dst, level):
    """Deflate file ``src`` into piece file ``dst``; returns (crc, size, compressed size)."""
    sink = DeflatePiece(dst, level)
    with open(src, "rb") as fh:
        while block := fh.read(1 << 20):
            sink.write(block)
    sink.close()
    return sink.crc, sink.size, sink.csize


def _gf2_mult(a, b):
    """a * b modulo the CRC-32 polynomial (bit-reflected, as zlib's multmodp)."""
    m, p = 1 << 31, 0
    while True:
        if a & m:
            p ^= b
            if not a & (m - 1):
                return p
        m >>= 1
        b = (b >> 1) ^ _CRC_POLY if b & 1 else b >> 1


_X2N = [1 << 30]  # x^(2^n) modulo the polynomial
for _ in range(31):
    _X2N.append(_gf2_mult(_X2N[-1], _X2N[-1]))


def crc32_combine(crc1, crc2, len2):
    """CRC-32 of A + B from crc32(A), crc32(B) and len(B) (zlib's crc32_combine)."""
    op, k = 1 << 31, 3  # x^0; a byte is 2^3 bits
    while len2:
        if len2 & 1:
            op = _gf2_mult(_X2N[k & 31], op)
        len2 >>= 1
        k += 1
    return _gf2_mult(op, crc1) ^ crc2


def _zip32(value):
    """A 32-bit size or offset field: 0xFFFFFFFF when the value is in a ZIP64 record."""
    return 0xFFFFFFFF if value >= ZIP64_LIMIT else value


class ZipWriter:
    """Minimal ZIP writer for members already deflated into pieces (sizes known up front)."""

    def __init__(self, path):
        self._fh = open(path, "wb")  # noqa: SIM115 - closed in close()
        self._central = []
        year, month, day, hour, minute, second = ZIP_TIME
        self._date = (year - 1980) << 9 | month << 5 | day
        self._time = hour << 11 | minute << 5 | second // 2

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def add(self, name, crc, size, pieces):
        """Write a member whose deflate stream is the concatenation of ``pieces`` (piece files)."""
        csize = sum(os.path.getsize(p) for p in pieces) + len(_FINAL_BLOCK)
        offset = self._fh.tell()
        big = size >= ZIP64_LIMIT or csize >= ZIP64_LIMIT
        raw_name = name.encode("utf-8")
        flags = 0 if name.isascii() else 0x800
        version = 45 if big else 20
        extra = struct.pack("<HHQQ", 1, 16, size, csize) if big else b""
        self._fh.write(
            struct.pack(
                "<IHHHHHIIIHH",
                0x04034B50,
                version,
                flags,
                zipfile.ZIP_DEFLATED,
                self._time,
                self._date,
                crc,
                0xFFFFFFFF if big else csize,
                0xFFFFFFFF if big else size,
                len(raw_name),
                len(extra),
            )
            + raw_name
            + extra
        )
        for piece in pieces:
            with open(piece, "rb") as src:
                shutil.copyfileobj(src, self._fh, 1 << 20)
        self._fh.write(_FINAL_BLOCK)
        self._central.append((raw_name, flags, crc, size, csize, offset))

    def close(self):
        if self._fh.closed:
            return
        fh = self._fh
        cd_offset = fh.tell()
        for raw_name, flags, crc, size, csize, offset in self._central:
            zip64 = [v for v in (size, csize, offset) if v >= ZIP64_LIMIT]
            extra = struct.pack(f"<HH{len(zip64)}Q", 1, 8 * len(zip64), *zip64) if zip64 else b""
            version = 45 if zip64 else 20
            fh.write(
                struct.pack(
                    "<IHHHHHHIIIHHHHHII",
                    0x02014B50,
                    3 << 8 | version,  # made by: Unix
                    version,
                    flags,
                    zipfile.ZIP_DEFLATED,
                    self._time,
                    self._date,
                    crc,
                    _zip32(csize),
                    _zip32(size),
                    len(raw_name),
                    len(extra),
                    0,
                    0,
                    0,
                    0o100644 << 16,
                    _zip32(offset),
                )
                + raw_name
                + extra
            )
        cd_end = fh.tell()
        count, cd_size = len(self._central), cd_end - cd_offset
        if count >= 0xFFFF or cd_size >= ZIP64_LIMIT or cd_offset >= ZIP64_LIMIT:
            record = (44, 45, 45, 0, 0, count, count, cd_size, cd_offset)
            fh.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, *record))
            fh.write(struct.pack("<IIQI", 0x07064B50, 0, cd_end, 1))
        fh.write(
            struct.pack(
                "<IHHHHIIH",
                0x06054B50,
                0,
                0,
                min(count, 0xFFFF),
                min(count, 0xFFFF),
                _zip32(cd_size),
                _zip32(cd_offset),
                0,
            )
        )
        fh.close()


# ------------------------------------------------------------------ main ---
def build_config(args, counts):
    dialect = DIALECTS[args.dialect]
    market = MARKETS[args.market]
    rng = random.Random(f"{args.seed}:catalogue")
    plans = make_plans(rng, market)
    products, cur = make_products(market)
    secret_columns = list(SECRET_COLUMNS[: counts["secret_columns_dropped"]])
    cfg = {
        "seed": args.seed,
        "subscribers": args.subscribers,
        "dialect": args.dialect,
        "market": args.market,
        "format": args.format,
        "currency": cur,
        "plans": plans,
        "products": products,
        "plans_by_type": {},
        "plan_price": {p["plan_code"]: p["price"] for p in plans},
        "product_price": {p[0]: p[3] for p in products},
        "secret_columns": secret_columns,
        "secret_values_limit": args.secret_values_limit,
        "invoice_pdfs": args.invoice_pdfs,
        "prepaid_share": args.prepaid_share,
        "secret_spellings": args.secret_spellings,
        "global_tables": (
            "service_plans",
            "product_catalog",
            "custom_fields",
            "pcrf_rules",
            "network_elements",
        ),
        "history": args.customer_history,
        "tables": tuple(t for t in schema.TABLES if args.customer_history or t not in HISTORY_TABLES),
    }
    if args.customer_history:
        cfg["global_tables"] += ("owners",)
        cfg["owners"] = make_owners(args.seed, args.subscribers)
        cfg["owner_ids"] = {
            "all": [o[0] for o in cfg["owners"]],
            "sellers": [o[0] for o in cfg["owners"] if o[1] in ("agent", "dealer")],
            "persons": [o[0] for o in cfg["owners"] if o[1] in ("user", "agent")],
        }
    if args.out.lower().endswith(".zip") and args.format == "csv":
        cfg["zip_level"] = ZIP_LEVEL  # the workers deflate their parts
    for p in plans:
        cfg["plans_by_type"].setdefault(p["service_type"], []).append(p["plan_code"])
    cfg["headers"] = {
        t: {c: dialect.header(t, c) for c in schema.TABLES[t].column_names} for t in schema.TABLES
    }
    return cfg


def generate(args):
    """Generate the export; returns (manifest, total rows)."""
    history = args.customer_history
    counts = parse_defects(args.defects, args.defect_rate, args.subscribers, history)
    cfg = build_config(args, counts)
    dialect = DIALECTS[args.dialect]
    picks = pick_defects(args.seed, args.subscribers, split_counts(counts, history), args.prepaid_share)
    n_chunks = (args.subscribers + CHUNK - 1) // CHUNK
    tmpdir = tempfile.mkdtemp(prefix="bss_export_")
    try:
        jobs = []
        for c in range(n_chunks):
            lo, hi = c * CHUNK, min(args.subscribers, (c + 1) * CHUNK)
            sub_range = range(lo, hi)
            acct_range = range(lo // 2, (hi + 1) // 2)
            chunk_picks = {}
            for table, chosen in picks.items():
                domain = sub_range if TABLE_DOMAIN[table] == "sub" else acct_range
                chunk_picks[table] = {e: v for e, v in chosen.items() if e in domain}
            jobs.append((cfg, c, chunk_picks, tmpdir))
        if args.jobs > 1 and n_chunks > 1:
            with multiprocessing.get_context("fork").Pool(min(args.jobs, n_chunks)) as pool:
                results = pool.map(generate_chunk, jobs, chunksize=1)
        else:
            results = [generate_chunk(j) for j in jobs]
        return assemble(args, cfg, dialect, results, tmpdir, counts)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def assemble(args, cfg, dialect, results, tmpdir, counts):
    out = args.out
    as_zip = out.lower().endswith(".zip")
    stage = os.path.join(tmpdir, "export") if as_zip or args.format == "xlsx" else out
    os.makedirs(stage, exist_ok=True)
    rng = random.Random(f"{args.seed}:globals")
    row_counts = {}
    files = {}
    global_handles = {}

    def open_final(table):
        path = os.path.join(stage, dialect.file_name(table, "csv"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fh = open(path, "w", encoding=dialect.encoding, errors="surrogateescape", newline="")  # noqa: SIM115
        if dialect.bom:
            fh.write("\ufeff")
        writer = csv.writer(fh, delimiter=dialect.delim(table), lineterminator=dialect.lineterminator)
        writer.writerow(header_row(table, cfg))
        files[table] = dialect.file_name(table, args.format)
        return path, fh, writer

    class Counting:
        def __init__(self, table, writer):
            self.table, self.writer = table, writer

        def writerow(self, row):
            self.writer.writerow(row)
            row_counts[self.table] = row_counts.get(self.table, 0) + 1

    def writers_for(table):
        path, fh, writer = open_final(table)
        global_handles[table] = fh
        return Counting(table, writer)

    write_global_tables(cfg, rng, writers_for)
    for fh in global_handles.values():
        fh.close()
    offsets = {}
    deflated = "zip_level" in cfg  # parts are deflate pieces: the header file is only the header
    for table in cfg["tables"]:
        if table in cfg["global_tables"]:
            continue
        path, fh, _w = open_final(table)
        fh.flush()
        raw = fh.buffer
        total = 0
        for res in sorted(results, key=lambda r: r["chunk"]):
            offsets[(res["chunk"], table)] = total
            if not deflated:
                with open(os.path.join(tmpdir, f"part{res['chunk']:05d}", table), "rb") as part:
                    shutil.copyfileobj(part, raw, 1 << 20)
            total += res["rows"][table]
        fh.close()
        row_counts[table] = total

    manifest = build_manifest(args, cfg, dialect, results, offsets, files, row_counts, counts)
    if args.format == "xlsx":
        convert_to_xlsx(stage, dialect, cfg)
    if as_zip:
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        with ZipWriter(out) as zw:
            for n, table in enumerate(cfg["tables"]):
                name = dialect.file_name(table, args.format)
                # Whole file (global tables, xlsx) or header only, followed by the workers' pieces.
                first = os.path.join(tmpdir, f"member{n:02d}")
                crc, size, _csize = deflate_file(os.path.join(stage, name), first, ZIP_LEVEL)
                pieces = [first]
                if deflated and table not in cfg["global_tables"]:
                    for res in sorted(results, key=lambda r: r["chunk"]):
                        piece_crc, piece_size, _csize = res["pieces"][table]
                        crc = crc32_combine(crc, piece_crc, piece_size)
                        size += piece_size
                        pieces.append(os.path.join(tmpdir, f"part{res['chunk']:05d}", table))
                zw.add(name, crc, size, pieces)
            for n, (src, name) in enumerate(pdf_files(results, tmpdir)):
                piece = os.path.join(tmpdir, f"pdf{n:06d}")
                crc, size, _csize = deflate_file(src, piece, ZIP_LEVEL)
                zw.add(name, crc, size, [piece])
    else:
        made = set()
        for src, name in pdf_files(results, tmpdir):
            target = os.path.join(out, *name.split("/"))
            if os.path.dirname(target) not in made:
                os.makedirs(os.path.dirname(target), exist_ok=True)
                made.add(os.path.dirname(target))
            shutil.copyfile(src, target)
    if not as_zip and args.format == "xlsx":
        for table in cfg["tables"]:
            name = dialect.file_name(table, "xlsx")
            target = os.path.join(out, name)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.move(os.path.join(stage, name), target)
    manifest_path = args.manifest or (
        out[:-4] + ".manifest.json" if as_zip else os.path.join(out, "manifest.json")
    )
    with open(manifest_path, "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=1, sort_keys=True, ensure_ascii=False)
        fh.write("\n")
    manifest["_path"] = manifest_path
    return manifest, sum(row_counts.values())


def pdf_files(results, tmpdir):
    """(part file, name inside the export) of the invoice PDFs and the documents the workers wrote,
    in chunk order (a chunk's documents are listed in a file, not held in memory)."""
    for res in sorted(results, key=lambda r: r["chunk"]):
        part = os.path.join(tmpdir, f"part{res['chunk']:05d}")
        for name in res["pdfs"]:
            yield os.path.join(part, "pdf", name), name
        if res.get("documents"):
            with open(os.path.join(part, "documents.list"), encoding="utf-8") as listing:
                for line in listing:
                    name = line.rstrip("\n")
                    yield os.path.join(part, "pdf", *name.split("/")), name


def convert_to_xlsx(stage, dialect, cfg):
    import openpyxl

    for table in cfg["tables"]:
        src = os.path.join(stage, dialect.file_name(table, "csv"))
        dst = os.path.join(stage, dialect.file_name(table, "xlsx"))
        book = openpyxl.Workbook(write_only=True)
        sheet = book.create_sheet(table)
        with open(src, encoding=dialect.encoding, newline="") as fh:
            if dialect.bom:
                fh.read(1)
            for row in csv.reader(fh, delimiter=dialect.delim(table)):
                sheet.append(row)
        book.save(dst)
        # openpyxl stamps the current time into docProps/core.xml: rewrite it for identical bytes.
        _freeze_xlsx(dst)
        os.unlink(src)


def _freeze_xlsx(path):
    fixed = (2024, 6, 30, 0, 0, 0)
    buf = io.BytesIO()
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "docProps/core.xml":
                text = data.decode("utf-8")
                import re

                text = re.sub(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", "2024-06-30T00:00:00Z", text)
                data = text.encode("utf-8")
            new = zipfile.ZipInfo(info.filename, date_time=fixed)
            new.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(new, data)
    with open(path, "wb") as fh:
        fh.write(buf.getvalue())


def build_manifest(args, cfg, dialect, results, offsets, files, row_counts, counts):
    defects = {kind: {"total": 0, "objects": {}} for kind in counts}
    for res in sorted(results, key=lambda r: r["chunk"]):
        for kind, table, local_row, key, column in res["items"]:
            line = 1 + offsets[(res["chunk"], table)] + local_row
            obj = schema.object_of(table)
            entry = defects[kind]["objects"].setdefault(obj, {"count": 0, "items": []})
            item = {"file": files[table], "table": table, "row": line, "key": key}
            if column:
                item["column"] = column
            entry["items"].append(item)
            entry["count"] += 1
            defects[kind]["total"] += 1
    secret_values = {}
    for res in sorted(results, key=lambda r: r["chunk"]):
        for col, vals in res["secrets"].items():
            secret_values.setdefault(col, []).extend(vals)
    headers_of = {t: header_row(t, cfg) for t in cfg["tables"]}
    for table, col in cfg["secret_columns"]:
        header = headers_of[table][len(table_columns(table, cfg)) + len(dialect.extras.get(table, ())) :][
            [c for t, c in cfg["secret_columns"] if t == table].index(col)
        ]
        vals = secret_values.get(f"{table}.{col}", [])
        obj = schema.object_of(table)
        entry = defects["secret_columns_dropped"]["objects"].setdefault(obj, {"count": 0, "items": []})
        entry["items"].append(
            {
                "file": files[table],
                "table": table,
                "column": header,
                "kind": col,
                "values": vals[: args.secret_values_limit],
                "values_truncated": row_counts.get(table, 0) > args.secret_values_limit,
            }
        )
        entry["count"] += 1
        defects["secret_columns_dropped"]["total"] += 1
    for kind in counts:
        for entry in defects[kind]["objects"].values():
            entry["items"].sort(key=lambda it: (it["file"], it.get("row", 0), it.get("column", "")))
    manifest = {
        "generator": "generate_bss_export",
        "format_version": 1,
        "seed": args.seed,
        "subscribers": args.subscribers,
        "dialect": args.dialect,
        "format": args.format,
        "market": args.market,
        "requested_defects": counts,
        "files": {
            files[t]: {
                "table": t,
                "object": schema.object_of(t),
                "rows": row_counts.get(t, 0),
                "encoding": dialect.encoding + ("-sig" if dialect.bom else ""),
                "delimiter": dialect.delim(t),
                "headers": headers_of[t],
            }
            for t in cfg["tables"]
        },
        "defects": defects,
        "counting_rules": (
            "one defect per row; rows of different kinds never overlap within a table; duplicates are exact "
            "copies right after their original and only the copy is counted; rows are file line numbers "
            "(header = 1); secret_columns_dropped counts columns"
        ),
    }
    if cfg["history"]:
        # Only with --customer-history: without it the manifest is the one it always was.
        manifest["customer_history"] = True
        manifest["documents"] = sum(res.get("documents", 0) for res in results)
        manifest["counting_rules"] += (
            "; missing_document counts documents rows whose file_path names no file of the export"
        )
    return manifest


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", required=True, help="output folder, or a path ending in .zip")
    parser.add_argument("--dialect", choices=sorted(DIALECTS), default="canonical")
    parser.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    parser.add_argument("--market", choices=sorted(MARKETS), default="GB")
    parser.add_argument("--defects", default="", help="kind=count,... kinds: " + ", ".join(DEFECT_KINDS))
    parser.add_argument("--defect-rate", type=float, default=0.0, help="rows per subscriber for every kind")
    parser.add_argument("--manifest", help="manifest path (default next to the export)")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument(
        "--secret-values-limit", type=int, default=1000, help="secret values listed per column"
    )
    parser.add_argument(
        "--secret-spellings",
        choices=("dialect", "unseen"),
        default="dialect",
        help="headers of the secret columns: the dialect's, or spellings the secret detector has never seen",
    )
    parser.add_argument(
        "--invoice-pdfs",
        type=int,
        default=0,
        help="invoices with a PDF (the first N billing accounts' invoices; invoices.csv pdf_file)",
    )
    parser.add_argument(
        "--prepaid-share",
        type=int,
        default=PREPAID_SHARE,
        metavar="PERCENT",
        help="percent of the lines that are mobile prepaid, each with a monetary OCS bucket "
        f"(default {PREPAID_SHARE}; the other service types keep their proportions)",
    )
    parser.add_argument(
        "--customer-history",
        action="store_true",
        help="also write the customer history: owners (legacy users/agents/dealers/teams, owner_id on "
        "accounts and lines), the number inventory and its ports, interactions and documents "
        "(contract PDFs, ID scans) with the files inside the export; defects also hit these tables, "
        "and missing_document becomes a defect kind",
    )
    parser.add_argument("--bench", action="store_true", help="print rows/s and peak memory")
    args = parser.parse_args(argv)
    if not 0 <= args.prepaid_share <= 100:
        parser.error("--prepaid-share must be a percentage from 0 to 100")
    if args.subscribers < 1:
        parser.error("--subscribers must be at least 1")
    if not args.out.lower().endswith(".zip"):
        os.makedirs(args.out, exist_ok=True)
    started = time.perf_counter()
    manifest, rows = generate(args)
    elapsed = time.perf_counter() - started
    total_defects = sum(v["total"] for v in manifest["defects"].values())
    print(f"wrote {rows} rows in {len(manifest['files'])} files to {args.out}; {total_defects} defects")
    print(f"manifest: {manifest['_path']}")
    if args.bench:
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        print(
            f"bench: {args.subscribers} subscribers, {rows} rows in {elapsed:.1f} s = "
            f"{rows / elapsed:,.0f} rows/s ({args.subscribers / elapsed:,.0f} subscribers/s); "
            f"peak RSS main {own / 1024:.0f} MiB, "
            f"largest worker {kids / 1024:.0f} MiB; jobs={args.jobs}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
