"""Legacy code dictionaries: the spellings BSS exports use for closed sets.

``LEGACY_CODES[canonical_column][CODE] -> canonical value``. Codes are compared
after :func:`.values.normalize_code` (trimmed, upper case). Column names are
those of :mod:`.schema`; ``status`` differs per table, hence the
``"<table>.status"`` keys.
"""

from .values import normalize_code

__all__ = ["LEGACY_CODES", "codes_for", "map_code"]


def _inv(spec):
    out = {}
    for value, spellings in spec.items():
        out[value.upper()] = value
        for spelling in spellings.split():
            out[spelling] = value
    return out


LEGACY_CODES = {
    "subscribers.status": _inv(
        {
            "pending": "PND PEND P NEW INIT PENDING RESERVED",
            "active": "ACT A ACTV AC LIVE ACTIVE ACTIVATED",
            "suspended": "SUS SUSP S SPD SUSPENDED",
            "barred": "BAR B BARRED BLK BLOCKED OCB ICB",
            "terminated": "TRM TERM T X DEACT DEACTIVATED DISC DISCONNECTED CAN CANCELLED CLOSED",
        }
    ),
    "billing_accounts.status": _inv(
        {
            "open": "O OPN ACT A ACTIVE",
            "suspended": "S SUS SUSP SUSPENDED",
            "closed": "C CLS CLOSED TRM TERM TERMINATED X",
        }
    ),
    "orders.status": _inv(
        {
            "draft": "D DRF NEW OPEN",
            "confirmed": "C CONF CONFIRMED SUBMITTED",
            "done": "DN COMP COMPLETED CLOSED FULFILLED DONE",
            "cancelled": "X CXL CANC CANCELED CANCELLED",
        }
    ),
    "invoices.status": _inv(
        {
            "open": "O OPN UNPAID DUE ISSUED",
            "paid": "P PD SETTLED CLOSED",
            "overdue": "OD LATE OVERDUE",
            "cancelled": "X CXL CANC VOID CANCELED",
        }
    ),
    # The number inventory (telecom_subscriber's number statuses). "QUARANTINE" is left out on
    # purpose: some systems mean the aging period by it, others a number gone for good.
    "numbers.status": _inv(
        {
            "available": "FREE SPARE AVAIL AVL VACANT UNUSED IDLE IN_STOCK STOCK",
            "reserved": "RES RSV RSVD HELD BOOKED RESERVED",
            "assigned": "ASSIGNED ASG ASGN IN_USE INUSE USED ALLOCATED ALLOC ACTIVE ACT CONNECTED",
            "porting_in": "PORTING_IN PORT_IN PORTIN PIN PORTING_INBOUND",
            "porting_out": "PORTING_OUT PORT_OUT PORTOUT POUT PORTING_OUTBOUND",
            "aging": "AGEING AGING AGED AGE COOLING COOL_OFF COOLDOWN",
            "quarantined_released": "PORTED_OUT PORTEDOUT RELEASED RETURNED REL GONE",
        }
    ),
    "number_ports.direction": _inv(
        {
            "in": "I PORT_IN PORTIN INBOUND INCOMING IMPORT",
            "out": "O PORT_OUT PORTOUT OUTBOUND OUTGOING EXPORT",
        }
    ),
    "number_ports.state": _inv(
        {
            "submitted": "SUB SUBM SUBMITTED REQ REQUESTED PENDING NEW OPEN",
            "confirmed": "CONF CNF ACK ACCEPTED APPROVED SCHEDULED CONFIRMED",
            "completed": "COMP CMPL DONE PORTED CLOSED SUCCESS COMPLETE ACTIVATED",
            "rejected": "REJ RJ NACK DENIED REFUSED FAILED DECLINED",
            "cancelled": "X CXL CANC CAN CANCELED WITHDRAWN ABORTED",
        }
    ),
    "service_type": _inv(
        {
            "mobile_prepaid": "PRE PREPAID PP PRP MOB_PRE PRE_PAID",
            "mobile_postpaid": "POST POSTPAID PST CONTRACT MOB_POST POST_PAID",
            "fixed_broadband": "FBB BROADBAND DSL ADSL VDSL FTTH FTTX FIBRE FIBER",
            "fixed_wireless": "FWA WIMAX FIXED_WIRELESS",
            "iot": "M2M IOT NB_IOT",
            "other": "OTH OTHER",
        }
    ),
    "invoicing_preference": _inv(
        {
            "email": "E EBILL E_BILL E-BILL ELECTRONIC MAIL",
            "paper": "P POST PRINT PAPER",
            "portal": "W WEB ONLINE PORTAL",
        }
    ),
    "bucket_type": _inv(
        {
            "monetary": "MON MONEY MAIN CASH M CUR",
            "data": "D GPRS DAT DATA",
            "voice": "V VOI MIN VOICE",
            "sms": "S TXT MSG SMS",
        }
    ),
    "order_type": _inv(
        {
            "new": "N ACT ACTIVATION PROVIDE NEW",
            "change": "CHG MOD MODIFY CHANGE",
            "addon": "ADD ADDON TOPUP BOLTON",
            "terminate": "TERM CEASE DEACT DISCONNECT",
        }
    ),
    "product_type": _inv(
        {
            "sim": "SIMCARD SIM_CARD SIM",
            "device": "DEV HW HANDSET PHONE ROUTER CPE DEVICE",
            "addon": "ADD BOLTON BOLT_ON OPTION ADDON",
            "accessory": "ACC ACCESSORY",
        }
    ),
    "action": _inv(
        {
            "throttle": "THR SLOW SHAPE THROTTLE",
            "block": "BLK DENY BLOCK",
            "redirect": "RDR REDIRECT",
            "allow": "PASS PERMIT ALLOW",
        }
    ),
}


def codes_for(table, column):
    """Return the code dictionary of a column of a table (or None)."""
    return LEGACY_CODES.get(f"{table}.{column}") or LEGACY_CODES.get(column)


def map_code(table, column, value):
    """Return the canonical value of a legacy code, or None when the code is unknown.

    >>> map_code("subscribers", "status", " act ")
    'active'
    >>> map_code("subscribers", "service_type", "POST")
    'mobile_postpaid'
    """
    table_codes = codes_for(table, column)
    if not table_codes:
        return None
    return table_codes.get(normalize_code(value).replace(" ", "_"))
