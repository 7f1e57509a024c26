"""A frame's render time written into its own pixels, so latency can be read off the screen.

A real drone's video carries no clock the browser can see; a simulated one can: the render time
(Unix milliseconds, wall clock) is drawn as ``BITS`` black/white squares of ``CELL_PX`` along
the top-left edge of the frame, most significant bit first. Squares of 8 px sit on JPEG's 8x8
blocks, so the code survives compression (even at quality 50) and any decoder, and a page reads it back by
sampling each square's centre. 44 bits of milliseconds last 557 years from 1970.
"""

from __future__ import annotations

import numpy as np

BITS = 44
CELL_PX = 8
ROWS = 2  # two rows of 22 squares: 176 px wide, fits a 320 px frame with room to spare
PER_ROW = BITS // ROWS


def stamp_ms(image_bgr: np.ndarray, unix_ms: int) -> None:
    """Draw ``unix_ms`` into the top-left corner of ``image_bgr`` (in place)."""
    if image_bgr.shape[1] < PER_ROW * CELL_PX or image_bgr.shape[0] < ROWS * CELL_PX:
        raise ValueError(f"a frame needs at least {PER_ROW * CELL_PX} x {ROWS * CELL_PX} px "
                         "for its time code")
    for i in range(BITS):
        bit = (unix_ms >> (BITS - 1 - i)) & 1
        row, col = divmod(i, PER_ROW)
        image_bgr[row * CELL_PX:(row + 1) * CELL_PX, col * CELL_PX:(col + 1) * CELL_PX] = \
            255 if bit else 0


def read_ms(image: np.ndarray) -> int:
    """The milliseconds ``stamp_ms`` drew (any 3-channel order, or grey), read at the centres."""
    value = 0
    for i in range(BITS):  # only the 44 centres are read: no grey copy of the whole frame
        row, col = divmod(i, PER_ROW)
        centre = np.mean(image[row * CELL_PX + CELL_PX // 2, col * CELL_PX + CELL_PX // 2])
        value = (value << 1) | int(centre >= 128)
    return value
