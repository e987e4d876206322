"""Target configuration: valid files load; every error names the field at fault."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from harness.config import ConfigError, load_config, parse_config
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
            lambda d: d["clients"][1].update(auth_method="client_secret_basic"),
            "clients[1].auth_method",
            "",
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
