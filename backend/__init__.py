"""Stowage: direct-to-S3 uploads, verified before they are recorded."""
