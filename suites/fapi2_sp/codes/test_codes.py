"""Authorization codes: single use, short-lived, bound to their client (FAPI 2.0 SP 5.3.2)."""

from __future__ import annotations

import pytest

from harness import checks, flows
from harness.config import VariantConfig
from harness.flows import AgedCode, Client, DpopSession, TargetContext
from harness.verdict import Judge, NotTestable


def _dpop(client: Client) -> DpopSession | None:
    return DpopSession() if client.uses_dpop else None


@pytest.mark.negative
@pytest.mark.requirement("FAPI2SP-5.3.2.2-9", "OAUTH-4.1.2-3", "OAUTH-4.1.2-1")
def test_code_used_twice(target: TargetContext, client: Client, judge: Judge) -> None:
    """A code is redeemed, then redeemed again. Passing means the second redemption gets HTTP 400
    invalid_grant. RFC 6749 4.1.2 adds that the tokens issued from that code should then be
    revoked: if the first access token still reads the resource, that is a WARNING."""
    dpop = _dpop(client)
    code, pkce = flows.obtain_code(client, target, dpop)
    first = flows.redeem_code(client, target.discovery, code, pkce.verifier, dpop=dpop)
    flows.require_success(first, 200, "the first redemption")
    again = flows.redeem_code(client, target.discovery, code, pkce.verifier, dpop=dpop)
    judge.must(
        checks.expect_oauth_error(
            again, ["invalid_grant"], statuses=(400,), req="FAPI2SP-5.3.2.2-9"
        )
    )
    token = str(first.json()["access_token"])
    after = flows.call_resource(
        client,
        target.config.resource,
        token,
        scheme="DPoP" if dpop else "Bearer",
        dpop=dpop,
        label="resource with the first access token, after the reuse",
    )
    judge.should(
        checks.expect_resource_refused(
            after, ["Bearer", "DPoP"], ["invalid_token"], req="OAUTH-4.1.2-1"
        )
    )


@pytest.mark.negative
@pytest.mark.slow("aged_codes")
@pytest.mark.requirement("FAPI2SP-5.3.2.1-11")
def test_expired_code_refused(
    target: TargetContext,
    client: Client,
    variant: VariantConfig,
    aged_codes: dict[str, AgedCode | str],
    judge: Judge,
) -> None:
    """A code is redeemed only once the time configured as timeouts.code_expiry_wait (62 s by
    default: codes may live at most 60 s) has passed since it was issued. The codes are obtained
    at the start of the run and age while other tests run. Passing means HTTP 400 invalid_grant."""
    aged = aged_codes[variant.name]
    if isinstance(aged, str):
        raise NotTestable(aged)
    aged.evidence.attach()
    flows.wait_until(aged.ready_at, "the authorization code to expire")
    late = flows.redeem_code(
        client, target.discovery, aged.code, aged.pkce.verifier, dpop=aged.dpop
    )
    judge.must(
        checks.expect_oauth_error(
            late, ["invalid_grant"], statuses=(400,), req="FAPI2SP-5.3.2.1-11"
        )
    )


@pytest.mark.negative
@pytest.mark.requirement("OAUTH-4.1.3-1")
def test_code_of_another_client_refused(
    target: TargetContext, client: Client, client2: Client, judge: Judge
) -> None:
    """Client 1's code is redeemed by client 2, authenticated with its own credentials (and
    certificate), with everything else as client 1 would send it: the same redirect_uri and, with
    DPoP, client 1's DPoP key, so that only the client binding can stop it. Passing means HTTP
    400 invalid_grant."""
    dpop = _dpop(client)
    code, pkce = flows.obtain_code(client, target, dpop)
    stolen = flows.redeem_code(
        client2,
        target.discovery,
        code,
        pkce.verifier,
        dpop=dpop,
        extra={"redirect_uri": client.config.redirect_uri},
    )
    judge.must(
        checks.expect_oauth_error(stolen, ["invalid_grant"], statuses=(400,), req="OAUTH-4.1.3-1")
    )
