"""The token endpoint: what a successful response carries (RFC 6749 5.1, FAPI 2.0 SP 5.4.1) and
that a code cannot be redeemed under another client's identity (RFC 6749 5.2, 4.1.3).

Related tests elsewhere: the happy flow checks the token_type against the binding, expires_in
and Cache-Control on its own token response (happy/test_happy_flow.py); a code redeemed by
client 2 with client 2's own credentials is codes/test_codes.py::
test_code_of_another_client_refused; the holder-of-key checks are in sender_constraint/.
"""

from __future__ import annotations

import dataclasses

import pytest

from harness import checks, flows, jose
from harness.config import VariantConfig
from harness.flows import Client, DpopSession, TargetContext
from harness.verdict import Judge


@pytest.mark.requirement("OAUTH-5.1-2", "OAUTH-5.1-1", "FAPI2SP-5.4.1-4", "OAUTH-5.1-3")
def test_token_response_shape(target: TargetContext, client: Client, judge: Judge) -> None:
    """A normal flow; its token response is examined. Passing means: HTTP 200 with a JSON object
    served as application/json, Cache-Control: no-store (RFC 6749 5.1), a positive integer
    expires_in (RECOMMENDED: a WARNING if missing), and an access token of at least 128 bits
    (16 characters) whose estimated entropy is at least 96 bits (FAPI 2.0 SP 5.4.1 item 4 asks
    for 128 bits of entropy; an outside observer cannot measure that, so, as the OIDF suite
    does, the estimate is the token's length times the Shannon entropy of its own character
    frequencies, and 96 bits is the floor: a random 43-character base64url token scores about
    200 bits, a token built from a few repeated characters or a short counter scores far less.
    A predictable token drawn from a varied alphabet, a hash of a counter say, passes this
    estimate: it cannot be seen from outside)."""
    tokens = flows.obtain_tokens(
        client, target.discovery, target.browser, target.config.browser.login
    )
    response = tokens.response
    judge.must(checks.expect_json_object(response, req="OAUTH-5.1-2"))
    judge.must(
        checks.expect_header_contains(response, "cache-control", "no-store", req="OAUTH-5.1-1")
    )
    judge.should(checks.expect_expires_in(response, req="OAUTH-5.1-3"))
    token = tokens.access_token
    judge.must(checks.expect_length_bits(token, "access token", bits=128, req="FAPI2SP-5.4.1-4"))
    judge.must(checks.expect_entropy(token, "access token", bits=96, req="FAPI2SP-5.4.1-4"))


@pytest.mark.negative
@pytest.mark.requirement("OAUTH-4.1.3-1", "OAUTH-5.2-3")
def test_client_id_of_another_client_refused(
    target: TargetContext,
    client: Client,
    client2: Client,
    variant: VariantConfig,
    judge: Judge,
) -> None:
    """Client 1's code is redeemed in a token request that names client 2 (client_id and, for
    private_key_jwt, an assertion with iss = sub = client 2) but proves client 1: the assertion
    is signed with client 1's key, or the connection presents client 1's certificate. Client
    1's redirect_uri, PKCE verifier and (with DPoP) DPoP key are used. This is the OIDF module
    ensure-client-id-in-token-endpoint. Passing means HTTP 400/401 with invalid_client or
    invalid_grant, with valid error syntax (RFC 6749 5.2)."""
    dpop = DpopSession() if client.uses_dpop else None
    pkce = jose.pkce_s256()
    params = flows.authorization_params(client, pkce, flows.new_state(), None)
    attempt = flows.attempt_authorization(client, target, params, dpop=dpop, setup=True)
    code = flows.require_callback(attempt, "the authorization").params["code"]
    impostor = dataclasses.replace(client2, http=client.http)
    key = client.assertion_key
    token = flows.redeem_code(
        impostor,
        target.discovery,
        code,
        pkce.verifier,
        dpop=dpop,
        extra={"redirect_uri": client.config.redirect_uri},
        assertion=(
            (lambda: jose.client_assertion(client2.client_id, target.issuer, key))
            if key is not None and client2.config.auth_method == "private_key_jwt"
            else None
        ),
    )
    judge.must(
        checks.expect_oauth_error(
            token, ["invalid_client", "invalid_grant"], statuses=(400, 401), req="OAUTH-4.1.3-1"
        )
    )
    judge.must(checks.expect_error_syntax(token, req="OAUTH-5.2-3"))
    judge.should(checks.expect_error_description_single_line(token, req="OAUTH-5.2-4"))
