"""Checks on the front channel: authorization responses and how a server refuses a request.

A FAPI 2.0 server may refuse a bad authorization request in three ways, all allowed: a 400 from
PAR with an allowed ``error``; an error redirect to the client with an allowed ``error``, the
request's ``state`` and the right ``iss``; or an error page in the browser. A page shown with no
HTTP error and no redirect is inconclusive (a person must look). A code delivered to the client
is never a refusal.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Mapping
from typing import Any, Protocol

from harness.checks.http import brief
from harness.evidence import Exchange
from harness.verdict import Finding

CALLBACK_PARAMS = frozenset({"code", "state", "iss", "session_state"})


class FrontChannel(Protocol):
    """What the browser saw (``harness.browser.AuthorizationResponse``)."""

    @property
    def kind(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def params(self) -> dict[str, str]: ...
    @property
    def fragment(self) -> dict[str, str]: ...
    @property
    def status(self) -> int | None: ...


def entropy_bits(value: str) -> float:
    """An estimate of the entropy of a random-looking value: its length times the Shannon
    entropy per character of its own characters (as the OIDF suite estimates it)."""
    if not value:
        return 0.0
    counts = Counter(value)
    per_char = -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())
    return per_char * len(value)


def expect_entropy(value: str | None, what: str, *, bits: int, req: str) -> Finding:
    """A value the server generates carries at least ``bits`` bits of estimated entropy."""
    estimate = entropy_bits(value or "")
    return Finding(
        req,
        estimate >= bits,
        f"{what} carries at least {bits} bits of entropy",
        expected=f">= {bits} bits",
        actual=f"about {estimate:.0f} bits over {len(value or '')} characters",
    )


def expect_length_bits(value: str | None, what: str, *, bits: int, req: str) -> Finding:
    """A value is at least ``bits`` bits long (8 bits a character)."""
    length = len(value or "") * 8
    return Finding(
        req,
        length >= bits,
        f"{what} is at least {bits} bits long",
        f">= {bits} bits",
        f"{length} bits",
    )


def expect_nothing_in_fragment(result: FrontChannel, *, req: str) -> Finding:
    """The code-flow response carries no code, state or error in the URL fragment."""
    leaked = sorted(set(result.fragment) & {"code", "state", "error", "access_token", "id_token"})
    return Finding(
        req,
        result.kind != "callback" or not leaked,
        "no code, state or error in the URL fragment",
        expected="an empty fragment",
        actual=f"fragment carries {', '.join(leaked)}" if leaked else "nothing in the fragment",
    )


def expect_only_known_params(
    result: FrontChannel, extra: Collection[str] = (), *, req: str
) -> Finding:
    """The authorization response carries no parameters beyond code, state, iss (and the
    redirect URI's own query parameters ``extra``)."""
    unknown = sorted(set(result.params) - CALLBACK_PARAMS - set(extra))
    return Finding(
        req,
        not unknown,
        "authorization response carries only expected parameters",
        expected=", ".join(sorted(CALLBACK_PARAMS | set(extra))),
        actual=f"unexpected: {', '.join(unknown)}" if unknown else "none unexpected",
    )


def expect_params_kept(result: FrontChannel, kept: Mapping[str, str], *, req: str) -> Finding:
    """The redirect URI's own query parameters come back unchanged."""
    lost = {k: result.params.get(k) for k, v in kept.items() if result.params.get(k) != v}
    return Finding(
        req,
        result.kind == "callback" and not lost,
        "the redirect URI keeps its own query parameters",
        expected=", ".join(f"{k}={v}" for k, v in kept.items()),
        actual=f"{result.kind}: {lost}" if lost else "kept",
    )


def expect_no_code_yet(result: FrontChannel, *, req: str) -> Finding:
    """Opening the authorization URL without logging in delivered no code (the user was asked
    to log in, or saw a page, but was not sent back with a code)."""
    delivered = result.kind == "callback" and "code" in {**result.fragment, **result.params}
    return Finding(
        req,
        not delivered,
        "no code is delivered before the user logs in",
        expected="a login page (no redirect with a code)",
        actual="a code was delivered without a login" if delivered else f"{result.kind}",
    )


def expect_authorization_refused(
    result: FrontChannel,
    errors: Collection[str],
    *,
    state: str | None,
    issuer: str,
    page_allowed: bool = True,
    req: str,
) -> Finding:
    """The authorization endpoint refused the request: an error redirect with an allowed
    ``error``, the request's ``state`` and ``iss`` = issuer, or (when ``page_allowed``) an HTTP
    4xx error page (a 5xx is a crash, not a refusal). A delivered code fails; a page with
    neither error nor redirect is inconclusive."""
    summary = "the authorization request is refused"
    expected = f"an error redirect (error={' | '.join(errors)}, state, iss)" + (
        " or an HTTP error page; never a code" if page_allowed else "; never a code"
    )
    if result.kind == "error_page" and not page_allowed:
        return Finding(
            req, False, summary, expected, f"an error page (HTTP {result.status}), no redirect"
        )
    if result.kind == "error_page" and (result.status or 0) >= 500:
        # A server that crashes on the request has not refused it as the spec allows.
        return Finding(req, False, summary, expected, f"a server error page, HTTP {result.status}")
    if result.kind == "error_page":
        return Finding(req, True, summary, expected, f"error page, HTTP {result.status}")
    if result.kind == "stuck":
        return Finding(
            req,
            False,
            summary,
            expected,
            f"a page with HTTP {result.status} and no redirect: see the screenshot",
            inconclusive=True,
        )
    params = {**result.fragment, **result.params}
    problems = []
    if "code" in params:
        problems.append("a code was delivered")
    if params.get("error") not in errors:
        problems.append(f"error={params.get('error')!r}")
    if state is not None and params.get("state") != state:
        problems.append(f"state={params.get('state')!r}")
    if params.get("iss") != issuer:
        problems.append(f"iss={params.get('iss')!r}")
    return Finding(
        req,
        not problems,
        summary,
        expected,
        "; ".join(problems) or f"error redirect: error={params.get('error')}",
    )


def expect_par_or_authorization_refused(
    par: Exchange,
    result: FrontChannel | None,
    par_errors: Collection[str],
    authorization_errors: Collection[str],
    *,
    state: str | None,
    issuer: str,
    req: str,
) -> Finding:
    """Refused at PAR (HTTP 400, or 401 for invalid_client, with an allowed error) or, when PAR
    accepted it, at the authorization endpoint (see ``expect_authorization_refused``)."""
    if par.status == 201 and result is not None:
        return expect_authorization_refused(
            result, authorization_errors, state=state, issuer=issuer, req=req
        )
    body: Any = par.json()
    error = body.get("error") if isinstance(body, dict) else None
    ok = error in par_errors and (
        par.status == 400 or (par.status == 401 and error == "invalid_client")
    )
    return Finding(
        req,
        ok,
        "the request is refused at PAR or at the authorization endpoint",
        expected=(
            f"PAR HTTP 400 error={' | '.join(par_errors)}, "
            "or a refusal at the authorization endpoint"
        ),
        actual=f"PAR {brief(par, 200)}",
    )


# --- consent (provider_policy/consent) ---


def expect_consent_shown(
    result: FrontChannel, visited: Collection[str], consent_pages: Collection[str], *, req: str
) -> Finding:
    """The authorization showed a consent page (one of ``consent_pages``, the login steps'
    pages of kind 'consent') among the pages the browser acted on (``visited``) before it came
    back. Without a declared consent page the harness cannot tell: inconclusive (a person looks
    at the screenshots)."""
    summary = "the user is asked for consent on a first authorization"
    if not consent_pages:
        return Finding(
            req,
            False,
            summary,
            "a login page of kind 'consent' among the pages shown",
            f"no login step is declared as consent; pages acted on: {', '.join(visited) or '-'}"
            " (see the screenshots)",
            inconclusive=True,
        )
    shown = [name for name in visited if name in consent_pages]
    delivered = "code" in {**result.fragment, **result.params}
    if shown:
        actual = f"consent page shown ({shown[0]})"
    elif delivered:
        actual = "a code was delivered without the consent page being shown"
    else:
        actual = f"no consent page shown ({result.kind} at {result.url})"
    return Finding(
        req,
        bool(shown),
        summary,
        f"the page {' | '.join(sorted(consent_pages))} before the redirect",
        actual + f"; pages acted on: {', '.join(visited) or '-'}",
    )
