#!/usr/bin/env python3
"""A throw-away local Kubernetes control plane for integration tests.

Runs etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok as
plain processes bound to 127.0.0.1 only (random free ports), with a freshly
generated CA and certificates. kwok simulates the nodes (and makes their pods
Ready), so Deployments become Available without a container runtime.

The binaries come from ``scripts/toolchain.sh cluster`` (cached, built from Go
modules); they are looked up in the toolchain's cached bin dirs and on PATH.

CLI::

    python scripts/local_cluster.py start  --dir DIR [--timeout 90] [--nodes 3]
    python scripts/local_cluster.py status --dir DIR
    python scripts/local_cluster.py stop   --dir DIR

API::

    with LocalCluster(dir) as cluster:        # or: kubeconfig = LocalCluster(dir).start()
        cluster.kubeconfig                    # DIR/kubeconfig (admin, https://127.0.0.1:PORT)

Needs the ``cryptography`` package for the certificates.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime as _dt
import http.client
import ipaddress
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

REPO_ROOT = Path(__file__).resolve().parent.parent
TOOLCHAIN_SH = REPO_ROOT / "scripts" / "toolchain.sh"

BINARIES = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
)
KUBECTL = "kubectl"
"""Built by ``scripts/toolchain.sh cluster`` beside the control plane (same k8s.io/kubernetes module)."""
# Start order; stop runs in reverse.
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
DEFAULT_ZONES = ("zone-a", "zone-b", "zone-c")
SERVICE_CIDR = "10.96.0.0/16"
SERVICE_IP = "10.96.0.1"
STATE_FILE = "state.json"


class ClusterError(RuntimeError):
    """The local control plane could not be started / reached."""


class MissingBinariesError(ClusterError):
    """Some control plane binaries are neither in the toolchain cache nor on PATH."""

    def __init__(self, missing: Sequence[str], searched: Sequence[str]) -> None:
        self.missing = list(missing)
        self.searched = list(searched)
        super().__init__(
            f"missing control plane binaries: {', '.join(missing)} "
            f"(searched: {os.pathsep.join(searched) or '<PATH>'}). Build them with `scripts/toolchain.sh cluster`."
        )


# --------------------------------------------------------------------------- binaries


def toolchain_bin_dirs(toolchain: Path = TOOLCHAIN_SH, timeout: float = 60) -> list[str]:
    """Cached bin dirs that ``scripts/toolchain.sh bindirs`` reports (never builds anything)."""
    if not toolchain.exists():
        return []
    try:
        out = subprocess.run(
            ["bash", str(toolchain), "bindirs"],
            check=True,
            capture_output=True,
            text=True,
            timeout=timeout,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip() and os.path.isdir(line.strip())]


def find_binaries(extra_dirs: Iterable[str] | None = None, names: Sequence[str] = BINARIES) -> dict[str, str]:
    """Locate the control plane binaries: toolchain cache dirs first, then PATH.

    Raises MissingBinariesError listing what could not be found.
    """
    dirs = list(extra_dirs) if extra_dirs is not None else toolchain_bin_dirs()
    search_path = os.pathsep.join([*dirs, os.environ.get("PATH", "")])
    found: dict[str, str] = {}
    missing: list[str] = []
    for name in names:
        path = shutil.which(name, path=search_path)
        if path:
            found[name] = path
        else:
            missing.append(name)
    if missing:
        raise MissingBinariesError(missing, dirs)
    return found


def kubectl(
    kubeconfig: Path, *args: str, bin_dirs: Iterable[str] | None = None, timeout: float = 60, stdin: str | None = None
) -> str:
    """Run the toolchain's ``kubectl`` against ``kubeconfig`` (``stdin`` for ``-f -``); its standard output.

    Raises MissingBinariesError when kubectl is not built, ClusterError when it fails.
    """
    binary = find_binaries(bin_dirs, names=(KUBECTL,))[KUBECTL]
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    try:
        done = subprocess.run(
            [binary, f"--kubeconfig={kubeconfig}", *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired as e:
        raise ClusterError(f"kubectl {' '.join(args)} did not finish within {timeout:.0f} s") from e
    if done.returncode != 0:
        raise ClusterError(f"kubectl {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


# --------------------------------------------------------------------------- helpers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _free_ports(n: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < n:
        p = free_port()
        if p not in ports:
            ports.append(p)
    return ports


def _proc_start_time(pid: int) -> str | None:
    """Start time of a process (field 22 of /proc/PID/stat), to guard against PID reuse."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode(errors="replace")
    except OSError:
        return None
    # comm (field 2) may contain spaces/parens: split after the last ')'.
    rest = data[data.rfind(")") + 2 :].split()
    return rest[19] if len(rest) > 19 else None


def _proc_alive(pid: int, start_time: str | None = None) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode(errors="replace")
    except OSError:
        return False
    rest = data[data.rfind(")") + 2 :].split()
    if rest and rest[0] in ("Z", "X"):
        return False
    # A different start time means the PID was reused by another process.
    return start_time is None or len(rest) <= 19 or rest[19] == start_time


def _tail(path: Path, lines: int = 25) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            data = f.read().decode(errors="replace")
    except OSError:
        return "<no log>"
    return "\n".join(data.splitlines()[-lines:])


# --------------------------------------------------------------------------- PKI


def _key_usage(ca: bool) -> x509.KeyUsage:
    """Signing only; a CA also signs certificates and revocation lists."""
    from cryptography import x509  # imported where used, like the rest of the PKI code

    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


@dataclass
class _Pki:
    dir: Path

    def path(self, name: str) -> Path:
        return self.dir / name

    def generate(self) -> None:
        try:
            from cryptography import x509
            from cryptography.hazmat.primitives import hashes, serialization
            from cryptography.hazmat.primitives.asymmetric import ec, rsa
            from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
        except ImportError as e:  # pragma: no cover - environment problem
            raise ClusterError("the 'cryptography' package is required to generate certificates") from e

        self.dir.mkdir(parents=True, exist_ok=True)
        now = _dt.datetime.now(_dt.UTC) - _dt.timedelta(minutes=5)
        until = now + _dt.timedelta(days=30)

        def write_key(name: str, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> None:
            p = self.path(name)
            p.write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            p.chmod(0o600)

        def write_cert(name: str, cert: x509.Certificate) -> None:
            self.path(name).write_bytes(cert.public_bytes(serialization.Encoding.PEM))

        def name(cn: str, orgs: Sequence[str] = ()) -> x509.Name:
            attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
            attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
            return x509.Name(attrs)

        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = name("apimgw-local-ca")
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(until)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                _key_usage(ca=True),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        write_key("ca.key", ca_key)
        write_cert("ca.crt", ca_cert)

        def leaf(fname: str, cn: str, orgs: Sequence[str] = (), server: bool = False) -> None:
            key = ec.generate_private_key(ec.SECP256R1())
            builder = (
                x509.CertificateBuilder()
                .subject_name(name(cn, orgs))
                .issuer_name(ca_name)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now)
                .not_valid_after(until)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(
                    _key_usage(ca=False),
                    critical=True,
                )
                .add_extension(
                    x509.ExtendedKeyUsage(
                        [ExtendedKeyUsageOID.SERVER_AUTH] if server else [ExtendedKeyUsageOID.CLIENT_AUTH]
                    ),
                    critical=False,
                )
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            )
            if server:
                builder = builder.add_extension(
                    x509.SubjectAlternativeName(
                        [
                            x509.DNSName("localhost"),
                            x509.DNSName("kubernetes"),
                            x509.DNSName("kubernetes.default"),
                            x509.DNSName("kubernetes.default.svc"),
                            x509.DNSName("kubernetes.default.svc.cluster.local"),
                            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                            x509.IPAddress(ipaddress.ip_address(SERVICE_IP)),
                        ]
                    ),
                    critical=False,
                )
            cert = builder.sign(ca_key, hashes.SHA256())
            write_key(fname + ".key", key)
            write_cert(fname + ".crt", cert)

        leaf("apiserver", "kube-apiserver", server=True)
        leaf("admin", "apimgw-local-admin", ["system:masters"])
        leaf("controller-manager", "system:kube-controller-manager")
        leaf("scheduler", "system:kube-scheduler")
        leaf("kwok", "kwok-controller", ["system:masters"])

        sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        write_key("sa.key", sa_key)
        self.path("sa.pub").write_bytes(
            sa_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )


def _kubeconfig(server: str, ca: Path, cert: Path, key: Path, user: str) -> str:
    def b64(p: Path) -> str:
        return base64.b64encode(p.read_bytes()).decode()

    cfg = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "apimgw-local", "cluster": {"server": server, "certificate-authority-data": b64(ca)}}],
        "users": [{"name": user, "user": {"client-certificate-data": b64(cert), "client-key-data": b64(key)}}],
        "contexts": [{"name": "apimgw-local", "context": {"cluster": "apimgw-local", "user": user}}],
        "current-context": "apimgw-local",
        "preferences": {},
    }
    # JSON is valid YAML; every Kubernetes client reads it.
    return json.dumps(cfg, indent=2) + "\n"


# --------------------------------------------------------------------------- API client


class _Api:
    """Minimal HTTPS client for the apiserver (admin client certificate)."""

    def __init__(self, port: int, pki: _Pki) -> None:
        self.port = port
        ctx = ssl.create_default_context(cafile=str(pki.path("ca.crt")))
        ctx.load_cert_chain(str(pki.path("admin.crt")), str(pki.path("admin.key")))
        self.ctx = ctx

    def request(
        self, method: str, path: str, body: dict[str, Any] | None = None, timeout: float = 5
    ) -> tuple[int, str]:
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=timeout)
        try:
            data = json.dumps(body).encode() if body is not None else None
            headers = {"Accept": "application/json"}
            if data is not None:
                headers["Content-Type"] = "application/json"
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read().decode(errors="replace")
            return resp.status, raw
        finally:
            conn.close()

    def json(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        status, raw = self.request(method, path, body)
        try:
            return status, json.loads(raw) if raw else {}
        except ValueError:
            return status, {"raw": raw}


def _probe_https(port: int, path: str = "/healthz", timeout: float = 2) -> bool:
    """Unauthenticated health probe of a component's self-signed secure port."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=timeout)
        conn.request("GET", path)
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except (OSError, http.client.HTTPException):
        return False


# --------------------------------------------------------------------------- cluster


@dataclass
class LocalCluster:
    """etcd + kube-apiserver + kube-controller-manager + kube-scheduler + kwok in ``dir``."""

    dir: Path
    binaries: Mapping[str, str] | None = None
    bin_dirs: Sequence[str] | None = None
    zones: Sequence[str] = DEFAULT_ZONES
    nodes_per_zone: int = 1
    _procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.dir = Path(self.dir).resolve()

    # -- paths -----------------------------------------------------------------

    @property
    def kubeconfig(self) -> Path:
        return self.dir / "kubeconfig"

    @property
    def state_path(self) -> Path:
        return self.dir / STATE_FILE

    def log_path(self, component: str) -> Path:
        return self.dir / "logs" / f"{component}.log"

    def _state(self) -> dict[str, Any]:
        try:
            state = json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            return {}
        return state if isinstance(state, dict) else {}

    def _write_state(self, state: dict[str, Any]) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self.state_path)

    @property
    def server(self) -> str | None:
        port = self._state().get("ports", {}).get("apiserver")
        return f"https://127.0.0.1:{port}" if port else None

    # -- lifecycle -------------------------------------------------------------

    def start(self, timeout: float = 90) -> Path:
        """Start everything; returns the admin kubeconfig path once the cluster is usable.

        Raises ClusterError (with the tail of the component logs) if it does not
        come up within ``timeout`` seconds; everything started is stopped again.
        """
        if any(_proc_alive(p["pid"], p.get("start_time")) for p in self._state().get("processes", {}).values()):
            raise ClusterError(f"a cluster is already running in {self.dir} (stop it first)")
        bins = dict(self.binaries) if self.binaries else find_binaries(self.bin_dirs)
        deadline = time.monotonic() + timeout
        try:
            self._start(bins, deadline)
        except BaseException:
            self.stop()
            raise
        return self.kubeconfig

    def _start(self, bins: Mapping[str, str], deadline: float) -> None:
        d = self.dir
        for sub in ("pki", "logs", "etcd", "kwok", "certs"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        if (d / "etcd" / "member").exists():
            shutil.rmtree(d / "etcd")  # always a fresh cluster
            (d / "etcd").mkdir()
        (d / "etcd").chmod(0o700)  # what etcd expects of its data dir
        pki = _Pki(d / "pki")
        pki.generate()

        etcd_client, etcd_peer, api_port, kcm_port, sched_port = _free_ports(5)
        server = f"https://127.0.0.1:{api_port}"
        self.kubeconfig.write_text(
            _kubeconfig(server, pki.path("ca.crt"), pki.path("admin.crt"), pki.path("admin.key"), "admin")
        )
        self.kubeconfig.chmod(0o600)
        kcs = {}
        for comp, cert in (
            ("controller-manager", "controller-manager"),
            ("scheduler", "scheduler"),
            ("kwok", "kwok"),
        ):
            p = d / f"{comp}.kubeconfig"
            p.write_text(
                _kubeconfig(server, pki.path("ca.crt"), pki.path(cert + ".crt"), pki.path(cert + ".key"), comp)
            )
            p.chmod(0o600)
            kcs[comp] = str(p)

        state: dict[str, Any] = {
            "dir": str(d),
            "server": server,
            "ports": {
                "etcd_client": etcd_client,
                "etcd_peer": etcd_peer,
                "apiserver": api_port,
                "controller_manager": kcm_port,
                "scheduler": sched_port,
            },
            "processes": {},
        }
        self._write_state(state)

        etcd_url = f"http://127.0.0.1:{etcd_client}"
        peer_url = f"http://127.0.0.1:{etcd_peer}"
        self._spawn(
            "etcd",
            [
                bins["etcd"],
                "--name=local",
                f"--data-dir={d / 'etcd'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=local={peer_url}",
                "--initial-cluster-state=new",
                "--unsafe-no-fsync=true",
                "--log-level=warn",
                "--quota-backend-bytes=2147483648",
            ],
            state,
        )
        self._spawn(
            "kube-apiserver",
            [
                bins["kube-apiserver"],
                f"--etcd-servers={etcd_url}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={api_port}",
                f"--tls-cert-file={pki.path('apiserver.crt')}",
                f"--tls-private-key-file={pki.path('apiserver.key')}",
                f"--client-ca-file={pki.path('ca.crt')}",
                # A request-header CA keeps the components' authentication delegation quiet; no
                # certificate carries the allowed name, so nobody can use the front-proxy headers.
                f"--requestheader-client-ca-file={pki.path('ca.crt')}",
                "--requestheader-allowed-names=front-proxy-client",
                "--requestheader-username-headers=X-Remote-User",
                "--requestheader-group-headers=X-Remote-Group",
                "--requestheader-extra-headers-prefix=X-Remote-Extra-",
                f"--service-account-key-file={pki.path('sa.pub')}",
                f"--service-account-signing-key-file={pki.path('sa.key')}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--authorization-mode=RBAC",
                "--allow-privileged=true",
                # The `kubernetes` Endpoints cannot point at a loopback address; nothing here needs it.
                "--endpoint-reconciler-type=none",
                "--profiling=false",
                f"--cert-dir={d / 'certs' / 'apiserver'}",
                "--v=1",
            ],
            state,
        )
        api = _Api(api_port, pki)
        self._wait(deadline, "kube-apiserver /readyz", lambda: api.request("GET", "/readyz")[0] == 200)

        common = ["--leader-elect=false", "--bind-address=127.0.0.1", "--v=1"]
        self._spawn(
            "kube-controller-manager",
            [
                bins["kube-controller-manager"],
                f"--kubeconfig={kcs['controller-manager']}",
                f"--authentication-kubeconfig={kcs['controller-manager']}",
                f"--authorization-kubeconfig={kcs['controller-manager']}",
                f"--secure-port={kcm_port}",
                f"--cert-dir={d / 'certs' / 'controller-manager'}",
                f"--service-account-private-key-file={pki.path('sa.key')}",
                f"--root-ca-file={pki.path('ca.crt')}",
                "--use-service-account-credentials=true",
                f"--cluster-signing-cert-file={pki.path('ca.crt')}",
                f"--cluster-signing-key-file={pki.path('ca.key')}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                *common,
            ],
            state,
        )
        self._spawn(
            "kube-scheduler",
            [
                bins["kube-scheduler"],
                f"--kubeconfig={kcs['scheduler']}",
                f"--authentication-kubeconfig={kcs['scheduler']}",
                f"--authorization-kubeconfig={kcs['scheduler']}",
                f"--secure-port={sched_port}",
                f"--cert-dir={d / 'certs' / 'scheduler'}",
                *common,
            ],
            state,
        )
        self._spawn(
            "kwok",
            [
                bins["kwok"],
                f"--kubeconfig={kcs['kwok']}",
                "--manage-all-nodes=true",
                "--node-lease-duration-seconds=40",
                "--cidr=10.244.0.1/16",
                "--node-ip=127.0.0.1",
            ],
            state,
            # Keep kwok away from any ~/.kwok/kwok.yaml of the user.
            env={"KWOK_WORKDIR": str(d / "kwok")},
        )

        self._create_nodes(api)
        self._wait(deadline, "kube-controller-manager /healthz", lambda: _probe_https(kcm_port))
        self._wait(deadline, "kube-scheduler /healthz", lambda: _probe_https(sched_port))
        self._wait(deadline, "fake nodes Ready (kwok)", lambda: self._nodes_ready(api))
        # The serviceaccount controller must have created `default` before pods can be admitted.
        self._wait(
            deadline,
            "default ServiceAccount (kube-controller-manager)",
            lambda: api.request("GET", "/api/v1/namespaces/default/serviceaccounts/default")[0] == 200,
        )
        state["ready"] = True
        self._write_state(state)

    def _node_names(self) -> list[str]:
        return [f"kwok-node-{z}-{i}" for z in self.zones for i in range(self.nodes_per_zone)]

    def _create_nodes(self, api: _Api) -> None:
        capacity = {"cpu": "32", "memory": "256Gi", "pods": "110", "ephemeral-storage": "100Gi"}
        for z in self.zones:
            for i in range(self.nodes_per_zone):
                node_name = f"kwok-node-{z}-{i}"
                body = {
                    "apiVersion": "v1",
                    "kind": "Node",
                    "metadata": {
                        "name": node_name,
                        "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
                        "labels": {
                            "type": "kwok",
                            "kubernetes.io/hostname": node_name,
                            "kubernetes.io/os": "linux",
                            "kubernetes.io/arch": "amd64",
                            "topology.kubernetes.io/zone": z,
                            "topology.kubernetes.io/region": "local",
                        },
                    },
                    "spec": {},
                    "status": {"capacity": capacity, "allocatable": capacity},
                }
                status, raw = api.request("POST", "/api/v1/nodes", body)
                if status not in (200, 201, 409):
                    raise ClusterError(f"creating node {node_name} failed: HTTP {status}: {raw[:500]}")

    def _nodes_ready(self, api: _Api) -> bool:
        status, body = api.json("GET", "/api/v1/nodes")
        if status != 200:
            return False
        ready = set()
        for item in body.get("items", []):
            for cond in item.get("status", {}).get("conditions", []) or []:
                if cond.get("type") == "Ready" and cond.get("status") == "True":
                    ready.add(item["metadata"]["name"])
        return set(self._node_names()) <= ready

    def _spawn(self, name: str, argv: list[str], state: dict[str, Any], env: Mapping[str, str] | None = None) -> None:
        with open(self.log_path(name), "ab") as log:  # the child keeps its own copy of the fd
            full_env = dict(os.environ)
            # Never route the components' loopback traffic through a proxy.
            for k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
                full_env.pop(k, None)
            full_env["NO_PROXY"] = full_env["no_proxy"] = "127.0.0.1,localhost"
            if env:
                full_env.update(env)
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=str(self.dir),
                env=full_env,
                start_new_session=True,  # own process group; stop() signals the whole group
            )
        self._procs[name] = proc
        state["processes"][name] = {
            "pid": proc.pid,
            "pgid": proc.pid,
            "start_time": _proc_start_time(proc.pid),
            "argv": argv,
            "log": str(self.log_path(name)),
        }
        self._write_state(state)

    def _check_processes(self) -> None:
        for name, p in self._state().get("processes", {}).items():
            if not _proc_alive(p["pid"], p.get("start_time")):
                raise ClusterError(f"{name} exited early\n{self._logs_report()}")

    def _wait(self, deadline: float, what: str, probe: Callable[[], bool]) -> None:
        while True:
            self._check_processes()
            try:
                if probe():
                    return
            except (OSError, http.client.HTTPException, ssl.SSLError):
                pass
            if time.monotonic() > deadline:
                raise ClusterError(f"timed out waiting for {what}\n{self._logs_report()}")
            time.sleep(0.5)

    def _logs_report(self, lines: int = 25) -> str:
        out = []
        for comp in COMPONENTS:
            p = self.log_path(comp)
            if p.exists():
                out.append(f"----- {comp} ({p}), last {lines} lines -----\n{_tail(p, lines)}")
        return "\n".join(out)

    def stop(self, grace: float = 10) -> None:
        """Stop every component (their whole process groups). Safe to call twice."""
        state = self._state()
        procs = state.get("processes", {})
        for name in reversed(COMPONENTS):
            p = procs.get(name)
            if not p or not _proc_alive(p["pid"], p.get("start_time")):
                continue
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(p["pgid"], signal.SIGTERM)
        deadline = time.monotonic() + grace
        for name in reversed(COMPONENTS):
            p = procs.get(name)
            if not p:
                continue
            self._wait_gone(name, p, deadline)
        for name, p in procs.items():
            if _proc_alive(p["pid"], p.get("start_time")):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(p["pgid"], signal.SIGKILL)
                self._wait_gone(name, p, time.monotonic() + 5)
        self._procs.clear()
        if state:
            state["processes"] = {}
            state["ready"] = False
            self._write_state(state)

    def _wait_gone(self, name: str, p: dict[str, Any], deadline: float) -> None:
        popen = self._procs.get(name)
        while time.monotonic() < deadline:
            if popen is not None:
                try:
                    popen.wait(timeout=0.2)
                    return
                except subprocess.TimeoutExpired:
                    continue
            if not _proc_alive(p["pid"], p.get("start_time")):
                return
            time.sleep(0.1)

    def status(self) -> dict[str, Any]:
        """Liveness of each component plus the apiserver's /readyz."""
        state = self._state()
        result = {"dir": str(self.dir), "kubeconfig": str(self.kubeconfig), "server": state.get("server")}
        comps = {}
        for name in COMPONENTS:
            p = state.get("processes", {}).get(name)
            comps[name] = {"pid": p["pid"], "running": _proc_alive(p["pid"], p.get("start_time"))} if p else None
        result["components"] = comps
        ready = False
        port = state.get("ports", {}).get("apiserver")
        if port and (self.dir / "pki" / "admin.crt").exists():
            try:
                ready = _Api(port, _Pki(self.dir / "pki")).request("GET", "/readyz", timeout=3)[0] == 200
            except (OSError, http.client.HTTPException, ssl.SSLError):
                ready = False
        result["apiserver_ready"] = ready
        result["running"] = bool(comps) and all(c and c["running"] for c in comps.values()) and ready
        return result

    # -- context manager -------------------------------------------------------

    def __enter__(self) -> LocalCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=("start", "stop", "status"))
    ap.add_argument("--dir", required=True, help="state directory (data, certs, logs, kubeconfig)")
    ap.add_argument("--timeout", type=float, default=90, help="start: seconds to wait for readiness")
    ap.add_argument("--nodes-per-zone", type=int, default=1)
    ap.add_argument(
        "--bin-dir",
        action="append",
        default=None,
        help="directory with the binaries (repeatable; default: scripts/toolchain.sh bindirs, then PATH)",
    )
    args = ap.parse_args(argv)
    cluster = LocalCluster(Path(args.dir), bin_dirs=args.bin_dir, nodes_per_zone=args.nodes_per_zone)
    if args.command == "start":
        Path(args.dir).mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        try:
            kubeconfig = cluster.start(timeout=args.timeout)
        except ClusterError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        print(f"cluster ready in {time.monotonic() - t0:.1f}s: server {cluster.server}", file=sys.stderr)
        print(f"export KUBECONFIG={kubeconfig}")
        return 0
    if args.command == "stop":
        cluster.stop()
        print("stopped", file=sys.stderr)
        return 0
    st = cluster.status()
    print(json.dumps(st, indent=2))
    return 0 if st["running"] else 1


if __name__ == "__main__":
    sys.exit(main())
