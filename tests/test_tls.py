"""TLS probes (harness.tls) against a local TLS server built with the ssl module: each probe
ends connected, refused, certificate_invalid, unreachable or unavailable for the right reason."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from harness import tls
from harness.evidence import Recorder, TlsProbe, recording
from harness.targets.reference import _cert, _name, _write_pem


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """A TLS server on 127.0.0.1 (TLS 1.2+, TLS 1.2 only ECDHE-ECDSA-AES128-GCM-SHA256), its
    port and the CA file that its certificate chains to."""
    pki = tmp_path_factory.mktemp("pki")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert(_name("test CA"), ca_key, ca=True)
    _write_pem(pki / "ca", ca, ca_key)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _cert(_name("127.0.0.1"), key, ca.subject, ca_key, server_ip="127.0.0.1")
    _write_pem(pki / "server", cert, key)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256")
    ctx.load_cert_chain(pki / "server.crt", pki / "server.key")
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            try:
                with ctx.wrap_socket(conn, server_side=True) as tls_conn:
                    tls_conn.recv(1)
            except (ssl.SSLError, OSError):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield port, pki / "ca.crt"
    stop.set()
    listener.close()
    thread.join(timeout=5)


def _probe(port: int, version: str, **kwargs: Any) -> TlsProbe:
    return tls.handshake("probe", "127.0.0.1", port, version=version, **kwargs)


def test_host_port() -> None:
    assert tls.host_port("https://as.example/x") == ("as.example", 443)
    assert tls.host_port("https://127.0.0.1:8443/") == ("127.0.0.1", 8443)
    with pytest.raises(ValueError, match="https"):
        tls.host_port("http://as.example/")


def test_supported_versions_connect(server: tuple[int, Path]) -> None:
    port, _ = server
    for version in ("TLSv1.2", "TLSv1.3"):
        probe = _probe(port, version=version)
        assert (probe.outcome, probe.negotiated_version) == ("connected", version)


@pytest.mark.parametrize("version", ["TLSv1", "TLSv1.1"])
def test_old_versions_are_refused_by_the_server(server: tuple[int, Path], version: str) -> None:
    """The ClientHello really goes out (security level 0) and the server says no."""
    probe = _probe(server[0], version=version)
    assert probe.outcome == "refused", probe.summary


def test_single_suites(server: tuple[int, Path]) -> None:
    port, _ = server
    good = _probe(port, version="TLSv1.2", ciphers="ECDHE-ECDSA-AES128-GCM-SHA256")
    assert (good.outcome, good.negotiated_cipher) == ("connected", "ECDHE-ECDSA-AES128-GCM-SHA256")
    assert _probe(port, version="TLSv1.2", ciphers="ECDHE-ECDSA-AES128-SHA").outcome == "refused"


def test_certificate_verification(server: tuple[int, Path], tmp_path: Path) -> None:
    port, ca_file = server
    assert _probe(port, version="TLSv1.3", ca_file=ca_file, verify=True).verified
    other_key = ec.generate_private_key(ec.SECP256R1())
    _write_pem(tmp_path / "other", _cert(_name("other CA"), other_key, ca=True), other_key)
    wrong = _probe(port, version="TLSv1.3", ca_file=tmp_path / "other.crt", verify=True)
    assert wrong.outcome == "certificate_invalid" and not wrong.verified
    wrong_host = tls.handshake(
        "probe", "localhost", port, version="TLSv1.3", ca_file=ca_file, verify=True
    )
    assert wrong_host.outcome == "certificate_invalid", wrong_host.summary


def test_unreachable_and_unavailable() -> None:
    free = socket.create_server(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    assert _probe(port, version="TLSv1.2").outcome == "unreachable"
    bogus = _probe(port, version="TLSv1.2", ciphers="NO-SUCH-SUITE")
    assert bogus.outcome == "unavailable" and "cannot offer" in (bogus.error or "")


def test_candidate_suites_exclude_psk_srp_and_tls13() -> None:
    suites = tls.tls12_candidate_suites()
    assert "ECDHE-ECDSA-AES128-GCM-SHA256" in suites
    assert not [s for s in suites if "PSK" in s or "SRP" in s or s.startswith("TLS_")]


def test_scan_probes_once_and_records_again(server: tuple[int, Path]) -> None:
    port, ca_file = server
    url = f"https://127.0.0.1:{port}/"
    with recording(Recorder()) as first:
        scan = tls.scan(url, ca_file=ca_file)
    with recording(Recorder()) as second:
        again = tls.scan(url, ca_file=ca_file)
    assert again is scan
    assert [p.outcome for p in scan.versions.values()] == [
        "refused",
        "refused",
        "connected",
        "connected",
        "connected",
    ]
    assert scan.versions["TLSv1.2-TLSv1.3"].negotiated_version == "TLSv1.3"
    accepted = [p.ciphers for p in scan.tls12_suites if p.outcome == "connected"]
    assert accepted == ["ECDHE-ECDSA-AES128-GCM-SHA256"]
    assert scan.certificate is not None and scan.certificate.verified
    assert len(first.items) == len(second.items) == len(scan.probes)
    assert all(a is b for a, b in zip(second.items, scan.probes, strict=True))
    with recording(Recorder()) as third:
        tls.scan(url, ca_file=ca_file, evidence=("certificate",))
    assert third.items == [scan.certificate]
