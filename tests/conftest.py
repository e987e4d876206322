"""Shared fixtures for the harness's own tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from joserfc.jwk import ECKey

pytest_plugins = ["pytester"]


def write_client_keys(folder: Path) -> None:
    """The private JWKS files of ``minimal_config``'s two clients: distinct keys, with alg and
    kid, generated now (never committed)."""
    for name in ("c1", "c2"):
        key = ECKey.generate_key("P-256", private=True)
        key.ensure_kid()
        jwk = {**key.as_dict(private=True), "alg": "ES256"}
        (folder / f"{name}.jwks.json").write_text(json.dumps({"keys": [jwk]}))


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A folder with the two clients' private JWKS and a PEM pair."""
    write_client_keys(tmp_path)
    (tmp_path / "c1.crt").write_text("placeholder certificate")
    (tmp_path / "c1.key").write_text("placeholder key")
    return tmp_path


def minimal_config(**overrides: Any) -> dict[str, Any]:
    """A valid target configuration mapping; ``overrides`` replace top-level fields."""
    base: dict[str, Any] = {
        "name": "unit",
        "issuer": "https://as.example.test",
        "resource": {"url": "https://rs.example.test/accounts"},
        "clients": [
            {
                "client_id": "c1",
                "auth_method": "private_key_jwt",
                "sender_constraint": "dpop",
                "redirect_uri": "https://client.example.test/cb",
                "jwks_file": "c1.jwks.json",
            },
            {
                "client_id": "c2",
                "auth_method": "private_key_jwt",
                "sender_constraint": "dpop",
                "redirect_uri": "https://client.example.test/cb",
                "jwks_file": "c2.jwks.json",
            },
        ],
        "variants": [{"name": "private_key_jwt-dpop", "client": "c1", "client2": "c2"}],
        "browser": {"login": [{"name": "login", "url": "**", "actions": [{"click": "button"}]}]},
    }
    base.update(overrides)
    return base


def run_env(tmp: Path) -> dict[str, str]:
    """The environment for a harness run whose every temporary folder (target material,
    browser profile) lands under ``tmp``, so its processes can be found by that path alone."""
    (tmp / "tmp").mkdir(exist_ok=True)
    return {**os.environ, "TMPDIR": str(tmp / "tmp")}


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One run of `fapi-harness demo` (the whole plan against the honest reference target),
    shared by the end-to-end tests and the mutant run's honest baseline."""
    tmp = tmp_path_factory.mktemp("demo")
    out = tmp / "run"
    begin = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "demo", "--out", str(out)],
        env=run_env(tmp),
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    results = out / "results.json"
    return {
        "proc": proc,
        "out": out,
        "tmp": tmp,
        "wall_s": time.monotonic() - begin,
        "doc": json.loads(results.read_text()) if results.is_file() else {"tests": []},
    }
