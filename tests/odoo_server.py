"""What the end-to-end tests share to serve a real Odoo: its database options and a free port.

The tests folder is on ``sys.path`` (pytest puts the folder of the root conftest there), so the
end-to-end test modules import this as ``odoo_server``.
"""

import os
import socket


def pg_args():
    """odoo-bin's database options from the PG* variables (as scripts/setup.sh does)."""
    args = []
    for var, option in (
        ("PGHOST", "--db_host"),
        ("PGPORT", "--db_port"),
        ("PGUSER", "--db_user"),
        ("PGPASSWORD", "--db_password"),
    ):
        if os.environ.get(var):
            args += [option, os.environ[var]]
    return args


def free_port():
    """A TCP port of 127.0.0.1 free now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
