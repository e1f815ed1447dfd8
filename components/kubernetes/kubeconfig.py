"""The one kubeconfig the stack's provider and cluster guard both use: resolved once, the way
client-go resolves it, and pinned to the one context it selects (issue 21 items 1 and 4).

Why pinned: ``refresh``, ``destroy`` and the providers of untargeted resources under ``--target``
run no program and no ``check``; the engine configures the provider with its stored inputs (pulumi
v3.259.0 ``pkg/resource/deploy/providers/registry.go`` Create/Same). With ``kubeconfig: ""`` the
provider then loads whatever kubeconfig is current (pulumi-kubernetes v4.25.0
``provider/pkg/provider/provider.go``:761-805), so a moved current context retargets every
operation no guard sees. With the content stored (a Pulumi secret), those operations reach the
server and CA of the last ``up``; a recreated cluster behind the same address fails TLS against the
pinned CA.

Why resolved here, like client-go (``k8s.io/client-go@v0.34.3/tools/clientcmd``): the provider
loads the ambient kubeconfig with client-go, while the Python ``kubernetes`` client merges a
``KUBECONFIG`` list differently (it takes ``current-context`` from the last file that sets it), so
the guard could read another cluster than the provider writes to. Rules followed:

- ``KUBECONFIG`` is a list (``filepath.SplitList``), deduplicated; unset or empty means
  ``~/.kube/config`` (``loader.go``:158-178 ``NewDefaultClientConfigLoadingRules``); missing files
  are skipped (``loader.go``:219-229);
- the first file to set a map key (a named cluster, user or context) wins, and the first file to set
  ``current-context`` wins (``loader.go``:184-195, the merge at :246-273, ``merge.go``:25-29: a zero
  value never overwrites);
- relative file references (``certificate-authority``, ``client-certificate``, ``client-key``,
  ``tokenFile``, an ``exec`` command containing a ``/``) resolve against the directory of the file
  that holds them (``loader.go``:503-531 ``ResolveLocalPaths``, :600-623);
- with no context selected (none named, no ``current-context``), the in-cluster service account is
  used when possible (``merged_client_builder.go``:95-124 falls back on an empty config;
  ``client_config.go``:653-658 ``Possible``; ``rest/config.go``:543-575 ``InClusterConfig``:
  ``https://KUBERNETES_SERVICE_HOST:KUBERNETES_SERVICE_PORT``, the service account's ``token`` and
  ``ca.crt``).

The pinned kubeconfig holds one cluster, one user, one context (the selected one, by its own name)
and ``current-context``. Files are embedded (``*-data``), so a file that moves with the same content
changes nothing; a token file and an exec plugin stay references, so no short-lived credential is
stored. Every error names the source and never quotes the kubeconfig's text.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
"""Where a pod's service account is mounted (client-go ``rest/config.go``:545-546)."""
IN_CLUSTER = "in-cluster"
"""The name of the cluster, user and context of a pinned in-cluster configuration."""
EMBEDDED_FILES = {
    "cluster": (("certificate-authority", "certificate-authority-data"),),
    "user": (("client-certificate", "client-certificate-data"), ("client-key", "client-key-data")),
}
"""File references whose content is embedded (client-go ``GetClusterFileReferences`` and
``GetAuthInfoFileReferences``, ``loader.go``:600-611, less the token file and exec command)."""


class KubeconfigError(ValueError):
    """A kubeconfig that cannot be used; the message never quotes its content."""


@dataclass(frozen=True)
class Pinned:
    """The pinned kubeconfig (JSON text, a credential) or, when none can be made, the problem."""

    kubeconfig: str | None
    problem: str | None = None


def unquoted(error: Exception) -> str:
    """What went wrong, without any of the kubeconfig's text.

    PyYAML's message (``yaml/error.py`` MarkedYAMLError ``__str__``) quotes the offending line with a
    caret under it, and a scanner problem may quote a character or alias of it: only the problem's
    words before any quote, and the line and column, are kept. Anything else is named by type."""
    import yaml

    if isinstance(error, KubeconfigError):
        return str(error)
    if isinstance(error, yaml.MarkedYAMLError):
        problem = (error.problem or "invalid YAML").split("'")[0].split('"')[0].strip().rstrip(":")
        mark = error.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        return f"not valid YAML{where} ({problem})"
    if isinstance(error, yaml.YAMLError):
        return "not valid YAML"
    return f"not a usable kubeconfig ({type(error).__name__})"


def pin(
    content: str | None,
    kubeconfig_path: str | None,
    context: str | None,
    environ: Mapping[str, str],
    service_account_dir: Path = SERVICE_ACCOUNT_DIR,
) -> Pinned:
    """The secret content, else the ``kubernetes.kubeconfigPath`` file, else the ambient kubeconfig,
    pinned to ``context`` (or the current context); a problem instead of an exception."""
    source = _source(content, kubeconfig_path)
    try:
        if content:
            documents = [(_parse(content), Path.cwd())]
        elif kubeconfig_path:
            path = Path(kubeconfig_path).expanduser()  # the provider expands "~/" too (util.go:143-155)
            if not path.is_file():
                raise KubeconfigError("no such file")
            documents = [(_parse(path.read_text()), path.resolve().parent)]
        else:
            documents = [(_parse(path.read_text()), path.resolve().parent) for path in ambient_files(environ)]
        return Pinned(_pinned(merge(documents), context, environ, service_account_dir))
    except Exception as error:  # any parse error may carry the content: reported without it
        return Pinned(None, f"the kubeconfig ({source}) cannot be used: {unquoted(error)}; its content is not shown")


def _source(content: str | None, kubeconfig_path: str | None) -> str:
    if content:
        return "apim-gateway:kubeconfig (secret)"
    if kubeconfig_path:
        return f"kubernetes.kubeconfigPath {kubeconfig_path!r}"
    return "the ambient kubeconfig: KUBECONFIG, else ~/.kube/config, else the in-cluster service account"


def ambient_files(environ: Mapping[str, str]) -> list[Path]:
    """The existing files of ``KUBECONFIG`` in order, without repeats, else ``~/.kube/config``
    (client-go ``loader.go``:158-178; missing files skipped, :219-229; no "~" expansion in the list)."""
    listed = environ.get("KUBECONFIG", "")
    if listed:
        names = list(dict.fromkeys(name for name in listed.split(os.pathsep) if name))
    else:
        names = [str(Path(environ.get("HOME") or Path.home()) / ".kube" / "config")]
    return [Path(name) for name in names if Path(name).is_file()]


def _parse(text: str) -> dict[str, Any]:
    import yaml

    document = yaml.safe_load(text)
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise KubeconfigError("not a kubeconfig (a YAML mapping with clusters, users and contexts)")
    return document


@dataclass(frozen=True)
class Merged:
    """Named entries with the directory of the file each came from, and the current context."""

    clusters: Mapping[str, tuple[dict[str, Any], Path]]
    users: Mapping[str, tuple[dict[str, Any], Path]]
    contexts: Mapping[str, dict[str, Any]]
    current_context: str


def merge(documents: Sequence[tuple[Mapping[str, Any], Path]]) -> Merged:
    """client-go's merge of several files: the first to define a name, or to set
    ``current-context``, wins (``loader.go``:184-195, :246-273)."""
    clusters: dict[str, tuple[dict[str, Any], Path]] = {}
    users: dict[str, tuple[dict[str, Any], Path]] = {}
    contexts: dict[str, dict[str, Any]] = {}
    current = ""
    for document, directory in documents:
        for name, entry in _named(document, "clusters", "cluster"):
            clusters.setdefault(name, (entry, directory))
        for name, entry in _named(document, "users", "user"):
            users.setdefault(name, (entry, directory))
        for name, entry in _named(document, "contexts", "context"):
            contexts.setdefault(name, entry)
        current = current or str(document.get("current-context") or "")
    return Merged(clusters, users, contexts, current)


def _named(document: Mapping[str, Any], key: str, field: str) -> list[tuple[str, dict[str, Any]]]:
    entries = document.get(key) or []
    if not isinstance(entries, list):
        raise KubeconfigError(f"{key} is not a list")
    named = []
    for entry in entries:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            raise KubeconfigError(f"an entry of {key} has no name")
        body = entry.get(field) or {}
        if not isinstance(body, Mapping):
            raise KubeconfigError(f"{key} entry {entry['name']!r}: {field} is not a mapping")
        named.append((entry["name"], dict(body)))
    return named


def _pinned(merged: Merged, context: str | None, environ: Mapping[str, str], service_account_dir: Path) -> str:
    selected = context or merged.current_context
    if not selected:
        return in_cluster(environ, service_account_dir)
    if selected not in merged.contexts:
        setting = "kubernetes.context" if context else "the current context"
        known = ", ".join(sorted(merged.contexts))
        raise KubeconfigError(f"{setting} {selected!r} is not among its contexts ({known})")
    entry = merged.contexts[selected]
    cluster_name, user_name = str(entry.get("cluster") or ""), str(entry.get("user") or "")
    if cluster_name not in merged.clusters:
        raise KubeconfigError(f"context {selected!r} names cluster {cluster_name!r}, which it does not define")
    cluster = _embedded(*merged.clusters[cluster_name], "cluster")
    document: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster_name, "cluster": cluster}],
        "users": [],
        "contexts": [{"name": selected, "context": entry}],
        "current-context": selected,
    }
    if user_name in merged.users:
        document["users"] = [{"name": user_name, "user": _embedded(*merged.users[user_name], "user")}]
    return json.dumps(document, sort_keys=True)


def _embedded(entry: dict[str, Any], directory: Path, kind: str) -> dict[str, Any]:
    """The entry with its files embedded and its other file references made absolute against the
    directory of its file (``loader.go``:503-531, :600-623)."""
    result = dict(entry)
    for file_key, data_key in EMBEDDED_FILES[kind]:
        reference = result.pop(file_key, None)
        if reference and not result.get(data_key):
            result[data_key] = base64.b64encode((directory / str(reference)).read_bytes()).decode()
    if kind == "user":
        if result.get("tokenFile"):
            result["tokenFile"] = str(directory / str(result["tokenFile"]))
        plugin = result.get("exec")
        if isinstance(plugin, Mapping) and "/" in str(plugin.get("command") or ""):
            result["exec"] = {**plugin, "command": str(directory / str(plugin["command"]))}
    return result


def in_cluster(environ: Mapping[str, str], service_account_dir: Path = SERVICE_ACCOUNT_DIR) -> str:
    """The pod's service account as a kubeconfig: client-go ``rest.InClusterConfig``
    (``rest/config.go``:543-575) with the token file kept as a reference (the kubelet rotates it)."""
    host, port = environ.get("KUBERNETES_SERVICE_HOST", ""), environ.get("KUBERNETES_SERVICE_PORT", "")
    token = service_account_dir / "token"
    if not (host and port and token.is_file()):  # client_config.go:653-658 Possible
        raise KubeconfigError(
            "no kubeconfig file found and not in a cluster (KUBERNETES_SERVICE_HOST, KUBERNETES_SERVICE_PORT "
            f"and {token} are needed); set KUBECONFIG, kubernetes.kubeconfigPath or the secret apim-gateway:kubeconfig"
        )
    server = f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"  # net.JoinHostPort
    cluster: dict[str, Any] = {"server": server}
    ca = service_account_dir / "ca.crt"
    if ca.is_file():  # without it client-go uses the system roots (rest/config.go:560-565)
        cluster["certificate-authority-data"] = base64.b64encode(ca.read_bytes()).decode()
    context = {"cluster": IN_CLUSTER, "user": IN_CLUSTER}
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": IN_CLUSTER, "cluster": cluster}],
        "users": [{"name": IN_CLUSTER, "user": {"tokenFile": str(token)}}],
        "contexts": [{"name": IN_CLUSTER, "context": context}],
        "current-context": IN_CLUSTER,
    }
    return json.dumps(document, sort_keys=True)


def endpoint(kubeconfig: str | None) -> str | None:
    """A fingerprint of where a pinned kubeconfig leads: its cluster's server, CA and TLS settings,
    not its credentials. The cluster guard records the one it checked; the provider takes the
    content only while the two match (``provider.py``), so an ``up --target``, which does not check
    the guard, cannot move the provider."""
    import hashlib

    if kubeconfig is None:
        return None
    (cluster,) = json.loads(kubeconfig)["clusters"]
    keys = ("server", "certificate-authority-data", "insecure-skip-tls-verify", "tls-server-name", "proxy-url")
    where = json.dumps({key: cluster["cluster"].get(key) for key in keys}, sort_keys=True)
    return hashlib.sha256(where.encode()).hexdigest()
