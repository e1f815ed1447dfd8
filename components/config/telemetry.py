"""The gateway's telemetry and outbound proxy: container and local logs, metrics sinks, proxy."""

from __future__ import annotations

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
        if self.local in ("rfc5424", "json") and self.local_endpoint and _is_loopback(self.local_endpoint):
            raise ValueError(
                f"localEndpoint {self.local_endpoint!r} is the pod's own loopback, where nothing listens "
                "(the pod runs the gateway container only): give a collector Service such as "
                "'syslog.logging.svc.cluster.local:514'"
            )
        return self


HOST_SOCKET_SINKS = {"localsyslog": "/dev/log", "journal": "journald's socket"}
"""Local log sinks that write to a Unix socket of the node."""
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "0.0.0.0"})  # noqa: S104 - compared, not bound


def _is_loopback(endpoint: str) -> bool:
    host = endpoint.removeprefix("udp://").removeprefix("tcp://")
    if host.startswith("["):
        host = host[1 : host.find("]")]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.lower() in _LOOPBACK_HOSTS or host.startswith("127.")


class StatsdSettings(Model):
    endpoint: str = Field(min_length=1)
    """StatsD endpoint, ``host:port``."""
    sampling: float | None = Field(default=None, gt=0, le=1)
    """Sampling rate between 0 and 1."""
    tag_format: Literal["librato", "dogStatsD", "influxDB"] | None = None
    """Tag format of the StatsD sink."""


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
