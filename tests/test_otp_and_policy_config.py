"""Second-factor login steps and the MFA policy (provider_policy/mfa): the one-time codes the
harness types (RFC 4226 / RFC 6238 test vectors) and their configuration."""

from __future__ import annotations

import base64
import copy
from pathlib import Path
from typing import Any

import pytest

from harness.config import ConfigError, load_config, parse_config, totp_secret_valid
from harness.otp import hotp, secret_bytes, totp, wrong_totp
from harness.targets.reference import MFA_ACR, TOTP_SECRET_PLACEHOLDER, generate_material
from tests.conftest import minimal_config

# RFC 4226 Appendix D and RFC 6238 Appendix B (SHA-1): the ASCII key "12345678901234567890".
RFC_KEY = b"12345678901234567890"
RFC_SECRET = base64.b32encode(RFC_KEY).decode("ascii")
HOTP_VECTORS = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583"]
TOTP_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


@pytest.mark.parametrize(("counter", "code"), list(enumerate(HOTP_VECTORS)))
def test_hotp_matches_rfc4226_vectors(counter: int, code: str) -> None:
    assert hotp(RFC_KEY, counter) == code


@pytest.mark.parametrize(("at", "code"), TOTP_VECTORS)
def test_totp_matches_rfc6238_sha1_vectors(at: int, code: str) -> None:
    assert totp(RFC_SECRET, at, digits=8) == code
    # The six-digit code authenticator apps show is the same number's last six digits.
    assert totp(RFC_SECRET, at) == code[-6:]


def test_secret_decoding_ignores_case_spaces_and_padding() -> None:
    spaced = " ".join(RFC_SECRET[i : i + 4] for i in range(0, len(RFC_SECRET), 4)).lower()
    assert secret_bytes(spaced) == RFC_KEY
    assert secret_bytes(RFC_SECRET.rstrip("=")) == RFC_KEY


@pytest.mark.parametrize("at", [0, 59, 1111111109, 1_700_000_000])
def test_wrong_code_is_no_code_of_the_nearby_steps(at: int) -> None:
    wrong = wrong_totp(RFC_SECRET, at)
    assert len(wrong) == 6 and wrong.isdigit()
    assert all(wrong != totp(RFC_SECRET, at + k * 30) for k in range(-2, 3) if at + k * 30 >= 0)


@pytest.mark.parametrize(
    ("secret", "valid"),
    [(RFC_SECRET, True), ("JBSWY3DPEHPK3PXP", True), ("short", False), ("not base32!!", False)],
)
def test_totp_secret_validation(secret: str, valid: bool) -> None:
    assert totp_secret_valid(secret) is valid


def _with_second_factor(action: dict[str, Any], **page: Any) -> dict[str, Any]:
    data = copy.deepcopy(minimal_config())
    data["browser"]["login"].append({"name": "otp", "url": "**", "actions": [action], **page})
    return data


def test_second_factor_step_and_policy_load(config_dir: Path) -> None:
    data = _with_second_factor(
        {"fill": "input[name=otp]", "totp": RFC_SECRET}, kind="second_factor"
    )
    data["policy"] = {"mfa_acr": "urn:example:mfa"}
    config = parse_config(data, config_dir)
    page = config.browser.login[-1]
    assert page.kind == "second_factor"
    assert page.actions[0].totp == RFC_SECRET
    assert config.policy.mfa_acr == "urn:example:mfa"
    # The secret stays out of the model's repr (and so out of logs of it).
    assert RFC_SECRET not in repr(config.browser)


def test_mfa_acr_defaults_to_none(config_dir: Path) -> None:
    assert parse_config(minimal_config(), config_dir).policy.mfa_acr is None


def test_totp_secret_from_the_environment(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTP_SECRET", RFC_SECRET)
    data = _with_second_factor({"fill": "input", "totp": "${OTP_SECRET}"})
    assert parse_config(data, config_dir).browser.login[-1].actions[0].totp == RFC_SECRET


@pytest.mark.parametrize(
    ("action", "page", "field", "words"),
    [
        (
            {"fill": "input", "totp": "not base32!!"},
            {},
            "browser.login[1].actions[0].totp",
            "base32",
        ),
        ({"fill": "input", "value": "1", "totp": RFC_SECRET}, {}, "actions[0]", "exactly one"),
        ({"click": "button", "totp": RFC_SECRET}, {}, "actions[0]", "click takes no"),
        (
            {"fill": "input", "value": "1"},
            {"kind": "mfa"},
            "browser.login[1].kind",
            "second_factor",
        ),
    ],
)
def test_second_factor_errors_name_the_field(
    action: dict[str, Any], page: dict[str, Any], field: str, words: str, config_dir: Path
) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(_with_second_factor(action, **page), config_dir)
    message = str(info.value)
    assert field in message
    assert words in message
    assert "not base32!!" not in message  # a (wrong) secret is never echoed


def test_empty_mfa_acr_is_named(config_dir: Path) -> None:
    with pytest.raises(ConfigError, match=r"policy\.mfa_acr"):
        parse_config(minimal_config(policy={"mfa_acr": ""}), config_dir)


def test_reference_target_material_carries_the_mfa_policy(tmp_path: Path) -> None:
    """The reference target's configuration gets the MFA acr and a per-run TOTP secret that the
    server settings share; the file holding it is readable by its owner only."""
    settings = generate_material(tmp_path, 8443, "https://127.0.0.1:9443/cb")
    config = load_config(tmp_path / "target.toml")
    assert config.policy.mfa_acr == MFA_ACR == settings["mfa"]["acr"]
    [page] = [p for p in config.browser.login if p.kind == "second_factor"]
    secrets = [a.totp for a in page.actions if a.totp is not None]
    assert secrets == [settings["mfa"]["totpSecret"]]
    assert secrets[0] != TOTP_SECRET_PLACEHOLDER and totp_secret_valid(secrets[0])
    assert [p.kind for p in config.browser.login] == ["login", "consent", "second_factor"]
    assert (tmp_path / "target.toml").stat().st_mode & 0o077 == 0
    # A second run gets a secret of its own.
    other = generate_material(tmp_path / "again", 8443, "https://127.0.0.1:9443/cb")
    assert other["mfa"]["totpSecret"] != secrets[0]
