"""No dead names in lib/: every module-level name a lib module defines is used somewhere
(lib, the Odoo models and services, scripts or tests). A vulture-style check limited to
what lib defines; names listed in a module's ``__all__`` count as used (public API)."""

import ast
import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIB = ROOT / "addons" / "bss_import" / "lib"


def _defined(path):
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            yield node.name
        elif isinstance(node, ast.Assign):
            yield from (t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            yield node.target.id


def test_lib_defines_no_dead_names():
    files = [*ROOT.glob("addons/**/*.py"), *ROOT.glob("scripts/*.py"), *ROOT.glob("tests/**/*.py")]
    words = Counter(w for f in files for w in re.findall(r"\w+", f.read_text(encoding="utf-8")))
    dead = [
        f"{path.name}: {name}"
        for path in sorted(LIB.glob("*.py"))
        for name in _defined(path)
        if not name.startswith("__") and words[name] < 2
    ]
    assert not dead
