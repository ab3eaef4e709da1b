"""API v1: Pecan controllers with WSME types (see :mod:`.root`)."""
