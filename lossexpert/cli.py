"""The command line: a thin layer over the library. Parse, call, render, map errors to exits.

Exit status: 0 diagnosed (with or without findings), 2 input that cannot be read or does not
fit the format (one line on stderr: file, field, what is wrong), 3 an internal error (one line;
set LOSSEXPERT_DEBUG=1 for the traceback).
"""

from __future__ import annotations

import json
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from lossexpert._version import __version__
from lossexpert.errors import LossexpertError, printable

EXIT_INPUT, EXIT_INTERNAL = 2, 3

app = typer.Typer(
    name="lossexpert",
    help="Why is my network's loss not going down? Diagnose a recorded training run.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


class Format(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"
    html = "html"


class RulesFormat(str, Enum):
    text = "text"
    json = "json"


def _fail(message: str, code: int = EXIT_INPUT) -> NoReturn:
    sys.stderr.write(f"lossexpert: {printable(message, limit=600)}\n")
    raise typer.Exit(code)


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as err:
        _fail(f"{output}: cannot write: {err.strerror}")


@app.command()
def explain(
    run: Annotated[Path, typer.Argument(help="A run file (.json or .jsonl).", show_default=False)],
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.text,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here.")] = None,
    lang: Annotated[str, typer.Option("--lang", help="Language of the explanation.")] = "en",
) -> None:
    """Diagnose a run: the problem, ranked causes with evidence, and what to do."""
    from lossexpert._diagnose import diagnose
    from lossexpert.kb.texts import LANGUAGES

    if lang not in LANGUAGES:
        _fail(f"--lang: unknown language {lang!r}; available: {', '.join(LANGUAGES)}")
    try:
        diagnosis = diagnose(run, lang=lang)
    except LossexpertError as err:
        _fail(str(err))
    for warning in diagnosis.warnings:
        sys.stderr.write(f"lossexpert: warning: {printable(warning, limit=600)}\n")
    if fmt is Format.text and output is None and sys.stdout.isatty():
        from rich.console import Console

        from lossexpert.reports.text import print_text

        print_text(diagnosis, Console(highlight=False))
        return
    _emit(diagnosis.render(fmt.value), output)


@app.command()
def validate(
    run: Annotated[Path, typer.Argument(help="A run file (.json or .jsonl).", show_default=False)],
) -> None:
    """Check that a file is a readable run; print what it holds."""
    from lossexpert.collectors.runfile import load_run

    try:
        loaded = load_run(run)
    except LossexpertError as err:
        _fail(str(err))
    for warning in loaded.warnings:
        sys.stderr.write(f"lossexpert: warning: {printable(warning, limit=600)}\n")
    r = loaded.run
    curves = ", ".join(f"{k} ({len(v.loss)} points)" for k, v in r.curves.items())
    sys.stdout.write(
        f"{printable(str(run))}: valid {r.format}; curves: {curves}; layers: {len(r.layers)}; "
        f"data splits: {', '.join(r.data) or 'none'}\n"
    )


@app.command()
def convert(
    source: Annotated[Path, typer.Argument(help="A run (.json or .jsonl).", show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="Target: .json or .jsonl.")],
) -> None:
    """Convert a run between the JSON and JSON Lines forms (by the output's suffix)."""
    from lossexpert.collectors.jsonl import run_to_records
    from lossexpert.collectors.runfile import load_run

    try:
        loaded = load_run(source)
    except LossexpertError as err:
        _fail(str(err))
    for warning in loaded.warnings:
        sys.stderr.write(f"lossexpert: warning: {printable(warning, limit=600)}\n")
    data = loaded.run.model_dump(mode="json", exclude_none=True)
    if output.suffix.lower() in (".jsonl", ".ndjson"):
        text = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in run_to_records(data))
    elif output.suffix.lower() == ".json":
        text = json.dumps(data, separators=(",", ":")) + "\n"
    else:
        _fail(f"{output}: output must end in .json or .jsonl")
    _emit(text, output)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the run format."""
    from lossexpert.runformat import json_schema

    sys.stdout.write(json.dumps(json_schema(), indent=2) + "\n")


@app.command()
def rules(
    fmt: Annotated[RulesFormat, typer.Option("--format", "-f")] = RulesFormat.text,
) -> None:
    """List the knowledge base: every rule with its cause, problem, priority and description."""
    from lossexpert.kb import knowledge_base

    kb = knowledge_base()
    rows: list[dict[str, Any]] = [
        {
            "rule": p.id,
            "kind": "problem",
            "cause": None,
            "problem": p.problem,
            "priority": p.priority,
            "when": [p.when],
            "unless": [],
            "cf": None,
            "description": p.description,
            "reference": None,
        }
        for p in kb.problem_rules
    ]
    rows += [
        {
            "rule": r.id,
            "kind": "cause",
            "cause": c.id,
            "problem": c.problem,
            "priority": r.priority,
            "when": list(r.when),
            "unless": list(r.unless),
            "cf": r.cf,
            "description": r.description,
            "reference": c.reference,
        }
        for c in kb.causes.values()
        for r in c.rules
    ]
    if fmt is RulesFormat.json:
        payload = {"lossexpert_version": __version__, "causes": list(kb.causes), "rules": rows}
        sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
        return
    for row in rows:
        target = row["cause"] or row["problem"]
        cf = "" if row["cf"] is None else f" cf {row['cf']:+.2f}"
        sys.stdout.write(
            f"{row['rule']:28s} {target:26s} p{row['priority']:<5d}{cf}  {row['description']}\n"
        )


@app.command()
def version() -> None:
    """Print the version."""
    sys.stdout.write(f"lossexpert {__version__}\n")


def main() -> None:
    """Entry point: never a traceback for the user, whatever happens."""
    try:
        app()  # standalone mode: usage errors exit 2 with click's message, Exit codes pass
    except Exception as err:
        if os.environ.get("LOSSEXPERT_DEBUG"):
            raise
        sys.stderr.write(
            f"lossexpert: internal error: {type(err).__name__}: {printable(str(err))} "
            "(set LOSSEXPERT_DEBUG=1 for the traceback)\n"
        )
        sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":
    main()
