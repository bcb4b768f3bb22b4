"""Code lists shared by the models and the importer (plain Python, no ORM)."""

SERVICE_TYPES = [
    ("mobile_prepaid", "Mobile Prepaid"),
    ("mobile_postpaid", "Mobile Postpaid"),
    ("fixed_broadband", "Fixed Broadband"),
    ("fixed_wireless", "Fixed Wireless"),
    ("iot", "IoT"),
    ("other", "Other"),
]

SUBSCRIBER_STATUSES = [
    ("pending", "Pending"),
    ("active", "Active"),
    ("suspended", "Suspended"),
    ("barred", "Barred"),
    ("terminated", "Terminated"),
]

ACCOUNT_STATUSES = [
    ("open", "Open"),
    ("suspended", "Suspended"),
    ("closed", "Closed"),
]

INVOICING_PREFERENCES = [
    ("email", "E-mail"),
    ("paper", "Paper"),
    ("portal", "Portal"),
]

ICCID_CHECK_MODES = [
    ("strict", "Strict: refuse a wrong check digit"),
    ("warning", "Warning: accept and flag a wrong check digit"),
]

# A subscriber in one of these states no longer holds its number: the MSISDN can
# be given to another subscriber (number recycling).
RELEASED_STATUSES = ("terminated",)

BILL_CYCLE_DAY_MIN = 1
BILL_CYCLE_DAY_MAX = 28
