"""Unit tests for harness.jose: assertions, DPoP proofs, PKCE, signatures and key loading.

Every key is generated while the tests run; no key material is kept in the repository.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from joserfc import jws
from joserfc.jwk import ECKey, KeySet, OctKey, OKPKey, RSAKey

from harness import jose
from harness.evidence import decode_jwt_parts

B64URL_43 = re.compile(r"^[A-Za-z0-9_-]{43}$")
ISSUER = "https://as.example.com"
CLIENT_ID = "client-one"

# RFC 9449 section 4.2 / 7.1 example access token and its ath.
RFC9449_ACCESS_TOKEN = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"
RFC9449_ATH = "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"

# RFC 7636 Appendix B: the 32 random octets, the verifier they give, and its S256 challenge.
RFC7636_OCTETS = bytes(
    [116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186,
     22, 212, 37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121]
)  # fmt: skip
RFC7636_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
RFC7636_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

# RFC 7638 section 3.1: a public RSA key (from RFC 7517 Appendix A.1) and its thumbprint.
RFC7638_KEY: dict[str, str | list[str]] = {
    "kty": "RSA",
    "n": (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECP"
        "ebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2Qvzq"
        "Y368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0"
        "fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    ),
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29",
}
RFC7638_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


# --- helpers --------------------------------------------------------------------------------


def ec_key(kid: str | None = "sig-1") -> ECKey:
    """A fresh private P-256 key, with ``kid`` if given."""
    return ECKey.generate_key("P-256", {"kid": kid} if kid else None, private=True)


def public_only(key: jose.Key) -> jose.Key:
    """The same key without its private members."""
    return type(key).import_key(key.as_dict(private=False))


def verified(token: str, key: jose.Key) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of ``token`` after checking its signature with ``key``'s public part."""
    alg = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))["alg"]
    registry = jws.JWSRegistry(algorithms=[alg])
    registry.max_header_length = 8192  # an RSA jwk in a DPoP header is over joserfc's 512
    obj = jws.deserialize_compact(token, public_only(key), registry=registry)
    claims = json.loads(obj.payload)
    assert isinstance(claims, dict)
    return dict(obj.headers()), claims


def b64(data: dict[str, Any]) -> str:
    """Base64url (no padding) of compact JSON."""
    return jose.b64url(json.dumps(data, separators=(",", ":")).encode())


def jwks_of(*keys: jose.Key) -> dict[str, Any]:
    """A public JWKS holding ``keys``."""
    return {"keys": [k.as_dict(private=False) for k in keys]}


# --- client_assertion -----------------------------------------------------------------------


def test_client_assertion_claims_and_signature() -> None:
    """iss = sub = client_id, aud is the exact string given, exp - iat = lifetime, kid in header."""
    key = ec_key("assertion-key")
    before = int(time.time())
    token = jose.client_assertion(CLIENT_ID, ISSUER, key, lifetime_s=90)
    header, claims = verified(token, key)
    assert header == {"alg": "ES256", "typ": "JWT", "kid": "assertion-key"}
    assert claims["iss"] == CLIENT_ID
    assert claims["sub"] == CLIENT_ID
    assert claims["aud"] == ISSUER and isinstance(claims["aud"], str)
    assert claims["exp"] - claims["iat"] == 90
    assert before <= claims["iat"] <= int(time.time())
    assert isinstance(claims["jti"], str) and claims["jti"]


def test_client_assertion_default_lifetime_is_60_s() -> None:
    """Without ``lifetime_s`` the assertion lives 60 seconds."""
    key = ec_key()
    _, claims = verified(jose.client_assertion(CLIENT_ID, ISSUER, key), key)
    assert claims["exp"] - claims["iat"] == 60


def test_client_assertion_fresh_jti_per_call() -> None:
    """Every call mints a new jti."""
    key = ec_key()
    jtis = {
        verified(jose.client_assertion(CLIENT_ID, ISSUER, key), key)[1]["jti"] for _ in range(10)
    }
    assert len(jtis) == 10


def test_client_assertion_without_kid_has_no_kid_header() -> None:
    """A key without kid gives a header without kid."""
    key = ec_key(None)
    header, _ = verified(jose.client_assertion(CLIENT_ID, ISSUER, key), key)
    assert "kid" not in header


@pytest.mark.filterwarnings("ignore:EdDSA is deprecated")
def test_client_assertion_alg_follows_key_type() -> None:
    """RSA keys sign with PS256 and OKP keys with EdDSA (FAPI 2.0 algorithms)."""
    rsa = RSAKey.generate_key(2048, private=True)
    okp = OKPKey.generate_key("Ed25519", private=True)
    assert verified(jose.client_assertion(CLIENT_ID, ISSUER, rsa), rsa)[0]["alg"] == "PS256"
    assert verified(jose.client_assertion(CLIENT_ID, ISSUER, okp), okp)[0]["alg"] == "EdDSA"


def test_client_assertion_extra_claims_override() -> None:
    """``extra_claims`` replaces or adds claims."""
    key = ec_key()
    token = jose.client_assertion(
        CLIENT_ID, ISSUER, key, extra_claims={"aud": [ISSUER, "https://other"], "exp": 1, "x": "y"}
    )
    _, claims = verified(token, key)
    assert claims["aud"] == [ISSUER, "https://other"]
    assert claims["exp"] == 1
    assert claims["x"] == "y"
    assert claims["iss"] == CLIENT_ID


def test_client_assertion_extra_header_overrides_kid_and_typ() -> None:
    """``extra_header`` wins over the default typ and over the key's kid."""
    key = ec_key("real-kid")
    token = jose.client_assertion(
        CLIENT_ID,
        ISSUER,
        key,
        extra_header={"kid": "wrong-kid", "typ": "client-authentication+jwt"},
    )
    header, _ = verified(token, key)
    assert header["kid"] == "wrong-kid"
    assert header["typ"] == "client-authentication+jwt"


def _parts(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """Header, claims, signing input and raw signature of a compact JWS (not verified)."""
    head, payload, signature = token.split(".")
    return (
        json.loads(base64.urlsafe_b64decode(head + "==")),
        json.loads(base64.urlsafe_b64decode(payload + "==")),
        f"{head}.{payload}".encode("ascii"),
        base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)),
    )


def _expected_claims(token: str, key: jose.Key) -> None:
    """The claims are those of a normal assertion: only the signing changed."""
    normal = _parts(jose.client_assertion(CLIENT_ID, ISSUER, key))[1]
    claims = _parts(token)[1]
    assert set(claims) == set(normal)
    assert (claims["iss"], claims["sub"], claims["aud"]) == (CLIENT_ID, CLIENT_ID, ISSUER)


def test_client_assertion_alg_none_is_unsigned() -> None:
    """``alg="none"``: the header says none, the signature is empty, the claims are unchanged."""
    key = ec_key("k1")
    token = jose.client_assertion(CLIENT_ID, ISSUER, key, alg="none")
    header, _, _, signature = _parts(token)
    assert header == {"alg": "none", "typ": "JWT", "kid": "k1"}
    assert token.endswith(".") and signature == b""
    _expected_claims(token, key)


def test_client_assertion_hs256_is_keyed_with_the_public_key_pem() -> None:
    """``alg="HS256"``: an HMAC-SHA256 whose secret is the PEM of the key's public part."""
    key = ec_key("k1")
    token = jose.client_assertion(CLIENT_ID, ISSUER, key, alg="HS256")
    header, _, signing_input, signature = _parts(token)
    assert header == {"alg": "HS256", "typ": "JWT", "kid": "k1"}
    pem = public_only(key).public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert pem.startswith(b"-----BEGIN PUBLIC KEY-----")
    assert jose.public_key_pem(key) == pem
    assert signature == hmac.digest(pem, signing_input, "sha256")
    _expected_claims(token, key)


def test_client_assertion_rs256_is_pkcs1_v15() -> None:
    """``alg="RS256"`` with an RSA key: a PKCS#1 v1.5 SHA-256 signature that verifies."""
    key = RSAKey.generate_key(2048, private=True)
    token = jose.client_assertion(CLIENT_ID, ISSUER, key, alg="RS256")
    header, _, signing_input, signature = _parts(token)
    assert header["alg"] == "RS256"
    public = key.public_key
    assert isinstance(public, rsa.RSAPublicKey)
    public.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
    _expected_claims(token, key)


def test_client_assertion_rs256_needs_an_rsa_key() -> None:
    """RS256 cannot be made with an EC key: the builder refuses rather than mislabel."""
    with pytest.raises(TypeError, match="RSA"):
        jose.client_assertion(CLIENT_ID, ISSUER, ec_key(), alg="RS256")


def test_client_assertion_header_alg_can_differ_from_signing() -> None:
    """``extra_header={"alg": ...}`` changes only what the header says: the signature is still
    the key's own algorithm (ES256 here), over that header."""
    key = ec_key()
    token = jose.client_assertion(CLIENT_ID, ISSUER, key, extra_header={"alg": "ES384"})
    header, _, signing_input, signature = _parts(token)
    assert header["alg"] == "ES384"
    public = key.public_key
    assert isinstance(public, ec.EllipticCurvePublicKey)
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    public.verify(encode_dss_signature(r, s), signing_input, ec.ECDSA(hashes.SHA256()))


@pytest.mark.parametrize("omitted", ["jti", "exp", "iat", "nbf", "aud", "iss", "sub"])
def test_client_assertion_omit_removes_claim(omitted: str) -> None:
    """``omit`` removes the named claim and only that one."""
    key = ec_key()
    _, claims = verified(jose.client_assertion(CLIENT_ID, ISSUER, key, omit=[omitted]), key)
    assert omitted not in claims
    assert set(claims) == {"iss", "sub", "aud", "jti", "iat", "nbf", "exp"} - {omitted}


# --- dpop_proof -----------------------------------------------------------------------------


def test_dpop_proof_header_has_public_jwk_only() -> None:
    """typ dpop+jwt, alg ES256, a public jwk (no d) that verifies the proof itself."""
    key = jose.new_dpop_key()
    assert key.is_private
    token = jose.dpop_proof(key, "POST", f"{ISSUER}/token")
    header, _ = verified(token, key)
    assert header["typ"] == "dpop+jwt"
    assert header["alg"] == "ES256"
    jwk = header["jwk"]
    assert "d" not in jwk
    assert not set(jwk) & {"d", "p", "q", "dp", "dq", "qi", "k"}
    assert jwk == jose.public_jwk(key)
    embedded = ECKey.import_key(jwk)
    assert not embedded.is_private
    verified(token, embedded)  # the proof verifies with the key in its own header


def test_dpop_proof_rsa_jwk_is_public_only() -> None:
    """An RSA DPoP key publishes n and e only, and signs with PS256."""
    key = RSAKey.generate_key(2048, private=True)
    header, _ = verified(jose.dpop_proof(key, "GET", "https://rs.example/api"), key)
    assert header["alg"] == "PS256"
    assert not set(header["jwk"]) & {"d", "p", "q", "dp", "dq", "qi"}


def test_dpop_proof_claims() -> None:
    """htm as given, htu without query and fragment, iat close to now, no nonce or ath."""
    key = jose.new_dpop_key()
    before = int(time.time())
    token = jose.dpop_proof(key, "POST", "https://as.example.com/token?a=1&b=2#frag")
    _, claims = verified(token, key)
    assert claims["htm"] == "POST"
    assert claims["htu"] == "https://as.example.com/token"
    assert before <= claims["iat"] <= int(time.time())
    assert isinstance(claims["jti"], str) and len(claims["jti"]) >= 16
    assert "nonce" not in claims
    assert "ath" not in claims


@pytest.mark.parametrize(
    ("htu", "expected"),
    [
        ("https://rs.example/api#frag", "https://rs.example/api"),
        ("https://rs.example/api?x=1", "https://rs.example/api"),
        ("https://rs.example/api", "https://rs.example/api"),
    ],
)
def test_dpop_proof_htu_strips_query_and_fragment(htu: str, expected: str) -> None:
    """RFC 9449 4.2: htu is the target URI without query and fragment."""
    key = jose.new_dpop_key()
    assert verified(jose.dpop_proof(key, "GET", htu), key)[1]["htu"] == expected


def test_dpop_proof_unique_jti() -> None:
    """Every proof has its own jti."""
    key = jose.new_dpop_key()
    jtis = {verified(jose.dpop_proof(key, "GET", "https://rs/x"), key)[1]["jti"] for _ in range(20)}
    assert len(jtis) == 20


def test_dpop_proof_nonce_only_when_given() -> None:
    """The nonce claim appears only when a nonce is passed, with that value."""
    key = jose.new_dpop_key()
    _, claims = verified(jose.dpop_proof(key, "POST", "https://as/token", nonce="n-123"), key)
    assert claims["nonce"] == "n-123"
    _, claims = verified(jose.dpop_proof(key, "POST", "https://as/token"), key)
    assert "nonce" not in claims


def test_access_token_hash_rfc9449_example() -> None:
    """RFC 9449's example access token gives its example ath."""
    assert jose.access_token_hash(RFC9449_ACCESS_TOKEN) == RFC9449_ATH


def test_dpop_proof_ath_rfc9449_example() -> None:
    """A proof for a resource request carries ath = base64url(sha256(access token))."""
    key = jose.new_dpop_key()
    token = jose.dpop_proof(key, "GET", "https://rs/x", access_token=RFC9449_ACCESS_TOKEN)
    assert verified(token, key)[1]["ath"] == RFC9449_ATH


def test_dpop_proof_extra_and_omit() -> None:
    """``extra_claims``, ``extra_header`` and ``omit`` change the proof as asked."""
    key = jose.new_dpop_key()
    token = jose.dpop_proof(
        key,
        "POST",
        "https://as/token",
        extra_claims={"htm": "GET", "iat": 1},
        extra_header={"typ": "JWT"},
        omit=["jwk", "jti"],
    )
    header, claims = verified(token, key)
    assert header["typ"] == "JWT"
    assert "jwk" not in header
    assert claims["htm"] == "GET"
    assert claims["iat"] == 1
    assert "jti" not in claims


# --- dpop_proof knobs, one at a time with time and jti frozen (every claim and member) --------


def _diff(a: dict[str, Any], b: dict[str, Any]) -> set[str]:
    """Names whose value differs between ``a`` and ``b`` (present in one only included)."""
    return {k for k in a.keys() | b.keys() if a.get(k, ...) != b.get(k, ...)}


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fix time and jti so that two proofs built one after the other are comparable."""
    monkeypatch.setattr(time, "time", lambda: 1_700_000_000.0)
    monkeypatch.setattr(secrets, "token_urlsafe", lambda n=None: "fixed-jti")


PROOF_ARGS: dict[str, Any] = {"nonce": "n-1", "access_token": RFC9449_ACCESS_TOKEN}


def _frozen_parts(key: jose.Key, **knobs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a verified proof for a resource request, with ``knobs``."""
    token = jose.dpop_proof(key, "GET", "https://rs.example/api", **{**PROOF_ARGS, **knobs})
    return verified(token, key)


@pytest.mark.usefixtures("frozen")
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("jti", "other"),
        ("htm", "PUT"),
        ("htu", "https://elsewhere.example/api"),
        ("iat", 1),
        ("ath", "x"),
        ("nonce", "n-2"),
        ("new_claim", "added"),
    ],
)
def test_dpop_proof_extra_claims_change_only_that_claim(name: str, value: Any) -> None:
    """``extra_claims={name: value}`` sets that one claim; every other claim and the whole
    header stay as in the proof built without it."""
    key = jose.new_dpop_key()
    base_header, base_claims = _frozen_parts(key)
    header, claims = _frozen_parts(key, extra_claims={name: value})
    assert claims[name] == value
    assert _diff(base_claims, claims) == {name}
    assert header == base_header


@pytest.mark.usefixtures("frozen")
@pytest.mark.parametrize(
    ("name", "value"),
    [("typ", "JWT"), ("kid", "k-1"), ("jwk", {"kty": "EC", "crv": "P-256", "x": "a", "y": "b"})],
)
def test_dpop_proof_extra_header_changes_only_that_member(name: str, value: Any) -> None:
    """``extra_header={name: value}`` sets that one header member; the claims do not change
    (the signature still verifies with the real key)."""
    key = jose.new_dpop_key()
    base_header, base_claims = _frozen_parts(key)
    header, claims = _frozen_parts(key, extra_header={name: value})
    assert header[name] == value
    assert _diff(base_header, header) == {name}
    assert claims == base_claims


@pytest.mark.usefixtures("frozen")
@pytest.mark.parametrize("name", ["jti", "htm", "htu", "iat", "ath", "nonce", "typ", "jwk"])
def test_dpop_proof_omit_each_member_alone(name: str) -> None:
    """``omit=[name]`` removes that one claim or header member, and nothing else."""
    key = jose.new_dpop_key()
    base_header, base_claims = _frozen_parts(key)
    header, claims = _frozen_parts(key, omit=[name])
    assert name not in header
    assert name not in claims
    assert _diff(base_header, header) | _diff(base_claims, claims) == {name}


@pytest.mark.usefixtures("frozen")
@pytest.mark.parametrize(
    ("knob", "claim"), [("nonce", "nonce"), ("access_token", "ath")], ids=["nonce", "ath"]
)
def test_dpop_proof_optional_claims_come_only_from_their_argument(knob: str, claim: str) -> None:
    """Leaving out ``nonce`` or ``access_token`` leaves out exactly the nonce or ath claim."""
    key = jose.new_dpop_key()
    base_header, base_claims = _frozen_parts(key)
    header, claims = _frozen_parts(key, **{knob: None})
    assert _diff(base_claims, claims) == {claim}
    assert header == base_header


def test_dpop_proof_rsa_key_signs_ps256() -> None:
    """A fresh RSA DPoP key signs PS256 proofs whose jwk is its public part."""
    key = jose.new_rsa_dpop_key()
    header, _ = verified(jose.dpop_proof(key, "GET", "https://rs.example/api"), key)
    assert header["alg"] == "PS256"
    assert header["jwk"]["kty"] == "RSA"
    assert "d" not in header["jwk"]


# --- PKCE -----------------------------------------------------------------------------------


def test_pkce_s256_shape_and_challenge() -> None:
    """43 base64url characters, challenge = base64url(sha256(verifier)), method S256."""
    pkce = jose.pkce_s256()
    assert B64URL_43.fullmatch(pkce.verifier)
    expected = base64.urlsafe_b64encode(hashlib.sha256(pkce.verifier.encode()).digest())
    assert pkce.challenge == expected.rstrip(b"=").decode()
    assert pkce.method == "S256"


def test_pkce_s256_fresh_each_call() -> None:
    """Two pairs never share a verifier."""
    assert len({jose.pkce_s256().verifier for _ in range(10)}) == 10


def test_pkce_s256_rfc7636_appendix_b(monkeypatch: pytest.MonkeyPatch) -> None:
    """With RFC 7636 Appendix B's octets as randomness, pkce_s256 gives its verifier and challenge.

    jose has no challenge-from-verifier function, so the randomness is pinned instead and the
    challenge is also recomputed here with hashlib.
    """
    monkeypatch.setattr(secrets, "token_bytes", lambda n: RFC7636_OCTETS[:n])
    pkce = jose.pkce_s256()
    assert pkce.verifier == RFC7636_VERIFIER
    assert pkce.challenge == RFC7636_CHALLENGE
    digest = hashlib.sha256(RFC7636_VERIFIER.encode("ascii")).digest()
    assert jose.b64url(digest) == RFC7636_CHALLENGE


# --- verify_signature -----------------------------------------------------------------------


def test_verify_signature_valid_es256() -> None:
    """A token signed by a key of the JWKS verifies, reporting alg and kid."""
    key = ec_key("as-1")
    token = jose.sign({"alg": "ES256", "kid": "as-1"}, {"sub": "x"}, key)
    result = jose.verify_signature(token, jwks_of(key))
    assert result.valid, result.reason
    assert result.alg == "ES256"
    assert result.kid == "as-1"


@pytest.mark.filterwarnings("ignore:EdDSA is deprecated")
def test_verify_signature_ps256_and_eddsa() -> None:
    """PS256 and EdDSA tokens verify too (the other FAPI algorithms)."""
    rsa = RSAKey.generate_key(2048, {"kid": "rsa"}, private=True)
    okp = OKPKey.generate_key("Ed25519", {"kid": "okp"}, private=True)
    for key, alg in ((rsa, "PS256"), (okp, "EdDSA")):
        token = jose.sign({"alg": alg, "kid": key.kid}, {"sub": "x"}, key)
        assert jose.verify_signature(token, jwks_of(rsa, okp)).valid


def test_verify_signature_other_key_fails() -> None:
    """A token signed by a key outside the JWKS (same kid) does not verify."""
    published, attacker = ec_key("as-1"), ec_key("as-1")
    token = jose.sign({"alg": "ES256", "kid": "as-1"}, {"sub": "x"}, attacker)
    result = jose.verify_signature(token, jwks_of(published))
    assert not result.valid
    assert "does not verify" in result.reason


def test_verify_signature_unknown_kid_fails() -> None:
    """A kid the JWKS does not have does not verify."""
    key = ec_key("as-1")
    token = jose.sign({"alg": "ES256", "kid": "other"}, {"sub": "x"}, key)
    assert not jose.verify_signature(token, jwks_of(key)).valid


def test_verify_signature_tampered_payload_fails() -> None:
    """Changing the payload of a valid token breaks it."""
    key = ec_key("as-1")
    head, _, sig = jose.sign({"alg": "ES256", "kid": "as-1"}, {"sub": "x"}, key).split(".")
    forged = f"{head}.{b64({'sub': 'admin'})}.{sig}"
    assert not jose.verify_signature(forged, jwks_of(key)).valid


def test_verify_signature_hs256_refused() -> None:
    """An HS256 token (built by hand) is refused for its alg, even with the secret in the JWKS."""
    secret = b"s" * 32
    signing_input = f"{b64({'alg': 'HS256', 'kid': 'h'})}.{b64({'sub': 'x'})}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{jose.b64url(mac)}"
    oct_key = OctKey.import_key(secret, {"kid": "h"})
    result = jose.verify_signature(token, {"keys": [oct_key.as_dict(private=True)]})
    assert not result.valid
    assert result.alg == "HS256"
    assert "HS256" in result.reason and "not one of" in result.reason


def test_verify_signature_alg_none_refused() -> None:
    """An unsigned token (alg none, built by hand) is refused with a reason."""
    key = ec_key("as-1")
    token = f"{b64({'alg': 'none', 'kid': 'as-1'})}.{b64({'sub': 'x'})}."
    result = jose.verify_signature(token, jwks_of(key))
    assert not result.valid
    assert result.alg == "none"
    assert "'none'" in result.reason


def test_verify_signature_narrowed_algorithms() -> None:
    """An ES256 token fails when only PS256 is allowed."""
    key = ec_key("as-1")
    token = jose.sign({"alg": "ES256", "kid": "as-1"}, {"sub": "x"}, key)
    result = jose.verify_signature(token, jwks_of(key), algorithms=["PS256"])
    assert not result.valid
    assert "not one of PS256" in result.reason


@pytest.mark.parametrize("garbage", ["", "garbage", "not.a.jwt", "a.b", "eyJ.eyJ.", "....", "\x00"])
def test_verify_signature_garbage_fails(garbage: str) -> None:
    """Strings that are not a JWS fail cleanly, never raise."""
    result = jose.verify_signature(garbage, jwks_of(ec_key()))
    assert not result.valid
    assert result.reason


def test_verify_signature_large_header() -> None:
    """A valid PS256 token with a large (but legitimate) protected header verifies."""
    key = RSAKey.generate_key(2048, {"kid": "rsa"}, private=True)
    header = {"alg": "PS256", "kid": "rsa", "jwk": jose.public_jwk(key)}
    token = jose.sign(header, {"sub": "x"}, key)
    assert len(token.split(".")[0]) > 512
    result = jose.verify_signature(token, jwks_of(key))
    assert result.valid, result.reason


def test_verify_signature_empty_jwks_fails() -> None:
    """A valid token cannot verify against an empty JWKS."""
    key = ec_key("as-1")
    token = jose.sign({"alg": "ES256", "kid": "as-1"}, {"sub": "x"}, key)
    assert not jose.verify_signature(token, {"keys": []}).valid


# --- keys -----------------------------------------------------------------------------------


def test_jwk_thumbprint_matches_joserfc_and_rfc7638() -> None:
    """The thumbprint is joserfc's and RFC 7638's (required members, sorted, SHA-256)."""
    key = ec_key()
    pub = key.as_dict(private=False)
    canonical = json.dumps({m: pub[m] for m in ("crv", "kty", "x", "y")}, separators=(",", ":"))
    by_hand = jose.b64url(hashlib.sha256(canonical.encode()).digest())
    assert jose.jwk_thumbprint(key) == key.thumbprint() == by_hand
    assert jose.jwk_thumbprint(public_only(key)) == by_hand


def test_jwk_thumbprint_rfc7638_example() -> None:
    """RFC 7638 section 3.1's RSA key gives its published thumbprint."""
    assert jose.jwk_thumbprint(RSAKey.import_key(RFC7638_KEY)) == RFC7638_THUMBPRINT


def test_load_private_key_reads_first_key(tmp_path: Path) -> None:
    """The first key of a private JWKS file is loaded, private, with its kid."""
    first, second = ec_key("first"), ec_key("second")
    path = tmp_path / "jwks.json"
    keys = [first.as_dict(private=True), second.as_dict(private=True)]
    path.write_text(json.dumps({"keys": keys}), encoding="utf-8")
    loaded = jose.load_private_key(path)
    assert loaded.is_private
    assert loaded.kid == "first"
    assert jose.jwk_thumbprint(loaded) == jose.jwk_thumbprint(first)
    token = jose.client_assertion(CLIENT_ID, ISSUER, loaded)
    assert jose.verify_signature(token, jwks_of(first)).valid


def test_load_private_key_refuses_public_key(tmp_path: Path) -> None:
    """A public-only key cannot sign, so the file is refused."""
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks_of(ec_key())), encoding="utf-8")
    with pytest.raises(ValueError, match="private"):
        jose.load_private_key(path)


@pytest.mark.parametrize("content", [{"keys": []}, {}, []])
def test_load_private_key_refuses_empty(tmp_path: Path, content: Any) -> None:
    """A file without keys is refused."""
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(content), encoding="utf-8")
    with pytest.raises(ValueError, match="no keys"):
        jose.load_private_key(path)


def test_load_private_key_refuses_symmetric_key(tmp_path: Path) -> None:
    """An oct key is not a client-assertion key."""
    path = tmp_path / "jwks.json"
    oct_key = OctKey.generate_key(256, private=True)
    path.write_text(json.dumps({"keys": [oct_key.as_dict(private=True)]}), encoding="utf-8")
    with pytest.raises(ValueError):
        jose.load_private_key(path)


def test_keyset_roundtrip_public_jwk() -> None:
    """public_jwk output imports as a public key with the same thumbprint."""
    key = ec_key("k")
    imported = KeySet.import_key_set({"keys": [jose.public_jwk(key)]}).keys[0]
    assert not imported.is_private
    assert imported.thumbprint() == key.thumbprint()


# --- dpop_proof knobs: each changes exactly what it names -----------------------------------

KNOB_URL = f"{ISSUER}/token"


def _proof_parts(key: Any, **knobs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The decoded header and claims of a proof, minus the per-proof jti (iat is kept apart)."""
    token = jose.dpop_proof(key, "POST", KNOB_URL, nonce="n-1", **knobs)
    parts = decode_jwt_parts(token)
    assert parts is not None
    header, claims = parts
    claims.pop("jti")
    return header, claims


def _without_iat(claims: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in claims.items() if k != "iat"}


def test_dpop_proof_extra_claims_change_only_those_claims() -> None:
    """extra_claims adds or replaces the named claims; the header and other claims stay."""
    key = jose.new_dpop_key()
    base_header, base = _proof_parts(key)
    header, claims = _proof_parts(key, extra_claims={"nbf": 5, "htm": "GET", "iat": 7})
    assert header == base_header
    assert claims == {**_without_iat(base), "nbf": 5, "htm": "GET", "iat": 7}


def test_dpop_proof_extra_header_changes_only_those_members() -> None:
    """extra_header adds or replaces the named header members; the claims stay."""
    key = jose.new_dpop_key()
    base_header, base = _proof_parts(key)
    header, claims = _proof_parts(key, extra_header={"typ": "jwt", "kid": "k-1"})
    assert header == {**base_header, "typ": "jwt", "kid": "k-1"}
    assert _without_iat(claims) == _without_iat(base)
    assert abs(claims["iat"] - base["iat"]) <= 1


@pytest.mark.parametrize("name", ["iat", "htu", "nonce", "jwk", "typ"])
def test_dpop_proof_omit_removes_only_that_member(name: str) -> None:
    """omit removes the named claim or header member and nothing else."""
    key = jose.new_dpop_key()
    base_header, base = _proof_parts(key)
    header, claims = _proof_parts(key, omit=[name])
    assert name not in header and name not in claims
    assert header == {k: v for k, v in base_header.items() if k != name}
    assert set(claims) == set(base) - {name}
    assert _without_iat(claims) == {k: v for k, v in _without_iat(base).items() if k != name}


def test_sign_raw_keeps_the_header_exactly_and_signs_it() -> None:
    """sign_raw signs whatever header it is given (here one without alg) with the key."""
    key = ECKey.generate_key("P-256", private=True)
    token = jose.sign_raw({"typ": "dpop+jwt", "x": 1}, {"a": 1}, key)
    assert decode_jwt_parts(token) == ({"typ": "dpop+jwt", "x": 1}, {"a": 1})
    resigned = jose.sign_raw({"alg": "ES256"}, {"a": 1}, key)
    assert jose.verify_signature(resigned, {"keys": [jose.public_jwk(key)]}).valid


def test_sign_raw_with_rsa_signs_ps256() -> None:
    key = RSAKey.generate_key(2048, private=True)
    token = jose.sign_raw({"alg": "PS256"}, {"a": 1}, key)
    assert jose.verify_signature(token, {"keys": [jose.public_jwk(key)]}).valid


def test_unsigned_and_flipped_signatures_do_not_verify() -> None:
    key = ECKey.generate_key("P-256", private=True)
    jwks = {"keys": [jose.public_jwk(key)]}
    assert jose.unsigned({"alg": "none"}, {"a": 1}).endswith(".")
    good = jose.sign_raw({"alg": "ES256"}, {"a": 1}, key)
    flipped = jose.flip_signature_bit(good)
    assert flipped != good and flipped.rsplit(".", 1)[0] == good.rsplit(".", 1)[0]
    assert not jose.verify_signature(flipped, jwks).valid


# --- id_token hashes and published keys (refresh, id_token and keys plan) ---


@pytest.mark.parametrize(
    ("alg", "digest"),
    [
        ("ES256", hashlib.sha256),
        ("PS256", hashlib.sha256),
        ("PS384", hashlib.sha384),
        ("ES512", hashlib.sha512),
        ("EdDSA", hashlib.sha512),
    ],
)
def test_left_half_hash_uses_the_algs_hash(alg: str, digest: Any) -> None:
    """at_hash/c_hash/s_hash: base64url of the left half of the alg's hash (OIDC Core 3.1.3.6)."""
    full = digest(b"token-value").digest()
    expected = base64.urlsafe_b64encode(full[: len(full) // 2]).rstrip(b"=").decode()
    assert jose.left_half_hash("token-value", alg) == expected


def test_left_half_hash_of_an_unknown_alg_is_none() -> None:
    assert jose.left_half_hash("x", "none") is None


def test_key_bits_sizes_rsa_and_ec_keys() -> None:
    rsa_key = RSAKey.generate_key(2048, private=False)
    assert jose.key_bits(rsa_key.as_dict()) == 2048
    assert jose.key_bits(ECKey.generate_key("P-384", private=False).as_dict()) == 384
    assert jose.key_bits({"kty": "EC", "crv": "P-192"}) == 0
    assert jose.key_bits({"kty": "RSA"}) == 0
    assert jose.key_bits({"kty": "OKP", "crv": "Ed25519", "x": "AA"}) is None


def test_key_problem_says_why_a_key_does_not_parse() -> None:
    assert jose.key_problem(ECKey.generate_key("P-256", private=False).as_dict()) is None
    assert jose.key_problem({"kty": "RSA", "n": "AQAB"}) is not None
    assert jose.key_problem({"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}) is not None
    assert jose.key_problem("not a key") is not None
