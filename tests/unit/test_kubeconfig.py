"""The kubeconfig the program pins for the provider and the cluster guard
(components/kubernetes/kubeconfig.py): resolved as client-go resolves it
(``k8s.io/client-go@v0.34.3/tools/clientcmd/loader.go``), never as the Python client does."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.kubernetes.kubeconfig import IN_CLUSTER, pin

SECRET = "c2VjcmV0LXRva2VuLXZhbHVl"


def kubeconfig(current: str | None, *entries: tuple[str, str, dict[str, Any]]) -> dict[str, Any]:
    """A kubeconfig with one context, cluster and user per ``(context, server, user)``."""
    document: dict[str, Any] = {"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [], "contexts": []}
    if current is not None:
        document["current-context"] = current
    for context, server, user in entries:
        document["clusters"].append({"name": f"{context}-cluster", "cluster": {"server": server}})
        document["users"].append({"name": f"{context}-user", "user": user})
        document["contexts"].append(
            {"name": context, "context": {"cluster": f"{context}-cluster", "user": f"{context}-user"}}
        )
    return document


def write(path: Path, document: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document))
    return path


def pinned(
    environ: dict[str, str], context: str | None = None, path: str | None = None, **kwargs: Any
) -> dict[str, Any]:
    result = pin(None, path, context, environ, **kwargs)
    assert result.problem is None and result.kubeconfig is not None
    document: dict[str, Any] = json.loads(result.kubeconfig)
    return document


def server(document: dict[str, Any]) -> str:
    (cluster,) = document["clusters"]
    return str(cluster["cluster"]["server"])


def test_in_a_kubeconfig_list_the_first_file_to_set_current_context_wins(tmp_path: Path) -> None:
    """client-go: "The first file to set a particular map key wins", and a zero value never
    overwrites (``loader.go``:184-195, :246-273; ``merge.go``:25-29). The Python client takes the
    last file's ``current-context`` (kubernetes 37.0.2 ``kube_config.py``:689): the guard used it."""
    first = write(tmp_path / "a" / "config", kubeconfig("first", ("first", "https://a.invalid", {"token": "a"})))
    second = write(tmp_path / "b" / "config", kubeconfig("second", ("second", "https://b.invalid", {"token": "b"})))
    unset = write(tmp_path / "c" / "config", kubeconfig(None))
    listed = f"{unset}:{first}:{second}"
    document = pinned({"KUBECONFIG": listed})
    assert document["current-context"] == "first" and server(document) == "https://a.invalid"
    from kubernetes.config.kube_config import KubeConfigMerger

    merged = KubeConfigMerger(listed).config  # type: ignore[no-untyped-call]
    assert merged.value["current-context"] == "second"  # why the guard may not use the Python client


def test_the_first_file_to_define_a_name_wins_and_missing_files_are_skipped(tmp_path: Path) -> None:
    """Same context name in two files: the first file's entry, whole (``loader.go``:184-195:
    "only values from the first file's red-user are used"); missing files skipped (:219-229)."""
    first = write(tmp_path / "a", kubeconfig("local", ("local", "https://a.invalid", {"token": "a"})))
    second = write(tmp_path / "b", kubeconfig("local", ("local", "https://b.invalid", {"token": "b"})))
    document = pinned({"KUBECONFIG": f"{tmp_path / 'missing'}:{first}:{second}:{first}"})
    assert server(document) == "https://a.invalid" and document["users"][0]["user"] == {"token": "a"}
    assert pinned({"KUBECONFIG": f"{second}:{first}"})["users"][0]["user"] == {"token": "b"}


def test_without_kubeconfig_the_home_file_is_read(tmp_path: Path) -> None:
    """``KUBECONFIG`` unset or empty: ``~/.kube/config`` (``loader.go``:158-178)."""
    write(tmp_path / ".kube" / "config", kubeconfig("home", ("home", "https://home.invalid", {})))
    assert server(pinned({"HOME": str(tmp_path), "KUBECONFIG": ""})) == "https://home.invalid"


def test_only_the_selected_context_is_kept(tmp_path: Path) -> None:
    path = write(
        tmp_path / "config",
        kubeconfig("a", ("a", "https://a.invalid", {"token": "a"}), ("b", "https://b.invalid", {"token": SECRET})),
    )
    document = pinned({"KUBECONFIG": str(path)}, context="b")
    assert document["current-context"] == "b" and server(document) == "https://b.invalid"
    assert [c["name"] for c in document["contexts"]] == ["b"] and len(document["users"]) == 1
    assert '"token": "a"' not in json.dumps(document)


def test_relative_references_resolve_against_their_own_file_and_files_are_embedded(tmp_path: Path) -> None:
    """``ResolveLocalPaths`` (``loader.go``:503-531) against the file that holds the entry; an exec
    command is a path only when it contains a separator (:604-609). Certificates and keys are
    embedded; a token file and an exec plugin stay references (short-lived credentials)."""
    directory = tmp_path / "kube"
    (directory / "pki").mkdir(parents=True)
    for name in ("ca.crt", "client.crt", "client.key"):
        (directory / "pki" / name).write_text(f"{name} bytes")
    user = {
        "client-certificate": "pki/client.crt",
        "client-key": "pki/client.key",
        "tokenFile": "pki/token",
        "exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "./bin/login"},
    }
    document = kubeconfig("local", ("local", "https://a.invalid", user))
    document["clusters"][0]["cluster"]["certificate-authority"] = "pki/ca.crt"
    result = pinned({"KUBECONFIG": str(write(directory / "config", document))})
    encoded = {
        name: base64.b64encode(f"{name} bytes".encode()).decode() for name in ("ca.crt", "client.crt", "client.key")
    }
    assert result["clusters"][0]["cluster"] == {
        "server": "https://a.invalid",
        "certificate-authority-data": encoded["ca.crt"],
    }
    assert result["users"][0]["user"] == {
        "client-certificate-data": encoded["client.crt"],
        "client-key-data": encoded["client.key"],
        "tokenFile": str(directory / "pki" / "token"),
        "exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": str(directory / "bin" / "login")},
    }
    user["exec"] = {"command": "kubelogin"}  # found on PATH: left alone
    again = pinned({"KUBECONFIG": str(write(directory / "config", document))})
    assert again["users"][0]["user"]["exec"] == {"command": "kubelogin"}


def test_a_file_moved_with_the_same_content_pins_the_same(tmp_path: Path) -> None:
    document = kubeconfig("local", ("local", "https://a.invalid", {"client-key": "key"}))
    for directory in ("one", "two"):
        (tmp_path / directory).mkdir()
        (tmp_path / directory / "key").write_text("the key")
        write(tmp_path / directory / "config", document)
    assert pinned({"KUBECONFIG": str(tmp_path / "one" / "config")}) == pinned(
        {"KUBECONFIG": str(tmp_path / "two" / "config")}
    )


def test_pinning_pinned_content_changes_nothing(tmp_path: Path) -> None:
    """The cluster guard pins the provider's content again: it must read the same cluster."""
    path = write(tmp_path / "config", kubeconfig("a", ("a", "https://a.invalid", {}), ("b", "https://b.invalid", {})))
    once = pin(None, str(path), "b", {})
    assert once.kubeconfig is not None
    assert pin(once.kubeconfig, None, None, {}) == once


def service_account(directory: Path, ca: bool = True) -> Path:
    directory.mkdir()
    (directory / "token").write_text(SECRET)
    if ca:
        (directory / "ca.crt").write_text("cluster CA")
    return directory


def test_with_no_kubeconfig_in_a_pod_the_service_account_is_pinned(tmp_path: Path) -> None:
    """client-go falls back on the in-cluster config when the kubeconfig is empty
    (``merged_client_builder.go``:95-124; ``client_config.go``:653-658 ``Possible``), built by
    ``rest.InClusterConfig`` (``rest/config.go``:543-575): the service's host and port, the token
    file and the CA. The token is a reference (rotated by the kubelet), never its value."""
    directory = service_account(tmp_path / "serviceaccount")
    environ = {"HOME": str(tmp_path), "KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    document = pinned(environ, service_account_dir=directory)
    assert document["current-context"] == IN_CLUSTER
    assert document["clusters"][0]["cluster"] == {
        "server": "https://10.0.0.1:443",
        "certificate-authority-data": base64.b64encode(b"cluster CA").decode(),
    }
    assert document["users"][0]["user"] == {"tokenFile": str(directory / "token")}
    assert SECRET not in json.dumps(document)
    environ["KUBERNETES_SERVICE_HOST"] = "fd00::1"  # net.JoinHostPort brackets an IPv6 address
    assert server(pinned(environ, service_account_dir=directory)) == "https://[fd00::1]:443"
    # KUBECONFIG naming only missing files is an empty config too (loader.go:219-229).
    environ["KUBECONFIG"] = str(tmp_path / "missing")
    assert server(pinned(environ, service_account_dir=directory)) == "https://[fd00::1]:443"


def test_a_kubeconfig_file_wins_over_the_service_account(tmp_path: Path) -> None:
    directory = service_account(tmp_path / "serviceaccount")
    path = write(tmp_path / "config", kubeconfig("local", ("local", "https://a.invalid", {})))
    environ = {"KUBECONFIG": str(path), "KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    assert server(pinned(environ, service_account_dir=directory)) == "https://a.invalid"


@pytest.mark.parametrize(
    ("environ", "context", "expected"),
    [
        ({"KUBERNETES_SERVICE_HOST": "10.0.0.1"}, None, "no kubeconfig file found and not in a cluster"),
        ({"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}, "aks", "kubernetes.context 'aks'"),
    ],
)
def test_nowhere_to_go_is_one_clear_error(
    tmp_path: Path, environ: dict[str, str], context: str | None, expected: str
) -> None:
    """No file and no complete in-cluster environment; a named context with no kubeconfig (client-go
    ``client_config.go``:441-445: a named context that does not exist is an error, not in-cluster)."""
    directory = service_account(tmp_path / "serviceaccount")
    result = pin(None, None, context, {"HOME": str(tmp_path), **environ}, service_account_dir=directory)
    assert result.kubeconfig is None and result.problem is not None
    assert result.problem.startswith("the kubeconfig (the ambient kubeconfig: KUBECONFIG, else ~/.kube/config")
    assert expected in result.problem


def test_errors_name_the_setting_and_never_quote_the_content(tmp_path: Path) -> None:
    path = write(tmp_path / "config", kubeconfig("a", ("a", "https://a.invalid", {"token": SECRET})))
    result = pin(None, str(path), "b", {})
    assert result.problem == (
        f"the kubeconfig (kubernetes.kubeconfigPath {str(path)!r}) cannot be used: kubernetes.context 'b' is not "
        "among its contexts (a); its content is not shown"
    )
    missing = pin(None, str(tmp_path / "nowhere"), None, {}).problem
    assert missing is not None and "no such file" in missing
    dangling = kubeconfig("a", ("a", "https://a.invalid", {"token": SECRET}))
    dangling["clusters"] = []
    result = pin(yaml.safe_dump(dangling), None, None, {})
    assert result.problem is not None and "names cluster 'a-cluster', which it does not define" in result.problem
    assert SECRET not in result.problem
    malformed = f"users:\n- name: a\n  user: {{token: {SECRET}: {SECRET}}}\n"
    problem = pin(malformed, None, None, {}).problem
    assert problem is not None and problem.startswith(
        "the kubeconfig (apim-gateway:kubeconfig (secret)) cannot be used: not valid YAML"
    )
    assert SECRET not in problem


def test_the_provider_takes_only_a_kubeconfig_whose_endpoint_the_guard_checked(tmp_path: Path) -> None:
    """``up --target`` targets the provider but not the guard (pulumi v3.259.0 ``step_generator.go``
    :1286-1300, :1313-1319): the guard's outputs then still name the endpoint of the last check, and a
    kubeconfig leading elsewhere is refused (tests/integration/test_cluster_pinning.py on the engine).
    New credentials for the same server and CA are no other endpoint."""
    from components.kubernetes.kubeconfig import endpoint
    from components.kubernetes.provider import checked_kubeconfig

    path = write(tmp_path / "config", kubeconfig("a", ("a", "https://a.invalid", {"token": "one"})))
    checked = pin(None, str(path), None, {})
    renewed = pin(None, str(write(path, kubeconfig("a", ("a", "https://a.invalid", {"token": "two"})))), None, {})
    moved = pin(None, str(write(path, kubeconfig("a", ("a", "https://b.invalid", {"token": "one"})))), None, {})
    recorded = endpoint(checked.kubeconfig)
    assert checked_kubeconfig("gw", recorded, renewed) == renewed.kubeconfig
    with pytest.raises(Exception, match=r"gateways\(gw\)\.kubernetes: the kubeconfig now leads to another API server"):
        checked_kubeconfig("gw", recorded, moved)
