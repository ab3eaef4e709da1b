"""Skipping tests whose real service is absent — except in CI.

A developer without, say, Gnocchi running still gets a useful run; CI
(``tools/run-tests.sh`` sets ``CLOUDKITTY_REQUIRE_SERVICES``) starts every
service, so there a missing one fails the tests instead of hiding them.
"""
from __future__ import annotations

import os

import pytest

REQUIRED = bool(os.environ.get("CLOUDKITTY_REQUIRE_SERVICES"))


def needs(available: bool, reason: str) -> pytest.MarkDecorator:
    """A skip mark for when a service is unavailable, unless required."""
    return pytest.mark.skipif(not available and not REQUIRED, reason=reason)
