"""Image-variant time per image: worker.imaging against a naive Pillow open/resize/save.

The naive baseline is what most code does: for each width, open the original,
convert, resize it with LANCZOS and save JPEG and WebP with Pillow's defaults.
Both produce the same variants (1600, 800 and 200 px wide, JPEG and WebP). The
table prints time per image and the bytes each writes (ours trades a few percent
of WebP size for encode speed); the ratio is naive time / our time.

    .venv/bin/python benchmarks/image_variants.py [--images 6] [--rounds 3]
"""
from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

from PIL import Image, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from worker.imaging import ENCODINGS, WIDTHS, make_variants  # noqa: E402

MAX_PIXELS = 40_000_000


def photo_like(width: int, height: int, seed: int) -> bytes:
    """A camera-sized JPEG with noise and gradients, so codecs work as hard as on photos."""
    noise = Image.effect_noise((width // 8, height // 8), 60 + seed).resize((width, height), Image.BICUBIC)
    gradient = Image.linear_gradient("L").resize((width, height))
    image = Image.merge("RGB", (noise, gradient, noise.filter(ImageFilter.GaussianBlur(3))))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def naive(data: bytes) -> list[bytes]:
    outputs = []
    for width in WIDTHS:
        image = Image.open(io.BytesIO(data)).convert("RGB")
        height = round(image.height * width / image.width)
        resized = image.resize((width, height), Image.LANCZOS)
        for fmt, _, _, _ in ENCODINGS:
            out = io.BytesIO()
            resized.save(out, fmt)
            outputs.append(out.getvalue())
    return outputs


def ours(data: bytes) -> list[bytes]:
    return [variant.data for variant in make_variants(data, MAX_PIXELS)]


def measure(function, images: list[bytes], rounds: int) -> tuple[float, int]:
    """Median seconds per image over rounds (each round runs every image once), bytes per image."""
    per_round, written = [], 0
    for _ in range(rounds):
        started = time.perf_counter()
        outputs = [function(data) for data in images]
        per_round.append((time.perf_counter() - started) / len(images))
        assert all(len(out) == len(WIDTHS) * len(ENCODINGS) for out in outputs)
        written = sum(len(blob) for out in outputs for blob in out) // len(images)
    return statistics.median(per_round), written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sizes = [(4032, 3024), (3000, 2000), (1920, 1080)]
    print(f"{'image':>11} | {'naive ms':>9} | {'ours ms':>8} | {'ratio':>6} | {'naive KiB':>9} | {'ours KiB':>8}")
    print("-" * 66)
    ratios = []
    for width, height in sizes:
        images = [photo_like(width, height, seed) for seed in range(args.images)]
        ours(images[0]), naive(images[0])  # warm up codecs
        (slow, slow_bytes), (fast, fast_bytes) = measure(naive, images, args.rounds), measure(ours, images, args.rounds)
        ratios.append(slow / fast)
        print(f"{width:>5}x{height:<5} | {slow * 1000:9.1f} | {fast * 1000:8.1f} | {slow / fast:5.2f}x"
              f" | {slow_bytes / 1024:9.0f} | {fast_bytes / 1024:8.0f}")
    print("-" * 66)
    print(f"geometric mean speed-up: {statistics.geometric_mean(ratios):.2f}x (target: 3x or better)")


if __name__ == "__main__":
    main()
