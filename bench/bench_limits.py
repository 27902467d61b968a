"""What one request costs a worker, for the worst inputs we can make: ``bench/bench_limits.py``.

Each case runs in a fresh process that builds the app as a gunicorn worker does (BLAS on
one thread, the model loaded), warms up on a canvas digit, then POSTs the case's bytes to
/predict a few times through Flask's test client. It reports the answer's status, the CPU
time of a request (median, ``time.process_time``) and the process's peak resident memory
(VmHWM), against the worker's memory before the request. Goals (issue 14): under
50 ms and 80 MB per worker.

    .venv/bin/python bench/bench_limits.py [--repeat 5] [--cases jpeg-4096,png-rgba]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def page(size: tuple[int, int], mode: str = "RGB", seed: int = 0, grain: int = 8) -> Image.Image:
    """A digit written on slightly grainy paper, at any size and mode (grain, every
    ``grain`` pixels, keeps the encoded file realistic: a flat page compresses to almost
    nothing)."""
    width, height = size
    rng = np.random.default_rng(seed)
    paper = rng.normal(235, 6, (height // grain + 1, width // grain + 1)).clip(0, 255).astype(
        np.uint8)
    image = Image.fromarray(paper).resize(size, Image.Resampling.BILINEAR).convert("RGB")
    pen = ImageDraw.Draw(image)
    w = max(4, width // 40)
    pen.line([(0.35 * width, 0.3 * height), (0.65 * width, 0.3 * height),
              (0.45 * width, 0.75 * height)], fill=(20, 20, 30), width=w, joint="curve")
    return image.convert(mode)


def saved(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def exif_rotated() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6
    return saved(page((4096, 3072)).transpose(Image.Transpose.ROTATE_90), "JPEG", quality=85,
                 exif=exif.tobytes())


def many_frames() -> bytes:
    frames = [page((640, 640), seed=i, grain=64).convert("P") for i in range(60)]
    return saved(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=40)


def sixteen_bit() -> bytes:
    values = (np.asarray(page((1670, 1670), "L"), np.uint16) * 257).astype(np.uint16)
    return saved(Image.fromarray(values), "PNG")


def canvas() -> bytes:
    return saved(page((280, 280), "L"), "PNG")


#: name -> (what, bytes maker, query string)
CASES: dict[str, tuple[str, Callable[[], bytes], str]] = {
    "canvas": ("the page's 280x280 canvas PNG", canvas, ""),
    "canvas-explained": ("the same, with ?explain=1", canvas, "?explain=1"),
    "jpeg-4096": ("JPEG 4096x4096 (q85)", lambda: saved(page((4096, 4096)), "JPEG",
                                                        quality=85), ""),
    "jpeg-progressive": ("progressive JPEG 4096x4096 (refused: 48 MiB of coefficients)",
                         lambda: saved(page((4096, 4096)), "JPEG", quality=85,
                                       progressive=True), ""),
    "jpeg-progressive-2300": ("progressive JPEG 2300x2300 (near its limit)", lambda: saved(
        page((2300, 2300)), "JPEG", quality=85, progressive=True), ""),
    "jpeg-cmyk": ("CMYK JPEG 4096x4096", lambda: saved(page((4096, 4096), "CMYK", grain=32),
                                                        "JPEG", quality=75), ""),
    "jpeg-exif": ("EXIF-rotated JPEG 4096x3072", exif_rotated, ""),
    "png-gray": ("grayscale PNG 4096x4096", lambda: saved(page((4096, 4096), "L", grain=64),
                                                          "PNG"), ""),
    "png-rgba": ("RGBA PNG 1440x1440 (near the decoded-size limit)", lambda: saved(
        page((1440, 1440), "RGBA"), "PNG"), ""),
    "png-screenshot": ("RGB PNG 1920x1080 (a screenshot)", lambda: saved(
        page((1920, 1080), grain=32), "PNG"), ""),
    "png-16bit": ("16-bit PNG 1670x1670", sixteen_bit, ""),
    "webp": ("WebP 1020x1020", lambda: saved(page((1020, 1020)), "WEBP", quality=80), ""),
    "gif-frames": ("GIF 640x640, 60 frames", many_frames, ""),
    "bmp": ("BMP 800x800", lambda: saved(page((800, 800)), "BMP"), ""),
}


def memory_mb(field: str = "VmRSS") -> float:
    """This process's resident memory now (VmRSS) or at its peak (VmHWM), in MB. (Not
    ru_maxrss: Linux carries that across exec, so a child would report its parent's.)"""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def measure(path: str, query: str, repeat: int) -> dict:
    """In this (fresh) process, as a worker: what a request with the file at ``path`` costs."""
    from app.blas import pin_blas_threads

    pin_blas_threads()
    from app.factory import create_app

    client = create_app().test_client()
    data = Path(path).read_bytes()
    client.post("/predict", data=canvas(), content_type="image/png")  # warm up
    before = memory_mb()
    times, status = [], None
    for _ in range(repeat):
        started = time.process_time()
        response = client.post("/predict" + query, data=data, content_type="image/png")
        times.append((time.process_time() - started) * 1000)
        status = response.get_json().get("status") or response.get_json()["error"]["code"]
    peak = memory_mb("VmHWM")
    return {"bytes": len(data), "status": status, "cpu_ms": statistics.median(times),
            "worker_mb": before, "peak_mb": peak}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cases", default="", help="comma-separated names (default: all)")
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)  # file, query: print JSON
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure(*args.one, args.repeat)))
        return 0
    names = [n for n in CASES if not args.cases or n in args.cases.split(",")]
    print("| input | bytes | answer | CPU ms per request (median) | worker before | "
          "peak (worker) |\n| --- | --- | --- | --- | --- | --- |")
    for name in names:
        _, make, query = CASES[name]
        with tempfile.NamedTemporaryFile(suffix=".img") as upload:
            upload.write(make())
            upload.flush()
            out = subprocess.run([sys.executable, __file__, "--one", upload.name, query,
                                  "--repeat", str(args.repeat)], capture_output=True, text=True,
                                 check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"| {CASES[name][0]} | {row['bytes']:,} | {row['status']} | {row['cpu_ms']:.1f} "
              f"| {row['worker_mb']:.0f} MB | {row['peak_mb']:.0f} MB |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
