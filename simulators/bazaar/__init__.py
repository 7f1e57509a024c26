"""The bazaar style: nadir street scenes drawn straight into the image, with forms of stall and
fuel sale, and look-alikes, of its own (no drawing code shared with simulators.town).

    frame = render_seed(7)            # a StyleFrame: image, pose, labels, everything drawn
"""

from simulators.bazaar.paint import render, render_seed
from simulators.bazaar.scene import Part, Scene, Thing, build_scene

__all__ = ["Part", "Scene", "Thing", "build_scene", "render", "render_seed"]
