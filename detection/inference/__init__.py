"""Django-free face detection and age/gender wrappers; frameworks load on first use."""
