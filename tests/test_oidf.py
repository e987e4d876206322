"""Importing an OpenID Foundation suite configuration: variant detection, browser tasks, and a
happy flow run against the reference target from an OIDF-style file."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from harness.config import ConfigError
from harness.oidf import detect_variant, import_oidf, is_oidf_config, login_pages
from tests.conftest import run_env

CLI = [sys.executable, "-m", "harness.cli"]
BOTH = {
    "token_endpoint_auth_methods_supported": ["private_key_jwt", "tls_client_auth"],
    "dpop_signing_alg_values_supported": ["ES256"],
    "tls_client_certificate_bound_access_tokens": True,
}


def test_variant_from_discovery_and_keys() -> None:
    v = detect_variant(BOTH, has_private_jwks=True, has_mtls=False)
    assert (v.name, "client.jwks holds a private key" in v.why) == ("private_key_jwt-dpop", True)
    v = detect_variant(BOTH, has_private_jwks=False, has_mtls=True)
    assert v.name == "tls_client_auth-mtls"
    assert "already authenticates with its certificate" in v.why
    v = detect_variant(BOTH, has_private_jwks=True, has_mtls=True)
    assert v.name == "private_key_jwt-dpop"
    only_mtls = {**BOTH, "dpop_signing_alg_values_supported": []}
    assert detect_variant(only_mtls, has_private_jwks=True, has_mtls=True).name == (
        "private_key_jwt-mtls"
    )
    given = detect_variant(BOTH, has_private_jwks=True, has_mtls=True, sender_constraint="mtls")
    assert given.name == "private_key_jwt-mtls" and "as configured" in given.why


def test_variant_that_cannot_be_derived_names_the_field() -> None:
    with pytest.raises(ConfigError, match=r"^client_auth: cannot derive"):
        detect_variant(BOTH, has_private_jwks=False, has_mtls=False)
    no_binding = {"token_endpoint_auth_methods_supported": ["private_key_jwt"]}
    with pytest.raises(ConfigError, match=r"^sender_constraint: cannot derive"):
        detect_variant(no_binding, has_private_jwks=True, has_mtls=False)


def test_browser_tasks_become_login_pages_in_order() -> None:
    browser = [
        {
            "match": "https://as.example/auth*",
            "tasks": [
                {
                    "task": "Login",
                    "match": "https://as.example/interaction*",
                    "commands": [
                        ["text", "name", "login", "alice", "optional"],
                        ["text", "id", "pw", "secret"],
                        ["click", "class", "login-submit"],
                    ],
                },
                {
                    "task": "Consent",
                    "match": "https://as.example/interaction*",
                    "commands": [["click", "xpath", "//button[@type='submit']"]],
                },
                {
                    "task": "Verify Complete",
                    "match": "https://*/test/a/*/callback*",
                    "commands": [["wait", "id", "submission_complete", 10]],
                },
                {
                    "task": "MFA",
                    "match": "https://as.example/otp*",
                    "commands": [["text", "css", "input.otp", "123456"]],
                },
            ],
        }
    ]
    pages, dropped = login_pages(browser)
    assert [p["name"] for p in pages] == ["Login", "Consent", "MFA"]
    assert all("visit" not in p for p in pages)
    assert pages[0]["actions"] == [
        {"fill": "[name='login']", "value": "alice"},
        {"fill": "[id='pw']", "value": "secret"},
        {"click": ".login-submit"},
    ]
    assert pages[1]["actions"] == [{"click": "xpath=//button[@type='submit']"}]
    assert any("Verify Complete" in d for d in dropped)
    with pytest.raises(ConfigError, match=r"browser\[0\]\.tasks\[0\]\.commands\[0\]: unsupported"):
        login_pages([{"tasks": [{"match": "x", "commands": [["hover", "id", "a"]]}]}])


def _oidf_doc(target: dict[str, Any], workdir: Path, variant: str) -> dict[str, Any]:
    """An OIDF-style configuration for one pair of the reference target's clients."""
    pair = next(v for v in target["variants"] if v["name"] == variant)
    issuer = target["issuer"]
    doc: dict[str, Any] = {
        "alias": "fapi-harness-reference",
        "server": {"discoveryUrl": f"{issuer}/.well-known/openid-configuration"},
        "resource": {"resourceUrl": target["resource"]["url"]},
        "browser": [
            {
                "match": f"{issuer}/auth*",
                "tasks": [
                    {
                        "task": "Login",
                        "optional": True,
                        "match": f"{issuer}/interaction*",
                        "commands": [
                            ["text", "name", "login", "alice"],
                            ["text", "name", "password", "any"],
                            ["click", "css", "button[type=submit]"],
                        ],
                    },
                    {
                        "task": "Consent",
                        "optional": True,
                        "match": f"{issuer}/interaction*",
                        "commands": [["click", "css", "button[type=submit]"]],
                    },
                    {
                        "task": "Verify Complete",
                        "match": "https://*/test/a/*/callback*",
                        "commands": [["wait", "id", "submission_complete", 10]],
                    },
                ],
            }
        ],
        "fapi-harness": {"ca_file": str(workdir / target["ca_file"])},
    }
    for section, mtls, client_id in (
        ("client", "mtls", pair["client"]),
        ("client2", "mtls2", pair["client2"]),
    ):
        client = next(c for c in target["clients"] if c["client_id"] == client_id)
        doc[section] = {
            "client_id": client_id,
            "scope": client["scope"],
            "redirect_uri": client["redirect_uri"],
        }
        if "jwks_file" in client:
            doc[section]["jwks"] = json.loads((workdir / client["jwks_file"]).read_text())
        if "cert_file" in client:
            doc[mtls] = {
                "cert": (workdir / client["cert_file"]).read_text(),
                "key": (workdir / client["key_file"]).read_text(),
            }
    assert is_oidf_config(doc)
    return doc


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env=run_env(cwd),
        check=False,
    )


def test_oidf_happy(tmp_path: Path) -> None:
    """The README's promise: a provider with an OIDF suite file starts in a minute. Both an
    import to target.toml and the JSON used directly run the happy flow, with the variant
    derived from discovery and the clients' credentials."""
    started = _cli("target", "start", "--dir", "t", "--detach", cwd=tmp_path)
    assert started.returncode == 0, started.stderr
    try:
        workdir = tmp_path / "t"
        target = tomllib.loads((workdir / "target.toml").read_text())
        # private_key_jwt clients without certificates: private_key_jwt + DPoP is derived
        (tmp_path / "pkjwt.json").write_text(
            json.dumps(_oidf_doc(target, workdir, "private_key_jwt-dpop"))
        )
        imported = _cli("import-oidf", "pkjwt.json", "--out", "imp", cwd=tmp_path)
        assert imported.returncode == 0, imported.stderr
        assert "variant private_key_jwt-dpop: private_key_jwt:" in imported.stdout
        config = tomllib.loads((tmp_path / "imp" / "target.toml").read_text())
        assert [p["name"] for p in config["browser"]["login"]] == ["Login", "Consent"]
        run = _cli(
            "run",
            "--config",
            "imp/target.toml",
            "--out",
            "o1",
            "-k",
            "happy",
            "--workers",
            "1",
            cwd=tmp_path,
        )
        assert run.returncode == 0, run.stdout[-3000:]
        doc = json.loads((tmp_path / "o1" / "results.json").read_text())
        assert [(t["variant"], t["outcome"]) for t in doc["tests"]] == [
            ("private_key_jwt-dpop", "passed")
        ]
        assert any(n.startswith("variant private_key_jwt-dpop: ") for n in doc["notices"])
        # certificate-authenticated clients, the OIDF file used directly: tls_client_auth + mTLS
        (tmp_path / "mtls.json").write_text(
            json.dumps(_oidf_doc(target, workdir, "tls_client_auth-mtls"))
        )
        run = _cli(
            "run",
            "--config",
            "mtls.json",
            "--out",
            "o2",
            "-k",
            "happy",
            "--workers",
            "1",
            cwd=tmp_path,
        )
        assert run.returncode == 0, run.stdout[-3000:]
        doc = json.loads((tmp_path / "o2" / "results.json").read_text())
        assert [(t["variant"], t["outcome"]) for t in doc["tests"]] == [
            ("tls_client_auth-mtls", "passed")
        ]
        assert any("is an OpenID Foundation suite configuration" in n for n in doc["notices"])
    finally:
        stopped = _cli("target", "stop", "--dir", "t", cwd=tmp_path)
    assert stopped.returncode == 0


def test_import_errors_name_the_field(tmp_path: Path) -> None:
    meta = {"issuer": "https://as.example", **BOTH}
    doc: dict[str, Any] = {
        "server": {"discoveryUrl": "https://as.example/.well-known/openid-configuration"},
        "client": {"client_name": "one"},
        "client2": {"client_id": "two"},
        "resource": {"resourceUrl": "https://rs.example/accounts"},
        "browser": [],
    }
    with pytest.raises(ConfigError, match=r"^client\.client_id: missing"):
        import_oidf(doc, meta, tmp_path, redirect_uri="https://c.example/cb")
    doc["client"] = {"client_id": "one"}
    with pytest.raises(ConfigError, match=r"^client\.redirect_uri: unknown"):
        import_oidf(doc, meta, tmp_path)
    with pytest.raises(ConfigError, match=r"^client_auth: cannot derive"):
        import_oidf(doc, meta, tmp_path, redirect_uri="https://c.example/cb")
    doc["alias"] = "bank"
    doc["client"]["jwks"] = doc["client2"]["jwks"] = {"keys": [{"kty": "EC", "d": "x"}]}
    with pytest.raises(ConfigError, match=r"^browser: must be a non-empty list"):
        import_oidf(doc, meta, tmp_path)
