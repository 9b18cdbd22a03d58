"""``diagnose()``: run -> symptoms -> inference -> a ``Diagnosis`` in one language.

Pure function of its inputs: no global state beyond the compiled rule class and the template
caches (both read-only after first use), so it is safe to call from many threads at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from lossexpert._version import __version__
from lossexpert.collectors.runfile import LoadedRun, RunSource, load_run
from lossexpert.diagnosis import (
    ChainStep,
    Diagnosis,
    Event,
    Evidence,
    Finding,
    MissingFact,
    Problem,
    RuleNotFired,
    RuleTrace,
    RunInfo,
)
from lossexpert.engine.chains import Chains, resolve
from lossexpert.engine.inference import Inference, Support, combine, infer
from lossexpert.engine.symptoms import Findings, Symptom, extract
from lossexpert.kb import DEFAULT_THRESHOLDS, Thresholds, knowledge_base
from lossexpert.kb.chains import CAUSAL_LINKS
from lossexpert.kb.priors import prior
from lossexpert.kb.texts import Texts, texts
from lossexpert.runformat import Config, Run

EvidenceLevel = Literal["curves", "config", "layers", "data"]
ALL_EVIDENCE: tuple[EvidenceLevel, ...] = ("curves", "config", "layers", "data")


def diagnose(
    run: RunSource,
    *,
    lang: str = "en",
    thresholds: Thresholds | Mapping[str, Any] | None = None,
    evidence: Iterable[EvidenceLevel] = ALL_EVIDENCE,
    extra_symptoms: Iterable[Symptom] = (),
) -> Diagnosis:
    """Diagnose one run: a path (``.json``), a dict, or a ``Run``.

    ``evidence`` restricts what the diagnosis may look at (e.g. ``("curves",)`` to see what
    the loss curves alone support). Raises ``RunInputError`` for input that is not a run.
    """
    loaded = load_run(run)
    th = _thresholds(thresholds)
    words = texts(lang)
    view = _restrict(loaded.run, set(evidence))
    found = extract(view, th)
    for extra in extra_symptoms:  # facts from elsewhere (doctor probes: source "probe")
        if not found.has(extra.name):
            found.symptoms.append(extra)
    result = infer(found.symptoms)
    diagnosis = _assemble(loaded, view, found, result, th, words)
    return diagnosis.attach_run(view)


def _thresholds(value: Thresholds | Mapping[str, Any] | None) -> Thresholds:
    if value is None:  # the defaults, with [tool.lossexpert] / LOSSEXPERT_CONFIG overrides
        from lossexpert._plugins import configured_thresholds

        return configured_thresholds(DEFAULT_THRESHOLDS)
    if isinstance(value, Thresholds):
        return value
    return Thresholds(**dict(value))


def _restrict(run: Run, keep: set[str]) -> Run:
    update: dict[str, Any] = {}
    if "config" not in keep:
        update["config"] = Config()
    if "layers" not in keep:
        update["layers"] = []
    if "data" not in keep:
        update["data"] = {}
    return run.model_copy(update=update) if update else run


def _evidence(symptom: Symptom, words: Texts) -> Evidence:
    return Evidence(
        symptom=symptom.name,
        source=symptom.source,
        strength=symptom.strength,
        values=dict(symptom.values),
        text=words.symptom(symptom.name, symptom.values),
    )


def _remedy_context(
    run: Run, symptoms: list[Symptom], context: Mapping[str, Any]
) -> dict[str, Any]:
    cfg = run.config
    return {
        "cfg": {
            "lr": cfg.peak_lr(),
            "optimizer": cfg.optimizer.name if cfg.optimizer else None,
            "batch_size": cfg.batch_size,
            "weight_decay": cfg.effective_weight_decay(),
            "dropout": cfg.dropout,
            "epochs": cfg.epochs,
            "init": cfg.init,
            "num_classes": cfg.num_classes,
            "task": cfg.task,
            "loss": cfg.loss,
        },
        "s": {s.name.replace(".", "_"): dict(s.values) for s in symptoms},
        "chance": context.get("chance"),
    }


def _assemble(
    loaded: LoadedRun,
    run: Run,
    found: Findings,
    result: Inference,
    th: Thresholds,
    words: Texts,
) -> Diagnosis:
    kb = knowledge_base()
    symptoms, missing, context = found.symptoms, found.missing, found.context
    by_cause: dict[str, list[Support]] = defaultdict(list)
    for support in result.supports:
        by_cause[support.cause.id].append(support)
    remedy_ctx = _remedy_context(run, symptoms, context)
    confidence: dict[str, float] = {}
    as_consequence: dict[str, float] = {}
    for cause_id, supports in by_cause.items():
        value = combine(s.cf for s in supports)
        if value >= th.min_confidence and any(s.cf > 0 for s in supports):
            confidence[cause_id] = value
        # Its own remedy failing on a copy (the doctor's try-fix) is what a consequence
        # predicts: treating a symptom does not fix its root. As a consequence, it counts
        # without that trial.
        kept = [s.cf for s in supports if not _failed_remedy(s)]
        alone = combine(kept)
        if len(kept) < len(supports) and any(cf > 0 for cf in kept) and alone >= th.min_confidence:
            as_consequence[cause_id] = alone
    chains = resolve(
        confidence,
        (s.name for s in symptoms),
        CAUSAL_LINKS,
        sort_key=lambda c, conf: (-round(conf, 2), -prior(c), kb.causes[c].rank),
        combine=combine,
        as_consequence=as_consequence,
    )
    findings = []
    for rank, cause_id in enumerate(chains.order, start=1):
        cause = kb.causes[cause_id]
        supports = sorted(by_cause[cause_id], key=lambda s: -s.cf)
        pro = _unique(sym for s in supports if s.cf > 0 for sym in s.symptoms)
        con = _unique(sym for s in supports if s.cf < 0 for sym in s.symptoms if sym not in pro)
        explains = _descendants(chains, cause_id)
        link = chains.parent.get(cause_id)
        findings.append(
            Finding(
                rank=rank,
                cause=cause_id,
                problem=supports[0].problem,
                confidence=round(chains.confidence[cause_id], 3),
                title=words.cause_title(cause_id),
                explanation=words.cause_why(cause_id),
                evidence=[_evidence(s, words) for s in pro],
                contrary=[_evidence(s, words) for s in con],
                remedies=words.cause_remedies(cause_id, remedy_ctx),
                rules=[
                    RuleTrace(
                        rule=s.rule.id,
                        cf=s.cf,
                        description=kb.describe(s.rule, words.lang),
                        facts=[sym.name for sym in s.symptoms],
                    )
                    for s in supports
                ],
                reference=cause.reference,
                explains=explains,
                chain=[
                    ChainStep(
                        cause=c,
                        title=words.cause_title(c),
                        via=chains.via[c],
                        text=words.link_why(chains.parent[c]),
                    )
                    for c in explains
                ],
                explained_by=None if link is None else chains.root_of(cause_id),
            )
        )
    problems = []
    for pid in result.problems:
        order = {rule.id: i for i, rule in enumerate(kb.problem_rules)}
        ev = sorted(
            (e for e in result.problem_evidence if e.rule.problem == pid),
            key=lambda e: order[e.rule.id],
        )
        problems.append(
            Problem(
                id=pid,
                title=words.problem_title(pid),
                summary=words.problem_summary(pid),
                evidence=[_evidence(e.symptom, words) for e in ev],
                rules=[e.rule.id for e in ev],
            )
        )
    fired = set(result.fired)
    not_fired = [
        RuleNotFired(rule=p.id, target=p.problem, description=kb.describe(p, words.lang))
        for p in kb.problem_rules
        if p.id not in fired
    ]
    not_fired += [
        RuleNotFired(rule=r.id, target=c.id, description=kb.describe(r, words.lang))
        for c in kb.causes.values()
        for r in c.rules
        if r.id not in fired
    ]
    identity = loaded.run.run
    # No problem found is only a verdict when the train curve could be judged at all.
    # A handful of points can show a problem, but not that there is none.
    blind = [
        k for k in ("curves.train", "curves.train.short", "curves.train.sparse") if k in missing
    ]
    conclusive = bool(problems) or not blind
    if problems and findings:
        summary = f"{problems[0].title}: {findings[0].title} ({findings[0].confidence:.0%})"
    elif problems:
        summary = problems[0].title
    elif blind:
        summary = f"{words.cannot_judge()}: {words.missing(blind[0])}"
    else:
        summary = words.healthy(run.curves.keys())
    return Diagnosis(
        lossexpert_version=__version__,
        lang=words.lang,
        run=RunInfo(
            name=identity.name,
            id=identity.id,
            framework=identity.framework,
            started_at=identity.started_at,
            source=loaded.source,
            tags=dict(identity.tags),
        ),
        healthy=not problems and conclusive,
        conclusive=conclusive,
        summary=summary,
        problems=problems,
        findings=findings,
        symptoms=[_evidence(s, words) for s in symptoms],
        not_fired=not_fired,
        missing=[MissingFact(key=k, text=words.missing(k)) for k in missing],
        warnings=list(loaded.warnings),
        events=[
            Event(kind=e.kind, split=e.split, step=e.step, value=e.value) for e in found.events
        ],
        config=_flat_config(run),
    )


def _flat_config(run: Run) -> dict[str, Any]:
    """The config as dotted keys -> scalars, for the report's table."""
    flat: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(value, list):
            if len(value) > 12:
                flat[prefix] = f"[{len(value)} values]"
            else:
                flat[prefix] = ", ".join(str(v) for v in value)
        elif value is not None:
            flat[prefix] = value if isinstance(value, int | float | str | bool) else str(value)

    walk("", run.config.model_dump(exclude_none=True))
    return {k: v for k, v in flat.items() if v != ""}


def _failed_remedy(support: Support) -> bool:
    """Contrary evidence from the doctor trying the cause's own remedy on a copy."""
    return support.cf < 0 and all(s.name.startswith("probe.nofix.") for s in support.symptoms)


def _descendants(chains: Chains, cause: str) -> list[str]:
    """Every cause the root accounts for, in report order (children before grandchildren
    of a later child)."""
    found: list[str] = []
    stack = [cause]
    while stack:
        for child in chains.children(stack.pop()):
            if child not in found:
                found.append(child)
                stack.append(child)
    return [c for c in chains.order if c in found]


def _unique(symptoms: Iterable[Symptom]) -> list[Symptom]:
    seen: dict[str, Symptom] = {}
    for s in symptoms:
        seen.setdefault(s.name, s)
    return list(seen.values())
