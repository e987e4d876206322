"""DPoP at PAR and the token endpoint: clock skew, the code binding (RFC 9449 10, 10.1), the
server nonce (RFC 9449 8) and proof of possession (FAPI 2.0 SP 5.3.2.1)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from harness import checks, flows, jose
from harness.config import VariantConfig
from harness.flows import Client, DpopSession, TargetContext
from harness.verdict import Judge

TOKEN_REFUSALS = ["invalid_request", "invalid_grant", "invalid_dpop_proof"]


def _require_dpop(client: Client, variant: VariantConfig) -> None:
    if not client.uses_dpop:
        pytest.skip(f"not applicable: variant {variant.name} binds tokens with mTLS, not DPoP")


def _claims(**claims: int) -> dict[str, Any]:
    """Proof overrides setting time claims to now + the given number of seconds."""
    now = int(time.time())
    return {"extra_claims": {name: now + offset for name, offset in claims.items()}}


def _params(client: Client, pkce: jose.Pkce, **extra: str) -> dict[str, str]:
    return {**flows.authorization_params(client, pkce, flows.new_state(), None), **extra}


@pytest.mark.requirement("FAPI2SP-5.3.2.1-13a")
@pytest.mark.parametrize("skew", [-10, 8], ids=["iat-10s-past", "iat-8s-future"])
def test_dpop_proof_iat_within_clock_skew_accepted(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge, skew: int
) -> None:
    """The DPoP proofs at PAR and at the token endpoint carry an iat 10 s in the past, or 8 s in
    the future (the harness's clock being right). Passing means both are accepted (PAR 201, a
    DPoP-bound token): a FAPI 2.0 server absorbs up to 10 s of clock skew."""
    _require_dpop(client, variant)
    dpop, pkce = DpopSession(), jose.pkce_s256()
    attempt = flows.attempt_authorization(
        client, target, _params(client, pkce), dpop=dpop, proof=_claims(iat=skew), setup=True
    )
    judge.must(checks.expect_par_created(attempt.par, req="FAPI2SP-5.3.2.1-13a"), stop=True)
    code = flows.require_callback(attempt, "the authorization").params["code"]
    token = flows.redeem_code(
        client, target.discovery, code, pkce.verifier, dpop=dpop, proof=_claims(iat=skew)
    )
    judge.must(checks.expect_token_response(token, req="FAPI2SP-5.3.2.1-13a"))


@pytest.mark.requirement("FAPI2SP-5.3.2.1-13a")
def test_dpop_proof_with_nbf_and_exp_accepted(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """The DPoP proofs at PAR and at the token endpoint also carry nbf (now) and exp (now + 5
    min), claims RFC 9449 does not define. Passing means both are accepted (PAR 201, a token):
    a server must not refuse a proof for carrying them, nor for an nbf of now."""
    _require_dpop(client, variant)
    dpop, pkce = DpopSession(), jose.pkce_s256()
    attempt = flows.attempt_authorization(
        client, target, _params(client, pkce), dpop=dpop, proof=_claims(nbf=0, exp=300), setup=True
    )
    judge.must(checks.expect_par_created(attempt.par, req="FAPI2SP-5.3.2.1-13a"), stop=True)
    code = flows.require_callback(attempt, "the authorization").params["code"]
    token = flows.redeem_code(
        client, target.discovery, code, pkce.verifier, dpop=dpop, proof=_claims(nbf=0, exp=300)
    )
    judge.must(checks.expect_token_response(token, req="FAPI2SP-5.3.2.1-13a"))


@pytest.mark.negative
@pytest.mark.requirement("DPOP-10.1-1")
def test_token_proof_from_another_key_than_par_refused(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """PAR carries a DPoP proof signed with key A (no dpop_jkt), which binds the code to A; the
    code is then redeemed with a valid proof signed with a new key B. Passing means the token
    endpoint refuses it: HTTP 400 with invalid_request, invalid_grant or invalid_dpop_proof."""
    _require_dpop(client, variant)
    key_a, pkce = DpopSession(), jose.pkce_s256()
    attempt = flows.attempt_authorization(
        client, target, _params(client, pkce), dpop=key_a, setup=True
    )
    code = flows.require_callback(attempt, "the authorization with key A").params["code"]
    key_b = DpopSession(nonce=key_a.nonce)
    token = flows.redeem_code(client, target.discovery, code, pkce.verifier, dpop=key_b)
    judge.must(checks.expect_oauth_error(token, TOKEN_REFUSALS, statuses=(400,), req="DPOP-10.1-1"))


@pytest.mark.negative
@pytest.mark.requirement("DPOP-10.1-2")
def test_par_dpop_jkt_not_matching_proof_refused(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """PAR carries dpop_jkt, the thumbprint of a random key, and a DPoP proof signed with
    another key. Passing means PAR refuses it: HTTP 400 with invalid_request or
    invalid_dpop_proof."""
    _require_dpop(client, variant)
    dpop, other = DpopSession(), DpopSession()
    par = flows.push_authorization_request(
        client,
        target.discovery,
        _params(client, jose.pkce_s256(), dpop_jkt=other.jkt),
        dpop=dpop,
    )
    judge.must(
        checks.expect_oauth_error(
            par, ["invalid_request", "invalid_dpop_proof"], statuses=(400,), req="DPOP-10.1-2"
        )
    )


@pytest.mark.negative
@pytest.mark.requirement("DPOP-10-1")
def test_token_proof_not_matching_dpop_jkt_refused(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """PAR carries dpop_jkt, the thumbprint of a random key A, and no DPoP header; the code is
    then redeemed with a valid proof signed with another key B. Passing means the token endpoint
    refuses it: HTTP 400 with invalid_request, invalid_grant or invalid_dpop_proof."""
    _require_dpop(client, variant)
    key_a, key_b, pkce = DpopSession(), DpopSession(), jose.pkce_s256()
    attempt = flows.attempt_authorization(
        client, target, _params(client, pkce, dpop_jkt=key_a.jkt), setup=True
    )
    code = flows.require_callback(attempt, "the authorization bound to key A").params["code"]
    token = flows.redeem_code(client, target.discovery, code, pkce.verifier, dpop=key_b)
    judge.must(checks.expect_oauth_error(token, TOKEN_REFUSALS, statuses=(400,), req="DPOP-10-1"))


@pytest.mark.requirement("DPOP-10.1-1", "FAPI2SP-5.3.2.1-12", "DPOP-5-2")
def test_dpop_jkt_with_matching_proofs_succeeds(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """PAR carries dpop_jkt, the thumbprint of key A, and a DPoP proof signed with A; the code
    is redeemed with a proof signed with A. Passing means PAR 201 and a token response with
    token_type DPoP."""
    _require_dpop(client, variant)
    dpop, pkce = DpopSession(), jose.pkce_s256()
    attempt = flows.attempt_authorization(
        client, target, _params(client, pkce, dpop_jkt=dpop.jkt), dpop=dpop, setup=True
    )
    judge.must(checks.expect_par_created(attempt.par, req="DPOP-10.1-1"), stop=True)
    code = flows.require_callback(attempt, "the authorization").params["code"]
    token = flows.redeem_code(client, target.discovery, code, pkce.verifier, dpop=dpop)
    judge.must(checks.expect_token_response(token, req="FAPI2SP-5.3.2.1-12"), stop=True)
    judge.must(checks.expect_token_type(token, "DPoP", req="DPOP-5-2"))


@pytest.mark.requirement("DPOP-10.1-1", "FAPI2SP-5.3.2.1-12", "DPOP-5-2")
def test_dpop_jkt_without_par_proof_succeeds(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """PAR carries only dpop_jkt, the thumbprint of key A, and no DPoP header; the code is
    redeemed with a proof signed with A. Passing means PAR 201 and a token response with
    token_type DPoP: dpop_jkt alone is a valid way to bind the code."""
    _require_dpop(client, variant)
    dpop, pkce = DpopSession(), jose.pkce_s256()
    attempt = flows.attempt_authorization(
        client, target, _params(client, pkce, dpop_jkt=dpop.jkt), setup=True
    )
    judge.must(checks.expect_par_created(attempt.par, req="DPOP-10.1-1"), stop=True)
    code = flows.require_callback(attempt, "the authorization").params["code"]
    token = flows.redeem_code(client, target.discovery, code, pkce.verifier, dpop=dpop)
    judge.must(checks.expect_token_response(token, req="FAPI2SP-5.3.2.1-12"), stop=True)
    judge.must(checks.expect_token_type(token, "DPoP", req="DPOP-5-2"))


@pytest.mark.requirement("DPOP-8-1", "FAPI2SP-5.3.2.1-10")
def test_dpop_nonce_challenge_answered(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """PAR is sent with a DPoP proof that has no nonce. A server using DPoP nonces answers 400
    use_dpop_nonce with a DPoP-Nonce header; the client retries with a new proof carrying that
    nonce and a new client assertion (the first one's jti is already used). Passing means the
    challenge hands out exactly one DPoP-Nonce of the RFC 9449 8.1 syntax (1*NQCHAR) and the
    retry is accepted (PAR 201). Not applicable if the server does not ask for a nonce."""
    _require_dpop(client, variant)
    with flows.collecting() as evidence:
        flows.push_authorization_request(
            client,
            target.discovery,
            _params(client, jose.pkce_s256()),
            dpop=DpopSession(),
        )
    evidence.attach()
    pars = [item for item in evidence.items if isinstance(item, flows.Exchange)]
    if len(pars) < 2:
        pytest.skip("not applicable: the server did not ask for a DPoP nonce at PAR")
    challenge, retry = pars[0], pars[-1]
    judge.must(checks.expect_dpop_nonce_header(challenge, req="DPOP-8-1"))
    judge.must(checks.expect_dpop_nonce_retry(challenge, retry, req="FAPI2SP-5.3.2.1-10"))


@pytest.mark.negative
@pytest.mark.requirement("FAPI2SP-5.3.2.1-4")
def test_token_request_without_dpop_proof_refused(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """A normal DPoP flow, except that the code is redeemed with client authentication but no
    DPoP header (no proof of possession). Passing means the token endpoint refuses it: HTTP
    400 with invalid_request, invalid_grant or invalid_dpop_proof, never a bearer token."""
    _require_dpop(client, variant)
    dpop, pkce = DpopSession(), jose.pkce_s256()
    attempt = flows.attempt_authorization(
        client, target, _params(client, pkce), dpop=dpop, setup=True
    )
    code = flows.require_callback(attempt, "the authorization").params["code"]
    token = flows.redeem_code(client, target.discovery, code, pkce.verifier)
    judge.must(
        checks.expect_oauth_error(token, TOKEN_REFUSALS, statuses=(400,), req="FAPI2SP-5.3.2.1-4")
    )
