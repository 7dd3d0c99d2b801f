"""The focused window and the visible windows of a macOS session, through pyobjc (edge).

untested: written against the platform API documentation; no CI machine runs this platform.

Needs ``pyobjc-framework-Quartz`` and ``pyobjc-framework-Cocoa`` (imported in the
constructor, so this module imports on any platform). The windows come from Quartz's
``CGWindowListCopyWindowInfo(kCGWindowListOptionOnScreenOnly | kCGWindowListExcludeDesktopElements)``,
front to back; only layer-0 windows (ordinary app windows: not the menu bar, the Dock or
overlays) that are not fully transparent and not empty count. The app is
``kCGWindowOwnerName`` lower-cased (``safari``, ``keepassxc``); the title is
``kCGWindowName``, which macOS 10.15 and later only fill in once the person has granted
the agent the Screen Recording permission (empty otherwise, so title patterns of the policy
cannot match until then). The window id is ``kCGWindowNumber``. Rectangles are
``kCGWindowBounds`` in global display points (origin at the top left of the main display);
on a Retina display a screenshot has more pixels than points.

The focused app is ``NSWorkspace.sharedWorkspace().frontmostApplication()``; its focused
window is its frontmost on-screen window. NSWorkspace updates that value from run-loop
notifications, so the current thread's run loop is run once, without waiting, before each
lookup. macOS pushes no focus changes to a process without a running application loop, so
they are polled (:class:`producers.focus_poll.FocusPoller`).
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Iterable, Mapping
from typing import Any

from producers.focus_poll import DEFAULT_INTERVAL_S, FocusPoller
from schemas.errors import ConfigError
from schemas.events import VisibleWindow, WindowContext

NORMAL_LAYER = 0


def parse_window_list(
    infos: Iterable[Mapping[str, Any]], front: tuple[int, str] | None
) -> tuple[WindowContext | None, list[VisibleWindow]]:
    """The focused window and the visible windows (bottom to top) of a CGWindowList answer.

    ``infos`` are the window dictionaries front to back, as ``CGWindowListCopyWindowInfo``
    returns them; ``front`` is the frontmost app's (pid, name), or None when unknown, in which
    case the frontmost ordinary window is taken as focused. An app in front without an
    on-screen window (Finder over the bare desktop) is focused with an empty title and id 0.
    """
    rows: list[tuple[int, int, str, str, int, int, int, int]] = []  # pid, number, app, title, x, y, w, h
    for info in infos:
        if int(info.get("kCGWindowLayer", NORMAL_LAYER)) != NORMAL_LAYER:
            continue
        if float(info.get("kCGWindowAlpha", 1.0)) <= 0.0:
            continue
        bounds = info.get("kCGWindowBounds") or {}
        x0, y0 = float(bounds.get("X", 0)), float(bounds.get("Y", 0))
        x1, y1 = x0 + float(bounds.get("Width", 0)), y0 + float(bounds.get("Height", 0))
        x, y = math.floor(x0), math.floor(y0)  # rounded outwards: a blacked-out window is fully covered
        w, h = math.ceil(x1) - x, math.ceil(y1) - y
        if w <= 0 or h <= 0:
            continue
        app = str(info.get("kCGWindowOwnerName") or "unknown").lower()
        title = str(info.get("kCGWindowName") or "")
        rows.append(
            (int(info.get("kCGWindowOwnerPID", 0)), int(info.get("kCGWindowNumber", 0)), app, title, x, y, w, h)
        )
    focused: WindowContext | None = None
    if front is None:
        if rows:
            focused = WindowContext(rows[0][2], rows[0][3], rows[0][1])
    else:
        pid, name = front
        mine = next((r for r in rows if r[0] == pid), None)
        focused = WindowContext(mine[2], mine[3], mine[1]) if mine else WindowContext(name.lower() or "unknown", "", 0)
    focused_id = focused.window_id if focused is not None else 0
    visible = [
        VisibleWindow(app, title, x, y, w, h, bool(focused_id) and number == focused_id)
        for _pid, number, app, title, x, y, w, h in reversed(rows)
    ]
    return focused, visible


class MacWindows:
    """Same interface as :class:`producers.x11.X11Windows`; ``display_name`` means nothing here."""

    def __init__(self, display_name: str | None = None, poll_interval: float = DEFAULT_INTERVAL_S) -> None:
        del display_name
        try:
            self._quartz = importlib.import_module("Quartz")
            self._appkit = importlib.import_module("AppKit")
        except ImportError as exc:
            raise ConfigError(
                f"the macOS window source needs pyobjc ({exc}); install pyobjc-framework-Quartz and "
                "pyobjc-framework-Cocoa (pip install 'teachstream[capture]' on the Mac)"
            ) from exc
        self._workspace = self._appkit.NSWorkspace.sharedWorkspace()
        self._poller = FocusPoller(self.focused, poll_interval)

    def fileno(self) -> int:
        """A socket made readable at the poll rate."""
        return self._poller.fileno()

    def changed(self) -> bool:
        """Whether the focused window or its title changed (looked up at most once per poll interval)."""
        return self._poller.changed()

    def pointer(self) -> tuple[int, int]:
        """The pointer's position in global display points."""
        q = self._quartz
        location = q.CGEventGetLocation(q.CGEventCreate(None))
        return int(location.x), int(location.y)

    def focused(self) -> WindowContext | None:
        """The frontmost app's frontmost window now, or None when no app is in front."""
        return self._lookup()[0]

    def visible(self) -> list[VisibleWindow]:
        """On-screen ordinary windows, bottom to top, in global display points."""
        return self._lookup()[1]

    def close(self) -> None:
        self._poller.close()

    def _lookup(self) -> tuple[WindowContext | None, list[VisibleWindow]]:
        q = self._quartz
        options = q.kCGWindowListOptionOnScreenOnly | q.kCGWindowListExcludeDesktopElements
        infos = q.CGWindowListCopyWindowInfo(options, q.kCGNullWindowID) or ()
        return parse_window_list(infos, self._front())

    def _front(self) -> tuple[int, str] | None:
        appkit = self._appkit
        loop = appkit.NSRunLoop.currentRunLoop()
        loop.runMode_beforeDate_(appkit.NSDefaultRunLoopMode, appkit.NSDate.date())  # take pending notifications
        app = self._workspace.frontmostApplication()
        if app is None:
            return None
        return int(app.processIdentifier()), str(app.localizedName() or "")
