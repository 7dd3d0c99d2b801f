"""Decoding in the agents without giving up on a record the schema registry cannot vouch for yet (edge)."""

from __future__ import annotations

import asyncio
import logging

from schemas.codec import Codec, Decoded
from schemas.errors import SchemaRegistryUnavailableError

log = logging.getLogger(__name__)


async def decode(codec: Codec, data: bytes) -> Decoded:
    """``codec.decode``, waiting (without blocking the event loop) while the schema registry cannot be reached:
    a faust agent acknowledges whatever it fails on, so a record must not fail for want of the registry."""
    delay = 0.5
    while True:
        try:
            return codec.decode(data)
        except SchemaRegistryUnavailableError as exc:
            log.warning("%s; trying again in %.0fs", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
