"""Checks on TLS probes (FAPI 2.0 SP 5.2.1-5.2.3, BCP 195 = RFC 9325): protocol versions,
TLS 1.2 cipher suites and the server certificate."""

from __future__ import annotations

from collections.abc import Sequence

from harness.evidence import TlsProbe
from harness.verdict import Finding

# RFC 9325 4.2: the TLS 1.2 suites BCP 195 recommends (OpenSSL names), the only ones FAPI 2.0 SP
# 5.2.2 permits on endpoints that browsers do not use.
RECOMMENDED_TLS12_SUITES = frozenset(
    {
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
    }
)

# RFC 9325 4.1: never NULL encryption, RC4, export-grade or < 112-bit suites; anonymous suites
# authenticate nobody. (OpenSSL names: NULL, RC4, EXP, DES-CBC (single DES), ADH/AECDH, MD5.)
_FORBIDDEN_MARKS = ("NULL", "RC4", "EXP", "ADH", "AECDH", "MD5")


def forbidden_tls12_suite(name: str) -> bool:
    """A suite BCP 195 forbids outright (not merely one it does not recommend)."""
    single_des = "DES-CBC-" in name and "DES-CBC3" not in name
    return single_des or any(mark in name for mark in _FORBIDDEN_MARKS)


def _describe(probe: TlsProbe) -> str:
    return probe.summary


def expect_tls_version_refused(probe: TlsProbe, *, req: str) -> Finding:
    """A handshake that offered only an old protocol version was refused by the server. A probe
    this machine could not make, or a host that could not be reached, never passes."""
    ok = probe.outcome == "refused"
    return Finding(
        req,
        ok,
        f"{probe.host}:{probe.port} refuses {probe.version}",
        expected=f"the {probe.version} handshake fails (alert or dropped connection)",
        actual=_describe(probe),
        inconclusive=probe.outcome in ("unavailable", "unreachable"),
    )


def expect_tls_version_accepted(probe: TlsProbe, *, req: str) -> Finding:
    """A handshake that offered only ``probe.version`` completed with that version."""
    ok = probe.outcome == "connected" and probe.negotiated_version == probe.version
    return Finding(
        req,
        ok,
        f"{probe.host}:{probe.port} accepts {probe.version}",
        expected=f"a completed {probe.version} handshake",
        actual=_describe(probe),
        inconclusive=probe.outcome == "unavailable",
    )


def expect_tls_version_negotiated(probe: TlsProbe, version: str, *, req: str) -> Finding:
    """A handshake that offered several versions completed with ``version`` (e.g. TLS 1.3
    chosen over TLS 1.2, RFC 9325 3.1.1)."""
    ok = probe.outcome == "connected" and probe.negotiated_version == version
    return Finding(
        req,
        ok,
        f"{probe.host}:{probe.port} negotiates {version} when offered {probe.version}",
        expected=f"a completed handshake at {version}",
        actual=_describe(probe),
        inconclusive=probe.outcome in ("unavailable", "unreachable"),
    )


def _accepted(probes: Sequence[TlsProbe]) -> list[str]:
    return [p.ciphers or "?" for p in probes if p.outcome == "connected"]


def expect_only_recommended_tls12_suites(probes: Sequence[TlsProbe], *, req: str) -> Finding:
    """Of the TLS 1.2 suites offered one at a time, the server accepted only the four ECDHE
    AES-GCM suites of RFC 9325 4.2."""
    accepted = _accepted(probes)
    extra = sorted(set(accepted) - RECOMMENDED_TLS12_SUITES)
    where = f"{probes[0].host}:{probes[0].port}" if probes else "the server"
    return Finding(
        req,
        bool(probes) and not extra,
        f"{where} accepts only the BCP 195 recommended TLS 1.2 suites",
        expected="accepted ⊆ " + ", ".join(sorted(RECOMMENDED_TLS12_SUITES)),
        actual=(
            f"{len(probes)} suites offered one at a time; accepted: {', '.join(accepted) or 'none'}"
            + (f"; not permitted: {', '.join(extra)}" if extra else "")
        ),
    )


def expect_no_forbidden_tls12_suites(probes: Sequence[TlsProbe], *, req: str) -> Finding:
    """Of the TLS 1.2 suites offered one at a time, the server accepted none that BCP 195
    forbids (NULL, RC4, export, single DES, anonymous, MD5)."""
    accepted = _accepted(probes)
    bad = sorted(s for s in accepted if forbidden_tls12_suite(s))
    where = f"{probes[0].host}:{probes[0].port}" if probes else "the server"
    return Finding(
        req,
        bool(probes) and not bad,
        f"{where} accepts no TLS 1.2 suite that BCP 195 forbids",
        expected="no NULL, RC4, export, DES, anonymous or MD5 suite accepted",
        actual=(
            f"{len(probes)} suites offered one at a time; accepted: {', '.join(accepted) or 'none'}"
            + (f"; forbidden: {', '.join(bad)}" if bad else "")
        ),
    )


def expect_tls_certificate_valid(probe: TlsProbe, *, req: str) -> Finding:
    """The handshake with certificate verification on completed: the server certificate chains
    to the trust anchor and is valid for the host name (RFC 9525)."""
    ok = probe.outcome == "connected" and probe.verified
    return Finding(
        req,
        ok,
        f"{probe.host}:{probe.port} presents a certificate valid for {probe.host}",
        expected="a handshake with chain and host-name verification on completes",
        actual=_describe(probe),
        inconclusive=probe.outcome in ("unavailable", "unreachable"),
    )
