"""Reuse for real: the package built from the repository, installed into a fresh virtualenv
outside it, deploys the gateway from another Python stack and from the Pulumi YAML example,
through the real engine, against the local API server.

- The wheel and sdist come from ``python -m build`` of the repository's files (tracked and
  untracked-but-not-ignored, what a clone or a commit holds); by default it builds the sdist
  and then the wheel *from the sdist* (``python -m build --help``), so installing the wheel also
  proves the sdist complete.
- The virtualenv gets the wheel with ``requirements.txt`` as *constraints* (``pip install -c``):
  the pins choose the versions, but only what the wheel declares is installed, so a dependency
  missing from ``pyproject.toml`` fails the imports here (``cryptography`` once did).
- The consumers' programs live outside the repository, with no ``PYTHONPATH``: their language
  host (``PULUMI_PYTHON_CMD``), the engine's dynamic-provider host (``pulumi-resource-pulumi-
  python`` runs ``$PULUMI_PYTHON_CMD -m pulumi.dynamic``, which unpickles each provider by
  reference to its ``components.*`` module: pulumi ``dynamic/dynamic.py``) and the package's
  provider (the console script ``pulumi-resource-apim-gateway``, found on ``$PATH`` as the
  engine looks for any plugin first: pulumi ``sdk/go/common/workspace/plugins.go``,
  ``getPluginInfoAndPath``) all run the virtualenv's install alone.
- ``examples/yaml/Pulumi.yaml`` runs unchanged, with the YAML language host the toolchain builds
  (``scripts/toolchain.sh plugins``) and the kubeconfig of the local API server as the ambient
  ``KUBECONFIG``.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from engine import engine_env, pulumi, require_engine
from packaging.requirements import Requirement

from components.config import GatewayConfig
from components.kubernetes.cluster_guard import OWNER_ANNOTATION
from components.package.plugin import stack_config

ROOT = Path(__file__).resolve().parents[2]
SIGNATURE = "aW5zdGFsbGVkLXBhY2thZ2UtdGVzdA"
TOKEN = f"GatewayKey team-b-gw&203001010000&{SIGNATURE}"
EXAMPLE = ROOT / "examples" / "yaml" / "Pulumi.yaml"
BUILD_TIMEOUT = 600
INSTALL_TIMEOUT = 900

pytestmark = pytest.mark.integration

PYTHON_GATEWAY: dict[str, Any] = {
    "name": "team-b-gw",
    "locationData": {"name": "on-premises", "city": "Dublin"},
    "replicas": 2,
    "rollout": {"maxUnavailable": 0, "maxSurge": 1},
    "service": {"type": "ClusterIP"},
    "logs": {"level": "warn"},
}
"""The YAML example's gateway, as a Python stack writes it (``test_the_consumers_have_the_same_config``)."""

PYTHON_CONSUMER = """\
\"\"\"Another team's Python stack, reusing the component from the installed package.\"\"\"
import json

import components
import pulumi
from components import GatewayConfig, SelfHostedGateway, SelfHostedGatewayArgs

gateway = GatewayConfig.model_validate(json.loads(open("gateway.json").read()))
component = SelfHostedGateway(
    "gateway",
    SelfHostedGatewayArgs(
        gateway=gateway,
        apim_mode="existing",
        apim_service_name="contoso-apim",
        token=pulumi.Config().require_secret("gatewayToken"),
    ),
)
pulumi.export("configurationEndpoint", component.configuration_endpoint)
pulumi.export("tokenExpiresOn", component.token_expires_on)
pulumi.export("componentsFrom", components.__file__)
"""

IMPORT_EVERYTHING = """\
import importlib, json, pkgutil, sys
import components
names = sorted(m.name for m in pkgutil.walk_packages(components.__path__, "components."))
for name in names:
    importlib.import_module(name)
print(json.dumps({"modules": ["components", *names], "file": components.__file__, "path": sys.path}))
"""


@dataclass(frozen=True)
class Install:
    venv: Path

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    @property
    def python(self) -> Path:
        return self.bin / "python"


@dataclass
class Run:
    """One consumer's ``pulumi up`` and what it left: engine output, state, live objects."""

    directory: Path
    env: dict[str, str]
    output: str
    state: dict[str, Any]
    objects: dict[tuple[str, str, str, str], dict[str, Any]]
    outputs: dict[str, Any]
    seconds: float = 0.0
    """How long ``pulumi up`` took (docs/multi-language.md reports it)."""
    destroyed: bool = False


def run(args: list[str], timeout: float, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False, **kwargs)
    assert done.returncode == 0, f"{' '.join(map(str, args))} failed:\n{done.stdout}\n{done.stderr}"
    return done


def repository_files() -> list[str]:
    """What a commit of the working tree holds: tracked files, and untracked ones git does not ignore."""
    listed = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], 60, cwd=ROOT).stdout
    return [name for name in listed.split("\0") if name and (ROOT / name).is_file()]


def expected_package_files() -> set[str]:
    return {path.relative_to(ROOT).as_posix() for path in (ROOT / "components").rglob("*.py")} | {"components/py.typed"}


def expected_modules() -> set[str]:
    names = set()
    for path in (ROOT / "components").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        names.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


@pytest.fixture(scope="module")
def distributions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The sdist and wheel ``python -m build`` makes from a copy of the repository's files."""
    base = tmp_path_factory.mktemp("package")
    source, dist = base / "source", base / "dist"
    for name in repository_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    run([sys.executable, "-m", "build", "--outdir", str(dist), str(source)], BUILD_TIMEOUT)
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    return wheel, sdist


@pytest.fixture(scope="module")
def installed(distributions: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Install:
    """A fresh virtualenv outside the repository with the wheel, the pins as constraints."""
    install = Install(tmp_path_factory.mktemp("consumer-env") / "venv")
    assert not install.venv.is_relative_to(ROOT)
    run([sys.executable, "-m", "venv", str(install.venv)], 300)
    pip = [str(install.python), "-m", "pip", "--disable-pip-version-check", "--no-input"]
    start = time.monotonic()
    # --no-compile as scripts/bootstrap.sh installs (why and what it saves: there).
    run(
        [*pip, "install", "--quiet", "--no-compile", "-c", str(ROOT / "requirements.txt"), str(distributions[0])],
        INSTALL_TIMEOUT,
    )
    print(f"pip install of the wheel: {time.monotonic() - start:.1f} s")
    return install


def test_the_wheel_and_the_sdist_hold_every_module_and_declare_every_dependency(
    distributions: tuple[Path, Path],
) -> None:
    wheel, sdist = distributions
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (metadata,) = (name for name in names if name.endswith(".dist-info/METADATA"))
        requires = [
            str(Requirement(line.split(":", 1)[1].strip()))
            for line in archive.read(metadata).decode().splitlines()
            if line.startswith("Requires-Dist:")
        ]
        entry_points = [name for name in names if name.endswith(".dist-info/entry_points.txt")]
        scripts = archive.read(entry_points[0]).decode() if entry_points else "(no entry_points.txt)"
    with tarfile.open(sdist) as archive:
        sdist_names = [member.name.split("/", 1)[1] for member in archive.getmembers() if member.isfile()]
    expected = expected_package_files()
    assert {"components/config/stack.py", "components/kubernetes/manifests/workload.py"} <= expected
    assert {name for name in names if name.startswith("components/")} == expected
    assert {name for name in sdist_names if name.startswith("components/")} == expected
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert sorted(requires) == sorted(str(Requirement(text)) for text in declared)
    assert any(requirement.startswith("cryptography") for requirement in requires)
    assert "pulumi-resource-apim-gateway = components.package.plugin:main" in scripts


def test_the_install_alone_imports_every_module(installed: Install, tmp_path: Path) -> None:
    """``-I``: no ``PYTHONPATH``, no user site, not even the current directory on ``sys.path``."""
    done = run([str(installed.python), "-I", "-c", IMPORT_EVERYTHING], 300, cwd=tmp_path)
    report = json.loads(done.stdout)
    assert set(report["modules"]) == expected_modules()
    assert Path(report["file"]).is_relative_to(installed.venv)
    assert [entry for entry in report["path"] if entry and Path(entry).resolve().is_relative_to(ROOT)] == []
    assert (installed.bin / "pulumi-resource-apim-gateway").is_file()


def test_the_install_has_exactly_the_pinned_versions(installed: Install, tmp_path: Path) -> None:
    pins = {
        Requirement(line).name: str(Requirement(line).specifier)[2:]
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    run([str(installed.python), "-m", "pip", "check", "--disable-pip-version-check"], 300)
    script = "import importlib.metadata as m, json, sys; print(json.dumps({n: m.version(n) for n in sys.argv[1:]}))"
    versions = json.loads(run([str(installed.python), "-I", "-c", script, *pins], 60, cwd=tmp_path).stdout)
    assert versions == pins


# --------------------------------------------------------------------------- through the engine


def require_yaml_host() -> None:
    if shutil.which("pulumi-language-yaml"):
        return
    message = 'pulumi-language-yaml is needed (scripts/toolchain.sh plugins, then eval "$(scripts/toolchain.sh env)")'
    if os.environ.get("APIMGW_REQUIRE_CLUSTER"):
        pytest.fail(message)
    pytest.skip(message)


def consumer_env(tmp_path: Path, install: Install, cluster: Any, python: Path | None = None) -> dict[str, str]:
    """The engine with the install's ``bin/`` first on ``$PATH`` (an activated virtualenv), its
    Python for the language and dynamic-provider hosts, and the local API server as the ambient
    kubeconfig."""
    env = engine_env(
        tmp_path,
        PATH=f"{install.bin}{os.pathsep}{os.environ['PATH']}",
        PULUMI_PYTHON_CMD=str(python or install.python),
        KUBECONFIG=str(cluster.kubeconfig),
        PYTHONNOUSERSITE="1",
    )
    for name in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
        env.pop(name, None)
    return env


def export(directory: Path, env: dict[str, str]) -> dict[str, Any]:
    state: dict[str, Any] = json.loads(pulumi(["stack", "export"], directory, env).stdout)
    return state


def resources(state: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = state["deployment"].get("resources") or []
    return found


def object_keys(state: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(apiVersion, kind, namespace, name) of every Kubernetes object in a stack's state."""
    keys = []
    for resource in resources(state):
        if resource["type"].startswith("kubernetes:") and "outputs" in resource:
            outputs, metadata = resource["outputs"], resource["outputs"]["metadata"]
            keys.append((outputs["apiVersion"], outputs["kind"], metadata.get("namespace", ""), metadata["name"]))
    return sorted(keys)


DYNAMIC_CLIENTS: dict[int, Any] = {}
"""One dynamic client (one API discovery) per API client."""


def live(client: Any, key: tuple[str, str, str, str]) -> dict[str, Any] | None:
    """The object as the API server has it now, or None."""
    from kubernetes.dynamic import DynamicClient
    from kubernetes.dynamic.exceptions import NotFoundError

    api_version, kind, namespace, name = key
    dynamic = DYNAMIC_CLIENTS.setdefault(id(client), DynamicClient(client))  # type: ignore[no-untyped-call]
    resource = dynamic.resources.get(api_version=api_version, kind=kind)
    try:
        found: dict[str, Any] = resource.get(name=name, namespace=namespace or None).to_dict()
    except NotFoundError:
        return None
    return found


def normalized(obj: dict[str, Any]) -> dict[str, Any]:
    """An object without what the API server assigns per creation (ids, times, addresses, status),
    and without what is per stack by design: the owner annotation names the consumer's project
    (components/kubernetes/cluster_guard.py), the credentials digest is an HMAC under the stack's own key
    (components/kubernetes/rollout.py); the two digests must still both exist."""
    obj = copy.deepcopy(obj)
    obj.pop("status", None)
    metadata = obj["metadata"]
    for key in ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "selfLink"):
        metadata.pop(key, None)
    annotations = metadata.get("annotations") or {}
    annotations.pop("deployment.kubernetes.io/revision", None)
    assert annotations.pop(OWNER_ANNOTATION, "").endswith("/dev")
    if obj["kind"] == "Deployment":
        template = obj["spec"]["template"]["metadata"]["annotations"]
        assert re.fullmatch(r"[0-9a-f]{64}", template.pop("checksum/credentials"))
    if obj["kind"] == "Service":
        for key in ("clusterIP", "clusterIPs"):
            obj["spec"].pop(key, None)
    return obj


def up(directory: Path, env: dict[str, str], client: Any) -> Run:
    start = time.monotonic()
    done = pulumi(["up", "--yes", "--skip-preview", "--non-interactive"], directory, env)
    seconds = time.monotonic() - start
    state = export(directory, env)
    objects = {}
    for key in object_keys(state):
        found = live(client, key)
        assert found is not None, f"{key} is in the state but not in the cluster"
        objects[key] = found
    outputs = json.loads(pulumi(["stack", "output", "--json"], directory, env).stdout)
    print(f"pulumi up in {directory}: {seconds:.1f} s, {len(resources(state))} resources")
    return Run(directory, env, done.stdout + done.stderr, state, objects, outputs, seconds)


def destroy(deployed: Run) -> subprocess.CompletedProcess[str]:
    start = time.monotonic()
    done = pulumi(["destroy", "--yes", "--skip-preview", "--non-interactive"], deployed.directory, deployed.env)
    deployed.destroyed = True
    print(f"pulumi destroy in {deployed.directory}: {time.monotonic() - start:.1f} s")
    return done


def gone(client: Any, keys: list[tuple[str, str, str, str]], timeout: float = 90) -> list[tuple[str, str, str, str]]:
    """The keys still in the cluster after ``timeout`` (a namespace terminates asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = [key for key in keys if live(client, key) is not None]
        if not remaining or time.monotonic() > deadline:
            return remaining
        time.sleep(2)


def program(tmp_path: Path, files: dict[str, str]) -> Path:
    directory = tmp_path / "program"
    directory.mkdir()
    for name, text in files.items():
        (directory / name).write_text(text)
    assert not directory.is_relative_to(ROOT)
    return directory


def new_stack(directory: Path, env: dict[str, str], token: str = TOKEN) -> None:
    pulumi(["stack", "init", "dev"], directory, env)
    pulumi(["config", "set", "--secret", "gatewayToken", token], directory, env)


@pytest.fixture(scope="module")
def python_consumer(
    installed: Install, local_cluster: Any, k8s_api_client: Any, tmp_path_factory: pytest.TempPathFactory
) -> Run:
    """A Python stack using the installed component for the YAML example's gateway: up, then destroy."""
    require_engine()
    tmp_path = tmp_path_factory.mktemp("python-consumer")
    files = {
        "Pulumi.yaml": "name: team-gateway\nruntime: python\n",
        "__main__.py": PYTHON_CONSUMER,
        "gateway.json": json.dumps(PYTHON_GATEWAY),
    }
    directory = program(tmp_path, files)
    env = consumer_env(tmp_path, installed, local_cluster)
    new_stack(directory, env)
    deployed = Run(directory, env, "", {}, {}, {})
    try:
        deployed = up(directory, env, k8s_api_client)
    finally:
        destroy(deployed)
    return deployed


@pytest.fixture(scope="module")
def yaml_consumer(
    python_consumer: Run,
    installed: Install,
    local_cluster: Any,
    k8s_api_client: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Run]:
    """``examples/yaml/Pulumi.yaml``, unchanged, after the Python consumer's destroy (same gateway)."""
    require_yaml_host()
    tmp_path = tmp_path_factory.mktemp("yaml-consumer")
    directory = program(tmp_path, {"Pulumi.yaml": EXAMPLE.read_text()})
    env = consumer_env(tmp_path, installed, local_cluster)
    new_stack(directory, env)
    deployed = Run(directory, env, "", {}, {}, {})
    try:
        deployed = up(directory, env, k8s_api_client)
        yield deployed
    finally:
        if not deployed.destroyed:
            pulumi(["destroy", "--yes", "--skip-preview", "--non-interactive"], directory, env, check=False)


def test_the_consumers_have_the_same_config() -> None:
    """What the YAML example gives the package is, once the package has parsed it, the Python
    consumer's gateway."""
    properties = yaml.safe_load(EXAMPLE.read_text())["resources"]["gateway"]["properties"]
    parsed = stack_config({**properties, "gatewayToken": TOKEN})  # type: ignore[typeddict-item]
    assert parsed.gateways[0] == GatewayConfig.model_validate(PYTHON_GATEWAY)
    assert (parsed.environment, parsed.apim.mode, parsed.apim.service_name) == ("dev", "existing", "contoso-apim")


def test_a_python_stack_deploys_with_the_installed_package_alone(python_consumer: Run, installed: Install) -> None:
    assert Path(python_consumer.outputs["componentsFrom"]).is_relative_to(installed.venv)
    assert python_consumer.outputs["tokenExpiresOn"] == "2030-01-01T00:00:00Z"
    kinds = sorted(kind for _, kind, _, _ in python_consumer.objects)
    assert {"Namespace", "Secret", "ConfigMap", "Deployment", "Service", "PodDisruptionBudget"} <= set(kinds)
    deployment = next(obj for (_, kind, _, _), obj in python_consumer.objects.items() if kind == "Deployment")
    assert deployment["status"].get("availableReplicas") == 2
    # The dynamic resources ran in the dynamic-provider host, on the install alone.
    dynamic = [r["urn"] for r in resources(python_consumer.state) if r["type"].startswith("pulumi-python:dynamic")]
    assert any(urn.endswith("::gateway-delivery-mode") for urn in dynamic), dynamic
    assert SIGNATURE not in python_consumer.output + json.dumps(python_consumer.state)


def test_the_python_stacks_destroy_removed_everything(python_consumer: Run, k8s_api_client: Any) -> None:
    assert python_consumer.destroyed
    assert gone(k8s_api_client, list(python_consumer.objects)) == []
    assert [r["type"] for r in resources(export(python_consumer.directory, python_consumer.env))] == []


def test_bad_yaml_config_ends_with_the_stacks_message_and_creates_nothing(
    installed: Install, local_cluster: Any, k8s_api_client: Any, tmp_path: Path
) -> None:
    require_engine()
    require_yaml_host()
    text = EXAMPLE.read_text()
    assert text.count('maxSurge: "1"') == 1 and text.count("name: team-b-gw") == 1
    bad = text.replace('maxSurge: "1"', 'maxSurge: "0"').replace("name: team-b-gw", "name: team-c-gw")
    directory = program(tmp_path, {"Pulumi.yaml": bad})
    env = consumer_env(tmp_path, installed, local_cluster)
    new_stack(directory, env, TOKEN.replace("team-b-gw", "team-c-gw"))
    done = pulumi(["up", "--yes", "--skip-preview", "--non-interactive"], directory, env, check=False)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert (
        "invalid stack configuration (1 problem(s)):\n"
        '      - apim-gateway:gateways[0](team-c-gw).rollout = {"maxUnavailable": 0, "maxSurge": 0}: '
        "maxUnavailable and maxSurge cannot both be 0: the rollout could never progress"
    ) in output, output
    assert "Traceback" not in output and "components/package/plugin.py" not in output
    created = [r["type"] for r in resources(export(directory, env))]
    assert [kind for kind in created if not kind.startswith(("pulumi:pulumi:Stack", "pulumi:providers:"))] == []
    assert live(k8s_api_client, ("v1", "Namespace", "", "team-c-gw")) is None


def test_without_the_install_the_dynamic_provider_host_cannot_load_the_component(
    installed: Install, local_cluster: Any, k8s_api_client: Any, tmp_path: Path
) -> None:
    """The install step docs/multi-language.md asks for: the dynamic-provider host's Python (here
    the test's own, which has the pinned requirements but not this package) must import
    ``components``, or the first dynamic resource, the delivery-mode guard, fails."""
    require_engine()
    require_yaml_host()
    directory = program(tmp_path, {"Pulumi.yaml": EXAMPLE.read_text().replace("name: team-b-gw", "name: team-d-gw")})
    env = consumer_env(tmp_path, installed, local_cluster, python=Path(sys.executable))
    new_stack(directory, env, TOKEN.replace("team-b-gw", "team-d-gw"))
    try:
        done = pulumi(["up", "--yes", "--skip-preview", "--non-interactive"], directory, env, check=False)
        output = done.stdout + done.stderr
        assert done.returncode != 0
        # The first of the component's dynamic resources to run fails (the rollout key or a guard).
        assert "No module named 'components'" in output, output
        assert re.search(r"gateway-(rollout-key|delivery-mode|cluster)", output), output
    finally:
        pulumi(["destroy", "--yes", "--skip-preview", "--non-interactive"], directory, env, check=False)


def test_the_yaml_example_creates_what_the_python_component_creates(yaml_consumer: Run, python_consumer: Run) -> None:
    assert "using pulumi-resource-apim-gateway from $PATH" in yaml_consumer.output
    assert sorted(kind for _, kind, _, _ in yaml_consumer.objects) == [
        "ConfigMap",
        "Deployment",
        "Namespace",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "Secret",
        "Service",
        "Service",
    ]
    assert sorted(yaml_consumer.objects) == sorted(python_consumer.objects)
    for key, obj in yaml_consumer.objects.items():
        assert normalized(obj) == normalized(python_consumer.objects[key]), key

    def children(state: dict[str, Any]) -> list[tuple[str, str]]:
        return sorted(
            (r["type"], r["urn"].rsplit("::", 1)[-1])
            for r in resources(state)
            if not r["type"].startswith(("pulumi:pulumi:Stack", "pulumi:providers:"))
        )

    assert children(yaml_consumer.state) == children(python_consumer.state)
    assert ("apim-gateway:index:SelfHostedGateway", "gateway") in children(yaml_consumer.state)


def test_a_second_yaml_preview_has_no_changes(yaml_consumer: Run) -> None:
    start = time.monotonic()
    done = pulumi(["preview", "--expect-no-changes", "--non-interactive"], yaml_consumer.directory, yaml_consumer.env)
    print(f"pulumi preview --expect-no-changes: {time.monotonic() - start:.1f} s")
    assert SIGNATURE not in done.stdout + done.stderr


def test_the_yaml_secret_token_reaches_the_cluster_and_nowhere_in_plain_text(yaml_consumer: Run) -> None:
    assert yaml_consumer.outputs["tokenExpiresOn"] == "2030-01-01T00:00:00Z"  # read from the token
    assert SIGNATURE not in json.dumps(yaml_consumer.outputs)
    assert SIGNATURE not in json.dumps(yaml_consumer.state)
    assert SIGNATURE not in yaml_consumer.output
    assert SIGNATURE not in (yaml_consumer.directory / "Pulumi.dev.yaml").read_text()
    secrets = [obj for (_, kind, _, _), obj in yaml_consumer.objects.items() if kind == "Secret"]
    values = [base64.b64decode(value).decode() for obj in secrets for value in (obj.get("data") or {}).values()]
    assert TOKEN in values  # delivered: the check above could fail


def test_the_yaml_destroy_removes_everything(yaml_consumer: Run, k8s_api_client: Any) -> None:
    """The example keeps nothing: no configuration backup, so no ``keepOnDestroy``."""
    assert "backup" not in EXAMPLE.read_text()
    destroy(yaml_consumer)
    assert gone(k8s_api_client, list(yaml_consumer.objects)) == []
    assert resources(export(yaml_consumer.directory, yaml_consumer.env)) == []
