"""Entry point ``policy/analyzer`` runs for ``--policy-pack policy/analyzer``: serves the pack.

The engine runs this file with the pack directory, not the repository, on ``sys.path``,
and the directory may have any name (a published pack is unpacked under its version), so
the package is loaded from this directory under a fixed name; ``pack.py`` and ``rules.py``
then import each other relatively, as they do when tests import ``policy.pack``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from pulumi_policy import EnforcementLevel, PolicyPack

PACKAGE = "apim_gateway_guardrails"


def load_pack_module(directory: Path) -> ModuleType:
    """Import ``<directory>/pack.py`` as ``apim_gateway_guardrails.pack``."""
    spec = importlib.util.spec_from_file_location(
        PACKAGE, directory / "__init__.py", submodule_search_locations=[str(directory)]
    )
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the policy package from {directory}")
    package = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = package
    spec.loader.exec_module(package)
    return importlib.import_module(f"{PACKAGE}.pack")


if __name__ == "__main__":
    pack = load_pack_module(Path(__file__).resolve().parent)
    # Blocks: serves the analyzer over gRPC until the engine stops it.
    PolicyPack(
        name=pack.PACK_NAME,
        description=pack.PACK_DESCRIPTION,
        policies=pack.build_policies(),
        enforcement_level=EnforcementLevel.ADVISORY,
    )
