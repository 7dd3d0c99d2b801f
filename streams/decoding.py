"""Decoding in the agents without giving up on a record the schema registry cannot vouch for yet (edge).

The retry itself is :meth:`schemas.codec.Codec.attempts`; this only waits without blocking the event loop.
"""

from __future__ import annotations

import asyncio

from schemas.codec import Codec, Decoded


async def decode(codec: Codec, data: bytes) -> Decoded:
    """``codec.decode``, waiting (without blocking the event loop) while the schema registry cannot be reached:
    a faust agent acknowledges whatever it fails on, so a record must not fail for want of the registry."""
    attempts = codec.attempts(data)
    try:
        while True:
            delay, _ = next(attempts)
            await asyncio.sleep(delay)
    except StopIteration as done:
        decoded: Decoded = done.value
        return decoded
