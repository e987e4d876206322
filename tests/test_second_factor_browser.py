"""The browser's second-factor step against a tiny local page: the current TOTP code is typed
(and accepted), a wrong one is typed on request, and a page that asks again after a wrong code
ends the attempt as ``stuck`` instead of looping."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from harness.browser import Browser, BrowserUnavailable
from harness.config import LoginAction, LoginPage
from harness.otp import totp

SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # RFC 6238's key, base32
PAGE = (
    b"<html><body><form method='post' action='/otp'><input name='otp'>"
    b"<button type='submit'>Verify</button></form></body></html>"
)


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.startswith("/cb"):
            self._send(200, b"<html>client</html>")
        else:
            self._send(200, PAGE)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
        code = parse_qs(body).get("otp", [""])[0]
        now = time.time()
        if code in {totp(SECRET, now + k * 30) for k in (-1, 0, 1)}:
            self.send_response(303)
            self.send_header("location", "/cb?code=ok")
            self.end_headers()
        else:
            self._send(200, PAGE)  # asks again

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    b = Browser(loopback_only=True, step_timeout_s=10)
    yield b
    b.close()


STEPS = (
    LoginPage(
        name="otp",
        kind="second_factor",
        url="**/*",
        when="input[name=otp]",
        actions=(
            LoginAction(fill="input[name=otp]", totp=SECRET),
            LoginAction(click="button[type=submit]"),
        ),
    ),
)


def _attempt(
    browser: Browser, site: str, wrong: bool
) -> tuple[str, dict[str, str], tuple[str, ...]]:
    try:
        result = browser.attempt(f"{site}/start", f"{site}/cb", STEPS, wrong_totp=wrong)
    except BrowserUnavailable as exc:
        pytest.skip(f"no browser: {exc}")
    return result.kind, result.params, result.pages


def test_the_current_code_is_typed_and_accepted(browser: Browser, site: str) -> None:
    assert _attempt(browser, site, wrong=False) == ("callback", {"code": "ok"}, ("otp",))


def test_a_wrong_code_asked_again_ends_as_stuck(browser: Browser, site: str) -> None:
    kind, params, pages = _attempt(browser, site, wrong=True)
    assert (kind, params, pages) == ("stuck", {}, ("otp",))
