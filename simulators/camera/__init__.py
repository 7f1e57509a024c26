"""The drone camera: frames of the synthetic town from a pose, with true boxes, and datasets.

    cam = DroneCamera(build_town(7))
    frame = cam.render(CameraPose(0, 0, 60, heading_deg=0), Look.sample(rng), rng)
    frame.image_bgr, frame.boxes
"""

from simulators.camera.geometry import (
                                        CameraPose,
                                        Intrinsics,
                                        ground_to_image,
                                        image_to_ground,
                                        project,
                                        world_to_camera,
)
from simulators.camera.randomise import Look, apply_look
from simulators.camera.render import DroneCamera, RenderedFrame, TrueBox

__all__ = ["CameraPose", "DroneCamera", "Intrinsics", "Look", "RenderedFrame", "TrueBox",
           "apply_look", "ground_to_image", "image_to_ground", "project", "world_to_camera"]
