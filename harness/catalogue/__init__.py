"""The requirement catalogue: data in ``requirements.toml``, loaded into ``Requirement`` values."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

LEVELS = ("MUST", "MUST NOT", "SHOULD", "SHOULD NOT", "MAY")


@dataclass(frozen=True)
class Requirement:
    """One normative statement of a spec, with our own one-line paraphrase and a link to it."""

    id: str
    spec: str
    clause: str
    level: str
    applies_to: str
    text: str
    testable: str
    url: str
    note: str = ""
    untested_reason: str = ""

    @property
    def section(self) -> str:
        """The spec and top-level section, e.g. ``FAPI2SP 5.3``, for grouping in the report."""
        return f"{self.spec} {'.'.join(self.clause.split('.')[:2])}"

    @property
    def why_untested(self) -> str:
        """Why a requirement may have no test: the catalogue's reason, else one derived from it."""
        if self.untested_reason:
            return self.untested_reason
        if self.applies_to == "client":
            return "applies to clients, not to the server under test"
        if self.testable == "manual":
            return "needs human review"
        return "no test covers it yet"

    @property
    def mandatory(self) -> bool:
        """True for MUST and MUST NOT."""
        return self.level.startswith("MUST")


class CatalogueError(ValueError):
    """The catalogue file is malformed."""


@cache
def spec_titles() -> dict[str, str]:
    """Each spec prefix's title, with its version, as the catalogue names it."""
    data = tomllib.loads(_text())
    return {prefix: str(spec.get("title", prefix)) for prefix, spec in data["specs"].items()}


def _text() -> str:
    return (resources.files("harness.catalogue") / "requirements.toml").read_text(encoding="utf-8")


@cache
def load_catalogue() -> dict[str, Requirement]:
    """Every requirement of the catalogue, by id."""
    data = tomllib.loads(_text())
    specs = data["specs"]
    out: dict[str, Requirement] = {}
    for entry in data["requirement"]:
        rid = entry["id"]
        prefix = rid.split("-", 1)[0]
        if prefix not in specs:
            raise CatalogueError(f"{rid}: unknown spec prefix {prefix!r}")
        if entry["level"] not in LEVELS:
            raise CatalogueError(f"{rid}: level must be one of {', '.join(LEVELS)}")
        if rid in out:
            raise CatalogueError(f"{rid}: duplicate id")
        spec = specs[prefix]
        out[rid] = Requirement(
            id=rid,
            spec=prefix,
            clause=entry["clause"],
            level=entry["level"],
            applies_to=entry["applies_to"],
            text=entry["text"],
            testable=entry["testable"],
            url=spec["url"] + spec["anchor"].format(clause=entry["clause"]),
            note=entry.get("note", ""),
            untested_reason=entry.get("untested_reason", ""),
        )
    return out
