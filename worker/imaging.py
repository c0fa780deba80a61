"""Resized variants of an uploaded image, made fast and safely.

Fast: a JPEG is decoded once, straight at the smallest scale that still covers
the largest variant (libjpeg's DCT scaling via Image.draft), each smaller variant
is resized from the previous one rather than from the original, and the encoders
run at their fast settings. benchmarks/image_variants.py measures the difference.
Safe: the pixel count is checked from the header before any decoding, so a
decompression bomb costs nothing; files Pillow cannot read are refused.
"""
from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

WIDTHS = (1600, 800, 200)
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}
# (Pillow format, extension, content type, save options). WebP's method 0 encodes
# about 3x faster than the default 4 for files a few percent larger; progressive
# JPEG would cost 6x the encode time of baseline for no gain at these sizes.
ENCODINGS = (
    ("JPEG", "jpg", "image/jpeg", {"quality": 82}),
    ("WEBP", "webp", "image/webp", {"quality": 80, "method": 0}),
)
ROTATED = {5, 6, 7, 8}  # EXIF orientations that swap width and height
EXIF_ORIENTATION = 0x0112


class ImageRejected(ValueError):
    """The file is not an image we accept; the message says why."""


@dataclass(frozen=True)
class Variant:
    width: int
    height: int
    extension: str
    content_type: str
    data: bytes


def make_variants(data: bytes, max_pixels: int) -> list[Variant]:
    image = _open(data, max_pixels)
    width, height = image.size
    orientation = image.getexif().get(EXIF_ORIENTATION, 1)
    shown_width = height if orientation in ROTATED else width
    targets = sorted({min(w, shown_width) for w in WIDTHS}, reverse=True)
    if image.format == "JPEG":
        scale = targets[0] / shown_width
        image.draft("RGB", (math.ceil(width * scale), math.ceil(height * scale)))
    try:
        image = ImageOps.exif_transpose(image)
        image.load()
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageRejected(f"the image data is damaged: {exc}") from None
    image = _normalise_mode(image)
    variants: list[Variant] = []
    source = image
    for target in targets:
        resized = _scale(source, target)
        variants.extend(_encode(resized))
        source = resized
    return variants


def _scale(image: Image.Image, width: int) -> Image.Image:
    """LANCZOS in general; an integer factor is a box reduce, ten times cheaper.

    (reduce rounds the height up, so it may be a pixel taller than LANCZOS's rounding.)
    """
    if image.width == width:
        return image
    if image.width % width == 0:
        return image.reduce(image.width // width)
    return image.resize((width, max(1, round(image.height * width / image.width))), Image.Resampling.LANCZOS)


def _open(data: bytes, max_pixels: int) -> Image.Image:
    try:
        with warnings.catch_warnings():  # the limit below is ours, lower than Pillow's warning
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise ImageRejected(f"refused as a decompression bomb: {exc}") from None
    except (UnidentifiedImageError, OSError):
        raise ImageRejected("not an image file (JPEG, PNG, WebP or GIF expected)") from None
    if image.format not in ACCEPTED_FORMATS:
        raise ImageRejected(f"{image.format} images are not accepted (JPEG, PNG, WebP or GIF expected)")
    width, height = image.size
    if width * height > max_pixels:
        raise ImageRejected(
            f"refused as a decompression bomb: {width}x{height} is {width * height} pixels, "
            f"over the limit of {max_pixels}"
        )
    return image


def _normalise_mode(image: Image.Image) -> Image.Image:
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    return image.convert("RGBA" if has_alpha else "RGB")


def _encode(image: Image.Image) -> list[Variant]:
    out = []
    for fmt, extension, content_type, options in ENCODINGS:
        frame = image
        if fmt == "JPEG" and image.mode == "RGBA":  # JPEG has no alpha: flatten on white
            frame = Image.new("RGB", image.size, (255, 255, 255))
            frame.paste(image, mask=image.getchannel("A"))
        buffer = io.BytesIO()
        frame.save(buffer, fmt, **options)
        out.append(Variant(image.width, image.height, extension, content_type, buffer.getvalue()))
    return out
