"""The Python package (``pyproject.toml``) against the code and the pins.

What a ``pip install`` of the repository gets is decided by ``pyproject.toml`` alone: the
packages setuptools finds (``[tool.setuptools.packages.find]``), the declared dependencies and
the console script. These tests keep it in step with ``components/`` and ``requirements.txt``;
``tests/integration/test_installed_package.py`` builds and installs it for real.
"""

from __future__ import annotations

import ast
import fnmatch
import importlib
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

from harness import ROOT
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)$")


def pins(path: Path) -> dict[str, str]:
    """``name==version`` lines of a requirements file (comments, ``-r`` lines skipped)."""
    found: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        match = PIN.match(line)
        assert match, f"{path.name}: not an exact pin: {line!r}"
        found[canonicalize_name(match.group(1))] = match.group(2)
    return found


def declared() -> dict[str, Requirement]:
    requirements = [Requirement(text) for text in PYPROJECT["project"]["dependencies"]]
    return {canonicalize_name(requirement.name): requirement for requirement in requirements}


def packages_of_the_repository() -> list[str]:
    """Every directory of ``components/`` that is a package (has an ``__init__.py``), dotted."""
    return sorted(".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "components").rglob("__init__.py"))


def imported_modules() -> set[str]:
    """Dotted names of every absolute import in ``components/`` (also inside functions)."""
    names: set[str] = set()
    for path in (ROOT / "components").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
    return names


def owners() -> dict[str, set[str]]:
    """Installed distributions by the packages they hold, up to three levels deep (``azure`` and
    ``azure.mgmt`` are namespaces that many distributions share; ``azure.core`` belongs to
    azure-core alone)."""
    found: dict[str, set[str]] = {}
    for distribution in importlib.metadata.distributions():
        for file in distribution.files or []:
            parts = file.parts
            if file.suffix != ".py" or ".." in parts or parts[0].endswith((".dist-info", ".data")):
                continue
            for depth in (1, 2, 3):
                if len(parts) > depth:
                    found.setdefault(".".join(parts[:depth]), set()).add(
                        canonicalize_name(distribution.metadata["Name"])
                    )
    return found


def test_every_declared_dependency_is_pinned_in_requirements_txt_within_its_range() -> None:
    runtime = pins(ROOT / "requirements.txt")
    for name, requirement in declared().items():
        assert name in runtime, f"{name} is a dependency in pyproject.toml but not pinned in requirements.txt"
        assert requirement.specifier.contains(runtime[name]), (
            f"requirements.txt pins {name}=={runtime[name]}, outside pyproject.toml's {requirement}"
        )


def test_every_runtime_pin_is_a_declared_dependency() -> None:
    """requirements.txt is what the program and the component need at run time: nothing in it
    may be missing from what ``pip install <repository>`` brings."""
    assert set(pins(ROOT / "requirements.txt")) <= set(declared())


def test_the_development_pins_agree_with_the_runtime_pins() -> None:
    runtime, development = pins(ROOT / "requirements.txt"), pins(ROOT / "requirements-dev.txt")
    assert {name: version for name, version in development.items() if runtime.get(name, version) != version} == {}


def test_every_third_party_import_of_the_component_is_a_declared_dependency() -> None:
    """``cryptography`` was imported by the config and missing from the dependencies: an install
    of the package alone failed at ``import components``."""
    by_package = owners()
    third_party = {
        name for name in imported_modules() if name.split(".")[0] not in {*sys.stdlib_module_names, "components"}
    }
    assert {"cryptography", "azure.core.exceptions", "pydantic"} <= third_party, "the scan missed imports"
    missing: dict[str, set[str]] = {}
    for name in sorted(third_party):
        parts = name.split(".")
        # The deepest package that is known (a namespace's member rather than the namespace).
        prefixes = [".".join(parts[:depth]) for depth in range(min(len(parts), 3), 0, -1)]
        candidates = next((by_package[prefix] for prefix in prefixes if prefix in by_package), set())
        if len(candidates) != 1 or not candidates <= set(declared()):
            missing[name] = candidates
    assert missing == {}, f"imported by components/ but not (or not only) a declared distribution: {missing}"


def test_setuptools_finds_every_subpackage() -> None:
    """``packages = ["components"]`` left out ``components.config`` and ``components.kubernetes.manifests``."""
    include = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = packages_of_the_repository()
    assert {"components", "components.config", "components.kubernetes.manifests"} <= set(packages)
    assert [name for name in packages if not any(fnmatch.fnmatchcase(name, pattern) for pattern in include)] == []


def test_the_console_script_is_the_package_entry_point() -> None:
    """Installing the package puts ``pulumi-resource-apim-gateway`` on the environment's ``bin/``:
    the name under which the engine finds the package's provider (docs/multi-language.md)."""
    scripts = PYPROJECT["project"]["scripts"]
    target = scripts["pulumi-resource-apim-gateway"]
    module_name, function_name = target.split(":")
    plugin = importlib.import_module(module_name)
    assert callable(getattr(plugin, function_name))
    assert f"pulumi-resource-{plugin.PACKAGE_NAME}" in scripts
