"""File formats of the objects the sink writes (pure core)."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable
from typing import Any

from fastavro import writer

from schemas.registry import SchemaVersion


class AvroContainerFormat:
    """Avro object container files (deflate), readable by any Avro tool.

    The sync marker is derived from the object's key, so the same records under the same key
    give the same bytes: a replay rewrites an object identically.
    """

    extension = "avro"
    content_type = "application/avro"

    def __init__(self, codec: str = "deflate") -> None:
        self.codec = codec

    def serialize(self, schema: SchemaVersion, records: Iterable[dict[str, Any]], key: str) -> bytes:
        out = io.BytesIO()
        marker = hashlib.sha256(key.encode()).digest()[:16]
        # the raw schema, not fastavro's parsed form: its header JSON is the same in every process
        writer(out, schema.raw, records, codec=self.codec, sync_interval=1 << 20, sync_marker=marker)
        return out.getvalue()
