"""Run guards: a sanity probe before and after the run, a circuit breaker, a per-test time limit.

- **Probe** (``guards.probe``). Before the first test, the discovery document is fetched once
  (with the run's time limits). If the target gives no answer at all (connection, TLS or time
  limit), the run is "target down": every test ends at once in ERROR with that one reason, and
  the run exits 3. After the last test the probe is sent again: if the target stopped
  answering during the run, the report says so, so that a reader tells "target down" from
  "target non-conformant". A bad document is an answer: the tests judge it.
- **Circuit breaker.** After ``guards.max_consecutive_errors`` ERROR verdicts in a row (target
  configuration; 0 turns it off), the remaining tests are not attempted: each ends in ERROR
  "not run: circuit breaker open after N consecutive errors: <first reason>", and the report
  states the reason once, at the top.
- **Per-test time limit** (``timeouts.test``): a test (set-up and body) still running when it
  is reached is interrupted with ``TestTimeLimit`` and ends in ERROR with that reason. It is a
  backstop: every request and browser step has its own, shorter limit.

State is per process: under pytest-xdist each worker probes once and runs its own breaker (it
counts the errors of the tests it runs). The time limit uses SIGALRM, so it applies where
tests run on the main thread of a POSIX process (pytest and xdist workers do); elsewhere only
the per-request and per-step limits apply.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import FrameType

from harness.config import TargetConfig
from harness.evidence import Recorder, recording
from harness.flows import discover
from harness.net import HttpClient, Timeouts, TransportFailure
from harness.verdict import NotTestable, Verdict


class NotRun(NotTestable):
    """The test was not attempted (target down at the start, or the circuit breaker is open)."""


class TestTimeLimit(NotTestable):
    """The test ran past its time limit (``timeouts.test``)."""

    __test__ = False  # not a pytest test class


def probe(config: TargetConfig, recorder: Recorder, when: str) -> str | None:
    """Fetch the discovery document once; None when the target answers (even with a bad
    document: that is for the tests to judge), else why it gave no answer."""
    http = HttpClient(
        f"probe ({when})",
        ca_file=config.ca_file,
        timeouts=Timeouts(config.timeouts.connect, config.timeouts.read, config.timeouts.request),
        allowed_hosts=config.hosts,
    )
    try:
        with recording(recorder):
            discover(http, config.discovery)
    except TransportFailure as exc:
        return f"no answer to {config.discovery}: {exc.exchange.error}"
    except NotTestable:
        return None
    finally:
        http.close()
    return None


@dataclass
class Guard:
    """The probes and the circuit breaker of one process's run."""

    config: TargetConfig
    recorder: Recorder
    started: bool = False
    down_at_start: str | None = None
    open_reason: str | None = None
    consecutive: int = 0
    first_error: str | None = None
    notices: list[str] = field(default_factory=list)

    def before_test(self) -> None:
        """Probe before the first test; raise ``NotRun`` when the run must not go on."""
        if not self.started:
            self.started = True
            if not self.config.guards.probe:
                return
            down = probe(self.config, self.recorder, "start of the run")
            if down is not None:
                self.down_at_start = down
                self.open_reason = f"target down at the start of the run: {down}"
                self.notices.append(
                    f"The target did not answer the sanity probe before the run, so no test "
                    f"was attempted: {down}"
                )
        if self.open_reason is not None:
            raise NotRun(f"not run: {self.open_reason}")

    def after_test(self, verdict: Verdict, reason: str) -> None:
        """Count consecutive ERRORs; open the breaker at the configured limit."""
        limit = self.config.guards.max_consecutive_errors
        if self.open_reason is not None or limit == 0 or verdict is Verdict.SKIPPED:
            return
        if verdict is not Verdict.ERROR:
            self.consecutive, self.first_error = 0, None
            return
        self.consecutive += 1
        self.first_error = self.first_error or reason
        if self.consecutive >= limit:
            self.open_reason = (
                f"circuit breaker open after {limit} consecutive errors: {self.first_error}"
            )
            self.notices.append(
                f"Circuit breaker: after {limit} consecutive ERROR verdicts the remaining "
                f"tests were not attempted. The first of those errors: {self.first_error}"
            )

    def at_finish(self) -> None:
        """Probe again after the last test (when the first probe succeeded)."""
        if not self.started or self.down_at_start is not None or not self.config.guards.probe:
            return
        down = probe(self.config, self.recorder, "end of the run")
        if down is not None:
            self.notices.append(
                "The target did not answer the sanity probe after the run: ERROR verdicts may "
                f"mean the target went down, not that it is non-conformant: {down}"
            )


@dataclass
class TimeLimit:
    """A per-test deadline enforced with SIGALRM, armed around each phase of a test."""

    seconds: float
    deadline: float | None = None

    def _usable(self) -> bool:
        return hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread()

    def start(self) -> None:
        self.deadline = time.monotonic() + self.seconds

    @contextlib.contextmanager
    def armed(self) -> Iterator[None]:
        """Interrupt the code inside with ``TestTimeLimit`` once the test's deadline passes."""
        if self.deadline is None or not self._usable():
            yield
            return
        seconds = self.seconds

        def expired(signum: int, frame: FrameType | None) -> None:
            raise TestTimeLimit(
                f"the test ran longer than its time limit of {seconds:g} s (timeouts.test)"
            )

        previous = signal.signal(signal.SIGALRM, expired)
        signal.setitimer(signal.ITIMER_REAL, max(self.deadline - time.monotonic(), 0.001))
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
