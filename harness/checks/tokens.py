"""Checks on JWTs the server issues: signature, algorithm and id_token claims."""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from typing import Any

from harness.evidence import decode_jwt_parts
from harness.jose import left_half_hash, verify_signature
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


# --- id_token details and refreshed id_tokens (refresh, id_token and keys plan) ---


def expect_jws_signed_by_kid(
    token: str, jwks: Mapping[str, Any], what: str, *, req: str
) -> Finding:
    """The JWS header names a ``kid`` found in the server's JWKS, and the signature verifies
    with that key alone (FAPI algorithms only)."""
    header, _ = decode_jwt_parts(token) or ({}, {})
    kid = header.get("kid")
    keys = jwks.get("keys")
    named = (
        [k for k in keys if isinstance(k, dict) and k.get("kid") == kid]
        if kid and isinstance(keys, list)
        else []
    )
    if not isinstance(kid, str) or not kid:
        ok, actual = False, "the header has no kid"
    elif not named:
        ok, actual = False, f"kid {kid!r} is not in jwks_uri"
    else:
        result = verify_signature(token, {"keys": named})
        ok, actual = result.valid, result.reason
    return Finding(
        req,
        ok,
        f"{what} header kid names a key in jwks_uri and that key verifies the signature",
        expected="a kid in jwks_uri whose key verifies the signature",
        actual=actual,
    )


def expect_recent_time(
    claims: Mapping[str, Any], name: str, *, within_s: int = 300, req: str
) -> Finding:
    """The numeric time claim ``name`` is within ``within_s`` seconds of now, either way."""
    value, now = claims.get(name), time.time()
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    ok = ok and abs(now - float(value)) <= within_s  # type: ignore[arg-type]
    return Finding(
        req,
        ok,
        f"{name} is within {within_s} s of now",
        expected=f"|{name} - now| ≤ {within_s} s (now {int(now)})",
        actual=f"{name}={value!r}",
    )


def expect_auth_time(
    claims: Mapping[str, Any], max_age: int, *, skew_s: int = 30, req: str
) -> Finding:
    """``auth_time`` is present (max_age was requested), numeric, not in the future and no older
    than ``max_age`` seconds."""
    value, now = claims.get("auth_time"), time.time()
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    ok = ok and now - max_age - skew_s <= float(value) <= now + skew_s  # type: ignore[arg-type]
    return Finding(
        req,
        ok,
        "id_token carries auth_time within max_age",
        expected=f"auth_time between now-{max_age} s and now (now {int(now)})",
        actual=f"auth_time={value!r}" if "auth_time" in claims else "no auth_time",
    )


def expect_subject_format(claims: Mapping[str, Any], *, req: str) -> Finding:
    """``sub`` is a non-empty string of at most 255 ASCII characters."""
    sub = claims.get("sub")
    ok = isinstance(sub, str) and 0 < len(sub) <= 255 and sub.isascii()
    shown = f"{len(sub)} characters, ascii={sub.isascii()}" if isinstance(sub, str) else repr(sub)
    return Finding(
        req, ok, "sub has at most 255 ASCII characters", "1 to 255 ASCII characters", shown
    )


def expect_token_hash(
    claims: Mapping[str, Any], name: str, value: str, alg: str, *, req: str
) -> Finding:
    """Where the id_token carries ``name`` (at_hash, c_hash or s_hash), it is the base64url left
    half of the hash of ``value`` (access token, code or state) for the token's ``alg``."""
    want = left_half_hash(value, alg)
    actual = claims.get(name)
    ok = name not in claims or (want is not None and actual == want)
    return Finding(
        req,
        ok,
        f"id_token {name} matches, where present",
        expected=f"absent, or {want!r}",
        actual=f"{name}={actual!r}" if name in claims else f"no {name}",
    )


def expect_only_requested_claims(
    claims: Mapping[str, Any], requested: Collection[str], *, req: str
) -> Finding:
    """The id_token carries no claim beyond ``requested`` (the claims the spec defines for it
    plus those the request asked for)."""
    extra = sorted(set(claims) - set(requested))
    return Finding(
        req,
        not extra,
        "id_token carries only claims that were asked for or are defined for it",
        expected=f"claims within {', '.join(sorted(requested))}",
        actual=f"also {', '.join(extra)}" if extra else "nothing else",
    )


def expect_claims_present(
    claims: Mapping[str, Any], names: Collection[str], what: str, *, req: str
) -> Finding:
    """Every claim in ``names`` is present in ``claims`` (an id_token or a userinfo response)."""
    missing = sorted(n for n in names if n not in claims)
    return Finding(
        req,
        not missing,
        f"{what} carries the requested claims",
        expected=", ".join(sorted(names)),
        actual=f"missing {', '.join(missing)}" if missing else "all present",
    )


def expect_same_claims(
    first: Mapping[str, Any],
    second: Mapping[str, Any],
    names: Collection[str],
    what: str,
    *,
    req: str,
) -> Finding:
    """Every claim in ``names`` that ``first`` carries has the same value in ``second``."""
    differ = [
        f"{n}: {first[n]!r} then {second.get(n)!r}"
        for n in names
        if n in first and second.get(n) != first[n]
    ]
    return Finding(
        req,
        not differ,
        f"{what} keeps {', '.join(names)}",
        expected="the same values",
        actual="; ".join(differ) or "the same values",
    )


def expect_refreshed_id_token(
    original: Mapping[str, Any], refreshed: Mapping[str, Any], *, req: str
) -> Finding:
    """An id_token issued on refresh keeps the original iss, sub, aud and auth_time (where the
    original had one) and has an iat no earlier than the original's (OIDC Core 12.2)."""
    differ = [
        f"{n}: {original.get(n)!r} then {refreshed.get(n)!r}"
        for n in ("iss", "sub", "aud", "auth_time")
        if (n in original or n != "auth_time") and refreshed.get(n) != original.get(n)
    ]
    iat0, iat1 = original.get("iat"), refreshed.get("iat")
    if not (isinstance(iat0, int | float) and isinstance(iat1, int | float) and iat1 >= iat0):
        differ.append(f"iat: {iat0!r} then {iat1!r}")
    return Finding(
        req,
        not differ,
        "the refreshed id_token keeps iss, sub, aud and auth_time, with a new iat",
        expected="the same iss, sub, aud, auth_time; iat ≥ the original's",
        actual="; ".join(differ) or "consistent",
    )


def expect_refreshed_nonce(
    original: Mapping[str, Any], refreshed: Mapping[str, Any], *, req: str
) -> Finding:
    """An id_token issued on refresh has no nonce, or the original's nonce (OIDC Core 12.2)."""
    ok = "nonce" not in refreshed or refreshed.get("nonce") == original.get("nonce")
    return Finding(
        req,
        ok,
        "the refreshed id_token has no nonce, or the original one",
        expected=f"no nonce, or {original.get('nonce')!r}",
        actual=f"nonce={refreshed['nonce']!r}" if "nonce" in refreshed else "no nonce",
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


# --- multi-factor authentication (provider_policy/mfa) ---


def expect_acr(claims: Mapping[str, Any], allowed: Collection[str], *, req: str) -> Finding:
    """The id_token's acr is one of ``allowed`` (the acr values the request asked for)."""
    if isinstance(allowed, str):
        raise TypeError("allowed must be a collection of acr values, not a string")
    actual = claims.get("acr")
    return Finding(
        req,
        isinstance(actual, str) and actual in allowed,
        "the id_token's acr is the requested authentication context",
        expected=f"acr = {' | '.join(sorted(allowed))}",
        actual=f"acr = {actual!r}" if "acr" in claims else "no acr claim",
    )


def expect_multi_factor_amr(claims: Mapping[str, Any], *, req: str) -> Finding:
    """The id_token's amr lists at least two different authentication methods (e.g. pwd and
    otp): the login used more than one factor."""
    amr = claims.get("amr")
    methods = {m for m in amr if isinstance(m, str)} if isinstance(amr, list) else set()
    return Finding(
        req,
        isinstance(amr, list) and len(methods) >= 2,
        "the id_token's amr reflects more than one authentication method",
        expected="amr: a JSON array with at least two methods (e.g. ['pwd', 'otp'])",
        actual=f"amr = {amr!r}" if "amr" in claims else "no amr claim",
    )
