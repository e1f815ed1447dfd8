"""What a live stack made by an earlier release holds: the Azure inputs it registered.

``record`` runs a program tree (this repository, or an earlier commit of it unpacked elsewhere)
on the stack configurations of ``STACKS`` under today's mocks, which answer as ARM does in
Microsoft's examples (``tests/arm_examples.py``), and returns the inputs of every Azure resource
by stack. ``tests/unit/test_live_stack_upgrade.py`` compares the snapshot of the release before
issue 23 (``tests/fixtures/upgrade/before-issue-23.json``) with what today's code registers.

Regenerate the snapshot (from the repository root):

    git archive e952e8c | tar -x -C /tmp/old && .venv/bin/python tests/upgrade_snapshot.py /tmp/old
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
SNAPSHOT = TESTS / "fixtures" / "upgrade" / "before-issue-23.json"
BASE_COMMIT = "e952e8c"
NS = "apim-gateway"
RECEIVERS = [{"name": "platform-oncall", "emailAddress": "oncall@contoso.com"}]


def _stack_file(environment: str) -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / f"Pulumi.{environment}.yaml").read_text())["config"])


def _prod(**gateway: Any) -> dict[str, Any]:
    config = _stack_file("prod")
    config[f"{NS}:gateways"][0].update(copy.deepcopy(gateway))
    return config


def stacks() -> dict[str, tuple[str, dict[str, Any], list[str]]]:
    """name -> (stack, config, secret keys): configurations both releases accept, covering every
    Azure resource the earlier one registered."""
    workload_alert = _stack_file("prod")
    workload_alert[f"{NS}:tokenExpiryAlert"] = {"emailReceivers": RECEIVERS, "severity": "Sev2"}
    entra = _prod(
        auth={
            "mode": "entraApp",
            "tenantId": "11111111-1111-1111-1111-111111111111",
            "clientId": "22222222-2222-2222-2222-222222222222",
            "servicePrincipalObjectId": "33333333-3333-3333-3333-333333333333",
            "customRoleScope": "subscription",
            "createApimValidatorRole": True,
        }
    )
    entra[f"{NS}:entraClientSecrets"] = {"contoso-weu-gw": "client-secret-value"}
    token = _prod(
        auth={"mode": "token"},
        hostnames=[{"hostname": "*.apis.contoso.com", "certificateId": "contoso-wildcard"}],
        certificateAuthorities=[{"certificateId": "contoso-root", "isTrusted": True}],
    )
    dev_alert = _stack_file("dev")
    dev_alert[f"{NS}:tokenExpiryAlert"] = {"emailReceivers": RECEIVERS}
    return {
        "prod-workload-identity-alert": ("prod", workload_alert, []),
        "prod-entra-subscription-roles": ("prod", entra, [f"{NS}:entraClientSecrets"]),
        "prod-token-hostnames": ("prod", token, []),
        "dev-token-alert": ("dev", dev_alert, []),
    }


def record(program_root: Path) -> dict[str, list[dict[str, Any]]]:
    """Azure resources (type, name, inputs) each stack of ``stacks()`` registers with the program at
    ``program_root``, run in a fresh interpreter whose ``components`` is that tree's."""
    script = f"""
import json, runpy, sys
sys.path[:0] = [{str(program_root)!r}, {str(TESTS)!r}]
from offline import run_program
sys.path.insert(0, {str(TESTS)!r})
import upgrade_snapshot
result = {{}}
for name, (stack, config, secret_keys) in upgrade_snapshot.stacks().items():
    program = lambda: runpy.run_path({str(program_root / "__main__.py")!r}, run_name="__main__")
    recording = run_program(program, config, tuple(secret_keys), stack)
    result[name] = [
        {{"type": r.type, "name": r.name, "inputs": r.inputs, "ignoreChanges": list(r.ignore_changes)}}
        for r in recording.resources if r.type.startswith("azure-native:")
    ]
print(json.dumps(result))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=program_root)
    recorded: dict[str, list[dict[str, Any]]] = json.loads(done.stdout.strip().splitlines()[-1])
    return recorded


def main() -> None:
    old_tree = Path(sys.argv[1]).resolve()
    SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "note": (
            f"Azure inputs registered by the program at commit {BASE_COMMIT} (before issue 23) for the stacks of "
            "tests/upgrade_snapshot.py, under the mocks that answer as ARM's examples do. Regenerate: see that module."
        ),
        "commit": BASE_COMMIT,
        "stacks": record(old_tree),
    }
    SNAPSHOT.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
    print(f"wrote {SNAPSHOT}")


if __name__ == "__main__":
    main()
