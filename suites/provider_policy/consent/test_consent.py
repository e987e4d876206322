"""Explicit consent (issue 7): on a first authorization the user is asked for consent.

The login steps say which page is consent (``kind = "consent"`` on a browser.login page); the
screenshots of the pages the browser acted on are the evidence. Denying consent (an
access_denied redirect with state and iss) is tested by
suites/fapi2_sp/authorization/test_user_rejects.py."""

from __future__ import annotations

import pytest

from harness import checks, flows, jose
from harness.flows import Client, DpopSession, TargetContext
from harness.verdict import Judge


@pytest.mark.negative
@pytest.mark.requirement("OIDC-3.1.2.4-1")
def test_consent_shown_on_first_authorization(
    target: TargetContext, client: Client, judge: Judge
) -> None:
    """A normal authorization (PAR, then the login) in a fresh browser context, so that no
    earlier session or consent of this browser exists. Passing means the login steps' page of
    kind 'consent' was shown before the code came back (see the screenshots). A code delivered
    without it fails; without a page declared as consent the harness cannot tell, and the
    verdict is REVIEW (look at the screenshots)."""
    dpop = DpopSession() if client.uses_dpop else None
    params = flows.authorization_params(client, jose.pkce_s256(), flows.new_state(), None)
    attempt = flows.attempt_authorization(client, target, params, dpop=dpop)
    outcome = flows.require_callback(attempt, "the authorization")
    consent = [p.name for p in target.config.browser.login if p.kind == "consent"]
    judge.must(checks.expect_consent_shown(outcome, outcome.pages, consent, req="OIDC-3.1.2.4-1"))
