"""Live drone video: one reader per stream, the detector's boxes, viewers, and evidence clips.

Rule of this room: it may import ``api.lifecycle`` and ``api.core`` (and ``detection``), never
``api.routes`` or an HTTP framework; the routes (``api/routes/video.py``) shape its frames into
HTTP. A stream is read once per service process (``StreamReader``, PyAV in a thread) and fanned
out: to the shared detector thread, to every viewer, and to a ring buffer of the last seconds
from which an event's evidence clip is cut. See docs/video.md.
"""
