"""Fixtures for integration tests against a local Kubernetes control plane.

The control plane binaries (etcd, kube-apiserver, kube-controller-manager,
kube-scheduler, kwok) are built by ``scripts/toolchain.sh cluster``; nothing is
built here. When they are missing the tests are skipped, unless
APIMGW_REQUIRE_CLUSTER is set (CI), in which case the fixture fails.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from scripts import local_cluster as lc


def _required() -> bool:
    return os.environ.get("APIMGW_REQUIRE_CLUSTER", "").strip().lower() not in ("", "0", "false", "no")


@dataclass(frozen=True)
class ClusterHandle:
    kubeconfig: Path
    server: str
    dir: Path


@pytest.fixture(scope="session")
def local_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterHandle]:
    try:
        binaries = lc.find_binaries()  # toolchain cache (scripts/toolchain.sh bindirs), then PATH
    except lc.MissingBinariesError as e:
        if _required():
            pytest.fail(f"APIMGW_REQUIRE_CLUSTER is set but {e}", pytrace=False)
        pytest.skip(f"local Kubernetes control plane not available: {e}")
    timeout = float(os.environ.get("APIMGW_CLUSTER_START_TIMEOUT", "120"))
    cluster = lc.LocalCluster(tmp_path_factory.mktemp("local-cluster"), binaries=binaries)
    try:
        kubeconfig = cluster.start(timeout=timeout)
        yield ClusterHandle(kubeconfig=kubeconfig, server=cluster.server or "", dir=cluster.dir)
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def k8s_api_client(local_cluster: ClusterHandle) -> Iterator[Any]:
    """A `kubernetes` ApiClient for the local cluster (skips if the client is not installed)."""
    pytest.importorskip("kubernetes")
    from kubernetes import config

    client = config.new_client_from_config(config_file=str(local_cluster.kubeconfig))  # type: ignore[no-untyped-call]
    try:
        yield client
    finally:
        client.close()
