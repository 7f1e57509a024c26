"""flyonce api package."""
