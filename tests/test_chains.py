"""Explaining away: a root cause ranked first, with the consequences it produced attached.

The fixture is a real training run (a small CNN on digits, Adam at lr 0.3, recorded by
lossexpert.watch): the first updates change the weights by 70-300 % of their norm and most ReLU
units die. Before causal chains, dead units were reported first and the learning rate not at all.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import lossexpert
from lossexpert.engine.chains import resolve
from lossexpert.engine.inference import combine
from lossexpert.kb.chains import CAUSAL_LINKS
from lossexpert.kb.units import CausalLink

from .conftest import ROOT, run_cli, suite_run

RUN = ROOT / "tests" / "fixtures" / "runs" / "lr_high_adam_dead_units.json"


def test_the_step_size_is_the_root_and_the_dead_units_its_consequence() -> None:
    d = lossexpert.diagnose(RUN)
    top = d.findings[0]
    assert top.cause == "learning_rate_too_high"
    assert "dead_relu" in top.explains
    step = next(c for c in top.chain if c.cause == "dead_relu")
    assert step.via and step.text
    dead = next(f for f in d.findings if f.cause == "dead_relu")
    assert dead.explained_by == "learning_rate_too_high"
    assert dead.rank == top.rank + 1


def test_the_chain_without_layer_statistics_is_not_claimed() -> None:
    # Curves only: nothing shows dead units, so nothing is explained away.
    d = lossexpert.diagnose(RUN, evidence=("curves",))
    assert all(not f.explains and f.explained_by is None for f in d.findings)


@pytest.mark.parametrize(
    ("fmt", "lang", "marks"),
    [
        ("text", "en", ("Which led to", "Dead ReLU", "Explained by")),
        ("markdown", "en", ("**Which led to:**", "`dead_relu`", "*Explained by:")),
        ("html", "en", ('class="chain"', 'href="#cause-dead_relu"', "finding explained")),
        ("json", "en", ('"explains"', '"chain"', '"explained_by": "learning_rate_too_high"')),
        ("text", "zh", ("进而导致", "由此引起")),
    ],
)
def test_the_chain_is_rendered(fmt: str, lang: str, marks: tuple[str, ...], tmp_path: Path) -> None:
    target = tmp_path / f"out.{fmt}"
    out = run_cli("explain", str(RUN), "--format", fmt, "--lang", lang, "-o", str(target))
    assert out.returncode == 0, out.stderr
    text = target.read_text(encoding="utf-8")
    for mark in marks:
        assert mark in text, mark
    if fmt == "json":
        assert json.loads(text)["findings"][0]["explains"] == ["dead_relu"]


def _key(cause: str, conf: float) -> tuple[float, ...]:
    return (-round(conf, 2),)


def test_a_link_needs_its_via_fact_and_is_blocked_by_another_origin() -> None:
    conf = {"learning_rate_too_high": 0.3, "dead_relu": 0.8}
    alone = resolve(conf, [], CAUSAL_LINKS, _key, combine)
    assert alone.order == ["dead_relu", "learning_rate_too_high"] and not alone.parent
    linked = resolve(conf, ["config.lr_high"], CAUSAL_LINKS, _key, combine)
    assert linked.order == ["learning_rate_too_high", "dead_relu"]
    assert linked.confidence["learning_rate_too_high"] > 0.3  # the consequence's evidence counts
    blocked = resolve(
        conf, ["config.lr_high", "layers.dead_from_start"], CAUSAL_LINKS, _key, combine
    )
    assert not blocked.parent  # units dead before the first update: not the step size


def test_a_consequence_whose_own_remedy_failed_still_explains_into_its_root() -> None:
    # A missing zero_grad: the gradients grew (exploding gradients), but clipping them on a
    # copy did not help, which put that cause below the bar. Treating a symptom does not fix
    # its root: as a consequence it still counts (before, the chain vanished and "not trained
    # long enough" overtook the bug in the doctor on an outside LSTM).
    conf = {"gradient_bug": 0.55, "insufficient_training": 0.6}
    facts = ["layers.grad_linear_growth"]
    without = resolve(conf, facts, CAUSAL_LINKS, _key, combine)
    assert without.order[0] == "insufficient_training" and not without.parent
    fixed = resolve(
        conf, facts, CAUSAL_LINKS, _key, combine, as_consequence={"exploding_gradients": 0.37}
    )
    assert fixed.order[:2] == ["gradient_bug", "exploding_gradients"]
    assert fixed.parent["exploding_gradients"].root == "gradient_bug"
    assert fixed.confidence["exploding_gradients"] == 0.0  # listed under its root, not ranked
    assert fixed.confidence["gradient_bug"] > 0.6


def test_links_that_would_form_a_cycle_are_skipped() -> None:
    links = (
        CausalLink("a", "b", via=("x",), description=""),
        CausalLink("b", "a", via=("x",), description=""),
    )
    out = resolve({"a": 0.5, "b": 0.4}, ["x"], links, _key, combine)
    assert len(out.parent) == 1 and sorted(out.order) == ["a", "b"]
    assert out.order[0] == out.root_of(out.order[1])


def test_a_bottleneck_explains_the_vanishing_gradient_below_it() -> None:
    # A real suite run: the transformer's feed-forward block cut to one unit. The first layer's
    # gradient is orders below the last's because it all passes through that unit, not through
    # saturation: the structure is the root, the vanishing gradient its consequence.
    run = suite_run("model_structure_transformer_sequence_sev2_s0")
    d = lossexpert.diagnose(run)
    assert d.findings[0].cause == "model_structure"
    assert "vanishing_gradients" in d.findings[0].explains
    linked = resolve(
        {"model_structure": 0.5, "vanishing_gradients": 0.75},
        ["config.bottleneck"],
        CAUSAL_LINKS,
        _key,
        combine,
    )
    assert linked.order[0] == "model_structure"
    saturated = resolve(
        {"model_structure": 0.5, "vanishing_gradients": 0.75},
        ["config.bottleneck", "layers.saturated"],
        CAUSAL_LINKS,
        _key,
        combine,
    )
    assert saturated.order[0] == "vanishing_gradients"  # saturation is an origin of its own


def test_a_tiny_batch_at_a_usual_rate_is_the_root_of_the_overshooting() -> None:
    # A real suite run: SGD with momentum at its usual rate (0.1) on batches of one sample; the
    # loss overflows within the first epoch. The rate is usual for usual batches: the batch is
    # the root, the overshooting its consequence, unless the rate is itself high.
    run = suite_run("batch_size_too_small_regression_diabetes_sev2_s2")
    d = lossexpert.diagnose(run)
    assert d.findings[0].cause == "batch_size_too_small"
    assert "learning_rate_too_high" in d.findings[0].explains
    conf = {"batch_size_too_small": 0.5, "learning_rate_too_high": 0.8}
    tiny = resolve(conf, ["config.batch_tiny"], CAUSAL_LINKS, _key, combine)
    assert tiny.order[0] == "batch_size_too_small"
    both = resolve(conf, ["config.batch_tiny", "config.lr_high"], CAUSAL_LINKS, _key, combine)
    assert both.order[0] == "learning_rate_too_high" and not both.parent


def test_a_burst_of_huge_updates_links_exploding_gradients_to_the_dead_units() -> None:
    # A real suite run: a CNN whose gradients are thousands at the first sample under plain
    # SGD; the loss goes 2866 -> 9820 -> 32 -> chance and every unit of a conv layer dies. The
    # huge gradients became a burst of huge steps: the explosion is the root, the dead units
    # its consequence; units dead before any step had another origin. (The explosion has a
    # root of its own, the init, measured in this run: see the next test. Both are reported
    # under the init, the strongest root.)
    run = suite_run("exploding_gradients_cnn_digits_sev2_s2")
    d = lossexpert.diagnose(run)
    assert {"exploding_gradients", "dead_relu"} <= set(d.findings[0].explains)
    conf = {"exploding_gradients": 0.53, "dead_relu": 0.7}
    burst = resolve(conf, ["layers.update_burst"], CAUSAL_LINKS, _key, combine)
    assert burst.order[0] == "exploding_gradients"
    early = ["layers.update_burst", "layers.dead_from_start"]
    assert resolve(conf, early, CAUSAL_LINKS, _key, combine).order[0] == "dead_relu"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_link_says_how_the_root_led_to_the_consequence(lang: str) -> None:
    from lossexpert.kb.texts import Texts

    texts = Texts(lang)
    silent = [(k.root, k.consequence) for k in CAUSAL_LINKS if not texts.link_why(k)]
    assert not silent, silent


def test_a_first_loss_far_above_chance_names_the_init_as_the_root_of_the_explosion() -> None:
    # A real suite run: a 4-layer CNN on standardised digits, He init scaled 2.6x. Its first
    # loss is ~2900 (chance 2.3): logits that large on normalised inputs mean the signal grew
    # layer by layer, and the backward pass multiplies by the same weights. The init is the
    # root; the exploding gradients (and the units they killed) its consequences.
    d = lossexpert.diagnose(suite_run("exploding_gradients_cnn_digits_sev2_s2"))
    top = d.findings[0]
    assert top.cause == "weight_initialization"
    assert "exploding_gradients" in top.explains
    assert "train.init_loss_high" in {s.symptom for s in d.symptoms}
    # Raw 0-16 pixels give a first loss 19x chance with any init: there the data is the root.
    raw = lossexpert.diagnose(suite_run("data_not_normalized_cnn_digits_sev2_s1"))
    assert raw.findings[0].cause == "data_not_normalized"
    init = [f for f in raw.findings if f.cause == "weight_initialization"]
    assert not init or "exploding_gradients" not in init[0].explains


def test_weights_decayed_to_nothing_explain_the_layer_statistics_they_distort() -> None:
    # A real suite run: a CNN under a weight decay that wins. The weights shrink towards zero,
    # so the units read as dead, the gradients as vanishing and the update ratio (step over
    # weight norm) as huge: all three are the penalty's doing, reported under it.
    d = lossexpert.diagnose(suite_run("over_regularization_cnn_digits_sev2_s1"))
    top = d.findings[0]
    assert top.cause == "over_regularization"
    assert {"vanishing_gradients", "dead_relu", "learning_rate_too_high"} <= set(top.explains)
    conf = {"over_regularization": 0.5, "learning_rate_too_high": 0.8}
    shrunk = resolve(conf, ["layers.weight_shrink"], CAUSAL_LINKS, _key, combine)
    assert shrunk.order[0] == "over_regularization"
    high = resolve(conf, ["layers.weight_shrink", "config.lr_high"], CAUSAL_LINKS, _key, combine)
    assert high.order[0] == "learning_rate_too_high" and not high.parent


def test_weights_started_too_large_explain_the_overshooting_at_a_usual_rate() -> None:
    # A real suite run: an MLP whose init gains multiply to far above He's through its ReLU
    # layers; the first steps overshoot at SGD's usual rate. The init is the root of both the
    # explosion and the "rate too high" reading, unless the rate is itself high.
    d = lossexpert.diagnose(suite_run("exploding_gradients_mlp_digits_sev2_s0"))
    top = d.findings[0]
    assert top.cause == "weight_initialization"
    assert {"exploding_gradients", "learning_rate_too_high"} <= set(top.explains)
    conf = {"weight_initialization": 0.5, "learning_rate_too_high": 0.8}
    large = resolve(conf, ["layers.init_scale"], CAUSAL_LINKS, _key, combine)
    assert large.order[0] == "weight_initialization"
    high = resolve(conf, ["layers.init_scale", "config.lr_high"], CAUSAL_LINKS, _key, combine)
    assert high.order[0] == "learning_rate_too_high" and not high.parent


@pytest.mark.parametrize(
    ("root", "shown_by"),
    [
        ("learning_rate_too_high", "config.lr_high"),
        ("learning_rate_too_low", "layers.small_steps"),
        ("weight_initialization", "train.init_loss_high"),
        ("activation_function", "layers.saturated"),
    ],
)
def test_a_loss_still_falling_is_put_down_to_what_slowed_it(root: str, shown_by: str) -> None:
    # An outside ViT at Adam 0.1 (10x its optimizer's ceiling, a 138 % update at step 0) was
    # still falling after 20 epochs: "not trained long enough" came first, the rate second.
    # A slow fall has a cause; "train longer" is its consequence, unless the run was cut short.
    conf = {root: 0.6, "insufficient_training": 0.76}
    slowed = resolve(conf, [shown_by], CAUSAL_LINKS, _key, combine)
    assert slowed.order == [root, "insufficient_training"]
    assert slowed.parent["insufficient_training"].root == root
    cut = resolve(conf, [shown_by, "train.stopped_short"], CAUSAL_LINKS, _key, combine)
    assert cut.order[0] == "insufficient_training" and not cut.parent


def test_a_fall_after_a_divergence_is_not_a_run_cut_short() -> None:
    # A real suite run: raw diabetes features (means ~300) under SGD; the loss overflows to
    # 1e28 and is falling back (1e28 -> 3e26) when the run ends. Before, that fall read as
    # "still falling fast", and "not trained long enough" came first.
    d = lossexpert.diagnose(suite_run("data_not_normalized_regression_diabetes_sev2_s2"))
    assert d.findings[0].cause == "data_not_normalized"
    short = next(f for f in d.findings if f.cause == "insufficient_training")
    assert "INS-CONTRA-DIVERGED" in {r.rule for r in short.rules}


def test_saturated_units_are_the_root_of_a_slow_fall() -> None:
    # A real suite run: a 7-layer tanh regression, 98 % of its first layer's units saturated;
    # its loss jumps and is still falling at the end. The saturation slows every step (Glorot
    # & Bengio 2010): the activations are the root, "train longer" their consequence.
    run = suite_run("activation_function_regression_synthetic_regression_sev2_s1")
    d = lossexpert.diagnose(run)
    assert d.findings[0].cause == "activation_function"
    assert "insufficient_training" in d.findings[0].explains
