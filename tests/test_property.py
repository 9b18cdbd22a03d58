"""Arbitrary JSON anywhere in a valid run: a diagnosis or a RunInputError, nothing else."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lossexpert
from tests.conftest import example_dict, run_cli

BASE = example_dict("unshuffled_sorted")
# Shrink the base so each example is quick; keep every kind of section.
for _curve in BASE["curves"].values():
    for _key in ("loss", "step", "epoch"):
        _curve[_key] = _curve[_key][:60]
    _curve["metrics"] = {k: v[:60] for k, v in _curve["metrics"].items()}
for _layer in BASE["layers"]:
    for _key, _value in list(_layer.items()):
        if isinstance(_value, list):
            _layer[_key] = _value[:12]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=10,
)


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            found += paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node[:3]):
            found += paths(v, (*prefix, i))
    return found


ALL_PATHS = paths(BASE)[1:]


def replaced(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    run = copy.deepcopy(BASE)
    node = run
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return run


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(ALL_PATHS), json_values)
def test_any_value_anywhere_gives_a_diagnosis_or_a_clean_error(
    path: tuple[Any, ...], value: Any
) -> None:
    run = replaced(path, value)
    try:
        diagnosis = lossexpert.diagnose(run)
    except lossexpert.RunInputError as err:
        message = str(err)
        assert "\n" not in message and message.startswith("<dict>")
        return
    assert diagnosis.to_json()  # every diagnosis renders
    assert diagnosis.to_text() and diagnosis.to_markdown()


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ALL_PATHS))
def test_any_field_removed_gives_a_diagnosis_or_a_clean_error(path: tuple[Any, ...]) -> None:
    run = copy.deepcopy(BASE)
    node = run
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    try:
        diagnosis = lossexpert.diagnose(run)
    except lossexpert.RunInputError as err:
        assert "\n" not in str(err)
        return
    assert diagnosis.to_text()


def test_the_cli_agrees_on_a_few_mutations(tmp_path: Path) -> None:
    for i, (path, value) in enumerate(
        [
            (("curves", "train", "loss"), "oops"),
            (("layers", 0, "grad_norm"), [None] * 12),
            (("config", "batch_size"), 0),
            (("data", "train", "label_counts"), {"0": -1}),
            (("run", "tags"), {"k": [1, 2]}),
        ]
    ):
        target = tmp_path / f"m{i}.json"
        target.write_text(json.dumps(replaced(path, value)))
        out = run_cli("explain", str(target), "--format", "json")
        assert out.returncode in (0, 2), out.stderr
        assert "Traceback" not in out.stderr
        if out.returncode == 2:
            assert len(out.stderr.strip().splitlines()) == 1


COLUMN_PATHS = [p for p in ALL_PATHS if len(p) >= 4 and isinstance(p[-1], int)]
numbers = (
    st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True)
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.sampled_from([1e308, -1e308, 5e-324, 1e-300, 1e300, 0.0, -0.0])
    | st.booleans()
    | st.none()
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(COLUMN_PATHS), numbers), min_size=1, max_size=4))
def test_any_number_in_any_column_renders_everywhere_or_is_refused(
    edits: list[tuple[tuple[Any, ...], Any]],
) -> None:
    import warnings

    run = copy.deepcopy(BASE)
    for path, value in edits:
        node = run
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    has_bool = False
    for path, _ in edits:
        node = run
        for key in path:
            node = node[key]
        has_bool = has_bool or isinstance(node, bool)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # numpy warnings would reach stderr
        try:
            diagnosis = lossexpert.diagnose(run)
        except lossexpert.RunInputError as err:
            assert "\n" not in str(err)
            return
        for fmt in ("text", "json", "markdown", "html"):
            diagnosis.render(fmt).encode("utf-8")
    assert not has_bool, "a boolean was read as a number"
