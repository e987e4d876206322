"""The authorization request: PAR only, response_type code only, and what the server does with
parameters that are odd, long, missing or sent outside PAR (FAPI 2.0 SP 5.3.2.2).

The subject of these tests is the request and the response parameters, not the login: the
browser runs in the worker's shared session (``setup=True``), where the server remembers the
user's login and consent and may redirect at once (single sign-on, which the spec allows)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from harness import checks, flows, jose
from harness.flows import Client, DpopSession, Exchange, TargetContext
from harness.verdict import Judge


def _dpop(client: Client) -> DpopSession | None:
    return DpopSession() if client.uses_dpop else None


@pytest.mark.negative
@pytest.mark.requirement("FAPI2SP-5.3.2.2-3")
def test_request_without_par_refused(target: TargetContext, client: Client, judge: Judge) -> None:
    """Every authorization parameter is sent in the query of the authorization endpoint, with no
    PAR. Passing means a refusal: an error redirect with invalid_request (with state and iss), or
    an error page. A code is a failure."""
    state = flows.new_state()
    params = flows.authorization_params(client, jose.pkce_s256(), state, flows.new_state())
    url = f"{target.discovery.endpoint('authorization_endpoint')}?{urlencode(params)}"
    outcome = target.browser.attempt(
        url, client.config.redirect_uri, target.config.browser.login, setup=True
    )
    judge.must(
        checks.expect_authorization_refused(
            outcome, ["invalid_request"], state=state, issuer=target.issuer, req="FAPI2SP-5.3.2.2-3"
        )
    )


@pytest.mark.negative
@pytest.mark.parametrize("response_type", ["code id_token", "token"])
@pytest.mark.requirement("FAPI2SP-5.3.2.2-1")
def test_response_type_other_than_code_refused(
    target: TargetContext, client: Client, judge: Judge, response_type: str
) -> None:
    """The pushed request asks for response_type "code id_token" (hybrid) or "token" (implicit).
    Passing means a refusal at PAR (HTTP 400 with unsupported_response_type, invalid_request or
    unauthorized_client) or at the authorization endpoint (an error redirect with
    unsupported_response_type or invalid_request, or an error page), and never a code in the
    query or the fragment. The OIDF suite only WARNs on other PAR error codes; we require one of
    these three, as RFC 6749 4.1.2.1 names them."""
    state = flows.new_state()
    params = flows.authorization_params(client, jose.pkce_s256(), state, flows.new_state())
    params["response_type"] = response_type
    attempt = flows.attempt_authorization(client, target, params, dpop=_dpop(client), setup=True)
    judge.must(
        checks.expect_par_or_authorization_refused(
            attempt.par,
            attempt.front,
            ["unsupported_response_type", "invalid_request", "unauthorized_client"],
            ["unsupported_response_type", "invalid_request"],
            state=state,
            issuer=target.issuer,
            req="FAPI2SP-5.3.2.2-1",
        )
    )
    if attempt.front is not None:
        judge.must(checks.expect_nothing_in_fragment(attempt.front, req="FAPI2SP-5.3.2.2-1"))


@pytest.mark.negative
@pytest.mark.requirement("PAR-4-4", "OAUTH-4.1.2-2")
def test_state_outside_par_differing_is_not_used(
    target: TargetContext, client: Client, judge: Judge
) -> None:
    """The pushed request carries state A; the authorization URL adds a different state B.
    Passing means a refusal (error redirect with invalid_request, or an error page) or a
    response returning state A: the pushed request is what counts (RFC 9126 4)."""
    state = flows.new_state()
    params = flows.authorization_params(client, jose.pkce_s256(), state, flows.new_state())
    attempt = flows.attempt_authorization(
        client,
        target,
        params,
        dpop=_dpop(client),
        extra_query="&state=outside-par-state",
        setup=True,
    )
    outcome = attempt.outcome
    if outcome.kind == "callback" and "code" in outcome.params:
        judge.must(checks.expect_state_matches(outcome.params, state, req="PAR-4-4"))
    else:
        judge.must(
            checks.expect_authorization_refused(
                outcome, ["invalid_request"], state=None, issuer=target.issuer, req="PAR-4-4"
            )
        )


@pytest.mark.negative
@pytest.mark.requirement("PAR-4-4", "OIDC-2-2")
def test_nonce_outside_par_differing_is_not_used(
    target: TargetContext, client: Client, judge: Judge
) -> None:
    """The pushed request carries nonce A; the authorization URL adds a different nonce B.
    Passing means a refusal (error redirect with invalid_request, or an error page) or an
    id_token whose nonce is A."""
    state, nonce = flows.new_state(), flows.new_state()
    pkce = jose.pkce_s256()
    dpop = _dpop(client)
    params = flows.authorization_params(client, pkce, state, nonce)
    attempt = flows.attempt_authorization(
        client, target, params, dpop=dpop, extra_query="&nonce=outside-par-nonce", setup=True
    )
    outcome = attempt.outcome
    if outcome.kind != "callback" or "code" not in outcome.params:
        judge.must(
            checks.expect_authorization_refused(
                outcome, ["invalid_request"], state=state, issuer=target.issuer, req="PAR-4-4"
            )
        )
        return
    token = flows.redeem_code(
        client, target.discovery, outcome.params["code"], pkce.verifier, dpop=dpop
    )
    judge.must(checks.expect_token_response(token, req="PAR-4-4"), stop=True)
    _, claims = flows.decode_jwt(str(token.json().get("id_token", "")))
    judge.must(checks.expect_id_token_nonce(claims, nonce, req="OIDC-2-2"))


@pytest.mark.negative
@pytest.mark.requirement("PAR-4-4", "OAUTH-4.1.2-2")
def test_state_only_outside_par_not_used(
    target: TargetContext, client: Client, judge: Judge
) -> None:
    """The pushed request has no state; the authorization URL adds one. Passing means a
    response that returns no state, or a refusal (an error redirect with invalid_request,
    invalid_request_object, invalid_request_uri or access_denied, or an error page)."""
    params = flows.authorization_params(client, jose.pkce_s256(), flows.new_state(), None)
    del params["state"]
    attempt = flows.attempt_authorization(
        client,
        target,
        params,
        dpop=_dpop(client),
        extra_query="&state=outside-par-state",
        setup=True,
    )
    outcome = attempt.outcome
    if outcome.kind == "callback" and "code" in outcome.params:
        judge.must(checks.expect_param_absent(outcome.params, "state", req="PAR-4-4"))
    else:
        judge.must(
            checks.expect_authorization_refused(
                outcome,
                [
                    "invalid_request",
                    "invalid_request_object",
                    "invalid_request_uri",
                    "access_denied",
                ],
                state=None,
                issuer=target.issuer,
                req="PAR-4-4",
            )
        )


def _authorize(
    target: TargetContext, client: Client, params: dict[str, str]
) -> tuple[flows.Attempt, jose.Pkce, DpopSession | None]:
    """Push ``params`` (with a fresh PKCE pair) and authorize in the shared session; the test
    judges what came back."""
    pkce = jose.pkce_s256()
    dpop = _dpop(client)
    params = {**params, "code_challenge": pkce.challenge, "code_challenge_method": pkce.method}
    attempt = flows.attempt_authorization(client, target, params, dpop=dpop, setup=True)
    return attempt, pkce, dpop


def _id_token_claims(token: Exchange) -> dict[str, object]:
    _, claims = flows.decode_jwt(str(token.json().get("id_token", "")))
    return claims


@pytest.mark.negative
@pytest.mark.requirement("OIDC-2-2", "FAPI2SP-5.3.2.2-note4")
def test_64_character_nonce(target: TargetContext, client: Client, judge: Judge) -> None:
    """A 64-character nonce goes through PAR. Passing means the flow succeeds and the id_token
    carries the nonce intact."""
    nonce = "N" * 32 + flows.new_state()[:32]
    params = flows.authorization_params(client, jose.pkce_s256(), flows.new_state(), nonce)
    attempt, pkce, dpop = _authorize(target, client, params)
    judge.must(checks.expect_par_created(attempt.par, req="OIDC-2-2"), stop=True)
    judge.must(
        checks.expect_callback_param(attempt.outcome.params, "code", req="OIDC-2-2"), stop=True
    )
    code = attempt.outcome.params["code"]
    token = flows.redeem_code(client, target.discovery, code, pkce.verifier, dpop=dpop)
    judge.must(checks.expect_token_response(token, req="OIDC-2-2"), stop=True)
    judge.must(checks.expect_id_token_nonce(_id_token_claims(token), nonce, req="OIDC-2-2"))


@pytest.mark.negative
@pytest.mark.requirement("OIDC-2-2", "PAR-2.3-1")
def test_long_nonce_intact_or_refused(target: TargetContext, client: Client, judge: Judge) -> None:
    """A 384-character nonce goes through PAR. Passing means either a clean refusal (PAR HTTP 400
    invalid_request, an error redirect, or an error page) or a flow whose id_token carries the
    nonce intact. A truncated nonce is a failure."""
    nonce = ("n" + flows.new_state()) * 12
    nonce = nonce[:384]
    state = flows.new_state()
    pkce = jose.pkce_s256()
    dpop = _dpop(client)
    params = flows.authorization_params(client, pkce, state, nonce)
    attempt = flows.attempt_authorization(client, target, params, dpop=dpop, setup=True)
    front = attempt.front
    if front is None or front.kind != "callback" or "code" not in front.params:
        judge.must(
            checks.expect_par_or_authorization_refused(
                attempt.par,
                front,
                ["invalid_request"],
                ["invalid_request", "invalid_request_object", "access_denied"],
                state=state,
                issuer=target.issuer,
                req="PAR-2.3-1",
            )
        )
        return
    token = flows.redeem_code(
        client, target.discovery, front.params["code"], pkce.verifier, dpop=dpop
    )
    judge.must(checks.expect_token_response(token, req="OIDC-2-2"), stop=True)
    _, claims = flows.decode_jwt(str(token.json().get("id_token", "")))
    judge.must(checks.expect_id_token_nonce(claims, nonce, req="OIDC-2-2"))


@pytest.mark.negative
@pytest.mark.requirement("OAUTH-4.1.2-2", "FAPI2SP-5.3.2.2-note4")
def test_long_state_intact_or_refused(target: TargetContext, client: Client, judge: Judge) -> None:
    """A 1,000-character state goes through PAR. Passing means the response returns it intact,
    or a clean refusal (PAR HTTP 400 invalid_request, an error redirect, or an error page).
    FAPI 2.0 SP 5.3.2.2 note 4 says servers should cope with long states (clients carry their
    own data in it), so a refusal is a WARNING; a truncated state is a failure."""
    state = (flows.new_state() * 40)[:1000]
    params = flows.authorization_params(client, jose.pkce_s256(), state, flows.new_state())
    attempt = flows.attempt_authorization(client, target, params, dpop=_dpop(client), setup=True)
    front = attempt.front
    if front is not None and front.kind == "callback" and "code" in front.params:
        judge.must(checks.expect_state_matches(front.params, state, req="OAUTH-4.1.2-2"))
    else:
        judge.should(
            checks.expect_callback_param(
                front.params if front else {}, "code", req="FAPI2SP-5.3.2.2-note4"
            )
        )


@pytest.mark.negative
@pytest.mark.requirement("OAUTH-4.1.2-2")
def test_without_state(target: TargetContext, client: Client, judge: Judge) -> None:
    """The pushed request carries no state. Passing means the flow succeeds and the response
    carries no state either (RFC 6749 4.1.2: state is returned only when it was sent)."""
    params = flows.authorization_params(client, jose.pkce_s256(), "", flows.new_state())
    del params["state"]
    attempt, _, _ = _authorize(target, client, params)
    judge.must(checks.expect_par_created(attempt.par, req="OAUTH-4.1.2-2"), stop=True)
    outcome = attempt.outcome
    judge.must(checks.expect_callback_param(outcome.params, "code", req="OAUTH-4.1.2-2"), stop=True)
    judge.must(checks.expect_param_absent(outcome.params, "state", req="OAUTH-4.1.2-2"))


@pytest.mark.negative
@pytest.mark.requirement("OIDC-2-2")
def test_without_nonce(target: TargetContext, client: Client, judge: Judge) -> None:
    """The pushed request carries no nonce. Passing means the flow succeeds and the id_token
    carries no nonce (OpenID Connect Core 2: nonce is echoed only when it was sent)."""
    params = flows.authorization_params(client, jose.pkce_s256(), flows.new_state(), None)
    attempt, pkce, dpop = _authorize(target, client, params)
    judge.must(checks.expect_par_created(attempt.par, req="OIDC-2-2"), stop=True)
    judge.must(
        checks.expect_callback_param(attempt.outcome.params, "code", req="OIDC-2-2"), stop=True
    )
    code = attempt.outcome.params["code"]
    token = flows.redeem_code(client, target.discovery, code, pkce.verifier, dpop=dpop)
    judge.must(checks.expect_token_response(token, req="OIDC-2-2"), stop=True)
    judge.must(checks.expect_param_absent(_id_token_claims(token), "nonce", req="OIDC-2-2"))


@pytest.mark.negative
@pytest.mark.requirement("OAUTH-3.3-1")
def test_scope_order_does_not_matter(target: TargetContext, client: Client, judge: Judge) -> None:
    """The scope values are sent in reverse order ("profile openid" for "openid profile").
    Passing means the flow succeeds: scope is a space-separated set (RFC 6749 3.3)."""
    params = flows.authorization_params(
        client, jose.pkce_s256(), flows.new_state(), flows.new_state()
    )
    params["scope"] = " ".join(reversed(params["scope"].split()))
    attempt, pkce, dpop = _authorize(target, client, params)
    judge.must(checks.expect_par_created(attempt.par, req="OAUTH-3.3-1"), stop=True)
    judge.must(
        checks.expect_callback_param(attempt.outcome.params, "code", req="OAUTH-3.3-1"), stop=True
    )
    code = attempt.outcome.params["code"]
    token = flows.redeem_code(client, target.discovery, code, pkce.verifier, dpop=dpop)
    judge.must(checks.expect_token_response(token, req="OAUTH-3.3-1"))
