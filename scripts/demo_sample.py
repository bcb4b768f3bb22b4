"""Load a small, realistic telecom sample into an Odoo database through the ORM.

Run by scripts/demo.sh with the same options as odoo-bin (database, addons
path, connection). Deterministic and idempotent: records are looked up by their
legacy keys (plan code, billing account number, subscriber ID) and created only
when missing, so re-running changes nothing.
"""

import random
import sys

import odoo
from odoo import api
from odoo.tools import config

PLANS = [
    # code, name, service type, voice min, data MB, sms, unlimited flags, validity, price
    ("PRE-S", "Prepaid Small", "mobile_prepaid", 100, 2048, 100, (), 30, 5.0),
    ("PRE-M", "Prepaid Medium", "mobile_prepaid", 500, 10240, 0, ("sms",), 30, 10.0),
    ("PRE-L", "Prepaid Large", "mobile_prepaid", 0, 51200, 0, ("voice", "sms"), 30, 20.0),
    ("POST-30", "Postpaid 30", "mobile_postpaid", 0, 30720, 0, ("voice", "sms"), 0, 30.0),
    ("FIBRE-500", "Home Fibre 500", "fixed_broadband", 0, 0, 0, ("data",), 0, 35.0),
    ("FWA-100", "Fixed Wireless 100", "fixed_wireless", 0, 204800, 0, (), 0, 25.0),
    ("IOT-1G", "IoT 1 GB", "iot", 0, 1024, 50, (), 365, 2.0),
]

ACCOUNTS = [
    # number, name, status, cycle day, invoicing, payment method, city
    ("BA-100001", "Hughes Household", "open", 1, "email", "Direct debit", "Leeds"),
    ("BA-100002", "Okafor Family", "open", 8, "portal", "Direct debit", "Manchester"),
    ("BA-100003", "Patel Household", "open", 15, "paper", "Cash at shop", "Leicester"),
    ("BA-100004", "Northwind Logistics Ltd", "open", 1, "email", "Bank transfer", "Bristol"),
    ("BA-100005", "Greenfield Farms", "suspended", 22, "paper", "Direct debit", "Norwich"),
    ("BA-100006", "Brightside Dental Clinic", "open", 15, "email", "tok_live_51HdemoCard", "York"),
    ("BA-100007", "Kowalski Household", "closed", 28, "email", "Direct debit", "Glasgow"),
    ("BA-100008", "Smartmeter Services plc", "open", 1, "portal", "Bank transfer", "Cardiff"),
]

SEED = 20261122

FIRST = [
    "Amelia",
    "Oliver",
    "Isla",
    "George",
    "Ava",
    "Noah",
    "Mia",
    "Arthur",
    "Sofia",
    "Leo",
    "Grace",
    "Jack",
]
LAST = ["Hughes", "Okafor", "Patel", "Evans", "Kowalski", "Nguyen", "Murphy", "Singh", "Taylor", "Brown"]


def load(env):
    # Importable only once parse_config has put the suite's addons on the path.
    from odoo.addons.telecom_subscriber.tools.identifiers import luhn_check_digit  # noqa: PLC0415

    env.user.write(
        {
            "groups_id": [
                (4, env.ref("telecom_subscriber.telecom_subscriber_group_manager").id),
                (4, env.ref("telecom_subscriber.telecom_subscriber_group_cpni").id),
            ]
        }
    )
    Template = env["product.template"].with_context(active_test=False)
    Partner = env["res.partner"].with_context(active_test=False)
    uk = env.ref("base.uk")
    created = {"plans": 0, "accounts": 0, "subscribers": 0}

    for code, name, service_type, voice, data, sms, unlimited, validity, price in PLANS:
        if Template.search_count([("x_plan_code", "=", code)]):
            continue
        Template.create(
            {
                "name": name,
                "x_is_service_plan": True,
                "x_plan_code": code,
                "x_service_type": service_type,
                "x_voice_minutes": voice,
                "x_voice_unlimited": "voice" in unlimited,
                "x_data_mb": data,
                "x_data_unlimited": "data" in unlimited,
                "x_sms_count": sms,
                "x_sms_unlimited": "sms" in unlimited,
                "x_validity_days": validity,
                "list_price": price,
            }
        )
        created["plans"] += 1

    serial = 0
    for number, name, status, cycle, invoicing, payment, city in ACCOUNTS:
        # Randomness seeded by the record's key, never by a shared stream: a
        # re-run that skips existing records must make exactly the same choices.
        rng = random.Random(f"{SEED}-{number}")
        business = "Ltd" in name or "plc" in name or "Clinic" in name or "Farms" in name
        lines = 6 if business else rng.randint(2, 4)
        account = Partner.search([("x_billing_account_number", "=", number)], limit=1)
        if not account:
            account = Partner.create(
                {
                    "name": name,
                    "is_company": True,
                    "x_billing_account_number": number,
                    "x_account_status": status,
                    "x_bill_cycle_day": cycle,
                    "x_invoicing_preference": invoicing,
                    "x_payment_method": payment,
                    "x_legacy_ar_balance": round(rng.uniform(0, 180), 2) if status != "open" else 0.0,
                    "credit_limit": 250.0,
                    "city": city,
                    "country_id": uk.id,
                }
            )
            created["accounts"] += 1
        for _index in range(lines):
            serial += 1
            subscriber_id = f"SUB-{200000 + serial}"
            if Partner.search_count([("x_subscriber_id", "=", subscriber_id)]):
                continue
            rng = random.Random(f"{SEED}-{subscriber_id}")
            if "Smartmeter" in name:
                plan = "IOT-1G"
            elif business:
                plan = rng.choice(["POST-30", "POST-30", "PRE-L"])
            else:
                plan = rng.choice(["PRE-S", "PRE-M", "PRE-L", "POST-30", "FIBRE-500", "FWA-100"])
            service_type = next(p[2] for p in PLANS if p[0] == plan)
            mobile = service_type in ("mobile_prepaid", "mobile_postpaid", "iot")
            if status == "closed":
                line_status = "terminated"
            elif status == "suspended":
                line_status = "suspended"
            else:
                line_status = rng.choice(["active"] * 8 + ["pending", "barred"])
            first, last = rng.choice(FIRST), name.split()[0] if not business else rng.choice(LAST)
            values = {
                "name": f"{first} {last}" if "Smartmeter" not in name else f"Meter gateway {serial:03d}",
                "parent_id": account.id,
                "type": "contact",
                "x_subscriber_id": subscriber_id,
                "x_msisdn": f"+44 7700 900{serial:03d}",
                "x_service_type": service_type,
                "x_plan_code": plan,
                "x_subscriber_status": line_status,
                "x_ocs_balance": round(rng.uniform(0, 40), 2) if service_type == "mobile_prepaid" else 0.0,
                "x_total_voice_minutes": round(rng.uniform(0, 900), 1) if mobile else 0.0,
                "x_total_data_mb": round(rng.uniform(0, 40000), 1),
                "x_total_sms_count": rng.randint(0, 300) if mobile else 0,
                "x_cpni_opt_out": rng.random() < 0.2,
                "email": f"{first.lower()}.{serial}@example.com",
            }
            if mobile:
                values["x_imsi"] = f"23415{serial:010d}"
                iccid_body = f"89441000{serial:011d}"
                values["x_iccid"] = iccid_body + luhn_check_digit(iccid_body)
            Partner.create(values)
            created["subscribers"] += 1
    return created


def main(argv):
    config.parse_config(argv)
    dbname = config["db_name"]
    if not dbname:
        sys.exit("demo_sample.py: give the database with -d")
    registry = odoo.modules.registry.Registry(dbname)
    with registry.cursor() as cr:
        env = api.Environment(cr, odoo.SUPERUSER_ID, {})
        created = load(env)
        totals = {
            "plans": env["product.template"].search_count([("x_is_service_plan", "=", True)]),
            "accounts": env["res.partner"].search_count([("x_billing_account_number", "!=", False)]),
            "subscribers": env["res.partner"].search_count([("x_is_subscriber", "=", True)]),
        }
    print(
        "sample loaded: "
        + ", ".join(
            f"{name} {totals[name]} ({created[name]} new)" for name in ("plans", "accounts", "subscribers")
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
