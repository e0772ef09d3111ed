"""The delivery worker."""
