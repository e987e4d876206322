"""Login steps in a real browser against small local pages: per-visit matching, a Python hook,
a failed step that stops with a screenshot, the URL and the step, and set-up flows that reuse
one page without mixing up their callbacks."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest
from playwright.sync_api import Page, Playwright

from harness import browser as browser_module
from harness.browser import Browser, BrowserUnavailable, LoginFailed
from harness.config import LoginAction, LoginPage
from harness.evidence import Recorder, Screenshot, recording

# Two pages at the same path: only the visit tells them apart (as with oidc-provider's
# /interaction/<uid> for login and consent when no selector is declared).
FIRST = b"""<html><body><form action="/page" method="get">
<input id="user" name="user"><input type="hidden" name="n" value="2">
<button id="go" type="submit">Next</button></form></body></html>"""
SECOND = b"""<html><body><form action="/cb" method="get">
<input type="hidden" name="code" value="abc"><button id="ok" type="submit">Allow</button>
</form></body></html>"""


class _Pages(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/direct?"):  # a remembered login: straight to the callback
            self.send_response(302)
            self.send_header("location", "/cb?" + self.path.split("?", 1)[1])
            self.send_header("content-length", "0")
            self.end_headers()
            return
        body = SECOND if "n=2" in self.path else FIRST
        if self.path.startswith("/cb"):
            body = b"<html>done</html>"
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    """The small login site, served on loopback for the module; its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = Browser(loopback_only=True, step_timeout_s=3, reuse_session=True)
    try:
        yield chromium
    finally:
        chromium.close()


def click_allow(page: Page) -> None:
    """A login hook (used as 'tests.test_login_steps:click_allow')."""
    page.locator("#ok").click()


LOGIN = LoginPage(
    name="login",
    url="*/page",
    visit=1,
    actions=(LoginAction(fill="#user", value="alice"), LoginAction(click="#go")),
)
CONSENT = LoginPage(name="consent", url="*/page", visit=2, actions=(LoginAction(click="#ok"),))


def test_steps_sharing_a_url_are_told_apart_by_visit(site: str, browser: Browser) -> None:
    result = browser.authorize(f"{site}/page", f"{site}/cb", (CONSENT, LOGIN))
    assert result.kind == "callback" and result.params == {"code": "abc"}
    assert result.pages == ("login", "consent")


def test_a_step_matches_only_a_page_it_can_act_on(site: str, browser: Browser) -> None:
    """Without ``when`` or ``visit``, the element of a step's first action decides: a page the
    server skips (a remembered login) is passed over, and the next step takes the page."""
    login = LOGIN.model_copy(update={"visit": None})
    consent = CONSENT.model_copy(update={"visit": None})
    skipped = browser.authorize(f"{site}/page?n=2", f"{site}/cb", (login, consent))
    assert skipped.pages == ("consent",) and skipped.params == {"code": "abc"}
    both = browser.authorize(f"{site}/page", f"{site}/cb", (consent, login))
    assert both.pages == ("login", "consent")


def test_a_hook_does_what_steps_cannot(site: str, browser: Browser) -> None:
    hooked = LoginPage(
        name="consent", url="*/page", visit=2, actions=(), hook="tests.test_login_steps:click_allow"
    )
    result = browser.authorize(f"{site}/page", f"{site}/cb", (LOGIN, hooked))
    assert result.params == {"code": "abc"} and result.pages == ("login", "consent")


def test_a_failed_step_stops_with_screenshot_url_and_step(site: str, browser: Browser) -> None:
    broken = LoginPage(
        name="login",
        url="*/page",
        when="#user",  # the page is recognised, but the step's second field is not there
        actions=(LoginAction(fill="#user", value="a"), LoginAction(fill="#nope", value="x")),
    )
    recorder = Recorder()
    with recording(recorder), pytest.raises(LoginFailed) as failed:
        browser.authorize(f"{site}/page", f"{site}/cb", (broken, CONSENT))
    message = str(failed.value)
    assert "login step 'login', action 2 (fill #nope) failed" in message
    assert f"(at {site}/page)" in message
    shots = [e.label for e in recorder.items if isinstance(e, Screenshot)]
    assert shots[-1] == "login: login: action 2 failed"


def test_an_unknown_hook_is_a_login_failure_naming_it(site: str, browser: Browser) -> None:
    hooked = LoginPage(name="consent", url="*/page", visit=2, actions=(), hook="nowhere:fn")
    with pytest.raises(LoginFailed, match="login hook nowhere:fn: cannot load it"):
        browser.authorize(f"{site}/page", f"{site}/cb", (LOGIN, hooked))


def test_set_up_flows_reuse_one_page_without_mixing_callbacks(site: str, browser: Browser) -> None:
    got, pages = [], []
    for code in ("one", "two"):
        got.append(
            browser.attempt(f"{site}/direct?code={code}", f"{site}/cb", (), setup=True).params
        )
        pages.append(browser._shared_page)
    got.append(browser.attempt(f"{site}/direct?code=three", f"{site}/cb", ()).params)
    assert got == [{"code": "one"}, {"code": "two"}, {"code": "three"}]
    assert pages[0] is not None and pages[0] is pages[1]  # the second set-up used the same page
    shared = browser._shared
    assert shared is not None and shared.pages == [pages[0]]  # the fresh flow had its own context


def test_the_browser_found_is_the_headless_shell_when_headless(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without Playwright's own browser: Debian's headless shell for a headless run (about a
    quarter less memory per browser), Debian's full Chromium for a headed one."""
    shell, full = tmp_path / "chromium-headless-shell", tmp_path / "chromium"
    monkeypatch.setattr(browser_module, "DEBIAN_HEADLESS_SHELL", shell)
    monkeypatch.setattr(browser_module, "DEBIAN_CHROMIUM", full)
    playwright = cast(Playwright, SimpleNamespace(chromium=SimpleNamespace(executable_path="/no")))
    with pytest.raises(BrowserUnavailable, match="chromium-headless-shell"):
        browser_module._executable(None, playwright, headless=True)
    full.touch()
    assert browser_module._executable(None, playwright, headless=True) == full
    shell.touch()
    assert browser_module._executable(None, playwright, headless=True) == shell
    assert browser_module._executable(None, playwright, headless=False) == full
    assert browser_module._executable(tmp_path / "mine", playwright, headless=True) == (
        tmp_path / "mine"
    )
