"""Pushed authorization requests (RFC 9126) as FAPI 2.0 requires them (SP 5.3.2.2)."""

from __future__ import annotations

import pytest

from harness import checks, flows, jose
from harness.config import VariantConfig
from harness.flows import AgedRequestUri, Client, DpopSession, TargetContext
from harness.verdict import Judge, NotTestable

REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"


def _params(client: Client, state: str = "state-par") -> dict[str, str]:
    return flows.authorization_params(client, jose.pkce_s256(), state, flows.new_state())


@pytest.mark.negative
@pytest.mark.requirement("PAR-2.2-1", "PAR-2.2-2", "PAR-7.1-1", "FAPI2SP-5.3.2.2-12")
def test_par_response(target: TargetContext, client: Client, judge: Judge) -> None:
    """A well-formed pushed authorization request is answered HTTP 201 with JSON holding a
    request_uri and expires_in. Passing means: the lifetime is at least 5 s (usable) and below
    600 s (FAPI 2.0 SP 5.3.2.2), and the random part of the request_uri carries at least 96 bits
    of estimated entropy (RFC 9126 2.2 and 7.1, as the OIDF suite estimates it)."""
    dpop = DpopSession() if client.uses_dpop else None
    par = flows.push_authorization_request(client, target.discovery, _params(client), dpop=dpop)
    judge.must(checks.expect_par_created(par, req="PAR-2.2-1"), stop=True)
    judge.must(checks.expect_json_object(par, req="PAR-2.2-1"))
    judge.must(checks.expect_request_uri_lifetime(par, below_s=600, req="FAPI2SP-5.3.2.2-12"))
    request_uri = str(par.json()["request_uri"]).removeprefix(REQUEST_URI_PREFIX)
    judge.must(checks.expect_entropy(request_uri, "request_uri", bits=96, req="PAR-2.2-2"))


@pytest.mark.negative
@pytest.mark.requirement("PAR-2.3-3")
def test_par_refuses_put(target: TargetContext, client: Client, judge: Judge) -> None:
    """The PAR endpoint is sent a well-formed, authenticated request with HTTP PUT instead of
    POST. Passing means any HTTP 4xx or 5xx (RFC 9126 2.3 suggests 405) and no request_uri."""
    url = target.discovery.endpoint("pushed_authorization_request_endpoint")
    refused = client.http.send(
        "PAR with PUT", "PUT", url, form={**client.auth_params(), **_params(client)}
    )
    judge.must(checks.expect_status_class(refused, (4, 5), req="PAR-2.3-3"))


@pytest.mark.negative
@pytest.mark.requirement("PAR-2.1-2")
def test_par_refuses_request_uri_parameter(
    target: TargetContext, client: Client, judge: Judge
) -> None:
    """A pushed request carries a request_uri form parameter. Passing means HTTP 400 with
    invalid_request, invalid_request_object or request_uri_not_supported (RFC 9126 2.1)."""
    params = {**_params(client), "request_uri": f"{REQUEST_URI_PREFIX}not-from-this-server"}
    dpop = DpopSession() if client.uses_dpop else None
    par = flows.push_authorization_request(client, target.discovery, params, dpop=dpop)
    judge.must(
        checks.expect_oauth_error(
            par,
            ["invalid_request", "invalid_request_object", "request_uri_not_supported"],
            statuses=(400,),
            req="PAR-2.1-2",
        )
    )


@pytest.mark.negative
@pytest.mark.requirement("PAR-7.3-1", "PAR-4-2")
def test_request_uri_replayed_after_use(
    target: TargetContext, client: Client, judge: Judge
) -> None:
    """A flow is completed with a request_uri, then the same authorization URL is opened again.
    Passing means it is refused (error redirect with invalid_request_uri or invalid_request, or
    an error page). RFC 9126 only says single use SHOULD hold, so an accepted replay is a
    WARNING, not a failure (as in the OIDF suite)."""
    dpop = DpopSession() if client.uses_dpop else None
    state = flows.new_state()
    first = flows.attempt_authorization(
        client,
        target,
        flows.authorization_params(client, jose.pkce_s256(), state, None),
        dpop=dpop,
        setup=True,
    )
    flows.require_callback(first, "the first authorization")
    replay = target.browser.attempt(
        flows.authorization_url(target.discovery, client.client_id, first.request_uri),
        client.config.redirect_uri,
        target.config.browser.login,
        label="replay",
        setup=True,
    )
    judge.should(
        checks.expect_authorization_refused(
            replay,
            ["invalid_request_uri", "invalid_request"],
            state=state,
            issuer=target.issuer,
            req="PAR-7.3-1",
        )
    )


@pytest.mark.negative
@pytest.mark.slow("aged_request_uris")
@pytest.mark.requirement("PAR-4-3")
def test_expired_request_uri_refused(
    target: TargetContext,
    client: Client,
    variant: VariantConfig,
    aged_request_uris: dict[str, AgedRequestUri | str],
    judge: Judge,
) -> None:
    """A request_uri is pushed at the start of the run; once its expires_in has passed (plus one
    second), its authorization URL is opened. Passing means it is refused (error redirect with
    invalid_request_uri or invalid_request, or an error page). SKIPPED when expires_in exceeds
    1,800 s."""
    aged = aged_request_uris[variant.name]
    if isinstance(aged, str):
        if aged.startswith("not applicable"):
            pytest.skip(aged)
        raise NotTestable(aged)
    aged.evidence.attach()
    flows.wait_until(aged.ready_at, f"the request_uri to expire (expires_in {aged.expires_in} s)")
    late = target.browser.attempt(
        flows.authorization_url(target.discovery, client.client_id, aged.request_uri),
        client.config.redirect_uri,
        target.config.browser.login,
        label="expired",
        setup=True,
    )
    judge.must(
        checks.expect_authorization_refused(
            late,
            ["invalid_request_uri", "invalid_request"],
            state=aged.state,
            issuer=target.issuer,
            req="PAR-4-3",
        )
    )


@pytest.mark.negative
@pytest.mark.requirement("PAR-2.2-3")
def test_request_uri_of_another_client_refused(
    target: TargetContext, client: Client, client2: Client, judge: Judge
) -> None:
    """Client 1 pushes a request; the authorization URL then names client 2 as client_id with
    client 1's request_uri. Passing means a refusal: an error redirect with invalid_request,
    invalid_request_object or invalid_request_uri, or an error page. A code is a failure."""
    dpop = DpopSession() if client.uses_dpop else None
    state = flows.new_state()
    attempt = flows.attempt_authorization(
        client,
        target,
        flows.authorization_params(client, jose.pkce_s256(), state, None),
        dpop=dpop,
        front_client_id=client2.client_id,
        redirect_uri=(client.config.redirect_uri, client2.config.redirect_uri),
        setup=True,
    )
    judge.must(checks.expect_par_created(attempt.par, req="PAR-2.2-3"), stop=True)
    judge.must(
        checks.expect_authorization_refused(
            attempt.outcome,
            ["invalid_request", "invalid_request_object", "invalid_request_uri"],
            state=state,
            issuer=target.issuer,
            req="PAR-2.2-3",
        )
    )


@pytest.mark.requirement("FAPI2SP-5.3.2.2-note3", "PAR-4-2")
def test_request_uri_reused_before_completion(
    target: TargetContext, client: Client, judge: Judge
) -> None:
    """The authorization URL is opened and left at the login page, then opened again in a new
    browser and the login completed. Passing means the second visit succeeds: FAPI 2.0 SP
    5.3.2.2 (note 3) says one-time use should be enforced when the authorization completes,
    not on the first page load. A refusal is a WARNING (it is a SHOULD)."""
    dpop = DpopSession() if client.uses_dpop else None
    state = flows.new_state()
    params = flows.authorization_params(client, jose.pkce_s256(), state, None)
    par = flows.push_authorization_request(client, target.discovery, params, dpop=dpop)
    judge.must(checks.expect_par_created(par, req="PAR-4-2"), stop=True)
    url = flows.authorization_url(target.discovery, client.client_id, par.json()["request_uri"])
    first = target.browser.attempt(url, client.config.redirect_uri, (), label="first visit")
    judge.must(checks.expect_no_code_yet(first, req="PAR-4-2"))
    second = target.browser.attempt(
        url, client.config.redirect_uri, target.config.browser.login, label="second visit"
    )
    judge.should(checks.expect_callback_param(second.params, "code", req="FAPI2SP-5.3.2.2-note3"))
