"""The synthetic town: a seeded layout with ground truth, and its orthophoto drawn on demand.

    town = build_town(seed=7, frame=LocalFrame(30.27, 120.15))
    image = render_ortho(town, (-50, -50, 50, 50), px_per_m=10)
    truth = town.violations()
"""

from simulators.town.layout import Block, Town, build_town
from simulators.town.objects import VIOLATION_CLASSES, GroundTruth, Road, TownObject
from simulators.town.painter import Sun, render_ortho

__all__ = ["VIOLATION_CLASSES", "Block", "GroundTruth", "Road", "Sun", "Town", "TownObject",
           "build_town", "render_ortho"]
