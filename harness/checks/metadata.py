"""Checks on the authorization server's discovery document."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from harness.verdict import Finding


def _show(value: Any) -> str:
    return json.dumps(value) if value is not _ABSENT else "(absent)"


_ABSENT = object()


def expect_metadata_issuer(metadata: Mapping[str, Any], issuer: str, *, req: str) -> Finding:
    """The discovered ``issuer`` is exactly the issuer the metadata was fetched for."""
    actual = metadata.get("issuer", _ABSENT)
    return Finding(
        req,
        actual == issuer,
        "metadata issuer equals the configured issuer",
        expected=_show(issuer),
        actual=_show(actual),
    )


def expect_metadata_true(metadata: Mapping[str, Any], name: str, *, req: str) -> Finding:
    """A boolean metadata member is present and true."""
    actual = metadata.get(name, _ABSENT)
    return Finding(
        req, actual is True, f"metadata {name} is true", expected="true", actual=_show(actual)
    )


def expect_metadata_contains(
    metadata: Mapping[str, Any], name: str, value: str, *, req: str
) -> Finding:
    """A list-valued metadata member is present and contains ``value``."""
    actual = metadata.get(name, _ABSENT)
    ok = isinstance(actual, list) and value in actual
    return Finding(
        req,
        ok,
        f"metadata {name} contains {value!r}",
        expected=f"a list with {_show(value)}",
        actual=_show(actual),
    )


def expect_metadata_https_url(metadata: Mapping[str, Any], name: str, *, req: str) -> Finding:
    """A metadata member is an https URL."""
    actual = metadata.get(name, _ABSENT)
    ok = isinstance(actual, str) and actual.lower().startswith("https://")
    return Finding(
        req, ok, f"metadata {name} is an https URL", expected="https://…", actual=_show(actual)
    )
