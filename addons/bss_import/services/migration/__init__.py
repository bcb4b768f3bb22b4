"""Migration of a confirmed run into Odoo: one phase class per object behind one interface.

``base.Phase`` is the interface (which staging rows, how a row resolves, how a
chunk is written, what is reconciled); ``runner`` runs the phases in
dependency order. Adding an object means adding one file here and a test.
"""
