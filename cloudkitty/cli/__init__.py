"""Console scripts, one module each.

Importing a console script's module must not print anything: the library
warnings that importing oslo.messaging triggers are silenced first.
"""
from cloudkitty import service as _service

_service.quiet_library_warnings()
