"""The FAPI 2.0 happy flow: PAR, browser login and consent, code for tokens, resource call."""

from __future__ import annotations

import pytest

from harness import checks, flows, jose
from harness.flows import Client, DpopSession, TargetContext
from harness.verdict import Judge


@pytest.mark.requirement(
    "FAPI2SP-5.3.2.1-1",
    "OIDD-4.3-1",
    "ISS-2.3-2",
    "PAR-2.2-1",
    "FAPI2SP-5.3.2.2-12",
    "ISS-2-1",
    "ISS-2.3-1",
    "OAUTH-4.1.2-2",
    "OAUTH-5.1-2",
    "OAUTH-5.1-3",
    "DPOP-5-2",
    "OIDC-3.1.3.3-1",
    "OIDC-2-1",
    "OIDC-2-2",
    "OIDC-2-4",
    "FAPI2SP-5.4.1-1.2a",
    "FAPI2SP-5.3.4-1",
    "FAPI2SP-5.4.1-4",
)
def test_happy_flow(target: TargetContext, client: Client, judge: Judge) -> None:
    """A well-formed FAPI 2.0 flow succeeds end to end. The client pushes its authorization
    request (PKCE S256, state, nonce; a DPoP proof when tokens are DPoP-bound), the user logs in
    and consents in a real browser, the code is exchanged for tokens and the access token reads
    the protected resource. Passing means every step answered as the specs require: PAR 201 with
    a short-lived request_uri, an authorization response with code, the same state and iss equal
    to the issuer, a token response whose token_type matches the binding, a valid id_token signed
    with a FAPI algorithm, and HTTP 200 from the resource."""
    meta = target.discovery.metadata
    judge.must(checks.expect_json_object(target.discovery.exchange, req="FAPI2SP-5.3.2.1-1"))
    judge.must(checks.expect_metadata_issuer(meta, target.issuer, req="OIDD-4.3-1"))
    judge.must(
        checks.expect_metadata_true(
            meta, "authorization_response_iss_parameter_supported", req="ISS-2.3-2"
        )
    )

    dpop = DpopSession() if client.uses_dpop else None
    pkce = jose.pkce_s256()
    state, nonce = flows.new_state(), flows.new_state()
    par = flows.push_authorization_request(
        client, target.discovery, flows.authorization_params(client, pkce, state, nonce), dpop=dpop
    )
    judge.must(checks.expect_par_created(par, req="PAR-2.2-1"), stop=True)
    judge.must(checks.expect_request_uri_lifetime(par, below_s=600, req="FAPI2SP-5.3.2.2-12"))

    callback = target.browser.authorize(
        flows.authorization_url(target.discovery, client.client_id, par.json()["request_uri"]),
        client.config.redirect_uri,
        target.config.browser.login,
    )
    judge.must(
        checks.expect_callback_param(callback.params, "code", req="OAUTH-4.1.2-2"), stop=True
    )
    judge.must(checks.expect_state_matches(callback.params, state, req="OAUTH-4.1.2-2"))
    judge.must(checks.expect_callback_param(callback.params, "iss", req="ISS-2-1"))
    judge.must(checks.expect_iss_matches(callback.params, target.issuer, req="ISS-2.3-1"))
    judge.must(checks.expect_nothing_in_fragment(callback, req="FAPI2SP-5.3.2.2-1"))
    code = callback.params["code"]
    judge.must(checks.expect_length_bits(code, "code", bits=128, req="FAPI2SP-5.4.1-4"))
    judge.must(checks.expect_entropy(code, "code", bits=96, req="FAPI2SP-5.4.1-4"))
    judge.should(
        checks.expect_only_known_params(callback, flows.own_query(client), req="OAUTH-4.1.2-2")
    )

    token = flows.redeem_code(
        client, target.discovery, callback.params["code"], pkce.verifier, dpop=dpop
    )
    judge.must(checks.expect_token_response(token, req="OAUTH-5.1-2"), stop=True)
    judge.must(
        checks.expect_token_type(
            token, "DPoP" if dpop else "Bearer", req="DPOP-5-2" if dpop else "OAUTH-5.1-2"
        )
    )
    judge.should(checks.expect_expires_in(token, req="OAUTH-5.1-3"))
    judge.must(
        checks.expect_header_contains(token, "cache-control", "no-store", req="OIDC-3.1.3.3-1")
    )

    judge.must(checks.expect_response_member(token, "id_token", req="OIDC-3.1.3.3-1"))
    body = token.json()
    id_token = body.get("id_token")
    judge.must(checks.expect_jws_signature(id_token or "", target.jwks, "id_token", req="OIDC-2-4"))
    header, claims = flows.decode_jwt(id_token or "")
    judge.must(checks.expect_jws_alg(header, jose.FAPI_ALGS, "id_token", req="FAPI2SP-5.4.1-1.2a"))
    judge.must(
        checks.expect_id_token_claims(claims, target.issuer, client.client_id, req="OIDC-2-1")
    )
    judge.must(checks.expect_id_token_nonce(claims, nonce, req="OIDC-2-2"))

    resource = flows.call_resource(
        client,
        target.config.resource,
        body["access_token"],
        scheme="DPoP" if dpop else "Bearer",
        dpop=dpop,
    )
    judge.must(checks.expect_status(resource, 200, req="FAPI2SP-5.3.4-1"))
