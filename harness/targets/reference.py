"""The embedded reference target: oidc-provider (pinned) as a FAPI 2.0 Security Profile server.

``start_reference_target()`` generates fresh keys and certificates into a temporary folder,
starts the server over HTTPS on 127.0.0.1 (requesting client certificates, so mTLS works),
waits until it answers, and writes ``target.toml``: a ready-to-use harness configuration.
``ReferenceTarget.stop()`` ends it by pid. The server also stops by itself when the process
that launched it dies, so nothing is left behind.
"""

from __future__ import annotations

import atexit
import base64
import datetime as dt
import hashlib
import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

import tomli_w
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from joserfc.jwk import ECKey, RSAKey

from harness.config import TargetConfig, load_config

NPM_FILES = ("package.json", "package-lock.json")
APP_FILES = ("server.mjs", "mutations.mjs")
# (variant name, auth method, sender constraint, client id prefix)
VARIANTS: tuple[tuple[str, str, str, str], ...] = (
    ("private_key_jwt-dpop", "private_key_jwt", "dpop", "pkjwt-dpop"),
    ("private_key_jwt-mtls", "private_key_jwt", "mtls", "pkjwt-mtls"),
    ("tls_client_auth-dpop", "tls_client_auth", "dpop", "mtls-dpop"),
    ("tls_client_auth-mtls", "tls_client_auth", "mtls", "mtls-mtls"),
)
SCOPE = "openid offline_access profile email"
# Multi-factor authentication (provider_policy/mfa): the acr of a login with a second factor, and
# the placeholder login.toml gives for the TOTP secret (replaced by each run's own secret).
MFA_ACR = "urn:fapi-harness:mfa"
TOTP_SECRET_PLACEHOLDER = "${FAPI_REFERENCE_TOTP_SECRET}"
# Provider policy plan (access): the sensitive scope whose access tokens are short-lived.
SCOPE += " payments"


# Provider policy plan (access): what server.mjs enforces, as the [policy] section says it.
PAYMENT: dict[str, Any] = {
    "type": "payment_initiation",
    "actions": ["initiate"],
    "instructedAmount": {"currency": "EUR", "amount": "123.50"},
    "creditorName": "Merchant A",
    "creditorAccount": {"iban": "DE02100100109307118603"},
    "remittanceInformationUnstructured": "Ref Number Merchant",
}
ACCESS_POLICY: dict[str, Any] = {
    "rar_sample": PAYMENT,
    "rar_malformed_samples": [
        {k: v for k, v in PAYMENT.items() if k != "instructedAmount"},
        {**PAYMENT, "fapi_harness_unknown_member": "x"},
        {**PAYMENT, "instructedAmount": {"currency": "euro", "amount": "lots"}},
    ],
    "max_access_token_lifetime": 300,
    "max_request_uri_lifetime": 60,
    "short_lived_scope": "payments",
    "short_lived_max_lifetime": 30,
    "resource_scope": "openid",
}


class TargetStartError(RuntimeError):
    """The reference target could not be installed or started."""


def _package_dir() -> Path:
    return Path(str(resources.files("harness.targets") / "oidc_provider"))


def cache_dir() -> Path:
    """Where the target's npm packages are installed (``FAPI_HARNESS_CACHE`` overrides)."""
    base = os.environ.get("FAPI_HARNESS_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "fapi-harness"
    )
    return Path(base)


def _write_once(dest: Path, data: bytes) -> None:
    """Write a file atomically unless it already holds ``data`` (starts may run in parallel)."""
    if dest.exists() and dest.read_bytes() == data:
        return
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.{threading.get_ident()}")
    tmp.write_bytes(data)
    tmp.replace(dest)


def install_target(quiet: bool = True) -> Path:
    """Install the pinned npm packages once (``npm ci``), and this version of the server's own
    files in a folder named after their content (so checkouts of different versions never
    swap files under each other); return the folder to run ``server.mjs`` from."""
    src = _package_dir()
    lock = (src / "package-lock.json").read_bytes()
    folder = cache_dir() / f"oidc-provider-{hashlib.sha256(lock).hexdigest()[:12]}"
    folder.mkdir(parents=True, exist_ok=True)
    for name in NPM_FILES:
        _write_once(folder / name, (src / name).read_bytes())
    app = hashlib.sha256(b"".join((src / name).read_bytes() for name in APP_FILES)).hexdigest()
    app_dir = folder / f"app-{app[:12]}"
    app_dir.mkdir(exist_ok=True)
    for name in APP_FILES:
        _write_once(app_dir / name, (src / name).read_bytes())
    if not (folder / "node_modules" / "oidc-provider" / "package.json").is_file():
        npm = shutil.which("npm")
        if npm is None:
            raise TargetStartError("npm was not found on PATH; the reference target needs Node 20+")
        proc = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=folder,
            capture_output=quiet,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise TargetStartError(f"npm ci failed in {folder}:\n{proc.stderr}")
    return app_dir


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "GB"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "fapi-harness"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _cert(
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name | None = None,
    issuer_key: ec.EllipticCurvePrivateKey | None = None,
    *,
    ca: bool = False,
    server_ip: str | None = None,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer or subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if server_ip:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(server_ip))]),
            critical=False,
        )
    return builder.sign(issuer_key or key, hashes.SHA256())


def _write_pem(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
    path.with_suffix(".crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path = path.with_suffix(".key")
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)


def _dn(cn: str) -> str:
    return f"CN={cn},O=fapi-harness,C=GB"


def generate_material(workdir: Path, port: int, redirect_uri: str) -> dict[str, Any]:
    """Create keys, certificates and client registrations; return the server settings."""
    issuer = f"https://127.0.0.1:{port}"
    pki = workdir / "pki"
    pki.mkdir(parents=True, exist_ok=True)

    server_ca_key = ec.generate_private_key(ec.SECP256R1())
    server_ca = _cert(_name("fapi-harness reference server CA"), server_ca_key, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = _cert(
        _name("127.0.0.1"), server_key, server_ca.subject, server_ca_key, server_ip="127.0.0.1"
    )
    _write_pem(pki / "server-ca", server_ca, server_ca_key)
    _write_pem(pki / "server", server_cert, server_key)

    client_ca_key = ec.generate_private_key(ec.SECP256R1())
    client_ca = _cert(_name("fapi-harness client CA"), client_ca_key, ca=True)
    _write_pem(pki / "client-ca", client_ca, client_ca_key)

    registrations: list[dict[str, Any]] = []
    harness_clients: list[dict[str, Any]] = []
    variants: list[dict[str, str]] = []
    for variant, auth, constraint, prefix in VARIANTS:
        ids = [f"{prefix}-1", f"{prefix}-2"]
        variants.append({"name": variant, "client": ids[0], "client2": ids[1]})
        for n, client_id in enumerate(ids):
            # The second client's redirect URI carries a query, which responses must keep.
            redirect = redirect_uri if n == 0 else f"{redirect_uri}?dummy1=lorem&dummy2=ipsum"
            cert_key = ec.generate_private_key(ec.SECP256R1())
            cert = _cert(_name(client_id), cert_key, client_ca.subject, client_ca_key)
            _write_pem(pki / client_id, cert, cert_key)
            reg: dict[str, Any] = {
                "client_id": client_id,
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "redirect_uris": [redirect],
                "scope": SCOPE,
                "require_pushed_authorization_requests": True,
                "token_endpoint_auth_method": auth,
                "id_token_signed_response_alg": "ES256" if n == 0 else "PS256",
            }
            entry: dict[str, Any] = {
                "client_id": client_id,
                "auth_method": auth,
                "sender_constraint": constraint,
                "redirect_uri": redirect,
                "scope": "openid profile",
            }
            if auth != "private_key_jwt" or constraint == "mtls":
                # Only clients that use mTLS present a certificate; the others connect without one.
                entry["cert_file"] = f"pki/{client_id}.crt"
                entry["key_file"] = f"pki/{client_id}.key"
            if auth == "private_key_jwt":
                # One client signs its assertions with an RSA key (PS256), so that the plan's
                # RS256 test has a registered RSA key to misuse; the others use ES256.
                rsa_client = prefix == "pkjwt-mtls" and n == 0
                alg = "PS256" if rsa_client else "ES256"
                jwk: ECKey | RSAKey = (
                    RSAKey.generate_key(2048, private=True)
                    if rsa_client
                    else ECKey.import_key(ec.generate_private_key(ec.SECP256R1()))
                )
                jwk.ensure_kid()
                private = {**jwk.as_dict(private=True), "alg": alg, "use": "sig"}
                public = {**jwk.as_dict(private=False), "alg": alg, "use": "sig"}
                jwks_path = pki / f"{client_id}.jwks.json"
                jwks_path.write_text(json.dumps({"keys": [private]}))
                jwks_path.chmod(0o600)
                reg["jwks"] = {"keys": [public]}
                reg["token_endpoint_auth_signing_alg"] = alg
                entry["jwks_file"] = f"pki/{client_id}.jwks.json"
            else:
                reg["tls_client_auth_subject_dn"] = _dn(client_id)
            # Provider policy plan (access): every client may request the RAR sample type.
            reg["authorization_details_types"] = [PAYMENT["type"]]
            if constraint == "dpop":
                reg["dpop_bound_access_tokens"] = True
            else:
                reg["tls_client_certificate_bound_access_tokens"] = True
            registrations.append(reg)
            harness_clients.append(entry)

    controls = _control_client(pki, redirect_uri, registrations, harness_clients)

    login = tomllib.loads((_package_dir() / "login.toml").read_text(encoding="utf-8"))["login"]
    # Multi-factor authentication: a fresh TOTP secret per run, known to the server (settings)
    # and to the harness (the second-factor step of target.toml, a file only its owner reads).
    totp_secret = base64.b32encode(os.urandom(20)).decode("ascii")
    login = _with_totp_secret(login, totp_secret)
    harness_config: dict[str, Any] = {
        "name": "reference target (oidc-provider 9.13.3, FAPI 2.0 profile)",
        "issuer": issuer,
        "ca_file": "pki/server-ca.crt",
        "server_events_file": "events.jsonl",
        "resource": {"url": f"{issuer}/me", "method": "GET"},
        "clients": harness_clients,
        "variants": variants,
        "browser": {"loopback_only": True, "login": login},
        "policy": {"mfa_acr": MFA_ACR, "control_clients": controls},
    }
    # --- provider policy plan: granular access, short-lived tokens, revocation (access) ---
    policy: dict[str, Any] = harness_config.setdefault("policy", {})
    policy.update(ACCESS_POLICY)
    (workdir / "target.toml").write_text(tomli_w.dumps(harness_config), encoding="utf-8")
    (workdir / "target.toml").chmod(0o600)
    return {
        "issuer": issuer,
        "port": port,
        "tls": {
            "key": str(pki / "server.key"),
            "cert": str(pki / "server.crt"),
            "clientCa": str(pki / "client-ca.crt"),
        },
        "clients": registrations,
        "eventsFile": str(workdir / "events.jsonl"),
        "mfa": {"acr": MFA_ACR, "totpSecret": totp_secret},
        "controlClients": controls,
    }


def _with_totp_secret(login: list[dict[str, Any]], secret: str) -> list[dict[str, Any]]:
    """The login steps with the TOTP placeholder of login.toml replaced by ``secret``."""

    def fill(action: dict[str, Any]) -> dict[str, Any]:
        if action.get("totp") == TOTP_SECRET_PLACEHOLDER:
            return {**action, "totp": secret}
        return action

    return [
        {
            **page,
            "actions": [fill(a) for a in page.get("actions", [])],
            "deny": [fill(a) for a in page.get("deny", [])],
        }
        for page in login
    ]


# --- per-client FAPI enforcement (provider_policy/downgrade) ---
CONTROL_CLIENT = "control-1"


def _control_client(
    pki: Path,
    redirect_uri: str,
    registrations: list[dict[str, Any]],
    harness_clients: list[dict[str, Any]],
) -> list[str]:
    """Register the non-FAPI control client (server.mjs keeps it off the FAPI 2.0 profile): it
    authenticates with private_key_jwt (ES256; the server allows no other method to anyone),
    its tokens are not sender-constrained, and its redirect URI is http (loopback). Returns
    the control client ids for the configuration's policy.control_clients."""
    jwk = ECKey.import_key(ec.generate_private_key(ec.SECP256R1()))
    jwk.ensure_kid()
    private = {**jwk.as_dict(private=True), "alg": "ES256", "use": "sig"}
    public = {**jwk.as_dict(private=False), "alg": "ES256", "use": "sig"}
    jwks_path = pki / f"{CONTROL_CLIENT}.jwks.json"
    jwks_path.write_text(json.dumps({"keys": [private]}))
    jwks_path.chmod(0o600)
    http_redirect = "http://" + redirect_uri.removeprefix("https://")
    registrations.append(
        {
            "client_id": CONTROL_CLIENT,
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "redirect_uris": [http_redirect],
            "scope": SCOPE,
            "token_endpoint_auth_method": "private_key_jwt",
            "token_endpoint_auth_signing_alg": "ES256",
            "id_token_signed_response_alg": "ES256",
            "jwks": {"keys": [public]},
        }
    )
    harness_clients.append(
        {
            "client_id": CONTROL_CLIENT,
            "auth_method": "private_key_jwt",
            "sender_constraint": "bearer",
            "redirect_uri": http_redirect,
            "scope": "openid profile",
            "jwks_file": f"pki/{CONTROL_CLIENT}.jwks.json",
        }
    )
    return [CONTROL_CLIENT]


@dataclass
class ReferenceTarget:
    """A running reference target and the harness configuration that points at it."""

    workdir: Path
    issuer: str
    process: subprocess.Popen[str]
    config_path: Path
    startup_s: float
    _owns_workdir: bool = False
    _stopped: bool = field(default=False, repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def config(self) -> TargetConfig:
        """The validated harness configuration for this target."""
        return load_config(self.config_path)

    def stop(self) -> None:
        """Stop the server by pid (SIGTERM, then SIGKILL after 5 s)."""
        if self._stopped:
            return
        self._stopped = True
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> ReferenceTarget:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _read_ready(pipe: TextIO, timeout: float) -> dict[str, Any]:
    result: dict[str, Any] = {}

    def reader() -> None:
        for line in pipe:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if isinstance(message, dict) and message.get("ready"):
                result.update(message)
                return

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    thread.join(timeout)
    return result


def start_reference_target(
    workdir: Path | None = None,
    *,
    timeout: float = 20.0,
    stop_with_parent: bool = True,
    mutations: tuple[str, ...] = (),
    attempts: int = 2,
) -> ReferenceTarget:
    """Generate fresh material, start the server on free ports and wait until it is ready.

    With ``workdir`` None a temporary folder is used and removed on stop. With
    ``stop_with_parent`` the server ends when this Python process ends. ``mutations`` names
    deliberate defects (see ``mutations.mjs``) for the mutant corpus; the honest target has none.
    A start that does not become ready is stopped and tried again on new ports (``attempts``).
    """
    node = shutil.which("node")
    if node is None:
        raise TargetStartError("node was not found on PATH; the reference target needs Node 20+")
    folder = install_target()
    owns = workdir is None
    work = Path(tempfile.mkdtemp(prefix="fapi-target-")) if workdir is None else workdir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    for attempt in range(1, attempts + 1):
        try:
            target = _launch(node, folder, work, timeout, stop_with_parent, mutations)
        except TargetStartError as exc:
            failures.append(f"attempt {attempt}: {exc}")
            continue
        target._owns_workdir = owns
        return target
    raise TargetStartError("\n".join(failures))


def _launch(
    node: str,
    folder: Path,
    work: Path,
    timeout: float,
    stop_with_parent: bool,
    mutations: tuple[str, ...],
) -> ReferenceTarget:
    port = _free_port()
    settings = generate_material(work, port, f"https://127.0.0.1:{_free_port()}/cb")
    if stop_with_parent:
        settings["parentPid"] = os.getpid()
    settings["mutations"] = list(mutations)
    # The server says it is ready on a pipe of its own; its stdout and stderr go to server.log,
    # so that it can log after the process that started it has gone (target start --detach).
    ready_read, ready_write = os.pipe()
    settings["readyFd"] = ready_write
    (work / "settings.json").write_text(json.dumps(settings), encoding="utf-8")
    (work / "settings.json").chmod(0o600)  # it holds the TOTP secret (provider_policy/mfa)
    (work / "events.jsonl").touch()
    begin = time.monotonic()
    with open(work / "server.log", "w", encoding="utf-8") as log:
        try:
            proc = subprocess.Popen(
                # a small young generation: less memory, for a server that holds little
                [
                    node,
                    "--max-semi-space-size=1",
                    str(folder / "server.mjs"),
                    str(work / "settings.json"),
                ],
                cwd=folder,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                text=True,
                start_new_session=True,
                pass_fds=(ready_write,),
            )
        finally:
            os.close(ready_write)
    ready_pipe = os.fdopen(ready_read, "r", encoding="utf-8")
    target = ReferenceTarget(
        workdir=work,
        issuer=settings["issuer"],
        process=proc,
        config_path=work / "target.toml",
        startup_s=0.0,
    )
    ready = _read_ready(ready_pipe, timeout)
    if not ready:
        target.stop()  # closes the pipe's other end, so the reader ends too
        ready_pipe.close()
        log_text = (work / "server.log").read_text(encoding="utf-8", errors="replace")
        what = (
            f"exited with code {proc.returncode} before it was ready"
            if proc.returncode not in (None, -signal.SIGTERM)
            else f"did not become ready within {timeout:.0f} s"
        )
        raise TargetStartError(f"reference target {what}; server log:\n{log_text[-4000:]}")
    ready_pipe.close()
    target.startup_s = time.monotonic() - begin
    if stop_with_parent:
        atexit.register(target.stop)
    return target
