"""Report writers: ``results.json`` and a self-contained ``index.html``, from the results model."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from harness.catalogue import load_catalogue
from harness.evidence import Redactor, Screenshot
from harness.results import RunResults


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")[:120] or "test"


def _write_screenshots(out: Path, run: RunResults) -> dict[int, str]:
    paths: dict[int, str] = {}
    groups = [("session", run.session_evidence)] + [(t.id, t.evidence) for t in run.tests]
    for group, items in groups:
        shots = [i for i in items if isinstance(i, Screenshot)]
        for n, shot in enumerate(shots, 1):
            rel = Path("evidence") / _safe(group) / f"{n:02d}-{_safe(shot.label)}.png"
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            (out / rel).write_bytes(shot.png)
            paths[id(shot)] = rel.as_posix()
    return paths


def render_html(document: dict[str, Any]) -> str:
    """The HTML report of a results document (all target-supplied text is escaped)."""
    env = Environment(
        loader=PackageLoader("harness.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    catalogue = load_catalogue()
    return env.get_template("index.html.j2").render(doc=document, catalogue=catalogue)


def write_run(out: Path, run: RunResults, redactor: Redactor) -> Path:
    """Write ``results.json``, ``index.html`` and screenshots into ``out``; return the HTML path."""
    out.mkdir(parents=True, exist_ok=True)
    document = run.to_dict(redactor, _write_screenshots(out, run))
    (out / "results.json").write_text(json.dumps(document, indent=2), encoding="utf-8")
    html = out / "index.html"
    html.write_text(render_html(document), encoding="utf-8")
    return html
