"""mTLS client authentication (RFC 8705 section 2, FAPI 2.0 SP 5.3.2.1 item 6).

Each test sends a pushed authorization request as client 1 over a connection that presents the
wrong certificate (or none), then obtains a code normally and redeems it over such a connection.
Both must be refused with HTTP 400/401 and ``invalid_client`` (RFC 8705 2: a certificate that
does not authenticate the client is a failed client authentication, RFC 6749 5.2). Where the
certificate is missing or is not one the server can trust, the server may instead end the TLS
handshake: no HTTP answer counts as a refusal there, and the transport error is shown. Every
error response must also have valid ``error`` syntax (RFC 6749 5.2).

These tests apply to clients that authenticate with tls_client_auth or
self_signed_tls_client_auth; private_key_jwt variants are SKIPPED.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from harness import checks, flows, jose
from harness.config import VariantConfig
from harness.flows import Client, DpopSession, Exchange, TargetContext
from harness.verdict import Judge

MTLS_METHODS = ("tls_client_auth", "self_signed_tls_client_auth")


def _mtls(client: Client, variant: VariantConfig) -> None:
    """SKIP unless the variant's client authenticates with its certificate."""
    if client.config.auth_method not in MTLS_METHODS or client.config.cert_file is None:
        pytest.skip(
            f"not applicable: variant {variant.name} authenticates clients with "
            f"{client.config.auth_method}, not with a client certificate"
        )


def _sent(send: Callable[[], Exchange]) -> Exchange:
    """The exchange of a request, or the record of a connection the server dropped."""
    try:
        return send()
    except flows.TransportFailure as dropped:
        return dropped.exchange


def _at_par_and_token(
    target: TargetContext, client: Client, impostor: Client
) -> tuple[Exchange, Exchange]:
    """PAR as ``impostor`` (client 1's id on another connection); then a normal authorization
    by ``client`` whose code ``impostor`` redeems. Returns the two exchanges under test."""
    dpop = DpopSession() if client.uses_dpop else None
    pkce = jose.pkce_s256()
    params = flows.authorization_params(client, pkce, flows.new_state(), None)
    par = _sent(
        lambda: flows.push_authorization_request(impostor, target.discovery, params, dpop=dpop)
    )
    attempt = flows.attempt_authorization(client, target, params, dpop=dpop, setup=True)
    code = flows.require_callback(attempt, "the authorization with the client's certificate")
    token = _sent(
        lambda: flows.redeem_code(
            impostor, target.discovery, code.params["code"], pkce.verifier, dpop=dpop
        )
    )
    return par, token


def _error_syntax(judge: Judge, exchange: Exchange) -> None:
    """The error response's members have valid syntax (RFC 6749 5.2)."""
    judge.must(checks.expect_error_syntax(exchange, req="OAUTH-5.2-3"))
    judge.should(checks.expect_error_description_single_line(exchange, req="OAUTH-5.2-4"))


@pytest.mark.negative
@pytest.mark.requirement("MTLS-2-1", "OAUTH-5.2-3")
def test_client_without_certificate_refused(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """Client 1's PAR, and its token request, sent with its client_id over a connection that
    presents no client certificate. Passing means both are refused: HTTP 400/401 with
    invalid_client or invalid_request, or a TLS handshake the server ends for want of a
    certificate."""
    _mtls(client, variant)
    bare = dataclasses.replace(client, http=target.anonymous_http)
    for exchange in _at_par_and_token(target, client, bare):
        judge.must(
            checks.expect_refused_or_dropped(
                exchange, ["invalid_client", "invalid_request"], statuses=(400, 401), req="MTLS-2-1"
            )
        )
        _error_syntax(judge, exchange)


@pytest.mark.negative
@pytest.mark.requirement("MTLS-2.1-1", "MTLS-2.2-1", "OAUTH-5.2-3")
def test_certificate_from_untrusted_ca_refused(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """Client 1's PAR and token request over a connection presenting a certificate with client
    1's exact subject, issued by a throwaway CA the tester made for this test (so it does not
    chain to any CA the server trusts). Passing means both are refused: HTTP 400/401 with
    invalid_client, or a TLS handshake the server ends."""
    _mtls(client, variant)
    cert_file = client.config.cert_file
    if cert_file is None:  # narrowed by _mtls
        pytest.skip("not applicable: the client has no certificate")
    self_signed = client.config.auth_method == "self_signed_tls_client_auth"
    with flows.presenting(client, flows.from_throwaway_ca(cert_file), target.config.ca_file) as c:
        exchanges = _at_par_and_token(target, client, c)
    for exchange in exchanges:
        judge.must(
            checks.expect_refused_or_dropped(
                exchange,
                ["invalid_client"],
                statuses=(400, 401),
                req="MTLS-2.2-1" if self_signed else "MTLS-2.1-1",
            )
        )
        _error_syntax(judge, exchange)


@pytest.mark.negative
@pytest.mark.requirement("MTLS-2.1-1", "MTLS-2.2-1", "OAUTH-5.2-3")
def test_unregistered_self_signed_certificate_refused(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """Client 1's PAR and token request over a connection presenting a self-signed certificate
    with client 1's exact subject on a fresh key (registered nowhere). Passing means both are
    refused: HTTP 400/401 with invalid_client, or a TLS handshake the server ends."""
    _mtls(client, variant)
    cert_file = client.config.cert_file
    if cert_file is None:  # narrowed by _mtls
        pytest.skip("not applicable: the client has no certificate")
    self_signed = client.config.auth_method == "self_signed_tls_client_auth"
    with flows.presenting(client, flows.self_signed_like(cert_file), target.config.ca_file) as c:
        exchanges = _at_par_and_token(target, client, c)
    for exchange in exchanges:
        judge.must(
            checks.expect_refused_or_dropped(
                exchange,
                ["invalid_client"],
                statuses=(400, 401),
                req="MTLS-2.2-1" if self_signed else "MTLS-2.1-1",
            )
        )
        _error_syntax(judge, exchange)


@pytest.mark.negative
@pytest.mark.requirement("MTLS-2-2", "OAUTH-5.2-3")
def test_other_clients_certificate_refused(
    target: TargetContext,
    client: Client,
    client2: Client,
    variant: VariantConfig,
    judge: Judge,
) -> None:
    """Client 1's PAR and token request (client 1's client_id) over a connection presenting
    client 2's certificate, which the server trusts but which is registered for client 2.
    Passing means both are refused with HTTP 400/401 and invalid_client (a dropped handshake
    is not a refusal here: the certificate is valid, only its binding to the client is
    wrong)."""
    _mtls(client, variant)
    cert, key = client2.config.cert_file, client2.config.key_file
    if cert is None or key is None:
        pytest.skip(f"not applicable: client {client2.client_id} has no certificate")
    other = flows.Certificate.from_files(cert, key, f"client {client2.client_id}'s certificate")
    with flows.presenting(client, other, target.config.ca_file) as c:
        exchanges = _at_par_and_token(target, client, c)
    for exchange in exchanges:
        judge.must(
            checks.expect_oauth_error(
                exchange, ["invalid_client"], statuses=(400, 401), req="MTLS-2-2"
            )
        )
        _error_syntax(judge, exchange)
