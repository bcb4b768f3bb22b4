"""ORM-free core of the Digital BSS import: reading, detection, secrets, mapping, value parsing.

Nothing here imports Odoo: the Odoo models of bss_import orchestrate these
functions and persist their results; pytest exercises them directly.
"""
