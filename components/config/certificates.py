"""Custom CA certificates (``customCa``): PEM bundles from config, parsed and checked before
anything is registered.

CA certificates are public, so a stack file may hold them (``customCa.certificates``) or name
a file the program reads (``customCa.certificatesFile``). Only ``CERTIFICATE`` blocks are
accepted: a private key pasted by mistake would otherwise land in a Kubernetes Secret and in
plain stack config.
"""

from __future__ import annotations

import re
from pathlib import Path

from cryptography import x509
from pydantic import Field, PrivateAttr, field_validator, model_validator

from .fields import DnsName, Model

_PEM_BLOCK = re.compile(r"-----BEGIN (?P<label>[A-Z0-9 ]+)-----\s*(?P<body>.*?)-----END (?P=label)-----", re.DOTALL)


def ca_bundle(text: str) -> str:
    """The PEM certificates in ``text``, normalised (one block after the other, final newline).

    Raises ``ValueError`` saying what is wrong: no PEM block, a block that is not a
    certificate, a certificate that does not parse, or one that says it is not a CA.
    """
    blocks = list(_PEM_BLOCK.finditer(text))
    if not blocks:
        raise ValueError("is not PEM: expected one or more '-----BEGIN CERTIFICATE-----' blocks")
    certificates: list[str] = []
    for number, block in enumerate(blocks, start=1):
        if block["label"] != "CERTIFICATE":
            raise ValueError(
                f"block {number} is a {block['label']!r} block: only CERTIFICATE blocks belong here "
                "(never a private key)"
            )
        pem = block.group(0)
        try:
            certificate = x509.load_pem_x509_certificate(pem.encode())
        except ValueError:
            raise ValueError(f"block {number} is not a valid X.509 certificate") from None
        try:
            constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
        except x509.ExtensionNotFound:
            constraints = None
        if constraints is not None and not constraints.ca:
            raise ValueError(
                f"certificate {number} ({certificate.subject.rfc4514_string()}) is not a CA certificate "
                "(basicConstraints CA:FALSE): give the CA that signed it"
            )
        certificates.append(pem.strip())
    return "\n".join(certificates) + "\n"


def read_ca_bundle_file(path: str) -> str:
    """``ca_bundle`` of a file's content; ``ValueError`` when the file cannot be read."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise ValueError(f"cannot be read ({reason})") from None
    return ca_bundle(text)


class CustomCaSettings(Model):
    """CA certificates the gateway trusts besides the image's public roots, for example for a
    configuration endpoint on a custom domain signed by a company CA. Set one of
    ``certificates``, ``certificatesFile`` or ``secretName``. The container gets
    ``SSL_CERT_FILE`` (the bundle) and ``SSL_CERT_DIR`` (the public roots); see
    docs/gateway-settings.md."""

    certificates: str | None = None
    """PEM text of one or more CA certificates (public data, kept in the stack file); the stack
    creates the Secret holding them."""
    certificates_file: str | None = None
    """Path of a PEM file of CA certificates, read when the program runs (relative paths from the
    project directory); the stack creates the Secret holding them."""
    secret_name: DnsName | None = None
    """An existing Secret in the gateway namespace holding the PEM bundle; only with
    ``namespace.create: false`` (a namespace the stack creates has no Secret before its first run)."""
    secret_key: str = Field(default="ca.crt", pattern=r"^[-._a-zA-Z0-9]+$")
    """Key of the PEM bundle in ``secretName``."""
    system_certificate_directory: str = Field(default="/etc/ssl/certs", pattern=r"^/")
    """Directory of the image's public root certificates, kept trusted through ``SSL_CERT_DIR``.
    ``/etc/ssl/certs`` is .NET's own fallback (dotnet/runtime ``OpenSslCachedSystemStoreProvider.cs``);
    that the gateway image keeps its roots there is assumed, not verified. Never under ``/apim``,
    where the stack mounts its own volumes (the CA bundle, the backup, Entra certificates)."""

    _bundle: str | None = PrivateAttr(default=None)

    @field_validator("system_certificate_directory")
    @classmethod
    def _not_a_stack_mount(cls, value: str) -> str:
        if value.rstrip("/") == "/apim" or value.startswith("/apim/"):
            raise ValueError(
                "must not be under /apim, where the stack mounts its own volumes (the public roots would be lost)"
            )
        return value

    @field_validator("certificates")
    @classmethod
    def _pem(cls, value: str | None) -> str | None:
        return ca_bundle(value) if value is not None else None

    @field_validator("certificates_file")
    @classmethod
    def _pem_file(cls, value: str | None) -> str | None:
        if value is not None:
            read_ca_bundle_file(value)
        return value

    @model_validator(mode="after")
    def _one_source(self) -> CustomCaSettings:
        given = [
            key
            for key, value in (
                ("certificates", self.certificates),
                ("certificatesFile", self.certificates_file),
                ("secretName", self.secret_name),
            )
            if value
        ]
        if len(given) > 1:
            raise ValueError(
                f"set only one of certificates, certificatesFile and secretName (got {' and '.join(given)})"
            )
        if self.certificates is not None:
            self._bundle = self.certificates
        elif self.certificates_file is not None:
            self._bundle = read_ca_bundle_file(self.certificates_file)
        return self

    @property
    def enabled(self) -> bool:
        return bool(self._bundle or self.secret_name)

    @property
    def bundle(self) -> str | None:
        """The PEM bundle the stack puts in its own Secret (None with ``secretName``)."""
        return self._bundle
