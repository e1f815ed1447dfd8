"""PEM CA bundles from config: parsed and checked before anything is registered.

CA certificates are public, so a stack file may hold them (``customCa.certificates``) or name
a file the program reads (``customCa.certificatesFile``). Only ``CERTIFICATE`` blocks are
accepted: a private key pasted by mistake would otherwise land in a Kubernetes Secret and in
plain stack config.
"""

from __future__ import annotations

import re
from pathlib import Path

from cryptography import x509

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
