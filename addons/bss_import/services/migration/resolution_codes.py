"""The legacy codes of a run that its phases cannot resolve by themselves (for the legacy-code table)."""

from .billing_accounts import BillingAccountsPhase
from .context import MigrationContext
from .subscribers import SubscribersPhase

#: The phases that read the run's legacy-code table.
PHASES = (BillingAccountsPhase, SubscribersPhase)


def unknown_codes(run):
    """{(table, column, code): staged rows} over the run's staged files, through its confirmed mapping."""
    ctx = MigrationContext(run)
    out = {}
    for cls in PHASES:
        phase = cls(ctx)
        if not phase.has_rows():
            continue
        for (column, code), rows in phase.unknown_codes().items():
            out[(phase.table, column, code)] = rows
    return out
