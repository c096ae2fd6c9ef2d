"""Ingest: IIIF manifests and local scans in (manifests), annotation files in (a module per format,
matching, store), and their API."""
