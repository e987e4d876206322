"""A real browser through the target's login and consent pages, with the callback captured.

One Chromium is launched per process of the run (lazily: a run without browser steps starts none)
and every authorization whose subject is the login gets a fresh context, so no session or cookie
leaks from one flow into the next. The redirect to the client's redirect_uri is read from the
browser's request event: it needs nothing listening there, and works for any redirect_uri. A
screenshot of every page the steps act on is kept as evidence.
"""

from __future__ import annotations

import contextlib
import fnmatch
import importlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast
from urllib.parse import parse_qsl, urljoin, urlsplit

from playwright.sync_api import Browser as PwBrowser
from playwright.sync_api import (
    BrowserContext,
    Page,
    Playwright,
    Request,
    Response,
    Route,
    sync_playwright,
)
from playwright.sync_api import Error as PlaywrightError

from harness.config import LoginAction, LoginPage
from harness.evidence import TEST_HEADER, Note, Screenshot, current_tag, record
from harness.otp import totp
from harness.otp import wrong_totp as wrong_totp_code

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
DEBIAN_CHROMIUM = Path("/usr/bin/chromium")
# Debian's build of the headless shell, the browser Playwright itself runs headless: no browser
# UI, so about a quarter less memory per browser than the full Chromium.
DEBIAN_HEADLESS_SHELL = Path("/usr/bin/chromium-headless-shell")
MAX_PAGES = 12
SHARED_PAGE_USES = 20  # set-up flows one shared page serves before a new one takes over


class BrowserUnavailable(RuntimeError):
    """No browser could be started."""


class LoginFailed(RuntimeError):
    """The login steps could not bring the browser to the redirect_uri."""

    def __init__(self, message: str, url: str) -> None:
        super().__init__(f"{message} (at {url})")
        self.url = url


@dataclass(frozen=True)
class AuthorizationResponse:
    """Where a front-channel authorization ended.

    ``kind`` is ``callback`` when the browser was sent to the redirect_uri (``params`` and
    ``fragment`` hold its query and fragment parameters), ``error_page`` when it stopped on a page
    the server answered with an HTTP error, and ``stuck`` when it stopped on a page that is neither
    a known login step nor an HTTP error (a person must look at the screenshot).
    """

    kind: Literal["callback", "error_page", "stuck"]
    url: str
    params: dict[str, str]
    fragment: dict[str, str]
    status: int | None
    pages: tuple[str, ...]


def _base(url: str) -> str:
    """A URL without its query and fragment."""
    return url.split("#", 1)[0].split("?", 1)[0]


def _redirect_target(request: Request) -> str:
    """The full URL the server redirected to, fragment included: the browser's request for it
    carries no fragment, so it is read from the redirect's Location header when there is one."""
    previous = request.redirected_from
    response = previous.response() if previous is not None else None
    location = response.header_value("location") if response is not None else None
    return urljoin(previous.url, location) if previous is not None and location else request.url


def _describe(action: LoginAction) -> str:
    """An action as a user wrote it, for error messages (never the value: it may be secret)."""
    where = f" in frame {action.frame}" if action.frame else ""
    if action.fill is not None:
        return f"fill {action.fill}{where}"
    return f"click {action.click}{where}"


def login_hook(spec: str) -> Callable[[Page], None]:
    """The function named ``module:function`` (a login step's ``hook``); it is called with the
    Playwright page and does what declarative steps cannot (a custom widget, a CAPTCHA bypass
    of a test deployment, a one-time code from your own service)."""
    module_name, _, function_name = spec.partition(":")
    try:
        function = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"login hook {spec}: cannot load it: {exc}") from exc
    if not callable(function):
        raise ValueError(f"login hook {spec}: not a function")
    return cast(Callable[[Page], None], function)


def _has_totp(step: LoginPage) -> bool:
    """The page's actions type a one-time code (a second-factor page)."""
    return any(action.totp is not None for action in step.actions)


def _chromium_args(loopback_only: bool) -> list[str]:
    args = [
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--no-first-run",
        "--disable-gpu",
        "--in-process-gpu",  # software compositing in the browser process: one process less
        # No --disable-features here: Chromium honours only the last one given, and it would
        # replace the list Playwright passes.
    ]
    if os.geteuid() == 0:
        args.append("--no-sandbox")
    if loopback_only:
        # EXCLUDE 127.0.0.1 is needed: without it the rule also applies to the IP literal.
        args.append("--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1")
    return args


def _executable(configured: Path | None, playwright: Playwright, headless: bool) -> Path | None:
    """The configured browser, else Playwright's own (None: Playwright picks its headless shell
    or its Chromium), else Debian's headless shell when headless, else Debian's Chromium."""
    if configured is not None:
        return configured
    try:
        if Path(playwright.chromium.executable_path).is_file():
            return None
    except PlaywrightError:
        pass
    if headless and DEBIAN_HEADLESS_SHELL.is_file():
        return DEBIAN_HEADLESS_SHELL
    if DEBIAN_CHROMIUM.is_file():
        return DEBIAN_CHROMIUM
    raise BrowserUnavailable(
        "no browser found: set browser.executable, run `playwright install chromium`, "
        "or install Debian's chromium-headless-shell (or chromium)"
    )


@contextlib.contextmanager
def _driver_env() -> Iterator[None]:
    """While Playwright starts its Node driver (which copies our environment): give that Node a
    small young generation, unless NODE_OPTIONS is set already. It saves 15-30 MiB per worker."""
    if "NODE_OPTIONS" in os.environ:
        yield
        return
    os.environ["NODE_OPTIONS"] = "--max-semi-space-size=1"
    try:
        yield
    finally:
        os.environ.pop("NODE_OPTIONS", None)


class Browser:
    """Drives authorizations in Chromium, each whose subject is the login in a fresh context.
    The browser is launched on first use."""

    def __init__(
        self,
        *,
        executable: Path | None = None,
        headless: bool = True,
        loopback_only: bool = False,
        step_timeout_s: float = 15.0,
        reuse_session: bool = False,
    ) -> None:
        self.executable = executable
        self.headless = headless
        self.loopback_only = loopback_only
        self.step_timeout_s = step_timeout_s
        self.reuse_session = reuse_session
        self._playwright: Playwright | None = None
        self._browser: PwBrowser | None = None
        self._shared: BrowserContext | None = None
        self._shared_page: Page | None = None
        self._shared_uses = 0  # flows the shared page has served

    def _launch(self) -> PwBrowser:
        if self._browser is None:
            with _driver_env():
                self._playwright = sync_playwright().start()
            try:
                path = _executable(self.executable, self._playwright, self.headless)
                self._browser = self._playwright.chromium.launch(
                    executable_path=str(path) if path else None,
                    headless=self.headless,
                    args=_chromium_args(self.loopback_only),
                )
            except (PlaywrightError, BrowserUnavailable) as exc:
                self.close()
                raise BrowserUnavailable(f"cannot start the browser: {exc}") from exc
        return self._browser

    def close(self) -> None:
        """Close the browser and Playwright (safe to call twice)."""
        self._shared = None
        self._shared_page = None
        if self._browser is not None:
            with contextlib.suppress(PlaywrightError):
                self._browser.close()
            self._browser = None
        if self._playwright is not None:
            self._playwright.stop()
            self._playwright = None

    def _new_context(self) -> BrowserContext:
        context = self._launch().new_context(ignore_https_errors=True)
        context.set_default_timeout(self.step_timeout_s * 1000)
        if self.loopback_only:
            context.route("**/*", self._guard)
        return context

    @contextlib.contextmanager
    def page(self, *, shared: bool = False) -> Iterator[Page]:
        """A page in a fresh context of this browser (closed after the block), or, with
        ``shared``, the one page of the one context this browser keeps for set-up flows: its
        cookies (the user's login session and consent at the server) carry over from one set-up
        to the next, and the page stays open for the next (opening a page costs a renderer)."""
        tag = current_tag()
        headers = {TEST_HEADER: tag} if tag else {}
        if shared:
            if self._shared is None:
                self._shared = self._new_context()
            self._shared.set_extra_http_headers(headers)
            page = self._shared_page
            if page is not None and self._shared_uses >= SHARED_PAGE_USES:
                with contextlib.suppress(PlaywrightError):
                    page.close()  # a long-lived page's renderer only grows: start a new one
            if page is None or page.is_closed():
                page = self._shared_page = self._shared.new_page()
                self._shared_uses = 0
            self._shared_uses += 1
            yield page
            return
        context = self._new_context()
        context.set_extra_http_headers(headers)
        try:
            yield context.new_page()
        finally:
            context.close()

    def _guard(self, route: Route) -> None:
        host = urlsplit(route.request.url).hostname or ""
        if host in LOOPBACK_HOSTS or route.request.url.startswith(("data:", "about:", "file:")):
            route.continue_()
        else:
            record(
                Note("blocked request", f"the browser was kept from reaching {route.request.url}")
            )
            route.abort("blockedbyclient")

    def authorize(
        self,
        url: str,
        redirect_uri: str,
        pages: tuple[LoginPage, ...],
        *,
        label: str = "login",
        setup: bool = False,
    ) -> AuthorizationResponse:
        """Open ``url`` and log in until the browser goes to ``redirect_uri``; anything else is a
        failed login (``LoginFailed``)."""
        result = self.attempt(url, redirect_uri, pages, label=label, setup=setup)
        if result.kind != "callback":
            raise LoginFailed(f"the login ended on a page, not at {redirect_uri}", result.url)
        return result

    def attempt(
        self,
        url: str,
        redirect_uri: str | tuple[str, ...],
        pages: tuple[LoginPage, ...],
        *,
        deny_on: str | None = None,
        label: str = "login",
        setup: bool = False,
        wrong_totp: bool = False,
    ) -> AuthorizationResponse:
        """Open ``url`` and act on each recognised page (on the page named ``deny_on``, take its
        deny actions instead) until the browser goes to ``redirect_uri`` (or any of several) or
        stops on a page that no step matches. Every page acted on, and the last one, is kept as a
        screenshot. ``setup``: the login is not the test's subject (the authorization serves to
        reach another subject, or the subject is the request's or the response's parameters), so
        with ``reuse_session`` it runs in the shared context, where the server usually remembers
        the login and consent and redirects at once. With ``wrong_totp`` every ``totp`` action
        types a wrong code, and a page with one that comes back (the server asks again) ends the
        attempt as ``stuck``."""
        began = time.time()
        shared = setup and self.reuse_session
        try:
            return self._attempt(
                url,
                redirect_uri,
                pages,
                deny_on=deny_on,
                label=label,
                shared=shared,
                wrong_totp=wrong_totp,
            )
        finally:
            spent = time.time() - began
            how = " (set-up, shared login session)" if shared else ""
            record(Note("browser", f"{label}: {spent:.2f} s in the browser{how}", began, spent))

    def _attempt(
        self,
        url: str,
        redirect_uri: str | tuple[str, ...],
        pages: tuple[LoginPage, ...],
        *,
        deny_on: str | None,
        label: str,
        shared: bool = False,
        wrong_totp: bool = False,
    ) -> AuthorizationResponse:
        targets = (redirect_uri,) if isinstance(redirect_uri, str) else redirect_uri
        bases = {_base(t) for t in targets}
        with self.page(shared=shared) as page, contextlib.ExitStack() as cleanup:
            callbacks: list[Request] = []
            statuses: list[int] = []

            def on_request(request: Request) -> None:
                # Matched on scheme, host and path: the server adds its own query parameters
                # and might drop the redirect URI's (a defect the tests must see, not miss).
                if _base(request.url) in bases and request.is_navigation_request():
                    callbacks.append(request)

            def on_response(response: Response) -> None:
                if response.request.is_navigation_request() and response.frame == page.main_frame:
                    statuses.append(response.status)

            page.on("request", on_request)
            page.on("response", on_response)
            # the shared page outlives this attempt: its next attempt must not call these
            cleanup.callback(page.remove_listener, "response", on_response)
            cleanup.callback(page.remove_listener, "request", on_request)
            visited: list[str] = []
            try:
                page.goto(url, wait_until="domcontentloaded")
            except PlaywrightError:
                if not callbacks:
                    raise
            visits: dict[str, int] = {}  # per URL glob of the login pages: pages seen so far
            for _ in range(MAX_PAGES):
                if callbacks:
                    break
                here = page.url.split("?", 1)[0]
                for glob in {p.url for p in pages if fnmatch.fnmatch(here, p.url)}:
                    visits[glob] = visits.get(glob, 0) + 1
                status = statuses[-1] if statuses else None
                step = self._match(page, pages, visits, patient=status is None or status < 400)
                if step is None:
                    kind: Literal["error_page", "stuck"] = (
                        "error_page" if status is not None and status >= 400 else "stuck"
                    )
                    self._screenshot(page, f"{label}: {kind.replace('_', ' ')} (HTTP {status})")
                    return AuthorizationResponse(kind, page.url, {}, {}, status, tuple(visited))
                if wrong_totp and step.name in visited and _has_totp(step):
                    self._screenshot(page, f"{label}: {step.name} asked again after a wrong code")
                    return AuthorizationResponse("stuck", page.url, {}, {}, status, tuple(visited))
                visited.append(step.name)
                self._screenshot(page, f"{label}: {step.name}")
                before = page.url
                actions = step.deny if deny_on == step.name else step.actions
                if deny_on == step.name and not actions:
                    raise LoginFailed(
                        f"the {step.name} step declares no deny actions (browser.login "
                        f"{step.name!r}: deny), which the user-rejects tests need",
                        page.url,
                    )
                for n, action in enumerate(actions, 1):
                    try:
                        self._act(page, action, wrong_totp=wrong_totp)
                    except PlaywrightError as exc:
                        self._screenshot(page, f"{label}: {step.name}: action {n} failed")
                        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                        raise LoginFailed(
                            f"login step {step.name!r}, action {n} ({_describe(action)}) "
                            f"failed: {first_line}",
                            page.url,
                        ) from exc
                if step.hook is not None and deny_on != step.name:
                    try:
                        hook = login_hook(step.hook)
                    except ValueError as exc:
                        raise LoginFailed(str(exc), page.url) from exc
                    try:
                        hook(page)
                    except PlaywrightError as exc:
                        self._screenshot(page, f"{label}: {step.name}: hook failed")
                        raise LoginFailed(
                            f"login step {step.name!r}, hook {step.hook} failed: {exc}", page.url
                        ) from exc
                self._wait_for_next(page, before, callbacks)
            if not callbacks:
                raise LoginFailed(
                    f"no redirect to {redirect_uri} after {MAX_PAGES} pages", page.url
                )
            callback = _redirect_target(callbacks[0])
            if shared:
                self._settle(page)
            record(Note("authorization response", f"browser redirected to {callback}"))
            parts = urlsplit(callback)
            return AuthorizationResponse(
                "callback",
                callback,
                dict(parse_qsl(parts.query)),
                dict(parse_qsl(parts.fragment)),
                statuses[-1] if statuses else None,
                tuple(visited),
            )

    def _match(
        self, page: Page, pages: tuple[LoginPage, ...], visits: dict[str, int], *, patient: bool
    ) -> LoginPage | None:
        """The first login page whose URL glob (and visit) fits and whose ``when`` selector, or
        if none is declared the element of its first action, is on the page: a step only matches
        a page it can act on, so a page the server skips (a remembered login) is passed over.
        Waits up to a browser step for the element to appear (pages that render late), unless
        the page is an HTTP error."""
        here = page.url.split("?", 1)[0]
        candidates = [
            c
            for c in pages
            if fnmatch.fnmatch(here, c.url) and (c.visit is None or visits.get(c.url) == c.visit)
        ]
        deadline = time.monotonic() + (self.step_timeout_s if patient else 0)
        while candidates:
            for candidate in candidates:
                if self._present(page, candidate):
                    return candidate
            if time.monotonic() >= deadline:
                break
            page.wait_for_timeout(50)
        return None

    @staticmethod
    def _present(page: Page, step: LoginPage) -> bool:
        if step.when is not None:
            return page.locator(step.when).count() > 0
        if not step.actions:
            return True  # a hook-only step: its URL is all there is to match
        first = step.actions[0]
        scope = page.frame_locator(first.frame) if first.frame else page
        selector = first.fill if first.fill is not None else first.click
        try:
            return scope.locator(str(selector)).count() > 0
        except PlaywrightError:  # the frame is not there (yet)
            return False

    @staticmethod
    def _act(page: Page, action: LoginAction, *, wrong_totp: bool = False) -> None:
        scope = page.frame_locator(action.frame) if action.frame else page
        if action.fill is not None and action.totp is not None:
            # The current one-time code (never the secret) is typed; see harness/otp.py.
            code = (wrong_totp_code if wrong_totp else totp)(action.totp, time.time())
            scope.locator(action.fill).fill(code)
        elif action.fill is not None:
            scope.locator(action.fill).fill(action.value or "")
        elif action.click is not None:
            scope.locator(action.click).click()

    def _wait_for_next(self, page: Page, before: str, callbacks: list[Request]) -> None:
        deadline = time.monotonic() + self.step_timeout_s
        while not callbacks and time.monotonic() < deadline:
            if page.url != before and not page.url.startswith("chrome-error:"):
                with contextlib.suppress(PlaywrightError):
                    page.wait_for_load_state("domcontentloaded")
                return
            page.wait_for_timeout(20)
        if not callbacks:
            raise LoginFailed(
                f"the page did not move on within {self.step_timeout_s:.0f} s", page.url
            )

    def _settle(self, page: Page) -> None:
        """Leave the shared page on about:blank before it serves the next flow. The redirect to
        the redirect_uri usually ends on an error page (nothing need listen there), and Chromium
        reloads such pages by itself a moment later: a reload seen by the next flow would pass
        for its own callback, with another flow's code."""
        for _ in range(3):
            try:
                page.goto("about:blank", wait_until="commit")
            except PlaywrightError:  # a late end of the redirect's navigation: go again
                continue
            if page.url == "about:blank":
                return

    @staticmethod
    def _screenshot(page: Page, label: str) -> None:
        try:
            png = page.screenshot(full_page=True)
        except PlaywrightError:
            return
        record(Screenshot(label, page.url, png))
