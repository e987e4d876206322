"""JOSE and crypto: client assertions, DPoP proofs, PKCE and id_token signature checks.

Builders take ``extra_claims``, ``extra_header`` and ``omit`` so that negative tests can send
exactly the defect they test. Every call mints a fresh ``jti``: a retried request never reuses
an assertion or a proof.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, OKPKey, RSAKey
from joserfc.jws import JWSRegistry

Key = ECKey | RSAKey | OKPKey
FAPI_ALGS = ("PS256", "ES256", "EdDSA")


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def load_private_key(jwks_file: Path) -> Key:
    """The first key of a private JWKS file (the one that signs client assertions)."""
    data = json.loads(jwks_file.read_text(encoding="utf-8"))
    keys = data.get("keys") if isinstance(data, dict) else None
    if not keys:
        raise ValueError(f"{jwks_file}: no keys in JWKS")
    key = KeySet.import_key_set({"keys": [keys[0]]}).keys[0]
    if not isinstance(key, ECKey | RSAKey | OKPKey) or not key.is_private:
        raise ValueError(f"{jwks_file}: the first key must be a private EC, RSA or OKP key")
    return key


def default_alg(key: Key) -> str:
    """The FAPI 2.0 algorithm for a key: its own ``alg``, else ES256, PS256 or EdDSA by type."""
    alg = key.get("alg")
    if isinstance(alg, str):
        return alg
    return {"EC": "ES256", "RSA": "PS256", "OKP": "EdDSA"}[key.key_type]


def new_dpop_key() -> ECKey:
    """A fresh P-256 key for DPoP proofs."""
    return ECKey.generate_key("P-256", private=True)


def new_rsa_dpop_key() -> RSAKey:
    """A fresh 2048-bit RSA key for DPoP proofs (signs PS256; RS256 only in negative tests)."""
    return RSAKey.generate_key(2048, private=True)


def public_jwk(key: Key) -> dict[str, Any]:
    """The public members of a key, as a JWK."""
    return dict(key.as_dict(private=False))


def jwk_thumbprint(key: Key) -> str:
    """The RFC 7638 SHA-256 thumbprint of a key (the DPoP ``jkt``)."""
    return str(key.thumbprint())


def cert_thumbprint(cert_pem: bytes) -> str:
    """The RFC 8705 ``x5t#S256`` of a PEM certificate."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    return b64url(hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).digest())


def sign(header: Mapping[str, Any], claims: Mapping[str, Any], key: Key) -> str:
    """A compact JWS of ``claims`` with exactly ``header`` (its ``alg`` chooses the algorithm)."""
    payload = json.dumps(dict(claims), separators=(",", ":"))
    alg = header["alg"]
    return jws.serialize_compact(dict(header), payload, key, algorithms=[alg])


def sign_raw(header: Mapping[str, Any], claims: Mapping[str, Any], key: Key) -> str:
    """A compact JWS with exactly ``header``, even a malformed one (no ``alg``, unknown members),
    signed ES256 (EC key) or PS256 (RSA key) whatever the header says: for negative tests that
    a JOSE library would refuse to build."""
    signing_input = f"{_segment(header)}.{_segment(claims)}".encode("ascii")
    private = key.private_key
    if isinstance(private, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(private.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        size = (private.curve.key_size + 7) // 8
        signature = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    elif isinstance(private, rsa.RSAPrivateKey):
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        signature = private.sign(signing_input, pss, hashes.SHA256())
    else:
        raise TypeError(f"sign_raw needs an EC or RSA private key, not {type(private).__name__}")
    return f"{signing_input.decode('ascii')}.{b64url(signature)}"


def unsigned(header: Mapping[str, Any], claims: Mapping[str, Any]) -> str:
    """A compact JWS with an empty signature (as ``alg: none`` tokens are)."""
    return f"{_segment(header)}.{_segment(claims)}."


def flip_signature_bit(token: str) -> str:
    """The same compact JWS with one bit of its signature flipped: it no longer verifies."""
    head, payload, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[len(raw) // 2] ^= 0x01
    return f"{head}.{payload}.{b64url(bytes(raw))}"


def _segment(part: Mapping[str, Any]) -> str:
    return b64url(json.dumps(dict(part), separators=(",", ":")).encode("utf-8"))


def _apply(
    base: dict[str, Any], extra: Mapping[str, Any] | None, omit: Iterable[str]
) -> dict[str, Any]:
    out = {**base, **(extra or {})}
    for name in omit:
        out.pop(name, None)
    return out


def public_key_pem(key: Key) -> bytes:
    """The PEM (SubjectPublicKeyInfo) of a key's public part: the HMAC secret of an algorithm
    confusion attack, where a verifier keyed by the public key is made to check an HS256 MAC."""
    public = key.public_key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def sign_hs256(header: Mapping[str, Any], claims: Mapping[str, Any], secret: bytes) -> str:
    """A compact JWS whose signature is an HMAC-SHA256 keyed with ``secret``, with exactly
    ``header`` (whatever its ``alg`` says)."""
    signing_input = f"{_segment(header)}.{_segment(claims)}".encode("ascii")
    return f"{signing_input.decode('ascii')}.{b64url(hmac.digest(secret, signing_input, 'sha256'))}"


def sign_rs256(header: Mapping[str, Any], claims: Mapping[str, Any], key: Key) -> str:
    """A compact JWS signed RSASSA-PKCS1-v1_5 with SHA-256 (RS256), with exactly ``header``."""
    private = key.private_key
    if not isinstance(private, rsa.RSAPrivateKey):
        raise TypeError(f"RS256 needs an RSA private key, not {type(private).__name__}")
    signing_input = f"{_segment(header)}.{_segment(claims)}".encode("ascii")
    signature = private.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input.decode('ascii')}.{b64url(signature)}"


def _assertion_claims(client_id: str, audience: str, lifetime_s: int) -> dict[str, Any]:
    """The claims of a client assertion (RFC 7523 section 3), with a fresh ``jti``."""
    now = int(time.time())
    return {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "jti": str(uuid.uuid4()),
        "iat": now,
        "nbf": now,
        "exp": now + lifetime_s,
    }


def client_secret_assertion(
    client_id: str, audience: str, secret: str, *, lifetime_s: int = 60
) -> str:
    """A ``client_secret_jwt`` client assertion (OpenID Connect Core 9): the claims of
    ``client_assertion``, signed HS256 with the client's secret (for control clients; FAPI 2.0
    does not allow this method)."""
    claims = _assertion_claims(client_id, audience, lifetime_s)
    return sign_hs256({"alg": "HS256", "typ": "JWT"}, claims, secret.encode("utf-8"))


def client_assertion(
    client_id: str,
    audience: str,
    key: Key,
    *,
    lifetime_s: int = 60,
    alg: str | None = None,
    extra_claims: Mapping[str, Any] | None = None,
    extra_header: Mapping[str, Any] | None = None,
    omit: Iterable[str] = (),
) -> str:
    """A ``private_key_jwt`` client assertion (RFC 7523 section 3) with a fresh ``jti``.

    FAPI 2.0 SP 5.3.2.1 asks the ``aud`` to be the issuer, as a single string.
    ``alg`` names the header ``alg`` and how the assertion is signed, for negative tests: by
    default the key's FAPI algorithm; ``"none"`` leaves the signature empty; ``"HS256"`` is an
    HMAC keyed with the PEM of ``key``'s public part (algorithm confusion); ``"RS256"`` is
    PKCS#1 v1.5 with an RSA ``key``. ``extra_header`` is applied after, so it can make the
    header say something else than how the assertion was signed.
    """
    claims = _apply(_assertion_claims(client_id, audience, lifetime_s), extra_claims, omit)
    used = alg or default_alg(key)
    header = _apply({"alg": used, "typ": "JWT"}, extra_header, ())
    if key.kid:
        header.setdefault("kid", key.kid)
    if used == "none":
        return unsigned(header, claims)
    if used == "HS256":
        return sign_hs256(header, claims, public_key_pem(key))
    if used == "RS256":
        return sign_rs256(header, claims, key)
    if header.get("alg") == used:
        return sign(header, claims, key)
    return sign_raw(header, claims, key)


def access_token_hash(access_token: str) -> str:
    """The DPoP ``ath``: base64url SHA-256 of the access token (RFC 9449 section 4.2)."""
    return b64url(hashlib.sha256(access_token.encode("ascii")).digest())


def dpop_proof(
    key: Key,
    htm: str,
    htu: str,
    *,
    nonce: str | None = None,
    access_token: str | None = None,
    extra_claims: Mapping[str, Any] | None = None,
    extra_header: Mapping[str, Any] | None = None,
    omit: Iterable[str] = (),
) -> str:
    """A DPoP proof JWT (RFC 9449 section 4.2) with a fresh ``jti``."""
    claims: dict[str, Any] = {
        "jti": secrets.token_urlsafe(16),
        "htm": htm,
        "htu": htu.split("?", 1)[0].split("#", 1)[0],
        "iat": int(time.time()),
    }
    if nonce is not None:
        claims["nonce"] = nonce
    if access_token is not None:
        claims["ath"] = access_token_hash(access_token)
    header = {"typ": "dpop+jwt", "alg": default_alg(key), "jwk": public_jwk(key)}
    return sign(
        _apply(header, extra_header, [o for o in omit if o in header]),
        _apply(claims, extra_claims, omit),
        key,
    )


@dataclass(frozen=True)
class Pkce:
    """A PKCE pair (RFC 7636): the verifier kept by the client and its S256 challenge."""

    verifier: str
    challenge: str
    method: str = "S256"


def pkce_s256() -> Pkce:
    """A fresh verifier of 43 characters (256 bits) and its S256 challenge (RFC 7636 4.1, 4.2)."""
    verifier = b64url(secrets.token_bytes(32))
    return Pkce(verifier, b64url(hashlib.sha256(verifier.encode("ascii")).digest()))


def _verify_registry(algorithms: list[str]) -> JWSRegistry:
    """A JWS registry for checking signatures: only ``algorithms``, and no size limit on the
    header below what real tokens carry (an RSA ``jwk`` or an ``x5c`` chain exceeds 512 bytes)."""
    registry = JWSRegistry(algorithms=algorithms, strict_check_header=False)
    registry.max_header_length = 64 * 1024
    return registry


@dataclass(frozen=True)
class SignatureCheck:
    """Outcome of checking a JWS signature against a JWKS."""

    valid: bool
    alg: str | None
    kid: str | None
    reason: str


def verify_signature(
    token: str, jwks: Mapping[str, Any], algorithms: Iterable[str] = FAPI_ALGS
) -> SignatureCheck:
    """Check a compact JWS against the keys of ``jwks``, allowing only ``algorithms``."""
    algs = list(algorithms)
    try:
        head = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    except (ValueError, IndexError):
        return SignatureCheck(False, None, None, "not a compact JWS")
    alg = head.get("alg") if isinstance(head, dict) else None
    kid = head.get("kid") if isinstance(head, dict) else None
    if alg not in algs:
        return SignatureCheck(False, alg, kid, f"alg {alg!r} is not one of {', '.join(algs)}")
    try:
        keyset = KeySet.import_key_set(dict(jwks))  # type: ignore[arg-type]
        jws.deserialize_compact(token, keyset, registry=_verify_registry(algs))
    except (JoseError, ValueError, KeyError, TypeError) as exc:
        return SignatureCheck(
            False, alg, kid, f"signature does not verify: {type(exc).__name__} {exc}"
        )
    return SignatureCheck(True, alg, kid, f"signature verifies with kid {kid!r} ({alg})")


# --- id_token hashes and published keys (refresh, id_token and keys plan) ---

# The hash of a JWS alg (OIDC Core 3.1.3.6, 3.3.2.11: the one the alg's signature uses; EdDSA
# with Ed25519 uses SHA-512, as the OpenID Foundation's errata and suite do).
_ALG_HASHES = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}


def left_half_hash(value: str, alg: str) -> str | None:
    """``at_hash``/``c_hash``/``s_hash`` of ``value`` for a token signed with ``alg``: base64url
    of the left half of its hash (OIDC Core 3.1.3.6); None for an alg with no known hash."""
    digest = hashlib.sha512 if alg in ("EdDSA", "Ed25519") else _ALG_HASHES.get(alg[-3:])
    if digest is None:
        return None
    full = digest(value.encode("ascii")).digest()
    return b64url(full[: len(full) // 2])


# Members that only private or symmetric keys carry (RFC 7518 6.2.2, 6.3.2, 6.4; RFC 8037 2).
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")

_CURVE_BITS = {"P-256": 256, "P-384": 384, "P-521": 521, "secp256k1": 256}


def key_bits(jwk: Mapping[str, Any]) -> int | None:
    """The size of an RSA modulus or an EC curve in bits; None for other key types."""
    if jwk.get("kty") == "RSA":
        n = jwk.get("n")
        if not isinstance(n, str):
            return 0
        try:
            raw = base64.urlsafe_b64decode(n + "=" * (-len(n) % 4))
        except ValueError:
            return 0
        return int.from_bytes(raw, "big").bit_length()
    if jwk.get("kty") == "EC":
        return _CURVE_BITS.get(str(jwk.get("crv")), 0)
    return None


def key_problem(jwk: Any) -> str | None:
    """Why a published JWK cannot be used as a public key (None when it imports)."""
    if not isinstance(jwk, dict):
        return f"not a JSON object: {jwk!r}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # joserfc warns on short keys: sized elsewhere
            KeySet.import_key_set({"keys": [jwk]})
    except (JoseError, ValueError, KeyError, TypeError) as exc:
        return f"{type(exc).__name__}: {str(exc) or 'the key members do not form a valid key'}"
    return None
