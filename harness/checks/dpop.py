"""Checks on DPoP at the authorization server: the server-provided nonce (RFC 9449 8)."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from harness.checks.http import brief
from harness.evidence import Exchange, decode_jwt_parts
from harness.verdict import Finding

# nonce = 1*NQCHAR; NQCHAR = %x21 / %x23-5B / %x5D-7E (RFC 9449 8.1, RFC 6749 A)
_NONCE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")


def expect_dpop_nonce_header(exchange: Exchange, *, req: str) -> Finding:
    """The response carries exactly one DPoP-Nonce header and its value is ``1*NQCHAR``
    (RFC 9449 8, 8.1)."""
    values = exchange.headers_named("dpop-nonce")
    ok = len(values) == 1 and _NONCE.fullmatch(values[0]) is not None
    return Finding(
        req,
        ok,
        f"{exchange.label} hands out one well-formed DPoP-Nonce",
        expected="exactly one DPoP-Nonce header, value 1*NQCHAR (%x21 / %x23-5B / %x5D-7E)",
        actual=(
            " | ".join(f"DPoP-Nonce: {v!r}" for v in values) if values else "no DPoP-Nonce header"
        ),
    )


def _proof_nonce(exchange: Exchange) -> object:
    proof = exchange.request_header("dpop")
    parts = decode_jwt_parts(proof) if proof else None
    return parts[1].get("nonce") if parts else None


def _assertion_jti(exchange: Exchange) -> object:
    form = dict(parse_qsl(exchange.request_body))
    assertion = form.get("client_assertion")
    parts = decode_jwt_parts(assertion) if assertion else None
    return parts[1].get("jti") if parts else None


def expect_dpop_nonce_retry(challenge: Exchange, retry: Exchange, *, req: str) -> Finding:
    """A ``use_dpop_nonce`` challenge (HTTP 400 with a DPoP-Nonce header) was answered by a retry
    whose DPoP proof carries exactly that nonce and whose client assertion, if the client sends
    one, is a fresh one (another ``jti``); the retry was accepted (HTTP 2xx)."""
    body = challenge.json()
    nonce = challenge.header("dpop-nonce")
    challenged = (
        challenge.status == 400
        and isinstance(body, dict)
        and body.get("error") == "use_dpop_nonce"
        and bool(nonce)
    )
    sent = _proof_nonce(retry)
    first_jti, retry_jti = _assertion_jti(challenge), _assertion_jti(retry)
    # no assertion at all (mTLS client authentication), or a new one on the retry
    fresh = (retry_jti is None) if first_jti is None else retry_jti not in (None, first_jti)
    accepted = retry.status is not None and 200 <= retry.status < 300
    ok = challenged and sent == nonce and fresh and accepted
    return Finding(
        req,
        ok,
        f"{retry.label} answers the nonce challenge and is accepted",
        expected=(
            "400 use_dpop_nonce with DPoP-Nonce N; then a retry whose proof has nonce=N and a"
            " new client_assertion jti, answered 2xx"
        ),
        actual=(
            f"challenge: {brief(challenge, 120)}; DPoP-Nonce {nonce!r}; retry proof nonce"
            f" {sent!r}; assertion jti {first_jti!r} then {retry_jti!r}; retry: {brief(retry, 120)}"
        ),
    )
