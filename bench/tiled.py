"""Huge images, traced in tiles, side by side with VTracer: ``python -m bench tiled``.

``large``: the ../shared/bench ``large`` group (lines-8k 47 MP, world-map-12k 144 MP). Each
tracer runs as its own command in a fresh process tree: vectile as ``vectile convert IN -o
OUT --tile-size 2048`` (the default tile; forced because lines-8k is under the 64 MP
automatic threshold: PNG streamed into Zarr, the embedded in-process LocalCluster, the SVG
written by a worker), VTracer 0.6.15 with its defaults through its Python binding. Memory is the
peak of the RSS *summed over the whole process tree* (client, scheduler, nannies, workers),
sampled every 20 ms with psutil; time is the command's wall time, decoding included.
Fidelity (PSNR, SSIM on the centred 4000x4000 crop) and SVG size as bench/metrics.py.

``scaling``: map images of 16, 64, 256 (and with ``--sizes`` more) megapixels generated
tile by tile straight into Zarr (bench/huge.py, not timed), traced with ``trace_tiled`` on
the same kind of in-process cluster the CLI embeds, the SVG written to a file; time (process
start included) and summed peak memory per size, and the least-squares slope in s/MP.

Results go to ``bench/out/tiled-<kind>.json`` and a Markdown table on stdout.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from vectile.options import DEFAULT_TILE_SIZE

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT.parent / "shared" / "bench"
OUT = ROOT / "bench" / "out"


def run_measured(cmd: list[str]) -> dict[str, Any]:
    """Run ``cmd``; wall seconds and the peak of the RSS summed over its process tree."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        try:
            root = psutil.Process(proc.pid)
        except psutil.NoSuchProcess:
            return
        while not stop.is_set():
            total = 0
            try:
                for p in [root, *root.children(recursive=True)]:
                    try:
                        total += p.memory_info().rss
                    except psutil.NoSuchProcess:
                        pass
            except psutil.NoSuchProcess:
                break
            peak = max(peak, total)
            stop.wait(0.02)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    out, err = proc.communicate()
    seconds = time.perf_counter() - started
    stop.set()
    t.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {err.decode()[-2000:]}")
    return {"seconds": seconds, "peak_mb": peak / 1e6, "stderr": err.decode()[-4000:]}


def _vtracer_cmd(src: Path, out: Path) -> list[str]:
    code = "import sys, vtracer; vtracer.convert_image_to_svg_py(sys.argv[1], sys.argv[2])"
    return [sys.executable, "-c", code, str(src), str(out)]


def _vectile_cmd(src: Path, out: Path) -> list[str]:
    vectile = str(Path(sys.executable).with_name("vectile"))
    return [vectile, "convert", str(src), "-o", str(out), "-q", "--stats", "--tile-size", str(DEFAULT_TILE_SIZE)]


def large(images: list[str], repeat: int = 3) -> list[dict[str, Any]]:
    """Each image through vectile and VTracer, ``repeat`` times each, alternating (so both
    see the same machine noise): median seconds, highest peak, fidelity of the output."""
    from PIL import Image

    from bench.metrics import fidelity

    Image.MAX_IMAGE_PIXELS = None
    rows = []
    tracers = (("vectile", _vectile_cmd), ("vtracer", _vtracer_cmd))
    with tempfile.TemporaryDirectory(prefix="vectile-bench-tiled-") as tmp:
        for name in images:
            src = BENCH / "large" / f"{name}.png"
            original = np.asarray(Image.open(src).convert("RGB"))
            runs: dict[str, list[dict[str, Any]]] = {tracer: [] for tracer, _ in tracers}
            texts: dict[str, str] = {}
            for _ in range(repeat):
                for tracer, make in tracers:
                    out = Path(tmp) / f"{name}-{tracer}.svg"
                    runs[tracer].append(run_measured(make(src, out)))
                    texts.setdefault(tracer, out.read_text())
                    out.unlink()
            for tracer, _ in tracers:
                fid = fidelity(original, texts[tracer])
                seconds = [m["seconds"] for m in runs[tracer]]
                row = {
                    "image": name,
                    "tracer": tracer,
                    "megapixels": original.shape[0] * original.shape[1] / 1e6,
                    "seconds": float(np.median(seconds)),
                    "runs_seconds": seconds,
                    "peak_mb": max(m["peak_mb"] for m in runs[tracer]),
                    "kb": len(texts[tracer].encode()) / 1000,
                    "psnr": fid["psnr"],
                    "ssim": fid["ssim"],
                    "gaps": fid["gaps"],
                }
                rows.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
    return rows


_SCALING_SCRIPT = """
import sys, time, json
from pathlib import Path
from distributed import Client, LocalCluster
from vectile.options import DEFAULT_TILE_SIZE
from vectile.tiling import trace_tiled
store, out = sys.argv[1], sys.argv[2]
if __name__ == "__main__":
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as c, \
            Client(c) as client:
        t = time.perf_counter()
        _, stats = trace_tiled(Path(store), tile_size=DEFAULT_TILE_SIZE, options={}, client=client, output=out)
        print(json.dumps({"trace_seconds": time.perf_counter() - t, **stats}))
"""


def scaling(sizes: list[int]) -> list[dict[str, Any]]:
    from bench.huge import generate

    rows = []
    with tempfile.TemporaryDirectory(prefix="vectile-bench-scaling-") as tmp:
        for mp in sizes:
            side = int(round((mp * 1e6) ** 0.5))
            store = Path(tmp) / f"map-{mp}.zarr"
            generate(store, side, side, tile_size=DEFAULT_TILE_SIZE, seed=0)
            out = Path(tmp) / f"map-{mp}.svg"
            m = run_measured([sys.executable, "-c", _SCALING_SCRIPT, str(store), str(out)])
            row = {
                "megapixels": side * side / 1e6,
                "side": side,
                "seconds": m["seconds"],
                "peak_mb": m["peak_mb"],
                "svg_kb": out.stat().st_size / 1000,
            }
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
            out.unlink()
            import shutil

            shutil.rmtree(store)
    if len(rows) >= 2:
        x = np.array([r["megapixels"] for r in rows])
        y = np.array([r["seconds"] for r in rows])
        slope, intercept = np.polyfit(x, y, 1)
        for r in rows:
            r["fit_slope_s_per_mp"] = float(slope)
            r["fit_intercept_s"] = float(intercept)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench tiled", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="kind", required=True)
    lg = sub.add_parser("large", help="the large group against VTracer")
    lg.add_argument("--images", nargs="+", default=["lines-8k", "world-map-12k"])
    lg.add_argument(
        "--repeat",
        type=int,
        default=3,
        metavar="N",
        help="runs of each tracer per image, alternating (median time, highest peak; default 3)",
    )
    sc = sub.add_parser("scaling", help="generated maps of growing size")
    sc.add_argument("--sizes", nargs="+", type=int, default=[16, 64, 256], metavar="MP")
    args = ap.parse_args(argv)
    rows = large(args.images, args.repeat) if args.kind == "large" else scaling(args.sizes)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"tiled-{args.kind}.json").write_text(json.dumps(rows, indent=1))
    if args.kind == "large":
        print("| image | tracer | s (median) | runs s | peak MB (all processes) | KB | PSNR dB | SSIM |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for r in rows:
            runs = " / ".join(f"{t:.2f}" for t in r["runs_seconds"])
            print(
                f"| {r['image']} | {r['tracer']} | {r['seconds']:.2f} | {runs} | {r['peak_mb']:.0f} | {r['kb']:.0f} | "
                f"{r['psnr']:.2f} | {r['ssim']:.3f} |"
            )
        print()
        for name in dict.fromkeys(r["image"] for r in rows):
            t = {r["tracer"]: r["seconds"] for r in rows if r["image"] == name}
            if "vectile" in t and "vtracer" in t:
                print(f"{name}: vectile / VTracer time = {t['vectile'] / t['vtracer']:.3f}")
    else:
        print("| MP | s | peak MB (all processes) | SVG KB |")
        print("| --- | --- | --- | --- |")
        for r in rows:
            print(f"| {r['megapixels']:.0f} | {r['seconds']:.2f} | {r['peak_mb']:.0f} | {r['svg_kb']:.0f} |")
        if rows and "fit_slope_s_per_mp" in rows[0]:
            print(f"\nslope {rows[0]['fit_slope_s_per_mp']:.4f} s/MP, intercept {rows[0]['fit_intercept_s']:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
