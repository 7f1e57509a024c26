"""flyonce detection package."""
