"""Unit tests for harness.flows.certificates: the client certificates the tester makes itself."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from harness import flows
from harness.config import ClientConfig
from harness.flows import Client
from harness.net import HttpClient

SUBJECT = x509.Name(
    [
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "fapi-harness"),
        x509.NameAttribute(NameOID.COMMON_NAME, "client-one"),
    ]
)


@pytest.fixture
def client_cert(tmp_path: Path) -> Path:
    """A client certificate issued by a 'real' CA (as a target's configured one would be)."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "real CA")])
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(SUBJECT)
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(ca_key, hashes.SHA256())
    )
    path = tmp_path / "client.crt"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def _public(cert: x509.Certificate) -> bytes:
    return cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _key_matches(made: flows.Certificate) -> bool:
    key = serialization.load_pem_private_key(made.key_pem, None)
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) == _public(made.cert)


def test_self_signed_like_copies_the_subject_only(client_cert: Path) -> None:
    """Same subject as the client's certificate; its own issuer (self-signed), a fresh key that
    signs it, and the key PEM that goes with it."""
    original = x509.load_pem_x509_certificate(client_cert.read_bytes())
    made = flows.self_signed_like(client_cert)
    assert made.cert.subject == SUBJECT
    assert made.cert.issuer == SUBJECT
    assert _public(made.cert) != _public(original)
    made.cert.verify_directly_issued_by(made.cert)
    assert _key_matches(made)
    assert "self-signed" in made.description


def test_from_throwaway_ca_copies_the_subject_only(client_cert: Path) -> None:
    """Same subject; issued by a throwaway CA (not the client's CA, not self-signed), on a fresh
    key; a new CA each time."""
    original = x509.load_pem_x509_certificate(client_cert.read_bytes())
    made = flows.from_throwaway_ca(client_cert)
    assert made.cert.subject == SUBJECT
    assert made.cert.issuer not in (SUBJECT, original.issuer)
    assert _public(made.cert) != _public(original)
    with pytest.raises(ValueError):  # its issuer is the CA, not itself
        made.cert.verify_directly_issued_by(made.cert)
    assert _key_matches(made)
    assert "untrusted" in made.description


def test_presenting_gives_the_same_client_another_connection(
    client_cert: Path, tmp_path: Path
) -> None:
    """The client keeps its id and settings; only its connection (with the certificate, named
    in the evidence identity) changes, and is closed after the block."""
    config = ClientConfig(
        client_id="client-one",
        auth_method="tls_client_auth",
        sender_constraint="mtls",
        redirect_uri="https://client.example/cb",
        cert_file=client_cert,
        key_file=client_cert,
    )
    original = HttpClient("client client-one", ca_file=None)
    client = Client(config, original, "https://as.example")
    made = flows.self_signed_like(client_cert)
    with flows.presenting(client, made, None) as other:
        assert other.client_id == "client-one" and other.config is config
        assert other.http is not original and other.http.has_cert
        assert made.description in other.http.identity
    assert client.http is original
    original.close()
