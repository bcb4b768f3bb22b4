{
    "name": "Digital BSS Import on Job Queue",
    "summary": "Run the chunks of a Digital BSS migration as OCA queue jobs, over many workers and hosts",
    "version": "18.0.1.0.0",
    "category": "Telecom",
    "author": "Telecom BSS Migration Suite",
    "license": "LGPL-3",
    "depends": ["bss_import", "queue_job"],
    "data": [
        "data/bss_import_queue_data.xml",
        "views/bss_import_run_views.xml",
    ],
    "auto_install": True,
}
