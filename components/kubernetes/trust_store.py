"""The gateway's trust store: the custom CA bundle beside the image's public roots.

.NET on Linux builds its machine root store from the file named by ``SSL_CERT_FILE`` plus every
file in each directory named by ``SSL_CERT_DIR`` (dotnet/runtime ``pal_x509_root.c`` reads the
two variables; ``OpenSslCachedSystemStoreProvider.cs`` ``LoadMachineStores`` loads the file, then
each directory). The bundle is mounted in a directory of its own and named by ``SSL_CERT_FILE``;
``SSL_CERT_DIR`` names the image's system directory, which no mount hides, so the public roots
stay trusted and Azure's own endpoints still validate. Why this and not
``certificates.local.ca.enabled``: docs/gateway-settings.md.
"""

from __future__ import annotations

import hashlib
from typing import Any

from ..config import GatewayConfig

CA_DIRECTORY = "/apim/certificates/ca"
"""Where the custom CA bundle is mounted (a directory of this project's choosing, under no
directory the image is known to use)."""
CA_BUNDLE_FILE = "ca-bundle.crt"
"""File name of the bundle inside ``CA_DIRECTORY``, and its key in the stack's CA Secret."""
CA_VOLUME = "custom-ca"


def ca_secret_name(gateway: GatewayConfig) -> str | None:
    """The CA bundle Secret: the stack's own, named after its content, or ``customCa.secretName``.

    A content name makes a new bundle a new Secret, created before the old one is deleted, and
    changes the pod template, so a rollout brings the new trust store.
    """
    ca = gateway.custom_ca
    if ca.bundle is not None:
        return f"{gateway.name}-ca-{hashlib.sha256(ca.bundle.encode()).hexdigest()[:10]}"
    return ca.secret_name


def trust_store(
    gateway: GatewayConfig, secret_name: str | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Volumes, container mounts and container env for the custom CA (all empty without one)."""
    ca = gateway.custom_ca
    if not ca.enabled or secret_name is None:
        return [], [], []
    key = CA_BUNDLE_FILE if ca.bundle is not None else ca.secret_key
    volume = {
        "name": CA_VOLUME,
        "secret": {"secretName": secret_name, "items": [{"key": key, "path": CA_BUNDLE_FILE}]},
    }
    mount = {"name": CA_VOLUME, "mountPath": CA_DIRECTORY, "readOnly": True}
    env = [
        {"name": "SSL_CERT_FILE", "value": f"{CA_DIRECTORY}/{CA_BUNDLE_FILE}"},
        {"name": "SSL_CERT_DIR", "value": ca.system_certificate_directory},
    ]
    return [volume], [mount], env
