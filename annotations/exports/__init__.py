"""Exports: one module per format, where files go (sinks), the export job (services) and its API."""
