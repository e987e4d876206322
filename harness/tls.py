"""TLS probes: handshakes with a pinned protocol version and cipher suites, using the standard
``ssl`` module (OpenSSL), each recorded as a ``TlsProbe``.

A probe tells three things apart: the server completed the handshake (``connected``), the server
ended it or answered with something we did not offer (``refused``), and this machine's OpenSSL
could not even offer what was asked (``unavailable``: nothing was learnt about the server).
Old versions are offered at OpenSSL security level 0, so that a modern OpenSSL still sends them.
A TCP connection that cannot be made is ``unreachable``. Probes never decide verdicts.
"""

from __future__ import annotations

import socket
import ssl
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from harness.evidence import TlsProbe, record

VERSIONS: dict[str, ssl.TLSVersion] = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}

# Errors that OpenSSL raises before anything reaches the server: it cannot offer what was asked.
_LOCAL = ("NO_PROTOCOLS_AVAILABLE", "NO_CIPHERS_AVAILABLE", "NO_CIPHER_MATCH")


def host_port(url: str) -> tuple[str, int]:
    """The host and port an https URL is served on."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"not an https URL: {url}")
    return parts.hostname, parts.port or 443


def _context(
    version: str,
    ciphers: str | None,
    ca_file: Path | None,
    verify: bool,
    max_version: str | None = None,
) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if verify:
        if ca_file is not None:
            ctx.load_verify_locations(cafile=str(ca_file))
        else:
            ctx.load_default_certs()
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():  # TLS 1.0/1.1 are deprecated: offering them is the point
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = VERSIONS[version]
        ctx.maximum_version = VERSIONS[max_version or version]
    if version != "TLSv1.3":
        # Security level 0: let this OpenSSL offer old versions and weak suites on purpose.
        ctx.set_ciphers(f"{ciphers or 'ALL'}:@SECLEVEL=0")
    return ctx


def handshake(
    label: str,
    host: str,
    port: int,
    *,
    version: str,
    ciphers: str | None = None,
    ca_file: Path | None = None,
    verify: bool = False,
    timeout_s: float = 5.0,
) -> TlsProbe:
    """Attempt one TLS handshake offering only ``version`` (and, below TLS 1.3, only the
    OpenSSL cipher string ``ciphers``); with ``verify``, check the server certificate against
    ``ca_file`` (or the system store) and the host name. The probe is recorded as evidence."""
    probe = _handshake(label, host, port, version, ciphers, ca_file, verify, timeout_s)
    record(probe)
    return probe


def _handshake(
    label: str,
    host: str,
    port: int,
    version: str,
    ciphers: str | None,
    ca_file: Path | None,
    verify: bool,
    timeout_s: float,
    max_version: str | None = None,
) -> TlsProbe:
    offered = f"{version}-{max_version}" if max_version else version
    probe = TlsProbe(label, host, port, offered, ciphers, outcome="unavailable")
    try:
        ctx = _context(version, ciphers, ca_file, verify, max_version)
    except (ValueError, ssl.SSLError) as exc:
        probe.error = f"this OpenSSL ({ssl.OPENSSL_VERSION}) cannot offer it: {exc}"
        return probe
    try:
        sock = socket.create_connection((host, port), timeout=timeout_s)
    except OSError as exc:
        probe.outcome = "unreachable"
        probe.error = f"{type(exc).__name__}: {exc}"
        return probe
    try:
        with ctx.wrap_socket(sock, server_hostname=host) as tls:
            probe.outcome = "connected"
            probe.negotiated_version = tls.version()
            cipher = tls.cipher()
            probe.negotiated_cipher = cipher[0] if cipher else None
            probe.verified = verify
    except ssl.SSLCertVerificationError as exc:
        probe.outcome = "certificate_invalid"
        probe.error = f"{exc.verify_message or exc.reason}"
    except ssl.SSLError as exc:
        reason = exc.reason or ""
        probe.outcome = "unavailable" if reason in _LOCAL else "refused"
        probe.error = f"{reason or type(exc).__name__}: {exc}"
        if probe.outcome == "unavailable":
            probe.error = f"this OpenSSL ({ssl.OPENSSL_VERSION}) cannot offer it: {probe.error}"
    except OSError as exc:  # reset or closed during the handshake: the server dropped it
        probe.outcome = "refused"
        probe.error = f"connection dropped during the handshake: {type(exc).__name__}: {exc}"
    finally:
        sock.close()
    return probe


def tls12_candidate_suites() -> list[str]:
    """Every TLS 1.2 cipher suite this OpenSSL can offer at security level 0, except PSK and
    SRP suites (they need a pre-shared key or password, so no server would pick them here)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.set_ciphers("ALL:COMPLEMENTOFALL:@SECLEVEL=0")
    names = [c["name"] for c in ctx.get_ciphers() if c.get("protocol") != "TLSv1.3"]
    return [n for n in names if "PSK" not in n and "SRP" not in n]


@dataclass
class TlsScan:
    """Every probe of one host:port: versions (each alone, and TLS 1.2 with 1.3 together as
    ``TLSv1.2-TLSv1.3``), TLS 1.2 suites one by one, the certificate."""

    host: str
    port: int
    versions: dict[str, TlsProbe] = field(default_factory=dict)
    tls12_suites: list[TlsProbe] = field(default_factory=list)
    certificate: TlsProbe | None = None

    @property
    def probes(self) -> list[TlsProbe]:
        cert = [self.certificate] if self.certificate else []
        return [*self.versions.values(), *self.tls12_suites, *cert]


_SCANS: dict[tuple[str, int, str], TlsScan] = {}
EVIDENCE_GROUPS = ("versions", "tls12_suites", "certificate")


def scan(
    url: str,
    *,
    ca_file: Path | None,
    evidence: tuple[str, ...] = EVIDENCE_GROUPS,
    timeout_s: float = 5.0,
) -> TlsScan:
    """Probe the host:port that serves ``url``: each of TLS 1.0 to 1.3 alone, TLS 1.2 and 1.3
    together (which one the server picks), each TLS 1.2
    cipher suite alone, and the certificate with verification on. A host:port is probed once
    per run; every call records the probes of the ``evidence`` groups (``versions``,
    ``tls12_suites``, ``certificate``) as the calling test's evidence."""
    host, port = host_port(url)
    key = (host, port, str(ca_file))
    result = _SCANS.get(key)
    if result is None:
        result = TlsScan(host, port)

        def probe(label: str, version: str, **kwargs: Any) -> TlsProbe:
            return _handshake(
                label,
                host,
                port,
                version,
                kwargs.get("ciphers"),
                kwargs.get("ca_file"),
                bool(kwargs.get("verify")),
                timeout_s,
                kwargs.get("max_version"),
            )

        for version in VERSIONS:
            result.versions[version] = probe(f"{version} alone", version)
        result.versions["TLSv1.2-TLSv1.3"] = probe(
            "TLS 1.2 and 1.3 offered together", "TLSv1.2", max_version="TLSv1.3"
        )
        if result.versions["TLSv1.2"].outcome in ("connected", "refused"):
            result.tls12_suites = [
                probe(f"TLS 1.2, {suite} alone", "TLSv1.2", ciphers=suite)
                for suite in tls12_candidate_suites()
            ]
        newest = "TLSv1.3" if result.versions["TLSv1.3"].outcome == "connected" else "TLSv1.2"
        result.certificate = probe(
            f"{newest}, certificate verified for {host}", newest, ca_file=ca_file, verify=True
        )
        _SCANS[key] = result
    groups: dict[str, list[TlsProbe]] = {
        "versions": list(result.versions.values()),
        "tls12_suites": result.tls12_suites,
        "certificate": [result.certificate] if result.certificate else [],
    }
    for group in evidence:
        for item in groups[group]:
            record(item)
    return result
