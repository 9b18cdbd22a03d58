"""``doctor()``: the recording (the user's, or a short one of its own) + probes -> Diagnosis.

Order: the cheap probes (data, gradient flow, initial loss: one forward/backward each) run
first; then the experiments, most informative first: each is scored by how ambiguous the
causes it tells apart still are (sum of c(1-c) over their confidences c), re-scored after
every probe, and skipped when it bears on no cause in contention or does not fit the budget;
last, the fix of the leading cause with a generic remedy is tried, then the next one's if it
was not confirmed.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import torch

from lossexpert._diagnose import _thresholds, diagnose
from lossexpert.collectors._watch.data import describe
from lossexpert.collectors.runfile import load_run
from lossexpert.diagnosis import Diagnosis, ProbeResult
from lossexpert.doctor import PROBE_NAMES
from lossexpert.doctor._bench import (
    Batch,
    Bench,
    DoctorInputError,
    build_bench,
    concat,
    float_inputs,
    rechunk,
    rng_guard,
    take_batches,
)
from lossexpert.doctor._probes import (
    BEARS_ON,
    CHEAP,
    LIMITS,
    PROBES,
    REMEDIES,
    Context,
    ProbeLimits,
    ProbeOutcome,
    fix_schedule,
    train_steps,
    try_fix,
)
from lossexpert.engine.symptoms import Symptom
from lossexpert.kb import knowledge_base
from lossexpert.kb.texts import texts
from lossexpert.runformat import DataStats, Run, Split

_WORDS = {
    "en": {
        "no_problem": "no problem found: nothing to tell apart",
        "no_contention": "no cause in contention that it tells apart",
        "budget": "does not fit the remaining time budget",
        "not_requested": "not requested",
        "no_remedy": "no leading cause has a remedy that can be tried generically",
        "apply": "Apply the change that was tried on a copy and confirmed: {change}.",
        "test_undecided": "The test-set causes (a shifted test set, noisy test inputs) cannot "
        "be told apart here: the test inputs' statistics are unknown (no test_loader=, or "
        "inputs that are not float features); their order above is the recording's. Pass "
        "test_loader= to the doctor (or record run.describe_data('test', x, y)) to compare "
        "the test inputs with the training ones.",
        "noise_withdrawn": "Label noise is not reported: a copy trained with the reference "
        "recipe predicts held-out data at {ratio:.0%} of the loss it has with shuffled inputs, "
        "so the inputs explain most of the targets and the labels cannot be mostly noise.",
        "features_withdrawn": "Uninformative inputs are not reported: a copy trained with the "
        "reference recipe predicts held-out data at {ratio:.0%} of the loss it has with "
        "shuffled inputs, so the inputs carry the signal.",
        "inconclusive": "Tried on a copy ({change}): inconclusive, {steps} steps with the "
        "change over the same samples show no difference either way.",
        "withdrawn": "The val loss rose in the recording, but a copy trained the same way for "
        "the same {steps} steps shows no generalisation gap (train {train:.3g}, val {val:.3g} "
        "at the end): not reported as over-fitting.",
    },
    "zh": {
        "no_problem": "没有发现问题：无需区分原因",
        "no_contention": "没有它能区分的候选原因",
        "budget": "剩余时间预算不够",
        "not_requested": "未要求运行",
        "no_remedy": "领先的原因都没有可以通用尝试的补救措施",
        "apply": "应用已在副本上试过并证实有效的修改：{change}。",
        "test_undecided": "测试集方面的原因（测试集分布偏移、测试输入有噪声）在这里无法区分："
        "测试输入的统计未知（没有传入 test_loader=，或者输入不是浮点特征）；上面的顺序来自记录。"
        "给doctor传入 test_loader=（或记录 run.describe_data('test', x, y)），即可比较测试输入"
        "和训练输入。",
        "noise_withdrawn": "不报告标签噪声：用参考方案训练的副本在留出数据上的loss只有打乱输入时的 "
        "{ratio:.0%}，输入解释了大部分目标，标签不可能大部分是噪声。",
        "features_withdrawn": "不报告输入缺少信息：用参考方案训练的副本在留出数据上的loss只有"
        "打乱输入时的 {ratio:.0%}，输入中含有信号。",
        "inconclusive": "已在副本上尝试（{change}）：无法判断，用同样的样本、改动后的 {steps} 步"
        "看不出任何差别。",
        "withdrawn": "记录中的验证集loss上升了，但按同样的方式、同样的 {steps} 步训练的副本"
        "没有泛化差距（最终训练集 {train:.3g}，验证集 {val:.3g}）：不作为过拟合报告。",
    },
}
EXPERIMENTS = ("overfit_batch", "lr_range", "input_dependence", "val_gap", "loop_replay")
# Causes whose generic remedies act on one quantity, so that either remedy can work: the
# noise scale of SGD is about lr / batch (Smith & Le 2018, Goyal et al. 2017's linear scaling
# rule), so a lower LR and a larger batch both calm a step that is too noisy, a higher LR and
# a smaller batch both speed one that is too timid; a lower LR and clipping the gradient norm
# both bound a step that blows up. When one is confirmed and another is in contention, that
# one is tried too: which setting is out of the ordinary tells them apart (the rules).
CONFOUNDED: dict[str, tuple[str, ...]] = {
    "learning_rate_too_high": ("batch_size_too_small", "exploding_gradients"),
    "batch_size_too_small": ("learning_rate_too_high",),
    "exploding_gradients": ("learning_rate_too_high",),
    "learning_rate_too_low": ("batch_size_too_large",),
    "batch_size_too_large": ("learning_rate_too_low",),
    # Adam at 1e-3 changes the optimizer and the step size at once: a fix that keeps the
    # user's optimizer (its rate, its batch) is tried too, and if it works the optimizer is
    # not needed to explain the failure (OPT-CONTRA-OWN-OPTIMIZER-FIXED).
    "optimizer_choice": (
        "learning_rate_too_high",
        "learning_rate_too_low",
        "batch_size_too_large",
        "batch_size_too_small",
    ),
}


def _cost(name: str, ctx: Context) -> float:
    """Seconds an experiment takes (for the budget check): its training steps at the batch
    size it trains with (the user's, or the reference recipe's)."""
    lim = ctx.limits
    if name == "overfit_batch":
        return 2 * lim.overfit_steps * ctx.step_time(lim.overfit_samples)
    if name == "lr_range":
        return lim.sweep_steps * ctx.step_time()
    if name in ("val_gap", "loop_replay"):
        steps = min(ctx.trained_steps or lim.fix_steps, lim.replay_steps)
        return steps * ctx.step_time()
    return lim.input_dep_steps * ctx.step_time(lim.reference_batch)


def run_doctor(
    model: Any,
    optimizer: Any,
    criterion: Any,
    loader: Any,
    *,
    val_loader: Any = None,
    test_loader: Any = None,
    run: str | os.PathLike[str] | Run | Mapping[str, Any] | None = None,
    budget_s: float = 60,
    lang: str = "en",
    probes: Iterable[str] | None = None,
    steps: int | None = None,
    seed: int = 0,
    thresholds: Any = None,
    progress: Callable[[str, str], None] | None = None,
    limits: ProbeLimits | None = None,
    max_batches: int | None = None,
    **kw: Any,
) -> Diagnosis:
    if kw:
        raise TypeError(f"doctor() got unexpected keyword arguments: {', '.join(sorted(kw))}")
    wanted = list(PROBE_NAMES) if probes is None else list(probes)
    unknown = [p for p in wanted if p not in PROBE_NAMES]
    if unknown:
        raise DoctorInputError(
            f"probes: unknown probe {unknown[0]!r} (known: {', '.join(PROBE_NAMES)})"
        )
    words = _WORDS.get(lang, _WORDS["en"])
    texts(lang)  # an unknown language fails here, before any work
    th = _thresholds(thresholds)
    lim = limits or LIMITS
    start = time.monotonic()
    deadline = start + float(budget_s)
    with rng_guard(loader, val_loader, test_loader), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        bench = build_bench(
            model,
            optimizer,
            criterion,
            loader,
            val_loader,
            max_batches=lim.bench_batches if max_batches is None else max_batches,
            min_samples=lim.bench_samples if max_batches is None else 0,
            seed=seed,
        )
        ctx = Context(bench, th, lim, deadline, config={})
        step_s = ctx.step_time()
        recorded = (
            load_run(
                os.fspath(run)
                if isinstance(run, os.PathLike)
                else run
                if isinstance(run, str | Run)
                else dict(run)
            ).run
            if run is not None
            else _record(bench, steps or _record_steps(bench, step_s, budget_s))
        )
        if test_loader is not None:
            budget_batches = lim.bench_batches if max_batches is None else max_batches
            test = take_batches(test_loader, budget_batches, "test_loader")
            recorded = with_input_stats(recorded, {"train": bench.train, "test": test})
        ctx.trained_steps = _trained_steps(recorded)
        if run is not None:
            ctx.recorded_train = _train_curve(recorded)
        results: dict[str, ProbeResult] = {}
        extra: list[Symptom] = []

        def diag() -> Diagnosis:
            return diagnose(recorded, lang=lang, thresholds=th, extra_symptoms=extra)

        def execute(name: str, fn: Callable[[], ProbeOutcome]) -> ProbeOutcome | None:
            if progress is not None:
                progress(name, "start")
            t0 = time.monotonic()
            try:
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(seed)
                    outcome = fn()
            except Exception as exc:  # a probe that raises is reported; the others go on
                results[name] = ProbeResult(
                    name=name,
                    status="failed",
                    reason=f"{type(exc).__name__}: {exc}".splitlines()[0][:300],
                    seconds=round(time.monotonic() - t0, 3),
                )
                if progress is not None:
                    progress(name, "failed")
                return None
            extra.extend(s for s in outcome.symptoms if all(s.name != e.name for e in extra))
            results[name] = ProbeResult(
                name=name,
                status="ran",
                seconds=round(time.monotonic() - t0, 3),
                facts=[s.name for s in outcome.symptoms],
                values={k: _scalar(v) for k, v in outcome.values.items()},
                series=outcome.series,
            )
            if progress is not None:
                progress(name, "done")
            return outcome

        def skip(name: str, why: str) -> None:
            results[name] = ProbeResult(name=name, status="skipped", reason=words[why])
            if progress is not None:
                progress(name, "skipped")

        for name in CHEAP:
            if name in wanted:
                execute(name, lambda n=name: PROBES[n](ctx))  # type: ignore[misc]
        d = diag()
        pending = [n for n in EXPERIMENTS if n in wanted]
        while pending:
            if not d.problems:
                for n in pending:
                    skip(n, "no_problem")
                break
            scores = {n: _information(n, d) if _relevant(n, d) else 0.0 for n in pending}
            best = max(pending, key=lambda n: scores[n])
            pending.remove(best)
            if scores[best] <= 0:
                skip(best, "no_contention")
                continue
            if not ctx.fits(_cost(best, ctx)):
                skip(best, "budget")
                continue
            outcome = execute(best, lambda n=best: PROBES[n](ctx))  # type: ignore[misc]
            if outcome is not None and isinstance(outcome.values.get("suggested"), float):
                ctx.config["suggested_lr"] = outcome.values["suggested"]
            d = diag()
        tried: dict[str, ProbeOutcome] = {}
        if "try_fix" in wanted:
            _try_fixes(d, ctx, deadline, execute, skip, tried, diag)
            d = diag()
        for name in PROBE_NAMES:
            if name not in results and name not in wanted:
                results[name] = ProbeResult(
                    name=name, status="skipped", reason=words["not_requested"]
                )
    return _finish(d, results, extra, tried, lang, words)


def _try_fixes(
    d: Diagnosis,
    ctx: Context,
    deadline: float,
    execute: Callable[[str, Callable[[], ProbeOutcome]], ProbeOutcome | None],
    skip: Callable[[str, str], None],
    tried: dict[str, ProbeOutcome],
    diag: Callable[[], Diagnosis],
) -> None:
    if not d.problems:
        skip("try_fix", "no_problem")
        return
    candidates = [f.cause for f in d.findings[:3] if f.cause in REMEDIES]
    if not candidates:
        skip("try_fix", "no_remedy")
        return
    partners: tuple[str, ...] | None = None  # after a confirmed fix: only its partners
    for cause in candidates:
        if partners is not None and cause not in partners:
            continue
        plan = fix_schedule(ctx, cause, deadline - time.monotonic())
        if plan is None:
            if not tried:
                skip("try_fix", "budget")
            return
        key = f"try_fix:{cause}"
        outcome = execute(key, lambda c=cause, p=plan: try_fix(ctx, c, *p))  # type: ignore[misc]
        if outcome is None:
            continue
        tried[cause] = outcome
        if any(s.name.startswith("probe.fix.") for s in outcome.symptoms):
            # A confirmed fix settles it, unless a confounded partner is in contention too:
            # then that one's remedy is tried as well, and the rules weigh the outcomes.
            if partners is None:
                partners = tuple(
                    c for c in CONFOUNDED.get(cause, ()) if c in candidates and c not in tried
                )
            if not partners:
                return
            continue
        d = diag()
        if d.findings and d.findings[0].cause not in REMEDIES:
            return


def _finish(
    d: Diagnosis,
    results: dict[str, ProbeResult],
    extra: list[Symptom],
    tried: dict[str, ProbeOutcome],
    lang: str,
    words: dict[str, str],
) -> Diagnosis:
    say = texts(lang)
    text_of = {s.name: say.symptom(s.name, s.values) for s in extra}
    probes = []
    for r in results.values():
        probes.append(r.model_copy(update={"text": [text_of[f] for f in r.facts if f in text_of]}))
    findings = []
    for f in d.findings:
        outcome = tried.get(f.cause)
        if outcome is None:
            findings.append(f)
            continue
        if not outcome.symptoms:  # the experiment could not tell (try_fix says why)
            line = words["inconclusive"].format(
                change=outcome.values.get("change", ""), steps=outcome.values.get("steps", "")
            )
            findings.append(f.model_copy(update={"tried": line}))
            continue
        sym = outcome.symptoms[0]
        line = text_of.get(sym.name, "")
        remedies = list(f.remedies)
        if sym.name.startswith("probe.fix."):
            change = str(outcome.values.get("change", ""))
            remedies = [words["apply"].format(change=change), *remedies]
        findings.append(f.model_copy(update={"tried": line, "remedies": remedies}))
    update: dict[str, Any] = {"probes": probes, "findings": findings}
    run: Run | None = d._run
    signal = results.get("input_dependence")
    refuted = {
        f.cause for f in findings if f.cause in _REFUTED_BY_SIGNAL and not _kept_under_signal(f)
    }
    if signal is not None and signal.values.get("strong_signal") is True and refuted:
        # The experiment that decides label noise and uninformative inputs refutes both: a
        # copy trained with a known-good recipe predicts held-out data far better from the
        # real inputs than from shuffled ones (ProbeLimits.strong_signal_ratio). Data with NaN
        # or Inf, constant inputs and a leaked feature are other matters (the same causes,
        # not a missing signal) and stay. The problem stays: only its explanation goes.
        kept = [f for f in findings if f.cause not in refuted]
        findings = [f.model_copy(update={"rank": i}) for i, f in enumerate(kept, start=1)]
        update["findings"] = findings
        update["warnings"] = [
            *d.warnings,
            *(
                words[w].format(**signal.values)
                for c, w in _REFUTED_BY_SIGNAL.items()
                if c in refuted
            ),
        ]
        if findings:
            top = findings[0]
            update["summary"] = f"{d.problems[0].title}: {top.title} ({top.confidence:.0%})"
    gone = next((s for s in extra if s.name == "probe.no_val_gap"), None)
    val = "val_loss_not_decreasing"
    if (
        gone is not None
        and any(p.id == val for p in d.problems)
        and all(f.cause == "overfitting" for f in findings if f.problem == val)
    ):
        # The experiment that decides over-fitting refutes it: trained the user's way for as
        # long, the copy's val loss stays with its train loss. The val problem is withdrawn,
        # and the report says why.
        problems = [p for p in d.problems if p.id != val]
        kept = [f for f in findings if f.problem != val]
        findings = [f.model_copy(update={"rank": i}) for i, f in enumerate(kept, start=1)]
        if problems and findings:
            summary = f"{problems[0].title}: {findings[0].title} ({findings[0].confidence:.0%})"
        elif problems:
            summary = problems[0].title
        else:
            summary = say.healthy(run.curves.keys() if run is not None else ("train", "val"))
        update.update(
            problems=problems,
            findings=findings,
            healthy=not problems and d.conclusive,
            summary=summary,
            warnings=[
                *update.get("warnings", d.warnings),
                words["withdrawn"].format(**gone.values),
            ],
        )
    test_data = run is not None and "test" in (run.data or {})
    if not test_data and any(
        p.id == "test_loss_not_decreasing" for p in update.get("problems", d.problems)
    ):
        update["warnings"] = [*update.get("warnings", d.warnings), words["test_undecided"]]
    out = d.model_copy(update=update)
    return out.attach_run(run) if run is not None else out


# The causes a strong input signal refutes, with the words that say so.
_REFUTED_BY_SIGNAL = {"noisy_data": "noise_withdrawn", "feature_selection": "features_withdrawn"}
# Evidence that keeps them anyway: NaN or Inf in the data, constant inputs, a leaked feature
# (a leak is a strong signal: the input holds the label).
_NOT_A_MISSING_SIGNAL = ("probe.data_nonfinite", "probe.inputs_constant", "train.exact_zero")


def _kept_under_signal(f: Any) -> bool:
    return any(e.symptom in _NOT_A_MISSING_SIGNAL for e in f.evidence)


def _scalar(v: Any) -> Any:
    if isinstance(v, bool | int | str) or v is None:
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else str(v)
    return str(v)


def _relevant(name: str, d: Diagnosis) -> bool:
    """Whether a cause the experiment bears on can be found under a reported problem: the
    train-side experiments say nothing about a val or test problem, and the val-gap replay
    (the whole training again) is worth it only when the val loss is in question."""
    kb = knowledge_base()
    reported = {p.id for p in d.problems}
    for cause in BEARS_ON[name]:
        unit = kb.causes.get(cause)
        if unit is None:
            continue
        under = {r.problem for r in unit.rules if r.problem}
        under |= {p for r in unit.rules for p in r.also_under}
        if ({unit.problem} | under) & reported:
            return True
    return False


def _information(name: str, d: Diagnosis) -> float:
    """How much this probe can settle: the ambiguity c(1-c) of the causes it bears on."""
    bears = BEARS_ON[name]
    if not d.findings:
        return 0.25  # a problem nothing explains yet: every probe may tell
    found = {f.cause: f.confidence for f in d.findings}
    # A cause nothing points to yet keeps a small share (a prior of 0.05: c(1-c) ~ 0.05), so
    # an experiment that could reveal it still runs when the budget allows, after the others.
    return sum(c * (1 - c) for c in (found.get(cause, 0.05) for cause in bears))


def with_input_stats(run: Run, splits: Mapping[Split, list[Batch]]) -> Run:
    """The recording with the input statistics of the splits it lacks, described from the
    batches the doctor holds, as ``watch.describe_data`` would have recorded them: the
    knowledge base's test-set rules (a shifted test set, noisier test inputs) compare the
    test inputs with the training inputs, which a recording without ``describe_data`` cannot.
    Inputs only: the doctor never reads the test labels."""
    added: dict[Split, DataStats] = {}
    for split, batches in splits.items():
        if split in run.data or not batches:
            continue
        x = float_inputs(concat(batches))
        if x is None or x.dim() < 2:
            continue  # token ids: no feature means to compare
        added[split] = DataStats(**describe(x.detach().cpu()))
    return run.model_copy(update={"data": {**run.data, **added}}) if added else run


def _train_curve(run: Run) -> tuple[list[int], list[float]] | None:
    """The recorded train losses and their steps (the point index when steps are absent)."""
    curve = run.curves.get("train")
    if curve is None or not curve.loss:
        return None
    losses = [float(x) if x is not None else math.nan for x in curve.loss]
    steps = [int(s) for s in curve.step] if curve.step else list(range(len(losses)))
    return steps, losses


def _trained_steps(run: Run) -> int | None:
    """Optimizer steps of the recorded training: the train curve's last step + 1, or its
    number of points when it has no steps."""
    curve = run.curves.get("train")
    if curve is None or not curve.loss:
        return None
    if curve.step:
        return int(curve.step[-1]) + 1
    return len(curve.loss)


def _record_steps(bench: Bench, step_s: float, budget_s: float) -> int:
    """Without a recording: a run of about 10 epochs of the collected batches, 300 to 2000
    steps (a too-short run reads as 'insufficient training'), at most a third of the budget."""
    want = max(300, min(2000, 10 * len(bench.train)))
    fit = int(budget_s / 3 / max(step_s * 1.3, 1e-6))
    return max(20, min(want, fit))


def _record(bench: Bench, steps: int) -> Run:
    """Train a copy for ``steps`` with the user's settings under ``lossexpert.watch``.

    Only the train loss is recorded: how long the user trains, and so whether the val loss
    would turn, is not ours to choose; the val and test problems need the real recording."""
    from lossexpert import watch

    model, opt, crit = bench.fresh()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "doctor.jsonl"
        per_epoch = len(bench.train)
        cfg: dict[str, Any] = {"batch_size": bench.batch_size, "steps_per_epoch": per_epoch}
        if bench.shuffled is not None:
            cfg["shuffle"] = bench.shuffled
        with watch(
            model,
            opt,
            path,
            config=cfg,
            criterion=crit if isinstance(crit, torch.nn.Module) else None,
            name="doctor",
            overhead_budget=None,  # the same sampled steps whatever the machine's load
        ) as rec:
            done, epoch = 0, 0
            data = bench.all_train()
            gen = torch.Generator().manual_seed(bench.seed)
            while done < steps:
                batches = bench.train
                if bench.shuffled and epoch > 0:  # a shuffling loader reshuffles every epoch
                    order = torch.randperm(len(data), generator=gen).to(bench.device)
                    batches = rechunk(data, bench.batch_size, order)
                n = min(len(batches), steps - done)
                per = len(batches)

                def log(i: int, loss: torch.Tensor, e: int = epoch, per: int = per) -> None:
                    rec.log("train", loss, epoch=round(e + (i + 1) / per, 4))

                losses = train_steps(model, opt, crit, batches[:n], n, on_loss=log)
                done += n
                epoch += 1
                if len(losses) < n:  # non-finite: training is over
                    break
        return load_run(path).run
