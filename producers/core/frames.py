"""Which windows a screenshot shows, blacks out and lists, per monitor (pure core).

A frame is taken only while the policy allows screenshots and consent covers them
(:func:`takes_frames`). :func:`plan_frame` judges every visible window with the capture
policy, not only the focused one: a denied window is blacked out on the device before
encoding, and is listed with the frame under its app name only (its title emptied); a frame
with any window blacked out carries the ``device:denied-window`` redaction label. The bars of
an allowed browser window above its page (tabs, the address bar) are blacked out too, with the
``device:address-bar`` label: only the host of an address leaves the device.
:func:`on_monitor` keeps the listed windows that overlap a monitor.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from producers.core.policy import ActivePolicy, CapturePolicy
from schemas.control_records import CaptureScope
from schemas.events import Monitor, VisibleWindow

DENIED_WINDOW = "device:denied-window"
ADDRESS_BAR = "device:address-bar"


@dataclass(frozen=True)
class FramePlan:
    blackout: list[VisibleWindow]  # the visible windows the policy denies, to be filled black
    listed: list[VisibleWindow]  # every visible window, in order, denied ones with an empty title
    redactions: tuple[str, ...]  # the labels the frames carry


def takes_frames(policy: ActivePolicy, listening: frozenset[CaptureScope]) -> bool:
    """True if the policy allows screenshots and the listeners run with consent to screenshots."""
    return policy.screenshots and CaptureScope.SCREENS in listening


def plan_frame(
    visible: Iterable[VisibleWindow], policy: CapturePolicy, bars: Iterable[VisibleWindow] = ()
) -> FramePlan:
    """What the frames of this moment black out, list and label, given the visible windows and the
    browsers' bars above their pages (``bars``: blacked out, not listed)."""
    blackout: list[VisibleWindow] = []
    listed: list[VisibleWindow] = []
    for window in visible:
        if policy.decide_window(window.app, window.title, window.host).allowed:
            listed.append(window)
        else:
            blackout.append(window)
            listed.append(replace(window, title=""))
    labels = (DENIED_WINDOW,) if blackout else ()
    bars = list(bars)
    return FramePlan(blackout + bars, listed, labels + ((ADDRESS_BAR,) if bars else ()))


def on_monitor(windows: Iterable[VisibleWindow], monitor: Monitor) -> list[VisibleWindow]:
    """The windows whose rectangle overlaps ``monitor`` (touching an edge is not overlapping)."""
    m = monitor
    return [
        w
        for w in windows
        if w.x < m.left + m.width and w.x + w.width > m.left
        if w.y < m.top + m.height and w.y + w.height > m.top
    ]
