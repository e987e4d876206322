"""PKCE (RFC 7636) is mandatory with S256 only (FAPI 2.0 SP 5.3.2.2)."""

from __future__ import annotations

import pytest

from harness import checks, flows, jose
from harness.flows import Client, DpopSession, TargetContext
from harness.verdict import Judge


def _dpop(client: Client) -> DpopSession | None:
    return DpopSession() if client.uses_dpop else None


@pytest.mark.negative
@pytest.mark.requirement("FAPI2SP-5.3.2.2-5", "PKCE-4.4.1-1")
def test_par_without_code_challenge_refused(
    target: TargetContext, client: Client, judge: Judge
) -> None:
    """The pushed request carries no code_challenge. Passing means a refusal with
    invalid_request: PAR HTTP 400, an error redirect (with state and iss), or an error page."""
    state = flows.new_state()
    params = flows.authorization_params(client, jose.pkce_s256(), state, None)
    del params["code_challenge"], params["code_challenge_method"]
    attempt = flows.attempt_authorization(client, target, params, dpop=_dpop(client), setup=True)
    judge.must(
        checks.expect_par_or_authorization_refused(
            attempt.par,
            attempt.front,
            ["invalid_request"],
            ["invalid_request"],
            state=state,
            issuer=target.issuer,
            req="PKCE-4.4.1-1",
        )
    )


@pytest.mark.negative
@pytest.mark.requirement("FAPI2SP-5.3.2.2-5", "PKCE-4.4.1-2")
def test_plain_code_challenge_refused(target: TargetContext, client: Client, judge: Judge) -> None:
    """The pushed request uses code_challenge_method=plain (the challenge is the verifier).
    Passing means a refusal with invalid_request: PAR HTTP 400, an error redirect, or an error
    page. FAPI 2.0 allows S256 only."""
    state = flows.new_state()
    pkce = jose.pkce_s256()
    params = flows.authorization_params(client, pkce, state, None)
    params.update(code_challenge=pkce.verifier, code_challenge_method="plain")
    attempt = flows.attempt_authorization(client, target, params, dpop=_dpop(client), setup=True)
    judge.must(
        checks.expect_par_or_authorization_refused(
            attempt.par,
            attempt.front,
            ["invalid_request"],
            ["invalid_request"],
            state=state,
            issuer=target.issuer,
            req="FAPI2SP-5.3.2.2-5",
        )
    )


def _code(target: TargetContext, client: Client, dpop: DpopSession | None) -> str:
    params = flows.authorization_params(client, jose.pkce_s256(), flows.new_state(), None)
    attempt = flows.attempt_authorization(client, target, params, dpop=dpop, setup=True)
    return flows.require_callback(attempt, "the authorization").params["code"]


@pytest.mark.negative
@pytest.mark.requirement("PKCE-4.6-1", "PKCE-4.5-1")
def test_token_request_without_code_verifier_refused(
    target: TargetContext, client: Client, judge: Judge
) -> None:
    """A valid code is redeemed with no code_verifier. Passing means HTTP 400 invalid_grant
    (RFC 7636 4.6)."""
    dpop = _dpop(client)
    code = _code(target, client, dpop)
    url = target.discovery.endpoint("token_endpoint")
    grant = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": client.config.redirect_uri,
    }
    refused = flows.post_as_client(client, "token without code_verifier", url, grant, dpop=dpop)
    judge.must(
        checks.expect_oauth_error(refused, ["invalid_grant"], statuses=(400,), req="PKCE-4.6-1")
    )


@pytest.mark.negative
@pytest.mark.requirement("PKCE-4.6-1")
def test_token_request_with_wrong_code_verifier_refused(
    target: TargetContext, client: Client, judge: Judge
) -> None:
    """A valid code is redeemed with a well-formed code_verifier that is not the one behind the
    code_challenge. Passing means HTTP 400 invalid_grant (RFC 7636 4.6)."""
    dpop = _dpop(client)
    code = _code(target, client, dpop)
    wrong = jose.pkce_s256().verifier
    refused = flows.redeem_code(client, target.discovery, code, wrong, dpop=dpop)
    judge.must(
        checks.expect_oauth_error(refused, ["invalid_grant"], statuses=(400,), req="PKCE-4.6-1")
    )
