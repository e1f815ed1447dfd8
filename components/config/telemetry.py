"""The gateway's telemetry and outbound proxy: container and local logs, metrics sinks, proxy."""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, model_validator

from .fields import Model


class LogSettings(Model):
    std: Literal["text", "json", "none"] = "text"
    """Container log format (``telemetry.logs.std``)."""
    level: Literal["all", "debug", "info", "warn", "error", "fatal"] = "info"
    """Container log level; ``warn`` is Microsoft's advice for throughput."""
    color: bool = True
    """Coloured container logs."""
    local: Literal["none", "auto", "localsyslog", "rfc5424", "journal", "json"] = "auto"
    """Local log sink, kept when Azure is unreachable (``telemetry.logs.local``). ``localsyslog`` and
    ``journal`` are refused: they need a socket of the node, which the restricted namespace forbids."""
    local_endpoint: str | None = None
    """Endpoint of the local sink (``host:port`` of a collector outside the pod); required for
    ``rfc5424`` and ``json``."""

    @model_validator(mode="after")
    def _sink_endpoint(self) -> LogSettings:
        if self.local in HOST_SOCKET_SINKS:
            # The chart mounts the node's /dev/log by hostPath for localsyslog (templates/
            # deployment.yaml lines 189-193, chart 1.15.1); hostPath is forbidden by the restricted (and
            # baseline) Pod Security Standard the stack's namespace enforces.
            raise ValueError(
                f"local {self.local!r} writes to a socket of the node ({HOST_SOCKET_SINKS[self.local]}), "
                "which needs a hostPath volume; the namespace enforces the restricted Pod Security "
                "Standard, which forbids hostPath. Use 'rfc5424' or 'json' with localEndpoint set to a "
                "collector Service, or 'none'"
            )
        if self.local in ("rfc5424", "json") and not self.local_endpoint:
            raise ValueError(f"local {self.local!r} requires localEndpoint (host:port of a collector)")
        if self.local in ("rfc5424", "json") and self.local_endpoint:
            _not_in_pod(self.local_endpoint, "localEndpoint")
        return self


HOST_SOCKET_SINKS = {"localsyslog": "/dev/log", "journal": "journald's socket"}
"""Local log sinks that write to a Unix socket of the node."""


def _endpoint_host(endpoint: str) -> str:
    """The host of ``host:port``, ``[v6]:port`` or ``scheme://host:port/path``."""
    rest = endpoint.split("://", 1)[-1].split("/", 1)[0]
    if rest.startswith("["):
        return rest[1 : rest.find("]")]
    return rest.rsplit(":", 1)[0] if rest.count(":") == 1 else rest


def _is_loopback(endpoint: str) -> bool:
    """Whether ``endpoint`` names the pod itself (loopback or unspecified, IPv4-mapped included)."""
    host = _endpoint_host(endpoint).lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_unspecified


def _not_in_pod(endpoint: str, key: str) -> str:
    if _is_loopback(endpoint):
        raise ValueError(
            f"{key} {endpoint!r} is the pod's own loopback, where nothing listens (the pod runs the gateway "
            "container only): give a collector Service such as 'collector.monitoring.svc.cluster.local:514'"
        )
    return endpoint


class StatsdSettings(Model):
    endpoint: str = Field(min_length=1)
    """StatsD endpoint, ``host:port``."""
    sampling: float | None = Field(default=None, gt=0, le=1)
    """Sampling rate between 0 and 1."""
    tag_format: Literal["librato", "dogStatsD", "influxDB"] | None = None
    """Tag format of the StatsD sink."""

    @model_validator(mode="after")
    def _outside_the_pod(self) -> StatsdSettings:
        _not_in_pod(self.endpoint, "endpoint")
        return self


class OpenTelemetrySettings(Model):
    enabled: bool = False
    """Send metrics to an OpenTelemetry collector."""
    collector_uri: str | None = None
    """URI of the collector (required when enabled)."""
    system_metrics: bool = False
    """Also send system metrics."""
    histogram_buckets: tuple[float, ...] = ()
    """Histogram bucket boundaries (milliseconds)."""

    @model_validator(mode="after")
    def _collector(self) -> OpenTelemetrySettings:
        if self.enabled and not self.collector_uri:
            raise ValueError("enabled OpenTelemetry requires collectorUri")
        if self.enabled and self.collector_uri:
            _not_in_pod(self.collector_uri, "collectorUri")
        return self


class MetricsSettings(Model):
    cloud: bool = True
    """Send metrics to Azure Monitor."""
    statsd: StatsdSettings | None = None
    """Send metrics to a local StatsD sink as well (``telemetry.metrics.local=statsd``)."""
    open_telemetry: OpenTelemetrySettings = OpenTelemetrySettings()


class ProxySettings(Model):
    """An outbound proxy, passed as environment variables through the settings ConfigMap.
    URLs with credentials (``user:password@``) are refused: they would sit in plain text in
    the stack file, the ConfigMap and the pod's environment."""

    http: str | None = None
    """``HTTP_PROXY`` for outbound calls; no credentials in the URL."""
    https: str | None = None
    """``HTTPS_PROXY`` for outbound calls; no credentials in the URL."""
    no_proxy: str | None = None
    """``NO_PROXY``: hosts reached directly."""
