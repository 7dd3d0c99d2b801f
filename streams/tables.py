"""Faust tables seen as plain mappings of text keys to bytes, for the pure stages (edge)."""

from __future__ import annotations

import base64
from collections.abc import Iterator, MutableMapping
from typing import Any


class JsonTable(MutableMapping[str, bytes]):
    """A faust table (JSON changelog) seen as a mapping of text keys to bytes (stored as base64)."""

    def __init__(self, table: Any) -> None:
        self.table = table

    def __getitem__(self, key: str) -> bytes:
        return base64.b64decode(self.table[key])

    def __setitem__(self, key: str, value: bytes) -> None:
        self.table[key] = base64.b64encode(value).decode()

    def __delitem__(self, key: str) -> None:
        del self.table[key]

    def __contains__(self, key: object) -> bool:
        return key in self.table

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.table.keys()))

    def __len__(self) -> int:
        return len(self.table)
