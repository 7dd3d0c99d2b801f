"""Focus-change detection by polling, for window sources that get no pushed notifications (edge).

X11 pushes focus and title changes (``PropertyNotify``); the Windows and macOS adapters
poll instead. A :class:`FocusPoller` keeps the agent's loop contract of
:class:`producers.x11.X11Windows`: :meth:`FocusPoller.fileno` is a socket (selectable on
every platform) that a small timer thread makes readable every ``interval`` seconds, and
:meth:`FocusPoller.changed`, called on the agent's thread, looks the focused window up at
most once per ``interval`` and says whether it differs from the one seen last. The lookup
itself runs on the caller's thread only, never on the timer thread.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable

from schemas.events import WindowContext

DEFAULT_INTERVAL_S = 0.25


class FocusPoller:
    def __init__(
        self,
        focused: Callable[[], WindowContext | None],
        interval: float = DEFAULT_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
        ticking: bool = True,
    ) -> None:
        self._focused, self.interval, self._clock = focused, interval, clock
        self._last: WindowContext | None = None
        self._checked = float("-inf")
        self._r, self._w = socket.socketpair()
        self._r.setblocking(False)
        self._w.setblocking(False)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if ticking:
            self._thread = threading.Thread(target=self._tick, name="focus-poll", daemon=True)
            self._thread.start()

    def fileno(self) -> int:
        """Readable at least every ``interval`` seconds, so a sleeping loop comes to poll."""
        return self._r.fileno()

    def changed(self) -> bool:
        """Whether the focused window (app, title or id) changed since the last lookup."""
        self._drain()
        now = self._clock()
        if now - self._checked < self.interval:
            return False
        self._checked = now
        current = self._focused()
        changed, self._last = current != self._last, current
        return changed

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2 * self.interval + 1)
        self._r.close()
        self._w.close()

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            with contextlib.suppress(BlockingIOError, OSError):
                self._w.send(b"\0")

    def _drain(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            while self._r.recv(4096):
                pass
