"""The dusk style: 3-D prisms over photographed ground (scikit-image's shipped photographs),
nadir to 35 deg oblique, low sun or lamps, rain, motion blur and H.264; no drawing code shared
with simulators.town or simulators.bazaar.

    frame = render_seed(7)            # a StyleFrame: image, pose, labels, everything drawn
"""

from simulators.dusk.paint import camera_points, h264, render, render_seed
from simulators.dusk.scene import Body, Prism, Street, lay_out

__all__ = ["Body", "Prism", "Street", "camera_points", "h264", "lay_out", "render",
           "render_seed"]
