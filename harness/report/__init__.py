"""Report writers. Everything is rendered from one results document (``results.json``):

- ``index.html``: the run's header, a requirement matrix over the whole catalogue (filtered by
  verdict and spec without any script) and the list of tests;
- ``tests/NNNN-name.html``: one page per test with its findings and evidence, so that a run of
  thousands of tests never makes one giant page;
- ``junit.xml``: for CI test views, with requirement ids as properties.

Every value from the target is escaped, and the pages forbid scripts outright (CSP).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from jsonschema import Draft202012Validator

from harness.catalogue import load_catalogue
from harness.evidence import Redactor, Screenshot
from harness.expected import ExpectedResults
from harness.results import RunResults


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")[:100] or "test"


def _write_screenshots(out: Path, run: RunResults) -> dict[int, str]:
    paths: dict[int, str] = {}
    groups = [("session", run.session_evidence)] + [(t.id, t.evidence) for t in run.tests]
    for n, (group, items) in enumerate(groups):
        shots = [i for i in items if isinstance(i, Screenshot)]
        for m, shot in enumerate(shots, 1):
            rel = Path("evidence") / f"{n:04d}-{_safe(group)}" / f"{m:02d}-{_safe(shot.label)}.png"
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            (out / rel).write_bytes(shot.png)
            paths[id(shot)] = rel.as_posix()
    return paths


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if epoch else "?"


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("harness.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    return env


def assign_pages(document: dict[str, Any]) -> None:
    """Give every test of the document the path of its own page (``tests/NNNN-name.html``)."""
    for n, test in enumerate(document["tests"], 1):
        test["page"] = f"tests/{n:04d}-{_safe(test['name'])}.html"


def render_report(document: dict[str, Any], out: Path) -> Path:
    """Write ``index.html`` and one page per test for a results document; return the index."""
    env = _environment()
    catalogue = load_catalogue()
    if any("page" not in t for t in document["tests"]):
        assign_pages(document)
    (out / "tests").mkdir(parents=True, exist_ok=True)
    page = env.get_template("test.html.j2")
    for test in document["tests"]:
        html = page.render(
            t=test,
            catalogue=catalogue,
            open_all=test["outcome"] in ("failed", "error", "review"),
            prefix="../",
        )
        (out / test["page"]).write_text(html, encoding="utf-8")
    sections = sorted({r["spec"] for r in document["requirements"]})
    index = out / "index.html"
    index.write_text(
        env.get_template("index.html.j2").render(
            doc=document,
            sections=sections,
            tests_by_id={t["id"]: t for t in document["tests"]},
            open_all=False,
            prefix="",
        ),
        encoding="utf-8",
    )
    return index


def write_junit(document: dict[str, Any], path: Path) -> None:
    """JUnit XML for CI test views: one testcase per test, its verdict and requirement ids as
    properties; FAILED is a failure, ERROR an error, SKIPPED skipped."""
    counts = document["counts"]
    suite = ET.Element(
        "testsuite",
        name="fapi-harness",
        tests=str(len(document["tests"])),
        failures=str(counts.get("failed", 0)),
        errors=str(counts.get("error", 0)),
        skipped=str(counts.get("skipped", 0)),
        time=f"{document['finished'] - document['started']:.3f}",
    )
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="target", value=document["target"])
    ET.SubElement(props, "property", name="issuer", value=document["issuer"])
    for test in document["tests"]:
        module, _, name = test["id"].rpartition("::")
        case = ET.SubElement(
            suite,
            "testcase",
            classname=module.removesuffix(".py").replace("/", "."),
            name=name,
            time=f"{test['duration_s']:.3f}",
        )
        case_props = ET.SubElement(case, "properties")
        ET.SubElement(case_props, "property", name="verdict", value=test["outcome"])
        for rid in test["requirements"]:
            ET.SubElement(case_props, "property", name="requirement", value=rid)
        outcome = test["outcome"]
        if outcome in ("failed", "error", "skipped"):
            tag = {"failed": "failure", "error": "error", "skipped": "skipped"}[outcome]
            ET.SubElement(case, tag, message=test["reason"][:1000]).text = test["reason"]
        elif outcome in ("warning", "review"):
            ET.SubElement(case, "system-out").text = f"{outcome.upper()}: {test['reason']}"
    ET.indent(suite)
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


def write_run(
    out: Path, run: RunResults, redactor: Redactor, expected: ExpectedResults | None = None
) -> Path:
    """Write the whole run folder: screenshots, ``results.json``, ``junit.xml`` and the HTML
    pages, with the expected results applied when given. Returns the path of ``index.html``."""
    out.mkdir(parents=True, exist_ok=True)
    document = run.to_dict(redactor, _write_screenshots(out, run))
    if expected is not None:
        expected.apply(document)
    assign_pages(document)
    (out / "results.json").write_text(json.dumps(document, indent=2), encoding="utf-8")
    write_junit(document, out / "junit.xml")
    return render_report(document, out)


def rerender_run(out: Path, expected: ExpectedResults | None = None) -> Path:
    """Render an existing run folder again from its ``results.json`` (after an upgrade of the
    harness, say, or with another expected-results file): the HTML pages and ``junit.xml``, and
    ``results.json`` itself when expectations are applied. Returns the path of ``index.html``."""
    path = out / "results.json"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{out}: no results.json (is it a run folder?)") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON: {exc}") from None
    schema = json.loads((Path(__file__).parent / "results.schema.json").read_text())
    errors = sorted(Draft202012Validator(schema).iter_errors(document), key=lambda e: e.path)
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "(document)"
        raise ValueError(
            f"{path}: not a fapi-harness results document: {where}: {errors[0].message}"
        )
    if expected is not None:
        for test in document["tests"]:
            test.pop("expected", None)
        expected.apply(document)
        path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    write_junit(document, out / "junit.xml")
    return render_report(document, out)
