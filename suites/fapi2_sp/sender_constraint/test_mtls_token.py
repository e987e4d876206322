"""Certificate-bound tokens need the certificate at the token endpoint (FAPI 2.0 SP 5.3.2.1)."""

from __future__ import annotations

import dataclasses

import pytest

from harness import checks, flows, jose
from harness.config import VariantConfig
from harness.flows import Client, TargetContext
from harness.verdict import Judge


@pytest.mark.negative
@pytest.mark.requirement("FAPI2SP-5.3.2.1-4")
def test_token_request_without_certificate_refused(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """A normal flow for certificate-bound tokens, except that the code is redeemed over a
    connection that presents no client certificate (with a client assertion where the client
    authenticates with private_key_jwt). Passing means the token endpoint refuses it: HTTP
    400/401 with invalid_client, invalid_request or invalid_grant, never an unbound token. A TLS
    handshake the server drops for want of a certificate is a refusal too, and passes with the
    transport error shown."""
    if client.uses_dpop:
        pytest.skip(f"not applicable: variant {variant.name} binds tokens with DPoP, not mTLS")
    pkce = jose.pkce_s256()
    params = flows.authorization_params(client, pkce, flows.new_state(), None)
    attempt = flows.attempt_authorization(client, target, params, setup=True)
    code = flows.require_callback(attempt, "the authorization").params["code"]
    without_cert = dataclasses.replace(client, http=target.anonymous_http)
    try:
        token = flows.redeem_code(without_cert, target.discovery, code, pkce.verifier)
    except flows.TransportFailure as dropped:
        token = dropped.exchange
    judge.must(
        checks.expect_refused_or_dropped(
            token,
            ["invalid_client", "invalid_request", "invalid_grant"],
            statuses=(400, 401),
            req="FAPI2SP-5.3.2.1-4",
        )
    )
