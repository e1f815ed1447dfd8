"""Issue 24's pod knobs, all set at once: shared by the unit tests of the knobs and of the schema check."""

from __future__ import annotations

from typing import Any

from harness import gateway_objects, parse, stack

from components.config import GatewayConfig
from components.kubernetes.settings import configuration_endpoint

KNOBS: dict[str, Any] = {
    "namespace": {"name": "gateways", "create": False},
    "commonLabels": {"team": "payments", "cost-center": "cc-42"},
    "pod": {
        "annotations": {"sidecar.istio.io/inject": "true", "prometheus.io/scrape": "true"},
        "labels": {"mesh": "ambient"},
        "env": [
            {"name": "telemetry.logs.std.level", "configMapKeyRef": {"name": "gateway-tuning", "key": "level"}},
            {"name": "REDIS_PASSWORD", "secretKeyRef": {"name": "redis", "key": "password", "optional": True}},
        ],
        "envFrom": [{"secretRef": {"name": "gateway-extra"}, "prefix": "X_"}, {"configMapRef": {"name": "tuning"}}],
        "volumes": [
            {
                "name": "kv",
                "csi": {"driver": "secrets-store.csi.k8s.io", "volumeAttributes": {"secretProviderClass": "kv"}},
            },
            {"name": "scratch", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
            {"name": "certs", "secret": {"secretName": "extra-certs", "items": [{"key": "tls.crt", "path": "a.crt"}]}},
        ],
        "volumeMounts": [
            {"name": "kv", "mountPath": "/mnt/secrets", "readOnly": True},
            {"name": "scratch", "mountPath": "/mnt/scratch"},
        ],
        "hostAliases": [{"ip": "10.0.0.5", "hostnames": ["backend.internal", "legacy.internal"]}],
    },
    "serviceAccount": {"annotations": {"eks.amazonaws.com/role-arn": "arn"}, "labels": {"team": "payments"}},
    "service": {
        "type": "LoadBalancer",
        "loadBalancerIP": "192.0.2.10",
        "loadBalancerIPAnnotation": "metallb.io/loadBalancerIPs",
        "allocateLoadBalancerNodePorts": False,
    },
}


def token_gateway(**overrides: Any) -> GatewayConfig:
    """Token mode: no workload identity, so the ServiceAccount exists only for ``serviceAccount``."""
    return parse(stack("dev", **overrides))


def objects_by_name(gateway: GatewayConfig) -> dict[str, dict[str, Any]]:
    objects = gateway_objects(gateway, configuration_endpoint(gateway, "contoso-apim-dev"))
    return {f"{obj['kind']}/{obj['metadata']['name']}": obj for obj in objects}
