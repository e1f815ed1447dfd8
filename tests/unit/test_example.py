"""The reuse example: the component takes Outputs of other resources as its inputs."""

from __future__ import annotations

import json
import runpy

import yaml
from harness import FAKE_KUBECONFIG, ROOT, run_program


def run_example() -> None:
    runpy.run_path(str(ROOT / "examples" / "reuse" / "__main__.py"), run_name="__main__")


def test_example_wires_outputs_of_other_resources_into_the_component() -> None:
    recording = run_program(run_example, stack="team")
    provider = recording.one("pulumi:providers:kubernetes")
    # The cluster's kubeconfig, pinned to its current context (components/kubernetes/kubeconfig.py).
    assert json.loads(provider.inputs["kubeconfig"]) == yaml.safe_load(FAKE_KUBECONFIG)
    assert "kubeconfig" in provider.secret_paths
    for resource in recording.resources:
        assert "aks-user-secret-token" not in json.dumps(resource.plain), resource.name
    settings = recording.one("kubernetes:core/v1:ConfigMap").inputs["data"]
    assert settings["config.service.endpoint"] == "team-a-apim.configuration.azure-api.net"
    gateway = recording.one("azure-native:apimanagement:Gateway").inputs
    assert (gateway["serviceName"], gateway["gatewayId"]) == ("team-a-apim", "team-a-gw")
    deployment = recording.one("kubernetes:apps/v1:Deployment").inputs
    assert deployment["spec"]["replicas"] == 2
    assert recording.outputs["configurationEndpoint"] == "team-a-apim.configuration.azure-api.net"
    assert recording.outputs["checks"]["deployments"] == "kubectl get deployments -n team-a-gw"
