"""Qualitative evaluation analysis: ingest, suggest, review, triangulate, report."""

__version__ = "0.1.0"
