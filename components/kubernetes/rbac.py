"""The Kubernetes RBAC of each identity docs/delivery.md names, generated from a stack's config.

``python -m components.kubernetes.rbac --stack dev --identity preview --subject ServiceAccount:ci:pr``
prints the Roles, ClusterRoles and bindings (YAML) that identity needs for that stack's gateways
and nothing more; ``kubectl apply -f -`` applies them. What each identity reads and writes, and
why, is in docs/delivery.md ("Kubernetes rights").

Sources of each right (pulumi-kubernetes v4.25.0, commit f47bc2d6f199; Kubernetes docs "Using
RBAC Authorization", "Referring to resources": ``resourceNames`` cannot limit ``create`` or
``deletecollection``, and limits ``list``/``watch`` only for requests with a ``metadata.name``
field selector):

- every identity runs the guards' ``check`` (``cluster_guard.py``, ``removal_guard.py``): ``get``
  on ``namespaces/kube-system`` and on every object the stack registers, Secrets included;
- preview: nothing else. The provider's preview of a change is a server-side dry run
  (``provider/pkg/await/await.go`` Creation lines 195 and 235, ``ssaUpdate`` line 581:
  ``DryRun: All``), which the API server authorizes as the write itself; forbidden, the provider
  previews client-side (``provider/pkg/provider/provider.go`` Create line 1649, Update line 2152),
  so the preview identity gets no write verb;
- deploy: creates are server-side applies, a PATCH (``await.go`` Creation lines 202-229), which
  the API server authorizes as ``patch`` and, when it creates, as ``create`` too (k8s.io/apiserver
  v0.34.3 ``pkg/endpoints/handlers/patch.go`` lines 203 and 232); every create,
  update and delete waits with informers on the object's kind in its namespace, without a field
  selector (``await.go`` lines 280, 446, 863: ``Factories.ForNamespace``), hence ``list`` and
  ``watch`` on each kind; the Deployment's wait also watches its ReplicaSets, Pods and Events;
- renewal: the preview above, then a targeted update of the token Secret and the Deployment
  (``get`` then ``patch``, ``await.go`` Update lines 419 and 584) and the Deployment's wait.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..config import GatewayConfig, StackConfig
from . import manifests
from .cluster_guard import PLURALS
from .ownership import keyless_owner

IDENTITIES = ("preview", "deploy", "renewal")
COMMAND = "python -m components.kubernetes.rbac"
PREFIX = "apim-gateway:"
SUBJECT_KINDS = ("ServiceAccount", "User", "Group")
ROLLOUT_READS = (("apps", "replicasets"), ("", "pods"), ("", "persistentvolumeclaims"), ("", "events"))
"""What the Deployment's wait lists and watches besides the Deployment, in the gateway's namespace
(``provider/pkg/await/deployment.go`` lines 163-193 and 216-251; Events: ``watchers.go`` line 213)."""
SERVICE_READS = (("", "endpoints"),)
"""What a Service's wait watches besides the Service (``provider/pkg/await/service.go`` line 147)."""
NAME_VERBS = ("get", "patch", "update", "delete")
"""Verbs ``resourceNames`` limits; ``create``, ``list`` and ``watch`` it cannot (see the module docstring)."""


@dataclass(frozen=True, order=True)
class ObjectRef:
    """One object the stack reads or writes: API group, resource (plural), namespace ("" when
    cluster-scoped), name."""

    group: str
    resource: str
    namespace: str
    name: str


PLURAL = PLURALS
"""Each kind's resource name: the one map the cluster guard reads objects with."""


def ref(obj: dict[str, object]) -> ObjectRef:
    """The ObjectRef of an object spec (``apiVersion``, ``kind``, ``metadata``)."""
    api_version, kind = str(obj["apiVersion"]), str(obj["kind"])
    metadata = obj["metadata"]
    assert isinstance(metadata, dict)
    group = api_version.rpartition("/")[0]
    return ObjectRef(group, PLURAL[kind], str(metadata.get("namespace") or ""), str(metadata["name"]))


def owned_objects(gateway: GatewayConfig, proxy_credentials: bool = False) -> list[ObjectRef]:
    """Every object the stack registers for ``gateway`` (``side.py`` ``describe``), from its config alone."""
    names = manifests.object_names(gateway)
    namespace = names.namespace
    specs = [
        manifests.namespace(gateway) if gateway.namespace.create else None,
        manifests.service_account(gateway, "client-id"),
        manifests.ca_bundle_secret(gateway),
        manifests.priority_class(gateway),
        manifests.backup_storage_class(gateway) if manifests.backup_claim(gateway) is not None else None,
        manifests.backup_claim(gateway),
        manifests.traffic_service(gateway),
        manifests.discovery_service(gateway),
        manifests.disruption_budget(gateway),
        manifests.autoscaler(gateway),
        manifests.network_policy(gateway),
    ]
    found = [ref(spec) for spec in specs if spec is not None]
    secrets = []
    if gateway.auth.mode == "token" and gateway.token.existing_secret is None:
        secrets.append(names.token_secret)
    if gateway.auth.mode == "entraApp" and gateway.auth.client_certificate_secret_name is None:
        secrets.append(names.entra_secret)
    if proxy_credentials:
        secrets.append(names.proxy_secret)
    found += [ObjectRef("", "secrets", namespace, name) for name in secrets]
    found += [
        ObjectRef("", "configmaps", namespace, names.settings_config_map),
        ObjectRef("apps", "deployments", namespace, names.deployment),
    ]
    return sorted(set(found))


def read_objects(gateway: GatewayConfig) -> list[ObjectRef]:
    """What the stack reads and never writes: a token Secret someone else keeps (``token.existingSecret``,
    read at every run by ``side.py`` ``_existing_token``)."""
    existing = gateway.token.existing_secret
    if existing is None or gateway.kubernetes.render_yaml_to_directory:
        return []
    return [ObjectRef("", "secrets", gateway.namespace_name, existing.name)]


def _rule(group: str, resources: Iterable[str], verbs: Sequence[str], names: Iterable[str] = ()) -> dict[str, object]:
    rule: dict[str, object] = {"apiGroups": [group], "resources": sorted(set(resources))}
    if names:
        rule["resourceNames"] = sorted(set(names))
    rule["verbs"] = list(verbs)
    return rule


def _named_rules(objects: Iterable[ObjectRef], verbs: Sequence[str]) -> list[dict[str, object]]:
    """One rule per (group, resource): ``verbs`` on exactly the named objects."""
    by_kind: dict[tuple[str, str], set[str]] = {}
    for obj in objects:
        by_kind.setdefault((obj.group, obj.resource), set()).add(obj.name)
    return [_rule(group, [resource], verbs, names) for (group, resource), names in sorted(by_kind.items())]


def _kind_rules(objects: Iterable[ObjectRef], verbs: Sequence[str]) -> list[dict[str, object]]:
    """``verbs`` on every kind of ``objects`` (verbs ``resourceNames`` cannot limit), one rule per group."""
    by_group: dict[str, set[str]] = {}
    for obj in objects:
        by_group.setdefault(obj.group, set()).add(obj.resource)
    return [_rule(group, resources, verbs) for group, resources in sorted(by_group.items())]


def rules(
    identity: str, owned: Sequence[ObjectRef], read: Sequence[ObjectRef]
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """(cluster rules, namespaced rules) of ``identity`` for one gateway's objects."""
    cluster_objects = [obj for obj in owned if not obj.namespace]
    namespaced = [obj for obj in owned if obj.namespace]
    identity_read = ObjectRef("", "namespaces", "", "kube-system")  # the cluster guard's identity read
    cluster = _named_rules([identity_read, *cluster_objects], ["get"])
    if identity in ("preview", "renewal"):
        return cluster, _named_rules([*namespaced, *read], ["get"])
    if identity == "deploy":
        cluster = [*_named_rules([identity_read], ["get"]), *_named_rules(cluster_objects, NAME_VERBS)]
        cluster += _kind_rules([obj for obj in cluster_objects if obj.resource != "namespaces"], ["create"])
        cluster += _kind_rules(cluster_objects, ["list", "watch"])
        local = [*_named_rules(namespaced, NAME_VERBS), *_named_rules(read, ["get"])]
        local += _kind_rules(namespaced, ["create", "list", "watch"])
        local += [
            _rule(group, [resource], ["get", "list", "watch"]) for group, resource in (*ROLLOUT_READS, *SERVICE_READS)
        ]
        return cluster, local
    raise ValueError(f"--identity {identity!r}: not one of {', '.join(IDENTITIES)}")


def renewal_rules(gateway: GatewayConfig) -> list[dict[str, object]]:
    """The renewal's writes: ``patch`` on the token Secret and the Deployment only, and the rollout's reads."""
    names = manifests.object_names(gateway)
    return [
        _rule("", ["secrets"], ["patch"], [names.token_secret]),
        _rule("apps", ["deployments"], ["patch"], [names.deployment]),
        _rule("apps", ["deployments"], ["list", "watch"]),  # the wait's informer (deployment.go line 163)
        *[_rule(group, [resource], ["get", "list", "watch"]) for group, resource in ROLLOUT_READS],
    ]


def parse_subject(text: str) -> dict[str, str]:
    """``ServiceAccount:<namespace>:<name>``, ``User:<name>`` or ``Group:<name>`` as an RBAC subject."""
    kind, _, rest = text.partition(":")
    if kind == "ServiceAccount" and rest.count(":") == 1 and all(rest.split(":")):
        namespace, name = rest.split(":")
        return {"kind": kind, "name": name, "namespace": namespace}
    if kind in ("User", "Group") and rest:
        return {"kind": kind, "name": rest, "apiGroup": "rbac.authorization.k8s.io"}
    raise ValueError(
        f"--subject {text!r}: expected ServiceAccount:<namespace>:<name>, User:<name> or Group:<name> "
        "(for AKS with Entra ID: User:<object id> or Group:<object id>)"
    )


def _binding(kind: str, role_kind: str, name: str, namespace: str | None, subject: dict[str, str]) -> dict[str, object]:
    metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": metadata,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": name},
        "subjects": [subject],
    }


def _role(kind: str, name: str, namespace: str | None, role_rules: list[dict[str, object]]) -> dict[str, object]:
    metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": metadata, "rules": role_rules}


def gateway_manifests(
    gateway: GatewayConfig, owner: str, identity: str, subject: dict[str, str], proxy_credentials: bool = False
) -> list[dict[str, object]]:
    """The objects that give ``subject`` the rights of ``identity`` for one gateway of the stack ``owner``.

    A Role cannot be bound in a namespace that does not exist (a RoleBinding is a namespaced object),
    so the deploy identity could not act in a namespace it creates itself without rights in every
    namespace. The deploy's manifests therefore hold the gateway's namespace when the stack owns it
    (``namespace.create``), annotated as this stack's (``cluster_guard.OWNER_ANNOTATION``): the
    stack then manages it as its own (the cluster guard accepts it), and deletes it, with these
    bindings in it, on ``pulumi destroy``; apply them again before the next ``pulumi up``."""
    from .cluster_guard import OWNER_ANNOTATION

    owned, read = owned_objects(gateway, proxy_credentials), read_objects(gateway)
    cluster_rules, local_rules = rules(identity, owned, read)
    if identity == "renewal":
        local_rules += renewal_rules(gateway)
    namespace = gateway.namespace_name
    cluster_name = f"apim-gateway-{keyless_owner(owner).replace('/', '-')}-{gateway.name}-{identity}"
    local_name = f"apim-gateway-{gateway.name}-{identity}"  # gateways may share a namespace
    found: list[dict[str, object]] = []
    if identity == "deploy" and gateway.namespace.create:
        found.append(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": namespace, "annotations": {OWNER_ANNOTATION: owner}},
            }
        )
    found += [
        _role("ClusterRole", cluster_name, None, cluster_rules),
        _binding("ClusterRoleBinding", "ClusterRole", cluster_name, None, subject),
        _role("Role", local_name, namespace, local_rules),
        _binding("RoleBinding", "Role", local_name, namespace, subject),
    ]
    return found


def stack_manifests(config: StackConfig, owner: str, identity: str, subject: dict[str, str]) -> list[dict[str, object]]:
    """Every applied gateway's manifests (a gateway rendered to files touches no cluster)."""
    if identity not in IDENTITIES:
        raise ValueError(f"--identity {identity!r}: not one of {', '.join(IDENTITIES)}")
    found: list[dict[str, object]] = []
    for gateway in config.gateways:
        if gateway.kubernetes.render_yaml_to_directory:
            continue
        proxy = gateway.name in config.proxy_credentials
        found += gateway_manifests(gateway, owner, identity, subject, proxy)
    return found


SECRET_MAPS = ("gatewayTokens", "entraClientSecrets", "proxyCredentials")
"""Secret settings keyed by gateway: which gateways have one decides which Secrets exist, never the value."""


def names_only(raw: dict[str, object]) -> tuple[dict[str, object], tuple[str, ...]]:
    """A stack file's config with every secret value replaced by a placeholder (only names decide the
    rights; the values are never needed, nor decrypted), and the secret keys. An ``existing``-mode
    gateway without its token in the file yet gets a placeholder, so the rights can be granted first."""
    # Neither names an object: the kubeconfig is the cluster, the owner key only signs the annotation.
    config = {key: value for key, value in raw.items() if key not in (f"{PREFIX}kubeconfig", f"{PREFIX}ownerKey")}
    gateways = config.get(f"{PREFIX}gateways") or []
    apim = config.get(f"{PREFIX}apim") or {}
    if isinstance(apim, dict) and apim.get("mode") == "existing" and isinstance(gateways, list):
        tokens = config.get(f"{PREFIX}gatewayTokens") or {}
        names = [str(g.get("name")) for g in gateways if isinstance(g, dict)]
        config[f"{PREFIX}gatewayTokens"] = {**dict.fromkeys(names), **(tokens if isinstance(tokens, dict) else {})}
    secret_keys = []
    for key in SECRET_MAPS:
        value = config.get(f"{PREFIX}{key}")
        if isinstance(value, dict):
            config[f"{PREFIX}{key}"] = {name: _placeholder(key, str(name)) for name in value}
            secret_keys.append(f"{PREFIX}{key}")
    return config, tuple(secret_keys)


def _placeholder(key: str, gateway: str) -> str:
    if key == "gatewayTokens":
        return f"GatewayKey {gateway}&209912310000&cGxhY2Vob2xkZXI="  # the shape only; never used
    return "placeholder:placeholder" if key == "proxyCredentials" else "placeholder"


OWNER_KEY_VARIABLE = "APIMGW_OWNER_KEY"
"""Where this command takes the stack's ``apim-gateway:ownerKey`` from, when the stack file sets one:
the Namespace it prints must carry the stack instance's ownership value (``ownership.py``)."""


def load_stack(stack: str, directory: Path) -> tuple[StackConfig, str]:
    """The stack's parsed config (``Pulumi.<stack>.yaml``, names only: ``names_only``) and its owner,
    the ownership annotation's value (``ownership.owner_for``) with the key from ``APIMGW_OWNER_KEY``;
    ``<project>/<stack>`` when the variable is unset (``needs_owner_key`` says when that is wrong)."""
    from ..config import parse_stack_config
    from .ownership import owner_for

    project = yaml.safe_load((directory / "Pulumi.yaml").read_text())["name"]
    config, secret_keys = names_only(_stack_file(stack, directory))
    key = os.environ.get(OWNER_KEY_VARIABLE) or None
    return parse_stack_config(config, secret_keys), owner_for(f"{project}/{stack}", key)


def _stack_file(stack: str, directory: Path) -> dict[str, object]:
    document = yaml.safe_load((directory / f"Pulumi.{stack}.yaml").read_text()) or {}
    return dict(document.get("config") or {})


def needs_owner_key(stack: str, directory: Path, identity: str, config: StackConfig) -> str | None:
    """Why this run needs ``APIMGW_OWNER_KEY`` and lacks it (None: it does not): only the deploy
    identity's manifests hold an object with the ownership annotation, the namespace the stack owns."""
    if identity != "deploy" or os.environ.get(OWNER_KEY_VARIABLE):
        return None
    if f"{PREFIX}ownerKey" not in _stack_file(stack, directory):
        return None
    if not any(g.namespace.create and not g.kubernetes.render_yaml_to_directory for g in config.gateways):
        return None
    return (
        f"Pulumi.{stack}.yaml sets {PREFIX}ownerKey, so the Namespace printed for the deploy identity must carry "
        f"this stack instance's ownership value: run with {OWNER_KEY_VARIABLE}="
        f'"$(pulumi config get {PREFIX}ownerKey --stack {stack})"'
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--stack", required=True, help="the stack whose Pulumi.<stack>.yaml names the objects")
    parser.add_argument("--identity", required=True, choices=IDENTITIES)
    parser.add_argument(
        "--subject", required=True, help="ServiceAccount:<namespace>:<name>, User:<name> or Group:<name>"
    )
    parser.add_argument("--project-dir", type=Path, default=Path.cwd(), help="where Pulumi.yaml is (default: here)")
    options = parser.parse_args(argv)
    try:
        subject = parse_subject(options.subject)
        config, owner = load_stack(options.stack, options.project_dir)
        missing = needs_owner_key(options.stack, options.project_dir, options.identity, config)
        if missing:
            raise ValueError(missing)
        documents = stack_manifests(config, owner, options.identity, subject)
    except (ValueError, OSError) as error:
        print(f"{COMMAND}: {error}", file=sys.stderr)
        return 2
    sys.stdout.write(yaml.safe_dump_all(documents, sort_keys=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
