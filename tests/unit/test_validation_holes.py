"""Regression tests for every hole the property tests found (``test_property.py`` offline and
``tests/integration/test_property_dry_run.py`` against the API server): each value used to pass
the config check and fail inside ``pulumi up``; now it is refused up front, with its key."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import pytest
from harness import ENTRA_AUTH, WORKLOAD_AUTH, refused, run_main
from stack_invariants import run_stack
from stack_strategies import TEST_CA_PEM, DrawnStack

from components.config import parse_stack_config
from components.config.values import parse_quantity

NS = "apim-gateway"
GW = f"{NS}:gateways[0](gw-one)"


def stack(environment: str = "dev", gateways: list[dict[str, Any]] | None = None, **gateway: Any) -> dict[str, Any]:
    return {
        f"{NS}:environment": environment,
        f"{NS}:apim": {"resourceGroupName": "rg-apim", "serviceName": "contoso"},
        f"{NS}:gateways": gateways or [{"name": "gw-one", "locationData": {"name": "dc1"}, **gateway}],
    }


@pytest.mark.parametrize(
    ("gateway", "expected"),
    [
        pytest.param(
            {"resources": {"requestsMemory": "2Gi", "limitsMemory": "1Gi"}},
            f'{GW}.resources = {{"requestsMemory": "2Gi", "limitsMemory": "1Gi"}}: requestsMemory (2Gi) is above limitsMemory (1Gi)',
            id="memory request above limit",
        ),
        pytest.param(
            {"resources": {"requestsCpu": "2", "limitsCpu": "1500m"}},
            "requestsCpu (2) is above limitsCpu (1500m)",
            id="cpu request above limit",
        ),
        pytest.param(
            {"service": {"loadBalancerIP": "10.20.0.300"}},
            f"{GW}.service.loadBalancerIP = '10.20.0.300': must be an IPv4 or IPv6 address",
            id="loadBalancerIP not an address",
        ),
        pytest.param(
            {"networkPolicy": {"backendCidrs": ["10.0.0.0/33"]}},
            f"{GW}.networkPolicy.backendCidrs[0] = '10.0.0.0/33': must be a CIDR",
            id="CIDR prefix too long",
        ),
        pytest.param(
            {"networkPolicy": {"backendCidrs": ["10.0.0.0/8", "10.0.0.1/24"]}},
            f"{GW}.networkPolicy.backendCidrs[1] = '10.0.0.1/24': must be a CIDR such as '10.0.0.0/16' or 'fd00::/64' (host bits are set",
            id="CIDR with host bits",
        ),
        pytest.param({"backup": {"enabled": True, "size": "0"}}, "backup = ", id="empty backup claim"),
        pytest.param(
            {"service": {"httpPort": 443}}, "httpPort and httpsPort are both 443: they must differ", id="equal ports"
        ),
        pytest.param(
            {"networkPolicy": {"backendPorts": [443, 0]}},
            f"{GW}.networkPolicy.backendPorts[1] = 0: Input should be greater than or equal to 1",
            id="backend port 0",
        ),
        pytest.param(
            {"service": {"annotations": {"Bad Key": "x"}}},
            "key 'Bad Key' is not a valid Kubernetes label/annotation key",
            id="annotation key",
        ),
        pytest.param(
            {"scheduling": {"nodeSelector": {"agentpool": "with space"}}},
            "value 'with space' of 'agentpool' is not a valid label value",
            id="node selector value",
        ),
        pytest.param(
            {"scheduling": {"tolerations": [{"operator": "Equal", "value": "x"}]}},
            f"{GW}.scheduling.tolerations[0] = ",
            id="toleration without key",
        ),
        pytest.param(
            {"scheduling": {"tolerations": [{"key": "k", "operator": "Exists", "value": "v"}]}},
            "operator 'Exists' takes no value",
            id="toleration Exists with value",
        ),
        pytest.param(
            {"scheduling": {"tolerations": [{"key": "k", "typo": 1}]}},
            "typo: unknown field of Kubernetes Toleration",
            id="toleration typo",
        ),
        pytest.param(
            {"dns": {"policy": "None", "nameservers": ["dns.contoso.com"]}},
            f"{GW}.dns.nameservers[0] = 'dns.contoso.com': must be an IPv4 or IPv6 address",
            id="nameserver not an address",
        ),
        pytest.param(
            # The CA directory is the stack's own now (components/kubernetes/trust_store.py), not a setting.
            {"backup": {"enabled": True}, "customCa": {"secretName": "ca", "mountPath": "/apim/config/"}},
            f"{GW}.customCa.mountPath: unknown setting",
            id="CA mounted over the backup",
        ),
        pytest.param(
            {"image": {"pullSecrets": ["acr-pull", "acr-pull"]}},
            f"{GW}.image.pullSecrets = ['acr-pull', 'acr-pull']: acr-pull listed more than once",
            id="repeated pull secret",
        ),
        pytest.param(
            {"image": {"tag": "2.11.1-"}},
            f"{GW}.image.tag = '2.11.1-': it becomes the label app.kubernetes.io/version",
            id="tag not a label value",
        ),
        pytest.param(
            {"probes": {"readiness": {"periodSeconds": 2**31}}},
            f"{GW}.probes.readiness.periodSeconds = 2147483648: Input should be less than or equal to 2147483647",
            id="int32 overflow",
        ),
        pytest.param(
            {"rollout": {"maxUnavailable": 2**31}}, "must be a non-negative integer (below 2^31)", id="intstr overflow"
        ),
        pytest.param(
            {"topologySpread": {"topologyKey": "bad key"}}, "must be a Kubernetes label key", id="topology key"
        ),
        pytest.param(
            {"apis": ["orders.v2", "orders-v2"]},
            f"{GW}.apis = [\"orders.v2\", \"orders-v2\"]: entries [0] ('orders.v2') and [1] ('orders-v2') are the same API id",
            id="API ids colliding as resource names",
        ),
        pytest.param({"apis": ["x" * 81]}, "must be an APIM entity id: 1-80 characters", id="API id too long"),
        pytest.param(
            {"hostnames": [{"hostname": "apis.contoso.com"}, {"hostname": "*.apis.contoso.com"}]},
            "are the same host name once reduced",
            id="apex and wildcard colliding as resource names",
        ),
        pytest.param(
            {"certificateAuthorities": [{"certificateId": "root#ca"}]},
            f"{GW}.certificateAuthorities[0].certificateId = 'root#ca': must be an APIM entity id",
            id="certificate id characters",
        ),
        # Found on review: extraSettings could carry a credential into the settings ConfigMap,
        # override the auth block, or bypass the local-log-sink rules.
        pytest.param(
            {"extraSettings": {"config.service.auth.azureAd.clientSecret": "s3cr3t"}},
            f"{GW}.extraSettings",
            id="client secret through extraSettings",
        ),
        pytest.param(
            {"extraSettings": {"telemetry.logs.local": "localsyslog"}},
            "cannot be passed through; use logs.local and logs.localEndpoint",
            id="log sink through extraSettings",
        ),
        pytest.param(
            {"logs": {"local": "rfc5424", "localEndpoint": "[::ffff:127.0.0.1]:514"}},
            "is the pod's own loopback",
            id="IPv4-mapped loopback log endpoint",
        ),
        pytest.param(
            {"metrics": {"statsd": {"endpoint": "localhost:8125"}}},
            "is the pod's own loopback",
            id="StatsD on the pod's loopback",
        ),
        pytest.param(
            {"customCa": {"certificates": TEST_CA_PEM, "systemCertificateDirectory": "/apim/config"}},
            "must not be under /apim",
            id="system roots directory over a stack mount",
        ),
        # Objects the pods need that cannot exist in a namespace the same run creates.
        pytest.param(
            {"backup": {"enabled": True, "existingClaim": "shared-backup"}},
            f"{GW}.backup.existingClaim = 'shared-backup': the stack creates the namespace 'gw-one'",
            id="existing claim in a namespace the stack creates",
        ),
        pytest.param(
            {"auth": {**ENTRA_AUTH, "clientCertificateSecretName": "gw-cert"}},
            f"{GW}.auth.clientCertificateSecretName = 'gw-cert': the stack creates the namespace 'gw-one'",
            id="certificate Secret in a namespace the stack creates",
        ),
        pytest.param(
            {"image": {"tag": "2.10.0-preview"}, "auth": WORKLOAD_AUTH},
            f"{GW}.image.tag = '2.10.0-preview': auth.mode 'workloadIdentity' needs gateway 2.11.0 or newer",
            id="version gate on a suffixed tag",
        ),
    ],
)
def test_hole_is_refused_with_its_key(gateway: dict[str, Any], expected: str) -> None:
    message = refused(stack(**gateway))
    assert expected in message
    assert "s3cr3t" not in message  # a refused pass-through setting's value is never repeated


def test_one_validator_role_per_instance() -> None:
    """The validator role's definition and assignment ids derive from the APIM instance alone
    (``components/azure/side.py``), so two gateways creating it would own one Azure object."""
    entries: list[dict[str, Any]] = [
        {"name": name, "locationData": {"name": "dc1"}, "auth": {**WORKLOAD_AUTH, "createApimValidatorRole": True}}
        for name in ("gw-a", "gw-b")
    ]
    assert (
        f"{NS}:gateways[1](gw-b).auth.createApimValidatorRole = True: {NS}:gateways[0](gw-a) already creates"
        in refused(stack(gateways=entries))
    )
    entries[1]["auth"]["createApimValidatorRole"] = False
    assert len(parse_stack_config(stack(gateways=entries)).gateways) == 2


def test_dns_policy_none_is_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    """With ``dns.policy: None`` neighborhood.host resolves only through a cluster DNS among the
    name servers, whose address the stack cannot know: a warning, not a refusal."""
    with caplog.at_level(logging.WARNING):
        run_main(stack(dns={"policy": "None", "nameservers": ["10.0.0.10"]}))
    assert any("dns.policy = 'None': neighborhood.host" in r.message for r in caplog.records)


def test_reserved_gateway_name() -> None:
    message = refused(stack(gateways=[{"name": "managed", "locationData": {"name": "dc1"}}]))
    assert f"{NS}:gateways[0](managed).name = 'managed': 'managed' is reserved by API Management" in message


def test_resource_group_ending_with_a_period() -> None:
    raw = stack()
    raw[f"{NS}:apim"]["resourceGroupName"] = "rg."
    assert f"{NS}:apim.resourceGroupName = 'rg.': must be an Azure resource group name" in refused(raw)


def test_fleet_creating_one_namespace_twice() -> None:
    entries: list[dict[str, Any]] = [
        {"name": name, "locationData": {"name": "dc1"}, "namespace": {"name": "shared-gw"}} for name in ("gw-a", "gw-b")
    ]
    message = refused(stack(gateways=entries))
    assert (
        f"{NS}:gateways[1](gw-b).namespace.name = 'shared-gw': {NS}:gateways[0](gw-a) already creates this namespace"
        in message
    )
    entries[1]["namespace"]["create"] = False
    assert len(parse_stack_config(stack(gateways=entries)).gateways) == 2
    entries[1]["kubernetes"] = {"context": "other-cluster"}
    entries[1]["namespace"]["create"] = True
    assert len(parse_stack_config(stack(gateways=entries)).gateways) == 2


@pytest.mark.parametrize(
    ("gateway", "stored"),
    [
        ({"service": {"loadBalancerIP": "fd00:0:0::50"}}, ("service", "load_balancer_ip", "fd00::50")),
        ({"networkPolicy": {"backendCidrs": ["fd00::/64"]}}, ("network_policy", "backend_cidrs", ("fd00::/64",))),
        ({"resources": {"requestsMemory": "1Gi", "limitsMemory": "1024Mi"}}, ("resources", "limits_memory", "1024Mi")),
        ({"resources": {"requestsCpu": "500m", "limitsCpu": "0.5"}}, ("resources", "limits_cpu", "0.5")),
    ],
)
def test_valid_neighbours_are_accepted(gateway: dict[str, Any], stored: tuple[str, str, Any]) -> None:
    section, field, value = stored
    parsed = parse_stack_config(stack(**gateway)).gateways[0]
    assert getattr(getattr(parsed, section), field) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [("500m", Decimal("0.5")), ("2", Decimal(2)), ("1Gi", Decimal(2**30)), ("1G", Decimal(10**9)), ("1.5k", 1500)],
)
def test_parse_quantity(text: str, value: Decimal) -> None:
    assert parse_quantity(text) == value


def test_the_issues_three_examples_register_nothing() -> None:
    """The one ``ConfigError`` lists all three, and the program registers no resource at all."""
    raw = stack(
        resources={"requestsMemory": "2Gi", "limitsMemory": "1Gi"},
        service={"loadBalancerIP": "not-an-ip"},
        networkPolicy={"backendCidrs": ["10.0.0.0/33"]},
    )
    outcome = run_stack(DrawnStack("dev", raw, (), faulty=True))
    assert outcome.refused and outcome.recording.resources == []
    keys = sorted(problem.split(" ")[0] for problem in outcome.problems)
    assert keys == [f"{GW}.networkPolicy.backendCidrs[0]", f"{GW}.resources", f"{GW}.service.loadBalancerIP"]


# -- values Kubernetes accepts but that hurt production (docs/validation.md) ---------------


@pytest.mark.parametrize(
    ("gateway", "expected"),
    [
        ({"disruptionBudget": {"maxUnavailable": 0}}, "disruptionBudget.maxUnavailable = 0: in prod it must allow"),
        ({"disruptionBudget": {"maxUnavailable": "0%"}}, "disruptionBudget.maxUnavailable = '0%': in prod it must"),
        ({"disruptionBudget": {"maxUnavailable": 3}}, "must be below the 3 replicas, or a node drain may evict"),
        # A budget's percentage is rounded up: 67% of 3 is 3 pods.
        ({"disruptionBudget": {"maxUnavailable": "67%"}}, "must be below the 3 replicas, or a node drain"),
        ({"rollout": {"maxUnavailable": "100%"}}, "rollout.maxUnavailable = '100%': in prod it must be below"),
        (
            {"autoscaling": {"enabled": True, "minReplicas": 2}, "disruptionBudget": {"maxUnavailable": 2}},
            "must be below the 2 replicas",
        ),
    ],
)
def test_prod_refuses_budgets_that_block_drains_or_allow_a_full_outage(gateway: dict[str, Any], expected: str) -> None:
    assert expected in refused(stack("prod", **gateway))


@pytest.mark.parametrize(
    "gateway",
    [
        {"disruptionBudget": {"maxUnavailable": "50%"}},  # 2 of 3
        {"rollout": {"maxUnavailable": "50%"}},  # 1 of 3, rounded down
        {"disruptionBudget": {"enabled": False, "maxUnavailable": 0}},
    ],
)
def test_prod_accepts_budgets_that_keep_a_pod(gateway: dict[str, Any]) -> None:
    # A backup class that offers ReadWriteMany: prod's backup default on the default class is refused (issue 24).
    files = {"storageClassName": "gateway-files"}
    assert parse_stack_config(stack("prod", backup=files, **gateway)).gateways[0].replicas == 3


def test_dev_accepts_a_blocking_budget_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    """Under Pulumi's mocks ``pulumi.log.warn`` goes to Python logging (pulumi/runtime/mocks.py)."""
    with caplog.at_level(logging.WARNING):
        recording = run_main(stack(disruptionBudget={"maxUnavailable": 0}))
    assert recording.one("kubernetes:policy/v1:PodDisruptionBudget").inputs["spec"]["maxUnavailable"] == 0
    assert any(
        "gateways(gw-one).disruptionBudget.maxUnavailable = 0: blocks every node drain" in r.message
        for r in caplog.records
    )
