"""scripts/check_skips.py: the test command fails on a skip nobody listed with a reason."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "check_skips.py"

JUNIT = textwrap.dedent(
    """\
    <?xml version="1.0" encoding="utf-8"?>
    <testsuites><testsuite name="pytest" errors="0" failures="0" skipped="2" tests="4">
      <testcase classname="tests.bss_import.test_cli_e2e" name="test_profile_end_to_end" time="0.1">
        <skipped type="pytest.skip" message="cannot connect to PostgreSQL">skip</skipped>
      </testcase>
      <testcase classname="tests.bss_import.test_detect.TestDialects" name="test_semicolon[latin1]" time="0">
        <skipped type="pytest.skip" message="no sample">skip</skipped>
      </testcase>
      <testcase classname="tests.bss_import.test_detect" name="test_passes" time="0"/>
      <testcase classname="tests.bss_import.test_detect" name="test_fails" time="0">
        <failure message="boom">boom</failure>
      </testcase>
    </testsuite></testsuites>
    """
)

PREFIX = "2026-12-01 10:00:00,000 42 INFO db"
TOUR = "odoo.addons.bss_import.tests.test_ui_tour"
ODOO_LOG = "".join(
    f"{PREFIX} {line}\n"
    for line in (
        f"{TOUR}: Starting TestTour.test_wizard ...",
        f"{TOUR}: skipped TestTour.test_wizard : Chrome executable not found",
        "odoo.modules.loading: skipped nothing here, not a test line",
        "odoo.tests.stats: bss_import: 10 tests 1.00s 100 queries",
    )
)


def run(tmp_path, allow_text, junit=JUNIT, odoo_log=ODOO_LOG):
    allow = tmp_path / "allowed_skips.txt"
    allow.write_text(allow_text)
    (tmp_path / "pytest.xml").write_text(junit)
    (tmp_path / "odoo.log").write_text(odoo_log)
    return subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--allow",
            str(allow),
            "--junit",
            str(tmp_path / "pytest.xml"),
            "--odoo-log",
            str(tmp_path / "odoo.log"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def test_unlisted_skips_fail_and_are_named(tmp_path):
    result = run(tmp_path, "# nothing allowed\n")
    assert result.returncode == 1
    assert result.stdout.strip().splitlines()[-1] == "skipped 3 unlisted 3"
    assert "tests/bss_import/test_cli_e2e.py::test_profile_end_to_end" in result.stderr
    assert "tests/bss_import/test_detect.py::TestDialects::test_semicolon[latin1]" in result.stderr
    assert "odoo.addons.bss_import.tests.test_ui_tour:TestTour.test_wizard" in result.stderr
    assert "Chrome executable not found" in result.stderr


def test_listed_skips_pass_and_still_count(tmp_path):
    allow = textwrap.dedent(
        """\
        # test id | reason
        tests/bss_import/test_cli_e2e.py::test_profile_end_to_end | needs a server, run in CI only
        tests/bss_import/test_detect.py::TestDialects::test_semicolon[latin1] | sample not redistributable
        odoo.addons.bss_import.tests.test_ui_tour:TestTour.test_wizard | no browser on this platform
        """
    )
    result = run(tmp_path, allow)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "skipped 3 unlisted 0"


def test_one_unlisted_skip_among_listed_ones_fails(tmp_path):
    allow = "tests/bss_import/test_cli_e2e.py::test_profile_end_to_end | server-only\n"
    result = run(tmp_path, allow)
    assert result.returncode == 1
    assert result.stdout.strip().splitlines()[-1] == "skipped 3 unlisted 2"


@pytest.mark.parametrize("line", ["tests/x.py::test_a", "tests/x.py::test_a |", "| a reason"])
def test_an_allowance_without_a_reason_is_refused(tmp_path, line):
    result = run(tmp_path, line + "\n", junit=JUNIT.replace("skipped=", "x="), odoo_log="")
    assert result.returncode == 1
    assert "line 1" in result.stderr


def test_no_skips_pass(tmp_path):
    junit = JUNIT.replace("<skipped", "<!--").replace("</skipped>", "-->")
    result = run(tmp_path, "", junit=junit, odoo_log="")
    assert result.returncode == 0
    assert result.stdout.strip() == "skipped 0 unlisted 0"
