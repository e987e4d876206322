"""One-time codes for second-factor login steps: HOTP (RFC 4226) and TOTP (RFC 6238).

Written for the harness (HMAC-SHA-1, the algorithm authenticator apps use by default); the
login steps declare ``totp = "<base32 secret>"`` and the browser types the current code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct

STEP_S = 30
DIGITS = 6


def secret_bytes(secret: str) -> bytes:
    """The key of a base32 secret (spaces ignored, any case, padding optional)."""
    compact = secret.replace(" ", "").upper().rstrip("=")
    return base64.b32decode(compact + "=" * (-len(compact) % 8))


def hotp(key: bytes, counter: int, digits: int = DIGITS) -> str:
    """RFC 4226 5.3: HMAC-SHA-1 of the 8-byte counter, dynamically truncated to ``digits``."""
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    number = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**digits).zfill(digits)


def totp(secret: str, at: float, *, step_s: int = STEP_S, digits: int = DIGITS) -> str:
    """RFC 6238 4.2: the HOTP code of the time step that holds ``at`` (Unix seconds)."""
    return hotp(secret_bytes(secret), int(at // step_s), digits)


def wrong_totp(secret: str, at: float, *, step_s: int = STEP_S, digits: int = DIGITS) -> str:
    """A code of the right form that is not the TOTP code of any step within two of ``at``
    (so that no server's clock-drift window accepts it)."""
    near = {
        totp(secret, at + k * step_s, step_s=step_s, digits=digits)
        for k in range(-2, 3)
        if at + k * step_s >= 0
    }
    candidate = int(totp(secret, at, step_s=step_s, digits=digits))
    while str(candidate).zfill(digits) in near:
        candidate = (candidate + 1) % 10**digits
    return str(candidate).zfill(digits)
