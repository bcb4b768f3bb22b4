"""Measure an import run end to end on a generated export: detect → stage → profile → migrate.

Run through scripts/bench_import.sh (which prepares the virtualenv, PostgreSQL
and the database). Prints, per step, the seconds and source rows per second,
and the process's peak resident memory before and after the run: staging
streams rows with COPY and the migration clears the ORM cache per chunk, so
the peak must not grow with the export's size. After profiling, the mapping
suggestions are accepted as they are (confirm), and the phases the issue
measures are migrated one after the other (custom fields, service plans,
product catalogue, billing accounts, subscribers), each timed.
With ``--native``, it also loads the same subscribers as plain contacts with
Odoo's own import (``base_import.import.execute_import``, in batches of 2,000
rows as the web client sends them) and prints its rows per second: the
yardstick the importer is compared with, and the ratio. The last line is the
figures as one JSON object. ``--cprofile FILE`` profiles the subscribers
phase (pstats file, top functions printed). ``--workers N`` starts N worker
processes (each its own Odoo registry and connection, before the clock
starts) that write the chunks of the phases that allow several writers
(billing accounts, subscribers) at once; the others run in this process.
The migration commits chunk by chunk: bench_import.sh gives each benchmark a
fresh copy of a template database. ``--delta-percent P`` then measures a
delta pass: a later export where P % of the subscribers changed (their city),
a tenth of that vanished and as many are new, applied to the migrated run
(stage, profile, the same phases, vanished records listed), each step timed.
``--cohort-percent P`` migrates the run in two cohorts instead (a seeded P %
of the billing accounts, then everything left), each cohort's creation and
phases timed.
"""

import argparse
import concurrent.futures
import csv
import json
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--addons-path", required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--subscribers", type=int, default=100000)
    parser.add_argument(
        "--dialect", default="canonical", choices=("canonical", "legacy-upper", "legacy-pipe")
    )
    parser.add_argument("--defect-rate", default="0.01")
    parser.add_argument(
        "--prepaid-share",
        type=int,
        default=None,
        metavar="PERCENT",
        help="percent of the generated lines that are prepaid, each with a money bucket (the generator's "
        "default otherwise): 100 gives the cutover as many opening balances as subscribers",
    )
    parser.add_argument(
        "--customer-history",
        action="store_true",
        help="generate the customer history too (owners, numbers, ports, interactions, documents) and "
        "migrate it after the subscribers",
    )
    parser.add_argument("--zip", action="store_true", help="stage from a ZIP instead of a folder")
    parser.add_argument(
        "--native",
        action="store_true",
        help="also load the subscribers as contacts with Odoo's own import (base_import)",
    )
    parser.add_argument(
        "--native-rows",
        type=int,
        default=10000,
        help="subscribers loaded by the native import (its rows/s is a rate: a slice is enough)",
    )
    parser.add_argument("--no-migrate", action="store_true", help="stop after profiling")
    parser.add_argument("--cprofile", metavar="FILE", help="profile one phase (--cprofile-phase) into FILE")
    parser.add_argument(
        "--cprofile-phase",
        metavar="OBJECT",
        default="subscribers",
        help="the phase --cprofile profiles (default subscribers; e.g. interactions with --customer-history)",
    )
    parser.add_argument(
        "--cprofile-cutover",
        metavar="FILE",
        help="with --cutover: profile its shadow, finalize (and rollback) into FILE.<step>",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="processes writing the chunks of a phase at once (default 1)"
    )
    parser.add_argument(
        "--delta-percent",
        type=float,
        default=0,
        metavar="P",
        help="then apply a later export with P %% of the subscribers changed (and a tenth of that "
        "vanished, as many new) as a delta pass of the run, and time it",
    )
    parser.add_argument(
        "--cohort-percent",
        type=float,
        default=0,
        metavar="P",
        help="migrate in two cohorts instead: a seeded P %% of the billing accounts (a pilot wave), "
        "then everything left; time each cohort's creation and phases",
    )
    parser.add_argument(
        "--cutover",
        action="store_true",
        help="then run the OCS cutover of the migrated run (shadow, verify, freeze, the same snapshot as "
        "the final one, verify, finalize) and time each step",
    )
    parser.add_argument(
        "--cutover-rollback",
        action="store_true",
        help="with --cutover: then roll the finalized cutover back (every opening reversed, the wallets "
        "closed) and time it",
    )
    parser.add_argument(
        "--inventory",
        action="store_true",
        help="then build the run's inventories (PCRF, AAA/HSS, network elements, usage and rating cutover "
        "point, bundles, manual-rebuild items) and time them",
    )
    args = parser.parse_args(argv)
    if args.delta_percent and (args.zip or args.no_migrate):
        parser.error("--delta-percent needs the export as a folder and the migration")
    if args.cohort_percent and (args.delta_percent or args.no_migrate or not 0 < args.cohort_percent < 100):
        parser.error("--cohort-percent P takes 0 < P < 100, the migration, and no delta pass")

    tmp = Path(tempfile.mkdtemp(prefix="bss_bench_"))
    try:
        out = tmp / ("export.zip" if args.zip else "export")
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "scripts" / "generate_bss_export.py"),
                "--out",
                str(out),
                "--subscribers",
                str(args.subscribers),
                "--dialect",
                args.dialect,
                "--defect-rate",
                args.defect_rate,
                "--seed",
                "1",
                *(["--prepaid-share", str(args.prepaid_share)] if args.prepaid_share is not None else []),
                *(["--customer-history"] if args.customer_history else []),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        size = sum(p.stat().st_size for p in out.rglob("*")) if out.is_dir() else out.stat().st_size
        print(
            f"export: {args.subscribers} subscribers, {args.dialect}, {size / 2**20:.0f} MiB "
            f"({'zip' if args.zip else 'folder'}), generated in {time.perf_counter() - started:.1f} s"
        )
        figures = {"subscribers": args.subscribers, "dialect": args.dialect}
        if args.prepaid_share is not None:
            figures["prepaid_share"] = args.prepaid_share
        if args.customer_history:
            figures["customer_history"] = True
        run_steps(args, out, figures)
        if args.native:
            native_import(args, out, figures)
            if figures.get("subscribers_migrate_rows_s"):
                figures["ratio_migrate_vs_native"] = round(
                    figures["subscribers_migrate_rows_s"] / figures["native_rows_s"], 1
                )
                figures["ratio_end_to_end_vs_native"] = round(
                    figures["subscribers_end_to_end_rows_s"] / figures["native_rows_s"], 1
                )
                print(
                    f"   ratio: subscribers migrated {figures['ratio_migrate_vs_native']}x native, "
                    f"end to end (stage → profile → migrate) {figures['ratio_end_to_end_vs_native']}x native"
                )
        figures["peak_rss_mib"] = round(peak_mib())
        print(json.dumps(figures, sort_keys=True))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


#: The phases the benchmark migrates, in dependency order: what 1M subscribers need.
MIGRATED = ("custom_fields", "service_plans", "product_catalog", "billing_accounts", "subscribers")
#: The customer history's phases, migrated after them with --customer-history.
HISTORY = ("numbers", "number_ports", "interactions", "documents")


def run_steps(args, export, figures):
    sys.path.insert(0, os.environ.get("ODOO_PATH", str(Path.home() / "src" / "odoo-18.0")))
    import odoo
    from odoo.api import Environment

    odoo.tools.config.parse_config(
        [
            *("--addons-path", args.addons_path, "--data-dir", args.data_dir, "-d", args.db),
            *("--log-level", "warn"),
            # Each phase logs where its time went (read and resolve, write, reconcile...).
            *("--log-handler", "odoo.addons.bss_import.services.migration.runner:INFO"),
        ]
    )
    registry = odoo.modules.registry.Registry(args.db)
    with registry.cursor() as cr:
        env = Environment(cr, odoo.SUPERUSER_ID, {})
        run = env["bss.import.run"].create({"server_path": str(export)})
        base = peak_mib()
        print(f"peak RSS before the run: {base:.0f} MiB (Odoo loaded)")
        total = front_steps(run)
        print(f"peak RSS after profiling: {peak_mib():.0f} MiB (+{peak_mib() - base:.0f} MiB)")
        figures.update(
            source_rows=run.source_rows,
            front_seconds=round(total, 1),
            peak_rss_profiled_mib=round(peak_mib()),
        )
        # The migration's chunks commit on cursors of their own (and other processes'): they
        # must see the run.
        cr.commit()
        if args.no_migrate:
            return
        pool = worker_pool(args)
        if args.cohort_percent:
            cohort_steps(args, run, figures, total, pool)
            return
        migrate_steps(args, run, figures, total, pool)
        if args.delta_percent:
            delta_steps(args, run, export, figures, pool)
        if args.cutover:
            cutover_steps(run, export, figures, args.cprofile_cutover, args.cutover_rollback)
        if args.inventory:
            inventory_steps(run, figures)


def front_steps(run):
    """Detect, stage and profile the run; print each step's seconds and rows/s; return their sum."""
    timings = []
    for step in ("action_detect", "action_stage", "action_profile"):
        started = time.perf_counter()
        ok = getattr(run, step)()
        seconds = time.perf_counter() - started
        if not ok:
            raise SystemExit(f"{step} refused the export: {run.error_message}")
        timings.append((step, seconds))
    rows = run.source_rows
    for step, seconds in timings:
        print(f"{step[7:]:>8}: {seconds:7.1f} s  {rows / seconds:10,.0f} rows/s")
    total = sum(s for _n, s in timings)
    summary = run.get_profile_summary()
    print(
        f"   total: {total:7.1f} s  {rows / total:10,.0f} rows/s over {rows:,} source rows "
        f"in {len(summary['files'])} files"
    )
    print("findings:", ", ".join(f"{k}={v}" for k, v in summary["findings"].items() if v))
    return total


def cohort_steps(args, run, figures, front_seconds, pool):
    """Confirm the mapping, then migrate a seeded share of the billing accounts as a first cohort and
    everything left as a second one; time each cohort's creation (the run's customers listed, the
    cohort's members assigned) and its phases."""
    started = time.perf_counter()
    if not run.action_confirm_mapping():
        raise SystemExit(f"the suggested mapping was refused: {run.error_message}")
    run.env.cr.commit()
    print(f" confirm: {time.perf_counter() - started:7.1f} s  (the mapping suggestions as they are)")
    for n, (kind, value) in enumerate((("percent", str(args.cohort_percent)), ("rest", None)), start=1):
        started = time.perf_counter()
        cohort = run.browse(run.action_new_cohort(kind, value, seed=1))
        run.env.cr.commit()
        seconds = time.perf_counter() - started
        print(
            f"cohort C{n} ({kind} {value or ''}): created in {seconds:.1f} s, {cohort.cohort_accounts:,} "
            f"billing accounts, {cohort.cohort_subscribers:,} subscribers"
        )
        figures[f"cohort{n}_create_seconds"] = round(seconds, 1)
        migrate_steps(args, cohort, figures, front_seconds if n == 1 else 0, pool, prefix=f"cohort{n}_")


def worker_pool(args):
    if args.workers <= 1:
        return None
    pool = concurrent.futures.ProcessPoolExecutor(
        args.workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_worker_init,
        initargs=(args.db, args.addons_path, args.data_dir),
    )
    # Every worker loads its registry now, before the clock starts.
    list(pool.map(_worker_ready, range(args.workers)))
    print(f"{args.workers} worker processes ready")
    return pool


def later_export(export, dest, percent):
    """Copy ``export`` to ``dest`` as a later export of the same source: ``percent`` % of the
    subscribers moved (city), a tenth of that gone (with their usage), as many new ones (copies
    with new keys and numbers, no SIM). Returns (changed, vanished, new).

    Streamed (the file is read twice, never held): the benchmark's peak memory is the migration's.
    Read and written as bytes (latin-1 maps each byte to one character): the export's damaged
    encodings stay exactly as they were.
    """
    shutil.copytree(export, dest)
    every = max(1, round(100 / percent))
    with open(export / "subscribers.csv", newline="", encoding="latin-1") as fh:
        keys = sorted({row["subscriber_id"] for row in csv.DictReader(fh)})
    changed = set(keys[::every])
    gone = set(keys[every // 2 :: every * 10]) - changed
    del keys
    new = []

    def subscribers(rows):
        for row in rows:
            key = row["subscriber_id"]
            if key in gone:
                n = len(new)
                new.append(
                    dict(
                        row, subscriber_id=f"SNEW{n:08d}", msisdn=f"+4479{n:08d}", imsi="", iccid="", email=""
                    )
                )
                continue
            yield dict(row, city=f"{row['city']} (moved)") if key in changed else row
        yield from new

    _rewrite_csv(export / "subscribers.csv", dest / "subscribers.csv", subscribers)
    _rewrite_csv(
        export / "usage.csv",
        dest / "usage.csv",
        lambda rows: (r for r in rows if r["subscriber_id"] not in gone),
    )
    return len(changed), len(gone), len(new)


def _rewrite_csv(src_path, dest_path, transform):
    """Write the rows of ``src_path`` as ``transform`` yields them to ``dest_path``, streamed, bytes kept."""
    with (
        open(src_path, newline="", encoding="latin-1") as src,
        open(dest_path, "w", newline="", encoding="latin-1") as out,
    ):
        reader = csv.DictReader(src)
        writer = csv.DictWriter(out, fieldnames=reader.fieldnames, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(transform(reader))


def delta_steps(args, run, export, figures, pool):
    """Apply a later export to the migrated run as a delta pass; time each step."""
    dest = export.parent / "later"
    started = time.perf_counter()
    changed, gone, new = later_export(export, dest, args.delta_percent)
    print(
        f"later export: {changed:,} subscribers changed, {gone:,} vanished, {new:,} new "
        f"({args.delta_percent} %), written in {time.perf_counter() - started:.1f} s"
    )
    env = run.env
    delta = env["bss.import.run"].create({"server_path": str(dest), "delta_of_id": run.id})
    print("delta pass:")
    front = front_steps(delta)
    env.cr.commit()
    migrate_steps(args, delta, figures, front, pool, prefix="delta_")
    started = time.perf_counter()
    delta._after_phases()
    vanished = time.perf_counter() - started
    env.cr.commit()
    report = delta.get_delta_report()["objects"].get("subscribers", {})
    total = front + figures["delta_migrate_seconds"] + vanished
    print(
        f"vanished: {vanished:7.1f} s  ({report.get('vanished', 0):,} subscribers listed)\n"
        f"delta pass: {total:7.1f} s  subscribers new {report.get('new', 0):,}, changed "
        f"{report.get('changed', 0):,}, unchanged {report.get('unchanged', 0):,}, vanished "
        f"{report.get('vanished', 0):,}"
    )
    figures.update(
        delta_percent=args.delta_percent,
        delta_front_seconds=round(front, 1),
        delta_vanished_seconds=round(vanished, 1),
        delta_seconds=round(total, 1),
        delta_subscribers={k: report.get(k, 0) for k in ("new", "changed", "unchanged", "vanished")},
    )


def migrate_steps(args, run, figures, front_seconds, pool, prefix=""):
    """Confirm the suggested mapping, then migrate the phases of :data:`MIGRATED` (and :data:`HISTORY`
    with --customer-history) one by one;
    the figures are named with ``prefix``."""
    from odoo.addons.bss_import.services.migration import runner

    started = time.perf_counter()
    if run.state != "confirmed" and not run.action_confirm_mapping():
        raise SystemExit(f"the suggested mapping was refused: {run.error_message}")
    run.env.cr.commit()
    confirm = time.perf_counter() - started
    print(f" confirm: {confirm:7.1f} s  (the mapping suggestions as they are)")
    migrate_seconds = confirm
    for obj in MIGRATED + (HISTORY if args.customer_history else ()):
        started = time.perf_counter()
        if args.cprofile and obj == args.cprofile_phase:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            phase = profiler.runcall(runner.migrate, run, [obj])
            profiler.dump_stats(args.cprofile)
            seconds = time.perf_counter() - started
            pstats.Stats(args.cprofile).sort_stats("cumulative").print_stats(45)
        elif pool and runner.PHASE_OF[obj].parallel:
            phase = []
            state = runner.start_phase(run, obj)
            steps = [("start", time.perf_counter() - started)]
            if state == "running":
                list(pool.map(_worker_phase, [(run.id, obj)] * args.workers))
            steps.append(("workers", time.perf_counter() - started - sum(s for _n, s in steps)))
            if state is not None:
                phase = [runner.settle_phase(run, obj)]
            seconds = time.perf_counter() - started
            steps.append(("settle", seconds - sum(s for _n, s in steps)))
            # Where a parallel phase's time goes: what one process does before and after the workers.
            print(f"{'':>16}  " + ", ".join(f"{name} {s:.2f} s" for name, s in steps))
        else:
            phase = runner.migrate(run, [obj])
            seconds = time.perf_counter() - started
        # A new transaction: the phases as the migration committed them.
        run.env.cr.commit()
        migrate_seconds += seconds
        if not phase:
            continue
        counts = phase[0]
        record = run.phase_ids.filtered(lambda p, o=obj: p.object == o)
        if counts["state"] != "done" or record.mismatch:
            print(f"  {obj}: {counts['state']}: {counts['error_message'] or record.mismatch}")
        rows = counts["source_rows"]
        print(
            f"{obj[:16]:>16}: {seconds:7.1f} s  {rows / seconds:10,.0f} rows/s  "
            f"(created {counts['created']:,}, quarantined {counts['quarantined']:,}, "
            f"collapsed {counts['duplicates_collapsed']:,})  peak RSS {peak_mib():.0f} MiB"
        )
        figures[f"{prefix}{obj}_rows"] = rows
        figures[f"{prefix}{obj}_seconds"] = round(seconds, 1)
        if obj == "subscribers":
            figures[f"{prefix}subscribers_migrate_rows_s"] = round(rows / seconds)
    # What action_migrate does after the phases (bar the delta pass's vanished records, timed apart).
    run._server_write({"state": "migrated"})
    run.env.cr.commit()
    subs = figures.get(f"{prefix}subscribers_rows", 0)
    end_to_end = front_seconds + migrate_seconds
    figures[f"{prefix}migrate_seconds"] = round(migrate_seconds, 1)
    figures[f"{prefix}end_to_end_seconds"] = round(end_to_end, 1)
    figures[f"{prefix}subscribers_end_to_end_rows_s"] = round(subs / end_to_end)
    print(
        f" migrate: {migrate_seconds:7.1f} s  (plans, catalogue, accounts, subscribers); "
        f"subscribers alone {figures.get(f'{prefix}subscribers_migrate_rows_s', 0):,} rows/s"
    )
    print(
        f"end to end: {end_to_end:7.1f} s  {subs / end_to_end:10,.0f} subscribers/s "
        f"(stage → profile → migrate, every staged file included)"
    )
    print(f"peak RSS after the migration: {peak_mib():.0f} MiB")


_WORKER = {}


def _worker_init(db, addons_path, data_dir):
    """Load Odoo and the database's registry in a worker process (once)."""
    sys.path.insert(0, os.environ.get("ODOO_PATH", str(Path.home() / "src" / "odoo-18.0")))
    import odoo

    odoo.tools.config.parse_config(
        [
            *("--addons-path", addons_path, "--data-dir", data_dir, "-d", db, "--log-level", "warn"),
            *("--log-handler", "odoo.addons.bss_import.services.migration.runner:INFO"),
        ]
    )
    _WORKER["registry"] = odoo.modules.registry.Registry(db)


def _worker_ready(_n):
    return os.getpid()


def cutover_steps(run, export, figures, cprofile=None, rollback=False):
    """The OCS cutover of the migrated ``run``, step by step: seconds, buckets/s, totals, peak RSS.

    The final snapshot is the same export staged again as a delta pass (its staging is not timed
    as a cutover step): the delta then changes nothing, and the figures are those of a quiet OCS.
    """
    env = run.env
    Cutover = env["bss.import.cutover"]
    # The generated markets' currencies, active as an administrator sets them up.
    env["res.currency"].with_context(active_test=False).search([("name", "in", ["GBP", "EUR"])]).active = True
    env.cr.commit()
    cutover = Cutover._for_run(run)
    env.cr.commit()

    def step(name, **options):
        started = time.perf_counter()
        if cprofile and name in ("shadow", "finalize", "rollback"):
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            summary = profiler.runcall(Cutover.run_step, run.id, name, **options)
            profiler.dump_stats(f"{cprofile}.{name}")
            pstats.Stats(f"{cprofile}.{name}").sort_stats("cumulative").print_stats(40)
        else:
            summary = Cutover.run_step(run.id, name, **options)
        env.cr.commit()
        seconds = time.perf_counter() - started
        figures[f"cutover_{name}_seconds"] = round(seconds, 1) + figures.get(f"cutover_{name}_seconds", 0)
        return summary, seconds

    shadow, seconds = step("shadow")
    buckets = env["bss.import.cutover.line"].search_count([("cutover_id", "=", cutover.id)])
    figures["cutover_buckets"] = buckets
    print(
        f"  cutover shadow: {seconds:7.1f} s  {buckets / seconds:10,.0f} buckets/s  ({shadow['wallets']:,} "
        f"wallets, {shadow['buckets']:,} allowances)  peak RSS {peak_mib():.0f} MiB"
    )
    _summary, seconds = step("verify")
    print(f"  cutover verify: {seconds:7.1f} s  {buckets / seconds:10,.0f} buckets/s")
    step("freeze", snapshot="benchmark")
    started = time.perf_counter()
    delta = env["bss.import.run"].create({"server_path": str(export), "delta_of_id": run.id})
    for method in ("action_detect", "action_stage", "action_profile", "action_confirm_mapping"):
        if not getattr(delta, method)():
            raise SystemExit(f"the final snapshot was refused: {delta.error_message}")
    env.cr.commit()
    print(
        f"  final snapshot staged and profiled in {time.perf_counter() - started:.1f} s (not a cutover step)"
    )
    _summary, seconds = step("delta", delta_run_id=delta.id)
    print(f"   cutover delta: {seconds:7.1f} s  {buckets / seconds:10,.0f} buckets/s")
    _summary, seconds = step("verify")
    print(f"  cutover verify: {seconds:7.1f} s  (again)")
    final, seconds = step("finalize")
    openings = env["telecom.wallet.operation"].search_count(
        [("reference", "=like", f"OCS-CUTOVER/{run.id}/%")]
    )
    figures["cutover_openings"] = openings
    print(
        f"cutover finalize: {seconds:7.1f} s  {openings / seconds:10,.0f} openings/s  "
        f"peak RSS {peak_mib():.0f} MiB"
    )
    print(
        f"  cutover totals: OCS {final['source_total']} = Odoo {final['odoo_total']} + quarantined "
        f"{final['quarantined_total']} {final['currency']}, {final['mismatches']} mismatches, "
        f"state {final['state']}"
    )
    if rollback:
        summary, seconds = step("rollback")
        print(
            f"cutover rollback: {seconds:7.1f} s  {openings / seconds:10,.0f} openings reversed/s  "
            f"(state {summary['state']})  peak RSS {peak_mib():.0f} MiB"
        )
    figures.update(
        cutover_state=final["state"],
        cutover_mismatches=final["mismatches"],
        cutover_source_total=final["source_total"],
        cutover_odoo_total=final["odoo_total"],
        cutover_quarantined_total=final["quarantined_total"],
        cutover_peak_rss_mib=round(peak_mib()),
    )


def inventory_steps(run, figures):
    """Build the run's inventories: seconds, lines per second of the usage summary, sizes, peak RSS."""
    started = time.perf_counter()
    files = run.action_build_inventories()
    run.env.cr.commit()
    seconds = time.perf_counter() - started
    rows = {f["name"].rsplit("-", 1)[-1]: f["rows"] for f in files if f["name"].endswith(".csv")}
    size = sum(f["size"] for f in files)
    lines = rows.get("usage_summary.csv", 0)
    print(
        f"     inventories: {seconds:7.1f} s  {len(files)} files, {size / 2**20:.1f} MiB, "
        f"{lines:,} usage lines ({lines / seconds:,.0f} lines/s)  peak RSS {peak_mib():.0f} MiB"
    )
    figures.update(
        inventory_seconds=round(seconds, 1),
        inventory_files=len(files),
        inventory_mib=round(size / 2**20, 1),
        inventory_usage_lines=lines,
        inventory_peak_rss_mib=round(peak_mib()),
    )


def _worker_phase(job):
    """Write chunks of a running phase until none is left that this worker could take."""
    import odoo
    from odoo.addons.bss_import.services.migration import runner

    run_id, obj = job
    # The custom fields phase added fields in the main process: load them, as a server worker
    # does before each request.
    started = time.perf_counter()
    _WORKER["registry"] = _WORKER["registry"].check_signaling()
    reloaded = time.perf_counter() - started
    if reloaded > 0.5:
        print(f"  worker {os.getpid()}: registry reloaded in {reloaded:.1f} s (the new custom fields)")
    with _WORKER["registry"].cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        return runner.work_phase(env["bss.import.run"].browse(run_id), obj)["written"]


# Odoo's own import of the subscribers as plain contacts: the columns an operator
# would map by hand in the web client (name, e-mail, phone, address, country).
NATIVE_FIELDS = ["name", "email", "phone", "street", "city", "zip", "country_id/.id"]
NATIVE_BATCH = 2000


def subscriber_contacts(export, country_ids):
    """Yield the contact columns of subscribers.csv of a generated export (canonical dialect).

    Rows the generator damaged on purpose (encoding defects) are decoded with
    replacement characters: Odoo's import would refuse the whole file.
    """
    import csv
    import io
    import zipfile

    if export.is_dir():
        handle = open(export / "subscribers.csv", encoding="utf-8", errors="replace", newline="")  # noqa: SIM115
    else:
        archive = zipfile.ZipFile(export)
        member = next(name for name in archive.namelist() if name.endswith("subscribers.csv"))
        handle = io.TextIOWrapper(archive.open(member), encoding="utf-8", errors="replace", newline="")
    with handle:
        for row in csv.DictReader(handle):
            yield [
                f"{row['first_name']} {row['last_name']}".strip(),
                row["email"],
                row["msisdn"],
                row["street"],
                row["city"],
                row["zip"],
                country_ids.get(row["country"].strip().upper(), ""),
            ]


def native_import(args, export, figures):
    """Load the subscribers as contacts through base_import, as the web client does."""
    import csv
    import io

    if args.dialect != "canonical":
        raise SystemExit("--native reads the canonical dialect's subscribers.csv: use --dialect canonical")
    import odoo
    from odoo.api import Environment

    registry = odoo.modules.registry.Registry(args.db)
    with registry.cursor() as cr:
        env = Environment(cr, odoo.SUPERUSER_ID, {})
        # Countries by database id, as an operator's spreadsheet would resolve them.
        country_ids = {country.code: country.id for country in env["res.country"].search([])}
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(NATIVE_FIELDS)
        rows = 0
        for values in subscriber_contacts(export, country_ids):
            if rows >= args.native_rows:
                break
            writer.writerow(values)
            rows += 1
        data = buffer.getvalue().encode()
        base = peak_mib()
        importer = env["base_import.import"].create(
            {"res_model": "res.partner", "file": data, "file_name": "contacts.csv", "file_type": "text/csv"}
        )
        options = {
            "has_headers": True,
            "quoting": '"',
            "separator": ",",
            "encoding": "utf-8",
            "float_thousand_separator": ",",
            "float_decimal_separator": ".",
        }
        started = time.perf_counter()
        skip = 0
        imported = 0
        while True:
            result = importer.execute_import(
                NATIVE_FIELDS, NATIVE_FIELDS, dict(options, skip=skip, limit=NATIVE_BATCH)
            )
            errors = [m for m in result.get("messages", []) if m.get("type") == "error"]
            if errors:
                raise SystemExit(f"Odoo's import refused the contacts: {errors[0].get('message')}")
            imported += len(result.get("ids") or [])
            if not result.get("nextrow"):
                break
            skip = result["nextrow"]
        seconds = time.perf_counter() - started
        print(
            f"  native: {seconds:7.1f} s  {imported / seconds:10,.0f} rows/s "
            f"({imported:,} of {rows:,} subscribers as contacts, Odoo's base_import)"
        )
        print(f"peak RSS after the native import: {peak_mib():.0f} MiB (+{peak_mib() - base:.0f} MiB)")
        figures["native_rows"] = imported
        figures["native_rows_s"] = round(imported / seconds)
        cr.rollback()


if __name__ == "__main__":
    main()
