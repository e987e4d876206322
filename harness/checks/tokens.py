"""Checks on JWTs the server issues: signature, algorithm and id_token claims."""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from typing import Any

from harness.jose import verify_signature
from harness.verdict import Finding


def expect_jws_signature(token: str, jwks: Mapping[str, Any], what: str, *, req: str) -> Finding:
    """The JWS signature verifies against the server's published JWKS (FAPI algorithms only)."""
    result = verify_signature(token, jwks)
    return Finding(
        req,
        result.valid,
        f"{what} signature verifies against jwks_uri",
        expected="a valid PS256/ES256/EdDSA signature by a key in jwks_uri",
        actual=result.reason,
    )


def expect_jws_alg(
    header: Mapping[str, Any], allowed: Collection[str], what: str, *, req: str
) -> Finding:
    """The JWS header ``alg`` is one of ``allowed``."""
    alg = header.get("alg")
    return Finding(
        req, alg in allowed, f"{what} is signed with an allowed alg", " | ".join(allowed), repr(alg)
    )


def expect_id_token_claims(
    claims: Mapping[str, Any],
    issuer: str,
    client_id: str,
    *,
    skew_s: int = 30,
    req: str,
) -> Finding:
    """The id_token has iss = issuer, a sub, aud with the client_id, exp in the future and iat."""
    problems: list[str] = []
    now = time.time()
    if claims.get("iss") != issuer:
        problems.append(f"iss={claims.get('iss')!r}")
    if not isinstance(claims.get("sub"), str) or not claims.get("sub"):
        problems.append("sub missing")
    aud = claims.get("aud")
    if not (aud == client_id or (isinstance(aud, list) and client_id in aud)):
        problems.append(f"aud={aud!r}")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int | float) or exp <= now - skew_s:
        problems.append(f"exp={exp!r} (now {int(now)})")
    if not isinstance(iat, int | float) or iat > now + skew_s:
        problems.append(f"iat={iat!r} (now {int(now)})")
    return Finding(
        req,
        not problems,
        "id_token carries iss, sub, aud, exp and iat with the right values",
        expected=f"iss={issuer!r}, aud∋{client_id!r}, sub, exp > now, iat ≤ now",
        actual="; ".join(problems) or "all present and right",
    )


def expect_id_token_nonce(claims: Mapping[str, Any], nonce: str, *, req: str) -> Finding:
    """The id_token echoes the nonce of the authorization request unchanged."""
    actual = claims.get("nonce")
    return Finding(
        req, actual == nonce, "id_token nonce equals the request nonce", repr(nonce), repr(actual)
    )


def expect_token_binding(
    claims: Mapping[str, Any], member: str, expected: str, what: str, *, req: str
) -> Finding:
    """The token's ``cnf`` (JWT claims or an introspection response) carries ``member``
    (``jkt``, RFC 9449 6; ``x5t#S256``, RFC 8705 3.1/3.2) equal to ``expected``."""
    cnf = claims.get("cnf")
    actual = cnf.get(member) if isinstance(cnf, Mapping) else None
    return Finding(
        req,
        isinstance(actual, str) and actual == expected,
        f"{what} is bound: cnf.{member} is the client's thumbprint",
        expected=f"cnf.{member} = {expected!r}",
        actual=f"cnf = {cnf!r}" if cnf is not None else "no cnf member",
    )
