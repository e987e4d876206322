"""Unit tests for harness.evidence: redaction of secrets, Exchange helpers and the recorder."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from joserfc.jwk import ECKey, RSAKey

from harness import flows, jose
from harness.evidence import (
    Exchange,
    Note,
    Recorder,
    Redactor,
    Screenshot,
    ServerEvent,
    current_recorder,
    current_tag,
    decode_jwt_parts,
    record,
    recording,
    set_recorder,
)

ISSUER = "https://as.example.test"
TOKEN_URL = f"{ISSUER}/token"
RESOURCE_URL = "https://rs.example.test/accounts"
CLIENT_ID = "client-one"
REDACTED = "[redacted]"
OPAQUE_NAMES = (
    "code",
    "code_verifier",
    "refresh_token",
    "access_token",
    "password",
    "client_secret",
)
JWK_PRIVATE = ("d", "p", "q", "dp", "dq", "qi", "k")


# --- helpers --------------------------------------------------------------------------------


def opaque_form(value: str) -> str:
    """What the Redactor should make of an opaque secret."""
    prefix = value[:4] if len(value) > 12 else ""
    return f"{prefix}…[redacted-sha256-{hashlib.sha256(value.encode()).hexdigest()[:8]}]"


def es256_jwt(claims: dict[str, Any], kid: str = "as-1") -> str:
    """A real ES256 JWT signed by a fresh key."""
    key = ECKey.generate_key("P-256", {"kid": kid}, private=True)
    return jose.sign({"alg": "ES256", "kid": kid}, claims, key)


def signing_input(token: str) -> str:
    """The header.payload part of a JWT."""
    return token.rsplit(".", 1)[0]


def signature(token: str) -> str:
    """The signature part of a JWT."""
    return token.rsplit(".", 1)[1]


def pem_private(kind: str) -> str:
    """A freshly generated private key in one of the PEM flavours."""
    pkcs8 = serialization.PrivateFormat.PKCS8
    traditional = serialization.PrivateFormat.TraditionalOpenSSL
    plain = serialization.NoEncryption()
    pem = serialization.Encoding.PEM
    if kind == "pkcs8-ec":
        data = ec.generate_private_key(ec.SECP256R1()).private_bytes(pem, pkcs8, plain)
    elif kind == "sec1-ec":
        data = ec.generate_private_key(ec.SECP256R1()).private_bytes(pem, traditional, plain)
    elif kind == "pkcs1-rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        data = key.private_bytes(pem, traditional, plain)
    elif kind == "encrypted":
        enc = serialization.BestAvailableEncryption(b"pass-phrase")
        data = ec.generate_private_key(ec.SECP256R1()).private_bytes(pem, pkcs8, enc)
    else:
        ssh = serialization.PrivateFormat.OpenSSH
        data = ed25519.Ed25519PrivateKey.generate().private_bytes(pem, ssh, plain)
    return data.decode()


def pem_body_lines(pem: str) -> list[str]:
    """The base64 lines of a PEM block (the key material itself)."""
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


# --- Redactor: JWKs and PEM -----------------------------------------------------------------


def test_jwk_private_members_redacted() -> None:
    """d, p, q, dp, dq, qi and k become [redacted] in any dict with kty; public members stay."""
    rsa_jwk = dict(RSAKey.generate_key(2048, private=True).as_dict(private=True))
    ec_jwk = dict(ECKey.generate_key("P-256", private=True).as_dict(private=True))
    oct_jwk = {"kty": "oct", "k": "c2VjcmV0LXN5bW1ldHJpYy1rZXk"}
    value = {"keys": [rsa_jwk, ec_jwk], "nested": {"key": oct_jwk}}
    out = Redactor().data(value)
    for original, redacted in (
        (rsa_jwk, out["keys"][0]),
        (ec_jwk, out["keys"][1]),
        (oct_jwk, out["nested"]["key"]),
    ):
        for name, member in original.items():
            if name in JWK_PRIVATE:
                assert redacted[name] == REDACTED
            else:
                assert redacted[name] == member
    dumped = json.dumps(out)
    for jwk in (rsa_jwk, ec_jwk, oct_jwk):
        for name in JWK_PRIVATE:
            if name in jwk:
                assert str(jwk[name]) not in dumped


def test_jwk_private_members_in_json_body() -> None:
    """A JWKS served as JSON loses its private members in the redacted body."""
    jwk = dict(ECKey.generate_key("P-256", private=True).as_dict(private=True))
    body = Redactor().body(json.dumps({"keys": [jwk]}), "application/jwk-set+json")
    assert str(jwk["d"]) not in body
    assert json.loads(body)["keys"][0]["d"] == REDACTED
    assert json.loads(body)["keys"][0]["x"] == jwk["x"]


@pytest.mark.parametrize("kind", ["pkcs8-ec", "sec1-ec", "pkcs1-rsa", "encrypted", "openssh"])
def test_pem_private_key_removed_from_text(kind: str) -> None:
    """Every PEM private key block is replaced, whatever its label, and the text around stays."""
    pem = pem_private(kind)
    out = Redactor().text(f"before\n{pem}\nafter")
    assert out.startswith("before\n")
    assert out.rstrip().endswith("after")
    assert "PRIVATE KEY" not in out
    for line in pem_body_lines(pem):
        assert line not in out


def test_pem_two_blocks_keep_text_between() -> None:
    """Two private keys in one text are both removed; the text between them survives."""
    first, second = pem_private("pkcs8-ec").strip(), pem_private("sec1-ec").strip()
    out = Redactor().text(f"a {first} middle {second} b")
    assert out == "a [redacted private key] middle [redacted private key] b"


def test_pem_private_key_inside_json_string() -> None:
    """A PEM key inside a JSON string value is removed too."""
    pem = pem_private("pkcs8-ec")
    body = Redactor().body(json.dumps({"private_key": pem, "ok": 1}), "application/json")
    for line in pem_body_lines(pem):
        assert line not in body
    assert json.loads(body)["ok"] == 1


def test_pem_public_key_kept() -> None:
    """A public key is not a secret and stays readable."""
    public = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    assert Redactor().text(public) == public


# --- Redactor: JWTs and opaque secrets ------------------------------------------------------


def test_jwt_signature_cut_in_text() -> None:
    """A JWT keeps header and payload; its signature is cut to 6 characters and an ellipsis."""
    token = es256_jwt({"sub": "alice"})
    out = Redactor().text(f"token {token} end")
    assert out == f"token {signing_input(token)}.{signature(token)[:6]}… end"
    assert signature(token) not in out


def test_jwt_field_keeps_claims_cut_signature() -> None:
    """A JWT-valued field (even one with an opaque-secret name) keeps its readable parts."""
    token = es256_jwt({"sub": "alice"})
    for name in ("id_token", "access_token", "client_assertion", "anything"):
        out = Redactor().field(name, token)
        assert out == f"{signing_input(token)}.{signature(token)[:6]}…"


@pytest.mark.parametrize("name", OPAQUE_NAMES)
def test_opaque_secret_prefix_and_hash(name: str) -> None:
    """Opaque secrets keep a 4-character prefix and a sha256 tag, nothing more."""
    value = secrets.token_urlsafe(32)
    redactor = Redactor()
    assert redactor.field(name, value) == opaque_form(value)
    assert redactor.data({name: value}) == {name: opaque_form(value)}
    form = redactor.body(
        urlencode({name: value, "other": "x"}), "application/x-www-form-urlencoded"
    )
    assert value not in form and value[4:] not in form
    assert "other=x" in form
    as_json = redactor.body(json.dumps({name: value}), "application/json")
    assert json.loads(as_json) == {name: opaque_form(value)}


def test_opaque_same_value_same_tag() -> None:
    """Two occurrences of one secret can be matched by their tag; different secrets cannot."""
    redactor = Redactor()
    assert redactor.opaque("value-one") == redactor.opaque("value-one")
    assert redactor.opaque("value-one") != redactor.opaque("value-two")


def test_non_secret_fields_kept() -> None:
    """Ordinary values (state, scope, error) are kept as they are."""
    redactor = Redactor()
    for name, value in (("state", "s-1"), ("scope", "openid accounts"), ("error", "invalid")):
        assert redactor.field(name, value) == value


# --- Redactor: headers and URLs -------------------------------------------------------------


@pytest.mark.parametrize("name", ["Authorization", "authorization", "AUTHORIZATION"])
def test_authorization_header_bearer_opaque(name: str) -> None:
    """An opaque bearer token keeps the scheme, a prefix and a hash."""
    token = secrets.token_urlsafe(32)
    out = Redactor().header(name, f"Bearer {token}")
    assert out == f"Bearer {opaque_form(token)}"


def test_authorization_header_dpop_jwt() -> None:
    """A JWT access token in Authorization keeps scheme, header and claims, not the signature."""
    token = es256_jwt({"sub": "alice"})
    out = Redactor().header("Authorization", f"DPoP {token}")
    assert out == f"DPoP {signing_input(token)}.{signature(token)[:6]}…"


def test_authorization_header_basic() -> None:
    """Basic credentials (client_id:client_secret) are not shown."""
    creds = base64.b64encode(b"client-one:very-secret-password").decode()
    out = Redactor().header("Authorization", f"Basic {creds}")
    assert creds not in out
    assert out.startswith("Basic ")


@pytest.mark.parametrize("name", ["Cookie", "cookie", "Set-Cookie", "set-cookie", "SET-COOKIE"])
def test_cookie_headers_redacted(name: str) -> None:
    """Cookie and Set-Cookie values are hidden entirely."""
    assert Redactor().header(name, "session=abcdef0123456789; Path=/; HttpOnly") == REDACTED


def test_dpop_header_jwt_signature_cut() -> None:
    """Any other header keeps its text, with JWTs in it cut."""
    proof = jose.dpop_proof(jose.new_dpop_key(), "POST", TOKEN_URL)
    out = Redactor().header("DPoP", proof)
    assert out == f"{signing_input(proof)}.{signature(proof)[:6]}…"
    assert Redactor().header("Cache-Control", "no-store") == "no-store"


def test_url_query_code_redacted() -> None:
    """code= in a query is redacted; state and iss stay readable."""
    code = secrets.token_urlsafe(24)
    url = f"https://client.example.test/cb?code={code}&state=s-1&iss=https%3A%2F%2Fas.example.test"
    out = Redactor().url(url)
    assert code not in out and code[4:] not in out
    assert out.startswith("https://client.example.test/cb?code=")
    assert "state=s-1" in out
    assert "iss=https://as.example.test" in out


def test_url_without_query_unchanged() -> None:
    """A URL without a query is returned as is."""
    assert Redactor().url("https://as.example.test/token") == "https://as.example.test/token"


# --- Redactor: modes ------------------------------------------------------------------------


def test_tokens_mode_hides_jwts_entirely() -> None:
    """With tokens=True no part of a JWT stays: not the header, not the payload."""
    token = es256_jwt({"sub": "alice"})
    header_part, payload_part = token.split(".")[:2]
    redactor = Redactor(tokens=True)
    for out in (
        redactor.text(f"x {token} y"),
        redactor.header("Authorization", f"DPoP {token}"),
        redactor.field("id_token", token),
        redactor.field("client_assertion", token),
        redactor.field("unlisted", token),
        redactor.url(f"https://c.example/cb?response={token}"),
    ):
        assert header_part not in out
        assert payload_part not in out
        assert signature(token) not in out
    assert "[redacted-sha256-" in redactor.field("id_token", token)


def test_disabled_keeps_everything() -> None:
    """enabled=False leaves every value exactly as it was."""
    redactor = Redactor(enabled=False)
    token = es256_jwt({"sub": "alice"})
    jwk = dict(ECKey.generate_key("P-256", private=True).as_dict(private=True))
    pem = pem_private("pkcs8-ec")
    assert redactor.text(f"{token} {pem}") == f"{token} {pem}"
    assert redactor.field("code", "secret-code") == "secret-code"
    assert redactor.data({"jwk": jwk}) == {"jwk": jwk}
    assert redactor.header("Authorization", "Bearer abc") == "Bearer abc"
    assert redactor.header("Cookie", "a=b") == "a=b"
    assert redactor.url("https://c/cb?code=secret-code") == "https://c/cb?code=secret-code"
    body = urlencode({"code": "secret-code"})
    assert redactor.body(body, "application/x-www-form-urlencoded") == body


# --- Exchange -------------------------------------------------------------------------------


@dataclass
class Secrets:
    """The raw values a realistic token exchange carries."""

    code: str
    code_verifier: str
    client_secret: str
    refresh_token: str
    cookie: str
    assertion: str
    proof: str
    access_token: str
    id_token: str

    @property
    def opaque(self) -> list[str]:
        return [self.code, self.code_verifier, self.refresh_token, self.cookie, self.basic]

    @property
    def basic(self) -> str:
        """The Basic credentials (client_id:client_secret) sent in Authorization."""
        return base64.b64encode(f"{CLIENT_ID}:{self.client_secret}".encode()).decode()

    @property
    def jwts(self) -> list[str]:
        return [self.assertion, self.proof, self.access_token, self.id_token]


def token_exchange() -> tuple[Exchange, Secrets]:
    """A DPoP-bound authorization-code token request and its successful response."""
    client_key = ECKey.generate_key("P-256", {"kid": "client"}, private=True)
    as_key = ECKey.generate_key("P-256", {"kid": "as"}, private=True)
    pkce = jose.pkce_s256()
    values = Secrets(
        code=secrets.token_urlsafe(32),
        code_verifier=pkce.verifier,
        client_secret=secrets.token_urlsafe(24),
        refresh_token=secrets.token_urlsafe(32),
        cookie=secrets.token_hex(16),
        assertion=jose.client_assertion(CLIENT_ID, ISSUER, client_key),
        proof=jose.dpop_proof(jose.new_dpop_key(), "POST", TOKEN_URL),
        access_token=jose.sign(
            {"alg": "ES256", "kid": "as", "typ": "at+jwt"},
            {"iss": ISSUER, "sub": "alice", "client_id": CLIENT_ID, "scope": "accounts"},
            as_key,
        ),
        id_token=jose.sign(
            {"alg": "ES256", "kid": "as"},
            {"iss": ISSUER, "sub": "alice", "aud": CLIENT_ID, "nonce": "n-0S6"},
            as_key,
        ),
    )
    form = {
        "grant_type": "authorization_code",
        "code": values.code,
        "code_verifier": values.code_verifier,
        "redirect_uri": "https://client.example.test/cb",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": values.assertion,
    }
    response = {
        "access_token": values.access_token,
        "token_type": "DPoP",
        "expires_in": 300,
        "refresh_token": values.refresh_token,
        "id_token": values.id_token,
        "scope": "openid accounts",
    }
    exchange = Exchange(
        label="token",
        method="POST",
        url=TOKEN_URL,
        request_headers=[
            ("content-type", "application/x-www-form-urlencoded"),
            ("DPoP", values.proof),
            ("Authorization", f"Basic {values.basic}"),
            ("Cookie", f"sid={values.cookie}"),
        ],
        request_body=urlencode(form),
        identity="client client-one (mTLS certificate)",
        status=200,
        response_headers=[
            ("Content-Type", "application/json; charset=utf-8"),
            ("Cache-Control", "no-store"),
            ("Set-Cookie", f"sid={values.cookie}; Secure; HttpOnly"),
        ],
        response_body=json.dumps(response),
        tls_version="TLSv1.3",
    )
    return exchange, values


def test_exchange_to_dict_hides_every_secret() -> None:
    """No raw secret and no full JWT signature survives; JWT claims stay readable under jwts."""
    exchange, values = token_exchange()
    dumped = json.dumps(exchange.to_dict(Redactor()))
    for secret in values.opaque:
        assert secret not in dumped
        assert secret[4:] not in dumped
    assert values.client_secret not in dumped
    for token in values.jwts:
        assert token not in dumped
        assert signature(token) not in dumped
        assert signature(token)[6:] not in dumped
        assert signing_input(token) in dumped  # header and payload stay readable


def test_exchange_to_dict_decodes_jwts() -> None:
    """Every JWT of the exchange appears decoded, with where it was found."""
    exchange, _ = token_exchange()
    evidence = exchange.to_dict(Redactor())
    decoded = {j["where"]: j for j in evidence["jwts"]}
    assert set(decoded) == {
        "request header DPoP",
        "request client_assertion",
        "response access_token",
        "response id_token",
    }
    assert decoded["request client_assertion"]["claims"]["iss"] == CLIENT_ID
    assert decoded["request client_assertion"]["claims"]["aud"] == ISSUER
    assert decoded["request client_assertion"]["header"]["kid"] == "client"
    assert decoded["request header DPoP"]["header"]["typ"] == "dpop+jwt"
    assert "d" not in decoded["request header DPoP"]["header"]["jwk"]
    assert decoded["request header DPoP"]["claims"]["htu"] == TOKEN_URL
    assert decoded["response id_token"]["claims"]["nonce"] == "n-0S6"
    assert decoded["response access_token"]["header"]["typ"] == "at+jwt"


def test_exchange_to_dict_shape() -> None:
    """The redacted evidence keeps the non-secret facts a reader needs."""
    exchange, values = token_exchange()
    evidence = exchange.to_dict(Redactor())
    assert evidence["kind"] == "exchange"
    assert evidence["request"]["method"] == "POST"
    assert evidence["request"]["url"] == TOKEN_URL
    assert evidence["response"]["status"] == 200
    assert evidence["response"]["tls_version"] == "TLSv1.3"
    body = json.loads(evidence["response"]["body"])
    assert body["token_type"] == "DPoP"
    assert body["expires_in"] == 300
    assert body["refresh_token"] == opaque_form(values.refresh_token)
    headers = dict(evidence["response"]["headers"])
    assert headers["Set-Cookie"] == REDACTED
    assert headers["Cache-Control"] == "no-store"
    assert "grant_type=authorization_code" in evidence["request"]["body"]


def test_exchange_to_dict_tokens_mode() -> None:
    """With tokens=True not even the header and payload of a JWT are left in the raw parts."""
    exchange, values = token_exchange()
    evidence = exchange.to_dict(Redactor(tokens=True))
    raw_parts = json.dumps([evidence["request"], evidence["response"]])
    for token in values.jwts:
        assert signing_input(token) not in raw_parts
        assert signature(token) not in raw_parts
    for secret in values.opaque:
        assert secret not in raw_parts


def test_exchange_to_dict_unredacted() -> None:
    """enabled=False keeps the raw values (local debugging)."""
    exchange, values = token_exchange()
    dumped = json.dumps(exchange.to_dict(Redactor(enabled=False)))
    for secret in [*values.opaque, *values.jwts]:
        assert secret in dumped


def test_exchange_without_response() -> None:
    """A transport failure has no response part but keeps the error."""
    exchange = Exchange(
        "PAR", "POST", f"{ISSUER}/par", [], "", "none", error="ConnectError: refused"
    )
    evidence = exchange.to_dict(Redactor())
    assert evidence["response"] is None
    assert evidence["error"] == "ConnectError: refused"
    assert evidence["jwts"] == []


def test_exchange_header_lookup_case_insensitive() -> None:
    """header, headers_named and request_header ignore case."""
    exchange = Exchange(
        "r",
        "GET",
        RESOURCE_URL,
        [("X-Request", "one"), ("x-request", "two")],
        "",
        "none",
        status=401,
        response_headers=[
            ("WWW-Authenticate", 'DPoP error="invalid_token"'),
            ("www-authenticate", 'Bearer error="invalid_token"'),
            ("Content-Type", "application/json"),
        ],
    )
    assert exchange.header("www-authenticate") == 'DPoP error="invalid_token"'
    assert exchange.header("WWW-AUTHENTICATE") == 'DPoP error="invalid_token"'
    assert exchange.headers_named("Www-Authenticate") == [
        'DPoP error="invalid_token"',
        'Bearer error="invalid_token"',
    ]
    assert exchange.header("content-TYPE") == "application/json"
    assert exchange.header("missing") is None
    assert exchange.headers_named("missing") == []
    assert exchange.request_header("X-REQUEST") == "one"
    assert exchange.request_header("nope") is None


@pytest.mark.parametrize("body", ["", "<html>error</html>", "not json", "{broken"])
def test_exchange_json_none_when_not_json(body: str) -> None:
    """json() gives None for a body that is not JSON."""
    exchange = Exchange("r", "GET", RESOURCE_URL, [], "", "none", status=200, response_body=body)
    assert exchange.json() is None


def test_exchange_json_and_form() -> None:
    """json() parses the response body and form() the request body."""
    exchange = Exchange(
        "r",
        "POST",
        TOKEN_URL,
        [],
        "grant_type=refresh_token&scope=a+b",
        "none",
        status=200,
        response_body='{"a": [1, 2]}',
    )
    assert exchange.json() == {"a": [1, 2]}
    assert exchange.form() == {"grant_type": "refresh_token", "scope": "a b"}


def test_decode_jwt_parts() -> None:
    """Header and claims of a JWT, None for what is not one."""
    token = es256_jwt({"sub": "alice"}, kid="k1")
    assert decode_jwt_parts(token) == ({"alg": "ES256", "kid": "k1"}, {"sub": "alice"})
    assert decode_jwt_parts("a.b.c") is None
    assert decode_jwt_parts("only-one-part") is None
    array = jose.b64url(b"[1]")
    assert decode_jwt_parts(f"{array}.{array}.sig") is None


def test_other_evidence_is_redacted() -> None:
    """Notes, screenshots and server events go through the redactor too."""
    code = secrets.token_urlsafe(24)
    callback = f"https://client.example.test/cb?code={code}&state=s"
    redactor = Redactor()
    assert code not in json.dumps(Note("authorization response", callback).to_dict(redactor))
    assert code not in json.dumps(Screenshot("login", callback, b"").to_dict(redactor))
    event = ServerEvent({"ts": 1.5, "params": {"code": code}})
    assert code not in json.dumps(event.to_dict(redactor))
    assert event.started == 1.5


# --- recorder -------------------------------------------------------------------------------


def test_recording_sends_evidence_and_restores_previous() -> None:
    """Nested recording blocks collect their own evidence and restore the one before."""
    before = current_recorder()
    outer, inner = Recorder(), Recorder()
    first, second, third = Note("1", "a"), Note("2", "b"), Note("3", "c")
    with recording(outer) as active:
        assert active is outer
        assert current_recorder() is outer
        record(first)
        with recording(inner):
            assert current_recorder() is inner
            record(second)
        assert current_recorder() is outer
        record(third)
    assert current_recorder() is before
    assert outer.items == [first, third]
    assert inner.items == [second]


def test_recording_restores_after_exception() -> None:
    """An exception inside the block still restores the previous recorder."""
    before = current_recorder()
    with pytest.raises(RuntimeError), recording(Recorder()):
        raise RuntimeError("boom")
    assert current_recorder() is before


def test_record_without_recorder_is_noop() -> None:
    """Outside a test, record() drops the evidence silently."""
    before = current_recorder()
    set_recorder(None)
    try:
        assert current_recorder() is None
        record(Note("lost", "nobody listens"))
    finally:
        set_recorder(before)
    assert current_recorder() is before


def test_recorder_exchanges_filters() -> None:
    """Recorder.exchanges lists only the HTTP exchanges, in order."""
    recorder = Recorder()
    first = Exchange("a", "GET", RESOURCE_URL, [], "", "none")
    second = Exchange("b", "GET", RESOURCE_URL, [], "", "none")
    recorder.add(first)
    recorder.add(Note("n", "t"))
    recorder.add(second)
    assert recorder.exchanges == [first, second]


# --- redaction gaps (bugs) ------------------------------------------------------------------


def test_json_body_with_wrong_media_type_is_redacted() -> None:
    """Secrets in a JSON body are hidden even if the server declares the wrong media type."""
    refresh = secrets.token_urlsafe(32)
    exchange = Exchange(
        "token",
        "POST",
        TOKEN_URL,
        [],
        "",
        "none",
        status=200,
        response_headers=[("Content-Type", "text/plain")],
        response_body=json.dumps(
            {"access_token": "opaque-at-1234567890", "refresh_token": refresh}
        ),
    )
    dumped = json.dumps(exchange.to_dict(Redactor()))
    assert refresh not in dumped
    assert "opaque-at-1234567890" not in dumped


def test_location_header_code_redacted() -> None:
    """An authorization code in a redirect's Location header is redacted like in a URL."""
    code = secrets.token_urlsafe(24)
    out = Redactor().header("Location", f"https://client.example.test/cb?code={code}&state=s")
    assert code not in out


def test_url_fragment_code_redacted() -> None:
    """Secrets in a URL fragment are redacted too."""
    code = secrets.token_urlsafe(24)
    out = Redactor().url(f"https://client.example.test/cb#code={code}&state=s")
    assert code not in out


def test_authorization_header_without_scheme_redacted() -> None:
    """A bare token in Authorization is not shown."""
    token = secrets.token_urlsafe(32)
    assert token not in Redactor().header("Authorization", token)


def test_redacted_query_keeps_ellipsis_readable() -> None:
    """The ellipsis of a redacted value stays unescaped in a query, as READABLE intends."""
    out = Redactor().url("https://client.example.test/cb?code=abcdefghijklmnop&state=s")
    assert "%E2%80%A6" not in out
    assert "abcd…[redacted-sha256-" in out


def test_short_secrets_show_nothing_of_themselves() -> None:
    """A secret of 12 characters or fewer is shown only as its hash."""
    out = Redactor().field("code", "abcd1234")
    assert "abcd" not in out
    assert out.startswith("…[redacted-sha256-")


def test_the_running_tests_tag_is_current_and_kept_by_set_up_evidence() -> None:
    assert current_tag() is None
    with recording(Recorder(tag="123-4")):
        assert current_tag() == "123-4"
        with flows.collecting() as shared:
            assert current_tag() == "123-4"  # set-up traffic names the test it runs for
            record(Note("x", "y"))
    assert current_tag() is None
    assert [i.label for i in shared.items if isinstance(i, Note)] == ["x"]


def test_wait_until_waits_only_for_what_is_left_and_says_so() -> None:
    with recording(Recorder()) as rec:
        flows.wait_until(time.time() - 5, "a code to expire")
        flows.wait_until(time.time() + 0.2, "a request_uri to expire")
    notes = [i for i in rec.items if isinstance(i, Note)]
    assert [n.label for n in notes] == ["wait", "wait"]
    assert notes[0].elapsed_s == 0.0
    assert notes[0].text == "waited 0 s more for a code to expire"
    assert notes[1].elapsed_s is not None and 0.1 < notes[1].elapsed_s < 0.5
    assert notes[1].to_dict(Redactor())["elapsed_s"] == round(notes[1].elapsed_s, 4)
    assert "elapsed_s" not in Note("a", "b").to_dict(Redactor())


# --- TLS probes (issue 5) -------------------------------------------------------------------


def test_tls_probe_record_is_structured_and_summarised() -> None:
    """A TLS probe is written as kind tls_probe: a one-line text for the report and the probe's
    fields; the schema accepts it."""
    from importlib import resources

    import jsonschema

    from harness.evidence import TlsProbe

    probe = TlsProbe("TLSv1.1 alone", "as.example", 443, "TLSv1.1", None, "refused", error="alert")
    out = probe.to_dict(Redactor())
    assert out["kind"] == "tls_probe"
    assert out["text"] == "as.example:443 offered TLSv1.1; refused: alert"
    assert out["probe"]["outcome"] == "refused"
    schema = json.loads((resources.files("harness.report") / "results.schema.json").read_text())
    jsonschema.validate(out, {"$defs": schema["$defs"], "$ref": "#/$defs/evidence"})
    bad = {**out, "kind": "tls_probe_typo"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, {"$defs": schema["$defs"], "$ref": "#/$defs/evidence"})
