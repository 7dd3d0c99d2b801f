"""A bounded memory of answers about typed text that keeps no typed text (pure core).

An answer is kept under a keyed digest of the text (blake2b with a key drawn per process: the digests cannot
be matched against guessed texts) and whatever else it depends on; when the memory is full, all of it is
forgotten at once. Each dictionary operation is atomic, so threads may share one: a lost answer is only
worked out again.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Generic, TypeVar

A = TypeVar("A")


class Remembered(Generic[A]):
    """Answers of type ``A`` by text, at most ``size`` of them."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._key = secrets.token_bytes(16)
        self._answers: dict[tuple[bytes, object], A] = {}

    def key(self, text: str, also: object = None) -> tuple[bytes, object]:
        """The key of ``text`` and ``also`` (what else the answer depends on; hashable)."""
        digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16, key=self._key).digest()
        return digest, also

    def get(self, key: tuple[bytes, object]) -> A | None:
        return self._answers.get(key)

    def put(self, key: tuple[bytes, object], answer: A) -> None:
        if len(self._answers) >= self.size:
            self._answers.clear()
        self._answers[key] = answer

    def clear(self) -> None:
        self._answers.clear()

    def __len__(self) -> int:
        return len(self._answers)
