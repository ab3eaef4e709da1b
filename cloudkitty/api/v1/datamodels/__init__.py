"""WSME types of the v1 resources, one module per resource."""
