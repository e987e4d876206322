"""Target configuration: valid files load; every error names the field at fault."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import tomli_w
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from harness.config import SCHEMA_FILE, ConfigError, config_schema, load_config, parse_config
from tests.conftest import minimal_config


def test_valid_config_loads_and_resolves_paths(config_dir: Path) -> None:
    config = parse_config(minimal_config(), config_dir)
    assert config.issuer == "https://as.example.test"
    assert config.discovery == "https://as.example.test/.well-known/openid-configuration"
    assert config.client("c1").jwks_file == config_dir / "c1.jwks.json"
    assert config.timeouts.read == 15.0


def test_toml_and_json_files_load_the_same(config_dir: Path) -> None:
    (config_dir / "t.toml").write_text(tomli_w.dumps(minimal_config()))
    (config_dir / "t.json").write_text(json.dumps(minimal_config()))
    assert load_config(config_dir / "t.toml") == load_config(config_dir / "t.json")


def test_resource_defaults_to_get_without_body(config_dir: Path) -> None:
    resource = parse_config(minimal_config(), config_dir).resource
    assert (resource.method, resource.body, resource.content_type) == ("GET", None, None)


@pytest.mark.parametrize(
    ("media_type", "sent"),
    [
        (None, "application/json"),
        ("application/x-www-form-urlencoded", "application/x-www-form-urlencoded"),
        ('application/json; charset="utf-8"', 'application/json; charset="utf-8"'),
    ],
)
def test_resource_body_and_media_type(media_type: str | None, sent: str, config_dir: Path) -> None:
    data = minimal_config()
    data["resource"].update(method="POST", body='{"a": 1}')
    if media_type is not None:
        data["resource"]["media_type"] = media_type
    resource = parse_config(data, config_dir).resource
    assert resource.body == '{"a": 1}'
    assert resource.content_type == sent


def _error(data: dict[str, Any], base: Path) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(data, base)
    return str(info.value)


@pytest.mark.parametrize(
    ("mutate", "field", "words"),
    [
        (lambda d: d.pop("issuer"), "issuer", "Field required"),
        (lambda d: d.update(issuer="http://as.example.test"), "issuer", "https://"),
        (lambda d: d["clients"][0].pop("jwks_file"), "clients[0]", "jwks_file is required"),
        (
            lambda d: d["clients"][1].update(auth_method="client_secret_basic", client_secret="s"),
            "clients[1].auth_method",
            "not a FAPI 2.0 method",
        ),
        (
            lambda d: d["clients"][0].update(sender_constraint="mtls"),
            "clients[0]",
            "cert_file and key_file",
        ),
        (
            lambda d: d["variants"][0].update(client2="nobody"),
            "variants[0].client2",
            "unknown client",
        ),
        (lambda d: d["variants"][0].update(client2="c1"), "variants[0]", "different clients"),
        (lambda d: d["resource"].update(url="ftp://x"), "resource.url", "https://"),
        (lambda d: d["resource"].update(body="{}"), "resource", "method = 'POST'"),
        (
            lambda d: d["resource"].update(method="POST", media_type="application/json"),
            "resource",
            "media_type needs a body",
        ),
        (
            lambda d: d["resource"].update(method="POST", body="x", media_type="json"),
            "resource.media_type",
            "not a media type",
        ),
        (lambda d: d.update(surprise=1), "surprise", "Extra inputs"),
        (
            lambda d: d["browser"]["login"][0]["actions"][0].update(fill="input"),
            "actions[0]",
            "exactly one",
        ),
        (lambda d: d.update(timeouts={"read": 0}), "timeouts.read", "greater than 0"),
        # --- per-client FAPI enforcement (provider_policy/downgrade) ---
        (
            lambda d: d["clients"][1].update(auth_method="client_secret_post"),
            "clients[1]",
            "client_secret is required",
        ),
        (
            lambda d: d["clients"][1].update(sender_constraint="bearer"),
            "clients[1].sender_constraint",
            "only control clients",
        ),
        (
            lambda d: d["clients"][1].update(redirect_uri="http://127.0.0.1:9/cb"),
            "clients[1].redirect_uri",
            "https://",
        ),
        (
            lambda d: d.update(policy={"control_clients": ["nobody"]}),
            "policy.control_clients[0]",
            "unknown client",
        ),
        (
            lambda d: d.update(policy={"control_clients": ["c2"]}),
            "policy.control_clients[0]",
            "variant's client",
        ),
    ],
)
def test_errors_name_the_field(mutate: Any, field: str, words: str, config_dir: Path) -> None:
    data = copy.deepcopy(minimal_config())
    mutate(data)
    message = _error(data, config_dir)
    assert field in message
    assert words in message


def test_missing_file_is_named(config_dir: Path) -> None:
    data = minimal_config()
    data["clients"][1]["jwks_file"] = "missing.json"
    assert "clients[1].jwks_file: file not found: missing.json" in _error(data, config_dir)


def test_env_interpolation(config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AS_HOST", "as.prod.example.test")
    config = parse_config(minimal_config(issuer="https://${AS_HOST}"), config_dir)
    assert config.issuer == "https://as.prod.example.test"


def test_unset_env_variable_is_named(config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    message = _error(minimal_config(issuer="https://${NOT_SET_ANYWHERE}"), config_dir)
    assert "issuer: environment variable NOT_SET_ANYWHERE is not set" in message


def test_unparsable_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text("issuer = ")
    with pytest.raises(ConfigError, match="cannot parse"):
        load_config(tmp_path / "bad.toml")


# --- hostile targets (issue 9): time limits, hosts, guards ------------------------------------


def test_time_limits_and_guards_have_sane_defaults(config_dir: Path) -> None:
    config = parse_config(minimal_config(), config_dir)
    assert (config.timeouts.request, config.timeouts.test) == (30.0, 300.0)
    assert config.guards.probe and config.guards.max_consecutive_errors == 5
    assert config.hosts == {"as.example.test", "rs.example.test"}
    extra = parse_config(minimal_config(allowed_hosts=["MTLS.as.example.test"]), config_dir)
    assert "mtls.as.example.test" in extra.hosts


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"timeouts": {"request": 0}}, "timeouts.request: Input should be greater than 0"),
        ({"timeouts": {"connect": 10, "request": 5}}, "request (the whole request) must be"),
        ({"timeouts": {"test": 30}}, "test must be longer than code_expiry_wait"),
        ({"guards": {"max_consecutive_errors": -1}}, "guards.max_consecutive_errors"),
        ({"guards": {"probes": False}}, "guards.probes: Extra inputs are not permitted"),
    ],
)
def test_bad_time_limits_and_guards_are_named(
    config_dir: Path, overrides: dict[str, Any], words: str
) -> None:
    assert words in _error(minimal_config(**overrides), config_dir)


def test_the_published_schema_is_the_models() -> None:
    """harness/config.schema.json (for editors) must say what the model checks; after a model
    change, `python -m harness.config` writes it again."""
    assert json.loads(SCHEMA_FILE.read_text()) == config_schema()


def test_the_schema_accepts_a_valid_config_and_names_what_is_wrong() -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    jsonschema.validate(minimal_config(), schema)
    with pytest.raises(jsonschema.ValidationError, match="'colour' was unexpected"):
        jsonschema.validate(minimal_config(colour="blue"), schema)
    with pytest.raises(jsonschema.ValidationError, match="'issuer' is a required property"):
        jsonschema.validate({k: v for k, v in minimal_config().items() if k != "issuer"}, schema)


# --- the tester's own client keys (OIDF setup checks: alg, distinct keys and kids) ---


def _write_jwks(base: Path, name: str, keys: list[dict[str, Any]]) -> None:
    (base / name).write_text(json.dumps({"keys": keys}))


def _jwk(base: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((base / name).read_text())
    return dict(data["keys"][0])


def test_client_key_without_alg_is_refused(config_dir: Path) -> None:
    jwk = _jwk(config_dir, "c1.jwks.json")
    del jwk["alg"]
    _write_jwks(config_dir, "c1.jwks.json", [jwk])
    message = _error(minimal_config(), config_dir)
    assert "clients[0].jwks_file: the first key has no alg" in message


def test_client_key_without_private_part_is_refused(config_dir: Path) -> None:
    jwk = _jwk(config_dir, "c2.jwks.json")
    del jwk["d"]
    _write_jwks(config_dir, "c2.jwks.json", [jwk])
    assert "clients[1].jwks_file: the first key has no private part" in _error(
        minimal_config(), config_dir
    )


def test_empty_client_jwks_is_refused(config_dir: Path) -> None:
    _write_jwks(config_dir, "c2.jwks.json", [])
    assert "clients[1].jwks_file: no keys in the JWKS" in _error(minimal_config(), config_dir)


def test_two_clients_with_the_same_key_are_refused(config_dir: Path) -> None:
    jwk = _jwk(config_dir, "c1.jwks.json")
    _write_jwks(config_dir, "c2.jwks.json", [{**jwk, "kid": "another-kid"}])
    message = _error(minimal_config(), config_dir)
    assert "clients[1].jwks_file" in message
    assert "the two clients need distinct keys" in message


def test_two_clients_with_the_same_kid_are_refused(config_dir: Path) -> None:
    kid = _jwk(config_dir, "c1.jwks.json")["kid"]
    _write_jwks(config_dir, "c2.jwks.json", [{**_jwk(config_dir, "c2.jwks.json"), "kid": kid}])
    message = _error(minimal_config(), config_dir)
    assert "clients[1].jwks_file" in message
    assert "the kids must differ" in message


def test_distinct_keys_without_kids_load(config_dir: Path) -> None:
    for name in ("c1.jwks.json", "c2.jwks.json"):
        jwk = _jwk(config_dir, name)
        del jwk["kid"]
        _write_jwks(config_dir, name, [jwk])
    assert parse_config(minimal_config(), config_dir).client("c2").jwks_file is not None


def test_inline_credentials_become_private_files(config_dir: Path, monkeypatch: Any) -> None:
    """A client's JWKS (an object, or JSON text from an environment variable), certificate and
    key may be given inline instead of as files."""
    jwks = json.loads((config_dir / "c2.jwks.json").read_text())
    monkeypatch.setenv("C2_JWKS", json.dumps(jwks))
    data = minimal_config()
    first = dict(data["clients"][0])
    del first["jwks_file"]
    first["jwks"] = json.loads((config_dir / "c1.jwks.json").read_text())
    first["cert"] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"
    # a key generated now, never committed
    first["key"] = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        .decode()
    )
    second = {k: v for k, v in data["clients"][1].items() if k != "jwks_file"}
    second["jwks"] = "${C2_JWKS}"
    config = parse_config({**data, "clients": [first, second]}, config_dir)
    c1, c2 = config.clients
    assert c1.jwks_file is not None and json.loads(c1.jwks_file.read_text()) == first["jwks"]
    assert c1.jwks_file.stat().st_mode & 0o777 == 0o600
    assert c1.key_file is not None and c1.key_file.read_text() == first["key"].strip() + "\n"
    assert c2.jwks_file is not None and json.loads(c2.jwks_file.read_text()) == jwks
    assert c1.jwks is None and c1.cert is None  # only the files are used from here on


@pytest.mark.parametrize(
    ("inline", "message"),
    [
        ({"jwks": "not json"}, r"clients\[0\]\.jwks: not a JSON object"),
        ({"cert": "just text", "key": "x"}, r"clients\[0\]\.cert: must be PEM text"),
        ({"jwks": {"keys": []}, "jwks_file": "c1.jwks.json"}, r"clients\[0\]\.jwks: give jwks or"),
    ],
)
def test_inline_credential_errors_name_the_field(
    inline: dict[str, Any], message: str, config_dir: Path
) -> None:
    data = minimal_config()
    first = {k: v for k, v in data["clients"][0].items() if k != "jwks_file"} | inline
    with pytest.raises(ConfigError, match=message):
        parse_config({**data, "clients": [first, data["clients"][1]]}, config_dir)


# --- per-client FAPI enforcement (provider_policy/downgrade) ---


def test_control_client_may_use_what_fapi_forbids(config_dir: Path) -> None:
    """A client named in policy.control_clients may use a client secret, bearer tokens and an
    http redirect URI; the variants' clients stay FAPI."""
    data = copy.deepcopy(minimal_config())
    data["clients"].append(
        {
            "client_id": "ctl",
            "auth_method": "client_secret_basic",
            "client_secret": "s3cret",
            "sender_constraint": "bearer",
            "redirect_uri": "http://127.0.0.1:8080/cb",
        }
    )
    data["policy"] = {"control_clients": ["ctl"]}
    config = parse_config(data, config_dir)
    assert config.policy.control_clients == ("ctl",)
    assert config.client("ctl").client_secret == "s3cret"
    del data["policy"]
    assert "clients[2].auth_method" in _error(data, config_dir)


def test_variants_left_out_are_derived_from_the_clients(config_dir: Path) -> None:
    data = minimal_config()
    del data["variants"]
    config = parse_config(data, config_dir)
    (variant,) = config.variants
    assert (variant.name, variant.client, variant.client2) == ("private_key_jwt-dpop", "c1", "c2")
    assert variant.why is not None and "c1 and c2 both use private_key_jwt" in variant.why
    lonely = copy.deepcopy(data)
    lonely["clients"][1]["sender_constraint"] = "mtls"
    lonely["clients"][1]["cert_file"] = "c1.crt"
    lonely["clients"][1]["key_file"] = "c1.key"
    with pytest.raises(ConfigError, match="variants: none given, and no two clients share"):
        parse_config(lonely, config_dir)
