"""The window source of this platform: the focused window, the visible ones, focus changes (edge).

X11 (:mod:`producers.x11`) is the tested one. The Windows (:mod:`producers.windows_win32`)
and macOS (:mod:`producers.windows_macos`) adapters are untested: written against the
platform API documentation; no CI machine runs those platforms. Each adapter is imported
only when chosen, so none of their platform libraries is needed elsewhere.
"""

from __future__ import annotations

import sys
from typing import Protocol

from schemas.errors import ConfigError
from schemas.events import VisibleWindow, WindowContext


class WindowSource(Protocol):
    """What the agent uses of a window source (the interface of :class:`producers.x11.X11Windows`)."""

    def fileno(self) -> int:
        """Readable when a focus or title change may have happened (for the agent's ``select``)."""
        ...

    def changed(self) -> bool:
        """Whether the focused window or its title may have changed since the last call."""
        ...

    def pointer(self) -> tuple[int, int]:
        """The pointer's position, in the coordinates of :meth:`visible`."""
        ...

    def focused(self) -> WindowContext | None:
        """The window that has the focus now, or None."""
        ...

    def visible(self) -> list[VisibleWindow]:
        """The visible windows, bottom to top, with their rectangles."""
        ...

    def close(self) -> None: ...


def window_source(display: str | None, platform: str = sys.platform) -> WindowSource:
    """The window source for ``platform`` (this one by default); ``display`` is the X display, X11 only."""
    if platform.startswith("linux"):
        from producers.x11 import X11Windows

        return X11Windows(display)
    if platform == "win32":
        from producers.windows_win32 import Win32Windows

        return Win32Windows(display)
    if platform == "darwin":
        from producers.windows_macos import MacWindows

        return MacWindows(display)
    raise ConfigError(
        f"the capture agent cannot read windows on platform {platform!r}; it runs on Linux with X11, "
        "and (untested) on Windows and macOS"
    )
