"""Set-up for the tests that wait for something to expire: obtain it now, note when it expires.

Nothing here waits. A suite starts these clocks early (its ``slow`` tests name the fixtures that
do it), runs other tests meanwhile, and waits only for what is left with ``wait_until``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from harness import jose
from harness.evidence import Exchange
from harness.flows.client import Client, DpopSession
from harness.flows.steps import (
    Collected,
    authorization_params,
    call_resource,
    collecting,
    new_state,
    obtain_code,
    obtain_token_response,
    push_authorization_request,
)
from harness.flows.target import TargetContext
from harness.net import TransportFailure
from harness.verdict import NotTestable


@dataclass
class AgedCode:
    """A code obtained ahead of its test, with what its redemption needs."""

    code: str
    pkce: jose.Pkce
    dpop: DpopSession | None
    ready_at: float  # when it is past its lifetime (time.time())
    evidence: Collected


@dataclass
class AgedRequestUri:
    """A request_uri pushed ahead of its test, with its request's state."""

    request_uri: str
    state: str
    expires_in: int
    ready_at: float  # one second past its expires_in (time.time())
    evidence: Collected


LONGEST_REQUEST_URI_WAIT_S = 1800


def age_codes(
    target: TargetContext, clients: dict[str, tuple[Client, Client]]
) -> dict[str, AgedCode | str]:
    """One code per variant, each ready to be redeemed late once timeouts.code_expiry_wait has
    passed since it was issued. A variant whose code could not be obtained maps to the reason."""
    aged: dict[str, AgedCode | str] = {}
    for name, (client, _) in clients.items():
        with collecting() as evidence:
            dpop = DpopSession() if client.uses_dpop else None
            try:
                code, pkce = obtain_code(client, target, dpop)
            except (NotTestable, TransportFailure) as exc:
                aged[name] = str(exc)
                continue
        ready_at = time.time() + target.config.timeouts.code_expiry_wait
        aged[name] = AgedCode(code, pkce, dpop, ready_at, evidence)
    return aged


def age_request_uris(
    target: TargetContext, clients: dict[str, tuple[Client, Client]]
) -> dict[str, AgedRequestUri | str]:
    """One pushed request per variant, ready once its expires_in (plus one second) has passed. A
    variant maps to the reason when its request could not be pushed, or when its expires_in is
    too long (over 1,800 s) to wait for."""
    aged: dict[str, AgedRequestUri | str] = {}
    for name, (client, _) in clients.items():
        state = new_state()
        params = authorization_params(client, jose.pkce_s256(), state, None)
        with collecting() as evidence:
            try:
                par = push_authorization_request(
                    client,
                    target.discovery,
                    params,
                    dpop=DpopSession() if client.uses_dpop else None,
                )
            except TransportFailure as exc:
                aged[name] = f"set-up: PAR: {exc}"
                continue
        body = par.json()
        if par.status != 201 or not isinstance(body, dict) or "request_uri" not in body:
            aged[name] = f"set-up: PAR answered HTTP {par.status}"
            continue
        lifetime = body.get("expires_in")
        if not isinstance(lifetime, int) or lifetime > LONGEST_REQUEST_URI_WAIT_S:
            aged[name] = f"not applicable: expires_in is {lifetime!r}, too long to wait for"
            continue
        ready_at = time.time() + lifetime + 1
        aged[name] = AgedRequestUri(str(body["request_uri"]), state, lifetime, ready_at, evidence)
    return aged


# --- provider policy plan: short-lived access tokens (provider_policy/access) ---


@dataclass
class AgedToken:
    """An access token obtained ahead of its test (with ``scope``), with its token response, a
    first call of the resource made at once (the control: the token worked while fresh) and
    when it will have expired."""

    scope: str
    access_token: str
    expires_in: object  # as the token response stated it (validated by the test)
    dpop: DpopSession | None
    response: Exchange
    control: Exchange
    ready_at: float  # when expires_in has passed (time.time()), or now if it stated none
    evidence: Collected


def age_access_tokens(
    target: TargetContext, clients: dict[str, tuple[Client, Client]], extra_scope: str
) -> dict[str, AgedToken | str]:
    """One access token per variant granted the client's scope plus ``extra_scope`` (PAR, login,
    code redemption), whose resource call is made at once; a variant maps to the reason when no
    token came back."""
    aged: dict[str, AgedToken | str] = {}
    for name, (client, _) in clients.items():
        scope = f"{client.config.scope} {extra_scope}"
        dpop = DpopSession() if client.uses_dpop else None
        with collecting() as evidence:
            try:
                token = obtain_token_response(
                    client, target, {"scope": scope, "prompt": None}, dpop=dpop
                )
                issued = time.time()  # the token was issued before this answer came back
                body = token.json()
                value = body.get("access_token") if isinstance(body, dict) else None
                if not isinstance(value, str):
                    raise NotTestable("set-up: the token response has no access_token")
                control = call_resource(
                    client,
                    target.config.resource,
                    value,
                    scheme="DPoP" if dpop else "Bearer",
                    dpop=dpop,
                    label="resource with the fresh token (control)",
                )
            except (NotTestable, TransportFailure) as exc:
                aged[name] = str(exc)
                continue
        lifetime = body.get("expires_in")
        wait = lifetime if isinstance(lifetime, int) and not isinstance(lifetime, bool) else 0
        aged[name] = AgedToken(
            scope, value, lifetime, dpop, token, control, issued + wait, evidence
        )
    return aged
