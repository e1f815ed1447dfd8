"""The integration modules run in parallel (scripts/test.sh: pytest-xdist, ``--dist loadfile``),
and each worker runs whichever modules it is handed against its one session-wide API server
(tests/integration/conftest.py). A gateway name two modules both use would then meet objects the
other module left behind, depending on which worker got which module: so every gateway name (the
namespace and the objects are named after it) belongs to one module only. Found when
``test_lifecycle.py`` and ``test_layout_move.py`` both named theirs ``moved-gw``."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

INTEGRATION = Path(__file__).resolve().parents[1] / "integration"
GATEWAY_NAME = re.compile(r"^[a-z][a-z0-9-]*-gw$")


def gateway_names(source: str) -> set[str]:
    """The string constants of a module that name a gateway: those passed as LocalStack's gateway
    argument, and every ``...-gw`` constant (names given through a variable)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and GATEWAY_NAME.match(node.value):
            names.add(node.value)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "LocalStack"
            and len(node.args) >= 3
            and isinstance(node.args[2], ast.Constant)
            and isinstance(node.args[2].value, str)
        ):
            names.add(node.args[2].value)
    return names


def test_the_scan_finds_names_given_directly_and_through_a_variable() -> None:
    source = 'GW = "alpha-gw"\nLocalStack(tmp, cfg, "fleet-a")\nLocalStack(tmp, cfg, GW)\nx = "not-a-gateway"\n'
    assert gateway_names(source) == {"alpha-gw", "fleet-a"}


def test_no_two_integration_modules_share_a_gateway_name() -> None:
    modules: dict[str, list[str]] = defaultdict(list)
    for path in sorted(INTEGRATION.glob("test_*.py")):
        for name in gateway_names(path.read_text()):
            modules[name].append(path.name)
    shared = {name: files for name, files in modules.items() if len(files) > 1}
    assert shared == {}, f"gateway names used by more than one integration module: {shared}"
    assert len(modules) > 20  # the scan sees the suite's names
