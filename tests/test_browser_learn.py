"""What the page teaches: real MNIST examples to try (click or keyboard), the networks side by
side, the model card and its report card, the first layer's filters, feature maps on one scale
per layer enlarged on click, sections that fold (and tiles made only when opened, on a
phone), saving the drawing and a curl command that reproduces the reading."""

from __future__ import annotations

import io
import json
import shutil
import subprocess

import pytest
from PIL import Image

from tests.browser_env import (
    open_page,
    shown_digit,
    state,
    stroke_count,
    wait_answer_to_image,
    wait_settled,
)
from tests.browser_helpers import DIGIT_PATHS, draw_with_mouse, draw_with_touch

pytestmark = pytest.mark.browser


def test_examples_load_with_a_click(page, base_url) -> None:
    examples = page.request.get(base_url + "/static/examples/mnist-test-digits.json").json()
    row = page.locator("#example-row .example")
    page.wait_for_selector("#example-row .example[data-misread='true']")
    assert [int(i) for i in row.evaluate_all("els => els.map((e) => e.dataset.index)")][:10] == \
        examples["examples"]
    report = page.request.get(base_url + "/api/report").json()
    misread = page.locator("#example-row .example[data-misread='true']")
    assert misread.count() == 4
    first_misread = report["misread"][0]
    assert misread.first.get_attribute("data-index") == str(first_misread["index"])
    assert f"misreads as {first_misread['predicted']}" in misread.first.get_attribute("aria-label")
    row.nth(3).click()
    wait_answer_to_image(page)
    assert shown_digit(page) == "3" and stroke_count(page) == 0


def test_examples_with_the_keyboard_only(page) -> None:
    page.wait_for_selector("#example-row .example")
    page.focus("#example-row .example")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.dataset.label") == "2"
    assert page.locator("#example-row [tabindex='0']").count() == 1, "one Tab stop for the row"
    page.keyboard.press("Enter")
    wait_answer_to_image(page)
    assert shown_digit(page) == "2"


def test_compare_networks(page) -> None:
    draw_with_mouse(page, DIGIT_PATHS[7])
    wait_settled(page)
    assert "Network default" in page.inner_text("#timing")
    page.check("#compare-toggle")
    page.wait_for_selector("#compare-list .compare-item >> nth=1")
    items = page.locator("#compare-list .compare-item")
    assert items.evaluate_all("els => els.map((e) => e.dataset.model)") == ["default", "seed"]
    listed = page.request.get(page.url.rstrip("/") + "/api/models").json()["models"]
    options = page.locator("#model-select option").all_inner_texts()
    for model, option in zip(listed, options, strict=True):  # measured, not rounded up
        assert f"{100 * model['test_accuracy']:.2f}% on MNIST" in option, option
    for text in items.locator(".compare-reading").all_inner_texts():
        assert text.startswith("7"), text
    page.select_option("#model-select", "seed")
    page.wait_for_selector("#timing:has-text('Network seed')")
    wait_settled(page)
    assert shown_digit(page) == "7"
    page.wait_for_selector("#model-info[data-state='ready'] .model-summary:has-text('seed')")
    # A function, not an expression (see tests/browser_env.py).
    page.wait_for_function(
        "() => [...document.querySelectorAll('#compare-list .compare-item')]"
        ".map((e) => e.dataset.model).join() === 'seed,default'")
    page.uncheck("#compare-toggle")
    assert not page.is_visible("#compare")


def test_model_card_in_plain_words(page) -> None:
    page.wait_for_selector("#model-info[data-state='ready']")
    summary = page.inner_text("#model-info .model-summary")
    assert "3 convolution + 2 dense" in summary
    assert "MNIST" in summary and "not mouse drawings" in summary
    assert "18" not in summary, "ReLU, flatten and dropout counted as layers"
    assert not page.is_visible("#model-info .sha"), "the hash shows before it is asked for"
    page.click("#model-info .tech summary")
    assert "SHA-256" in page.inner_text("#model-info .sha")


def test_report_card(page, base_url) -> None:
    card = page.request.get(base_url + "/api/report").json()
    page.wait_for_selector("#report[data-state='ready'][open]")
    intro = page.inner_text("#report .report-intro")
    assert f"reads {100 * card['test_accuracy']:.2f}% right" in intro, intro
    charts = page.locator("#report svg.chart")
    assert charts.count() == 2
    assert page.locator("#report polyline").count() == 3  # accuracy; training and validation loss
    for label in charts.evaluate_all("els => els.map((e) => e.getAttribute('aria-label'))"):
        assert "epoch" in label
    classes = len(card["classes"])  # 10, or 11 with "not a digit"
    cells = page.locator("#report table.confusion tbody td")
    assert cells.count() == classes * classes
    counts = [int(c) for c in cells.all_inner_texts()]
    assert sum(counts) == card["test_images"]
    right = sum(counts[i * (classes + 1)] for i in range(classes))
    assert right == card["test_images"] - card["test_errors"]
    tiles = page.locator("#report .misread-item")
    assert tiles.count() == card["test_errors"]
    assert tiles.locator("img").count() == card["test_errors"], "a misread digit has no image"
    tiles.first.click()
    wait_answer_to_image(page)
    assert state(page) == "ok"


def test_first_layer_filters_and_the_viewer(page, base_url) -> None:
    kernels = page.request.get(base_url + "/api/kernels").json()
    tiles = page.locator("#kernel-grid .kernel-tile")
    page.wait_for_selector("#kernel-grid .kernel-tile")
    assert tiles.count() == kernels["filters"]
    size = tiles.first.locator("canvas").evaluate("c => [c.width, c.height]")
    assert size == [kernels["width"], kernels["height"]]
    legend = page.inner_text("#kernel-legend")
    assert f"{kernels['scale']:.3g}" in legend and f"-{kernels['scale']:.3g}" in legend
    draw_with_mouse(page, DIGIT_PATHS[1])
    wait_settled(page)
    tiles.nth(4).click()
    page.wait_for_selector("#viewer[open]")
    assert page.inner_text("#viewer-title") == f"Filter 5 of {kernels['filters']} (first layer)"
    assert page.locator("#viewer-legend .legend-bar").count() == 1
    page.keyboard.press("Escape")  # closes the viewer, and does not clear the drawing
    page.wait_for_selector("#viewer:not([open])", state="attached")
    assert stroke_count(page) == 1
    assert page.evaluate("document.activeElement.classList.contains('kernel-tile')")


def test_feature_maps_share_a_scale_and_enlarge(page) -> None:
    explained = []
    page.on("response", lambda r: explained.append(r) if "explain=1" in r.url else None)
    draw_with_mouse(page, DIGIT_PATHS[7])
    wait_settled(page)
    page.wait_for_selector("#feature-maps[data-state='ready']")
    layers = explained[-1].json()["feature_maps"]
    legends = page.locator("#feature-maps .layer .legend")
    for layer, legend in zip(layers, legends.all(), strict=True):
        assert f"{layer['scale']['max']:.3g}" in legend.inner_text()
    grid = page.locator("#feature-maps .layer-maps").nth(1)
    grid.locator(".map-tile").first.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    page.wait_for_selector("#viewer[open]")
    assert page.inner_text("#viewer-title").startswith("Layer 2, map 2 of")
    note = page.inner_text("#viewer-note")
    assert f"{layers[1]['peaks'][1]:.3g}" in note and f"{layers[1]['scale']['max']:.3g}" in note
    page.click("#viewer-close")
    page.wait_for_selector("#viewer:not([open])", state="attached")
    # The layer sections fold.
    first = page.locator("#feature-maps details.layer").first
    first.locator("summary").click()
    assert not first.evaluate("d => d.open")


def test_phone_tiles_are_made_only_when_a_layer_is_opened(browser, base_url) -> None:
    from tests.browser_env import PHONE_OPTIONS

    context, page, problems = open_page(browser, base_url, **PHONE_OPTIONS)
    try:
        draw_with_touch(page, DIGIT_PATHS[7])
        wait_settled(page)
        page.wait_for_selector("#feature-maps[data-state='ready']")
        assert page.locator("#feature-maps details.layer[open]").count() == 0
        assert page.locator("#feature-maps .map-tile").count() == 0
        page.locator("#feature-maps details.layer summary").first.tap()
        page.wait_for_selector("#feature-maps .map-tile")
        count = page.locator("#feature-maps .map-tile").count()
        filters = page.locator("#feature-maps .layer-shape").first.inner_text()
        assert count == int(filters.split()[0])
    finally:
        context.close()
    problems.check()


def test_save_the_drawing_and_reproduce_it_with_curl(browser, base_url, tmp_path) -> None:
    context, page, problems = open_page(browser, base_url)
    try:
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
        draw_with_mouse(page, DIGIT_PATHS[3])
        wait_settled(page)
        with page.expect_download() as download:
            page.click("#save-png")
        assert download.value.suggested_filename == "drawing.png"
        saved = tmp_path / "drawing.png"
        download.value.save_as(saved)
        image = Image.open(io.BytesIO(saved.read_bytes()))
        assert image.format == "PNG" and image.size == (420, 280)
        page.click("#copy-curl")
        page.wait_for_selector("#share-status:has-text('Copied')")
        command = page.evaluate("navigator.clipboard.readText()")
        assert command == page.inner_text("#curl-command")
        assert command == f"curl -s -F image=@drawing.png '{base_url}/predict?model=default'"
        number = page.evaluate("document.getElementById('digit').textContent")
    finally:
        context.close()
    problems.check()
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed: the command itself was not run")
    out = subprocess.run(command, shell=True, cwd=tmp_path, capture_output=True, text=True,
                         timeout=30, check=True).stdout
    assert json.loads(out)["number"] == number == "3"
