"""flyonce simulators package."""
