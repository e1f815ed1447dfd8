"""Objects around the pods: the Services, the disruption budget, the autoscaler, the NetworkPolicy."""

from __future__ import annotations

from ...config import GatewayConfig, rules
from ..egress import egress_rules
from .common import (
    HEARTBEAT_PORT,
    HTTP_PORT,
    HTTPS_PORT,
    RATE_LIMIT_SYNC_PORT,
    Obj,
    object_metadata,
    object_names,
    selector_labels,
    service_metadata,
)


def traffic_service(gateway: GatewayConfig) -> Obj:
    """The Service clients call: 80→8080 and 443→8081."""
    service = gateway.service
    spec: Obj = {
        "type": service.type,
        "selector": selector_labels(gateway),
        "ports": [
            {"name": "http", "port": service.http_port, "targetPort": "http", "protocol": "TCP"},
            {"name": "https", "port": service.https_port, "targetPort": "https", "protocol": "TCP"},
        ],
    }
    if service.type != "ClusterIP":
        # Local keeps the caller's IP and avoids a second hop between nodes.
        spec["externalTrafficPolicy"] = service.external_traffic_policy
    if service.allocate_load_balancer_node_ports is not None:
        spec["allocateLoadBalancerNodePorts"] = service.allocate_load_balancer_node_ports
    metadata = service_metadata(gateway, object_names(gateway).traffic_service)
    annotations = {**traffic_service_wait(service.type), **service.annotations}
    if service.load_balancer_ip and service.type == "LoadBalancer":
        if service.load_balancer_ip_in_spec:
            # Deprecated since Kubernetes 1.24 (core/v1 ServiceSpec.loadBalancerIP), for load balancers
            # that read nothing else.
            spec["loadBalancerIP"] = service.load_balancer_ip
        else:
            # AKS's annotation of the address's family, or the one loadBalancerIPAnnotation names.
            carrier = service.load_balancer_ip_annotation or rules.load_balancer_ip_annotation(service.load_balancer_ip)
            annotations[carrier] = service.load_balancer_ip
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Service", "metadata": metadata, "spec": spec}


SKIP_AWAIT_ANNOTATION = "pulumi.com/skipAwait"
WAIT_FOR_ANNOTATION = "pulumi.com/waitFor"
LOAD_BALANCER_READY = "jsonpath={.status.loadBalancer.ingress}"


def traffic_service_wait(service_type: str) -> dict[str, str]:
    """What ``pulumi up`` waits for on the traffic Service (``service.annotations`` may override it).

    The provider's own Service wait (pulumi-kubernetes 4.25.0 ``provider/pkg/await/service.go``
    lines 228-270, 342-348) checks that the endpoints target ready pods and then lets every
    endpoints change settle for 10 seconds: 10 s of every first ``up`` (measured:
    benchmarks/bench.py), for what the Deployment's own wait already proves, since the Service
    selects exactly the Deployment's pods. A LoadBalancer still waits for its address, the one
    thing only the Service can show (``pulumi.com/waitFor``; a JSONPath without a value waits for
    the field to exist, ``jsonpath/jsonpath.go`` Parse); the other types wait for nothing
    (``pulumi.com/skipAwait``, ``metadata/overrides.go`` ReadyCondition)."""
    if service_type == "LoadBalancer":
        return {WAIT_FOR_ANNOTATION: LOAD_BALANCER_READY}
    return {SKIP_AWAIT_ANNOTATION: "true"}


def discovery_service(gateway: GatewayConfig) -> Obj:
    """Headless Service resolving every replica: instance discovery and rate-limit sync."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": service_metadata(gateway, object_names(gateway).discovery_service),
        "spec": {
            "clusterIP": "None",
            "selector": selector_labels(gateway),
            "ports": [
                {"name": "rate-limit", "port": RATE_LIMIT_SYNC_PORT, "targetPort": "rate-limit", "protocol": "UDP"},
                {"name": "heartbeat", "port": HEARTBEAT_PORT, "targetPort": "heartbeat", "protocol": "UDP"},
            ],
        },
    }


def disruption_budget(gateway: GatewayConfig) -> Obj | None:
    if not gateway.disruption_budget.enabled:
        return None
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": object_metadata(gateway, object_names(gateway).disruption_budget),
        "spec": {
            "maxUnavailable": gateway.disruption_budget.max_unavailable,
            "selector": {"matchLabels": selector_labels(gateway)},
        },
    }


def autoscaler(gateway: GatewayConfig) -> Obj | None:
    """A HorizontalPodAutoscaler on CPU and memory, or None when autoscaling is off."""
    scaling = gateway.autoscaling
    if not scaling.enabled:
        return None
    metrics = [
        {
            "type": "Resource",
            "resource": {"name": resource, "target": {"type": "Utilization", "averageUtilization": target}},
        }
        for resource, target in (("cpu", scaling.target_cpu_utilization), ("memory", scaling.target_memory_utilization))
        if target is not None
    ]
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": object_metadata(gateway, object_names(gateway).autoscaler),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": object_names(gateway).deployment},
            "minReplicas": gateway.min_replicas,
            "maxReplicas": scaling.max_replicas,
            "metrics": metrics,
        },
    }


def network_policy(gateway: GatewayConfig) -> Obj | None:
    """Traffic in and out of the gateway pods, or None when turned off.

    In: 8080/8081 from ``ingressFrom`` (any source when empty); UDP 4290/4291 only from
    other gateway pods. Out (``egress.egress_rules``, every rule with a destination): DNS to
    the cluster DNS pods; 443 (and ``externalPorts``) to cluster-external addresses; UDP
    4290/4291 to gateway pods; ``backendCidrs``; ``backendPeers``; the telemetry sinks the
    settings name. 169.254.169.254 and 168.63.129.16 are excepted from every ``ipBlock``.
    """
    policy = gateway.network_policy
    if not policy.enabled:
        return None
    gateway_pods = {"podSelector": {"matchLabels": selector_labels(gateway)}}
    sync_ports = [
        {"port": RATE_LIMIT_SYNC_PORT, "protocol": "UDP"},
        {"port": HEARTBEAT_PORT, "protocol": "UDP"},
    ]
    client_rule: Obj = {"ports": [{"port": HTTP_PORT, "protocol": "TCP"}, {"port": HTTPS_PORT, "protocol": "TCP"}]}
    if policy.ingress_from:
        client_rule["from"] = [dict(peer) for peer in policy.ingress_from]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": object_metadata(gateway, object_names(gateway).network_policy),
        "spec": {
            "podSelector": {"matchLabels": selector_labels(gateway)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [client_rule, {"from": [gateway_pods], "ports": sync_ports}],
            "egress": egress_rules(gateway, gateway_pods, sync_ports),
        },
    }
