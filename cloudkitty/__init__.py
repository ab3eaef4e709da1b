"""CloudKitty: a rating service for OpenStack-style clouds."""
