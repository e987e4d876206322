"""Refresh tokens (RFC 6749 6, FAPI 2.0 SP 5.3.2.1, OIDC Core 12): the refresh response, no
rotation (or a rotation the client survives), and refusals without client authentication,
without the proof of possession, for another client, and after the grant was revoked.

Refresh tokens are optional in FAPI 2.0: every test here is SKIPPED when the target issued none
with the tokens of a normal flow."""

from __future__ import annotations

import dataclasses

import pytest

from harness import checks, flows, jose
from harness.config import VariantConfig
from harness.flows import Client, DpopSession, TargetContext, Tokens
from harness.verdict import Judge, NotTestable

REFRESH_REFUSALS = ["invalid_client", "invalid_grant", "invalid_request"]
DPOP_REFUSALS = ["invalid_request", "invalid_grant", "invalid_dpop_proof"]


def _refresh_token(tokens: Tokens, client: Client) -> str:
    if not tokens.refresh_token:
        pytest.skip(
            "not applicable: the target issued no refresh token to "
            f"{client.client_id} (scope {client.config.scope!r}); FAPI 2.0 does not require them"
        )
    return tokens.refresh_token


def _granted(target: TargetContext, client: Client) -> tuple[Tokens, str]:
    tokens = flows.obtain_tokens(
        client, target.discovery, target.browser, target.config.browser.login
    )
    return tokens, _refresh_token(tokens, client)


def _scheme(client: Client) -> str:
    return "DPoP" if client.uses_dpop else "Bearer"


@pytest.mark.requirement(
    "OAUTH-5.1-2", "OAUTH-5.1-3", "OAUTH-5.1-1", "DPOP-5-2", "FAPI2SP-5.4.1-4", "FAPI2SP-5.3.4-1"
)
def test_refresh_response(target: TargetContext, client: Client, judge: Judge) -> None:
    """A normal flow, then its refresh token is sent to the token endpoint (grant_type
    refresh_token, client authentication and, for DPoP-bound tokens, a DPoP proof). Passing means
    the answer is a token response like the first one: HTTP 200 JSON with an access token of at
    least 128 bits and 96 bits of entropy, the token_type of the binding (DPoP or Bearer), a
    positive expires_in (a WARNING if missing), Cache-Control: no-store, and the new access token
    reads the resource."""
    tokens, refresh_token = _granted(target, client)
    judge.must(
        checks.expect_length_bits(refresh_token, "refresh token", bits=128, req="FAPI2SP-5.4.1-4")
    )
    judge.must(
        checks.expect_entropy(refresh_token, "refresh token", bits=96, req="FAPI2SP-5.4.1-4")
    )
    refreshed = flows.refresh_tokens(client, target.discovery, refresh_token, dpop=tokens.dpop)
    judge.must(checks.expect_token_response(refreshed, req="OAUTH-5.1-2"), stop=True)
    judge.must(
        checks.expect_token_type(
            refreshed, _scheme(client), req="DPOP-5-2" if client.uses_dpop else "OAUTH-5.1-2"
        )
    )
    judge.should(checks.expect_expires_in(refreshed, req="OAUTH-5.1-3"))
    judge.must(
        checks.expect_header_contains(refreshed, "cache-control", "no-store", req="OAUTH-5.1-1")
    )
    access_token = str(refreshed.json()["access_token"])
    judge.must(
        checks.expect_length_bits(access_token, "access token", bits=128, req="FAPI2SP-5.4.1-4")
    )
    judge.must(checks.expect_entropy(access_token, "access token", bits=96, req="FAPI2SP-5.4.1-4"))
    resource = flows.call_resource(
        client,
        target.config.resource,
        access_token,
        scheme=_scheme(client),
        dpop=tokens.dpop,
        label="resource with the refreshed access token",
    )
    judge.must(checks.expect_status(resource, 200, req="FAPI2SP-5.3.4-1"))


@pytest.mark.negative
@pytest.mark.requirement("FAPI2SP-5.3.2.1-9")
def test_refresh_token_not_rotated_or_previous_still_works(
    target: TargetContext, client: Client, judge: Judge
) -> None:
    """A normal flow, then a refresh. FAPI 2.0 SP 5.3.2.1 forbids refresh token rotation unless a
    client that never received the new refresh token can retry with the previous one. Passing
    means the refresh response carries no new refresh token (none, or the same one); or, if it
    does rotate, that the same request sent again with the previous refresh token succeeds."""
    tokens, refresh_token = _granted(target, client)
    refreshed = flows.refresh_tokens(client, target.discovery, refresh_token, dpop=tokens.dpop)
    flows.require_success(refreshed, 200, "the refresh")
    kept = checks.expect_refresh_token_kept(refreshed, refresh_token, req="FAPI2SP-5.3.2.1-9")
    if kept.ok:
        judge.must(kept)
        return
    retry = flows.refresh_tokens(
        client,
        target.discovery,
        refresh_token,
        dpop=tokens.dpop,
        label="refresh again with the previous refresh token",
    )
    judge.must(checks.expect_token_response(retry, req="FAPI2SP-5.3.2.1-9"))


@pytest.mark.requirement("OIDC-12.2-1", "OIDC-12.2-2", "OIDC-2-4")
def test_refreshed_id_token_consistent(target: TargetContext, client: Client, judge: Judge) -> None:
    """A normal flow (with a nonce), then a refresh. OIDC Core 12.2 lets the refresh response
    omit the id_token (then this test is SKIPPED). Passing means a refreshed id_token verifies
    against jwks_uri and keeps the iss, sub, aud and auth_time of the first one with an iat no
    earlier than its; a nonce in it other than the original is a WARNING."""
    tokens, refresh_token = _granted(target, client)
    if not tokens.id_token:
        pytest.skip("not applicable: the first token response carried no id_token")
    refreshed = flows.refresh_tokens(client, target.discovery, refresh_token, dpop=tokens.dpop)
    flows.require_success(refreshed, 200, "the refresh")
    body = refreshed.json()
    id_token = body.get("id_token") if isinstance(body, dict) else None
    if not isinstance(id_token, str):
        pytest.skip("not applicable: the refresh response carries no id_token (OIDC Core 12.2)")
    judge.must(
        checks.expect_jws_signature(id_token, target.jwks, "refreshed id_token", req="OIDC-2-4")
    )
    _, original = flows.decode_jwt(tokens.id_token)
    _, claims = flows.decode_jwt(id_token)
    judge.must(checks.expect_refreshed_id_token(original, claims, req="OIDC-12.2-1"))
    judge.should(checks.expect_refreshed_nonce(original, claims, req="OIDC-12.2-2"))


@pytest.mark.negative
@pytest.mark.requirement("OAUTH-6-1")
def test_refresh_without_client_authentication_refused(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """A normal flow, then a refresh without client authentication: only the client_id (and,
    for DPoP-bound tokens, a valid DPoP proof). A private_key_jwt client sends no assertion; an
    mTLS client connects without its certificate. Passing means HTTP 400/401 with
    invalid_client, invalid_grant or invalid_request (or a TLS handshake the server drops for
    want of a certificate). For tls_client_auth with certificate-bound tokens the certificate is
    also the proof of possession: see test_refresh_without_proof_of_possession_refused."""
    if client.config.uses_mtls and not client.uses_dpop and client.assertion_key is None:
        pytest.skip(
            f"not applicable: in variant {variant.name} the certificate both authenticates the "
            "client and binds the tokens (test_refresh_without_proof_of_possession_refused)"
        )
    tokens, refresh_token = _granted(target, client)
    anonymous = client
    if client.assertion_key is None:
        anonymous = dataclasses.replace(client, http=target.anonymous_http)
    try:
        refused = flows.refresh_tokens(
            anonymous,
            target.discovery,
            refresh_token,
            dpop=tokens.dpop,
            authenticate=False,
            label="refresh without client authentication",
        )
    except flows.TransportFailure as dropped:
        refused = dropped.exchange
    judge.must(
        checks.expect_refused_or_dropped(
            refused, REFRESH_REFUSALS, statuses=(400, 401), req="OAUTH-6-1"
        )
    )


@pytest.mark.negative
@pytest.mark.requirement("FAPI2SP-5.3.2.1-4")
def test_refresh_without_proof_of_possession_refused(
    target: TargetContext, client: Client, judge: Judge
) -> None:
    """A normal flow, then a refresh with client authentication but without the proof of
    possession: no DPoP header for DPoP-bound tokens, or no client certificate on the
    connection for certificate-bound ones. Passing means the refresh is refused, since every
    access token must be sender-constrained: for DPoP, HTTP 400 with invalid_request,
    invalid_grant or invalid_dpop_proof; for mTLS, HTTP 400/401 with invalid_client,
    invalid_grant or invalid_request, or a TLS handshake the server drops."""
    _, refresh_token = _granted(target, client)
    if client.uses_dpop:
        refused = flows.refresh_tokens(
            client, target.discovery, refresh_token, label="refresh without a DPoP proof"
        )
        judge.must(
            checks.expect_oauth_error(
                refused, DPOP_REFUSALS, statuses=(400,), req="FAPI2SP-5.3.2.1-4"
            )
        )
        return
    without_cert = dataclasses.replace(client, http=target.anonymous_http)
    try:
        refused = flows.refresh_tokens(
            without_cert, target.discovery, refresh_token, label="refresh without a certificate"
        )
    except flows.TransportFailure as dropped:
        refused = dropped.exchange
    judge.must(
        checks.expect_refused_or_dropped(
            refused, REFRESH_REFUSALS, statuses=(400, 401), req="FAPI2SP-5.3.2.1-4"
        )
    )


@pytest.mark.negative
@pytest.mark.requirement("OAUTH-6-1")
def test_refresh_token_of_another_client_refused(
    target: TargetContext, client: Client, client2: Client, judge: Judge
) -> None:
    """Client 1 completes a normal flow; client 2 then sends client 1's refresh token, with its
    own client authentication (and certificate) and its own DPoP key. Passing means HTTP 400
    invalid_grant: a refresh token is bound to the client it was issued to."""
    _, refresh_token = _granted(target, client)
    stolen = flows.refresh_tokens(
        client2,
        target.discovery,
        refresh_token,
        dpop=DpopSession() if client2.uses_dpop else None,
        label="refresh by client 2 with client 1's refresh token",
    )
    judge.must(
        checks.expect_oauth_error(stolen, ["invalid_grant"], statuses=(400,), req="OAUTH-6-1")
    )


@pytest.mark.negative
@pytest.mark.requirement("OAUTH-4.1.2-1")
def test_refresh_refused_after_code_reuse(
    target: TargetContext, client: Client, judge: Judge
) -> None:
    """A code is redeemed (giving a refresh token), then redeemed a second time. RFC 6749 4.1.2
    says the server should then revoke the tokens issued from that code. Passing means a refresh
    with the refresh token of the first redemption is refused with HTTP 400 invalid_grant; if it
    still works, that is a WARNING (a SHOULD)."""
    dpop = DpopSession() if client.uses_dpop else None
    pkce = jose.pkce_s256()
    params = flows.authorization_params(client, pkce, flows.new_state(), None)
    attempt = flows.attempt_authorization(client, target, params, dpop=dpop, setup=True)
    code = flows.require_callback(attempt, "the authorization").params["code"]
    first = flows.redeem_code(client, target.discovery, code, pkce.verifier, dpop=dpop)
    flows.require_success(first, 200, "the first redemption")
    body = first.json()
    refresh_token = body.get("refresh_token") if isinstance(body, dict) else None
    if not isinstance(refresh_token, str) or not refresh_token:
        pytest.skip(f"not applicable: the target issued no refresh token to {client.client_id}")
    again = flows.redeem_code(client, target.discovery, code, pkce.verifier, dpop=dpop)
    if again.status == 200:
        raise NotTestable("set-up: the code was redeemed a second time (see test_code_used_twice)")
    after = flows.refresh_tokens(
        client,
        target.discovery,
        refresh_token,
        dpop=dpop,
        label="refresh with the first redemption's refresh token, after the reuse",
    )
    judge.should(
        checks.expect_oauth_error(after, ["invalid_grant"], statuses=(400,), req="OAUTH-4.1.2-1")
    )
