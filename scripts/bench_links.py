#!/usr/bin/env python3
"""Measure the source-key link table of bss_import against ir.model.data at N rows.

The migration identifies every record it creates by (company, object, source
key). This script writes N such keys both ways through the ORM, in batches of
2,000 (as the migration's chunks do), then looks them all up again in batches
of 2,000 in a random order, and prints inserts/s, lookups/s and the disk size
(table + indexes) of each. Nothing is kept: the transaction is rolled back.

    .venv/bin/python scripts/bench_links.py --db DB --rows 1000000

DB must have bss_import installed (e.g. the benchmark database of
scripts/bench_import.sh). No timing is asserted anywhere: figures only.
"""

import argparse
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BATCH = 2000


def _size(cr, table):
    cr.execute("SELECT pg_total_relation_size(%s)", (table,))
    return cr.fetchone()[0]


def _timed(label, n, func):
    start = time.perf_counter()
    func()
    seconds = time.perf_counter() - start
    print(f"  {label}: {n} in {seconds:.1f} s = {n / seconds:,.0f}/s")


def bench(env, rows, seed):
    cr = env.cr
    company = env.company.id
    keys = [f"S{i:09d}" for i in range(rows)]
    order = keys[:]
    random.Random(seed).shuffle(order)
    batches = [keys[i : i + BATCH] for i in range(0, rows, BATCH)]
    lookups = [order[i : i + BATCH] for i in range(0, rows, BATCH)]

    Link = env["bss.import.link"]
    print(f"bss.import.link (own table, unique (company, object, source_key)), {rows} rows:")
    before = _size(cr, "bss_import_link")

    def insert_links():
        for n, batch in enumerate(batches):
            Link.create(
                [
                    {
                        "company_id": company,
                        "object": "subscribers",
                        "source_key": key,
                        "res_model": "res.partner",
                        "res_id": n * BATCH + i + 1,
                        "checksum": "0" * 64,
                    }
                    for i, key in enumerate(batch)
                ]
            )
            env.flush_all()
            env.invalidate_all()

    def lookup_links():
        for batch in lookups:
            found = Link.search_fetch(
                [("company_id", "=", company), ("object", "=", "subscribers"), ("source_key", "in", batch)],
                ["source_key", "res_id", "checksum"],
            )
            assert len(found) == len(batch)
            env.invalidate_all()

    _timed("inserts", rows, insert_links)
    _timed("lookups", rows, lookup_links)
    print(f"  size on disk: {(_size(cr, 'bss_import_link') - before) / rows:.0f} bytes/row")

    Data = env["ir.model.data"]
    module = "__bss_import__"
    print(f"ir.model.data (module {module!r}, name company_object_key), {rows} rows:")
    before = _size(cr, "ir_model_data")

    def insert_data():
        for n, batch in enumerate(batches):
            Data.create(
                [
                    {
                        "module": module,
                        "name": f"c{company}_subscribers_{key}",
                        "model": "res.partner",
                        "res_id": n * BATCH + i + 1,
                        "noupdate": True,
                    }
                    for i, key in enumerate(batch)
                ]
            )
            env.flush_all()
            env.invalidate_all()

    def lookup_data():
        for batch in lookups:
            found = Data.search_fetch(
                [("module", "=", module), ("name", "in", [f"c{company}_subscribers_{k}" for k in batch])],
                ["name", "res_id"],
            )
            assert len(found) == len(batch)
            env.invalidate_all()

    _timed("inserts", rows, insert_data)
    _timed("lookups", rows, lookup_data)
    print(f"  size on disk: {(_size(cr, 'ir_model_data') - before) / rows:.0f} bytes/row")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--rows", type=int, default=100000)
    parser.add_argument("--seed", type=int, default=1)
    odoo_path = os.environ.get("ODOO_PATH", str(Path.home() / "src" / "odoo-18.0"))
    parser.add_argument("--addons-path", default=f"{odoo_path}/odoo/addons,{ROOT / 'addons'}")
    parser.add_argument("--data-dir", default=str(ROOT / ".local" / "data"))
    args = parser.parse_args(argv)
    sys.path.insert(0, odoo_path)
    import odoo  # noqa: PLC0415 - Odoo is on the path only once ODOO_PATH is known
    from odoo.api import Environment  # noqa: PLC0415

    odoo.tools.config.parse_config(
        ["--addons-path", args.addons_path, "--data-dir", args.data_dir, "-d", args.db, "--log-level", "warn"]
    )
    registry = odoo.modules.registry.Registry(args.db)
    with registry.cursor() as cr:
        try:
            bench(Environment(cr, odoo.SUPERUSER_ID, {}), args.rows, args.seed)
        finally:
            cr.rollback()


if __name__ == "__main__":
    main()
