"""The varied style: a training-only world whose every look is drawn at random per scene.

    frame = render_seed(7)            # a StyleFrame: image, pose, labels, everything drawn

The three evaluation styles (town, bazaar, dusk) each draw a drum, a tank, a canopy one way, and
a model trained on two of them learns those two drawings, not "drums or a tank on a vehicle"
(the model card's leave-one-style-out figures). This style is domain randomisation: per scene it
draws the colours, outlines, proportions and counts of every form at random, over ground of
random noise, with a random sensor, so what stays constant across its scenes is only what
defines the violations: goods under or on a stall's canopy, table, mat or cart; round drums (a
standing drum is 0.58 m across) or a caged cube tank (1.0-1.2 m) on a vehicle's bed. Look-alikes
keep the same vehicles and canopies without the defining part: empty beds, beds of boxes or
sacks, loose drums on the ground, café parasols in rows, a permitted market's identical stands
inside painted lines.

Things stand up: every shape has a height, and vehicles, drums, tanks, cargo, booths and people
are solids. Each is drawn where the camera of the view sees it (``paint.view_camera``, the camera
whose ground homography the view is): its top leans away from the nadir by r * h / (H - h), and
the sides that face the camera are shaded under it, so a drum on a flatbed at the edge of a frame
shows its side as a real one would.

It is for training only: the leave-one-style-out score stays on town, bazaar and dusk. It shares
no drawing code with them (shapes go straight to pixels with OpenCV; the ground is noise), only
the camera intrinsics and the label types.
"""

from simulators.varied.paint import render_seed

__all__ = ["render_seed"]
