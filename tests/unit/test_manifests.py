"""Pure functions: settings map and Kubernetes objects, checked without Pulumi, and
validated against the official Kubernetes OpenAPI schema (strict: unknown fields fail)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

import kubernetes_validate
import pytest
from harness import gateway_objects, stack_file_config

from components.config import GatewayConfig, parse_stack_config
from components.kubernetes import manifests, rollout
from components.kubernetes.settings import configuration_endpoint, gateway_settings

KUBERNETES_VERSION = "1.34.0"
"""Schema version the objects are validated against (the local API server is 1.34 too)."""
NOW = datetime(2026, 11, 23, tzinfo=UTC)


def gateway_of(stack: str) -> GatewayConfig:
    return parse_stack_config(stack_file_config(stack), now=NOW).gateways[0]


def with_overrides(**overrides: Any) -> GatewayConfig:
    raw = stack_file_config("prod")
    raw["apim-gateway:gateways"][0].update(overrides)
    return parse_stack_config(raw, now=NOW).gateways[0]


def all_objects(gateway: GatewayConfig) -> list[dict[str, Any]]:
    return gateway_objects(gateway, configuration_endpoint(gateway, "contoso-apim-prod"))


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_object_is_valid_against_the_kubernetes_schema(stack: str) -> None:
    objects = all_objects(gateway_of(stack))
    credentials = {"dev": "Secret", "prod": "ServiceAccount"}[stack]  # prod: workload identity
    assert {obj["kind"] for obj in objects} >= {
        "Namespace",
        credentials,
        "ConfigMap",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
    }
    for obj in objects:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_the_schema_validation_catches_a_misspelt_field() -> None:
    deployment = all_objects(gateway_of("prod"))[3]
    deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailabe"] = 0
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_settings_map() -> None:
    gateway = gateway_of("prod")
    settings = gateway_settings(gateway, configuration_endpoint(gateway, "contoso-apim-prod"))
    assert settings["config.service.endpoint"] == "config.apis.contoso.com"
    assert settings["neighborhood.host"] == "contoso-weu-gw-instance-discovery.contoso-weu-gw.svc.cluster.local"
    assert settings["telemetry.logs.std"] == "json"
    assert settings["telemetry.logs.std.level"] == "warn"
    assert settings["telemetry.logs.local"] == "none"
    assert settings["telemetry.metrics.local"] == "statsd"
    assert settings["telemetry.metrics.local.statsd.tag-format"] == "dogStatsD"
    assert "config.service.auth" not in settings
    assert all(isinstance(value, str) for value in settings.values())


def test_endpoint_defaults_to_the_instance_configuration_host() -> None:
    gateway = gateway_of("dev")
    assert configuration_endpoint(gateway, "Contoso-APIM-Dev") == "contoso-apim-dev.configuration.azure-api.net"


def test_optional_settings_map_entries() -> None:
    gateway = with_overrides(
        proxy={"https": "http://proxy.corp:3128", "noProxy": "10.0.0.0/8"},
        forwardedProto=True,
        extraSettings={"net.server.tls.ciphers.allowed-suites": "TLS_AES_256_GCM_SHA384"},
        metrics={
            "cloud": False,
            "openTelemetry": {"enabled": True, "collectorUri": "http://otel:4317", "histogramBuckets": [5, 10, 25.5]},
        },
    )
    settings = gateway_settings(gateway, "x.configuration.azure-api.net")
    assert settings["HTTPS_PROXY"] == "http://proxy.corp:3128"
    assert settings["NO_PROXY"] == "10.0.0.0/8"
    assert "HTTP_PROXY" not in settings
    assert settings["net.server.http.forwarded.proto.enabled"] == "true"
    assert settings["net.server.tls.ciphers.allowed-suites"] == "TLS_AES_256_GCM_SHA384"
    assert settings["telemetry.metrics.cloud"] == "false"
    assert settings["telemetry.metrics.local"] == "none"
    assert settings["observability.opentelemetry.collector.uri"] == "http://otel:4317"
    assert settings["observability.opentelemetry.histogram.buckets"] == "5,10,25.5"


def test_deployment_carries_the_production_considerations() -> None:
    gateway = gateway_of("prod")
    deployment = manifests.deployment(gateway, "settings-digest", None)
    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    assert deployment["metadata"]["namespace"] == "contoso-weu-gw"
    assert spec["replicas"] == 3
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"}}
    assert container["image"] == "mcr.microsoft.com/azure-api-management/gateway:2.12.1"
    assert container["resources"] == {"requests": {"cpu": "2", "memory": "2Gi"}, "limits": {"memory": "4Gi"}}
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert container[probe]["httpGet"] == {"path": "/status-0123456789abcdef", "port": "http", "scheme": "HTTP"}
    assert {(p["containerPort"], p["protocol"]) for p in container["ports"]} == {
        (8080, "TCP"),
        (8081, "TCP"),
        (4290, "UDP"),
        (4291, "UDP"),
    }
    # Workload identity: no token anywhere, the pod runs as the federated ServiceAccount.
    assert container["env"][0] == {"name": "config.service.auth", "value": "workloadIdentity"}
    assert {e["name"] for e in container["env"][1:]} == {"SSL_CERT_FILE", "SSL_CERT_DIR"}  # the custom CA
    assert pod["serviceAccountName"] == "contoso-weu-gw"
    assert container["envFrom"] == [{"configMapRef": {"name": "contoso-weu-gw-env"}}]
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert pod["securityContext"]["runAsUser"] == 1001 and pod["securityContext"]["fsGroup"] == 1001
    assert pod["terminationGracePeriodSeconds"] == 60
    assert pod["dnsPolicy"] == "ClusterFirst"
    assert pod["dnsConfig"] == {"options": [{"name": "ndots", "value": "2"}]}
    assert pod["nodeSelector"] == {"agentpool": "gateway"}
    assert pod["priorityClassName"] == "apim-gateway-critical"
    assert pod["topologySpreadConstraints"][0]["topologyKey"] == "topology.kubernetes.io/zone"
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts == {"config-backup": "/apim/config", "custom-ca": "/apim/certificates/ca"}
    volumes = {v["name"]: v for v in pod["volumes"]}
    # prod names a storage class: the claim's name carries it (see test_backup_claim_name_follows_immutable_fields)
    assert volumes["config-backup"]["persistentVolumeClaim"]["claimName"] == "contoso-weu-gw-config-backup-362bb801"
    assert volumes["custom-ca"]["secret"]["secretName"].startswith("contoso-weu-gw-ca-")
    assert spec["template"]["metadata"]["annotations"] == {"checksum/settings": "settings-digest"}


def test_dev_deployment_has_no_backup_volume_and_one_replica() -> None:
    gateway = gateway_of("dev")
    deployment = manifests.deployment(gateway, "s", "t")
    pod = deployment["spec"]["template"]["spec"]
    assert deployment["spec"]["replicas"] == 1
    assert "volumes" not in pod
    assert manifests.backup_claim(gateway) is None


def test_services() -> None:
    gateway = gateway_of("prod")
    traffic = manifests.traffic_service(gateway)
    assert traffic["metadata"]["name"] == "contoso-weu-gw-live-traffic"
    assert traffic["spec"]["type"] == "LoadBalancer"
    assert traffic["spec"]["externalTrafficPolicy"] == "Local"
    assert [(p["port"], p["targetPort"]) for p in traffic["spec"]["ports"]] == [(80, "http"), (443, "https")]
    assert traffic["metadata"]["annotations"] == {
        "service.beta.kubernetes.io/azure-load-balancer-internal": "true",
        "service.beta.kubernetes.io/azure-load-balancer-ipv4": "10.20.0.50",
        # A LoadBalancer waits for its address only, not the provider's 10 s endpoint settling.
        "pulumi.com/waitFor": "jsonpath={.status.loadBalancer.ingress}",
    }
    discovery = manifests.discovery_service(gateway)
    assert discovery["spec"]["clusterIP"] == "None"
    assert [(p["port"], p["protocol"]) for p in discovery["spec"]["ports"]] == [(4290, "UDP"), (4291, "UDP")]
    cluster_ip = manifests.traffic_service(with_overrides(service={"type": "ClusterIP"}))
    assert "externalTrafficPolicy" not in cluster_ip["spec"]
    assert cluster_ip["metadata"]["annotations"] == {"pulumi.com/skipAwait": "true"}
    # The user's own annotation wins (the failed-deploy test shortens the wait this way).
    custom = with_overrides(service={"type": "NodePort", "annotations": {"pulumi.com/skipAwait": "false"}})
    assert manifests.traffic_service(custom)["metadata"]["annotations"] == {"pulumi.com/skipAwait": "false"}


def test_backup_claim_and_existing_claim() -> None:
    claim = manifests.backup_claim(gateway_of("prod"))
    assert claim is not None
    assert claim["spec"] == {
        "accessModes": ["ReadWriteMany"],
        "resources": {"requests": {"storage": "50Mi"}},
        "storageClassName": "apim-gateway-backup",
    }
    existing = with_overrides(backup={"enabled": True, "existingClaim": "shared-backup"}, namespace={"create": False})
    assert manifests.backup_claim(existing) is None
    volumes = manifests.deployment(existing, "s", "t")["spec"]["template"]["spec"]["volumes"]
    assert volumes[0]["persistentVolumeClaim"]["claimName"] == "shared-backup"


def test_checksums_follow_content() -> None:
    assert manifests.settings_checksum({"a": "1"}) != manifests.settings_checksum({"a": "2"})
    assert manifests.settings_checksum({"a": "1", "b": "2"}) == manifests.settings_checksum({"b": "2", "a": "1"})
    key = "11" * 32
    assert manifests.credentials_checksum(key, "one") != manifests.credentials_checksum(key, "two")
    assert manifests.credentials_checksum(key, "one") == manifests.credentials_checksum(key, "one")
    assert "one" not in manifests.credentials_checksum(key, "one")


def test_the_credentials_annotation_is_keyed_and_says_nothing_about_the_secret() -> None:
    """Issue 16.12: an unsalted SHA-256 of the token let whoever reads the Deployment test guesses
    of it offline. The annotation is HMAC-SHA256 (RFC 2104; Python ``hmac``) under the stack's
    rollout key: without the key it is no function of the token alone."""
    token = "GatewayKey gw&203001010000&c2lnbmF0dXJl"
    one, other = "11" * 32, "22" * 32
    digest = manifests.credentials_checksum(one, token)
    assert digest != hashlib.sha256(token.encode()).hexdigest()
    assert digest != manifests.credentials_checksum(other, token)  # the key decides, not the token alone
    assert digest == hmac.new(bytes.fromhex(one), token.encode(), hashlib.sha256).hexdigest()
    assert len(bytes.fromhex(rollout.new_key())) == 32 and rollout.new_key() != rollout.new_key()


def test_the_rollout_key_is_kept_for_the_life_of_the_stack() -> None:
    """The provider never reports a change; ``RolloutKey`` also ignores the fresh key each run draws."""
    provider = rollout.RolloutKeyProvider()
    created = provider.create({"rollout_key": "aa" * 32})
    assert created.outs == {"rollout_key": "aa" * 32}
    assert provider.diff("rollout-key", {"rollout_key": "aa" * 32}, {"rollout_key": "bb" * 32}).changes is False


def test_disruption_budget_can_be_turned_off() -> None:
    budget = manifests.disruption_budget(gateway_of("prod"))
    assert budget is not None and budget["spec"]["maxUnavailable"] == 1
    assert manifests.disruption_budget(with_overrides(disruptionBudget={"enabled": False})) is None


def test_namespace_is_labelled() -> None:
    namespace = manifests.namespace(gateway_of("prod"))
    labels = namespace["metadata"]["labels"]
    assert namespace["metadata"]["name"] == "contoso-weu-gw"
    assert labels["app.kubernetes.io/managed-by"] == "pulumi"
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["pod-security.kubernetes.io/enforce-version"] == "v1.34"
    assert labels["pod-security.kubernetes.io/warn"] == labels["pod-security.kubernetes.io/audit"] == "restricted"
