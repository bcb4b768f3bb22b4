"""Shared fixtures: the export generator (a script, loaded by path) and small generated exports."""

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

DEFECTS = (
    "duplicate_rows=13,orphans=9,missing_mandatory=8,inconsistent_state=4,unknown_legacy_code=5,"
    "invalid_msisdn=3,invalid_imsi=3,invalid_iccid=2,encoding_damage=6,secret_columns_dropped=6"
)


def load_generator():
    name = "generate_bss_export"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / "generate_bss_export.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def gen():
    return load_generator()


def run_generator(gen, out, *extra):
    gen.main(["--out", str(out), *[str(e) for e in extra]])


@pytest.fixture(scope="session")
def run():
    """The generator's command line as a function: run(out, *options)."""
    generator = load_generator()
    return lambda out, *extra: run_generator(generator, out, *extra)


@pytest.fixture(scope="session")
def exports(gen, tmp_path_factory):
    """One small export with every defect kind per dialect: {dialect: folder}."""
    out = {}
    for dialect in ("canonical", "legacy-upper", "legacy-pipe"):
        folder = tmp_path_factory.mktemp(dialect)
        run_generator(
            gen,
            folder,
            "--subscribers",
            1500,
            "--seed",
            11,
            "--dialect",
            dialect,
            "--defects",
            DEFECTS,
            "--jobs",
            1,
            "--secret-values-limit",
            5000,
        )
        out[dialect] = folder
    return out
