"""Dealing with the public at the scene: loudspeaker warnings (远程劝导) and the ground team's public
task code (亮码). Rules and records here; the drone's speaker is driven from ``fleet``."""
