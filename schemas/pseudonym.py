"""Keyed-hash pseudonyms for people and devices (pure core).

Real user names, host names and emails never leave the device: they become
``HMAC-SHA256(key, kind + ":" + normalized value)``, shortened. The same key gives the
same pseudonym on every device, so a person's data can be found for erasure; without
the key the name cannot be recovered or guessed by hashing candidates.
"""

from __future__ import annotations

import hashlib
import hmac

_LENGTH = 20  # hex characters: 80 bits


def pseudonym(key: bytes, kind: str, value: str) -> str:
    """``u-…`` for users, ``d-…`` for devices: stable for one key, unlinkable without it."""
    if not key:
        raise ValueError("a pseudonym key is required")
    digest = hmac.new(key, f"{kind}:{value.strip().lower()}".encode(), hashlib.sha256).hexdigest()
    return f"{kind[0]}-{digest[:_LENGTH]}"


def user_pseudonym(key: bytes, user: str) -> str:
    return pseudonym(key, "user", user)


def device_pseudonym(key: bytes, host: str) -> str:
    return pseudonym(key, "device", host)
