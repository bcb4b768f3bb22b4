from . import (
    account_chart_template,
    account_move,
    account_move_line,
    res_company,
    res_partner,
    telecom_wallet,
    telecom_wallet_batch,
    telecom_wallet_bucket,
    telecom_wallet_bucket_consumption,
    telecom_wallet_ledger_check,
    telecom_wallet_operation,
    telecom_wallet_report,
)
