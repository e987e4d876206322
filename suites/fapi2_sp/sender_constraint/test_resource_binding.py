"""A sender-constrained access token is useless without its binding (FAPI 2.0 SP 5.3.4).

The tests of one client share one bound access token (``flows.shared_tokens``); its guard, a
correct request with the binding just before the test, is each test's control."""

from __future__ import annotations

import dataclasses

import pytest

from harness import checks, flows
from harness.config import VariantConfig
from harness.flows import Client, TargetContext
from harness.verdict import Judge


def _tokens_with_control(target: TargetContext, client: Client) -> flows.Tokens:
    """The shared bound token, whose guard (the bound call, just made) proves it works, so a
    later refusal is the binding's doing."""
    return flows.shared_tokens(client, target)


@pytest.mark.negative
@pytest.mark.requirement("DPOP-7.1-1", "FAPI2SP-5.3.4-5")
def test_dpop_token_refused_without_proof(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """A DPoP-bound access token is sent to the resource under the DPoP scheme but with no DPoP
    proof. Passing means the resource refuses it (400/401, a DPoP challenge with invalid_token,
    invalid_dpop_proof or invalid_request), after the same token with a proof was accepted."""
    if not client.uses_dpop:
        pytest.skip(f"not applicable: variant {variant.name} binds tokens with mTLS, not DPoP")
    tokens = _tokens_with_control(target, client)
    refused = flows.call_resource(
        client,
        target.config.resource,
        tokens.access_token,
        scheme="DPoP",
        label="resource without a DPoP proof",
    )
    judge.must(
        checks.expect_resource_refused(
            refused,
            ["DPoP"],
            ["invalid_token", "invalid_dpop_proof", "invalid_request"],
            req="DPOP-7.1-1",
        )
    )


@pytest.mark.negative
@pytest.mark.requirement("DPOP-7.2-1", "FAPI2SP-5.3.4-5")
def test_dpop_token_refused_as_bearer(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """A DPoP-bound access token is sent as a plain Bearer token, with no proof (a downgrade).
    Passing means the resource refuses it with 400/401 and an invalid_token (or invalid_request)
    challenge, after the same token with a proof was accepted."""
    if not client.uses_dpop:
        pytest.skip(f"not applicable: variant {variant.name} binds tokens with mTLS, not DPoP")
    tokens = _tokens_with_control(target, client)
    refused = flows.call_resource(
        client,
        target.config.resource,
        tokens.access_token,
        scheme="Bearer",
        label="resource with the DPoP token as Bearer",
    )
    judge.must(
        checks.expect_resource_refused(
            refused, ["Bearer", "DPoP"], ["invalid_token", "invalid_request"], req="DPOP-7.2-1"
        )
    )


@pytest.mark.negative
@pytest.mark.requirement("MTLS-3-3", "FAPI2SP-5.3.4-5")
def test_mtls_token_refused_without_certificate(
    target: TargetContext, client: Client, variant: VariantConfig, judge: Judge
) -> None:
    """A certificate-bound access token is sent to the resource over a connection that presents
    no client certificate. Passing means 401 with an invalid_token challenge (RFC 8705 3), after
    the same token over the certificate-bound connection was accepted."""
    if client.uses_dpop:
        pytest.skip(f"not applicable: variant {variant.name} binds tokens with DPoP, not mTLS")
    tokens = _tokens_with_control(target, client)
    without_cert = dataclasses.replace(client, http=target.anonymous_http)
    refused = flows.call_resource(
        without_cert,
        target.config.resource,
        tokens.access_token,
        scheme="Bearer",
        label="resource without the client certificate",
    )
    judge.must(
        checks.expect_resource_refused(refused, ["Bearer"], ["invalid_token"], req="MTLS-3-3")
    )


@pytest.mark.negative
@pytest.mark.requirement("MTLS-3-3", "FAPI2SP-5.3.4-5")
def test_mtls_token_refused_with_another_certificate(
    target: TargetContext,
    client: Client,
    client2: Client,
    variant: VariantConfig,
    judge: Judge,
) -> None:
    """Client 1's certificate-bound access token is sent to the resource over a connection that
    presents client 2's certificate (a valid certificate, but not the bound one). Passing means
    401 with an invalid_token challenge (RFC 8705 3), after the same token over client 1's own
    connection was accepted."""
    if client.uses_dpop:
        pytest.skip(f"not applicable: variant {variant.name} binds tokens with DPoP, not mTLS")
    if not client2.http.has_cert:
        pytest.skip(f"not applicable: variant {variant.name}'s client 2 has no certificate")
    tokens = _tokens_with_control(target, client)
    other_cert = dataclasses.replace(client, http=client2.http)
    refused = flows.call_resource(
        other_cert,
        target.config.resource,
        tokens.access_token,
        scheme="Bearer",
        label="resource over client 2's certificate",
    )
    judge.must(
        checks.expect_resource_refused(refused, ["Bearer"], ["invalid_token"], req="MTLS-3-3")
    )
