"""Uploaded figures made safe to store and serve: only raster images Pillow reads as PNG, JPEG,
WebP or GIF (judged by their content, never their name), stills only, at most 1,600 px wide, and
re-encoded from their pixels so no metadata (EXIF camera and place, comments, text chunks)
survives. What is refused is refused in plain words (ValidationError), never a 500."""

import hashlib
import io
import warnings

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from PIL import Image, ImageOps, UnidentifiedImageError

# Pillow's format -> (format stored, file extension, content type). A GIF becomes a PNG: the
# same pixels, losslessly, and one format fewer to serve.
STORED_AS = {
    "PNG": ("PNG", "png", "image/png"),
    "JPEG": ("JPEG", "jpg", "image/jpeg"),
    "WEBP": ("WEBP", "webp", "image/webp"),
    "GIF": ("PNG", "png", "image/png"),
}
CONTENT_TYPES = {extension: content_type for _, extension, content_type in STORED_AS.values()}
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
# Twice the article's column on a high-density screen: diagrams stay sharp, files stay small.
MAX_WIDTH = 1600
MAX_HEIGHT = 3200  # a tall diagram keeps its width; only an absurd strip is narrowed
# Decoding is refused above this many pixels (a small file can declare a huge image).
MAX_PIXELS = 50_000_000
SVG_REFUSED = (
    "SVG is not accepted: it can carry script. Export the drawing as PNG (or WebP) and upload that."
)
NOT_AN_IMAGE = (
    "This file is not a PNG, JPEG, WebP or GIF image (whatever its name says), or it is "
    "damaged. Upload one of those."
)


def prepared(upload):
    """The uploaded file as it is to be stored: a ContentFile named by its content
    ("<hash>.png"). Raises ValidationError with what is wrong."""
    if upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError(
            f"This file is {upload.size / 1024 / 1024:.1f} MB; figures may be at most "
            f"{MAX_UPLOAD_BYTES // 1024 // 1024} MB.",
            code="too_large",
        )
    raw = upload.read()
    image = opened(raw)
    stored_format, extension, _ = STORED_AS[image.format]
    clean = still(image, stored_format)
    output = io.BytesIO()
    if stored_format == "JPEG":
        clean.save(output, "JPEG", quality=85, optimize=True, progressive=True)
    elif stored_format == "WEBP":
        clean.save(output, "WEBP", quality=85, method=4)
    else:
        clean.save(output, "PNG", optimize=True)
    data = output.getvalue()
    return ContentFile(data, name=f"{hashlib.sha256(data).hexdigest()[:20]}.{extension}")


def opened(raw):
    """The image in `raw`, decoded, if it is one of the accepted formats and sizes."""
    if looks_like_svg(raw):
        raise ValidationError(SVG_REFUSED, code="svg")
    with warnings.catch_warnings():
        # Pillow only warns below twice its own limit; ours is lower and refuses outright.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(raw), formats=list(STORED_AS))
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise ValidationError(
                    f"This image is {width:,} × {height:,} pixels; figures may have at most "
                    f"{MAX_PIXELS:,} pixels.",
                    code="too_many_pixels",
                )
            if getattr(image, "n_frames", 1) > 1:
                raise ValidationError(
                    "Animated images are not accepted: upload a still (PNG) of the frame "
                    "that matters.",
                    code="animated",
                )
            image.load()
        except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError,
                SyntaxError, EOFError):  # fmt: skip
            raise ValidationError(NOT_AN_IMAGE, code="not_an_image") from None
    return image


def looks_like_svg(raw):
    head = raw[:1024].lstrip().lower()
    return head.startswith((b"<?xml", b"<svg", b"<!doctype svg")) or b"<svg" in head


def still(image, stored_format):
    """The pixels alone, upright, in a mode the stored format writes, within the size limits."""
    image = ImageOps.exif_transpose(image)
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    mode = "RGBA" if has_alpha and stored_format != "JPEG" else "RGB"
    image = image.convert(mode)
    image.thumbnail((MAX_WIDTH, MAX_HEIGHT), Image.Resampling.LANCZOS)
    # A new image holds no `info` (comments, EXIF, ICC, text chunks) for the encoder to copy.
    clean = Image.new(mode, image.size)
    clean.paste(image)
    return clean
