"""Authorization codes: single use, short-lived, bound to their client (FAPI 2.0 SP 5.3.2)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from harness import checks, flows, jose
from harness.config import VariantConfig
from harness.flows import Client, DpopSession, TargetContext
from harness.verdict import Judge, NotTestable


def _dpop(client: Client) -> DpopSession | None:
    return DpopSession() if client.uses_dpop else None


def _authorize(
    target: TargetContext, client: Client, dpop: DpopSession | None
) -> tuple[str, jose.Pkce]:
    pkce = jose.pkce_s256()
    params = flows.authorization_params(client, pkce, flows.new_state(), None)
    attempt = flows.attempt_authorization(client, target, params, dpop=dpop)
    return flows.require_callback(attempt, "the authorization").params["code"], pkce


@pytest.mark.negative
@pytest.mark.requirement("FAPI2SP-5.3.2.2-9", "OAUTH-4.1.2-3", "OAUTH-4.1.2-1")
def test_code_used_twice(target: TargetContext, client: Client, judge: Judge) -> None:
    """A code is redeemed, then redeemed again. Passing means the second redemption gets HTTP 400
    invalid_grant. RFC 6749 4.1.2 adds that the tokens issued from that code should then be
    revoked: if the first access token still reads the resource, that is a WARNING."""
    dpop = _dpop(client)
    code, pkce = _authorize(target, client, dpop)
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


@dataclass
class AgedCode:
    """A code obtained before the shared wait, with what its redemption needs."""

    code: str
    pkce: jose.Pkce
    dpop: DpopSession | None
    evidence: flows.Collected


@pytest.fixture(scope="module")
def expired_codes(
    target: TargetContext, clients: dict[str, tuple[Client, Client]]
) -> dict[str, AgedCode | str]:
    """One code for every variant, then a single wait for all of them to expire (so the wait
    is paid once per run, not once per variant). A variant whose code could not be obtained maps
    to the reason."""
    aged: dict[str, AgedCode | str] = {}
    for name, (client, _) in clients.items():
        with flows.collecting() as evidence:
            dpop = _dpop(client)
            try:
                code, pkce = _authorize(target, client, dpop)
            except NotTestable as exc:
                aged[name] = str(exc)
                continue
        aged[name] = AgedCode(code, pkce, dpop, evidence)
    flows.wait(target.config.timeouts.code_expiry_wait, "the authorization codes to expire")
    return aged


@pytest.mark.negative
@pytest.mark.slow
@pytest.mark.requirement("FAPI2SP-5.3.2.1-11")
def test_expired_code_refused(
    target: TargetContext,
    client: Client,
    variant: VariantConfig,
    expired_codes: dict[str, AgedCode | str],
    judge: Judge,
) -> None:
    """A code is redeemed only after the wait configured as timeouts.code_expiry_wait (62 s by
    default: codes may live at most 60 s). The codes of all variants are obtained first and age
    together. Passing means HTTP 400 invalid_grant."""
    aged = expired_codes[variant.name]
    if isinstance(aged, str):
        raise NotTestable(aged)
    aged.evidence.attach()
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
    code, pkce = _authorize(target, client, dpop)
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
