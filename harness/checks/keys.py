"""Checks on the keys a server publishes at jwks_uri (RFC 7517, FAPI 2.0 SP 5.4.1)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.jose import PRIVATE_MEMBERS, key_bits, key_problem
from harness.verdict import Finding


def _keys(jwks: Mapping[str, Any]) -> list[Any]:
    keys = jwks.get("keys")
    return list(keys) if isinstance(keys, list) else []


def _name(i: int, jwk: Any) -> str:
    kid = jwk.get("kid") if isinstance(jwk, dict) else None
    return f"keys[{i}]" + (f" (kid {kid!r})" if kid is not None else "")


def expect_public_keys_only(jwks: Mapping[str, Any], *, req: str) -> Finding:
    """No published key carries private or symmetric key material (``d``, ``p``, ``q``, ``dp``,
    ``dq``, ``qi``, ``oth``, ``k``) or has ``kty`` oct."""
    leaks = []
    for i, jwk in enumerate(_keys(jwks)):
        if not isinstance(jwk, dict):
            continue
        members = [m for m in PRIVATE_MEMBERS if m in jwk]
        if members or jwk.get("kty") == "oct":
            leaks.append(f"{_name(i, jwk)}: kty={jwk.get('kty')!r} {', '.join(members)}".strip())
    return Finding(
        req,
        not leaks,
        "the JWKS holds public keys only",
        expected="no private or symmetric key members (d, p, q, dp, dq, qi, oth, k), no kty oct",
        actual="; ".join(leaks) or f"{len(_keys(jwks))} public keys",
    )


def expect_key_ids(jwks: Mapping[str, Any], *, req: str) -> Finding:
    """Every published key has a non-empty string ``kid``."""
    missing = [
        f"keys[{i}]"
        for i, jwk in enumerate(_keys(jwks))
        if not (isinstance(jwk, dict) and isinstance(jwk.get("kid"), str) and jwk["kid"])
    ]
    return Finding(
        req,
        not missing,
        "every key in the JWKS has a kid",
        expected="a non-empty kid on every key",
        actual=f"no kid on {', '.join(missing)}" if missing else "every key has a kid",
    )


def expect_key_sizes(
    jwks: Mapping[str, Any], *, rsa_bits: int = 2048, ec_bits: int = 224, req: str
) -> Finding:
    """Every RSA key has a modulus of at least ``rsa_bits`` and every EC key a curve of at least
    ``ec_bits`` (other key types are not sized here)."""
    short = []
    for i, jwk in enumerate(_keys(jwks)):
        if not isinstance(jwk, dict):
            continue
        bits = key_bits(jwk)
        least = {"RSA": rsa_bits, "EC": ec_bits}.get(str(jwk.get("kty")))
        if bits is not None and least is not None and bits < least:
            short.append(f"{_name(i, jwk)}: {jwk.get('kty')} {bits} bits")
    return Finding(
        req,
        not short,
        f"RSA keys have at least {rsa_bits} bits and EC keys at least {ec_bits}",
        expected=f"RSA ≥ {rsa_bits} bits, EC ≥ {ec_bits} bits",
        actual="; ".join(short) or "every key is long enough",
    )


def expect_keys_parse(jwks: Mapping[str, Any], *, req: str) -> Finding:
    """The JWKS has a non-empty ``keys`` array and every key in it imports as a JWK."""
    keys = _keys(jwks)
    problems = [
        f"{_name(i, jwk)}: {problem}"
        for i, jwk in enumerate(keys)
        if (problem := key_problem(jwk)) is not None
    ]
    if not keys:
        problems.append("no keys array, or an empty one")
    return Finding(
        req,
        not problems,
        "every key in the JWKS parses",
        expected='{"keys": [<valid JWK>, …]}',
        actual="; ".join(problems) or f"{len(keys)} keys parse",
    )
