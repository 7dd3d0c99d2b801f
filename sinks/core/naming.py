"""Deterministic object keys (pure core).

A batch of one partition is named by its topic, partition and first offset. The sink
commits a partition's offset only after its batch is uploaded, and uploads one batch
per partition at a time, so after a crash the replay starts at the same first offset
and rewrites the same key with the same records, or with the same records and more.
Nothing is lost and nothing is stored twice.
"""

from __future__ import annotations

LAYOUT_VERSION = "v1"


def batch_key(prefix: str, topic: str, partition: int, first_offset: int, extension: str) -> str:
    """``<prefix>stream/v1/topic=<topic>/partition=<p>/offset=<first>.<ext>``."""
    if partition < 0 or first_offset < 0:
        raise ValueError("partition and offset must not be negative")
    return (
        f"{prefix}stream/{LAYOUT_VERSION}/topic={topic}/partition={partition:03d}/"
        f"offset={first_offset:020d}.{extension}"
    )
