"""Stowage: direct-to-S3 uploads, verified before they are recorded."""

__version__ = "0.1.0"
