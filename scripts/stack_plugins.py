"""Which provider plugins a stack's ``pulumi up`` loads beyond the Kubernetes one, read from its
stack file (``Pulumi.<stack>.yaml``), for the delivery jobs, which run the engine with automatic
plugin acquisition off (``PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION``) and so must install
every plugin before the first Pulumi command.

``needs-azure-native STACK``: prints ``true`` when the program registers an Azure resource or
calls an Azure function for the stack, else ``false``: a gateway created in APIM (``apim.mode:
managed``, the default), a gateway authenticating without a token (``entraApp`` or
``workloadIdentity``: components/azure/side.py ``needs_apim_scope``), or the token expiry alert
(``tokenExpiryAlert``: components/azure/alerts.py). A bring-your-own gateway with a token (the
``local`` stack) needs only Kubernetes.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
NAMESPACE = "apim-gateway"


def needs_azure_native(config: Mapping[str, Any]) -> bool:
    def setting(key: str) -> Any:
        return config.get(f"{NAMESPACE}:{key}")

    if (setting("apim") or {}).get("mode", "managed") == "managed" or setting("tokenExpiryAlert"):
        return True
    default_auth = ((setting("defaults") or {}).get("auth") or {}).get("mode", "token")
    return any(
        ((gateway or {}).get("auth") or {}).get("mode", default_auth) != "token"
        for gateway in setting("gateways") or []
    )


def main(argv: Sequence[str] | None = None, root: Path = ROOT) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2 or args[0] != "needs-azure-native":
        print("usage: stack_plugins.py needs-azure-native STACK", file=sys.stderr)
        return 2
    document = yaml.safe_load((root / f"Pulumi.{args[1]}.yaml").read_text()) or {}
    print("true" if needs_azure_native(document.get("config") or {}) else "false")
    return 0


if __name__ == "__main__":
    sys.exit(main())
