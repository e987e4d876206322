"""Client certificates the tester makes for itself, for mTLS negative tests (RFC 8705 section 2).

They copy the subject of a client's configured certificate, so that only what the test names
differs from the real one: who issued it (a throwaway CA nobody trusts) or that nobody did
(self-signed). They are made per run, with fresh keys, and never leave the machine.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from harness.flows.client import Client
from harness.net import HttpClient


@dataclass(frozen=True)
class Certificate:
    """A client certificate (PEM) with its private key (PEM) and what it is, for the evidence."""

    cert_pem: bytes
    key_pem: bytes
    description: str

    @classmethod
    def from_files(cls, cert_file: Path, key_file: Path, description: str) -> Certificate:
        """A certificate configured for some client (read from its files)."""
        return cls(cert_file.read_bytes(), key_file.read_bytes(), description)

    @property
    def cert(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem)


def subject_of(cert_file: Path) -> x509.Name:
    """The subject of a PEM certificate file."""
    return x509.load_pem_x509_certificate(cert_file.read_bytes()).subject


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _issue(
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(issuer_key, hashes.SHA256())
    )


def self_signed_like(cert_file: Path) -> Certificate:
    """A self-signed certificate with the same subject as ``cert_file``'s, on a fresh key."""
    subject = subject_of(cert_file)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _issue(subject, key, subject, key, ca=False)
    return Certificate(
        cert.public_bytes(serialization.Encoding.PEM),
        _key_pem(key),
        f"an unregistered self-signed certificate for {subject.rfc4514_string()}",
    )


def from_throwaway_ca(cert_file: Path) -> Certificate:
    """A certificate with the same subject as ``cert_file``'s, on a fresh key, issued by a CA
    made for this one certificate (that no server trusts)."""
    subject = subject_of(cert_file)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, "fapi-harness throwaway CA (untrusted)")]
    )
    ca_cert = _issue(ca_name, ca_key, ca_name, ca_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _issue(subject, key, ca_cert.subject, ca_key, ca=False)
    return Certificate(
        cert.public_bytes(serialization.Encoding.PEM),
        _key_pem(key),
        f"a certificate for {subject.rfc4514_string()} issued by an untrusted throwaway CA",
    )


@contextlib.contextmanager
def presenting(client: Client, certificate: Certificate, ca_file: Path | None) -> Iterator[Client]:
    """The same client (id, keys, settings) on a connection that presents ``certificate``
    (trusting the server through ``ca_file``), closed after the block."""
    with tempfile.TemporaryDirectory(prefix="fapi-cert-") as tmp:
        cert_path, key_path = Path(tmp) / "client.crt", Path(tmp) / "client.key"
        cert_path.write_bytes(certificate.cert_pem)
        key_path.touch(mode=0o600)
        key_path.write_bytes(certificate.key_pem)
        http = HttpClient(
            f"client {client.client_id} presenting {certificate.description}",
            ca_file=ca_file,
            cert=(cert_path, key_path),
            timeouts=client.http.timeouts,
        )
    try:
        yield dataclasses.replace(client, http=http)
    finally:
        http.close()
