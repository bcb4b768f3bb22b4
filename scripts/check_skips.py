#!/usr/bin/env python3
"""Fail the test command on a skipped test that nobody listed with a reason.

A skipped test checks nothing: a browser tour skipped because Chromium did not
start, or an end-to-end test skipped because PostgreSQL was unreachable, must
not let ``scripts/test.sh`` (and so CI) pass. A skip is accepted only when its
test id is listed in the allow-list file with a reason.

Skips are read from pytest's JUnit XML report and from Odoo's test log
(``INFO <db> <test module>: skipped <Class>.<method> : <reason>``).

Test ids:
- pytest: the node id, e.g. ``tests/bss_import/test_cli_e2e.py::test_profile``
- Odoo: ``<test module>:<Class>.<method>``, e.g.
  ``odoo.addons.bss_import.tests.test_ui_tour:TestImportWizardTour.test_wizard``

Allow-list format: one ``<test id> | <reason>`` per line; lines starting with
``#`` are comments; a line without a reason is an error (an allowance must say why).

Prints each skip, then a last line ``skipped <N> unlisted <M>``; exits 1 when
M > 0 or the allow-list is malformed. Standard library only.
"""

import argparse
import re
import sys
import xml.etree.ElementTree as ET

ODOO_SKIP = re.compile(r"^\S+ \S+ \d+ INFO \S+ (?P<logger>\S+): skipped (?P<test>.+?) : (?P<reason>.*)$")


def read_allow_list(path):
    """{test id: reason}; raises ValueError naming the line of a malformed entry."""
    allowed = {}
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except FileNotFoundError:
        return allowed
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        test_id, sep, reason = (part.strip() for part in text.partition("|"))
        if not sep or not test_id or not reason:
            raise ValueError(f"{path}, line {number}: expected '<test id> | <reason>', got {line!r}")
        allowed[test_id] = reason
    return allowed


def pytest_skips(junit_path):
    """[(test id, reason)] of the skipped test cases in a pytest JUnit XML report."""
    found = []
    root = ET.parse(junit_path).getroot()
    for case in root.iter("testcase"):
        skipped = case.find("skipped")
        if skipped is None:
            continue
        # classname is the dotted module path (plus class); name the test function.
        classname = case.get("classname", "")
        parts = classname.split(".")
        # Rebuild the node id: the module path up to the test file, then the classes.
        for cut in range(len(parts), 0, -1):
            if parts[cut - 1].startswith("test_"):
                break
        else:
            cut = len(parts)
        node = "/".join(parts[:cut]) + ".py"
        node_id = "::".join([node, *parts[cut:], case.get("name", "")])
        found.append((node_id, skipped.get("message", "")))
    return found


def odoo_skips(log_path):
    """[(test id, reason)] of the tests Odoo's runner reported as skipped."""
    found = []
    with open(log_path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            match = ODOO_SKIP.match(line.rstrip("\n"))
            if match:
                found.append((f"{match['logger']}:{match['test']}", match["reason"]))
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--allow", required=True, help="allow-list file")
    parser.add_argument("--junit", action="append", default=[], help="pytest JUnit XML report")
    parser.add_argument("--odoo-log", action="append", default=[], help="log of an Odoo test run")
    args = parser.parse_args(argv)
    try:
        allowed = read_allow_list(args.allow)
    except ValueError as exc:
        print(f"skip allow-list: {exc}", file=sys.stderr)
        print("skipped 0 unlisted 1")
        return 1
    skips = []
    for path in args.junit:
        skips += pytest_skips(path)
    for path in args.odoo_log:
        skips += odoo_skips(path)
    unlisted = 0
    for test_id, reason in skips:
        if test_id in allowed:
            print(f"skipped (allowed: {allowed[test_id]}): {test_id}: {reason}", file=sys.stderr)
        else:
            unlisted += 1
            print(f"SKIPPED, NOT ALLOWED: {test_id}: {reason}", file=sys.stderr)
    if unlisted:
        print(
            f"{unlisted} skipped test(s) are not in {args.allow}: a skipped test checks nothing. "
            "Fix what made them skip, or list them there with a reason.",
            file=sys.stderr,
        )
    print(f"skipped {len(skips)} unlisted {unlisted}")
    return 1 if unlisted else 0


if __name__ == "__main__":
    sys.exit(main())
