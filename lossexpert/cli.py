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
from typer.core import TyperCommand

from lossexpert._version import __version__
from lossexpert.errors import LossexpertError, printable

EXIT_INPUT, EXIT_INTERNAL = 2, 3

app = typer.Typer(
    name="lossexpert",
    help="Why is my network's loss not going down? Diagnose a recorded training run.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Click's plain help: flags shown as flags (no "<bool>"), arguments by their metavar, and
    # no import of rich's help machinery on every start.
    rich_markup_mode=None,
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


FromOption = Annotated[
    str | None,
    typer.Option(
        "--from",
        help="Force the source: run, tensorboard, hf, lightning, keras, "
        "mlflow, csv, wandb (default: detected from the path).",
    ),
]
MapOption = Annotated[
    list[str] | None,
    typer.Option(
        "--map",
        help="Map a logged name: TARGET=NAME, TARGET being train, val, test, "
        "lr or split:metric (repeatable).",
    ),
]
VerboseOption = Annotated[
    bool, typer.Option("--verbose", "-v", help="Print what was mapped and what was ignored.")
]


class _Command(TyperCommand):
    """Usage lines the Unix way: ``explain [OPTIONS] RUN`` (typer writes ``{RUN}``)."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = super().collect_usage_pieces(ctx)
        return [p[1:-1] if p.startswith("{") and p.endswith("}") else p for p in pieces]


class Lang(str, Enum):
    """The report languages (lossexpert.kb.texts.LANGUAGES, which a test keeps equal to this),
    listed here so that --help shows the choices without importing the templates."""

    en = "en"
    zh = "zh"


LangOption = Annotated[Lang, typer.Option("--lang", help="Language of the explanation.")]
RunIdOption = Annotated[
    str | None, typer.Option("--run-id", help="MLflow run id, read through MLflow's client.")
]
TrackingOption = Annotated[
    str | None, typer.Option("--tracking-uri", help="MLflow tracking URI (with --run-id).")
]


def _read(
    path: Path,
    source: str | None,
    mapping: list[str] | None,
    verbose: bool,
    run_id: str | None = None,
    tracking_uri: str | None = None,
) -> Any:
    from lossexpert.collectors.importers import import_run

    try:
        imported = import_run(
            path,
            source=source or ("mlflow" if run_id else None),
            mapping=mapping,
            run_id=run_id,
            tracking_uri=tracking_uri,
        )
    except LossexpertError as err:
        _fail(str(err))
    if verbose:
        sys.stderr.write(f"lossexpert: read {printable(str(path))} as {imported.kind}\n")
        for line in imported.mapping:
            sys.stderr.write(f"lossexpert: {printable(line)}\n")
    for warning in imported.loaded.warnings:
        sys.stderr.write(f"lossexpert: warning: {printable(warning, limit=600)}\n")
    return imported.loaded


@app.command(cls=_Command)
def explain(
    run: Annotated[
        Path,
        typer.Argument(
            help="A run (.json/.jsonl) or a log file or folder: "
            "TensorBoard, HF trainer_state.json, Lightning, Keras "
            "CSV, MLflow run, W&B run folder or panel export, CSV/JSONL table.",
            show_default=False,
            metavar="RUN",
        ),
    ],
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.text,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here.")] = None,
    language: LangOption = Lang.en,
    source: FromOption = None,
    mapping: MapOption = None,
    verbose: VerboseOption = False,
    run_id: RunIdOption = None,
    tracking_uri: TrackingOption = None,
    many: Annotated[
        bool,
        typer.Option(
            "--many",
            help="RUN is a directory or a glob of runs: one JSON line per "
            "run (a run that fails gets an error line), on all cores.",
        ),
    ] = False,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", help="Processes for --many.")] = None,
    set_facts: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="A fact you know, in the run format's config terms: KEY=VALUE, e.g. "
            "loss=mse, shuffle=false, optimizer.lr=0.1 (repeatable).",
        ),
    ] = None,
    facts_file: Annotated[
        Path | None, typer.Option("--facts", help="Facts from a YAML file (config keys).")
    ] = None,
    ask: Annotated[
        bool,
        typer.Option(
            "--ask",
            help="Ask the questions whose answers best separate the leading causes "
            "(interactive terminals only; never with --format json).",
        ),
    ] = False,
    max_questions: Annotated[
        int, typer.Option("--max-questions", min=1, help="At most this many questions.")
    ] = 5,
    save_facts: Annotated[
        Path | None, typer.Option("--save-facts", help="Write the facts (given and answered).")
    ] = None,
) -> None:
    """Diagnose a run: the problem, ranked causes with evidence, and what to do."""
    from lossexpert._diagnose import diagnose

    lang = language.value
    from lossexpert.kb.texts import LANGUAGES

    if lang not in LANGUAGES:
        _fail(f"--lang: unknown language {lang!r}; available: {', '.join(LANGUAGES)}")
    if many:
        _explain_many(str(run), lang, source, jobs, output)
        return
    loaded = _read(run, source, mapping, verbose, run_id, tracking_uri)
    try:
        if set_facts or facts_file or ask or save_facts or fmt is Format.json:
            diagnosis = _consult(
                loaded, lang, fmt, set_facts, facts_file, ask, max_questions, save_facts
            )
        else:
            diagnosis = diagnose(loaded, lang=lang)
    except LossexpertError as err:
        _fail(str(err))
    if fmt is Format.text and output is None and sys.stdout.isatty():
        from rich.console import Console

        from lossexpert.reports.text import print_text

        print_text(diagnosis, Console(highlight=False))
        return
    _emit(diagnosis.render(fmt.value), output)


def _consult(
    loaded: Any,
    lang: str,
    fmt: Format,
    set_facts: list[str] | None,
    facts_file: Path | None,
    ask: bool,
    max_questions: int,
    save_facts: Path | None,
) -> Any:
    """User facts (--set/--facts), questions (--ask, interactive only), and the questions
    still worth asking listed in the JSON's ``missing``."""
    from lossexpert import _consult as consult
    from lossexpert._diagnose import diagnose
    from lossexpert.collectors.runfile import LoadedRun

    facts: dict[str, Any] = {}
    if facts_file is not None:
        facts.update(consult.validate_facts(consult.load_facts(facts_file), str(facts_file)))
    facts.update(consult.validate_facts(consult.parse_set(set_facts or []), "--set"))
    interactive = ask and fmt is not Format.json and sys.stdin.isatty()
    if ask and not interactive:
        why = "--format json" if fmt is Format.json else "stdin is not a terminal"
        sys.stderr.write(f"lossexpert: --ask: {why}: no questions asked\n")

    def write(text: str) -> None:
        sys.stderr.write(text)
        sys.stderr.flush()

    diagnosis, known = consult.consult(
        loaded.run,
        facts,
        lambda r: diagnose(LoadedRun(r, loaded.source, loaded.warnings), lang=lang),
        lang=lang,
        ask=max_questions if interactive else 0,
        read=sys.stdin.readline,
        write=write,
        list_questions=fmt is Format.json or ask,
    )
    if save_facts is not None:
        try:
            consult.save_facts(save_facts, known)
        except OSError as err:
            _fail(f"{save_facts}: cannot write: {err.strerror}")
    return diagnosis


def _explain_many(
    pattern: str, lang: str, source: str | None, jobs: int | None, output: Path | None
) -> None:
    from lossexpert._batch import expand, explain_many

    paths = expand(pattern)
    if not paths or not paths[0].exists():
        _fail(f"{pattern}: no runs match")
    failed = 0
    try:
        sink = output.open("w", encoding="utf-8") if output is not None else sys.stdout
    except OSError as err:
        _fail(f"{output}: cannot write: {err.strerror}")
    progress = None
    if sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import Progress

        progress = Progress(console=Console(stderr=True), transient=True)
        progress.start()
        task = progress.add_task("diagnosing", total=len(paths))
    try:
        for ok, line in explain_many(paths, lang=lang, source=source, jobs=jobs):
            failed += not ok
            sink.write(line + "\n")
            if progress is not None:
                progress.advance(task)
    finally:
        if progress is not None:
            progress.stop()
        if sink is not sys.stdout:
            sink.close()
    if failed:
        sys.stderr.write(f"lossexpert: {failed} of {len(paths)} runs could not be diagnosed\n")
        raise typer.Exit(EXIT_INPUT)


@app.command(cls=_Command)
def validate(
    run: Annotated[
        Path,
        typer.Argument(help="A run file (.json or .jsonl).", show_default=False, metavar="RUN"),
    ],
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


@app.command(cls=_Command)
def convert(
    path: Annotated[
        Path,
        typer.Argument(
            help="A run or any supported log (see explain).", show_default=False, metavar="PATH"
        ),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Target: .json or .jsonl.")],
    source: FromOption = None,
    mapping: MapOption = None,
    verbose: VerboseOption = False,
    run_id: RunIdOption = None,
    tracking_uri: TrackingOption = None,
) -> None:
    """Write a run or an imported log in the run format (.json, or .jsonl by suffix)."""
    from lossexpert.collectors.jsonl import run_to_records

    loaded = _read(path, source, mapping, verbose, run_id, tracking_uri)
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
    language: LangOption = Lang.en,
) -> None:
    """List the knowledge base: every rule with its cause, problem, priority and description."""
    from lossexpert.kb import knowledge_base

    lang = language.value

    try:
        kb = knowledge_base()
    except LossexpertError as err:  # a plugin or configuration that cannot load
        _fail(str(err))
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
            "description": kb.describe(p, lang),
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
            "description": kb.describe(r, lang),
            "reference": c.reference,
            "origin": kb.origin(c.id),  # "lossexpert", a unit folder, or a plugin
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
        plugin = f"  [{row['origin']}]" if row.get("origin", "lossexpert") != "lossexpert" else ""
        sys.stdout.write(
            f"{row['rule']:28s} {target:26s} p{row['priority']:<5d}{cf}  {row['description']}"
            f"{plugin}\n"
        )


@app.command()
def doctor(
    target: Annotated[
        str,
        typer.Argument(
            help="pkg.module:make, where make() returns model, optimizer, criterion, loader "
            "[, val_loader] (a tuple, or a dict with those keys).",
            show_default=False,
        ),
    ],
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.text,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here.")] = None,
    lang: Annotated[str, typer.Option("--lang", help="Language of the explanation.")] = "en",
    budget: Annotated[float, typer.Option("--budget", help="Seconds for the probes.")] = 60.0,
    run: Annotated[
        Path | None, typer.Option("--run", help="The recording of the real training.")
    ] = None,
) -> None:
    """Run experiments on copies of your objects to confirm the cause, and try the fix."""
    from lossexpert.doctor._cli import run_cli
    from lossexpert.kb.texts import LANGUAGES

    if lang not in LANGUAGES:
        _fail(f"--lang: unknown language {lang!r}; available: {', '.join(LANGUAGES)}")
    try:
        diagnosis = run_cli(target, budget_s=budget, lang=lang, run=run)
    except LossexpertError as err:
        _fail(str(err))
    _emit(diagnosis.render(fmt.value), output)


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
