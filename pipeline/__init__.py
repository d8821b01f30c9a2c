"""Qualitative evaluation analysis: ingest, suggest, review, triangulate, report."""

# A new version re-runs every rule of an existing project (rules/common.smk, settings()):
# raise it with every release that changes what a stage writes.
__version__ = "0.6.0"
