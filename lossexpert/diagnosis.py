"""``Diagnosis``: the result, as plain data. Every renderer reads only this."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, PrivateAttr

from lossexpert.reports import render
from lossexpert.runformat import Run

Scalar = int | float | str | bool
OutputFormat = Literal["text", "json", "markdown", "html"]
DIAGNOSIS_FORMAT = "lossexpert.diagnosis/1"


class Evidence(BaseModel):
    """One observed symptom: its id, where it came from, its numbers and a sentence."""

    symptom: str
    source: Literal["curves", "config", "layers", "data", "probe", "user"]
    strength: float
    values: dict[str, Scalar]
    text: str


class RuleTrace(BaseModel):
    """One rule that fired: what it added to the cause, and on which facts."""

    rule: str
    cf: float
    description: str
    facts: list[str]


class ChainStep(BaseModel):
    """One consequence a root cause produced: "which led to ..."."""

    cause: str
    title: str
    via: list[str]  # the facts that show the root acting first
    text: str  # how the root produces the consequence


class Finding(BaseModel):
    rank: int
    cause: str
    problem: str
    confidence: float = Field(ge=0, le=1)
    title: str
    explanation: str
    evidence: list[Evidence] = Field(min_length=1)
    contrary: list[Evidence] = Field(default_factory=list)
    remedies: list[str] = Field(min_length=1)
    rules: list[RuleTrace]
    reference: str
    # Explaining away: a root lists the causes it accounts for (``chain`` says how, in
    # order); a consequence names its root. Both empty for a cause that stands alone.
    explains: list[str] = Field(default_factory=list)
    chain: list[ChainStep] = Field(default_factory=list)
    explained_by: str | None = None
    tried: str | None = None  # doctor: the remedy tried on a copy, confirmed or not


class ProbeResult(BaseModel):
    """One experiment of ``lossexpert.doctor``: ran, skipped (and why) or failed (the error)."""

    name: str
    status: Literal["ran", "skipped", "failed"]
    reason: str = ""  # why it was skipped, or the error it raised
    seconds: float = 0.0
    facts: list[str] = Field(default_factory=list)  # the symptoms it produced
    text: list[str] = Field(default_factory=list)  # those symptoms' sentences
    values: dict[str, Scalar | None] = Field(default_factory=dict)
    series: dict[str, list[float]] = Field(default_factory=dict)  # e.g. the LR sweep


class Problem(BaseModel):
    id: str
    title: str
    summary: str
    evidence: list[Evidence]
    rules: list[str]


class RuleNotFired(BaseModel):
    rule: str
    target: str
    description: str


class Event(BaseModel):
    """A point worth marking on a plot (first non-finite loss, plateau onset, val minimum...)."""

    kind: str
    split: str | None = None
    step: int | None = None
    value: float | None = None


class MissingFact(BaseModel):
    key: str
    text: str
    # A fact worth asking the user (``explain --ask``; a platform can ask it in its own UI):
    # the question, and the causes in contention its answer would separate.
    question: str | None = None
    separates: list[str] = Field(default_factory=list)


class RunInfo(BaseModel):
    name: str | None = None
    id: str | None = None
    framework: str | None = None
    started_at: str | None = None
    source: str | None = None
    tags: dict[str, Scalar | None] = Field(default_factory=dict)


class Diagnosis(BaseModel):
    format: Literal["lossexpert.diagnosis/1"] = "lossexpert.diagnosis/1"
    lossexpert_version: str
    lang: str
    run: RunInfo
    healthy: bool  # no problem found, and the train curve was long enough to judge
    conclusive: bool = True  # False: too little data to say healthy or not (see `missing`)
    summary: str
    problems: list[Problem]
    findings: list[Finding]
    symptoms: list[Evidence]
    not_fired: list[RuleNotFired]
    missing: list[MissingFact]
    warnings: list[str]
    events: list[Event] = Field(default_factory=list)
    config: dict[str, Scalar | None] = Field(default_factory=dict)
    probes: list[ProbeResult] = Field(default_factory=list)  # doctor's experiments
    # The run as the diagnosis saw it, for the HTML report's plots; not serialised.
    _run: Run | None = PrivateAttr(default=None)

    def attach_run(self, run: Run) -> Diagnosis:
        self._run = run
        return self

    @property
    def top(self) -> Finding | None:
        return self.findings[0] if self.findings else None

    def to_json(self, *, indent: int | None = 2) -> str:
        return self.model_dump_json(indent=indent)

    def to_text(self, *, width: int = 100, color: bool = False) -> str:
        return render(self, "text", width=width, color=color)

    def to_markdown(self) -> str:
        return render(self, "markdown")

    def to_html(self, run: Run | None = None) -> str:
        """A self-contained HTML report (inline CSS and SVG plots, no scripts, no requests)."""
        return render(self, "html", run=run if run is not None else self._run)

    def _repr_html_(self) -> str:
        """Jupyter: the HTML report's body (no ``<html>`` shell; escaped, script-free)."""
        return render(self, "html-body", run=self._run)

    def _repr_markdown_(self) -> str:
        """Jupyter (and any front end that renders Markdown): the Markdown report."""
        return self.to_markdown()

    def render(self, fmt: OutputFormat) -> str:
        if fmt == "html":
            return self.to_html()
        if fmt == "json":
            return self.to_json()
        return render(self, fmt)

    def write(self, path: str | Path, fmt: OutputFormat) -> None:
        Path(path).write_text(self.render(fmt), encoding="utf-8")
