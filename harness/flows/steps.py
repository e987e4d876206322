"""The protocol steps of a FAPI 2.0 authorization code flow, one function each."""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from harness import jose
from harness.browser import AuthorizationResponse, Browser
from harness.config import LoginPage, ResourceConfig
from harness.evidence import (
    Evidence,
    Exchange,
    Note,
    Recorder,
    announce,
    current_tag,
    decode_jwt_parts,
    record,
    recording,
)
from harness.flows.client import Client, DpopSession
from harness.net import HttpClient
from harness.verdict import NotTestable

if TYPE_CHECKING:
    from harness.flows.target import TargetContext


@dataclass(frozen=True)
class Discovery:
    """The server's metadata document, as fetched."""

    exchange: Exchange
    metadata: dict[str, Any]

    def endpoint(self, name: str) -> str:
        """A metadata URL the flow needs; missing means the flow cannot go on."""
        value = self.metadata.get(name)
        if not isinstance(value, str) or not value:
            raise NotTestable(f"the metadata has no {name}")
        return value

    @property
    def issuer(self) -> str:
        return self.endpoint("issuer")


def discover(http: HttpClient, url: str) -> Discovery:
    """GET the discovery document (OpenID Connect Discovery 4, RFC 8414 3)."""
    exchange = http.send("discovery", "GET", url, headers={"accept": "application/json"})
    body = exchange.json()
    if exchange.status != 200 or not isinstance(body, dict):
        raise NotTestable(f"discovery at {url} gave no JSON document (HTTP {exchange.status})")
    return Discovery(exchange, body)


def fetch_jwks(http: HttpClient, discovery: Discovery) -> tuple[Exchange, dict[str, Any]]:
    """GET the server's signing keys from ``jwks_uri``."""
    exchange = http.send(
        "jwks", "GET", discovery.endpoint("jwks_uri"), headers={"accept": "application/json"}
    )
    body = exchange.json()
    if (
        exchange.status != 200
        or not isinstance(body, dict)
        or not isinstance(body.get("keys"), list)
    ):
        raise NotTestable(f"jwks_uri gave no JWKS (HTTP {exchange.status})")
    return exchange, body


def decode_jwt(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a JWT without verifying it; two empty dicts if it is not one."""
    return decode_jwt_parts(token) or ({}, {})


def own_query(client: Client) -> dict[str, str]:
    """The query parameters of the client's registered redirect URI (kept in every response)."""
    return dict(parse_qsl(urlsplit(client.config.redirect_uri).query))


def new_state() -> str:
    """A fresh, unguessable state or nonce value."""
    return secrets.token_urlsafe(24)


def authorization_params(
    client: Client, pkce: jose.Pkce, state: str, nonce: str | None
) -> dict[str, str]:
    """The parameters of a well-formed FAPI 2.0 authorization request, sent through PAR (with
    prompt=consent when the scope asks for offline_access, which OIDC Core 11 requires)."""
    params = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": client.config.redirect_uri,
        "scope": client.config.scope,
        "state": state,
        "code_challenge": pkce.challenge,
        "code_challenge_method": pkce.method,
    }
    if nonce is not None:
        params["nonce"] = nonce
    if "offline_access" in client.config.scope.split():
        # OIDC Core 11: offline_access is ignored unless prompt contains consent.
        params["prompt"] = "consent"
    return params


def post_as_client(
    client: Client,
    label: str,
    url: str,
    params: dict[str, str],
    *,
    dpop: DpopSession | None = None,
    authenticate: bool = True,
    proof: dict[str, Any] | None = None,
    assertion: Callable[[], str] | None = None,
) -> Exchange:
    """POST form ``params`` to ``url`` as the client: its authentication (a fresh assertion on
    every try) and, with ``dpop``, a fresh proof (``proof``: overrides for ``DpopSession.proof``,
    such as ``extra_claims``). A DPoP nonce challenge is answered once. ``assertion`` makes the
    client assertion sent on each try (a hand-made one, for negative tests); with
    ``authenticate=False`` no client authentication is sent at all."""

    def build() -> tuple[dict[str, str], dict[str, str]]:
        headers = {"DPoP": dpop.proof("POST", url, **(proof or {}))} if dpop else {}
        auth_headers, auth = (
            client.authentication(assertion() if assertion else None) if authenticate else ({}, {})
        )
        return {**headers, **auth_headers}, {**auth, **params}

    return client.send(label, "POST", url, build, dpop)


def push_authorization_request(
    client: Client,
    discovery: Discovery,
    params: dict[str, str],
    *,
    dpop: DpopSession | None = None,
    authenticate: bool = True,
    proof: dict[str, Any] | None = None,
    assertion: Callable[[], str] | None = None,
) -> Exchange:
    """POST the authorization request to the PAR endpoint (RFC 9126 2.1), authenticated as the
    client, with a DPoP proof when ``dpop`` is given (which binds the code, RFC 9449 10);
    ``assertion``: see ``post_as_client``."""
    url = discovery.endpoint("pushed_authorization_request_endpoint")
    return post_as_client(
        client,
        "PAR",
        url,
        params,
        dpop=dpop,
        authenticate=authenticate,
        proof=proof,
        assertion=assertion,
    )


def authorization_url(discovery: Discovery, client_id: str, request_uri: str) -> str:
    """The front-channel URL: only client_id and request_uri (FAPI 2.0 SP 5.3.3.2)."""
    endpoint = discovery.endpoint("authorization_endpoint")
    sep = "&" if "?" in endpoint else "?"
    return f"{endpoint}{sep}{urlencode({'client_id': client_id, 'request_uri': request_uri})}"


def redeem_code(
    client: Client,
    discovery: Discovery,
    code: str,
    code_verifier: str,
    *,
    dpop: DpopSession | None = None,
    extra: dict[str, str] | None = None,
    proof: dict[str, Any] | None = None,
    assertion: Callable[[], str] | None = None,
    authenticate: bool = True,
) -> Exchange:
    """POST the authorization code grant to the token endpoint (RFC 6749 4.1.3); ``proof``,
    ``assertion`` and ``authenticate``: see ``post_as_client``."""
    grant = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": code_verifier,
        "redirect_uri": client.config.redirect_uri,
        **(extra or {}),
    }
    return post_as_client(
        client,
        "token",
        discovery.endpoint("token_endpoint"),
        grant,
        dpop=dpop,
        proof=proof,
        assertion=assertion,
        authenticate=authenticate,
    )


def refresh_tokens(
    client: Client,
    discovery: Discovery,
    refresh_token: str,
    *,
    dpop: DpopSession | None = None,
    authenticate: bool = True,
    label: str = "refresh",
) -> Exchange:
    """POST the refresh_token grant to the token endpoint (RFC 6749 6), authenticated as the
    client and, for DPoP-bound tokens, with a DPoP proof (RFC 9449 5). For negative tests:
    ``authenticate=False`` sends only the client_id, no client authentication."""
    grant = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    if not authenticate:
        grant["client_id"] = client.client_id
    return post_as_client(
        client,
        label,
        discovery.endpoint("token_endpoint"),
        grant,
        dpop=dpop,
        authenticate=authenticate,
    )


def call_resource(
    client: Client,
    resource: ResourceConfig,
    access_token: str,
    *,
    scheme: str | None,
    dpop: DpopSession | None = None,
    label: str = "resource",
    proof: str | Callable[[], str] | None = None,
    proof_header: str = "DPoP",
    header_list: list[tuple[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, str] | None = None,
    drop_headers: tuple[str, ...] = (),
) -> Exchange:
    """Call the protected resource with ``Authorization: <scheme> <token>`` and, with ``dpop``,
    a proof carrying ``ath`` (RFC 9449 7.1), over the client's own connection (and certificate).
    The resource's configured ``body`` and media type are sent with it.

    For negative tests: ``scheme=None`` sends no Authorization header, ``proof`` replaces that
    proof (a function is called for every try, so that it can carry the latest nonce),
    ``proof_header`` names its header, and ``header_list`` adds header pairs, repeats included
    (then the request is sent once, with no nonce retry). ``headers`` adds request headers (such
    as ``Accept``), ``drop_headers`` leaves default ones out, and ``query`` adds URL query
    parameters (the proof's ``htu`` stays the resource URL, RFC 9449 4.2)."""
    url = resource.url
    if query:
        url = f"{url}{'&' if '?' in url else '?'}{urlencode(dict(query))}"

    def build() -> tuple[dict[str, str], None]:
        sent = dict(headers or {})
        if resource.content_type is not None:
            sent["Content-Type"] = resource.content_type
        if scheme is not None:
            sent["Authorization"] = f"{scheme} {access_token}"
        if proof is not None:
            sent[proof_header] = proof() if callable(proof) else proof
        elif dpop is not None:
            sent[proof_header] = dpop.proof(resource.method, url, access_token=access_token)
        return sent, None

    if header_list:
        sent, _ = build()
        exchange = client.http.send(
            label,
            resource.method,
            url,
            headers=sent,
            header_list=header_list,
            content=resource.body,
            drop_headers=drop_headers,
        )
        if dpop is not None:
            dpop.observe(exchange)
        return exchange
    return client.send(
        label,
        resource.method,
        url,
        build,
        dpop,
        content=resource.body,
        drop_headers=drop_headers,
    )


def introspect(client: Client, discovery: Discovery, token: str) -> Exchange:
    """POST ``token`` to the introspection endpoint (RFC 7662 2.1), authenticated as the client
    (RFC 7662 2.1 asks for some authorization; a client's own credentials are the usual one)."""
    url = discovery.endpoint("introspection_endpoint")
    return post_as_client(
        client, "introspection", url, {"token": token, "token_type_hint": "access_token"}
    )


def require_success(exchange: Exchange, status: int, what: str) -> Exchange:
    """Set-up guard: a step the test depends on must succeed, else the test cannot go on."""
    if exchange.status != status:
        raise NotTestable(f"set-up: {what} answered HTTP {exchange.status}, not {status}")
    return exchange


@dataclass(frozen=True)
class Tokens:
    """What a completed flow obtained, for tests whose subject comes after it."""

    access_token: str
    token_type: str
    id_token: str | None
    refresh_token: str | None
    dpop: DpopSession | None
    response: Exchange


def obtain_tokens(
    client: Client,
    discovery: Discovery,
    browser: Browser,
    login: tuple[LoginPage, ...],
    *,
    dpop: DpopSession | None = None,
) -> Tokens:
    """Run a whole happy flow as set-up for another test (a DPoP client binds the tokens to
    ``dpop``'s key, by default a fresh P-256 key). Any step that does not succeed means the
    test's subject cannot be reached: ``NotTestable``."""
    if client.uses_dpop and dpop is None:
        dpop = DpopSession()
    elif not client.uses_dpop:
        dpop = None
    pkce = jose.pkce_s256()
    state = new_state()
    par = push_authorization_request(
        client, discovery, authorization_params(client, pkce, state, new_state()), dpop=dpop
    )
    body = par.json()
    if par.status != 201 or not isinstance(body, dict) or "request_uri" not in body:
        raise NotTestable(f"set-up: PAR did not succeed (HTTP {par.status})")
    callback: AuthorizationResponse = browser.authorize(
        authorization_url(discovery, client.client_id, str(body["request_uri"])),
        client.config.redirect_uri,
        login,
        setup=True,
    )
    code = callback.params.get("code")
    if not code or callback.params.get("state") != state:
        raise NotTestable(
            f"set-up: the authorization response has no code for our state: {callback.url}"
        )
    token = redeem_code(client, discovery, code, pkce.verifier, dpop=dpop)
    tbody = token.json()
    if (
        token.status != 200
        or not isinstance(tbody, dict)
        or not isinstance(tbody.get("access_token"), str)
    ):
        raise NotTestable(f"set-up: the token request did not succeed (HTTP {token.status})")
    return Tokens(
        access_token=tbody["access_token"],
        token_type=str(tbody.get("token_type", "")),
        id_token=tbody.get("id_token"),
        refresh_token=tbody.get("refresh_token"),
        dpop=dpop,
        response=token,
    )


@dataclass(frozen=True)
class Attempt:
    """An authorization attempt: the PAR exchange and, when PAR accepted the request, where the
    browser ended (a callback, an error page, or a page that is neither)."""

    par: Exchange
    front: AuthorizationResponse | None

    @property
    def request_uri(self) -> str:
        """The pushed request's request_uri (the test cannot go on without one)."""
        body = self.par.json()
        value = body.get("request_uri") if isinstance(body, dict) else None
        if not isinstance(value, str):
            raise NotTestable(f"PAR gave no request_uri (HTTP {self.par.status})")
        return value

    @property
    def outcome(self) -> AuthorizationResponse:
        """Where the browser ended (the test cannot go on if PAR refused the request)."""
        if self.front is None:
            raise NotTestable(f"PAR refused the request (HTTP {self.par.status})")
        return self.front


def attempt_authorization(
    client: Client,
    target: TargetContext,
    params: dict[str, str],
    *,
    dpop: DpopSession | None = None,
    deny_on: str | None = None,
    redirect_uri: str | tuple[str, ...] | None = None,
    front_client_id: str | None = None,
    extra_query: str = "",
    proof: dict[str, Any] | None = None,
    setup: bool = False,
    wrong_totp: bool = False,
) -> Attempt:
    """Push ``params`` to PAR and, if PAR answers 201, open the authorization URL (with
    ``front_client_id`` as its client_id, by default the pushing client's) in a fresh browser
    context (unless ``setup``), logging in (or taking the deny branch on the page named
    ``deny_on``). ``extra_query`` is appended to the authorization URL (parameters sent
    outside PAR);
    ``proof``: overrides for the PAR's DPoP proof (see ``post_as_client``); ``setup``: the login
    is not the test's subject (the authorization serves to reach it, or the subject is the
    request or the response parameters), so the browser may run in the worker's shared session,
    where the server remembers the login and consent (see ``Browser.attempt``); keep it False
    where the login or consent pages or the authentication event are the subject;
    ``wrong_totp``: the second-factor step types a wrong one-time code (provider_policy/mfa)."""
    par = push_authorization_request(client, target.discovery, params, dpop=dpop, proof=proof)
    body = par.json()
    if (
        par.status != 201
        or not isinstance(body, dict)
        or not isinstance(body.get("request_uri"), str)
    ):
        return Attempt(par, None)
    url = authorization_url(
        target.discovery, front_client_id or client.client_id, body["request_uri"]
    )
    front = target.browser.attempt(
        url + extra_query,
        redirect_uri or client.config.redirect_uri,
        target.config.browser.login,
        deny_on=deny_on,
        setup=setup,
        wrong_totp=wrong_totp,
    )
    return Attempt(par, front)


def require_callback(attempt: Attempt, what: str) -> AuthorizationResponse:
    """Set-up guard: the authorization must have come back with a code."""
    front = attempt.front
    if front is None:
        raise NotTestable(f"set-up: {what}: PAR answered HTTP {attempt.par.status}")
    if front.kind != "callback" or "code" not in front.params:
        raise NotTestable(f"set-up: {what} gave no code ({front.kind} at {front.url})")
    return front


def wait_until(ready_at: float, why: str) -> None:
    """Wait until ``ready_at`` (a ``time.time()``) for something the spec makes expire, saying
    what for, in the evidence and on the terminal. Whatever ran since the clock started counts:
    set-up that starts clocks early (see ``pytest.mark.slow``) leaves little or nothing to wait."""
    began = time.time()
    left = max(0.0, ready_at - began)
    if left > 1:
        announce(f"waiting {left:.0f} s for {why}")
    time.sleep(left)
    record(Note("wait", f"waited {left:.0f} s more for {why}", began, left))


def obtain_code(
    client: Client, target: TargetContext, dpop: DpopSession | None
) -> tuple[str, jose.Pkce]:
    """Set-up: a fresh authorization code for ``client`` (PAR, then the browser login), with the
    PKCE pair its redemption needs; ``NotTestable`` if no code came back."""
    pkce = jose.pkce_s256()
    params = authorization_params(client, pkce, new_state(), None)
    attempt = attempt_authorization(client, target, params, dpop=dpop, setup=True)
    return require_callback(attempt, "the authorization").params["code"], pkce


@dataclass
class Collected:
    """Evidence gathered outside a test (shared set-up), to be attached to the test using it."""

    items: list[Evidence]

    def attach(self) -> None:
        """Add the gathered evidence to the running test's evidence."""
        for item in self.items:
            record(item)


@contextlib.contextmanager
def collecting() -> Iterator[Collected]:
    """Gather the evidence of the block apart, for ``Collected.attach`` in the test it serves."""
    box = Collected([])
    with recording(Recorder(tag=current_tag())) as recorder:
        try:
            yield box
        finally:  # what was gathered before a failure is evidence too
            box.items = list(recorder.items)


# --- provider policy plan: granular access, short-lived tokens, revocation (access) ---


def obtain_token_response(
    client: Client,
    target: TargetContext,
    changes: Mapping[str, str | None],
    *,
    dpop: DpopSession | None = None,
) -> Exchange:
    """Set-up: a whole flow whose authorization request is the well-formed one changed by
    ``changes`` (a new scope, authorization_details, ...; None removes a parameter): PAR, the
    browser login (and consent), and the code's redemption. Returns the token response, which
    must be HTTP 200 with an access_token (else ``NotTestable``)."""
    pkce = jose.pkce_s256()
    params = authorization_params(client, pkce, new_state(), None)
    for name, value in changes.items():
        if value is None:
            params.pop(name, None)
        else:
            params[name] = value
    front = require_callback(
        attempt_authorization(client, target, params, dpop=dpop), "the authorization"
    )
    token = redeem_code(client, target.discovery, front.params["code"], pkce.verifier, dpop=dpop)
    body = token.json()
    if (
        token.status != 200
        or not isinstance(body, dict)
        or not isinstance(body.get("access_token"), str)
    ):
        raise NotTestable(f"set-up: the token request did not succeed (HTTP {token.status})")
    return token


def revoke_token(client: Client, discovery: Discovery, token: str, hint: str) -> Exchange:
    """POST ``token`` to the revocation endpoint (RFC 7009 2.1) with ``token_type_hint``
    ``hint``, authenticated as the client (as at the token endpoint)."""
    url = discovery.endpoint("revocation_endpoint")
    return post_as_client(
        client, f"revocation ({hint})", url, {"token": token, "token_type_hint": hint}
    )


# --- per-client FAPI enforcement (provider_policy/downgrade) ---


def note(label: str, text: str) -> None:
    """Put a fact in the running test's evidence (for example why no positive control ran)."""
    record(Note(label, text))


# --- one bound access token shared by the resource-server tests (issue 11, speed) ---

# A shared token this close to its expires_in is not handed out again: a test must not see it
# expire half-way (a refusal for expiry would look like the refusal a negative test expects).
SHARED_TOKEN_MARGIN_S = 60.0


@dataclass
class SharedToken:
    """A bound access token that several tests of one client use (see ``shared_tokens``)."""

    tokens: Tokens
    evidence: Collected  # PAR, the browser, the token response: attached to every user
    obtained_at: float  # time.time() when the token response came back
    obtained_for: str  # the test that obtained it
    expires_at: float | None  # from expires_in, if the token response stated one
    uses: int = 1


def _clock(when: float) -> str:
    return time.strftime("%H:%M:%S UTC", time.gmtime(when))


def _running_test() -> str:
    """The running test's id, for the reader (pytest names it in PYTEST_CURRENT_TEST)."""
    name = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]
    return name or f"the test tagged {current_tag()}"


def call_with_binding(
    client: Client, target: TargetContext, tokens: Tokens, label: str, **kwargs: Any
) -> Exchange:
    """The resource called with ``tokens`` and their binding: a fresh DPoP proof (scheme DPoP),
    or the client's certificate connection (scheme Bearer). ``kwargs`` go to ``call_resource``
    (extra headers, say)."""
    return call_resource(
        client,
        target.config.resource,
        tokens.access_token,
        scheme="DPoP" if tokens.dpop else "Bearer",
        dpop=tokens.dpop,
        label=label,
        **kwargs,
    )


def _guard_call(client: Client, target: TargetContext, tokens: Tokens, label: str) -> bool:
    """A correct resource request with ``tokens`` and their binding; True when it answered 2xx."""
    exchange = call_with_binding(client, target, tokens, label)
    return exchange.status is not None and 200 <= exchange.status < 300


def shared_tokens(client: Client, target: TargetContext) -> Tokens:
    """A sender-constrained access token of ``client`` for a test whose subject is only what the
    resource server does with requests that carry it (as the OIDF suite's DPoP module shares one
    token across its steps): one whole flow (``obtain_tokens``) per client and target in this
    process (one xdist worker), instead of one per test.

    Every test that gets the token shows where it came from: the evidence of the flow that
    obtained it (PAR, the browser, the token response) is attached to it, with a note saying
    the token is shared, which test obtained it and when.

    Guard: before the token is handed out, a correct resource request with it (with a fresh DPoP
    proof, or over the client's certificate connection) must answer 2xx; that exchange is in the
    test's evidence, labelled as the guard, and is also the control that shows a later refusal
    is the test's doing, not the token's. If it fails (a previous test's refusals may have
    spoiled the token, say), the token is thrown away and a fresh one obtained; if even a fresh
    one fails the guard, the test cannot go on (``NotTestable``: ERROR, never a pass). A token
    within ``SHARED_TOKEN_MARGIN_S`` of its expires_in is replaced without asking. The guard
    runs only before each test, not after: the next user's guard is what isolates tests from
    one another, so no test depends on the order of tests or on another test's leftovers.

    Not for tests that need a token with special properties (another DPoP key or alg), nor for
    tests about the token response, refresh, revocation or code reuse: those run their own
    flow. A token is never shared across clients."""
    held = target.shared_tokens.pop(client.client_id, None)
    left = held.expires_at - time.time() if held and held.expires_at is not None else None
    if held is not None and left is not None and left < SHARED_TOKEN_MARGIN_S:
        note(
            "shared token",
            f"the shared access token of {client.client_id} obtained at "
            f"{_clock(held.obtained_at)} expires in {left:.0f} s, too soon to use again: a "
            "fresh one is obtained",
        )
        held = None
    if held is not None:
        held.evidence.attach()
        held.uses += 1
        note(
            "shared token",
            f"the access token of {client.client_id} is shared: obtained at "
            f"{_clock(held.obtained_at)} by the flow above, for {held.obtained_for}; this test "
            f"is use {held.uses} (in this worker). It is checked first with a correct resource "
            "request (the guard)",
        )
        if _guard_call(
            client, target, held.tokens, "resource with the shared token (guard: it still works)"
        ):
            target.shared_tokens[client.client_id] = held
            return held.tokens
        note(
            "shared token",
            "the guard request was not accepted: the shared token is thrown away and a fresh "
            "one obtained",
        )
    try:
        with collecting() as evidence:
            tokens = obtain_tokens(
                client, target.discovery, target.browser, target.config.browser.login
            )
    finally:
        evidence.attach()  # the flow's evidence, whether it succeeded or not
    fresh = SharedToken(
        tokens=tokens,
        evidence=evidence,
        obtained_at=tokens.response.started + tokens.response.elapsed_s,
        obtained_for=_running_test(),
        expires_at=_expires_at(tokens),
    )
    note(
        "shared token",
        f"the access token of {client.client_id} was obtained at {_clock(fresh.obtained_at)} "
        "for this test; later resource tests of this client (in this worker) reuse it, each "
        "after a guard request. It is checked first with a correct resource request (the guard)",
    )
    if not _guard_call(
        client, target, tokens, "resource with the fresh token (guard: it works with its binding)"
    ):
        raise NotTestable(
            f"set-up: a fresh access token of {client.client_id} was not accepted by the "
            "resource with its binding, so the resource cannot be tested with it"
        )
    target.shared_tokens[client.client_id] = fresh
    return tokens


def _expires_at(tokens: Tokens) -> float | None:
    body = tokens.response.json()
    lifetime = body.get("expires_in") if isinstance(body, dict) else None
    if isinstance(lifetime, bool) or not isinstance(lifetime, int | float):
        return None
    return tokens.response.started + lifetime
