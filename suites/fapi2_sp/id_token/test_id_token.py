"""The id_token of the OpenID Connect variants (OIDC Core 2, 3.1.3.6, 10.1; FAPI 2.0 SP 5.4.1),
one visible check each, and the claims request parameter (OIDC Core 5.5).

One flow per variant (PAR with a nonce and max_age, the browser, code for tokens) serves every
test of this module; each test shows that flow's evidence and judges one property of its
id_token. The login is not the subject here, so that flow and the claims-parameter flow run in
the worker's shared browser session (the server may remember the login: single sign-on); only
the acr test, whose subject is the authentication, logs in afresh."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from harness import checks, flows, jose
from harness.config import ResourceConfig, VariantConfig
from harness.flows import Client, DpopSession, TargetContext
from harness.verdict import Judge, NotTestable

MAX_AGE = 600

# Claims OIDC Core defines for an id_token (2, 3.1.3.6, 3.3.2.11) or that session management
# adds (sid); any other claim must have been requested.
ID_TOKEN_CLAIMS = frozenset(
    {"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp"}
    | {"at_hash", "c_hash", "s_hash", "sid"}
)
# The standard claims each scope requests (OIDC Core 5.4).
SCOPE_CLAIMS = {
    "profile": {
        "name", "family_name", "given_name", "middle_name", "nickname", "preferred_username",
        "profile", "picture", "website", "gender", "birthdate", "zoneinfo", "locale",
        "updated_at",
    },
    "email": {"email", "email_verified"},
    "address": {"address"},
    "phone": {"phone_number", "phone_number_verified"},
}  # fmt: skip


@dataclass
class Issued:
    """One variant's flow: what was sent and what came back."""

    state: str
    nonce: str
    code: str
    access_token: str
    id_token: str
    header: dict[str, Any]
    claims: dict[str, Any]
    evidence: flows.Collected


def _issue(target: TargetContext, client: Client) -> Issued:
    dpop = DpopSession() if client.uses_dpop else None
    pkce = jose.pkce_s256()
    state, nonce = flows.new_state(), flows.new_state()
    params = {
        **flows.authorization_params(client, pkce, state, nonce),
        "max_age": str(MAX_AGE),
    }
    attempt = flows.attempt_authorization(client, target, params, dpop=dpop, setup=True)
    code = flows.require_callback(attempt, "the authorization").params["code"]
    token = flows.redeem_code(client, target.discovery, code, pkce.verifier, dpop=dpop)
    flows.require_success(token, 200, "the token request")
    body = token.json()
    if not isinstance(body, dict) or not isinstance(body.get("id_token"), str):
        raise NotTestable("set-up: the token response carries no id_token")
    header, claims = flows.decode_jwt(body["id_token"])
    return Issued(
        state,
        nonce,
        code,
        str(body.get("access_token", "")),
        body["id_token"],
        header,
        claims,
        flows.Collected([]),
    )


@pytest.fixture(scope="module")
def issued(
    target: TargetContext, clients: dict[str, tuple[Client, Client]]
) -> dict[str, Issued | str]:
    """One flow per variant, with the id_token it issued (or why there is none)."""
    out: dict[str, Issued | str] = {}
    for name, (client, _) in clients.items():
        if "openid" not in client.config.scope.split():
            out[name] = "not applicable: the client does not request the openid scope"
            continue
        with flows.collecting() as evidence:
            try:
                result: Issued | str = _issue(target, client)
            except NotTestable as exc:
                result = str(exc)
        if isinstance(result, Issued):
            result.evidence = evidence
        out[name] = result
    return out


def _issued(issued: dict[str, Issued | str], variant: VariantConfig) -> Issued:
    found = issued[variant.name]
    if isinstance(found, str):
        if found.startswith("not applicable"):
            pytest.skip(found)
        raise NotTestable(found)
    found.evidence.attach()
    return found


@pytest.mark.requirement("OIDC-10.1-1")
def test_id_token_signed_by_kid(
    target: TargetContext, variant: VariantConfig, issued: dict[str, Issued | str], judge: Judge
) -> None:
    """The id_token's header must name its key: passing means the header has a kid, jwks_uri
    has a key with that kid, and that key alone verifies the signature."""
    it = _issued(issued, variant)
    judge.must(
        checks.expect_jws_signed_by_kid(it.id_token, target.jwks, "id_token", req="OIDC-10.1-1")
    )


@pytest.mark.requirement("FAPI2SP-5.4.1-1.2a")
def test_id_token_alg(
    variant: VariantConfig, issued: dict[str, Issued | str], judge: Judge
) -> None:
    """Passing means the id_token header alg is PS256, ES256 or EdDSA (FAPI 2.0 SP 5.4.1)."""
    it = _issued(issued, variant)
    judge.must(
        checks.expect_jws_alg(it.header, jose.FAPI_ALGS, "id_token", req="FAPI2SP-5.4.1-1.2a")
    )


@pytest.mark.requirement("OIDC-2-1")
def test_id_token_required_claims(
    target: TargetContext,
    client: Client,
    variant: VariantConfig,
    issued: dict[str, Issued | str],
    judge: Judge,
) -> None:
    """Passing means the id_token has iss equal to the issuer, a sub, an aud containing the
    client_id, an exp in the future and an iat not in the future; and that its iat is within
    5 minutes of now (the OIDF suite's tolerance for the time it was issued)."""
    it = _issued(issued, variant)
    judge.must(
        checks.expect_id_token_claims(it.claims, target.issuer, client.client_id, req="OIDC-2-1")
    )
    judge.must(checks.expect_recent_time(it.claims, "iat", within_s=300, req="OIDC-2-1"))


@pytest.mark.requirement("OIDC-2-2")
def test_id_token_nonce(
    variant: VariantConfig, issued: dict[str, Issued | str], judge: Judge
) -> None:
    """The pushed authorization request carried a nonce. Passing means the id_token's nonce is
    exactly that value."""
    it = _issued(issued, variant)
    judge.must(checks.expect_id_token_nonce(it.claims, it.nonce, req="OIDC-2-2"))


@pytest.mark.requirement("OIDC-2-3")
def test_id_token_auth_time(
    variant: VariantConfig, issued: dict[str, Issued | str], judge: Judge
) -> None:
    """The pushed authorization request carried max_age=600. Passing means the id_token has a
    numeric auth_time, not in the future and no older than 600 s. The flow runs in the shared
    browser session, so auth_time is that of the login the server remembers; max_age obliges
    the server to authenticate the user again if that login is older."""
    it = _issued(issued, variant)
    judge.must(checks.expect_auth_time(it.claims, MAX_AGE, req="OIDC-2-3"))


@pytest.mark.requirement("OIDC-2-5")
def test_id_token_subject(
    variant: VariantConfig, issued: dict[str, Issued | str], judge: Judge
) -> None:
    """Passing means the id_token's sub is a string of 1 to 255 ASCII characters."""
    it = _issued(issued, variant)
    judge.must(checks.expect_subject_format(it.claims, req="OIDC-2-5"))


@pytest.mark.requirement("OIDC-3.1.3.6-1")
def test_id_token_hashes(
    variant: VariantConfig, issued: dict[str, Issued | str], judge: Judge
) -> None:
    """Where the id_token carries at_hash, c_hash or s_hash, each must be the base64url left
    half of the hash (the one of the id_token's alg) of the access token, the code and the
    state. Passing means every one present matches; absent ones are allowed in the code flow."""
    it = _issued(issued, variant)
    alg = str(it.header.get("alg"))
    for name, value in (("at_hash", it.access_token), ("c_hash", it.code), ("s_hash", it.state)):
        judge.must(checks.expect_token_hash(it.claims, name, value, alg, req="OIDC-3.1.3.6-1"))


@pytest.mark.requirement("OIDC-3.1.3.7-1")
def test_id_token_only_requested_claims(
    client: Client, variant: VariantConfig, issued: dict[str, Issued | str], judge: Judge
) -> None:
    """Passing means the id_token carries only the claims OIDC Core defines for it and those its
    scopes ask for; any other claim is a WARNING (as in the OIDF suite)."""
    it = _issued(issued, variant)
    allowed = set(ID_TOKEN_CLAIMS)
    for scope in client.config.scope.split():
        allowed |= SCOPE_CLAIMS.get(scope, set())
    judge.should(checks.expect_only_requested_claims(it.claims, allowed, req="OIDC-3.1.3.7-1"))


@pytest.mark.requirement("OIDC-5.5-1", "OIDC-5.3.2-1")
def test_claims_parameter(target: TargetContext, client: Client, judge: Judge) -> None:
    """SKIPPED unless the metadata says claims_parameter_supported and lists standard claims in
    claims_supported. The pushed request carries a claims parameter asking for those standard
    identity claims in the id_token and at userinfo; the user logs in and the code is redeemed,
    then userinfo is called with the access token. Passing means userinfo answers 200 with the
    id_token's sub; a requested claim missing from the id_token or from userinfo is a WARNING."""
    meta = target.discovery.metadata
    if "openid" not in client.config.scope.split():
        pytest.skip("not applicable: the client does not request the openid scope")
    if meta.get("claims_parameter_supported") is not True:
        pytest.skip("not applicable: the target does not advertise claims_parameter_supported")
    supported = meta.get("claims_supported")
    standard = set().union(*SCOPE_CLAIMS.values())
    wanted = sorted(standard & set(supported)) if isinstance(supported, list) else []
    if not wanted or not isinstance(meta.get("userinfo_endpoint"), str):
        pytest.skip("not applicable: no standard claims in claims_supported, or no userinfo")
    dpop = DpopSession() if client.uses_dpop else None
    pkce = jose.pkce_s256()
    request = {place: dict.fromkeys(wanted) for place in ("id_token", "userinfo")}
    params = {
        **flows.authorization_params(client, pkce, flows.new_state(), flows.new_state()),
        "claims": json.dumps(request),
    }
    attempt = flows.attempt_authorization(client, target, params, dpop=dpop, setup=True)
    code = flows.require_callback(attempt, "the authorization").params["code"]
    token = flows.redeem_code(client, target.discovery, code, pkce.verifier, dpop=dpop)
    flows.require_success(token, 200, "the token request")
    body = token.json()
    body = body if isinstance(body, dict) else {}
    _, id_claims = flows.decode_jwt(str(body.get("id_token", "")))
    judge.should(checks.expect_claims_present(id_claims, wanted, "id_token", req="OIDC-5.5-1"))
    userinfo = flows.call_resource(
        client,
        ResourceConfig(url=meta["userinfo_endpoint"], method="GET"),
        str(body.get("access_token", "")),
        scheme="DPoP" if dpop else "Bearer",
        dpop=dpop,
        label="userinfo",
    )
    judge.must(checks.expect_status(userinfo, 200, req="OIDC-5.3.2-1"), stop=True)
    info = userinfo.json()
    info = info if isinstance(info, dict) else {}
    judge.must(checks.expect_same_claims(id_claims, info, ["sub"], "userinfo", req="OIDC-5.3.2-1"))
    judge.should(checks.expect_claims_present(info, wanted, "userinfo", req="OIDC-5.5-1"))


@pytest.mark.requirement("OIDC-5.5.1.1-1")
def test_id_token_acr_as_requested(target: TargetContext, client: Client, judge: Judge) -> None:
    """SKIPPED unless the metadata lists acr_values_supported and says
    claims_parameter_supported. The pushed request asks, through the claims parameter, for acr
    as an essential id_token claim with the first supported value. Passing means the id_token's
    acr is that value (OIDC Core 5.5.1.1)."""
    meta = target.discovery.metadata
    acrs = meta.get("acr_values_supported")
    if "openid" not in client.config.scope.split():
        pytest.skip("not applicable: the client does not request the openid scope")
    if not isinstance(acrs, list) or not acrs or not isinstance(acrs[0], str):
        pytest.skip("not applicable: the target advertises no acr_values_supported")
    if meta.get("claims_parameter_supported") is not True:
        pytest.skip("not applicable: the target does not advertise claims_parameter_supported")
    dpop = DpopSession() if client.uses_dpop else None
    pkce = jose.pkce_s256()
    request = {"id_token": {"acr": {"essential": True, "values": [acrs[0]]}}}
    params = {
        **flows.authorization_params(client, pkce, flows.new_state(), flows.new_state()),
        "claims": json.dumps(request),
    }
    attempt = flows.attempt_authorization(client, target, params, dpop=dpop)
    code = flows.require_callback(attempt, "the authorization").params["code"]
    token = flows.redeem_code(client, target.discovery, code, pkce.verifier, dpop=dpop)
    flows.require_success(token, 200, "the token request")
    body = token.json()
    _, id_claims = flows.decode_jwt(str(body.get("id_token", "")) if isinstance(body, dict) else "")
    judge.must(
        checks.expect_same_claims(
            {"acr": acrs[0]}, id_claims, ["acr"], "id_token", req="OIDC-5.5.1.1-1"
        )
    )
