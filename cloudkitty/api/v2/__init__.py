"""API v2: JSON controllers with voluptuous input (see :mod:`.base`)."""
