"""Multi-factor authentication (issue 7): the provider's MFA acr (``policy.mfa_acr``) is
advertised, a request for it through the claims parameter (essential) or acr_values gives an
id_token with that acr (and, where the target provides amr, more than one method), and a login
that does not complete the second factor delivers no code.

The login steps drive the second factor: the page of kind ``second_factor`` (e.g. a TOTP field
filled with ``totp = "${SECRET}"``). Without ``policy.mfa_acr`` every test here is skipped."""

from __future__ import annotations

import json
from typing import Any

import pytest

from harness import checks, flows, jose
from harness.config import LoginPage
from harness.flows import Client, DpopSession, TargetContext
from harness.verdict import Judge, NotTestable


def _mfa_acr(target: TargetContext) -> str:
    acr = target.config.policy.mfa_acr
    if acr is None:
        pytest.skip("not applicable: policy.mfa_acr not configured")
    return acr


def _needs_openid(client: Client) -> None:
    if "openid" not in client.config.scope.split():
        pytest.skip("not applicable: the client does not request the openid scope (no id_token)")


def _needs_claims_parameter(target: TargetContext) -> None:
    if target.discovery.metadata.get("claims_parameter_supported") is not True:
        pytest.skip(
            "not applicable: the target does not support the claims parameter "
            "(claims_parameter_supported is not true in discovery)"
        )


def _second_factor_page(target: TargetContext) -> LoginPage:
    pages = [p for p in target.config.browser.login if p.kind == "second_factor"]
    if not pages:
        pytest.skip(
            "not applicable: no login page is declared with kind = 'second_factor' "
            "(browser.login), so the harness cannot take or refuse the second factor"
        )
    return pages[0]


def _essential_acr(acr: str) -> dict[str, str]:
    """The claims parameter asking for ``acr`` as an essential id_token claim (OIDC Core
    5.5.1.1)."""
    return {"claims": json.dumps({"id_token": {"acr": {"essential": True, "values": [acr]}}})}


def _id_token_claims(
    target: TargetContext, client: Client, extra: dict[str, str]
) -> dict[str, Any]:
    """PAR with ``extra``, the login with its second factor, the code for tokens: the
    id_token's claims."""
    dpop = DpopSession() if client.uses_dpop else None
    pkce = jose.pkce_s256()
    params = {
        **flows.authorization_params(client, pkce, flows.new_state(), flows.new_state()),
        **extra,
    }
    attempt = flows.attempt_authorization(client, target, params, dpop=dpop)
    code = flows.require_callback(attempt, "the login with a second factor").params["code"]
    token = flows.redeem_code(client, target.discovery, code, pkce.verifier, dpop=dpop)
    flows.require_success(token, 200, "the token request")
    body = token.json()
    if not isinstance(body, dict) or not isinstance(body.get("id_token"), str):
        raise NotTestable("set-up: the token response carries no id_token")
    return flows.decode_jwt(body["id_token"])[1]


def _judge_amr(judge: Judge, claims: dict[str, Any]) -> None:
    """amr is OPTIONAL: judged only where the target provides it."""
    if "amr" in claims:
        judge.should(checks.expect_multi_factor_amr(claims, req="OIDC-2-8"))


@pytest.mark.requirement("OIDD-3-3")
def test_mfa_acr_advertised(target: TargetContext, judge: Judge) -> None:
    """The discovery document is read. Passing means acr_values_supported is present and lists
    the configured MFA acr (policy.mfa_acr); a missing or incomplete list is a WARNING (the
    member is OPTIONAL in OpenID Connect Discovery 3)."""
    acr = _mfa_acr(target)
    flows.Collected([target.discovery.exchange]).attach()
    judge.should(
        checks.expect_metadata_contains(
            target.discovery.metadata, "acr_values_supported", acr, req="OIDD-3-3"
        )
    )


@pytest.mark.requirement("OIDC-5.5.1.1-1", "OIDC-2-8")
def test_mfa_acr_essential_claim(target: TargetContext, client: Client, judge: Judge) -> None:
    """PAR with the claims parameter asking for acr = policy.mfa_acr as an essential id_token
    claim; the browser logs in and completes the second factor (the page of kind
    'second_factor'); the code is redeemed. Passing means the id_token's acr is the MFA acr
    (OIDC Core 5.5.1.1) and, where it carries amr, amr lists more than one method (else a
    WARNING)."""
    acr = _mfa_acr(target)
    _needs_openid(client)
    _needs_claims_parameter(target)
    _second_factor_page(target)
    claims = _id_token_claims(target, client, _essential_acr(acr))
    judge.must(checks.expect_acr(claims, [acr], req="OIDC-5.5.1.1-1"))
    _judge_amr(judge, claims)


@pytest.mark.requirement("OIDC-3.1.2.1-1", "OIDC-2-8")
def test_mfa_acr_values(target: TargetContext, client: Client, judge: Judge) -> None:
    """PAR with acr_values = policy.mfa_acr; the browser logs in and completes the second
    factor; the code is redeemed. Passing means the id_token's acr is the MFA acr and, where it
    carries amr, amr lists more than one method. acr_values asks for acr as a Voluntary Claim
    (OIDC Core 3.1.2.1), so another acr is a WARNING, not a failure."""
    acr = _mfa_acr(target)
    _needs_openid(client)
    _second_factor_page(target)
    claims = _id_token_claims(target, client, {"acr_values": acr})
    judge.should(checks.expect_acr(claims, [acr], req="OIDC-3.1.2.1-1"))
    _judge_amr(judge, claims)


@pytest.mark.negative
@pytest.mark.parametrize("how", ["abort", "wrong_code"])
@pytest.mark.requirement("OIDC-5.5.1.1-2")
def test_mfa_not_completed_delivers_no_code(
    target: TargetContext, client: Client, judge: Judge, how: str
) -> None:
    """PAR with the claims parameter asking for acr = policy.mfa_acr as essential; the browser
    logs in with the password, then on the second-factor page either takes its deny actions
    (``abort``) or types a wrong one-time code (``wrong_code``: a code of none of the nearby
    time steps). Passing means no code: an error redirect with error=access_denied, the
    request's state and iss, or an HTTP error page (OIDC Core 5.5.1.1: an essential acr that
    cannot be met is a failed authentication). A code delivered, also when the second-factor
    page never appeared, fails."""
    acr = _mfa_acr(target)
    _needs_claims_parameter(target)
    page = _second_factor_page(target)
    if how == "abort" and not page.deny:
        pytest.skip(f"not applicable: the login page {page.name!r} declares no deny actions")
    if how == "wrong_code" and not any(a.totp is not None for a in page.actions):
        pytest.skip(f"not applicable: the login page {page.name!r} types no totp code")
    dpop = DpopSession() if client.uses_dpop else None
    state = flows.new_state()
    params = {
        **flows.authorization_params(client, jose.pkce_s256(), state, flows.new_state()),
        **_essential_acr(acr),
    }
    attempt = flows.attempt_authorization(
        client,
        target,
        params,
        dpop=dpop,
        deny_on=page.name if how == "abort" else None,
        wrong_totp=how == "wrong_code",
    )
    judge.must(
        checks.expect_authorization_refused(
            attempt.outcome,
            ["access_denied"],
            state=state,
            issuer=target.issuer,
            req="OIDC-5.5.1.1-2",
        )
    )
