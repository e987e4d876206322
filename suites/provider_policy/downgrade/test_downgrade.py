"""Per-client FAPI enforcement: every downgrade is refused for the variant's FAPI client.

Each test sends one downgrade (a forbidden client authentication, response type, a request
without PAR or PKCE, a weak assertion algorithm, a bound token used as Bearer, an http redirect
URI) with the variant's FAPI client, and passes only when the target refuses it the way the spec
allows (status and error code).

**Positive control.** A refusal proves enforcement only if the probe itself is well-formed. So
the same probe is also sent by a non-FAPI control client of the target (``policy.control_clients``)
that can express it, and must succeed. A refused control leaves the probe unproven: the test
ends in REVIEW, never PASSED on the FAPI refusal alone. Where the target's discovery shows that it
supports the downgrade for no client at all (``token_endpoint_auth_methods_supported`` without
the method, ``response_types_supported`` without the type, ``require_pushed_authorization_requests``
true, ``code_challenge_methods_supported`` without plain, the assertion algorithm missing from
``token_endpoint_auth_signing_alg_values_supported``), no control can succeed: it is not
applicable, the evidence says why, and the FAPI refusal alone decides. Without a control client
that can express the probe, the test still runs and its evidence says that no control was
available.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest

from harness import checks, flows, jose
from harness.checks.authorization import FrontChannel
from harness.config import VariantConfig
from harness.flows import Client, DpopSession, Exchange, TargetContext
from harness.verdict import Judge

AUTH_REFUSALS = ["invalid_client", "invalid_request"]
RESPONSE_TYPE_PAR_REFUSALS = ["unsupported_response_type", "invalid_request", "unauthorized_client"]
RESPONSE_TYPE_REFUSALS = ["unsupported_response_type", "invalid_request"]


@dataclass(frozen=True)
class Control:
    """What the control client's probe came back with, and what success looks like."""

    client_id: str
    outcome: Exchange | FrontChannel
    status: int


def _dpop(client: Client) -> DpopSession | None:
    return DpopSession() if client.uses_dpop else None


def _control(
    target: TargetContext,
    controls: Sequence[Client],
    probe: str,
    send: Callable[[Client], tuple[Exchange | FrontChannel, int]],
) -> Control | None:
    """Send ``probe`` with the first control client that can express it. None when the
    metadata shows no client may use the downgrade, or no control client can send it: the
    evidence says which, and the FAPI client's refusal alone decides."""
    reason = checks.downgrade.unsupported_for_all(probe, target.discovery.metadata)
    if reason is not None:
        flows.note(
            "positive control",
            f"not applicable: {reason}; the FAPI client's refusal alone decides",
        )
        return None
    for control in controls:
        key = control.assertion_key.key_type if control.assertion_key else None
        if checks.downgrade.control_expresses(
            probe,
            auth_method=control.config.auth_method,
            sender_constraint=control.config.sender_constraint,
            redirect_uri=control.config.redirect_uri,
            key_type=key,
        ):
            flows.note("positive control", f"the same probe is sent by {control.client_id}")
            outcome, status = send(control)
            return Control(control.client_id, outcome, status)
    names = ", ".join(c.client_id for c in controls) or "none configured"
    flows.note(
        "positive control",
        f"no control available: no control client (policy.control_clients: {names}) can send "
        f"the {probe} probe; the FAPI client's refusal alone decides",
    )
    return None


def _par(client: Client, target: TargetContext, params: dict[str, str]) -> tuple[Exchange, int]:
    """A control's pushed request (its own authentication and connection): 201 is success."""
    return flows.push_authorization_request(
        client, target.discovery, params, dpop=_dpop(client)
    ), 201


def _params(client: Client, **changes: str | None) -> dict[str, str]:
    """A well-formed FAPI 2.0 authorization request for ``client`` with ``changes`` (None
    removes a parameter)."""
    params = flows.authorization_params(client, jose.pkce_s256(), flows.new_state(), None)
    for name, value in changes.items():
        if value is None:
            params.pop(name, None)
        else:
            params[name] = value
    return params


# --- client authentication --------------------------------------------------------------------


@pytest.mark.negative
@pytest.mark.parametrize(
    "method", ["client_secret_basic", "client_secret_post", "client_secret_jwt", "none"]
)
@pytest.mark.requirement("FAPI2SP-5.3.2.1-6", "FAPI2SP-5.3.2.1-3", "FAPI2SP-5.3.2.2-4")
def test_weak_client_authentication_refused(
    target: TargetContext,
    client: Client,
    control_clients: tuple[Client, ...],
    judge: Judge,
    method: str,
) -> None:
    """The FAPI client pushes a well-formed authorization request authenticated with
    client_secret_basic, client_secret_post or client_secret_jwt (with a secret the harness
    made up: a FAPI client has none) or with no authentication at all (``none``: only its
    client_id), over a connection without a client certificate, so the method under test is
    the only credential. Passing means PAR refuses it (HTTP 400/401, invalid_client or
    invalid_request). Positive control: a control client registered for that method pushes the
    same request with its own secret and gets 201."""
    changes: dict[str, str | None] = {"auth_method": method, "client_secret": None}
    if method != "none":
        changes["client_secret"] = secrets.token_urlsafe(32)
    posing = dataclasses.replace(
        client, config=client.config.model_copy(update=changes), http=target.anonymous_http
    )
    refused = flows.push_authorization_request(posing, target.discovery, _params(client))
    judge.must(
        checks.expect_oauth_error(
            refused,
            AUTH_REFUSALS,
            req="FAPI2SP-5.3.2.1-3" if method == "none" else "FAPI2SP-5.3.2.1-6",
        )
    )
    control = _control(target, control_clients, method, lambda c: _par(c, target, _params(c)))
    if control is not None:
        judge.review(
            checks.expect_control_accepted(
                control.outcome,
                control.status,
                client_id=control.client_id,
                req="FAPI2SP-5.3.2.1-3" if method == "none" else "FAPI2SP-5.3.2.1-6",
            )
        )


def _assertion_key(client: Client, variant: VariantConfig) -> jose.Key:
    if client.config.auth_method != "private_key_jwt" or client.assertion_key is None:
        pytest.skip(
            f"not applicable: variant {variant.name} authenticates with "
            f"{client.config.auth_method}: the client has no registered key to sign an assertion"
        )
    return client.assertion_key


def _assertion_par(
    client: Client, target: TargetContext, key: jose.Key, alg: str
) -> tuple[Exchange, int]:
    """A pushed request authenticated by an assertion of ``client`` signed with ``alg``."""

    def assertion() -> str:
        return jose.client_assertion(client.client_id, target.issuer, key, alg=alg)

    exchange = flows.push_authorization_request(
        client, target.discovery, _params(client), dpop=_dpop(client), assertion=assertion
    )
    return exchange, 201


@pytest.mark.negative
@pytest.mark.requirement("FAPI2SP-5.4.1-1.2b")
def test_rs256_client_assertion_refused(
    target: TargetContext,
    client: Client,
    control_clients: tuple[Client, ...],
    variant: VariantConfig,
    judge: Judge,
) -> None:
    """The FAPI client pushes a request authenticated by a client assertion signed RS256
    (RSASSA-PKCS1-v1_5) with its own registered RSA key. Passing means PAR refuses it (HTTP
    400/401, invalid_client or invalid_request). SKIPPED unless the client's key is RSA (an
    RS256 signature by another key would be refused for the key). Positive control: a
    private_key_jwt control client with an RSA key pushes the same kind of request and gets 201."""
    key = _assertion_key(client, variant)
    if key.key_type != "RSA":
        pytest.skip(f"not applicable: client {client.client_id}'s key is {key.key_type}, not RSA")
    refused, _ = _assertion_par(client, target, key, "RS256")
    judge.must(checks.expect_oauth_error(refused, AUTH_REFUSALS, req="FAPI2SP-5.4.1-1.2b"))

    def send(control: Client) -> tuple[Exchange, int]:
        if control.assertion_key is None:
            raise ValueError(f"{control.client_id} has no assertion key")  # control_expresses
        return _assertion_par(control, target, control.assertion_key, "RS256")

    control = _control(target, control_clients, "rs256_assertion", send)
    if control is not None:
        judge.review(
            checks.expect_control_accepted(
                control.outcome,
                control.status,
                client_id=control.client_id,
                req="FAPI2SP-5.4.1-1.2b",
            )
        )


@pytest.mark.negative
@pytest.mark.requirement("FAPI2SP-5.4.1-1.2b")
def test_hs256_client_assertion_refused(
    target: TargetContext,
    client: Client,
    control_clients: tuple[Client, ...],
    variant: VariantConfig,
    judge: Judge,
) -> None:
    """The FAPI client pushes a request authenticated by a client assertion signed HS256, keyed
    with the PEM of its registered public key (the only key material it shares with the
    server). Passing means PAR refuses it (HTTP 400/401, invalid_client or invalid_request).
    Positive control: a client_secret_jwt control client pushes a request with its own HS256
    assertion and gets 201."""
    key = _assertion_key(client, variant)
    refused, _ = _assertion_par(client, target, key, "HS256")
    judge.must(checks.expect_oauth_error(refused, AUTH_REFUSALS, req="FAPI2SP-5.4.1-1.2b"))
    control = _control(
        target, control_clients, "hs256_assertion", lambda c: _par(c, target, _params(c))
    )
    if control is not None:
        judge.review(
            checks.expect_control_accepted(
                control.outcome,
                control.status,
                client_id=control.client_id,
                req="FAPI2SP-5.4.1-1.2b",
            )
        )


# --- authorization request --------------------------------------------------------------------


@pytest.mark.negative
@pytest.mark.parametrize(
    ("probe", "response_type"),
    [
        ("implicit", checks.downgrade.IMPLICIT),
        ("hybrid", checks.downgrade.HYBRID),
    ],
)
@pytest.mark.requirement("FAPI2SP-5.3.2.2-1")
def test_implicit_and_hybrid_refused(
    target: TargetContext,
    client: Client,
    control_clients: tuple[Client, ...],
    judge: Judge,
    probe: str,
    response_type: str,
) -> None:
    """The FAPI client pushes a request for response_type "id_token" (implicit) or "code
    id_token" (hybrid), with a nonce. Passing means a refusal at PAR (HTTP 400 with
    unsupported_response_type, invalid_request or unauthorized_client) or at the authorization
    endpoint (an error redirect with unsupported_response_type or invalid_request, or an error
    page), never a code or token. Positive control: a control client pushes the same request
    and gets 201."""
    nonce = flows.new_state()
    params = _params(client, response_type=response_type, nonce=nonce)
    attempt = flows.attempt_authorization(client, target, params, dpop=_dpop(client), setup=True)
    judge.must(
        checks.expect_par_or_authorization_refused(
            attempt.par,
            attempt.front,
            RESPONSE_TYPE_PAR_REFUSALS,
            RESPONSE_TYPE_REFUSALS,
            state=params["state"],
            issuer=target.issuer,
            req="FAPI2SP-5.3.2.2-1",
        )
    )
    if attempt.front is not None:
        judge.must(checks.expect_nothing_in_fragment(attempt.front, req="FAPI2SP-5.3.2.2-1"))
    control = _control(
        target,
        control_clients,
        probe,
        lambda c: _par(c, target, _params(c, response_type=response_type, nonce=nonce)),
    )
    if control is not None:
        judge.review(
            checks.expect_control_accepted(
                control.outcome,
                control.status,
                client_id=control.client_id,
                req="FAPI2SP-5.3.2.2-1",
            )
        )


@pytest.mark.negative
@pytest.mark.requirement("FAPI2SP-5.3.2.2-3")
def test_request_without_par_refused(
    target: TargetContext,
    client: Client,
    control_clients: tuple[Client, ...],
    judge: Judge,
) -> None:
    """The FAPI client's whole authorization request goes in the query of the authorization
    endpoint, with no PAR. Passing means a refusal: an error redirect with invalid_request
    (with state and iss) or an error page; a code is a failure. Positive control: a control
    client's request sent the same way reaches its redirect URI without an error (after the
    login, or at once where the server remembers it: these requests run in the worker's shared
    browser session, as their subject is the request, not the login)."""
    params = _params(client, nonce=flows.new_state())
    endpoint = target.discovery.endpoint("authorization_endpoint")
    outcome = target.browser.attempt(
        f"{endpoint}?{urlencode(params)}",
        client.config.redirect_uri,
        target.config.browser.login,
        setup=True,
    )
    judge.must(
        checks.expect_authorization_refused(
            outcome,
            ["invalid_request"],
            state=params["state"],
            issuer=target.issuer,
            req="FAPI2SP-5.3.2.2-3",
        )
    )

    def send(control: Client) -> tuple[FrontChannel, int]:
        query = urlencode(_params(control, nonce=flows.new_state()))
        front = target.browser.attempt(
            f"{endpoint}?{query}",
            control.config.redirect_uri,
            target.config.browser.login,
            setup=True,
        )
        return front, 0

    control = _control(target, control_clients, "no_par", send)
    if control is not None:
        judge.review(
            checks.expect_control_accepted(
                control.outcome,
                control.status,
                client_id=control.client_id,
                req="FAPI2SP-5.3.2.2-3",
            )
        )


def _pkce_changes(probe: str) -> dict[str, str | None]:
    """No code_challenge (``no_pkce``), or a plain one: the verifier itself (``plain_pkce``)."""
    if probe == "no_pkce":
        return {"code_challenge": None, "code_challenge_method": None}
    return {"code_challenge": jose.pkce_s256().verifier, "code_challenge_method": "plain"}


def _pkce_probe(
    target: TargetContext, client: Client, controls: Sequence[Client], probe: str
) -> tuple[flows.Attempt, str, Control | None]:
    """The FAPI client's PKCE downgrade (PAR, then the browser if PAR accepts it) and the
    control's pushed request with the same downgrade."""
    params = _params(client, **_pkce_changes(probe))
    attempt = flows.attempt_authorization(client, target, params, dpop=_dpop(client), setup=True)
    control = _control(
        target, controls, probe, lambda c: _par(c, target, _params(c, **_pkce_changes(probe)))
    )
    return attempt, params["state"], control


@pytest.mark.negative
@pytest.mark.requirement("FAPI2SP-5.3.2.2-5")
def test_missing_pkce_refused(
    target: TargetContext,
    client: Client,
    control_clients: tuple[Client, ...],
    judge: Judge,
) -> None:
    """The FAPI client pushes a request without code_challenge. Passing means a refusal with
    invalid_request: PAR HTTP 400, an error redirect (with state and iss), or an error page.
    Positive control: a control client pushes the same request and gets 201 (on the reference
    target PKCE is required per client, of FAPI clients only)."""
    attempt, state, control = _pkce_probe(target, client, control_clients, "no_pkce")
    judge.must(
        checks.expect_par_or_authorization_refused(
            attempt.par,
            attempt.front,
            ["invalid_request"],
            ["invalid_request"],
            state=state,
            issuer=target.issuer,
            req="FAPI2SP-5.3.2.2-5",
        )
    )
    if control is not None:
        judge.review(
            checks.expect_control_accepted(
                control.outcome,
                control.status,
                client_id=control.client_id,
                req="FAPI2SP-5.3.2.2-5",
            )
        )


@pytest.mark.negative
@pytest.mark.requirement("FAPI2SP-5.3.2.2-5")
def test_plain_pkce_refused(
    target: TargetContext,
    client: Client,
    control_clients: tuple[Client, ...],
    judge: Judge,
) -> None:
    """The FAPI client pushes a request with code_challenge_method=plain (the challenge is the
    verifier). Passing means a refusal with invalid_request: PAR HTTP 400, an error redirect
    (with state and iss), or an error page. Positive control: a control client pushes the same
    request and gets 201."""
    attempt, state, control = _pkce_probe(target, client, control_clients, "plain_pkce")
    judge.must(
        checks.expect_par_or_authorization_refused(
            attempt.par,
            attempt.front,
            ["invalid_request"],
            ["invalid_request"],
            state=state,
            issuer=target.issuer,
            req="FAPI2SP-5.3.2.2-5",
        )
    )
    if control is not None:
        judge.review(
            checks.expect_control_accepted(
                control.outcome,
                control.status,
                client_id=control.client_id,
                req="FAPI2SP-5.3.2.2-5",
            )
        )


@pytest.mark.negative
@pytest.mark.requirement("FAPI2SP-5.3.2.2-8b")
def test_http_redirect_uri_refused(
    target: TargetContext,
    client: Client,
    control_clients: tuple[Client, ...],
    judge: Judge,
) -> None:
    """The FAPI client pushes a request whose redirect_uri uses http: the control client's
    registered http redirect URI when there is one, else the client's own URI with http in
    place of https. Passing means a refusal at PAR (HTTP 400 invalid_request or
    invalid_request_object) or an error page; a code sent to the http URI (or anywhere) is a
    failure, whatever tolerates_unregistered_redirect_uri says. Positive control: the control
    client pushes the same request with the same http redirect URI and gets 201."""
    own = client.config.redirect_uri
    http = next(
        (c.config.redirect_uri for c in control_clients if c.config.redirect_uri[:7] == "http://"),
        "http://" + own.removeprefix("https://"),
    )
    params = _params(client, redirect_uri=http)
    attempt = flows.attempt_authorization(
        client, target, params, dpop=_dpop(client), redirect_uri=(http, own), setup=True
    )
    judge.must(
        checks.expect_par_or_authorization_refused(
            attempt.par,
            attempt.front,
            ["invalid_request", "invalid_request_object"],
            [],
            state=params["state"],
            issuer=target.issuer,
            req="FAPI2SP-5.3.2.2-8b",
        )
    )
    control = _control(
        target,
        control_clients,
        "http_redirect",
        lambda c: _par(c, target, _params(c, redirect_uri=http)),
    )
    if control is not None:
        judge.review(
            checks.expect_control_accepted(
                control.outcome,
                control.status,
                client_id=control.client_id,
                req="FAPI2SP-5.3.2.2-8b",
            )
        )


# --- sender constraint ------------------------------------------------------------------------


@pytest.mark.negative
@pytest.mark.requirement("FAPI2SP-5.3.4-5", "DPOP-7.2-1", "MTLS-3-3")
def test_bound_token_refused_as_bearer(
    target: TargetContext,
    client: Client,
    control_clients: tuple[Client, ...],
    judge: Judge,
) -> None:
    """The FAPI client's sender-constrained access token (the one its resource tests share,
    ``flows.shared_tokens``), just accepted by the resource with its binding (the guard), is
    presented as a plain Bearer token without the binding: with no DPoP proof (DPoP), or over a
    connection without the client certificate (mTLS). Passing means the resource refuses it
    (HTTP 400/401 with an invalid_token or invalid_request challenge). Positive control: a
    control client with unbound tokens obtains one (its own login) and the same Bearer call is
    served (HTTP 200)."""
    login = target.config.browser.login
    tokens = flows.shared_tokens(client, target)
    without_cert = dataclasses.replace(client, http=target.anonymous_http)
    unbound = client if client.uses_dpop else without_cert
    refused = flows.call_resource(
        unbound,
        target.config.resource,
        tokens.access_token,
        scheme="Bearer",
        label="resource with the bound token as Bearer, without its binding",
    )
    judge.must(
        checks.expect_resource_refused(
            refused,
            ["Bearer", "DPoP"],
            ["invalid_token", "invalid_request"],
            req="FAPI2SP-5.3.4-5",
        )
    )

    def send(control: Client) -> tuple[Exchange, int]:
        own = flows.obtain_tokens(control, target.discovery, target.browser, login)
        served = flows.call_resource(
            control,
            target.config.resource,
            own.access_token,
            scheme="Bearer",
            label="resource with the control client's token as Bearer",
        )
        return served, 200

    control = _control(target, control_clients, "bearer", send)
    if control is not None:
        judge.review(
            checks.expect_control_accepted(
                control.outcome,
                control.status,
                client_id=control.client_id,
                req="FAPI2SP-5.3.4-5",
            )
        )
