"""The package through the real Pulumi engine: a consumer program registers the remote
component ``apim-gateway:index:SelfHostedGateway``, the engine starts the package's provider
and calls its ``Construct``, as it does for a TypeScript, Go, C#, Java or YAML consumer.

What this machine lacks, and so what these tests do instead (docs/multi-language.md):
- no TypeScript or YAML language host (``pulumi-language-nodejs`` / ``pulumi-language-yaml``
  are not served by the Go module proxy), so the consumer is a Python program registering the
  component with ``remote=True``, which is what a generated SDK does
  (``examples/typescript/sdks/apim-gateway/selfHostedGateway.ts`` calls
  ``super(..., true /*remote*/)``);
- ``pulumi package add`` cannot install the package here: it first downloads the Kubernetes and
  azure-native provider plugins the package's Python dependencies ask for, from get.pulumi.com;
  so the provider is found the way the engine finds any provider binary on ``$PATH``
  (``pulumi-resource-apim-gateway``, a shim running ``plugin/__main__.py``; the engine warns
  "using pulumi-resource-apim-gateway from $PATH");
- no Kubernetes provider plugin, so a run stops where the component registers it.

The component's dynamic resources (the delivery-mode guard, the token) run in the engine's
dynamic-provider host, ``pulumi-resource-pulumi-python``: ``python -m pulumi.dynamic`` in the
consumer's directory, with ``PULUMI_PYTHON_CMD`` or ``python3`` (the script beside the CLI).
It unpickles each provider by reference to its module (``pulumi/dynamic/dynamic.py``
``serialize_provider``: ``dill.dumps(..., recurse=True)`` keeps importable classes by
reference), so ``components`` must be importable by that Python: a user installs this package
into it (``pip install``). ``PYTHONPATH`` stands in for that install here, and one test shows
what happens without it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from engine import engine_env, pulumi, require_engine

ROOT = Path(__file__).resolve().parents[2]
SIGNATURE = "cGFja2FnZS1lbmdpbmUtdGVzdA"
TOKEN = f"GatewayKey pkg-gw&203001010000&{SIGNATURE}"

pytestmark = pytest.mark.integration

CONSUMER = """
import json
import pulumi

class SelfHostedGateway(pulumi.ComponentResource):
    def __init__(self, name, inputs):
        outputs = dict.fromkeys(["gatewayId", "namespace", "tokenExpiresOn", "checks"])
        super().__init__("apim-gateway:index:SelfHostedGateway", name, {**inputs, **outputs}, None, remote=True)

inputs = json.loads(open("inputs.json").read())
inputs["gatewayToken"] = pulumi.Output.secret(pulumi.Config().require_secret("gatewayToken"))
gateway = SelfHostedGateway("pkg-gw", inputs)
pulumi.export("tokenExpiresOn", gateway.token_expires_on)
"""


@pytest.fixture
def consumer(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    require_engine()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "pulumi-resource-apim-gateway"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{ROOT / "plugin" / "__main__.py"}" "$@"\n')
    shim.chmod(0o755)
    directory = tmp_path / "consumer"
    directory.mkdir()
    (directory / "Pulumi.yaml").write_text("name: package-consumer\nruntime: python\n")
    (directory / "__main__.py").write_text(CONSUMER)
    env = engine_env(
        tmp_path,
        PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        # Stands in for installing this package into the dynamic-provider host's Python.
        PYTHONPATH=str(ROOT),
    )
    pulumi(["stack", "init", "dev"], directory, env)
    pulumi(["config", "set", "--secret", "gatewayToken", TOKEN], directory, env)
    return directory, env


def up(directory: Path, env: dict[str, str], inputs: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    (directory / "inputs.json").write_text(json.dumps(inputs))
    run = pulumi(["up", "--yes", "--skip-preview", "--non-interactive"], directory, env, check=False)
    assert run.returncode != 0  # never a full run here: see the module docstring
    state = json.loads(pulumi(["stack", "export"], directory, env).stdout)
    return run.stdout + run.stderr, state["deployment"].get("resources") or []


GATEWAY = {"name": "pkg-gw", "locationData": {"name": "here"}, "rollout": {"maxUnavailable": "1"}}


def test_the_engine_constructs_the_component_through_the_package(consumer: tuple[Path, dict[str, str]]) -> None:
    directory, env = consumer
    inputs = {"environment": "dev", "apim": {"mode": "existing", "serviceName": "contoso"}, "gateway": GATEWAY}
    output, resources = up(directory, env, inputs)
    assert "using pulumi-resource-apim-gateway from $PATH" in output
    # Construct ran the component: config valid, component registered, then its first child
    # that needs a plugin this machine lacks.
    assert "invalid stack configuration" not in output
    assert "no resource plugin 'pulumi-resource-kubernetes' found" in output, output
    assert "pkg-gw-delivery-mode" in {resource["urn"].rsplit("::", 1)[-1] for resource in resources}
    by_type = {resource["type"]: resource for resource in resources}
    assert "pulumi:providers:apim-gateway" in by_type
    assert by_type["apim-gateway:index:SelfHostedGateway"]["urn"].endswith("::pkg-gw")
    assert SIGNATURE not in output
    assert SIGNATURE not in json.dumps(resources)


def test_bad_config_reaches_the_consumer_as_the_stack_message(consumer: tuple[Path, dict[str, str]]) -> None:
    directory, env = consumer
    inputs = {
        "environment": "prod",
        "apim": {"mode": "existing", "serviceName": "contoso"},
        "gateway": {**GATEWAY, "replicas": 1},
    }
    output, resources = up(directory, env, inputs)
    assert (
        "invalid stack configuration (1 problem(s)):\n"
        "      - apim-gateway:gateways[0](pkg-gw).replicas = 1: prod needs at least 2 replicas"
    ) in output
    assert "components/plugin.py" not in output  # no traceback from the package's side
    assert [r["type"] for r in resources if r["type"] == "apim-gateway:index:SelfHostedGateway"] == []
    assert SIGNATURE not in output


def test_dynamic_resources_need_the_package_in_the_dynamic_provider_hosts_python(
    consumer: tuple[Path, dict[str, str]],
) -> None:
    """Without the package importable by ``pulumi-resource-pulumi-python``'s Python, the first
    dynamic resource (the delivery-mode guard) fails to unpickle its provider: the install step
    that docs/multi-language.md asks of a user is needed."""
    directory, env = consumer
    env.pop("PYTHONPATH")
    inputs = {"environment": "dev", "apim": {"mode": "existing", "serviceName": "contoso"}, "gateway": GATEWAY}
    output, _ = up(directory, env, inputs)
    assert "pkg-gw-delivery-mode" in output and "No module named 'components'" in output
