"""Decoded records as JSON for people and scripts (pure core).

Bytes are shown as their size and a short hash, never their content; unions of records
become objects with a ``type`` field; datetimes are ISO 8601 with their offset.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime
from typing import Any


def jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"bytes": len(value), "sha256": hashlib.sha256(value).hexdigest()[:16]}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], dict):
        return {"type": value[0].rsplit(".", 1)[-1], **jsonable(value[1])}
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def key_text(key: bytes | None) -> str | None:
    if key is None:
        return None
    try:
        return key.decode()
    except UnicodeDecodeError:
        return "b64:" + base64.b64encode(key).decode()


def record_line(
    topic: str, partition: int, offset: int, key: bytes | None, schema: str | None, value: Any, error: str | None = None
) -> str:
    """One JSON line for ``teachstream tail``."""
    line: dict[str, Any] = {"topic": topic, "partition": partition, "offset": offset, "key": key_text(key)}
    if error is not None:
        line["error"] = error
    else:
        line["schema"] = schema
        line["value"] = jsonable(value)
    return json.dumps(line, ensure_ascii=False)
