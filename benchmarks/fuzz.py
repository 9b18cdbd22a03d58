"""Fuzz the input boundary: bad input never crashes, hangs, or passes as healthy.

Mutates the bundled runs (``examples/runs/*.json``) — deleted keys, wrong types,
huge/tiny/negative/NaN/Inf numbers, booleans, big integers, long and odd Unicode strings,
truncation at random bytes, deep nesting, mismatched lengths, non-monotonic steps — and sends
each mutant through ``lossexpert.diagnose`` (every renderer, both languages, on a sample), a
few hundred through the CLI in a subprocess, plus special files (FIFO, /dev/zero, directory,
symlink loop). Counts outcomes and fails on:

- an exception other than ``RunInputError`` (library) or exit status 3 / a traceback (CLI);
- a numpy ``RuntimeWarning`` (it would reach the user's stderr);
- a hang: more than 10 s for one input (SIGALRM in process, a timeout for the CLI);
- ``healthy: true`` for an input the format must refuse (a boolean where a number was, steps
  that go back, columns of different lengths, a file cut before its end);
- an output that cannot be encoded as UTF-8 or holds a control character.

Full run (the README quotes its figures)::

    python benchmarks/fuzz.py --library 10000 --cli 300 --seed 0

CI runs a small fixed-seed subset (``tests/test_fuzz.py``).
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples" / "runs").glob("*.json"))
HANG_SECONDS = 10
FORMATS: tuple[Literal["text", "json", "markdown", "html"], ...] = (
    "text",
    "json",
    "markdown",
    "html",
)

# Values a mutation puts somewhere. Numbers at the edges of float64 and beyond int64, every
# JSON type, and strings that break terminals, encoders and layouts.
ODD_STRINGS = (
    "",
    " ",
    "\ud800",  # a lone surrogate: not encodable
    "a\udfffb",
    "\x1b[31mred\x1b[0m\x07",  # terminal escape, bell
    "\x00\x01\x02\x7f\x85\x9b",  # C0, DEL, C1
    "\u202eevil\u202c",  # right-to-left override
    "\u200b\ufeff",  # zero-width space, BOM
    "名字🙂" * 3,
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "</style><style>*{display:none}",
    "[bold]markup[/bold] **md** `x` |a|b|",
    "x" * 100_000,
    "\n\r\t\v\f",
    "NaN",
    "1e309",
)
NUMBERS = (
    0,
    -1,
    1,
    2**53 + 1,
    10**400,
    -(10**400),
    1e308,
    -1e308,
    5e-324,
    -5e-324,
    1e-300,
    1e300,
    math.nan,
    math.inf,
    -math.inf,
    0.5,
    -0.0,
    3.14,
)


def _deep(depth: int) -> Any:
    node: Any = 1
    for _ in range(depth):
        node = [node]
    return node


def odd_value(rng: random.Random) -> Any:
    kind = rng.randrange(8)
    if kind == 0:
        return rng.choice(NUMBERS)
    if kind == 1:
        return rng.choice((True, False))
    if kind == 2:
        return rng.choice(ODD_STRINGS)
    if kind == 3:
        return None
    if kind == 4:
        return [rng.choice(NUMBERS) for _ in range(rng.randrange(5))]
    if kind == 5:
        return {rng.choice(ODD_STRINGS)[:20]: rng.choice(NUMBERS)}
    if kind == 6:
        return _deep(rng.choice((10, 100, 1000, 5000)))
    return rng.choice(([], {}, [None] * 5, [True, False], "", 0))


@dataclass
class Case:
    """One input: a dict (library) or bytes (written to a file), and whether the format must
    refuse it (then ``healthy: true`` is a failure)."""

    kind: str
    base: str
    run: dict[str, Any] | None = None
    data: bytes | None = None
    must_refuse: bool = False


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path into the run; lists contribute their first, a middle and their last item."""
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list) and node:
        for i in sorted({0, len(node) // 2, len(node) - 1}):
            yield from _paths(node[i], (*prefix, i))


def _get(run: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        run = run[key]
    return run


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _columns(run: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Paths of the aligned columns (curve and layer series) of a run."""
    found: list[tuple[Any, ...]] = []
    for split, curve in run.get("curves", {}).items():
        for key, value in curve.items():
            if isinstance(value, list):
                found.append(("curves", split, key))
        for name in curve.get("metrics", {}):
            found.append(("curves", split, "metrics", name))
    for i, layer in enumerate(run.get("layers", [])):
        for key, value in layer.items():
            if isinstance(value, list):
                found.append(("layers", i, key))
    return found


def _step_columns(run: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [p for p in _columns(run) if p[-1] == "step" and len(_get(run, p)) >= 3]


def mutate(rng: random.Random, name: str, base: dict[str, Any]) -> Case:
    run = copy.deepcopy(base)
    op = rng.choice(
        (
            "delete",
            "replace",
            "replace",
            "boolean",
            "number",
            "string",
            "lengths",
            "steps",
            "truncate",
            "column",
            "known",
        )
    )
    paths = [p for p in _paths(run) if p]
    if op == "delete":
        path = rng.choice(paths)
        del _get(run, path[:-1])[path[-1]]
        return Case(op, name, run=run)
    if op in ("replace", "number", "string", "boolean"):
        path = rng.choice(paths)
        old = _get(run, path)
        value: Any
        if op == "replace":
            value = odd_value(rng)
        elif op == "number":
            value = rng.choice(NUMBERS)
        elif op == "string":
            value = rng.choice(ODD_STRINGS)
        else:
            value = rng.choice((True, False))
        _get(run, path[:-1])[path[-1]] = value
        # A boolean where the format has a number is never a number.
        refuse = isinstance(value, bool) and _is_number(old)
        return Case(op, name, run=run, must_refuse=refuse)
    if op == "lengths":
        columns = _columns(run)
        path = rng.choice(columns)
        column = _get(run, path)
        if column and rng.random() < 0.5:
            column.pop(rng.randrange(len(column)))
        else:
            column.append(column[-1] if column else 1.0)
        return Case(op, name, run=run, must_refuse=_misaligned(_get(run, path[:2])))
    if op == "steps":
        columns = _step_columns(run)
        if not columns:
            return Case("steps-none", name, run=run)
        steps = _get(run, rng.choice(columns))
        how = rng.randrange(4)
        if how == 0:
            steps.reverse()
        elif how == 1:
            i = rng.randrange(1, len(steps))
            steps[i] = steps[i - 1] - rng.choice((1, 100))
        elif how == 2:
            steps[:] = [steps[0]] * len(steps)
        else:
            steps[:] = [-s - 1 for s in steps]
        return Case(op, name, run=run, must_refuse=True)
    if op == "truncate":
        data = json.dumps(run).encode()
        cut = rng.randrange(1, len(data) - 1)
        return Case(op, name, data=data[:cut], must_refuse=True)
    if op == "column":
        path = rng.choice(_columns(run))
        column = _get(run, path)
        if column:
            fill = rng.choice((None, math.nan, math.inf, 1e308, 5e-324, -1.0, 0.0, 10**400))
            how = rng.randrange(3)
            if how == 0:
                column[:] = [fill] * len(column)
            elif how == 1:
                column[rng.randrange(len(column))] = fill
            else:
                column[:] = [1e-300 if i % 2 else 1e300 for i in range(len(column))]
        return Case(op, name, run=run)
    return known_case(rng, name, run)


ALIGNED = (
    "loss",
    "step",
    "epoch",
    "time",
    "grad_norm",
    "grad_abs_mean",
    "grad_zero_fraction",
    "weight_norm",
    "update_ratio",
    "dead_fraction",
    "saturated_fraction",
)


def _misaligned(owner: dict[str, Any]) -> bool:
    """Columns of one curve (or one layer) whose lengths disagree: the format refuses it."""
    lengths = {len(v) for k, v in owner.items() if k in ALIGNED and isinstance(v, list)}
    metrics = owner.get("metrics")
    if isinstance(metrics, dict):
        lengths |= {len(v) for v in metrics.values() if isinstance(v, list)}
    return len(lengths) > 1


def known_case(rng: random.Random, name: str, run: dict[str, Any]) -> Case:
    """The classes issue 10 listed, so that every full run meets each a few hundred times."""
    config = run.setdefault("config", {})
    train = run["curves"].setdefault("train", {"loss": [2.3, 2.0, 1.5]})
    which = rng.randrange(9)
    if which == 0:
        config["learning_rate"] = 0
        config.setdefault("optimizer", {})["lr"] = 0
        config["optimizer"]["name"] = "sgd"
        return Case("known-lr0", name, run=run)
    if which == 1:
        config.setdefault("model", {})["hidden_sizes"] = [0]
        return Case("known-hidden0", name, run=run)
    if which == 2:
        config[rng.choice(("num_classes", "batch_size", "epochs"))] = 10**400
        return Case("known-bigint", name, run=run)
    if which == 3:
        run.setdefault("run", {})["name"] = rng.choice(ODD_STRINGS[2:8])
        return Case("known-string", name, run=run)
    if which == 4:
        n = len(train["loss"])
        train["loss"] = [None] * n if rng.random() < 0.5 else [1.0] + [None] * (n - 1)
        for split in ("val", "test"):
            run["curves"].pop(split, None)
        return Case("known-nulls", name, run=run, must_refuse=True)
    if which == 5:
        train["loss"] = [rng.random() < 0.5 for _ in train["loss"]]
        return Case("known-bools", name, run=run, must_refuse=True)
    if which == 6:
        train["loss"] = [1e-300 if i % 2 else 1e300 for i in range(len(train["loss"]))]
        return Case("known-alternating", name, run=run)
    if which == 7:
        layers = run.get("layers") or []
        if layers:
            layers[0]["grad_norm"] = [1e308] * len(layers[0]["step"])
        return Case("known-gradnorm", name, run=run)
    train["loss"] = [rng.choice((1e308, 5e-324))] * len(train["loss"])
    return Case("known-extreme", name, run=run)


@dataclass
class Report:
    cases: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    hangs: int = 0
    exit_codes: Counter[int] = field(default_factory=Counter)
    cli_calls: int = 0
    rendered: int = 0
    seconds: float = 0.0
    peak_rss_mb: float = 0.0

    def fail(self, what: str) -> None:
        self.failures.append(what[:2000])

    def as_dict(self) -> dict[str, Any]:
        return {
            "library_cases": self.cases,
            "outcomes": dict(self.outcomes.most_common()),
            "mutations": dict(self.kinds.most_common()),
            "cli_calls": self.cli_calls,
            "cli_exit_codes": {str(k): v for k, v in sorted(self.exit_codes.items())},
            "rendered": self.rendered,
            "hangs": self.hangs,
            "failures": len(self.failures),
            "failure_samples": self.failures[:10],
            "seconds": round(self.seconds, 1),
            "peak_rss_mb": round(self.peak_rss_mb),
        }


class _Hang(Exception):
    pass


def _alarm(_signum: int, _frame: Any) -> None:
    raise _Hang


def _check_output(text: str) -> str | None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        return f"not encodable: {err}"
    bad = [c for c in text if (ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F]
    return f"control characters {bad[:5]!r}" if bad else None


def run_library_case(case: Case, report: Report, tmp: Path, render: bool) -> None:
    import lossexpert

    report.cases += 1
    report.kinds[case.kind] += 1
    target: Any = case.run
    if case.data is not None:
        target = tmp / "case.json"
        target.write_bytes(case.data)
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(HANG_SECONDS)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            d = lossexpert.diagnose(target)
            outputs = {}
            if render:
                for lang in ("en", "zh"):
                    dl = d if lang == "en" else lossexpert.diagnose(target, lang=lang)
                    for fmt in FORMATS:
                        outputs[f"{lang}.{fmt}"] = dl.render(fmt)
                report.rendered += 1
    except lossexpert.RunInputError as err:
        report.outcomes[f"refused {err.code}"] += 1
        if "\n" in str(err):
            report.fail(f"{case.kind}/{case.base}: multi-line error {str(err)[:200]!r}")
        return
    except _Hang:
        report.hangs += 1
        report.fail(f"{case.kind}/{case.base}: hang (> {HANG_SECONDS} s)")
        return
    except Exception:
        report.outcomes["crash"] += 1
        report.fail(f"{case.kind}/{case.base}: {traceback.format_exc(limit=-4)}")
        return
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    report.outcomes["healthy" if d.healthy else "diagnosed"] += 1
    if case.must_refuse and d.healthy:
        report.fail(f"{case.kind}/{case.base}: healthy on input the format must refuse")
    for name, text in outputs.items():
        problem = _check_output(text)
        if problem:
            report.fail(f"{case.kind}/{case.base}: {name}: {problem}")


def _cli(args: list[str], timeout: float) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(
            [sys.executable, "-m", "lossexpert.cli", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "PYTHONWARNINGS": "error::RuntimeWarning"},
        )
    except subprocess.TimeoutExpired:
        return None


def _dumps(run: Any) -> str:
    """JSON text of a mutant, deep nesting included (json's encoder recurses)."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 50_000))
    try:
        return json.dumps(run, allow_nan=True)
    finally:
        sys.setrecursionlimit(limit)


def check_cli(
    report: Report,
    label: str,
    args: list[str],
    must_refuse: bool,
    timeout: float,
    written: Path | None = None,
) -> None:
    """One CLI call: exit 0 or 2, one stderr line on 2, JSON on stdout (or a clean file
    ``written``) on 0."""
    report.cli_calls += 1
    out = _cli(args, timeout)
    if out is None:
        report.hangs += 1
        report.fail(f"cli {label}: hang (> {timeout:.0f} s)")
        return
    report.exit_codes[out.returncode] += 1
    if out.returncode not in (0, 2) or "Traceback" in out.stderr:
        report.fail(f"cli {label}: exit {out.returncode}: {out.stderr[-500:]}")
        return
    if out.returncode == 2:
        lines = out.stderr.strip().splitlines()
        if len(lines) != 1:
            report.fail(f"cli {label}: exit 2 with {len(lines)} stderr lines: {out.stderr[:300]}")
        return
    if "RuntimeWarning" in out.stderr:
        report.fail(f"cli {label}: numpy warning on stderr: {out.stderr[:300]}")
    if written is not None:
        problem = _check_output(written.read_text(encoding="utf-8"))
        if problem:
            report.fail(f"cli {label}: {problem}")
        return
    try:
        d = json.loads(out.stdout)
    except ValueError:
        report.fail(f"cli {label}: stdout is not JSON")
        return
    if must_refuse and d.get("healthy"):
        report.fail(f"cli {label}: healthy on input the format must refuse")


def special_files(tmp: Path) -> list[tuple[str, str]]:
    """(label, path) of files that are not regular: each must be exit 2 at once."""
    found: list[tuple[str, str]] = []
    fifo = tmp / "pipe.json"
    if hasattr(os, "mkfifo"):
        os.mkfifo(fifo)
        found.append(("fifo", str(fifo)))
    if Path("/dev/zero").exists():
        found.append(("/dev/zero", "/dev/zero"))
    folder = tmp / "folder.json"
    folder.mkdir()
    found.append(("directory", str(folder)))
    a, b = tmp / "loop_a.json", tmp / "loop_b.json"
    a.symlink_to(b)
    b.symlink_to(a)
    found.append(("symlink loop", str(a)))
    return found


def fuzz(
    *,
    library: int,
    cli: int,
    seed: int,
    render_every: int = 10,
    cli_timeout: float = 30.0,
    progress: bool = False,
) -> Report:
    """Run ``library`` in-process mutants and ``cli`` CLI calls; return the counts."""
    import lossexpert

    rng = random.Random(seed)
    bases = {p.stem: json.loads(p.read_text()) for p in EXAMPLES}
    names = sorted(bases)
    report = Report()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lossexpert-fuzz-") as folder:
        tmp = Path(folder)
        for label, special in special_files(tmp):
            try:
                signal.signal(signal.SIGALRM, _alarm)
                signal.alarm(HANG_SECONDS)
                lossexpert.diagnose(special)
                report.fail(f"special {label}: read as a run")
            except lossexpert.RunInputError as err:
                report.outcomes[f"refused {err.code}"] += 1
            except _Hang:
                report.hangs += 1
                report.fail(f"special {label}: hang")
            except Exception:
                report.fail(f"special {label}: {traceback.format_exc(limit=-3)}")
            finally:
                signal.alarm(0)
            report.cases += 1
            report.kinds["special"] += 1
            if cli:
                check_cli(report, label, ["explain", special], True, min(cli_timeout, 20.0))
        for i in range(library):
            name = names[i % len(names)]
            case = mutate(rng, name, bases[name])
            run_library_case(case, report, tmp, render=render_every > 0 and i % render_every == 0)
            if progress and (i + 1) % 1000 == 0:
                print(
                    f"fuzz: {i + 1} library cases, {len(report.failures)} failures",
                    file=sys.stderr,
                    flush=True,
                )
        for i in range(cli):
            name = rng.choice(names)
            case = mutate(rng, name, bases[name])
            path = tmp / f"cli_{i}.json"
            if case.data is not None:
                path.write_bytes(case.data)
            else:
                path.write_text(_dumps(case.run))
            # The JSON contract (to read ``healthy``), or one of the other formats.
            fmt = FORMATS[i % len(FORMATS)] if i % 2 else "json"
            args = ["explain", str(path), "--format", fmt]
            written = None if fmt == "json" else tmp / f"cli_{i}.{fmt}"
            if written is not None:
                args += ["--output", str(written)]
            label = f"{case.kind}/{name}/{fmt}"
            check_cli(report, label, args, case.must_refuse, cli_timeout, written)
            path.unlink()
            if written is not None:
                written.unlink(missing_ok=True)
    report.seconds = time.perf_counter() - start
    report.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return report


def write_big_run(path: Path, points: int) -> int:
    """A run of 3 splits x ``points`` (step and loss columns), streamed to ``path``."""
    chunk = 1_000_000
    with path.open("w") as f:
        f.write('{"format":"lossexpert.run/1","run":{"name":"big"},')
        f.write('"config":{"task":"classification","num_classes":10},"curves":{')
        for j, split in enumerate(("train", "val", "test")):
            f.write(("," if j else "") + f'"{split}":{{"step":[')
            for a in range(0, points, chunk):
                f.write(("," if a else "") + ",".join(map(str, range(a, min(points, a + chunk)))))
            f.write('],"loss":[')
            for a in range(0, points, chunk):
                values = (
                    f"{2.3 * math.exp(-3 * i / points) + 0.1 + 0.01 * ((i * 7919) % 13):.6f}"
                    for i in range(a, min(points, a + chunk))
                )
                f.write(("," if a else "") + ",".join(values))
            f.write("]}")
        f.write("}}\n")
    return path.stat().st_size


def big_run(points: int) -> dict[str, Any]:
    """Time and peak memory of a cold ``lossexpert explain`` of a huge run (a subprocess)."""
    with tempfile.TemporaryDirectory(prefix="lossexpert-big-") as folder:
        path = Path(folder) / "big.json"
        size = write_big_run(path, points)
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        start = time.perf_counter()
        out = _cli(["explain", str(path), "--format", "json"], timeout=600)
        took = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if out is None:
        return {"points_per_split": points, "error": "timeout"}
    size_mb = size / 2**20
    peak_mb = max(peak, before) / 1024
    return {
        "points_per_split": points,
        "file_mb": round(size_mb, 1),
        "exit": out.returncode,
        "seconds": round(took, 1),
        "peak_rss_mb": round(peak_mb),
        "budget_mb": round(3 * size_mb + 200),
        "within_budget": peak_mb <= 3 * size_mb + 200,
        "warnings": out.stderr.count("down-sampled"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--library", type=int, default=10_000, help="in-process mutants")
    parser.add_argument("--cli", type=int, default=300, help="CLI calls (subprocesses)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--render-every", type=int, default=10, help="render 1 in N (0: none)")
    parser.add_argument("--json", type=Path, help="write the counts here")
    parser.add_argument(
        "--big-run",
        type=int,
        metavar="POINTS",
        help="instead: time and peak RSS of explaining a run of 3 splits x POINTS",
    )
    args = parser.parse_args()
    if args.big_run:
        result = big_run(args.big_run)
        print(json.dumps(result, indent=2))
        return 0 if result.get("exit") == 0 and result.get("within_budget") else 1
    report = fuzz(
        library=args.library,
        cli=args.cli,
        seed=args.seed,
        render_every=args.render_every,
        progress=True,
    )
    counts = report.as_dict()
    text = json.dumps(counts, indent=2, ensure_ascii=False)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 1 if report.failures or report.hangs else 0


if __name__ == "__main__":
    sys.exit(main())
