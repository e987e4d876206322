"""The benchmark's arithmetic: waiting time as a union of intervals, shared set-up counted once."""

from __future__ import annotations

from typing import Any

from bench.plan import unique_evidence, waiting_union_s


def item(kind: str, started: float, elapsed: float, label: str | None = None) -> dict[str, Any]:
    return {"kind": kind, "started": started, "elapsed_s": elapsed, "label": label}


def test_overlapping_waits_count_once_and_gaps_not_at_all() -> None:
    evidence = [
        item("exchange", 0.0, 1.0),  # worker 1 waits for the target: 0-1
        item("note", 0.5, 1.0, "browser"),  # worker 2 in the browser: 0.5-1.5
        item("note", 0.6, 0.2, "browser"),  # inside the previous one
        item("note", 3.0, 2.0, "wait"),  # a mandated wait: 3-5 (1.5-3 waits for nothing)
        item("note", 3.5, 9.0, "authorization response"),  # a fact, not a wait
    ]
    assert waiting_union_s(evidence) == 3.5


def test_set_up_attached_to_several_tests_is_counted_once() -> None:
    shared = item("exchange", 10.0, 2.0)
    tests = [{"evidence": [shared]}, {"evidence": [dict(shared), item("exchange", 11.0, 2.0)]}]
    assert waiting_union_s(unique_evidence(tests)) == 3.0
