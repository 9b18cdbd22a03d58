"""``Diagnosis``: the result, as plain data. Every renderer reads only this."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

Scalar = int | float | str | bool
OutputFormat = Literal["text", "json", "markdown"]
DIAGNOSIS_FORMAT = "lossexpert.diagnosis/1"


class Evidence(BaseModel):
    """One observed symptom: its id, where it came from, its numbers and a sentence."""

    symptom: str
    source: Literal["curves", "config", "layers", "data"]
    strength: float
    values: dict[str, Scalar]
    text: str


class RuleTrace(BaseModel):
    """One rule that fired: what it added to the cause, and on which facts."""

    rule: str
    cf: float
    description: str
    facts: list[str]


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


class MissingFact(BaseModel):
    key: str
    text: str


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
    healthy: bool
    summary: str
    problems: list[Problem]
    findings: list[Finding]
    symptoms: list[Evidence]
    not_fired: list[RuleNotFired]
    missing: list[MissingFact]
    warnings: list[str]

    @property
    def top(self) -> Finding | None:
        return self.findings[0] if self.findings else None

    def to_json(self, *, indent: int | None = 2) -> str:
        return self.model_dump_json(indent=indent)

    def to_text(self, *, width: int = 100, color: bool = False) -> str:
        from lossexpert.reports.text import render_text

        return render_text(self, width=width, color=color)

    def to_markdown(self) -> str:
        from lossexpert.reports.markdown import render_markdown

        return render_markdown(self)

    def render(self, fmt: OutputFormat) -> str:
        if fmt == "json":
            return self.to_json()
        if fmt == "markdown":
            return self.to_markdown()
        return self.to_text()

    def write(self, path: str | Path, fmt: OutputFormat) -> None:
        Path(path).write_text(self.render(fmt), encoding="utf-8")
