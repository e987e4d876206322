"""Checks on the authorization server's discovery document."""

from __future__ import annotations

import functools
import json
from collections.abc import Collection, Mapping
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator, ValidationError

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


def expect_metadata_present(metadata: Mapping[str, Any], name: str, *, req: str) -> Finding:
    """A metadata member is present with a value (not null, not empty)."""
    actual = metadata.get(name, _ABSENT)
    ok = actual is not _ABSENT and actual not in (None, "", [], {})
    return Finding(
        req, ok, f"metadata has {name}", expected=f"a {name} value", actual=_show(actual)
    )


def expect_metadata_within(
    metadata: Mapping[str, Any],
    name: str,
    allowed: Collection[str],
    *,
    required: bool = True,
    req: str,
) -> Finding:
    """A list-valued metadata member lists only ``allowed`` values. When not ``required``, an
    absent member holds too (nothing is advertised); present, it must be a non-empty list."""
    actual = metadata.get(name, _ABSENT)
    allowed_list = list(allowed)
    if actual is _ABSENT:
        ok, outside = not required, []
    elif isinstance(actual, list):
        outside = [v for v in actual if not isinstance(v, str) or v not in allowed_list]
        ok = bool(actual) and not outside
    else:
        ok, outside = False, []
    extra = f"; not allowed: {', '.join(map(str, outside))}" if outside else ""
    return Finding(
        req,
        ok,
        f"metadata {name} lists only {', '.join(allowed_list)}"
        + ("" if required else " (when present)"),
        expected=f"a non-empty list within {json.dumps(allowed_list)}"
        + ("" if required else ", or absent"),
        actual=_show(actual) + extra,
    )


def expect_issuer_identifier(metadata: Mapping[str, Any], *, req: str) -> Finding:
    """The metadata ``issuer`` is an https URL with a host and no query or fragment."""
    actual = metadata.get("issuer", _ABSENT)
    ok = False
    if isinstance(actual, str):
        parts = urlsplit(actual)
        ok = parts.scheme == "https" and bool(parts.netloc) and not {"?", "#"} & set(actual)
    return Finding(
        req,
        ok,
        "metadata issuer is an https URL without query or fragment",
        expected="https://host[/path], no '?' or '#'",
        actual=_show(actual),
    )


OIDC_WELL_KNOWN = "/.well-known/openid-configuration"
OAUTH_WELL_KNOWN = "/.well-known/oauth-authorization-server"


def issuer_of_discovery_url(url: str) -> str | None:
    """The issuer a well-known URL was built from (OpenID Connect Discovery 4: issuer +
    /.well-known/openid-configuration; RFC 8414 3.1: the well-known segment between host and
    path), without a trailing slash; None if ``url`` is not a well-known URL."""
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        return None
    base = f"{parts.scheme}://{parts.netloc}"
    if parts.path.endswith(OIDC_WELL_KNOWN):
        return (base + parts.path.removesuffix(OIDC_WELL_KNOWN)).rstrip("/")
    if parts.path == OAUTH_WELL_KNOWN or parts.path.startswith(OAUTH_WELL_KNOWN + "/"):
        return (base + parts.path.removeprefix(OAUTH_WELL_KNOWN)).rstrip("/")
    return None


def expect_issuer_matches_discovery_url(
    metadata: Mapping[str, Any], url: str, *, req: str
) -> Finding:
    """The metadata ``issuer`` is the issuer the well-known ``url`` was built from (a terminating
    slash aside, which both specs remove before building the URL). A URL that is not a well-known
    URL cannot show it: the finding is then inconclusive, for a person to judge."""
    actual = metadata.get("issuer", _ABSENT)
    derived = issuer_of_discovery_url(url)
    if derived is None:
        return Finding(
            req,
            False,
            "metadata issuer matches the discovery URL",
            expected="a discovery URL of the form <issuer>/.well-known/openid-configuration or "
            "https://host/.well-known/oauth-authorization-server[/path]",
            actual=f"discovery URL {url} is not a well-known URL; issuer {_show(actual)}",
            inconclusive=True,
        )
    ok = isinstance(actual, str) and actual.rstrip("/") == derived
    return Finding(
        req,
        ok,
        "metadata issuer matches the discovery URL",
        expected=f"{json.dumps(derived)} (from {url})",
        actual=_show(actual),
    )


SCHEMA_FILE = "schemas/as_metadata.schema.json"


@functools.cache
def metadata_schema() -> dict[str, Any]:
    """The RFC 8414 + OpenID Connect Discovery JSON Schema of harness/checks/schemas; its
    ``properties`` are the metadata members the harness knows."""
    text = resources.files("harness.checks").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    Draft202012Validator.check_schema(schema)
    return schema


def known_metadata_members() -> frozenset[str]:
    """Metadata members defined by RFC 8414, OpenID Connect Discovery and their extensions."""
    return frozenset(metadata_schema()["properties"])


def _schema_problem(error: ValidationError) -> str:
    where = "/".join(map(str, error.absolute_path)) or "(document)"
    schema = error.schema
    if error.validator == "pattern" and isinstance(schema, Mapping) and "description" in schema:
        return f"{where}: {json.dumps(error.instance)} is not {schema['description']}"
    return f"{where}: {error.message}"


def expect_metadata_schema(
    metadata: Mapping[str, Any], *, openid: bool = True, req: str, limit: int = 8
) -> Finding:
    """The metadata validates against the RFC 8414 schema, and, with ``openid``, has what an
    OpenID Provider must publish too (OpenID Connect Discovery 3)."""
    schema = metadata_schema()
    document = dict(metadata)
    errors = list(Draft202012Validator(schema).iter_errors(document))
    if openid:
        errors += Draft202012Validator(schema["$defs"]["openid_provider"]).iter_errors(document)
    problems = sorted(_schema_problem(e) for e in errors)
    shown = "; ".join(problems[:limit])
    if len(problems) > limit:
        shown += f"; … and {len(problems) - limit} more"
    return Finding(
        req,
        not problems,
        "metadata validates against the RFC 8414"
        + (" and OpenID Connect Discovery" if openid else "")
        + " schema",
        expected="no schema violation",
        actual=shown or "valid",
    )


def expect_known_metadata_members(metadata: Mapping[str, Any], *, req: str) -> Finding:
    """The metadata has no member the known specifications do not define."""
    unknown = sorted(set(metadata) - known_metadata_members())
    return Finding(
        req,
        not unknown,
        "metadata has only members defined by RFC 8414, OpenID Connect Discovery and their "
        "extensions",
        expected=f"members among the {len(known_metadata_members())} known ones",
        actual=f"unknown: {', '.join(unknown)}" if unknown else "none unknown",
    )
