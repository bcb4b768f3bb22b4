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

# --- number inventory -------------------------------------------------------------
NUMBER_STATUSES = [
    ("available", "Available"),
    ("reserved", "Reserved"),
    ("assigned", "Assigned"),
    ("porting_in", "Porting In"),
    ("porting_out", "Porting Out"),
    ("aging", "Aging"),
    ("quarantined_released", "Quarantined / Released"),
]
# A number in one of these statuses is held by a subscriber (partner set).
NUMBER_HELD_STATUSES = ("assigned", "porting_out")
# Status changes made by hand (the number's buttons, or a manager's write).
NUMBER_MANUAL_TRANSITIONS = {
    ("available", "reserved"),
    ("available", "assigned"),
    ("reserved", "assigned"),
    ("reserved", "available"),
    ("assigned", "aging"),
    # Both only from the number's reassign date (aging guard).
    ("aging", "available"),
    ("aging", "assigned"),
}
# A port-in can start from a number that is not in use.
NUMBER_PORT_IN_FROM = ("available", "reserved", "quarantined_released")
# Status changes made by a port request (and only by one).
NUMBER_PORT_TRANSITIONS = {
    *((status, "porting_in") for status in NUMBER_PORT_IN_FROM),
    ("porting_in", "available"),
    *(("porting_in", status) for status in NUMBER_PORT_IN_FROM),
    ("assigned", "porting_out"),
    ("porting_out", "quarantined_released"),
    ("porting_out", "assigned"),
}
NUMBER_AGING_DAYS_DEFAULT = 90

PORT_DIRECTIONS = [
    ("in", "Port In"),
    ("out", "Port Out"),
]
PORT_STATES = [
    ("submitted", "Submitted"),
    ("confirmed", "Confirmed"),
    ("completed", "Completed"),
    ("rejected", "Rejected"),
    ("cancelled", "Cancelled"),
]
PORT_OPEN_STATES = ("submitted", "confirmed")
