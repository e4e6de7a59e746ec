"""Photos and signatures as the center keeps them: a real JPEG or PNG (HEIC where Pillow has a
plugin for it), turned the right way up, at most 1600 px on the long side, and re-encoded
without any metadata (EXIF, comments, text chunks, profiles), so no location or device data
leaves with a photo.

An image is judged by its header before it is decoded: one of more than MAX_PIXELS is refused
(a 500 KB PNG can say 13,000 x 13,000 and take gigabytes to decode); a JPEG is decoded at the
smallest scale that still gives 1600 px; and at most IMAGES_AT_ONCE are decoded at a time in a
process, so that a burst of uploads cannot take the server's memory.
"""

import io
import threading
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from carecommon.i18n import N_

LONG_SIDE = 1600
MAX_PIXELS = 24_000_000  # 6000 x 4000, a full-size phone photo; the tablet sends 1600 px
IMAGES_AT_ONCE = 2
TOO_LARGE = N_("This picture is too large (more than 24 megapixels); send a smaller one.")
_decoding = threading.BoundedSemaphore(IMAGES_AT_ONCE)
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
    with _decoding:
        image = _open(data)
        image = ImageOps.exif_transpose(image)  # keep how it looked, then drop the tags
        image.thumbnail((LONG_SIDE, LONG_SIDE))
        clean = _bare(image.convert("RGB"))
        out = io.BytesIO()
        clean.save(out, "JPEG", quality=85, optimize=True)
    return CleanImage(out.getvalue(), clean.width, clean.height, "image/jpeg")


def clean_signature(data: bytes) -> CleanImage:
    """A signature drawn on the screen, kept as PNG (with its transparency), metadata dropped."""
    with _decoding:
        image = _open(data)
        image.thumbnail((LONG_SIDE, LONG_SIDE))
        clean = _bare(image.convert("RGBA"))
        out = io.BytesIO()
        clean.save(out, "PNG", optimize=True)
    return CleanImage(out.getvalue(), clean.width, clean.height, "image/png")


def _open(data: bytes) -> Image.Image:
    """The image decoded, after its header said it is an accepted format of a sane size."""
    try:
        image = Image.open(io.BytesIO(data))  # reads the header only
        if image.format not in ACCEPTED:
            raise BadImage(NOT_AN_IMAGE)
        if image.width * image.height > MAX_PIXELS:
            raise BadImage(TOO_LARGE)
        if image.format in ("JPEG", "MPO"):
            image.draft("RGB", (LONG_SIDE, LONG_SIDE))  # decode at 1/2, 1/4 or 1/8 scale where that suffices
        image.load()
    except BadImage:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise BadImage(NOT_AN_IMAGE) from exc
    return image


def _bare(image: Image.Image) -> Image.Image:
    """The pixels alone: a new image, so no comment, EXIF, ICC profile or text chunk can ride along."""
    bare = Image.new(image.mode, image.size)
    bare.paste(image)
    return bare
