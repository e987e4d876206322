"""The authorization server's published keys (jwks_uri): public only, identified, long enough,
usable (RFC 7517, OIDC Core 10.1, FAPI 2.0 SP 5.4.1)."""

from __future__ import annotations

import pytest

from harness import checks, flows
from harness.flows import TargetContext
from harness.verdict import Judge


def _jwks(target: TargetContext) -> dict[str, object]:
    _, jwks = flows.fetch_jwks(target.anonymous_http, target.discovery)
    return jwks


@pytest.mark.negative
@pytest.mark.requirement("JWK-9.2-1")
def test_jwks_public_keys_only(target: TargetContext, judge: Judge) -> None:
    """The JWKS at jwks_uri is fetched. Passing means no key in it carries private or symmetric
    key material: none of the members d, p, q, dp, dq, qi, oth or k, and no kty oct."""
    judge.must(checks.expect_public_keys_only(_jwks(target), req="JWK-9.2-1"))


@pytest.mark.negative
@pytest.mark.requirement("OIDC-10.1-2")
def test_jwks_keys_have_kid(target: TargetContext, judge: Judge) -> None:
    """The JWKS at jwks_uri is fetched. Passing means every key in it has a kid, so that the kid
    in a signed token's header names exactly one key."""
    judge.must(checks.expect_key_ids(_jwks(target), req="OIDC-10.1-2"))


@pytest.mark.negative
@pytest.mark.requirement("FAPI2SP-5.4.1-2", "FAPI2SP-5.4.1-3")
def test_jwks_key_sizes(target: TargetContext, judge: Judge) -> None:
    """The JWKS at jwks_uri is fetched. Passing means every RSA key has a modulus of at least
    2048 bits and every EC key a curve of at least 224 bits."""
    jwks = _jwks(target)
    judge.must(checks.expect_key_sizes(jwks, ec_bits=0, req="FAPI2SP-5.4.1-2"))
    judge.must(checks.expect_key_sizes(jwks, rsa_bits=0, req="FAPI2SP-5.4.1-3"))


@pytest.mark.negative
@pytest.mark.requirement("JWK-4-1")
def test_jwks_keys_parse(target: TargetContext, judge: Judge) -> None:
    """The JWKS at jwks_uri is fetched. Passing means it has a non-empty keys array and every
    key in it imports as a public key of its kty (all the members its type requires, valid
    values)."""
    judge.must(checks.expect_keys_parse(_jwks(target), req="JWK-4-1"))
