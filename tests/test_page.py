"""The web page in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

Drop an image on the page, change the quality, look at the split preview, zoom, download the
SVG and parse it; then a file that is not an image must give a clear error. A screenshot of
the page after the conversion goes to the test's tmp dir and to bench/out/server-page.png.
"""

from __future__ import annotations

import base64
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

sync_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("fastapi")

from vectile.server import ServerSettings, create_app  # noqa: E402
from vectile.server.running import serve_in_thread  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOT_COPY = Path(__file__).resolve().parents[1] / "bench" / "out" / "server-page.png"
SVG_NS = "{http://www.w3.org/2000/svg}"

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs Debian's chromium: apt-get install -y chromium"
)


def badge(path: Path, size: int = 320) -> Path:
    """An anti-aliased badge (drawn 4x larger, then reduced): curves and a few flat colours."""
    big = size * 4
    image = Image.new("RGB", (big, big), (250, 248, 240))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((big * 0.08, big * 0.08, big * 0.92, big * 0.92), radius=big * 0.18, fill=(36, 87, 197))
    draw.ellipse((big * 0.22, big * 0.2, big * 0.78, big * 0.76), fill=(250, 200, 40))
    draw.polygon([(big * 0.5, big * 0.3), (big * 0.66, big * 0.62), (big * 0.34, big * 0.62)], fill=(220, 50, 60))
    draw.rectangle((big * 0.2, big * 0.8, big * 0.8, big * 0.86), fill=(245, 245, 245))
    image.resize((size, size), Image.Resampling.LANCZOS).save(path)
    return path


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = ServerSettings(data_dir=tmp_path_factory.mktemp("page-data"), dask_processes=False)
    with serve_in_thread(create_app(settings)) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


def test_convert_compare_and_download(browser: object, base_url: str, tmp_path: Path) -> None:
    image = badge(tmp_path / "badge.png")
    page = browser.new_page(viewport={"width": 1280, "height": 800}, accept_downloads=True)  # type: ignore[attr-defined]
    problems: list[str] = []  # script errors and CSP violations show up here
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.goto(base_url)
    expect = sync_api.expect

    ai = page.locator('input[name="quality"][value="ai"]')
    expect(ai).to_be_enabled()  # the learned edge model ships with the package

    # Drop the file on the drop zone, as a user dragging it from the desktop would.
    data = base64.b64encode(image.read_bytes()).decode()
    transfer = page.evaluate_handle(
        """(b64) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], "badge.png", {type: "image/png"}));
            return dt;
        }""",
        data,
    )
    page.dispatch_event("#drop", "drop", {"dataTransfer": transfer})
    expect(page.locator("#status")).to_contain_text("Done", timeout=15_000)
    expect(page.locator("#runs tbody tr")).to_have_count(1)
    assert page.evaluate("document.getElementById('vector').naturalWidth") == 320
    assert page.evaluate("document.getElementById('original').naturalWidth") == 320
    balanced_paths = int(page.locator("#stat-paths").inner_text())
    assert balanced_paths > 3

    # Change the quality: a second conversion, shown and listed.
    page.check('input[name="quality"][value="high"]')
    expect(page.locator("#runs tbody tr")).to_have_count(2, timeout=15_000)
    expect(page.locator("#runs tbody tr.current td").first).to_have_text("high")
    expect(page.locator("#status")).to_contain_text("Done")
    for stat in ("#stat-paths", "#stat-kb", "#stat-time", "#stat-colors"):
        assert page.locator(stat).inner_text() not in ("", "–")
    assert "KB" in page.locator("#stat-kb").inner_text()

    # The split slider clips the SVG layer; zoom scales the canvas.
    page.locator("#split").fill("35")
    assert "35%" in page.evaluate("document.getElementById('vector').style.clipPath")
    before = page.locator("#canvas").bounding_box()["width"]
    page.click("#zoom-in")
    assert page.locator("#canvas").bounding_box()["width"] > before * 1.3
    page.click("#fit")
    page.locator("#split").fill("50")

    screenshot = tmp_path / "server-page.png"
    page.screenshot(path=str(screenshot))
    SCREENSHOT_COPY.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(screenshot, SCREENSHOT_COPY)

    # Download: the SVG parses and is the one shown.
    with page.expect_download() as info:
        page.click("#download")
    download = info.value
    assert download.suggested_filename == "badge-high.svg"
    root = ET.parse(download.path()).getroot()
    assert root.tag == f"{SVG_NS}svg" and root.get("viewBox") == "0 0 320 320"
    assert len(root) == int(page.locator("#stat-paths").inner_text())
    assert all(child.tag == f"{SVG_NS}path" for child in root)

    # Another format: the same settings traced into a PDF, saved under the image's name.
    page.select_option("#format", "pdf")
    with page.expect_download() as info:
        page.click("#download-as")
    pdf = info.value
    assert pdf.suggested_filename == "badge-high.pdf"
    assert Path(pdf.path()).read_bytes().startswith(b"%PDF-")

    # A file that is not an image, through the file picker: a clear message, no crash.
    notes = tmp_path / "notes.png"
    notes.write_text("not really a picture")
    page.set_input_files("#file", str(notes))
    expect(page.locator("#error")).to_be_visible(timeout=15_000)
    expect(page.locator("#error")).to_contain_text("Unsupported file")
    expect(page.locator("#error")).to_contain_text("notes.png")

    # The server's 415 is logged by Chromium as a failed resource load; nothing else may be.
    assert [p for p in problems if "415" not in p] == []
    page.close()
