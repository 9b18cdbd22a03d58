"""Consultation: facts the user knows (``--set``, ``--facts``), and the questions worth asking.

Facts are config values in the run format's own terms (``loss``, ``shuffle``,
``optimizer.lr``...), validated against ``runformat.Config`` (an unknown key or a value of the
wrong type is a one-line ``RunInputError`` naming the key) and merged into the run's config
*before* the diagnosis, so every rule sees them exactly as if the run had recorded them.
Evidence that exists only because of a user fact is marked ``source: "user"``: the run is
diagnosed with and without the facts, and a config symptom that appears (or changes its
numbers) only with them came from the user. No rule or engine change is needed for that.

Questions: the facts the run lacks, each with a few representative answers (``shuffle``:
yes/no; ``learning_rate``: 1e-5, 1e-3, 1 — the three sides of the lr thresholds...). The
question asked is the one whose answer is expected to change the ranking of the causes in
contention the most under the certainty-factor model: for each answer the run is re-diagnosed
(about 10 ms each), and the score is the mean, over the answers, of the summed change of the
pairwise confidence margins between those causes. A question whose every answer leaves the
margins as they are separates nothing and is never asked.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from lossexpert.diagnosis import Diagnosis, Evidence, MissingFact
from lossexpert.errors import RunInputError
from lossexpert.runformat import Config, Run

UNKNOWN_WORDS = {"", "?", "dont know", "don't know", "unknown", "idk", "skip", "n/a", "不知道"}
TRUE_WORDS = {"y", "yes", "true", "on", "1", "是"}
FALSE_WORDS = {"n", "no", "false", "off", "0", "否"}
# A cause is "in contention" while its confidence is at least this share of the top one's:
# half the leader's support is what a senior engineer would still check before acting on the
# leader (with MYCIN combination one extra +0.5 rule lifts a 0.45 cause past a 0.7 one).
CONTENTION_SHARE = 0.5
MAX_CONTENTION = 5  # the five usual suspects of a frozen loss: beyond that, nobody checks
# A diagnosis is settled, and nothing is asked, when one cause is alone in contention with at
# least even support (CF 0.5: the rules for it fired on more than a hint). Asking then costs
# the user time for no change of plan; it also keeps `explain --format json` of a clear run as
# fast as before (the questions re-diagnose the run once per representative answer).
SETTLED_CONFIDENCE = 0.5


class FactError(RunInputError):
    """A user fact that is not a config key, or whose value has the wrong type."""

    code = "LE105"


# ------------------------------------------------------------------------------ facts


def parse_value(text: str) -> Any:
    """A ``--set`` value: bool, null, int, float, a YAML list/mapping, or the string itself."""
    t = text.strip()
    low = t.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("null", "~"):  # not "none": input_normalization=none is a value
        return None
    for kind in (int, float):
        try:
            return kind(t)
        except ValueError:
            pass
    if t[:1] in ("[", "{"):
        import yaml

        try:
            return yaml.safe_load(t)
        except yaml.YAMLError:
            return t
    return t


def parse_set(pairs: Iterable[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs (dotted keys) -> a flat ``{dotted key: value}``."""
    facts: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise FactError("--set", pair, "expected KEY=VALUE, e.g. --set loss=mse")
        facts[key.strip()] = parse_value(value)
    return facts


def load_facts(path: Path) -> dict[str, Any]:
    """A YAML (or JSON) mapping of facts, nested or with dotted keys -> flat dotted keys."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FactError(str(path), "", "no such file", code="LE101") from None
    except (OSError, UnicodeDecodeError) as err:
        raise FactError(str(path), "", f"cannot read: {err}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        raise FactError(str(path), where, "not YAML", code="LE102") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise FactError(str(path), "", "expected a mapping of config keys to values")
    return flatten(data)


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and _is_model_field(dotted):
            flat.update(flatten(value, dotted))
        else:
            flat[dotted] = value
    return flat


def nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for dotted, value in flat.items():
        *parents, leaf = dotted.split(".")
        node = out
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return out


def _field_model(dotted: str) -> tuple[type[BaseModel] | None, str]:
    """The model that owns the last part of a dotted key, and that part."""
    model: type[BaseModel] = Config
    *parents, leaf = dotted.split(".")
    for part in parents:
        info = model.model_fields.get(part)
        sub = _submodel(info.annotation) if info is not None else None
        if sub is None:
            return None, leaf
        model = sub
    return model, leaf


def _submodel(annotation: Any) -> type[BaseModel] | None:
    for arg in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def _is_model_field(dotted: str) -> bool:
    model, leaf = _field_model(dotted)
    info = model.model_fields.get(leaf) if model is not None else None
    return info is not None and _submodel(info.annotation) is not None


def _known_keys() -> list[str]:
    keys = []
    for name, info in Config.model_fields.items():
        sub = _submodel(info.annotation)
        if sub is None:
            keys.append(name)
        else:
            keys += [f"{name}.{k}" for k in sub.model_fields]
    return keys


def validate_facts(flat: Mapping[str, Any], source: str = "--set") -> dict[str, Any]:
    """Check every key exists in the run format's config and every value has its type."""
    clean: dict[str, Any] = {}
    for dotted, value in flat.items():
        model, leaf = _field_model(dotted)
        if dotted.startswith("split_sizes.") and dotted.count(".") == 1:  # a dict, by split
            try:
                Config.model_validate({"split_sizes": {leaf: value}})
            except ValidationError as err:
                raise FactError(source, dotted, f"{value!r}: {err.errors()[0]['msg']}") from None
            clean[dotted] = value
            continue
        if dotted == "optimizer" and isinstance(value, str):  # --set optimizer=adam
            dotted, model, leaf = "optimizer.name", _field_model("optimizer.name")[0], "name"
        if model is None or leaf not in model.model_fields:
            close = [k for k in _known_keys() if leaf in k or k.endswith(dotted)][:4]
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise FactError(source, dotted, f"unknown config key{hint}")
        try:
            model.model_validate({leaf: value})
        except ValidationError as err:
            problem = err.errors()[0]["msg"]
            raise FactError(source, dotted, f"{value!r}: {problem}") from None
        clean[dotted] = value
    return clean


def apply_facts(run: Run, facts: Mapping[str, Any]) -> Run:
    """The run with the facts merged into its config (the facts win)."""
    if not facts:
        return run
    config = run.config.model_dump(exclude_unset=True)
    for dotted, value in facts.items():
        *parents, leaf = dotted.split(".")
        node = config
        for p in parents:
            child = node.get(p)
            if not isinstance(child, dict):
                child = {}
                node[p] = child
            node = child
        node[leaf] = value
    return run.model_copy(update={"config": Config.model_validate(config)})


# ------------------------------------------------------------------------------ diagnosis

Diagnose = Callable[[Run], Diagnosis]


def _marks(d: Diagnosis) -> set[tuple[str, tuple[tuple[str, Any], ...]]]:
    return {(e.symptom, tuple(sorted(e.values.items()))) for e in d.symptoms}


def mark_user_evidence(with_facts: Diagnosis, without: Diagnosis) -> Diagnosis:
    """Config evidence that exists only because of the user's facts says ``source: "user"``."""
    before = _marks(without)

    def fix(items: list[Evidence]) -> list[Evidence]:
        return [
            e.model_copy(update={"source": "user"})
            if e.source == "config" and (e.symptom, tuple(sorted(e.values.items()))) not in before
            else e
            for e in items
        ]

    findings = [
        f.model_copy(update={"evidence": fix(f.evidence), "contrary": fix(f.contrary)})
        for f in with_facts.findings
    ]
    problems = [p.model_copy(update={"evidence": fix(p.evidence)}) for p in with_facts.problems]
    out = with_facts.model_copy(
        update={"findings": findings, "problems": problems, "symptoms": fix(with_facts.symptoms)}
    )
    return out.attach_run(with_facts._run) if with_facts._run is not None else out


def diagnose_with_facts(run: Run, facts: Mapping[str, Any], diagnose: Diagnose) -> Diagnosis:
    if not facts:
        return diagnose(run)
    return mark_user_evidence(diagnose(apply_facts(run, facts)), diagnose(run))


# ------------------------------------------------------------------------------ questions


@dataclass(frozen=True)
class Spec:
    key: str
    hypotheses: tuple[Any, ...]  # representative answers, to weigh the question
    en: str
    zh: str
    kind: type = str

    def prompt(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


SPECS: tuple[Spec, ...] = (
    Spec("shuffle", (True, False), "Does the training loader shuffle the samples each epoch?",
         "训练数据每个epoch是否打乱(shuffle)?", bool),
    Spec("input_normalization", ("standardize", "none"),
         "How are the inputs normalised (standardize, minmax, none)?",
         "输入是否归一化(standardize、minmax、none)?"),
    Spec("loss", ("cross_entropy", "mse"),
         "Which loss function (cross_entropy, mse, bce_with_logits, ...)?",
         "使用哪种损失函数(cross_entropy、mse、bce_with_logits……)?"),
    Spec("output_activation", ("none", "softmax", "relu"),
         "What is applied to the model's last layer (none, softmax, sigmoid, relu)?",
         "模型最后一层的激活函数是什么(none、softmax、sigmoid、relu)?"),
    Spec("task", ("classification", "regression"), "Is the task classification or regression?",
         "任务是分类(classification)还是回归(regression)?"),
    Spec("optimizer.name", ("sgd", "adam"), "Which optimizer (sgd, adam, adamw, ...)?",
         "使用哪种优化器(sgd、adam、adamw……)?"),
    Spec("learning_rate", (1e-5, 1e-3, 1.0), "What is the learning rate?", "学习率是多少?",
         float),
    Spec("batch_size", (2, 64, 4096), "What is the batch size?", "batch size是多少?", int),
    Spec("init", ("kaiming_normal", "zeros"),
         "How are the weights initialised (default, kaiming_normal, xavier, zeros, ...)?",
         "权重如何初始化(default、kaiming_normal、xavier、zeros……)?"),
    Spec("dropout", (0.0, 0.8), "What dropout rate does the model use?", "dropout比例是多少?",
         float),
    Spec("weight_decay", (0.0, 0.5), "What weight decay (L2) is used?",
         "weight decay(L2正则)是多少?", float),
    Spec("epochs", (2, 100), "How many epochs does the training run?", "训练多少个epoch?", int),
)
SPEC_BY_KEY = {s.key: s for s in SPECS}


@dataclass(frozen=True)
class Question:
    key: str
    text: str
    separates: tuple[str, ...]
    score: float
    kind: type
    lang: str = "en"

    def why(self) -> str:
        a, b = self.separates[0], self.separates[-1]
        if self.lang == "zh":
            return f"{self.key} 可以区分 {a} 和 {b}"
        return f"{self.key} decides between {a} and {b}"


def _known(config: Config, key: str) -> bool:
    if key == "learning_rate":
        return config.effective_lr() is not None
    if key == "weight_decay":
        return config.effective_weight_decay() is not None
    if key == "output_activation":
        return config.output_activation is not None or bool(
            config.model and config.model.output_activation
        )
    node: Any = config
    for part in key.split("."):
        node = getattr(node, part, None)
        if node is None:
            return False
    return True


def confidences(d: Diagnosis) -> dict[str, float]:
    return {f.cause: f.confidence for f in d.findings}


def contention(d: Diagnosis) -> list[str]:
    if not d.findings:
        return []
    top = d.findings[0].confidence
    return [f.cause for f in d.findings if f.confidence >= CONTENTION_SHARE * top][
        :MAX_CONTENTION
    ]


def margin_change(
    base: Mapping[str, float], after: Mapping[str, float], causes: list[str]
) -> dict[tuple[str, str], float]:
    """|change of conf(a) - conf(b)| for each pair of causes (absent: confidence 0)."""
    return {
        (a, b): abs(
            (after.get(a, 0.0) - after.get(b, 0.0)) - (base.get(a, 0.0) - base.get(b, 0.0))
        )
        for a, b in itertools.combinations(causes, 2)
    }


def questions(
    run: Run,
    facts: Mapping[str, Any],
    diagnose: Diagnose,
    *,
    lang: str = "en",
    skip: Iterable[str] = (),
    limit: int = 5,
    baseline: Diagnosis | None = None,
) -> list[Question]:
    """The facts worth asking, best first (score > 0 only)."""
    current = apply_facts(run, facts)
    base = baseline if baseline is not None else diagnose(current)
    if not base.problems or not base.findings:
        return []
    if len(contention(base)) < 2 and base.findings[0].confidence >= SETTLED_CONFIDENCE:
        return []
    base_conf = confidences(base)
    threshold = CONTENTION_SHARE * base.findings[0].confidence
    skipped = set(skip) | set(facts)
    found: list[Question] = []
    for spec in SPECS:
        if spec.key in skipped or _known(current.config, spec.key):
            continue
        outcomes = [
            confidences(diagnose(apply_facts(current, {spec.key: answer})))
            for answer in spec.hypotheses
        ]
        causes = list(contention(base))
        for conf in outcomes:  # a cause an answer would lift into contention counts too
            causes += [c for c, v in conf.items() if v >= threshold and c not in causes]
        totals: dict[tuple[str, str], float] = {}
        for conf in outcomes:
            for pair, change in margin_change(base_conf, conf, causes).items():
                totals[pair] = totals.get(pair, 0.0) + change / len(outcomes)
        score = sum(totals.values())
        if score <= 1e-9:
            continue
        rank = {c: i for i, c in enumerate(causes)}
        pair = max(totals, key=lambda p: (totals[p], -rank[p[0]] - rank[p[1]]))
        found.append(
            Question(spec.key, spec.prompt(lang), tuple(sorted(pair, key=rank.__getitem__)),
                     round(score, 6), spec.kind, lang)
        )
    found.sort(key=lambda q: -q.score)
    return found[:limit]


def with_questions(d: Diagnosis, asked: list[Question]) -> Diagnosis:
    """The diagnosis whose ``missing`` lists the questions (and the causes each separates)."""
    missing = list(d.missing)
    index = {m.key: i for i, m in enumerate(missing)}
    for q in asked:
        key = f"config.{q.key}"
        entry = MissingFact(key=key, text=q.text, question=q.text, separates=list(q.separates))
        if key in index:
            old = missing[index[key]]
            missing[index[key]] = entry.model_copy(update={"text": old.text})
        else:
            missing.append(entry)
    out = d.model_copy(update={"missing": missing})
    return out.attach_run(d._run) if d._run is not None else out


def parse_answer(q: Question, text: str) -> tuple[bool, Any]:
    """(known, value): ``(False, None)`` for "don't know"; raises ValueError when unreadable."""
    t = text.strip()
    low = t.lower()
    if low in UNKNOWN_WORDS:
        return False, None
    if q.kind is bool:
        if low in TRUE_WORDS:
            return True, True
        if low in FALSE_WORDS:
            return True, False
        raise ValueError("answer yes or no (or ? if you don't know)")
    if q.kind in (int, float):
        try:
            value = float(t)
        except ValueError:
            raise ValueError("answer a number (or ? if you don't know)") from None
        if not math.isfinite(value):
            raise ValueError("answer a finite number")
        if q.kind is int:
            if not value.is_integer():
                raise ValueError("answer a whole number")
            return True, int(value)
        return True, value
    return True, low


def save_facts(path: Path, facts: Mapping[str, Any]) -> None:
    import yaml

    path.write_text(
        yaml.safe_dump(nest(facts), sort_keys=True, allow_unicode=True), encoding="utf-8"
    )


# ------------------------------------------------------------------------------ the session

WORDS = {
    "en": {
        "question": "Question",
        "why": "why",
        "answer": "answer",
        "dont_know": "? if you don't know",
        "now": "now",
        "none": "no finding",
        "yes_no": "y/n",
        "number": "a number",
        "text": "a value",
        "again": "try again",
        "done": "no question left that would change the ranking",
    },
    "zh": {
        "question": "问题",
        "why": "原因",
        "answer": "回答",
        "dont_know": "不知道请输入 ?",
        "now": "当前",
        "none": "无发现",
        "yes_no": "y/n",
        "number": "一个数",
        "text": "一个值",
        "again": "请重新输入",
        "done": "没有能改变排序的问题了",
    },
}


def consult(
    run: Run,
    facts: Mapping[str, Any],
    diagnose: Diagnose,
    *,
    lang: str = "en",
    ask: int = 0,
    read: Callable[[], str] | None = None,
    write: Callable[[str], None] | None = None,
    list_questions: bool = True,
) -> tuple[Diagnosis, dict[str, Any]]:
    """Diagnose with the user's facts; ask up to ``ask`` questions through ``read``/``write``
    (re-diagnosing after each answer); list the questions still worth asking in ``missing``.
    Returns the diagnosis and every fact (given and answered)."""
    known = dict(facts)
    skipped: set[str] = set()
    w = WORDS.get(lang, WORDS["en"])
    d = diagnose_with_facts(run, known, diagnose)
    if ask > 0 and read is not None and write is not None:
        for n in range(1, ask + 1):
            best = questions(run, known, diagnose, lang=lang, skip=skipped, limit=1, baseline=d)
            if not best:
                write(f"{w['done']}\n")
                break
            q = best[0]
            hint = {bool: w["yes_no"], int: w["number"], float: w["number"]}.get(q.kind, w["text"])
            write(f"\n{w['question']} {n}/{ask}: {q.text}\n  ({w['why']}: {q.why()})\n")
            answer = _ask_one(q, hint, w, read, write)
            if answer is _EOF:
                break
            if answer is _UNKNOWN:
                skipped.add(q.key)
            else:
                known[q.key] = answer
            d = diagnose_with_facts(run, known, diagnose)
            lead = d.findings[0] if d.findings else None
            top = f"{lead.cause} {lead.confidence:.0%}" if lead is not None else w["none"]
            write(f"  {w['now']}: {top}\n")
    if list_questions:
        d = with_questions(d, questions(run, known, diagnose, lang=lang, skip=skipped, baseline=d))
    return d, known


_EOF, _UNKNOWN = object(), object()


def _ask_one(
    q: Question,
    hint: str,
    w: Mapping[str, str],
    read: Callable[[], str],
    write: Callable[[str], None],
) -> Any:
    for _ in range(3):
        write(f"  {w['answer']} ({hint}; {w['dont_know']}): ")
        line = read()
        if not line:  # end of input
            write("\n")
            return _EOF
        try:
            known, value = parse_answer(q, line)
            if not known:
                return _UNKNOWN
            validate_facts({q.key: value}, source="answer")
        except (ValueError, FactError) as err:
            write(f"  {err}; {w['again']}\n")
            continue
        return value
    return _UNKNOWN


def consult_run(
    run: Any,
    facts: Mapping[str, Any] | None = None,
    *,
    lang: str = "en",
    thresholds: Any = None,
    evidence: Iterable[Any] | None = None,
) -> Diagnosis:
    """``lossexpert.consult``: diagnose a run with facts the user knows (config keys, nested
    or dotted: ``{"shuffle": False, "optimizer": {"lr": 0.1}}``), the evidence they add
    marked ``source: "user"``, and ``missing`` listing the questions still worth asking
    (``question``, ``separates``) for a platform to ask in its own UI. Raises
    ``RunInputError`` (``FactError``, naming the key) for a fact that is not a config key or
    has the wrong type."""
    from lossexpert._diagnose import ALL_EVIDENCE, diagnose
    from lossexpert.collectors.runfile import LoadedRun, load_run

    loaded = load_run(run)
    flat = validate_facts(flatten(facts or {}), "facts")
    levels = tuple(evidence) if evidence is not None else ALL_EVIDENCE

    def again(r: Run) -> Diagnosis:
        return diagnose(
            LoadedRun(r, loaded.source, loaded.warnings),
            lang=lang,
            thresholds=thresholds,
            evidence=levels,
        )

    d, _ = consult(loaded.run, flat, again, lang=lang)
    return d
