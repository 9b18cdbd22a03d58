"""Consultation: facts from the user (``--set``/``--facts``), the questions worth asking, and
``--ask`` answered through a real pseudo-terminal."""

from __future__ import annotations

import copy
import importlib.util
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import lossexpert
from lossexpert._consult import SPEC_BY_KEY, SPECS, flatten
from lossexpert.collectors.importers import import_run
from tests.conftest import ROOT, example, run_cli

STUCK = ROOT / "tests" / "fixtures" / "wandb" / "stuck"  # curves + config, as logs give them
CASES = ROOT.parent / "shared" / "realcases" / "cases.json"
CLI = [sys.executable, "-c", "from lossexpert.cli import main; main()"]


def case_run(case: dict[str, Any], path: Path) -> Path:
    """A real case's posted curves as a run, with no config: what its logs would hold."""
    series = case["series"]
    curves = {
        s: {"step": [p[0] for p in series[s]], "loss": [p[1] for p in series[s]]}
        for s in ("train", "val", "test")
        if series.get(s)
    }
    path.write_text(json.dumps({"run": {"name": case["id"]}, "curves": curves}))
    return path


def as_set_args(facts: dict[str, Any]) -> list[str]:
    args: list[str] = []
    for key, value in flatten(facts).items():
        text = value if isinstance(value, str) else json.dumps(value)
        args += ["--set", f"{key}={text}"]
    return args


class Result:
    """What ``lossexpert ...`` printed and returned, run in this process (fast: no start-up)."""

    def __init__(self, code: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = code, stdout, stderr


def invoke(*args: str) -> Result:
    from typer.testing import CliRunner

    from lossexpert.cli import app

    out = CliRunner().invoke(app, list(args))
    return Result(out.exit_code, out.stdout, out.stderr)


def findings(out: Result) -> list[dict[str, Any]]:
    assert out.returncode == 0, out.stderr
    return list(json.loads(out.stdout)["findings"])


# ------------------------------------------------------------------------------ facts


def _rank(causes: list[str], cause: str) -> int:
    return causes.index(cause) if cause in causes else 1000  # not found at all


@pytest.mark.skipif(not CASES.exists(), reason="../shared/realcases is not present")
def test_reported_facts_change_the_ranking_of_a_real_case(tmp_path: Path) -> None:
    """nlp-tutorial-76: a transformer stuck with Adam that SGD trains. From the curves alone
    the optimizer is not a suspect; with the reporter's facts (Adam, lr 1e-3, a language
    model) the confirmed cause moves up, on evidence marked as coming from the user."""
    case = next(c for c in json.loads(CASES.read_text()) if c["id"].startswith("nlp-tutorial-76"))
    truth = case["cause_ids"][0]
    run = case_run(case, tmp_path / "case.json")
    before = [f["cause"] for f in findings(invoke("explain", str(run), "-f", "json"))]
    after_findings = findings(
        invoke("explain", str(run), "-f", "json", *as_set_args(case["config_facts"]))
    )
    after = [f["cause"] for f in after_findings]
    assert before != after
    assert _rank(after, truth) < _rank(before, truth)
    sources = {e["source"] for f in after_findings for e in f["evidence"]}
    assert "user" in sources and "curves" in sources  # curve evidence stays curve evidence
    # The same facts from a file give the same diagnosis.
    facts = tmp_path / "facts.yaml"
    facts.write_text(yaml.safe_dump(case["config_facts"]))
    from_file = findings(invoke("explain", str(run), "-f", "json", "--facts", str(facts)))
    assert from_file == after_findings


@pytest.mark.skipif(not CASES.exists(), reason="../shared/realcases is not present")
def test_reported_facts_never_push_the_confirmed_cause_down(tmp_path: Path) -> None:
    """Every real case with a diagnosable curve, in process: the reporter's facts never rank
    the confirmed cause lower than the curves alone do, and lift it in some cases."""
    from lossexpert._consult import diagnose_with_facts, validate_facts
    from lossexpert.collectors.runfile import load_run

    lifted = 0
    for case in json.loads(CASES.read_text()):
        try:
            run = load_run(case_run(case, tmp_path / f"{case['id']}.json")).run
        except lossexpert.RunInputError:
            continue  # a single posted point: nothing to diagnose
        facts = validate_facts(flatten(case["config_facts"]))
        before = [f.cause for f in lossexpert.diagnose(run).findings]
        after = [f.cause for f in diagnose_with_facts(run, facts, lossexpert.diagnose).findings]
        truth = case["cause_ids"][0]
        assert _rank(after, truth) <= _rank(before, truth), case["id"]
        lifted += _rank(after, truth) < _rank(before, truth)
    assert lifted >= 1


@pytest.mark.parametrize(
    ("arg", "key"),
    [
        ("optimizer.lrr=0.1", "optimizer.lrr"),
        ("shuffel=false", "shuffel"),
        ("shuffle=maybe", "shuffle"),
        ("batch_size=-3", "batch_size"),
        ("learning_rate=fast", "learning_rate"),
        ("loss", "loss"),
    ],
)
def test_bad_fact_exits_2_with_one_line_naming_the_key(arg: str, key: str) -> None:
    from typer.testing import CliRunner

    from lossexpert.cli import app

    out = CliRunner().invoke(app, ["explain", str(STUCK), "--set", arg])  # in process: fast
    assert out.exit_code == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and key in lines[0] and "Traceback" not in out.stderr
    assert out.stdout == ""


def test_bad_fact_through_the_installed_command() -> None:
    out = run_cli("explain", str(STUCK), "--set", "optimizer.lrr=0.1")
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.count("\n") == 1 and "optimizer.lrr" in out.stderr


def test_bad_facts_file_exits_2_naming_file_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "facts.yaml"
    bad.write_text("optimizer:\n  name: adam\n  lr: -1\n")
    out = invoke("explain", str(STUCK), "--facts", str(bad))
    assert out.returncode == 2
    line = out.stderr.strip()
    assert "\n" not in line and str(bad) in line and "optimizer.lr" in line
    bad.write_text("loss: [1\n")
    out = invoke("explain", str(STUCK), "--facts", str(bad))
    assert out.returncode == 2 and str(bad) in out.stderr and "\n" not in out.stderr.strip()


def test_user_fact_overrides_the_run_and_is_saved(tmp_path: Path) -> None:
    saved = tmp_path / "facts.yaml"
    out = invoke(
        "explain", str(STUCK), "-f", "json", "--set", "learning_rate=0.01",
        "--set", "optimizer.momentum=0.9", "--save-facts", str(saved),
    )
    d = json.loads(out.stdout)
    assert d["config"]["learning_rate"] == 0.01  # the run logged 1e-5: the user wins
    assert "learning_rate_too_low" not in [f["cause"] for f in d["findings"]][:1]
    assert yaml.safe_load(saved.read_text()) == {
        "learning_rate": 0.01,
        "optimizer": {"momentum": 0.9},
    }


# ------------------------------------------------------------------------------ questions


def _get(config: dict[str, Any], dotted: str) -> Any:
    node: Any = config
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def first_question_independently(run: dict[str, Any]) -> tuple[str, float]:
    """Recompute the best first question from the definition, with the public API only:
    for each fact the run lacks, re-diagnose the run dict with each representative answer,
    and score the mean summed change of the pairwise confidence margins of the causes in
    contention (at least half the leader's confidence, at most five, plus any cause an
    answer lifts to that level)."""
    base = lossexpert.diagnose(run)
    conf0 = {f.cause: f.confidence for f in base.findings}
    level = 0.5 * base.findings[0].confidence
    contention = [f.cause for f in base.findings if f.confidence >= level][:5]
    best: tuple[str, float] = ("", 0.0)
    for spec in SPECS:
        cfg = run.get("config", {})
        have = _get(cfg, spec.key)
        if spec.key == "learning_rate" and have is None:
            have = _get(cfg, "optimizer.lr")
        if have is not None:
            continue
        outcomes = []
        for answer in spec.hypotheses:
            changed = copy.deepcopy(run)
            node = changed.setdefault("config", {})
            *parents, leaf = spec.key.split(".")
            for p in parents:
                node = node.setdefault(p, {})
            node[leaf] = answer
            outcomes.append({f.cause: f.confidence for f in lossexpert.diagnose(changed).findings})
        causes = list(contention)
        for o in outcomes:
            causes += [c for c, v in o.items() if v >= level and c not in causes]
        score = 0.0
        for o in outcomes:
            for a, b in itertools.combinations(causes, 2):
                before = conf0.get(a, 0.0) - conf0.get(b, 0.0)
                after = o.get(a, 0.0) - o.get(b, 0.0)
                score += abs(after - before) / len(outcomes)
        if score > best[1] + 1e-9:
            best = (spec.key, score)
    return best


def test_json_missing_lists_the_questions_with_what_they_separate() -> None:
    out = invoke("explain", str(STUCK), "-f", "json")
    d = json.loads(out.stdout)
    asked = [m for m in d["missing"] if m.get("question")]
    assert asked, "a run stuck with five suspects has questions worth asking"
    causes = {f["cause"] for f in d["findings"]}
    for m in asked:
        assert m["key"].startswith("config.") and len(m["separates"]) == 2
        assert m["separates"][0] in causes  # one side is a cause in contention now
        assert m["key"].removeprefix("config.") in SPEC_BY_KEY
    run = import_run(STUCK).loaded.run.model_dump(mode="json", exclude_none=True)
    key, score = first_question_independently(run)
    assert score > 0 and asked[0]["key"] == f"config.{key}"
    # A healthy run has nothing to ask, nor one whose single suspect is well supported.
    healthy = json.loads(invoke("explain", str(STUCK.parent / "healthy"), "-f", "json").stdout)
    assert not [m for m in healthy["missing"] if m.get("question")]
    from lossexpert._consult import SETTLED_CONFIDENCE, contention, questions

    settled = lossexpert.diagnose(example("softmax_then_cross_entropy"))
    assert len(contention(settled)) == 1 and settled.findings[0].confidence >= SETTLED_CONFIDENCE
    run_model = lossexpert.load_run(example("softmax_then_cross_entropy")).run
    assert questions(run_model, {}, lossexpert.diagnose) == []


def test_ask_never_prompts_without_a_terminal() -> None:
    out = subprocess.run(
        [*CLI, "explain", str(STUCK), "--ask"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0
    assert "Question" not in out.stderr and "no questions asked" in out.stderr
    assert "Problem:" in out.stdout


pexpect: Any = importlib.import_module("pexpect") if importlib.util.find_spec("pexpect") else None


@pytest.mark.skipif(pexpect is None, reason="pexpect is not installed")
def test_ask_through_a_pseudo_terminal(tmp_path: Path) -> None:
    assert pexpect is not None
    run = import_run(STUCK).loaded.run.model_dump(mode="json", exclude_none=True)
    expected_key, _ = first_question_independently(run)
    saved = tmp_path / "answers.yaml"
    child = pexpect.spawn(
        CLI[0], [*CLI[1:], "explain", str(STUCK), "--ask", "--max-questions", "2",
                 "--save-facts", str(saved)],
        env={**os.environ, "COLUMNS": "120", "NO_COLOR": "1"},
        encoding="utf-8", timeout=120, dimensions=(60, 160),
    )
    child.expect(r"Question 1/2: ([^\r\n]+)")
    assert child.match.group(1).strip() == SPEC_BY_KEY[expected_key].en
    child.expect(r"why: (\S+) decides between (\S+) and (\S+)\)")
    assert child.match.group(1) == expected_key
    child.expect(r"answer \(")
    child.sendline("?")  # don't know: skipped, never asked again
    child.expect(r"now: ")
    child.expect(r"Question 2/2: ([^\r\n]+)")
    second = next(s for s in SPECS if s.en == child.match.group(1).strip())
    assert second.key != expected_key
    child.expect(r"answer \(")
    if second.kind is bool:
        child.sendline("maybe")  # unreadable: said why, asked again
        child.expect("try again")
        child.expect(r"answer \(")
    answer = second.hypotheses[-1]
    child.sendline("n" if answer is False else "y" if answer is True else str(answer))
    child.expect(r"now: ([^\r\n]+)")
    child.expect("Findings")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    facts = yaml.safe_load(saved.read_text())
    assert flatten(facts) == {second.key: answer}
    # The saved answers reproduce the diagnosis without asking.
    again = invoke("explain", str(STUCK), "-f", "json", "--facts", str(saved))
    top = json.loads(again.stdout)["findings"][0]
    assert top["cause"]


@pytest.mark.skipif(pexpect is None, reason="pexpect is not installed")
def test_ask_with_json_never_prompts_even_on_a_terminal() -> None:
    assert pexpect is not None
    child = pexpect.spawn(
        CLI[0], [*CLI[1:], "explain", str(STUCK), "--ask", "-f", "json"],
        encoding="utf-8", timeout=120,
    )
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "Question" not in (child.before or "") and '"findings"' in (child.before or "")


def test_library_consult_takes_nested_facts_and_lists_questions() -> None:
    run = import_run(STUCK).loaded.run
    d = lossexpert.consult(run, {"shuffle": False, "optimizer": {"momentum": 0.9}})
    user = [f for f in d.findings if any(e.source == "user" for e in f.evidence)]
    assert [f.cause for f in user] == ["data_not_shuffled"]  # config.no_shuffle came from us
    plain = lossexpert.diagnose(run)
    assert "data_not_shuffled" not in [f.cause for f in plain.findings]
    asked = [m for m in d.missing if m.question]
    assert asked and all(m.key != "config.shuffle" for m in asked)  # answered: not asked
    with pytest.raises(lossexpert.RunInputError) as err:
        lossexpert.consult(run, {"optimizer": {"lrr": 0.1}})
    assert err.value.field == "optimizer.lrr"


def test_session_in_chinese_stops_at_end_of_input() -> None:
    """The same session without a terminal (read/write passed in): Chinese prompts, a
    "don't know", then the end of input stops the questions and keeps the answers."""
    from lossexpert._consult import consult

    run = import_run(STUCK).loaded.run
    answers = iter(["不知道", ""])  # don't know, then EOF
    written: list[str] = []
    d, known = consult(
        run, {}, lambda r: lossexpert.diagnose(r, lang="zh"), lang="zh", ask=5,
        read=lambda: next(answers), write=written.append,
    )
    text = "".join(written)
    assert text.count("问题 ") == 2 and "可以区分" in text and "不知道请输入 ?" in text
    assert known == {} and d.lang == "zh"
    asked = sorted((text.index(s.zh), s.key) for s in SPECS if s.zh in text)
    assert len(asked) == 2
    still = [m.key.removeprefix("config.") for m in d.missing if m.question]
    assert asked[0][1] not in still  # "don't know": not asked again
    assert asked[1][1] in still  # cut off by the end of input: still worth asking
