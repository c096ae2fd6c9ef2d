"""Errors of the detection services, importable without loading them (the task decorator needs one)."""

from annotations.iiif.messages import MessageError


class DetectionRefused(MessageError):
    """A run that cannot be created or changed; the message is meant for the curator (translated where read)."""


class PageFetchRetry(Exception):
    """The page image could not be fetched for now (429, 5xx, timeout): retry the page later."""
