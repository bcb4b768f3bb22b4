{
    "name": "Digital BSS Import",
    "summary": "Stage, profile and map a Digital BSS export before migrating it into Odoo",
    "version": "18.0.1.0.0",
    "category": "Telecom",
    "author": "Telecom BSS Migration Suite",
    "license": "LGPL-3",
    "depends": ["telecom_subscriber", "telecom_wallet", "sale_management"],
    "external_dependencies": {"python": ["openpyxl", "xlsxwriter"]},
    "data": [
        "security/bss_import_security.xml",
        "security/ir.model.access.csv",
        "data/bss_import_data.xml",
        "views/bss_import_run_views.xml",
        "views/bss_import_finding_views.xml",
        "views/bss_import_mapping_template_views.xml",
        "views/bss_import_migration_views.xml",
        "views/bss_import_run_report_views.xml",
        "report/bss_import_run_reports.xml",
        "views/bss_import_resolution_views.xml",
        "wizards/bss_import_reason_wizard_views.xml",
        "views/bss_import_menus.xml",
    ],
    "assets": {
        "web.assets_backend": [
            "bss_import/static/src/import_wizard/*",
            "bss_import/static/src/quarantine/*",
        ],
        "web.assets_tests": [
            "bss_import/static/src/tours/*",
        ],
    },
    "uninstall_hook": "uninstall_hook",
}
