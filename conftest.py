"""Registers the shared fixtures (tests/support/fixtures.py) for every app's tests."""

pytest_plugins = ["tests.support.fixtures"]
