"""Hypothesis strategies for whole stack configurations (the ``config:`` block of a stack file).

Hand-written rather than drawn from the JSON schema: every value is mostly plausible and
sometimes plausible-but-wrong (a request above its limit, an address that is not one, a name
one character past its limit), which is where a schema that checks each field on its own lets
a value through that the Kubernetes API server or Azure Resource Manager refuses later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from certificates import self_signed
from hypothesis import strategies as st
from value_strategies import (
    api_ids,
    cidrs,
    gateway_names,
    guids,
    hostnames,
    int_or_percent,
    ip_addresses,
    label_values,
    labels,
    pick,
    ports,
    qualified_keys,
    quantities,
    resource_group_names,
    tolerations,
)

from components.config.values import parse_quantity, resource_suffix

TEST_CA_PEM = self_signed("Property Test CA", ca=True)[0]
"""A CA certificate for ``customCa.certificates`` (public: PEM text in a stack file)."""

NS = "apim-gateway"
FUTURE = datetime.now(UTC) + timedelta(days=200)


def auth(faulty: bool) -> st.SearchStrategy[dict[str, Any]]:
    entra = st.fixed_dictionaries(
        {
            "mode": st.just("entraApp"),
            "tenantId": guids(faulty),
            "clientId": guids(faulty),
            "servicePrincipalObjectId": guids(faulty),
        },
        optional={
            "clientCertificateSecretName": pick(st.just("entra-cert"), st.just("Bad_Name"), faulty),
            "roleDefinitionId": pick(
                st.just("/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/r"), st.just("role"), faulty
            ),
            "createApimValidatorRole": st.booleans(),
        },
    )
    workload = st.fixed_dictionaries(
        {
            "mode": st.just("workloadIdentity"),
            "workloadIdentity": st.fixed_dictionaries(
                {
                    "oidcIssuerUrl": pick(st.just("https://oidc.example/tenant/"), st.just("http://insecure/"), faulty),
                    "resourceGroupName": resource_group_names(faulty),
                    "location": st.just("westeurope"),
                },
                optional={
                    "serviceAccountName": pick(st.sampled_from(["gateway-sa", "shared-sa"]), st.just("Bad_SA"), faulty)
                },
            ),
        },
        optional={"createApimValidatorRole": st.booleans()},
    )
    return st.one_of(st.just({}), st.just({"mode": "token"}), entra, workload)


def gateway_sections(faulty: bool) -> dict[str, st.SearchStrategy[Any]]:
    """Every optional section of a gateway entry, with values drawn as ``faulty`` says."""

    def opt(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
        return st.fixed_dictionaries({}, optional=fields)

    def one(valid: list[Any], wrong: list[Any]) -> st.SearchStrategy[Any]:
        return pick(st.sampled_from(valid), st.sampled_from(wrong), faulty)

    sections: dict[str, st.SearchStrategy[Any]] = {
        "description": one(["Gateway", "d" * 1000], ["d" * 1001]),
        "apis": st.lists(api_ids(faulty), max_size=3),
        "hostnames": st.lists(
            st.fixed_dictionaries({"hostname": hostnames(faulty)}, optional={"certificateId": st.just("tls-cert")}),
            max_size=3,
        ),
        "certificateAuthorities": st.lists(
            st.fixed_dictionaries(
                {"certificateId": one(["root-ca", "root.ca", "root-ca-2", "c" * 80], ["root#ca", "c" * 81])}
            ),
            max_size=2,
        ),
        "configurationEndpoint": one(["config.apis.contoso.com"], ["https://config.contoso.com/"]),
        "auth": auth(faulty),
        "namespace": opt(name=labels(63, faulty), create=st.booleans()),
        "image": opt(
            # Mostly the newest pin (every auth mode needs 2.11+); older pins and moving tags too.
            tag=one(
                ["2.11.1", "2.11.1", "2.11.1", "2.2.0", "2.9.0", "v2", "latest", "2.11.1-rc1"],
                ["2.11.1-", "t" * 64, "bad tag"],
            ),
            allowMovingTag=st.booleans(),
            pullSecrets=st.lists(one(["acr-pull", "mirror-pull"], ["Bad_Secret"]), max_size=2, unique=not faulty),
        ),
        "replicas": pick(st.integers(1, 5), st.sampled_from([0, 101]), faulty),
        "rollout": opt(maxUnavailable=int_or_percent(faulty), maxSurge=int_or_percent(faulty)),
        "resources": opt(
            requestsCpu=quantities("cpu", faulty),
            requestsMemory=quantities("memory", faulty),
            limitsCpu=quantities("cpu", faulty),
            limitsMemory=quantities("memory", faulty),
        ),
        "probes": opt(
            readiness=opt(
                periodSeconds=one([1, 10, 2**31 - 1], [2**31]),
                timeoutSeconds=one([1, 5], [0]),
            )
        ),
        "terminationGracePeriodSeconds": one([0, 30, 3600], [3601, -1]),
        "dns": opt(
            policy=st.sampled_from(["ClusterFirst", "None", "Default"]),
            nameservers=st.lists(ip_addresses(faulty), max_size=3),
            searches=st.lists(one(["svc.cluster.local", "contoso.com"], ["Bad_Domain"]), max_size=2),
            options=st.lists(
                st.fixed_dictionaries({"name": one(["ndots"], [""])}, optional={"value": st.just("2")}), max_size=2
            ),
        ),
        # The stack creates the CA bundle from PEM text; an existing Secret only when the
        # namespace is not the stack's (refused otherwise).
        "customCa": st.one_of(
            opt(certificates=one([TEST_CA_PEM], ["not a certificate"])),
            opt(secretName=one(["contoso-root-ca"], ["Bad_Secret"])),
        ),
        "service": opt(
            type=st.sampled_from(["LoadBalancer", "NodePort", "ClusterIP"]),
            externalTrafficPolicy=st.sampled_from(["Local", "Cluster"]),
            loadBalancerIP=ip_addresses(faulty),
            httpPort=ports(faulty),
            httpsPort=ports(faulty),
            annotations=st.dictionaries(qualified_keys(faulty), st.just("true"), max_size=2),
            allocateLoadBalancerNodePorts=st.booleans(),
            loadBalancerIPInSpec=st.booleans(),
        ),
        "backup": opt(
            enabled=st.booleans(),
            size=quantities("memory", faulty),
            storageClassName=st.just("azurefile-csi"),
            accessMode=st.sampled_from(["ReadWriteMany", "ReadWriteOnce"]),
            existingClaim=one(["existing-claim"], ["Bad_Claim"]),
        ),
        "autoscaling": opt(
            enabled=st.booleans(),
            minReplicas=pick(st.integers(1, 12), st.just(0), faulty),
            maxReplicas=st.integers(1, 12),
            targetCpuUtilization=st.one_of(st.none(), pick(st.integers(1, 100), st.just(101), faulty)),
            targetMemoryUtilization=st.one_of(st.none(), st.integers(1, 100)),
        ),
        "networkPolicy": opt(
            enabled=st.booleans(),
            backendCidrs=st.lists(cidrs(faulty), max_size=3),
            backendPorts=st.lists(ports(faulty), max_size=3),
        ),
        "disruptionBudget": opt(enabled=st.booleans(), maxUnavailable=int_or_percent(faulty)),
        "topologySpread": opt(
            topologyKey=one(["topology.kubernetes.io/zone", "kubernetes.io/hostname"], ["bad key"]),
            maxSkew=one([1, 2, 2**31 - 1], [0, 2**31]),
            whenUnsatisfiable=st.sampled_from(["ScheduleAnyway", "DoNotSchedule"]),
        ),
        "scheduling": opt(
            nodeSelector=st.dictionaries(qualified_keys(faulty), label_values(faulty), max_size=2),
            tolerations=st.lists(tolerations(faulty), max_size=2),
            priorityClass=st.one_of(
                st.fixed_dictionaries(
                    {"name": one(["apim-gateway-critical"], ["Bad_Class", "system-cluster-critical"])}
                ),
                st.fixed_dictionaries({"name": st.just("apim-gateway-critical"), "create": st.just(True)}),
            ),
        ),
        "logs": opt(
            level=one(["warn", "debug"], ["verbose"]),
            local=st.sampled_from(["auto", "rfc5424", "none"]),
            localEndpoint=st.just("127.0.0.1:514"),
        ),
        "metrics": opt(statsd=st.fixed_dictionaries({"endpoint": st.just("statsd.monitoring:8125")})),
        "extraSettings": st.dictionaries(
            one(
                ["net.server.tls.ciphers.allowed-suites", "k" * 253], ["config.service.endpoint", "bad key", "k" * 254]
            ),
            st.just("x"),
            max_size=2,
        ),
        "kubernetes": opt(
            context=st.sampled_from(["aks-one", "aks-two"]),
            renderYamlToDirectory=st.just("rendered"),
        ),
        "forwardedProto": st.booleans(),
        # Issue 24's pod knobs. Objects they name exist only where the namespace is not the stack's
        # (refused otherwise), so the drawn ones are optional or need no object.
        "commonLabels": st.dictionaries(
            one(["team", "contoso.com/cost-center"], ["app.kubernetes.io/name", "bad key"]),
            label_values(faulty),
            max_size=2,
        ),
        "pod": opt(
            annotations=st.dictionaries(qualified_keys(faulty), st.just("true"), max_size=2),
            labels=st.dictionaries(one(["mesh"], ["app.kubernetes.io/instance"]), label_values(faulty), max_size=1),
            env=st.lists(
                st.fixed_dictionaries(
                    {
                        "name": one(["REDIS_PASSWORD", "telemetry.logs.std.level"], ["SSL_CERT_FILE", "1bad"]),
                        "secretKeyRef": st.fixed_dictionaries(
                            {"name": st.just("extra"), "key": st.just("k"), "optional": st.just(True)}
                        ),
                    }
                ),
                max_size=1,
            ),
            envFrom=st.lists(
                st.fixed_dictionaries({"configMapRef": st.just({"name": "tuning", "optional": True})}), max_size=1
            ),
            volumes=st.just([{"name": "scratch", "emptyDir": {"sizeLimit": "64Mi"}}]),
            volumeMounts=st.lists(
                st.fixed_dictionaries({"name": st.just("scratch"), "mountPath": one(["/mnt/scratch"], ["/apim"])}),
                max_size=1,
            ),
            hostAliases=st.lists(
                st.fixed_dictionaries({"ip": ip_addresses(faulty), "hostnames": st.just(["backend.internal"])}),
                max_size=1,
            ),
            runAsUser=one([1001, 10001], [0, 2**31]),
            runAsGroup=one([1001, 0, 10001], [-1]),
            idsFromPlatform=st.booleans(),
        ),
        "serviceAccount": opt(
            annotations=st.dictionaries(qualified_keys(faulty), st.just("x"), max_size=1),
            labels=st.dictionaries(one(["team"], ["azure.workload.identity/use"]), label_values(faulty), max_size=1),
        ),
    }
    if faulty:
        sections["unknownKey"] = st.just(1)
    return sections


SECTIONS = sorted(gateway_sections(faulty=True))
"""Every section a gateway entry may have (``unknownKey`` included): the targets of a fault."""


@st.composite
def gateways(draw: st.DrawFn, name: str, faulty_section: str | None) -> dict[str, Any]:
    """One gateway entry: the required keys plus a random selection of sections, all drawn
    plausible except ``faulty_section``, which is present and may hold any wrong value."""
    faulty = faulty_section is not None
    required: dict[str, st.SearchStrategy[Any]] = {
        "name": st.just(name),
        "locationData": st.fixed_dictionaries({"name": st.just("dc-1")}),
    }
    optional = gateway_sections(faulty=False)
    if faulty_section is not None:
        required[faulty_section] = gateway_sections(faulty=True)[faulty_section]
        optional.pop(faulty_section, None)
    entry: dict[str, Any] = draw(st.fixed_dictionaries(required, optional=optional))
    kubernetes: dict[str, Any] = entry.get("kubernetes", {})
    if draw(st.booleans()) and (faulty or "renderYamlToDirectory" in kubernetes):
        kubernetes["renderSecrets"] = True
    resources: dict[str, str] = entry.get("resources", {})
    for resource in ("Cpu", "Memory"):
        request, limit = resources.get(f"requests{resource}"), resources.get(f"limits{resource}")
        if not faulty and limit and not request:
            request = resources[f"requests{resource}"] = limit  # not the 2-CPU / 2Gi default
        if not faulty and request and limit and draw(st.integers(0, 7)) > 0:
            # Mostly a limit at or above the request; sometimes below it, which must be refused.
            resources[f"limits{resource}"] = request if parse_quantity(limit) < parse_quantity(request) else limit
    if not faulty:
        _mostly_consistent(entry)
    return entry


def _mostly_consistent(entry: dict[str, Any]) -> None:
    """Plausible entries: settings that need a companion get it (policy None → a name server,
    an rfc5424 sink → its endpoint, an autoscaler → a target); entries that would become one
    Azure resource twice are dropped. A faulty entry keeps all of these, which must be refused."""
    service = entry.get("service", {})
    if "httpPort" in service and service.get("httpPort") == service.get("httpsPort", 443):
        del service["httpPort"]
    if service.get("type", "LoadBalancer") != "LoadBalancer":
        service.pop("allocateLoadBalancerNodePorts", None)
    if "loadBalancerIP" not in service:
        service.pop("loadBalancerIPInSpec", None)
    pod = entry.get("pod", {})
    if "volumeMounts" in pod and "volumes" not in pod:
        del pod["volumeMounts"]
    dns = entry.get("dns", {})
    if dns.get("policy") == "None" and not dns.get("nameservers"):
        dns["nameservers"] = ["10.0.0.10"]
    logs = entry.get("logs", {})
    if logs.get("local") == "rfc5424":
        logs.setdefault("localEndpoint", "127.0.0.1:514")
    scaling = entry.get("autoscaling", {})
    if scaling.get("targetCpuUtilization", 70) is None and scaling.get("targetMemoryUtilization", 80) is None:
        scaling["targetCpuUtilization"] = 70
    for section, field in (("apis", None), ("hostnames", "hostname"), ("certificateAuthorities", "certificateId")):
        if section in entry:
            seen: set[str] = set()
            kept = []
            for item in entry[section]:
                derived = resource_suffix(item if field is None else item[field]).lower()
                if derived not in seen:
                    seen.add(derived)
                    kept.append(item)
            entry[section] = kept


@dataclass(frozen=True)
class DrawnStack:
    """A drawn stack: the config as the program receives it, and the keys set as secrets."""

    environment: str
    config: dict[str, Any]
    secret_keys: tuple[str, ...]
    faulty: bool
    """Drawn with wrong values allowed anywhere (otherwise only plausible values)."""


@st.composite
def stacks(draw: st.DrawFn) -> DrawnStack:
    # Half the stacks draw only plausible values (refused only for combinations: a request
    # above its limit, a prod rule...); the other half put one fault in one place (the APIM
    # settings, the gateway names or one section of the first gateway), so that each wrong
    # value meets the check on its own rather than hidden behind another one.
    fault = draw(st.one_of(st.none(), st.sampled_from(["apim", "names", *SECTIONS])))
    faulty = fault is not None
    environment = draw(st.sampled_from(["dev", "prod"]))
    apim_mode = draw(st.sampled_from(["managed", "existing"]))
    names = draw(st.lists(gateway_names(fault == "names"), min_size=1, max_size=3, unique=fault != "names"))
    section = fault if fault in SECTIONS else None
    entries = [draw(gateways(name, section if index == 0 else None)) for index, name in enumerate(names)]
    apim: dict[str, Any] = {"mode": apim_mode}
    token_free = any(entry.get("auth", {}).get("mode", "token") != "token" for entry in entries)
    # The instance is required when managed, and (mostly given) for token-free modes' roles.
    if apim_mode == "managed" or token_free or draw(st.integers(0, 4)) > 0:
        apim["resourceGroupName"] = draw(resource_group_names(fault == "apim"))
        apim["serviceName"] = draw(pick(st.just("contoso-apim"), st.just("9starts-with-digit"), fault == "apim"))
    if len(entries) > 1 and draw(st.booleans()):
        # A fleet sharing one namespace: legal when only one of them creates it.
        for index, entry in enumerate(entries):
            entry["namespace"] = {"name": "shared-gw", "create": index == 0 or draw(st.booleans())}

    if environment == "prod" and draw(st.integers(0, 5)) > 0:
        # Mostly a backup class that offers ReadWriteMany: prod's backup default on the cluster's
        # default class is refused (issue 24), and each such draw would only test that refusal.
        for entry in entries:
            backup = entry.setdefault("backup", {})
            if "enabled" not in backup:
                backup.setdefault("storageClassName", "azurefile-csi")
    config: dict[str, Any] = {f"{NS}:environment": environment, f"{NS}:apim": apim, f"{NS}:gateways": entries}
    if draw(st.booleans()):
        config[f"{NS}:defaults"] = {"kubernetes": {"context": "aks-default"}}
    secret_keys: list[str] = []
    tokens: dict[str, str] = {}
    client_secrets: dict[str, str] = {}
    for entry in entries:
        mode = entry.get("auth", {}).get("mode", "token")
        name = entry["name"]
        if apim_mode == "existing" and mode == "token" and draw(st.integers(0, 9)) > 0:
            issued_for = name if draw(st.integers(0, 9)) > 0 else "another-gw"
            tokens[name] = f"{issued_for}&{FUTURE:%Y%m%d%H%M}&c2lnbmF0dXJl"
        if mode == "entraApp" and "clientCertificateSecretName" not in entry["auth"] and draw(st.integers(0, 9)) > 0:
            client_secrets[name] = "entra-client-secret-value"
    if tokens:
        config[f"{NS}:gatewayTokens"] = tokens
        secret_keys.append(f"{NS}:gatewayTokens")
    if client_secrets:
        config[f"{NS}:entraClientSecrets"] = client_secrets
        secret_keys.append(f"{NS}:entraClientSecrets")
    return DrawnStack(environment, config, tuple(secret_keys), faulty)
