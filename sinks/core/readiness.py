"""Whether a session's frames are ready: store it now, wait, or store it without the missing ones (pure core).

A session's steps refer to frames by id; the frames come on another topic and may land after
the session. The sink looks each referenced frame up (among its own recent uploads, then in
S3) and asks :func:`frames_ready` what to do. A session waits for missing frames up to a limit
counted from the first time it had to wait; after that its steps are stored without them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from sinks.core.sessions import FrameInfo


class Verdict(Enum):
    READY = "ready"  # every referenced frame is stored
    WAIT = "wait"  # frames are missing and the session has not waited long enough
    WITHOUT_MISSING = "store without the missing frames"  # frames are missing and the wait is over


@dataclass(frozen=True)
class FrameCheck:
    """The verdict, the stored frames by frame id, the missing frame ids (in step order) and the wait's start."""

    verdict: Verdict
    frames: dict[str, FrameInfo]
    missing: tuple[str, ...]
    waiting_since: float | None

    @property
    def store(self) -> bool:
        return self.verdict is not Verdict.WAIT


def frames_ready(
    referenced: Mapping[str, str],
    landed: Mapping[str, FrameInfo],
    waiting_since: float | None,
    now: float,
    wait_limit_s: float,
) -> FrameCheck:
    """Decide for a session whose steps refer to ``referenced`` (frame id -> frame key).

    ``landed`` maps the frame keys known to be stored to their info; ``waiting_since`` is when the
    session first had to wait (None if it never did), ``now`` the same clock's current reading.
    """
    frames = {fid: landed[key] for fid, key in referenced.items() if key in landed}
    missing = tuple(fid for fid, key in referenced.items() if key not in landed)
    if not missing:
        return FrameCheck(Verdict.READY, frames, missing, waiting_since)
    since = now if waiting_since is None else waiting_since
    verdict = Verdict.WAIT if now - since < wait_limit_s else Verdict.WITHOUT_MISSING
    return FrameCheck(verdict, frames, missing, since)
