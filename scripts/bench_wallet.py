"""Measure telecom_wallet operations as a new user would: each in its own transaction through
Odoo's own retry (``odoo.service.model.retrying``, what an XML-RPC call gets), on wallets of one
company.

Run through scripts/bench_wallet.sh (which prepares the virtualenv, PostgreSQL and a fresh copy of
a database where telecom_wallet is installed). Prints:

* one client posting top-ups one after another (operations/s);
* where one operation's time goes: a profile of those operations, cumulative seconds per part
  (writing the entry in SQL, or creating and posting it through the ORM: its sequence number, the
  hash chain; locks, mail and tracking, flushing, the commit);
* ``--clients`` concurrent clients (processes, as Odoo's workers are, each its own cursor and
  transaction), each on wallets of its own (distinct wallets of one company): operations/s and how
  many failed after Odoo's retries (a failure is an error the client would see); a series
  (``--clients 2,4,8,16``) runs each count in turn;

* one batch of ``--batch-size`` operations (top-ups and debits, each with its own reference) on
  ``--batch-wallets`` wallets through ``telecom.wallet.batch.apply``, in its own transaction:
  operations/s and journal entries;

then the figures as one JSON line: ``{"single_ops_per_s", "clients", "concurrent_ops_per_s",
"failed", "batch_ops_per_s", "batch_size"}`` (and ``by_clients`` for a series).
"""

import argparse
import cProfile
import json
import multiprocessing
import os
import pstats
import resource
import sys
import threading
import time
import uuid
from functools import partial
from pathlib import Path

#: Parts of one operation: (name, [(file path ending, function name prefix)]). A part counts the
#: cumulative time of its outermost calls (a call from another call of the same part counts once).
PARTS = (
    ("the whole operation", [("telecom_wallet/models/telecom_wallet.py", "_telecom_run_operation")]),
    ("wallet and journal locks", [("telecom_wallet/models/telecom_wallet.py", "_telecom_lock")]),
    (
        "entry written in SQL (_telecom_write_entry)",
        [("telecom_wallet/models/account_move.py", "_telecom_write_entry")],
    ),
    (
        "  of which: followers and notes",
        [("telecom_wallet/models/account_move.py", "_telecom_write_entry_notes")],
    ),
    ("  numbered and hashed", [("telecom_wallet/models/account_move.py", "_telecom_number_written_entry")]),
    ("entry created (account.move create)", [("account/models/account_move.py", "create")]),
    ("entry posted (_post)", [("account/models/account_move.py", "_post")]),
    ("  of which: sequence number", [("account/models/sequence_mixin.py", "_set_next_sequence")]),
    (
        "  of which: hash chain",
        [
            ("account/models/account_move.py", "_hash_moves"),
            ("account/models/account_move.py", "_get_chain_info"),
        ],
    ),  # fmt: skip
    (
        "mail and tracking",
        [
            ("mail/models/mail_thread.py", "_message_track"),
            ("mail/models/mail_thread.py", "message_post"),
            ("mail/models/mail_thread.py", "_track_finalize"),
        ],
    ),  # fmt: skip
    ("flushing to the database", [("odoo/models.py", "flush_model"), ("odoo/api.py", "flush_all")]),
    ("commit", [("odoo/sql_db.py", "commit")]),
)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--addons-path", required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--wallets", type=int, default=40, help="wallets of the company (default 40)")
    parser.add_argument("--operations", type=int, default=50, help="operations of the single client")
    parser.add_argument(
        "--clients",
        type=client_counts,
        default=[8],
        help="concurrent clients (default 8), or a series run one after another (2,4,8,16): the first "
        "gives the JSON's clients and concurrent_ops_per_s, the series by_clients",
    )
    parser.add_argument("--per-client", type=int, default=25, help="operations of each concurrent client")
    parser.add_argument(
        "--batch-size", type=int, default=20000, help="operations of the batch (default 20000)"
    )
    parser.add_argument("--batch-wallets", type=int, default=2000, help="wallets of the batch (default 2000)")
    args = parser.parse_args(argv)

    odoo_path = os.environ.get("ODOO_PATH", str(Path.home() / "src" / "odoo-18.0"))
    sys.path.insert(0, odoo_path)
    import odoo
    from odoo.api import Environment

    odoo_argv = [
        "--addons-path",
        args.addons_path,
        "--data-dir",
        args.data_dir,
        "-d",
        args.db,
        "--log-level",
        "warn",
    ]
    odoo.tools.config.parse_config(odoo_argv)
    registry = odoo.modules.registry.Registry(args.db)
    company_id, wallet_ids = prepare(registry, Environment, args.wallets)
    figures = {}

    # One client, operations one after another.
    ops = [(wallet_ids[n % len(wallet_ids)], f"BENCH-S-{n}") for n in range(args.operations)]
    started, busy = time.perf_counter(), cpu_busy_seconds()
    failed = sum(not operate(registry, Environment, wid, ref, company_id=company_id) for wid, ref in ops)
    seconds, busy = time.perf_counter() - started, cpu_busy_seconds() - busy
    figures["single_ops_per_s"] = round(len(ops) / seconds, 1)
    print(
        f"1 client: {len(ops)} top-ups in {seconds:.1f} s: {figures['single_ops_per_s']} operations/s, ",
        end="",
    )
    print(f"{failed} failed")
    if busy:
        print(f"  CPU of the machine (client, PostgreSQL): {1000 * busy / len(ops):.1f} ms per operation")
    # The same again under the profiler (which slows it down: the parts are shares, not timings).
    ops = [(wallet_ids[n % len(wallet_ids)], f"BENCH-P-{n}") for n in range(min(20, args.operations))]
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for wid, ref in ops:
        operate(registry, Environment, wid, ref, company_id=company_id)
    profiler.disable()
    breakdown(profiler, time.perf_counter() - started, len(ops))

    # Concurrent clients on distinct wallets, each count in turn on the same database (the machine's
    # speed drifts over minutes: a series run back to back shows how the rate changes with clients).
    config = {"odoo_path": odoo_path, "argv": odoo_argv, "db": args.db}
    by_clients = {}
    for clients in args.clients:
        result = concurrent(config, company_id, wallet_ids, clients, args.per_client)
        by_clients[clients] = result["ops_per_s"]
        if clients == args.clients[0]:
            figures.update(clients=clients, concurrent_ops_per_s=result["ops_per_s"], failed=result["failed"])
        elif result["failed"]:
            figures["failed"] += result["failed"]
    if len(by_clients) > 1:
        figures["by_clients"] = {str(clients): rate for clients, rate in by_clients.items()}
    check(registry, Environment, wallet_ids)

    # One batch.
    _company_id, batch_wallet_ids = prepare(registry, Environment, args.batch_wallets)
    operations, expected = batch_operations(batch_wallet_ids, args.batch_size)
    started = time.perf_counter()
    with registry.cursor() as cr:
        env = Environment(cr, odoo.SUPERUSER_ID, {})
        company = env["telecom.wallet"].browse(batch_wallet_ids[0]).company_id
        env = env(context={"allowed_company_ids": [company.id]})
        result = env["telecom.wallet.batch"].apply(f"BENCH-BATCH-{uuid.uuid4().hex[:8]}", operations)
    seconds = time.perf_counter() - started
    figures.update(batch_ops_per_s=round(len(operations) / seconds), batch_size=len(operations))
    print(
        f"1 batch: {len(operations)} operations on {len(batch_wallet_ids)} wallets in {seconds:.1f} s: "
        f"{figures['batch_ops_per_s']} operations/s, {result['posted']} posted, {result['refused']} refused, "
        f"{len(result['entries'])} journal entries; peak RSS of this process "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MiB"
    )
    check_batch(registry, Environment, expected)
    print(json.dumps(figures, sort_keys=True))


def client_counts(text):
    """``8`` or ``2,4,8,16``: the numbers of concurrent clients to measure, in turn."""
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of clients or a list of them: {text!r}") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"clients must be at least 1: {text!r}")
    return counts


def concurrent(config, company_id, wallet_ids, clients, per_client):
    """``clients`` concurrent clients on distinct wallets, each a process of its own (as Odoo's
    workers are: threads of one process would share one interpreter lock), ``per_client`` top-ups
    each; prints and returns the rate and the failures."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(clients + 1)
    results = context.Queue()
    series = uuid.uuid4().hex[:6]
    processes = [
        context.Process(
            target=client_process,
            args=(
                config,
                company_id,
                wallet_ids[n::clients] or wallet_ids,
                f"{series}-{n}",
                per_client,
                barrier,
                results,
            ),
        )
        for n in range(clients)
    ]
    for process in processes:
        process.start()
    barrier.wait()
    started, busy = time.perf_counter(), cpu_busy_seconds()
    failures = []
    for _process in processes:
        failures.extend(results.get())
    seconds, busy = time.perf_counter() - started, cpu_busy_seconds() - busy
    for process in processes:
        process.join()
    total = clients * per_client
    rate = round(total / seconds, 1)
    print(
        f"{clients} clients: {total} top-ups in {seconds:.1f} s: {rate} operations/s, {len(failures)} failed"
    )
    for error in sorted(set(failures))[:5]:
        print(f"  failed: {error}")
    if busy:
        print(
            f"  CPU of the machine (clients, PostgreSQL): {1000 * busy / total:.1f} ms per operation, "
            f"{busy / seconds:.2f} of {os.cpu_count()} cores busy"
        )
    return {"ops_per_s": rate, "failed": len(failures)}


def cpu_busy_seconds():
    """Seconds the machine's CPUs spent busy since boot (Linux ``/proc/stat``; 0 elsewhere)."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(value) for value in stat.readline().split()[1:]]
    except OSError:
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def prepare(registry, Environment, count):
    """A company of its own with ``count`` wallets (committed): what the clients post to."""
    import odoo

    with registry.cursor() as cr:
        env = Environment(cr, odoo.SUPERUSER_ID, {})
        company = env["res.company"].create({"name": f"Bench Mobile {uuid.uuid4().hex[:6]}"})
        env = env(context={"allowed_company_ids": [company.id]})
        company._telecom_wallet_setup()
        partners = env["res.partner"].create(
            [{"name": f"Bench subscriber {n}", "company_id": company.id} for n in range(count)]
        )
        wallets = env["telecom.wallet"].create(
            [
                {"partner_id": p.id, "company_id": company.id, "currency_id": company.currency_id.id}
                for p in partners
            ]
        )
        return company.id, wallets.ids


def batch_operations(wallet_ids, size):
    """``size`` operations over the wallets: each wallet's first a top-up of 5.00, then debits of
    0.01 and top-ups of 0.02 in turn (affordable: nothing refused). Returns the operations and each
    wallet's expected balance in cents."""
    operations, cents = [], dict.fromkeys(wallet_ids, 0)
    for n in range(size):
        wallet_id = wallet_ids[n % len(wallet_ids)]
        if n < len(wallet_ids):
            kind, amount = "top_up", 500
        else:
            kind, amount = ("debit", 1) if n % 2 else ("top_up", 2)
        cents[wallet_id] += -amount if kind == "debit" else amount
        operations.append(
            {
                "wallet_id": wallet_id,
                "type": kind,
                "amount": f"{amount / 100:.2f}",
                "reference": f"BENCH-B-{n}",
            }
        )
    return operations, cents


def check_batch(registry, Environment, cents):
    """Each batch wallet's balance equals its ledger and the operations sent."""
    import odoo

    with registry.cursor() as cr:
        env = Environment(cr, odoo.SUPERUSER_ID, {})
        wallets = env["telecom.wallet"].browse(list(cents))
        ledger = wallets._telecom_ledger_balances()
        off = [
            w.id
            for w in wallets
            if round(ledger.get(w.id, 0.0) * 100) != cents[w.id] or w.balance != ledger[w.id]
        ]
        print(f"batch balances = ledger = operations sent: {'yes' if not off else f'NO, wallets {off[:10]}'}")


def operate(registry, Environment, wallet_id, reference, failures=None, lock=None, company_id=None):
    """One top-up in its own transaction through Odoo's retry; False (and the error noted) when it
    failed after the retries, as a client would see it.

    Like an XML-RPC call, the transaction's first statement is the operation's own: the client
    names its company in the context (``company_id``), it does not query it first."""
    import odoo
    from odoo.service.model import retrying

    try:
        with registry.cursor() as cr:
            env = Environment(cr, odoo.SUPERUSER_ID, {"allowed_company_ids": [company_id]})
            retrying(partial(env["telecom.wallet"].browse(wallet_id).top_up, 1.0, reference), env)
        return True
    except Exception as exc:  # noqa: BLE001 - counted and shown: what the client would get
        if failures is not None:
            with lock:
                failures.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}")
        return False


def client_process(config, company_id, wallet_ids, number, per_client, barrier, results):
    """One concurrent client: its own process (as an Odoo worker is), its own registry and cursors;
    posts ``per_client`` top-ups one after another on its wallets once every client is ready and
    puts its failures on ``results``."""
    sys.path.insert(0, config["odoo_path"])
    import odoo
    from odoo.api import Environment

    odoo.tools.config.parse_config(config["argv"])
    registry = odoo.modules.registry.Registry(config["db"])
    failures, lock = [], threading.Lock()
    barrier.wait()
    for k in range(per_client):
        operate(
            registry,
            Environment,
            wallet_ids[k % len(wallet_ids)],
            f"BENCH-C{number}-{k}",
            failures,
            lock,
            company_id=company_id,
        )
    results.put(failures)


def breakdown(profiler, seconds, operations):
    """Print the milliseconds per operation of each part of :data:`PARTS` (outermost calls only)."""
    stats = pstats.Stats(profiler)

    def matches(key, needles):
        path, _line, func = key
        return any(path.endswith(tail) and func.startswith(name) for tail, name in needles)

    print(f"where one operation's {1000 * seconds / operations:.1f} ms go, under the profiler (cumulative):")
    for name, needles in PARTS:
        total = sum(
            cumulative
            for key, (_cc, _nc, _tt, cumulative, callers) in stats.stats.items()
            if matches(key, needles) and not any(matches(caller, needles) for caller in callers)
        )
        print(f"  {name:>38}: {1000 * total / operations:7.1f} ms")


def check(registry, Environment, wallet_ids):
    """Each wallet's balance equals its ledger (the liability's posted items, credit positive) and
    the top-ups posted to it (1.00 each, counted by their operations)."""
    import odoo

    with registry.cursor() as cr:
        env = Environment(cr, odoo.SUPERUSER_ID, {})
        wallets = env["telecom.wallet"].browse(wallet_ids)
        cr.execute(
            """SELECT telecom_wallet_id, -sum(amount_currency) FROM account_move_line
                WHERE telecom_wallet_id = ANY(%s) AND parent_state = 'posted' GROUP BY 1""",
            (wallet_ids,),
        )
        ledger = {wid: float(total) for wid, total in cr.fetchall()}
        cr.execute(
            """SELECT wallet_id, count(*) FROM telecom_wallet_operation
                WHERE wallet_id = ANY(%s) AND operation_type = 'top_up' GROUP BY 1""",
            (wallet_ids,),
        )
        posted = dict(cr.fetchall())
        off = [
            w.id
            for w in wallets
            if round(w.balance - ledger.get(w.id, 0.0), 2) or round(w.balance - posted.get(w.id, 0), 2)
        ]
        print(f"balances = ledger = top-ups posted: {'yes' if not off else f'NO, wallets {off}'}")


if __name__ == "__main__":
    sys.exit(main())
