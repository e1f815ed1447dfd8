"""Offline plan: run a Pulumi program under Pulumi's mocks and record what it registers.

No cloud, no cluster and no Pulumi CLI are involved: the program runs in-process and
every resource registration is answered by stand-ins (``OfflineMocks``): Azure
resources and the APIM instance invoke answer as Azure Resource Manager does in Microsoft's own
REST examples (``tests/arm_examples.py``: the example's response shape, ids and names rebuilt from
the inputs, ``properties`` flattened as azure-native does), the token resource returns a
token-shaped placeholder, the client-config invoke a fixed identity. The recording keeps each
resource's inputs as the engine would receive them, the outputs the mocks answered with, and the
paths of the inputs and stack outputs that travel as secrets (read from the wire format, where a
secret carries Pulumi's secret signature). The unit tests assert on it; ``scripts/local_demo.py`` applies the
recorded Kubernetes objects to a local API server.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pulumi
from arm_examples import ARM_RESOURCES, instance
from google.protobuf import json_format  # type: ignore[import-untyped]
from pulumi.runtime import mocks, settings

from components.kubernetes.rollout import KEY_PROPERTY as ROLLOUT_KEY_PROPERTY

SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
SIG_KEY = "4dabf18193072939515e22adb298388d"
SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000001"
TENANT_ID = "00000000-0000-0000-0000-0000000000aa"
APIM_PRINCIPAL_ID = instance("msi", SUBSCRIPTION_ID, "rg", "svc")["identity"]["principalId"]
"""Principal id of the APIM instance's system-assigned identity: the one of Microsoft's
``ApiManagementServiceGetServiceHavingMsi.json`` example, which the instance invoke answers with."""
FAKE_ROLLOUT_KEY = "00" * 32
"""The rollout key (components/kubernetes/rollout.py) a stack's state holds, fixed: a real stack keeps the
key its first ``pulumi up`` drew, so re-running the program changes no annotation."""
FAKE_KUBECONFIG = (
    "apiVersion: v1\nkind: Config\ncurrent-context: aks\n"
    "clusters:\n- name: aks\n  cluster: {server: 'https://aks.example.invalid:443'}\n"
    "contexts:\n- name: aks\n  context: {cluster: aks, user: aks}\n"
    "users:\n- name: aks\n  user: {token: aks-user-secret-token}\n"
)


def fake_token(gateway_id: str, expires_on: str, key_type: str) -> str:
    """What the mocked token resource returns: shaped like a real token, unique per input."""
    stamp = expires_on.replace("-", "").replace("T", "").replace(":", "")[:12]
    return f"GatewayKey {gateway_id}&{stamp}&sig-{key_type}-{stamp}=="


@dataclass
class Registered:
    type: str
    name: str
    inputs: dict[str, Any]
    """Inputs as the engine receives them, secrets unwrapped."""
    plain: dict[str, Any]
    """Inputs with every secret replaced by "[secret]": what may show in plain text."""
    secret_paths: set[str]
    parent: str
    provider: str
    dependencies: list[str] = field(default_factory=list)
    """URNs this resource was registered as depending on (``depends_on`` and input dependencies)."""
    retain_on_delete: bool = False
    """The ``retain_on_delete`` option: on destroy the engine never asks the provider to delete it."""
    ignore_changes: tuple[str, ...] = ()
    aliases: list[str] = field(default_factory=list)
    """Aliases as the engine receives them: URNs, or alias specs as JSON (``aliasSpecs``)."""
    custom_timeouts: dict[str, str] = field(default_factory=dict)
    """The ``custom_timeouts`` option (``create``, ``update``, ``delete``; unset ones left out)."""
    id: str = ""
    """The id the mocks answered with (for an Azure resource, its ARM resource id)."""
    outputs: dict[str, Any] = field(default_factory=dict)
    """The outputs the mocks answered with (for an Azure resource, ARM's answer in azure-native's shape)."""
    import_id: str = ""
    """The ``import_`` option: the id of an existing resource the engine reads instead of creating."""


@dataclass
class Recording:
    resources: list[Registered] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    plain_outputs: dict[str, Any] = field(default_factory=dict)
    output_secret_paths: set[str] = field(default_factory=set)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def of_type(self, type_: str) -> list[Registered]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> Registered:
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        assert len(found) == 1, f"expected one {type_} {name or ''}, found {[r.name for r in found]}"
        return found[0]

    def k8s(self, kind_type: str) -> list[dict[str, Any]]:
        """Inputs of every resource of a kubernetes type, as Kubernetes objects."""
        return [r.inputs for r in self.of_type(kind_type)]


def _walk_secrets(value: Any, path: str = "") -> Iterator[str]:
    if isinstance(value, dict):
        if value.get(SIG_KEY) == SECRET_SIG:
            yield path or "."
            return
        for key, child in value.items():
            yield from _walk_secrets(child, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _walk_secrets(child, f"{path}[{index}]")


class UnknownArmTypeError(AssertionError):
    """An azure-native resource type no Microsoft example answers for (add one to ``ARM_RESOURCES``)."""


EXISTING_OBJECTS: dict[str, dict[str, Any]] = {}
"""Objects a program reads (``Resource.get``) by their id (``<namespace>/<name>`` for Kubernetes):
the state the read returns. Tests fill it (and empty it) themselves."""


class OfflineMocks(pulumi.runtime.Mocks):
    def __init__(self, recording: Recording, instance_example: str = "msi") -> None:
        self.recording = recording
        self.instance_example = instance_example
        """Which ``ApiManagementService_Get`` example the instance invoke answers from
        (``arm_examples.INSTANCE_EXAMPLES``)."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        if args.resource_id and args.resource_id in EXISTING_OBJECTS:  # a read of an object a test provides
            return args.resource_id, dict(EXISTING_OBJECTS.get(args.resource_id, {}))
        if args.typ.startswith("azure-native:"):
            if args.typ not in ARM_RESOURCES:
                raise UnknownArmTypeError(f"no Microsoft example answers for {args.typ} (tests/arm_examples.py)")
            return ARM_RESOURCES[args.typ].outputs(args.inputs, SUBSCRIPTION_ID, TENANT_ID)
        state = dict(args.inputs)
        if args.typ == "pulumi-python:dynamic:Resource" and "expires_on" in args.inputs:
            state["value"] = fake_token(args.inputs["gateway_id"], args.inputs["expires_on"], args.inputs["key_type"])
        if args.typ == "pulumi-python:dynamic:Resource" and ROLLOUT_KEY_PROPERTY in args.inputs:
            # The key the stack's state would hold: one per stack, kept across runs.
            state[ROLLOUT_KEY_PROPERTY] = FAKE_ROLLOUT_KEY
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        self.recording.calls.append((args.token, dict(args.args)))
        invoke = args.token  # the invoke's name, not a credential
        if invoke == "azure-native:containerservice:listManagedClusterUserCredentials":
            encoded = base64.b64encode(FAKE_KUBECONFIG.encode()).decode()
            return {"kubeconfigs": [{"name": "clusterUser", "value": encoded}]}, []
        if invoke == "azure-native:authorization:getClientConfig":
            return {
                "subscriptionId": SUBSCRIPTION_ID,
                "tenantId": TENANT_ID,
                "clientId": "00000000-0000-0000-0000-0000000000bb",
                "objectId": "00000000-0000-0000-0000-0000000000cc",
            }, []
        if invoke == "azure-native:apimanagement:getApiManagementService":
            # Microsoft's example instance under the stack's names: its location is a display name
            # ("West Europe") and its system-assigned identity is on (the validator role needs it).
            resource_group, service = str(args.args.get("resourceGroupName")), str(args.args.get("serviceName"))
            return instance(self.instance_example, SUBSCRIPTION_ID, resource_group, service), []
        return {}, []


class RecordingMonitor(mocks.MockMonitor):
    def __init__(self, recording: Recording, instance_example: str = "msi") -> None:
        super().__init__(OfflineMocks(recording, instance_example))
        self.recording = recording

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            wire = json_format.MessageToDict(request.object)
            self.recording.resources.append(
                Registered(
                    type=request.type,
                    name=request.name,
                    inputs=_strip_secrets(wire),
                    plain=_strip_secrets(wire, redact=True),
                    secret_paths=set(_walk_secrets(wire)),
                    parent=request.parent,
                    provider=request.provider,
                    dependencies=list(request.dependencies),
                    retain_on_delete=request.retainOnDelete,
                    ignore_changes=tuple(request.ignoreChanges),
                    aliases=[*request.aliasURNs, *(json.dumps(json_format.MessageToDict(a)) for a in request.aliases)],
                    custom_timeouts=json_format.MessageToDict(request.customTimeouts),
                    id=response.id,
                    import_id=request.importId,
                    outputs=_strip_secrets(json_format.MessageToDict(response.object)),
                )
            )
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        # urn:pulumi:<stack>::<project>::<type chain>::<name>; only the root stack's own outputs.
        if request.urn.split("::")[2] == "pulumi:pulumi:Stack":
            wire = json_format.MessageToDict(request.outputs)
            self.recording.outputs = _strip_secrets(wire)
            self.recording.plain_outputs = _strip_secrets(wire, redact=True)
            self.recording.output_secret_paths = set(_walk_secrets(wire))
        return super().RegisterResourceOutputs(request)  # type: ignore[no-untyped-call]


def restore_integers(value: Any) -> Any:
    """The wire format carries every number as a float; Kubernetes wants integers back."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: restore_integers(child) for key, child in value.items()}
    if isinstance(value, list):
        return [restore_integers(child) for child in value]
    return value


def _strip_secrets(value: Any, redact: bool = False) -> Any:
    """The wire value with secrets unwrapped, or with ``redact`` replaced by "[secret]"."""
    if isinstance(value, dict):
        if value.get(SIG_KEY) == SECRET_SIG:
            return "[secret]" if redact else _strip_secrets(value.get("value"))
        return {key: _strip_secrets(child, redact) for key, child in value.items()}
    if isinstance(value, list):
        return [_strip_secrets(child, redact) for child in value]
    return value


def run_program(
    program: Callable[[], None],
    config: dict[str, Any] | None = None,
    secret_keys: tuple[str, ...] = (),
    stack: str = "dev",
    preview: bool = False,
    recording: Recording | None = None,
    instance_example: str = "msi",
) -> Recording:
    """Run ``program`` under mocks with ``config`` (full keys) and return what it registered.

    ``secret_keys`` lists the config keys to treat as set with ``--secret``; ``preview`` runs
    it as ``pulumi preview`` does (outputs the mocks leave out are unknown). Pass a
    ``recording`` to see what was registered even when the program fails; ``instance_example``
    picks the ``ApiManagementService_Get`` example the instance invoke answers from.
    """
    recording = recording if recording is not None else Recording()
    monitor = RecordingMonitor(recording, instance_example)
    settings.ROOT.set(None)
    pulumi.runtime.set_mocks(monitor.mocks, project="apim-gateway", stack=stack, preview=preview, monitor=monitor)
    pulumi.runtime.set_all_config(
        {key: value if isinstance(value, str) else json.dumps(value) for key, value in (config or {}).items()},
        list(secret_keys),
    )

    def body() -> None:
        program()
        root = settings.get_root_resource()
        assert root is not None
        # set_mocks finishes the root stack before the program runs; register the
        # program's exports now, as the engine does when a real program ends.
        root._outputs_registered = False  # type: ignore[attr-defined]
        root._finish()  # type: ignore[attr-defined]

    pulumi.runtime.test(body)()  # type: ignore[no-untyped-call]
    return recording
