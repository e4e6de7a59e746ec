"""Photos and signatures as the center keeps them: a real JPEG or PNG (HEIC where Pillow has a
plugin for it), turned the right way up, at most 1600 px on the long side, and re-encoded
without EXIF, so no location or device data leaves with a photo."""

import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from carecommon.i18n import N_

LONG_SIDE = 1600
ACCEPTED = {"JPEG", "PNG", "HEIF", "MPO"}  # MPO: the JPEG some phones write for one photo
NOT_AN_IMAGE = N_("This file is not a photo CareCenter can read; send a JPEG or PNG picture.")


class BadImage(ValueError):
    """The bytes are not an image we accept; the message is for a person."""


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    width: int
    height: int
    content_type: str


def clean_photo(data: bytes) -> CleanImage:
    """A photo re-encoded as JPEG, upright, no larger than 1600 px, with no metadata at all."""
    image = _open(data)
    image = ImageOps.exif_transpose(image)  # keep how it looked, then drop the tags
    image.thumbnail((LONG_SIDE, LONG_SIDE))
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
    return CleanImage(out.getvalue(), image.width, image.height, "image/jpeg")


def clean_signature(data: bytes) -> CleanImage:
    """A signature drawn on the screen, kept as PNG (with its transparency), metadata dropped."""
    image = _open(data)
    image.thumbnail((LONG_SIDE, LONG_SIDE))
    out = io.BytesIO()
    image.convert("RGBA").save(out, "PNG", optimize=True)
    return CleanImage(out.getvalue(), image.width, image.height, "image/png")


def _open(data: bytes) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise BadImage(NOT_AN_IMAGE) from exc
    if image.format not in ACCEPTED:
        raise BadImage(NOT_AN_IMAGE)
    return image
