"""Responses of v1 controllers written while they are read.

A :class:`Streamed` result (see :func:`cloudkitty.api.v1.expose.wsexpose`)
is sent as the WSGI response's iterable: the body is produced chunk by
chunk after the controller returned, so its size does not have to fit in
the API process. :func:`json_list_document` writes ``{"<key>": [item,
...]}`` exactly as ``json.dumps`` of the whole document would, so a
streamed response is byte for byte the one built in memory.
"""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

__all__ = ["CHUNK_BYTES", "Streamed", "json_list_document"]

#: Bytes gathered before a chunk is handed to the server: one write per
#: item would cost a system call for every small frame.
CHUNK_BYTES = 64 * 1024


@dataclasses.dataclass(frozen=True)
class Streamed:
    """A response body produced while it is sent."""

    chunks: Iterator[bytes]
    content_type: str = "application/json"
    status: int = 200


def json_list_document(key: str, items: Iterable[Any],
                       encode: Callable[[Any], Any] = lambda item: item,
                       chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    """``json.dumps({key: [encode(item) for item in items]})``, in chunks
    of about ``chunk_bytes``; ``items`` is consumed lazily."""
    # The document's opening, as json.dumps writes it (escapes included).
    buffer: list[str] = [json.dumps({key: []})[:-3]]
    size = len(buffer[0])
    separator = "["
    for item in items:
        text = separator + json.dumps(encode(item))
        separator = ", "
        buffer.append(text)
        size += len(text)
        if size >= chunk_bytes:
            yield "".join(buffer).encode("utf-8")
            buffer, size = [], 0
    buffer.append("[]}" if separator == "[" else "]}")
    yield "".join(buffer).encode("utf-8")
