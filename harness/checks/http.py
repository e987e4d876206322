"""Checks on the HTTP layer of an exchange: status, media type, headers."""

from __future__ import annotations

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
