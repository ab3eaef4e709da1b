"""Storage API version 2: the backend contract and its drivers."""
from cloudkitty.storage.v2.base import BaseStorage

__all__ = ["BaseStorage"]
