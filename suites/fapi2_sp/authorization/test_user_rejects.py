"""The user refuses: cancelling at login or consent returns access_denied to the client."""

from __future__ import annotations

import pytest

from harness import checks, flows, jose
from harness.flows import Client, DpopSession, TargetContext
from harness.verdict import Judge


@pytest.mark.negative
@pytest.mark.parametrize("step", ["login", "consent"])
@pytest.mark.requirement("OAUTH-4.1.2.1-2", "ISS-2-1")
def test_user_cancels(
    target: TargetContext, client: Client, client2: Client, judge: Judge, step: str
) -> None:
    """For each of the two clients, the user cancels at the login (or the consent) page. Passing
    means an error redirect to the client with error=access_denied, the request's state and
    iss = the issuer (RFC 6749 4.1.2.1, RFC 9207), never a code."""
    for who in (client, client2):
        state = flows.new_state()
        params = flows.authorization_params(who, jose.pkce_s256(), state, None)
        dpop = DpopSession() if who.uses_dpop else None
        attempt = flows.attempt_authorization(who, target, params, dpop=dpop, deny_on=step)
        judge.must(
            checks.expect_authorization_refused(
                attempt.outcome,
                ["access_denied"],
                state=state,
                issuer=target.issuer,
                page_allowed=False,
                req="OAUTH-4.1.2.1-2",
            )
        )
