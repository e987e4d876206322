"""Redirect URIs: only registered ones, always present in PAR, and their own query kept."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from harness import checks, flows, jose
from harness.flows import Client, DpopSession, TargetContext
from harness.verdict import Judge


def _dpop(client: Client) -> DpopSession | None:
    return DpopSession() if client.uses_dpop else None


@pytest.mark.negative
@pytest.mark.requirement("PAR-2.1-3", "FAPI2SP-5.3.2.1-7")
def test_unregistered_redirect_uri(target: TargetContext, client: Client, judge: Judge) -> None:
    """The pushed request names a redirect URI that is not registered (the registered one with a
    random path appended). Passing means a refusal at PAR (HTTP 400 invalid_request or
    invalid_request_object) or an error page. A plain FAPI server may accept unregistered URIs
    from authenticated clients (RFC 9126 2.4): only when the target configuration declares that
    tolerance (tolerates_unregistered_redirect_uri) may a code go to the unregistered URI. A code
    sent to the registered URI instead is always a failure."""
    registered = client.config.redirect_uri
    parts = urlsplit(registered)
    bogus = parts._replace(
        path=parts.path.rstrip("/") + "/unregistered-" + flows.new_state()[:8]
    ).geturl()
    state = flows.new_state()
    params = flows.authorization_params(client, jose.pkce_s256(), state, None)
    params["redirect_uri"] = bogus
    attempt = flows.attempt_authorization(
        client, target, params, dpop=_dpop(client), redirect_uri=(bogus, registered), setup=True
    )
    front = attempt.front
    tolerated = (
        target.config.tolerates_unregistered_redirect_uri
        and front is not None
        and front.url.startswith(bogus)
    )
    if tolerated:
        judge.must(
            checks.expect_callback_param(front.params if front else {}, "code", req="PAR-2.1-3")
        )
        return
    judge.must(
        checks.expect_par_or_authorization_refused(
            attempt.par,
            front,
            ["invalid_request", "invalid_request_object"],
            [],
            state=state,
            issuer=target.issuer,
            req="PAR-2.1-3",
        )
    )


@pytest.mark.negative
@pytest.mark.requirement("FAPI2SP-5.3.2.2-6")
def test_missing_redirect_uri_refused(target: TargetContext, client: Client, judge: Judge) -> None:
    """The pushed request has no redirect_uri. FAPI 2.0 SP 5.3.2.2 requires it in every pushed
    request, so passing means a refusal: PAR HTTP 400 with invalid_request or
    invalid_request_object, or an error page. Stricter than the OIDF suite, which also accepts a
    flow that falls back to the single registered URI."""
    state = flows.new_state()
    params = flows.authorization_params(client, jose.pkce_s256(), state, None)
    del params["redirect_uri"]
    attempt = flows.attempt_authorization(client, target, params, dpop=_dpop(client), setup=True)
    judge.must(
        checks.expect_par_or_authorization_refused(
            attempt.par,
            attempt.front,
            ["invalid_request", "invalid_request_object"],
            [],
            state=state,
            issuer=target.issuer,
            req="FAPI2SP-5.3.2.2-6",
        )
    )


@pytest.mark.negative
@pytest.mark.parametrize("outcome", ["success", "error"])
@pytest.mark.requirement("OAUTH-3.1.2-1")
def test_redirect_uri_query_is_kept(
    target: TargetContext, client: Client, client2: Client, judge: Judge, outcome: str
) -> None:
    """The client whose registered redirect URI has its own query (the second client, e.g.
    ?dummy1=lorem&dummy2=ipsum) completes a flow ("success") or cancels at login ("error").
    Passing means the response keeps that query, next to code/state/iss or error/state/iss
    (RFC 6749 3.1.2). SKIPPED when neither client's redirect URI has a query."""
    chosen = next((c for c in (client2, client) if flows.own_query(c)), None)
    if chosen is None:
        pytest.skip("not applicable: no client's registered redirect URI has a query")
    params = flows.authorization_params(chosen, jose.pkce_s256(), flows.new_state(), None)
    # The error case cancels at the login page, so it needs a fresh session (one that shows
    # it); the success case only needs the response, so it runs in the shared session.
    attempt = flows.attempt_authorization(
        chosen,
        target,
        params,
        dpop=_dpop(chosen),
        deny_on="login" if outcome == "error" else None,
        setup=outcome == "success",
    )
    judge.must(
        checks.expect_params_kept(attempt.outcome, flows.own_query(chosen), req="OAUTH-3.1.2-1")
    )
