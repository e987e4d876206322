"""Set-up flows reusing one page, and one Chromium shared by the workers of a parallel run,
against the small login site of ``test_login_steps``. Each Browser runs in a thread of its own
(Playwright's sync API allows one per thread), as each worker is a process of its own."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.browser import Browser, BrowserUnavailable, SharedChromium
from tests.procs import pids_mentioning
from tests.test_login_steps import CONSENT, LOGIN, serve_pages


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    with serve_pages() as url:
        yield url


def in_threads(*works: Callable[[], Any]) -> list[Any]:
    """Run each of ``works`` at once, each in a thread of its own; their results in order (the
    first exception raised is raised here)."""
    results: list[Any] = [None] * len(works)
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            results[n] = works[n]()
        except BaseException as exc:  # handed to the caller
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(works))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise errors[0]
    return results


def test_set_up_flows_reuse_one_page_without_mixing_callbacks(site: str) -> None:
    def flows() -> tuple[list[dict[str, str]], int]:
        chromium = Browser(loopback_only=True, step_timeout_s=3, reuse_session=True)
        try:
            got = [
                chromium.attempt(f"{site}/direct?code=one", f"{site}/cb", (), setup=True).params,
                chromium.attempt(f"{site}/direct?code=two", f"{site}/cb", (), setup=True).params,
                chromium.attempt(f"{site}/direct?code=three", f"{site}/cb", ()).params,
            ]
            shared = chromium._shared
            return got, len(shared.pages) if shared is not None else 0
        finally:
            chromium.close()

    [(params, pages)] = in_threads(flows)
    assert params == [{"code": "one"}, {"code": "two"}, {"code": "three"}]
    assert pages == 1  # one page served both set-ups; the fresh flow had a context of its own


def test_workers_share_one_chromium_and_it_is_stopped(site: str) -> None:
    shared = SharedChromium(headless=True, loopback_only=True)
    shared.start()

    def worker() -> tuple[tuple[str, ...], list[int]]:
        browser = Browser(loopback_only=True, step_timeout_s=3, shared_dir=shared.user_data_dir)
        try:
            result = browser.authorize(f"{site}/page", f"{site}/cb", (CONSENT, LOGIN))
            return result.pages, pids_mentioning(str(shared.user_data_dir))
        finally:
            browser.close()

    try:
        (pages1, pids1), (pages2, pids2) = in_threads(worker, worker)
        assert pages1 == pages2 == ("login", "consent")
        assert set(pids1) & set(pids2)  # the same browser (its main process) served both
    finally:
        shared.stop()
    assert pids_mentioning(str(shared.user_data_dir)) == []
    assert not shared.user_data_dir.exists()


def test_a_shared_chromium_that_cannot_start_is_browser_unavailable(site: str) -> None:
    shared = SharedChromium(headless=True, loopback_only=True)
    shared.start()

    def worker() -> None:
        browser = Browser(
            executable=Path("/nonexistent/chromium"),
            loopback_only=True,
            step_timeout_s=3,
            shared_dir=shared.user_data_dir,
        )
        try:
            browser.authorize(f"{site}/page", f"{site}/cb", (CONSENT, LOGIN))
        finally:
            browser.close()

    try:
        with pytest.raises(BrowserUnavailable, match="/nonexistent/chromium"):
            in_threads(worker)
    finally:
        shared.stop()


def test_a_run_whose_workers_need_no_browser_starts_none() -> None:
    shared = SharedChromium(headless=True, loopback_only=True)
    shared.start()
    time.sleep(0.5)
    began = time.monotonic()
    shared.stop()
    assert time.monotonic() - began < 2
    assert pids_mentioning(str(shared.user_data_dir)) == []
    assert not shared.user_data_dir.exists()
