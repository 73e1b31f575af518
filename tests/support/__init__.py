"""Helpers for the tests; fixtures live in conftest.py."""
