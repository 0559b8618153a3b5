"""API tests: a real uvicorn server on a loopback port, driven with httpx.

One server (module scope) with small limits serves most tests; the timeout tests get their
own server with a tiny timeout. Jobs run on an embedded LocalCluster of threads (processes
cost seconds to start; the process flavour is what `vectile serve` uses and is covered by the
load test).
"""

from __future__ import annotations

import io
import json
import struct
import threading
import time
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi")
pytest.importorskip("distributed")

import vectile  # noqa: E402
from vectile.server import ServerSettings, create_app  # noqa: E402
from vectile.server.running import serve_in_thread  # noqa: E402

SVG_NS = "{http://www.w3.org/2000/svg}"
UPLOAD_LIMIT = 300_000
PIXEL_LIMIT = 1_000_000


def encode(array: np.ndarray, fmt: str = "PNG", **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, fmt, **options)
    return buffer.getvalue()


def logo(size: int = 64) -> np.ndarray:
    """A flat-colour icon: background, a disc, a bar, a square."""
    y, x = np.mgrid[:size, :size]
    image = np.full((size, size, 3), (245, 245, 240), np.uint8)
    image[(x - size * 0.4) ** 2 + (y - size * 0.45) ** 2 < (size * 0.3) ** 2] = (220, 40, 50)
    image[size * 3 // 4 : size * 7 // 8, size // 8 : size * 7 // 8] = (30, 90, 200)
    image[size // 8 : size // 3, size * 2 // 3 : size * 7 // 8] = (250, 200, 30)
    return image


def gradient(size: int = 96) -> np.ndarray:
    """Smooth colour gradients: quality levels give visibly different palettes."""
    y, x = np.mgrid[:size, :size] / (size - 1)
    return np.dstack([x * 255, y * 255, (1 - x) * (1 - y) * 255]).astype(np.uint8)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a size but holds no pixels (a bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def parse_svg(text: str | bytes) -> ET.Element:
    root = ET.fromstring(text)
    assert root.tag == f"{SVG_NS}svg"
    return root


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("serve-data")


@pytest.fixture(scope="module")
def base_url(data_dir: Path) -> Iterator[str]:
    settings = ServerSettings(
        max_upload_bytes=UPLOAD_LIMIT,
        max_pixels=PIXEL_LIMIT,
        request_timeout=30,
        workers=2,
        job_max_upload_bytes=2 * UPLOAD_LIMIT,
        job_max_pixels=PIXEL_LIMIT,
        max_batch_files=4,
        data_dir=data_dir,
        dask_processes=False,
        dask_workers=2,
    )
    with serve_in_thread(create_app(settings)) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30) as c:
        yield c


def vectorize(
    client: httpx.Client, data: bytes, name: str = "logo.png", content_type: str = "image/png", **options: object
) -> httpx.Response:
    fields = {k: str(v) for k, v in options.items()}
    return client.post("/v1/vectorize", files={"image": (name, data, content_type)}, data=fields)


# --- good images ------------------------------------------------------------------------------


def test_vectorize_returns_svg_with_stats_and_safety_headers(client: httpx.Client) -> None:
    # The declared content type is wrong on purpose: the server sniffs the bytes.
    r = vectorize(client, encode(logo()), content_type="text/plain")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/svg+xml"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in r.headers["content-security-policy"]
    root = parse_svg(r.text)
    assert (root.get("width"), root.get("height")) == ("64", "64")
    assert {child.tag for child in root} == {f"{SVG_NS}path"}
    stats = json.loads(r.headers["x-vectile-stats"])
    assert stats["paths"] == len(root) >= 4
    assert stats["bytes"] == len(r.content)
    assert stats["quality"] == "balanced" and stats["preset"] == "icon"


@pytest.mark.parametrize(
    ("fmt", "options"),
    [
        ("JPEG", {"quality": 95}),
        ("GIF", {}),
        ("WEBP", {"lossless": True}),
        ("BMP", {}),
        ("TIFF", {}),
    ],
)
def test_every_accepted_format_traces(client: httpx.Client, fmt: str, options: dict[str, object]) -> None:
    r = vectorize(
        client, encode(logo(), fmt, **options), name=f"logo.{fmt.lower()}", content_type="application/octet-stream"
    )
    assert r.status_code == 200, r.text
    parse_svg(r.text)


def test_json_answer_on_request(client: httpx.Client) -> None:
    r = client.post("/v1/vectorize", files={"image": ("a.png", encode(logo()))}, headers={"Accept": "application/json"})
    assert r.status_code == 200
    body = r.json()
    parse_svg(body["svg"])
    assert body["stats"]["paths"] >= 4


def test_other_formats_come_back_as_attachments(client: httpx.Client) -> None:
    data = encode(logo())
    plain = vectorize(client, data)
    for fmt, media, head in [
        ("pdf", "application/pdf", b"%PDF-"),
        ("eps", "application/postscript", b"%!PS-Adobe"),
        ("dxf", "image/vnd.dxf", b"  0\nSECTION"),
        ("svgz", "application/gzip", b"\x1f\x8b"),
    ]:
        r = vectorize(client, data, format=fmt, dpi=150)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == media and r.content.startswith(head)
        assert r.headers["content-disposition"].startswith(f'attachment; filename="logo.{fmt}"')
        assert r.content == vectile.formats.to_bytes(plain.text, fmt, dpi=150)
    grouped = vectorize(client, data, group_by="color")
    assert grouped.headers["content-type"].startswith("image/svg+xml") and b"inkscape:label" in grouped.content
    assert vectorize(client, data, format="png").status_code == 422
    assert vectorize(client, data, format="pdf", dpi=0).status_code == 422
    fields = client.get("/openapi.json").json()["components"]["schemas"]["Body_vectorize_image_v1_vectorize_post"]
    assert {"format", "dpi", "group_by"} <= set(fields["properties"]) and fields["required"] == ["image"]


def test_quality_levels_and_options(client: httpx.Client) -> None:
    image = encode(gradient())
    palettes = {}
    for quality in ("fast", "balanced", "high"):
        r = vectorize(client, image, quality=quality)
        assert r.status_code == 200, r.text
        palettes[quality] = json.loads(r.headers["x-vectile-stats"])["palette"]
    assert palettes["fast"] <= 8 < palettes["balanced"] < palettes["high"]

    r = vectorize(client, image, quality="high", colors=5, layers="cutout", precision=0)
    stats = json.loads(r.headers["x-vectile-stats"])
    assert (stats["palette"], stats["layers"]) == (5, "cutout")  # explicit options win

    r = vectorize(client, encode(logo()), mode="binary")
    fills = {p.get("fill") for p in parse_svg(r.text)}
    assert fills <= {"#000", "#fff"}


def test_concurrent_requests(client: httpx.Client, base_url: str) -> None:
    image = encode(logo(48))

    def one(_: int) -> int:
        with httpx.Client(base_url=base_url, timeout=30) as c:
            return vectorize(c, image).status_code

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(one, range(16))) == [200] * 16


# --- bad input --------------------------------------------------------------------------------

_SVG_UPLOAD = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.mark.parametrize(
    ("data", "status", "words"),
    [
        (b"", 422, "is empty"),
        (b"hello, world\n", 415, "not an image"),
        (_SVG_UPLOAD, 415, "not an image"),
        (b"<html><body>hi</body></html>", 415, "not an image"),
        (b"%PDF-1.7\n", 415, "not an image"),
        (encode(logo())[:60], 422, "truncated or corrupt"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 200, 422, "logo.png"),
    ],
    ids=["empty", "text", "svg", "html", "pdf", "truncated-png", "garbage-jpeg"],
)
def test_bad_images(client: httpx.Client, data: bytes, status: int, words: str) -> None:
    r = vectorize(client, data, content_type="image/png")
    assert r.status_code == status, r.text
    assert words in r.json()["detail"]


@pytest.mark.parametrize(
    "options",
    [
        {"colors": 0},
        {"colors": 257},
        {"colors": "many"},
        {"quality": "ultra"},
        {"mode": "sepia"},
        {"tolerance": -1},
        {"tolerance": 101},
        {"min_area": 0},
        {"precision": 9},
        {"preset": "oil"},
        {"layers": "onion"},
        {"seed": -1},
    ],
)
def test_bad_options(client: httpx.Client, options: dict[str, object]) -> None:
    r = vectorize(client, encode(logo()), **options)
    assert r.status_code == 422, r.text
    [error] = r.json()["detail"]
    assert error["loc"] == ["body", next(iter(options))]


def test_missing_image_field(client: httpx.Client) -> None:
    r = client.post("/v1/vectorize", data={"quality": "fast"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "image"]


def test_ai_quality_uses_the_learned_edge_model(client: httpx.Client) -> None:
    caps = client.get("/v1/capabilities").json()
    ai = next(q for q in caps["qualities"] if q["name"] == "ai")
    assert ai == {**ai, "available": True, "reason": None}
    r = client.post(
        "/v1/vectorize",
        files={"image": ("a.png", encode(logo()))},
        data={"quality": "ai"},
        headers={"Accept": "application/json"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["stats"]["quality"] == "ai"
    parse_svg(body["svg"])
    # The same trace as vectorize(edges="learned") with the balanced options.
    import vectile
    from vectile.server.safety import sanitize_svg

    expected = vectile.vectorize(logo(), edges="learned", preset=body["stats"]["preset"])
    assert body["svg"] == sanitize_svg(str(expected))
    # Flat art has an exact palette either way; a photo-like image gets another palette.
    r = client.post("/v1/vectorize", files={"image": ("g.png", encode(gradient()))}, data={"quality": "ai"})
    assert r.status_code == 200
    assert r.text != sanitize_svg(str(vectile.vectorize(gradient())))
    assert r.text == sanitize_svg(str(vectile.vectorize(gradient(), edges="learned")))


def test_ai_quality_needs_the_model(client: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    import vectile.server.api_jobs as api_jobs
    import vectile.server.api_service as api_service
    import vectile.server.tracing as tracing

    # Patched where each module looks it up: tracing (/v1/vectorize), the jobs and
    # capabilities routes.
    monkeypatch.setattr(tracing, "learned_edges_available", lambda: False)
    monkeypatch.setattr(api_jobs, "learned_edges_available", lambda: False)
    monkeypatch.setattr(api_service, "learned_edges_available", lambda: False)
    r = vectorize(client, encode(logo()), quality="ai")
    assert r.status_code == 422
    assert "learned edge model" in r.json()["detail"]
    caps = client.get("/v1/capabilities").json()
    ai = next(q for q in caps["qualities"] if q["name"] == "ai")
    assert ai == {**ai, "available": False, "reason": "needs the learned edge model"}
    r = client.post("/v1/jobs", files={"images": ("a.png", encode(logo()))}, data={"quality": "ai"})
    assert r.status_code == 422


def test_client_file_names_never_become_paths(client: httpx.Client, data_dir: Path) -> None:
    before = sorted(p.relative_to(data_dir) for p in data_dir.rglob("*"))
    r = vectorize(client, b"not an image", name="../../../../tmp/evil\r\nX-Injected: 1.png")
    assert r.status_code == 415
    detail = r.json()["detail"]
    assert "/" not in detail.split("'")[1] and "\n" not in detail and "x-injected" not in r.headers
    r = vectorize(client, encode(logo()), name="../../escape.png")
    assert r.status_code == 200
    assert sorted(p.relative_to(data_dir) for p in data_dir.rglob("*")) == before
    assert not (data_dir.parent / "escape.png").exists()


# --- limits -----------------------------------------------------------------------------------


def test_upload_over_the_limit_is_refused_before_reading(client: httpx.Client) -> None:
    r = vectorize(client, b"\x89PNG\r\n\x1a\n" + bytes(UPLOAD_LIMIT))
    assert r.status_code == 413
    assert "limit of 300,000 bytes" in r.json()["detail"]
    assert "POST /v1/jobs" in r.json()["detail"]


def test_chunked_upload_over_the_limit_is_cut_off(client: httpx.Client) -> None:
    boundary = "vectile-test"

    def body() -> Iterator[bytes]:  # no Content-Length: sent chunked, counted as it arrives
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        for _ in range(40):
            yield bytes(10_000)

    r = client.post(
        "/v1/vectorize", content=body(), headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert r.status_code == 413
    assert "limit" in r.json()["detail"]


def test_other_routes_take_no_big_bodies(client: httpx.Client) -> None:
    assert client.post("/v1/jobs/0123/result", content=bytes(100_000)).status_code == 413


def test_pixel_limit_checked_on_the_header(client: httpx.Client) -> None:
    # The file has a header and no pixel data: decoding it fails (422, damaged), so a 413 for
    # the big one can only come from the header, before any decoding.
    assert vectorize(client, png_header_only(500, 500), name="small.png").status_code == 422
    r = vectorize(client, png_header_only(30_000, 30_000), name="bomb.png")
    assert r.status_code == 413
    assert "900,000,000 pixels, over the limit of 1,000,000" in r.json()["detail"]


def test_decompression_bomb_refused(client: httpx.Client) -> None:
    bomb = encode(np.zeros((2000, 2000), np.uint8), optimize=True)  # 4 MP in ~4 KB
    assert len(bomb) < 10_000
    r = vectorize(client, bomb, name="zeros.png")
    assert r.status_code == 413
    assert "over the limit" in r.json()["detail"]


@pytest.fixture(scope="module")
def slow_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = ServerSettings(
        request_timeout=0.2,
        workers=1,
        job_timeout=0.2,
        data_dir=tmp_path_factory.mktemp("slow"),
        dask_processes=False,
        dask_workers=1,
    )
    with serve_in_thread(create_app(settings)) as url:
        yield url


@pytest.fixture
def held_trace(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[threading.Event, threading.Event]]:
    """Traces (of /v1/vectorize, and of jobs on the in-process cluster) that wait until the test
    sets ``release``; ``finished`` is set when one has returned.  The server runs in this process
    (serve_in_thread), so patching the module globals reaches it."""
    import vectile.server.api_vectorize as api_vectorize
    import vectile.server.jobs as jobs
    from vectile.server.tracing import trace_bytes

    release, finished = threading.Event(), threading.Event()

    def held(*args: object) -> object:
        release.wait(60)
        try:
            return trace_bytes(*args)  # type: ignore[arg-type]
        finally:
            finished.set()

    monkeypatch.setattr(api_vectorize, "trace_bytes", held)
    monkeypatch.setattr(jobs, "trace_bytes", held)
    try:
        yield release, finished
    finally:
        release.set()  # never leave a pool thread or a Dask worker thread waiting


def test_request_timeout(slow_url: str, held_trace: tuple[threading.Event, threading.Event]) -> None:
    release, finished = held_trace
    with httpx.Client(base_url=slow_url, timeout=30) as c:
        r = vectorize(c, encode(logo()), name="logo.png")
        assert not finished.is_set()  # answered on time, not after the trace
        assert r.status_code == 504
        assert "took longer than 0.2 s" in r.json()["detail"]


def test_job_timeout(slow_url: str, held_trace: tuple[threading.Event, threading.Event]) -> None:
    release, finished = held_trace
    with httpx.Client(base_url=slow_url, timeout=30) as c:
        job = c.post("/v1/jobs", files={"images": ("logo.png", encode(logo()))}).json()
        status = wait_for(c, job["id"], timeout=20)
        assert not finished.is_set()  # failed by the sweeper while the trace still ran
        assert status["state"] == "failed"
        assert "timed out after 0.2 s" in status["error"]
        assert c.get(f"/v1/jobs/{job['id']}/result").status_code == 409


# --- jobs -------------------------------------------------------------------------------------


def wait_for(client: httpx.Client, job_id: str, timeout: float = 30) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        r = client.get(f"/v1/jobs/{job_id}")
        assert r.status_code == 200, r.text
        status = r.json()
        assert 0.0 <= status["progress"] <= 1.0
        if status["state"] in ("done", "failed") or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def test_batch_job_lifecycle(client: httpx.Client, data_dir: Path) -> None:
    files = [
        ("images", ("logo.png", encode(logo()), "image/png")),
        ("images", ("notes.txt", b"hello", "image/png")),
        ("images", ("../gradient.jpg", encode(gradient(), "JPEG", quality=95), "text/plain")),
    ]
    r = client.post("/v1/jobs", files=files, data={"quality": "fast"})
    assert r.status_code == 202, r.text
    job = r.json()
    assert r.headers["location"] == f"/v1/jobs/{job['id']}"
    assert job["state"] in ("queued", "running") and job["files"]["total"] == 3
    assert job["options"]["quality"] == "fast"

    status = wait_for(client, job["id"])
    assert status["state"] == "done" and status["progress"] == 1.0
    assert status["files"] == {"total": 3, "queued": 0, "done": 2, "failed": 1}
    items = status["items"]
    assert [i["state"] for i in items] == ["done", "failed", "done"]
    assert "'notes.txt' is not an image" in items[1]["error"]
    assert items[2]["name"] == "gradient.jpg" and items[2]["stats"]["palette"] <= 8
    # Everything the job stored has a generated name.
    names = sorted(p.name for p in (data_dir / "jobs" / job["id"]).iterdir())
    assert names == ["in-000.png", "in-002.jpg", "out-000.svg", "out-002.svg"]

    r = client.get(status["result"])
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.content)) as archive:
        assert sorted(archive.namelist()) == ["000-logo.svg", "002-gradient.svg", "manifest.json"]
        manifest = json.loads(archive.read("manifest.json"))
        assert [m["svg"] for m in manifest] == ["000-logo.svg", None, "002-gradient.svg"]
        parse_svg(archive.read("000-logo.svg"))
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["dask"] == "embedded LocalCluster"


def test_single_file_job_returns_the_svg(client: httpx.Client) -> None:
    job = client.post("/v1/jobs", files={"images": ("logo.png", encode(logo()))}).json()
    status = wait_for(client, job["id"])
    assert status["state"] == "done"
    r = client.get(f"/v1/jobs/{job['id']}/result")
    assert r.status_code == 200 and r.headers["content-type"] == "image/svg+xml"
    assert "sandbox" in r.headers["content-security-policy"]
    assert r.headers["content-disposition"] == f'attachment; filename="vectile-{job["id"]}.svg"'
    # Same upload, same options: the job's SVG is the one /v1/vectorize answers.
    assert r.text == vectorize(client, encode(logo())).text


def test_jobs_write_the_format_asked_for(client: httpx.Client, data_dir: Path) -> None:
    # One file: the result is that file in the format, the same bytes /v1/vectorize answers.
    job = client.post("/v1/jobs", files={"images": ("logo.png", encode(logo()))}, data={"format": "pdf"}).json()
    assert job["output"] == {"format": "pdf", "dpi": None, "group_by": "none"}
    status = wait_for(client, job["id"])
    assert status["state"] == "done"
    r = client.get(status["result"])
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == f'attachment; filename="vectile-{job["id"]}.pdf"'
    assert r.content.startswith(b"%PDF-")
    direct = client.post("/v1/vectorize", files={"image": ("logo.png", encode(logo()))}, data={"format": "pdf"})
    assert r.content == direct.content
    # Several files: a zip of DXF drawings, named with their suffix, that ezdxf reads.
    files = [("images", ("logo.png", encode(logo()))), ("images", ("g.jpg", encode(gradient(), "JPEG")))]
    job = client.post("/v1/jobs", files=files, data={"format": "dxf", "group_by": "color"}).json()
    status = wait_for(client, job["id"])
    assert status["state"] == "done", status
    r = client.get(status["result"])
    with zipfile.ZipFile(io.BytesIO(r.content)) as archive:
        assert sorted(archive.namelist()) == ["000-logo.dxf", "001-g.dxf", "manifest.json"]
        assert [m["svg"] for m in json.loads(archive.read("manifest.json"))] == ["000-logo.dxf", "001-g.dxf"]
        import ezdxf

        doc = ezdxf.read(io.StringIO(archive.read("000-logo.dxf").decode()))
        assert len(doc.modelspace()) > 0
    assert sorted(p.suffix for p in (data_dir / "jobs" / job["id"]).glob("out-*")) == [".dxf", ".dxf"]
    # A bad format is a 422 naming the field, and no job is made.
    r = client.post("/v1/jobs", files={"images": ("logo.png", encode(logo()))}, data={"format": "tiff"})
    assert r.status_code == 422 and "format" in r.text


def test_job_of_a_bomb_fails_and_has_no_result(client: httpx.Client) -> None:
    job = client.post("/v1/jobs", files={"images": ("bomb.png", png_header_only(30_000, 30_000))}).json()
    status = wait_for(client, job["id"])
    assert status["state"] == "failed" and status["error"] == "every file failed"
    assert "over the limit of 1,000,000 pixels" in status["items"][0]["error"]
    r = client.get(f"/v1/jobs/{job['id']}/result")
    assert r.status_code == 409 and "failed" in r.json()["detail"]


def test_job_refusals(client: httpx.Client) -> None:
    assert client.get("/v1/jobs/0123456789abcdef0123456789abcdef").status_code == 404
    assert client.get("/v1/jobs/../../etc/passwd").status_code == 404
    assert client.get("/v1/jobs/nope/result").status_code == 404
    r = client.post("/v1/jobs", files={"images": ("a.txt", b"text")})
    assert r.status_code == 415 and "not an image" in r.json()["detail"]
    r = client.post("/v1/jobs", files=[("images", (f"{i}.png", encode(logo(8)))) for i in range(5)])
    assert r.status_code == 413 and "Maximum number of files is 4" in r.json()["detail"]
    r = client.post("/v1/jobs", files={"images": ("a.png", bytes(2 * UPLOAD_LIMIT))})
    assert r.status_code == 413


def test_jobs_on_an_external_scheduler(tmp_path: Path) -> None:
    """DASK_SCHEDULER_ADDRESS (dask config ``scheduler-address``) sends jobs to that cluster."""
    import dask
    from distributed import LocalCluster

    with (
        LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address="127.0.0.1:0") as cluster,
        dask.config.set({"scheduler-address": cluster.scheduler_address}),
        serve_in_thread(create_app(ServerSettings(data_dir=tmp_path))) as url,
        httpx.Client(base_url=url, timeout=30) as c,
    ):
        job = c.post("/v1/jobs", files={"images": ("logo.png", encode(logo()))}).json()
        assert wait_for(c, job["id"])["state"] == "done"
        assert c.get("/healthz").json()["dask"] == f"scheduler {cluster.scheduler_address}"


# --- service routes ---------------------------------------------------------------------------


def test_health_capabilities_and_schema(client: httpx.Client) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    caps = client.get("/v1/capabilities").json()
    assert [q["name"] for q in caps["qualities"]] == ["fast", "balanced", "high", "ai"]
    assert caps["limits"]["max_upload_bytes"] == UPLOAD_LIMIT
    schema = client.get("/openapi.json").json()
    assert {"/v1/vectorize", "/v1/jobs", "/v1/jobs/{job_id}", "/v1/jobs/{job_id}/result", "/healthz"} <= set(
        schema["paths"]
    )
    post = schema["paths"]["/v1/vectorize"]["post"]
    assert "examples" in post["requestBody"]["content"]["multipart/form-data"]
    assert "example" in post["responses"]["200"]["content"]["image/svg+xml"]
    assert {"413", "415", "422", "504"} <= set(post["responses"])
    assert client.get("/docs").status_code == 404  # no CDN-loaded documentation page


def test_page_and_static_files(client: httpx.Client) -> None:
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    assert 'src="/static/app.js"' in r.text and "http" not in r.text.split("<body>")[0].replace("http-equiv", "")
    for name, kind in [("app.js", "javascript"), ("style.css", "text/css")]:
        r = client.get(f"/static/{name}")
        assert r.status_code == 200 and kind in r.headers["content-type"]
    assert client.get("/static/../app.py").status_code == 404
