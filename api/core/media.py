"""Evidence images on disk: checked to be real images, stored by content hash, never half-written."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from api.core.errors import BadInput, TooLarge

# Pixels an evidence image may have: 48 MP holds any drone or phone photo. A small file can
# declare far more (a 100 KB PNG of 30000 x 30000 decodes to 2.7 GB), so the header is read and
# checked before anything is decoded.
MAX_IMAGE_PIXELS = 48_000_000

CONTENT_TYPES = {"JPEG": ("image/jpeg", ".jpg"), "PNG": ("image/png", ".png"), "WEBP": ("image/webp", ".webp")}


@dataclass(frozen=True)
class StoredImage:
    path: str  # relative to the media dir
    content_type: str
    size_bytes: int
    sha256: str


def check_image(data: bytes, *, max_bytes: int) -> tuple[str, str]:
    """(content type, file suffix) of an acceptable image; BadInput says what is wrong otherwise."""
    if not data:
        raise BadInput("the uploaded file is empty; attach a JPEG or PNG photo")
    if len(data) > max_bytes:
        raise BadInput(
            f"the image is {len(data) / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB limit; "
            "send a smaller or more compressed photo"
        )
    try:
        with Image.open(io.BytesIO(data)) as img:  # reads the header, decodes nothing
            fmt = img.format
            width, height = img.size
            if width * height > MAX_IMAGE_PIXELS:
                raise TooLarge(
                    f"the image is {width} x {height} pixels ({width * height / 1e6:.0f} MP), over "
                    f"the {MAX_IMAGE_PIXELS / 1e6:.0f} MP limit; send a smaller photo")
            img.verify()
    except Image.DecompressionBombError as exc:  # Pillow's own check, at twice its 89 MP
        raise TooLarge(f"the image has more pixels than the {MAX_IMAGE_PIXELS / 1e6:.0f} MP "
                       f"limit ({exc}); send a smaller photo") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise BadInput("the uploaded file is not a readable image; send a JPEG, PNG or WebP") from exc
    if fmt not in CONTENT_TYPES:
        raise BadInput(f"images of format {fmt} are not accepted; send a JPEG, PNG or WebP")
    return CONTENT_TYPES[fmt]


def store_image(media_dir: Path, event_id: int, data: bytes, *, max_bytes: int,
                checked: tuple[str, str] | None = None) -> StoredImage:
    """Write an image under media_dir/events/<id>/ atomically (temp file, then rename).

    `checked` is what `check_image` already returned for these bytes, to skip decoding twice.
    """
    content_type, suffix = checked or check_image(data, max_bytes=max_bytes)
    digest = hashlib.sha256(data).hexdigest()
    rel = Path("events") / str(event_id) / f"{digest[:32]}{suffix}"
    target = media_dir / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return StoredImage(rel.as_posix(), content_type, len(data), digest)
