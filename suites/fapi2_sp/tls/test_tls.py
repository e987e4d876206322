"""TLS of the authorization, PAR, token, userinfo and resource endpoints (FAPI 2.0 SP 5.2.1-5.2.3,
BCP 195 = RFC 9325): old versions refused, TLS 1.2 cipher suites, TLS 1.3, the certificate.

Each host:port is probed once per run with the standard ssl module: every protocol version
alone, every TLS 1.2 cipher suite this machine's OpenSSL can offer alone (PSK and SRP suites
excepted), and a handshake with certificate verification. The probes are each test's evidence."""

from __future__ import annotations

import pytest

from harness import checks, flows
from harness.flows import TargetContext
from harness.verdict import Judge, NotTestable

ENDPOINTS = (
    "authorization_endpoint",
    "pushed_authorization_request_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "resource",
)


def _scan(target: TargetContext, endpoint: str, *evidence: str) -> flows.TlsScan:
    """The probes of the host:port serving ``endpoint`` (the resource URL comes from the
    configuration, the others from discovery); the ``evidence`` groups are this test's
    evidence."""
    if endpoint == "resource":
        url: object = target.config.resource.url
    else:
        url = target.discovery.metadata.get(endpoint)
    if not isinstance(url, str) or not url:
        pytest.skip(f"not applicable: the metadata has no {endpoint}")
    scan = flows.tls_scan(url, ca_file=target.config.ca_file, evidence=evidence)
    unreachable = [p for p in scan.probes if p.outcome == "unreachable"]
    if unreachable:
        raise NotTestable(f"{url}: the TLS probes could not connect: {unreachable[0].error}")
    return scan


@pytest.mark.negative
@pytest.mark.requirement("FAPI2SP-5.2.1-2a", "FAPI2SP-5.2.1-2b")
@pytest.mark.parametrize("version", ["TLSv1", "TLSv1.1"])
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_old_tls_versions_refused(
    target: TargetContext, judge: Judge, endpoint: str, version: str
) -> None:
    """A TLS handshake offering only TLS 1.0 (or only TLS 1.1), with every cipher suite this
    machine's OpenSSL has at security level 0. Passing means the server refuses it (an alert or
    a dropped connection), while a TLS 1.2 or 1.3 handshake with the same host completes. If
    this machine cannot offer the version at all, the test cannot tell and ends in ERROR."""
    scan = _scan(target, endpoint, "versions")
    if not any(scan.versions[v].outcome == "connected" for v in ("TLSv1.2", "TLSv1.3")):
        raise NotTestable(
            f"{scan.host}:{scan.port}: no TLS 1.2 or 1.3 handshake completed either, so a"
            " refusal of an old version would prove nothing"
        )
    probe = scan.versions[version]
    if probe.outcome == "unavailable":
        raise NotTestable(f"{version} could not be offered from this machine: {probe.error}")
    if endpoint == "resource":
        judge.must(checks.expect_tls_version_refused(probe, req="FAPI2SP-5.2.1-2b"))
    else:
        judge.must(checks.expect_tls_version_refused(probe, req="FAPI2SP-5.2.1-2a"))


@pytest.mark.negative
@pytest.mark.requirement(
    "TLSBCP-3.1.1-4", "FAPI2SP-5.2.2-1a", "FAPI2SP-5.2.2-1b", "FAPI2SP-5.2.3-2"
)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_tls12_cipher_suites(target: TargetContext, judge: Judge, endpoint: str) -> None:
    """TLS 1.2 handshakes, each offering a single cipher suite. Passing means TLS 1.2 is
    supported and the server accepts only the four ECDHE AES-GCM suites BCP 195 recommends
    (RFC 9325 4.2; FAPI 2.0 SP 5.2.2). The authorization endpoint is used by browsers and may
    accept more (5.2.3), but never a suite BCP 195 forbids (NULL, RC4, export, DES, anonymous)."""
    scan = _scan(target, endpoint, "versions", "tls12_suites")
    judge.must(checks.expect_tls_version_accepted(scan.versions["TLSv1.2"], req="TLSBCP-3.1.1-4"))
    if not scan.tls12_suites:
        raise NotTestable("no TLS 1.2 suite could be probed (TLS 1.2 could not be offered)")
    if endpoint == "authorization_endpoint":
        judge.must(
            checks.expect_no_forbidden_tls12_suites(scan.tls12_suites, req="FAPI2SP-5.2.3-2")
        )
    elif endpoint == "resource":
        judge.must(
            checks.expect_only_recommended_tls12_suites(scan.tls12_suites, req="FAPI2SP-5.2.2-1b")
        )
    else:
        judge.must(
            checks.expect_only_recommended_tls12_suites(scan.tls12_suites, req="FAPI2SP-5.2.2-1a")
        )


@pytest.mark.requirement("TLSBCP-3.1.1-2")
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_tls13_offered(target: TargetContext, judge: Judge, endpoint: str) -> None:
    """A TLS handshake offering only TLS 1.3. Passing means it completes; BCP 195 says TLS 1.3
    should be supported (RFC 9325 3.1.1), so a refusal is a WARNING."""
    probe = _scan(target, endpoint, "versions").versions["TLSv1.3"]
    if probe.outcome == "unavailable":
        raise NotTestable(f"TLS 1.3 could not be offered from this machine: {probe.error}")
    judge.should(checks.expect_tls_version_accepted(probe, req="TLSBCP-3.1.1-2"))


@pytest.mark.requirement("TLSBCP-3.1.1-3")
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_tls13_preferred(target: TargetContext, judge: Judge, endpoint: str) -> None:
    """A TLS handshake offering TLS 1.2 and TLS 1.3 together, to a server that accepts TLS 1.3
    alone. Passing means TLS 1.3 is negotiated (RFC 9325 3.1.1: a server that supports TLS 1.3
    must prefer it). Skipped when the server does not accept TLS 1.3 at all."""
    scan = _scan(target, endpoint, "versions")
    if scan.versions["TLSv1.3"].outcome != "connected":
        pytest.skip("not applicable: the server does not accept TLS 1.3, so it cannot prefer it")
    judge.must(
        checks.expect_tls_version_negotiated(
            scan.versions["TLSv1.2-TLSv1.3"], "TLSv1.3", req="TLSBCP-3.1.1-3"
        )
    )


@pytest.mark.requirement("FAPI2SP-5.2.1-5d", "FAPI2SP-5.2.1-5e")
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_certificate_valid_for_host(target: TargetContext, judge: Judge, endpoint: str) -> None:
    """A TLS handshake (the newest version the server accepts) with certificate verification
    on: the chain must reach the configured trust anchor (ca_file, else the system store) and
    the certificate must be valid now and for the endpoint's host name (RFC 9525)."""
    scan = _scan(target, endpoint, "certificate")
    probe = scan.certificate
    if probe is None or probe.outcome == "unavailable":
        raise NotTestable("the certificate could not be probed from this machine")
    if endpoint == "resource":
        judge.must(checks.expect_tls_certificate_valid(probe, req="FAPI2SP-5.2.1-5e"))
    else:
        judge.must(checks.expect_tls_certificate_valid(probe, req="FAPI2SP-5.2.1-5d"))
