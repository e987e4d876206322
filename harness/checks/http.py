"""Checks on the HTTP layer of an exchange: status, media type, headers."""

from __future__ import annotations

import email.utils
import re

from harness.evidence import Exchange
from harness.verdict import Finding


def brief(exchange: Exchange, limit: int = 300) -> str:
    """A one-line description of a response for a finding's 'actual' value."""
    if exchange.status is None:
        return f"no response ({exchange.error})"
    body = " ".join(exchange.response_body.split())
    if len(body) > limit:
        body = body[:limit] + "…"
    return f"HTTP {exchange.status} {body}".strip()


def expect_status(exchange: Exchange, status: int, *, req: str) -> Finding:
    """The response has exactly the given HTTP status."""
    return Finding(
        req,
        exchange.status == status,
        f"{exchange.label} answers HTTP {status}",
        expected=f"HTTP {status}",
        actual=brief(exchange),
    )


def expect_json_object(exchange: Exchange, *, req: str) -> Finding:
    """The response body is a JSON object served as application/json."""
    media = (exchange.header("content-type") or "").split(";")[0].strip().lower()
    body = exchange.json()
    ok = isinstance(body, dict) and (media == "application/json" or media.endswith("+json"))
    return Finding(
        req,
        ok,
        f"{exchange.label} answers a JSON object",
        expected="Content-Type application/json and a JSON object body",
        actual=f"Content-Type {media or '(none)'}; body: {brief(exchange, 120)}",
    )


def expect_header_contains(exchange: Exchange, name: str, token: str, *, req: str) -> Finding:
    """A response header is present and contains ``token`` (case-insensitive)."""
    values = exchange.headers_named(name)
    ok = any(token.lower() in v.lower() for v in values)
    return Finding(
        req,
        ok,
        f"{exchange.label} response header {name} contains {token!r}",
        expected=f"{name}: …{token}…",
        actual=f"{name}: {' | '.join(values)}" if values else f"no {name} header",
    )


def expect_response_member(exchange: Exchange, name: str, *, req: str) -> Finding:
    """The JSON response body has a non-empty member ``name``."""
    body = exchange.json()
    value = body.get(name) if isinstance(body, dict) else None
    members = ", ".join(sorted(body)) if isinstance(body, dict) else "(not a JSON object)"
    return Finding(
        req,
        value not in (None, "", [], {}),
        f"{exchange.label} response carries {name}",
        expected=f"a non-empty {name}",
        actual=f"members: {members}",
    )


def expect_status_class(exchange: Exchange, classes: tuple[int, ...], *, req: str) -> Finding:
    """The response status is in one of the given classes (4 for 4xx, 5 for 5xx)."""
    ok = exchange.status is not None and exchange.status // 100 in classes
    return Finding(
        req,
        ok,
        f"{exchange.label} answers {' or '.join(f'{c}xx' for c in classes)}",
        expected=" or ".join(f"HTTP {c}xx" for c in classes),
        actual=brief(exchange),
    )


# --- resource-server response headers (sender-constraint area) ---


def expect_date_header(exchange: Exchange, *, tolerance_s: float = 300, req: str) -> Finding:
    """The response has one valid HTTP ``Date`` (RFC 9110 6.6.1, 5.6.7) within ``tolerance_s``
    of when the request was sent."""
    values = exchange.headers_named("date")
    when: float | None = None
    if len(values) == 1:
        try:
            parsed = email.utils.parsedate_to_datetime(values[0])
        except (TypeError, ValueError):
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            when = parsed.timestamp()
    ok = when is not None and abs(when - exchange.started) <= tolerance_s
    offset = f" ({when - exchange.started:+.0f} s from the request)" if when is not None else ""
    return Finding(
        req,
        ok,
        f"{exchange.label} carries a Date header within {tolerance_s:.0f} s",
        expected=f"one Date header (IMF-fixdate) within ±{tolerance_s:.0f} s of the request",
        actual=(" | ".join(f"Date: {v}" for v in values) + offset) if values else "no Date header",
    )


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


def expect_interaction_id(exchange: Exchange, sent: str | None, *, req: str) -> Finding:
    """If the response carries ``x-fapi-interaction-id``, it is one RFC 4122 UUID and, when the
    request sent one (``sent``), the same value. A response without the header passes (the
    header is optional unless an ecosystem adopts it)."""
    values = exchange.headers_named("x-fapi-interaction-id")
    if not values:
        ok = True
    elif len(values) > 1:
        ok = False
    else:
        ok = _UUID.fullmatch(values[0].strip()) is not None and (
            sent is None or values[0].strip() == sent
        )
    return Finding(
        req,
        ok,
        f"{exchange.label}: x-fapi-interaction-id, if returned, is a UUID"
        + (" echoing the one sent" if sent else ""),
        expected=(f"absent, or exactly {sent!r}" if sent else "absent, or one RFC 4122 UUID"),
        actual=" | ".join(repr(v) for v in values) or "not returned",
    )
