"""Client assertions (private_key_jwt): RFC 7523 section 3, OpenID Connect Core 9, FAPI 2.0 SP
5.3.2.1 and 5.4.1.

Each negative test sends one defective assertion to the PAR endpoint, then obtains a code with
good assertions and redeems it with the same kind of defective assertion at the token endpoint.
Both must be refused with HTTP 400/401 and ``invalid_client`` (RFC 7523 3.2) or
``invalid_request`` (RFC 6749 5.2, for a malformed request), as the OIDF suite accepts. Every
error response must also have valid ``error`` syntax (RFC 6749 5.2).

These tests apply to clients that authenticate with private_key_jwt; tls_client_auth variants
are SKIPPED (their client authentication is tested in test_mtls_client_auth.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from harness import checks, flows, jose
from harness.config import VariantConfig
from harness.flows import Client, DpopSession, Exchange, TargetContext
from harness.verdict import Judge

REFUSALS = ["invalid_client", "invalid_request"]


def _private_key_jwt(client: Client, variant: VariantConfig) -> jose.Key:
    """The client's assertion key, or SKIP when the variant does not use client assertions."""
    if client.config.auth_method != "private_key_jwt" or client.assertion_key is None:
        pytest.skip(
            f"not applicable: variant {variant.name} authenticates clients with "
            f"{client.config.auth_method}, not with client assertions"
        )
    return client.assertion_key


def _assertion(
    target: TargetContext,
    client: Client,
    key: jose.Key,
    *,
    times: Callable[[int], dict[str, int]] | None = None,
    **knobs: Any,
) -> Callable[[], str]:
    """A maker of client 1's assertions signed with ``key``, with the defect ``knobs`` name (see
    ``jose.client_assertion``) and the time claims ``times(now)``, fresh on every call."""

    fixed: dict[str, Any] = knobs.pop("extra_claims", {})

    def make() -> str:
        extra = {**fixed, **(times(int(time.time())) if times else {})}
        return jose.client_assertion(
            client.client_id, target.issuer, key, extra_claims=extra, **knobs
        )

    return make


def _at_par_and_token(
    target: TargetContext,
    client: Client,
    assertion: Callable[[], str],
    extra: dict[str, str] | None = None,
) -> tuple[Exchange, Exchange]:
    """PAR with ``assertion``; then a good authorization whose code is redeemed with
    ``assertion`` at the token endpoint; ``extra`` form parameters go in both requests under
    test. Returns the two exchanges under test."""
    dpop = DpopSession() if client.uses_dpop else None
    pkce = jose.pkce_s256()
    params = flows.authorization_params(client, pkce, flows.new_state(), None)
    par = flows.push_authorization_request(
        client, target.discovery, {**params, **(extra or {})}, dpop=dpop, assertion=assertion
    )
    attempt = flows.attempt_authorization(client, target, params, dpop=dpop, setup=True)
    code = flows.require_callback(attempt, "the authorization with a good assertion")
    token = flows.redeem_code(
        client,
        target.discovery,
        code.params["code"],
        pkce.verifier,
        dpop=dpop,
        assertion=assertion,
        extra=extra,
    )
    return par, token


def _error_syntax(judge: Judge, exchange: Exchange) -> None:
    """The error response's members have valid syntax (RFC 6749 5.2)."""
    judge.must(checks.expect_error_syntax(exchange, req="OAUTH-5.2-3"))
    judge.should(checks.expect_error_description_single_line(exchange, req="OAUTH-5.2-4"))


@pytest.mark.negative
@pytest.mark.requirement("FAPI2SP-5.4.1-1.2b", "OAUTH-5.2-3")
def test_assertion_signed_rs256_refused(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """A client assertion signed with RS256 (RSASSA-PKCS1-v1_5, not a FAPI 2.0 algorithm) by the
    client's own registered RSA key. Passing means PAR and the token endpoint both refuse it
    (400/401, invalid_client or invalid_request). SKIPPED unless the client's key is RSA: an
    RS256 signature by any other key would be refused for the key, not for the algorithm."""
    key = _private_key_jwt(client, variant)
    if key.key_type != "RSA":
        pytest.skip(f"not applicable: client {client.client_id}'s key is {key.key_type}, not RSA")
    for exchange in _at_par_and_token(target, client, _assertion(target, client, key, alg="RS256")):
        judge.must(checks.expect_oauth_error(exchange, REFUSALS, req="FAPI2SP-5.4.1-1.2b"))
        _error_syntax(judge, exchange)


@pytest.mark.negative
@pytest.mark.requirement("FAPI2SP-5.4.1-1.3a", "JWTCA-3-9", "OAUTH-5.2-3")
def test_assertion_alg_none_refused(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """A client assertion with ``alg: none`` and an empty signature (claims otherwise right).
    Passing means PAR and the token endpoint both refuse it (400/401, invalid_client or
    invalid_request)."""
    key = _private_key_jwt(client, variant)
    for exchange in _at_par_and_token(target, client, _assertion(target, client, key, alg="none")):
        judge.must(checks.expect_oauth_error(exchange, REFUSALS, req="FAPI2SP-5.4.1-1.3a"))
        _error_syntax(judge, exchange)


@pytest.mark.negative
@pytest.mark.requirement("JWTBCP-3.1-1", "FAPI2SP-5.4.1-1.2b", "OAUTH-5.2-3")
def test_assertion_hs256_with_public_key_refused(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """A client assertion whose ``alg`` is HS256 and whose signature is an HMAC keyed with the
    PEM of the client's registered public key (the algorithm confusion attack of RFC 8725 2.1).
    Passing means PAR and the token endpoint both refuse it (400/401, invalid_client or
    invalid_request)."""
    key = _private_key_jwt(client, variant)
    hs256 = _assertion(target, client, key, alg="HS256")
    for exchange in _at_par_and_token(target, client, hs256):
        judge.must(checks.expect_oauth_error(exchange, REFUSALS, req="JWTBCP-3.1-1"))
        _error_syntax(judge, exchange)


@pytest.mark.negative
@pytest.mark.requirement("JWTCA-3-4", "OAUTH-5.2-3")
def test_assertion_expired_refused(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """A client assertion whose ``exp`` is five minutes in the past (``iat`` and ``nbf`` six
    minutes in the past). Passing means PAR and the token endpoint both refuse it (400/401,
    invalid_client or invalid_request)."""
    key = _private_key_jwt(client, variant)
    expired = _assertion(
        target,
        client,
        key,
        times=lambda now: {"iat": now - 360, "nbf": now - 360, "exp": now - 300},
    )
    for exchange in _at_par_and_token(target, client, expired):
        judge.must(checks.expect_oauth_error(exchange, REFUSALS, req="JWTCA-3-4"))
        _error_syntax(judge, exchange)


@pytest.mark.negative
@pytest.mark.requirement("JWTCA-3-4", "OIDC-9-1", "OAUTH-5.2-3")
def test_assertion_without_exp_refused(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """A client assertion with no ``exp`` claim (RFC 7523 3 and OpenID Connect Core 9 make it
    REQUIRED). Passing means PAR and the token endpoint both refuse it (400/401, invalid_client
    or invalid_request)."""
    key = _private_key_jwt(client, variant)
    for exchange in _at_par_and_token(
        target, client, _assertion(target, client, key, omit=["exp"])
    ):
        judge.must(checks.expect_oauth_error(exchange, REFUSALS, req="JWTCA-3-4"))
        _error_syntax(judge, exchange)


@pytest.mark.negative
@pytest.mark.requirement("FAPI2SP-5.3.2.1-13b", "OAUTH-5.2-3")
def test_assertion_iat_over_60s_in_future_refused(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """A client assertion whose ``iat`` is 90 s in the future (no ``nbf``; ``exp`` 60 s after
    that ``iat``). FAPI 2.0 SP 5.3.2.1 item 13 requires JWTs with an ``iat`` more than 60 s in
    the future to be rejected. Passing means PAR and the token endpoint both refuse it (400/401,
    invalid_client or invalid_request)."""
    key = _private_key_jwt(client, variant)
    ahead = _assertion(
        target, client, key, times=lambda now: {"iat": now + 90, "exp": now + 150}, omit=["nbf"]
    )
    for exchange in _at_par_and_token(target, client, ahead):
        judge.must(checks.expect_oauth_error(exchange, REFUSALS, req="FAPI2SP-5.3.2.1-13b"))
        _error_syntax(judge, exchange)


@pytest.mark.negative
@pytest.mark.requirement("FAPI2SP-5.3.2.1-13b", "JWTCA-3-5", "OAUTH-5.2-3")
def test_assertion_nbf_over_60s_in_future_refused(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """A client assertion whose ``nbf`` is 90 s in the future (``iat`` now, ``exp`` 150 s from
    now). Passing means PAR and the token endpoint both refuse it (400/401, invalid_client or
    invalid_request)."""
    key = _private_key_jwt(client, variant)
    not_yet = _assertion(target, client, key, times=lambda now: {"nbf": now + 90, "exp": now + 150})
    for exchange in _at_par_and_token(target, client, not_yet):
        judge.must(checks.expect_oauth_error(exchange, REFUSALS, req="FAPI2SP-5.3.2.1-13b"))
        _error_syntax(judge, exchange)


@pytest.mark.requirement("FAPI2SP-5.3.2.1-13a", "PAR-2.2-1", "OAUTH-5.1-2")
def test_assertion_nbf_8s_in_future_accepted(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """Client assertions whose ``iat`` and ``nbf`` are 8 s in the future (``exp`` 60 s after),
    at PAR and at the token endpoint: FAPI 2.0 SP 5.3.2.1 item 13 requires JWTs up to 10 s in
    the future to be accepted, to absorb clock offsets. Passing means PAR answers 201 and the
    code (obtained through that pushed request) is exchanged for tokens."""
    key = _private_key_jwt(client, variant)
    skewed = _assertion(
        target, client, key, times=lambda now: {"iat": now + 8, "nbf": now + 8, "exp": now + 68}
    )
    dpop = DpopSession() if client.uses_dpop else None
    pkce = jose.pkce_s256()
    params = flows.authorization_params(client, pkce, flows.new_state(), None)
    par = flows.push_authorization_request(
        client, target.discovery, params, dpop=dpop, assertion=skewed
    )
    judge.must(checks.expect_par_created(par, req="FAPI2SP-5.3.2.1-13a"), stop=True)
    front = target.browser.attempt(
        flows.authorization_url(target.discovery, client.client_id, par.json()["request_uri"]),
        client.config.redirect_uri,
        target.config.browser.login,
        setup=True,
    )
    code = flows.require_callback(flows.Attempt(par, front), "the authorization").params["code"]
    token = flows.redeem_code(
        client, target.discovery, code, pkce.verifier, dpop=dpop, assertion=skewed
    )
    judge.must(checks.expect_token_response(token, req="FAPI2SP-5.3.2.1-13a"))


@pytest.mark.negative
@pytest.mark.requirement("JWTCA-3-3", "OAUTH-5.2-3")
def test_assertion_wrong_aud_refused(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """A client assertion whose ``aud`` names another server (https://as.invalid/). Passing
    means PAR and the token endpoint both refuse it (400/401, invalid_client or
    invalid_request)."""
    key = _private_key_jwt(client, variant)
    wrong = _assertion(target, client, key, extra_claims={"aud": "https://as.invalid/"})
    for exchange in _at_par_and_token(target, client, wrong):
        judge.must(checks.expect_oauth_error(exchange, REFUSALS, req="JWTCA-3-3"))
        _error_syntax(judge, exchange)


@pytest.mark.negative
@pytest.mark.requirement("FAPI2SP-5.3.2.1-8", "OAUTH-5.2-3")
def test_assertion_aud_token_endpoint_refused(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """A client assertion whose ``aud`` is the token endpoint URL. FAPI 2.0 SP Final 5.3.2.1
    item 8: the AS "shall only accept its issuer identifier value ... as a string in the aud
    claim received in client authentication assertions" (RFC 7523 and RFC 9126 would accept the
    token endpoint URL; FAPI 2.0 Final does not). Passing means PAR and the token endpoint both
    refuse it (400/401, invalid_client or invalid_request)."""
    key = _private_key_jwt(client, variant)
    aud = _assertion(
        target, client, key, extra_claims={"aud": target.discovery.endpoint("token_endpoint")}
    )
    for exchange in _at_par_and_token(target, client, aud):
        judge.must(checks.expect_oauth_error(exchange, REFUSALS, req="FAPI2SP-5.3.2.1-8"))
        _error_syntax(judge, exchange)


@pytest.mark.negative
@pytest.mark.requirement("FAPI2SP-5.3.2.1-8", "OAUTH-5.2-3")
def test_assertion_aud_par_endpoint_refused(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """A client assertion whose ``aud`` is the PAR endpoint URL (which RFC 9126 2 lets a plain
    OAuth server accept at PAR; FAPI 2.0 SP Final 5.3.2.1 item 8 allows only the issuer).
    Passing means PAR and the token endpoint both refuse it (400/401, invalid_client or
    invalid_request)."""
    key = _private_key_jwt(client, variant)
    url = target.discovery.endpoint("pushed_authorization_request_endpoint")
    aud = _assertion(target, client, key, extra_claims={"aud": url})
    for exchange in _at_par_and_token(target, client, aud):
        judge.must(checks.expect_oauth_error(exchange, REFUSALS, req="FAPI2SP-5.3.2.1-8"))
        _error_syntax(judge, exchange)


@pytest.mark.negative
@pytest.mark.requirement("FAPI2SP-5.3.2.1-8", "OAUTH-5.2-3")
def test_assertion_aud_array_refused(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """A client assertion whose ``aud`` is an array holding the issuer (``[issuer]`` at PAR,
    ``[issuer, "https://as.invalid/"]`` at the token endpoint). FAPI 2.0 SP Final 5.3.2.1 item
    8 accepts the issuer only "as a string". Passing means PAR and the token endpoint both
    refuse it (400/401, invalid_client or invalid_request)."""
    key = _private_key_jwt(client, variant)
    audiences = iter([[target.issuer], [target.issuer, "https://as.invalid/"]])
    current: list[list[str]] = []

    def array_aud() -> str:
        # one audience per endpoint; a retry (DPoP nonce) keeps the endpoint's audience
        return jose.client_assertion(
            client.client_id, target.issuer, key, extra_claims={"aud": current[-1]}
        )

    current.append(next(audiences))
    dpop = DpopSession() if client.uses_dpop else None
    pkce = jose.pkce_s256()
    params = flows.authorization_params(client, pkce, flows.new_state(), None)
    par = flows.push_authorization_request(
        client, target.discovery, params, dpop=dpop, assertion=array_aud
    )
    attempt = flows.attempt_authorization(client, target, params, dpop=dpop, setup=True)
    code = flows.require_callback(attempt, "the authorization with a good assertion")
    current.append(next(audiences))
    token = flows.redeem_code(
        client, target.discovery, code.params["code"], pkce.verifier, dpop=dpop, assertion=array_aud
    )
    for exchange in (par, token):
        judge.must(checks.expect_oauth_error(exchange, REFUSALS, req="FAPI2SP-5.3.2.1-8"))
        _error_syntax(judge, exchange)


@pytest.mark.negative
@pytest.mark.requirement("JWTCA-3-2", "OIDC-9-1", "OAUTH-5.2-3")
def test_assertion_without_sub_refused(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """A client assertion with no ``sub`` claim (the request still carries client_id).
    Passing means PAR and the token endpoint both refuse it (400/401, invalid_client or
    invalid_request)."""
    key = _private_key_jwt(client, variant)
    for exchange in _at_par_and_token(
        target, client, _assertion(target, client, key, omit=["sub"])
    ):
        judge.must(checks.expect_oauth_error(exchange, REFUSALS, req="JWTCA-3-2"))
        _error_syntax(judge, exchange)


@pytest.mark.negative
@pytest.mark.requirement("JWTCA-3-1", "OIDC-9-1", "OAUTH-5.2-3")
def test_assertion_iss_not_client_refused(
    target: TargetContext,
    client: Client,
    client2: Client,
    variant: VariantConfig,
    judge: Judge,
) -> None:
    """A client assertion signed by client 1 with ``sub`` = client 1 but ``iss`` = client 2's
    client_id. Passing means PAR and the token endpoint both refuse it (400/401, invalid_client
    or invalid_request)."""
    key = _private_key_jwt(client, variant)
    other = _assertion(target, client, key, extra_claims={"iss": client2.client_id})
    for exchange in _at_par_and_token(target, client, other):
        judge.must(checks.expect_oauth_error(exchange, REFUSALS, req="JWTCA-3-1"))
        _error_syntax(judge, exchange)


@pytest.mark.negative
@pytest.mark.requirement("JWTCA-3-2", "OIDC-9-1", "OAUTH-5.2-3")
def test_assertion_sub_not_client_refused(
    target: TargetContext,
    client: Client,
    client2: Client,
    variant: VariantConfig,
    judge: Judge,
) -> None:
    """A client assertion signed by client 1 with ``iss`` = client 1 but ``sub`` = client 2's
    client_id (the request's client_id is client 1's). Passing means PAR and the token endpoint
    both refuse it (400/401, invalid_client or invalid_request)."""
    key = _private_key_jwt(client, variant)
    other = _assertion(target, client, key, extra_claims={"sub": client2.client_id})
    for exchange in _at_par_and_token(target, client, other):
        judge.must(checks.expect_oauth_error(exchange, REFUSALS, req="JWTCA-3-2"))
        _error_syntax(judge, exchange)


@pytest.mark.negative
@pytest.mark.requirement("JWTCA-3-9", "OAUTH-5.2-3")
def test_assertion_bad_signature_refused(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """A client assertion that is right in every claim, with one bit of its signature flipped.
    Passing means PAR and the token endpoint both refuse it (400/401, invalid_client or
    invalid_request)."""
    key = _private_key_jwt(client, variant)

    def flipped() -> str:
        return jose.flip_signature_bit(jose.client_assertion(client.client_id, target.issuer, key))

    for exchange in _at_par_and_token(target, client, flipped):
        judge.must(checks.expect_oauth_error(exchange, REFUSALS, req="JWTCA-3-9"))
        _error_syntax(judge, exchange)


@pytest.mark.negative
@pytest.mark.requirement("JWTCA-3-9", "OAUTH-5.2-3")
def test_assertion_signed_by_other_client_refused(
    target: TargetContext,
    client: Client,
    client2: Client,
    variant: VariantConfig,
    judge: Judge,
) -> None:
    """Client 1's assertion (iss = sub = client 1) signed with client 2's key, under client 2's
    kid. Passing means PAR and the token endpoint both refuse it (400/401, invalid_client or
    invalid_request)."""
    _private_key_jwt(client, variant)
    if client2.assertion_key is None:
        pytest.skip(f"not applicable: client {client2.client_id} has no assertion key")
    stolen = _assertion(target, client, client2.assertion_key)
    for exchange in _at_par_and_token(target, client, stolen):
        judge.must(checks.expect_oauth_error(exchange, REFUSALS, req="JWTCA-3-9"))
        _error_syntax(judge, exchange)


@pytest.mark.negative
@pytest.mark.requirement("OIDC-9-2", "JWTCA-3-7", "OAUTH-5.2-3")
def test_assertion_replay_refused(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """One client assertion (one ``jti``) is used to push an authorization request, which is
    accepted; the very same assertion is then sent again to PAR, and to the token endpoint to
    redeem the code of that first request. OpenID Connect Core 9 says private_key_jwt
    assertions "MUST only be used once" unless the parties agreed otherwise (RFC 7523 3 leaves
    replay detection optional: a MAY), so this is judged a MUST. Passing means both replays are
    refused (400/401, invalid_client or invalid_request)."""
    key = _private_key_jwt(client, variant)
    dpop = DpopSession() if client.uses_dpop else None
    if dpop is not None:
        # obtain the server's DPoP nonce first, so that the assertion is not spent on a
        # nonce challenge
        warm = flows.authorization_params(client, jose.pkce_s256(), flows.new_state(), None)
        flows.push_authorization_request(client, target.discovery, warm, dpop=dpop)
    once = jose.client_assertion(client.client_id, target.issuer, key)
    pkce = jose.pkce_s256()
    params = flows.authorization_params(client, pkce, flows.new_state(), None)
    first = flows.push_authorization_request(
        client, target.discovery, params, dpop=dpop, assertion=lambda: once
    )
    flows.require_success(first, 201, "PAR with the assertion's first use")
    again = flows.push_authorization_request(
        client, target.discovery, params, dpop=dpop, assertion=lambda: once
    )
    front = target.browser.attempt(
        flows.authorization_url(target.discovery, client.client_id, first.json()["request_uri"]),
        client.config.redirect_uri,
        target.config.browser.login,
        setup=True,
    )
    code = flows.require_callback(flows.Attempt(first, front), "the authorization").params["code"]
    token = flows.redeem_code(
        client, target.discovery, code, pkce.verifier, dpop=dpop, assertion=lambda: once
    )
    for exchange in (again, token):
        judge.must(checks.expect_oauth_error(exchange, REFUSALS, req="OIDC-9-2"))
        _error_syntax(judge, exchange)


@pytest.mark.negative
@pytest.mark.requirement("OIDC-9-1", "OAUTH-5.2-3")
def test_assertion_without_jti_refused(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """A client assertion with no ``jti`` claim (OpenID Connect Core 9 makes it REQUIRED for
    private_key_jwt; without it a replay cannot be recognised). Passing means PAR and the token
    endpoint both refuse it (400/401, invalid_client or invalid_request)."""
    key = _private_key_jwt(client, variant)
    for exchange in _at_par_and_token(
        target, client, _assertion(target, client, key, omit=["jti"])
    ):
        judge.must(checks.expect_oauth_error(exchange, REFUSALS, req="OIDC-9-1"))
        _error_syntax(judge, exchange)


@pytest.mark.negative
@pytest.mark.requirement("JWTCA-2.2-1", "OAUTH-5.2-3")
def test_assertion_wrong_type_refused(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """A valid client assertion sent with ``client_assertion_type`` =
    urn:ietf:params:oauth:client-assertion-type:saml2-bearer instead of the JWT bearer type
    (RFC 7523 2.2). Passing means PAR and the token endpoint both refuse it (400/401,
    invalid_client or invalid_request)."""
    key = _private_key_jwt(client, variant)
    saml = {"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"}
    for exchange in _at_par_and_token(target, client, _assertion(target, client, key), saml):
        judge.must(checks.expect_oauth_error(exchange, REFUSALS, req="JWTCA-2.2-1"))
        _error_syntax(judge, exchange)


@pytest.mark.negative
@pytest.mark.requirement("FAPI2SP-5.3.2.1-3", "FAPI2SP-5.3.2.1-6", "OAUTH-5.2-3")
def test_token_request_with_client_id_only_refused(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """A code obtained normally is redeemed with a token request that carries ``client_id``
    and no client assertion (as a public client would send it). FAPI 2.0 serves confidential
    clients only. Passing means the token endpoint refuses it (400/401, invalid_client or
    invalid_request). For tls_client_auth clients the equivalent (no certificate) is
    test_mtls_client_auth.py::test_client_without_certificate_refused."""
    _private_key_jwt(client, variant)
    dpop = DpopSession() if client.uses_dpop else None
    pkce = jose.pkce_s256()
    params = flows.authorization_params(client, pkce, flows.new_state(), None)
    attempt = flows.attempt_authorization(client, target, params, dpop=dpop, setup=True)
    code = flows.require_callback(attempt, "the authorization")
    token = flows.redeem_code(
        client,
        target.discovery,
        code.params["code"],
        pkce.verifier,
        dpop=dpop,
        authenticate=False,
        extra={"client_id": client.client_id},
    )
    judge.must(checks.expect_oauth_error(token, REFUSALS, req="FAPI2SP-5.3.2.1-3"))
    _error_syntax(judge, token)
