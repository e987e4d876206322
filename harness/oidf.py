"""Import an OpenID Foundation conformance-suite configuration (FAPI 2.0 plans).

A provider that already runs the OIDF suite has a JSON file with ``server.discoveryUrl``,
``client`` / ``client2`` (``client_id``, ``scope``, a private ``jwks``), ``mtls`` / ``mtls2`` (PEM
``cert`` and ``key``), ``resource.resourceUrl`` and ``browser`` tasks. This module turns it into a
fapi-harness target configuration: the keys and certificates become files, the browser tasks
become login pages, and the variant (client authentication and sender constraint), which the
OIDF suite takes from the test plan rather than the file, is derived from the server's discovery
document and the client's credentials, with the reason written next to it.

OIDF files do not carry what the suite decides itself (its own redirect URI, the CA of a private
server certificate); an optional ``"fapi-harness"`` object in the same file, or options of
``fapi-harness import-oidf``, give them: ``redirect_uri`` (also per client as
``client.redirect_uri``), ``ca_file``, ``client_auth`` and ``sender_constraint``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from harness.config import MTLS_AUTH, ConfigError
from harness.net import HttpClient, TransportFailure

OIDF_CALLBACK = "https://www.certification.openid.net/test/a/{alias}/callback"
EXTENSION = "fapi-harness"
_SELECTORS = {
    "id": "[id='{0}']",
    "name": "[name='{0}']",
    "class": ".{0}",
    "css": "{0}",
    "xpath": "xpath={0}",
}


def is_oidf_config(data: Any) -> bool:
    """Whether a parsed JSON document looks like an OIDF suite configuration."""
    return isinstance(data, dict) and isinstance(data.get("server"), dict) and "client" in data


@dataclass(frozen=True)
class Variant:
    """The variant derived for a pair of clients, and why."""

    auth_method: str
    sender_constraint: str
    why: str

    @property
    def name(self) -> str:
        return f"{self.auth_method}-{self.sender_constraint}"


def detect_variant(
    metadata: dict[str, Any],
    *,
    has_private_jwks: bool,
    has_mtls: bool,
    auth_method: str | None = None,
    sender_constraint: str | None = None,
) -> Variant:
    """Derive client authentication and sender constraint from the discovery document and the
    credentials the configuration holds. A value given explicitly wins. Errors name the field."""
    methods = metadata.get("token_endpoint_auth_methods_supported") or []
    reasons: list[str] = []
    if auth_method is not None:
        reasons.append(f"client authentication {auth_method} as configured")
    elif has_private_jwks and "private_key_jwt" in methods:
        auth_method = "private_key_jwt"
        reasons.append(
            "private_key_jwt: client.jwks holds a private key and discovery lists private_key_jwt"
        )
    elif has_mtls and "tls_client_auth" in methods:
        auth_method = "tls_client_auth"
        reasons.append(
            "tls_client_auth: mtls holds a certificate and discovery lists tls_client_auth"
            + ("" if has_private_jwks else " (client.jwks holds no private key)")
        )
    else:
        raise ConfigError(
            "client_auth: cannot derive the client authentication: need a private key in "
            "client.jwks with private_key_jwt in discovery, or an mtls certificate with "
            f"tls_client_auth in discovery (discovery lists {methods or 'none'})"
        )
    dpop = bool(metadata.get("dpop_signing_alg_values_supported"))
    bound = metadata.get("tls_client_certificate_bound_access_tokens") is True and has_mtls
    if sender_constraint is not None:
        reasons.append(f"sender constraint {sender_constraint} as configured")
    elif dpop and bound:
        sender_constraint = "mtls" if auth_method in MTLS_AUTH else "dpop"
        reasons.append(
            f"{sender_constraint}: discovery offers both DPoP and certificate-bound tokens; "
            + (
                "the client already authenticates with its certificate"
                if sender_constraint == "mtls"
                else "DPoP needs no certificate at the resource"
            )
            + " (set sender_constraint for the other)"
        )
    elif dpop:
        sender_constraint = "dpop"
        reasons.append(
            "dpop: discovery lists dpop_signing_alg_values_supported"
            + ("" if has_mtls else " (and no mtls certificate is configured)")
        )
    elif bound:
        sender_constraint = "mtls"
        reasons.append(
            "mtls: discovery has tls_client_certificate_bound_access_tokens and mtls holds a "
            "certificate"
        )
    else:
        raise ConfigError(
            "sender_constraint: cannot derive the sender constraint: discovery offers no DPoP "
            "(dpop_signing_alg_values_supported) and no certificate-bound tokens with an mtls "
            "certificate configured"
        )
    return Variant(auth_method, sender_constraint, "; ".join(reasons))


def _selector(how: Any, what: Any, where: str) -> str:
    if how not in _SELECTORS or not isinstance(what, str):
        raise ConfigError(f"{where}: unsupported selector {how!r} (use {', '.join(_SELECTORS)})")
    return _SELECTORS[how].format(what)


def login_pages(browser: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """OIDF ``browser`` tasks as login pages, in order. Tasks sharing a URL glob (login, then
    consent) are told apart as the harness tells any steps apart: a step matches a page only
    when the element of its first action is there, so a skipped page (a remembered login) is
    passed over, as the OIDF suite's optional tasks are. ``wait`` commands are dropped, since
    the harness waits for every page itself, and a task left without actions (the suite's own
    callback check) is skipped. Returns the pages and what was dropped."""
    if not isinstance(browser, list) or not browser:
        raise ConfigError("browser: must be a non-empty list of {match, tasks}")
    pages: list[dict[str, Any]] = []
    dropped: list[str] = []
    for i, entry in enumerate(browser):
        tasks = entry.get("tasks") if isinstance(entry, dict) else None
        if not isinstance(tasks, list):
            raise ConfigError(f"browser[{i}].tasks: must be a list")
        for j, task in enumerate(tasks):
            where = f"browser[{i}].tasks[{j}]"
            if not isinstance(task, dict) or not isinstance(task.get("match"), str):
                raise ConfigError(f"{where}.match: must be a URL glob")
            actions: list[dict[str, str]] = []
            for k, command in enumerate(task.get("commands") or []):
                at = f"{where}.commands[{k}]"
                if not isinstance(command, list) or not command:
                    raise ConfigError(f'{at}: must be a list like ["click", "id", "submit"]')
                verb = command[0]
                if verb == "text" and len(command) >= 4:
                    selector = _selector(command[1], command[2], at)
                    actions.append({"fill": selector, "value": str(command[3])})
                elif verb == "click" and len(command) >= 3:
                    actions.append({"click": _selector(command[1], command[2], at)})
                elif verb == "wait":
                    dropped.append(f"{at}: wait (the harness waits for each page itself)")
                else:
                    raise ConfigError(f"{at}: unsupported command {command!r}")
            name = str(task.get("task") or f"task {j}")
            if not actions:
                dropped.append(f"{where} ({name}): no action left, skipped")
                continue
            pages.append({"name": name, "url": task["match"], "actions": actions})
    if not pages:
        raise ConfigError("browser: no task with a text or click command")
    return pages, dropped


@dataclass
class Imported:
    """The result of an import: the configuration written and what the user should know."""

    config_path: Path
    variant: Variant
    notes: list[str] = field(default_factory=list)


def _private_jwks(jwks: Any, where: str) -> dict[str, Any] | None:
    if jwks is None:
        return None
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list) or not keys:
        raise ConfigError(f"{where}: must be a JWKS with keys")
    private = [k for k in keys if isinstance(k, dict) and "d" in k]
    return {"keys": private} if private else None


def import_oidf(
    doc: dict[str, Any],
    metadata: dict[str, Any],
    out_dir: Path,
    *,
    ca_file: Path | None = None,
    redirect_uri: str | None = None,
    client_auth: str | None = None,
    sender_constraint: str | None = None,
) -> Imported:
    """Write ``out_dir/target.toml`` (and its key and certificate files) for the OIDF
    configuration ``doc`` of the server whose discovery document is ``metadata``."""
    ext = doc.get(EXTENSION) or {}
    if not isinstance(ext, dict):
        raise ConfigError(f"{EXTENSION}: must be an object")
    redirect_uri = redirect_uri or ext.get("redirect_uri")
    client_auth = client_auth or ext.get("client_auth")
    sender_constraint = sender_constraint or ext.get("sender_constraint")
    server = doc["server"]
    discovery = server.get("discoveryUrl")
    issuer = metadata.get("issuer")
    if not isinstance(issuer, str):
        raise ConfigError("server.discoveryUrl: the discovery document has no issuer")
    out_dir.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    clients: list[dict[str, Any]] = []
    credentials: list[tuple[bool, bool]] = []
    for section, mtls_section in (("client", "mtls"), ("client2", "mtls2")):
        client = doc.get(section)
        if not isinstance(client, dict):
            raise ConfigError(f"{section}: missing (FAPI 2.0 plans need two clients)")
        client_id = client.get("client_id")
        if not isinstance(client_id, str) or not client_id:
            raise ConfigError(
                f"{section}.client_id: missing (fapi-harness does not register clients "
                "dynamically: register them and give their ids)"
            )
        entry: dict[str, Any] = {"client_id": client_id}
        if isinstance(client.get("scope"), str):
            entry["scope"] = client["scope"]
        uri = client.get("redirect_uri") or redirect_uri
        if not uri:
            alias = doc.get("alias")
            if not alias:
                raise ConfigError(
                    f"{section}.redirect_uri: unknown: give it (or {EXTENSION}.redirect_uri, or "
                    "the OIDF alias, whose suite callback is then used)"
                )
            uri = OIDF_CALLBACK.format(alias=alias)
            notes.append(f"{section}: redirect_uri is the OIDF suite callback {uri}")
        entry["redirect_uri"] = uri
        jwks = _private_jwks(client.get("jwks"), f"{section}.jwks")
        if jwks is not None:
            jwks_file = out_dir / f"{section}.jwks.json"
            jwks_file.write_text(json.dumps(jwks), encoding="utf-8")
            jwks_file.chmod(0o600)
            entry["jwks_file"] = jwks_file.name
        mtls = doc.get(mtls_section)
        if isinstance(mtls, dict) and mtls.get("cert") and mtls.get("key"):
            for part, suffix in (("cert", "crt"), ("key", "key")):
                path = out_dir / f"{mtls_section}.{suffix}"
                path.write_text(str(mtls[part]).strip() + "\n", encoding="utf-8")
                entry[f"{part}_file"] = path.name
            (out_dir / f"{mtls_section}.key").chmod(0o600)
        clients.append(entry)
        credentials.append((jwks is not None, "cert_file" in entry))
    variant = detect_variant(
        metadata,
        has_private_jwks=all(c[0] for c in credentials),
        has_mtls=all(c[1] for c in credentials),
        auth_method=client_auth,
        sender_constraint=sender_constraint,
    )
    for entry in clients:
        entry["auth_method"] = variant.auth_method
        entry["sender_constraint"] = variant.sender_constraint
    resource = doc.get("resource") or {}
    resource_url = resource.get("resourceUrl") if isinstance(resource, dict) else None
    if not isinstance(resource_url, str):
        raise ConfigError("resource.resourceUrl: missing")
    pages, dropped = login_pages(doc.get("browser"))
    notes.extend(dropped)
    config: dict[str, Any] = {
        "name": str(doc.get("alias") or doc.get("description") or issuer),
        "issuer": issuer,
        "resource": {"url": resource_url},
        "clients": clients,
        "variants": [
            {
                "name": variant.name,
                "client": clients[0]["client_id"],
                "client2": clients[1]["client_id"],
                "why": variant.why,
            }
        ],
        "browser": {"login": pages},
    }
    if isinstance(discovery, str):
        config["discovery_url"] = discovery
    if ca_file is not None:
        config["ca_file"] = str(ca_file.resolve())
    path = out_dir / "target.toml"
    path.write_text(
        "# Imported from an OpenID Foundation suite configuration by fapi-harness import-oidf.\n"
        + tomli_w.dumps(config),
        encoding="utf-8",
    )
    return Imported(path, variant, notes)


def read_discovery(url: str, ca_file: Path | None) -> dict[str, Any]:
    """Fetch a discovery document for the import (errors name server.discoveryUrl)."""
    http = HttpClient("import", ca_file=ca_file)
    try:
        exchange = http.send("discovery", "GET", url)
    except TransportFailure as exc:
        raise ConfigError(f"server.discoveryUrl: {url}: {exc}") from None
    finally:
        http.close()
    try:
        metadata = json.loads(exchange.response_body or "")
    except json.JSONDecodeError:
        metadata = None
    if exchange.status != 200 or not isinstance(metadata, dict):
        raise ConfigError(
            f"server.discoveryUrl: {url} answered HTTP {exchange.status}, not a JSON object"
        )
    return metadata


def load_oidf(path: Path) -> dict[str, Any] | None:
    """The parsed file when ``path`` is an OIDF suite configuration (JSON), else None."""
    if path.suffix.lower() != ".json":
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None  # load_config reports it, naming the problem
    return data if is_oidf_config(data) else None


def import_file(
    path: Path,
    out_dir: Path,
    *,
    ca_file: Path | None = None,
    redirect_uri: str | None = None,
    client_auth: str | None = None,
    sender_constraint: str | None = None,
) -> Imported:
    """Import the OIDF suite configuration at ``path`` into ``out_dir``, fetching its discovery
    document to derive the variant. Options override the file's ``"fapi-harness"`` object, whose
    ``ca_file`` is relative to the file's folder."""
    doc = load_oidf(path)
    if doc is None:
        raise ConfigError(
            f"{path}: not an OpenID Foundation suite configuration (a JSON object with "
            "server.discoveryUrl and client)"
        )
    ext = doc.get(EXTENSION)
    if ca_file is None and isinstance(ext, dict) and ext.get("ca_file"):
        ca_file = (path.parent / str(ext["ca_file"])).resolve()
    url = doc["server"].get("discoveryUrl")
    if not isinstance(url, str):
        raise ConfigError(f"{path}: server.discoveryUrl: missing")
    return import_oidf(
        doc,
        read_discovery(url, ca_file),
        out_dir,
        ca_file=ca_file,
        redirect_uri=redirect_uri,
        client_auth=client_auth,
        sender_constraint=sender_constraint,
    )


def resolve_config(path: Path, workdir: Path) -> tuple[Path, list[str]]:
    """The fapi-harness configuration to use for ``path``: itself, or, for an OIDF suite
    configuration, one imported into ``workdir`` (discovery fetched to derive the variant)."""
    if load_oidf(path) is None:
        return path, []
    imported = import_file(path, workdir)
    notes = [
        f"{path} is an OpenID Foundation suite configuration, imported to {imported.config_path}",
        *imported.notes,
    ]
    return imported.config_path, notes
