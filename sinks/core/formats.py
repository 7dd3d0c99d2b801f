"""File formats of the objects the sink writes (pure core)."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from fastavro import writer

from schemas.registry import SchemaVersion


class AvroContainerFormat:
    """Avro object container files (zstd if available, else deflate), readable by any Avro tool."""

    extension = "avro"
    content_type = "application/avro"

    def __init__(self, codec: str = "deflate") -> None:
        self.codec = codec

    def serialize(self, schema: SchemaVersion, records: Iterable[dict[str, Any]]) -> bytes:
        out = io.BytesIO()
        writer(out, schema.parsed, records, codec=self.codec, sync_interval=1 << 20)
        return out.getvalue()
