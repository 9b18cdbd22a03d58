"""The HTML report in a real headless Chromium: no console errors, no requests, plots visible.

Needs Debian's chromium (/usr/bin/chromium, installed by .ci/run) and the playwright package
(test extra; only its driver is used, no browser download). Skips where either is absent.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import lossexpert
from tests.conftest import example
from tests.test_html import hostile_run

CHROMIUM = (
    os.environ.get("LOSSEXPERT_CHROMIUM")
    or shutil.which("chromium")
    or shutil.which("chromium-browser")
)
playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine")

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def open_report(
    browser: Any, html: str, tmp_path: Path, name: str, javascript: bool = True
) -> tuple[Any, list[str], list[str]]:
    path = tmp_path / f"{name}.html"
    path.write_text(html, encoding="utf-8")
    context = browser.new_context(
        viewport={"width": 1100, "height": 1400}, java_script_enabled=javascript
    )
    page = context.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, errors, [u for u in requests if u != path.as_uri()]


@pytest.mark.parametrize(
    ("name", "lang"),
    [
        ("healthy_digits_mlp", "en"),
        ("lr_too_high", "en"),
        ("overfitting_small_data", "en"),
        ("overfitting_small_data", "zh"),
    ],
)
def test_report_in_chromium(browser: Any, tmp_path: Path, name: str, lang: str) -> None:
    html = lossexpert.diagnose(example(name), lang=lang).to_html()
    page, errors, requests = open_report(browser, html, tmp_path, f"{name}-{lang}")
    assert errors == []
    assert requests == []
    charts = page.locator("svg.chart")
    assert charts.count() >= 1
    for i in range(charts.count()):
        chart = charts.nth(i)
        assert chart.is_visible()
        box = chart.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 40
    assert page.locator("svg.chart .series").count() >= 1
    assert page.locator("#verdict").is_visible()
    page.screenshot(path=str(tmp_path / f"{name}-{lang}.png"), full_page=True)
    assert (tmp_path / f"{name}-{lang}.png").stat().st_size > 10_000


def test_report_reads_without_javascript(browser: Any, tmp_path: Path) -> None:
    html = lossexpert.diagnose(example("lr_too_high")).to_html()
    page, errors, _ = open_report(browser, html, tmp_path, "nojs", javascript=False)
    assert errors == []
    assert "Learning rate too high" in page.locator("#findings").inner_text()
    assert page.locator("#plot-loss").is_visible()


def test_injected_payloads_do_not_run(browser: Any, tmp_path: Path) -> None:
    html = lossexpert.diagnose(hostile_run()).to_html()
    page, errors, requests = open_report(browser, html, tmp_path, "hostile")
    assert page.evaluate("() => window.__pwned") is None
    assert requests == [] and errors == []
    assert "<script>window.__pwned=1</script>" in page.locator("header h1").inner_text()
    assert page.locator("body").is_visible()
