{
    "name": "Telecom Prepaid Wallets",
    "summary": "Prepaid wallets whose balance is the ledger, and data/voice/SMS allowances",
    "version": "18.0.1.2.0",
    "category": "Accounting/Telecom",
    "author": "Telecom BSS Migration Suite",
    "license": "LGPL-3",
    "depends": ["telecom_subscriber", "account"],
    "data": [
        "security/telecom_wallet_security.xml",
        "security/ir.model.access.csv",
        "data/telecom_wallet_data.xml",
        "views/telecom_wallet_views.xml",
        "views/telecom_wallet_operation_views.xml",
        "views/telecom_wallet_bucket_views.xml",
        "views/telecom_wallet_ledger_check_views.xml",
        "views/res_company_views.xml",
        "views/res_partner_views.xml",
        "wizards/telecom_wallet_operation_wizard_views.xml",
        "wizards/telecom_wallet_reverse_wizard_views.xml",
        "views/telecom_wallet_batch_views.xml",
        "views/telecom_wallet_menus.xml",
    ],
    "assets": {
        "web.assets_backend": [
            "telecom_wallet/static/src/batch_file/*",
        ],
        "web.assets_tests": [
            "telecom_wallet/static/src/tours/*",
        ],
    },
    "uninstall_hook": "uninstall_hook",
    "post_init_hook": "post_init_hook",
}
