"""flyonce dispatch package."""
