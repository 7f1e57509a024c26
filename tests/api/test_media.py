"""Uploaded images are checked the same whether or not ultralytics shares the process."""

from __future__ import annotations

import subprocess
import sys

# In a fresh interpreter: ultralytics patches PIL.Image.open on import (the demo's service runs
# the detector in its process); an unreadable upload must still be the clear 422 message, not a
# missing pi-heif plugin or an attempt to pip-install it.
SCRIPT = """
import os
os.environ["YOLO_OFFLINE"] = "1"
import ultralytics.data.utils  # noqa: F401  (patches PIL.Image.open)
from PIL import Image
assert Image.open.__module__ == "ultralytics.utils.patches", Image.open.__module__
from api.core.errors import BadInput
from api.core.media import check_image
try:
    check_image(b"plain text, not a photo", max_bytes=1000)
except BadInput as exc:
    print(exc)
"""


def test_an_unreadable_upload_is_refused_clearly_after_ultralytics_patched_pil():
    r = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=False,
                       timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip().splitlines()[-1] == (
        "the uploaded file is not a readable image; send a JPEG, PNG or WebP")
