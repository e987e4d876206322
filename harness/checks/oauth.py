"""Checks on OAuth messages: PAR, authorization and token responses, errors, resource refusals."""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping

from harness.checks.http import brief
from harness.evidence import Exchange
from harness.verdict import Finding, NotTestable

# The error auth-param of a challenge, quoted or not (RFC 9110 11.2).
_AUTH_PARAM = re.compile(r'\berror\s*=\s*(?:"([^"]*)"|([^\s,"]+))', re.IGNORECASE)


def _auth_error(challenge: str) -> str | None:
    match = _AUTH_PARAM.search(challenge)
    return (match.group(1) if match.group(1) is not None else match.group(2)) if match else None


def _names(values: Collection[str], what: str) -> Collection[str]:
    if isinstance(values, str):
        raise TypeError(f"{what} must be a collection of strings, not the string {values!r}")
    return values


def expect_par_created(exchange: Exchange, *, req: str) -> Finding:
    """PAR succeeded: HTTP 201, JSON with a string request_uri and an integer expires_in."""
    body = exchange.json()
    ok = (
        exchange.status == 201
        and isinstance(body, dict)
        and isinstance(body.get("request_uri"), str)
        and bool(body["request_uri"])
        and isinstance(body.get("expires_in"), int)
        and not isinstance(body.get("expires_in"), bool)
        and body["expires_in"] > 0
    )
    return Finding(
        req,
        ok,
        "PAR answers 201 with request_uri and expires_in",
        expected='HTTP 201 {"request_uri": "…", "expires_in": <positive integer>}',
        actual=brief(exchange),
    )


def expect_request_uri_lifetime(
    exchange: Exchange, *, below_s: int, at_least_s: int = 5, req: str
) -> Finding:
    """The PAR expires_in is an integer of at least ``at_least_s`` and below ``below_s`` seconds
    (long enough to be used, short enough to limit replay)."""
    body = exchange.json()
    value = body.get("expires_in") if isinstance(body, dict) else None
    ok = isinstance(value, int) and not isinstance(value, bool) and at_least_s <= value < below_s
    return Finding(
        req,
        ok,
        f"request_uri lifetime is between {at_least_s} and {below_s} s",
        expected=f"{at_least_s} <= expires_in < {below_s}",
        actual=f"expires_in = {value!r}",
    )


def expect_callback_param(params: Mapping[str, str], name: str, *, req: str) -> Finding:
    """The authorization response carries a non-empty ``name`` parameter."""
    value = params.get(name)
    return Finding(
        req,
        bool(value),
        f"authorization response carries {name}",
        expected=f"{name}=<non-empty>",
        actual=f"parameters: {', '.join(sorted(params)) or '(none)'}",
    )


def expect_param_absent(params: Mapping[str, object], name: str, *, req: str) -> Finding:
    """A parameter or claim that was not asked for is not there (e.g. state when none was sent)."""
    return Finding(
        req,
        name not in params,
        f"no {name} comes back when none was sent",
        expected=f"no {name}",
        actual=f"{name}={params[name]!r}" if name in params else f"no {name}",
    )


def expect_state_matches(params: Mapping[str, str], state: str, *, req: str) -> Finding:
    """The authorization response returns the exact ``state`` the client sent."""
    actual = params.get("state")
    return Finding(
        req,
        actual == state,
        "authorization response returns the same state",
        repr(state),
        repr(actual),
    )


def expect_iss_matches(params: Mapping[str, str], issuer: str, *, req: str) -> Finding:
    """The authorization response ``iss`` (RFC 9207) equals the issuer."""
    actual = params.get("iss")
    return Finding(
        req,
        actual == issuer,
        "authorization response iss equals the issuer",
        expected=repr(issuer),
        actual=repr(actual) if actual is not None else "no iss parameter",
    )


def expect_token_response(exchange: Exchange, *, req: str) -> Finding:
    """A successful token response: HTTP 200, JSON with access_token and token_type."""
    body = exchange.json()
    ok = (
        exchange.status == 200
        and isinstance(body, dict)
        and isinstance(body.get("access_token"), str)
        and bool(body["access_token"])
        and isinstance(body.get("token_type"), str)
    )
    return Finding(
        req,
        ok,
        "token endpoint issues an access token",
        expected='HTTP 200 {"access_token": "…", "token_type": "…"}',
        actual=brief(exchange),
    )


def expect_token_type(exchange: Exchange, token_type: str, *, req: str) -> Finding:
    """The token response's token_type is ``token_type`` (case-insensitive, RFC 6749 5.1)."""
    body = exchange.json()
    actual = body.get("token_type") if isinstance(body, dict) else None
    ok = isinstance(actual, str) and actual.lower() == token_type.lower()
    return Finding(req, ok, f"token_type is {token_type}", expected=token_type, actual=repr(actual))


def expect_expires_in(exchange: Exchange, *, req: str) -> Finding:
    """The token response states a positive integer expires_in."""
    body = exchange.json()
    value = body.get("expires_in") if isinstance(body, dict) else None
    ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
    return Finding(req, ok, "token response carries expires_in", "a positive integer", repr(value))


def _error_code(exchange: Exchange) -> str | None:
    body = exchange.json()
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])
    for value in exchange.headers_named("www-authenticate"):
        code = _auth_error(value)
        if code is not None:
            return code
    return None


def expect_oauth_error(
    exchange: Exchange, errors: Collection[str], *, statuses: Collection[int] = (400, 401), req: str
) -> Finding:
    """The request was refused with one of ``statuses`` and an OAuth error code in ``errors``."""
    errors = _names(errors, "errors")
    code = _error_code(exchange)
    ok = exchange.status in statuses and code in errors
    return Finding(
        req,
        ok,
        f"{exchange.label} is refused with {' or '.join(errors)}",
        expected=f"HTTP {'/'.join(map(str, statuses))} error={' | '.join(errors)}",
        actual=f"{brief(exchange, 200)}; error={code!r}",
    )


def expect_resource_refused(
    exchange: Exchange,
    schemes: Collection[str],
    errors: Collection[str],
    *,
    statuses: Collection[int] = (400, 401),
    req: str,
) -> Finding:
    """The resource refused the request: HTTP 400 or 401 (or ``statuses``, e.g. 403 for
    insufficient_scope) with a ``WWW-Authenticate`` challenge of one of ``schemes`` whose error
    is one of ``errors`` (RFC 6750 3, 3.1, RFC 9449 7.1)."""
    errors = _names(errors, "errors")
    challenges = exchange.headers_named("www-authenticate")
    wanted = tuple(s.lower() for s in _names(schemes, "schemes"))
    matching = [c for c in challenges if c.lower().startswith(wanted)]
    codes = [code for c in matching if (code := _auth_error(c)) is not None]
    ok = exchange.status in statuses and any(code in errors for code in codes)
    return Finding(
        req,
        ok,
        f"{exchange.label} is refused with a {' or '.join(schemes)} challenge",
        expected=(
            f"HTTP {'/'.join(map(str, statuses))}, "
            f'WWW-Authenticate: {"|".join(schemes)} error="{" | ".join(errors)}"'
        ),
        actual=f"{brief(exchange, 120)}; WWW-Authenticate: {' | '.join(challenges) or '(none)'}",
    )


def expect_refused_or_dropped(
    exchange: Exchange, errors: Collection[str], *, statuses: Collection[int], req: str
) -> Finding:
    """As ``expect_oauth_error``, except that a TLS-level refusal (the server ended the TLS
    connection with an alert, e.g. for want of a client certificate) also counts as a refusal.
    Any other lack of an answer (a timeout, a refused or reset connection, an untrusted server
    certificate) proves nothing: it raises ``NotTestable``, so the test ends in ERROR, never
    PASSED."""
    if exchange.status is None and exchange.error_kind != "tls":
        raise NotTestable(
            f"{exchange.label}: no answer, and not a TLS-level refusal "
            f"({exchange.error_kind or 'unknown failure'}): {exchange.error}"
        )
    if exchange.status is None:
        return Finding(
            req,
            True,
            f"{exchange.label} is refused (the connection was dropped)",
            expected=f"HTTP {'/'.join(map(str, statuses))} error={' | '.join(errors)}, or no"
            " answer",
            actual=brief(exchange),
        )
    return expect_oauth_error(exchange, errors, statuses=statuses, req=req)


# --- refresh tokens (refresh, id_token and keys plan) ---


def expect_refresh_token_kept(exchange: Exchange, previous: str, *, req: str) -> Finding:
    """A refresh response issued no new refresh token: none at all, or the one presented
    (``previous``). A different value means the server rotates refresh tokens."""
    body = exchange.json()
    issued = body.get("refresh_token") if isinstance(body, dict) else None
    ok = issued is None or issued == previous
    return Finding(
        req,
        ok,
        "the refresh token is not rotated",
        expected="no refresh_token, or the same one",
        actual="a new refresh_token" if not ok else "the same refresh token (or none)",
    )


# RFC 6749 5.2 (and 4.1.2.1): error and error_description use NQSCHAR, error_uri a narrower set.
_NQSCHAR = re.compile(r"[\x20-\x21\x23-\x5b\x5d-\x7e]*")
_URI_CHARS = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]*")
_DESCRIPTION_WHITESPACE = "\t\r\n"


def _error_members(exchange: Exchange) -> dict[str, object]:
    body = exchange.json()
    if not isinstance(body, dict):
        return {}
    return {k: body[k] for k in ("error", "error_description", "error_uri") if k in body}


def expect_error_syntax(exchange: Exchange, *, req: str) -> Finding:
    """The JSON error response's ``error``, ``error_description`` and ``error_uri`` are strings
    in the character sets of RFC 6749 5.2 (``error_uri`` a URI-reference: only its characters
    are checked, a relative reference is allowed). TAB, CR and LF in ``error_description`` are
    left to ``expect_error_description_single_line``. A response without a JSON error body has
    nothing to check here (whether it refused is another check)."""
    members = _error_members(exchange)
    problems: list[str] = []
    for name, value in members.items():
        if not isinstance(value, str):
            problems.append(f"{name} is not a string: {value!r}")
            continue
        text = value
        if name == "error_description":
            text = "".join(c for c in value if c not in _DESCRIPTION_WHITESPACE)
        pattern = _URI_CHARS if name == "error_uri" else _NQSCHAR
        if not pattern.fullmatch(text):
            bad = sorted({c for c in text if not pattern.fullmatch(c)})
            problems.append(f"{name} has characters outside its set: {bad!r}")
        if name == "error" and not value:
            problems.append("error is empty")
    shown = ", ".join(f"{k}={v!r}" for k, v in members.items()) or "no JSON error members"
    return Finding(
        req,
        not problems,
        f"{exchange.label} error members have valid syntax",
        expected="error, error_description in %x20-21/%x23-5B/%x5D-7E; error_uri in"
        " %x21/%x23-5B/%x5D-7E",
        actual="; ".join(problems) or shown,
    )


def expect_error_description_single_line(exchange: Exchange, *, req: str) -> Finding:
    """The ``error_description`` (if any) carries no TAB, CR or LF."""
    value = _error_members(exchange).get("error_description")
    found = (
        sorted({repr(c) for c in value if c in _DESCRIPTION_WHITESPACE})
        if isinstance(value, str)
        else []
    )
    return Finding(
        req,
        not found,
        f"{exchange.label} error_description has no TAB, CR or LF",
        expected="a single-line error_description",
        actual=f"error_description {value!r} has {', '.join(found)}"
        if found
        else f"error_description={value!r}",
    )


# --- provider policy plan: granular access, short-lived tokens, revocation (access) ---


def expect_lifetime_at_most(exchange: Exchange, max_s: int, *, bound: str, req: str) -> Finding:
    """The response (token or PAR) states a positive integer ``expires_in`` of at most ``max_s``
    seconds; ``bound`` says where that maximum comes from (shown with the finding)."""
    body = exchange.json()
    value = body.get("expires_in") if isinstance(body, dict) else None
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 < value <= max_s
    return Finding(
        req,
        ok,
        f"{exchange.label} expires_in is at most {max_s} s",
        expected=f"0 < expires_in <= {max_s} ({bound})",
        actual=f"expires_in = {value!r}",
    )


def _same_or_richer(requested: Mapping[str, object], granted: object) -> bool:
    return isinstance(granted, dict) and all(
        k in granted and granted[k] == v for k, v in requested.items()
    )


def expect_authorization_details_granted(
    exchange: Exchange, requested: Collection[Mapping[str, object]], *, req: str
) -> Finding:
    """The token response carries ``authorization_details`` (RFC 9396 7), an array in which every
    requested (and consented) object is granted: an entry with all its members, equal (the AS
    may add members, RFC 9396 7, but not change or drop the requested ones)."""
    body = exchange.json()
    granted = body.get("authorization_details") if isinstance(body, dict) else None
    missing = (
        [r for r in requested if not any(_same_or_richer(r, g) for g in granted)]
        if isinstance(granted, list)
        else list(requested)
    )
    shown = json.dumps(granted, sort_keys=True) if granted is not None else "absent"
    return Finding(
        req,
        exchange.status == 200 and isinstance(granted, list) and not missing,
        "the token response returns the granted authorization_details",
        expected=f"authorization_details covering {json.dumps(list(requested), sort_keys=True)}",
        actual=f"HTTP {exchange.status}; authorization_details = {shown}"[:600],
    )


def expect_token_inactive(exchange: Exchange, *, req: str) -> Finding:
    """The introspection response says the token is not active: HTTP 200 with
    ``{"active": false}`` (RFC 7662 2.2)."""
    body = exchange.json()
    ok = exchange.status == 200 and isinstance(body, dict) and body.get("active") is False
    return Finding(
        req,
        ok,
        "introspection says the token is no longer active",
        expected='HTTP 200 {"active": false}',
        actual=brief(exchange, 200),
    )
