"""What a first migration of a generated export must count, read from its files and manifest: the
expectations the end-to-end tests compare the server's reconciliation with.

Importable as ``expected_counts`` (pytest puts the tests folder on ``sys.path``).
"""

import csv

#: The defects for which the migration quarantines a subscriber.
QUARANTINED_SUBSCRIBER_DEFECTS = (
    "orphans",
    "missing_mandatory",
    "invalid_msisdn",
    "invalid_imsi",
    "invalid_iccid",
)


def read_csv(path):
    """The rows of a generated CSV file, as dicts by header."""
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def defect_keys(manifest, kind, obj):
    """The keys of ``obj`` the generator gave the defect ``kind`` (its manifest)."""
    return {i["key"] for i in manifest["defects"][kind]["objects"].get(obj, {}).get("items", [])}


def defect_count(manifest, kind, obj):
    """How many rows of ``obj`` the generator gave the defect ``kind``."""
    return manifest["defects"][kind]["objects"].get(obj, {}).get("count", 0)


def expected_counts(folder, manifest):
    """Counts of the plans, accounts and subscribers phases, from the files and the manifest."""
    plans = read_csv(folder / "service_plans.csv")
    accounts = read_csv(folder / "billing_accounts.csv")
    ba_dups = defect_count(manifest, "duplicate_rows", "billing_accounts")
    ba_bad = defect_keys(manifest, "missing_mandatory", "billing_accounts")
    bad = set().union(*(defect_keys(manifest, k, "subscribers") for k in QUARANTINED_SUBSCRIBER_DEFECTS))
    subs = read_csv(folder / "subscribers.csv")
    seen, quarantined = set(), 0
    for row in subs:
        if row["subscriber_id"] not in seen:
            seen.add(row["subscriber_id"])
            quarantined += row["subscriber_id"] in bad or row["account_number"] in ba_bad
    zero = {"updated": 0, "unchanged": 0}
    return {
        "service_plans": {
            "source_rows": len(plans),
            "duplicates_collapsed": 0,
            "quarantined": 0,
            "created": len(plans),
            **zero,
        },
        "billing_accounts": {
            "source_rows": len(accounts),
            "duplicates_collapsed": ba_dups,
            "quarantined": len(ba_bad),
            "created": len(accounts) - ba_dups - len(ba_bad),
            **zero,
        },
        "subscribers": {
            "source_rows": len(subs),
            "duplicates_collapsed": len(subs) - len(seen),
            "quarantined": quarantined,
            "created": len(seen) - quarantined,
            **zero,
        },
    }
