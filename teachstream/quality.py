"""Which sessions teach nothing: quality flags from a session's manifest entry and its steps (pure core).

A flagged session is still in the dataset; readers drop or keep it (``teachstream dataset ls --flags``,
``--drop-flagged`` on ``snapshot create``, ``export`` and ``stats``). The flags:

``withheld``  no steps at all: everything the person did was in denied or paused windows
``no_frames`` no step has a frame, so there is nothing to see
``short``     fewer than ``min_steps`` steps, or shorter than ``min_seconds``
``idle``      at least ``idle_after_s`` long with fewer than ``idle_steps_per_minute`` steps a minute
``redacted``  more than ``redacted_share`` of the typed words are redaction placeholders
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from schemas.dataset import SessionEntry

FLAGS = ("withheld", "no_frames", "short", "idle", "redacted")

_PLACEHOLDER = re.compile(r"<[A-Z][A-Z_]*>")
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Thresholds:
    min_steps: int = 3
    min_seconds: float = 5.0
    idle_after_s: float = 120.0
    idle_steps_per_minute: float = 1.0
    redacted_share: float = 0.5


def redacted_share(texts: Iterable[str | None]) -> float:
    """Placeholders among the typed words (a placeholder glued to a word counts as one of each)."""
    placeholders = words = 0
    for text in texts:
        for word in _WORD.findall(text or ""):
            found = len(_PLACEHOLDER.findall(word))
            placeholders += found
            words += found + (1 if _PLACEHOLDER.sub("", word).strip(".,;:!?'\"()") else 0)
    return placeholders / words if words else 0.0


def flags(
    entry: SessionEntry, steps: Sequence[Mapping[str, Any]], limits: Thresholds = Thresholds()
) -> tuple[str, ...]:
    """The quality flags of one session (in the order of :data:`FLAGS`); empty if it looks useful."""
    found: list[str] = []
    seconds = max(0.0, (entry.end - entry.start).total_seconds())
    if not steps:
        found.append("withheld")
    if not any(s.get("frame_key") for s in steps):
        found.append("no_frames")
    if len(steps) < limits.min_steps or seconds < limits.min_seconds:
        found.append("short")
    if seconds >= limits.idle_after_s and len(steps) / (seconds / 60) < limits.idle_steps_per_minute:
        found.append("idle")
    if redacted_share(s.get("text") for s in steps if s.get("action") == "type") > limits.redacted_share:
        found.append("redacted")
    return tuple(found)


def parse_drop(values: Iterable[str]) -> frozenset[str]:
    """``--drop-flagged`` values: flag names, or ``all``; a clear error for anything else."""
    chosen: set[str] = set()
    for value in values:
        for name in filter(None, (v.strip() for v in value.split(","))):
            if name == "all":
                chosen.update(FLAGS)
            elif name in FLAGS:
                chosen.add(name)
            else:
                raise ValueError(f"unknown quality flag {name!r}: use {', '.join(FLAGS)} or all")
    return frozenset(chosen)
